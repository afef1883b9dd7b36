/*
 * The probe configuration: validated when set, copied by every probe.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "addrs.h"
#include "config.h"
#include "defaults.h"
#include "jwt.h"
#include "tls.h"
#include "ws.h"

const char wsp__jwt_prefix[5] = WSP__DEF_JWT_PREFIX;

static const uint32_t default_timeouts[WSP_PHASE_COUNT] = {
    [WSP_PHASE_RESOLVE] = WSP__DEF_TIMEOUT_MS,
    [WSP_PHASE_CONNECT] = WSP__DEF_TIMEOUT_MS,
    [WSP_PHASE_TLS] = WSP__DEF_TIMEOUT_MS,
    [WSP_PHASE_UPGRADE] = WSP__DEF_TIMEOUT_MS,
    [WSP_PHASE_OPEN] = 0,
    [WSP_PHASE_FIRST_SEND] = WSP__DEF_TIMEOUT_MS,
    [WSP_PHASE_AWAITING_REPLY] = WSP__DEF_TIMEOUT_MS,
    [WSP_PHASE_CLOSING] = WSP__DEF_CLOSE_TIMEOUT_MS,
    [WSP_PHASE_PROXY] = WSP__DEF_TIMEOUT_MS,
};

/* Headers the upgrade itself writes; a user value would corrupt it. */
static const char *const reserved_headers[] = {
    "host",
    "upgrade",
    "connection",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-accept",
    "sec-websocket-protocol",
    "sec-websocket-extensions",
    "content-length",
    "transfer-encoding",
};

static const char *const secret_headers[] = {
    "authorization",
    "proxy-authorization",
    "cookie",
    "x-api-key",
};

int wsp__config_fail(wsp_config *cfg, int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  wsp__vfail(cfg->error, sizeof(cfg->error), err, fmt, ap);
  va_end(ap);
  return err;
}

static int ok(wsp_config *cfg) {
  cfg->error[0] = '\0';
  return 0;
}

int wsp__header_is_secret(const char *name) {
  for (size_t i = 0; i < WSP__ARRAY_SIZE(secret_headers); i++)
    if (wsp__strcaseeq(name, secret_headers[i]))
      return 1;
  return 0;
}

const char *wsp__redact_subprotocol(const char *proto, int show_secrets) {
  if (!show_secrets && proto != NULL &&
      strncmp(proto, wsp__jwt_prefix, sizeof(wsp__jwt_prefix) - 1) == 0)
    return "jwt.<redacted>";
  return proto;
}

wsp_config *wsp_config_new(void) {
  wsp_config *cfg = calloc(1, sizeof(*cfg));
  if (cfg == NULL)
    return NULL;
  memcpy(cfg->timeout_ms, default_timeouts, sizeof(default_timeouts));
  cfg->max_message = WSP__DEF_MAX_MESSAGE;
  cfg->jwt_placement = WSP_JWT_SUBPROTOCOL;
  cfg->jwt_spec.alg = WSP_JWT_HS256;
  cfg->jwt_spec.ttl = WSP__DEF_JWT_TTL;
  memcpy(cfg->jwt_prefix, wsp__jwt_prefix, sizeof(wsp__jwt_prefix));
  strcpy(cfg->jwt_query, WSP__DEF_JWT_QUERY);
  cfg->require_subprotocol = 1;
  cfg->tls_resume = 1;
  strcpy(cfg->expect_key, WSP__DEF_EXPECT_KEY);
  return cfg;
}

void wsp_config_free(wsp_config *cfg) {
  if (cfg == NULL)
    return;
  free(cfg->url_text);
  wsp__url_clear(&cfg->url);
  for (size_t i = 0; i < cfg->nheaders; i++) {
    free(cfg->headers[i].name);
    free(cfg->headers[i].value);
  }
  free(cfg->headers);
  wsp__strv_clear(&cfg->subprotocols);
  wsp__strv_clear(&cfg->expect);
  wsp__strv_clear(&cfg->pins);
  wsp__strv_clear(&cfg->record);
  free(cfg->jwt);
  free(cfg->origin);
  free(cfg->message);
  free(cfg->ca_file);
  free(cfg->cert_file);
  free(cfg->key_file);
  wsp__proxy_clear(&cfg->proxy);
  free(cfg->noproxy);
  if (cfg->jwt_spec.key != NULL)
    memset(cfg->jwt_spec.key, 0, cfg->jwt_spec.key_len);
  free(cfg->jwt_spec.key);
  free(cfg->jwt_spec.claims);
  wsp_config_clear_steps(cfg);
  free(cfg);
}

/* Appends a copy of `st` (its data copied, NUL-terminated). */
static int add_step(wsp_config *cfg, const wsp__step *st) {
  wsp__step *v = realloc(cfg->steps, (cfg->nsteps + 1) * sizeof(*v));
  uint8_t *d;
  if (v == NULL)
    return WSP_ENOMEM;
  cfg->steps = v;
  if ((d = malloc(st->len + 1)) == NULL)
    return WSP_ENOMEM;
  if (st->len > 0)
    memcpy(d, st->data, st->len);
  d[st->len] = '\0';
  v[cfg->nsteps] = *st;
  v[cfg->nsteps++].data = d;
  return 0;
}

int wsp_config_clear_steps(wsp_config *cfg) {
  if (cfg == NULL)
    return WSP_EINVAL;
  for (size_t i = 0; i < cfg->nsteps; i++)
    free(cfg->steps[i].data);
  free(cfg->steps);
  cfg->steps = NULL;
  cfg->nsteps = 0;
  return 0;
}

