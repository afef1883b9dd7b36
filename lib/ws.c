/*
 * The WebSocket session: wslay's event API with no I/O and no verdicts.
 * wslay's recv callback is served from the bytes being fed, its send
 * callback gathers what it writes, and each flush hands everything it
 * gathered to the send callback in one call: a frame (and whatever frames
 * went with it) leaves in one write, one TLS record, on every path.
 * Sending a frame's header and payload in two writes let a server that
 * closes after reading only a header (aiohttp's and tornado's message
 * size limits) reset the connection before the payload arrived.
 *
 * Close frames are captured here as they arrive, before wslay judges them:
 * wslay 1.1.1 rejects the valid codes 1012-1014 and keeps no reason, and a
 * report must show exactly what the server put on the wire. A close frame
 * also reaches wslay whole, never cut between reads: wslay 1.1.1 checks a
 * close reason's UTF-8 piece by piece, each from its third byte (the code's
 * place in the first), so that a valid reason cut inside a character was
 * refused with 1007 and an invalid one could pass. The same bytes give the
 * same facts however they arrive.
 */
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "ws.h"
#include "wsprobe.h"

/* A gathered flush larger than this is not kept for the next one. */
#define KEEP_BUF (64 * 1024)

static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len,
                       int flags, void *ud) {
  wsp__ws *ws = ud;
  (void)flags;
  if (ws->in_len == 0) {
    /* wslay's error is sticky: always set it before returning -1. */
    wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    return -1;
  }
  if (len > ws->in_len)
    len = ws->in_len;
  memcpy(buf, ws->in, len);
  ws->in += len;
  ws->in_len -= len;
  return (ssize_t)len;
}

/* wslay writes a frame's header and its payload (in pieces of 4 KiB when
 * masked) in separate calls: everything is gathered until the flush. */
static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data,
                       size_t len, int flags, void *ud) {
  wsp__ws_loop *lp = ((wsp__ws *)ud)->lp;
  (void)flags;
  if (lp->len + len > lp->cap) {
    size_t cap = lp->cap ? lp->cap : 1024;
    uint8_t *b;
    while (cap < lp->len + len)
      cap *= 2;
    if ((b = realloc(lp->buf, cap)) == NULL) {
      wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
      return -1;
    }
    lp->buf = b;
    lp->cap = cap;
  }
  memcpy(lp->buf + lp->len, data, len);
  lp->len += len;
  return (ssize_t)len;
}

static int genmask_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len,
                      void *ud) {
  wsp__ws *ws = ud;
  if (wsp__random(ws->rng, buf, len) != 0) {
    wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
  }
  return 0;
}

static void on_frame_start(wslay_event_context_ptr ctx,
                           const struct wslay_event_on_frame_recv_start_arg *a,
                           void *ud) {
  wsp__ws *ws = ud;
  (void)ctx;
  if (a->opcode == WSLAY_CONNECTION_CLOSE) {
    ws->capturing = 1;
    ws->ctl_len = 0;
  }
}

static void on_frame_chunk(wslay_event_context_ptr ctx,
                           const struct wslay_event_on_frame_recv_chunk_arg *a,
                           void *ud) {
  wsp__ws *ws = ud;
  size_t n = a->data_length;
  (void)ctx;
  if (!ws->capturing)
    return;
  if (n > sizeof(ws->ctl_buf) - ws->ctl_len)
    n = sizeof(ws->ctl_buf) - ws->ctl_len;
  memcpy(ws->ctl_buf + ws->ctl_len, a->data, n);
  ws->ctl_len += (uint8_t)n;
}

/* Close codes a peer may put on the wire (RFC 6455 7.4, IANA registry). */
static int wire_code_valid(unsigned code) {
  return (code >= 1000 && code <= 1014 && code != 1004 && code != 1005 &&
          code != 1006) ||
         (code >= 3000 && code <= 4999);
}

/* What the server's close frame says, parsed from the captured payload,
 * and the code to answer it with (0: an empty close). */
