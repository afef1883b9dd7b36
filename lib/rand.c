/*
 * Random bytes for one loop: one CTR-DRBG seeded once from the system's
 * entropy, drawn through a pool. And the seeded numbers of a campaign's
 * choices, counter-based.
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

/* splitmix64's finalizer: a bijection of 64 bits that mixes every input
 * bit into every output bit. */
static uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/*
 * A keyed counter-mode generator (the construction of splitmix64 and of
 * counter-based generators such as Philox): the key is the seed mixed with
 * the stream, the counter is the index, and the output is the mix of their
 * sum on a Weyl sequence. Nothing is drawn one after another, so a shard
 * that runs indexes 2, 5, 8 draws for them exactly what the unsharded run
 * draws. These numbers are for choices that must repeat with the seed, never
 * for secrets: keys, masks and signatures come from the DRBG above.
 */
uint64_t wsp__rand_at(uint64_t seed, wsp__stream stream, uint64_t index) {
  uint64_t key = mix(seed ^ mix(0x5753505253454544ull + (uint64_t)stream));
  return mix(mix(key + 0x9e3779b97f4a7c15ull * (index + 1)) ^ key);
}
