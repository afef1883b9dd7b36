/*
 * The TLS pieces that need no peer: the key exchange group read from
 * scripted server flights (split at every point), and the host name and IP
 * address matching of certificates built field by field.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/dhm.h>
#include <mbedtls/oid.h>

#include "check.h"
#include "tls_check.h"
#include "tls_group.h"

static size_t put_record(uint8_t *out, uint8_t type, const uint8_t *body,
                         size_t len) {
  out[0] = type;
  out[1] = 3;
  out[2] = 3;
  out[3] = (uint8_t)(len >> 8);
  out[4] = (uint8_t)len;
  memcpy(out + 5, body, len);
  return 5 + len;
}

static size_t put_hs(uint8_t *out, uint8_t type, const uint8_t *body,
                     size_t len) {
  out[0] = type;
  out[1] = (uint8_t)(len >> 16);
  out[2] = (uint8_t)(len >> 8);
  out[3] = (uint8_t)len;
  if (len > 0)
    memcpy(out + 4, body, len);
  return 4 + len;
}

/*
 * A TLS 1.2 server's first flight: ServerHello, a Certificate message
 * fragmented over two records, the ServerKeyExchange `ske` and
 * ServerHelloDone (in one record), optionally after a warning alert.
 */
static size_t flight(uint8_t *out, const uint8_t *ske, size_t ske_len,
                     int alert_first) {
  static uint8_t hello[70], cert[600], hs[2048];
  size_t n = 0, h = 0, half;
  memset(hello, 0x11, sizeof(hello));
  memset(cert, 0x0c, sizeof(cert)); /* Looks like a ServerKeyExchange. */
  if (alert_first) {
    const uint8_t alert[2] = {1, 112};
    n += put_record(out + n, 21, alert, sizeof(alert));
  }
  h = put_hs(hs, 2, hello, sizeof(hello));
  n += put_record(out + n, 22, hs, h);
  h = put_hs(hs, 11, cert, sizeof(cert));
  half = h / 2;
  n += put_record(out + n, 22, hs, half);
  n += put_record(out + n, 22, hs + half, h - half);
  h = put_hs(hs, 12, ske, ske_len);
  h += put_hs(hs + h, 14, NULL, 0);
  n += put_record(out + n, 22, hs, h);
  return n;
}

/* The group read from `data`, fed whole, split at every point, and byte
 * by byte: every way must agree with `want`. */
static void group_is(const uint8_t *data, size_t len,
                     mbedtls_key_exchange_type_t kx, const char *want) {
  wsp__tls_sniff s;
  for (size_t cut = 0; cut <= len; cut++) {
    const char *got;
    memset(&s, 0, sizeof(s));
    wsp__tls_sniff_feed(&s, data, cut);
    wsp__tls_sniff_feed(&s, data + cut, len - cut);
    got = wsp__tls_sniff_group(&s, kx);
    CHECK(want == NULL ? got == NULL : got != NULL && !strcmp(got, want));
    if (want == NULL ? got != NULL : got == NULL || strcmp(got, want))
      fprintf(stderr, "  split at %zu: %s, wanted %s\n", cut,
              got ? got : "(null)", want ? want : "(null)");
  }
  memset(&s, 0, sizeof(s));
  for (size_t i = 0; i < len; i++)
    wsp__tls_sniff_feed(&s, data + i, 1);
  if (want == NULL)
    CHECK(wsp__tls_sniff_group(&s, kx) == NULL);
  else
    CHECK_STR(wsp__tls_sniff_group(&s, kx), want);
}