static int step_room(wsp_config *cfg) {
  return cfg->nsteps < 256
             ? 0
             : wsp__config_fail(cfg, WSP_ERANGE, "at most 256 steps");
}

int wsp_config_add_step_send(wsp_config *cfg, const void *data, size_t len,
                             int binary) {
  wsp__step st = {WSP__STEP_SEND, (uint8_t *)data, len, binary != 0, 0, 0};
  int rc;
  if (cfg == NULL)
    return WSP_EINVAL;
  if ((rc = step_room(cfg)) != 0)
    return rc;
  if (data == NULL && len > 0)
    return wsp__config_fail(cfg, WSP_EINVAL, "step data is NULL");
  if (len > 64 * 1024 * 1024)
    return wsp__config_fail(cfg, WSP_ETOOLONG, "step message over 64 MiB");
  if (!binary && !wsp__utf8_valid(data, len))
    return wsp__config_fail(cfg, WSP_EINVAL, "a text step must be valid UTF-8");
  if (add_step(cfg, &st) != 0)
    return wsp__config_fail(cfg, WSP_ENOMEM, "out of memory");
  return ok(cfg);
}

int wsp_config_add_step_expect(wsp_config *cfg, const char *type,
                               uint32_t timeout_ms) {
  wsp__step st = {WSP__STEP_EXPECT, (uint8_t *)type, 0, 0, timeout_ms, 0};
  int rc;
  if (cfg == NULL)
    return WSP_EINVAL;
  if ((rc = step_room(cfg)) != 0)
    return rc;
  if (type == NULL || *type == '\0' || strlen(type) > 256)
    return wsp__config_fail(cfg, WSP_EEXPECT,
                            "an expect step needs a type of 1-256 bytes");
  if (timeout_ms > 3600000)
    return wsp__config_fail(cfg, WSP_ERANGE,
                            "expect timeout out of range (0-3600000)");
  st.len = strlen(type);
  if (add_step(cfg, &st) != 0)
    return wsp__config_fail(cfg, WSP_ENOMEM, "out of memory");
  return ok(cfg);
}

int wsp_config_add_step_wait(wsp_config *cfg, uint32_t ms) {
  wsp__step st = {WSP__STEP_WAIT, NULL, 0, 0, ms, 0};
  int rc;
  if (cfg == NULL)
    return WSP_EINVAL;
  if ((rc = step_room(cfg)) != 0)
    return rc;
  if (ms > 3600000)
    return wsp__config_fail(cfg, WSP_ERANGE,
                            "wait out of range (0-3600000 ms)");
  if (add_step(cfg, &st) != 0)
    return wsp__config_fail(cfg, WSP_ENOMEM, "out of memory");
  return ok(cfg);
}

int wsp_config_add_step_close(wsp_config *cfg, uint16_t code,
                              const char *reason) {
  wsp__step st = {WSP__STEP_CLOSE, (uint8_t *)reason, 0, 0, 0, code};
  int rc;
  if (cfg == NULL)
    return WSP_EINVAL;
  if ((rc = step_room(cfg)) != 0)
    return rc;
  if (code != 1000 && code != 1001 && (code < 3000 || code > 4999))
    return wsp__config_fail(cfg, WSP_ERANGE,
                            "a client closes with 1000, 1001 or 3000-4999, "
                            "not %u",
                            (unsigned)code);
  st.len = reason ? strlen(reason) : 0;
  if (st.len > WSP__MAX_REASON ||
      !wsp__utf8_valid((const uint8_t *)(reason ? reason : ""), st.len))
    return wsp__config_fail(cfg, WSP_EINVAL,
                            "a close reason is at most 123 bytes of UTF-8");
  if (add_step(cfg, &st) != 0)
    return wsp__config_fail(cfg, WSP_ENOMEM, "out of memory");
  return ok(cfg);
}

wsp_config *wsp_config_dup(const wsp_config *src) {
  wsp_config *cfg;
  if (src == NULL || (cfg = calloc(1, sizeof(*cfg))) == NULL)
    return NULL;
  *cfg = *src;
  cfg->url_text = NULL;
  memset(&cfg->url, 0, sizeof(cfg->url));
  cfg->headers = NULL;
  cfg->nheaders = 0;
  memset(&cfg->subprotocols, 0, sizeof(cfg->subprotocols));
  memset(&cfg->expect, 0, sizeof(cfg->expect));
  memset(&cfg->pins, 0, sizeof(cfg->pins));
  memset(&cfg->record, 0, sizeof(cfg->record));
  cfg->jwt = cfg->origin = NULL;
  cfg->message = NULL;
  cfg->ca_file = cfg->cert_file = cfg->key_file = NULL;
  memset(&cfg->proxy, 0, sizeof(cfg->proxy));
  cfg->noproxy = NULL;
  cfg->jwt_spec.key = NULL;
  cfg->jwt_spec.claims = NULL;
  cfg->steps = NULL;
  cfg->nsteps = 0;

  if ((src->url_text && !(cfg->url_text = strdup(src->url_text))) ||
      wsp__url_copy(&cfg->url, &src->url) != 0 ||
      wsp__strv_copy(&cfg->subprotocols, &src->subprotocols) != 0 ||
      wsp__strv_copy(&cfg->expect, &src->expect) != 0 ||
      wsp__strv_copy(&cfg->pins, &src->pins) != 0 ||
      wsp__strv_copy(&cfg->record, &src->record) != 0 ||
      (src->jwt && !(cfg->jwt = strdup(src->jwt))) ||
      (src->origin && !(cfg->origin = strdup(src->origin))) ||
      (src->ca_file && !(cfg->ca_file = strdup(src->ca_file))) ||
      (src->cert_file && !(cfg->cert_file = strdup(src->cert_file))) ||
      (src->key_file && !(cfg->key_file = strdup(src->key_file))) ||
      wsp__proxy_copy(&cfg->proxy, &src->proxy) != 0 ||
      (src->noproxy && !(cfg->noproxy = strdup(src->noproxy))) ||
      (src->jwt_spec.claims &&
       !(cfg->jwt_spec.claims = strdup(src->jwt_spec.claims))))
    goto fail;
  if (src->jwt_spec.key != NULL) {
    if ((cfg->jwt_spec.key = malloc(src->jwt_spec.key_len)) == NULL)
      goto fail;
    memcpy(cfg->jwt_spec.key, src->jwt_spec.key, src->jwt_spec.key_len);
  }
  for (size_t i = 0; i < src->nsteps; i++)
    if (add_step(cfg, &src->steps[i]) != 0)
      goto fail;
  if (src->message_len > 0) {
    if ((cfg->message = malloc(src->message_len)) == NULL)
      goto fail;
    memcpy(cfg->message, src->message, src->message_len);
  }
  if (src->nheaders > 0) {
    cfg->headers = calloc(src->nheaders, sizeof(*cfg->headers));
    if (cfg->headers == NULL)
      goto fail;
    for (size_t i = 0; i < src->nheaders; i++) {
      cfg->nheaders++;
      cfg->headers[i].secret = src->headers[i].secret;
      cfg->headers[i].name = strdup(src->headers[i].name);
      cfg->headers[i].value = strdup(src->headers[i].value);
      if (!cfg->headers[i].name || !cfg->headers[i].value)
        goto fail;
    }
  }
  return cfg;
fail:
  wsp_config_free(cfg);
  return NULL;
}

