#include "stats.h"

#include <math.h>

double stats_mean(const double *v, size_t n) {
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += v[i];
  return n ? sum / (double)n : 0;
}

double stats_stddev(const double *v, size_t n) {
  const double mean = stats_mean(v, n);
  double sq = 0;
  for (size_t i = 0; i < n; ++i) sq += (v[i] - mean) * (v[i] - mean);
  return n ? sqrt(sq / (double)n) : 0;
}
