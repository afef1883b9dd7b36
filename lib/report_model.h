/*
 * The report model: the one set of figures every report format (text,
 * JSON, HTML, JUnit) and the verdict are made from. It is built from a live
 * campaign, from the campaigns of several loops, or from JSON reports read
 * back (a merge), and merged by one function whatever its source.
 *
 * The model holds aggregates only. The probes stay where they are, the
 * campaigns' results or the report files, and every writer visits them
 * once, in index order, through wsp__rows: a report of a million probes
 * never has to be held in memory.
 */
#ifndef WSP_REPORT_MODEL_H
#define WSP_REPORT_MODEL_H

#include "campaign.h"
#include "groups.h"
#include "health.h"
#include "report_common.h"

/* A JSON report read back (report_read.c). */
typedef struct wsp__input wsp__input;

/* One shard a merged report was made of. */
typedef struct wsp__part {
  uint32_t shard;     /* Its shard index. */
  uint32_t shards;    /* Shards in all. */
  uint64_t probes;    /* Probes it reported. */
  double duration_ms; /* How long it ran, or -1 when unknown. */
  char *source;       /* The file it was read from, or NULL. */
} wsp__part;

/* What the window search found (campaign.window of the JSON report). */
typedef struct wsp__window {
  uint32_t lo, hi;         /* The range searched, ms. */
  uint32_t res;            /* Resolution, ms. */
  uint32_t trials;         /* Probes per point. */
  char conclusion[24];     /* "bounded", "overlapping", ... */
  char stopped[16];        /* Why the search ended, or "" (not said). */
  int64_t from, to;        /* The estimate in achieved delays, ns, when
                              bounded or overlapping; else -1. */
  wsp__evidence *evidence; /* The points tried, in order. */
  size_t nevidence;        /* How many. */
  uint64_t spent;          /* Probes they cost. */
} wsp__window;

/* One loop (thread) of a campaign run on several. */
typedef struct wsp__loop_fig {
  uint64_t probes;       /* Probes it ran. */
  uint64_t concurrency;  /* Its share of the concurrency. */
  uint64_t bursts;       /* Bursts it released. */
  wsp__hist spread;      /* Its own sends' spread per burst, ns. */
  wsp__hist release_lag; /* Its first send minus the shared deadline. */
  uint64_t held_bursts;  /* Bursts it released holding a CPU of its own
                            at a real-time priority (gate.h). */
  int held_cpu;          /* That CPU, or -1. */
  wsp__hist lag;         /* Its loop's lag samples, ns. */
} wsp__loop_fig;

/* The number of secrets a model keeps to scrub from HTML and JUnit. */
#define WSP__MAX_SECRETS 16

