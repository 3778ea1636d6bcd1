// The C gate's tests: each prints ok or FAILED, the program exits 1 when one failed.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

static int failures;

static void expect_near(const char *what, double got, double want) {
  if (fabs(got - want) < 1e-9) {
    printf("ok   %s = %g\n", what, got);
  } else {
    printf("FAILED %s: got %g, want %g\n", what, got, want);
    ++failures;
  }
}

int main(void) {
  const double v[] = {2, 4, 4, 4, 5, 5, 7, 9};
  const size_t n = sizeof v / sizeof v[0];
  expect_near("mean", stats_mean(v, n), 5);
#ifdef GATE_FAIL
  expect_near("stddev", stats_stddev(v, n), 2.5);  // the failing variant's wrong expectation
#else
  expect_near("stddev", stats_stddev(v, n), 2);
#endif
  // libc: a heap round trip and formatting.
  char *s = malloc(32);
  snprintf(s, 32, "%.3f", sqrt(2.0));
  if (strcmp(s, "1.414") == 0) {
    printf("ok   snprintf(sqrt(2)) = %s\n", s);
  } else {
    printf("FAILED snprintf(sqrt(2)) = %s\n", s);
    ++failures;
  }
  free(s);
  printf("c-gate: %d failure(s)\n", failures);
  return failures ? 1 : 0;
}
