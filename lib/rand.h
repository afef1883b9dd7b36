/*
 * Two kinds of randomness (rand.c). Random bytes for one loop: a CTR-DRBG
 * seeded once, drawn through a pool, for what must be unpredictable
 * (WebSocket keys and masks, TLS, token signatures). And the campaign's
 * choices (delay order, jitter, minted "{jti}" claims): numbers that are a
 * function of the seed, the probe's index and what they are for, so that
 * whichever shard, thread or loop runs an index draws the same.
 */
#ifndef WSP_RAND_H
#define WSP_RAND_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>

typedef struct wsp__rng {
  mbedtls_entropy_context entropy; /* Seeds the DRBG, once. */
  mbedtls_ctr_drbg_context drbg;   /* Keys and masks for every probe. */
  uint8_t pool[1024];              /* Random bytes drawn ahead. */
  size_t pool_left;                /* Unused bytes at the pool's end. */
} wsp__rng;

/* Seeds `r`: 0 or WSP_ECRYPTO (then nothing needs freeing). */
int wsp__rng_init(wsp__rng *r);
void wsp__rng_free(wsp__rng *r);
/* Fills buf with len random bytes: 0 or WSP_ECRYPTO. */
int wsp__random(wsp__rng *r, void *buf, size_t len);

/* What a seeded number is for: each use draws an independent stream. */
typedef enum {
  WSP__STREAM_ORDER,  /* A sweep's order: the sort key of an index. */
  WSP__STREAM_JITTER, /* The extra first-message delay. */
  WSP__STREAM_JTI_HI, /* The "{jti}" claim's first 64 bits. */
  WSP__STREAM_JTI_LO  /* ... and its last 64 bits. */
} wsp__stream;

/* The number of probe `index` in `stream` of `seed`: counter-based, no
 * state, the same wherever and in whichever order it is drawn. */
uint64_t wsp__rand_at(uint64_t seed, wsp__stream stream, uint64_t index);

#endif
