/*
 * Histograms: exact below 128, within 1% above, and merging is exact.
 */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "hist.h"
#include "util.h"

static int cmp(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

int main(void) {
  static wsp__hist a, b, all;
  static uint64_t v[20000];
  uint64_t seed = 88172645463325252ull;
  wsp__hist_init(&a);
  wsp__hist_init(&b);
  wsp__hist_init(&all);
  CHECK_INT(wsp__hist_quantile(&a, 0.5), 0);

  for (uint64_t i = 0; i < 128; i++)
    wsp__hist_add(&a, i);
  for (uint64_t i = 1; i <= 128; i++)
    CHECK_INT(wsp__hist_quantile(&a, (double)i / 128), i - 1);

  wsp__hist_init(&a);
  for (size_t i = 0; i < WSP__ARRAY_SIZE(v); i++) {
    /* xorshift64: spread values over 1 ns .. ~1 h, log-uniformly. */
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    v[i] = (uint64_t)exp((double)(seed % 100000) / 100000.0 * 29.0);
    wsp__hist_add(i % 2 ? &a : &b, v[i]);
    wsp__hist_add(&all, v[i]);
  }
  wsp__hist_merge(&a, &b);
  CHECK_INT(a.count, all.count);
  CHECK_INT(a.max, all.max);
  CHECK_INT(a.min, all.min);
  CHECK(memcmp(a.b, all.b, sizeof(a.b)) == 0);

  qsort(v, WSP__ARRAY_SIZE(v), sizeof(v[0]), cmp);
  {
    const double qs[] = {0.01, 0.1, 0.5, 0.9, 0.99, 0.999};
    for (size_t i = 0; i < WSP__ARRAY_SIZE(qs); i++) {
      size_t rank = (size_t)ceil(qs[i] * WSP__ARRAY_SIZE(v));
      double exact = (double)v[rank - 1];
      double got = (double)wsp__hist_quantile(&all, qs[i]);
      CHECK(fabs(got - exact) <= 0.01 * exact + 0.5);
      if (fabs(got - exact) > 0.01 * exact + 0.5)
        fprintf(stderr, "  q%.3f: %.0f vs exact %.0f\n", qs[i], got, exact);
    }
  }
  CHECK_INT(wsp__hist_quantile(&all, 1.0), v[WSP__ARRAY_SIZE(v) - 1]);
  wsp__hist_add(&all, UINT64_MAX);
  CHECK(wsp__hist_quantile(&all, 1.0) == UINT64_MAX);
  return check_status("test_histogram");
}
