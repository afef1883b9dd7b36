/*
 * raceserver: a WebSocket server that reproduces the failures wsprobe tells
 * apart. It is the demo's target and the tests' main fixture.
 *
 * - a readiness window: a message that arrives within --ready-delay ms of
 *   the upgrade gets close 1011 "Internal error" (judged by the kernel's
 *   arrival stamp of the message against the time the 101 was written, so
 *   that the server's own lateness does not move the window);
 * - HTTP rejections: 503 for the first K upgrades, a fraction of them, or
 *   beyond a number of open connections; 401/403 for missing, bad or
 *   expired JWTs (verified with wsprobe's own helpers);
 * - the agent event sequence in reply to a message, or an echo, silence,
 *   a close with any code (1012-1014 included), a dropped or reset TCP;
 * - broken handshakes, a greeting frame in the same write as the 101;
 * - TLS (--tls-cert, --tls-key) with every mode above, with session
 *   tickets and a session ID cache for resumption, and a certificate that
 *   changes after some connections.
 *
 * Single-threaded on libuv; frames through wslay; requests parsed by llhttp.
 */
#include <errno.h>
#include <getopt.h>
#include <linux/sockios.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <llhttp.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_cache.h>
#include <mbedtls/ssl_ticket.h>
#include <mbedtls/x509_crt.h>
#include <uv.h>
#include <wslay/wslay.h>

#include "skeleton.h"
#include "wsprobe.h"

#define MAX_REQUEST (16 * 1024)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *const agent_events[] = {
    "agent_started",  "agent_thinking",  "tool_executing",
    "tool_completed", "agent_completed",
};

/* What happens when a message arrives once the pipeline is ready. */
typedef enum {
  ON_EVENTS,
  ON_ECHO,
  ON_SILENT,
  ON_CLOSE,
  ON_DROP,
  ON_RST,
  ON_EVENTS_THEN_CLOSE,
} on_message_mode;

typedef enum {
  HS_OK,
  HS_BAD_ACCEPT,
  HS_NO_UPGRADE,
  HS_UNOFFERED_SUBPROTOCOL,
  HS_EXTENSION,
  HS_EARLY_HINTS,
} handshake_mode;

/* A certificate served, with what it resumes sessions with: sessions
 * made under one certificate cannot be resumed under another. */
typedef struct {
  mbedtls_ssl_config conf;            /* Its TLS configuration. */
  mbedtls_x509_crt cert;              /* The certificate chain. */
  mbedtls_pk_context key;             /* Its key. */
  mbedtls_ssl_ticket_context tickets; /* Ticket keys (--tls-tickets). */
  mbedtls_ssl_cache_context cache;    /* Session IDs (--tls-session-cache). */
} tls_site;

/* The server's settings and state. */
typedef struct {
  uv_loop_t *loop;                 /* The one loop (the skeleton's). */
  uint8_t rbuf[64 * 1024];         /* Shared read buffer. */
  uint8_t pbuf[16 * 1024];         /* Shared TLS plaintext buffer. */
  uint32_t ready_delay;            /* Readiness window, ms. */
  uint64_t reject_first;           /* 503 for the first K upgrades. */
  double reject_fraction;          /* 503 for this fraction. */
  uint64_t rng;                    /* PRNG state for the fraction. */
  uint64_t max_conns;              /* 503 beyond this many open. */
  int require_jwt;                 /* 401 without a token. */
  wsp_jwt_alg jwt_alg;             /* Verification algorithm. */
  uint8_t *jwt_key;                /* Secret or public key; NULL: no
                                      verification. */
  size_t jwt_key_len;              /* Its length. */
  const char *select_proto;        /* Subprotocol to select if offered. */
  handshake_mode handshake;        /* Broken handshakes. */
  const char *greeting;            /* Text frame sent with the 101. */
  char extra[1024];                /* Header lines added to the 101. */
  on_message_mode on_message;      /* Reply behaviour. */
  uint16_t close_code;             /* For ON_CLOSE and events-then-close. */
  const char *close_reason;        /* Its reason. */
  uint32_t event_interval;         /* ms between events. */
  uint32_t reply_delay;            /* ms before replying. */
  int rst_after_close;             /* Reset TCP once our close frame is
                                      written, as many servers do. */
  int report_arrival;              /* Close reasons say when the first
                                      message arrived after the 101. */
  int quiet;                       /* No stats on exit. */
  int tls;                         /* Sites in use: 0 (no TLS), 1 or 2. */
  tls_site site[2];                /* The certificate, then the next one. */
  uint64_t tls_next_after;         /* Connections served with the first. */
  uint64_t tls_conns;              /* TLS connections accepted. */
  int tls_tickets;                 /* Issue and accept session tickets. */
  int tls_session_cache;           /* Resume by session ID. */
  mbedtls_x509_crt tls_ca;         /* CAs for client certificates. */
  mbedtls_entropy_context entropy; /* Seeds the DRBG. */
  mbedtls_ctr_drbg_context drbg;   /* For TLS. */
  uint64_t upgrades;               /* Upgrade requests seen. */
  uint64_t open_conns;             /* WebSocket connections open now. */
  uint64_t stats[8];               /* accepted, 101, 503, 401, 403, 1011,
                                      events, other rejections. */
  uint64_t nconns;                 /* Connections alive (any state). */
} server;

enum {
  ST_ACCEPTED,
  ST_101,
  ST_503,
  ST_401,
  ST_403,
  ST_1011,
  ST_EVENTS,
  ST_OTHER
};

static server srv;

/* One client connection. */
typedef struct conn {
  uv_tcp_t tcp;               /* The socket. */
  uv_timer_t timer;           /* Events, reply delay, close linger. */
  uint64_t reply_due;         /* --reply-delay: uv_hrtime() to reply at. */
  int handles;                /* Handles not yet closed. */
  int closing;                /* uv_close requested. */
  llhttp_t *http;             /* Request parser; NULL once upgraded. */
  size_t req_bytes;           /* Request bytes seen. */
  char field[64];             /* Header name being read (lower case). */
  size_t field_len;           /* Its length. */
  int field_id;               /* Which kept header, or -1. */
  char *hdr[6];               /* Kept headers, see hdr_names. */
  char *url;                  /* Request target. */
  int headers_done;           /* The request's blank line was seen. */
  wslay_event_context_ptr ws; /* Frames once open. */
  const uint8_t *in;          /* Bytes for wslay's recv. */
  size_t in_len;              /* How many. */
  mbedtls_ssl_context *tls;   /* TLS session or NULL. */
  int tls_done;               /* Handshake finished. */
  const uint8_t *tin;         /* Ciphertext for mbedTLS. */
  size_t tin_len;             /* How many. */
  uint64_t ready_at;          /* uv_hrtime() when ready: the 101's write
                                 plus the readiness delay. */
  uint64_t rx_ns;             /* Kernel arrival stamp of the bytes being
                                 read (uv_hrtime() clock), or 0. */
  int64_t arrival_ns;         /* The first message's arrival after the
                                 101 was written, or -1. */
  int counted_open;           /* Counted in srv.open_conns. */
  int events_next;            /* Next agent event to send. */
  int replying;               /* A reply sequence is running. */
  uint8_t *pending;           /* Echo held during --reply-delay. */
  size_t pending_len;         /* Its length. */
  int pending_op;             /* Its opcode. */
  int shut;                   /* Close handshake done; closing TCP. */
  int resetting;              /* --rst-after-close: waiting for the close
                                 frame to leave, then reset. */
  int reset_polls;            /* Send-queue checks so far. */
} conn;

