/*
 * Certificate checks done on every full handshake (see tls_check.h). The
 * profile's mbedTLS configuration verifies nothing by itself
 * (MBEDTLS_SSL_VERIFY_NONE, so that a chain already verified on this loop
 * is not verified again): what mbedTLS would check beyond the chain's
 * signatures is done here, and what it never did (IP address SANs) too.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/oid.h>
#include <mbedtls/ssl.h>

#include "tls_cache.h"
#include "tls_check.h"

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static int caseeq(const unsigned char *a, const char *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (lower(a[i]) != lower((unsigned char)b[i]))
      return 0;
  return 1;
}

/* A dNSName or CN `name` against `host`, with a leftmost "*." wildcard
 * matching exactly one label (RFC 6125 section 6.4.3, as mbedTLS). */
static int name_matches(const mbedtls_x509_buf *name, const char *host,
                        size_t hlen) {
  const char *dot;
  if (name->len == hlen && caseeq(name->p, host, hlen))
    return 1;
  if (name->len < 3 || name->p[0] != '*' || name->p[1] != '.')
    return 0;
  if ((dot = memchr(host, '.', hlen)) == NULL || dot == host)
    return 0;
  return hlen - (size_t)(dot - host) == name->len - 1 &&
         caseeq(name->p + 1, dot, name->len - 1);
}

int wsp__tls_host_matches(const mbedtls_x509_crt *leaf, const char *host,
                          int ip_family) {
  const mbedtls_x509_sequence *san;
  const mbedtls_x509_name *dn;
  size_t hlen = strlen(host);
  if (ip_family != 0) {
    uint8_t ip[16];
    size_t iplen = ip_family == AF_INET6 ? 16 : 4;
    if (inet_pton(ip_family, host, ip) != 1)
      return 0;
    /* mbedTLS 2.28 keeps every subjectAltName entry with its context tag,
     * including the iPAddress ones it cannot match itself. */
    for (san = &leaf->subject_alt_names; san != NULL; san = san->next)
      if ((san->buf.tag & MBEDTLS_ASN1_TAG_VALUE_MASK) ==
              MBEDTLS_X509_SAN_IP_ADDRESS &&
          san->buf.len == iplen && memcmp(san->buf.p, ip, iplen) == 0)
        return 1;
    return 0;
  }
  if (leaf->ext_types & MBEDTLS_X509_EXT_SUBJECT_ALT_NAME) {
    for (san = &leaf->subject_alt_names; san != NULL; san = san->next)
      if ((san->buf.tag & MBEDTLS_ASN1_TAG_VALUE_MASK) ==
              MBEDTLS_X509_SAN_DNS_NAME &&
          name_matches(&san->buf, host, hlen))
        return 1;
    return 0;
  }
  for (dn = &leaf->subject; dn != NULL; dn = dn->next)
    if (MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &dn->oid) == 0 &&
        name_matches(&dn->val, host, hlen))
      return 1;
  return 0;
}

/* The key usage a server certificate needs for the key exchange, as
 * mbedTLS's own check with verification on (0: none). */
static unsigned key_usage(mbedtls_key_exchange_type_t kx) {
  switch (kx) {
  case MBEDTLS_KEY_EXCHANGE_RSA:
  case MBEDTLS_KEY_EXCHANGE_RSA_PSK:
    return MBEDTLS_X509_KU_KEY_ENCIPHERMENT;
  case MBEDTLS_KEY_EXCHANGE_DHE_RSA:
  case MBEDTLS_KEY_EXCHANGE_ECDHE_RSA:
  case MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA:
    return MBEDTLS_X509_KU_DIGITAL_SIGNATURE;
  case MBEDTLS_KEY_EXCHANGE_ECDH_RSA:
  case MBEDTLS_KEY_EXCHANGE_ECDH_ECDSA:
    return MBEDTLS_X509_KU_KEY_AGREEMENT;
  default:
    return 0;
  }
}

