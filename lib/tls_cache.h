/*
 * What a loop remembers between TLS handshakes, per TLS profile (CA file,
 * verification, client certificate, resumption): the sessions to resume,
 * one per host, port and SNI, and the certificate chains already verified,
 * by a hash of their DER. Both spare the expensive public-key operations
 * of a full handshake: resumption all of them, the chain cache one
 * signature verification per chain link.
 */
#ifndef WSP_TLS_CACHE_H
#define WSP_TLS_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "tls_group.h"

/* Length of a TLS 1.2 master secret. */
#define WSP__TLS_MASTER 48
/* Verified chains remembered per profile. */
#define WSP__TLS_CHAINS 16
/* Hosts (with port) whose session is remembered per profile. */
#define WSP__TLS_SESSIONS 64

/* Chains that verified up to a trusted CA. */
typedef struct wsp__tls_chains {
  uint8_t hash[WSP__TLS_CHAINS][32];        /* SHA-256 over each certificate's
                                               length and DER, in order. */
  mbedtls_x509_time until[WSP__TLS_CHAINS]; /* When the first certificate
                                               of its verified path expires. */
  size_t n;                                 /* Entries in use. */
  size_t next; /* The entry replaced next once all are in use. */
} wsp__tls_chains;

/*
 * Verifies `chain` (as received: the leaf first) against `ca` with
 * mbedTLS's default profile, unless the same chain verified before and
 * nothing on its path has expired since. Host names are not checked here
 * (tls_check.h). Returns the MBEDTLS_X509_BADCERT_* flags, 0 when it
 * verified; *cached says whether the cache answered. Only chains that
 * verified are remembered.
 */
uint32_t wsp__tls_chain_verify(wsp__tls_chains *c,
                               const mbedtls_x509_crt *chain,
                               mbedtls_x509_crt *ca, int *cached);

typedef struct wsp__tls_session wsp__tls_session;

/* Resumable sessions, the most recently stored first. */
typedef struct wsp__tls_sessions {
  wsp__tls_session *head; /* The entries. */
  size_t n;               /* How many. */
} wsp__tls_sessions;

/*
 * Offers the session remembered for host and port (the SNI follows from
 * the host) to `ssl` before its handshake, copying its master secret to
 * `master`. Returns 1 when one was offered, 0 when none is remembered or
 * it is past its lifetime, or mbedTLS's negative error.
 */
int wsp__tls_session_offer(wsp__tls_sessions *c, const char *host,
                           uint16_t port, mbedtls_ssl_context *ssl,
                           uint8_t master[WSP__TLS_MASTER]);

/*
 * After a completed handshake: copies its session to `out` (initialised by
 * the caller), without the peer's certificate, and sets *resumed, which
 * mbedTLS 2.28 has no getter for: the handshake resumed the offered
 * session when the master secrets are equal (`offered` is NULL when none
 * was offered). Returns 0 or mbedTLS's negative error.
 */
int wsp__tls_session_get(const mbedtls_ssl_context *ssl, const uint8_t *offered,
                         mbedtls_ssl_session *out, int *resumed);

/*
 * Remembers `s` for host and port, replacing the previous session (a new
 * ticket may have come with a resumed one). Takes what `s` owns and leaves
 * it empty. Returns 0 or MBEDTLS_ERR_SSL_ALLOC_FAILED.
 */
int wsp__tls_session_put(wsp__tls_sessions *c, const char *host, uint16_t port,
                         mbedtls_ssl_session *s);

/* Forgets host and port's session (its resumption failed). */
void wsp__tls_session_forget(wsp__tls_sessions *c, const char *host,
                             uint16_t port);

/* Frees every remembered session. */
void wsp__tls_sessions_free(wsp__tls_sessions *c);

#endif
