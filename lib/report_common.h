/*
 * What the report writers share: an output buffer that can hand its text
 * on as it grows, escaping of untrusted text (anything a server sent) for
 * XML and HTML, cutting known secrets out of that text, and the tallies
 * the reports show.
 */
#ifndef WSP_REPORT_COMMON_H
#define WSP_REPORT_COMMON_H

#include <string.h>

#include "campaign.h"

/*
 * A growable text buffer. With a sink, its text is handed on (and the
 * buffer emptied) at every wsp__out_flush() and whenever 64 KiB gather, so
 * that a report of any size takes one buffer's memory. After a failed
 * allocation or write it stays failed.
 */
typedef struct wsp__out {
  char *p;           /* Text so far, NUL-terminated once anything was added. */
  size_t len;        /* Its length. */
  size_t cap;        /* Allocated. */
  int failed;        /* 0, or WSP_ENOMEM / WSP_EIO: the text is incomplete. */
  wsp_write_cb sink; /* Where the text goes, or NULL to keep it. */
  void *sink_ud;     /* The sink's user data. */
} wsp__out;

/* Hands the text gathered so far to the sink (if any). */
void wsp__out_flush(wsp__out *o);
/* wsp__out_put() when the bytes do not fit (or the buffer failed). */
void wsp__out_put_slow(wsp__out *o, const char *s, size_t n);
/* Appends n bytes. Inline where they fit: the JSON writer appends some
 * sixty fragments to every probe's line. */
static inline void wsp__out_put(wsp__out *o, const char *s, size_t n) {
  if (!o->failed && o->len + n < o->cap) {
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
    return;
  }
  wsp__out_put_slow(o, s, n);
}
/* Appends a NUL-terminated string. */
static inline void wsp__out_puts(wsp__out *o, const char *s) {
  wsp__out_put(o, s, strlen(s));
}
void wsp__out_printf(wsp__out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Hands the text to the caller (*out) or frees it: 0 or WSP_ENOMEM. */
int wsp__out_finish(wsp__out *o, char **out);
/* Flushes the rest to the sink and frees the buffer: 0 or the failure. */
int wsp__out_close(wsp__out *o);

/* Secrets of a config that must not appear in a report, even when a server
 * echoes them back in a close reason or a response body. */
typedef struct wsp__secrets {
  const char *s[16]; /* The secret texts (pointers into the config). */
  size_t len[16];    /* Their lengths. */
  size_t n;          /* How many. */
} wsp__secrets;

void wsp__secrets_init(wsp__secrets *sec, const wsp_config *cfg);
/* Adds a secret text (kept by pointer); short texts are ignored. */
void wsp__secrets_add(wsp__secrets *sec, const char *s, size_t len);

/*
 * The `n` bytes of `s` with every secret of `sec` (may be NULL) replaced by
 * "<redacted>": 0 when none occurs (*out NULL), 1 with a NUL-terminated
 * copy in *out (the caller frees it) of *outlen bytes, or WSP_ENOMEM.
 */
int wsp__secrets_scrub(const wsp__secrets *sec, const char *s, size_t n,
                       char **out, size_t *outlen);

/* How wsp__out_escape() treats line breaks and tabs. */
typedef enum {
  WSP__ESC_TEXT, /* Element content: tabs and line feeds kept. */
  WSP__ESC_ATTR  /* Attribute values: on one line. */
} wsp__esc_mode;

/*
 * Appends `n` bytes of `s` so that both XML 1.0 and HTML accept them: the
 * five markup characters as references, control characters (C0 but tab and
 * line feed, DEL, C1) and U+FFFE/U+FFFF dropped, bytes that are not UTF-8
 * replaced by U+FFFD, and every secret of `sec` (may be NULL) replaced by
 * "<redacted>".
 */
void wsp__out_escape(wsp__out *o, const wsp__secrets *sec, const char *s,
                     size_t n, wsp__esc_mode mode);
/* wsp__out_escape() of a NUL-terminated string; NULL appends nothing. */
void wsp__out_escs(wsp__out *o, const wsp__secrets *sec, const char *s,
                   wsp__esc_mode mode);
/* wsp__out_escape() of formatted text (at most 4 KiB). */
void wsp__out_escf(wsp__out *o, const wsp__secrets *sec, wsp__esc_mode mode,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Counts per small integer key (close codes, HTTP statuses). */
typedef struct wsp__tally {
  int key[64];    /* Distinct keys, sorted once wsp__summarize() is done. */
  uint64_t n[64]; /* Their counts. */
  size_t len;     /* Keys in use. */
  uint64_t other; /* Counts of keys beyond the first 64. */
} wsp__tally;

/* Everything a summary shows about the results. */
typedef struct wsp__summary {
  uint64_t outcomes[WSP_OUTCOME_COUNT];                /* Per outcome. */
  uint64_t phases[WSP_OUTCOME_COUNT][WSP_PHASE_COUNT]; /* And phase. */
  wsp__tally close_recv;                               /* Codes received. */
  wsp__tally close_sent;                               /* Codes sent. */
  wsp__tally http;                                     /* Statuses. */
  uint64_t tls_full;    /* TLS handshakes completed in full. */
  uint64_t tls_resumed; /* TLS handshakes that resumed a session. */
} wsp__summary;

void wsp__tally_add(wsp__tally *t, int key);

/*
 * A point a campaign measured, a contiguous range of probe indexes: a
 * delay of a sweep, a point of a window search (in the order they were
 * tried), a level of a concurrency sweep.
 */
typedef struct wsp__point {
  uint32_t value;                       /* Delay (ms) or level. */
  uint64_t total;                       /* Probes that ended. */
  uint64_t failed;                      /* Of which not ok. */
  uint64_t outcomes[WSP_OUTCOME_COUNT]; /* Per outcome. */
  uint64_t first_ns, last_ns;           /* Earliest start, latest end, since
                                           the campaign started. */
  wsp__tally codes;                     /* Close codes received. */
  wsp__tally statuses;                  /* HTTP statuses. */
} wsp__point;

/* Sorts a tally by key. */
void wsp__tally_sort(wsp__tally *t);
/* Adds the counts of `src` into `dst`. */
void wsp__tally_merge(wsp__tally *dst, const wsp__tally *src);

/* Nanoseconds from the campaign's start to the probe's start. */
uint64_t wsp__start_ns(const wsp_campaign *c, const wsp_result *r);
/* Nanoseconds from the probe's start to its last mark (0 when none). */
uint64_t wsp__end_ns(const wsp_result *r);

/* The campaign's mode as reports name it ("plain", "sweep", ...). */
const char *wsp__mode_name(wsp__mode m);
/* The i-th phase and span in a probe's order, for tables read top down:
 * proxy, last in its enum (ABI), comes after connect. */
wsp_phase wsp__phase_in_order(int i);
wsp_span wsp__span_in_order(int i);

#endif
