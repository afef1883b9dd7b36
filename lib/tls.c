/*
 * TLS over the libuv stream through mbedTLS's custom BIO: ciphertext in from
 * the read callback, ciphertext out through the raw TCP writer. No threads,
 * no blocking: WANT_READ simply means "wait for the next read".
 *
 * What is shared per loop lives in a profile on the context: the TLS
 * configuration, the parsed CA chain, the client certificate, the sessions
 * to resume and the chains already verified, one per distinct (CA file,
 * insecure, client certificate, resumption) combination. A probe owns only
 * its mbedtls_ssl_context, and during its handshake a little more.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/error.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "internal.h"
#include "tls_cache.h"
#include "tls_check.h"

const char wsp__system_ca_file[] = "/etc/ssl/certs/ca-certificates.crt";

static const char *alpn_protos[] = {"http/1.1", NULL};

/* Key exchange groups, fastest first: mbedTLS 2.28's X25519 costs about a
 * third of a P-256 scalar multiplication. Servers pick from this list. */
static const mbedtls_ecp_group_id curves[] = {
    MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1,
    MBEDTLS_ECP_DP_SECP384R1,  MBEDTLS_ECP_DP_SECP521R1,
    MBEDTLS_ECP_DP_NONE,
};

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

/* What a probe needs during its handshake only. */
struct wsp__tls_hs {
  wsp__tls_profile *profile;       /* Its profile. */
  wsp__tls_sniff sniff;            /* Reads the key exchange group. */
  int offered;                     /* A remembered session was offered. */
  uint8_t master[WSP__TLS_MASTER]; /* Its master secret. */
};

