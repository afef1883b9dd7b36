/*
 * The probe: one connection's phase machine, its single timer, and the one
 * place where its outcome is decided (wsp__probe_finish / decide()).
 *
 *   resolve -> connect -> upgrade -> open -[delay]-> first_send ->
 *   awaiting_reply -> closing -> (server's close, then its EOF) -> ok
 *
 * A probe is freed only after the close callbacks of all its handles ran
 * and its resolution request returned; only then is the user's callback
 * called, so a user may free everything from it.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "internal.h"

static void connect_next(wsp_probe *p);
static void teardown(wsp_probe *p);

int64_t wsp__probe_now(const wsp_probe *p) {
  return (int64_t)(uv_hrtime() - p->t0);
}

void wsp__probe_mark(wsp_probe *p, wsp_mark m) {
  if (p->result->marks[m] < 0)
    p->result->marks[m] = wsp__probe_now(p);
}

/* When the bytes being handled arrived: the kernel's stamp of the current
 * read (see transport.c), or now outside a read. */
int64_t wsp__probe_rx_now(const wsp_probe *p) {
  return p->rx_ns != 0 ? (int64_t)(p->rx_ns - p->t0) : wsp__probe_now(p);
}

void wsp__probe_mark_rx(wsp_probe *p, wsp_mark m) {
  if (p->result->marks[m] < 0)
    p->result->marks[m] = wsp__probe_rx_now(p);
}

/* What was sent is stamped just before the send(2) that completed it:
 * after it returns, the server (on another core) may already have
 * answered, and the answer's kernel stamp would come first. */
void wsp__probe_mark_tx(wsp_probe *p, wsp_mark m) {
  if (p->result->marks[m] < 0)
    p->result->marks[m] = p->tx_ns != 0 && p->tx_ns >= p->t0
                              ? (int64_t)(p->tx_ns - p->t0)
                              : wsp__probe_now(p);
}

/*
 * Deadlines are lazy. Each phase moves the probe's deadline, usually later;
 * re-arming the timer every time (a removal from and an insertion into
 * libuv's timer heap, whose nodes at 1,000 probes in flight sit in other
 * probes' cold memory) cost more than the rest of a phase change. A
 * deadline that moves later only records where it is now: the timer fires
 * at the earlier time and re-arms itself for the rest.
 */
static void arm(wsp_probe *p, wsp__timer_kind kind, uint64_t ms) {
  uint64_t due = uv_now(p->ctx->loop) + ms;
  p->deadline = due;
  if (kind == WSP__TIMER_DEADLINE && p->timer_kind == WSP__TIMER_DEADLINE &&
      p->timer_due <= due)
    return;
  p->timer_kind = kind;
  p->timer_due = due;
  uv_timer_start(&p->timer, wsp__probe_timer_cb, ms, 0);
}

static void arm_deadline(wsp_probe *p) {
  uint32_t ms = p->cfg->timeout_ms[p->phase];
  if (ms == 0 && p->timer_kind == WSP__TIMER_DEADLINE) {
    p->deadline = UINT64_MAX; /* None in this phase: a firing is idle. */
  } else if (ms == 0) {
    uv_timer_stop(&p->timer);
    p->timer_kind = WSP__TIMER_NONE;
  } else {
    arm(p, WSP__TIMER_DEADLINE, ms);
  }
}

static void enter(wsp_probe *p, wsp_phase phase) {
  assert(phase >= p->phase || p->phase == WSP_PHASE_CLOSING);
  p->phase = phase;
  arm_deadline(p);
}

/* Fixes the outcome: only the first decision counts. */
static int vdecide(wsp_probe *p, wsp_outcome o, const char *fmt, va_list ap) {
  char buf[512];
  if (p->decided)
    return 0;
  p->decided = 1;
  p->result->outcome = o;
  p->result->phase = p->phase;
  if (fmt != NULL) {
    vsnprintf(buf, sizeof(buf), fmt, ap);
    /* Errors quote what the server sent (a close reason, a header): keep
     * them one printable line. */
    for (char *c = buf; *c; c++)
      if ((unsigned char)*c < 0x20 || *c == 0x7f)
        *c = '?';
    p->result->error = wsp__strdup(buf);
  }
  return 1;
}

