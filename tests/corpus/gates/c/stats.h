#pragma once
#include <stddef.h>

double stats_mean(const double *v, size_t n);
double stats_stddev(const double *v, size_t n);
