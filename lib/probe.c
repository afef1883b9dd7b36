/*
 * The probe: one connection's phase machine, its single timer, and the one
 * place where an outcome is decided.
 *
 *   resolve -> connect -> [proxy] -> [tls] -> upgrade -> open -[delay]->
 *   first_send -> awaiting_reply -> closing -> (server's close, then its
 *   EOF) -> ok
 *
 * The layers below it report facts through small callback structs and
 * never name the probe; bytes to send go down through the same objects:
 *
 *   conn (conn.c)   socket in the loop's epoll set, write queue, kernel
 *        |          receive stamps; facts: connected, data (with arrival
 *        |          stamp), drained, write failed, ended (EOF or reset)
 *        |
 *   proxy           optional, I/O-free: the CONNECT request out, the
 *   (proxy.c)       proxy's answer parsed from bytes in; facts: tunnel
 *        |          up, refused (status), malformed; an end before the
 *        |          answer is the connection's fact
 *   tls (tls.c)     optional; ciphertext <-> plaintext; facts: secure,
 *        |          plaintext, closed (close_notify or bare EOF), failed
 *   upgrade         I/O-free HTTP/1.1 response parser (llhttp): bytes in,
 *   (upgrade.c)     a conclusion out; what follows the 101 goes to the
 *        |          session
 *   ws (ws.c)       WebSocket session over wslay, I/O-free; facts:
 *        |          message, close received (code, reason), close sent,
 *        |          protocol error (code sent)
 *        |  [an inflate step would sit inside the session]
 *   probe.c         keeps the facts and decides, once, by precedence
 *                   (docs/report.md, "How the outcome is decided"):
 *                   a close frame received beats any later write error,
 *                   EOF or reset; without one, EOF or reset is
 *                   abnormal_closure.
 *
 * A write that fails decides nothing: the server usually said why before
 * it reset (a close frame, a TLS alert), and that is read first; the read
 * side's end follows promptly, and the closing timeout bounds the wait.
 *
 * Delays count from the kernel's arrival stamp of the 101 response, and
 * every send is stamped just before the send(2) that took it: a probe
 * records the delay it achieved beside the one it asked for.
 *
 * A probe is freed only after the close callbacks of all its handles ran
 * and its resolution request returned; only then is the user's callback
 * called, so a user may free everything from it.
 */
#include <assert.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addrs.h"
#include "config.h"
#include "conn.h"
#include "ctx.h"
#include "event.h"
#include "probe.h"
#include "proxy.h"
#include "result.h"
#include "tls.h"
#include "upgrade.h"
#include "ws.h"

/* What the single probe timer is armed for. */
typedef enum {
  TIMER_NONE,     /* Not armed. */
  TIMER_DEADLINE, /* The current phase's timeout. */
  TIMER_DELAY,    /* The first-message delay, the hold, a step's wait. */
} timer_kind;

struct wsp_probe {
  wsp_ctx *ctx;                       /* The loop's shared state. */
  const wsp_config *cfg;              /* The config (own_cfg or borrowed). */
  wsp_config *own_cfg;                /* Private copy, or NULL when borrowed. */
  uint32_t delay_ms;                  /* This probe's first-message delay. */
  void (*ready)(wsp_probe *, void *); /* Burst gate, or NULL. */
  void *ready_ud;                     /* Its user data. */
  uint8_t *prebuilt;                  /* Gated: the first frame, masked. */
  size_t prebuilt_len;                /* Its length. */
  uint32_t next_expected;             /* Ordered expectations: next index. */
  size_t step;                        /* Scripted: the step running. */
  size_t events_used;                 /* Scripted: events matched so far. */
  uint64_t wait_from;                 /* Scripted: when a WAIT began. */
  uint64_t due_ns;                    /* uv_hrtime() the delay or hold
                                         ends at. */
  wsp_probe_cb cb;                    /* Completion callback. */
  void *user_data;                    /* Passed to cb. */
  wsp_result *result;                 /* Being filled; handed to cb. */
  uint64_t t0;                        /* uv_hrtime() at start. */
  wsp_phase phase;                    /* Current phase. */
  int decided;                        /* The outcome is fixed. */
  int lingering;                      /* Decided; waiting for the end. */
  int torn_down;                      /* Handles are being closed. */
  int done;                           /* The exchange is complete: what
                                         was asked for arrived (or the
                                         hold or script ended) and we
                                         close. */
  int our_close;                      /* The code we closed with then. */
  uv_getaddrinfo_t gai;               /* Resolution request. */
  int gai_pending;                    /* gai callback not yet run. */
  struct addrinfo *ai;                /* Resolved addresses (owned). */
  const struct addrinfo *addrs;       /* The addresses to try from. */
  const struct addrinfo *ai_next;     /* Next address to try. */
  size_t naddrs;                      /* Stream addresses in addrs. */
  size_t addr_first;                  /* The one tried first. */
  struct addrinfo *literal_ai;        /* Addresses of an IP literal or a
                                         pin (one block, owned). */
  int last_connect_err;               /* libuv error of the last attempt. */
  unsigned connect_attempts;          /* Addresses tried. */
  wsp__dial dial;                     /* Where it connects: the proxy
                                         or the server. */
  wsp__tunnel *tun;                   /* The CONNECT answer being parsed,
                                         in the proxy phase only. */
  wsp__conn conn;                     /* The connection. */
  wsp__tls *tls;                      /* TLS for wss://, or NULL. */
  wsp__upgrade *up;                   /* Upgrade parser; NULL once open. */
  wsp__ws ws;                         /* The WebSocket session. */
  int open;                           /* The upgrade succeeded. */
  uint64_t rx_ns;                     /* Arrival of the bytes being
                                         handled, 0 outside a read. */
  int ended;                          /* The server ended the stream. */
  int write_err;                      /* A write failed (libuv error). */
  int handles;                        /* Handles not yet closed. */
  uv_timer_t timer;                   /* Deadlines, delay and hold. */
  timer_kind timer_kind;              /* What the timer is armed for. */
  uint64_t timer_due;                 /* uv_hrtime() it is due at. */
  uint64_t deadline;                  /* uv_hrtime() of the deadline,
                                         which may be later: see arm(). */
  char *token;                        /* The JWT this probe sends, or NULL. */
  char *jwt_proto;                    /* "jwt.<token>" when offered. */
  char key[WSP__KEY_LEN + 1];         /* The Sec-WebSocket-Key sent. */
};

