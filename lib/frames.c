/*
 * WebSocket frames through wslay's event API. wslay does no I/O: its recv
 * callback is served from the bytes of the current read, its send callback
 * hands bytes to the transport.
 *
 * Close frames are captured here as they arrive, before wslay judges them:
 * wslay 1.1.1 rejects the valid codes 1012-1014 and keeps no reason, and a
 * report must show exactly what the server put on the wire.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static ssize_t recv_cb(wslay_event_context_ptr ws, uint8_t *buf, size_t len,
                       int flags, void *ud) {
  wsp_probe *p = ud;
  (void)flags;
  if (p->in_len == 0) {
    /* EOF must not look like "no data yet": 0 would be taken as would
     * block, and wslay's error is sticky, so always set it. */
    wslay_event_set_error(ws, p->eof ? WSLAY_ERR_CALLBACK_FAILURE
                                     : WSLAY_ERR_WOULDBLOCK);
    return -1;
  }
  if (len > p->in_len)
    len = p->in_len;
  memcpy(buf, p->in, len);
  p->in += len;
  p->in_len -= len;
  return (ssize_t)len;
}

/*
 * wslay hands over a frame's header and its payload in separate calls
 * (WSLAY_MSG_MORE on all but the last): gathered in the loop's staging
 * buffer, a small frame leaves in one write (one syscall, one TLS record)
 * instead of two. flush() empties the stage before it returns, so it never
 * holds one probe's bytes while another's are written.
 */
static int stage_flush(wsp_probe *p) {
  size_t n = p->ctx->stage_len;
  p->ctx->stage_len = 0;
  return n > 0 ? wsp__tx_write(p, p->ctx->stage, n) : 0;
}

