/*
 * hostile_server: a test fixture that breaks the WebSocket protocol on
 * purpose, one scenario per run (--scenario NAME, --list for all of them).
 *
 * It writes raw bytes and parses the client's frames itself: no wslay, so
 * that it can send anything a broken or malicious server might. It computes
 * the real Sec-WebSocket-Accept (skeleton.c, not wsprobe's code) so that
 * only the part a scenario breaks is broken.
 *
 * Scenarios act at one of two points: when the upgrade request has arrived
 * (handshake scenarios, and those that misbehave right after the 101), or
 * when the client's first message has arrived (frame scenarios: the probe
 * is then reliably in its awaiting_reply phase). docs/hostile.md lists each
 * scenario with the outcome wsprobe gives it.
 *
 * Listens on 127.0.0.1 (or --listen ::1) only; prints "listening on
 * ADDR:PORT"; SIGTERM, SIGINT or --lifetime stop it.
 */
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <uv.h>
#include <zlib.h>

#include "skeleton.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
/* The largest upgrade request read. */
#define MAX_REQUEST (16 * 1024)
/* The largest client frame parsed; bigger ones end the connection. */
#define MAX_CLIENT_FRAME (1024 * 1024)
/* Pings of ping-flood, and the cap of ping-flood-forever. */
#define FLOOD_PINGS 10000
#define FLOOD_FOREVER_CAP 2000000
/* Pings per write while flooding forever (about 64 KiB). */
#define FLOOD_BATCH 512

typedef enum {
  S_ECHO,
  /* The upgrade. */
  S_SLOWLORIS,
  S_HUGE_HEADERS,
  S_HUGE_HEADER_LINE,
  S_HEADERS_40K,
  S_NO_END_OF_HEADERS,
  S_BAD_ACCEPT,
  S_NO_UPGRADE,
  S_NO_CONNECTION_UPGRADE,
  S_UNOFFERED_SUBPROTOCOL,
  S_UNOFFERED_EXTENSION,
  S_HTTP10_101,
  S_GARBAGE_RESPONSE,
  S_RST_BEFORE_RESPONSE,
  S_RST_MID_RESPONSE,
  S_EOF_BEFORE_RESPONSE,
  S_EOF_MID_RESPONSE,
  S_REJECT_ENDLESS_BODY,
  S_REJECT_STALLED_BODY,
  /* Right after the 101. */
  S_GARBAGE_AFTER_101,
  S_PING_FLOOD,
  S_PING_FLOOD_FOREVER,
  S_HALF_CLOSE,
  S_NEVER_READ,
  /* On the first message. */
  S_MASKED_FRAME,
  S_LENGTH_2_63,
  S_LENGTH_2_63_MINUS_1,
  S_FRAGMENTED_PING,
  S_LONG_PING,
  S_RESERVED_OPCODE,
  S_RSV_BITS,
  S_ORPHAN_CONTINUATION,
  S_CLOSE_CODE,
  S_CLOSE_1_BYTE,
  S_CLOSE_REASON_CONTROL,
  S_BAD_UTF8_TEXT,
  S_BAD_UTF8_FRAGMENTED,
  S_BAD_UTF8_CLOSE_REASON,
  S_OVERSIZED_MESSAGE,
  S_OVERSIZED_FRAGMENTED,
  S_RST_MID_MESSAGE,
  S_EOF_MID_MESSAGE,
  S_NO_CLOSE_ANSWER,
  /* permessage-deflate, for a client that offers it. */
  S_DEFLATE_BOMB,
  S_DEFLATE_BAD_UTF8,
  S_DEFLATE_BAD_PARAM,
  S_DEFLATE_UNKNOWN_PARAM,
  S_DEFLATE_TWICE,
} kind;

typedef struct {
  const char *name;    /* --scenario NAME. */
  kind kind;           /* What it does. */
  unsigned arg;        /* A close code for S_CLOSE_CODE. */
  const char *summary; /* One line for --list. */
} scenario;

