/*
 * Random bytes for one loop: a CTR-DRBG seeded once, drawn through a pool
 * (rand.c). Used for WebSocket keys and masks, TLS and token signatures.
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

#endif
