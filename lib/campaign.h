/*
 * The campaign's private layout, shared with the report writer.
 */
#ifndef WSP_CAMPAIGN_H
#define WSP_CAMPAIGN_H

#include <netdb.h>
#include <stdatomic.h>

#include <uv.h>

#include "config.h"
#include "gate.h"
#include "health.h"
#include "hist.h"
#include "probe.h"
#include "result.h"
#include "start.h"

/* What the campaign measures. */
typedef enum {
  WSP__MODE_PLAIN,      /* count probes at a concurrency (maybe bursts). */
  WSP__MODE_SWEEP,      /* per_delay probes at each of several delays. */
  WSP__MODE_WINDOW,     /* bisection for the race window. */
  WSP__MODE_CONCURRENCY /* bursts of 1, 2, 4, ... connections. */
} wsp__mode;

/* The modes' names in reports: "plain", "sweep", "window", "concurrency". */
extern const char *const wsp__mode_names[4];

/* Settings a caller gave explicitly (wsp__campaign.given): a mode refuses
 * the ones it would ignore, and defaults depend on what was given. */
enum {
  WSP__GIVEN_COUNT = 1 << 0,       /* wsp_campaign_set_count() */
  WSP__GIVEN_CONCURRENCY = 1 << 1, /* wsp_campaign_set_concurrency() */
  WSP__GIVEN_DURATION = 1 << 2,    /* wsp_campaign_set_duration() */
  WSP__GIVEN_SHARD = 1 << 3,       /* wsp_campaign_set_shard(), count > 1 */
  WSP__GIVEN_SEED = 1 << 4         /* wsp_campaign_set_seed() */
};

/* The state of the wakeup handle that wsp_campaign_interrupt() signals. */
enum {
  WSP__WAKE_NONE,    /* Not initialised (before start). */
  WSP__WAKE_LIVE,    /* Initialised: uv_async_send() may be called. */
  WSP__WAKE_SENDING, /* A caller is inside uv_async_send(). */
  WSP__WAKE_CLOSED   /* Closed or closing: nobody may send. */
};

/* One place for a probe in flight. */
typedef struct wsp__slot {
  struct wsp_campaign *c; /* The owner. */
  wsp_probe *probe;       /* The probe in this slot, or NULL. */
  int ready;              /* Burst: it opened (or ended) and waits. */
} wsp__slot;

/* A batch of probes the campaign runs before deciding what comes next. */
typedef struct wsp__round {
  uint32_t n;          /* Probes in the round. */
  uint32_t launched;   /* Started so far. */
  uint32_t finished;   /* Ended so far. */
  uint32_t conc;       /* Most in flight. */
  int gated;           /* A burst: first messages released together,
                          delay_ms after the last probe opened. */
  int fixed_delay;     /* Every probe uses delay_ms (window, levels). */
  uint32_t delay_ms;   /* That delay. */
  uint32_t ready;      /* Burst: probes opened or ended. */
  uint64_t release_at; /* Burst: uv_hrtime() of the release, or 0. */
  uint32_t failures;   /* Probes of the round that did not pass. */
} wsp__round;

/* A point the window search tried, with the delays its probes achieved
 * (first message sent minus the 101's arrival), ns; -1 where none. */
typedef struct wsp__evidence {
  uint32_t delay_ms;    /* First-message delay asked for. */
  uint32_t trials;      /* Probes run there. */
  uint32_t failures;    /* Of which did not pass. */
  int64_t achieved_min; /* Smallest achieved delay. */
  int64_t achieved_max; /* Largest achieved delay. */
  int64_t fail_max;     /* Largest achieved delay that failed. */
  int64_t pass_min;     /* Smallest achieved delay that passed. */
  uint32_t reruns;      /* Runs discarded because the prober lagged. */
  int lag_flagged;      /* Kept although the prober lagged in its last
                           run too. */
} wsp__evidence;