static void test_groups(void) {
  static uint8_t buf[8192], ske[1024];
  static const uint8_t ffdhe2048[] = MBEDTLS_DHM_RFC7919_FFDHE2048_P_BIN;
  const uint8_t ccs[1] = {1};
  size_t n, k;

  /* ECDHE: curve_type named_curve, x25519, a key, a signature. */
  memset(ske, 0x5a, 110);
  ske[0] = 3;
  ske[1] = 0;
  ske[2] = 29;
  ske[3] = 32;
  n = flight(buf, ske, 110, 0);
  group_is(buf, n, MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA, "x25519");
  group_is(buf, n, MBEDTLS_KEY_EXCHANGE_ECDHE_RSA, "x25519");
  /* Read as ServerDHParams the same bytes are a 768-byte prime that is
   * not RFC 7919's: the suite decides. */
  group_is(buf, n, MBEDTLS_KEY_EXCHANGE_DHE_RSA, NULL);
  group_is(buf, n, MBEDTLS_KEY_EXCHANGE_RSA, NULL);
  n = flight(buf, ske, 110, 1);
  group_is(buf, n, MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA, "x25519");
  ske[2] = 23;
  n = flight(buf, ske, 110, 0);
  group_is(buf, n, MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA, "secp256r1");
  /* What follows the clear part is never read. */
  n += put_record(buf + n, 20, ccs, 1);
  memset(buf + n, 0x0c, 64);
  group_is(buf, n + 64, MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA, "secp256r1");
  /* An unnamed curve id, explicit curves, a truncated message. */
  ske[2] = 99;
  n = flight(buf, ske, 110, 0);
  group_is(buf, n, MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA, NULL);
  ske[0] = 1;
  ske[2] = 29;
  n = flight(buf, ske, 110, 0);
  group_is(buf, n, MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA, NULL);
  ske[0] = 3;
  n = flight(buf, ske, 2, 0);
  group_is(buf, n, MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA, NULL);

  /* DHE with RFC 7919's 2048-bit prime, and with one byte changed. */
  k = 0;
  ske[k++] = sizeof(ffdhe2048) >> 8;
  ske[k++] = sizeof(ffdhe2048) & 0xff;
  memcpy(ske + k, ffdhe2048, sizeof(ffdhe2048));
  k += sizeof(ffdhe2048);
  memset(ske + k, 2, 40);
  k += 40;
  n = flight(buf, ske, k, 0);
  group_is(buf, n, MBEDTLS_KEY_EXCHANGE_DHE_RSA, "ffdhe2048");
  ske[100] ^= 1;
  n = flight(buf, ske, k, 0);
  group_is(buf, n, MBEDTLS_KEY_EXCHANGE_DHE_RSA, NULL);

  /* A resumed handshake: ServerHello, ChangeCipherSpec, encrypted data
   * that happens to look like a ServerKeyExchange. */
  {
    uint8_t hs[128];
    size_t h = put_hs(hs, 2, ske, 70);
    n = put_record(buf, 22, hs, h);
    n += put_record(buf + n, 20, ccs, 1);
    ske[0] = 3;
    ske[1] = 0;
    ske[2] = 29;
    h = put_hs(hs, 12, ske, 40);
    n += put_record(buf + n, 22, hs, h);
    group_is(buf, n, MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA, NULL);
  }
}

/* A subjectAltName entry of a certificate built by hand. */
static void san(mbedtls_x509_sequence *seq, int type, const void *p, size_t len,
                mbedtls_x509_sequence *next) {
  seq->buf.tag = MBEDTLS_ASN1_CONTEXT_SPECIFIC | type;
  seq->buf.p = (unsigned char *)p;
  seq->buf.len = len;
  seq->next = next;
}