static const scenario scenarios[] = {
    {"echo", S_ECHO, 0, "a well-behaved echo server (the baseline)"},
    {"slowloris", S_SLOWLORIS, 0, "the 101 response, one byte per second"},
    {"huge-headers", S_HUGE_HEADERS, 0,
     "a valid 101 with over 64 KiB of header lines"},
    {"huge-header-line", S_HUGE_HEADER_LINE, 0,
     "a valid 101 with one 70 KiB header value"},
    {"headers-40k", S_HEADERS_40K, 0,
     "a valid 101 with 40 KiB of header lines, in one write"},
    {"no-end-of-headers", S_NO_END_OF_HEADERS, 0,
     "101 headers without the blank line, then silence"},
    {"bad-accept", S_BAD_ACCEPT, 0, "a wrong Sec-WebSocket-Accept"},
    {"no-upgrade", S_NO_UPGRADE, 0, "a 101 without an Upgrade header"},
    {"no-connection-upgrade", S_NO_CONNECTION_UPGRADE, 0,
     "a 101 with Connection: keep-alive"},
    {"unoffered-subprotocol", S_UNOFFERED_SUBPROTOCOL, 0,
     "a 101 selecting a subprotocol nobody offered"},
    {"unoffered-extension", S_UNOFFERED_EXTENSION, 0,
     "a 101 selecting permessage-deflate, not offered"},
    {"http10-101", S_HTTP10_101, 0, "an HTTP/1.0 101"},
    {"garbage-response", S_GARBAGE_RESPONSE, 0,
     "an SSH banner instead of HTTP"},
    {"rst-before-response", S_RST_BEFORE_RESPONSE, 0,
     "reads the request, then resets"},
    {"rst-mid-response", S_RST_MID_RESPONSE, 0,
     "half of the 101 headers, then a reset"},
    {"eof-before-response", S_EOF_BEFORE_RESPONSE, 0,
     "reads the request, then closes"},
    {"eof-mid-response", S_EOF_MID_RESPONSE, 0,
     "half of the 101 headers, then FIN"},
    {"reject-endless-body", S_REJECT_ENDLESS_BODY, 0,
     "503 with a chunked body that never ends"},
    {"reject-stalled-body", S_REJECT_STALLED_BODY, 0,
     "503 announcing 1000 bytes of body, sending 10, then silence"},
    {"garbage-after-101", S_GARBAGE_AFTER_101, 0,
     "a valid 101 and ASCII garbage in the same write"},
    {"ping-flood", S_PING_FLOOD, 0,
     "10,000 pings right after the 101, then a well-behaved echo"},
    {"ping-flood-forever", S_PING_FLOOD_FOREVER, 0,
     "pings without end, never a reply"},
    {"half-close", S_HALF_CLOSE, 0,
     "shuts down its write side after the 101, keeps reading"},
    {"never-read", S_NEVER_READ, 0, "never reads after the upgrade request"},
    {"masked-frame", S_MASKED_FRAME, 0, "a masked text frame"},
    {"length-2^63", S_LENGTH_2_63, 0,
     "a frame header announcing 2^63 bytes (most significant bit set)"},
    {"length-2^63-1", S_LENGTH_2_63_MINUS_1, 0,
     "a frame header announcing 2^63-1 bytes"},
    {"fragmented-ping", S_FRAGMENTED_PING, 0, "a ping without FIN"},
    {"long-ping", S_LONG_PING, 0, "a ping with a 126-byte payload"},
    {"reserved-opcode", S_RESERVED_OPCODE, 0, "a frame with opcode 3"},
    {"rsv-bits", S_RSV_BITS, 0, "a text frame with RSV1, no extension"},
    {"orphan-continuation", S_ORPHAN_CONTINUATION, 0,
     "a continuation frame with nothing to continue"},
    {"close-0", S_CLOSE_CODE, 0, "close code 0"},
    {"close-999", S_CLOSE_CODE, 999, "close code 999"},
    {"close-1004", S_CLOSE_CODE, 1004, "close code 1004 (reserved)"},
    {"close-1005", S_CLOSE_CODE, 1005, "close code 1005 (never on the wire)"},
    {"close-1006", S_CLOSE_CODE, 1006, "close code 1006 (never on the wire)"},
    {"close-1015", S_CLOSE_CODE, 1015, "close code 1015 (never on the wire)"},
    {"close-1016", S_CLOSE_CODE, 1016, "close code 1016 (unassigned)"},
    {"close-2999", S_CLOSE_CODE, 2999, "close code 2999 (unassigned)"},
    {"close-5000", S_CLOSE_CODE, 5000, "close code 5000"},
    {"close-65535", S_CLOSE_CODE, 65535, "close code 65535"},
    {"close-1012", S_CLOSE_CODE, 1012, "close code 1012 (valid: restart)"},
    {"close-1-byte", S_CLOSE_1_BYTE, 0, "a close frame with a 1-byte payload"},
    {"close-reason-control", S_CLOSE_REASON_CONTROL, 0,
     "close 1011 with a reason holding a line break and an escape"},
    {"bad-utf8-text", S_BAD_UTF8_TEXT, 0, "invalid UTF-8 in a text frame"},
    {"bad-utf8-fragmented", S_BAD_UTF8_FRAGMENTED, 0,
     "a text message whose fragments join into invalid UTF-8"},
    {"bad-utf8-close-reason", S_BAD_UTF8_CLOSE_REASON, 0,
     "close 1000 with an invalid UTF-8 reason"},
    {"oversized-message", S_OVERSIZED_MESSAGE, 0,
     "a 4096-byte text frame (run the client with a 1024-byte maximum)"},
    {"oversized-fragmented", S_OVERSIZED_FRAGMENTED, 0,
     "four 400-byte fragments (run the client with a 1024-byte maximum)"},
    {"rst-mid-message", S_RST_MID_MESSAGE, 0,
     "100 of 1000 announced bytes, then a reset"},
    {"eof-mid-message", S_EOF_MID_MESSAGE, 0,
     "100 of 1000 announced bytes, then FIN"},
    {"no-close-answer", S_NO_CLOSE_ANSWER, 0,
     "echoes, but never answers the client's close"},
    {"deflate-bomb", S_DEFLATE_BOMB, 0,
     "agrees permessage-deflate, then 512 KiB of zeros deflated to about "
     "500 bytes (run the client with a 1024-byte maximum)"},
    {"deflate-bad-utf8", S_DEFLATE_BAD_UTF8, 0,
     "agrees permessage-deflate, then a compressed text message that "
     "inflates to invalid UTF-8"},
    {"deflate-bad-param", S_DEFLATE_BAD_PARAM, 0,
     "agrees permessage-deflate with server_max_window_bits=7"},
    {"deflate-unknown-param", S_DEFLATE_UNKNOWN_PARAM, 0,
     "agrees permessage-deflate with a parameter RFC 7692 does not know"},
    {"deflate-twice", S_DEFLATE_TWICE, 0,
     "agrees permessage-deflate twice in one header"},
};

