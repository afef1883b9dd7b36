/*
 * A campaign on several loops, one a thread (wsp_campaign_run() with
 * wsp_campaign_set_threads()). Each loop runs a campaign of its own, a
 * copy of the caller's with the same config, seed and settings, that
 * holds a share of the schedule (campaign.c's index_of() deals the
 * indexes out), of the concurrency and of the rate, and its own context:
 * its own DRBG, TLS configuration, session cache and parsed keys, never
 * shared across threads (mbedTLS fills RSA blinding values and ECP tables
 * in lazily). Bursts share one release deadline through a gate (gate.c).
 * The loops' campaigns stay behind the caller's: its results are theirs,
 * in index order, and its report is their merge (report_walk.c).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "campaign.h"

/* One loop's thread. */
typedef struct lane {
  struct team *team; /* All of them. */
  wsp_campaign *c;   /* Its campaign. */
  pthread_t thread;  /* Its thread. */
  int started;       /* The thread was created. */
  int rc;            /* How its start went: 0 or an error. */
} lane;

/* What the loops share while they run. */
typedef struct team {
  wsp_campaign *parent; /* The caller's campaign. */
  pthread_mutex_t mu;   /* Serialises the caller's probe callback. */
  wsp__gate gate;       /* Bursts: the shared deadline. */
  lane *lanes;          /* One per loop. */
  uint32_t n;           /* How many. */
} team;

static void no_done(wsp_campaign *c, void *ud) {
  (void)c;
  (void)ud;
}

/* The caller's probe callback, called from any loop's thread, one call at
 * a time, with the caller's campaign. */
static void lane_probe(wsp_campaign *c, const wsp_result *r, void *ud) {
  team *t = ud;
  (void)c;
  pthread_mutex_lock(&t->mu);
  t->parent->probe_cb(t->parent, r, t->parent->probe_ud);
  pthread_mutex_unlock(&t->mu);
}

/* Runs the campaign on a private loop; 0 or an error. */
static int run_loop(wsp_campaign *c) {
  uv_loop_t loop;
  wsp_ctx *ctx = NULL;
  int rc;
  if ((rc = uv_loop_init(&loop)) != 0)
    return rc;
  if ((rc = wsp_ctx_new(&loop, &ctx)) == 0 &&
      (rc = wsp_campaign_start(c, ctx, no_done, NULL)) == 0)
    uv_run(&loop, UV_RUN_DEFAULT);
  wsp_ctx_close(ctx);
  if (uv_loop_close(&loop) != 0 && rc == 0)
    rc = WSP_EBUSY;
  return rc;
}

static void *lane_main(void *arg) {
  lane *l = arg;
  l->rc = run_loop(l->c);
  if (l->rc != 0 && !l->c->ran) {
    /* It never ran: the others must neither wait for it at a burst nor
     * run on as if the campaign were whole. */
    if (l->c->gate != NULL)
      wsp__gate_leave(l->c->gate, l->c->lane);
    wsp_campaign_interrupt(l->team->parent);
  }
  return NULL;
}

#define START_STEP_NS 20000000u /* 20 ms */