static void test_hosts(void) {
  mbedtls_x509_crt crt;
  mbedtls_x509_sequence more[3];
  uint8_t v4[4], v6[16];
  static const char cn_oid[] = MBEDTLS_OID_AT_CN;
  inet_pton(AF_INET, "127.0.0.1", v4);
  inet_pton(AF_INET6, "::1", v6);

  memset(&crt, 0, sizeof(crt));
  crt.ext_types = MBEDTLS_X509_EXT_SUBJECT_ALT_NAME;
  san(&crt.subject_alt_names, MBEDTLS_X509_SAN_DNS_NAME, "*.Example.com", 13,
      &more[0]);
  san(&more[0], MBEDTLS_X509_SAN_IP_ADDRESS, v4, 4, &more[1]);
  san(&more[1], MBEDTLS_X509_SAN_DNS_NAME, "localhost", 9, &more[2]);
  san(&more[2], MBEDTLS_X509_SAN_IP_ADDRESS, v6, 16, NULL);
  /* A CN that must be ignored: the certificate has SANs. */
  crt.subject.oid.p = (unsigned char *)cn_oid;
  crt.subject.oid.len = sizeof(cn_oid) - 1;
  crt.subject.val.p = (unsigned char *)"cn.example.org";
  crt.subject.val.len = 14;

  CHECK(wsp__tls_host_matches(&crt, "localhost", 0));
  CHECK(wsp__tls_host_matches(&crt, "LocalHost", 0));
  CHECK(wsp__tls_host_matches(&crt, "a.example.com", 0));
  CHECK(wsp__tls_host_matches(&crt, "A.EXAMPLE.COM", 0));
  CHECK(!wsp__tls_host_matches(&crt, "example.com", 0));
  CHECK(!wsp__tls_host_matches(&crt, "a.b.example.com", 0));
  CHECK(!wsp__tls_host_matches(&crt, ".example.com", 0));
  CHECK(!wsp__tls_host_matches(&crt, "localhost.", 0));
  CHECK(!wsp__tls_host_matches(&crt, "localhos", 0));
  CHECK(!wsp__tls_host_matches(&crt, "cn.example.org", 0));
  CHECK(wsp__tls_host_matches(&crt, "127.0.0.1", AF_INET));
  CHECK(!wsp__tls_host_matches(&crt, "127.0.0.2", AF_INET));
  CHECK(wsp__tls_host_matches(&crt, "::1", AF_INET6));
  CHECK(!wsp__tls_host_matches(&crt, "::2", AF_INET6));
  /* An IP address is never matched against DNS names. */
  san(&more[0], MBEDTLS_X509_SAN_DNS_NAME, "10.0.0.1", 8, &more[1]);
  CHECK(!wsp__tls_host_matches(&crt, "10.0.0.1", AF_INET));

  /* Without a subjectAltName extension the CN decides. */
  memset(&crt.subject_alt_names, 0, sizeof(crt.subject_alt_names));
  crt.ext_types = 0;
  CHECK(wsp__tls_host_matches(&crt, "cn.example.org", 0));
  CHECK(!wsp__tls_host_matches(&crt, "localhost", 0));
  CHECK(!wsp__tls_host_matches(&crt, "127.0.0.1", AF_INET));
}

static void test_reasons(void) {
  char buf[200];
  wsp__tls_reason(MBEDTLS_X509_BADCERT_CN_MISMATCH, "example.com", buf,
                  sizeof(buf));
  CHECK_STR(buf, "hostname mismatch: the certificate is not for example.com");
  wsp__tls_reason(MBEDTLS_X509_BADCERT_CN_MISMATCH |
                      MBEDTLS_X509_BADCERT_EXPIRED,
                  "example.com", buf, sizeof(buf));
  CHECK_STR(buf, "certificate expired (verify flags 0x5)");
  wsp__tls_reason(MBEDTLS_X509_BADCERT_NOT_TRUSTED, "x", buf, sizeof(buf));
  CHECK_STR(buf, "certificate signed by an unknown CA (verify flags 0x8)");
  wsp__tls_reason(MBEDTLS_X509_BADCERT_FUTURE, "x", buf, sizeof(buf));
  CHECK_STR(buf, "certificate not yet valid (verify flags 0x200)");
  wsp__tls_reason(MBEDTLS_X509_BADCERT_EXT_KEY_USAGE, "x", buf, sizeof(buf));
  CHECK_STR(buf, "certificate not for a TLS server (key usage) (verify "
                 "flags 0x1000)");
  wsp__tls_reason(MBEDTLS_X509_BADCERT_MISSING, "x", buf, sizeof(buf));
  CHECK_STR(buf, "the server sent no certificate (verify flags 0x40)");
  CHECK_INT(wsp__tls_alert(MBEDTLS_X509_BADCERT_NOT_TRUSTED),
            MBEDTLS_SSL_ALERT_MSG_UNKNOWN_CA);
  CHECK_INT(wsp__tls_alert(MBEDTLS_X509_BADCERT_EXPIRED),
            MBEDTLS_SSL_ALERT_MSG_CERT_EXPIRED);
  CHECK_INT(wsp__tls_alert(MBEDTLS_X509_BADCERT_CN_MISMATCH |
                           MBEDTLS_X509_BADCERT_EXPIRED),
            MBEDTLS_SSL_ALERT_MSG_BAD_CERT);
}

int main(void) {
  test_groups();
  test_hosts();
  test_reasons();
  return check_status("test_tls_check");
}