const char *wsp_config_last_error(const wsp_config *cfg) {
  return cfg ? cfg->error : "no config";
}

const char *wsp_config_url(const wsp_config *cfg) {
  return cfg ? cfg->url_text : NULL;
}

int wsp_config_set_url(wsp_config *cfg, const char *url) {
  wsp__url u;
  char err[200];
  char *text;
  if (cfg == NULL)
    return WSP_EINVAL;
  if (url == NULL)
    return wsp__config_fail(cfg, WSP_EURL, "invalid URL: none given");
  if (wsp__url_parse(url, &u, err, sizeof(err)) != 0)
    return wsp__config_fail(cfg, WSP_EURL, "invalid URL '%.80s': %s", url, err);
  if ((text = strdup(url)) == NULL) {
    wsp__url_clear(&u);
    return wsp__config_fail(cfg, WSP_ENOMEM, "out of memory");
  }
  free(cfg->url_text);
  wsp__url_clear(&cfg->url);
  cfg->url_text = text;
  cfg->url = u;
  return ok(cfg);
}

static int value_ok(const char *v) {
  for (; *v; v++) {
    unsigned char c = (unsigned char)*v;
    if (c == '\r' || c == '\n' || (c < 0x20 && c != '\t') || c == 0x7f)
      return 0;
  }
  return 1;
}

int wsp_config_add_header(wsp_config *cfg, const char *name,
                          const char *value) {
  wsp__header *h;
  if (cfg == NULL)
    return WSP_EINVAL;
  if (name == NULL || !wsp__is_token(name))
    return wsp__config_fail(cfg, WSP_EHEADER,
                            "invalid header name '%.64s' (must be a token)",
                            name ? name : "");
  for (size_t i = 0; i < WSP__ARRAY_SIZE(reserved_headers); i++)
    if (wsp__strcaseeq(name, reserved_headers[i]))
      return wsp__config_fail(
          cfg, WSP_EHEADER, "header '%s' is set by the upgrade itself%s", name,
          wsp__strcaseeq(name, "sec-websocket-protocol")
              ? " (offer subprotocols with --subprotocol)"
              : "");
  /* The upgrade writes the origin setting as its own header: two would
   * go out. */
  if (wsp__strcaseeq(name, "origin") && cfg->origin != NULL)
    return wsp__config_fail(cfg, WSP_ESTATE,
                            "Origin given twice: as a header and as the "
                            "origin");
  if (value == NULL || !value_ok(value))
    return wsp__config_fail(cfg, WSP_EHEADER,
                            "invalid value for header '%s' (control "
                            "characters, CR or LF)",
                            name);
  if (strlen(value) > 8192)
    return wsp__config_fail(cfg, WSP_ETOOLONG,
                            "value of header '%s' exceeds 8192 bytes", name);
  h = realloc(cfg->headers, (cfg->nheaders + 1) * sizeof(*h));
  if (h == NULL)
    return wsp__config_fail(cfg, WSP_ENOMEM, "out of memory");
  cfg->headers = h;
  h += cfg->nheaders;
  h->name = strdup(name);
  h->value = strdup(value);
  h->secret = wsp__header_is_secret(name);
  if (h->name == NULL || h->value == NULL) {
    free(h->name);
    free(h->value);
    return wsp__config_fail(cfg, WSP_ENOMEM, "out of memory");
  }
  cfg->nheaders++;
  return ok(cfg);
}

int wsp_config_add_header_line(wsp_config *cfg, const char *line) {
  const char *colon, *v;
  char *name;
  int rc;
  if (cfg == NULL)
    return WSP_EINVAL;
  if (line == NULL || (colon = strchr(line, ':')) == NULL)
    return wsp__config_fail(cfg, WSP_EHEADER,
                            "invalid header '%.64s' (expected 'Name: value')",
                            line ? line : "");
  if ((name = wsp__strndup(line, (size_t)(colon - line))) == NULL)
    return wsp__config_fail(cfg, WSP_ENOMEM, "out of memory");
  for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
    ;
  rc = wsp_config_add_header(cfg, name, v);
  free(name);
  return rc;
}