static int decide(wsp_probe *p, wsp_outcome o, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int decide(wsp_probe *p, wsp_outcome o, const char *fmt, ...) {
  va_list ap;
  int r;
  va_start(ap, fmt);
  r = vdecide(p, o, fmt, ap);
  va_end(ap);
  return r;
}

void wsp__probe_finish(wsp_probe *p, wsp_outcome o, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vdecide(p, o, fmt, ap);
  va_end(ap);
  teardown(p);
}

/*
 * The outcome is known, but the server is expected to end TCP (it closes
 * first after a close handshake, RFC 6455 7.1.1): wait for its EOF, bounded
 * by the closing timeout, so TIME_WAIT stays on the server's side.
 */
static void linger(wsp_probe *p) {
  p->lingering = 1;
  if (p->eof) {
    teardown(p);
    return;
  }
  arm(p, WSP__TIMER_DEADLINE, p->cfg->timeout_ms[WSP_PHASE_CLOSING]);
}

/* ---- the upgrade parser ---- */

/*
 * Nearly every upgrade response arrives in one read: it is parsed in the
 * loop's scratch parser, and only a response split across reads gets a
 * parser of its own. A parser per probe (1.6 KB, freed at the open) left
 * a hole beside every held connection that wslay's 8.7 KB context could
 * not reuse.
 */
static wsp__upgrade *up_get(wsp_probe *p) {
  wsp_ctx *ctx = p->ctx;
  wsp__upgrade *up;
  if (p->up != NULL)
    return p->up;
  if (!ctx->up_busy) {
    up = &ctx->up_scratch;
    ctx->up_busy = 1;
  } else if ((up = malloc(sizeof(*up))) == NULL) {
    wsp__probe_finish(p, WSP_OUTCOME_INTERNAL_ERROR, "out of memory");
    return NULL;
  }
  if (wsp__upgrade_init(up, p->key, (const char *const *)p->cfg->subprotocols.v,
                        p->cfg->subprotocols.n) != 0) {
    if (up == &ctx->up_scratch)
      ctx->up_busy = 0;
    else
      free(up);
    wsp__probe_finish(p, WSP_OUTCOME_INTERNAL_ERROR, "SHA-1 failed");
    return NULL;
  }
  up->extra = p->jwt_proto; /* Offered too: jwt.<token>. */
  p->up = up;
  return up;
}

static void up_release(wsp_probe *p) {
  wsp__upgrade *up = p->up;
  if (up == NULL)
    return;
  p->up = NULL;
  wsp__upgrade_clear(up);
  if (up == &p->ctx->up_scratch)
    p->ctx->up_busy = 0;
  else
    free(up);
}

/* After a read: a response still incomplete moves off the scratch. */
static void up_put(wsp_probe *p) {
  wsp__upgrade *up = p->up, *own;
  if (up == NULL || up != &p->ctx->up_scratch)
    return;
  if (p->decided || p->ws != NULL) {
    up_release(p);
    return;
  }
  if ((own = malloc(sizeof(*own))) == NULL) {
    up_release(p);
    wsp__probe_finish(p, WSP_OUTCOME_INTERNAL_ERROR, "out of memory");
    return;
  }
  memcpy(own, up, sizeof(*own));
  own->parser.data = own;
  p->up = own;
  p->ctx->up_busy = 0;
}

/* ---- completion ---- */

static void deliver(wsp_probe *p) {
  wsp_probe_cb cb = p->cb;
  void *ud = p->user_data;
  wsp_result *r = p->result;
  if (p->handles > 0 || p->gai_pending)
    return;
  up_release(p);
  wsp__frames_free(p);
  wsp__tls_free(p);
  if (p->ai != NULL)
    uv_freeaddrinfo(p->ai);
  free(p->literal_ai);
  free(p->jwt_proto);
  free(p->token);
  wsp_config_free(p->own_cfg);
  free(p->prebuilt);
  p->ctx->nprobes--;
  p->result = NULL;
  cb(p, r, ud);
  free(p);
}

static void on_handle_closed(uv_handle_t *h) {
  wsp_probe *p = h->data;
  p->handles--;
  deliver(p);
}

static void teardown(wsp_probe *p) {
  assert(p->decided);
  if (p->torn_down)
    return;
  p->torn_down = 1;
  /* Leaving an open connection (a timeout, a cancel, an unmet
   * expectation): say goodbye with a close frame rather than vanish. */
  if (p->ws != NULL && p->sock_open && !p->eof && !p->close_queued &&
      !p->close_recv_seen && wslay_event_get_write_enabled(p->ws)) {
    wsp__frames_close(
        p, p->result->outcome == WSP_OUTCOME_CANCELLED ? 1001 : 1000, NULL);
    wsp__frames_flush(p);
  }
  if (p->gai_pending)
    uv_cancel((uv_req_t *)&p->gai);
  if (!uv_is_closing((uv_handle_t *)&p->timer))
    uv_close((uv_handle_t *)&p->timer, on_handle_closed);
  if (p->sock_open) {
    wsp__tx_close(p);
    wsp__probe_mark(p, WSP_MARK_CLOSED);
  }
}

/* ---- resolve and connect ---- */

static void on_resolved(uv_getaddrinfo_t *req, int status,
                        struct addrinfo *ai) {
  wsp_probe *p = req->data;
  p->gai_pending = 0;
  if (p->decided) {
    uv_freeaddrinfo(ai);
    deliver(p);
    return;
  }
  if (status < 0) {
    wsp__probe_finish(p, WSP_OUTCOME_DNS_FAILED, "cannot resolve '%s': %s",
                      p->cfg->url.host, uv_strerror(status));
    return;
  }
  wsp__probe_mark(p, WSP_MARK_RESOLVED);
  p->ai = ai;
  p->ai_next = ai;
  enter(p, WSP_PHASE_CONNECT);
  connect_next(p);
}

static void connect_failed(wsp_probe *p, int err) {
  char addr[64] = "?";
  const struct sockaddr *sa = p->ai_next ? p->ai_next->ai_addr : NULL;
  p->last_connect_err = err;
  if (sa != NULL) {
    if (sa->sa_family == AF_INET6)
      uv_ip6_name((const struct sockaddr_in6 *)sa, addr, sizeof(addr));
    else
      uv_ip4_name((const struct sockaddr_in *)sa, addr, sizeof(addr));
  }
  p->ai_next = p->ai_next ? p->ai_next->ai_next : NULL;
  while (p->ai_next && p->ai_next->ai_socktype != SOCK_STREAM)
    p->ai_next = p->ai_next->ai_next;
  if (p->ai_next != NULL) {
    /* Another address remains (e.g. localhost's 127.0.0.1 after ::1). */
    wsp__tx_close(p);
    connect_next(p);
    return;
  }
  wsp__probe_finish(p,
                    err == UV_ECONNREFUSED ? WSP_OUTCOME_CONNECT_REFUSED
                    : err == UV_ETIMEDOUT  ? WSP_OUTCOME_CONNECT_TIMEOUT
                                           : WSP_OUTCOME_CONNECT_FAILED,
                    "cannot connect to %s port %u: %s%s", addr,
                    (unsigned)p->cfg->url.port, uv_strerror(err),
                    p->connect_attempts > 1 ? " (every address failed)" : "");
}

static void start_upgrade(wsp_probe *p);

void wsp__probe_on_connect(wsp_probe *p, int status) {
  if (p->decided)
    return;
  if (status < 0) {
    connect_failed(p, status);
    return;
  }
  wsp__probe_mark(p, WSP_MARK_CONNECTED);
  if (p->cfg->url.tls) {
    enter(p, WSP_PHASE_TLS);
    (void)wsp__tls_start(p); /* A failure has decided the outcome. */
    return;
  }
  start_upgrade(p);
}

void wsp__probe_on_secure(wsp_probe *p) { start_upgrade(p); }

static void connect_next(wsp_probe *p) {
  struct sockaddr_storage ss;
  int rc;
  assert(p->ai_next != NULL);
  memcpy(&ss, p->ai_next->ai_addr, p->ai_next->ai_addrlen);
  ((struct sockaddr_in *)&ss)->sin_port = htons(p->cfg->url.port);
  p->connect_attempts++;
  rc = wsp__tx_connect(p, (struct sockaddr *)&ss, p->ai_next->ai_addrlen);
  if (rc != 0)
    connect_failed(p, rc);
}

/* ---- upgrade ---- */

static void start_upgrade(wsp_probe *p) {
  uint8_t nonce[16];
  char *req;
  size_t len;
  int rc;

  enter(p, WSP_PHASE_UPGRADE);
  if (wsp__random(p->ctx, nonce, sizeof(nonce)) != 0 ||
      wsp__ws_key(nonce, p->key) != 0) {
    wsp__probe_finish(p, WSP_OUTCOME_INTERNAL_ERROR,
                      "random number generator failed");
    return;
  }
  if (wsp__upgrade_request(p->cfg, p->token, p->key, &req, &len) != 0)
    goto nomem;
  rc = wsp__tx_write(p, (const uint8_t *)req, len);
  free(req);
  if (rc != 0) {
    wsp__probe_finish(p, WSP_OUTCOME_ABNORMAL_CLOSURE,
                      "cannot send the upgrade request: %s", uv_strerror(rc));
    return;
  }
  wsp__probe_mark_tx(p, WSP_MARK_UPGRADE_SENT);
  return;
nomem:
  wsp__probe_finish(p, WSP_OUTCOME_INTERNAL_ERROR, "out of memory");
}

/* Copies what a non-101 response said into the result. */
static void record_response(wsp_probe *p) {
  wsp__upgrade *up = p->up;
  wsp_result *r = p->result;
  if (up->status == 0 || r->http_status != 0)
    return;
  r->http_status = up->status;
  r->http_reason = wsp__strndup(up->reason, up->reason_len);
  if (up->status != 101) {
    r->retry_after = wsp__strdup(up->h[WSP__H_RETRY_AFTER]);
    r->content_type = wsp__strdup(up->h[WSP__H_CONTENT_TYPE]);
  }
}

static void rejected(wsp_probe *p) {
  wsp__upgrade *up = p->up;
  wsp_result *r = p->result;
  record_response(p);
  if (up->body_len > 0 && (r->body = malloc(up->body_len)) != NULL) {
    memcpy(r->body, up->body, up->body_len);
    r->body_len = up->body_len;
  }
  char ra[96] = "";
  if (r->retry_after != NULL)
    snprintf(ra, sizeof(ra), " (Retry-After: %.64s)", r->retry_after);
  wsp__probe_finish(p, WSP_OUTCOME_HANDSHAKE_REJECTED,
                    "server refused the upgrade: HTTP %d %s%s", up->status,
                    r->http_reason ? r->http_reason : "", ra);
}

static void send_first(wsp_probe *p);
static void run_steps(wsp_probe *p);

static void opened(wsp_probe *p, const uint8_t *rest, size_t rest_len) {
  wsp_result *r = p->result;
  const char *proto = p->up->h[WSP__H_PROTOCOL];
  int rc;
  record_response(p);
  if (proto != NULL) {
    r->subprotocol = wsp__strdup(proto);
    r->redact_subprotocol = p->jwt_proto && strcmp(proto, p->jwt_proto) == 0;
  } else if (p->jwt_proto != NULL && p->cfg->require_subprotocol) {
    /* The token went in as a subprotocol; a server that took it selects
     * one. Silence usually means a proxy or server that ignored it. */
    wsp__probe_finish(p, WSP_OUTCOME_HANDSHAKE_INVALID,
                      "server selected no subprotocol although the token "
                      "was offered as %s<redacted>",
                      p->cfg->jwt_prefix);
    return;
  }
  up_release(p);
  if ((rc = wsp__frames_start(p)) != 0) {
    wsp__probe_finish(p, WSP_OUTCOME_INTERNAL_ERROR, "out of memory");
    return;
  }
  wsp__probe_mark(p, WSP_MARK_OPEN);
  enter(p, WSP_PHASE_OPEN);
  /* A script is at its first step from the open on, even if the server
   * ends the probe before that step ran (-1 means no script). */
  if (p->cfg->nsteps > 0)
    p->result->step = 0;
  /* Frames that came in the same read as the 101 belong to the stream. */
  if (rest_len > 0)
    wsp__frames_feed(p, rest, rest_len);
  if (p->decided)
    return;
  if (p->cfg->nsteps > 0) {
    run_steps(p);
  } else if (p->cfg->has_message) {
    if (p->ready != NULL) {
      /* A burst: wait, armed with the frame, for the campaign's release. */
      uv_timer_stop(&p->timer);
      p->timer_kind = WSP__TIMER_NONE;
      wsp__frames_prebuild(p);
      p->ready(p, p->ready_ud);
    } else if (p->delay_ms == 0) {
      send_first(p);
    } else {
      arm(p, WSP__TIMER_DELAY, p->delay_ms);
    }
  } else {
    arm(p, WSP__TIMER_DELAY, p->cfg->hold_ms);
  }
}

static void upgrade_data(wsp_probe *p, const uint8_t *data, size_t len) {
  size_t used;
  wsp__up_state st = wsp__upgrade_parse(p->up, data, len, &used);
  if (p->up->headers_done)
    wsp__probe_mark_rx(p, WSP_MARK_RESPONSE);
  switch (st) {
  case WSP__UP_MORE:
    break;
  case WSP__UP_OPEN:
    opened(p, data + used, len - used);
    break;
  case WSP__UP_REJECTED:
    rejected(p);
    break;
  case WSP__UP_INVALID:
    record_response(p);
    wsp__probe_finish(p, WSP_OUTCOME_HANDSHAKE_INVALID, "%s", p->up->err);
    break;
  }
}

/* ---- open connection ---- */

static int all_expected_seen(const wsp_probe *p) {
  uint32_t want =
      p->cfg->expect.n >= 32 ? 0xffffffffu : ((1u << p->cfg->expect.n) - 1);
  return (p->result->expected_seen & want) == want;
}

static void begin_close_with(wsp_probe *p, uint16_t code, const char *reason) {
  enter(p, WSP_PHASE_CLOSING);
  if (wsp__frames_close(p, code, reason) != 0) {
    wsp__probe_finish(p, WSP_OUTCOME_INTERNAL_ERROR, "out of memory");
    return;
  }
  wsp__frames_flush(p);
}

static void begin_close(wsp_probe *p) { begin_close_with(p, 1000, NULL); }

/*
 * A scripted conversation: run steps until one has to wait (a WAIT's
 * timer, an EXPECT's message) or the script ends with our close. An
 * EXPECT is met by any event since the last one it consumed, so a reply
 * that arrives during a WAIT is not lost.
 */
static void run_steps(wsp_probe *p) {
  const wsp_config *cfg = p->cfg;
  while (!p->decided && p->phase != WSP_PHASE_CLOSING) {
    const wsp__step *st;
    p->result->step = (int)p->step;
    if (p->step == cfg->nsteps) {
      begin_close(p);
      return;
    }
    st = &cfg->steps[p->step];
    switch (st->kind) {
    case WSP__STEP_WAIT:
      if (p->timer_kind != WSP__TIMER_DELAY) {
        p->wait_from = uv_hrtime();
        arm(p, WSP__TIMER_DELAY, st->ms);
      }
      return; /* The timer moves on (see wsp__probe_timer_cb). */
    case WSP__STEP_SEND: {
      int first = p->result->marks[WSP_MARK_FIRST_SENT] < 0;
      if (first)
        enter(p, WSP_PHASE_FIRST_SEND);
      if (wsp__frames_send(p, st->data, st->len, st->binary) != 0) {
        wsp__probe_finish(p, WSP_OUTCOME_INTERNAL_ERROR, "out of memory");
        return;
      }
      if (p->decided)
        return;
      wsp__probe_mark_tx(p, WSP_MARK_FIRST_SENT);
      if (p->phase != WSP_PHASE_AWAITING_REPLY)
        enter(p, WSP_PHASE_AWAITING_REPLY);
      p->step++;
      break;
    }
    case WSP__STEP_EXPECT: {
      size_t i;
      for (i = p->events_used; i < p->result->nevents; i++)
        if (strcmp(p->result->events[i].type, (const char *)st->data) == 0)
          break;
      if (i < p->result->nevents) {
        p->events_used = i + 1;
        p->step++;
        break;
      }
      if (p->timer_kind != WSP__TIMER_DEADLINE ||
          p->phase != WSP_PHASE_AWAITING_REPLY) {
        p->phase = WSP_PHASE_AWAITING_REPLY;
        arm(p, WSP__TIMER_DEADLINE,
            st->ms ? st->ms : cfg->timeout_ms[WSP_PHASE_AWAITING_REPLY]);
      }
      return;
    }
    case WSP__STEP_CLOSE:
      begin_close_with(p, st->code, (const char *)st->data);
      return;
    }
  }
}

/* Awaiting is over when the reply, or every expected event, is in. */
static void check_awaiting(wsp_probe *p) {
  if (p->cfg->nsteps > 0) {
    if (!p->decided && p->phase == WSP_PHASE_AWAITING_REPLY &&
        p->step < p->cfg->nsteps &&
        p->cfg->steps[p->step].kind == WSP__STEP_EXPECT)
      run_steps(p);
    return;
  }
  if (p->phase != WSP_PHASE_AWAITING_REPLY || p->decided)
    return;
  if (p->cfg->expect.n > 0 ? all_expected_seen(p)
                           : p->result->marks[WSP_MARK_FIRST_RECEIVED] >= 0)
    begin_close(p);
}

static void first_sent(wsp_probe *p) {
  wsp__probe_mark_tx(p, WSP_MARK_FIRST_SENT);
  enter(p, WSP_PHASE_AWAITING_REPLY);
  check_awaiting(p);
}

void wsp__probe_release(wsp_probe *p) {
  if (!p->decided && p->phase == WSP_PHASE_OPEN)
    send_first(p);
}

static void send_first(wsp_probe *p) {
  enter(p, WSP_PHASE_FIRST_SEND);
  if (wsp__frames_send_message(p) != 0) {
    wsp__probe_finish(p, WSP_OUTCOME_INTERNAL_ERROR, "out of memory");
    return;
  }
  /* A large message may still be queued; it counts as sent once written. */
  if (!p->decided && !wsp__tx_pending(p))
    first_sent(p);
}

void wsp__probe_on_drain(wsp_probe *p) {
  if (!p->decided && p->phase == WSP_PHASE_FIRST_SEND)
    first_sent(p);
}

/* Notes an expected event; with ordering on, judges its place. */
static void expected_event(wsp_probe *p, const char *type) {
  const wsp__strv *ex = &p->cfg->expect;
  size_t k;
  for (k = 0; k < ex->n && k < 32; k++)
    if (strcmp(ex->v[k], type) == 0)
      break;
  if (k == ex->n || k >= 32)
    return;
  if (p->cfg->expect_order && !p->decided) {
    if (p->result->expected_seen & (1u << k)) {
      wsp__probe_finish(p, WSP_OUTCOME_EXPECTATION_FAILED,
                        "event %s arrived twice", type);
      return;
    }
    if (k != p->next_expected) {
      wsp__probe_finish(p, WSP_OUTCOME_EXPECTATION_FAILED,
                        "event %s arrived before %s", type,
                        ex->v[p->next_expected]);
      return;
    }
    p->next_expected++;
  }
  p->result->expected_seen |= 1u << k;
}

void wsp__probe_on_message(wsp_probe *p, int opcode, const uint8_t *msg,
                           size_t len) {
  wsp_result *r = p->result;
  int64_t now = wsp__probe_rx_now(p);
  r->messages++;
  if (p->phase >= WSP_PHASE_AWAITING_REPLY &&
      r->marks[WSP_MARK_FIRST_RECEIVED] < 0)
    r->marks[WSP_MARK_FIRST_RECEIVED] = now;
  if (opcode == WSLAY_TEXT_FRAME && len > 0) {
    size_t i = 0;
    while (i < len && (msg[i] == ' ' || msg[i] == '\n' || msg[i] == '\r' ||
                       msg[i] == '\t'))
      i++;
    if (i < len && msg[i] == '{') {
      cJSON *j = cJSON_ParseWithLength((const char *)msg, len);
      const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "type");
      if (cJSON_IsString(t) && t->valuestring != NULL) {
        wsp__result_add_event(r, t->valuestring, strlen(t->valuestring), now);
        expected_event(p, t->valuestring);
      }
      cJSON_Delete(j);
    }
  }
  check_awaiting(p);
}

