/*
 * The TLS object: mbedTLS over a custom BIO, with no I/O of its own.
 * Ciphertext comes in through wsp__tls_feed() and leaves through the send
 * callback; plaintext leaves through the plaintext callback. No threads, no
 * blocking: WANT_READ simply means "wait for the next feed". It decides no
 * outcome: it says the handshake completed, what the peer sent, how the
 * peer ended (close_notify or a bare EOF), or why TLS failed.
 *
 * What is shared per loop lives in a profile on the loop's TLS state: the
 * TLS configuration, the parsed CA chain, the client certificate, the
 * sessions to resume and the chains already verified, one per distinct (CA
 * file, insecure, client certificate, resumption) combination. A
 * connection owns only its mbedtls_ssl_context, and during its handshake a
 * little more.
 *
 * The handshake's steps, in order: wsp__tls_new() (profile_get, ssl_setup,
 * hostname, the session offered for resumption, BIO), handshake() until it
 * completes, then accept_peer() (the certificate of a full handshake, the
 * session kept for the next connection) before `secure` is reported, then
 * records through the read loop of wsp__tls_feed().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/error.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "tls.h"
#include "tls_cache.h"
#include "tls_check.h"
#include "util.h"
#include "wsprobe.h"

const char wsp__system_ca_file[] = "/etc/ssl/certs/ca-certificates.crt";

static const char *alpn_protos[] = {"http/1.1", NULL};

/* Key exchange groups, fastest first: mbedTLS 2.28's X25519 costs about a
 * third of a P-256 scalar multiplication. Servers pick from this list. */
static const mbedtls_ecp_group_id curves[] = {
    MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1,
    MBEDTLS_ECP_DP_SECP384R1,  MBEDTLS_ECP_DP_SECP521R1,
    MBEDTLS_ECP_DP_NONE,
};

typedef struct wsp__tls_profile wsp__tls_profile;

struct wsp__tls_profile {
  char *ca_file;                 /* CA file, NULL for the system bundle. */
  int insecure;                  /* Verification off. */
  char *cert_file;               /* Client certificate, or NULL. */
  char *key_file;                /* Its key, or NULL. */
  int resume;                    /* Sessions are resumed. */
  mbedtls_ssl_config conf;       /* Shared by every probe of the profile. */
  mbedtls_x509_crt ca;           /* Trusted CAs. */
  mbedtls_x509_crt own;          /* Client certificate chain. */
  mbedtls_pk_context pk;         /* Client key. */
  wsp__tls_sessions sessions;    /* Sessions to resume, per host and port. */
  wsp__tls_chains chains;        /* Chains verified on this loop. */
  struct wsp__tls_profile *next; /* The context's next profile. */
};

/* What a connection needs during its handshake only. */
typedef struct wsp__tls_hs {
  wsp__tls_sniff sniff;            /* Reads the key exchange group. */
  int offered;                     /* A remembered session was offered. */
  uint8_t master[WSP__TLS_MASTER]; /* Its master secret. */
} wsp__tls_hs;

/* One connection's TLS. */
struct wsp__tls {
  mbedtls_ssl_context ssl; /* The session. */
  wsp__tls_loop *tl;       /* The loop's shared state. */
  wsp__tls_profile *pr;    /* Its profile. */
  wsp__tls_hs *hs;         /* Handshake state, until it completes. */
  wsp__tls_params prm;     /* Host and settings (strings borrowed). */
  const wsp__tls_cbs *cbs; /* Where facts go. */
  void *ud;                /* Passed to every callback. */
  const uint8_t *in;       /* Ciphertext waiting for mbedTLS. */
  size_t in_len;           /* How many bytes. */
  int done;                /* The handshake completed. */
  int ended;               /* closed or failed was reported. */
  int verified;            /* The certificate was verified. */
  int resumed;             /* The handshake resumed a session. */
  const char *group;       /* Its key exchange group (static), or NULL. */
};

/* Frees the handshake state; the master secret copy is wiped first. */
static void hs_free(wsp__tls *t) {
  if (t->hs != NULL) {
    mbedtls_platform_zeroize(t->hs, sizeof(*t->hs));
    free(t->hs);
    t->hs = NULL;
  }
}