int wsp_config_add_subprotocol(wsp_config *cfg, const char *proto) {
  if (cfg == NULL)
    return WSP_EINVAL;
  if (proto == NULL || !wsp__is_token(proto))
    return wsp__config_fail(cfg, WSP_ESUBPROTO,
                            "invalid subprotocol '%.64s' (must be a token)",
                            wsp__redact_subprotocol(proto ? proto : "", 0));
  for (size_t i = 0; i < cfg->subprotocols.n; i++)
    if (strcmp(cfg->subprotocols.v[i], proto) == 0)
      return wsp__config_fail(cfg, WSP_ESUBPROTO,
                              "subprotocol '%.64s' offered twice",
                              wsp__redact_subprotocol(proto, 0));
  if (wsp__strv_push(&cfg->subprotocols, proto) != 0)
    return wsp__config_fail(cfg, WSP_ENOMEM, "out of memory");
  return ok(cfg);
}

static int b64url_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int wsp_config_set_jwt(wsp_config *cfg, const char *token,
                       unsigned int placement) {
  char *t;
  if (cfg == NULL)
    return WSP_EINVAL;
  if (token == NULL) {
    free(cfg->jwt);
    cfg->jwt = NULL;
    return ok(cfg);
  }
  if (placement == 0 ||
      (placement &
       ~(unsigned)(WSP_JWT_SUBPROTOCOL | WSP_JWT_BEARER | WSP_JWT_QUERY)))
    return wsp__config_fail(cfg, WSP_EINVAL, "invalid JWT placement");
  if (*token == '\0')
    return wsp__config_fail(cfg, WSP_ETOKEN, "empty JWT");
  /* Never echo the token itself: it is a secret. */
  for (const char *c = token; *c; c++)
    if (!b64url_char(*c) && *c != '.')
      return wsp__config_fail(cfg, WSP_ETOKEN,
                              "invalid JWT: only base64url characters and "
                              "dots are allowed (offending character at "
                              "offset %zu)",
                              (size_t)(c - token));
  if (strlen(token) > 8000)
    return wsp__config_fail(cfg, WSP_ETOOLONG, "JWT longer than 8000 bytes");
  if ((t = strdup(token)) == NULL)
    return wsp__config_fail(cfg, WSP_ENOMEM, "out of memory");
  free(cfg->jwt);
  cfg->jwt = t;
  cfg->jwt_placement = placement;
  cfg->jwt_spec.enabled = 0;
  return ok(cfg);
}

int wsp_config_set_jwt_placement(wsp_config *cfg, unsigned int placement) {
  if (cfg == NULL)
    return WSP_EINVAL;
  if (placement == 0 ||
      (placement &
       ~(unsigned)(WSP_JWT_SUBPROTOCOL | WSP_JWT_BEARER | WSP_JWT_QUERY)))
    return wsp__config_fail(cfg, WSP_EINVAL, "invalid JWT placement");
  cfg->jwt_placement = placement;
  return ok(cfg);
}

int wsp_config_set_jwt_signing(wsp_config *cfg, wsp_jwt_alg alg,
                               const void *key, size_t key_len) {
  char err[200];
  uint8_t *k;
  int rc;
  if (cfg == NULL)
    return WSP_EINVAL;
  if (key == NULL) {
    cfg->jwt_spec.enabled = 0;
    return ok(cfg);
  }
  if ((unsigned)alg > WSP_JWT_ES256)
    return wsp__config_fail(cfg, WSP_EINVAL, "unknown JWT algorithm");
  if (key_len == 0)
    return wsp__config_fail(cfg, WSP_EINVAL, "empty JWT signing key");
  /* Never echo the key: only what is wrong with it. */
  if ((rc = wsp__jwt_check_key(alg, key, key_len, err, sizeof(err))) != 0)
    return wsp__config_fail(cfg, rc, "%s", err);
  if ((k = malloc(key_len)) == NULL)
    return wsp__config_fail(cfg, WSP_ENOMEM, "out of memory");
  memcpy(k, key, key_len);
  if (cfg->jwt_spec.key != NULL)
    memset(cfg->jwt_spec.key, 0, cfg->jwt_spec.key_len);
  free(cfg->jwt_spec.key);
  cfg->jwt_spec.key = k;
  cfg->jwt_spec.key_len = key_len;
  cfg->jwt_spec.alg = alg;
  cfg->jwt_spec.enabled = 1;
  free(cfg->jwt);
  cfg->jwt = NULL;
  return ok(cfg);
}

int wsp_config_set_jwt_claims(wsp_config *cfg, const char *json) {
  cJSON *o;
  char *text;
  if (cfg == NULL)
    return WSP_EINVAL;
  if (json == NULL) {
    free(cfg->jwt_spec.claims);
    cfg->jwt_spec.claims = NULL;
    return ok(cfg);
  }
  if ((o = cJSON_Parse(json)) == NULL || !cJSON_IsObject(o)) {
    cJSON_Delete(o);
    return wsp__config_fail(cfg, WSP_EJSON, "JWT claims must be a JSON object");
  }
  text = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  if (text == NULL)
    return wsp__config_fail(cfg, WSP_ENOMEM, "out of memory");
  free(cfg->jwt_spec.claims);
  cfg->jwt_spec.claims = text;
  return ok(cfg);
}

int wsp_config_set_jwt_ttl(wsp_config *cfg, uint32_t seconds) {
  if (cfg == NULL)
    return WSP_EINVAL;
  if (seconds < 1 || seconds > 366u * 86400u)
    return wsp__config_fail(cfg, WSP_ERANGE,
                            "JWT lifetime out of range (1 s to 366 days)");
  cfg->jwt_spec.ttl = seconds;
  return ok(cfg);
}

