/*
 * The WebSocket session (ws.c): RFC 6455 framing over wslay's event API
 * (created when a frame needs more than the plain path), with no I/O and
 * no verdicts. Bytes come in through wsp__ws_feed(); whole
 * frames leave through the send callback, one call per flush; what the
 * server did is reported as facts: a message, a close frame received (its
 * code and reason exactly as on the wire), our close frame sent, a broken
 * protocol and the close code answered to it.
 *
 * With permessage-deflate agreed (wsp__ws_set_deflate()), the RSV1 bit is
 * allowed through wslay_event_config_set_allowed_rsv_bits() and messages
 * are inflated between wslay's message callback and the message fact.
 */
#ifndef WSP_WS_H
#define WSP_WS_H

#include <stddef.h>
#include <stdint.h>

#include <wslay/wslay.h>

#include "deflate.h"
#include "rand.h"

/* Longest close reason on the wire (125 - 2 bytes of code). */
#define WSP__MAX_REASON 123

/* Output gathered during one flush; shared by the sessions of one loop
 * (a flush empties it before it returns). */
typedef struct wsp__ws_loop {
  uint8_t *buf; /* Bytes gathered. */
  size_t len;   /* How many. */
  size_t cap;   /* Allocated. */
} wsp__ws_loop;

/* A close frame as the server put it on the wire. */
typedef struct wsp__close_frame {
  int code;              /* Its code; 1005 for none, -1 for a payload of
                            one byte (which holds no code). */
  const uint8_t *reason; /* Reason bytes (not NUL-terminated). */
  size_t reason_len;     /* How many. */
  int valid;             /* Code and reason are allowed (RFC 6455 7.4,
                            UTF-8). */
} wsp__close_frame;

/* What the session reports. None may free the session. */
typedef struct wsp__ws_cbs {
  /* Whole frames for the peer, once per flush: 0, or an error after which
   * the session sends nothing more. */
  int (*send)(void *ud, const uint8_t *data, size_t len);
  /* A complete text or binary message. `data` is valid during the call
   * only: it may point into the bytes being fed (the loop's read buffer),
   * which the callback must not read more into. */
  void (*message)(void *ud, int binary, const uint8_t *data, size_t len);
  /* The server's close frame, reported once, after our answer (if any)
   * was flushed. */
  void (*close_received)(void *ud, const wsp__close_frame *c);
  /* Our close frame left (code 1005: a close without a code). */
  void (*close_sent)(void *ud, int code, const uint8_t *reason, size_t len);
  /* The server broke the framing protocol; code_sent is the close code we
   * answered with (1002, 1007, 1009), or -1 when none could be sent. */
  void (*protocol_error)(void *ud, int code_sent);
  /* Memory ran out while reading (wslay's context or its buffers): the
   * session reads nothing more. Not the server's doing. */
  void (*out_of_memory)(void *ud);
} wsp__ws_cbs;

typedef struct wsp__ws {
  int opened;                            /* wsp__ws_open() was called. */
  wslay_event_context_ptr ctx;           /* wslay, once a frame needs it
                                            (see ws.c); NULL before. */
  wsp__ws_loop *lp;                      /* The loop's output buffer. */
  wsp__rng *rng;                         /* Masks. */
  const wsp__ws_cbs *cbs;                /* Where facts go. */
  void *ud;                              /* Passed to every callback. */
  const uint8_t *in;                     /* Bytes waiting for wslay's recv. */
  size_t in_len;                         /* How many. */
  int broken;                            /* A send failed: nothing more goes
                                            out. */
  int close_queued;                      /* Our close frame is queued. */
  int close_code;                        /* Its code (1005: none), or -1. */
  uint8_t close_reason[WSP__MAX_REASON]; /* Its reason. */
  size_t close_reason_len;               /* How many bytes. */
  int close_reported;                    /* close_sent was reported. */
  int peer_closed;                       /* The server's close frame arrived. */
  int peer_reported;                     /* close_received was reported. */
  int failed;                            /* protocol_error or out_of_memory
                                            was reported. */
  int send_nomem;                        /* Gathering wslay's output ran
                                            out of memory. */
  int capturing;             /* Capturing a close frame's payload. */
  uint8_t ctl_buf[125];      /* The close frame's payload. */
  uint8_t ctl_len;           /* Bytes captured. */
  uint8_t fh[14];            /* Header of the frame passing by. */
  uint8_t fh_len;            /* Its bytes so far. */
  uint64_t skip;             /* Its payload bytes still to pass. */
  uint8_t hold[2 + 4 + 125]; /* A close frame held until whole. */
  uint8_t hold_len;          /* Its bytes so far. */
  uint64_t max_message;      /* Largest message, inflated or not. */
  int compress;              /* permessage-deflate was agreed. */
  wsp__deflate dfl;          /* Its state, when compress. */
} wsp__ws;

void wsp__ws_init(wsp__ws *ws, wsp__ws_loop *lp, wsp__rng *rng,
                  const wsp__ws_cbs *cbs, void *ud);
/* Opens the session (the upgrade succeeded): 0 or WSP_ENOMEM. */
int wsp__ws_open(wsp__ws *ws, uint64_t max_message);
/* Agrees permessage-deflate as `pmd` says, after wsp__ws_open(): 0 or
 * WSP_ENOMEM. */
int wsp__ws_set_deflate(wsp__ws *ws, const wsp__pmd *pmd);
/* Bytes from the server; facts follow, and anything due is flushed. */
void wsp__ws_feed(wsp__ws *ws, const uint8_t *data, size_t len);
/* Sends a message as one frame: 0, WSP_ENOMEM, or WSP_EIO when nothing
 * can be sent any more. */
int wsp__ws_send(wsp__ws *ws, const uint8_t *data, size_t len, int binary);
/* Frames a message now, masked, for wsp__ws_send_frame() later: *out is
 * malloc'd. 0, WSP_ENOMEM or WSP_ECRYPTO. */
int wsp__ws_frame(wsp__ws *ws, const uint8_t *data, size_t len, int binary,
                  uint8_t **out, size_t *out_len);
/* Sends a frame made by wsp__ws_frame(), after anything wslay had queued
 * (a pong): 0 or WSP_EIO. */
int wsp__ws_send_frame(wsp__ws *ws, const uint8_t *frame, size_t len);
/* Queues our close frame (code 0: none) and flushes: 0, WSP_ENOMEM, or
 * WSP_EIO when nothing can be sent. A second close is ignored. */
int wsp__ws_close(wsp__ws *ws, uint16_t code, const uint8_t *reason,
                  size_t len);
/* Whether a close frame of ours may still be sent. */
int wsp__ws_can_close(const wsp__ws *ws);
/* The code of our close frame, queued or sent (1005: none), or -1. */
int wsp__ws_close_code(const wsp__ws *ws);
void wsp__ws_free(wsp__ws *ws);

#endif