static wsp__close_frame parse_close(const wsp__ws *ws, uint16_t *answer) {
  wsp__close_frame c = {0, NULL, 0, 0};
  if (ws->ctl_len == 0) {
    c.code = 1005;
    c.valid = 1;
    *answer = 0; /* An empty close is answered with an empty close. */
  } else if (ws->ctl_len == 1) {
    c.code = -1; /* A one-byte payload holds no code. */
    *answer = 1002;
  } else {
    /* Code 0 on the wire is invalid like any other code outside the
     * registry: it must not pass for "no code". */
    unsigned code = ((unsigned)ws->ctl_buf[0] << 8) | ws->ctl_buf[1];
    c.code = (int)code;
    c.reason = ws->ctl_buf + 2;
    c.reason_len = (size_t)ws->ctl_len - 2;
    if (!wire_code_valid(code))
      *answer = 1002;
    else if (!wsp__utf8_valid(c.reason, c.reason_len))
      *answer = 1007; /* As wslay answers a reason it rejects itself. */
    else {
      *answer = (uint16_t)code;
      c.valid = 1;
    }
  }
  return c;
}

static int queue_close(wsp__ws *ws, uint16_t code, const uint8_t *reason,
                       size_t len);

static void on_frame_end(wslay_event_context_ptr ctx, void *ud) {
  wsp__ws *ws = ud;
  uint16_t answer;
  (void)ctx;
  if (!ws->capturing)
    return;
  ws->capturing = 0;
  /* A reason that is not UTF-8 is a broken protocol, not a close: wslay
   * says so itself when the bad byte comes in the same piece as the
   * code's second byte, and misses it otherwise (it checks each piece
   * from its third byte). The same bytes must give the same facts. */
  if (parse_close(ws, &answer).valid || answer != 1007)
    ws->peer_closed = 1;
  /* Answer now, so wslay's own answer (1002 for 1012-1014) is never
   * queued: it finds a close already queued and leaves it. */
  if (!ws->close_queued)
    (void)queue_close(ws, answer, NULL, 0);
}

/*
 * Fails the connection from inside wslay's message callback: our close
 * goes out with `code`, and wslay reads nothing more, so wsp__ws_feed()
 * reports the broken protocol.
 */
static void fail_msg(wsp__ws *ws, uint16_t code) {
  if (!ws->close_queued)
    (void)queue_close(ws, code, NULL, 0);
  wslay_event_shutdown_read(ws->ctx);
}

/*
 * A compressed message (RSV1) is inflated here. wslay bounds only its
 * compressed size and skips its UTF-8 check on such text frames, so both
 * are checked on what it inflates to: too long is 1009, invalid data or
 * text that is not UTF-8 is 1007.
 */
static void on_msg(wslay_event_context_ptr ctx,
                   const struct wslay_event_on_msg_recv_arg *a, void *ud) {
  wsp__ws *ws = ud;
  uint8_t *plain = NULL;
  size_t n;
  int rc, binary = a->opcode == WSLAY_BINARY_FRAME;
  (void)ctx;
  if (a->opcode != WSLAY_TEXT_FRAME && !binary)
    return;
  if (!wslay_get_rsv1(a->rsv)) {
    ws->cbs->message(ws->ud, binary, a->msg, a->msg_length);
    return;
  }
  if (!wslay_event_get_read_enabled(ws->ctx))
    return; /* The connection already failed in this read. */
  rc = wsp__inflate_msg(&ws->dfl, a->msg, a->msg_length, ws->max_message,
                        &plain, &n);
  if (rc == WSP__INFLATE_BIG || rc == WSP_ENOMEM)
    fail_msg(ws, 1009);
  else if (rc != 0 || (!binary && !wsp__utf8_valid(plain, n)))
    fail_msg(ws, 1007);
  else
    ws->cbs->message(ws->ud, binary, plain, n);
  free(plain);
}

static const struct wslay_event_callbacks callbacks = {
    recv_cb,        send_cb,      genmask_cb, on_frame_start,
    on_frame_chunk, on_frame_end, on_msg,
};

void wsp__ws_init(wsp__ws *ws, wsp__ws_loop *lp, wsp__rng *rng,
                  const wsp__ws_cbs *cbs, void *ud) {
  memset(ws, 0, sizeof(*ws));
  ws->lp = lp;
  ws->rng = rng;
  ws->cbs = cbs;
  ws->ud = ud;
  ws->close_code = -1;
}

int wsp__ws_open(wsp__ws *ws, uint64_t max_message) {
  if (wslay_event_context_client_init(&ws->ctx, &callbacks, ws) != 0)
    return WSP_ENOMEM;
  wslay_event_config_set_max_recv_msg_length(ws->ctx, max_message);
  ws->max_message = max_message;
  return 0;
}

