/*
 * Private declarations shared by the library's files. Nothing here is part
 * of the ABI.
 */
#ifndef WSP_INTERNAL_H
#define WSP_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <uv.h>
#include <wslay/wslay.h>

#include "wsprobe.h"

#define WSP__ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Size of the per-loop read buffer every probe's reads land in. */
#define WSP__READ_BUF (64 * 1024)
/* Size of the per-loop buffer decrypted TLS records land in. */
#define WSP__PLAIN_BUF (16 * 1024)
/* Most events (typed JSON messages) a result keeps. */
#define WSP__MAX_EVENTS 256
/* Longest close reason on the wire (125 - 2 bytes of code). */
#define WSP__MAX_REASON 123

/* A parsed ws:// URL. All strings are owned. */
typedef struct wsp__url {
  char *host;        /* Host without brackets, e.g. "::1". */
  uint16_t port;     /* Port, defaulted from the scheme. */
  char *target;      /* Request target: path and query, at least "/". */
  char *host_header; /* Value of the Host header (brackets, port). */
  int tls;           /* Non-zero for wss://. */
  int ip_literal;    /* AF_INET or AF_INET6 when host is a literal. */
} wsp__url;

int wsp__url_parse(const char *s, wsp__url *out, char *err, size_t errlen);
void wsp__url_clear(wsp__url *u);
int wsp__url_copy(wsp__url *dst, const wsp__url *src);

/* One extra request header. */
typedef struct wsp__header {
  char *name;  /* Header name as given. */
  char *value; /* Header value as given. */
  int secret;  /* Non-zero when the value must be redacted. */
} wsp__header;

/* A growable array of owned strings. */
typedef struct wsp__strv {
  char **v; /* The strings. */
  size_t n; /* How many are in use. */
} wsp__strv;

int wsp__strv_push(wsp__strv *sv, const char *s);
void wsp__strv_clear(wsp__strv *sv);
int wsp__strv_copy(wsp__strv *dst, const wsp__strv *src);

/* One step of a scripted conversation. */
typedef enum {
  WSP__STEP_SEND,   /* Send data. */
  WSP__STEP_EXPECT, /* Wait for a JSON message of a type. */
  WSP__STEP_WAIT,   /* Wait some milliseconds. */
  WSP__STEP_CLOSE,  /* Close with a code and reason. */
} wsp__step_kind;

typedef struct wsp__step {
  wsp__step_kind kind; /* What it does. */
  uint8_t *data;       /* SEND: the message; EXPECT: the type; CLOSE: the
                          reason (NUL-terminated for the last two). */
  size_t len;          /* Its length. */
  int binary;          /* SEND: a binary frame. */
  uint32_t ms;         /* WAIT: how long; EXPECT: timeout (0: the
                          awaiting_reply timeout). */
  uint16_t code;       /* CLOSE: the code. */
} wsp__step;

/* How to mint a token per probe. */
typedef struct wsp_jwt_spec {
  int enabled;        /* Mint instead of using cfg->jwt. */
  wsp_jwt_alg alg;    /* Signing algorithm. */
  uint8_t *key;       /* Secret or PEM private key (a secret). */
  size_t key_len;     /* Its length. */
  char *claims;       /* JSON object text, or NULL. */
  uint32_t ttl;       /* exp = iat + ttl. */
  int nbf_set;        /* Add nbf. */
  int32_t nbf_offset; /* nbf = iat + offset. */
} wsp_jwt_spec;

struct wsp_config {
  char *url_text;             /* The URL as the user gave it. */
  wsp__url url;               /* The parsed URL; host NULL if unset. */
  wsp__header *headers;       /* Extra request headers. */
  size_t nheaders;            /* Number of extra headers. */
  wsp__strv subprotocols;     /* Offered subprotocols, in order. */
  char *jwt;                  /* The token, or NULL. */
  unsigned int jwt_placement; /* wsp_jwt_placement bits. */
  wsp_jwt_spec jwt_spec;      /* Per-probe minting. */
  char jwt_prefix[33];        /* Subprotocol prefix, "jwt.". */
  char jwt_query[65];         /* Query parameter name. */
  int require_subprotocol;    /* A jwt subprotocol must be echoed. */
  int expect_order;           /* Expected events in order, once. */
  wsp__step *steps;           /* A scripted conversation, or NULL. */
  size_t nsteps;              /* Its length. */
  char *origin;               /* Origin header value, or NULL. */
  uint8_t *message;           /* First message, or NULL. */
  size_t message_len;         /* Its length. */
  int message_binary;         /* Binary frame instead of text. */
  int has_message;            /* A first message is configured. */
  uint32_t delay_ms;          /* Open to first message. */
  uint32_t hold_ms;           /* Open to close without a message. */
  wsp__strv expect;           /* Expected event types. */
  uint32_t timeout_ms[WSP_PHASE_COUNT]; /* Per-phase timeouts; 0 = none. */
  uint64_t max_message;                 /* Largest accepted server message. */
  char *ca_file;                        /* CA bundle for wss://, or NULL. */
  int tls_insecure;                     /* Skip certificate verification. */
  char *cert_file;                      /* Client certificate, or NULL. */
  char *key_file;                       /* Its private key, or NULL. */
  int tls_resume;                       /* Resume TLS sessions. */
  char error[256];                      /* Last setter error, one line. */
};