int wsp_config_set_jwt_nbf(wsp_config *cfg, int32_t offset_s) {
  if (cfg == NULL)
    return WSP_EINVAL;
  cfg->jwt_spec.nbf_set = 1;
  cfg->jwt_spec.nbf_offset = offset_s;
  return ok(cfg);
}

int wsp_config_set_jwt_prefix(wsp_config *cfg, const char *prefix) {
  if (cfg == NULL)
    return WSP_EINVAL;
  if (prefix == NULL || !wsp__is_token(prefix) ||
      strlen(prefix) >= sizeof(cfg->jwt_prefix))
    return wsp__config_fail(cfg, WSP_ESUBPROTO,
                            "invalid JWT subprotocol prefix (a token of at "
                            "most 32 characters)");
  strcpy(cfg->jwt_prefix, prefix);
  return ok(cfg);
}

int wsp_config_set_jwt_query_param(wsp_config *cfg, const char *name) {
  if (cfg == NULL)
    return WSP_EINVAL;
  if (name == NULL || *name == '\0' || strlen(name) >= sizeof(cfg->jwt_query))
    return wsp__config_fail(cfg, WSP_EINVAL, "invalid JWT query parameter");
  for (const char *c = name; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
          (*c >= '0' && *c <= '9') || *c == '_' || *c == '-' || *c == '.'))
      return wsp__config_fail(cfg, WSP_EINVAL,
                              "invalid JWT query parameter '%.64s'", name);
  strcpy(cfg->jwt_query, name);
  return ok(cfg);
}

int wsp_config_set_expect_order(wsp_config *cfg, int ordered) {
  if (cfg == NULL)
    return WSP_EINVAL;
  cfg->expect_order = ordered != 0;
  return ok(cfg);
}

int wsp_config_set_require_subprotocol(wsp_config *cfg, int require) {
  if (cfg == NULL)
    return WSP_EINVAL;
  cfg->require_subprotocol = require != 0;
  return ok(cfg);
}

int wsp_config_set_origin(wsp_config *cfg, const char *origin) {
  char *o = NULL;
  if (cfg == NULL)
    return WSP_EINVAL;
  if (origin != NULL) {
    for (size_t i = 0; i < cfg->nheaders; i++)
      if (wsp__strcaseeq(cfg->headers[i].name, "origin"))
        return wsp__config_fail(cfg, WSP_ESTATE,
                                "Origin given twice: as a header and as the "
                                "origin");
    if (*origin == '\0' || !value_ok(origin))
      return wsp__config_fail(cfg, WSP_EHEADER, "invalid Origin '%.64s'",
                              origin);
    if ((o = strdup(origin)) == NULL)
      return wsp__config_fail(cfg, WSP_ENOMEM, "out of memory");
  }
  free(cfg->origin);
  cfg->origin = o;
  return ok(cfg);
}

int wsp_config_set_message(wsp_config *cfg, const void *data, size_t len,
                           int binary) {
  uint8_t *m = NULL;
  if (cfg == NULL)
    return WSP_EINVAL;
  if (data == NULL && len > 0)
    return wsp__config_fail(cfg, WSP_EINVAL, "message data is NULL");
  if (len > 64 * 1024 * 1024)
    return wsp__config_fail(cfg, WSP_ETOOLONG,
                            "first message larger than 64 MiB");
  if (!binary && !wsp__utf8_valid(data, len))
    return wsp__config_fail(cfg, WSP_EINVAL,
                            "a text message must be valid UTF-8 (use a "
                            "binary message for other bytes)");
  if (len > 0) {
    if ((m = malloc(len)) == NULL)
      return wsp__config_fail(cfg, WSP_ENOMEM, "out of memory");
    memcpy(m, data, len);
  }
  free(cfg->message);
  cfg->message = m;
  cfg->message_len = len;
  cfg->message_binary = binary != 0;
  cfg->has_message = data != NULL;
  return ok(cfg);
}

int wsp_config_set_delay(wsp_config *cfg, uint32_t delay_ms) {
  if (cfg == NULL)
    return WSP_EINVAL;
  if (delay_ms > 3600000)
    return wsp__config_fail(cfg, WSP_ERANGE,
                            "delay %u ms out of range (0-3600000)", delay_ms);
  cfg->delay_ms = delay_ms;
  return ok(cfg);
}

int wsp_config_set_hold(wsp_config *cfg, uint32_t hold_ms) {
  if (cfg == NULL)
    return WSP_EINVAL;
  if (hold_ms > 3600000)
    return wsp__config_fail(cfg, WSP_ERANGE,
                            "hold %u ms out of range (0-3600000)", hold_ms);
  cfg->hold_ms = hold_ms;
  return ok(cfg);
}

int wsp_config_add_expect(wsp_config *cfg, const char *type) {
  if (cfg == NULL)
    return WSP_EINVAL;
  if (type == NULL || *type == '\0')
    return wsp__config_fail(cfg, WSP_EEXPECT, "empty expected event type");
  if (strlen(type) > 256)
    return wsp__config_fail(cfg, WSP_EEXPECT,
                            "expected event type longer than 256 bytes");
  if (cfg->expect.n >= 32)
    return wsp__config_fail(cfg, WSP_EEXPECT,
                            "at most 32 expected event types");
  for (size_t i = 0; i < cfg->expect.n; i++)
    if (strcmp(cfg->expect.v[i], type) == 0)
      return wsp__config_fail(cfg, WSP_EEXPECT,
                              "event type '%.64s' expected twice", type);
  if (wsp__strv_push(&cfg->expect, type) != 0)
    return wsp__config_fail(cfg, WSP_ENOMEM, "out of memory");
  return ok(cfg);
}

