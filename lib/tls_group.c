/*
 * Reading the key exchange group from the server's first flight (see
 * tls_group.h). Three nested framings are followed byte by byte, so that
 * any split of the input gives the same answer: TLS records (5-byte
 * headers), handshake messages inside records of type 22 (4-byte headers,
 * possibly spanning records), and the first bytes of a ServerKeyExchange.
 * Watching stops at the first record that is neither a handshake nor an
 * alert (ChangeCipherSpec: what follows is encrypted) and once a
 * ServerKeyExchange or ServerHelloDone has ended.
 */
#include <string.h>

#include <mbedtls/dhm.h>

#include "tls_group.h"

enum {
  REC_HANDSHAKE = 22, /* TLS record content types. */
  REC_ALERT = 21,     /* Skipped: a warning alert may precede the rest. */
  HS_SKE = 12,        /* ServerKeyExchange. */
  HS_HELLO_DONE = 14, /* ServerHelloDone: no ServerKeyExchange follows. */
  NAMED_CURVE = 3,    /* ECCurveType named_curve (RFC 8422). */
};

static const uint8_t ffdhe2048[] = MBEDTLS_DHM_RFC7919_FFDHE2048_P_BIN;
static const uint8_t ffdhe3072[] = MBEDTLS_DHM_RFC7919_FFDHE3072_P_BIN;
static const uint8_t ffdhe4096[] = MBEDTLS_DHM_RFC7919_FFDHE4096_P_BIN;
static const uint8_t ffdhe6144[] = MBEDTLS_DHM_RFC7919_FFDHE6144_P_BIN;
static const uint8_t ffdhe8192[] = MBEDTLS_DHM_RFC7919_FFDHE8192_P_BIN;

static const struct {
  const uint8_t *p; /* The prime, big-endian. */
  uint16_t len;     /* Its length in bytes. */
  const char *name; /* Its name in the TLS registry. */
} primes[] = {
    {ffdhe2048, sizeof(ffdhe2048), "ffdhe2048"},
    {ffdhe3072, sizeof(ffdhe3072), "ffdhe3072"},
    {ffdhe4096, sizeof(ffdhe4096), "ffdhe4096"},
    {ffdhe6144, sizeof(ffdhe6144), "ffdhe6144"},
    {ffdhe8192, sizeof(ffdhe8192), "ffdhe8192"},
};

/* The TLS Supported Groups registry's names of the named curves a TLS 1.2
 * server may pick (RFC 8422, RFC 7027). */
static const struct {
  uint16_t id;      /* NamedCurve value. */
  const char *name; /* Its name in the registry. */
} curves[] = {
    {23, "secp256r1"},       {24, "secp384r1"},
    {25, "secp521r1"},       {26, "brainpoolP256r1"},
    {27, "brainpoolP384r1"}, {28, "brainpoolP512r1"},
    {29, "x25519"},          {30, "x448"},
};

/* Bytes of a ServerKeyExchange body at offset s->hs_pos. */
static void ske_bytes(wsp__tls_sniff *s, const uint8_t *d, size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint32_t pos = s->hs_pos + (uint32_t)i;
    if (pos < sizeof(s->ske))
      s->ske[pos] = d[i];
    if (pos == 1) {
      /* Read as ServerDHParams, the prime's length comes first. */
      s->dh_len = (uint16_t)(s->ske[0] << 8 | s->ske[1]);
      s->dh_prime = NULL;
      for (size_t k = 0; k < sizeof(primes) / sizeof(primes[0]); k++)
        if (primes[k].len == s->dh_len)
          s->dh_prime = primes[k].p;
      s->dh_match = s->dh_prime != NULL;
    } else if (pos >= 2 && s->dh_match && pos - 2 < s->dh_len) {
      s->dh_match = d[i] == s->dh_prime[pos - 2];
    } else if (pos >= sizeof(s->ske) && !s->dh_match) {
      return;
    }
  }
}

/* Payload bytes of handshake records. */
static void hs_bytes(wsp__tls_sniff *s, const uint8_t *d, size_t n) {
  while (n > 0 && !s->done) {
    size_t k;
    if (s->hs_have < sizeof(s->hs)) {
      s->hs[s->hs_have++] = *d++;
      n--;
      if (s->hs_have < sizeof(s->hs))
        continue;
      s->hs_left =
          (uint32_t)s->hs[1] << 16 | (uint32_t)s->hs[2] << 8 | s->hs[3];
      s->hs_pos = 0;
      if (s->hs[0] == HS_SKE)
        s->ske_seen = 1;
    } else {
      k = n < s->hs_left ? n : s->hs_left;
      if (s->hs[0] == HS_SKE)
        ske_bytes(s, d, k);
      s->hs_pos += (uint32_t)k;
      s->hs_left -= (uint32_t)k;
      d += k;
      n -= k;
    }
    if (s->hs_left == 0) {
      /* The message ended. */
      s->hs_have = 0;
      if (s->hs[0] == HS_SKE || s->hs[0] == HS_HELLO_DONE)
        s->done = 1;
    }
  }
}

void wsp__tls_sniff_feed(wsp__tls_sniff *s, const uint8_t *data, size_t len) {
  while (len > 0 && !s->done) {
    size_t n;
    if (s->rec_left == 0) {
      s->rec[s->rec_have++] = *data++;
      len--;
      if (s->rec_have < sizeof(s->rec))
        continue;
      s->rec_have = 0;
      s->rec_left = (uint16_t)(s->rec[3] << 8 | s->rec[4]);
      if (s->rec[0] != REC_HANDSHAKE && s->rec[0] != REC_ALERT)
        s->done = 1;
      continue;
    }
    n = len < s->rec_left ? len : s->rec_left;
    if (s->rec[0] == REC_HANDSHAKE)
      hs_bytes(s, data, n);
    data += n;
    len -= n;
    s->rec_left -= (uint16_t)n;
  }
}

const char *wsp__tls_sniff_group(const wsp__tls_sniff *s,
                                 mbedtls_key_exchange_type_t kx) {
  /* The fields describe the ServerKeyExchange only while it is the
   * message being read or the last one read. */
  if (!s->ske_seen || s->hs[0] != HS_SKE)
    return NULL;
  if (kx == MBEDTLS_KEY_EXCHANGE_ECDHE_RSA ||
      kx == MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA) {
    uint16_t id = (uint16_t)(s->ske[1] << 8 | s->ske[2]);
    if (s->hs_pos < sizeof(s->ske) || s->ske[0] != NAMED_CURVE)
      return NULL;
    for (size_t k = 0; k < sizeof(curves) / sizeof(curves[0]); k++)
      if (curves[k].id == id)
        return curves[k].name;
    return NULL;
  }
  if (kx == MBEDTLS_KEY_EXCHANGE_DHE_RSA && s->dh_match &&
      s->hs_pos >= 2u + s->dh_len)
    for (size_t k = 0; k < sizeof(primes) / sizeof(primes[0]); k++)
      if (primes[k].p == s->dh_prime)
        return primes[k].name;
  return NULL;
}
