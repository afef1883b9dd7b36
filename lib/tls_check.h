/*
 * The checks of a server certificate that depend on the handshake rather
 * than on the chain alone, done on every full handshake: the URL's host
 * (DNS names and IP addresses), the leaf's validity dates, its key usage
 * for the negotiated key exchange and its extended key usage. The chain's
 * signatures up to a trusted CA are tls_cache.c's. Failures are
 * mbedTLS's MBEDTLS_X509_BADCERT_* flags, so that a chain verification's
 * flags and these combine into one precise reason.
 */
#ifndef WSP_TLS_CHECK_H
#define WSP_TLS_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ciphersuites.h>
#include <mbedtls/x509_crt.h>

/*
 * Whether the leaf is for `host`: an IP literal (ip_family AF_INET or
 * AF_INET6) must be one of its iPAddress SANs; a name must match one of
 * its dNSName SANs, or its subject's CN when it has no subjectAltName, as
 * mbedTLS does (a "*." wildcard stands for exactly one leftmost label).
 * Case-insensitive.
 */
int wsp__tls_host_matches(const mbedtls_x509_crt *leaf, const char *host,
                          int ip_family);

/*
 * Every check above for a full handshake's leaf certificate, with the
 * negotiated suite's key exchange. Returns the BADCERT flags, 0 when all
 * pass.
 */
uint32_t wsp__tls_check_leaf(const mbedtls_x509_crt *leaf, const char *host,
                             int ip_family, mbedtls_key_exchange_type_t kx);

/* The key exchange of the suite `ssl` negotiated. */
mbedtls_key_exchange_type_t wsp__tls_kx(const mbedtls_ssl_context *ssl);

struct wsp__tls_chains;

/*
 * Accepts or refuses a full handshake's certificate, before anything is
 * sent over the connection: the chain as received against `ca`, once per
 * distinct chain on this loop (tls_cache.h), and the leaf's checks above
 * every time. Returns the BADCERT flags of both, 0 when accepted.
 */
uint32_t wsp__tls_check_peer(const mbedtls_ssl_context *ssl,
                             struct wsp__tls_chains *chains,
                             mbedtls_x509_crt *ca, const char *host,
                             int ip_family);

/*
 * One line saying why a certificate with these flags is refused, naming
 * `host` for a mismatch: "certificate expired (verify flags 0x1)",
 * "hostname mismatch: the certificate is not for localhost"...
 */
void wsp__tls_reason(uint32_t flags, const char *host, char *buf, size_t len);

/* The TLS alert that tells the server why (RFC 5246 section 7.2.2). */
unsigned char wsp__tls_alert(uint32_t flags);

#endif