/* Sets cfg->error from a format; returns `err`. */
int wsp__config_fail(wsp_config *cfg, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* steps.c: one step as text (send:, binary:, expect:, wait:, close:);
 * text[len] must be a NUL. */
int wsp__config_add_step_text(wsp_config *cfg, const char *text, size_t len);
/* Whether a header name's value is a secret (Authorization, Cookie...). */
int wsp__header_is_secret(const char *name);
/* The default subprotocol prefix of a JWT. */
extern const char wsp__jwt_prefix[5];
/* A subprotocol carrying a token, redacted unless show_secrets. */
const char *wsp__redact_subprotocol(const char *proto, int show_secrets);

/* jwt.c */
typedef struct wsp__jwt_key wsp__jwt_key;
int wsp__b64url_encode(const uint8_t *in, size_t len, char **out, size_t *olen);
int wsp__b64url_decode(const char *in, size_t len, uint8_t **out, size_t *olen);
int wsp__jwt_check_key(wsp_jwt_alg alg, const uint8_t *key, size_t len,
                       char *err, size_t errlen);

typedef struct wsp__tls_profile wsp__tls_profile;
typedef struct wsp__tls_hs wsp__tls_hs;

#include "upgrade.h"

/* State shared by all probes on one loop. */
struct wsp_ctx {
  uv_loop_t *loop;                 /* The loop everything runs on. */
  mbedtls_entropy_context entropy; /* Seeds the DRBG, once. */
  mbedtls_ctr_drbg_context drbg;   /* Keys and masks for every probe. */
  uint8_t pool[1024];              /* Random bytes drawn ahead. */
  size_t pool_left;                /* Unused bytes at the pool's end. */
  uint8_t *rbuf;                   /* Shared read buffer (WSP__READ_BUF). */
  uint8_t *pbuf;                   /* Shared TLS plaintext buffer. */
  wsp__tls_profile *tls_profiles;  /* TLS configurations, made lazily. */
  wsp__jwt_key *jwt_keys;          /* Parsed signing keys, made lazily. */
  size_t nprobes;                  /* Probes alive on this context. */
  struct wsp__poller *poller;      /* The sockets' epoll set (transport.c),
                                      while any socket is open. */
  size_t nsockets;                 /* Sockets open. */
  uint64_t batch;                  /* Poll batches dispatched. */
  size_t stage_len;                /* Bytes in stage. */
  uint8_t stage[1024];             /* A frame being gathered (frames.c). */
  int up_busy;                     /* up_scratch is in use (probe.c). */
  wsp__upgrade up_scratch;         /* Parses responses that come whole. */
  char error[128];                 /* Last error, one line. */
};

int wsp__random(wsp_ctx *ctx, void *buf, size_t len);

/* An event kept in a result. */
typedef struct wsp__event {
  char *type;   /* The JSON "type" value. */
  int64_t t_ns; /* When it arrived, ns since the probe started. */
} wsp__event;

/* A close frame as seen on the wire. */
typedef struct wsp__close {
  int code;                         /* Code, 1005 none, 1006 no frame, -1. */
  char reason[WSP__MAX_REASON + 1]; /* Reason bytes, NUL-terminated. */
  uint8_t reason_len;               /* Reason length on the wire. */
} wsp__close;

struct wsp_result {
  uint32_t index;                /* Index within the campaign. */
  uint64_t t0;                   /* uv_hrtime() at start (absolute). */
  uint32_t delay_ms;             /* The first-message delay used. */
  int64_t lag_ns;                /* Worst loop lag in its lifetime, or
                                    -1 when not measured. */
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
};

wsp_result *wsp__result_new(void);
int wsp__result_add_event(wsp_result *r, const char *type, size_t len,
                          int64_t t_ns);

/* ---- probe ---- */

/* What the single probe timer is armed for. */
typedef enum {
  WSP__TIMER_NONE,     /* Not armed. */
  WSP__TIMER_DEADLINE, /* The current phase's timeout. */
  WSP__TIMER_DELAY,    /* The first-message delay or the hold. */
} wsp__timer_kind;

/* How a probe is started; the public API uses defaults. */
typedef struct wsp__probe_opts {
  uint32_t index;            /* Index within the campaign. */
  uint32_t delay_ms;         /* First-message delay of this probe. */
  int borrow_cfg;            /* cfg outlives the probe: no copy. */
  const struct addrinfo *ai; /* Addresses resolved once, or NULL. */
  void (*ready)(wsp_probe *p, void *ud); /* Gate: called at open instead
                                            of arming the delay. */
  void *ready_ud;                        /* Passed to ready. */
} wsp__probe_opts;

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
  wsp_probe_cb cb;                    /* Completion callback. */
  void *user_data;                    /* Passed to cb. */
  wsp_result *result;                 /* Being filled; handed to cb. */
  uint64_t t0;                        /* uv_hrtime() at start. */
  wsp_phase phase;                    /* Current phase. */
  int decided;                        /* The outcome is fixed. */
  uv_getaddrinfo_t gai;               /* Resolution request. */
  int gai_pending;                    /* gai callback not yet run. */
  struct addrinfo *ai;                /* Resolved addresses (owned). */
  struct addrinfo *ai_next;           /* Next address to try. */
  int fd;                             /* The socket, while sock_open. */
  int sock_open;                      /* The socket is open (transport.c). */
  uint64_t closed_batch;              /* Poll batch it was last closed in. */
  int connecting;                     /* The connect has not completed. */
  int reading;                        /* Reads are wanted. */
  int watching;   /* EPOLLIN/EPOLLOUT in the set, -1 none. */
  uint64_t rx_ns; /* Arrival (uv_hrtime clock) of the bytes
                     being handled, 0 outside a read. */
  uint64_t tx_ns; /* uv_hrtime() just before the last
                     send(2) that took bytes, or 0. */
  uint8_t *outq;  /* Bytes the kernel did not take yet. */
  size_t outq_off, outq_len, outq_cap; /* Sent, queued, allocated. */
  int handles;                         /* Handles whose close_cb has not run. */
  int last_connect_err;                /* libuv error of the last attempt. */
  unsigned connect_attempts;           /* Addresses tried. */
  uv_timer_t timer;                    /* Deadlines, delay and hold. */
  wsp__timer_kind timer_kind;          /* What the timer is armed for. */
  uint64_t timer_due;                  /* Loop time (ms) the timer is due at. */
  uint64_t deadline;                   /* Loop time (ms) of the deadline, which
                                          may be later: see arm() in probe.c. */
  wsp__upgrade *up;                    /* Upgrade parser; NULL once open. */
  wslay_event_context_ptr ws;          /* Frame layer; NULL before open. */
  const uint8_t *in;                   /* Bytes waiting for wslay's recv. */
  size_t in_len;                       /* How many. */
  int eof;                             /* The server ended TCP. */
  int close_queued;                    /* We queued a close frame. */
  int close_recv_seen;                 /* A close frame arrived. */
  int close_recv_valid;                /* Its code and reason were legal. */
  int lingering;                   /* Decided; waiting for the server's EOF. */
  int wslay_failed;                /* wslay gave up on the stream. */
  int ctl_close;                   /* Capturing a close frame's payload. */
  uint8_t ctl_buf[125];            /* The close frame's payload. */
  uint8_t ctl_len;                 /* Bytes captured. */
  int torn_down;                   /* Handles are being closed. */
  struct addrinfo *literal_ai;     /* The address of an IP literal URL. */
  char *token;                     /* The JWT this probe sends, or NULL. */
  char *jwt_proto;                 /* "jwt.<token>" when offered, or NULL. */
  char key[WSP__KEY_LEN + 1];      /* The Sec-WebSocket-Key sent. */
  struct mbedtls_ssl_context *tls; /* TLS session for wss://, or NULL. */
  const uint8_t *tls_in;           /* Ciphertext waiting for mbedTLS. */
  size_t tls_in_len;               /* How many bytes. */
  int tls_done;                    /* The TLS handshake completed. */
  int tls_verified;                /* The certificate is being verified. */
  wsp__tls_hs *tls_hs;             /* Handshake state (tls.c), or NULL. */
};