static const char *const hdr_names[] = {
    "upgrade",
    "connection",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-protocol",
    "authorization",
};
enum { H_UPGRADE, H_CONNECTION, H_KEY, H_VERSION, H_PROTOCOL, H_AUTH };

static uint64_t next_rand(void) {
  uint64_t z = (srv.rng += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* ---- connection lifetime ---- */

static void on_conn_closed(uv_handle_t *h) {
  conn *c = h->data;
  if (--c->handles > 0)
    return;
  if (c->counted_open)
    srv.open_conns--;
  if (c->http != NULL)
    free(c->http);
  for (size_t i = 0; i < ARRAY_SIZE(c->hdr); i++)
    free(c->hdr[i]);
  free(c->url);
  wslay_event_context_free(c->ws);
  if (c->tls != NULL) {
    mbedtls_ssl_free(c->tls);
    free(c->tls);
  }
  free(c->pending);
  free(c);
  srv.nconns--;
}

static void conn_close(conn *c, int reset) {
  if (c->closing)
    return;
  c->closing = 1;
  uv_close((uv_handle_t *)&c->timer, on_conn_closed);
  if (reset)
    uv_tcp_close_reset(&c->tcp, on_conn_closed);
  else
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

/* ---- writing ---- */

static void on_shutdown(uv_shutdown_t *req, int status) {
  conn *c = req->data;
  (void)status;
  free(req);
  conn_close(c, 0);
}

/* Closes once everything queued has been written. */
static void close_after_flush(conn *c) {
  uv_shutdown_t *req;
  if (c->closing)
    return;
  if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0 ||
      (req = malloc(sizeof(*req))) == NULL) {
    conn_close(c, 0);
    return;
  }
  req->data = c;
  if (uv_shutdown(req, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
    free(req);
    conn_close(c, 0);
  }
}

typedef struct {
  uv_write_t req; /* libuv request. */
  int then_close; /* Close the connection once written. */
  conn *c;        /* Owner. */
  uint8_t data[]; /* Bytes. */
} wreq;

static void on_written(uv_write_t *req, int status) {
  wreq *w = (wreq *)req;
  conn *c = w->c;
  int close_now = w->then_close && status != UV_ECANCELED;
  free(w);
  if (close_now)
    conn_close(c, 0);
}

/* Raw bytes to the socket: try at once, queue the rest. */
static int raw_write(conn *c, const uint8_t *data, size_t len, int then_close) {
  uv_buf_t b;
  size_t done = 0;
  wreq *w;
  int rc;
  if (c->closing)
    return -1;
  if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0) {
    b = uv_buf_init((char *)data, (unsigned)len);
    rc = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    if (rc > 0)
      done = (size_t)rc;
    else if (rc != UV_EAGAIN && rc < 0)
      return -1;
    if (done == len) {
      if (then_close)
        conn_close(c, 0);
      return 0;
    }
  }
  if ((w = malloc(sizeof(*w) + len - done)) == NULL)
    return -1;
  memcpy(w->data, data + done, len - done);
  w->then_close = then_close;
  w->c = c;
  b = uv_buf_init((char *)w->data, (unsigned)(len - done));
  if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
    free(w);
    return -1;
  }
  return 0;
}

/* Plaintext out, through TLS when it is on. */
static int conn_write(conn *c, const uint8_t *data, size_t len,
                      int then_close) {
  if (c->tls == NULL)
    return raw_write(c, data, len, then_close);
  while (len > 0) {
    int n = mbedtls_ssl_write(c->tls, data, len);
    if (n < 0)
      return -1;
    data += n;
    len -= (size_t)n;
  }
  if (then_close)
    close_after_flush(c);
  return 0;
}

static int bio_send(void *ud, const unsigned char *buf, size_t len) {
  (void)raw_write(ud, buf, len, 0);
  return (int)len;
}

static int bio_recv(void *ud, unsigned char *buf, size_t len) {
  conn *c = ud;
  if (c->tin_len == 0)
    return MBEDTLS_ERR_SSL_WANT_READ;
  if (len > c->tin_len)
    len = c->tin_len;
  memcpy(buf, c->tin, len);
  c->tin += len;
  c->tin_len -= len;
  return (int)len;
}

/* ---- HTTP responses ---- */

static void respond(conn *c, int status, const char *reason, const char *extra,
                    const char *body) {
  char buf[1024];
  int n = snprintf(buf, sizeof(buf),
                   "HTTP/1.1 %d %s\r\n%sContent-Length: %zu\r\n"
                   "Connection: close\r\n\r\n%s",
                   status, reason, extra, strlen(body), body);
  conn_write(c, (const uint8_t *)buf, (size_t)n, 1);
}

/* ---- frames ---- */

static ssize_t ws_recv(wslay_event_context_ptr ws, uint8_t *buf, size_t len,
                       int flags, void *ud) {
  conn *c = ud;
  (void)flags;
  if (c->in_len == 0) {
    wslay_event_set_error(ws, WSLAY_ERR_WOULDBLOCK);
    return -1;
  }
  if (len > c->in_len)
    len = c->in_len;
  memcpy(buf, c->in, len);
  c->in += len;
  c->in_len -= len;
  return (ssize_t)len;
}

static ssize_t ws_send(wslay_event_context_ptr ws, const uint8_t *data,
                       size_t len, int flags, void *ud) {
  (void)flags;
  if (conn_write(ud, data, len, 0) != 0) {
    wslay_event_set_error(ws, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
  }
  return (ssize_t)len;
}

static void on_linger(uv_timer_t *t) { conn_close(t->data, 0); }

static void on_reset_poll(uv_timer_t *t);

/* Whether bytes of ours are not yet acknowledged by the peer's kernel
 * (SIOCOUTQ: queued in libuv, unsent, or sent and not ACKed); unknown
 * counts as none. */
static int unacked(conn *c) {
  uv_os_fd_t fd;
  int n = 0;
  if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > 0)
    return 1;
  return uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0 &&
         ioctl(fd, SIOCOUTQ, &n) == 0 && n > 0;
}

/*
 * Resets the connection once the client's kernel has acknowledged
 * everything written. Transmitted is not enough: on a loaded machine a
 * client was seen to get the events, then the reset, and never the close
 * frame sent between them (on loopback a segment waits in the sending
 * CPU's backlog until its softirq runs, which a busy machine defers, and
 * a reset sent from the other CPU need not wait for it). That client is
 * right to report no close frame; a test of what it does with one must
 * make sure it got one. Once ACKed, the bytes are in the client's
 * receive queue, and Linux keeps them readable after the reset. A few
 * quick checks, then one a millisecond, for 2 s at most (a delayed ACK
 * takes 200 ms at most); a reset that cannot wait says so on stderr.
 */
static void reset_when_acked(conn *c) {
  if (c->closing)
    return;
  for (int i = 0; i < 1000 && unacked(c); i++)
    sched_yield();
  if (!unacked(c)) {
    conn_close(c, 1);
    return;
  }
  if (c->reset_polls++ >= 2000) {
    fprintf(stderr, "raceserver: reset with bytes still unacknowledged\n");
    conn_close(c, 1);
    return;
  }
  uv_timer_start(&c->timer, on_reset_poll, 1, 0);
}

static void on_reset_poll(uv_timer_t *t) { reset_when_acked(t->data); }

/* Sends what wslay queued; after the close handshake the server closes
 * TCP first, so that TIME_WAIT stays here. */
static void ws_flush(conn *c) {
  if (c->closing || c->ws == NULL || c->resetting)
    return;
  if (wslay_event_want_write(c->ws) && wslay_event_send(c->ws) != 0) {
    conn_close(c, 0);
    return;
  }
  if (srv.rst_after_close && wslay_event_get_close_sent(c->ws)) {
    /* Reset without waiting for the client's answer (which then meets a
     * closed socket), once the close frame has left. */
    if (!c->resetting) {
      c->resetting = 1;
      reset_when_acked(c);
    }
    return;
  }
  if (wslay_event_get_close_sent(c->ws) &&
      wslay_event_get_close_received(c->ws)) {
    close_after_flush(c);
  } else if (wslay_event_get_close_sent(c->ws) && !c->shut) {
    /* Our close went first: give the client a second to answer. */
    c->shut = 1;
    uv_timer_start(&c->timer, on_linger, 1000, 0);
  }
}

static void send_text(conn *c, const char *text) {
  struct wslay_event_msg m = {WSLAY_TEXT_FRAME, (const uint8_t *)text,
                              strlen(text)};
  wslay_event_queue_msg(c->ws, &m);
}

static void server_close(conn *c, uint16_t code, const char *reason) {
  char with[124];
  if (code == 1011)
    srv.stats[ST_1011]++;
  if (srv.report_arrival && c->arrival_ns >= 0) {
    /* What this server measured, for tests to hold a client's own
     * measurement against. */
    snprintf(with, sizeof(with), "%s%sarrived %.6f ms after the 101",
             reason ? reason : "", reason && *reason ? "; " : "",
             (double)c->arrival_ns / 1e6);
    reason = with;
  }
  wslay_event_queue_close(c->ws, code, (const uint8_t *)reason,
                          reason ? strlen(reason) : 0);
}

static void on_event_timer(uv_timer_t *t);

/* Sends the next agent event(s); with an interval, one per tick. */
static void send_events(conn *c) {
  char buf[96];
  do {
    snprintf(buf, sizeof(buf), "{\"type\":\"%s\",\"seq\":%d}",
             agent_events[c->events_next], c->events_next + 1);
    send_text(c, buf);
    srv.stats[ST_EVENTS]++;
    c->events_next++;
  } while (srv.event_interval == 0 &&
           c->events_next < (int)ARRAY_SIZE(agent_events));
  if (c->events_next < (int)ARRAY_SIZE(agent_events)) {
    uv_timer_start(&c->timer, on_event_timer, srv.event_interval, 0);
  } else {
    c->replying = 0;
    if (srv.on_message == ON_EVENTS_THEN_CLOSE) {
      /* wslay sends control frames ahead of queued messages: put the
       * events on the wire before the close. */
      ws_flush(c);
      server_close(c, srv.close_code, srv.close_reason);
    }
  }
  ws_flush(c);
}

static void on_event_timer(uv_timer_t *t) { send_events(t->data); }

/* The reply to a message that arrived once ready. */
static void reply(conn *c) {
  switch (srv.on_message) {
  case ON_EVENTS:
  case ON_EVENTS_THEN_CLOSE:
    if (!c->replying) {
      c->replying = 1;
      c->events_next = 0;
      send_events(c);
    }
    break;
  case ON_ECHO:
    if (c->pending != NULL) {
      struct wslay_event_msg m = {(uint8_t)c->pending_op, c->pending,
                                  c->pending_len};
      wslay_event_queue_msg(c->ws, &m);
      free(c->pending);
      c->pending = NULL;
    }
    break;
  case ON_CLOSE:
    server_close(c, srv.close_code, srv.close_reason);
    break;
  case ON_DROP:
    conn_close(c, 0);
    return;
  case ON_RST:
    conn_close(c, 1);
    return;
  case ON_SILENT:
    break;
  }
  ws_flush(c);
}

/*
 * A loop timer counts from the loop's cached millisecond time, which can
 * lag the message's arrival and fire a reply early by that much: the
 * delay is measured from the arrival itself, the timer set again for what
 * remains.
 */
static void on_reply_timer(uv_timer_t *t) {
  conn *c = t->data;
  uint64_t now = uv_hrtime();
  if (now < c->reply_due) {
    uv_update_time(t->loop);
    uv_timer_start(t, on_reply_timer, (c->reply_due - now) / 1000000 + 1, 0);
    return;
  }
  reply(c);
}

static void on_ws_msg(wslay_event_context_ptr ws,
                      const struct wslay_event_on_msg_recv_arg *a, void *ud) {
  conn *c = ud;
  (void)ws;
  if (a->opcode != WSLAY_TEXT_FRAME && a->opcode != WSLAY_BINARY_FRAME)
    return;
  if (c->arrival_ns < 0)
    c->arrival_ns =
        (int64_t)(c->rx_ns ? c->rx_ns : uv_hrtime()) -
        (int64_t)(c->ready_at - (uint64_t)srv.ready_delay * 1000000);
  if ((c->rx_ns ? c->rx_ns : uv_hrtime()) < c->ready_at) {
    /* The race: the pipeline is not ready for this message, judged by
     * when the message arrived, not by when this server got to it. */
    server_close(c, 1011, "Internal error");
    return;
  }
  if (srv.on_message == ON_ECHO && c->pending == NULL &&
      (c->pending = malloc(a->msg_length ? a->msg_length : 1)) != NULL) {
    memcpy(c->pending, a->msg, a->msg_length);
    c->pending_len = a->msg_length;
    c->pending_op = a->opcode;
  }
  if (srv.reply_delay > 0) {
    c->reply_due = (c->rx_ns ? c->rx_ns : uv_hrtime()) +
                   (uint64_t)srv.reply_delay * 1000000;
    uv_timer_start(&c->timer, on_reply_timer, srv.reply_delay, 0);
  } else {
    reply(c);
  }
}

static const struct wslay_event_callbacks ws_callbacks = {
    ws_recv, ws_send, NULL, NULL, NULL, NULL, on_ws_msg,
};

static void ws_feed(conn *c, const uint8_t *data, size_t len) {
  c->in = data;
  c->in_len = len;
  if (wslay_event_recv(c->ws) != 0) {
    conn_close(c, 0);
    return;
  }
  c->in = NULL;
  c->in_len = 0;
  ws_flush(c);
}

/* ---- the upgrade ---- */

static int on_url(llhttp_t *h, const char *at, size_t len) {
  conn *c = h->data;
  size_t have = c->url ? strlen(c->url) : 0;
  char *u = realloc(c->url, have + len + 1);
  if (u == NULL)
    return -1;
  memcpy(u + have, at, len);
  u[have + len] = '\0';
  c->url = u;
  return 0;
}

static int on_field(llhttp_t *h, const char *at, size_t len) {
  conn *c = h->data;
  for (size_t i = 0; i < len; i++, c->field_len++)
    if (c->field_len < sizeof(c->field) - 1)
      c->field[c->field_len] =
          (at[i] >= 'A' && at[i] <= 'Z') ? at[i] + 32 : at[i];
  return 0;
}

static int on_field_done(llhttp_t *h) {
  conn *c = h->data;
  c->field_id = -1;
  if (c->field_len < sizeof(c->field)) {
    c->field[c->field_len] = '\0';
    for (size_t i = 0; i < ARRAY_SIZE(hdr_names); i++)
      if (strcmp(c->field, hdr_names[i]) == 0)
        c->field_id = (int)i;
  }
  c->field_len = 0;
  return 0;
}

static int on_value(llhttp_t *h, const char *at, size_t len) {
  conn *c = h->data;
  char **v, *n;
  size_t have;
  if (c->field_id < 0)
    return 0;
  v = &c->hdr[c->field_id];
  have = *v ? strlen(*v) : 0;
  n = realloc(*v, have + len + 1);
  if (n == NULL)
    return -1;
  memcpy(n + have, at, len);
  n[have + len] = '\0';
  *v = n;
  return 0;
}

static int on_value_done(llhttp_t *h) {
  conn *c = h->data;
  if (c->field_id >= 0 && c->hdr[c->field_id] != NULL) {
    /* Repeated headers are joined with ", " (RFC 7230 3.2.2); hv() trims
     * the last one. */
    char **v = &c->hdr[c->field_id];
    size_t have = strlen(*v);
    char *n = realloc(*v, have + 3);
    if (n == NULL)
      return -1;
    memcpy(n + have, ", ", 3);
    *v = n;
  }
  return 0;
}

static int on_headers_done(llhttp_t *h) {
  ((conn *)h->data)->headers_done = 1;
  return 2; /* Stop here: what follows is not HTTP. */
}

static llhttp_settings_t http_settings;

/* Trims the trailing ", " separators on_value_done leaves. */
static const char *hv(conn *c, int id) {
  char *v = c->hdr[id];
  size_t n;
  if (v == NULL)
    return NULL;
  n = strlen(v);
  while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == ','))
    v[--n] = '\0';
  return v;
}

