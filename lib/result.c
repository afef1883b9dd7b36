/*
 * Results: what one probe found. Its JSON form is written by
 * report_json.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "result.h"
#include "util.h"

wsp_result *wsp__result_new(void) {
  wsp_result *r = calloc(1, sizeof(*r));
  if (r == NULL)
    return NULL;
  r->outcome = WSP_OUTCOME_INTERNAL_ERROR;
  r->close_recv.code = -1;
  r->close_sent.code = -1;
  r->lag_ns = -1;
  r->step = -1;
  for (int i = 0; i < WSP_MARK_COUNT; i++)
    r->marks[i] = -1;
  return r;
}

void wsp_result_free(wsp_result *r) {
  if (r == NULL)
    return;
  free(r->error);
  free(r->http_reason);
  free(r->retry_after);
  free(r->content_type);
  free(r->body);
  free(r->subprotocol);
  free(r->extensions);
  free(r->tls_version);
  free(r->tls_cipher);
  free(r->tls_alpn);
  for (size_t i = 0; i < r->nevents; i++)
    free(r->events[i].type);
  free(r->events);
  for (size_t i = 0; i < 2 * r->nrec; i++)
    free(r->rec[i]);
  free(r->rec);
  free(r);
}

int wsp__result_add_header(wsp_result *r, const char *name, const char *value) {
  char **rec = realloc(r->rec, 2 * (r->nrec + 1) * sizeof(*rec));
  if (rec == NULL)
    return WSP_ENOMEM;
  r->rec = rec;
  rec[2 * r->nrec] = wsp__strdup(name);
  rec[2 * r->nrec + 1] = wsp__strdup(value);
  if (rec[2 * r->nrec] == NULL || (value && rec[2 * r->nrec + 1] == NULL)) {
    free(rec[2 * r->nrec]);
    free(rec[2 * r->nrec + 1]);
    return WSP_ENOMEM;
  }
  r->nrec++;
  return 0;
}

const char *wsp_result_recorded_header(const wsp_result *r, const char *name) {
  if (r == NULL || name == NULL)
    return NULL;
  for (size_t i = 0; i < r->nrec; i++)
    if (strcasecmp(r->rec[2 * i], name) == 0)
      return r->rec[2 * i + 1];
  return NULL;
}

wsp_result *wsp_result_dup(const wsp_result *src) {
  wsp_result *r;
  if (src == NULL || (r = malloc(sizeof(*r))) == NULL)
    return NULL;
  *r = *src;
  r->error = wsp__strdup(src->error);
  r->http_reason = wsp__strdup(src->http_reason);
  r->retry_after = wsp__strdup(src->retry_after);
  r->content_type = wsp__strdup(src->content_type);
  r->subprotocol = wsp__strdup(src->subprotocol);
  r->extensions = wsp__strdup(src->extensions);
  r->tls_version = wsp__strdup(src->tls_version);
  r->tls_cipher = wsp__strdup(src->tls_cipher);
  r->tls_alpn = wsp__strdup(src->tls_alpn);
  r->body = NULL;
  r->events = NULL;
  r->nevents = r->events_cap = 0;
  r->rec = NULL;
  r->nrec = 0;
  if ((src->error && !r->error) || (src->http_reason && !r->http_reason) ||
      (src->retry_after && !r->retry_after) ||
      (src->content_type && !r->content_type) ||
      (src->subprotocol && !r->subprotocol) ||
      (src->extensions && !r->extensions) ||
      (src->tls_version && !r->tls_version) ||
      (src->tls_cipher && !r->tls_cipher) || (src->tls_alpn && !r->tls_alpn))
    goto fail;
  if (src->body_len > 0) {
    if ((r->body = malloc(src->body_len)) == NULL)
      goto fail;
    memcpy(r->body, src->body, src->body_len);
  }
  for (size_t i = 0; i < src->nrec; i++)
    if (wsp__result_add_header(r, src->rec[2 * i], src->rec[2 * i + 1]) != 0)
      goto fail;
  for (size_t i = 0; i < src->nevents; i++)
    if (wsp__result_add_event(r, src->events[i].type,
                              strlen(src->events[i].type),
                              src->events[i].t_ns) != 0)
      goto fail;
  return r;
fail:
  wsp_result_free(r);
  return NULL;
}

int wsp__result_add_event(wsp_result *r, const char *type, size_t len,
                          int64_t t_ns) {
  if (r->nevents >= WSP__MAX_EVENTS)
    return 0; /* Bounded: a chatty server cannot grow a result forever. */
  if (r->nevents == r->events_cap) {
    size_t cap = r->events_cap ? 2 * r->events_cap : 8;
    wsp__event *e = realloc(r->events, cap * sizeof(*e));
    if (e == NULL)
      return WSP_ENOMEM;
    r->events = e;
    r->events_cap = cap;
  }
  if (len > 256)
    len = 256;
  if ((r->events[r->nevents].type = wsp__strndup(type, len)) == NULL)
    return WSP_ENOMEM;
  r->events[r->nevents++].t_ns = t_ns;
  return 0;
}

void wsp__close_set(wsp__close *c, int code, const uint8_t *reason,
                    size_t len) {
  if (len > WSP__MAX_REASON)
    len = WSP__MAX_REASON;
  c->code = code;
  if (len > 0)
    memcpy(c->reason, reason, len);
  c->reason[len] = '\0';
  c->reason_len = (uint8_t)len;
}

