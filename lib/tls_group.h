/*
 * The key exchange group of a TLS 1.2 handshake, read from the server's
 * ServerKeyExchange message. mbedTLS 2.28 has no getter for it, but in TLS
 * 1.2 that message travels in the clear before ChangeCipherSpec, so the
 * ciphertext the client receives can be watched on its way in. No I/O and
 * no allocation: bytes in, a name out.
 */
#ifndef WSP_TLS_GROUP_H
#define WSP_TLS_GROUP_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/ssl_ciphersuites.h>

/* Watches the server's first flight; zero-initialise before use. */
typedef struct wsp__tls_sniff {
  uint8_t rec[5];    /* Record header being gathered. */
  uint8_t rec_have;  /* Bytes of it gathered. */
  uint8_t done;      /* Stopped: the clear part of the handshake is over. */
  uint16_t rec_left; /* Payload bytes left in the current record. */
  uint8_t hs[4];     /* Handshake message header being gathered. */
  uint8_t hs_have;   /* Bytes of it gathered. */
  uint8_t ske_seen;  /* A ServerKeyExchange began. */
  uint32_t hs_left;  /* Body bytes left of the current message. */
  uint32_t hs_pos;   /* Body bytes of the current message seen so far. */
  uint8_t ske[3];    /* The ServerKeyExchange's first body bytes. */
  uint8_t dh_match;  /* Its DH prime so far equals dh_prime's. */
  const uint8_t *dh_prime; /* The RFC 7919 prime of its length, or NULL. */
  uint16_t dh_len;         /* The DH prime's length in bytes. */
} wsp__tls_sniff;

/* Feeds bytes the server sent, in order; any split is fine. */
void wsp__tls_sniff_feed(wsp__tls_sniff *s, const uint8_t *data, size_t len);

/*
 * The group's IANA name ("x25519", "secp256r1", "ffdhe2048"), or NULL when
 * no ServerKeyExchange was seen (a resumed handshake, RSA key exchange) or
 * its group has no such name (a DH prime not from RFC 7919). `kx` is the
 * negotiated suite's key exchange, which says how to read the message: the
 * first bytes of the ECDHE and DHE formats can look alike.
 */
const char *wsp__tls_sniff_group(const wsp__tls_sniff *s,
                                 mbedtls_key_exchange_type_t kx);

#endif