int wsp_config_set_expect_key(wsp_config *cfg, const char *key) {
  if (cfg == NULL)
    return WSP_EINVAL;
  if (key == NULL || *key == '\0' || strlen(key) >= sizeof(cfg->expect_key))
    return wsp__config_fail(cfg, WSP_EEXPECT,
                            "the event key must be 1-%zu bytes",
                            sizeof(cfg->expect_key) - 1);
  strcpy(cfg->expect_key, key);
  return ok(cfg);
}

int wsp_config_add_resolve(wsp_config *cfg, const char *entry) {
  int rc;
  if (cfg == NULL)
    return WSP_EINVAL;
  if ((rc = wsp__pin_check(entry, cfg->error, sizeof(cfg->error))) != 0)
    return rc;
  if (cfg->pins.n >= WSP__MAX_PINS)
    return wsp__config_fail(cfg, WSP_ERANGE, "at most %d --resolve entries",
                            WSP__MAX_PINS);
  if (wsp__strv_push(&cfg->pins, entry) != 0)
    return wsp__config_fail(cfg, WSP_ENOMEM, "out of memory");
  return ok(cfg);
}

int wsp_config_add_record_header(wsp_config *cfg, const char *name) {
  if (cfg == NULL)
    return WSP_EINVAL;
  if (name == NULL || !wsp__is_token(name) || strlen(name) > 63)
    return wsp__config_fail(cfg, WSP_EHEADER,
                            "a header to record must be a header name of "
                            "1-63 characters");
  if (cfg->record.n >= WSP__MAX_RECORD)
    return wsp__config_fail(cfg, WSP_ERANGE, "at most %d headers to record",
                            WSP__MAX_RECORD);
  for (size_t i = 0; i < cfg->record.n; i++)
    if (strcasecmp(cfg->record.v[i], name) == 0)
      return wsp__config_fail(cfg, WSP_EHEADER, "header '%s' recorded twice",
                              name);
  if (wsp__strv_push(&cfg->record, name) != 0)
    return wsp__config_fail(cfg, WSP_ENOMEM, "out of memory");
  return ok(cfg);
}

int wsp_config_set_address_policy(wsp_config *cfg, wsp_address_policy policy) {
  if (cfg == NULL)
    return WSP_EINVAL;
  if (policy != WSP_ADDRESS_ROUND_ROBIN && policy != WSP_ADDRESS_FIRST)
    return wsp__config_fail(cfg, WSP_EINVAL, "unknown address policy %d",
                            (int)policy);
  cfg->address_policy = (int)policy;
  return ok(cfg);
}

int wsp_config_set_timeout(wsp_config *cfg, wsp_phase phase, uint32_t ms) {
  if (cfg == NULL)
    return WSP_EINVAL;
  if ((unsigned)phase >= WSP_PHASE_COUNT || phase == WSP_PHASE_OPEN)
    return wsp__config_fail(cfg, WSP_EINVAL, "phase %d has no timeout",
                            (int)phase);
  if (ms < 1 || ms > 3600000)
    return wsp__config_fail(cfg, WSP_ERANGE,
                            "timeout %u ms out of range (1-3600000)", ms);
  cfg->timeout_ms[phase] = ms;
  return ok(cfg);
}

int wsp_config_set_timeouts(wsp_config *cfg, uint32_t ms) {
  if (cfg == NULL)
    return WSP_EINVAL;
  if (ms < 1 || ms > 3600000)
    return wsp__config_fail(cfg, WSP_ERANGE,
                            "timeout %u ms out of range (1-3600000)", ms);
  for (int i = 0; i < WSP_PHASE_COUNT; i++)
    if (i != WSP_PHASE_OPEN)
      cfg->timeout_ms[i] = ms;
  return ok(cfg);
}

int wsp_config_set_compress(wsp_config *cfg, int on) {
  if (cfg == NULL)
    return WSP_EINVAL;
  cfg->compress = on != 0;
  return ok(cfg);
}

int wsp_config_set_max_message(wsp_config *cfg, uint64_t bytes) {
  if (cfg == NULL)
    return WSP_EINVAL;
  if (bytes < 1 || bytes > ((uint64_t)1 << 31))
    return wsp__config_fail(cfg, WSP_ERANGE,
                            "maximum message size out of range (1-2 GiB)");
  cfg->max_message = bytes;
  return ok(cfg);
}

int wsp_config_set_ca_file(wsp_config *cfg, const char *path) {
  mbedtls_x509_crt crt;
  char *copy = NULL;
  int rc;
  if (cfg == NULL)
    return WSP_EINVAL;
  if (path != NULL) {
    /* Parsed now so that a bad file is refused here, not mid-run. */
    if (!wsp__regular_file(path))
      return wsp__config_fail(cfg, WSP_EINVAL,
                              "CA file '%.200s' is not a readable file", path);
    mbedtls_x509_crt_init(&crt);
    rc = mbedtls_x509_crt_parse_file(&crt, path);
    mbedtls_x509_crt_free(&crt);
    if (rc != 0)
      return wsp__config_fail(
          cfg, WSP_EINVAL, "cannot load CA certificates from '%.200s'", path);
    if ((copy = strdup(path)) == NULL)
      return wsp__config_fail(cfg, WSP_ENOMEM, "out of memory");
  }
  free(cfg->ca_file);
  cfg->ca_file = copy;
  return ok(cfg);
}

