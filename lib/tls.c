/*
 * TLS over the libuv stream through mbedTLS's custom BIO: ciphertext in from
 * the read callback, ciphertext out through the raw TCP writer. No threads,
 * no blocking: WANT_READ simply means "wait for the next read".
 *
 * What is shared per loop lives in a profile on the context: the TLS
 * configuration, the parsed CA chain and the client certificate, one per
 * distinct (CA file, insecure, client certificate) combination. A probe owns
 * only its mbedtls_ssl_context.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/asn1.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "internal.h"

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
  mbedtls_ssl_config conf;       /* Shared by every probe of the profile. */
  mbedtls_x509_crt ca;           /* Trusted CAs. */
  mbedtls_x509_crt own;          /* Client certificate chain. */
  mbedtls_pk_context pk;         /* Client key. */
  struct wsp__tls_profile *next; /* The context's next profile. */
};

static int streq(const char *a, const char *b) {
  return a == b || (a && b && strcmp(a, b) == 0);
}

static void profile_free(wsp__tls_profile *pr) {
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
    if (pr->insecure == cfg->tls_insecure && streq(pr->ca_file, cfg->ca_file) &&
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
  if (pr->insecure) {
    mbedtls_ssl_conf_authmode(&pr->conf, MBEDTLS_SSL_VERIFY_NONE);
  } else {
    const char *file = pr->ca_file ? pr->ca_file : wsp__system_ca_file;
    /* A bundle may hold a few certificates mbedTLS cannot parse; that is
     * fine as long as some could be (a positive return counts failures). */
    rc = wsp__regular_file(file) ? mbedtls_x509_crt_parse_file(&pr->ca, file)
                                 : -1;
    if (rc < 0 || pr->ca.version == 0) {
      snprintf(err, errlen, "cannot load CA certificates from '%s'", file);
      goto fail;
    }
    mbedtls_ssl_conf_authmode(&pr->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_ca_chain(&pr->conf, &pr->ca, NULL);
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

/* ---- certificate checks mbedTLS 2.28 does not do ---- */

/*
 * Whether the certificate's subjectAltName holds the IP address `ip`
 * (4 or 16 bytes). mbedTLS 2.28 keeps no iPAddress entries, so the raw
 * extensions are walked here.
 */
static int san_has_ip(const mbedtls_x509_crt *crt, const uint8_t *ip,
                      size_t iplen) {
  unsigned char *p = crt->v3_ext.p, *end;
  size_t len;
  if (p == NULL || crt->v3_ext.len == 0)
    return 0;
  end = p + crt->v3_ext.len;
  /* Extensions ::= [3] EXPLICIT SEQUENCE OF Extension; v3_ext is the
   * context tag's content. */
  if (mbedtls_asn1_get_tag(
          &p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) != 0)
    return 0;
  end = p + len;
  while (p < end) {
    unsigned char *ext_end;
    mbedtls_x509_buf oid;
    int critical = 0;
    if (mbedtls_asn1_get_tag(&p, end, &len,
                             MBEDTLS_ASN1_CONSTRUCTED |
                                 MBEDTLS_ASN1_SEQUENCE) != 0)
      return 0;
    ext_end = p + len;
    if (mbedtls_asn1_get_tag(&p, ext_end, &oid.len, MBEDTLS_ASN1_OID) != 0)
      return 0;
    oid.p = p;
    p += oid.len;
    (void)mbedtls_asn1_get_bool(&p, ext_end, &critical);
    if (mbedtls_asn1_get_tag(&p, ext_end, &len, MBEDTLS_ASN1_OCTET_STRING) != 0)
      return 0;
    if (MBEDTLS_OID_CMP(MBEDTLS_OID_SUBJECT_ALT_NAME, &oid) == 0) {
      unsigned char *q = p, *qend;
      size_t glen;
      if (mbedtls_asn1_get_tag(&q, p + len, &glen,
                               MBEDTLS_ASN1_CONSTRUCTED |
                                   MBEDTLS_ASN1_SEQUENCE) != 0)
        return 0;
      qend = q + glen;
      while (q < qend) {
        unsigned char tag = *q++;
        size_t nlen;
        if (mbedtls_asn1_get_len(&q, qend, &nlen) != 0)
          return 0;
        if (tag ==
                (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_IP_ADDRESS) &&
            nlen == iplen && memcmp(q, ip, iplen) == 0)
          return 1;
        q += nlen;
      }
      return 0;
    }
    p = ext_end;
  }
  return 0;
}

static int verify_cb(void *ud, mbedtls_x509_crt *crt, int depth,
                     uint32_t *flags) {
  wsp_probe *p = ud;
  uint8_t ip[16];
  size_t iplen;
  if (depth != 0 || !p->cfg->url.ip_literal)
    return 0;
  /* An IP address URL: mbedTLS matched nothing (no hostname was set);
   * the leaf's iPAddress SANs decide. */
  if (p->cfg->url.ip_literal == AF_INET6) {
    inet_pton(AF_INET6, p->cfg->url.host, ip);
    iplen = 16;
  } else {
    inet_pton(AF_INET, p->cfg->url.host, ip);
    iplen = 4;
  }
  if (!san_has_ip(crt, ip, iplen))
    *flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
  return 0;
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
  uint32_t flags;
  if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED &&
      (flags = mbedtls_ssl_get_verify_result(p->tls)) != 0) {
    const char *why =
        flags & MBEDTLS_X509_BADCERT_EXPIRED  ? "certificate expired"
        : flags & MBEDTLS_X509_BADCERT_FUTURE ? "certificate not yet valid"
        : flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED
            ? "certificate signed by an unknown CA"
        : flags & MBEDTLS_X509_BADCERT_CN_MISMATCH
            ? "hostname mismatch: the certificate is not for"
            : "certificate rejected";
    if (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH &&
        !(flags & (MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE |
                   MBEDTLS_X509_BADCERT_NOT_TRUSTED)))
      wsp__probe_finish(p, WSP_OUTCOME_TLS_FAILED, "%s %s", why,
                        p->cfg->url.host);
    else
      wsp__probe_finish(p, WSP_OUTCOME_TLS_FAILED, "%s (verify flags 0x%x)",
                        why, (unsigned)flags);
    return;
  }
  if (rc == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE) {
    unsigned char a = p->tls->in_msg ? p->tls->in_msg[1] : 0;
    wsp__probe_finish(p, WSP_OUTCOME_TLS_FAILED,
                      "handshake alert received: %s (%u)", alert_name(a), a);
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
  if ((p->tls = malloc(sizeof(*p->tls))) == NULL) {
    wsp__probe_finish(p, WSP_OUTCOME_INTERNAL_ERROR, "out of memory");
    return -1;
  }
  mbedtls_ssl_init(p->tls);
  if ((rc = mbedtls_ssl_setup(p->tls, &pr->conf)) != 0 ||
      (!p->cfg->url.ip_literal &&
       (rc = mbedtls_ssl_set_hostname(p->tls, p->cfg->url.host)) != 0)) {
    tls_fail(p, rc);
    return -1;
  }
  /* Names get SNI and hostname checks from mbedTLS; IP literals get no
   * SNI (RFC 6066) and are checked against iPAddress SANs here. */
  if (!pr->insecure)
    mbedtls_ssl_set_verify(p->tls, verify_cb, p);
  mbedtls_ssl_set_bio(p->tls, p, bio_send, bio_recv, NULL);
  p->tls_verified = !pr->insecure;
  return wsp__tls_feed(p, NULL, 0);
}

static int handshake(wsp_probe *p) {
  int rc = mbedtls_ssl_handshake(p->tls);
  if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
    return 1;
  if (rc != 0) {
    tls_fail(p, rc);
    return -1;
  }
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
  if (p->tls != NULL) {
    mbedtls_ssl_free(p->tls);
    free(p->tls);
    p->tls = NULL;
  }
}