/* The server's settings and state. */
typedef struct {
  uv_loop_t *loop;      /* The one loop (the skeleton's). */
  const scenario *sc;   /* What every connection does. */
  char rbuf[64 * 1024]; /* Shared read buffer. */
} server;

static server srv;

/* One client connection. */
typedef struct conn {
  uv_tcp_t tcp;                   /* The socket. */
  uv_timer_t timer;               /* Slow writes, delayed resets. */
  int handles;                    /* Handles not yet closed. */
  int closing;                    /* uv_close requested. */
  char req[MAX_REQUEST + 1];      /* The upgrade request so far. */
  size_t req_len;                 /* Its length. */
  int upgraded;                   /* The request was answered. */
  char accept[FX_ACCEPT_LEN + 1]; /* The correct Sec-WebSocket-Accept. */
  uint8_t *in;                    /* Client frame bytes not yet parsed. */
  size_t in_len;                  /* How many. */
  size_t in_cap;                  /* Allocated. */
  int messages;                   /* Client messages received. */
  int close_received;             /* The client's close arrived. */
  uint8_t *slow;                  /* Bytes sent one per tick. */
  size_t slow_len;                /* How many. */
  size_t slow_pos;                /* Sent so far. */
  int flooding;                   /* ping-flood-forever is running. */
  uint64_t pings;                 /* Pings sent. */
} conn;

/* ---- connection lifetime ---- */

static void on_conn_closed(uv_handle_t *h) {
  conn *c = h->data;
  if (--c->handles > 0)
    return;
  free(c->in);
  free(c->slow);
  free(c);
}

static void conn_close(conn *c, int reset) {
  if (c->closing)
    return;
  c->closing = 1;
  c->flooding = 0;
  uv_close((uv_handle_t *)&c->timer, on_conn_closed);
  if (reset)
    uv_tcp_close_reset(&c->tcp, on_conn_closed);
  else
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

/* ---- writing ---- */

typedef struct {
  uv_write_t req; /* The libuv request. */
  conn *c;        /* Its connection. */
  uint8_t data[]; /* The bytes. */
} wreq;

static void flood_more(conn *c);

static void on_written(uv_write_t *req, int status) {
  wreq *w = (wreq *)req;
  conn *c = w->c;
  free(w);
  if (status < 0) {
    /* The client went away (EPIPE, ECONNRESET) or we are closing. */
    if (status != UV_ECANCELED)
      conn_close(c, 0);
    return;
  }
  if (c->flooding && !c->closing &&
      uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0)
    flood_more(c);
}

/* Queues a copy of `data`: the order of bytes on the wire is the order of
 * calls, whatever the kernel takes at once. */
static void put(conn *c, const void *data, size_t len) {
  wreq *w;
  uv_buf_t b;
  if (c->closing || len == 0)
    return;
  if ((w = malloc(sizeof(*w) + len)) == NULL) {
    conn_close(c, 0);
    return;
  }
  memcpy(w->data, data, len);
  w->c = c;
  b = uv_buf_init((char *)w->data, (unsigned)len);
  if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
    free(w);
    conn_close(c, 0);
  }
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  (void)status;
  free(req);
}