void wsp__probe_timer_cb(uv_timer_t *t);

/* Decides the outcome (only the first call counts) and starts teardown. */
void wsp__probe_finish(wsp_probe *p, wsp_outcome o, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int64_t wsp__probe_now(const wsp_probe *p);
void wsp__probe_mark(wsp_probe *p, wsp_mark m);
/* The same for what was received: stamped at the bytes' arrival. */
int64_t wsp__probe_rx_now(const wsp_probe *p);
void wsp__probe_mark_rx(wsp_probe *p, wsp_mark m);
/* The same for what was sent: stamped before the send(2) that took it. */
void wsp__probe_mark_tx(wsp_probe *p, wsp_mark m);

/* probe.c: what the transport reports. */
void wsp__probe_on_connect(wsp_probe *p, int status);
void wsp__probe_on_data(wsp_probe *p, const uint8_t *data, size_t len);
void wsp__probe_on_end(wsp_probe *p, int err);
void wsp__probe_on_drain(wsp_probe *p);
void wsp__probe_on_secure(wsp_probe *p);

/* transport.c: bytes over TCP; tx_write goes through TLS when it is on. */
int wsp__tx_write(wsp_probe *p, const uint8_t *data, size_t len);
int wsp__raw_write(wsp_probe *p, const uint8_t *data, size_t len);
int wsp__tx_connect(wsp_probe *p, const struct sockaddr *sa, size_t salen);
void wsp__tx_close(wsp_probe *p);
int wsp__tx_pending(const wsp_probe *p);

/* tls.c */
struct mbedtls_x509_crt;
struct mbedtls_pk_context;
extern const char wsp__system_ca_file[];
int wsp__tls_start(wsp_probe *p);
int wsp__tls_feed(wsp_probe *p, const uint8_t *data, size_t len);
int wsp__tls_write(wsp_probe *p, const uint8_t *data, size_t len);
void wsp__tls_free(wsp_probe *p);
void wsp__tls_ctx_free(wsp_ctx *ctx);
void wsp__jwt_ctx_free(wsp_ctx *ctx);
int wsp__jwt_mint(wsp_ctx *ctx, const wsp_jwt_spec *spec, uint32_t index,
                  int64_t now, char **out, char *err, size_t errlen);
int wsp__probe_start(wsp_ctx *ctx, const wsp_config *cfg,
                     const wsp__probe_opts *opts, wsp_probe_cb cb,
                     void *user_data, wsp_probe **out);
/* Sends a gated probe's first message now (it is open and waiting). */
void wsp__probe_release(wsp_probe *p);
int wsp__tls_load_client(struct mbedtls_x509_crt *crt,
                         struct mbedtls_pk_context *pk, const char *cert_file,
                         const char *key_file, char *err, size_t errlen);

/* frames.c */
int wsp__frames_start(wsp_probe *p);
void wsp__frames_feed(wsp_probe *p, const uint8_t *data, size_t len);
void wsp__frames_eof(wsp_probe *p);
int wsp__frames_send_message(wsp_probe *p);
int wsp__frames_send(wsp_probe *p, const uint8_t *data, size_t len, int binary);
int wsp__frames_close(wsp_probe *p, uint16_t code, const char *reason);
void wsp__frames_free(wsp_probe *p);
void wsp__frames_flush(wsp_probe *p);
void wsp__frames_prebuild(wsp_probe *p);

/* probe.c hooks called by frames.c */
void wsp__probe_on_message(wsp_probe *p, int opcode, const uint8_t *msg,
                           size_t len);
void wsp__probe_on_close(wsp_probe *p);

/* histogram.c: log-linear, mergeable. */
#define WSP__HIST_SUB 64
#define WSP__HIST_BUCKETS (2 * WSP__HIST_SUB + 58 * WSP__HIST_SUB)
typedef struct wsp__hist {
  uint64_t count;                /* Values recorded. */
  uint64_t max;                  /* Largest value. */
  uint64_t min;                  /* Smallest value. */
  uint64_t b[WSP__HIST_BUCKETS]; /* Bucket counts. */
} wsp__hist;

void wsp__hist_init(wsp__hist *h);
void wsp__hist_add(wsp__hist *h, uint64_t v);
void wsp__hist_merge(wsp__hist *dst, const wsp__hist *src);
uint64_t wsp__hist_quantile(const wsp__hist *h, double q);

/* Whether `path` names a regular file (not a directory, device, ...). */
int wsp__regular_file(const char *path);
/* Formats a one-line reason into err (may be NULL) and returns rc. */
int wsp__errorf(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/*
 * Formats a one-line, printable description of an error into an object's
 * error buffer (err may be NULL) and returns rc: the one error-detail
 * channel of configs, campaigns, contexts and plans.
 */
int wsp__vfail(char *err, size_t errlen, int rc, const char *fmt, va_list ap);
int wsp__fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Whether the comma-separated HTTP list `v` holds `token` (any case). */
int wsp__has_token(const char *v, const char *token);

/*
 * A decimal number of `len` bytes (digits only: no sign, space or base):
 * 0, WSP_EINVAL for anything else, WSP_ERANGE above 2^64-1.
 */
int wsp__parse_u64(const char *s, size_t len, uint64_t *out);

/* Small string helpers. */
char *wsp__strdup(const char *s);
char *wsp__strndup(const char *s, size_t n);
int wsp__strcaseeq(const char *a, const char *b);
int wsp__is_token(const char *s);
int wsp__utf8_valid(const uint8_t *s, size_t n);

#endif
