/*
 * Campaigns: many probes of one config on one loop, run as rounds.
 *
 *   plain        one round of `count` probes at `concurrency` (bursts:
 *                rounds of `concurrency` probes released together)
 *   sweep        `per_delay` probes at each delay, in a seeded order
 *   window       bisection over the first-message delay for the smallest
 *                delay above which failures stop, `trials` per point; it
 *                brackets the delays the probes achieved, not the ones
 *                asked for, and runs a point again (twice at most) when
 *                the prober itself lagged during it
 *   concurrency  bursts of 1, 2, 4, ... up to a limit
 *
 * Probes borrow the campaign's config (no copy per probe) and share one
 * resolution of the host. A loop-lag timer watches the prober itself, so
 * that its own delays are never passed off as the server's.
 */
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "addrs.h"
#include "campaign.h"
#include "defaults.h"
#include "proxy.h"
#include "rand.h"

#define LAG_TICK_MS 10
#define LAG_RING 65536
/* Runs of one window point discarded because the prober lagged. */
#define MAX_RERUNS 2
/* Points a window search tries at most. */
#define MAX_POINTS 64
/* Window rounds in a row that may leave the bracket as wide as it was. */
#define MAX_STALE 3
/* Probes started in one loop iteration at most: starting 10,000 at once
 * would block the loop for hundreds of milliseconds and skew the timings
 * of the probes already running. */
#define LAUNCH_BATCH 512
/*
 * A burst shared by several loops: each loop spins from the moment it
 * learns the deadline (at most the lead, or the last millisecond of a
 * longer delay) rather than sleeping until it. A thread that sleeps must
 * be woken and scheduled again, which on a busy machine took 5-8 ms in
 * about half the bursts measured with a 300 us spin; one that spins is
 * already running when the deadline comes.
 */
#define GATE_SPIN_NS (WSP__GATE_LEAD_NS + 1000000u)

int wsp_campaign_new(const wsp_config *cfg, wsp_campaign **out) {
  wsp_campaign *c;
  uint8_t seed[8];
  if (cfg == NULL || out == NULL)
    return WSP_EINVAL;
  if (cfg->url.host == NULL)
    return WSP_EURL;
  if ((c = calloc(1, sizeof(*c))) == NULL)
    return WSP_ENOMEM;
  if ((c->cfg = wsp_config_dup(cfg)) == NULL) {
    free(c);
    return WSP_ENOMEM;
  }
  c->count = WSP__DEF_COUNT;
  c->concurrency = WSP__DEF_CONCURRENCY;
  c->slice_ms = WSP__DEF_SLICE_MS;
  c->shards = 1;
  c->threads = 1;
  c->lanes = 1;
  c->lag_threshold_ms = WSP__DEF_LAG_MS;
  c->start_at_us = -1;
  c->start_tol_ms = WSP__DEF_START_TOLERANCE_MS;
  c->late_ns = -1;
  c->per_delay = 1;
  c->win_res = WSP__DEF_RESOLUTION_MS;
  c->win_trials = WSP__DEF_TRIALS;
  c->health_cfg.interval_ms = WSP__HEALTH_DEF_INTERVAL;
  c->health_cfg.timeout_ms = WSP__HEALTH_DEF_TIMEOUT;
  wsp__hsamples_init(&c->hsamples);
  atomic_init(&c->interrupt_req, 0);
  atomic_init(&c->wake_state, WSP__WAKE_NONE);
  /* A seed nobody chose is still recorded, so the run can be repeated. */
  uv_random(NULL, NULL, seed, sizeof(seed), 0, NULL);
  memcpy(&c->seed, seed, sizeof(c->seed));
  c->seed &= WSP__MAX_SEED; /* Exact in a JSON number (2^53). */
  for (int s = 0; s < WSP_SPAN_COUNT; s++)
    wsp__hist_init(&c->spans[s]);
  wsp__hist_init(&c->lag);
  wsp__hist_init(&c->spread);
  c->held_cpu = -1;
  wsp__hist_init(&c->release_lag);
  *out = c;
  return 0;
}

int wsp_campaign_close(wsp_campaign *c) {
  if (c == NULL)
    return 0;
  if (c->running)
    return wsp__fail(c->error, sizeof(c->error), WSP_EBUSY,
                     "the campaign is running (wait for its done callback)");
  /* Run on several loops, the results are theirs (borrowed here). */
  for (size_t i = 0; c->sub == NULL && i < c->nresults; i++)
    wsp_result_free(c->results[i]);
  for (uint32_t i = 0; c->sub != NULL && i < c->threads; i++)
    wsp_campaign_close(c->sub[i]);
  free(c->sub);
  free(c->results);
  free(c->slots);
  free(c->free_slots);
  free(c->order);
  free(c->delays);
  free(c->lags);
  free(c->slices);
  free(c->evidence);
  free(c->levels);
  free(c->health);
  wsp__health_cfg_clear(&c->health_cfg);
  wsp__hsamples_clear(&c->hsamples);
  wsp_config_free(c->cfg);
  free(c);
  return 0;
}

int wsp_campaign_free(wsp_campaign *c) { return wsp_campaign_close(c); }

const char *wsp_campaign_last_error(const wsp_campaign *c) {
  return c ? c->error : "no campaign";
}