/* The first offered subprotocol starting with "jwt.", copied into buf. */
static const char *offered_jwt(const char *list, char *buf, size_t n) {
  for (const char *p = list; p && *p;) {
    while (*p == ' ' || *p == ',')
      p++;
    size_t l = strcspn(p, ", ");
    if (l > 4 && strncmp(p, "jwt.", 4) == 0 && l < n) {
      memcpy(buf, p, l);
      buf[l] = '\0';
      return buf;
    }
    p += l;
  }
  return NULL;
}

static const char *offered(const char *list, const char *want) {
  return list && want && fx_has_token(list, want) ? want : NULL;
}

/* The token from the subprotocol, the Authorization header or the query. */
static const char *find_token(conn *c, const char *jwt_proto, char *buf,
                              size_t n) {
  const char *auth = hv(c, H_AUTH), *q;
  if (jwt_proto != NULL)
    return jwt_proto + 4;
  if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0)
    return auth + 7;
  if (c->url && (q = strstr(c->url, "access_token=")) != NULL &&
      (q[-1] == '?' || q[-1] == '&')) {
    size_t l = strcspn(q + 13, "&");
    if (l < n) {
      memcpy(buf, q + 13, l);
      buf[l] = '\0';
      return buf;
    }
  }
  return NULL;
}