/* A level of the concurrency sweep. */
typedef struct wsp__level {
  uint32_t level;                       /* Simultaneous connections. */
  uint32_t failures;                    /* Probes that did not pass. */
  uint64_t outcomes[WSP_OUTCOME_COUNT]; /* Per outcome. */
} wsp__level;

/* Outcomes of the probes started within one time slice. */
typedef struct wsp__slice {
  uint64_t outcomes[WSP_OUTCOME_COUNT]; /* Per outcome. */
} wsp__slice;

/* A loop-lag sample above the threshold. */
typedef struct wsp__lag {
  uint64_t at;  /* uv_hrtime() when the late tick fired. */
  uint64_t lag; /* How late it was, ns. */
} wsp__lag;

struct wsp_campaign {
  wsp_config *cfg; /* Private copy. */
  /* Settings. */
  wsp__mode mode;               /* What runs. */
  uint32_t count;               /* Probes (a cap in duration mode). */
  uint32_t concurrency;         /* Most in flight at once. */
  double rate;                  /* Probes started per second, 0 =
                                   unlimited. */
  uint32_t duration_ms;         /* Keep starting for this long. */
  uint32_t slice_ms;            /* Time slice of the report. */
  int burst;                    /* Synchronised first messages. */
  uint64_t seed;                /* Every random choice. */
  uint32_t jitter_ms;           /* Random extra delay, 0..jitter. */
  uint32_t shard;               /* This shard's number. */
  uint32_t shards;              /* Shards in all. */
  wsp_shard_source shard_from;  /* Where the shard came from. */
  uint32_t lag_threshold_ms;    /* Loop lag that flags results. */
  int64_t start_at_us;          /* Wall-clock start asked for, or -1. */
  uint32_t start_tol_ms;        /* How late it may start. */
  uint32_t *delays;             /* Sweep delays. */
  size_t ndelays;               /* How many. */
  uint32_t per_delay;           /* Probes per delay. */
  uint32_t win_lo, win_hi;      /* Window search bounds, ms. */
  uint32_t win_res, win_trials; /* Resolution, probes per point. */
  uint32_t max_level;           /* Concurrency sweep limit. */
  uint32_t threads;             /* Loops (threads) to run on; 0: auto. */
  unsigned given;               /* WSP__GIVEN_* bits. */
  char error[256];              /* Last setter error, one line. */
  /* Interruption, from any thread or a signal handler. */
  atomic_int interrupt_req; /* wsp_campaign_interrupt() was called. */
  atomic_int wake_state;    /* WSP__WAKE_*: may `wake` be sent? */
  uv_async_t wake;          /* Wakes the loop for an interrupt. */
  int interrupted;          /* Interrupted or cancelled while running. */
  /* Execution. */
  wsp_ctx *ctx;                   /* Where it runs. */
  uint32_t *order;                /* Sweep: local positions in the
                                     order they run. */
  uint32_t planned;               /* Probes of a fixed schedule. */
  uint32_t next_local;            /* Next position in the schedule. */
  uint32_t started;               /* Probes started in all. */
  uint32_t in_flight;             /* Probes not yet ended. */
  wsp__round round;               /* The current round. */
  wsp__slot *slots;               /* Places for probes in flight. */
  uint32_t *free_slots;           /* Stack of free slot indexes. */
  uint32_t nslots, nfree;         /* Slots, free ones. */
  wsp_result **results;           /* Results, in order of ending. */
  size_t nresults, results_cap;   /* Kept, allocated. */
  size_t passed;                  /* Of which ok. */
  int running;                    /* Started and not done. */
  int ran;                        /* Was started once. */
  int cancelled;                  /* Start no more probes. */
  int draining;                   /* No more rounds: closing up. */
  int handles;                    /* Own handles not yet closed. */
  uv_timer_t pace;                /* Rate limit and duration. */
  uv_timer_t release;             /* A burst's delayed release. */
  uv_timer_t lag_timer;           /* Measures the loop's lag. */
  uint64_t lag_expected;          /* When the next tick is due. */
  uv_getaddrinfo_t gai;           /* Resolves the host once. */
  int gai_pending;                /* Its callback has not run. */
  struct addrinfo *ai;            /* The shared addresses. */
  uint64_t dns_ns;                /* How long that took. */
  wsp_campaign_done_cb done_cb;   /* Called once at the end. */
  void *done_ud;                  /* Its user data. */
  wsp_campaign_probe_cb probe_cb; /* Called per result. */
  void *probe_ud;                 /* Its user data. */
  uint64_t t_start;               /* uv_hrtime() at start. */
  wsp__clock_pair clocks;         /* Both clocks, read at start. */
  wsp__clock_state clock;         /* The real-time clock's state then. */
  uint64_t start_deadline;        /* uv_hrtime() of start_at_us, or 0. */
  int64_t late_ns;                /* t_start - start_deadline, or -1. */
  uint64_t t_end;                 /* uv_hrtime() at the end. */
  /* One of several loops running one campaign (threads.c). */
  uint32_t lane, lanes;      /* This loop's number, of how many (0 of 1). */
  uint32_t team_conc;        /* The whole campaign's concurrency. */
  uint64_t epoch;            /* uv_hrtime() all loops count from, or 0. */
  wsp__gate *gate;           /* Bursts: the loops' shared deadline. */
  uint64_t gate_round;       /* The gate's round awaited, or 0. */
  int gate_owed;             /* Its sends are still to be told. */
  uv_async_t gate_wake;      /* Wakes the loop when a deadline is set. */
  wsp__hist release_lag;     /* First send minus the deadline, ns. */
  uint64_t held_bursts;      /* Bursts released holding its CPU (gate.h). */
  int held_cpu;              /* That CPU, or -1 (never held). */
  struct wsp_campaign **sub; /* Several loops: their campaigns, or NULL. */
  _Atomic(struct wsp_campaign **) sub_live; /* The same, for interrupts. */
  /* Aggregates. */
  wsp__hist spans[WSP_SPAN_COUNT]; /* Durations, ns. */
  wsp__hist lag;                   /* Loop lag samples, ns. */
  wsp__lag *lags;                  /* Ring of samples over threshold. */
  size_t nlags;                    /* Samples written to the ring. */
  uint64_t flagged;                /* Results flagged for lag. */
  wsp__hist spread;                /* Burst send spread, ns. */
  uint32_t bursts;                 /* Bursts released. */
  wsp__slice *slices;              /* Outcomes per time slice. */
  size_t nslices;                  /* Slices in use. */
  wsp__evidence *evidence;         /* Window search points. */
  size_t nevidence;                /* How many. */
  int win_stage;                   /* 0 hi, 1 lo, 2 bisect, 3 done. */
  uint32_t win_reruns;             /* Reruns of the current point. */
  const char *win_conclusion;      /* "bounded", "overlapping", ... */
  const char *win_stopped;         /* Why the search ended ("resolution",
                                      "no_narrowing", ...), or NULL. */
  int64_t win_from, win_to;        /* The estimate from the achieved
                                      delays, ns, or -1. */
  int64_t win_width;               /* Narrowest bracket so far, ns. */
  uint32_t win_stale;              /* Rounds since it last narrowed. */
  int64_t lateness_sum;            /* Achieved minus asked, summed, ns. */
  uint64_t lateness_n;             /* Over how many probes. */
  wsp__level *levels;              /* Concurrency sweep levels. */
  size_t nlevels;                  /* Levels run. */
  /* Health polled beside the probes (on the first loop only). */
  wsp__health_cfg health_cfg; /* Its settings; text NULL: none. */
  wsp__health *health;        /* The poller, once started. */
  wsp__hsamples hsamples;     /* What it recorded. */
};

/*
 * Reads both clocks once (unless they were: a threaded campaign's loops
 * take their team's reading) and, for --start-at, converts the start to the
 * monotonic clock (start_deadline). 0, or WSP_ELATE when the start was
 * missed by more than the tolerance.
 */
int wsp__campaign_plan_start(wsp_campaign *c);

#endif
