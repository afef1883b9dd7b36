/*
 * Health polling beside the probes. Each tick opens a new connection
 * (conn.c, and tls.c for https://), sends one GET with "Connection:
 * close", and parses the answer with llhttp, as the upgrade does. A tick
 * that finds the last request still running is skipped and counted:
 * one request is in flight at most. Every response, error or timeout is
 * one sample; nothing here looks at the probes.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addrs.h"
#include "config.h"
#include "ctx.h"
#include "health.h"
#include "util.h"

/* ---- samples ---- */

void wsp__hsamples_init(wsp__hsamples *hs) {
  memset(hs, 0, sizeof(*hs));
  wsp__hist_init(&hs->ms);
}

void wsp__hsamples_clear(wsp__hsamples *hs) {
  for (size_t i = 0; i < hs->n; i++) {
    free(hs->s[i].error);
    free(hs->s[i].body);
  }
  free(hs->s);
  wsp__hsamples_init(hs);
}

int wsp__hsamples_add(wsp__hsamples *hs, const wsp__hsample *s) {
  hs->total++;
  if (s->error != NULL)
    hs->errors++;
  else if (s->status >= 100 && s->status < 600)
    hs->status[s->status]++;
  double ns = s->ms * 1e6;
  /* A report read back may say anything: only a time in range is one. */
  wsp__hist_add(&hs->ms, ns > 0 && ns < 1.8e19 ? (uint64_t)ns : 0);
  if (hs->n == WSP__HEALTH_MAX_SAMPLES)
    return 0;
  if (hs->n == hs->cap) {
    size_t cap = hs->cap ? hs->cap * 2 : 64;
    wsp__hsample *p = realloc(hs->s, cap * sizeof(*p));
    if (p == NULL)
      return WSP_ENOMEM;
    hs->s = p;
    hs->cap = cap;
  }
  wsp__hsample *d = &hs->s[hs->n];
  *d = *s;
  d->error = s->error ? wsp__strdup(s->error) : NULL;
  d->body = s->body ? wsp__strndup(s->body, s->blen) : NULL;
  if ((s->error && d->error == NULL) || (s->body && d->body == NULL)) {
    free(d->error);
    free(d->body);
    return WSP_ENOMEM;
  }
  hs->n++;
  return 0;
}

int wsp__hsamples_merge(wsp__hsamples *dst, const wsp__hsamples *src) {
  uint64_t total = dst->total + src->total, errors = dst->errors + src->errors;
  wsp__hist ms = dst->ms;
  uint64_t status[600];
  memcpy(status, dst->status, sizeof(status));
  for (size_t i = 0; i < 600; i++)
    status[i] += src->status[i];
  wsp__hist_merge(&ms, &src->ms);
  for (size_t i = 0; i < src->n; i++)
    if (wsp__hsamples_add(dst, &src->s[i]) != 0)
      return WSP_ENOMEM;
  /* The counts are the sources' own: samples beyond those kept count too. */
  dst->total = total;
  dst->errors = errors;
  dst->ms = ms;
  memcpy(dst->status, status, sizeof(status));
  dst->skipped += src->skipped;
  return 0;
}

/* ---- settings ---- */

int wsp__health_parse(wsp__health_cfg *hc, const char *text, char *err,
                      size_t errlen) {
  char *as_ws;
  const char *rest;
  int rc;
  wsp__url u;
  if (text == NULL)
    return snprintf(err, errlen, "no health URL"), WSP_EURL;
  if (strncasecmp(text, "http://", 7) == 0)
    rest = text + 7;
  else if (strncasecmp(text, "https://", 8) == 0)
    rest = text + 8;
  else
    return snprintf(err, errlen,
                    "health URL must start with http:// or https://"),
           WSP_EURL;
  /* The same rules as a ws:// or wss:// URL: the schemes differ only by
   * name (RFC 6455 section 3). */
  if ((as_ws = malloc(strlen(rest) + 7)) == NULL)
    return WSP_ENOMEM;
  sprintf(as_ws, "%s%s", rest - text == 7 ? "ws://" : "wss://", rest);
  rc = wsp__url_parse(as_ws, &u, err, errlen);
  free(as_ws);
  if (rc != 0)
    return WSP_EURL;
  if ((as_ws = wsp__strdup(text)) == NULL) {
    wsp__url_clear(&u);
    return WSP_ENOMEM;
  }
  wsp__url_clear(&hc->url);
  free(hc->text);
  hc->url = u;
  hc->text = as_ws;
  return 0;
}

void wsp__health_cfg_clear(wsp__health_cfg *hc) {
  free(hc->text);
  hc->text = NULL;
  wsp__url_clear(&hc->url);
}