/* Sends FIN after everything queued; the connection stays open for
 * reading until the client ends it. */
static void shut_write(conn *c) {
  uv_shutdown_t *req;
  if (c->closing)
    return;
  if ((req = malloc(sizeof(*req))) == NULL ||
      uv_shutdown(req, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
    free(req);
    conn_close(c, 0);
  }
}

/* A frame header: FIN and RSV bits in `b0` with the opcode, the length in
 * its shortest form unless `force64`. Returns the header's length. */
static size_t frame_header(uint8_t *h, uint8_t b0, uint64_t len, int force64) {
  h[0] = b0;
  if (len < 126 && !force64) {
    h[1] = (uint8_t)len;
    return 2;
  }
  if (len <= 0xffff && !force64) {
    h[1] = 126;
    h[2] = (uint8_t)(len >> 8);
    h[3] = (uint8_t)len;
    return 4;
  }
  h[1] = 127;
  for (int i = 0; i < 8; i++)
    h[2 + i] = (uint8_t)(len >> (56 - 8 * i));
  return 10;
}

/* Sends one unmasked frame. */
static void put_frame(conn *c, uint8_t b0, const void *payload, size_t len) {
  uint8_t *f = malloc(10 + len);
  size_t hl;
  if (f == NULL) {
    conn_close(c, 0);
    return;
  }
  hl = frame_header(f, b0, len, 0);
  if (len > 0)
    memcpy(f + hl, payload, len);
  put(c, f, hl + len);
  free(f);
}

static void put_close(conn *c, unsigned code, const void *reason, size_t rlen) {
  uint8_t p[125];
  p[0] = (uint8_t)(code >> 8);
  p[1] = (uint8_t)code;
  if (rlen > sizeof(p) - 2)
    rlen = sizeof(p) - 2;
  if (rlen > 0)
    memcpy(p + 2, reason, rlen);
  put_frame(c, 0x88, p, 2 + rlen);
}

/* `n` pings with 125-byte payloads in one buffer. */
static void put_pings(conn *c, size_t n) {
  const size_t each = 2 + 125;
  uint8_t *b = malloc(n * each);
  if (b == NULL) {
    conn_close(c, 0);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    b[i * each] = 0x89;
    b[i * each + 1] = 125;
    memset(b + i * each + 2, 'p', 125);
  }
  put(c, b, n * each);
  free(b);
  c->pings += n;
}

/* `n` 1000-byte chunks of a chunked body in one buffer. */
static void put_chunks(conn *c, size_t n) {
  const char head[] = "3e8\r\n"; /* 1000 */
  const size_t each = sizeof(head) - 1 + 1000 + 2;
  char *b = malloc(n * each);
  if (b == NULL) {
    conn_close(c, 0);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    memcpy(b + i * each, head, sizeof(head) - 1);
    memset(b + i * each + sizeof(head) - 1, 'z', 1000);
    memcpy(b + i * each + sizeof(head) - 1 + 1000, "\r\n", 2);
  }
  put(c, b, n * each);
  free(b);
  c->pings += n;
}

static void flood_more(conn *c) {
  if (c->pings >= FLOOD_FOREVER_CAP) {
    c->flooding = 0;
    return;
  }
  if (srv.sc->kind == S_REJECT_ENDLESS_BODY)
    put_chunks(c, 64);
  else
    put_pings(c, FLOOD_BATCH);
}

/* ---- the upgrade ---- */

/* The value of request header `name` (lower case), or "" when absent. */
static void header(const char *req, const char *name, char *out, size_t n) {
  size_t nl = strlen(name);
  const char *line = strstr(req, "\r\n");
  out[0] = '\0';
  while (line != NULL && line[2] != '\r') {
    line += 2;
    if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
      const char *v = line + nl + 1, *e = strstr(v, "\r\n");
      size_t len;
      while (*v == ' ' || *v == '\t')
        v++;
      len = e ? (size_t)(e - v) : strlen(v);
      while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
        len--;
      if (len >= n)
        len = n - 1;
      memcpy(out, v, len);
      out[len] = '\0';
      return;
    }
    line = strstr(line, "\r\n");
  }
}