/* Names the expected events that have not arrived, into buf. */
static const char *missing_events(const wsp_probe *p, char *buf, size_t n) {
  size_t used = 0;
  buf[0] = '\0';
  for (size_t k = 0; k < p->cfg->expect.n && k < 32; k++) {
    if (p->result->expected_seen & (1u << k))
      continue;
    int w = snprintf(buf + used, n - used, "%s%s", used ? ", " : "",
                     p->cfg->expect.v[k]);
    if (w < 0 || (size_t)w >= n - used)
      break;
    used += (size_t)w;
  }
  return buf;
}

/* A close frame arrived and has been answered. */
void wsp__probe_on_close(wsp_probe *p) {
  const wsp__close *c = &p->result->close_recv;
  char missing[256];
  if (!p->close_recv_valid) {
    int sent = p->result->close_sent.code;
    if (c->code < 0)
      decide(p, WSP_OUTCOME_PROTOCOL_ERROR,
             "server sent a close frame with a 1-byte payload; sent close %d",
             sent);
    else if (sent == 1007)
      decide(p, WSP_OUTCOME_PROTOCOL_ERROR,
             "server sent close %d with a reason that is not UTF-8; sent "
             "close %d",
             c->code, sent);
    else
      decide(p, WSP_OUTCOME_PROTOCOL_ERROR,
             "server sent the invalid close code %d; sent close %d", c->code,
             sent);
    teardown(p);
    return;
  }
  if (p->phase == WSP_PHASE_CLOSING) {
    /* The answer to our close: an echo of our code, 1000 or 1001 are
     * clean; an answer with no code (1005) is allowed by RFC 6455 too. */
    if (c->code == p->result->close_sent.code || c->code == 1000 ||
        c->code == 1001 || c->code == 1005)
      decide(p, WSP_OUTCOME_OK, NULL);
    else
      decide(p, WSP_OUTCOME_CLOSED_BY_SERVER,
             "server answered our close with %d%s%s%s", c->code,
             c->reason_len ? " (" : "", c->reason, c->reason_len ? ")" : "");
  } else {
    missing_events(p, missing, sizeof(missing));
    decide(p, WSP_OUTCOME_CLOSED_BY_SERVER,
           "server closed with %d%s%s%s during %s%s%s", c->code,
           c->reason_len ? " (" : "", c->reason, c->reason_len ? ")" : "",
           wsp_phase_name(p->phase), missing[0] ? "; never received: " : "",
           missing);
  }
  linger(p);
}