int64_t wsp__result_delay_achieved(const wsp_result *r) {
  int64_t sent = r->marks[WSP_MARK_FIRST_SENT];
  int64_t base = r->marks[WSP_MARK_RESPONSE];
  return sent < 0 || base < 0 || sent < base ? -1 : sent - base;
}

wsp_outcome wsp_result_outcome(const wsp_result *r) { return r->outcome; }
wsp_phase wsp_result_phase(const wsp_result *r) { return r->phase; }
int wsp_result_passed(const wsp_result *r) {
  return r->outcome == WSP_OUTCOME_OK;
}
const char *wsp_result_error(const wsp_result *r) { return r->error; }
uint32_t wsp_result_index(const wsp_result *r) { return r->index; }
int wsp_result_http_status(const wsp_result *r) { return r->http_status; }
int wsp_result_proxy_status(const wsp_result *r) { return r->proxy_status; }
const char *wsp_result_http_reason(const wsp_result *r) {
  return r->http_reason;
}

const char *wsp_result_http_header(const wsp_result *r, const char *name) {
  if (name == NULL)
    return NULL;
  if (wsp__strcaseeq(name, "retry-after"))
    return r->retry_after;
  if (wsp__strcaseeq(name, "content-type"))
    return r->content_type;
  return NULL;
}

const uint8_t *wsp_result_http_body(const wsp_result *r, size_t *len) {
  if (len != NULL)
    *len = r->body_len;
  return r->body;
}

const char *wsp_result_peer(const wsp_result *r) {
  return r != NULL && r->peer[0] != '\0' ? r->peer : NULL;
}

const char *wsp_result_subprotocol(const wsp_result *r) {
  return r->subprotocol;
}

const char *wsp_result_extensions(const wsp_result *r) { return r->extensions; }

int wsp_result_close_received(const wsp_result *r, const char **reason) {
  if (reason != NULL)
    *reason = r->close_recv.code >= 0 ? r->close_recv.reason : NULL;
  return r->close_recv.code;
}

int wsp_result_close_sent(const wsp_result *r, const char **reason) {
  if (reason != NULL)
    *reason = r->close_sent.code >= 0 ? r->close_sent.reason : NULL;
  return r->close_sent.code;
}

int64_t wsp_result_mark(const wsp_result *r, wsp_mark m) {
  return (unsigned)m < WSP_MARK_COUNT ? r->marks[m] : -1;
}

int64_t wsp_result_span(const wsp_result *r, wsp_span s) {
  static const struct {
    int from, to; /* Marks; -1 is the probe's start. */
  } spans[WSP_SPAN_COUNT] = {
      [WSP_SPAN_DNS] = {-1, WSP_MARK_RESOLVED},
      [WSP_SPAN_CONNECT] = {WSP_MARK_RESOLVED, WSP_MARK_CONNECTED},
      [WSP_SPAN_TLS] = {WSP_MARK_CONNECTED, WSP_MARK_TLS_DONE},
      [WSP_SPAN_UPGRADE] = {WSP_MARK_UPGRADE_SENT, WSP_MARK_RESPONSE},
      [WSP_SPAN_FIRST_REPLY] = {WSP_MARK_FIRST_SENT, WSP_MARK_FIRST_RECEIVED},
      [WSP_SPAN_CLOSE] = {WSP_MARK_CLOSE_SENT, WSP_MARK_CLOSED},
      [WSP_SPAN_TOTAL] = {-1, WSP_MARK_CLOSED},
      [WSP_SPAN_PROXY] = {WSP_MARK_CONNECTED, WSP_MARK_TUNNEL},
  };
  int64_t a, b;
  if ((unsigned)s >= WSP_SPAN_COUNT)
    return -1;
  a = spans[s].from < 0 ? 0 : r->marks[spans[s].from];
  /* Through a proxy, TLS starts when the tunnel is up. */
  if (s == WSP_SPAN_TLS && r->marks[WSP_MARK_TUNNEL] >= 0)
    a = r->marks[WSP_MARK_TUNNEL];
  b = r->marks[spans[s].to];
  return a < 0 || b < 0 || b < a ? -1 : b - a;
}

const uint8_t *wsp_result_close_reason(const wsp_result *r, int sent,
                                       size_t *len) {
  const wsp__close *c = sent ? &r->close_sent : &r->close_recv;
  if (len != NULL)
    *len = c->code >= 0 ? c->reason_len : 0;
  return c->code >= 0 ? (const uint8_t *)c->reason : NULL;
}

uint32_t wsp_result_delay(const wsp_result *r) { return r->delay_ms; }

int64_t wsp_result_delay_achieved(const wsp_result *r) {
  return wsp__result_delay_achieved(r);
}

const char *wsp_result_tls_version(const wsp_result *r) {
  return r->tls_version;
}

const char *wsp_result_tls_cipher(const wsp_result *r) { return r->tls_cipher; }

int wsp_result_tls_resumed(const wsp_result *r) {
  return r->tls_version == NULL ? -1 : r->tls_resumed;
}

const char *wsp_result_tls_group(const wsp_result *r) { return r->tls_group; }

int wsp_result_step(const wsp_result *r) { return r->step; }

uint32_t wsp_result_message_count(const wsp_result *r) { return r->messages; }
size_t wsp_result_event_count(const wsp_result *r) { return r->nevents; }

int wsp_result_event(const wsp_result *r, size_t i, const char **type,
                     int64_t *t_ns) {
  if (i >= r->nevents)
    return WSP_ERANGE;
  if (type != NULL)
    *type = r->events[i].type;
  if (t_ns != NULL)
    *t_ns = r->events[i].t_ns;
  return 0;
}