static void open_ws(conn *c, const uint8_t *rest, size_t rest_len);

static void handle_upgrade(conn *c, const uint8_t *rest, size_t rest_len) {
  const char *key = hv(c, H_KEY), *protos = hv(c, H_PROTOCOL);
  char accept[FX_ACCEPT_LEN + 1], jwtbuf[8192], tokbuf[8192];
  char resp[9000 + 512];
  const char *jwt_proto, *select = NULL, *token;
  int n;

  srv.upgrades++;
  if (c->http->method != HTTP_GET) {
    srv.stats[ST_OTHER]++;
    respond(c, 405, "Method Not Allowed", "Allow: GET\r\n", "");
    return;
  }
  if (!hv(c, H_UPGRADE) || strcasecmp(hv(c, H_UPGRADE), "websocket") != 0 ||
      !fx_has_token(hv(c, H_CONNECTION), "upgrade") || key == NULL) {
    srv.stats[ST_OTHER]++;
    respond(c, 426, "Upgrade Required",
            "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n",
            "this is a WebSocket endpoint\n");
    return;
  }
  if (!hv(c, H_VERSION) || strcmp(hv(c, H_VERSION), "13") != 0) {
    srv.stats[ST_OTHER]++;
    respond(c, 400, "Bad Request", "Sec-WebSocket-Version: 13\r\n", "");
    return;
  }
  if (srv.upgrades <= srv.reject_first ||
      (srv.reject_fraction > 0 &&
       (double)(next_rand() >> 11) / 9007199254740992.0 <
           srv.reject_fraction) ||
      (srv.max_conns > 0 && srv.open_conns >= srv.max_conns)) {
    srv.stats[ST_503]++;
    respond(c, 503, "Service Unavailable",
            "Retry-After: 5\r\nContent-Type: application/json\r\n",
            "{\"error\":\"service unavailable\",\"detail\":\"message "
            "pipeline not started\"}");
    return;
  }
  jwt_proto = offered_jwt(protos, jwtbuf, sizeof(jwtbuf));
  token = find_token(c, jwt_proto, tokbuf, sizeof(tokbuf));
  if (srv.require_jwt && token == NULL) {
    srv.stats[ST_401]++;
    respond(c, 401, "Unauthorized",
            "WWW-Authenticate: Bearer\r\nContent-Type: application/json\r\n",
            "{\"error\":\"missing token\"}");
    return;
  }
  if (srv.jwt_key != NULL && token != NULL) {
    uv_timeval64_t now;
    int rc;
    uv_gettimeofday(&now);
    rc = wsp_jwt_verify(token, srv.jwt_alg, srv.jwt_key, srv.jwt_key_len,
                        now.tv_sec, 5, NULL, NULL, 0);
    if (rc == WSP_EEXPIRED || rc == WSP_ENOTYET) {
      srv.stats[ST_403]++;
      respond(c, 403, "Forbidden", "Content-Type: application/json\r\n",
              rc == WSP_EEXPIRED ? "{\"error\":\"token expired\"}"
                                 : "{\"error\":\"token not yet valid\"}");
      return;
    }
    if (rc != 0) {
      srv.stats[ST_401]++;
      respond(c, 401, "Unauthorized",
              "WWW-Authenticate: Bearer error=\"invalid_token\"\r\n"
              "Content-Type: application/json\r\n",
              "{\"error\":\"invalid token\"}");
      return;
    }
  }
  select = jwt_proto ? jwt_proto : offered(protos, srv.select_proto);
  if (srv.handshake == HS_UNOFFERED_SUBPROTOCOL)
    select = "bogus";
  if (fx_ws_accept(key, accept) != 0)
    return conn_close(c, 0);
  if (srv.handshake == HS_BAD_ACCEPT)
    accept[3] = accept[3] == 'A' ? 'B' : 'A';
  n = snprintf(resp, sizeof(resp),
               "%sHTTP/1.1 101 Switching Protocols\r\n%s"
               "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
               "%s%s%s%s%s\r\n",
               /* An interim response first (RFC 9110 15.2, RFC 8297). */
               srv.handshake == HS_EARLY_HINTS
                   ? "HTTP/1.1 103 Early Hints\r\nLink: </app.js>; "
                     "rel=preload\r\n\r\n"
                   : "",
               srv.handshake == HS_NO_UPGRADE ? "" : "Upgrade: websocket\r\n",
               accept, select ? "Sec-WebSocket-Protocol: " : "",
               select ? select : "", select ? "\r\n" : "",
               srv.handshake == HS_EXTENSION
                   ? "Sec-WebSocket-Extensions: permessage-deflate\r\n"
                   : "",
               srv.extra);
  if (srv.greeting != NULL &&
      (size_t)n + 10 + strlen(srv.greeting) < sizeof(resp)) {
    /* A server frame (unmasked) in the same write as the headers. */
    size_t gl = strlen(srv.greeting);
    resp[n++] = (char)0x81;
    if (gl < 126) {
      resp[n++] = (char)gl;
    } else {
      resp[n++] = 126;
      resp[n++] = (char)(gl >> 8);
      resp[n++] = (char)gl;
    }
    memcpy(resp + n, srv.greeting, gl);
    n += (int)gl;
  }
  srv.stats[ST_101]++;
  /* The window starts when the 101 is handed to the kernel. */
  c->ready_at = uv_hrtime() + (uint64_t)srv.ready_delay * 1000000;
  if (conn_write(c, (const uint8_t *)resp, (size_t)n, 0) != 0)
    return conn_close(c, 0);
  open_ws(c, rest, rest_len);
}