/* ---- transport events ---- */

void wsp__probe_on_data(wsp_probe *p, const uint8_t *data, size_t len) {
  if (p->decided)
    return; /* Lingering: the outcome is fixed, only EOF matters. */
  if (p->ws != NULL) {
    wsp__frames_feed(p, data, len);
  } else if (up_get(p) != NULL) {
    upgrade_data(p, data, len);
    up_put(p);
  }
}

void wsp__probe_on_end(wsp_probe *p, int err) {
  wsp_result *r = p->result;
  int reset = err != UV_EOF;
  p->eof = 1;
  if (p->decided) {
    teardown(p);
    return;
  }
  if (p->phase == WSP_PHASE_TLS) {
    wsp__probe_finish(p, WSP_OUTCOME_TLS_FAILED,
                      "server %s the connection during the TLS handshake",
                      reset ? "reset" : "closed");
    return;
  }
  if (p->ws == NULL && up_get(p) != NULL) {
    wsp__up_state st = reset ? p->up->state : wsp__upgrade_eof(p->up);
    if (st == WSP__UP_REJECTED ||
        (p->up->headers_done && p->up->status != 101)) {
      rejected(p);
    } else if (p->up->status == 0 && p->up->header_bytes == 0) {
      wsp__probe_finish(p, WSP_OUTCOME_ABNORMAL_CLOSURE,
                        "server %s the connection before responding to the "
                        "upgrade",
                        reset ? "reset" : "closed");
    } else {
      record_response(p);
      wsp__probe_finish(p, WSP_OUTCOME_HANDSHAKE_INVALID, "%s",
                        reset ? "connection reset in the middle of the "
                                "upgrade response"
                              : p->up->err);
    }
    up_put(p);
    return;
  }
  /* TCP ended without a close frame: what RFC 6455 calls 1006. */
  r->close_recv.code = 1006;
  wsp__probe_finish(p, WSP_OUTCOME_ABNORMAL_CLOSURE,
                    "server %s the connection without a close frame during "
                    "%s",
                    reset ? "reset" : "closed", wsp_phase_name(p->phase));
}