static void connect_next(wsp_probe *p);
static void connect_first(wsp_probe *p, const struct addrinfo *ai);
static void teardown(wsp_probe *p);
static void timer_cb(uv_timer_t *t);

/* ---- time ---- */

static int64_t now_ns(const wsp_probe *p) {
  return (int64_t)(uv_hrtime() - p->t0);
}

static void mark(wsp_probe *p, wsp_mark m) {
  if (p->result->marks[m] < 0)
    p->result->marks[m] = now_ns(p);
}

/* When the bytes being handled arrived: the kernel's stamp of the current
 * read (see conn.c), or now outside a read. */
static int64_t rx_now(const wsp_probe *p) {
  return p->rx_ns >= p->t0 ? (int64_t)(p->rx_ns - p->t0) : now_ns(p);
}

static void mark_rx(wsp_probe *p, wsp_mark m) {
  if (p->result->marks[m] < 0)
    p->result->marks[m] = rx_now(p);
}

/* What was sent is stamped just before the send(2) that completed it:
 * after it returns, the server (on another core) may already have
 * answered, and the answer's kernel stamp would come first. */
static void mark_tx(wsp_probe *p, wsp_mark m) {
  if (p->result->marks[m] < 0)
    p->result->marks[m] = p->conn.tx_ns != 0 && p->conn.tx_ns >= p->t0
                              ? (int64_t)(p->conn.tx_ns - p->t0)
                              : now_ns(p);
}

/*
 * Deadlines are lazy. Each phase moves the probe's deadline, usually later;
 * re-arming the timer every time (a removal from and an insertion into
 * libuv's timer heap, whose nodes at 1,000 probes in flight sit in other
 * probes' cold memory) cost more than the rest of a phase change. A
 * deadline that moves later only records where it is now: the timer fires
 * at the earlier time and re-arms itself for the rest.
 *
 * A deadline counts from the moment its phase began, on uv_hrtime(). The
 * loop's own clock (uv_now()) is the one of the start of the current
 * iteration: a phase that begins late in a busy iteration would have its
 * deadline that much early. libuv's timer may therefore fire before the
 * deadline; timer_cb() checks the deadline on uv_hrtime() and waits out
 * the rest.
 */
static void arm(wsp_probe *p, timer_kind kind, uint64_t ms) {
  uint64_t due = uv_hrtime() + ms * 1000000;
  p->deadline = due;
  if (kind == TIMER_DEADLINE && p->timer_kind == TIMER_DEADLINE &&
      p->timer_due <= due)
    return;
  p->timer_kind = kind;
  p->timer_due = due;
  uv_timer_start(&p->timer, timer_cb, ms, 0);
}

static void arm_deadline(wsp_probe *p) {
  uint32_t ms = p->cfg->timeout_ms[p->phase];
  if (ms == 0 && p->timer_kind == TIMER_DEADLINE) {
    p->deadline = UINT64_MAX; /* None in this phase: a firing is idle. */
  } else if (ms == 0) {
    uv_timer_stop(&p->timer);
    p->timer_kind = TIMER_NONE;
  } else {
    arm(p, TIMER_DEADLINE, ms);
  }
}

/*
 * Arms the timer for p->due_ns (uv_hrtime() clock). libuv's timers count
 * whole milliseconds on a cached clock and wake up to a millisecond late:
 * rounded up, and rounded up again after an early firing, a delay came
 * out up to two milliseconds long. The timer is set for the whole
 * milliseconds left, so that it fires a little early, and the rest (less
 * than a millisecond) is waited out one loop iteration at a time.
 */
static void arm_due(wsp_probe *p) {
  uint64_t now = uv_hrtime();
  uint64_t left = p->due_ns > now ? p->due_ns - now : 0;
  uv_update_time(p->ctx->loop);
  arm(p, TIMER_DELAY, left / 1000000);
}

static void enter(wsp_probe *p, wsp_phase phase) {
  assert(wsp_phase_rank(phase) >= wsp_phase_rank(p->phase) ||
         p->phase == WSP_PHASE_CLOSING);
  p->phase = phase;
  arm_deadline(p);
}

/* ---- the one decision ---- */