static ssize_t send_cb(wslay_event_context_ptr ws, const uint8_t *data,
                       size_t len, int flags, void *ud) {
  wsp_probe *p = ud;
  wsp_ctx *ctx = p->ctx;
  int rc;
  if (ctx->stage_len + len <= sizeof(ctx->stage)) {
    memcpy(ctx->stage + ctx->stage_len, data, len);
    ctx->stage_len += len;
    if (flags & WSLAY_MSG_MORE)
      return (ssize_t)len;
    rc = stage_flush(p);
  } else if ((rc = stage_flush(p)) == 0) {
    rc = wsp__tx_write(p, data, len);
  }
  if (rc != 0) {
    wslay_event_set_error(ws, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
  }
  return (ssize_t)len;
}

static int genmask_cb(wslay_event_context_ptr ws, uint8_t *buf, size_t len,
                      void *ud) {
  wsp_probe *p = ud;
  if (wsp__random(p->ctx, buf, len) != 0) {
    wslay_event_set_error(ws, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
  }
  return 0;
}

static void on_frame_start(wslay_event_context_ptr ws,
                           const struct wslay_event_on_frame_recv_start_arg *a,
                           void *ud) {
  wsp_probe *p = ud;
  (void)ws;
  if (a->opcode == WSLAY_CONNECTION_CLOSE) {
    p->ctl_close = 1;
    p->ctl_len = 0;
  }
}

static void on_frame_chunk(wslay_event_context_ptr ws,
                           const struct wslay_event_on_frame_recv_chunk_arg *a,
                           void *ud) {
  wsp_probe *p = ud;
  size_t n = a->data_length;
  (void)ws;
  if (!p->ctl_close)
    return;
  if (n > sizeof(p->ctl_buf) - p->ctl_len)
    n = sizeof(p->ctl_buf) - p->ctl_len;
  memcpy(p->ctl_buf + p->ctl_len, a->data, n);
  p->ctl_len += (uint8_t)n;
}

/* Close codes a peer may put on the wire (RFC 6455 7.4, IANA registry). */
static int wire_code_valid(unsigned code) {
  return (code >= 1000 && code <= 1014 && code != 1004 && code != 1005 &&
          code != 1006) ||
         (code >= 3000 && code <= 4999);
}

static void on_frame_end(wslay_event_context_ptr ws, void *ud) {
  wsp_probe *p = ud;
  wsp__close *c = &p->result->close_recv;
  unsigned code = 0;
  uint16_t answer;
  int valid = 0;
  if (!p->ctl_close)
    return;
  p->ctl_close = 0;
  p->close_recv_seen = 1;
  wsp__probe_mark_rx(p, WSP_MARK_CLOSE_RECEIVED);
  if (p->ctl_len == 0) {
    c->code = 1005;
    c->reason_len = 0;
    c->reason[0] = '\0';
    answer = 0; /* An empty close is answered with an empty close. */
    valid = 1;
  } else if (p->ctl_len == 1) {
    c->code = -1; /* A one-byte payload holds no code. */
    answer = 1002;
  } else {
    /* Code 0 on the wire is invalid like any other code outside the
     * registry: it must not pass for "no code". */
    code = ((unsigned)p->ctl_buf[0] << 8) | p->ctl_buf[1];
    c->code = (int)code;
    c->reason_len = (uint8_t)(p->ctl_len - 2);
    memcpy(c->reason, p->ctl_buf + 2, c->reason_len);
    c->reason[c->reason_len] = '\0';
    if (!wire_code_valid(code))
      answer = 1002;
    else if (!wsp__utf8_valid((const uint8_t *)c->reason, c->reason_len))
      answer = 1007; /* As wslay answers a reason it rejects itself. */
    else {
      answer = (uint16_t)code;
      valid = 1;
    }
  }
  p->close_recv_valid = valid;
  /* Answer now, so wslay's own answer (1002 for 1012-1014) is never
   * queued: it finds a close already queued and leaves it. */
  (void)ws;
  if (!p->close_queued)
    wsp__frames_close(p, answer, NULL);
}

static void on_msg(wslay_event_context_ptr ws,
                   const struct wslay_event_on_msg_recv_arg *a, void *ud) {
  wsp_probe *p = ud;
  (void)ws;
  if (a->opcode == WSLAY_TEXT_FRAME || a->opcode == WSLAY_BINARY_FRAME)
    wsp__probe_on_message(p, a->opcode, a->msg, a->msg_length);
}

static const struct wslay_event_callbacks callbacks = {
    recv_cb,        send_cb,      genmask_cb, on_frame_start,
    on_frame_chunk, on_frame_end, on_msg,
};

int wsp__frames_start(wsp_probe *p) {
  if (wslay_event_context_client_init(&p->ws, &callbacks, p) != 0)
    return WSP_ENOMEM;
  wslay_event_config_set_max_recv_msg_length(p->ws, p->cfg->max_message);
  return 0;
}

void wsp__frames_free(wsp_probe *p) {
  wslay_event_context_free(p->ws);
  p->ws = NULL;
}

/* Sends whatever wslay has queued and notes when our close went out. */
static void flush(wsp_probe *p) {
  int rc = 0;
  if (wslay_event_want_write(p->ws))
    rc = wslay_event_send(p->ws);
  if (stage_flush(p) != 0)
    rc = -1;
  if (rc != 0 && !p->decided) {
    wsp__probe_finish(p, WSP_OUTCOME_ABNORMAL_CLOSURE,
                      "could not send to the server");
    return;
  }
  if (wslay_event_get_close_sent(p->ws) &&
      p->result->marks[WSP_MARK_CLOSE_SENT] < 0) {
    wsp__probe_mark_tx(p, WSP_MARK_CLOSE_SENT);
    if (p->result->close_sent.code < 0) {
      /* wslay queued this close itself, after a protocol violation. */
      p->result->close_sent.code = wslay_event_get_status_code_sent(p->ws);
    }
  }
}

int wsp__frames_close(wsp_probe *p, uint16_t code, const char *reason) {
  size_t rlen = reason ? strlen(reason) : 0;
  int rc;
  if (p->close_queued)
    return 0;
  if (rlen > WSP__MAX_REASON)
    rlen = WSP__MAX_REASON;
  rc = wslay_event_queue_close(p->ws, code, (const uint8_t *)reason, rlen);
  if (rc != 0)
    return rc == WSLAY_ERR_NO_MORE_MSG ? 0 : WSP_ENOMEM;
  p->close_queued = 1;
  p->result->close_sent.code = code ? code : 1005;
  memcpy(p->result->close_sent.reason, reason ? reason : "", rlen);
  p->result->close_sent.reason[rlen] = '\0';
  p->result->close_sent.reason_len = (uint8_t)rlen;
  return 0;
}

/*
 * Frames the first message now (RFC 6455 5.2, masked), so that releasing a
 * burst costs one write per probe and nothing else. Only for plain TCP:
 * a TLS record cannot be prepared ahead of the records sent before it.
 */
void wsp__frames_prebuild(wsp_probe *p) {
  size_t len = p->cfg->message_len, hl = 2;
  uint8_t *f, mask[4];
  if (p->tls != NULL || wsp__random(p->ctx, mask, sizeof(mask)) != 0)
    return;
  hl += len < 126 ? 0 : len <= 0xffff ? 2 : 8;
  if ((f = malloc(hl + 4 + len)) == NULL)
    return; /* The ordinary path will send it. */
  f[0] =
      0x80 | (p->cfg->message_binary ? WSLAY_BINARY_FRAME : WSLAY_TEXT_FRAME);
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
    f[hl + 4 + i] = p->cfg->message[i] ^ mask[i & 3];
  p->prebuilt = f;
  p->prebuilt_len = hl + 4 + len;
}

int wsp__frames_send(wsp_probe *p, const uint8_t *data, size_t len,
                     int binary) {
  struct wslay_event_msg m;
  m.opcode = binary ? WSLAY_BINARY_FRAME : WSLAY_TEXT_FRAME;
  m.msg = data;
  m.msg_length = len;
  if (wslay_event_queue_msg(p->ws, &m) != 0)
    return WSP_ENOMEM;
  flush(p);
  return 0;
}

int wsp__frames_send_message(wsp_probe *p) {
  if (p->prebuilt != NULL) {
    int rc;
    /* wslay's own output (a pong) goes first, whole frames only. */
    flush(p);
    if (p->decided)
      return 0;
    rc = wsp__tx_write(p, p->prebuilt, p->prebuilt_len);
    free(p->prebuilt);
    p->prebuilt = NULL;
    if (rc != 0)
      wsp__probe_finish(p, WSP_OUTCOME_ABNORMAL_CLOSURE,
                        "cannot send the first message: %s", uv_strerror(rc));
    return 0;
  }
  return wsp__frames_send(p, p->cfg->message, p->cfg->message_len,
                          p->cfg->message_binary);
}

void wsp__frames_flush(wsp_probe *p) { flush(p); }

/*
 * wslay answers a frame its parser rejects outright (a control frame over
 * 125 bytes or without FIN, a length not in its shortest form or with the
 * top bit set) with a close frame without a code, where RFC 6455 7.4.1
 * names 1002. Send a 1002 of our own instead and let wslay send nothing
 * more: the stream is at a frame boundary, since send_cb takes every byte.
 */
static void fail_protocol(wsp_probe *p) {
  uint8_t f[8] = {0x88, 0x80 | 2};
  if (wsp__random(p->ctx, f + 2, 4) != 0)
    return; /* wslay's own close goes out instead. */
  f[6] = (uint8_t)(1002 >> 8) ^ f[2];
  f[7] = (uint8_t)(1002 & 0xff) ^ f[3];
  wslay_event_shutdown_write(p->ws);
  if (wsp__tx_write(p, f, sizeof(f)) != 0)
    return;
  p->close_queued = 1;
  p->result->close_sent.code = 1002;
  p->result->close_sent.reason[0] = '\0';
  p->result->close_sent.reason_len = 0;
  wsp__probe_mark_tx(p, WSP_MARK_CLOSE_SENT);
}

void wsp__frames_feed(wsp_probe *p, const uint8_t *data, size_t len) {
  int rc;
  p->in = data;
  p->in_len = len;
  rc = wslay_event_recv(p->ws);
  p->in = NULL;
  p->in_len = 0;
  if (p->decided && !p->lingering)
    return;
  if (rc != 0 && rc != WSLAY_ERR_NOMEM && !p->eof && !p->close_queued &&
      !wslay_event_get_close_sent(p->ws))
    fail_protocol(p);
  flush(p);
  if (p->decided)
    return;
  if (p->close_recv_seen) {
    wsp__probe_on_close(p);
  } else if (rc != 0 || !wslay_event_get_read_enabled(p->ws)) {
    /* wslay failed the connection: a masked or reserved frame, RSV bits,
     * invalid UTF-8, a fragmented control frame, an oversized message. */
    int sent = p->result->marks[WSP_MARK_CLOSE_SENT] >= 0
                   ? p->result->close_sent.code
                   : -1;
    if (sent == 1009)
      wsp__probe_finish(p, WSP_OUTCOME_PROTOCOL_ERROR,
                        "server message exceeds the maximum of %llu bytes; "
                        "sent close 1009",
                        (unsigned long long)p->cfg->max_message);
    else if (sent == 1007)
      wsp__probe_finish(p, WSP_OUTCOME_PROTOCOL_ERROR,
                        "server sent invalid UTF-8 in a text or close frame; "
                        "sent close 1007");
    else if (sent >= 0)
      wsp__probe_finish(p, WSP_OUTCOME_PROTOCOL_ERROR,
                        "server violated the WebSocket framing protocol "
                        "(masked frame, reserved bits or opcode, or a "
                        "malformed control frame or length); sent close %d",
                        sent);
    else
      wsp__probe_finish(p, WSP_OUTCOME_PROTOCOL_ERROR,
                        "server violated the WebSocket framing protocol "
                        "(masked frame, reserved bits or opcode, or a "
                        "malformed control frame or length)");
  }
}