/* A 101 response; the scenario picks what to break. */
static int response_101(conn *c, char *buf, size_t n) {
  const char *status = "HTTP/1.1 101 Switching Protocols\r\n";
  const char *upgrade = "Upgrade: websocket\r\n";
  const char *connection = "Connection: Upgrade\r\n";
  const char *extra = "";
  char accept[FX_ACCEPT_LEN + 1];
  memcpy(accept, c->accept, sizeof(accept));
  switch (srv.sc->kind) {
  case S_BAD_ACCEPT:
    /* Right length, right alphabet, wrong value. */
    accept[0] = accept[0] == 'A' ? 'B' : 'A';
    break;
  case S_NO_UPGRADE:
    upgrade = "";
    break;
  case S_NO_CONNECTION_UPGRADE:
    connection = "Connection: keep-alive\r\n";
    break;
  case S_UNOFFERED_SUBPROTOCOL:
    extra = "Sec-WebSocket-Protocol: never-offered\r\n";
    break;
  case S_UNOFFERED_EXTENSION:
  case S_DEFLATE_BOMB:
  case S_DEFLATE_BAD_UTF8:
    extra = "Sec-WebSocket-Extensions: permessage-deflate\r\n";
    break;
  case S_DEFLATE_BAD_PARAM:
    extra = "Sec-WebSocket-Extensions: permessage-deflate; "
            "server_max_window_bits=7\r\n";
    break;
  case S_DEFLATE_UNKNOWN_PARAM:
    extra = "Sec-WebSocket-Extensions: permessage-deflate; mystery\r\n";
    break;
  case S_DEFLATE_TWICE:
    extra = "Sec-WebSocket-Extensions: permessage-deflate, "
            "permessage-deflate\r\n";
    break;
  case S_HTTP10_101:
    status = "HTTP/1.0 101 Switching Protocols\r\n";
    break;
  default:
    break;
  }
  return snprintf(buf, n, "%s%s%sSec-WebSocket-Accept: %s\r\n%s\r\n", status,
                  upgrade, connection, accept, extra);
}

static void on_slow_tick(uv_timer_t *t) {
  conn *c = t->data;
  if (c->slow_pos >= c->slow_len) {
    uv_timer_stop(t);
    return;
  }
  put(c, c->slow + c->slow_pos, 1);
  c->slow_pos++;
}

static void on_reset_timer(uv_timer_t *t) { conn_close(t->data, 1); }

/* Header lines of `total` bytes, or one long value, then the blank line. */
static void put_huge_headers(conn *c, int one_line, size_t total) {
  size_t cap = 80 * 1024, len;
  char *b = malloc(cap);
  if (b == NULL) {
    conn_close(c, 0);
    return;
  }
  len = (size_t)snprintf(b, cap,
                         "HTTP/1.1 101 Switching Protocols\r\n"
                         "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                         "Sec-WebSocket-Accept: %s\r\n",
                         c->accept);
  if (one_line) {
    memcpy(b + len, "X-Pad: ", 7);
    len += 7;
    memset(b + len, 'a', 70 * 1024);
    len += 70 * 1024;
    memcpy(b + len, "\r\n", 2);
    len += 2;
  } else {
    for (int i = 0; len < total; i++)
      len +=
          (size_t)snprintf(b + len, cap - len, "X-Pad-%05d: %064d\r\n", i, 0);
  }
  memcpy(b + len, "\r\n", 2);
  len += 2;
  put(c, b, len);
  free(b);
}