/* Loop `i` of `n`'s campaign: the caller's settings, its share. */
static int lane_new(wsp_campaign *c, team *t, uint32_t i, uint32_t n,
                    uint64_t epoch, wsp_campaign **out) {
  wsp_campaign *l;
  int rc;
  if ((rc = wsp_campaign_new(c->cfg, &l)) != 0)
    return rc;
  if (c->ndelays > 0) {
    if ((l->delays = malloc(c->ndelays * sizeof(*l->delays))) == NULL) {
      wsp_campaign_close(l);
      return WSP_ENOMEM;
    }
    memcpy(l->delays, c->delays, c->ndelays * sizeof(*l->delays));
  }
  l->ndelays = c->ndelays;
  l->mode = c->mode;
  l->count = c->count;
  l->concurrency = (uint32_t)(c->concurrency / n + (i < c->concurrency % n));
  l->rate = c->rate / n;
  l->duration_ms = c->duration_ms;
  l->slice_ms = c->slice_ms;
  l->burst = c->burst;
  l->seed = c->seed;
  l->jitter_ms = c->jitter_ms;
  l->shard = c->shard;
  l->shards = c->shards;
  l->lag_threshold_ms = c->lag_threshold_ms;
  l->clocks = c->clocks; /* One reading of the clocks for every loop. */
  l->clock = c->clock;
  l->start_at_us = c->start_at_us;
  l->start_tol_ms = c->start_tol_ms;
  l->per_delay = c->per_delay;
  l->given = c->given;
  l->threads = 1;
  l->lane = i;
  l->lanes = n;
  l->team_conc = c->concurrency;
  l->epoch = epoch;
  /* Health is polled once for the campaign, on the first loop. */
  if (i == 0 && (rc = wsp__health_cfg_copy(&l->health_cfg, &c->health_cfg))) {
    wsp_campaign_close(l);
    return rc;
  }
  if (c->burst)
    l->gate = &t->gate;
  if (c->probe_cb != NULL) {
    l->probe_cb = lane_probe;
    l->probe_ud = t;
  }
  *out = l;
  return 0;
}

static int cmp_index(const void *a, const void *b) {
  uint32_t x = (*(wsp_result *const *)a)->index;
  uint32_t y = (*(wsp_result *const *)b)->index;
  return x < y ? -1 : x > y;
}

/*
 * The caller's campaign after the loops ended: their results (borrowed,
 * in index order) and their figures, added up as one campaign's. A
 * burst's spread is the gate's, from the first send on any loop to the
 * last on any.
 */
static int collect(wsp_campaign *c, team *t) {
  size_t total = 0;
  c->t_end = 0;
  for (uint32_t i = 0; i < t->n; i++)
    total += c->sub[i]->nresults;
  if (total > 0 && (c->results = malloc(total * sizeof(*c->results))) == NULL)
    return WSP_ENOMEM;
  c->results_cap = total;
  for (uint32_t i = 0; i < t->n; i++) {
    wsp_campaign *l = c->sub[i];
    if (l->nresults > 0)
      memcpy(c->results + c->nresults, l->results,
             l->nresults * sizeof(*l->results));
    c->nresults += l->nresults;
    c->passed += l->passed;
    c->started += l->started;
    c->interrupted |= l->interrupted;
    c->flagged += l->flagged;
    if (l->t_end > c->t_end)
      c->t_end = l->t_end;
    if (l->dns_ns > c->dns_ns)
      c->dns_ns = l->dns_ns;
    for (int s = 0; s < WSP_SPAN_COUNT; s++)
      wsp__hist_merge(&c->spans[s], &l->spans[s]);
    wsp__hist_merge(&c->lag, &l->lag);
    wsp__hist_merge(&c->release_lag, &l->release_lag);
    if (l->nslices > c->nslices) {
      wsp__slice *sl = realloc(c->slices, l->nslices * sizeof(*sl));
      if (sl == NULL)
        return WSP_ENOMEM;
      memset(sl + c->nslices, 0, (l->nslices - c->nslices) * sizeof(*sl));
      c->slices = sl;
      c->nslices = l->nslices;
    }
    for (size_t k = 0; k < l->nslices; k++)
      for (int o = 0; o < WSP_OUTCOME_COUNT; o++)
        c->slices[k].outcomes[o] += l->slices[k].outcomes[o];
  }
  if (c->nresults > 1)
    qsort(c->results, c->nresults, sizeof(*c->results), cmp_index);
  if (c->burst) {
    c->spread = t->gate.spread;
    c->bursts = (uint32_t)t->gate.bursts;
  }
  return 0;
}