uint32_t wsp__tls_check_leaf(const mbedtls_x509_crt *leaf, const char *host,
                             int ip_family, mbedtls_key_exchange_type_t kx) {
  uint32_t flags = 0;
  if (!wsp__tls_host_matches(leaf, host, ip_family))
    flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
  if (mbedtls_x509_time_is_past(&leaf->valid_to))
    flags |= MBEDTLS_X509_BADCERT_EXPIRED;
  if (mbedtls_x509_time_is_future(&leaf->valid_from))
    flags |= MBEDTLS_X509_BADCERT_FUTURE;
  if (key_usage(kx) != 0 &&
      mbedtls_x509_crt_check_key_usage(leaf, key_usage(kx)) != 0)
    flags |= MBEDTLS_X509_BADCERT_KEY_USAGE;
  if (mbedtls_x509_crt_check_extended_key_usage(
          leaf, MBEDTLS_OID_SERVER_AUTH,
          MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)) != 0)
    flags |= MBEDTLS_X509_BADCERT_EXT_KEY_USAGE;
  return flags;
}

mbedtls_key_exchange_type_t wsp__tls_kx(const mbedtls_ssl_context *ssl) {
  const mbedtls_ssl_ciphersuite_t *cs =
      mbedtls_ssl_ciphersuite_from_string(mbedtls_ssl_get_ciphersuite(ssl));
  return cs != NULL ? cs->key_exchange : MBEDTLS_KEY_EXCHANGE_NONE;
}

uint32_t wsp__tls_check_peer(const mbedtls_ssl_context *ssl,
                             struct wsp__tls_chains *chains,
                             mbedtls_x509_crt *ca, const char *host,
                             int ip_family) {
  const mbedtls_x509_crt *chain = mbedtls_ssl_get_peer_cert(ssl);
  int cached;
  if (chain == NULL || chain->raw.p == NULL)
    return MBEDTLS_X509_BADCERT_MISSING;
  return wsp__tls_chain_verify(chains, chain, ca, &cached) |
         wsp__tls_check_leaf(chain, host, ip_family, wsp__tls_kx(ssl));
}

void wsp__tls_reason(uint32_t flags, const char *host, char *buf, size_t len) {
  const uint32_t major = MBEDTLS_X509_BADCERT_EXPIRED |
                         MBEDTLS_X509_BADCERT_FUTURE |
                         MBEDTLS_X509_BADCERT_NOT_TRUSTED;
  const char *why =
      flags & MBEDTLS_X509_BADCERT_MISSING   ? "the server sent no certificate"
      : flags & MBEDTLS_X509_BADCERT_EXPIRED ? "certificate expired"
      : flags & MBEDTLS_X509_BADCERT_FUTURE  ? "certificate not yet valid"
      : flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED
          ? "certificate signed by an unknown CA"
      : flags & MBEDTLS_X509_BADCERT_CN_MISMATCH
          ? "hostname mismatch: the certificate is not for"
      : flags & (MBEDTLS_X509_BADCERT_KEY_USAGE |
                 MBEDTLS_X509_BADCERT_EXT_KEY_USAGE)
          ? "certificate not for a TLS server (key usage)"
          : "certificate rejected";
  if (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH && !(flags & major) &&
      !(flags & MBEDTLS_X509_BADCERT_MISSING))
    snprintf(buf, len, "%s %s", why, host);
  else
    snprintf(buf, len, "%s (verify flags 0x%x)", why, (unsigned)flags);
}

unsigned char wsp__tls_alert(uint32_t flags) {
  /* mbedTLS's own choice with verification on. */
  if (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH)
    return MBEDTLS_SSL_ALERT_MSG_BAD_CERT;
  if (flags &
      (MBEDTLS_X509_BADCERT_KEY_USAGE | MBEDTLS_X509_BADCERT_EXT_KEY_USAGE |
       MBEDTLS_X509_BADCERT_BAD_PK | MBEDTLS_X509_BADCERT_BAD_KEY))
    return MBEDTLS_SSL_ALERT_MSG_UNSUPPORTED_CERT;
  if (flags & MBEDTLS_X509_BADCERT_EXPIRED)
    return MBEDTLS_SSL_ALERT_MSG_CERT_EXPIRED;
  if (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
    return MBEDTLS_SSL_ALERT_MSG_UNKNOWN_CA;
  return MBEDTLS_SSL_ALERT_MSG_CERT_UNKNOWN;
}
