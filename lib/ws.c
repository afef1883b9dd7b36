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
 *
 * Until something needs it, a session runs without wslay's context (about
 * 8.5 KB calloc'd per connection, most of a probe's memory at 1,000 in
 * flight): whole, final, unmasked text, binary and close frames that wslay
 * would take without a word are handled here (see direct_feed()), and our
 * own frames are masked here. The first frame that is not one of those (a
 * frame cut between reads, a ping, a fragment, a frame wslay refuses,
 * permessage-deflate) creates the context at that frame boundary, and
 * wslay takes the session from there (promote()). The facts are the same
 * either way: test_frames feeds every input whole, split at every point
 * and byte by byte (all through wslay), and fuzz_frames whole, split, and
 * after its first byte (all through wslay).
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

/* Room for n more gathered bytes, or NULL. */
static uint8_t *reserve(wsp__ws_loop *lp, size_t n) {
  if (wsp__grow(&lp->buf, &lp->cap, lp->len + n) != 0)
    return NULL;
  return lp->buf + lp->len;
}

/* wslay writes a frame's header and its payload (in pieces of 4 KiB when
 * masked) in separate calls: everything is gathered until the flush. */
static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data,
                       size_t len, int flags, void *ud) {
  wsp__ws_loop *lp = ((wsp__ws *)ud)->lp;
  uint8_t *b;
  (void)flags;
  if ((b = reserve(lp, len)) == NULL) {
    ((wsp__ws *)ud)->send_nomem = 1;
    wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
  }
  memcpy(b, data, len);
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
  ws->opened = 1;
  ws->max_message = max_message;
  return 0;
}

/*
 * Hands the session to wslay, at a frame boundary: nothing of a frame was
 * taken yet, and nothing of ours waits to be sent. What wslay cannot know
 * is told to it: a close of ours already left (or nothing can leave any
 * more), so it sends nothing more, as after a close of its own.
 */
static int promote(wsp__ws *ws) {
  if (ws->ctx != NULL)
    return 0;
  if (wslay_event_context_client_init(&ws->ctx, &callbacks, ws) != 0) {
    ws->ctx = NULL;
    return WSP_ENOMEM;
  }
  wslay_event_config_set_max_recv_msg_length(ws->ctx, ws->max_message);
  if (ws->compress)
    wslay_event_config_set_allowed_rsv_bits(ws->ctx, WSLAY_RSV1_BIT);
  if (ws->close_queued || ws->broken)
    wslay_event_shutdown_write(ws->ctx);
  return 0;
}

int wsp__ws_set_deflate(wsp__ws *ws, const wsp__pmd *pmd) {
  if (wsp__deflate_init(&ws->dfl, pmd) != 0)
    return WSP_ENOMEM;
  ws->compress = 1;
  if (promote(ws) != 0) {
    wsp__deflate_free(&ws->dfl);
    ws->compress = 0;
    return WSP_ENOMEM;
  }
  return 0;
}

