/*
 * Results: what one probe found, and its JSON form (docs/report.md).
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "internal.h"

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
  free(r->tls_version);
  free(r->tls_cipher);
  free(r->tls_alpn);
  for (size_t i = 0; i < r->nevents; i++)
    free(r->events[i].type);
  free(r->events);
  free(r);
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
  r->tls_version = wsp__strdup(src->tls_version);
  r->tls_cipher = wsp__strdup(src->tls_cipher);
  r->tls_alpn = wsp__strdup(src->tls_alpn);
  r->body = NULL;
  r->events = NULL;
  r->nevents = r->events_cap = 0;
  if ((src->error && !r->error) || (src->http_reason && !r->http_reason) ||
      (src->retry_after && !r->retry_after) ||
      (src->content_type && !r->content_type) ||
      (src->subprotocol && !r->subprotocol) ||
      (src->tls_version && !r->tls_version) ||
      (src->tls_cipher && !r->tls_cipher) || (src->tls_alpn && !r->tls_alpn))
    goto fail;
  if (src->body_len > 0) {
    if ((r->body = malloc(src->body_len)) == NULL)
      goto fail;
    memcpy(r->body, src->body, src->body_len);
  }
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

wsp_outcome wsp_result_outcome(const wsp_result *r) { return r->outcome; }
wsp_phase wsp_result_phase(const wsp_result *r) { return r->phase; }
int wsp_result_passed(const wsp_result *r) {
  return r->outcome == WSP_OUTCOME_OK;
}
const char *wsp_result_error(const wsp_result *r) { return r->error; }
uint32_t wsp_result_index(const wsp_result *r) { return r->index; }
int wsp_result_http_status(const wsp_result *r) { return r->http_status; }
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

const char *wsp_result_subprotocol(const wsp_result *r) {
  return r->subprotocol;
}

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
  };
  int64_t a, b;
  if ((unsigned)s >= WSP_SPAN_COUNT)
    return -1;
  a = spans[s].from < 0 ? 0 : r->marks[spans[s].from];
  b = r->marks[spans[s].to];
  return a < 0 || b < 0 || b < a ? -1 : b - a;
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

static cJSON *ms_or_null(int64_t ns) {
  return ns < 0 ? cJSON_CreateNull() : cJSON_CreateNumber((double)ns / 1e6);
}

static cJSON *str_or_null(const char *s) {
  return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static cJSON *close_json(const wsp__close *c) {
  cJSON *o;
  if (c->code < 0)
    return cJSON_CreateNull();
  o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "code", c->code);
  /* A reason need not be valid UTF-8 on the wire; JSON must be. */
  if (wsp__utf8_valid((const uint8_t *)c->reason, c->reason_len)) {
    cJSON_AddStringToObject(o, "reason", c->reason);
  } else {
    char hex[2 * WSP__MAX_REASON + 1];
    for (size_t i = 0; i < c->reason_len; i++)
      snprintf(hex + 2 * i, 3, "%02x", (unsigned char)c->reason[i]);
    hex[2 * c->reason_len] = '\0';
    cJSON_AddNullToObject(o, "reason");
    cJSON_AddStringToObject(o, "reason_hex", hex);
  }
  return o;
}

cJSON *wsp__result_json(const wsp_result *r, int show_secrets) {
  cJSON *o = cJSON_CreateObject(), *x;
  if (o == NULL)
    return NULL;
  cJSON_AddNumberToObject(o, "index", r->index);
  cJSON_AddStringToObject(o, "outcome", wsp_outcome_name(r->outcome));
  cJSON_AddStringToObject(o, "phase", wsp_phase_name(r->phase));
  cJSON_AddBoolToObject(o, "passed", r->outcome == WSP_OUTCOME_OK);
  cJSON_AddItemToObject(o, "http_status",
                        r->http_status ? cJSON_CreateNumber(r->http_status)
                                       : cJSON_CreateNull());
  cJSON_AddItemToObject(o, "http_reason", str_or_null(r->http_reason));
  x = cJSON_AddObjectToObject(o, "http_headers");
  cJSON_AddItemToObject(x, "retry-after", str_or_null(r->retry_after));
  cJSON_AddItemToObject(x, "content-type", str_or_null(r->content_type));
  if (r->body_len > 0 && wsp__utf8_valid(r->body, r->body_len)) {
    char *b = wsp__strndup((const char *)r->body, r->body_len);
    cJSON_AddItemToObject(o, "http_body", str_or_null(b));
    free(b);
  } else {
    cJSON_AddNullToObject(o, "http_body");
  }
  cJSON_AddItemToObject(
      o, "subprotocol",
      str_or_null(r->redact_subprotocol
                      ? wsp__redact_subprotocol(r->subprotocol, show_secrets)
                      : r->subprotocol));
  if (r->tls_version != NULL) {
    x = cJSON_AddObjectToObject(o, "tls");
    cJSON_AddStringToObject(x, "version", r->tls_version);
    cJSON_AddItemToObject(x, "cipher", str_or_null(r->tls_cipher));
    cJSON_AddItemToObject(x, "alpn", str_or_null(r->tls_alpn));
    cJSON_AddBoolToObject(x, "verified", r->tls_verified);
    cJSON_AddBoolToObject(x, "close_notify", r->tls_close_notify);
    cJSON_AddBoolToObject(x, "resumed", r->tls_resumed);
    cJSON_AddItemToObject(x, "group", str_or_null(r->tls_group));
  } else {
    cJSON_AddNullToObject(o, "tls");
  }
  x = cJSON_AddObjectToObject(o, "close");
  cJSON_AddItemToObject(x, "received", close_json(&r->close_recv));
  cJSON_AddItemToObject(x, "sent", close_json(&r->close_sent));
  x = cJSON_AddObjectToObject(o, "timings_ms");
  for (int s = 0; s < WSP_SPAN_COUNT; s++)
    cJSON_AddItemToObject(x, wsp_span_name((wsp_span)s),
                          ms_or_null(wsp_result_span(r, (wsp_span)s)));
  x = cJSON_AddObjectToObject(o, "timeline_ms");
  for (int m = 0; m < WSP_MARK_COUNT; m++)
    cJSON_AddItemToObject(x, wsp_mark_name((wsp_mark)m),
                          ms_or_null(r->marks[m]));
  cJSON_AddNumberToObject(o, "messages", r->messages);
  x = cJSON_AddArrayToObject(o, "events");
  for (size_t i = 0; i < r->nevents; i++) {
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "type", r->events[i].type);
    cJSON_AddNumberToObject(e, "t_ms", (double)r->events[i].t_ns / 1e6);
    cJSON_AddItemToArray(x, e);
  }
  cJSON_AddItemToObject(o, "error", str_or_null(r->error));
  if (r->step >= 0)
    cJSON_AddNumberToObject(o, "step", r->step);
  return o;
}

int wsp_result_to_json(const wsp_result *r, char **out) {
  cJSON *o;
  if (r == NULL || out == NULL)
    return WSP_EINVAL;
  if ((o = wsp__result_json(r, 0)) == NULL)
    return WSP_ENOMEM;
  *out = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return *out ? 0 : WSP_ENOMEM;
}
