/*
 * The per-profile session and chain caches (see tls_cache.h). Both are
 * used only from their loop's thread.
 */
#include <stdlib.h>
#include <string.h>

#include <mbedtls/platform.h>
#include <mbedtls/platform_time.h>
#include <mbedtls/sha256.h>

#include "tls_cache.h"

/* ---- chains ---- */

static int time_cmp(const mbedtls_x509_time *a, const mbedtls_x509_time *b) {
  const int x[] = {a->year, a->mon, a->day, a->hour, a->min, a->sec};
  const int y[] = {b->year, b->mon, b->day, b->hour, b->min, b->sec};
  for (size_t i = 0; i < sizeof(x) / sizeof(x[0]); i++)
    if (x[i] != y[i])
      return x[i] < y[i] ? -1 : 1;
  return 0;
}

/* Called by the verification for each certificate of the path it built,
 * the trusted CA included: keeps the earliest expiry. */
static int path_cb(void *ud, mbedtls_x509_crt *crt, int depth,
                   uint32_t *flags) {
  mbedtls_x509_time *until = ud;
  (void)depth;
  (void)flags;
  if (until->year == 0 || time_cmp(&crt->valid_to, until) < 0)
    *until = crt->valid_to;
  return 0;
}

static int chain_hash(const mbedtls_x509_crt *chain, uint8_t out[32]) {
  mbedtls_sha256_context sha;
  int rc;
  mbedtls_sha256_init(&sha);
  rc = mbedtls_sha256_starts_ret(&sha, 0);
  for (; rc == 0 && chain != NULL && chain->raw.p != NULL;
       chain = chain->next) {
    /* The length first, so that no two chains hash the same bytes. */
    const uint8_t len[4] = {
        (uint8_t)(chain->raw.len >> 24), (uint8_t)(chain->raw.len >> 16),
        (uint8_t)(chain->raw.len >> 8), (uint8_t)chain->raw.len};
    rc = mbedtls_sha256_update_ret(&sha, len, sizeof(len));
    if (rc == 0)
      rc = mbedtls_sha256_update_ret(&sha, chain->raw.p, chain->raw.len);
  }
  if (rc == 0)
    rc = mbedtls_sha256_finish_ret(&sha, out);
  mbedtls_sha256_free(&sha);
  return rc;
}

uint32_t wsp__tls_chain_verify(wsp__tls_chains *c,
                               const mbedtls_x509_crt *chain,
                               mbedtls_x509_crt *ca, int *cached) {
  uint8_t h[32];
  mbedtls_x509_time until = {0};
  uint32_t flags = 0;
  int hashed = chain_hash(chain, h) == 0;
  *cached = 0;
  for (size_t i = 0; hashed && i < c->n; i++)
    if (memcmp(c->hash[i], h, sizeof(h)) == 0) {
      if (!mbedtls_x509_time_is_past(&c->until[i])) {
        *cached = 1;
        return 0;
      }
      /* Something on its path expired: verify again, and report it. */
      c->n--;
      memmove(c->hash[i], c->hash[c->n], sizeof(h));
      c->until[i] = c->until[c->n];
      break;
    }
  /* The verification only reads the chain; 2.28's prototype is not const.
   */
  if (mbedtls_x509_crt_verify_with_profile((mbedtls_x509_crt *)chain, ca, NULL,
                                           &mbedtls_x509_crt_profile_default,
                                           NULL, &flags, path_cb,
                                           &until) != 0 &&
      flags == 0)
    flags = MBEDTLS_X509_BADCERT_OTHER;
  if (flags == 0 && hashed) {
    size_t i = c->n < WSP__TLS_CHAINS ? c->n++ : c->next;
    memcpy(c->hash[i], h, sizeof(h));
    c->until[i] = until;
    c->next = (i + 1) % WSP__TLS_CHAINS;
  }
  return flags;
}

/* ---- sessions ---- */

/* Sessions without a ticket lifetime (session IDs) are offered for at most
 * a day, the upper limit RFC 5246 suggests for servers. */
#define MAX_AGE_S (24 * 3600)