static int streq(const char *a, const char *b) {
  return a == b || (a && b && strcmp(a, b) == 0);
}

static void profile_free(wsp__tls_profile *pr) {
  wsp__tls_sessions_free(&pr->sessions);
  mbedtls_ssl_config_free(&pr->conf);
  mbedtls_x509_crt_free(&pr->ca);
  mbedtls_x509_crt_free(&pr->own);
  mbedtls_pk_free(&pr->pk);
  free(pr->ca_file);
  free(pr->cert_file);
  free(pr->key_file);
  free(pr);
}

int wsp__tls_loop_init(wsp__tls_loop *tl,
                       struct mbedtls_ctr_drbg_context *drbg) {
  tl->profiles = NULL;
  tl->drbg = drbg;
  return (tl->pbuf = malloc(WSP__PLAIN_BUF)) == NULL ? WSP_ENOMEM : 0;
}

void wsp__tls_loop_free(wsp__tls_loop *tl) {
  while (tl->profiles != NULL) {
    wsp__tls_profile *next = tl->profiles->next;
    profile_free(tl->profiles);
    tl->profiles = next;
  }
  free(tl->pbuf);
  tl->pbuf = NULL;
}

/* Loads a key file; mbedtls_pk_parse_keyfile handles PEM and DER. */
int wsp__tls_load_client(mbedtls_x509_crt *crt, mbedtls_pk_context *pk,
                         const char *cert_file, const char *key_file, char *err,
                         size_t errlen) {
  int rc;
  if (!wsp__regular_file(cert_file) || !wsp__regular_file(key_file)) {
    snprintf(err, errlen,
             "client certificate '%s' or key '%s' is not a "
             "readable file",
             cert_file, key_file);
    return WSP_EINVAL;
  }
  if ((rc = mbedtls_x509_crt_parse_file(crt, cert_file)) != 0) {
    snprintf(err, errlen, "cannot load client certificate '%s' (-0x%04x)",
             cert_file, (unsigned)-rc);
    return WSP_EINVAL;
  }
  if ((rc = mbedtls_pk_parse_keyfile(pk, key_file, NULL)) != 0) {
    snprintf(err, errlen, "cannot load client key '%s' (-0x%04x)", key_file,
             (unsigned)-rc);
    return WSP_EINVAL;
  }
  if (mbedtls_pk_check_pair(&crt->pk, pk) != 0) {
    snprintf(err, errlen, "client key '%s' does not match certificate '%s'",
             key_file, cert_file);
    return WSP_EINVAL;
  }
  return 0;
}

