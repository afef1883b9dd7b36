/*
 * The WebSocket upgrade, client side. The response is parsed by llhttp
 * (Debian's node-llhttp sources, compiled in), which also decodes chunked
 * bodies of rejections; this file decides what the response means.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mbedtls/base64.h>
#include <mbedtls/sha1.h>

#include "config.h"
#include "upgrade.h"
#include "util.h"

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

static const char *const kept_headers[WSP__H_COUNT] = {
    [WSP__H_UPGRADE] = "upgrade",
    [WSP__H_CONNECTION] = "connection",
    [WSP__H_ACCEPT] = "sec-websocket-accept",
    [WSP__H_PROTOCOL] = "sec-websocket-protocol",
    [WSP__H_EXTENSIONS] = "sec-websocket-extensions",
    [WSP__H_RETRY_AFTER] = "retry-after",
    [WSP__H_CONTENT_TYPE] = "content-type",
};

int wsp__ws_accept(const char *key, size_t key_len,
                   char out[WSP__ACCEPT_LEN + 1]) {
  mbedtls_sha1_context sha;
  unsigned char digest[20];
  size_t olen = 0;
  int rc;
  mbedtls_sha1_init(&sha);
  rc = mbedtls_sha1_starts_ret(&sha);
  if (rc == 0)
    rc = mbedtls_sha1_update_ret(&sha, (const unsigned char *)key, key_len);
  if (rc == 0)
    rc = mbedtls_sha1_update_ret(&sha, (const unsigned char *)ws_guid,
                                 sizeof(ws_guid) - 1);
  if (rc == 0)
    rc = mbedtls_sha1_finish_ret(&sha, digest);
  mbedtls_sha1_free(&sha);
  if (rc == 0)
    rc = mbedtls_base64_encode((unsigned char *)out, WSP__ACCEPT_LEN + 1, &olen,
                               digest, sizeof(digest));
  return rc == 0 && olen == WSP__ACCEPT_LEN ? 0 : WSP_ECRYPTO;
}

int wsp__ws_key(const uint8_t nonce[16], char out[WSP__KEY_LEN + 1]) {
  size_t olen = 0;
  if (mbedtls_base64_encode((unsigned char *)out, WSP__KEY_LEN + 1, &olen,
                            nonce, 16) != 0 ||
      olen != WSP__KEY_LEN)
    return WSP_ECRYPTO;
  return 0;
}

/* Appends to a buffer sized in advance; see wsp__upgrade_request(). */
typedef struct {
  char *p;    /* Start. */
  size_t len; /* Used. */
} sbuf;

/* The one extension offered with --compress (RFC 7692 7.1.2.2: the
 * server may then bound our window). */
static const char deflate_offer[] =
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";

static void put(sbuf *b, const char *s) {
  size_t n = strlen(s);
  memcpy(b->p + b->len, s, n);
  b->len += n;
}