int wsp_config_set_proxy(wsp_config *cfg, const char *url) {
  wsp__proxy px;
  char err[200];
  int rc;
  if (cfg == NULL)
    return WSP_EINVAL;
  memset(&px, 0, sizeof(px));
  if (url != NULL && *url != '\0' &&
      (rc = wsp__proxy_parse(url, &px, err, sizeof(err))) != 0)
    return rc == WSP_ENOMEM ? wsp__config_fail(cfg, rc, "out of memory")
                            : wsp__config_fail(cfg, rc, "%s", err);
  wsp__proxy_clear(&cfg->proxy);
  cfg->proxy = px;
  return ok(cfg);
}

int wsp_config_set_noproxy(wsp_config *cfg, const char *list) {
  char *copy = NULL;
  if (cfg == NULL)
    return WSP_EINVAL;
  if (list != NULL && *list != '\0') {
    for (const char *c = list; *c; c++)
      if ((unsigned char)*c < 0x20 && *c != '\t')
        return wsp__config_fail(cfg, WSP_EINVAL,
                                "a control character in the no-proxy list");
    if ((copy = strdup(list)) == NULL)
      return wsp__config_fail(cfg, WSP_ENOMEM, "out of memory");
  }
  free(cfg->noproxy);
  cfg->noproxy = copy;
  return ok(cfg);
}

int wsp_config_set_insecure(wsp_config *cfg, int insecure) {
  if (cfg == NULL)
    return WSP_EINVAL;
  cfg->tls_insecure = insecure != 0;
  return ok(cfg);
}

int wsp_config_set_tls_resume(wsp_config *cfg, int resume) {
  if (cfg == NULL)
    return WSP_EINVAL;
  cfg->tls_resume = resume != 0;
  return ok(cfg);
}

int wsp_config_set_client_cert(wsp_config *cfg, const char *cert_file,
                               const char *key_file) {
  mbedtls_x509_crt crt;
  mbedtls_pk_context pk;
  char err[300];
  char *c = NULL, *k = NULL;
  int rc;
  if (cfg == NULL)
    return WSP_EINVAL;
  if ((cert_file == NULL) != (key_file == NULL))
    return wsp__config_fail(cfg, WSP_EINVAL,
                            "a client certificate needs its key, and a key "
                            "its certificate");
  if (cert_file != NULL) {
    mbedtls_x509_crt_init(&crt);
    mbedtls_pk_init(&pk);
    rc = wsp__tls_load_client(&crt, &pk, cert_file, key_file, err, sizeof(err));
    mbedtls_x509_crt_free(&crt);
    mbedtls_pk_free(&pk);
    if (rc != 0)
      return wsp__config_fail(cfg, rc, "%s", err);
    if ((c = strdup(cert_file)) == NULL || (k = strdup(key_file)) == NULL) {
      free(c);
      return wsp__config_fail(cfg, WSP_ENOMEM, "out of memory");
    }
  }
  free(cfg->cert_file);
  free(cfg->key_file);
  cfg->cert_file = c;
  cfg->key_file = k;
  return ok(cfg);
}