static void on_request(conn *c) {
  char key[128], resp[512];
  const char *partial = "HTTP/1.1 101 Switching Protocols\r\n"
                        "Upgrade: websocket\r\n";
  int n;
  c->upgraded = 1;
  header(c->req, "sec-websocket-key", key, sizeof(key));
  if (fx_ws_accept(key, c->accept) != 0) {
    conn_close(c, 0);
    return;
  }
  switch (srv.sc->kind) {
  case S_SLOWLORIS:
    n = response_101(c, resp, sizeof(resp));
    if ((c->slow = malloc((size_t)n)) == NULL) {
      conn_close(c, 0);
      return;
    }
    memcpy(c->slow, resp, (size_t)n);
    c->slow_len = (size_t)n;
    uv_timer_start(&c->timer, on_slow_tick, 0, 1000);
    return;
  case S_HUGE_HEADERS:
  case S_HUGE_HEADER_LINE:
    put_huge_headers(c, srv.sc->kind == S_HUGE_HEADER_LINE, 66 * 1024);
    return;
  case S_HEADERS_40K:
    put_huge_headers(c, 0, 40 * 1024);
    return;
  case S_NO_END_OF_HEADERS:
    put(c, partial, strlen(partial));
    return;
  case S_GARBAGE_RESPONSE: {
    const char *banner = "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n";
    put(c, banner, strlen(banner));
    return;
  }
  case S_RST_BEFORE_RESPONSE:
    conn_close(c, 1);
    return;
  case S_EOF_BEFORE_RESPONSE:
    shut_write(c);
    return;
  case S_RST_MID_RESPONSE:
    /* The reset comes later, so that the headers are read first. */
    put(c, partial, strlen(partial));
    uv_timer_start(&c->timer, on_reset_timer, 200, 0);
    return;
  case S_EOF_MID_RESPONSE:
    put(c, partial, strlen(partial));
    shut_write(c);
    return;
  case S_REJECT_ENDLESS_BODY: {
    const char *head = "HTTP/1.1 503 Service Unavailable\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n";
    put(c, head, strlen(head));
    c->flooding = 1;
    flood_more(c);
    return;
  }
  case S_REJECT_STALLED_BODY: {
    const char *head = "HTTP/1.1 503 Service Unavailable\r\n"
                       "Retry-After: 7\r\nContent-Length: 1000\r\n\r\n"
                       "not ready ";
    put(c, head, strlen(head));
    return;
  }
  default:
    break;
  }
  n = response_101(c, resp, sizeof(resp));
  if (srv.sc->kind == S_GARBAGE_AFTER_101) {
    /* One write, so that the client reads both at once: 'g' = 0x67 has
     * RSV2 and RSV3 set and a reserved opcode. */
    n += snprintf(resp + n, sizeof(resp) - (size_t)n,
                  "garbage garbage garbage\r\n");
  }
  put(c, resp, (size_t)n);
  switch (srv.sc->kind) {
  case S_PING_FLOOD:
    put_pings(c, FLOOD_PINGS);
    break;
  case S_PING_FLOOD_FOREVER:
    c->flooding = 1;
    flood_more(c);
    break;
  case S_HALF_CLOSE:
    shut_write(c);
    break;
  case S_NEVER_READ:
    uv_read_stop((uv_stream_t *)&c->tcp);
    break;
  default:
    break;
  }
}

/* ---- the client's frames ---- */

/*
 * Sends `len` bytes as one compressed message (RSV1, RFC 7692 7.2.1: raw
 * DEFLATE ending in a sync flush, its last four bytes left off).
 */
static void put_deflated(conn *c, uint8_t b0, const void *data, size_t len) {
  z_stream z;
  size_t cap = len / 256 + 1024, n;
  uint8_t *out = malloc(cap);
  memset(&z, 0, sizeof(z));
  if (out == NULL ||
      deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
    free(out);
    return;
  }
  z.next_in = (Bytef *)data;
  z.avail_in = (uInt)len;
  z.next_out = out;
  z.avail_out = (uInt)cap;
  if (deflate(&z, Z_SYNC_FLUSH) == Z_OK && z.avail_in == 0 &&
      (n = cap - z.avail_out) >= 4)
    put_frame(c, (uint8_t)(b0 | 0x40), out, n - 4);
  deflateEnd(&z);
  free(out);
}