struct wsp_report {
  /* Where the probes are: borrowed campaigns, or reports read back. */
  const wsp_campaign **camps; /* The campaigns, or NULL. */
  size_t ncamps;              /* How many. */
  wsp__input **inputs;        /* The reports read back, or NULL. */
  size_t ninputs;             /* How many. */
  /* The config. */
  char *version;        /* Of the wsprobe that ran the campaign. */
  char *config;         /* The config object as the JSON report writes
                           it at depth 1, secrets redacted. */
  char *config_shown;   /* The same with secrets, or NULL if unknown. */
  int secrets_shown;    /* Reports read back show secrets. */
  char *url;            /* The target as given. */
  int has_message;      /* A first message was configured. */
  uint32_t delay_ms;    /* Its delay. */
  int insecure;         /* TLS certificates were not verified. */
  wsp__secrets secrets; /* Secret texts to scrub from HTML/JUnit. */
  char *secret_copy[WSP__MAX_SECRETS]; /* Owned texts of `secrets`. */
  char jwt_prefix[33];                 /* Subprotocol prefix of a token. */
  /* The campaign (campaign.* of the JSON report). */
  char fingerprint[65]; /* What makes two reports one campaign, in hex. */
  wsp__mode mode;       /* What ran. */
  uint64_t count;       /* Results reported. */
  int64_t planned;      /* Probes of a fixed schedule, or -1. */
  int interrupted;      /* Cancelled before it ended. */
  uint64_t concurrency; /* Most in flight at once. */
  int burst;            /* Synchronised bursts. */
  double rate;          /* Probes a second, 0 unlimited. */
  uint64_t seed;        /* The seed of every random choice. */
  uint32_t jitter_ms;   /* Random extra delay. */
  uint32_t shard;       /* This report's shard index... */
  uint32_t shards;      /* ...of this many. */
  wsp_shard_source shard_from; /* Where the shard came from. */
  double duration_ms;          /* Wall time, or -1 when not run. */
  uint32_t timed_ms;           /* --duration, or 0. */
  double dns_ms;               /* The one resolution, or -1. */
  int has_bursts;              /* bursts is reported. */
  uint64_t bursts;             /* Bursts released. */
  wsp__hist spread;            /* Burst send spread, ns. */
  wsp__hist lag;               /* Loop lag samples, ns. */
  uint32_t lag_threshold_ms;   /* Above it, probes are flagged. */
  uint32_t nthreads;           /* Loops (threads) it ran on, 0 unknown. */
  wsp__loop_fig *loops;        /* Several: each one's figures, or NULL. */
  wsp__hist release_lag;       /* Several, bursts: every loop's lateness
                                  against the shared deadline, ns. */
  uint64_t flagged;            /* Probes flagged. */
  uint32_t per_delay;          /* Sweep: probes per delay. */
  wsp__point *points; /* Sweep delays, window points or levels, with what
                         their probes did. */
  size_t npoints;     /* How many. */
  wsp__window window; /* Window search. */
  wsp__level *levels; /* Concurrency sweep levels. */
  size_t nlevels;     /* How many. */
  uint32_t max_level; /* Its limit. */
  uint32_t slice_ms;  /* Width of a time slice. */
  wsp__slice *slices; /* Outcomes per time slice. */
  size_t nslices;     /* How many. */
  /* A merge of shards. */
  int merged;        /* A merge of shards' reports. */
  wsp__part *parts;  /* Those shards, in the order given. */
  size_t nparts;     /* How many. */
  uint32_t *missing; /* Shard indexes missing (WSP_MERGE_ALLOW_PARTIAL). */
  size_t nmissing;   /* How many. */
  /* The summary. */
  uint64_t total;                  /* Probes reported. */
  uint64_t passed;                 /* Of which ok. */
  wsp__summary sum;                /* Per outcome, phase, code, status. */
  wsp__hist spans[WSP_SPAN_COUNT]; /* Durations, ns. */
  wsp__groups peers;               /* Outcomes per address connected to. */
  wsp__groupings headers;          /* Outcomes per recorded header value. */
  /* Figures over every probe, gathered when the model is built. */
  uint64_t last_start_ns; /* The latest probe start. */
  double started_unix;    /* Wall-clock start (s), or 0 when unknown. */
  /* The start (campaign.started_at, .start, .clock). */
  int64_t started_us;      /* Wall-clock start, µs, or -1; merged: the
                              earliest shard's. */
  int64_t started_last_us; /* Merged: the latest shard's start, or -1. */
  int64_t start_at_us;     /* The start asked for, or -1. */
  uint32_t start_tol_ms;   /* How late it could be. */
  int64_t late_ns;         /* How late it was (the latest shard), or -1. */
  wsp__clock_state clock;  /* The real-time clock's state (merged: every
                              shard synchronised, the largest errors). */
  /* Health polled beside the probes (health.* of the JSON report). */
  char *health_url;         /* The URL polled, or NULL: none. */
  uint32_t health_interval; /* Between requests, ms. */
  uint32_t health_timeout;  /* A request's timeout, ms. */
  wsp__hsamples health;     /* Its samples and their summary. */
};

/* One probe as the writers see it. */
typedef struct wsp__row {
  uint32_t index;      /* Its index in the campaign. */
  const wsp_result *r; /* Its facts, or NULL until wsp__rows_facts(). */
  uint64_t start_ns;   /* When it started, since its campaign started. */
  const char *line;    /* Its JSON object as read back, or NULL. */
  size_t line_len;     /* Its length. */
  size_t input;        /* Which input it was read from. */
} wsp__row;

/* A walk over a report's probes in index order. */
typedef struct wsp__rows {
  const wsp_report *rep; /* The report. */
  int facts;             /* Rows come with their facts. */
  size_t *next;          /* Per campaign: the next result. */
  int64_t last;          /* Several campaigns: the last index, or -1. */
} wsp__rows;

/* report_walk.c: starts a walk; with `facts`, every row read back is
 * parsed (a writer that only copies probe lines does without). 0 or a
 * negative error. */
int wsp__rows_begin(const wsp_report *rep, int facts, wsp__rows *it);
/* The next probe: 1 and *row (valid until the next call), 0 at the end,
 * or a negative error (`err` says which input failed and how). */
int wsp__rows_next(wsp__rows *it, wsp__row *row, char *err, size_t errlen);
/* Parses the facts of a row read back without them. */
int wsp__rows_facts(wsp__rows *it, wsp__row *row, char *err, size_t errlen);
void wsp__rows_end(wsp__rows *it);

