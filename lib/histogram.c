/*
 * Log-linear histograms in the manner of HdrHistogram: values below 128 are
 * exact, above that every power of two is split into 64 buckets, so a
 * bucket's midpoint is within 0.8% of any value in it. Histograms with the
 * same layout merge exactly by adding counts.
 */
#include <string.h>

#include "hist.h"

static unsigned bucket_of(uint64_t v) {
  unsigned e;
  if (v < 2 * WSP__HIST_SUB)
    return (unsigned)v;
  e = 63u - (unsigned)__builtin_clzll(v); /* floor(log2 v), at least 7 */
  return 2 * WSP__HIST_SUB + (e - 7) * WSP__HIST_SUB +
         (unsigned)((v >> (e - 6)) - WSP__HIST_SUB);
}

static uint64_t bucket_mid(unsigned i) {
  unsigned e, sub;
  if (i < 2 * WSP__HIST_SUB)
    return i;
  e = (i - 2 * WSP__HIST_SUB) / WSP__HIST_SUB + 7;
  sub = (i - 2 * WSP__HIST_SUB) % WSP__HIST_SUB + WSP__HIST_SUB;
  return ((uint64_t)sub << (e - 6)) + (((uint64_t)1 << (e - 6)) >> 1);
}

void wsp__hist_init(wsp__hist *h) {
  memset(h, 0, sizeof(*h));
  h->min = UINT64_MAX;
}

void wsp__hist_add(wsp__hist *h, uint64_t v) {
  h->b[bucket_of(v)]++;
  h->count++;
  if (v > h->max)
    h->max = v;
  if (v < h->min)
    h->min = v;
}

void wsp__hist_merge(wsp__hist *dst, const wsp__hist *src) {
  for (unsigned i = 0; i < WSP__HIST_BUCKETS; i++)
    dst->b[i] += src->b[i];
  dst->count += src->count;
  if (src->max > dst->max)
    dst->max = src->max;
  if (src->min < dst->min)
    dst->min = src->min;
}

uint64_t wsp__hist_quantile(const wsp__hist *h, double q) {
  uint64_t rank, seen = 0;
  if (h->count == 0)
    return 0;
  if (q <= 0)
    return h->min;
  if (q >= 1)
    return h->max;
  rank = (uint64_t)(q * (double)h->count);
  if ((double)rank < q * (double)h->count)
    rank++;
  if (rank == 0)
    rank = 1;
  for (unsigned i = 0; i < WSP__HIST_BUCKETS; i++) {
    seen += h->b[i];
    if (seen >= rank) {
      uint64_t v = bucket_mid(i);
      if (v > h->max)
        v = h->max;
      if (v < h->min)
        v = h->min;
      return v;
    }
  }
  return h->max;
}