int wsp_config_to_json(const wsp_config *cfg, int show_secrets, char **out) {
  cJSON *o, *a, *t;
  if (cfg == NULL || out == NULL)
    return WSP_EINVAL;
  if ((o = cJSON_CreateObject()) == NULL)
    return WSP_ENOMEM;
  cJSON_AddItemToObject(o, "url",
                        cfg->url_text ? cJSON_CreateString(cfg->url_text)
                                      : cJSON_CreateNull());
  a = cJSON_AddArrayToObject(o, "headers");
  for (size_t i = 0; a && i < cfg->nheaders; i++) {
    cJSON *h = cJSON_CreateObject();
    cJSON_AddStringToObject(h, "name", cfg->headers[i].name);
    cJSON_AddStringToObject(h, "value",
                            cfg->headers[i].secret && !show_secrets
                                ? "<redacted>"
                                : cfg->headers[i].value);
    cJSON_AddItemToArray(a, h);
  }
  a = cJSON_AddArrayToObject(o, "subprotocols");
  for (size_t i = 0; a && i < cfg->subprotocols.n; i++)
    cJSON_AddItemToArray(a, cJSON_CreateString(wsp__redact_subprotocol(
                                cfg->subprotocols.v[i], show_secrets)));
  if (cfg->jwt != NULL || cfg->jwt_spec.enabled) {
    cJSON *j = cJSON_AddObjectToObject(o, "jwt");
    cJSON *pl = cJSON_AddArrayToObject(j, "placement");
    if (cfg->jwt_placement & WSP_JWT_SUBPROTOCOL)
      cJSON_AddItemToArray(pl, cJSON_CreateString("subprotocol"));
    if (cfg->jwt_placement & WSP_JWT_BEARER)
      cJSON_AddItemToArray(pl, cJSON_CreateString("bearer"));
    if (cfg->jwt_placement & WSP_JWT_QUERY)
      cJSON_AddItemToArray(pl, cJSON_CreateString("query"));
    if (cfg->jwt != NULL) {
      cJSON_AddStringToObject(j, "token",
                              show_secrets ? cfg->jwt : "<redacted>");
    } else {
      cJSON *m = cJSON_AddObjectToObject(j, "minted");
      cJSON_AddStringToObject(m, "alg", wsp_jwt_alg_name(cfg->jwt_spec.alg));
      cJSON_AddItemToObject(m, "claims",
                            cfg->jwt_spec.claims
                                ? cJSON_Parse(cfg->jwt_spec.claims)
                                : cJSON_CreateObject());
      cJSON_AddNumberToObject(m, "ttl", cfg->jwt_spec.ttl);
      if (cfg->jwt_spec.nbf_set)
        cJSON_AddNumberToObject(m, "nbf_offset", cfg->jwt_spec.nbf_offset);
      cJSON_AddStringToObject(m, "key", "<redacted>");
    }
    cJSON_AddStringToObject(j, "prefix", cfg->jwt_prefix);
    if (cfg->jwt_placement & WSP_JWT_QUERY)
      cJSON_AddStringToObject(j, "query_param", cfg->jwt_query);
    cJSON_AddBoolToObject(j, "require_subprotocol", cfg->require_subprotocol);
  } else {
    cJSON_AddNullToObject(o, "jwt");
  }
  if (cfg->origin)
    cJSON_AddStringToObject(o, "origin", cfg->origin);
  else
    cJSON_AddNullToObject(o, "origin");
  if (cfg->has_message) {
    cJSON *m = cJSON_AddObjectToObject(o, "message");
    cJSON_AddBoolToObject(m, "binary", cfg->message_binary);
    cJSON_AddNumberToObject(m, "bytes", (double)cfg->message_len);
    if (!cfg->message_binary) {
      char *s = wsp__strndup((const char *)cfg->message, cfg->message_len);
      cJSON_AddItemToObject(m, "text",
                            s ? cJSON_CreateString(s) : cJSON_CreateNull());
      free(s);
    }
  } else {
    cJSON_AddNullToObject(o, "message");
  }
  cJSON_AddNumberToObject(o, "delay_ms", cfg->delay_ms);
  cJSON_AddNumberToObject(o, "hold_ms", cfg->hold_ms);
  a = cJSON_AddArrayToObject(o, "expect");
  for (size_t i = 0; a && i < cfg->expect.n; i++)
    cJSON_AddItemToArray(a, cJSON_CreateString(cfg->expect.v[i]));
  cJSON_AddBoolToObject(o, "expect_order", cfg->expect_order);
  cJSON_AddStringToObject(o, "expect_key", cfg->expect_key);
  a = cJSON_AddArrayToObject(o, "record_headers");
  for (size_t i = 0; a && i < cfg->record.n; i++)
    cJSON_AddItemToArray(a, cJSON_CreateString(cfg->record.v[i]));
  a = cJSON_AddArrayToObject(o, "resolve");
  for (size_t i = 0; a && i < cfg->pins.n; i++)
    cJSON_AddItemToArray(a, cJSON_CreateString(cfg->pins.v[i]));
  cJSON_AddStringToObject(
      o, "address_policy",
      cfg->address_policy == WSP_ADDRESS_FIRST ? "first" : "round-robin");
  if (cfg->nsteps > 0) {
    static const char *const kinds[] = {"send", "expect", "wait", "close"};
    a = cJSON_AddArrayToObject(o, "steps");
    for (size_t i = 0; i < cfg->nsteps; i++) {
      const wsp__step *st = &cfg->steps[i];
      cJSON *j = cJSON_CreateObject();
      cJSON_AddStringToObject(j, "step", kinds[st->kind]);
      if (st->kind == WSP__STEP_SEND) {
        cJSON_AddBoolToObject(j, "binary", st->binary);
        cJSON_AddNumberToObject(j, "bytes", (double)st->len);
        if (!st->binary)
          cJSON_AddStringToObject(j, "text", (const char *)st->data);
      } else if (st->kind == WSP__STEP_EXPECT) {
        cJSON_AddStringToObject(j, "type", (const char *)st->data);
        cJSON_AddNumberToObject(j, "timeout_ms", st->ms);
      } else if (st->kind == WSP__STEP_WAIT) {
        cJSON_AddNumberToObject(j, "ms", st->ms);
      } else {
        cJSON_AddNumberToObject(j, "code", st->code);
        cJSON_AddStringToObject(j, "reason", (const char *)st->data);
      }
      cJSON_AddItemToArray(a, j);
    }
  }
  t = cJSON_AddObjectToObject(o, "timeouts_ms");
  for (int i = 0; t && i < WSP_PHASE_COUNT; i++)
    if (i != WSP_PHASE_OPEN)
      cJSON_AddNumberToObject(t, wsp_phase_name((wsp_phase)i),
                              cfg->timeout_ms[i]);
  cJSON_AddNumberToObject(o, "max_message", (double)cfg->max_message);
  /* Only when asked: a run without it reports what it always did. */
  if (cfg->compress)
    cJSON_AddBoolToObject(o, "compress", 1);
  /* Only through a proxy: a direct run's settings stay as they were. */
  if (cfg->proxy.host != NULL) {
    cJSON_AddStringToObject(o, "proxy",
                            show_secrets ? cfg->proxy.text : cfg->proxy.shown);
    cJSON_AddItemToObject(o, "noproxy",
                          cfg->noproxy ? cJSON_CreateString(cfg->noproxy)
                                       : cJSON_CreateNull());
  }
  if (cfg->url.tls) {
    cJSON *tls = cJSON_AddObjectToObject(o, "tls");
    cJSON_AddStringToObject(tls, "ca_file",
                            cfg->ca_file ? cfg->ca_file : wsp__system_ca_file);
    /* Recorded so that nobody mistakes an unverified run for a verified
     * one. */
    cJSON_AddBoolToObject(tls, "verify", !cfg->tls_insecure);
    cJSON_AddBoolToObject(tls, "resume", cfg->tls_resume);
    cJSON_AddItemToObject(tls, "client_cert",
                          cfg->cert_file ? cJSON_CreateString(cfg->cert_file)
                                         : cJSON_CreateNull());
  } else {
    cJSON_AddNullToObject(o, "tls");
  }
  *out = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return *out ? 0 : WSP_ENOMEM;
}
