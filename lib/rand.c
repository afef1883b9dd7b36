/*
 * Random bytes for one loop: one CTR-DRBG seeded once from the system's
 * entropy, drawn through a pool.
 */
#include <string.h>

#include <mbedtls/platform_util.h>

#include "rand.h"
#include "wsprobe.h"

int wsp__rng_init(wsp__rng *r) {
  static const char pers[] = "wsprobe";
  memset(r, 0, sizeof(*r));
  mbedtls_entropy_init(&r->entropy);
  mbedtls_ctr_drbg_init(&r->drbg);
  if (mbedtls_ctr_drbg_seed(&r->drbg, mbedtls_entropy_func, &r->entropy,
                            (const unsigned char *)pers,
                            sizeof(pers) - 1) != 0) {
    wsp__rng_free(r);
    return WSP_ECRYPTO;
  }
  return 0;
}

void wsp__rng_free(wsp__rng *r) {
  mbedtls_ctr_drbg_free(&r->drbg);
  mbedtls_entropy_free(&r->entropy);
  mbedtls_platform_zeroize(r->pool, sizeof(r->pool));
  r->pool_left = 0;
}

/*
 * Masks and keys come from a pool the DRBG refills a kilobyte at a time:
 * one AES-CTR call per ~50 probes instead of two per probe. The bytes are
 * the same DRBG output either way.
 */
int wsp__random(wsp__rng *r, void *buf, size_t len) {
  if (len > sizeof(r->pool) / 4)
    return mbedtls_ctr_drbg_random(&r->drbg, buf, len) == 0 ? 0 : WSP_ECRYPTO;
  if (r->pool_left < len) {
    if (mbedtls_ctr_drbg_random(&r->drbg, r->pool, sizeof(r->pool)) != 0)
      return WSP_ECRYPTO;
    r->pool_left = sizeof(r->pool);
  }
  memcpy(buf, r->pool + sizeof(r->pool) - r->pool_left, len);
  /* Used bytes do not stay behind. */
  memset(r->pool + sizeof(r->pool) - r->pool_left, 0, len);
  r->pool_left -= len;
  return 0;
}
