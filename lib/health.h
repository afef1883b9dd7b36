/*
 * Health polling beside the probes (health.c): an http:// or https:// URL
 * asked with GET on a new connection every interval, through the same
 * socket, TLS and llhttp stack as the probes, one request in flight. It
 * records what the service said (status, time, an error, the body's
 * first bytes) and decides nothing: no sample changes a probe's outcome,
 * the verdict or the exit status.
 */
#ifndef WSP_HEALTH_H
#define WSP_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#include <llhttp.h>
#include <netdb.h>
#include <uv.h>

#include "conn.h"
#include "hist.h"
#include "tls.h"
#include "url.h"

/* Body bytes a sample keeps (cut at a UTF-8 character boundary). */
#define WSP__HEALTH_BODY 256
/* Response header bytes read before the response is called an error. */
#define WSP__HEALTH_MAX_HEADER (16 * 1024)
/* Body bytes read before the response is called an error. */
#define WSP__HEALTH_MAX_BODY (64 * 1024)
/* Samples kept (about 3 hours at the default interval); later ones are
 * counted in the summary only, so that a report's head stays within what
 * is read back (64 MiB). */
#define WSP__HEALTH_MAX_SAMPLES 20000
/* Defaults and limits of the interval and timeout, ms. */
#define WSP__HEALTH_DEF_INTERVAL 500
#define WSP__HEALTH_DEF_TIMEOUT 2000
#define WSP__HEALTH_MAX_MS 3600000

/* One request's answer. */
typedef struct wsp__hsample {
  double t_ms; /* When it was sent, ms on the campaign's clock. */
  int status;  /* The HTTP status, or 0 on error. */
  double ms;   /* How long it took, ms. */
  char *error; /* Why it failed, or NULL. */
  char *body;  /* The body's first bytes (NUL-terminated), or NULL. */
  size_t blen; /* Their length. */
} wsp__hsample;

/* Samples and their summary, as a campaign records them and a report
 * holds them (several shards' added up). */
typedef struct wsp__hsamples {
  wsp__hsample *s;      /* Samples kept, in order. */
  size_t n, cap;        /* Kept, allocated. */
  uint64_t total;       /* Samples taken (kept or not). */
  uint64_t errors;      /* Of which failed. */
  uint64_t skipped;     /* Ticks skipped: a request was still running. */
  uint64_t status[600]; /* Samples per status code (100-599). */
  wsp__hist ms;         /* Their durations, ns. */
} wsp__hsamples;

void wsp__hsamples_init(wsp__hsamples *hs);
void wsp__hsamples_clear(wsp__hsamples *hs);
/* Records a sample (copying its strings): 0 or WSP_ENOMEM. */
int wsp__hsamples_add(wsp__hsamples *hs, const wsp__hsample *s);
/* Adds every sample and count of `src` into `dst`: 0 or WSP_ENOMEM. */
int wsp__hsamples_merge(wsp__hsamples *dst, const wsp__hsamples *src);

/* The poller's settings, as the campaign keeps them. */
typedef struct wsp__health_cfg {
  char *text;           /* The URL as given, or NULL: no polling. */
  wsp__url url;         /* Parsed (ws:// and wss:// stand for http(s)). */
  uint32_t interval_ms; /* Between requests. */
  uint32_t timeout_ms;  /* A request's whole time. */
} wsp__health_cfg;

/*
 * Parses an http:// or https:// URL into `hc`. 0, or WSP_EURL with the
 * reason in err.
 */
int wsp__health_parse(wsp__health_cfg *hc, const char *text, char *err,
                      size_t errlen);
void wsp__health_cfg_clear(wsp__health_cfg *hc);
int wsp__health_cfg_copy(wsp__health_cfg *dst, const wsp__health_cfg *src);

struct wsp_ctx;
struct wsp_config;

/* A running poller. */
typedef struct wsp__health {
  const wsp__health_cfg *hc;      /* Settings (borrowed). */
  const struct wsp_config *cfg;   /* TLS settings (borrowed). */
  struct wsp_ctx *ctx;            /* Its loop's context. */
  wsp__hsamples *out;             /* Where samples go (borrowed). */
  uint64_t t0;                    /* uv_hrtime() of the campaign's start. */
  uv_timer_t tick;                /* Every interval. */
  uv_timer_t deadline;            /* The request's timeout. */
  uv_getaddrinfo_t gai;           /* The request's resolution. */
  int gai_pending;                /* Its callback has not run. */
  int handles;                    /* Handles not closed yet. */
  int stopping;                   /* Stopped: no more requests. */
  int dropped;                    /* Its last request abandoned. */
  int rest_closed;                /* The deadline timer is closing. */
  void (*closed)(void *ud);       /* Called once every handle closed. */
  void *ud;                       /* Its user data. */
  int busy;                       /* A request is in flight. */
  uint64_t sent_ns;               /* uv_hrtime() when it began. */
  wsp__conn conn;                 /* Its connection. */
  wsp__tls *tls;                  /* Its TLS, or NULL. */
  int done;                       /* Its sample is recorded. */
  llhttp_t parser;                /* The response parser. */
  size_t header_bytes;            /* Header bytes read so far. */
  size_t body_bytes;              /* Body bytes read so far. */
  int headers_done;               /* The blank line was seen. */
  uint8_t body[WSP__HEALTH_BODY]; /* The body's first bytes. */
  size_t blen;                    /* How many. */
} wsp__health;

/*
 * Starts polling on ctx's loop: the first request at once, then every
 * interval; samples are timed from t0.
 */
void wsp__health_start(wsp__health *h, const wsp__health_cfg *hc,
                       const struct wsp_config *cfg, struct wsp_ctx *ctx,
                       uint64_t t0, wsp__hsamples *out);
/*
 * Stops: no more requests. A request in flight still ends and is recorded
 * (within its timeout), unless `drop` (an interrupt): then it is abandoned
 * unrecorded. `closed` is called from the loop once everything closed.
 */
void wsp__health_stop(wsp__health *h, int drop, void (*closed)(void *ud),
                      void *ud);

#endif