static int run_threads(wsp_campaign *c, uint32_t n) {
  team t;
  uint64_t epoch;
  int rc = 0;
  if (wsp_campaign_validate(c, c->error, sizeof(c->error)) != 0)
    return WSP_EINVAL;
  memset(&t, 0, sizeof(t));
  t.parent = c;
  t.n = n;
  if ((t.lanes = calloc(n, sizeof(*t.lanes))) == NULL ||
      (c->sub = calloc(n, sizeof(*c->sub))) == NULL ||
      (c->burst && wsp__gate_init(&t.gate, n, WSP__GATE_LEAD_NS) != 0)) {
    free(t.lanes);
    free(c->sub);
    c->sub = NULL;
    return WSP_ENOMEM;
  }
  pthread_mutex_init(&t.mu, NULL);
  c->threads = n; /* What ran, however it was asked for. */
  /* The clocks are read once for every loop. A start at a wall-clock
   * instant is refused here when missed; each loop waits for it and they
   * all count from it. */
  if ((rc = wsp__campaign_plan_start(c)) != 0) {
    pthread_mutex_destroy(&t.mu);
    if (c->burst)
      wsp__gate_free(&t.gate);
    free(t.lanes);
    free(c->sub);
    c->sub = NULL;
    return rc;
  }
  if (c->start_deadline != 0) {
    /* The team waits here, so that every loop counts from the instant the
     * wait ended (its lateness is then true for all). In steps, so that an
     * interrupt is not held up by a start far ahead. */
    while (!atomic_load(&c->interrupt_req) &&
           uv_hrtime() + START_STEP_NS < c->start_deadline) {
      struct timespec ts = {0, START_STEP_NS / 2};
      nanosleep(&ts, NULL);
    }
    if (!atomic_load(&c->interrupt_req))
      wsp__wait_until(c->start_deadline);
  }
  epoch = uv_hrtime();
  for (uint32_t i = 0; rc == 0 && i < n; i++) {
    t.lanes[i].team = &t;
    rc = lane_new(c, &t, i, n, epoch, &c->sub[i]);
    t.lanes[i].c = c->sub[i];
  }
  c->ran = 1;
  if (rc == 0) {
    c->running = 1;
    c->t_start = epoch;
    atomic_store(&c->sub_live, c->sub);
    /* An interrupt that came before the loops' campaigns existed. */
    if (atomic_load(&c->interrupt_req))
      wsp_campaign_interrupt(c);
    for (uint32_t i = 0; i < n; i++) {
      if (pthread_create(&t.lanes[i].thread, NULL, lane_main, &t.lanes[i]) !=
          0) {
        /* Those started end early; this one never joins a burst. */
        rc = WSP_ENOMEM;
        if (c->burst)
          for (uint32_t k = i; k < n; k++)
            wsp__gate_leave(&t.gate, k);
        wsp_campaign_interrupt(c);
        break;
      }
      t.lanes[i].started = 1;
    }
    for (uint32_t i = 0; i < n; i++)
      if (t.lanes[i].started) {
        pthread_join(t.lanes[i].thread, NULL);
        if (rc == 0)
          rc = t.lanes[i].rc;
      }
    c->running = 0;
    if (rc == 0)
      rc = collect(c, &t);
  }
  pthread_mutex_destroy(&t.mu);
  if (c->burst)
    wsp__gate_free(&t.gate);
  for (uint32_t i = 0; i < n && c->sub[i] != NULL; i++)
    c->sub[i]->gate = NULL; /* The gate is gone. */
  free(t.lanes);
  return rc;
}

int wsp_campaign_run(wsp_campaign *c) {
  uint32_t n;
  if (c == NULL)
    return WSP_EINVAL;
  if (c->running || c->ran)
    return wsp__fail(c->error, sizeof(c->error), WSP_ESTATE,
                     "the campaign has already been started");
  n = wsp_campaign_threads(c);
  return n > 1 ? run_threads(c, n) : run_loop(c);
}
