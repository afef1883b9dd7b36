/*
 * Log-linear histograms that merge exactly (histogram.c).
 */
#ifndef WSP_HIST_H
#define WSP_HIST_H

#include <stdint.h>

#define WSP__HIST_SUB 64
#define WSP__HIST_BUCKETS (2 * WSP__HIST_SUB + 58 * WSP__HIST_SUB)

typedef struct wsp__hist {
  uint64_t count;                /* Values recorded. */
  uint64_t max;                  /* Largest value. */
  uint64_t min;                  /* Smallest value. */
  uint64_t b[WSP__HIST_BUCKETS]; /* Bucket counts. */
} wsp__hist;

void wsp__hist_init(wsp__hist *h);
void wsp__hist_add(wsp__hist *h, uint64_t v);
void wsp__hist_merge(wsp__hist *dst, const wsp__hist *src);
uint64_t wsp__hist_quantile(const wsp__hist *h, double q);

#endif