static void open_ws(conn *c, const uint8_t *rest, size_t rest_len) {
  free(c->http);
  c->http = NULL;
  c->counted_open = 1;
  srv.open_conns++;
  if (wslay_event_context_server_init(&c->ws, &ws_callbacks, c) != 0)
    return conn_close(c, 0);
  wslay_event_config_set_max_recv_msg_length(c->ws, 1024 * 1024);
  if (rest_len > 0)
    ws_feed(c, rest, rest_len);
}

static void http_feed(conn *c, const uint8_t *data, size_t len) {
  llhttp_errno_t e = llhttp_execute(c->http, (const char *)data, len);
  if (e == HPE_PAUSED_UPGRADE && c->headers_done) {
    size_t used = (size_t)(llhttp_get_error_pos(c->http) - (const char *)data);
    handle_upgrade(c, data + used, len - used);
    return;
  }
  if (e != HPE_OK) {
    srv.stats[ST_OTHER]++;
    respond(c, 400, "Bad Request", "", "");
    return;
  }
  c->req_bytes += len;
  if (c->req_bytes > MAX_REQUEST) {
    srv.stats[ST_OTHER]++;
    respond(c, 431, "Request Header Fields Too Large", "", "");
  }
}

/* ---- reading ---- */

static void plain_data(conn *c, const uint8_t *data, size_t len) {
  if (c->http != NULL)
    http_feed(c, data, len);
  else if (c->ws != NULL)
    ws_feed(c, data, len);
}

static void tls_data(conn *c, const uint8_t *data, size_t len) {
  c->tin = data;
  c->tin_len = len;
  if (!c->tls_done) {
    int rc = mbedtls_ssl_handshake(c->tls);
    if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
      return;
    if (rc != 0)
      return conn_close(c, 0);
    c->tls_done = 1;
  }
  while (!c->closing) {
    int n = mbedtls_ssl_read(c->tls, srv.pbuf, sizeof(srv.pbuf));
    if (n > 0) {
      plain_data(c, srv.pbuf, (size_t)n);
      continue;
    }
    if (n != MBEDTLS_ERR_SSL_WANT_READ && n != MBEDTLS_ERR_SSL_WANT_WRITE)
      conn_close(c, 0);
    break;
  }
  c->tin_len = 0;
}

/*
 * The kernel's arrival stamp (SO_TIMESTAMPNS) of the bytes the next read
 * takes, on uv_hrtime()'s clock: libuv reads with read(2), which drops
 * the stamp, so the bytes are first peeked at with recvmsg(2). 0 when
 * there is no stamp.
 */
static uint64_t peek_stamp(conn *c) {
  union {
    char buf[CMSG_SPACE(sizeof(struct timespec)) + 64];
    struct cmsghdr align;
  } cbuf;
  struct iovec iov = {srv.rbuf, sizeof(srv.rbuf)};
  struct msghdr mh;
  struct cmsghdr *cm;
  uv_os_fd_t fd;
  if (uv_fileno((uv_handle_t *)&c->tcp, &fd) != 0)
    return 0;
  memset(&mh, 0, sizeof(mh));
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = cbuf.buf;
  mh.msg_controllen = sizeof(cbuf.buf);
  if (recvmsg(fd, &mh, MSG_PEEK | MSG_DONTWAIT) <= 0)
    return 0;
  for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
    if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
      struct timespec ts, now;
      uint64_t mono;
      int64_t age;
      memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
      /* The real-time clock first: a pause between the two reads then
       * makes the arrival later, never earlier, than it was. */
      clock_gettime(CLOCK_REALTIME, &now);
      mono = uv_hrtime();
      age = ((int64_t)now.tv_sec - ts.tv_sec) * 1000000000 +
            (now.tv_nsec - ts.tv_nsec);
      return age >= 0 && (uint64_t)age < mono ? mono - (uint64_t)age : 0;
    }
  }
  return 0;
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  conn *c = h->data;
  (void)hint;
  /* Only messages are judged by their arrival: the handshake needs no
   * stamp. The peeked bytes are the ones libuv then reads into rbuf. */
  c->rx_ns = c->ws != NULL ? peek_stamp(c) : 0;
  *buf = uv_buf_init((char *)srv.rbuf, sizeof(srv.rbuf));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  conn *c = s->data;
  if (n < 0) {
    conn_close(c, c->resetting);
    return;
  }
  if (n == 0 || c->closing || c->resetting)
    return;
  if (c->tls != NULL)
    tls_data(c, (const uint8_t *)buf->base, (size_t)n);
  else
    plain_data(c, (const uint8_t *)buf->base, (size_t)n);
}