struct wsp__tls_session {
  char *host;                    /* The URL's host (and the SNI sent). */
  uint16_t port;                 /* The port. */
  mbedtls_ssl_session s;         /* The session, without the peer's
                                    certificate. */
  struct wsp__tls_session *next; /* The next entry. */
};

static void entry_free(wsp__tls_session *e) {
  mbedtls_ssl_session_free(&e->s);
  free(e->host);
  free(e);
}

/* Finds host and port's entry; *prev is the link that points to it. */
static wsp__tls_session *find(wsp__tls_sessions *c, const char *host,
                              uint16_t port, wsp__tls_session ***prev) {
  wsp__tls_session **pp;
  for (pp = &c->head; *pp != NULL; pp = &(*pp)->next)
    if ((*pp)->port == port && strcmp((*pp)->host, host) == 0) {
      *prev = pp;
      return *pp;
    }
  return NULL;
}

static void unlink_entry(wsp__tls_sessions *c, wsp__tls_session **prev) {
  wsp__tls_session *e = *prev;
  *prev = e->next;
  c->n--;
  entry_free(e);
}

int wsp__tls_session_offer(wsp__tls_sessions *c, const char *host,
                           uint16_t port, mbedtls_ssl_context *ssl,
                           uint8_t master[WSP__TLS_MASTER]) {
  wsp__tls_session **prev, *e = find(c, host, port, &prev);
  mbedtls_time_t age;
  int rc;
  if (e == NULL)
    return 0;
  age = mbedtls_time(NULL) - e->s.start;
  if (age < 0 || age >= (e->s.ticket_len > 0 && e->s.ticket_lifetime > 0
                             ? (mbedtls_time_t)e->s.ticket_lifetime
                             : MAX_AGE_S)) {
    unlink_entry(c, prev);
    return 0;
  }
  if ((rc = mbedtls_ssl_set_session(ssl, &e->s)) != 0)
    return rc;
  memcpy(master, e->s.master, WSP__TLS_MASTER);
  return 1;
}

int wsp__tls_session_get(const mbedtls_ssl_context *ssl, const uint8_t *offered,
                         mbedtls_ssl_session *out, int *resumed) {
  int rc;
  *resumed = 0;
  if ((rc = mbedtls_ssl_get_session(ssl, out)) != 0)
    return rc;
  *resumed =
      offered != NULL && memcmp(out->master, offered, WSP__TLS_MASTER) == 0;
  /* A resumed handshake inherits the identity verified when the session
   * was made: its certificate is never looked at again. Dropping it saves
   * parsing it into every probe that resumes, and its memory. */
  if (out->peer_cert != NULL) {
    mbedtls_x509_crt_free(out->peer_cert);
    mbedtls_free(out->peer_cert);
    out->peer_cert = NULL;
  }
  return 0;
}

int wsp__tls_session_put(wsp__tls_sessions *c, const char *host, uint16_t port,
                         mbedtls_ssl_session *s) {
  wsp__tls_session **prev, *e;
  if ((e = find(c, host, port, &prev)) != NULL) {
    *prev = e->next;
    mbedtls_ssl_session_free(&e->s);
  } else {
    if ((e = calloc(1, sizeof(*e))) == NULL ||
        (e->host = strdup(host)) == NULL) {
      free(e);
      return MBEDTLS_ERR_SSL_ALLOC_FAILED;
    }
    e->port = port;
    c->n++;
  }
  e->s = *s;
  mbedtls_ssl_session_init(s);
  e->next = c->head;
  c->head = e;
  if (c->n > WSP__TLS_SESSIONS) {
    /* Drop the least recently stored. */
    for (prev = &c->head; (*prev)->next != NULL; prev = &(*prev)->next)
      ;
    unlink_entry(c, prev);
  }
  return 0;
}

void wsp__tls_session_forget(wsp__tls_sessions *c, const char *host,
                             uint16_t port) {
  wsp__tls_session **prev;
  if (find(c, host, port, &prev) != NULL)
    unlink_entry(c, prev);
}

void wsp__tls_sessions_free(wsp__tls_sessions *c) {
  while (c->head != NULL) {
    wsp__tls_session *e = c->head;
    c->head = e->next;
    entry_free(e);
  }
  c->n = 0;
}