static wsp__tls_profile *profile_get(wsp__tls_loop *tl,
                                     const wsp__tls_params *cfg, char *err,
                                     size_t errlen) {
  wsp__tls_profile *pr;
  int rc;
  for (pr = tl->profiles; pr != NULL; pr = pr->next)
    if (pr->insecure == cfg->insecure && pr->resume == cfg->resume &&
        streq(pr->ca_file, cfg->ca_file) &&
        streq(pr->cert_file, cfg->cert_file) &&
        streq(pr->key_file, cfg->key_file))
      return pr;
  if ((pr = calloc(1, sizeof(*pr))) == NULL) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  mbedtls_ssl_config_init(&pr->conf);
  mbedtls_x509_crt_init(&pr->ca);
  mbedtls_x509_crt_init(&pr->own);
  mbedtls_pk_init(&pr->pk);
  pr->insecure = cfg->insecure;
  pr->resume = cfg->resume;
  if ((cfg->ca_file && !(pr->ca_file = strdup(cfg->ca_file))) ||
      (cfg->cert_file && !(pr->cert_file = strdup(cfg->cert_file))) ||
      (cfg->key_file && !(pr->key_file = strdup(cfg->key_file)))) {
    snprintf(err, errlen, "out of memory");
    goto fail;
  }
  if (mbedtls_ssl_config_defaults(&pr->conf, MBEDTLS_SSL_IS_CLIENT,
                                  MBEDTLS_SSL_TRANSPORT_STREAM,
                                  MBEDTLS_SSL_PRESET_DEFAULT) != 0) {
    snprintf(err, errlen, "cannot set up TLS");
    goto fail;
  }
  /* TLS 1.0 and 1.1 are compiled into Debian's mbedTLS 2.28: refuse them. */
  mbedtls_ssl_conf_min_version(&pr->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                               MBEDTLS_SSL_MINOR_VERSION_3);
  mbedtls_ssl_conf_rng(&pr->conf, mbedtls_ctr_drbg_random, tl->drbg);
  mbedtls_ssl_conf_alpn_protocols(&pr->conf, alpn_protos);
  mbedtls_ssl_conf_curves(&pr->conf, curves);
  /* Without resumption no ticket is asked for either: the server is spared
   * making them. */
  mbedtls_ssl_conf_session_tickets(
      &pr->conf, pr->resume ? MBEDTLS_SSL_SESSION_TICKETS_ENABLED
                            : MBEDTLS_SSL_SESSION_TICKETS_DISABLED);
  /* mbedTLS verifies nothing itself: it would verify every chain again on
   * every handshake. wsp__tls_check_peer() does it after the handshake,
   * before anything is sent. The ServerKeyExchange's signature is still
   * checked against the received certificate in this mode. */
  mbedtls_ssl_conf_authmode(&pr->conf, MBEDTLS_SSL_VERIFY_NONE);
  if (!pr->insecure) {
    const char *file = pr->ca_file ? pr->ca_file : wsp__system_ca_file;
    /* A bundle may hold a few certificates mbedTLS cannot parse; that is
     * fine as long as some could be (a positive return counts failures). */
    rc = wsp__regular_file(file) ? mbedtls_x509_crt_parse_file(&pr->ca, file)
                                 : -1;
    if (rc < 0 || pr->ca.version == 0) {
      snprintf(err, errlen, "cannot load CA certificates from '%s'", file);
      goto fail;
    }
  }
  if (pr->cert_file != NULL) {
    if (wsp__tls_load_client(&pr->own, &pr->pk, pr->cert_file, pr->key_file,
                             err, errlen) != 0 ||
        mbedtls_ssl_conf_own_cert(&pr->conf, &pr->own, &pr->pk) != 0)
      goto fail;
  }
  pr->next = tl->profiles;
  tl->profiles = pr;
  return pr;
fail:
  profile_free(pr);
  return NULL;
}

/* ---- BIO ---- */

static int bio_send(void *ud, const unsigned char *buf, size_t len) {
  wsp__tls *t = ud;
  /* The connection queues what the kernel does not take: never
   * WANT_WRITE. A failed write (the server reset us) is not reported
   * here: the alert the server sent before resetting, or the reset
   * itself, arrives on the read side and says more than "send failed"
   * would. */
  (void)t->cbs->send(t->ud, buf, len);
  return (int)len;
}

static int bio_recv(void *ud, unsigned char *buf, size_t len) {
  wsp__tls *t = ud;
  if (t->in_len == 0)
    return MBEDTLS_ERR_SSL_WANT_READ;
  if (len > t->in_len)
    len = t->in_len;
  memcpy(buf, t->in, len);
  t->in += len;
  t->in_len -= len;
  return (int)len;
}

/* ---- failures, with the reason a person needs ---- */

static const char *alert_name(unsigned char a) {
  switch (a) {
  case 10:
    return "unexpected_message";
  case 20:
    return "bad_record_mac";
  case 40:
    return "handshake_failure";
  case 42:
    return "bad_certificate";
  case 43:
    return "unsupported_certificate";
  case 44:
    return "certificate_revoked";
  case 45:
    return "certificate_expired";
  case 46:
    return "certificate_unknown";
  case 47:
    return "illegal_parameter";
  case 48:
    return "unknown_ca";
  case 49:
    return "access_denied";
  case 50:
    return "decode_error";
  case 51:
    return "decrypt_error";
  case 70:
    return "protocol_version";
  case 71:
    return "insufficient_security";
  case 80:
    return "internal_error";
  case 112:
    return "unrecognized_name";
  case 116:
    return "certificate_required";
  case 120:
    return "no_application_protocol";
  default:
    return "unknown alert";
  }
}

/* Reports why TLS failed; nothing is read or written after it. */
/* Reports why TLS failed; nothing is read or written after it. */
static void fail_with(wsp__tls *t, const char *why) {
  if (t->ended)
    return;
  t->ended = 1;
  t->cbs->failed(t->ud, why);
}