static int fail(wsp_campaign *c, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(wsp_campaign *c, int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  wsp__vfail(c->error, sizeof(c->error), err, fmt, ap);
  va_end(ap);
  return err;
}

static int ok(wsp_campaign *c) {
  c->error[0] = '\0';
  return 0;
}

const char *const wsp__mode_names[4] = {
    [WSP__MODE_PLAIN] = "plain",
    [WSP__MODE_SWEEP] = "sweep",
    [WSP__MODE_WINDOW] = "window",
    [WSP__MODE_CONCURRENCY] = "concurrency",
};

static const char *const mode_what[] = {
    [WSP__MODE_PLAIN] = "a plain campaign",
    [WSP__MODE_SWEEP] = "a delay sweep",
    [WSP__MODE_WINDOW] = "a window search",
    [WSP__MODE_CONCURRENCY] = "a concurrency sweep",
};

/* What each mode would ignore, and why: given together, they conflict. */
static const struct {
  unsigned given;   /* WSP__GIVEN_* bit. */
  const char *what; /* The setting, in words. */
  unsigned modes;   /* Modes (bits of wsp__mode) that ignore it. */
  const char *why;  /* What the mode does instead. */
} ignored[] = {
    {WSP__GIVEN_COUNT, "the count", 1u << WSP__MODE_SWEEP,
     "its probes per delay are given with the delays"},
    {WSP__GIVEN_COUNT, "the count",
     1u << WSP__MODE_WINDOW | 1u << WSP__MODE_CONCURRENCY,
     "it decides how many probes to run"},
    {WSP__GIVEN_CONCURRENCY, "the concurrency", 1u << WSP__MODE_WINDOW,
     "its trials per point run at once"},
    {WSP__GIVEN_CONCURRENCY, "the concurrency", 1u << WSP__MODE_CONCURRENCY,
     "its levels are the concurrency"},
    {WSP__GIVEN_DURATION, "a duration",
     1u << WSP__MODE_WINDOW | 1u << WSP__MODE_CONCURRENCY,
     "it ends when its search does"},
    {WSP__GIVEN_SHARD, "shards",
     1u << WSP__MODE_WINDOW | 1u << WSP__MODE_CONCURRENCY,
     "an adaptive search cannot be split up front"},
};

/*
 * Whether `mode` and the settings given so far (plus `adding`) go
 * together: a setter never changes another one's value, so a combination
 * in which one would be ignored is refused instead.
 */
static int compatible(wsp_campaign *c, wsp__mode mode, unsigned adding) {
  unsigned given = c->given | adding;
  for (size_t i = 0; i < WSP__ARRAY_SIZE(ignored); i++)
    if ((given & ignored[i].given) && (ignored[i].modes & (1u << mode)))
      return fail(c, WSP_ESTATE, "%s ignores %s: %s", mode_what[mode],
                  ignored[i].what, ignored[i].why);
  return 0;
}

/* Chooses the campaign's mode once: another mode's setter is refused. */
static int choose_mode(wsp_campaign *c, wsp__mode mode) {
  if (c->mode != WSP__MODE_PLAIN && c->mode != mode)
    return fail(c, WSP_ESTATE, "the campaign is already %s; %s excludes it",
                mode_what[c->mode], mode_what[mode]);
  return compatible(c, mode, 0);
}

/* Records a setting, refusing it when the chosen mode would ignore it. */
static int give(wsp_campaign *c, unsigned bit) {
  int rc = compatible(c, c->mode, bit);
  if (rc == 0)
    c->given |= bit;
  return rc;
}

static int guard(wsp_campaign *c) {
  if (c->running || c->ran)
    return fail(c, WSP_ESTATE, "the campaign has already been started");
  return 0;
}

#define SETTER_GUARD(c)                                                        \
  do {                                                                         \
    if ((c) == NULL)                                                           \
      return WSP_EINVAL;                                                       \
    if (guard(c) != 0)                                                         \
      return WSP_ESTATE;                                                       \
  } while (0)

int wsp_campaign_set_count(wsp_campaign *c, uint32_t count) {
  SETTER_GUARD(c);
  if (count < 1 || count > WSP__MAX_COUNT)
    return fail(c, WSP_ERANGE, "count %u out of range (1-%u)", count,
                WSP__MAX_COUNT);
  if (give(c, WSP__GIVEN_COUNT) != 0)
    return WSP_ESTATE;
  c->count = count;
  return ok(c);
}

int wsp_campaign_set_concurrency(wsp_campaign *c, uint32_t n) {
  SETTER_GUARD(c);
  if (n < 1 || n > WSP__MAX_CONCURRENCY)
    return fail(c, WSP_ERANGE, "concurrency %u out of range (1-%u)", n,
                WSP__MAX_CONCURRENCY);
  if (give(c, WSP__GIVEN_CONCURRENCY) != 0)
    return WSP_ESTATE;
  c->concurrency = n;
  return ok(c);
}

int wsp_campaign_set_rate(wsp_campaign *c, double per_second) {
  SETTER_GUARD(c);
  if (!(per_second >= 0 && per_second <= WSP__MAX_RATE))
    return fail(c, WSP_ERANGE, "rate %g out of range (0-%d a second)",
                per_second, WSP__MAX_RATE);
  c->rate = per_second;
  return ok(c);
}

int wsp_campaign_set_duration(wsp_campaign *c, uint32_t ms) {
  SETTER_GUARD(c);
  if (ms > WSP__MAX_DURATION_MS)
    return fail(c, WSP_ERANGE, "duration %u ms out of range (0-%u)", ms,
                WSP__MAX_DURATION_MS);
  if (ms > 0 && give(c, WSP__GIVEN_DURATION) != 0)
    return WSP_ESTATE;
  if (ms == 0)
    c->given &= ~(unsigned)WSP__GIVEN_DURATION;
  c->duration_ms = ms;
  return ok(c);
}

int wsp_campaign_set_slice(wsp_campaign *c, uint32_t ms) {
  SETTER_GUARD(c);
  if (ms < 1 || ms > WSP__MAX_MS)
    return fail(c, WSP_ERANGE, "slice %u ms out of range (1-%u)", ms,
                WSP__MAX_MS);
  c->slice_ms = ms;
  return ok(c);
}

int wsp_campaign_set_burst(wsp_campaign *c, int burst) {
  SETTER_GUARD(c);
  c->burst = burst != 0;
  return ok(c);
}

int wsp_campaign_set_seed(wsp_campaign *c, uint64_t seed) {
  SETTER_GUARD(c);
  if (seed > WSP__MAX_SEED)
    return fail(c, WSP_ERANGE, "seed out of range (0-2^53-1)");
  c->seed = seed;
  c->given |= WSP__GIVEN_SEED;
  return ok(c);
}

uint64_t wsp_campaign_seed(const wsp_campaign *c) { return c ? c->seed : 0; }

int wsp_campaign_set_jitter(wsp_campaign *c, uint32_t ms) {
  SETTER_GUARD(c);
  if (ms > WSP__MAX_MS)
    return fail(c, WSP_ERANGE, "jitter %u ms out of range (0-%u)", ms,
                WSP__MAX_MS);
  c->jitter_ms = ms;
  return ok(c);
}

int wsp_campaign_set_shard_from(wsp_campaign *c, uint32_t index, uint32_t count,
                                wsp_shard_source source) {
  SETTER_GUARD(c);
  if (wsp_shard_source_name(source) == NULL)
    return fail(c, WSP_EINVAL, "no such shard source: %d", (int)source);
  if (count < 1 || count > WSP__MAX_SHARDS || index >= count)
    return fail(c, WSP_ERANGE,
                "shard %u of %u: the index must be below the count "
                "(1-%u shards)",
                index, count, WSP__MAX_SHARDS);
  if (count > 1 && give(c, WSP__GIVEN_SHARD) != 0)
    return WSP_ESTATE;
  if (count == 1)
    c->given &= ~(unsigned)WSP__GIVEN_SHARD;
  c->shard = index;
  c->shards = count;
  c->shard_from = source;
  return ok(c);
}

int wsp_campaign_set_shard(wsp_campaign *c, uint32_t index, uint32_t count) {
  return wsp_campaign_set_shard_from(
      c, index, count, count > 1 ? WSP_SHARD_OPTION : WSP_SHARD_NONE);
}

int wsp_campaign_set_start_at(wsp_campaign *c, int64_t unix_us) {
  SETTER_GUARD(c);
  if (unix_us < 0 || unix_us > WSP__MAX_START_US)
    return fail(c, WSP_ERANGE, "start time out of range (1970-9999)");
  c->start_at_us = unix_us;
  return ok(c);
}

int wsp_campaign_set_start_tolerance(wsp_campaign *c, uint32_t ms) {
  SETTER_GUARD(c);
  if (ms > WSP__MAX_MS)
    return fail(c, WSP_ERANGE, "start tolerance %u ms out of range (0-%u)", ms,
                WSP__MAX_MS);
  c->start_tol_ms = ms;
  return ok(c);
}

int wsp_time_parse(const char *text, int64_t *unix_us) {
  return wsp__parse_time(text, unix_us);
}

int wsp_campaign_set_threads(wsp_campaign *c, uint32_t n) {
  SETTER_GUARD(c);
  if (n > WSP__MAX_THREADS)
    return fail(c, WSP_ERANGE, "threads %u out of range (0 for auto, 1-%u)", n,
                WSP__MAX_THREADS);
  c->threads = n;
  return ok(c);
}

uint32_t wsp_campaign_threads(const wsp_campaign *c) {
  long cpus;
  uint32_t n;
  if (c == NULL)
    return 0;
  if (c->threads > 0)
    return c->threads;
  /* Auto: one loop per online CPU, but never more than the connections
   * to share out. */
  cpus = sysconf(_SC_NPROCESSORS_ONLN);
  n = cpus < 1                  ? 1
      : cpus > WSP__MAX_THREADS ? WSP__MAX_THREADS
                                : (uint32_t)cpus;
  if (c->mode == WSP__MODE_WINDOW || c->mode == WSP__MODE_CONCURRENCY)
    return 1;
  return n < c->concurrency ? n : c->concurrency;
}

int wsp_campaign_set_lag_threshold(wsp_campaign *c, uint32_t ms) {
  SETTER_GUARD(c);
  if (ms < 1 || ms > WSP__MAX_LAG_MS)
    return fail(c, WSP_ERANGE, "lag threshold %u ms out of range (1-%u)", ms,
                WSP__MAX_LAG_MS);
  c->lag_threshold_ms = ms;
  return ok(c);
}

int wsp_campaign_set_health(wsp_campaign *c, const char *url) {
  int rc;
  SETTER_GUARD(c);
  if (url == NULL) {
    wsp__health_cfg_clear(&c->health_cfg);
    return ok(c);
  }
  if ((rc = wsp__health_parse(&c->health_cfg, url, c->error,
                              sizeof(c->error))) != 0)
    return rc;
  return ok(c);
}

/* A health setting in milliseconds, 1 ms to an hour. */
static int health_ms(wsp_campaign *c, const char *what, uint32_t ms,
                     uint32_t *to) {
  SETTER_GUARD(c);
  if (ms < 1 || ms > WSP__HEALTH_MAX_MS)
    return fail(c, WSP_ERANGE, "health %s %u ms out of range (1-%u)", what, ms,
                WSP__HEALTH_MAX_MS);
  *to = ms;
  return ok(c);
}

int wsp_campaign_set_health_interval(wsp_campaign *c, uint32_t ms) {
  return health_ms(c, "interval", ms, c ? &c->health_cfg.interval_ms : NULL);
}

int wsp_campaign_set_health_timeout(wsp_campaign *c, uint32_t ms) {
  return health_ms(c, "timeout", ms, c ? &c->health_cfg.timeout_ms : NULL);
}

int wsp_campaign_set_delays(wsp_campaign *c, const uint32_t *delays, size_t n,
                            uint32_t per_delay) {
  uint32_t *d;
  SETTER_GUARD(c);
  if (delays == NULL || n == 0 || n > WSP__MAX_DELAYS)
    return fail(c, WSP_ERANGE, "a sweep needs 1-%d delays", WSP__MAX_DELAYS);
  if (per_delay < 1 || (uint64_t)n * per_delay > WSP__MAX_COUNT)
    return fail(c, WSP_ERANGE,
                "%zu delays x %u probes: at least 1 and at most %u probes", n,
                per_delay, WSP__MAX_COUNT);
  for (size_t i = 0; i < n; i++)
    if (delays[i] > WSP__MAX_MS)
      return fail(c, WSP_ERANGE, "delay %u ms out of range (0-%u)", delays[i],
                  WSP__MAX_MS);
  if (choose_mode(c, WSP__MODE_SWEEP) != 0)
    return WSP_ESTATE;
  if ((d = malloc(n * sizeof(*d))) == NULL)
    return fail(c, WSP_ENOMEM, "out of memory");
  memcpy(d, delays, n * sizeof(*d));
  free(c->delays);
  c->delays = d;
  c->ndelays = n;
  c->per_delay = per_delay;
  c->mode = WSP__MODE_SWEEP;
  return ok(c);
}

int wsp_campaign_set_window_search(wsp_campaign *c, uint32_t lo_ms,
                                   uint32_t hi_ms, uint32_t resolution_ms,
                                   uint32_t trials) {
  SETTER_GUARD(c);
  if (hi_ms <= lo_ms || hi_ms > WSP__MAX_MS)
    return fail(c, WSP_ERANGE,
                "window %u:%u ms: the upper bound must be above the lower "
                "and at most %u",
                lo_ms, hi_ms, WSP__MAX_MS);
  if (resolution_ms < 1 || resolution_ms > WSP__MAX_MS)
    return fail(c, WSP_ERANGE, "resolution %u ms out of range (1-%u)",
                resolution_ms, WSP__MAX_MS);
  if (trials < 1 || trials > WSP__MAX_TRIALS)
    return fail(c, WSP_ERANGE, "trials %u out of range (1-%u)", trials,
                WSP__MAX_TRIALS);
  if (choose_mode(c, WSP__MODE_WINDOW) != 0)
    return WSP_ESTATE;
  c->win_lo = lo_ms;
  c->win_hi = hi_ms;
  c->win_res = resolution_ms;
  c->win_trials = trials;
  c->mode = WSP__MODE_WINDOW;
  return ok(c);
}

int wsp_campaign_set_concurrency_sweep(wsp_campaign *c, uint32_t max_level) {
  SETTER_GUARD(c);
  if (max_level < 1 || max_level > WSP__MAX_CONCURRENCY)
    return fail(c, WSP_ERANGE, "concurrency sweep up to %u out of range (1-%u)",
                max_level, WSP__MAX_CONCURRENCY);
  if (choose_mode(c, WSP__MODE_CONCURRENCY) != 0)
    return WSP_ESTATE;
  c->max_level = max_level;
  c->mode = WSP__MODE_CONCURRENCY;
  return ok(c);
}

/*
 * The probes of a plain campaign: as set; by default one, or one burst of
 * the concurrency with bursts, or as many as the duration allows.
 */
static uint32_t plain_count(const wsp_campaign *c) {
  if (c->given & WSP__GIVEN_COUNT)
    return c->count;
  if (c->duration_ms > 0)
    return WSP__MAX_COUNT;
  if (c->burst)
    return c->concurrency;
  return c->count;
}

int wsp_campaign_set_probe_cb(wsp_campaign *c, wsp_campaign_probe_cb cb,
                              void *user_data) {
  if (c == NULL)
    return WSP_EINVAL;
  c->probe_cb = cb;
  c->probe_ud = user_data;
  return 0;
}

/* ---- the schedule ---- */

/* How many of the first `x` positions fall to lane `t` of `n`. */
static uint32_t lane_share(uint64_t x, uint32_t t, uint32_t n) {
  return (uint32_t)(x / n + (t < x % n));
}

/*
 * Global probe index of the local position `k` of a fixed schedule. On
 * several loops (lanes), the shard's schedule is dealt out: position p
 * goes to lane p mod lanes; with bursts, position j of each burst goes to
 * lane j mod lanes, so that every loop holds its share of each burst.
 */
static uint32_t index_of(const wsp_campaign *c, uint32_t k) {
  if (c->lanes > 1 && c->burst) {
    uint32_t per = c->concurrency; /* This lane's share of a burst. */
    k = k / per * c->team_conc + c->lane + k % per * c->lanes;
  } else if (c->lanes > 1) {
    k = k * c->lanes + c->lane;
  }
  if (c->order != NULL)
    k = c->order[k];
  return k * c->shards + c->shard;
}

/* The first-message delay of probe `index`. */
static uint32_t delay_of(wsp_campaign *c, uint32_t index) {
  uint32_t d;
  if (c->round.fixed_delay)
    d = c->round.delay_ms;
  else if (c->mode == WSP__MODE_SWEEP)
    d = c->delays[index / c->per_delay];
  else
    d = c->cfg->delay_ms;
  if (c->jitter_ms > 0)
    d += (uint32_t)(wsp__rand_at(c->seed, WSP__STREAM_JITTER, index) %
                    ((uint64_t)c->jitter_ms + 1));
  return d;
}

/* How many probes of the fixed schedule (plain, sweep) this shard runs. */
static uint32_t shard_size(const wsp_campaign *c, uint64_t total) {
  return lane_share(total, c->shard, c->shards);
}

/* How many of them this loop runs (index_of() deals them out). */
static uint32_t lane_size(const wsp_campaign *c, uint64_t total) {
  uint32_t s = shard_size(c, total);
  if (c->lanes <= 1)
    return s;
  if (!c->burst)
    return lane_share(s, c->lane, c->lanes);
  return s / c->team_conc * c->concurrency +
         lane_share(s % c->team_conc, c->lane, c->lanes);
}

/* A probe of the sweep and its place in the order. */
typedef struct {
  uint64_t key; /* Its seeded sort key. */
  uint32_t k;   /* Its local position. */
} keyed;

static int cmp_keyed(const void *a, const void *b) {
  const keyed *x = a, *y = b;
  if (x->key != y->key)
    return x->key < y->key ? -1 : 1;
  return x->k < y->k ? -1 : x->k > y->k;
}

/*
 * A sweep's seeded order: delays interleave, so that a drift of the server
 * over time is not mistaken for an effect of the delay. Each index has a
 * sort key drawn from the seed and the index alone, and the probes run in
 * the order of their keys: a shard runs its indexes in the order the
 * unsharded campaign runs them, whatever the number of shards. The whole
 * shard's schedule is ordered, the same on every loop; index_of() deals
 * it out to the loops.
 */
static int shuffle(wsp_campaign *c, uint32_t all) {
  keyed *v = malloc((all ? all : 1) * sizeof(*v));
  if (v == NULL ||
      (c->order = malloc((all ? all : 1) * sizeof(*c->order))) == NULL) {
    free(v);
    return fail(c, WSP_ENOMEM, "out of memory");
  }
  for (uint32_t k = 0; k < all; k++) {
    v[k].k = k;
    v[k].key = wsp__rand_at(c->seed, WSP__STREAM_ORDER,
                            (uint64_t)k * c->shards + c->shard);
  }
  qsort(v, all, sizeof(*v), cmp_keyed);
  for (uint32_t k = 0; k < all; k++)
    c->order[k] = v[k].k;
  free(v);
  return 0;
}

static void start_round(wsp_campaign *c, uint32_t n, uint32_t conc, int gated,
                        int fixed, uint32_t delay) {
  /* A release still due belonged to the round that ended. */
  uv_timer_stop(&c->release);
  memset(&c->round, 0, sizeof(c->round));
  c->round.n = n;
  c->round.conc = conc;
  c->round.gated = gated;
  c->round.fixed_delay = fixed;
  c->round.delay_ms = delay;
}

/* The lag ring's samples that overlap [from, to] (uv_hrtime()), worst. */
static uint64_t lag_between(const wsp_campaign *c, uint64_t from, uint64_t to) {
  uint64_t worst = 0;
  size_t n = c->nlags < LAG_RING ? c->nlags : LAG_RING;
  for (size_t i = 0; c->lags != NULL && i < n; i++) {
    const wsp__lag *l = &c->lags[(c->nlags - 1 - i) % LAG_RING];
    if (l->at < from)
      break; /* Older than the interval. */
    if (l->at - l->lag <= to && l->lag > worst)
      worst = l->lag;
  }
  return worst;
}

/* The worst lag the loop suffered while `r` was running, or 0. */
static int64_t lag_during(const wsp_campaign *c, const wsp_result *r) {
  uint64_t end =
      r->t0 +
      (uint64_t)(r->marks[WSP_MARK_CLOSED] > 0 ? r->marks[WSP_MARK_CLOSED] : 0);
  if (c->lags == NULL)
    return -1;
  return (int64_t)lag_between(c, r->t0, end);
}

/* Records a loop-lag sample taken at `now` (uv_hrtime()). */
static void lag_sample(wsp_campaign *c, uint64_t now) {
  uint64_t lag = now > c->lag_expected ? now - c->lag_expected : 0;
  wsp__hist_add(&c->lag, lag);
  if (lag > (uint64_t)c->lag_threshold_ms * 1000000 && c->lags != NULL) {
    c->lags[c->nlags % LAG_RING].at = now;
    c->lags[c->nlags % LAG_RING].lag = lag;
    c->nlags++;
  }
}

/*
 * A stall still in progress (the ticker is overdue now) is measured now,
 * not only when the ticker fires: a probe that ends in the same loop
 * iteration as a stall, or the round it ends, must see it. The ticker's
 * next sample then counts from here, so a stall is not counted twice.
 */
static void lag_check(wsp_campaign *c) {
  uint64_t now = uv_hrtime();
  if (now > c->lag_expected + (uint64_t)c->lag_threshold_ms * 1000000) {
    lag_sample(c, now);
    c->lag_expected = now;
  }
}

/* How many of the last results the round just ran. */
static size_t round_size(const wsp_campaign *c) {
  return c->round.finished < c->nresults ? c->round.finished : c->nresults;
}

/* The window point the round just ran, from its results (the last ones
 * recorded: rounds do not overlap). Returns whether the prober lagged. */
static int round_point(wsp_campaign *c, wsp__evidence *e) {
  size_t n = round_size(c);
  int lagged = 0;
  memset(e, 0, sizeof(*e));
  e->delay_ms = c->round.delay_ms;
  e->trials = c->round.finished;
  e->failures = c->round.failures;
  e->achieved_min = e->achieved_max = e->fail_max = e->pass_min = -1;
  e->reruns = c->win_reruns;
  lag_check(c);
  for (size_t i = c->nresults - n; i < c->nresults; i++) {
    wsp_result *r = c->results[i];
    int64_t a = wsp__result_delay_achieved(r);
    /* Lag recorded after the probe's own end (the ticker fires late)
     * still counts. */
    int64_t was = r->lag_ns;
    if ((r->lag_ns = lag_during(c, r)) > 0) {
      lagged = 1;
      c->flagged += was <= 0;
    }
    if (a < 0)
      continue;
    c->lateness_sum += a - (int64_t)r->delay_ms * 1000000;
    c->lateness_n++;
    if (e->achieved_min < 0 || a < e->achieved_min)
      e->achieved_min = a;
    if (a > e->achieved_max)
      e->achieved_max = a;
    if (r->outcome == WSP_OUTCOME_OK) {
      if (e->pass_min < 0 || a < e->pass_min)
        e->pass_min = a;
    } else if (a > e->fail_max) {
      e->fail_max = a;
    }
  }
  return lagged;
}

static void add_evidence(wsp_campaign *c, const wsp__evidence *pt) {
  wsp__evidence *e = realloc(c->evidence, (c->nevidence + 1) * sizeof(*e));
  if (e == NULL)
    return;
  c->evidence = e;
  e[c->nevidence++] = *pt;
}

/*
 * What the evidence so far says: the largest achieved delay that failed
 * (from) and the smallest that passed (to). Where from < to, failures stop
 * between them; where they cross, the server is fuzzy there and the
 * estimate is [smallest passing, largest failing].
 */
static void window_conclude(wsp_campaign *c) {
  int64_t fail_max = -1, pass_min = -1;
  for (size_t i = 0; i < c->nevidence; i++) {
    const wsp__evidence *e = &c->evidence[i];
    if (e->fail_max > fail_max)
      fail_max = e->fail_max;
    if (e->pass_min >= 0 && (pass_min < 0 || e->pass_min < pass_min))
      pass_min = e->pass_min;
  }
  c->win_from = c->win_to = -1;
  if (c->nevidence == 0) {
    c->win_conclusion = "not_run";
  } else if (c->evidence[0].failures > 0) {
    c->win_conclusion = "above_range";
  } else if (c->nevidence > 1 && c->evidence[1].failures == 0) {
    c->win_conclusion = "below_range";
  } else if (fail_max < 0 || pass_min < 0) {
    /* Failures before any message was sent bracket no delay. */
    c->win_conclusion = "inconclusive";
  } else if (fail_max < pass_min) {
    c->win_conclusion = "bounded";
    c->win_from = fail_max;
    c->win_to = pass_min;
  } else {
    c->win_conclusion = "overlapping";
    c->win_from = pass_min;
    c->win_to = fail_max;
  }
}

/*
 * The next delay to ask for: one whose achieved delay should fall in the
 * middle of the bracket, given how late the probes have been on average.
 * Asked delays are whole milliseconds; asking the same one again still
 * lands elsewhere, so the search goes on while the bracket narrows.
 */
static uint32_t next_point(const wsp_campaign *c) {
  int64_t late = c->lateness_n ? c->lateness_sum / (int64_t)c->lateness_n : 0;
  int64_t mid = c->win_from + (c->win_to - c->win_from) / 2 - late;
  uint32_t want = mid < (int64_t)c->win_lo * 1000000
                      ? c->win_lo
                      : (uint32_t)((mid + 500000) / 1000000);
  return want > c->win_hi ? c->win_hi : want;
}

/* After a window round: run it again, move on, or stop. Returns 0 when
 * the search is over. */
static int window_next(wsp_campaign *c, uint32_t *ms) {
  wsp__evidence e;
  int lagged = round_point(c, &e);
  if (lagged && c->win_reruns < MAX_RERUNS) {
    /* The prober's own lateness makes the point's delays suspect: its
     * probes stay in the report, marked, but not in the evidence. */
    for (size_t i = c->nresults - round_size(c); i < c->nresults; i++)
      c->results[i]->discarded = 1;
    c->win_reruns++;
    *ms = c->round.delay_ms;
    return 1;
  }
  e.lag_flagged = lagged;
  c->win_reruns = 0;
  add_evidence(c, &e);
  window_conclude(c);
  if (c->win_stage == 0) { /* Tested hi. */
    if (e.failures > 0) {
      c->win_stopped = "range";
      return 0;
    }
    c->win_stage = 1;
    *ms = c->win_lo;
    return 1;
  }
  if (c->win_stage == 1 && e.failures == 0) {
    c->win_stopped = "range"; /* Tested lo: no failures even there. */
    return 0;
  }
  /* Rounds that did not narrow the bracket: the server's fuzz or the
   * prober's timing leave nothing more to learn. */
  if (c->win_stage != 2 || c->win_to - c->win_from < c->win_width) {
    c->win_width = c->win_to - c->win_from;
    c->win_stale = 0;
  } else {
    c->win_stale++;
  }
  c->win_stage = 2;
  c->win_stopped = strcmp(c->win_conclusion, "bounded") != 0 ? "conclusion"
                   : c->win_to - c->win_from <= (int64_t)c->win_res * 1000000
                       ? "resolution"
                   : c->nevidence >= MAX_POINTS ? "point_limit"
                   : c->win_stale >= MAX_STALE  ? "no_narrowing"
                                                : NULL;
  if (c->win_stopped != NULL)
    return 0;
  *ms = next_point(c);
  return 1;
}

/* Decides the next round after one ended (or at the start, with none).
 * Returns 0 when there is nothing left to run. */
static int plan(wsp_campaign *c, int first) {
  uint32_t remaining = c->planned - c->next_local;
  if (c->cancelled)
    return 0;
  switch (c->mode) {
  case WSP__MODE_PLAIN:
  case WSP__MODE_SWEEP:
    if (c->duration_ms > 0 && !first &&
        uv_hrtime() - c->t_start >= (uint64_t)c->duration_ms * 1000000)
      return 0;
    if (remaining == 0)
      return 0;
    if (c->burst)
      start_round(c, remaining < c->concurrency ? remaining : c->concurrency,
                  c->concurrency, 1, 1, c->cfg->delay_ms);
    else
      start_round(c, remaining, c->concurrency, 0, 0, 0);
    return 1;
  case WSP__MODE_WINDOW: {
    uint32_t ms = c->win_hi;
    if (!first && !window_next(c, &ms)) {
      c->win_stage = 3;
      return 0;
    }
    start_round(c, c->win_trials, c->win_trials, c->burst, 1, ms);
    return 1;
  }
  case WSP__MODE_CONCURRENCY: {
    uint32_t level;
    if (!first) {
      wsp__level *l = realloc(c->levels, (c->nlevels + 1) * sizeof(*l));
      if (l == NULL)
        return 0;
      c->levels = l;
      memset(&l[c->nlevels], 0, sizeof(*l));
      l[c->nlevels].level = c->round.n;
      l[c->nlevels].failures = c->round.failures;
      for (size_t i = c->nresults - c->round.n; i < c->nresults; i++)
        l[c->nlevels].outcomes[c->results[i]->outcome]++;
      c->nlevels++;
      if (c->round.n >= c->max_level)
        return 0;
      level = c->round.n * 2 > c->max_level ? c->max_level : c->round.n * 2;
    } else {
      level = 1;
    }
    start_round(c, level, level, 1, 1, c->cfg->delay_ms);
    return 1;
  }
  }
  return 0;
}

/* ---- running ---- */

static void launch(wsp_campaign *c);
static void drain(wsp_campaign *c);

static void grow_slices(wsp_campaign *c, size_t slice) {
  if (slice >= c->nslices) {
    size_t n = slice + 1;
    wsp__slice *s = realloc(c->slices, n * sizeof(*s));
    if (s == NULL)
      return;
    memset(s + c->nslices, 0, (n - c->nslices) * sizeof(*s));
    c->slices = s;
    c->nslices = n;
  }
}

static void record(wsp_campaign *c, wsp_result *r) {
  size_t slice;
  if (c->nresults == c->results_cap) {
    size_t cap = c->results_cap ? 2 * c->results_cap : 64;
    wsp_result **v = realloc(c->results, cap * sizeof(*v));
    if (v == NULL) {
      wsp_result_free(r); /* Counted in nothing: out of memory. */
      return;
    }
    c->results = v;
    c->results_cap = cap;
  }
  c->results[c->nresults++] = r;
  if (r->outcome == WSP_OUTCOME_OK)
    c->passed++;
  else
    c->round.failures++;
  lag_check(c);
  r->lag_ns = lag_during(c, r);
  if (r->lag_ns > 0)
    c->flagged++;
  slice =
      r->t0 > c->t_start
          ? (size_t)((r->t0 - c->t_start) / ((uint64_t)c->slice_ms * 1000000))
          : 0;
  grow_slices(c, slice);
  if (slice < c->nslices)
    c->slices[slice].outcomes[r->outcome]++;
  for (int s = 0; s < WSP_SPAN_COUNT; s++) {
    int64_t v = wsp_result_span(r, (wsp_span)s);
    if (v >= 0)
      wsp__hist_add(&c->spans[s], (uint64_t)v);
  }
  if (c->probe_cb != NULL)
    c->probe_cb(c, r, c->probe_ud);
}

/* Sends every waiting first message of the burst in this one loop
 * iteration, and measures the spread of their send times. */
static void release_all(wsp_campaign *c) {
  uint64_t lo = UINT64_MAX, hi = 0;
  if (c->gate != NULL)
    /* How late this loop began, against the deadline all loops share. */
    wsp__hist_add(&c->release_lag, uv_hrtime() - c->round.release_at);
  for (uint32_t i = 0; i < c->nslots; i++) {
    wsp__slot *s = &c->slots[i];
    if (s->probe != NULL && s->ready)
      wsp__probe_release(s->probe);
  }
  /* The spread of actual send times, on the monotonic clock. */
  for (uint32_t i = 0; i < c->nslots; i++) {
    wsp__slot *s = &c->slots[i];
    uint64_t t;
    if (s->probe == NULL || !s->ready ||
        (t = wsp__probe_sent_at(s->probe)) == 0)
      continue;
    if (t < lo)
      lo = t;
    if (t > hi)
      hi = t;
  }
  if (hi >= lo) {
    wsp__hist_add(&c->spread, hi - lo);
    c->bursts++;
  }
  if (c->gate_owed) {
    c->gate_owed = 0;
    wsp__gate_sent(c->gate, lo, hi);
  }
  if (c->gate != NULL) {
    int cpu = wsp__gate_held_cpu(c->gate, c->lane);
    if (cpu >= 0) {
      c->held_bursts++;
      c->held_cpu = cpu;
    }
    wsp__gate_free_cpu(c->gate, c->lane);
  }
  c->round.gated = 0; /* Released; late arrivals go at once. */
}

static void on_release(uv_timer_t *t) {
  wsp_campaign *c = t->data;
  uint64_t now = uv_hrtime();
  if (!c->round.gated)
    return;
  if (c->gate != NULL && now < c->round.release_at &&
      c->round.release_at - now <= GATE_SPIN_NS) {
    /* Other loops release at this very instant: no loop iteration in
     * between, whose I/O could make this one late. */
    while (uv_hrtime() < c->round.release_at)
      ;
    now = c->round.release_at;
  }
  if (now < c->round.release_at) {
    /* Set a little early (see arm_due() in probe.c): the last fraction
     * of a millisecond is waited out one loop iteration at a time. */
    uv_update_time(c->release.loop);
    uv_timer_start(&c->release, on_release,
                   (c->round.release_at - now) / 1000000, 0);
    return;
  }
  release_all(c);
}

/* Several loops: the deadline of the round awaited, once the gate has
 * one, is this loop's too. */
static void gate_check(wsp_campaign *c) {
  uint64_t at;
  if (c->gate_round == 0 ||
      (at = wsp__gate_deadline(c->gate, c->gate_round)) == 0)
    return;
  c->gate_round = 0;
  c->gate_owed = 1;
  c->round.release_at = at;
  on_release(&c->release);
}

static void on_gate(uv_async_t *a) { gate_check(a->data); }

/* Burst: once every probe of the round opened or ended, release them all
 * in one loop iteration, the round's delay after that moment; on several
 * loops, at the deadline the gate sets once every loop is ready. */
static void maybe_release(wsp_campaign *c) {
  if (!c->round.gated || c->round.ready < c->round.n ||
      c->round.release_at != 0 || c->gate_round != 0)
    return;
  if (c->gate != NULL) {
    /* From here to the end of the release, on a CPU of its own: woken in
     * time for the deadline (a wake-up that waits for a CPU can wait a
     * whole tick) and not preempted while sending. Its probes are all
     * ready, so the loop has little else to do meanwhile. */
    wsp__gate_hold_cpu(c->gate, c->lane);
    c->gate_round = wsp__gate_arrive(c->gate, c->lane,
                                     (uint64_t)c->round.delay_ms * 1000000);
    gate_check(c);
    return;
  }
  if (c->round.delay_ms == 0) {
    release_all(c);
    return;
  }
  c->round.release_at = uv_hrtime() + (uint64_t)c->round.delay_ms * 1000000;
  on_release(&c->release);
}

static void on_ready(wsp_probe *p, void *ud) {
  wsp__slot *s = ud;
  wsp_campaign *c = s->c;
  if (!c->round.gated) {
    wsp__probe_release(p);
    return;
  }
  s->ready = 1;
  c->round.ready++;
  maybe_release(c);
}

static void on_probe(wsp_probe *p, wsp_result *r, void *ud) {
  wsp__slot *slot = ud;
  wsp_campaign *c = slot->c;
  (void)p;
  slot->probe = NULL;
  if (!slot->ready && c->round.gated) {
    c->round.ready++; /* Ended before opening: nothing to wait for. */
  }
  slot->ready = 0;
  c->free_slots[c->nfree++] = (uint32_t)(slot - c->slots);
  c->in_flight--;
  c->round.finished++;
  record(c, r);
  maybe_release(c);
  launch(c);
}

/* How many more probes the rate limit allows now. */
static uint64_t rate_allows(wsp_campaign *c) {
  uint64_t due;
  if (c->rate <= 0)
    return UINT64_MAX;
  due = (uint64_t)((double)(uv_hrtime() - c->t_start) / 1e9 * c->rate) + 1;
  return due > c->started ? due - c->started : 0;
}

static void on_pace(uv_timer_t *t) { launch(t->data); }

static void launch(wsp_campaign *c) {
  wsp__round *r = &c->round;
  uint64_t allowed;
  uint32_t batch = 0;
  if (c->draining)
    return;
  if (c->duration_ms > 0 && !c->cancelled &&
      uv_hrtime() - c->t_start >= (uint64_t)c->duration_ms * 1000000 &&
      (c->mode == WSP__MODE_PLAIN || c->mode == WSP__MODE_SWEEP))
    r->n = r->launched; /* Time is up: start nothing more. */
  allowed = rate_allows(c);
  while (!c->cancelled && r->launched < r->n && c->in_flight < r->conc &&
         c->nfree > 0 && allowed > 0 && batch++ < LAUNCH_BATCH) {
    wsp__slot *slot = &c->slots[c->free_slots[--c->nfree]];
    wsp__probe_opts opts;
    int rc;
    memset(&opts, 0, sizeof(opts));
    if (c->mode == WSP__MODE_PLAIN || c->mode == WSP__MODE_SWEEP)
      opts.index = index_of(c, c->next_local++);
    else
      opts.index = c->started;
    opts.delay_ms = delay_of(c, opts.index);
    opts.seed = &c->seed;
    opts.borrow_cfg = 1;
    opts.ai = c->ai;
    if (r->gated) {
      opts.ready = on_ready;
      opts.ready_ud = slot;
    }
    r->launched++;
    c->started++;
    allowed--;
    slot->ready = 0;
    rc = wsp__probe_start(c->ctx, c->cfg, &opts, on_probe, slot, &slot->probe);
    if (rc != 0) {
      /* Not even started: record why, as this probe's result. */
      wsp_result *res = wsp__result_new();
      slot->probe = NULL;
      c->nfree++;
      r->finished++;
      if (r->gated)
        r->ready++;
      if (res != NULL) {
        res->index = opts.index;
        res->t0 = uv_hrtime();
        res->delay_ms = opts.delay_ms;
        res->phase = WSP_PHASE_RESOLVE;
        res->error = wsp__strdup(wsp_strerror(rc));
        record(c, res);
      }
      continue;
    }
    c->in_flight++;
  }
  if (r->launched < r->n && !c->cancelled && c->in_flight < r->conc &&
      c->nfree > 0)
    /* The rate says wait, or this iteration's batch is full. */
    uv_timer_start(&c->pace, on_pace, allowed == 0 ? 1 : 0, 0);
  maybe_release(c);
  if (r->finished == r->n && c->in_flight == 0) {
    if (plan(c, 0))
      launch(c);
    else
      drain(c);
  } else if (c->cancelled && c->in_flight == 0) {
    drain(c);
  }
}

static void on_lag_tick(uv_timer_t *t) {
  wsp_campaign *c = t->data;
  uint64_t now = uv_hrtime();
  lag_sample(c, now);
  c->lag_expected = now + LAG_TICK_MS * 1000000ull;
}

static int cmp_index(const void *a, const void *b) {
  uint32_t x = (*(wsp_result *const *)a)->index;
  uint32_t y = (*(wsp_result *const *)b)->index;
  return x < y ? -1 : x > y;
}

static void own_closed(void *ud) {
  wsp_campaign *c = ud;
  if (--c->handles > 0 || c->gai_pending)
    return;
  c->running = 0;
  if (c->nresults > 1) /* No results: no array to sort (NULL). */
    qsort(c->results, c->nresults, sizeof(*c->results), cmp_index);
  if (c->ai != NULL) {
    uv_freeaddrinfo(c->ai);
    c->ai = NULL;
  }
  if (c->done_cb != NULL)
    c->done_cb(c, c->done_ud);
}

static void on_own_closed(uv_handle_t *h) { own_closed(h->data); }

/*
 * Interruption. wsp_campaign_interrupt() may run on any thread or in a
 * signal handler, so it only sets a flag and wakes the loop through a
 * uv_async_t (uv_async_send() is async-signal-safe); the cancelling
 * happens here, on the loop's thread. The handle is used only while it
 * is live: retire_wake() waits out a sender that is inside
 * uv_async_send() before the handle is closed.
 */
static void on_wake(uv_async_t *a) {
  wsp_campaign *c = a->data;
  if (!atomic_load(&c->interrupt_req) || c->cancelled || c->draining)
    return;
  c->interrupted = 1;
  wsp_campaign_cancel(c);
}

static void retire_wake(wsp_campaign *c) {
  int live = WSP__WAKE_LIVE;
  while (
      !atomic_compare_exchange_weak(&c->wake_state, &live, WSP__WAKE_CLOSED)) {
    /* Another thread is inside uv_async_send(): a few instructions. */
    live = WSP__WAKE_LIVE;
    sched_yield();
  }
}

void wsp_campaign_interrupt(wsp_campaign *c) {
  int live = WSP__WAKE_LIVE;
  if (c == NULL)
    return;
  atomic_store(&c->interrupt_req, 1);
  if (atomic_compare_exchange_strong(&c->wake_state, &live,
                                     WSP__WAKE_SENDING)) {
    uv_async_send(&c->wake);
    atomic_store(&c->wake_state, WSP__WAKE_LIVE);
  }
  /* Run on several loops: each one's campaign, once they exist (a loop
   * made later sees interrupt_req before it starts). */
  {
    wsp_campaign **sub = atomic_load(&c->sub_live);
    for (uint32_t i = 0; sub != NULL && i < c->threads; i++)
      wsp_campaign_interrupt(sub[i]);
  }
}

int wsp_campaign_interrupted(const wsp_campaign *c) {
  return c != NULL && c->interrupted;
}

/* Every probe ended and no round follows: close the campaign's handles;
 * the done callback runs after their close callbacks. */
static void drain(wsp_campaign *c) {
  if (c->draining)
    return;
  c->draining = 1;
  c->t_end = uv_hrtime();
  retire_wake(c);
  if (c->gate != NULL) {
    /* A round the gate opened for it that it never released: cancelled. */
    if (c->gate_owed)
      wsp__gate_sent(c->gate, UINT64_MAX, 0);
    c->gate_owed = 0;
    c->gate_round = 0;
    wsp__gate_free_cpu(c->gate, c->lane);
    wsp__gate_leave(c->gate, c->lane);
    uv_close((uv_handle_t *)&c->gate_wake, on_own_closed);
  }
  uv_close((uv_handle_t *)&c->pace, on_own_closed);
  uv_close((uv_handle_t *)&c->release, on_own_closed);
  uv_close((uv_handle_t *)&c->lag_timer, on_own_closed);
  uv_close((uv_handle_t *)&c->wake, on_own_closed);
  if (c->health != NULL)
    wsp__health_stop(c->health, c->interrupted, own_closed, c);
}

static void begin(wsp_campaign *c);
static void on_begin(uv_timer_t *t) { begin(t->data); }

/*
 * A start at a wall-clock instant: a timer until a few milliseconds before
 * it (loop timers have a millisecond's grain and fire late under load),
 * then a wait on the monotonic clock itself. Returns 1 while the timer
 * runs.
 */
#define FINAL_WAIT_NS 3000000u
static int wait_for_start(wsp_campaign *c) {
  uint64_t now = uv_hrtime();
  if (now + FINAL_WAIT_NS < c->start_deadline) {
    uv_timer_start(&c->pace, on_begin,
                   (c->start_deadline - FINAL_WAIT_NS - now) / 1000000, 0);
    return 1;
  }
  wsp__wait_until(c->start_deadline);
  return 0;
}

static void begin(wsp_campaign *c) {
  /* Several loops count from one instant, their team's (which waited for
   * any --start-at): their time slices, rates and probe starts line up. */
  if (c->epoch == 0 && c->start_deadline != 0 && wait_for_start(c))
    return;
  c->t_start = c->epoch ? c->epoch : uv_hrtime();
  if (c->start_deadline != 0)
    c->late_ns = (int64_t)(c->t_start - c->start_deadline);
  c->lag_expected = c->t_start + LAG_TICK_MS * 1000000ull;
  uv_timer_start(&c->lag_timer, on_lag_tick, LAG_TICK_MS, LAG_TICK_MS);
  uv_unref((uv_handle_t *)&c->lag_timer);
  /* Health is polled from the campaign's start to its end; without
   * memory for it, the campaign runs without it and reports none. */
  if (c->health_cfg.text != NULL &&
      (c->health = malloc(sizeof(*c->health))) != NULL) {
    wsp__health_start(c->health, &c->health_cfg, c->cfg, c->ctx, c->t_start,
                      &c->hsamples);
    c->handles++;
  }
  if (plan(c, 1))
    launch(c);
  else
    drain(c);
}

/* Whether --resolve pins the host dialled (the server, or the proxy):
 * then each probe takes the pinned addresses and nothing is resolved. */
static int pinned(const wsp_config *cfg, const wsp__dial *dial) {
  struct addrinfo *ai = NULL;
  int rc = wsp__pin_lookup(&cfg->pins, dial->host, dial->port, &ai);
  free(ai);
  return rc != 0;
}

static void on_resolved(uv_getaddrinfo_t *req, int status,
                        struct addrinfo *ai) {
  wsp_campaign *c = req->data;
  c->gai_pending = 0;
  c->dns_ns = uv_hrtime() - c->t_start;
  /* On failure each probe resolves for itself and says so. */
  c->ai = status == 0 ? ai : NULL;
  if (c->cancelled)
    drain(c);
  else
    begin(c);
}

int wsp_campaign_validate(const wsp_campaign *c, char *err, size_t errlen) {
  int gated = c != NULL && (c->burst || c->mode == WSP__MODE_CONCURRENCY);
  if (c == NULL)
    return wsp__errorf(err, errlen, WSP_EINVAL, "no campaign");
  if (c->shards > 1 &&
      (c->mode == WSP__MODE_WINDOW || c->mode == WSP__MODE_CONCURRENCY))
    return wsp__errorf(err, errlen, WSP_EINVAL,
                       "shards split fixed schedules, not window or "
                       "concurrency searches (they adapt as they go)");
  /* Shards drawn from seeds of their own would not add up to one
   * campaign: every random choice comes from the seed and the index. */
  if (c->shards > 1 && !(c->given & WSP__GIVEN_SEED))
    return wsp__errorf(err, errlen, WSP_EINVAL,
                       "shard %u of %u needs the campaign's seed, the same "
                       "for every shard (wsp_campaign_set_seed(), --seed)",
                       c->shard, c->shards);
  /* A report never records a delay that was not applied: a burst
   * releases its probes together, after one delay. */
  if (gated && c->jitter_ms > 0)
    return wsp__errorf(err, errlen, WSP_EINVAL,
                       "bursts release their first messages together: a "
                       "jitter per probe cannot be applied");
  if (gated && c->mode == WSP__MODE_SWEEP)
    return wsp__errorf(err, errlen, WSP_EINVAL,
                       "a delay sweep gives its probes different delays: "
                       "they cannot be released together as a burst");
  if (wsp_campaign_threads(c) > 1 && c->mode == WSP__MODE_WINDOW)
    return wsp__errorf(err, errlen, WSP_EINVAL,
                       "a window search runs on one thread: each point "
                       "depends on the last one's results (--threads 1)");
  if (wsp_campaign_threads(c) > 1 && c->mode == WSP__MODE_CONCURRENCY)
    return wsp__errorf(err, errlen, WSP_EINVAL,
                       "a concurrency sweep runs on one thread: each level "
                       "is one burst chosen after the last (--threads 1)");
  if (c->threads > c->concurrency)
    return wsp__errorf(err, errlen, WSP_EINVAL,
                       "%u threads for a concurrency of %u: each thread "
                       "needs a connection of its own",
                       c->threads, c->concurrency);
  return 0;
}

int wsp__campaign_plan_start(wsp_campaign *c) {
  /* The one conversion of the wall clock to the monotonic one (a loop of
   * a threaded campaign has its team's already). */
  if (c->clocks.mono_ns == 0) {
    wsp__clock_pair_now(&c->clocks);
    wsp__clock_state_now(&c->clock);
  }
  if (c->start_at_us >= 0) {
    uint64_t at = wsp__clock_to_mono(&c->clocks, c->start_at_us);
    if (c->clocks.mono_ns > at &&
        c->clocks.mono_ns - at > (uint64_t)c->start_tol_ms * 1000000) {
      char when[40];
      wsp__format_time(c->start_at_us, when, sizeof(when));
      return fail(c, WSP_ELATE,
                  "the start at %s was missed by %.3f s (tolerance %.3f s)",
                  when, (double)(c->clocks.mono_ns - at) / 1e9,
                  c->start_tol_ms / 1e3);
    }
    c->start_deadline = at;
  }
  return 0;
}

int wsp_campaign_start(wsp_campaign *c, wsp_ctx *ctx, wsp_campaign_done_cb done,
                       void *user_data) {
  wsp__dial dial;
  uint32_t nslots;
  int rc;
  if (c == NULL || ctx == NULL)
    return WSP_EINVAL;
  if (c->running || c->ran)
    return fail(c, WSP_ESTATE, "the campaign has already been started");
  if (wsp_campaign_validate(c, c->error, sizeof(c->error)) != 0)
    return WSP_EINVAL;
  if (wsp_campaign_threads(c) > 1)
    return fail(c, WSP_ESTATE,
                "a campaign on several threads runs on loops of its own: "
                "wsp_campaign_run()");
  if ((rc = wsp__campaign_plan_start(c)) != 0)
    return rc;
  switch (c->mode) {
  case WSP__MODE_PLAIN:
    c->planned = lane_size(c, plain_count(c));
    nslots = c->concurrency;
    break;
  case WSP__MODE_SWEEP: {
    /* The shard's whole schedule is shuffled, the same on every loop. */
    uint32_t all = shard_size(c, (uint64_t)c->ndelays * c->per_delay);
    c->planned = lane_size(c, (uint64_t)c->ndelays * c->per_delay);
    nslots = c->concurrency;
    if ((rc = shuffle(c, all)) != 0)
      return rc;
    break;
  }
  case WSP__MODE_WINDOW:
    nslots = c->win_trials > c->concurrency ? c->win_trials : c->concurrency;
    break;
  default:
    nslots = c->max_level;
    break;
  }
  if (nslots > c->planned && c->planned > 0 && c->mode <= WSP__MODE_SWEEP)
    nslots = c->planned;
  if (nslots == 0)
    nslots = 1;
  c->slots = calloc(nslots, sizeof(*c->slots));
  c->free_slots = calloc(nslots, sizeof(*c->free_slots));
  c->lags = malloc(LAG_RING * sizeof(*c->lags));
  rc = WSP_ENOMEM;
  if (c->slots == NULL || c->free_slots == NULL || c->lags == NULL ||
      (rc = uv_async_init(wsp_ctx_loop(ctx), &c->wake, on_wake)) != 0) {
    free(c->slots);
    free(c->free_slots);
    free(c->lags);
    free(c->order);
    c->slots = NULL;
    c->free_slots = NULL;
    c->lags = NULL;
    c->order = NULL;
    return rc;
  }
  /* The wakeup handle alone must not keep the loop alive. */
  c->wake.data = c;
  uv_unref((uv_handle_t *)&c->wake);
  atomic_store(&c->wake_state, WSP__WAKE_LIVE);
  if (atomic_load(&c->interrupt_req)) {
    /* Interrupted before it started: it runs no probe and ends. */
    c->interrupted = 1;
    c->cancelled = 1;
  }
  for (uint32_t i = 0; i < nslots; i++) {
    c->slots[i].c = c;
    c->free_slots[i] = nslots - 1 - i;
  }
  c->nslots = c->nfree = nslots;
  c->ctx = ctx;
  c->done_cb = done;
  c->done_ud = user_data;
  c->running = 1;
  c->ran = 1;
  uv_timer_init(wsp_ctx_loop(ctx), &c->pace);
  uv_timer_init(wsp_ctx_loop(ctx), &c->release);
  uv_timer_init(wsp_ctx_loop(ctx), &c->lag_timer);
  c->pace.data = c->release.data = c->lag_timer.data = c;
  c->handles = 4; /* pace, release, lag_timer, wake */
  if (c->gate != NULL) {
    uv_async_init(wsp_ctx_loop(ctx), &c->gate_wake, on_gate);
    c->gate_wake.data = c;
    uv_unref((uv_handle_t *)&c->gate_wake);
    wsp__gate_join(c->gate, c->lane, &c->gate_wake);
    c->handles++;
  }
  c->t_start = uv_hrtime();
  wsp__dial_of(&c->cfg->url, &c->cfg->proxy, c->cfg->noproxy, &dial);
  if (!dial.ip_literal && !pinned(c->cfg, &dial)) {
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    c->gai.data = c;
    if (uv_getaddrinfo(wsp_ctx_loop(ctx), &c->gai, on_resolved, dial.host, NULL,
                       &hints) == 0) {
      c->gai_pending = 1;
      return 0;
    }
  }
  /* Completion is always reported from the loop, never from here: the
   * first round starts on the next timer tick. */
  uv_timer_start(&c->pace, on_begin, 0, 0);
  return 0;
}

void wsp_campaign_cancel(wsp_campaign *c) {
  if (c == NULL || !c->running || c->cancelled)
    return;
  c->cancelled = 1;
  c->interrupted = 1;
  if (c->gai_pending) {
    uv_cancel((uv_req_t *)&c->gai);
    return;
  }
  for (uint32_t i = 0; i < c->nslots; i++)
    if (c->slots[i].probe != NULL)
      wsp_probe_cancel(c->slots[i].probe);
  if (c->in_flight == 0)
    drain(c);
}

size_t wsp_campaign_result_count(const wsp_campaign *c) {
  return c ? c->nresults : 0;
}

const wsp_result *wsp_campaign_result(const wsp_campaign *c, size_t i) {
  if (c == NULL || i >= c->nresults)
    return NULL;
  return c->results[i];
}

size_t wsp_campaign_passed(const wsp_campaign *c) { return c ? c->passed : 0; }

uint32_t wsp_campaign_planned(const wsp_campaign *c) {
  if (c == NULL)
    return 0;
  if (c->mode == WSP__MODE_SWEEP)
    return lane_size(c, (uint64_t)c->ndelays * c->per_delay);
  if (c->mode == WSP__MODE_PLAIN && c->duration_ms == 0)
    return lane_size(c, plain_count(c));
  return 0;
}

/* The most connections the campaign will hold open at once. */
static uint64_t max_connections(const wsp_campaign *c) {
  uint64_t planned = wsp_campaign_planned(c);
  switch (c->mode) {
  case WSP__MODE_WINDOW:
    return c->win_trials;
  case WSP__MODE_CONCURRENCY:
    return c->max_level;
  default:
    return planned > 0 && planned < c->concurrency ? planned : c->concurrency;
  }
}

uint64_t wsp_campaign_open_files(const wsp_campaign *c) {
  return c ? max_connections(c) + WSP__SPARE_FILES : 0;
}

int wsp_campaign_check_limits(wsp_campaign *c) {
  struct rlimit rl;
  uint64_t need;
  if (c == NULL)
    return WSP_EINVAL;
  need = wsp_campaign_open_files(c);
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return ok(c); /* Nothing known: nothing to refuse. */
  /* libuv never raises the limit; the soft limit may go up to the hard. */
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need &&
      rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need
                      ? rl.rlim_max
                      : (rlim_t)need;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
    return fail(c, WSP_ERANGE,
                "%llu connections at once need about %llu open files, but "
                "the limit is %llu (raise it with ulimit -n)",
                (unsigned long long)max_connections(c),
                (unsigned long long)need, (unsigned long long)rl.rlim_cur);
  return ok(c);
}