/* Fixes the outcome: only the first decision counts. */
static int vdecide(wsp_probe *p, wsp_outcome o, const char *fmt, va_list ap) {
  char buf[512];
  if (p->decided)
    return 0;
  p->decided = 1;
  p->result->outcome = o;
  p->result->phase = p->phase;
  if (fmt != NULL) {
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    /* Errors quote what the server sent (a close reason, a header): keep
     * them one printable line, and whole characters where a long one was
     * cut. */
    for (char *c = buf; *c; c++)
      if ((unsigned char)*c < 0x20 || *c == 0x7f)
        *c = '?';
    if (n >= (int)sizeof(buf))
      buf[wsp__utf8_cut((const uint8_t *)buf, strlen(buf))] = '\0';
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

/* Decides (only the first call counts) and starts teardown. */
static void finish(wsp_probe *p, wsp_outcome o, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void finish(wsp_probe *p, wsp_outcome o, const char *fmt, ...) {
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
  if (p->ended) {
    teardown(p);
    return;
  }
  arm(p, TIMER_DEADLINE, p->cfg->timeout_ms[WSP_PHASE_CLOSING]);
}

/* The printable part of a close reason for an error line. */
static const char *reason_of(const wsp__close *c, char *buf, size_t n) {
  if (c->reason_len == 0) {
    buf[0] = '\0';
  } else {
    size_t k = c->reason_len < n - 4 ? c->reason_len : n - 4;
    buf[0] = ' ';
    buf[1] = '(';
    memcpy(buf + 2, c->reason, k);
    buf[2 + k] = ')';
    buf[3 + k] = '\0';
    for (size_t i = 2; i < 2 + k; i++)
      if (buf[i] == '\0')
        buf[i] = '?';
  }
  return buf;
}

static const char *missing_events(const wsp_probe *p, char *buf, size_t n);

/*
 * The server's close frame arrived (and was answered): it decides the
 * outcome whatever follows it, a failed write, EOF or reset included.
 * Once the exchange is complete (p->done: the first message went out and
 * the reply, or every expected event, arrived), 1000, 1001, no code, or an
 * echo of our own code is ok, whoever closed first; before that, any close
 * frame is the server ending the probe.
 */
static void close_frame(wsp_probe *p, const wsp__close_frame *f) {
  const wsp__close *c = &p->result->close_recv;
  char missing[256], why[WSP__MAX_REASON + 8];
  wsp__close_set(&p->result->close_recv, f->code, f->reason, f->reason_len);
  mark_rx(p, WSP_MARK_CLOSE_RECEIVED);
  if (p->decided) {
    if (p->lingering && p->ended)
      teardown(p);
    return;
  }
  if (!f->valid) {
    int sent = p->result->close_sent.code;
    if (c->code < 0)
      decide(p, WSP_OUTCOME_PROTOCOL_ERROR,
             "server sent a close frame with a 1-byte payload; sent close %d",
             sent);
    else
      decide(p, WSP_OUTCOME_PROTOCOL_ERROR,
             "server sent the invalid close code %d; sent close %d", c->code,
             sent);
    teardown(p);
    return;
  }
  reason_of(c, why, sizeof(why));
  if (p->done) {
    if (c->code == 1000 || c->code == 1001 || c->code == 1005 ||
        c->code == p->our_close)
      decide(p, WSP_OUTCOME_OK, NULL);
    else
      decide(p, WSP_OUTCOME_CLOSED_BY_SERVER,
             "server answered our close %d with %d%s", p->our_close, c->code,
             why);
  } else {
    missing_events(p, missing, sizeof(missing));
    decide(p, WSP_OUTCOME_CLOSED_BY_SERVER,
           "server closed with %d%s during %s%s%s", c->code, why,
           wsp_phase_name(p->phase), missing[0] ? "; never received: " : "",
           missing);
  }
  linger(p);
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
    finish(p, WSP_OUTCOME_INTERNAL_ERROR, "out of memory");
    return NULL;
  }
  if (wsp__upgrade_init(up, p->key, (const char *const *)p->cfg->subprotocols.v,
                        p->cfg->subprotocols.n) != 0) {
    if (up == &ctx->up_scratch)
      ctx->up_busy = 0;
    else
      free(up);
    finish(p, WSP_OUTCOME_INTERNAL_ERROR, "SHA-1 failed");
    return NULL;
  }
  up->extra = p->jwt_proto; /* Offered too: jwt.<token>. */
  up->offer_deflate = p->cfg->compress;
  up->record = (const char *const *)p->cfg->record.v;
  up->nrecord = p->cfg->record.n;
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
  if (p->decided || p->open) {
    up_release(p);
    return;
  }
  if ((own = malloc(sizeof(*own))) == NULL) {
    up_release(p);
    finish(p, WSP_OUTCOME_INTERNAL_ERROR, "out of memory");
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
  free(p->tun);
  wsp__ws_free(&p->ws);
  wsp__tls_free(p->tls);
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
  if (p->open && p->conn.open && !p->ended && !p->ws.peer_closed &&
      wsp__ws_can_close(&p->ws))
    (void)wsp__ws_close(
        &p->ws, p->result->outcome == WSP_OUTCOME_CANCELLED ? 1001 : 1000, NULL,
        0);
  if (p->gai_pending)
    uv_cancel((uv_req_t *)&p->gai);
  if (!uv_is_closing((uv_handle_t *)&p->timer))
    uv_close((uv_handle_t *)&p->timer, on_handle_closed);
  if (p->conn.open) {
    wsp__conn_close(&p->conn);
    mark(p, WSP_MARK_CLOSED);
  }
}

/* ---- what goes down ---- */

/* Bytes for the server, through TLS when it is on. A failure is reported
 * by the connection (write_failed), never decided here. */
static int stream_write(wsp_probe *p, const uint8_t *data, size_t len) {
  if (p->tls != NULL)
    return wsp__tls_write(p->tls, data, len);
  return wsp__conn_write(&p->conn, data, len);
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
    finish(p, WSP_OUTCOME_DNS_FAILED, "cannot resolve %s'%s': %s",
           p->dial.proxy ? "the proxy " : "", p->dial.host,
           uv_strerror(status));
    return;
  }
  p->ai = ai;
  connect_first(p, ai);
}

/* Starts connecting to a list of addresses: probe i at address i modulo
 * their number with the round-robin policy, else at the first. */
static void connect_first(wsp_probe *p, const struct addrinfo *ai) {
  mark(p, WSP_MARK_RESOLVED);
  enter(p, WSP_PHASE_CONNECT);
  p->addrs = ai;
  p->naddrs = wsp__addr_count(ai);
  if (p->naddrs == 0) {
    finish(p, WSP_OUTCOME_DNS_FAILED, "'%s' has no stream address",
           p->dial.host);
    return;
  }
  if (p->cfg->address_policy == WSP_ADDRESS_ROUND_ROBIN)
    p->addr_first = p->result->index % p->naddrs;
  p->ai_next = wsp__addr_at(ai, p->addr_first);
  connect_next(p);
}

static void connect_failed(wsp_probe *p, int err) {
  p->last_connect_err = err;
  if (p->connect_attempts < p->naddrs) {
    /* Another address remains (e.g. localhost's 127.0.0.1 after ::1):
     * the next one, after the last the first. */
    p->ai_next = wsp__addr_at(p->addrs, (p->addr_first + p->connect_attempts) %
                                            p->naddrs);
    wsp__conn_close(&p->conn);
    connect_next(p);
    return;
  }
  finish(p,
         err == UV_ECONNREFUSED ? WSP_OUTCOME_CONNECT_REFUSED
         : err == UV_ETIMEDOUT  ? WSP_OUTCOME_CONNECT_TIMEOUT
                                : WSP_OUTCOME_CONNECT_FAILED,
         "cannot connect to %s%s: %s%s", p->dial.proxy ? "the proxy " : "",
         p->result->peer, uv_strerror(err),
         p->connect_attempts > 1 ? " (every address failed)" : "");
}

static void connect_next(wsp_probe *p) {
  struct sockaddr_storage ss;
  int rc;
  assert(p->ai_next != NULL);
  memcpy(&ss, p->ai_next->ai_addr, p->ai_next->ai_addrlen);
  ((struct sockaddr_in *)&ss)->sin_port = htons(p->dial.port);
  p->connect_attempts++;
  /* The address tried last is the peer: the one connected to, or the
   * last that failed. */
  wsp__addr_name((const struct sockaddr *)&ss, p->dial.port, p->result->peer,
                 sizeof(p->result->peer));
  rc = wsp__conn_connect(&p->conn, (struct sockaddr *)&ss,
                         p->ai_next->ai_addrlen);
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
  if (wsp__random(&p->ctx->rng, nonce, sizeof(nonce)) != 0 ||
      wsp__ws_key(nonce, p->key) != 0) {
    finish(p, WSP_OUTCOME_INTERNAL_ERROR, "random number generator failed");
    return;
  }
  if (wsp__upgrade_request(p->cfg, p->token, p->key, &req, &len) != 0) {
    finish(p, WSP_OUTCOME_INTERNAL_ERROR, "out of memory");
    return;
  }
  rc = stream_write(p, (const uint8_t *)req, len);
  free(req);
  /* A failed write is the connection's fact: the read side tells why. */
  if (rc == 0)
    mark_tx(p, WSP_MARK_UPGRADE_SENT);
}

/* Copies what a non-101 response said into the result. */
static void record_response(wsp_probe *p) {
  wsp__upgrade *up = p->up;
  wsp_result *r = p->result;
  if (up->status == 0 || r->http_status != 0)
    return;
  r->http_status = up->status;
  r->http_reason = wsp__strndup(up->reason, up->reason_len);
  for (size_t i = 0; i < up->nrecord; i++)
    (void)wsp__result_add_header(r, up->record[i], up->rec[i]);
  if (up->status != 101) {
    r->retry_after = wsp__strdup(up->h[WSP__H_RETRY_AFTER]);
    r->content_type = wsp__strdup(up->h[WSP__H_CONTENT_TYPE]);
  }
}

static void rejected(wsp_probe *p) {
  wsp__upgrade *up = p->up;
  wsp_result *r = p->result;
  char ra[96] = "";
  record_response(p);
  if (up->body_len > 0 && (r->body = malloc(up->body_len)) != NULL) {
    memcpy(r->body, up->body, up->body_len);
    r->body_len = up->body_len;
  }
  if (r->retry_after != NULL)
    snprintf(ra, sizeof(ra), " (Retry-After: %.64s)", r->retry_after);
  finish(p, WSP_OUTCOME_HANDSHAKE_REJECTED,
         "server refused the upgrade: HTTP %d %s%s", up->status,
         r->http_reason ? r->http_reason : "", ra);
}

static void send_first(wsp_probe *p);
static void run_steps(wsp_probe *p);
static void begin_close(wsp_probe *p);

/* Starts the delay, the hold or the script once the connection is open.
 * Delays count from the 101's arrival (its kernel stamp), not from when
 * the probe got round to it. */
static void start_open(wsp_probe *p) {
  uint64_t base = p->t0 + (uint64_t)(p->result->marks[WSP_MARK_RESPONSE] >= 0
                                         ? p->result->marks[WSP_MARK_RESPONSE]
                                         : now_ns(p));
  if (p->cfg->nsteps > 0) {
    run_steps(p);
  } else if (p->cfg->has_message) {
    if (p->ready != NULL) {
      /* A burst: wait, armed with the frame, for the campaign's release. */
      uv_timer_stop(&p->timer);
      p->timer_kind = TIMER_NONE;
      (void)wsp__ws_frame(&p->ws, p->cfg->message, p->cfg->message_len,
                          p->cfg->message_binary, &p->prebuilt,
                          &p->prebuilt_len);
      p->ready(p, p->ready_ud);
    } else if (p->delay_ms == 0) {
      send_first(p);
    } else {
      p->due_ns = base + (uint64_t)p->delay_ms * 1000000;
      arm_due(p);
    }
  } else {
    p->due_ns = base + (uint64_t)p->cfg->hold_ms * 1000000;
    arm_due(p);
  }
}

static void opened(wsp_probe *p, const uint8_t *rest, size_t rest_len) {
  wsp_result *r = p->result;
  const char *proto = p->up->h[WSP__H_PROTOCOL];
  wsp__pmd pmd;
  record_response(p);
  if (proto != NULL) {
    r->subprotocol = wsp__strdup(proto);
    r->redact_subprotocol = p->jwt_proto && strcmp(proto, p->jwt_proto) == 0;
  } else if (p->jwt_proto != NULL && p->cfg->require_subprotocol) {
    /* The token went in as a subprotocol; a server that took it selects
     * one. Silence usually means a proxy or server that ignored it. */
    finish(p, WSP_OUTCOME_HANDSHAKE_INVALID,
           "server selected no subprotocol although the token was offered "
           "as %s<redacted>",
           p->cfg->jwt_prefix);
    return;
  }
  if (p->up->pmd.on &&
      (r->extensions = wsp__strdup(p->up->h[WSP__H_EXTENSIONS])) == NULL) {
    finish(p, WSP_OUTCOME_INTERNAL_ERROR, "out of memory");
    return;
  }
  pmd = p->up->pmd;
  up_release(p);
  if (wsp__ws_open(&p->ws, p->cfg->max_message) != 0 ||
      (pmd.on && wsp__ws_set_deflate(&p->ws, &pmd) != 0)) {
    finish(p, WSP_OUTCOME_INTERNAL_ERROR, "out of memory");
    return;
  }
  p->open = 1;
  mark(p, WSP_MARK_OPEN);
  enter(p, WSP_PHASE_OPEN);
  /* A script is at its first step from the open on, even if the server
   * ends the probe before that step ran (-1 means no script). */
  if (p->cfg->nsteps > 0)
    p->result->step = 0;
  /* Frames that came in the same read as the 101 belong to the stream. */
  if (rest_len > 0)
    wsp__ws_feed(&p->ws, rest, rest_len);
  if (!p->decided)
    start_open(p);
}

static void upgrade_data(wsp_probe *p, const uint8_t *data, size_t len) {
  size_t used;
  wsp__up_state st = wsp__upgrade_parse(p->up, data, len, &used);
  if (p->up->headers_done)
    mark_rx(p, WSP_MARK_RESPONSE);
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
    finish(p, WSP_OUTCOME_HANDSHAKE_INVALID, "%s", p->up->err);
    break;
  }
}

/* ---- open connection ---- */

static int all_expected_seen(const wsp_probe *p) {
  uint32_t want =
      p->cfg->expect.n >= 32 ? 0xffffffffu : ((1u << p->cfg->expect.n) - 1);
  return (p->result->expected_seen & want) == want;
}

/* Our close: the exchange is complete (or a script closes). */
static void begin_close_with(wsp_probe *p, uint16_t code, const char *reason) {
  enter(p, WSP_PHASE_CLOSING);
  p->done = 1;
  p->our_close = code ? code : 1005;
  if (wsp__ws_close(&p->ws, code, (const uint8_t *)reason,
                    reason ? strlen(reason) : 0) == WSP_ENOMEM)
    finish(p, WSP_OUTCOME_INTERNAL_ERROR, "out of memory");
}

static void begin_close(wsp_probe *p) { begin_close_with(p, 1000, NULL); }

/* Sends a message now; 1 when it went out (or waits in the queue), 0 when
 * a write failed (the read side will say why), -1 when out of memory. */
static int send_now(wsp_probe *p, const uint8_t *data, size_t len, int binary) {
  int rc;
  if (p->prebuilt != NULL) {
    rc = wsp__ws_send_frame(&p->ws, p->prebuilt, p->prebuilt_len);
    free(p->prebuilt);
    p->prebuilt = NULL;
  } else {
    rc = wsp__ws_send(&p->ws, data, len, binary);
  }
  if (rc == WSP_ENOMEM) {
    finish(p, WSP_OUTCOME_INTERNAL_ERROR, "out of memory");
    return -1;
  }
  return rc == 0 && p->write_err == 0;
}

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
      if (p->timer_kind != TIMER_DELAY) {
        p->wait_from = uv_hrtime();
        p->due_ns = p->wait_from + (uint64_t)st->ms * 1000000;
        arm_due(p);
      }
      return; /* The timer moves on (see timer_cb). */
    case WSP__STEP_SEND:
      if (p->result->marks[WSP_MARK_FIRST_SENT] < 0)
        enter(p, WSP_PHASE_FIRST_SEND);
      if (send_now(p, st->data, st->len, st->binary) <= 0)
        return;
      mark_tx(p, WSP_MARK_FIRST_SENT);
      if (p->phase != WSP_PHASE_AWAITING_REPLY)
        enter(p, WSP_PHASE_AWAITING_REPLY);
      p->step++;
      break;
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
      if (p->timer_kind != TIMER_DEADLINE ||
          p->phase != WSP_PHASE_AWAITING_REPLY) {
        p->phase = WSP_PHASE_AWAITING_REPLY;
        arm(p, TIMER_DEADLINE,
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
  mark_tx(p, WSP_MARK_FIRST_SENT);
  enter(p, WSP_PHASE_AWAITING_REPLY);
  check_awaiting(p);
}

void wsp__probe_release(wsp_probe *p) {
  if (!p->decided && p->phase == WSP_PHASE_OPEN)
    send_first(p);
}

uint64_t wsp__probe_sent_at(const wsp_probe *p) {
  int64_t m = p->result->marks[WSP_MARK_FIRST_SENT];
  return m < 0 ? 0 : p->t0 + (uint64_t)m;
}

static void send_first(wsp_probe *p) {
  enter(p, WSP_PHASE_FIRST_SEND);
  /* A large message may still be queued; it counts as sent once written. */
  if (send_now(p, p->cfg->message, p->cfg->message_len,
               p->cfg->message_binary) > 0 &&
      !p->decided && !wsp__conn_pending(&p->conn))
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
      finish(p, WSP_OUTCOME_EXPECTATION_FAILED, "event %s arrived twice", type);
      return;
    }
    if (k != p->next_expected) {
      finish(p, WSP_OUTCOME_EXPECTATION_FAILED, "event %s arrived before %s",
             type, ex->v[p->next_expected]);
      return;
    }
    p->next_expected++;
  }
  p->result->expected_seen |= 1u << k;
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

/* ---- facts from the WebSocket session ---- */

static int ws_send(void *ud, const uint8_t *data, size_t len) {
  return stream_write(ud, data, len);
}

static void ws_message(void *ud, int binary, const uint8_t *msg, size_t len) {
  wsp_probe *p = ud;
  wsp_result *r = p->result;
  int64_t now = rx_now(p);
  char *type = NULL;
  if (p->decided)
    return;
  r->messages++;
  if (wsp_phase_rank(p->phase) >= wsp_phase_rank(WSP_PHASE_AWAITING_REPLY) &&
      r->marks[WSP_MARK_FIRST_RECEIVED] < 0)
    r->marks[WSP_MARK_FIRST_RECEIVED] = now;
  if (!binary) {
    int rc = wsp__event_type(msg, len, p->cfg->expect_key, &type);
    if (rc < 0) {
      finish(p, WSP_OUTCOME_INTERNAL_ERROR, "out of memory");
      return;
    }
    if (rc > 0) {
      if (wsp__result_add_event(r, type, strlen(type), now) != 0) {
        free(type);
        finish(p, WSP_OUTCOME_INTERNAL_ERROR, "out of memory");
        return;
      }
      expected_event(p, type);
      free(type);
    }
  }
  check_awaiting(p);
}

static void ws_close_received(void *ud, const wsp__close_frame *c) {
  close_frame(ud, c);
}

static void ws_close_sent(void *ud, int code, const uint8_t *reason,
                          size_t len) {
  wsp_probe *p = ud;
  wsp__close_set(&p->result->close_sent, code, reason, len);
  mark_tx(p, WSP_MARK_CLOSE_SENT);
}

static void ws_protocol_error(void *ud, int sent) {
  wsp_probe *p = ud;
  if (p->decided)
    return;
  if (sent == 1009)
    finish(p, WSP_OUTCOME_PROTOCOL_ERROR,
           "server message exceeds the maximum of %llu bytes; sent close 1009",
           (unsigned long long)p->cfg->max_message);
  else if (sent == 1007)
    finish(p, WSP_OUTCOME_PROTOCOL_ERROR,
           "server sent invalid UTF-8 in a text or close frame; sent close "
           "1007");
  else if (sent >= 0)
    finish(p, WSP_OUTCOME_PROTOCOL_ERROR,
           "server violated the WebSocket framing protocol (masked frame, "
           "reserved bits or opcode, or a malformed control frame or "
           "length); sent close %d",
           sent);
  else
    finish(p, WSP_OUTCOME_PROTOCOL_ERROR,
           "server violated the WebSocket framing protocol (masked frame, "
           "reserved bits or opcode, or a malformed control frame or "
           "length)");
}

static void ws_out_of_memory(void *ud) {
  wsp_probe *p = ud;
  if (!p->decided)
    finish(p, WSP_OUTCOME_INTERNAL_ERROR, "out of memory");
}

static const wsp__ws_cbs ws_cbs = {
    ws_send,       ws_message,        ws_close_received,
    ws_close_sent, ws_protocol_error, ws_out_of_memory,
};

/* ---- facts from the stream (connection and TLS) ---- */

/* Plaintext from the server: the upgrade response, then frames. */
static void on_plain(wsp_probe *p, const uint8_t *data, size_t len) {
  if (p->decided)
    return; /* Lingering: the outcome is fixed, only the end matters. */
  if (p->open) {
    wsp__ws_feed(&p->ws, data, len);
  } else if (up_get(p) != NULL) {
    upgrade_data(p, data, len);
    up_put(p);
  }
}

/* The server ended the stream (EOF or reset) after everything it sent
 * before was handled. Only without a close frame does it decide. */
static void stream_ended(wsp_probe *p, int err) {
  wsp_result *r = p->result;
  int reset = err != UV_EOF;
  char wrote[96] = "";
  if (p->ended)
    return;
  p->ended = 1;
  if (p->decided) {
    teardown(p);
    return;
  }
  if (p->phase == WSP_PHASE_PROXY) {
    finish(p, WSP_OUTCOME_PROXY_FAILED, "proxy %s %s the connection %s",
           p->dial.proxy->shown, reset ? "reset" : "closed",
           p->tun != NULL && p->tun->header_bytes > 0
               ? "in the middle of its answer to CONNECT"
               : "before answering CONNECT");
    return;
  }
  if (p->phase == WSP_PHASE_TLS) {
    finish(p, WSP_OUTCOME_TLS_FAILED,
           "server %s the connection during the TLS handshake",
           reset ? "reset" : "closed");
    return;
  }
  if (!p->open && up_get(p) != NULL) {
    wsp__up_state st = reset ? p->up->state : wsp__upgrade_eof(p->up);
    if (st == WSP__UP_REJECTED ||
        (p->up->headers_done && p->up->status != 101)) {
      rejected(p);
    } else if (p->up->status == 0 && p->up->header_bytes == 0) {
      finish(p, WSP_OUTCOME_ABNORMAL_CLOSURE,
             "server %s the connection before responding to the upgrade",
             reset ? "reset" : "closed");
    } else {
      record_response(p);
      finish(p, WSP_OUTCOME_HANDSHAKE_INVALID, "%s",
             reset ? "connection reset in the middle of the upgrade response"
                   : p->up->err);
    }
    up_put(p);
    return;
  }
  if (p->write_err != 0)
    snprintf(wrote, sizeof(wrote), " (a write had failed: %s)",
             uv_strerror(p->write_err));
  /* TCP ended without a close frame: what RFC 6455 calls 1006. */
  r->close_recv.code = 1006;
  finish(p, WSP_OUTCOME_ABNORMAL_CLOSURE,
         "server %s the connection without a close frame during %s%s",
         reset ? "reset" : "closed", wsp_phase_name(p->phase), wrote);
}

static int tls_send(void *ud, const uint8_t *data, size_t len) {
  wsp_probe *p = ud;
  return wsp__conn_write(&p->conn, data, len);
}

static void start_upgrade(wsp_probe *p);

static void tls_secure(void *ud) {
  wsp_probe *p = ud;
  wsp_result *r = p->result;
  r->tls_version = wsp__strdup(wsp__tls_version(p->tls));
  r->tls_cipher = wsp__strdup(wsp__tls_cipher(p->tls));
  r->tls_alpn = wsp__strdup(wsp__tls_alpn(p->tls));
  r->tls_verified = wsp__tls_verified(p->tls);
  r->tls_resumed = wsp__tls_resumed(p->tls);
  r->tls_group = wsp__tls_group(p->tls);
  mark(p, WSP_MARK_TLS_DONE);
  if (!p->decided)
    start_upgrade(p);
}

static int tls_plaintext(void *ud, const uint8_t *data, size_t len) {
  wsp_probe *p = ud;
  on_plain(p, data, len);
  return p->torn_down;
}

static void tls_closed(void *ud, int close_notify) {
  wsp_probe *p = ud;
  p->result->tls_close_notify = close_notify;
  stream_ended(p, UV_EOF);
}

static void tls_failed(void *ud, const char *why) {
  wsp_probe *p = ud;
  if (p->decided) {
    if (p->lingering)
      teardown(p);
    return;
  }
  finish(p, WSP_OUTCOME_TLS_FAILED, "%s", why);
}

static const wsp__tls_cbs tls_cbs = {
    tls_send, tls_secure, tls_plaintext, tls_closed, tls_failed,
};

static void start_tls(wsp_probe *p) {
  char err[256];
  wsp__tls_params prm;
  int rc;
  enter(p, WSP_PHASE_TLS);
  prm.host = p->cfg->url.host;
  prm.port = p->cfg->url.port;
  prm.ip_literal = p->cfg->url.ip_literal;
  prm.ca_file = p->cfg->ca_file;
  prm.insecure = p->cfg->tls_insecure;
  prm.cert_file = p->cfg->cert_file;
  prm.key_file = p->cfg->key_file;
  prm.resume = p->cfg->tls_resume;
  rc = wsp__tls_new(&p->ctx->tls, &prm, &tls_cbs, p, &p->tls, err, sizeof(err));
  if (rc == WSP_ENOMEM)
    finish(p, WSP_OUTCOME_INTERNAL_ERROR, "out of memory");
  else if (rc != 0)
    finish(p, WSP_OUTCOME_TLS_FAILED, "%s", err);
  else
    wsp__tls_start(p->tls);
}

/* Connected to the server, directly or through the tunnel. */
static void through(wsp_probe *p) {
  if (p->cfg->url.tls)
    start_tls(p);
  else
    start_upgrade(p);
}

static void start_proxy(wsp_probe *p) {
  char *req;
  size_t len;
  enter(p, WSP_PHASE_PROXY);
  if ((p->tun = malloc(sizeof(*p->tun))) == NULL ||
      wsp__tunnel_request(p->cfg->url.host, p->cfg->url.port, p->dial.proxy,
                          &req, &len) != 0) {
    finish(p, WSP_OUTCOME_INTERNAL_ERROR, "out of memory");
    return;
  }
  wsp__tunnel_init(p->tun);
  /* A failed write is the connection's fact: the read side tells why. */
  (void)wsp__conn_write(&p->conn, (const uint8_t *)req, len);
  memset(req, 0, len); /* It may hold the proxy's credentials. */
  free(req);
}

/* The proxy's answer to CONNECT; what follows a 2xx is the server's. */
static void tunnel_data(wsp_probe *p, const uint8_t *data, size_t len) {
  wsp__tunnel *t = p->tun;
  size_t used;
  wsp__tunnel_state st = wsp__tunnel_parse(t, data, len, &used);
  if (t->status != 0)
    p->result->proxy_status = t->status;
  switch (st) {
  case WSP__TUNNEL_MORE:
    return;
  case WSP__TUNNEL_UP:
    mark_rx(p, WSP_MARK_TUNNEL);
    free(p->tun);
    p->tun = NULL;
    through(p);
    if (used < len && !p->decided) {
      if (p->tls != NULL)
        wsp__tls_feed(p->tls, data + used, len - used);
      else
        on_plain(p, data + used, len - used);
    }
    return;
  case WSP__TUNNEL_REFUSED:
    finish(p, WSP_OUTCOME_PROXY_REJECTED,
           "proxy %s refused to CONNECT to %s port %u: HTTP %d %s",
           p->dial.proxy->shown, p->cfg->url.host, (unsigned)p->cfg->url.port,
           t->status, t->reason);
    return;
  case WSP__TUNNEL_MALFORMED:
    finish(p, WSP_OUTCOME_PROXY_FAILED, "proxy %s answered CONNECT with %s",
           p->dial.proxy->shown,
           t->header_bytes > WSP__TUNNEL_MAX_HEADER
               ? "more than 16 KiB of headers"
               : "something that is not an HTTP response");
    return;
  }
}

static void conn_connected(void *ud, int status) {
  wsp_probe *p = ud;
  if (p->decided)
    return;
  if (status < 0) {
    connect_failed(p, status);
    return;
  }
  mark(p, WSP_MARK_CONNECTED);
  if (p->dial.proxy != NULL)
    start_proxy(p);
  else
    through(p);
}

static void conn_data(void *ud, const uint8_t *data, size_t len,
                      uint64_t rx_ns) {
  wsp_probe *p = ud;
  p->rx_ns = rx_ns;
  if (p->tun != NULL) {
    if (!p->decided)
      tunnel_data(p, data, len);
  } else if (p->tls != NULL)
    wsp__tls_feed(p->tls, data, len);
  else
    on_plain(p, data, len);
  p->rx_ns = 0;
}

static void conn_drained(void *ud) {
  wsp_probe *p = ud;
  if (!p->decided && p->phase == WSP_PHASE_FIRST_SEND)
    first_sent(p);
}

/* A write failed: the server reset or closed its side. What it sent before
 * is still to be read (conn.c reads the socket empty before it reports the
 * end), and decides; the closing timeout bounds the wait for that end. */
static void conn_write_failed(void *ud, int err) {
  wsp_probe *p = ud;
  uint32_t ms = p->cfg->timeout_ms[WSP_PHASE_CLOSING];
  p->write_err = err;
  if (err == UV_ENOMEM) {
    finish(p, WSP_OUTCOME_INTERNAL_ERROR, "out of memory");
    return;
  }
  if (p->decided || ms == 0)
    return;
  arm(p, TIMER_DEADLINE, ms);
}

static void conn_ended(void *ud, int err) {
  wsp_probe *p = ud;
  /* Through TLS, a bare EOF is TLS's fact to tell (close_notify or not). */
  if (!(p->tls != NULL && err == UV_EOF && wsp__tls_eof(p->tls)))
    stream_ended(p, err);
}

static const wsp__conn_cbs conn_cbs = {
    conn_connected, conn_data, conn_drained, conn_write_failed, conn_ended,
};

/* ---- the timer ---- */

/* The delay or hold is over. */
static void delay_over(wsp_probe *p) {
  char missing[256];
  if (p->cfg->has_message) {
    send_first(p);
  } else if (p->cfg->expect.n > 0 && !all_expected_seen(p)) {
    /* Holding without a message: the events were to come unprompted. As
     * after a first message, a silent server timed out and one that spoke
     * without them failed the expectation. */
    missing_events(p, missing, sizeof(missing));
    if (p->result->messages > 0)
      finish(p, WSP_OUTCOME_EXPECTATION_FAILED,
             "expected event(s) not received while holding the connection "
             "for %u ms: %s (%u message(s) received)",
             p->cfg->hold_ms, missing, p->result->messages);
    else
      finish(p, WSP_OUTCOME_TIMEOUT,
             "no message while holding the connection for %u ms (expected: "
             "%s)",
             p->cfg->hold_ms, missing);
  } else {
    begin_close(p);
  }
}

static void timer_cb(uv_timer_t *t) {
  wsp_probe *p = t->data;
  char missing[256];
  timer_kind kind = p->timer_kind;
  uint32_t ms = p->cfg->timeout_ms[p->phase];
  p->timer_kind = TIMER_NONE;
  if (kind == TIMER_DEADLINE && !p->torn_down) {
    uint64_t now = uv_hrtime();
    if (p->deadline == UINT64_MAX)
      return; /* The phase has no deadline. */
    if (now < p->deadline) {
      /* The deadline moved, or the timer counted from a stale loop time:
       * wait for the rest, in whole milliseconds rounded up. */
      p->timer_kind = kind;
      p->timer_due = p->deadline;
      uv_timer_start(&p->timer, timer_cb,
                     (p->deadline - now + 999999) / 1000000, 0);
      return;
    }
  }
  if (p->lingering || p->decided) {
    teardown(p);
    return;
  }
  if (kind == TIMER_DELAY) {
    /* A delay is never shorter than asked: wait out the remainder. */
    if (uv_hrtime() < p->due_ns) {
      arm_due(p);
      return;
    }
    if (p->cfg->nsteps > 0) {
      p->step++;
      run_steps(p);
    } else {
      delay_over(p);
    }
    return;
  }
  if (p->write_err != 0) {
    /* The write failed because the server had ended the connection, so
     * what it sent before is in the socket already and decides, however
     * late the loop comes to read it (its timers run before it polls). */
    wsp__conn_read(&p->conn);
    if (p->decided)
      return;
    finish(p, WSP_OUTCOME_ABNORMAL_CLOSURE,
           "could not send to the server (%s), and it did not end the "
           "connection within %u ms",
           uv_strerror(p->write_err), p->cfg->timeout_ms[WSP_PHASE_CLOSING]);
    return;
  }
  switch (p->phase) {
  case WSP_PHASE_CONNECT:
    finish(p, WSP_OUTCOME_CONNECT_TIMEOUT,
           "no connection to %sport %u within %u ms",
           p->dial.proxy ? "the proxy's " : "", (unsigned)p->dial.port, ms);
    break;
  case WSP_PHASE_PROXY:
    finish(p, WSP_OUTCOME_PROXY_FAILED,
           "proxy %s did not answer CONNECT within %u ms", p->dial.proxy->shown,
           ms);
    break;
  case WSP_PHASE_TLS:
    finish(p, WSP_OUTCOME_TLS_FAILED, "TLS handshake timed out after %u ms",
           ms);
    break;
  case WSP_PHASE_UPGRADE:
    if (up_get(p) == NULL)
      break;
    if (p->up->headers_done && p->up->status != 101)
      rejected(p); /* The status is known; the body was slow. */
    else
      finish(p, WSP_OUTCOME_TIMEOUT,
             "no complete upgrade response within %u ms (%zu header bytes "
             "received)",
             ms, p->up->header_bytes);
    up_put(p);
    break;
  case WSP_PHASE_AWAITING_REPLY:
    if (p->cfg->nsteps > 0 && p->step < p->cfg->nsteps) {
      const wsp__step *st = &p->cfg->steps[p->step];
      uint32_t w = st->ms ? st->ms : ms;
      if (p->result->messages > 0)
        finish(p, WSP_OUTCOME_EXPECTATION_FAILED,
               "step #%zu: no %s within %u ms (%u message(s) received)",
               p->step, (const char *)st->data, w, p->result->messages);
      else
        finish(p, WSP_OUTCOME_TIMEOUT, "step #%zu: no reply within %u ms",
               p->step, w);
    } else if (p->cfg->expect.n > 0 && p->result->messages > 0)
      finish(p, WSP_OUTCOME_EXPECTATION_FAILED,
             "expected event(s) not received within %u ms: %s (%u message(s) "
             "received)",
             ms, missing_events(p, missing, sizeof(missing)),
             p->result->messages);
    else
      finish(p, WSP_OUTCOME_TIMEOUT, "no reply within %u ms", ms);
    break;
  case WSP_PHASE_CLOSING:
    finish(p, WSP_OUTCOME_TIMEOUT,
           "server did not answer our close within %u ms", ms);
    break;
  default:
    finish(p, WSP_OUTCOME_TIMEOUT, "%s took longer than %u ms",
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
static int take_token(wsp_probe *p, uint32_t index, const uint64_t *seed) {
  const wsp_config *cfg = p->cfg;
  const char *prefix = cfg->jwt_prefix;
  char err[200];
  size_t n, pl = strlen(prefix);
  if (cfg->jwt_spec.enabled) {
    uv_timeval64_t tv;
    uv_gettimeofday(&tv);
    if (wsp__jwt_mint(&p->ctx->jwt_keys, &p->ctx->rng, &cfg->jwt_spec, index,
                      seed, tv.tv_sec, &p->token, err, sizeof(err)) != 0)
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
  wsp__conn_init(&p->conn, &ctx->net, &conn_cbs, p);
  wsp__ws_init(&p->ws, &ctx->ws, &ctx->rng, &ws_cbs, p);
  if (opts->borrow_cfg) {
    p->cfg = cfg;
  } else if ((p->cfg = p->own_cfg = wsp_config_dup(cfg)) == NULL) {
    goto nomem;
  }
  if ((p->result = wsp__result_new()) == NULL)
    goto nomem;
  p->result->index = index;
  p->result->delay_ms = opts->delay_ms;
  p->delay_ms = opts->delay_ms;
  p->ready = opts->ready;
  p->ready_ud = opts->ready_ud;
  if ((rc = take_token(p, index, opts->seed)) != 0 ||
      (rc = uv_timer_init(ctx->loop, &p->timer)) != 0)
    goto fail;
  p->timer.data = p;
  p->handles = 1;
  ctx->nprobes++;
  p->t0 = uv_hrtime();
  p->result->t0 = p->t0;
  p->phase = WSP_PHASE_RESOLVE;
  wsp__dial_of(&p->cfg->url, &p->cfg->proxy, p->cfg->noproxy, &p->dial);
  if (out != NULL)
    *out = p;

  if ((rc = wsp__pin_lookup(&cfg->pins, p->dial.host, p->dial.port,
                            &p->literal_ai)) != 0) {
    /* Pinned (--resolve): no resolver. */
    if (rc < 0)
      finish(p, WSP_OUTCOME_INTERNAL_ERROR, "out of memory");
    else
      connect_first(p, p->literal_ai);
  } else if (opts->ai != NULL) {
    /* Resolved once for the whole campaign. */
    connect_first(p, opts->ai);
  } else if (p->dial.ip_literal) {
    /* Literals need no resolver (and no thread-pool queueing). */
    if ((p->literal_ai = wsp__addr_literal(p->dial.host, p->dial.port)) == NULL)
      finish(p, WSP_OUTCOME_INTERNAL_ERROR, "out of memory");
    else
      connect_first(p, p->literal_ai);
  } else {
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    p->gai.data = p;
    enter(p, WSP_PHASE_RESOLVE);
    rc = uv_getaddrinfo(ctx->loop, &p->gai, on_resolved, p->dial.host, NULL,
                        &hints);
    if (rc != 0)
      finish(p, WSP_OUTCOME_DNS_FAILED, "cannot resolve %s'%s': %s",
             p->dial.proxy ? "the proxy " : "", p->dial.host, uv_strerror(rc));
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
  finish(p, WSP_OUTCOME_CANCELLED, "cancelled");
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