void wsp__probe_timer_cb(uv_timer_t *t) {
  wsp_probe *p = t->data;
  char missing[256];
  wsp__timer_kind kind = p->timer_kind;
  uint32_t ms = p->cfg->timeout_ms[p->phase];
  p->timer_kind = WSP__TIMER_NONE;
  if (kind == WSP__TIMER_DEADLINE && !p->torn_down) {
    uint64_t now = uv_now(p->ctx->loop);
    if (p->deadline == UINT64_MAX)
      return;                /* The phase has no deadline. */
    if (now < p->deadline) { /* The deadline moved: wait for it. */
      p->timer_kind = kind;
      p->timer_due = p->deadline;
      uv_timer_start(&p->timer, wsp__probe_timer_cb, p->deadline - now, 0);
      return;
    }
  }
  if (p->lingering || p->decided) {
    teardown(p);
    return;
  }
  if (kind == WSP__TIMER_DELAY && p->cfg->nsteps > 0) {
    uint64_t want = (uint64_t)p->cfg->steps[p->step].ms * 1000000;
    uint64_t elapsed = uv_hrtime() - p->wait_from;
    if (elapsed < want) { /* Fired early by uv_hrtime(): wait it out. */
      uv_update_time(p->ctx->loop);
      arm(p, WSP__TIMER_DELAY, (want - elapsed + 999999) / 1000000);
      return;
    }
    p->step++;
    run_steps(p);
    return;
  }
  if (kind == WSP__TIMER_DELAY) {
    /* libuv's timers run on a cached millisecond clock and may fire up to
     * a millisecond early by uv_hrtime(): a delay is never shorter than
     * asked, so wait out the remainder. */
    uint64_t want =
        (uint64_t)(p->cfg->has_message ? p->delay_ms : p->cfg->hold_ms) *
        1000000;
    int64_t elapsed = wsp__probe_now(p) - p->result->marks[WSP_MARK_OPEN];
    if (elapsed >= 0 && (uint64_t)elapsed < want) {
      uv_update_time(p->ctx->loop);
      arm(p, WSP__TIMER_DELAY, (want - (uint64_t)elapsed + 999999) / 1000000);
      return;
    }
    if (p->cfg->has_message) {
      send_first(p);
    } else if (p->cfg->expect.n > 0 && !all_expected_seen(p)) {
      /* Holding without a message: the events were to come unprompted.
       * As after a first message, a silent server timed out and one that
       * spoke without them failed the expectation. */
      missing_events(p, missing, sizeof(missing));
      if (p->result->messages > 0)
        wsp__probe_finish(p, WSP_OUTCOME_EXPECTATION_FAILED,
                          "expected event(s) not received while holding "
                          "the connection for %u ms: %s (%u message(s) "
                          "received)",
                          p->cfg->hold_ms, missing, p->result->messages);
      else
        wsp__probe_finish(p, WSP_OUTCOME_TIMEOUT,
                          "no message while holding the connection for %u "
                          "ms (expected: %s)",
                          p->cfg->hold_ms, missing);
    } else {
      begin_close(p);
    }
    return;
  }
  switch (p->phase) {
  case WSP_PHASE_CONNECT:
    wsp__probe_finish(p, WSP_OUTCOME_CONNECT_TIMEOUT,
                      "no connection to port %u within %u ms",
                      (unsigned)p->cfg->url.port, ms);
    break;
  case WSP_PHASE_TLS:
    wsp__probe_finish(p, WSP_OUTCOME_TLS_FAILED,
                      "TLS handshake timed out after %u ms", ms);
    break;
  case WSP_PHASE_UPGRADE:
    if (up_get(p) == NULL)
      break;
    if (p->up->headers_done && p->up->status != 101)
      rejected(p); /* The status is known; the body was slow. */
    else
      wsp__probe_finish(p, WSP_OUTCOME_TIMEOUT,
                        "no complete upgrade response within %u ms (%zu "
                        "header bytes received)",
                        ms, p->up->header_bytes);
    up_put(p);
    break;
  case WSP_PHASE_AWAITING_REPLY:
    if (p->cfg->nsteps > 0 && p->step < p->cfg->nsteps) {
      const wsp__step *st = &p->cfg->steps[p->step];
      uint32_t t = st->ms ? st->ms : ms;
      if (p->result->messages > 0)
        wsp__probe_finish(p, WSP_OUTCOME_EXPECTATION_FAILED,
                          "step #%zu: no %s within %u ms (%u message(s) "
                          "received)",
                          p->step, (const char *)st->data, t,
                          p->result->messages);
      else
        wsp__probe_finish(p, WSP_OUTCOME_TIMEOUT,
                          "step #%zu: no reply within %u ms", p->step, t);
    } else if (p->cfg->expect.n > 0 && p->result->messages > 0)
      wsp__probe_finish(p, WSP_OUTCOME_EXPECTATION_FAILED,
                        "expected event(s) not received within %u ms: %s "
                        "(%u message(s) received)",
                        ms, missing_events(p, missing, sizeof(missing)),
                        p->result->messages);
    else
      wsp__probe_finish(p, WSP_OUTCOME_TIMEOUT, "no reply within %u ms", ms);
    break;
  case WSP_PHASE_CLOSING:
    wsp__probe_finish(p, WSP_OUTCOME_TIMEOUT,
                      "server did not answer our close within %u ms", ms);
    break;
  default:
    wsp__probe_finish(p, WSP_OUTCOME_TIMEOUT, "%s took longer than %u ms",
                      wsp_phase_name(p->phase), ms);
    break;
  }
}

