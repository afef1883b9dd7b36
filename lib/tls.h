/*
 * The TLS object (tls.c): ciphertext in, plaintext out, and back, through
 * mbedTLS. It does no I/O of its own: ciphertext leaves through the send
 * callback, and it decides nothing: it reports the handshake's end, the
 * plaintext, how the peer ended (close_notify or a bare EOF) and failures
 * with their reason.
 */
#ifndef WSP_TLS_H
#define WSP_TLS_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

/* Size of the per-loop buffer decrypted records land in. */
#define WSP__PLAIN_BUF (16 * 1024)

struct mbedtls_ctr_drbg_context;

/* What every TLS object on one loop shares: configurations, CA chains and
 * client certificates (profiles), and the plaintext buffer. */
typedef struct wsp__tls_loop {
  struct wsp__tls_profile *profiles;     /* Made lazily, one per distinct
                                            setting (see profile_get). */
  struct mbedtls_ctr_drbg_context *drbg; /* The loop's DRBG (borrowed). */
  uint8_t *pbuf;                         /* Plaintext (WSP__PLAIN_BUF). */
} wsp__tls_loop;

/* What one connection's TLS needs to know; the strings are borrowed for
 * the object's life. */
typedef struct wsp__tls_params {
  const char *host;      /* The URL's host (a name or an IP literal). */
  uint16_t port;         /* Its port. */
  int ip_literal;        /* AF_INET or AF_INET6 when host is a literal. */
  const char *ca_file;   /* CA bundle, or NULL for the system's. */
  int insecure;          /* Verify nothing. */
  const char *cert_file; /* Client certificate, or NULL. */
  const char *key_file;  /* Its key, or NULL. */
  int resume;            /* Resume sessions (tls_cache.c). */
} wsp__tls_params;

/* What the TLS object reports. None may free the object. */
typedef struct wsp__tls_cbs {
  /* Ciphertext for the peer: 0, or an error (the bytes are lost; the
   * object carries on and the read side will tell what happened). */
  int (*send)(void *ud, const uint8_t *data, size_t len);
  /* The handshake completed. */
  void (*secure)(void *ud);
  /* Decrypted application data. A non-zero return stops reading for the
   * rest of this feed. */
  int (*plaintext)(void *ud, const uint8_t *data, size_t len);
  /* The peer ended TLS: with close_notify, or by a bare TCP EOF (0). */
  void (*closed)(void *ud, int close_notify);
  /* The handshake or a record failed: why, in one line. Nothing more is
   * read or written after it. */
  void (*failed)(void *ud, const char *why);
} wsp__tls_cbs;

typedef struct wsp__tls wsp__tls;

/* Sets up the loop's shared state: 0 or WSP_ENOMEM. */
int wsp__tls_loop_init(wsp__tls_loop *tl,
                       struct mbedtls_ctr_drbg_context *drbg);
void wsp__tls_loop_free(wsp__tls_loop *tl);

/*
 * Makes a TLS client for one connection. 0; WSP_ENOMEM; or WSP_EINVAL with a
 * reason in err (a CA file or client certificate that cannot be loaded).
 */
int wsp__tls_new(wsp__tls_loop *tl, const wsp__tls_params *prm,
                 const wsp__tls_cbs *cbs, void *ud, wsp__tls **out, char *err,
                 size_t errlen);
/* Starts the handshake: the ClientHello leaves through send. */
void wsp__tls_start(wsp__tls *t);
/* Ciphertext from the peer (len 0: only drive the handshake on). */
void wsp__tls_feed(wsp__tls *t, const uint8_t *data, size_t len);
/* The peer's TCP stream ended: reported as closed without close_notify,
 * unless TLS had already ended (then 0 is returned and nothing reported). */
int wsp__tls_eof(wsp__tls *t);
/* Encrypts plaintext for the peer: 0 or WSP_EIO. */
int wsp__tls_write(wsp__tls *t, const uint8_t *data, size_t len);
/* The negotiated version, cipher suite, ALPN protocol (or NULL), and
 * whether the peer's certificate was verified. */
const char *wsp__tls_version(const wsp__tls *t);
const char *wsp__tls_cipher(const wsp__tls *t);
const char *wsp__tls_alpn(const wsp__tls *t);
int wsp__tls_verified(const wsp__tls *t);
/* Whether the handshake resumed a session, and its key exchange group's
 * name (a static string), or NULL when unknown or resumed. */
int wsp__tls_resumed(const wsp__tls *t);
const char *wsp__tls_group(const wsp__tls *t);
/* NULL-safe. */
void wsp__tls_free(wsp__tls *t);

/* Loads a client certificate and its key, checking they match. */
int wsp__tls_load_client(mbedtls_x509_crt *crt, mbedtls_pk_context *pk,
                         const char *cert_file, const char *key_file, char *err,
                         size_t errlen);
extern const char wsp__system_ca_file[];

#endif