static void on_first_message(conn *c, uint8_t opcode, const uint8_t *msg,
                             size_t len) {
  uint8_t h[16], big[4096];
  size_t hl;
  switch (srv.sc->kind) {
  case S_MASKED_FRAME: {
    uint8_t f[] = {0x81, 0x82, 1, 2, 3, 4, 'h' ^ 1, 'i' ^ 2};
    put(c, f, sizeof(f));
    break;
  }
  case S_LENGTH_2_63:
  case S_LENGTH_2_63_MINUS_1:
    hl = frame_header(h, 0x82,
                      srv.sc->kind == S_LENGTH_2_63 ? (uint64_t)1 << 63
                                                    : ((uint64_t)1 << 63) - 1,
                      1);
    put(c, h, hl);
    put(c, "payload", 7);
    break;
  case S_FRAGMENTED_PING:
    put_frame(c, 0x09, "", 0);
    put_frame(c, 0x80, "", 0);
    break;
  case S_LONG_PING:
    memset(big, 'p', 126);
    put_frame(c, 0x89, big, 126);
    break;
  case S_RESERVED_OPCODE:
    put_frame(c, 0x83, "x", 1);
    break;
  case S_RSV_BITS:
    put_frame(c, 0xc1, "hi", 2);
    break;
  case S_DEFLATE_BOMB: {
    size_t n = 512 * 1024;
    uint8_t *zeros = calloc(1, n);
    if (zeros != NULL)
      put_deflated(c, 0x82, zeros, n);
    free(zeros);
    break;
  }
  case S_DEFLATE_BAD_UTF8:
    put_deflated(c, 0x81, "bad \xff\xfe utf-8", 13);
    break;
  case S_ORPHAN_CONTINUATION:
    put_frame(c, 0x80, "hi", 2);
    break;
  case S_CLOSE_CODE:
    put_close(c, srv.sc->arg, "", 0);
    break;
  case S_CLOSE_1_BYTE:
    put_frame(c, 0x88, "\x03", 1);
    break;
  case S_CLOSE_REASON_CONTROL:
    put_close(c, 1011, "line 1\nline 2\x1b[2J", 17);
    break;
  case S_BAD_UTF8_TEXT:
    put_frame(c, 0x81, "bad \xff\xfe utf-8", sizeof("bad \xff\xfe utf-8") - 1);
    break;
  case S_BAD_UTF8_FRAGMENTED:
    /* "caf" + a lead byte, then a byte that cannot continue it. */
    put_frame(c, 0x01, "caf\xc3", 4);
    put_frame(c, 0x80, "(", 1);
    break;
  case S_BAD_UTF8_CLOSE_REASON:
    put_close(c, 1000, "bye \xc0\xaf", 6);
    break;
  case S_OVERSIZED_MESSAGE:
    memset(big, 'a', sizeof(big));
    put_frame(c, 0x81, big, sizeof(big));
    break;
  case S_OVERSIZED_FRAGMENTED:
    memset(big, 'a', 400);
    put_frame(c, 0x01, big, 400);
    put_frame(c, 0x00, big, 400);
    put_frame(c, 0x00, big, 400);
    put_frame(c, 0x80, big, 400);
    break;
  case S_RST_MID_MESSAGE:
  case S_EOF_MID_MESSAGE:
    hl = frame_header(h, 0x81, 1000, 0);
    memset(big, 'a', 100);
    put(c, h, hl);
    put(c, big, 100);
    if (srv.sc->kind == S_RST_MID_MESSAGE)
      uv_timer_start(&c->timer, on_reset_timer, 200, 0);
    else
      shut_write(c);
    break;
  case S_NEVER_READ:
  case S_PING_FLOOD_FOREVER:
    break;
  default:
    /* echo, ping-flood, no-close-answer, ...: a well-behaved echo. */
    put_frame(c, (uint8_t)(0x80 | opcode), msg, len);
    break;
  }
}

static void on_client_frame(conn *c, uint8_t b0, const uint8_t *p, size_t len) {
  uint8_t opcode = b0 & 0x0f;
  switch (opcode) {
  case 0x8: /* close */
    if (c->close_received)
      return;
    c->close_received = 1;
    if (srv.sc->kind == S_NO_CLOSE_ANSWER)
      return;
    /* Echo its code (or none), then end TCP first (RFC 6455 7.1.1). */
    put_frame(c, 0x88, p, len >= 2 ? 2 : 0);
    shut_write(c);
    return;
  case 0x9: /* ping */
    put_frame(c, 0x8a, p, len);
    return;
  case 0xa: /* pong: the answer to our flood */
    return;
  default:
    if (!(b0 & 0x80))
      return; /* Only whole messages count; the client sends one frame. */
    if (c->messages++ == 0)
      on_first_message(c, opcode, p, len);
    else if (srv.sc->kind == S_ECHO || srv.sc->kind == S_PING_FLOOD ||
             srv.sc->kind == S_NO_CLOSE_ANSWER)
      put_frame(c, (uint8_t)(0x80 | opcode), p, len);
    return;
  }
}

/* Parses whole client frames out of c->in (they are masked). */
static void parse_frames(conn *c) {
  size_t off = 0;
  while (!c->closing && c->in_len - off >= 2) {
    const uint8_t *f = c->in + off;
    size_t avail = c->in_len - off, hl = 2;
    uint64_t len = f[1] & 0x7f;
    int masked = f[1] & 0x80;
    if (len == 126)
      hl += 2;
    else if (len == 127)
      hl += 8;
    if (masked)
      hl += 4;
    if (avail < hl)
      break;
    if (len == 126) {
      len = ((uint64_t)f[2] << 8) | f[3];
    } else if (len == 127) {
      len = 0;
      for (int i = 0; i < 8; i++)
        len = (len << 8) | f[2 + i];
    }
    if (len > MAX_CLIENT_FRAME) {
      conn_close(c, 0);
      return;
    }
    if (avail - hl < len)
      break;
    {
      uint8_t *p = c->in + off + hl;
      if (masked)
        for (size_t i = 0; i < len; i++)
          p[i] ^= f[hl - 4 + (i & 3)];
      on_client_frame(c, f[0], p, (size_t)len);
    }
    off += hl + (size_t)len;
  }
  if (off > 0 && !c->closing) {
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
  }
}