/* ---- public ---- */

int wsp_probe_start(wsp_ctx *ctx, const wsp_config *cfg, wsp_probe_cb cb,
                    void *user_data, wsp_probe **out) {
  wsp__probe_opts opts;
  if (cfg == NULL)
    return WSP_EINVAL;
  memset(&opts, 0, sizeof(opts));
  opts.delay_ms = cfg->delay_ms;
  return wsp__probe_start(ctx, cfg, &opts, cb, user_data, out);
}

/* The probe's token: the configured one, or one minted for it now. */
static int take_token(wsp_probe *p, uint32_t index) {
  const wsp_config *cfg = p->cfg;
  const char *prefix = cfg->jwt_prefix;
  char err[200];
  size_t n, pl = strlen(prefix);
  if (cfg->jwt_spec.enabled) {
    uv_timeval64_t tv;
    uv_gettimeofday(&tv);
    if (wsp__jwt_mint(p->ctx, &cfg->jwt_spec, index, tv.tv_sec, &p->token, err,
                      sizeof(err)) != 0)
      return WSP_ETOKEN;
  } else if (cfg->jwt != NULL && (p->token = strdup(cfg->jwt)) == NULL) {
    return WSP_ENOMEM;
  }
  if (p->token == NULL || !(cfg->jwt_placement & WSP_JWT_SUBPROTOCOL))
    return 0;
  n = strlen(p->token);
  if ((p->jwt_proto = malloc(pl + n + 1)) == NULL)
    return WSP_ENOMEM;
  memcpy(p->jwt_proto, prefix, pl);
  memcpy(p->jwt_proto + pl, p->token, n + 1);
  return 0;
}