int wsp__health_cfg_copy(wsp__health_cfg *dst, const wsp__health_cfg *src) {
  dst->interval_ms = src->interval_ms;
  dst->timeout_ms = src->timeout_ms;
  if (src->text == NULL)
    return 0;
  if ((dst->text = wsp__strdup(src->text)) == NULL ||
      wsp__url_copy(&dst->url, &src->url) != 0) {
    wsp__health_cfg_clear(dst);
    return WSP_ENOMEM;
  }
  return 0;
}

/* ---- one request ---- */

/* The request's sample: a status, or an error (then no status). */
static void handle_closed(uv_handle_t *hd);

/* Stopped and the last request over: the deadline timer closes, then the
 * TLS object is freed (from the loop, never inside its own callbacks). */
static void close_rest(wsp__health *h) {
  if (h->rest_closed)
    return;
  h->rest_closed = 1;
  if (h->gai_pending)
    uv_cancel((uv_req_t *)&h->gai);
  uv_close((uv_handle_t *)&h->deadline, handle_closed);
}

static void finish(wsp__health *h, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void finish(wsp__health *h, int status, const char *fmt, ...) {
  wsp__hsample s = {0};
  char why[160];
  uint64_t now = uv_hrtime();
  if (h->done)
    return;
  h->done = 1;
  h->busy = 0;
  uv_timer_stop(&h->deadline);
  wsp__conn_close(&h->conn);
  if (h->stopping)
    close_rest(h);
  if (h->dropped)
    return;
  s.t_ms = (double)(h->sent_ns - h->t0) / 1e6;
  s.ms = (double)(now - h->sent_ns) / 1e6;
  if (fmt != NULL) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    s.error = why;
  } else {
    s.status = status;
    s.body = (char *)h->body;
    s.blen = h->blen;
  }
  /* Out of memory loses this sample only; it is still counted. */
  (void)wsp__hsamples_add(h->out, &s);
}

static wsp__health *of_parser(llhttp_t *p) { return p->data; }

static int count_header(llhttp_t *p, size_t len) {
  wsp__health *h = of_parser(p);
  h->header_bytes += len;
  return h->header_bytes > WSP__HEALTH_MAX_HEADER ? -1 : 0;
}

static int on_span(llhttp_t *p, const char *at, size_t len) {
  (void)at;
  return count_header(p, len);
}

static int on_headers_complete(llhttp_t *p) {
  /* An interim response (1xx) has no body; the final one follows. */
  if (p->status_code >= 100 && p->status_code < 200)
    return 1;
  of_parser(p)->headers_done = 1;
  return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len) {
  wsp__health *h = of_parser(p);
  size_t room = sizeof(h->body) - h->blen;
  memcpy(h->body + h->blen, at, len < room ? len : room);
  h->blen += len < room ? len : room;
  h->body_bytes += len;
  return h->body_bytes > WSP__HEALTH_MAX_BODY ? -1 : 0;
}

static int on_message_complete(llhttp_t *p) {
  if (p->status_code >= 100 && p->status_code < 200)
    return 0;
  return HPE_PAUSED;
}