void wsp__ws_free(wsp__ws *ws) {
  if (ws->ctx != NULL)
    wslay_event_context_free(ws->ctx);
  ws->ctx = NULL;
  ws->opened = 0;
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

/* Length of a client frame (masked) with n payload bytes. */
static size_t frame_len(size_t n) {
  return 2 + (n < 126 ? 0 : n <= 0xffff ? 2 : 8) + 4 + n;
}

/* Writes a client frame (RFC 6455 5.2): b0 (FIN, RSV, opcode), the length
 * in its shortest form, the mask and the masked payload; frame_len(n)
 * bytes. */
static void put_frame(uint8_t *f, uint8_t b0, const uint8_t mask[4],
                      const uint8_t *data, size_t n) {
  size_t hl = 2;
  f[0] = b0;
  if (n < 126) {
    f[1] = 0x80 | (uint8_t)n;
  } else if (n <= 0xffff) {
    f[1] = 0x80 | 126;
    f[2] = (uint8_t)(n >> 8);
    f[3] = (uint8_t)n;
    hl = 4;
  } else {
    f[1] = 0x80 | 127;
    for (int i = 0; i < 8; i++)
      f[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
    hl = 10;
  }
  memcpy(f + hl, mask, 4);
  for (size_t i = 0; i < n; i++)
    f[hl + 4 + i] = data[i] ^ mask[i & 3];
}

/* Without wslay: gathers a frame of ours for the next flush, as wslay's
 * send callback gathers its own. 0, WSP_ENOMEM, or WSP_ECRYPTO. */
static int gather_frame(wsp__ws *ws, uint8_t b0, const uint8_t *data,
                        size_t n) {
  uint8_t mask[4], *f;
  size_t len = frame_len(n);
  if (wsp__random(ws->rng, mask, sizeof(mask)) != 0)
    return WSP_ECRYPTO;
  if ((f = reserve(ws->lp, len)) == NULL)
    return WSP_ENOMEM;
  put_frame(f, b0, mask, data, n);
  ws->lp->len += len;
  return 0;
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

/* Sends whatever was gathered or wslay has queued, and reports our close
 * once it left. */
static int flush(wsp__ws *ws) {
  int rc, sent;
  if (ws->broken)
    return WSP_EIO;
  if (ws->ctx != NULL && wslay_event_want_write(ws->ctx) &&
      (rc = wslay_event_send(ws->ctx)) != 0) {
    /* wslay stopped inside a frame: nothing more can go out. */
    ws->lp->len = 0;
    set_broken(ws);
    return rc == WSLAY_ERR_NOMEM || ws->send_nomem ? WSP_ENOMEM : WSP_EIO;
  }
  if ((rc = emit(ws)) != 0)
    return rc;
  /* Without wslay, a close queued was gathered and has just left. */
  sent =
      ws->ctx != NULL ? wslay_event_get_close_sent(ws->ctx) : ws->close_queued;
  if (sent && !ws->close_reported) {
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
  if (ws->ctx == NULL) {
    /* As wslay_event_queue_close(): nothing once nothing can be sent, and
     * no code, no payload. */
    uint8_t msg[2 + WSP__MAX_REASON];
    size_t n = 0;
    if (ws->broken)
      return 0;
    if (code != 0) {
      msg[0] = (uint8_t)(code >> 8);
      msg[1] = (uint8_t)code;
      if (len > 0)
        memcpy(msg + 2, reason, len);
      n = 2 + len;
    }
    if ((rc = gather_frame(ws, 0x80 | WSLAY_CONNECTION_CLOSE, msg, n)) != 0) {
      if (rc != WSP_ENOMEM)
        set_broken(ws);
      return rc == WSP_ENOMEM ? rc : WSP_EIO;
    }
  } else if ((rc = wslay_event_queue_close(ws->ctx, code, reason, len)) != 0) {
    return rc == WSLAY_ERR_NO_MORE_MSG ? 0 : WSP_ENOMEM;
  }
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
  if (!ws->opened || ws->broken)
    return WSP_EIO;
  if (ws->close_queued)
    return 0;
  if ((rc = queue_close(ws, code, reason, len)) != 0)
    return rc;
  return flush(ws);
}

int wsp__ws_can_close(const wsp__ws *ws) {
  return ws->opened && !ws->broken && !ws->close_queued &&
         (ws->ctx == NULL || wslay_event_get_write_enabled(ws->ctx));
}

int wsp__ws_close_code(const wsp__ws *ws) {
  return ws->close_queued ? ws->close_code : -1;
}

int wsp__ws_send(wsp__ws *ws, const uint8_t *data, size_t len, int binary) {
  struct wslay_event_msg m;
  uint8_t *z = NULL;
  size_t zlen;
  int rc, sq;
  if (!ws->opened || ws->broken)
    return WSP_EIO;
  if (ws->ctx == NULL) {
    /* Without wslay (and so without permessage-deflate): as
     * wslay_event_queue_msg() refuses a message after our close. */
    if (ws->close_queued)
      return WSP_EIO;
    rc = gather_frame(
        ws, 0x80 | (binary ? WSLAY_BINARY_FRAME : WSLAY_TEXT_FRAME), data, len);
    if (rc == WSP_ENOMEM)
      return rc;
    if (rc != 0) {
      set_broken(ws);
      return WSP_EIO;
    }
    return flush(ws);
  }
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
  uint8_t *f, mask[4], *z = NULL;
  int sq;
  if (wsp__random(ws->rng, mask, sizeof(mask)) != 0)
    return WSP_ECRYPTO;
  if ((sq = squeeze(ws, data, len, &z, &len)) < 0)
    return sq;
  if (sq == 0)
    data = z;
  if ((f = malloc(frame_len(len))) == NULL) {
    free(z);
    return WSP_ENOMEM;
  }
  /* FIN, RSV1 for a compressed message (RFC 7692 6), the opcode. */
  put_frame(f,
            0x80 | (sq == 0 ? 0x40 : 0) |
                (binary ? WSLAY_BINARY_FRAME : WSLAY_TEXT_FRAME),
            mask, data, len);
  free(z);
  *out = f;
  *out_len = frame_len(len);
  return 0;
}

int wsp__ws_send_frame(wsp__ws *ws, const uint8_t *frame, size_t len) {
  /* wslay's own output (a pong) goes first, whole frames only: wslay
   * never stops inside a frame, since send_cb takes every byte. */
  if (!ws->opened || flush(ws) != 0)
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
  /* wslay's error is sticky, and a failed send (a mask that could not be
   * drawn) leaves one that would fail this read at its next WANT_READ. */
  wslay_event_set_error(ws->ctx, 0);
  rc = wslay_event_recv(ws->ctx);
  ws->in = NULL;
  ws->in_len = 0;
  return rc;
}

/*
 * Without wslay: takes the whole frames at the start of p[0..n) that
 * wslay would take without a word (final, no RSV bit, unmasked, the length
 * in its shortest form below 64 KiB and within the largest message; text
 * that is UTF-8 or binary; a close frame whose reason is UTF-8) and returns
 * how many bytes they were. It stops before anything else, and after a
 * close frame (nothing after it matters).
 */
static size_t direct_feed(wsp__ws *ws, const uint8_t *p, size_t n) {
  size_t off = 0;
  while (off < n && !ws->peer_closed) {
    const uint8_t *h = p + off, *pl;
    size_t avail = n - off, hl = 2, len;
    uint8_t op = h[0] & 0x0f;
    uint16_t answer;
    if (avail < 2 || (h[0] & 0xf0) != 0x80 || (h[1] & 0x80) != 0)
      break;
    len = h[1] & 0x7f;
    if (len == 127)
      break;
    if (len == 126) {
      if (avail < 4 || (len = ((size_t)h[2] << 8) | h[3]) < 126)
        break;
      hl = 4;
    }
    if (len > avail - hl)
      break;
    pl = h + hl;
    if (len > ws->max_message) /* A control frame too: 1009. */
      break;
    if (op == WSLAY_TEXT_FRAME || op == WSLAY_BINARY_FRAME) {
      if (op == WSLAY_TEXT_FRAME && !wsp__utf8_valid(pl, len))
        break;
      off += hl + len;
      ws->cbs->message(ws->ud, op == WSLAY_BINARY_FRAME, pl, len);
    } else if (op == WSLAY_CONNECTION_CLOSE && hl == 2) {
      /* wslay checks the reason from the payload's third byte. */
      if (len > 2 && !wsp__utf8_valid(pl + 2, len - 2))
        break;
      off += hl + len;
      memcpy(ws->ctl_buf, pl, len);
      ws->ctl_len = (uint8_t)len;
      (void)parse_close(ws, &answer);
      ws->peer_closed = 1;
      /* Answered as on_frame_end() does; the feed's flush sends it. */
      if (!ws->close_queued)
        (void)queue_close(ws, answer, NULL, 0);
    } else {
      break;
    }
  }
  return off;
}

void wsp__ws_feed(wsp__ws *ws, const uint8_t *data, size_t len) {
  size_t pass, total;
  int rc = 0;
  if (!ws->opened || ws->peer_reported || ws->failed)
    return;
  if (ws->ctx == NULL) {
    size_t used = direct_feed(ws, data, len);
    data += used;
    len -= used;
    if (!ws->peer_closed && len > 0 && promote(ws) != 0)
      rc = WSLAY_ERR_NOMEM;
  }
  if (ws->ctx != NULL && len > 0) {
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
  }
  (void)flush(ws);
  if (ws->peer_closed) {
    uint16_t answer;
    wsp__close_frame c = parse_close(ws, &answer);
    ws->peer_reported = 1;
    ws->cbs->close_received(ws->ud, &c);
  } else if (rc == WSLAY_ERR_NOMEM) {
    ws->failed = 1;
    ws->cbs->out_of_memory(ws->ud);
  } else if (rc != 0 ||
             (ws->ctx != NULL && !wslay_event_get_read_enabled(ws->ctx))) {
    /* wslay failed the connection: a masked or reserved frame, RSV bits,
     * invalid UTF-8, a fragmented control frame, an oversized message. */
    ws->failed = 1;
    ws->cbs->protocol_error(ws->ud, ws->close_reported ? ws->close_code : -1);
  }
}