int wsp__probe_start(wsp_ctx *ctx, const wsp_config *cfg,
                     const wsp__probe_opts *opts, wsp_probe_cb cb,
                     void *user_data, wsp_probe **out) {
  wsp_probe *p;
  uint32_t index = opts->index;
  int rc;
  if (ctx == NULL || cfg == NULL || cb == NULL)
    return WSP_EINVAL;
  if (cfg->url.host == NULL)
    return WSP_EURL;
  if ((p = calloc(1, sizeof(*p))) == NULL)
    return WSP_ENOMEM;
  p->ctx = ctx;
  p->cb = cb;
  p->user_data = user_data;
  if (opts->borrow_cfg) {
    p->cfg = cfg;
  } else if ((p->cfg = p->own_cfg = wsp_config_dup(cfg)) == NULL) {
    goto nomem;
  }
  if ((p->result = wsp__result_new()) == NULL)
    goto nomem;
  p->ctx = ctx;
  p->result->index = index;
  p->result->delay_ms = opts->delay_ms;
  p->delay_ms = opts->delay_ms;
  p->ready = opts->ready;
  p->ready_ud = opts->ready_ud;
  if ((rc = take_token(p, index)) != 0 ||
      (rc = uv_timer_init(ctx->loop, &p->timer)) != 0)
    goto fail;
  p->timer.data = p;
  p->handles = 1;
  ctx->nprobes++;
  p->t0 = uv_hrtime();
  p->result->t0 = p->t0;
  p->phase = WSP_PHASE_RESOLVE;
  if (out != NULL)
    *out = p;

  if (opts->ai != NULL) {
    /* Resolved once for the whole campaign. */
    p->ai_next = (struct addrinfo *)opts->ai;
    wsp__probe_mark(p, WSP_MARK_RESOLVED);
    enter(p, WSP_PHASE_CONNECT);
    connect_next(p);
  } else if (cfg->url.ip_literal) {
    /* Literals need no resolver (and no thread-pool queueing). */
    struct addrinfo *ai = calloc(1, sizeof(*ai) + sizeof(struct sockaddr_in6));
    struct sockaddr *sa = (struct sockaddr *)(ai ? ai + 1 : NULL);
    if (ai == NULL) {
      wsp__probe_finish(p, WSP_OUTCOME_INTERNAL_ERROR, "out of memory");
      return 0;
    }
    ai->ai_addr = sa;
    ai->ai_socktype = SOCK_STREAM;
    if (cfg->url.ip_literal == AF_INET6) {
      uv_ip6_addr(cfg->url.host, cfg->url.port, (struct sockaddr_in6 *)sa);
      ai->ai_addrlen = sizeof(struct sockaddr_in6);
    } else {
      uv_ip4_addr(cfg->url.host, cfg->url.port, (struct sockaddr_in *)sa);
      ai->ai_addrlen = sizeof(struct sockaddr_in);
    }
    ai->ai_family = sa->sa_family;
    p->literal_ai = ai;
    p->ai_next = ai;
    wsp__probe_mark(p, WSP_MARK_RESOLVED);
    enter(p, WSP_PHASE_CONNECT);
    connect_next(p);
  } else {
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    p->gai.data = p;
    enter(p, WSP_PHASE_RESOLVE);
    rc = uv_getaddrinfo(ctx->loop, &p->gai, on_resolved, cfg->url.host, NULL,
                        &hints);
    if (rc != 0)
      wsp__probe_finish(p, WSP_OUTCOME_DNS_FAILED, "cannot resolve '%s': %s",
                        cfg->url.host, uv_strerror(rc));
    else
      p->gai_pending = 1;
  }
  return 0;

nomem:
  rc = WSP_ENOMEM;
fail:
  wsp_result_free(p->result);
  wsp_config_free(p->own_cfg);
  free(p->jwt_proto);
  free(p->token);
  free(p);
  return rc;
}