static void on_frame_bytes(conn *c, const char *data, size_t len) {
  if (c->in_len + len > c->in_cap) {
    size_t cap = c->in_cap ? c->in_cap : 4096;
    uint8_t *n;
    while (cap < c->in_len + len)
      cap *= 2;
    if (cap > 2 * MAX_CLIENT_FRAME || (n = realloc(c->in, cap)) == NULL) {
      conn_close(c, 0);
      return;
    }
    c->in = n;
    c->in_cap = cap;
  }
  memcpy(c->in + c->in_len, data, len);
  c->in_len += len;
  parse_frames(c);
}

/* ---- reading ---- */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)h;
  (void)hint;
  *buf = uv_buf_init(srv.rbuf, sizeof(srv.rbuf));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  conn *c = s->data;
  const char *data = buf->base;
  size_t len = nread > 0 ? (size_t)nread : 0;
  if (nread < 0) {
    conn_close(c, 0);
    return;
  }
  if (!c->upgraded) {
    char *end;
    size_t take = MAX_REQUEST - c->req_len;
    if (take == 0) {
      conn_close(c, 0);
      return;
    }
    if (take > len)
      take = len;
    memcpy(c->req + c->req_len, data, take);
    c->req_len += take;
    c->req[c->req_len] = '\0';
    if ((end = strstr(c->req, "\r\n\r\n")) == NULL)
      return;
    {
      /* Bytes after the request are the client's first frames. */
      size_t used = (size_t)(end + 4 - c->req);
      size_t before = c->req_len - take;
      on_request(c);
      if (c->closing || used < before)
        return;
      data += used - before;
      len -= used - before;
    }
    if (srv.sc->kind == S_NEVER_READ)
      return;
  }
  if (len > 0 && !c->closing)
    on_frame_bytes(c, data, len);
}

static void on_connection(uv_stream_t *server, int status) {
  conn *c;
  if (status < 0 || fx->stopping || (c = calloc(1, sizeof(*c))) == NULL)
    return;
  uv_tcp_init(srv.loop, &c->tcp);
  uv_timer_init(srv.loop, &c->timer);
  c->tcp.data = c;
  c->timer.data = c;
  c->handles = 2;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
    conn_close(c, 0);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

/* ---- start and stop ---- */

/* The skeleton's way to close a connection when stopping. */
static void close_conn(void *ud) { conn_close(ud, 0); }

static const char usage[] =
    "usage: hostile_server --scenario NAME [--port N] [--listen ADDR]\n"
    "                      [--lifetime SECONDS]\n"
    "       hostile_server --list\n";

int main(int argc, char **argv) {
  static const struct option opts[] = {
      {"scenario", 1, NULL, 's'}, {"port", 1, NULL, 'p'},
      {"listen", 1, NULL, 'l'},   {"lifetime", 1, NULL, 'L'},
      {"list", 0, NULL, 'i'},     {"help", 0, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *listen_addr = "127.0.0.1", *name = NULL;
  unsigned long long port = 0, lifetime = 0;
  static fx_server server;
  char label[64];
  int opt, rc;

  fx_init(&server, "hostile_server", close_conn);
  opterr = 0;
  while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (opt) {
    case 's':
      name = optarg;
      break;
    case 'p':
      port = fx_number("--port", optarg, 65535);
      break;
    case 'l':
      listen_addr = optarg;
      break;
    case 'L':
      lifetime = fx_number("--lifetime", optarg, 86400);
      break;
    case 'i':
      for (size_t i = 0; i < ARRAY_SIZE(scenarios); i++)
        printf("%-24s %s\n", scenarios[i].name, scenarios[i].summary);
      return 0;
    case 'h':
      fputs(usage, stdout);
      return 0;
    default:
      fx_usage_error("unknown option or missing value: '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc)
    fx_usage_error("unexpected argument '%s'", argv[optind]);
  if (name == NULL)
    fx_usage_error("--scenario is required (--list shows them)");
  for (size_t i = 0; i < ARRAY_SIZE(scenarios); i++)
    if (strcmp(scenarios[i].name, name) == 0)
      srv.sc = &scenarios[i];
  if (srv.sc == NULL)
    fx_usage_error("unknown scenario '%s' (--list shows them)", name);
  if (strcmp(listen_addr, "127.0.0.1") != 0 && strcmp(listen_addr, "::1") != 0)
    fx_usage_error("--listen: only 127.0.0.1 or ::1");

  signal(SIGPIPE, SIG_IGN);
  srv.loop = &fx->loop;
  snprintf(label, sizeof(label), "hostile_server (%s)", srv.sc->name);
  if (fx_listen(listen_addr, (unsigned)port, 1024, on_connection, label,
                NULL) != 0)
    return 1;
  rc = fx_run(lifetime);
  return rc == 0 ? 0 : 1;
}