/* Frees the handshake state; the master secret copy is wiped first. */
static void hs_free(wsp_probe *p) {
  if (p->tls_hs != NULL) {
    mbedtls_platform_zeroize(p->tls_hs, sizeof(*p->tls_hs));
    free(p->tls_hs);
    p->tls_hs = NULL;
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

void wsp__tls_ctx_free(wsp_ctx *ctx) {
  while (ctx->tls_profiles != NULL) {
    wsp__tls_profile *next = ctx->tls_profiles->next;
    profile_free(ctx->tls_profiles);
    ctx->tls_profiles = next;
  }
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

static wsp__tls_profile *profile_get(wsp_ctx *ctx, const wsp_config *cfg,
                                     char *err, size_t errlen) {
  wsp__tls_profile *pr;
  int rc;
  for (pr = ctx->tls_profiles; pr != NULL; pr = pr->next)
    if (pr->insecure == cfg->tls_insecure && pr->resume == cfg->tls_resume &&
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
  pr->insecure = cfg->tls_insecure;
  pr->resume = cfg->tls_resume;
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
  mbedtls_ssl_conf_rng(&pr->conf, mbedtls_ctr_drbg_random, &ctx->drbg);
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
  pr->next = ctx->tls_profiles;
  ctx->tls_profiles = pr;
  return pr;
fail:
  profile_free(pr);
  return NULL;
}

/* ---- BIO ---- */

static int bio_send(void *ud, const unsigned char *buf, size_t len) {
  wsp_probe *p = ud;
  /* The raw writer queues what the kernel does not take: never WANT_WRITE.
   * A failed write (the server reset us) is not reported here: the alert
   * the server sent before resetting, or the reset itself, arrives on the
   * read side and says more than "send failed" would. */
  (void)wsp__raw_write(p, buf, len);
  return (int)len;
}

static int bio_recv(void *ud, unsigned char *buf, size_t len) {
  wsp_probe *p = ud;
  if (p->tls_in_len == 0)
    return MBEDTLS_ERR_SSL_WANT_READ;
  if (len > p->tls_in_len)
    len = p->tls_in_len;
  memcpy(buf, p->tls_in, len);
  p->tls_in += len;
  p->tls_in_len -= len;
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

static void tls_fail(wsp_probe *p, int rc) {
  char detail[160];
  if (p->tls_hs != NULL && p->tls_hs->offered)
    /* Resuming failed: the next probe starts afresh. */
    wsp__tls_session_forget(&p->tls_hs->profile->sessions, p->cfg->url.host,
                            p->cfg->url.port);
  if (rc == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE) {
    unsigned char a = p->tls->in_msg ? p->tls->in_msg[1] : 0;
    /* Debian's mbedTLS 2.28 has no TLS 1.3: say so where it matters. */
    wsp__probe_finish(p, WSP_OUTCOME_TLS_FAILED,
                      "handshake alert received: %s (%u)%s", alert_name(a), a,
                      a == 70 ? ": the server accepts no TLS 1.2, the only "
                                "version this build speaks"
                              : "");
    return;
  }
  if (rc == MBEDTLS_ERR_SSL_BAD_HS_PROTOCOL_VERSION) {
    wsp__probe_finish(p, WSP_OUTCOME_TLS_FAILED,
                      "protocol version: the server offers no TLS 1.2 or "
                      "newer that this build supports");
    return;
  }
  mbedtls_strerror(rc, detail, sizeof(detail));
  wsp__probe_finish(p, WSP_OUTCOME_TLS_FAILED, "TLS error -0x%04x: %s",
                    (unsigned)-rc, detail);
}

/* ---- the probe's side ---- */

int wsp__tls_start(wsp_probe *p) {
  char err[256];
  wsp__tls_profile *pr = profile_get(p->ctx, p->cfg, err, sizeof(err));
  int rc;
  if (pr == NULL) {
    wsp__probe_finish(p, WSP_OUTCOME_TLS_FAILED, "%s", err);
    return -1;
  }
  if ((p->tls = malloc(sizeof(*p->tls))) == NULL ||
      (p->tls_hs = calloc(1, sizeof(*p->tls_hs))) == NULL) {
    wsp__probe_finish(p, WSP_OUTCOME_INTERNAL_ERROR, "out of memory");
    return -1;
  }
  p->tls_hs->profile = pr;
  mbedtls_ssl_init(p->tls);
  /* Names get SNI; IP literals get none (RFC 6066). */
  if ((rc = mbedtls_ssl_setup(p->tls, &pr->conf)) != 0 ||
      (!p->cfg->url.ip_literal &&
       (rc = mbedtls_ssl_set_hostname(p->tls, p->cfg->url.host)) != 0)) {
    tls_fail(p, rc);
    return -1;
  }
  /* Resumption (tls_cache.c): offer this host's last session. */
  if (pr->resume && (rc = wsp__tls_session_offer(
                         &pr->sessions, p->cfg->url.host, p->cfg->url.port,
                         p->tls, p->tls_hs->master)) < 0) {
    tls_fail(p, rc);
    return -1;
  }
  p->tls_hs->offered = rc == 1;
  mbedtls_ssl_set_bio(p->tls, p, bio_send, bio_recv, NULL);
  p->tls_verified = !pr->insecure;
  return wsp__tls_feed(p, NULL, 0);
}

/*
 * After a completed handshake, before anything is sent over it: whether it
 * resumed, the certificate of a full one (tls_check.c), and the session
 * remembered for the next probe (tls_cache.c). A resumed handshake carries
 * no certificate: it inherits the identity verified for the session it
 * resumed, which was remembered only once accepted. Returns 0 or -1 when
 * the outcome is decided.
 */
static int accept_peer(wsp_probe *p) {
  wsp__tls_hs *hs = p->tls_hs;
  wsp__tls_profile *pr = hs->profile;
  mbedtls_ssl_session s;
  uint32_t flags = 0;
  int resumed = 0, kept;
  mbedtls_ssl_session_init(&s);
  kept = pr->resume &&
         wsp__tls_session_get(p->tls, hs->offered ? hs->master : NULL, &s,
                              &resumed) == 0;
  if (!resumed && !pr->insecure)
    flags = wsp__tls_check_peer(p->tls, &pr->chains, &pr->ca, p->cfg->url.host,
                                p->cfg->url.ip_literal);
  if (flags != 0) {
    char why[200];
    mbedtls_ssl_session_free(&s);
    if (hs->offered)
      /* The server no longer resumes the session made with the
       * certificate accepted before. */
      wsp__tls_session_forget(&pr->sessions, p->cfg->url.host,
                              p->cfg->url.port);
    wsp__tls_reason(flags, p->cfg->url.host, why, sizeof(why));
    (void)mbedtls_ssl_send_alert_message(p->tls, MBEDTLS_SSL_ALERT_LEVEL_FATAL,
                                         wsp__tls_alert(flags));
    wsp__probe_finish(p, WSP_OUTCOME_TLS_FAILED, "%s", why);
    return -1;
  }
  if (kept)
    (void)wsp__tls_session_put(&pr->sessions, p->cfg->url.host,
                               p->cfg->url.port, &s);
  mbedtls_ssl_session_free(&s);
  p->result->tls_resumed = resumed;
  p->result->tls_group =
      resumed ? NULL : wsp__tls_sniff_group(&hs->sniff, wsp__tls_kx(p->tls));
  return 0;
}

static int handshake(wsp_probe *p) {
  int rc = mbedtls_ssl_handshake(p->tls);
  if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
    return 1;
  if (rc != 0) {
    tls_fail(p, rc);
    return -1;
  }
  if (accept_peer(p) != 0)
    return -1;
  hs_free(p);
  p->tls_done = 1;
  p->result->tls_version = wsp__strdup(mbedtls_ssl_get_version(p->tls));
  p->result->tls_cipher = wsp__strdup(mbedtls_ssl_get_ciphersuite(p->tls));
  p->result->tls_alpn = wsp__strdup(mbedtls_ssl_get_alpn_protocol(p->tls));
  p->result->tls_verified = p->tls_verified;
  wsp__probe_mark(p, WSP_MARK_TLS_DONE);
  wsp__probe_on_secure(p);
  return p->decided ? -1 : 0;
}

int wsp__tls_feed(wsp_probe *p, const uint8_t *data, size_t len) {
  uint8_t *plain = p->ctx->pbuf;
  p->tls_in = data;
  p->tls_in_len = len;
  /* The group is read from the handshake's clear part (tls_group.c). */
  if (!p->tls_done && p->tls_hs != NULL)
    wsp__tls_sniff_feed(&p->tls_hs->sniff, data, len);
  if (!p->tls_done && handshake(p) != 0)
    goto out;
  /* Records already inside mbedTLS raise no further read event: drain
   * until it wants more bytes. */
  while (!p->decided || p->lingering) {
    int n = mbedtls_ssl_read(p->tls, plain, WSP__PLAIN_BUF);
    if (n > 0) {
      wsp__probe_on_data(p, plain, (size_t)n);
      continue;
    }
    if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE)
      break;
    if (n == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || n == 0) {
      p->result->tls_close_notify = n == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY;
      p->tls_in_len = 0;
      wsp__probe_on_end(p, UV_EOF);
      break;
    }
    if (!p->decided)
      tls_fail(p, n);
    break;
  }
out:
  p->tls_in = NULL;
  p->tls_in_len = 0;
  return 0;
}

int wsp__tls_write(wsp_probe *p, const uint8_t *data, size_t len) {
  while (len > 0) {
    int n = mbedtls_ssl_write(p->tls, data, len);
    if (n < 0)
      return UV_EPROTO;
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

void wsp__tls_free(wsp_probe *p) {
  hs_free(p);
  if (p->tls != NULL) {
    mbedtls_ssl_free(p->tls);
    free(p->tls);
    p->tls = NULL;
  }
}