static void tls_fail(wsp__tls *t, int rc) {
  char why[256], detail[160];
  if (t->hs != NULL && t->hs->offered)
    /* Resuming failed: the next connection starts afresh. */
    wsp__tls_session_forget(&t->pr->sessions, t->prm.host, t->prm.port);
  if (rc == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE) {
    unsigned char a = t->ssl.in_msg ? t->ssl.in_msg[1] : 0;
    /* Debian's mbedTLS 2.28 has no TLS 1.3: say so where it matters. */
    snprintf(why, sizeof(why), "handshake alert received: %s (%u)%s",
             alert_name(a), a,
             a == 70 ? ": the server accepts no TLS 1.2, the only version "
                       "this build speaks"
                     : "");
  } else if (rc == MBEDTLS_ERR_SSL_BAD_HS_PROTOCOL_VERSION) {
    snprintf(why, sizeof(why),
             "protocol version: the server offers no TLS 1.2 or newer that "
             "this build supports");
  } else {
    mbedtls_strerror(rc, detail, sizeof(detail));
    snprintf(why, sizeof(why), "TLS error -0x%04x: %s", (unsigned)-rc, detail);
  }
  fail_with(t, why);
}

/* ---- the connection's side ---- */

int wsp__tls_new(wsp__tls_loop *tl, const wsp__tls_params *prm,
                 const wsp__tls_cbs *cbs, void *ud, wsp__tls **out, char *err,
                 size_t errlen) {
  wsp__tls_profile *pr = profile_get(tl, prm, err, errlen);
  wsp__tls *t;
  int rc;
  *out = NULL;
  if (pr == NULL)
    return WSP_EINVAL;
  if ((t = calloc(1, sizeof(*t))) == NULL ||
      (t->hs = calloc(1, sizeof(*t->hs))) == NULL) {
    free(t);
    return WSP_ENOMEM;
  }
  t->tl = tl;
  t->pr = pr;
  t->prm = *prm;
  t->cbs = cbs;
  t->ud = ud;
  mbedtls_ssl_init(&t->ssl);
  /* Names get SNI; IP literals get none (RFC 6066). */
  if ((rc = mbedtls_ssl_setup(&t->ssl, &pr->conf)) != 0 ||
      (!prm->ip_literal &&
       (rc = mbedtls_ssl_set_hostname(&t->ssl, prm->host)) != 0)) {
    wsp__tls_free(t);
    if (rc == MBEDTLS_ERR_SSL_ALLOC_FAILED)
      return WSP_ENOMEM;
    snprintf(err, errlen, "cannot set up TLS (-0x%04x)", (unsigned)-rc);
    return WSP_EINVAL;
  }
  /* Resumption (tls_cache.c): offer this host's last session. */
  if (pr->resume &&
      (rc = wsp__tls_session_offer(&pr->sessions, prm->host, prm->port, &t->ssl,
                                   t->hs->master)) < 0) {
    wsp__tls_free(t);
    snprintf(err, errlen, "cannot offer a TLS session (-0x%04x)",
             (unsigned)-rc);
    return WSP_EINVAL;
  }
  t->hs->offered = rc == 1;
  mbedtls_ssl_set_bio(&t->ssl, t, bio_send, bio_recv, NULL);
  t->verified = !pr->insecure;
  *out = t;
  return 0;
}

void wsp__tls_start(wsp__tls *t) { wsp__tls_feed(t, NULL, 0); }

/*
 * After a completed handshake, before anything is sent over it: whether it
 * resumed, the certificate of a full one (tls_check.c), and the session
 * remembered for the next connection (tls_cache.c). A resumed handshake
 * carries no certificate: it inherits the identity verified for the
 * session it resumed, which was remembered only once accepted. Returns 0,
 * or -1 after reporting the failure.
 */