int wsp__ws_set_deflate(wsp__ws *ws, const wsp__pmd *pmd) {
  if (wsp__deflate_init(&ws->dfl, pmd) != 0)
    return WSP_ENOMEM;
  ws->compress = 1;
  wslay_event_config_set_allowed_rsv_bits(ws->ctx, WSLAY_RSV1_BIT);
  return 0;
}

void wsp__ws_free(wsp__ws *ws) {
  wslay_event_context_free(ws->ctx);
  ws->ctx = NULL;
  if (ws->compress)
    wsp__deflate_free(&ws->dfl);
  ws->compress = 0;
}

/* Deflates a message when permessage-deflate was agreed: 0 with *out
 * malloc'd (RSV1 goes with it), 1 to send it as it is, or WSP_ENOMEM. */
static int squeeze(wsp__ws *ws, const uint8_t *data, size_t len, uint8_t **out,
                   size_t *out_len) {
  if (!ws->compress)
    return 1;
  return wsp__deflate_msg(&ws->dfl, data, len, out, out_len);
}

/* Nothing more can go out: wslay is told to stop writing too. */
static void set_broken(wsp__ws *ws) {
  ws->broken = 1;
  if (ws->ctx != NULL)
    wslay_event_shutdown_write(ws->ctx);
}

/* Hands gathered bytes to the send callback in one call. */
static int emit(wsp__ws *ws) {
  wsp__ws_loop *lp = ws->lp;
  size_t n = lp->len;
  int rc = 0;
  lp->len = 0;
  if (n > 0 && !ws->broken && ws->cbs->send(ws->ud, lp->buf, n) != 0) {
    set_broken(ws);
    rc = WSP_EIO;
  }
  if (lp->cap > KEEP_BUF) {
    free(lp->buf);
    lp->buf = NULL;
    lp->cap = 0;
  }
  return rc;
}

/* Sends whatever wslay has queued, and reports our close once it left. */
static int flush(wsp__ws *ws) {
  int rc;
  if (ws->broken)
    return WSP_EIO;
  if (wslay_event_want_write(ws->ctx) && wslay_event_send(ws->ctx) != 0) {
    ws->lp->len = 0;
    set_broken(ws);
    return WSP_EIO;
  }
  if ((rc = emit(ws)) != 0)
    return rc;
  if (wslay_event_get_close_sent(ws->ctx) && !ws->close_reported) {
    if (!ws->close_queued) {
      /* wslay queued this close itself, after a protocol violation. */
      ws->close_queued = 1;
      ws->close_code = wslay_event_get_status_code_sent(ws->ctx);
      ws->close_reason_len = 0;
    }
    ws->close_reported = 1;
    ws->cbs->close_sent(ws->ud, ws->close_code, ws->close_reason,
                        ws->close_reason_len);
  }
  return 0;
}

static int queue_close(wsp__ws *ws, uint16_t code, const uint8_t *reason,
                       size_t len) {
  int rc;
  if (len > WSP__MAX_REASON)
    len = WSP__MAX_REASON;
  rc = wslay_event_queue_close(ws->ctx, code, reason, len);
  if (rc != 0)
    return rc == WSLAY_ERR_NO_MORE_MSG ? 0 : WSP_ENOMEM;
  ws->close_queued = 1;
  ws->close_code = code ? code : 1005;
  if (len > 0)
    memcpy(ws->close_reason, reason, len);
  ws->close_reason_len = len;
  return 0;
}

int wsp__ws_close(wsp__ws *ws, uint16_t code, const uint8_t *reason,
                  size_t len) {
  int rc;
  if (ws->ctx == NULL || ws->broken)
    return WSP_EIO;
  if (ws->close_queued)
    return 0;
  if ((rc = queue_close(ws, code, reason, len)) != 0)
    return rc;
  return flush(ws);
}

int wsp__ws_can_close(const wsp__ws *ws) {
  return ws->ctx != NULL && !ws->broken && !ws->close_queued &&
         wslay_event_get_write_enabled(ws->ctx);
}

int wsp__ws_close_code(const wsp__ws *ws) {
  return ws->close_queued ? ws->close_code : -1;
}