static void on_connection(uv_stream_t *l, int status) {
  conn *c;
  if (status < 0 || fx->stopping)
    return;
  if ((c = calloc(1, sizeof(*c))) == NULL ||
      (c->http = malloc(sizeof(*c->http))) == NULL) {
    free(c);
    return;
  }
  c->arrival_ns = -1;
  uv_tcp_init(srv.loop, &c->tcp);
  uv_timer_init(srv.loop, &c->timer);
  c->tcp.data = c->timer.data = c;
  c->handles = 2;
  srv.nconns++;
  if (uv_accept(l, (uv_stream_t *)&c->tcp) != 0) {
    conn_close(c, 0);
    return;
  }
  srv.stats[ST_ACCEPTED]++;
  uv_tcp_nodelay(&c->tcp, 1);
  {
    uv_os_fd_t fd;
    int one = 1;
    if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
      (void)setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
  }
  llhttp_init(c->http, HTTP_REQUEST, &http_settings);
  c->http->data = c;
  c->field_id = -1;
  if (srv.tls) {
    /* The next certificate once the first has served its connections. */
    tls_site *site =
        &srv.site[srv.tls > 1 && srv.tls_conns >= srv.tls_next_after];
    srv.tls_conns++;
    if ((c->tls = malloc(sizeof(*c->tls))) == NULL)
      return conn_close(c, 0);
    mbedtls_ssl_init(c->tls);
    if (mbedtls_ssl_setup(c->tls, &site->conf) != 0)
      return conn_close(c, 0);
    mbedtls_ssl_set_bio(c->tls, c, bio_send, bio_recv, NULL);
  }
  uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

/* ---- start and stop ---- */

/* The skeleton's way to close a connection when stopping. */
static void close_conn(void *ud) { conn_close(ud, 0); }

static char *read_all(const char *opt, const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *buf;
  long n;
  if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
      fseek(f, 0, SEEK_SET) != 0 || (buf = malloc((size_t)n + 1)) == NULL ||
      fread(buf, 1, (size_t)n, f) != (size_t)n)
    fx_usage_error("%s: cannot read '%s'", opt, path);
  fclose(f);
  buf[n] = '\0';
  *len = (size_t)n;
  return buf;
}