int wsp__upgrade_request(const wsp_config *cfg, const char *token,
                         const char *key, char **out, size_t *len) {
  size_t need = 256 + strlen(cfg->url.target) + strlen(cfg->url.host_header);
  int jwt_proto = token && (cfg->jwt_placement & WSP_JWT_SUBPROTOCOL);
  sbuf b;

  for (size_t i = 0; i < cfg->subprotocols.n; i++)
    need += strlen(cfg->subprotocols.v[i]) + 2;
  if (token)
    need += 3 * strlen(token) + 200;
  if (cfg->origin)
    need += strlen(cfg->origin) + 16;
  if (cfg->compress)
    need += sizeof(deflate_offer);
  for (size_t i = 0; i < cfg->nheaders; i++)
    need += strlen(cfg->headers[i].name) + strlen(cfg->headers[i].value) + 4;
  if ((b.p = malloc(need)) == NULL)
    return WSP_ENOMEM;
  b.len = 0;

  put(&b, "GET ");
  put(&b, cfg->url.target);
  if (token && (cfg->jwt_placement & WSP_JWT_QUERY)) {
    /* Tokens are base64url and dots: nothing to percent-encode. */
    put(&b, strchr(cfg->url.target, '?') ? "&" : "?");
    put(&b, cfg->jwt_query);
    put(&b, "=");
    put(&b, token);
  }
  put(&b, " HTTP/1.1\r\nHost: ");
  put(&b, cfg->url.host_header);
  put(&b, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Key: ");
  put(&b, key);
  put(&b, "\r\nSec-WebSocket-Version: 13\r\n");
  if (jwt_proto || cfg->subprotocols.n > 0) {
    const char *sep = "";
    put(&b, "Sec-WebSocket-Protocol: ");
    /* The token goes first: servers that authenticate this way look for
     * it and echo it back. */
    if (jwt_proto) {
      put(&b, cfg->jwt_prefix);
      put(&b, token);
      sep = ", ";
    }
    for (size_t i = 0; i < cfg->subprotocols.n; i++) {
      put(&b, sep);
      put(&b, cfg->subprotocols.v[i]);
      sep = ", ";
    }
    put(&b, "\r\n");
  }
  if (token && (cfg->jwt_placement & WSP_JWT_BEARER)) {
    put(&b, "Authorization: Bearer ");
    put(&b, token);
    put(&b, "\r\n");
  }
  if (cfg->origin) {
    put(&b, "Origin: ");
    put(&b, cfg->origin);
    put(&b, "\r\n");
  }
  if (cfg->compress)
    put(&b, deflate_offer);
  put(&b, "User-Agent: wsprobe/" WSP_VERSION_STRING "\r\n");
  for (size_t i = 0; i < cfg->nheaders; i++) {
    put(&b, cfg->headers[i].name);
    put(&b, ": ");
    put(&b, cfg->headers[i].value);
    put(&b, "\r\n");
  }
  put(&b, "\r\n");
  *out = b.p;
  *len = b.len;
  return 0;
}

/* ---- response parsing ---- */

static wsp__upgrade *up_of(llhttp_t *h) { return (wsp__upgrade *)h->data; }

static int on_status(llhttp_t *h, const char *at, size_t len) {
  wsp__upgrade *up = up_of(h);
  size_t room = sizeof(up->reason) - 1 - up->reason_len;
  if (len > room)
    len = room;
  memcpy(up->reason + up->reason_len, at, len);
  up->reason_len += len;
  up->reason[up->reason_len] = '\0';
  return 0;
}

/* The status is known from the status line on: a response whose headers
 * then run over the limit has it however its bytes were cut into reads. */
static int on_status_complete(llhttp_t *h) {
  up_of(h)->status = h->status_code;
  return 0;
}

static int on_header_field(llhttp_t *h, const char *at, size_t len) {
  wsp__upgrade *up = up_of(h);
  for (size_t i = 0; i < len; i++, up->field_len++) {
    char c = at[i];
    if (up->field_len < sizeof(up->field) - 1)
      up->field[up->field_len] = (c >= 'A' && c <= 'Z') ? c + 32 : c;
  }
  return 0;
}

static int on_header_field_complete(llhttp_t *h) {
  wsp__upgrade *up = up_of(h);
  up->field_id = up->rec_id = -1;
  if (up->field_len < sizeof(up->field)) {
    up->field[up->field_len] = '\0';
    for (int i = 0; i < WSP__H_COUNT; i++)
      if (strcmp(up->field, kept_headers[i]) == 0)
        up->field_id = i;
    for (size_t i = 0; i < up->nrecord && i < WSP__MAX_RECORD; i++)
      if (strcasecmp(up->field, up->record[i]) == 0)
        up->rec_id = (int)i;
  }
  up->field_len = 0;
  up->value_len = 0;
  up->value_long = 0;
  return 0;
}

static int on_header_value(llhttp_t *h, const char *at, size_t len) {
  wsp__upgrade *up = up_of(h);
  size_t room;
  if (up->field_id < 0 && up->rec_id < 0)
    return 0;
  room = sizeof(up->value) - 1 - up->value_len;
  if (len > room) {
    len = room;
    up->value_long = 1;
  }
  memcpy(up->value + up->value_len, at, len);
  up->value_len += len;
  return 0;
}

static int on_header_value_complete(llhttp_t *h) {
  wsp__upgrade *up = up_of(h);
  int id = up->field_id;
  if (id < 0 && up->rec_id < 0)
    return 0;
  while (up->value_len > 0 && (up->value[up->value_len - 1] == ' ' ||
                               up->value[up->value_len - 1] == '\t'))
    up->value_len--;
  up->value[up->value_len] = '\0';
  /* A recorded header keeps its first value (at most 511 bytes), as a
   * fact for the report; only the kept ones below are checked. */
  if (up->rec_id >= 0 && up->rec[up->rec_id] == NULL &&
      (up->rec[up->rec_id] = wsp__strndup(up->value, up->value_len)) == NULL)
    return -1;
  if (id < 0)
    return 0;
  if (up->hcount[id] < 255)
    up->hcount[id]++;
  if (id == WSP__H_CONNECTION && wsp__has_token(up->value, "upgrade"))
    up->conn_upgrade = 1;
  if (up->h[id] == NULL) {
    up->h[id] = wsp__strndup(up->value, up->value_len);
    if (up->h[id] == NULL)
      return -1;
  }
  if (up->value_long &&
      (id == WSP__H_ACCEPT || id == WSP__H_PROTOCOL || id == WSP__H_EXTENSIONS))
    up->hcount[id] = 255; /* Far too long to be valid. */
  return 0;
}

/* An interim response is over: the next one starts from nothing (its
 * header bytes still count against the limit). */
static void forget_response(wsp__upgrade *up) {
  wsp__upgrade_clear(up);
  memset(up->hcount, 0, sizeof(up->hcount));
  up->conn_upgrade = 0;
  up->status = 0;
  up->reason_len = 0;
  up->reason[0] = '\0';
  up->field_id = up->rec_id = -1;
  up->field_len = 0;
}

/* Whether a status is an interim response other than 101: 100 Continue,
 * 102, 103 Early Hints (RFC 9110 15.2). A client skips them. */
static int interim(int status) {
  return status >= 100 && status < 200 && status != 101;
}

static int on_headers_complete(llhttp_t *h) {
  wsp__upgrade *up = up_of(h);
  if (interim(h->status_code)) {
    up->interim++;
    forget_response(up);
    /* A 1xx has no body (RFC 9110 15.2), whatever its headers say: 1 tells
     * llhttp so. */
    return 1;
  }
  up->headers_done = 1;
  up->status = h->status_code;
  /* Whatever the headers say, the bytes after a 101 are not HTTP: stop
   * there and let check_101() judge the headers (2 = pause for upgrade). */
  return up->status == 101 ? 2 : 0;
}

static int on_body(llhttp_t *h, const char *at, size_t len) {
  wsp__upgrade *up = up_of(h);
  size_t room = sizeof(up->body) - up->body_len;
  if (len <= room) {
    memcpy(up->body + up->body_len, at, len);
    up->body_len += len;
    return 0;
  }
  /* Enough of the body is kept: stop without waiting for the rest, and
   * keep whole characters only, so that a UTF-8 body stays UTF-8. */
  memcpy(up->body + up->body_len, at, room);
  up->body_len = wsp__utf8_cut(up->body, sizeof(up->body));
  up->body_cut = 1;
  return HPE_PAUSED;
}

static int on_message_complete(llhttp_t *h) {
  /* llhttp completes a 101 "message" too, then stops for the upgrade;
   * after an interim response the final one follows. */
  if (h->status_code == 101 || interim(h->status_code))
    return 0;
  up_of(h)->state = WSP__UP_REJECTED;
  return HPE_PAUSED;
}

/* Constant, so that probes on loops in several threads share it without a
 * race (llhttp_settings_init() only zeroes the struct). */
static const llhttp_settings_t settings = {
    .on_status = on_status,
    .on_status_complete = on_status_complete,
    .on_header_field = on_header_field,
    .on_header_field_complete = on_header_field_complete,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

int wsp__upgrade_init(wsp__upgrade *up, const char *key,
                      const char *const *offered, size_t noffered) {
  int rc;
  memset(up, 0, sizeof(*up));
  llhttp_init(&up->parser, HTTP_RESPONSE, &settings);
  up->parser.data = up;
  up->field_id = up->rec_id = -1;
  up->offered = offered;
  up->noffered = noffered;
  rc = wsp__ws_accept(key, strlen(key), up->accept);
  return rc;
}

void wsp__upgrade_clear(wsp__upgrade *up) {
  for (int i = 0; i < WSP__H_COUNT; i++) {
    free(up->h[i]);
    up->h[i] = NULL;
  }
  for (int i = 0; i < WSP__MAX_RECORD; i++) {
    free(up->rec[i]);
    up->rec[i] = NULL;
  }
}

static wsp__up_state invalid(wsp__upgrade *up, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static wsp__up_state invalid(wsp__upgrade *up, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(up->err, sizeof(up->err), fmt, ap);
  va_end(ap);
  return up->state = WSP__UP_INVALID;
}

/* Skips spaces and tabs (HTTP's optional white space). */
static const char *ows(const char *p) {
  while (*p == ' ' || *p == '\t')
    p++;
  return p;
}

/* Reads an RFC 7230 token at p into out (NUL-terminated, cut at `cap`);
 * returns the end, p itself when there is none. */
static const char *token_at(const char *p, char *out, size_t cap) {
  static const char delims[] = "()<>@,;:\\\"/[]?={} \t";
  size_t n = 0;
  while ((unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f &&
         strchr(delims, *p) == NULL) {
    if (n + 1 < cap)
      out[n++] = *p;
    p++;
  }
  out[n] = '\0';
  return p;
}

/* A window size in bits (RFC 7692 7.1.2): 8 to 15, no leading zero. */
static int window_bits(const char *v) {
  if (v[0] < '1' || v[0] > '9')
    return -1;
  if (v[1] == '\0')
    return v[0] >= '8' ? v[0] - '0' : -1;
  if (v[0] == '1' && v[1] >= '0' && v[1] <= '5' && v[2] == '\0')
    return 10 + (v[1] - '0');
  return -1;
}

/*
 * One extension parameter of permessage-deflate's answer: a name and a
 * value (a token, or a quoted string that holds one; "" when absent).
 * Each may appear once; only the four of RFC 7692 7.1 are known.
 */
static int pmd_param(wsp__upgrade *up, const char *name, const char *val,
                     int has_val, unsigned *seen) {
  static const char *const names[] = {
      "server_no_context_takeover", "client_no_context_takeover",
      "server_max_window_bits", "client_max_window_bits"};
  unsigned i;
  for (i = 0; i < 4; i++)
    if (strcmp(name, names[i]) == 0)
      break;
  if (i == 4) {
    invalid(up, "unknown permessage-deflate parameter '%.40s'", name);
    return -1;
  }
  if (*seen & (1u << i)) {
    invalid(up, "permessage-deflate parameter %s given twice", name);
    return -1;
  }
  *seen |= 1u << i;
  if (i < 2 && has_val) {
    invalid(up, "permessage-deflate parameter %s takes no value", name);
    return -1;
  }
  if (i < 2) {
    *(i == 0 ? &up->pmd.server_no_takeover : &up->pmd.client_no_takeover) = 1;
    return 0;
  }
  if (window_bits(val) < 0) {
    invalid(up, "permessage-deflate parameter %s='%.20s' is not 8 to 15", name,
            val);
    return -1;
  }
  *(i == 2 ? &up->pmd.server_bits : &up->pmd.client_bits) = window_bits(val);
  return 0;
}

/*
 * RFC 7692 section 7.1: the server's answer to our one offer,
 * permessage-deflate with client_max_window_bits. Anything else (another
 * extension, a second one, an unknown or malformed parameter) fails the
 * upgrade.
 */
static int check_extensions(wsp__upgrade *up) {
  const char *p = ows(up->h[WSP__H_EXTENSIONS]);
  char name[40], val[40];
  unsigned seen = 0;
  if (up->hcount[WSP__H_EXTENSIONS] != 1) {
    invalid(up, "server selected more than one extension");
    return -1;
  }
  p = token_at(p, name, sizeof(name));
  if (!wsp__strcaseeq(name, "permessage-deflate")) {
    invalid(up, "server selected extension '%.40s' that was not offered",
            up->h[WSP__H_EXTENSIONS]);
    return -1;
  }
  up->pmd.server_bits = up->pmd.client_bits = WSP__PMD_MAX_BITS;
  for (p = ows(p); *p == ';'; p = ows(p)) {
    int has_val = 0;
    const char *q = ows(p + 1);
    p = token_at(q, name, sizeof(name));
    val[0] = '\0';
    if (p == q)
      goto malformed;
    p = ows(p);
    if (*p == '=') {
      const char *v = ows(p + 1);
      int quoted = *v == '"';
      has_val = 1;
      p = token_at(v + quoted, val, sizeof(val));
      if (p == v + quoted || (quoted && *p++ != '"'))
        goto malformed;
    }
    if (pmd_param(up, name, val, has_val, &seen) != 0)
      return -1;
  }
  if (*p == ',') {
    invalid(up, "server selected more than one extension");
    return -1;
  }
  if (*p == '\0') {
    up->pmd.on = 1;
    return 0;
  }
malformed:
  invalid(up, "malformed Sec-WebSocket-Extensions '%.60s'",
          up->h[WSP__H_EXTENSIONS]);
  return -1;
}

/* RFC 6455 section 4.1, the client's checks of a 101 response. */
static wsp__up_state check_101(wsp__upgrade *up) {
  const char *proto = up->h[WSP__H_PROTOCOL];
  if (up->parser.http_major != 1 || up->parser.http_minor != 1)
    return invalid(up, "101 response is HTTP/%d.%d, not HTTP/1.1",
                   up->parser.http_major, up->parser.http_minor);
  if (up->h[WSP__H_UPGRADE] == NULL)
    return invalid(up, "101 response without an Upgrade header");
  if (!wsp__strcaseeq(up->h[WSP__H_UPGRADE], "websocket"))
    return invalid(up, "101 response with Upgrade '%.40s', not websocket",
                   up->h[WSP__H_UPGRADE]);
  if (!up->conn_upgrade)
    return invalid(up, "101 response without 'upgrade' in Connection");
  if (up->h[WSP__H_ACCEPT] == NULL)
    return invalid(up, "101 response without Sec-WebSocket-Accept");
  if (up->hcount[WSP__H_ACCEPT] != 1 ||
      strcmp(up->h[WSP__H_ACCEPT], up->accept) != 0)
    return invalid(up, "wrong Sec-WebSocket-Accept '%.40s' (expected %s)",
                   up->h[WSP__H_ACCEPT], up->accept);
  if (up->h[WSP__H_EXTENSIONS] != NULL && !up->offer_deflate)
    return invalid(up,
                   "server selected extension '%.40s' that was not "
                   "offered",
                   up->h[WSP__H_EXTENSIONS]);
  if (up->h[WSP__H_EXTENSIONS] != NULL && check_extensions(up) != 0)
    return up->state;
  if (proto != NULL) {
    size_t i;
    if (up->hcount[WSP__H_PROTOCOL] != 1 || strchr(proto, ',') != NULL)
      return invalid(up, "server selected more than one subprotocol");
    for (i = 0; i < up->noffered; i++)
      if (strcmp(up->offered[i], proto) == 0)
        break;
    if (i == up->noffered && (up->extra == NULL || strcmp(up->extra, proto)))
      return invalid(up,
                     "server selected subprotocol '%.40s' that was not "
                     "offered",
                     wsp__redact_subprotocol(proto, 0));
  }
  return up->state = WSP__UP_OPEN;
}

wsp__up_state wsp__upgrade_parse(wsp__upgrade *up, const uint8_t *data,
                                 size_t len, size_t *consumed) {
  llhttp_errno_t e;
  *consumed = 0;
  if (up->state != WSP__UP_MORE)
    return up->state;
  e = llhttp_execute(&up->parser, (const char *)data, len);
  /* llhttp also stops for an interim response that says "Connection:
   * upgrade": it is no 101 either, and the final response follows. */
  while (e == HPE_PAUSED_UPGRADE && !up->headers_done) {
    const char *at = llhttp_get_error_pos(&up->parser);
    llhttp_resume_after_upgrade(&up->parser);
    e = llhttp_execute(&up->parser, at,
                       len - (size_t)(at - (const char *)data));
  }
  switch (e) {
  case HPE_OK:
    *consumed = len;
    break;
  case HPE_PAUSED_UPGRADE:
    *consumed =
        (size_t)(llhttp_get_error_pos(&up->parser) - (const char *)data);
    /* llhttp also stops here for a bodiless non-101 response that says
     * "Connection: upgrade"; that is still a rejection. */
    if (up->status != 101)
      return up->state = WSP__UP_REJECTED;
    /* Headers that ended within this buffer count against the limit too,
     * not only those spread over several reads. */
    up->header_bytes += *consumed;
    if (up->header_bytes > WSP__MAX_HEADER_BYTES)
      return invalid(up, "response headers exceed %d bytes",
                     WSP__MAX_HEADER_BYTES);
    return check_101(up);
  case HPE_PAUSED:
    *consumed =
        (size_t)(llhttp_get_error_pos(&up->parser) - (const char *)data);
    /* A rejection with enough of its body, or complete. */
    return up->state = WSP__UP_REJECTED;
  default:
    if (up->headers_done && up->status != 101)
      return up->state = WSP__UP_REJECTED; /* Malformed body; status known. */
    return invalid(up, "malformed HTTP response: %s",
                   llhttp_get_error_reason(&up->parser)
                       ? llhttp_get_error_reason(&up->parser)
                       : llhttp_errno_name(e));
  }
  if (!up->headers_done) {
    up->header_bytes += len;
    if (up->header_bytes > WSP__MAX_HEADER_BYTES)
      return invalid(up, "response headers exceed %d bytes",
                     WSP__MAX_HEADER_BYTES);
  }
  return up->state;
}

wsp__up_state wsp__upgrade_eof(wsp__upgrade *up) {
  if (up->state != WSP__UP_MORE)
    return up->state;
  if (up->headers_done && up->status != 101)
    return up->state = WSP__UP_REJECTED;
  if (up->status == 0 && up->header_bytes == 0)
    return invalid(up, "server closed the connection without a response");
  return invalid(up, "server closed the connection in the middle of the "
                     "response headers");
}