static const llhttp_settings_t settings = {
    .on_status = on_span,
    .on_header_field = on_span,
    .on_header_value = on_span,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* The sample, once llhttp stopped with `e`. */
static void judge(wsp__health *h, llhttp_errno_t e) {
  if (e == HPE_PAUSED) {
    /* Keep whole characters only, so that a UTF-8 body stays UTF-8. */
    if (h->body_bytes > h->blen)
      h->blen = wsp__utf8_cut(h->body, h->blen);
    finish(h, h->parser.status_code, NULL);
  } else if (h->header_bytes > WSP__HEALTH_MAX_HEADER)
    finish(h, 0, "response headers exceed %d bytes", WSP__HEALTH_MAX_HEADER);
  else if (h->body_bytes > WSP__HEALTH_MAX_BODY)
    finish(h, 0, "%d response: body exceeds %d bytes", h->parser.status_code,
           WSP__HEALTH_MAX_BODY);
  else if (e != HPE_OK)
    finish(h, 0, "malformed HTTP response: %s",
           llhttp_get_error_reason(&h->parser)
               ? llhttp_get_error_reason(&h->parser)
               : llhttp_errno_name(e));
}

static void parse(wsp__health *h, const uint8_t *data, size_t len) {
  if (!h->done)
    judge(h, llhttp_execute(&h->parser, (const char *)data, len));
}

/* The response ended with the stream (or TLS): a body read to the end is
 * complete, anything else is cut short. */
static void parse_end(wsp__health *h, int err) {
  llhttp_errno_t e;
  if (h->done)
    return;
  e = llhttp_finish(&h->parser);
  if (e == HPE_PAUSED)
    judge(h, HPE_PAUSED);
  else if (!h->headers_done && h->header_bytes == 0)
    finish(h, 0, "server closed the connection without a response%s%s",
           err ? ": " : "", err ? uv_strerror(err) : "");
  else
    finish(h, 0, "server closed the connection in the middle of the response");
}

/* The request: one GET, and the connection closed after the answer. */
#define REQUEST                                                                \
  "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\nAccept: */*\r\n"        \
  "User-Agent: wsprobe\r\n\r\n"

static int send_request(wsp__health *h) {
  const wsp__url *u = &h->hc->url;
  int n = snprintf(NULL, 0, REQUEST, u->target, u->host_header), rc;
  char *req = malloc((size_t)n + 1);
  if (req == NULL)
    return WSP_ENOMEM;
  snprintf(req, (size_t)n + 1, REQUEST, u->target, u->host_header);
  rc = h->tls ? wsp__tls_write(h->tls, (uint8_t *)req, (size_t)n)
              : wsp__conn_write(&h->conn, (uint8_t *)req, (size_t)n);
  free(req);
  return rc;
}

static int tls_send(void *ud, const uint8_t *data, size_t len) {
  return wsp__conn_write(&((wsp__health *)ud)->conn, data, len);
}

static void tls_secure(void *ud) {
  wsp__health *h = ud;
  if (send_request(h) != 0)
    finish(h, 0, "could not send the request");
}

static int tls_plain(void *ud, const uint8_t *data, size_t len) {
  wsp__health *h = ud;
  parse(h, data, len);
  return h->done;
}

static void tls_closed(void *ud, int close_notify) {
  (void)close_notify;
  parse_end(ud, 0);
}

static void tls_failed(void *ud, const char *why) {
  finish(ud, 0, "TLS: %s", why);
}

static const wsp__tls_cbs tls_cbs = {
    .send = tls_send,
    .secure = tls_secure,
    .plaintext = tls_plain,
    .closed = tls_closed,
    .failed = tls_failed,
};

static void on_connected(void *ud, int status) {
  wsp__health *h = ud;
  const wsp_config *cfg = h->cfg;
  char err[160];
  if (status != 0) {
    finish(h, 0, "connect: %s", uv_strerror(status));
    return;
  }
  if (!h->hc->url.tls) {
    if (send_request(h) != 0)
      finish(h, 0, "could not send the request");
    return;
  }
  wsp__tls_params prm = {
      .host = h->hc->url.host,
      .port = h->hc->url.port,
      .ip_literal = h->hc->url.ip_literal,
      .ca_file = cfg->ca_file,
      .insecure = cfg->tls_insecure,
      .cert_file = cfg->cert_file,
      .key_file = cfg->key_file,
      .resume = 0,
  };
  if (wsp__tls_new(&h->ctx->tls, &prm, &tls_cbs, h, &h->tls, err,
                   sizeof(err)) != 0) {
    finish(h, 0, "TLS: %s", err);
    return;
  }
  wsp__tls_start(h->tls);
}

static void on_data(void *ud, const uint8_t *data, size_t len, uint64_t rx) {
  wsp__health *h = ud;
  (void)rx;
  if (h->tls)
    wsp__tls_feed(h->tls, data, len);
  else
    parse(h, data, len);
}

static void on_drained(void *ud) { (void)ud; }

static void on_write_failed(void *ud, int err) {
  /* What the server sent before still comes; the end says the rest. */
  (void)ud;
  (void)err;
}

static void on_ended(void *ud, int err) {
  wsp__health *h = ud;
  if (h->tls) {
    if (wsp__tls_eof(h->tls) == 0)
      parse_end(h, err == UV_EOF ? 0 : err);
    return;
  }
  parse_end(h, err == UV_EOF ? 0 : err);
}

static const wsp__conn_cbs conn_cbs = {
    .connected = on_connected,
    .data = on_data,
    .drained = on_drained,
    .write_failed = on_write_failed,
    .ended = on_ended,
};

static void on_timeout(uv_timer_t *t) {
  wsp__health *h = t->data;
  uint64_t due = h->sent_ns + (uint64_t)h->hc->timeout_ms * 1000000;
  uint64_t now = uv_hrtime();
  /* Loop timers count whole milliseconds from the loop's cached time: one
   * may fire a little early. The timeout is the request's own. */
  if (now < due) {
    uv_timer_start(&h->deadline, on_timeout, (due - now + 999999) / 1000000, 0);
    return;
  }
  finish(h, 0, "no complete response within %u ms", h->hc->timeout_ms);
}

static void handle_closed(uv_handle_t *hd) {
  wsp__health *h = hd->data;
  if (--h->handles > 0)
    return;
  wsp__tls_free(h->tls);
  h->tls = NULL;
  if (!h->gai_pending && h->closed != NULL)
    h->closed(h->ud);
}

static void on_resolved(uv_getaddrinfo_t *req, int status,
                        struct addrinfo *ai) {
  wsp__health *h = req->data;
  int rc;
  h->gai_pending = 0;
  if (h->dropped || (h->stopping && h->done)) {
    uv_freeaddrinfo(ai);
    if (h->handles == 0 && h->closed != NULL)
      h->closed(h->ud);
    return;
  }
  if (h->done) { /* Timed out while resolving. */
    uv_freeaddrinfo(ai);
    return;
  }
  if (status != 0 || ai == NULL) {
    finish(h, 0, "resolve %s: %s", h->hc->url.host, uv_strerror(status));
    uv_freeaddrinfo(ai);
    return;
  }
  if (ai->ai_family == AF_INET)
    ((struct sockaddr_in *)ai->ai_addr)->sin_port = htons(h->hc->url.port);
  else
    ((struct sockaddr_in6 *)ai->ai_addr)->sin6_port = htons(h->hc->url.port);
  rc = wsp__conn_connect(&h->conn, ai->ai_addr, ai->ai_addrlen);
  uv_freeaddrinfo(ai);
  if (rc != 0)
    finish(h, 0, "connect: %s", uv_strerror(rc));
}

static void begin_request(wsp__health *h) {
  struct addrinfo hints, *pin = NULL;
  int rc;
  wsp__tls_free(h->tls); /* The last request's, freed outside its calls. */
  h->tls = NULL;
  h->busy = 1;
  h->done = 0;
  h->sent_ns = uv_hrtime();
  h->header_bytes = h->body_bytes = h->blen = 0;
  h->headers_done = 0;
  llhttp_init(&h->parser, HTTP_RESPONSE, &settings);
  h->parser.data = h;
  wsp__conn_init(&h->conn, &h->ctx->net, &conn_cbs, h);
  uv_timer_start(&h->deadline, on_timeout, h->hc->timeout_ms, 0);
  /* A name pinned by --resolve connects where the probes' pins say (its
   * first address), without the resolver. */
  if ((rc = wsp__pin_lookup(&h->cfg->pins, h->hc->url.host, h->hc->url.port,
                            &pin)) != 0) {
    if (rc < 0) {
      finish(h, 0, "out of memory");
      return;
    }
    rc = wsp__conn_connect(&h->conn, pin->ai_addr, pin->ai_addrlen);
    free(pin);
    if (rc != 0)
      finish(h, 0, "connect: %s", uv_strerror(rc));
    return;
  }
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if (h->hc->url.ip_literal)
    hints.ai_flags = AI_NUMERICHOST;
  h->gai.data = h;
  rc = uv_getaddrinfo(h->ctx->loop, &h->gai, on_resolved, h->hc->url.host, NULL,
                      &hints);
  if (rc != 0)
    finish(h, 0, "resolve %s: %s", h->hc->url.host, uv_strerror(rc));
  else
    h->gai_pending = 1;
}

static void on_tick(uv_timer_t *t) {
  wsp__health *h = t->data;
  /* A request still in flight (or still resolving after its timeout):
   * this tick is skipped, so that one request at most is in flight. */
  if (h->busy || h->gai_pending) {
    h->out->skipped++;
    return;
  }
  begin_request(h);
}

void wsp__health_start(wsp__health *h, const wsp__health_cfg *hc,
                       const wsp_config *cfg, wsp_ctx *ctx, uint64_t t0,
                       wsp__hsamples *out) {
  memset(h, 0, sizeof(*h));
  h->hc = hc;
  h->cfg = cfg;
  h->ctx = ctx;
  h->t0 = t0;
  h->out = out;
  h->done = 1;
  uv_timer_init(ctx->loop, &h->tick);
  uv_timer_init(ctx->loop, &h->deadline);
  h->tick.data = h->deadline.data = h;
  h->handles = 2;
  /* Polling alone must not keep the loop alive. */
  uv_unref((uv_handle_t *)&h->tick);
  uv_unref((uv_handle_t *)&h->deadline);
  uv_timer_start(&h->tick, on_tick, 0, hc->interval_ms);
}

void wsp__health_stop(wsp__health *h, int drop, void (*closed)(void *ud),
                      void *ud) {
  h->stopping = 1;
  h->closed = closed;
  h->ud = ud;
  uv_close((uv_handle_t *)&h->tick, handle_closed);
  if (h->busy && !drop) {
    /* Its answer belongs to the campaign: wait for it, its timeout at
     * most, keeping the loop alive meanwhile. */
    uv_ref((uv_handle_t *)&h->deadline);
    return;
  }
  h->dropped = 1;
  finish(h, 0, NULL);
  close_rest(h);
}