static void setup_site(tls_site *site, const char *cert, const char *key,
                       int ca) {
  /* X25519 first: the fastest key exchange mbedTLS 2.28 has. */
  static const mbedtls_ecp_group_id curves[] = {
      MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1,
      MBEDTLS_ECP_DP_SECP384R1, MBEDTLS_ECP_DP_NONE};
  mbedtls_x509_crt_init(&site->cert);
  mbedtls_pk_init(&site->key);
  mbedtls_ssl_config_init(&site->conf);
  mbedtls_ssl_ticket_init(&site->tickets);
  mbedtls_ssl_cache_init(&site->cache);
  if (mbedtls_x509_crt_parse_file(&site->cert, cert) != 0)
    fx_usage_error("cannot load certificate '%s'", cert);
  if (mbedtls_pk_parse_keyfile(&site->key, key, NULL) != 0)
    fx_usage_error("cannot load key '%s'", key);
  if (mbedtls_ssl_config_defaults(&site->conf, MBEDTLS_SSL_IS_SERVER,
                                  MBEDTLS_SSL_TRANSPORT_STREAM,
                                  MBEDTLS_SSL_PRESET_DEFAULT) != 0 ||
      mbedtls_ssl_conf_own_cert(&site->conf, &site->cert, &site->key))
    fx_usage_error("cannot set up TLS");
  mbedtls_ssl_conf_rng(&site->conf, mbedtls_ctr_drbg_random, &srv.drbg);
  mbedtls_ssl_conf_curves(&site->conf, curves);
  mbedtls_ssl_conf_min_version(&site->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                               MBEDTLS_SSL_MINOR_VERSION_3);
  if (srv.tls_tickets) {
    /* Each site has its own ticket key: a ticket from the first
     * certificate's sessions does not open the second's. */
    if (mbedtls_ssl_ticket_setup(&site->tickets, mbedtls_ctr_drbg_random,
                                 &srv.drbg, MBEDTLS_CIPHER_AES_256_GCM,
                                 300) != 0)
      fx_usage_error("cannot set up session tickets");
    mbedtls_ssl_conf_session_tickets_cb(&site->conf, mbedtls_ssl_ticket_write,
                                        mbedtls_ssl_ticket_parse,
                                        &site->tickets);
  }
  if (srv.tls_session_cache)
    mbedtls_ssl_conf_session_cache(&site->conf, &site->cache,
                                   mbedtls_ssl_cache_get,
                                   mbedtls_ssl_cache_set);
  if (ca) {
    mbedtls_ssl_conf_ca_chain(&site->conf, &srv.tls_ca, NULL);
    mbedtls_ssl_conf_authmode(&site->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
  }
}

static void setup_tls(const char *cert[2], const char *key[2], const char *ca) {
  mbedtls_x509_crt_init(&srv.tls_ca);
  mbedtls_entropy_init(&srv.entropy);
  mbedtls_ctr_drbg_init(&srv.drbg);
  if (mbedtls_ctr_drbg_seed(&srv.drbg, mbedtls_entropy_func, &srv.entropy, NULL,
                            0) != 0)
    fx_usage_error("cannot set up TLS");
  if (ca != NULL && mbedtls_x509_crt_parse_file(&srv.tls_ca, ca) != 0)
    fx_usage_error("--tls-client-ca: cannot load '%s'", ca);
  for (srv.tls = 0; srv.tls < 2 && cert[srv.tls] != NULL; srv.tls++)
    setup_site(&srv.site[srv.tls], cert[srv.tls], key[srv.tls], ca != NULL);
}

static void free_tls(void) {
  for (int i = 0; i < srv.tls; i++) {
    mbedtls_ssl_config_free(&srv.site[i].conf);
    mbedtls_x509_crt_free(&srv.site[i].cert);
    mbedtls_pk_free(&srv.site[i].key);
    mbedtls_ssl_ticket_free(&srv.site[i].tickets);
    mbedtls_ssl_cache_free(&srv.site[i].cache);
  }
  if (!srv.tls)
    return;
  mbedtls_x509_crt_free(&srv.tls_ca);
  mbedtls_ctr_drbg_free(&srv.drbg);
  mbedtls_entropy_free(&srv.entropy);
}

static const char usage[] =
    "usage: raceserver [options]\n"
    "  --listen ADDR            address (default 127.0.0.1; ::1 works)\n"
    "  --port N                 port (default 8765; 0 = any free port)\n"
    "  --port-file FILE         also write the port number to FILE\n"
    "  --backlog N              listen backlog (default 1024)\n"
    "  --lifetime SECONDS       exit by itself after this long\n"
    "  --quiet                  no statistics on exit\n"
    "  --ready-delay MS         messages within MS of the upgrade get close\n"
    "                           1011 \"Internal error\"\n"
    "  --reject-first K         answer the first K upgrades with HTTP 503\n"
    "  --reject-fraction F      answer this fraction of upgrades with 503\n"
    "  --seed N                 seed of --reject-fraction (default 1)\n"
    "  --max-connections K      503 while K WebSocket connections are open\n"
    "  --require-jwt            401 without a token (jwt.* subprotocol,\n"
    "                           Authorization: Bearer or ?access_token=)\n"
    "  --jwt-secret S, --jwt-secret-file F, --jwt-public-key PEMFILE\n"
    "                           verify tokens (401 bad, 403 expired)\n"
    "  --jwt-alg HS256|RS256|ES256\n"
    "  --select-subprotocol P   select P when offered\n"
    "  --handshake MODE         ok, bad-accept, no-upgrade,\n"
    "                           unoffered-subprotocol, extension,\n"
    "                           early-hints (a 103 before the 101)\n"
    "  --greeting TEXT          text frame in the same write as the 101\n"
    "  --response-header 'N: V' add this header to the 101 (repeatable)\n"
    "  --on-message MODE        events (default), echo, silent,\n"
    "                           close:CODE[:REASON], drop, rst,\n"
    "                           events-then-close:CODE[:REASON]\n"
    "  --event-interval MS      pause between agent events\n"
    "  --reply-delay MS         pause before replying\n"
    "  --rst-after-close        reset TCP after sending any close frame\n"
    "                           (the 1011 of the race included), as soon\n"
    "                           as the client's kernel acknowledged it\n"
    "  --report-arrival         close reasons end in \"arrived MS ms after\n"
    "                           the 101\": the first message's arrival\n"
    "  --tls-cert FILE, --tls-key FILE\n"
    "                           serve TLS (wss://)\n"
    "  --tls-client-ca FILE     require client certificates from this CA\n"
    "  --tls-tickets            resume sessions by ticket (RFC 5077)\n"
    "  --tls-session-cache      resume sessions by session ID\n"
    "  --tls-next-cert FILE, --tls-next-key FILE, --tls-next-after N\n"
    "                           after N TLS connections, serve this\n"
    "                           certificate instead (sessions made before\n"
    "                           are not resumed)\n"
    "  -h, --help\n";

static void parse_close(const char *arg, const char *s) {
  char *end;
  unsigned long code = strtoul(s, &end, 10);
  if (end == s || code > 65535 || (*end != '\0' && *end != ':'))
    fx_usage_error("--on-message: bad close code in '%s'", arg);
  srv.close_code = (uint16_t)code;
  srv.close_reason = *end == ':' ? end + 1 : "";
  if (strlen(srv.close_reason) > 123)
    fx_usage_error("--on-message: close reason longer than 123 bytes");
}

/* Long options without a short letter. */
enum { OPT_RST_AFTER_CLOSE = 256, OPT_REPORT_ARRIVAL };

int main(int argc, char **argv) {
  static const struct option opts[] = {
      {"listen", 1, NULL, 'l'},
      {"port", 1, NULL, 'p'},
      {"port-file", 1, NULL, 'P'},
      {"backlog", 1, NULL, 'b'},
      {"lifetime", 1, NULL, 'L'},
      {"quiet", 0, NULL, 'q'},
      {"ready-delay", 1, NULL, 'r'},
      {"reject-first", 1, NULL, 'R'},
      {"reject-fraction", 1, NULL, 'F'},
      {"seed", 1, NULL, 'S'},
      {"max-connections", 1, NULL, 'M'},
      {"require-jwt", 0, NULL, 'j'},
      {"jwt-secret", 1, NULL, 's'},
      {"jwt-secret-file", 1, NULL, 'f'},
      {"jwt-public-key", 1, NULL, 'k'},
      {"jwt-alg", 1, NULL, 'a'},
      {"select-subprotocol", 1, NULL, 'x'},
      {"handshake", 1, NULL, 'H'},
      {"greeting", 1, NULL, 'g'},
      {"response-header", 1, NULL, 'e'},
      {"on-message", 1, NULL, 'm'},
      {"event-interval", 1, NULL, 'i'},
      {"reply-delay", 1, NULL, 'd'},
      {"rst-after-close", 0, NULL, OPT_RST_AFTER_CLOSE},
      {"report-arrival", 0, NULL, OPT_REPORT_ARRIVAL},
      {"tls-cert", 1, NULL, 'c'},
      {"tls-key", 1, NULL, 'K'},
      {"tls-client-ca", 1, NULL, 'C'},
      {"tls-tickets", 0, NULL, 'T'},
      {"tls-session-cache", 0, NULL, 'D'},
      {"tls-next-cert", 1, NULL, 'N'},
      {"tls-next-key", 1, NULL, 'Y'},
      {"tls-next-after", 1, NULL, 'A'},
      {"help", 0, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *listen_addr = "127.0.0.1", *port_file = NULL;
  const char *tls_cert[2] = {NULL, NULL}, *tls_key[2] = {NULL, NULL};
  const char *tls_ca = NULL;
  int next_after_set = 0;
  unsigned long long port = 8765, backlog = 1024, lifetime = 0;
  int alg = -1, opt, rc;
  static fx_server server;

  fx_init(&server, "raceserver", close_conn);
  srv.rng = 1;
  srv.on_message = ON_EVENTS;
  opterr = 0;
  while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    switch (opt) {
    case 'l':
      listen_addr = optarg;
      break;
    case 'p':
      port = fx_number("--port", optarg, 65535);
      break;
    case 'P':
      port_file = optarg;
      break;
    case 'b':
      backlog = fx_number("--backlog", optarg, 65535);
      break;
    case 'L':
      lifetime = fx_number("--lifetime", optarg, 86400);
      break;
    case 'q':
      srv.quiet = 1;
      break;
    case 'r':
      srv.ready_delay = (uint32_t)fx_number("--ready-delay", optarg, 3600000);
      break;
    case 'R':
      srv.reject_first = fx_number("--reject-first", optarg, UINT64_MAX);
      break;
    case 'F': {
      char *end;
      srv.reject_fraction = strtod(optarg, &end);
      if (*end || !(srv.reject_fraction >= 0 && srv.reject_fraction <= 1))
        fx_usage_error("--reject-fraction: '%s' is not between 0 and 1",
                       optarg);
      break;
    }
    case 'S':
      srv.rng = fx_number("--seed", optarg, UINT64_MAX);
      break;
    case 'M':
      srv.max_conns = fx_number("--max-connections", optarg, UINT64_MAX);
      break;
    case 'j':
      srv.require_jwt = 1;
      break;
    case 's':
      srv.jwt_key = (uint8_t *)strdup(optarg);
      srv.jwt_key_len = strlen(optarg);
      break;
    case 'f':
    case 'k': {
      size_t len;
      char *k = read_all(opt == 'k' ? "--jwt-public-key" : "--jwt-secret-file",
                         optarg, &len);
      while (opt == 'f' && len > 0 &&
             (k[len - 1] == '\n' || k[len - 1] == '\r'))
        len--;
      srv.jwt_key = (uint8_t *)k;
      srv.jwt_key_len = len;
      if (opt == 'k' && alg < 0 && (alg = wsp_jwt_key_alg(k, len)) < 0)
        fx_usage_error("--jwt-public-key: not an RSA or P-256 key");
      break;
    }
    case 'a':
      if ((alg = wsp_jwt_alg_from_name(optarg)) < 0)
        fx_usage_error("--jwt-alg: '%s' is not HS256, RS256 or ES256", optarg);
      break;
    case 'x':
      srv.select_proto = optarg;
      break;
    case 'H':
      if (strcmp(optarg, "ok") == 0)
        srv.handshake = HS_OK;
      else if (strcmp(optarg, "bad-accept") == 0)
        srv.handshake = HS_BAD_ACCEPT;
      else if (strcmp(optarg, "no-upgrade") == 0)
        srv.handshake = HS_NO_UPGRADE;
      else if (strcmp(optarg, "unoffered-subprotocol") == 0)
        srv.handshake = HS_UNOFFERED_SUBPROTOCOL;
      else if (strcmp(optarg, "extension") == 0)
        srv.handshake = HS_EXTENSION;
      else if (strcmp(optarg, "early-hints") == 0)
        srv.handshake = HS_EARLY_HINTS;
      else
        fx_usage_error("--handshake: unknown mode '%s'", optarg);
      break;
    case 'g':
      srv.greeting = optarg;
      break;
    case 'e': {
      size_t have = strlen(srv.extra), len = strlen(optarg);
      if (strpbrk(optarg, "\r\n") != NULL || strchr(optarg, ':') == NULL)
        fx_usage_error("--response-header: not 'Name: value' on one line");
      if (have + len + 3 > sizeof(srv.extra))
        fx_usage_error("--response-header: too many header bytes");
      memcpy(srv.extra + have, optarg, len);
      memcpy(srv.extra + have + len, "\r\n", 3);
      break;
    }
    case 'm':
      if (strcmp(optarg, "events") == 0)
        srv.on_message = ON_EVENTS;
      else if (strcmp(optarg, "echo") == 0)
        srv.on_message = ON_ECHO;
      else if (strcmp(optarg, "silent") == 0)
        srv.on_message = ON_SILENT;
      else if (strcmp(optarg, "drop") == 0)
        srv.on_message = ON_DROP;
      else if (strcmp(optarg, "rst") == 0)
        srv.on_message = ON_RST;
      else if (strncmp(optarg, "close:", 6) == 0) {
        srv.on_message = ON_CLOSE;
        parse_close(optarg, optarg + 6);
      } else if (strncmp(optarg, "events-then-close:", 18) == 0) {
        srv.on_message = ON_EVENTS_THEN_CLOSE;
        parse_close(optarg, optarg + 18);
      } else
        fx_usage_error("--on-message: unknown mode '%s'", optarg);
      break;
    case 'i':
      srv.event_interval =
          (uint32_t)fx_number("--event-interval", optarg, 3600000);
      break;
    case 'd':
      srv.reply_delay = (uint32_t)fx_number("--reply-delay", optarg, 3600000);
      break;
    case OPT_RST_AFTER_CLOSE:
      srv.rst_after_close = 1;
      break;
    case OPT_REPORT_ARRIVAL:
      srv.report_arrival = 1;
      break;
    case 'c':
      tls_cert[0] = optarg;
      break;
    case 'K':
      tls_key[0] = optarg;
      break;
    case 'N':
      tls_cert[1] = optarg;
      break;
    case 'Y':
      tls_key[1] = optarg;
      break;
    case 'A':
      srv.tls_next_after = fx_number("--tls-next-after", optarg, UINT32_MAX);
      next_after_set = 1;
      break;
    case 'T':
      srv.tls_tickets = 1;
      break;
    case 'D':
      srv.tls_session_cache = 1;
      break;
    case 'C':
      tls_ca = optarg;
      break;
    case 'h':
      fputs(usage, stdout);
      return 0;
    case ':':
      fx_usage_error("option %s needs a value", argv[optind - 1]);
    default:
      fx_usage_error("unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc)
    fx_usage_error("unexpected argument '%s'", argv[optind]);
  if ((tls_cert[0] == NULL) != (tls_key[0] == NULL))
    fx_usage_error("--tls-cert and --tls-key go together");
  if ((tls_cert[1] == NULL) != (tls_key[1] == NULL) ||
      (tls_cert[1] == NULL) != !next_after_set)
    fx_usage_error("--tls-next-cert, --tls-next-key and --tls-next-after go "
                   "together");
  if (tls_cert[1] != NULL && tls_cert[0] == NULL)
    fx_usage_error("--tls-next-cert needs --tls-cert");
  if (srv.jwt_key != NULL)
    srv.jwt_alg = alg < 0 ? WSP_JWT_HS256 : (wsp_jwt_alg)alg;

  signal(SIGPIPE, SIG_IGN);
  if (tls_cert[0] != NULL)
    setup_tls(tls_cert, tls_key, tls_ca);
  llhttp_settings_init(&http_settings);
  http_settings.on_url = on_url;
  http_settings.on_header_field = on_field;
  http_settings.on_header_field_complete = on_field_done;
  http_settings.on_header_value = on_value;
  http_settings.on_header_value_complete = on_value_done;
  http_settings.on_headers_complete = on_headers_done;

  srv.loop = &fx->loop;
  if (fx_listen(listen_addr, (unsigned)port, (int)backlog, on_connection,
                "raceserver", port_file) != 0)
    return 1;
  rc = fx_run(lifetime);
  if (!srv.quiet)
    fprintf(stderr,
            "raceserver: %llu accepted, %llu upgraded (101), %llu x 503, "
            "%llu x 401, %llu x 403, %llu x 1011, %llu events, %llu other "
            "rejections\n",
            (unsigned long long)srv.stats[0], (unsigned long long)srv.stats[1],
            (unsigned long long)srv.stats[2], (unsigned long long)srv.stats[3],
            (unsigned long long)srv.stats[4], (unsigned long long)srv.stats[5],
            (unsigned long long)srv.stats[6], (unsigned long long)srv.stats[7]);
  free(srv.jwt_key);
  free_tls();
  return rc == 0 ? 0 : 1;
}
