/*
 * What a WebSocket session (lib/ws.c) reported, recorded as one text that
 * compares with another: test_frames and fuzz_frames feed the same bytes
 * in different pieces and require the same facts. Also a server frame
 * builder, a feeder that cuts, and a parser of what the session sent.
 */
#ifndef WSP_TEST_WS_FACTS_H
#define WSP_TEST_WS_FACTS_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rand.h"
#include "ws.h"

/* The facts of one session. */
typedef struct {
  char log[8192];      /* "msg t 2 hi|close 1011 ok 14 ...|" */
  size_t len;          /* Its length. */
  int sends;           /* Send callback calls. */
  uint8_t out[200000]; /* What was sent (client frames, masked). */
  size_t out_len;      /* Its length. */
  int fail_sends;      /* Make the send callback fail. */
  int full;            /* The log is full: it ends at its last whole
                          fact, and nothing more is written. */
} facts;

static void facts_printf(facts *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void facts_printf(facts *f, const char *fmt, ...) {
  va_list ap;
  int n;
  if (f->full)
    return;
  va_start(ap, fmt);
  n = vsnprintf(f->log + f->len, sizeof(f->log) - f->len, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof(f->log) - f->len) {
    /* Full (thousands of facts): the log keeps its whole facts only, so
     * that two logs of the same facts still compare equal. */
    while (f->len > 0 && f->log[f->len - 1] != '|')
      f->len--;
    f->log[f->len] = '\0';
    f->full = 1;
    return;
  }
  f->len += (size_t)n;
}

/* Bytes as text: '|' (between facts), '\\' and what is not printable
 * ASCII as \xx escapes, so that a fact's bytes never look like facts. */
static void facts_bytes(facts *f, const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n && !f->full; i++)
    facts_printf(f,
                 p[i] >= 0x20 && p[i] < 0x7f && p[i] != '|' && p[i] != '\\'
                     ? "%c"
                     : "\\%02x",
                 p[i]);
}

static int facts_send(void *ud, const uint8_t *data, size_t len) {
  facts *f = ud;
  if (f->fail_sends)
    return -1;
  f->sends++;
  if (f->out_len + len <= sizeof(f->out)) {
    memcpy(f->out + f->out_len, data, len);
    f->out_len += len;
  }
  return 0;
}

static void facts_message(void *ud, int binary, const uint8_t *data,
                          size_t len) {
  facts *f = ud;
  facts_printf(f, "msg %c %zu ", binary ? 'b' : 't', len);
  facts_bytes(f, data, len < 40 ? len : 40);
  facts_printf(f, "|");
}

static void facts_close_received(void *ud, const wsp__close_frame *c) {
  facts *f = ud;
  facts_printf(f, "close %d %s %zu ", c->code, c->valid ? "ok" : "bad",
               c->reason_len);
  facts_bytes(f, c->reason, c->reason_len);
  facts_printf(f, "|");
}

static void facts_close_sent(void *ud, int code, const uint8_t *reason,
                             size_t len) {
  facts *f = ud;
  facts_printf(f, "sent %d ", code);
  facts_bytes(f, reason, len);
  facts_printf(f, "|");
}

static void facts_protocol_error(void *ud, int code_sent) {
  facts *f = ud;
  facts_printf(f, "error %d|", code_sent);
}

static void facts_out_of_memory(void *ud) { facts_printf(ud, "nomem|"); }

static const wsp__ws_cbs facts_cbs = {
    facts_send,       facts_message,        facts_close_received,
    facts_close_sent, facts_protocol_error, facts_out_of_memory};

/* A fresh session recording into `f`: 0 or WSP_ENOMEM. */
static inline int facts_session(wsp__ws *ws, facts *f, wsp__ws_loop *lp,
                                wsp__rng *rng, uint64_t max_message) {
  memset(f, 0, sizeof(*f));
  wsp__ws_init(ws, lp, rng, &facts_cbs, f);
  return wsp__ws_open(ws, max_message);
}

/* A server frame (unmasked) with `len` payload bytes, into out. */
static inline size_t frame(uint8_t *out, uint8_t b0, const void *payload,
                           size_t len) {
  size_t n = 0;
  out[n++] = b0;
  if (len < 126) {
    out[n++] = (uint8_t)len;
  } else if (len <= 0xffff) {
    out[n++] = 126;
    out[n++] = (uint8_t)(len >> 8);
    out[n++] = (uint8_t)len;
  } else {
    out[n++] = 127;
    for (int i = 0; i < 8; i++)
      out[n++] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
  }
  memcpy(out + n, payload, len);
  return n + len;
}

/* Feeds `in` in the pieces that `cuts` (ascending offsets) make; a read
 * never delivers 0 bytes. */
static inline void feed_cuts(wsp__ws *ws, const uint8_t *in, size_t len,
                             const size_t *cuts, size_t ncuts) {
  size_t off = 0;
  for (size_t i = 0; i <= ncuts; i++) {
    size_t end = i < ncuts ? cuts[i] : len;
    if (end > off)
      wsp__ws_feed(ws, in + off, end - off);
    off = end;
  }
}

/*
 * Parses what the session sent as client frames: each whole and masked.
 * Returns how many (at most `max`, their first bytes in op[] and payload
 * lengths in plen[]) with the first one's payload unmasked into `payload`
 * (may be NULL), or -1 for bytes that are not whole masked frames.
 */
static inline int facts_frames(const facts *f, uint8_t *op, uint8_t *payload,
                               size_t *plen, int max) {
  size_t off = 0;
  int k = 0;
  while (off < f->out_len) {
    const uint8_t *p = f->out + off;
    size_t hl = 2, len;
    if (f->out_len - off < 2 || !(p[1] & 0x80))
      return -1;
    len = p[1] & 0x7f;
    if (len == 126) {
      if (f->out_len - off < 4)
        return -1;
      len = ((size_t)p[2] << 8) | p[3];
      hl += 2;
    } else if (len == 127) {
      if (f->out_len - off < 10)
        return -1;
      len = 0;
      for (int i = 0; i < 8; i++)
        len = (len << 8) | p[2 + i];
      hl += 8;
    }
    if (len > f->out_len || off + hl + 4 + len > f->out_len)
      return -1;
    if (k < max) {
      op[k] = p[0];
      plen[k] = len;
    }
    for (size_t i = 0; i < len && payload != NULL; i++)
      payload[i] = p[hl + 4 + i] ^ p[hl + (i & 3)];
    payload = NULL; /* Only the first frame's payload is kept. */
    k++;
    off += hl + 4 + len;
  }
  return k;
}

#endif
