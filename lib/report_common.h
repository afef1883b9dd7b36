/*
 * What the JUnit and HTML report writers share: an output buffer, escaping
 * of untrusted text (anything a server sent) for XML and HTML, cutting
 * known secrets out of that text, and the tallies both reports show.
 */
#ifndef WSP_REPORT_COMMON_H
#define WSP_REPORT_COMMON_H

#include "campaign.h"

/* A growable text buffer; after a failed allocation it stays failed. */
typedef struct wsp__out {
  char *p;    /* Text so far, NUL-terminated once anything was added. */
  size_t len; /* Its length. */
  size_t cap; /* Allocated. */
  int failed; /* An allocation failed: the text is incomplete. */
} wsp__out;

void wsp__out_put(wsp__out *o, const char *s, size_t n);
void wsp__out_puts(wsp__out *o, const char *s);
void wsp__out_printf(wsp__out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Hands the text to the caller (*out) or frees it: 0 or WSP_ENOMEM. */
int wsp__out_finish(wsp__out *o, char **out);

/* Secrets of a config that must not appear in a report, even when a server
 * echoes them back in a close reason or a response body. */
typedef struct wsp__secrets {
  const char *s[16]; /* The secret texts (pointers into the config). */
  size_t len[16];    /* Their lengths. */
  size_t n;          /* How many. */
} wsp__secrets;

void wsp__secrets_init(wsp__secrets *sec, const wsp_config *cfg);

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
void wsp__summarize(const wsp_campaign *c, wsp__summary *s);

/*
 * The points a campaign measured, each a contiguous range of probe indexes:
 * the delays of a sweep, the points of a window search (in the order they
 * were tried), the levels of a concurrency sweep. NULL with *n = 0 for a
 * plain campaign or when out of memory.
 */
typedef struct wsp__point {
  uint32_t value;                       /* Delay (ms) or level. */
  uint64_t total;                       /* Probes that ended. */
  uint64_t failed;                      /* Of which not ok. */
  uint64_t outcomes[WSP_OUTCOME_COUNT]; /* Per outcome. */
  uint64_t first_ns, last_ns;           /* Earliest start, latest end
                                           (uv_hrtime()). */
} wsp__point;

wsp__point *wsp__points(const wsp_campaign *c, size_t *n);
/* The point result `r` belongs to, or (size_t)-1. */
size_t wsp__point_of(const wsp_campaign *c, const wsp_result *r);

/* Nanoseconds from the campaign's start to the probe's start. */
uint64_t wsp__start_ns(const wsp_campaign *c, const wsp_result *r);
/* Nanoseconds from the probe's start to its last mark (0 when none). */
uint64_t wsp__end_ns(const wsp_result *r);

/* The campaign's mode as reports name it ("plain", "sweep", ...). */
const char *wsp__mode_name(wsp__mode m);
/* What the window search concluded: "bounded", "above_range", ... */
const char *wsp__window_conclusion(const wsp_campaign *c);

#endif