int wsp__ws_send(wsp__ws *ws, const uint8_t *data, size_t len, int binary) {
  struct wslay_event_msg m;
  uint8_t *z = NULL;
  size_t zlen;
  int rc, sq;
  if (ws->ctx == NULL || ws->broken)
    return WSP_EIO;
  if ((sq = squeeze(ws, data, len, &z, &zlen)) < 0)
    return sq;
  m.opcode = binary ? WSLAY_BINARY_FRAME : WSLAY_TEXT_FRAME;
  m.msg = sq == 0 ? z : data;
  m.msg_length = sq == 0 ? zlen : len;
  /* wslay copies the message when it queues it. */
  rc = wslay_event_queue_msg_ex(ws->ctx, &m, sq == 0 ? WSLAY_RSV1_BIT : 0);
  free(z);
  if (rc != 0)
    return rc == WSLAY_ERR_NOMEM ? WSP_ENOMEM : WSP_EIO;
  return flush(ws);
}

/*
 * Frames a message ahead (RFC 6455 5.2, masked), so that releasing a burst
 * costs one write per probe and nothing else.
 */
int wsp__ws_frame(wsp__ws *ws, const uint8_t *data, size_t len, int binary,
                  uint8_t **out, size_t *out_len) {
  size_t hl = 2;
  uint8_t *f, mask[4], *z = NULL;
  int sq;
  if (wsp__random(ws->rng, mask, sizeof(mask)) != 0)
    return WSP_ECRYPTO;
  if ((sq = squeeze(ws, data, len, &z, &len)) < 0)
    return sq;
  if (sq == 0)
    data = z;
  hl += len < 126 ? 0 : len <= 0xffff ? 2 : 8;
  if ((f = malloc(hl + 4 + len)) == NULL) {
    free(z);
    return WSP_ENOMEM;
  }
  /* FIN, RSV1 for a compressed message (RFC 7692 6), the opcode. */
  f[0] = 0x80 | (sq == 0 ? 0x40 : 0) |
         (binary ? WSLAY_BINARY_FRAME : WSLAY_TEXT_FRAME);
  if (len < 126) {
    f[1] = 0x80 | (uint8_t)len;
  } else if (len <= 0xffff) {
    f[1] = 0x80 | 126;
    f[2] = (uint8_t)(len >> 8);
    f[3] = (uint8_t)len;
  } else {
    f[1] = 0x80 | 127;
    for (int i = 0; i < 8; i++)
      f[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
  }
  memcpy(f + hl, mask, 4);
  for (size_t i = 0; i < len; i++)
    f[hl + 4 + i] = data[i] ^ mask[i & 3];
  free(z);
  *out = f;
  *out_len = hl + 4 + len;
  return 0;
}

int wsp__ws_send_frame(wsp__ws *ws, const uint8_t *frame, size_t len) {
  /* wslay's own output (a pong) goes first, whole frames only: wslay
   * never stops inside a frame, since send_cb takes every byte. */
  if (ws->ctx == NULL || flush(ws) != 0)
    return WSP_EIO;
  if (ws->cbs->send(ws->ud, frame, len) != 0) {
    set_broken(ws);
    return WSP_EIO;
  }
  return 0;
}

/*
 * wslay answers a frame its parser rejects outright (a control frame over
 * 125 bytes or without FIN, a length not in its shortest form or with the
 * top bit set) with a close frame without a code, where RFC 6455 7.4.1
 * names 1002. Send a 1002 of our own instead and let wslay send nothing
 * more: the stream is at a frame boundary, since send_cb takes every byte.
 */
static void fail_protocol(wsp__ws *ws) {
  uint8_t f[8] = {0x88, 0x80 | 2};
  if (wsp__random(ws->rng, f + 2, 4) != 0)
    return; /* wslay's own close goes out instead. */
  f[6] = (uint8_t)(1002 >> 8) ^ f[2];
  f[7] = (uint8_t)(1002 & 0xff) ^ f[3];
  wslay_event_shutdown_write(ws->ctx);
  ws->close_queued = 1;
  ws->close_code = 1002;
  ws->close_reason_len = 0;
  if (ws->broken || ws->cbs->send(ws->ud, f, sizeof(f)) != 0) {
    ws->broken = 1;
    return;
  }
  ws->close_reported = 1;
  ws->cbs->close_sent(ws->ud, 1002, NULL, 0);
}

/* Length of a frame header from its first two bytes: 2, the extended
 * length, the mask. */
static size_t header_len(const uint8_t *h) {
  size_t l7 = h[1] & 0x7f;
  return 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + (h[1] & 0x80 ? 4 : 0);
}

/*
 * Follows frame boundaries over bytes that go to wslay; returns how many
 * of them may go now. Where a close frame begins, the rest is held (see
 * hold_ready()).
 */
static size_t pass_len(wsp__ws *ws, const uint8_t *p, size_t n) {
  size_t i = 0;
  while (i < n) {
    if (ws->skip > 0) {
      size_t k = ws->skip < n - i ? (size_t)ws->skip : n - i;
      ws->skip -= k;
      i += k;
      continue;
    }
    if (ws->fh_len == 0 && (p[i] & 0x0f) == WSLAY_CONNECTION_CLOSE)
      return i;
    ws->fh[ws->fh_len++] = p[i++];
    if (ws->fh_len >= 2 && ws->fh_len == header_len(ws->fh)) {
      size_t l7 = ws->fh[1] & 0x7f, ext = l7 == 126 ? 2 : l7 == 127 ? 8 : 0;
      uint64_t len = l7;
      if (ext > 0) {
        len = 0;
        for (size_t k = 0; k < ext; k++)
          len = (len << 8) | ws->fh[2 + k];
      }
      ws->skip = len;
      ws->fh_len = 0;
    }
  }
  return n;
}

/* Whether the held close frame may go to wslay: whole, or malformed in a
 * way wslay refuses from its header (over 125 bytes, not final); *total
 * is how much of it to give. */
static int hold_ready(const wsp__ws *ws, size_t *total) {
  size_t hl;
  if (ws->hold_len < 2)
    return 0;
  *total = ws->hold_len;
  if ((ws->hold[1] & 0x7f) > 125 || !(ws->hold[0] & 0x80))
    return 1;
  hl = header_len(ws->hold);
  if (ws->hold_len < hl + (ws->hold[1] & 0x7f))
    return 0;
  *total = hl + (ws->hold[1] & 0x7f);
  return 1;
}

/* Appends to the held close frame what fits; nothing after a close frame
 * matters to wslay. */
static void hold_more(wsp__ws *ws, const uint8_t *p, size_t n) {
  size_t room = sizeof(ws->hold) - ws->hold_len;
  if (n > room)
    n = room;
  memcpy(ws->hold + ws->hold_len, p, n);
  ws->hold_len += (uint8_t)n;
}

static int recv_bytes(wsp__ws *ws, const uint8_t *p, size_t n) {
  int rc;
  ws->in = p;
  ws->in_len = n;
  rc = wslay_event_recv(ws->ctx);
  ws->in = NULL;
  ws->in_len = 0;
  return rc;
}

void wsp__ws_feed(wsp__ws *ws, const uint8_t *data, size_t len) {
  size_t pass, total;
  int rc = 0;
  if (ws->ctx == NULL || ws->peer_reported || ws->failed)
    return;
  if (ws->hold_len > 0) {
    hold_more(ws, data, len);
  } else {
    pass = pass_len(ws, data, len);
    if (pass > 0)
      rc = recv_bytes(ws, data, pass);
    if (pass < len && rc == 0 && wslay_event_get_read_enabled(ws->ctx))
      hold_more(ws, data + pass, len - pass);
  }
  if (ws->hold_len > 0 && rc == 0 && hold_ready(ws, &total)) {
    rc = recv_bytes(ws, ws->hold, total);
    ws->hold_len = 0;
  }
  if (rc != 0 && rc != WSLAY_ERR_NOMEM && !ws->peer_closed &&
      !ws->close_queued && !wslay_event_get_close_sent(ws->ctx))
    fail_protocol(ws);
  (void)flush(ws);
  if (ws->peer_closed) {
    uint16_t answer;
    wsp__close_frame c = parse_close(ws, &answer);
    ws->peer_reported = 1;
    ws->cbs->close_received(ws->ud, &c);
  } else if (rc != 0 || !wslay_event_get_read_enabled(ws->ctx)) {
    /* wslay failed the connection: a masked or reserved frame, RSV bits,
     * invalid UTF-8, a fragmented control frame, an oversized message. */
    ws->failed = 1;
    ws->cbs->protocol_error(ws->ud, ws->close_reported ? ws->close_code : -1);
  }
}
