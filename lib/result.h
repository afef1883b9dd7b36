/*
 * What one probe found (result.c): the record the probe fills and the
 * reports read.
 */
#ifndef WSP_RESULT_H
#define WSP_RESULT_H

#include <stddef.h>
#include <stdint.h>

#include "addrs.h"
#include "ws.h"
#include "wsprobe.h"

/* Most events (typed JSON messages) a result keeps. */
#define WSP__MAX_EVENTS 256

/* An event kept in a result. */
typedef struct wsp__event {
  char *type;   /* The JSON "type" value (never holds a NUL). */
  int64_t t_ns; /* When it arrived, ns since the probe started. */
} wsp__event;

/* A close frame as seen on the wire. */
typedef struct wsp__close {
  int code;                         /* Code, 1005 none, 1006 no frame, -1. */
  char reason[WSP__MAX_REASON + 1]; /* Reason bytes, NUL-terminated (the
                                       bytes may hold a NUL too). */
  uint8_t reason_len;               /* Reason length on the wire. */
} wsp__close;

struct wsp_result {
  uint32_t index;                /* Index within the campaign. */
  uint64_t t0;                   /* uv_hrtime() at start (absolute). */
  uint32_t delay_ms;             /* The first-message delay asked for. */
  int64_t lag_ns;                /* Worst loop lag in its lifetime, or
                                    -1 when not measured. */
  int discarded;                 /* A window point's run left out of the
                                    estimate: the prober lagged, and the
                                    point was run again. */
  int step;                      /* Scripted: the step it ended in, or
                                    -1 without steps. */
  wsp_outcome outcome;           /* The one outcome. */
  wsp_phase phase;               /* The phase it was decided in. */
  char *error;                   /* One-line explanation, or NULL. */
  int http_status;               /* Upgrade response status, 0 if none. */
  char *http_reason;             /* Its reason phrase, or NULL. */
  char *retry_after;             /* Retry-After of a rejection, or NULL. */
  char *content_type;            /* Content-Type of a rejection, or NULL. */
  uint8_t *body;                 /* First bytes of a rejection's body. */
  size_t body_len;               /* How many. */
  char *subprotocol;             /* Selected subprotocol, or NULL. */
  char *extensions;              /* Agreed Sec-WebSocket-Extensions, or
                                    NULL. */
  wsp__close close_recv;         /* What the server sent. */
  wsp__close close_sent;         /* What we sent. */
  int64_t marks[WSP_MARK_COUNT]; /* Timeline, -1 when not reached. */
  uint32_t messages;             /* Messages received. */
  wsp__event *events;            /* Typed messages received. */
  size_t nevents;                /* How many are kept. */
  size_t events_cap;             /* Allocated slots. */
  uint32_t expected_seen;        /* Bit i: expected type i arrived. */
  int redact_subprotocol;        /* Subprotocol holds a token. */
  char *tls_version;             /* Negotiated TLS version, or NULL. */
  char *tls_cipher;              /* Negotiated cipher suite, or NULL. */
  char *tls_alpn;                /* Negotiated ALPN protocol, or NULL. */
  int tls_verified;              /* The certificate was verified. */
  int tls_resumed;               /* The handshake resumed a session. */
  const char *tls_group;         /* Key exchange group (a static name),
                                    or NULL. */
  int tls_close_notify;          /* The server sent close_notify. */
  int proxy_status;              /* The proxy's CONNECT status, 0 if
                                    none. */
  char peer[WSP__PEER_LEN];      /* The address connected to (or tried
                                    last), "" before any. */
  char **rec;                    /* Recorded headers: name, value (or
                                    NULL) pairs; NULL when none. */
  size_t nrec;                   /* How many pairs. */
};

wsp_result *wsp__result_new(void);
int wsp__result_add_event(wsp_result *r, const char *type, size_t len,
                          int64_t t_ns);
/* Adds a recorded header (value may be NULL); 0 or WSP_ENOMEM. */
int wsp__result_add_header(wsp_result *r, const char *name, const char *value);
/* Sets a close record from the wire's code and reason bytes. */
void wsp__close_set(wsp__close *c, int code, const uint8_t *reason, size_t len);
/* The achieved first-message delay (sent minus the response's arrival),
 * ns, or -1 when nothing was sent. */
int64_t wsp__result_delay_achieved(const wsp_result *r);

#endif