void wsp_probe_cancel(wsp_probe *p) {
  if (p == NULL || p->decided)
    return;
  wsp__probe_finish(p, WSP_OUTCOME_CANCELLED, "cancelled");
}

void *wsp_probe_user_data(const wsp_probe *p) {
  return p ? p->user_data : NULL;
}

static void run_cb(wsp_probe *p, wsp_result *r, void *ud) {
  (void)p;
  *(wsp_result **)ud = r;
}

int wsp_probe_run(const wsp_config *cfg, wsp_result **out) {
  uv_loop_t loop;
  wsp_ctx *ctx = NULL;
  wsp_result *r = NULL;
  int rc;
  if (cfg == NULL || out == NULL)
    return WSP_EINVAL;
  if ((rc = uv_loop_init(&loop)) != 0)
    return rc;
  if ((rc = wsp_ctx_new(&loop, &ctx)) == 0 &&
      (rc = wsp_probe_start(ctx, cfg, run_cb, &r, NULL)) == 0)
    uv_run(&loop, UV_RUN_DEFAULT);
  wsp_ctx_free(ctx);
  rc = uv_loop_close(&loop) == 0 ? rc : (rc ? rc : WSP_EBUSY);
  if (rc == 0)
    *out = r;
  else
    wsp_result_free(r);
  return rc;
}