/* The points of a window search or concurrency sweep, from its figures. */
int wsp__rep_points(wsp_report *rep);
/* The point (index into rep->points) a probe belongs to, or (size_t)-1. */
size_t wsp__rep_point_of(const wsp_report *rep, uint32_t index);

/* An empty model (every histogram initialised), or NULL. */
wsp_report *wsp__rep_alloc(void);
/* Frees a model's figures; its inputs are the caller's (wsp_report_free()
 * frees those too). */
void wsp__rep_free(wsp_report *rep);
/* Adds the aggregates of `src` into `dst`, which has the same campaign:
 * counts add up, histograms merge, sweep rows add by delay, time slices
 * by position. 0 or WSP_ENOMEM. */
int wsp__rep_add(wsp_report *dst, const wsp_report *src);
/* An empty model with the identity (config, campaign settings) of `src`. */
int wsp__rep_like(const wsp_report *src, wsp_report **out);
/* report_walk.c: collects what is counted over every probe (the summary,
 * the last start, the points' figures) in one walk. */
int wsp__rep_scan(wsp_report *rep, char *err, size_t errlen);

/*
 * The start in words, for the text and HTML reports: "at
 * 2026-11-28T22:30:00.250000Z, 0.412 ms late; clock synchronized, max
 * error 16 us" (a merge: the latest shard's lateness, and the shards'
 * spread). Writes "" and returns 0 when no start was asked for, else 1.
 */
int wsp__rep_start_words(const wsp_report *rep, char *buf, size_t len);
/*
 * What the health endpoint said beside the probes, in words: "200 x12
 * throughout, while 20 of 20 probes failed (closed_by_server 1011 x20)",
 * or "200 x10, 503 x2, errors x1". For a report with health_url only.
 */
void wsp__rep_health_words(const wsp_report *rep, char *buf, size_t len);
/* The same, a row at a time, for a walk of one's own. */
void wsp__rep_scan_begin(wsp_report *rep);
void wsp__rep_scan_row(wsp_report *rep, const wsp__row *row);
void wsp__rep_scan_end(wsp_report *rep);

/* fingerprint.c: what makes reports one campaign (docs/report.md). */
int wsp__fingerprint(const wsp_campaign *c, char out[65]);

/* The config as a report writes it: formatted for depth 1. */
int wsp__config_text(const wsp_config *cfg, int show_secrets, char **out);
/* cJSON_Print() of a member of the report's top level (one tab deeper). */
struct cJSON;
char *wsp__json_indent(const struct cJSON *tree);
/* A phase, a mode from its name in a report, or -1. */
int wsp__phase_from_name(const char *name);
int wsp__mode_from_name(const char *name);

/* report_json.c: the JSON report. */
int wsp__report_json(const wsp_report *rep, int show_secrets, wsp__out *o);
/* One probe's object on one line, as the JSON report writes it: what the
 * server sent with the secrets of `sec` (may be NULL) redacted, unless
 * `show_secrets`. */
void wsp__probe_json(wsp__out *o, const wsp_result *r, const wsp__secrets *sec,
                     int show_secrets, int campaign_fields, uint64_t start_ns);

/* report.c, report_html.c, report_junit.c: the other formats. */
int wsp__report_text(const wsp_report *rep, wsp__out *o);
int wsp__report_html(const wsp_report *rep, wsp__out *o);
int wsp__report_junit(const wsp_report *rep, wsp__out *o);

/* report_read.c: reading reports back. */
int wsp__input_open(wsp__input **out, const char *path, const char *text,
                    size_t text_len, char *err, size_t errlen);
void wsp__input_free(wsp__input *in);
/* The model of one report's head (everything but its probes). */
int wsp__input_model(wsp__input *in, wsp_report **out, char *err,
                     size_t errlen);
/* Positions the input before its first probe. */
int wsp__input_rewind(wsp__input *in, char *err, size_t errlen);
/* Reads the next probe's line if need be: 1 and its index, 0 after the
 * last one, or a negative error. */
int wsp__input_peek(wsp__input *in, uint32_t *index, char *err, size_t errlen);
/* Hands the probe peeked at over as a row (parsed with `facts`) and moves
 * past it; the row stays valid until the next peek. */
int wsp__input_take(wsp__input *in, int facts, wsp__row *row, char *err,
                    size_t errlen);
/* Parses the facts of the row last taken. */
int wsp__input_result(wsp__input *in, wsp__row *row, char *err, size_t errlen);
/* Names a report held in memory "report N" in messages. */
void wsp__input_label(wsp__input *in, size_t n);
/* Where the input came from, for messages: its path or "report N". */
const char *wsp__input_name(const wsp__input *in);

#endif