static int accept_peer(wsp__tls *t) {
  wsp__tls_hs *hs = t->hs;
  wsp__tls_profile *pr = t->pr;
  mbedtls_ssl_session s;
  uint32_t flags = 0;
  int resumed = 0, kept;
  mbedtls_ssl_session_init(&s);
  kept = pr->resume &&
         wsp__tls_session_get(&t->ssl, hs->offered ? hs->master : NULL, &s,
                              &resumed) == 0;
  if (!resumed && !pr->insecure)
    flags = wsp__tls_check_peer(&t->ssl, &pr->chains, &pr->ca, t->prm.host,
                                t->prm.ip_literal);
  if (flags != 0) {
    char why[200];
    mbedtls_ssl_session_free(&s);
    if (hs->offered)
      /* The server no longer resumes the session made with the
       * certificate accepted before. */
      wsp__tls_session_forget(&pr->sessions, t->prm.host, t->prm.port);
    wsp__tls_reason(flags, t->prm.host, why, sizeof(why));
    (void)mbedtls_ssl_send_alert_message(&t->ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL,
                                         wsp__tls_alert(flags));
    fail_with(t, why);
    return -1;
  }
  if (kept)
    (void)wsp__tls_session_put(&pr->sessions, t->prm.host, t->prm.port, &s);
  mbedtls_ssl_session_free(&s);
  t->resumed = resumed;
  t->group =
      resumed ? NULL : wsp__tls_sniff_group(&hs->sniff, wsp__tls_kx(&t->ssl));
  return 0;
}

/* Drives the handshake on: 0 when it completed (and `secure` was
 * reported), 1 while it needs more bytes, -1 after a failure. */
static int handshake(wsp__tls *t) {
  int rc = mbedtls_ssl_handshake(&t->ssl);
  if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
    return 1;
  if (rc != 0) {
    tls_fail(t, rc);
    return -1;
  }
  if (accept_peer(t) != 0)
    return -1;
  hs_free(t);
  t->done = 1;
  t->cbs->secure(t->ud);
  return 0;
}

void wsp__tls_feed(wsp__tls *t, const uint8_t *data, size_t len) {
  uint8_t *plain = t->tl->pbuf;
  if (t->ended)
    return;
  t->in = data;
  t->in_len = len;
  /* The group is read from the handshake's clear part (tls_group.c). */
  if (!t->done && t->hs != NULL)
    wsp__tls_sniff_feed(&t->hs->sniff, data, len);
  if (!t->done && handshake(t) != 0)
    goto out;
  /* Records already inside mbedTLS raise no further read event: drain
   * until it wants more bytes. */
  while (!t->ended) {
    int n = mbedtls_ssl_read(&t->ssl, plain, WSP__PLAIN_BUF);
    if (n > 0) {
      if (t->cbs->plaintext(t->ud, plain, (size_t)n) != 0)
        break;
      continue;
    }
    if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE)
      break;
    if (n == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || n == 0) {
      t->ended = 1;
      t->cbs->closed(t->ud, n == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY);
      break;
    }
    tls_fail(t, n);
  }
out:
  t->in = NULL;
  t->in_len = 0;
}

int wsp__tls_eof(wsp__tls *t) {
  if (t->ended)
    return 0;
  t->ended = 1;
  t->cbs->closed(t->ud, 0);
  return 1;
}

int wsp__tls_write(wsp__tls *t, const uint8_t *data, size_t len) {
  if (!t->done || t->ended)
    return WSP_EIO;
  while (len > 0) {
    int n = mbedtls_ssl_write(&t->ssl, data, len);
    if (n < 0)
      return WSP_EIO;
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

const char *wsp__tls_version(const wsp__tls *t) {
  return mbedtls_ssl_get_version(&t->ssl);
}

const char *wsp__tls_cipher(const wsp__tls *t) {
  return mbedtls_ssl_get_ciphersuite(&t->ssl);
}

const char *wsp__tls_alpn(const wsp__tls *t) {
  return mbedtls_ssl_get_alpn_protocol(&t->ssl);
}

int wsp__tls_verified(const wsp__tls *t) { return t->verified; }

int wsp__tls_resumed(const wsp__tls *t) { return t->resumed; }

const char *wsp__tls_group(const wsp__tls *t) { return t->group; }

void wsp__tls_free(wsp__tls *t) {
  if (t == NULL)
    return;
  hs_free(t);
  mbedtls_ssl_free(&t->ssl);
  free(t);
}
