/*
 * Reports over a campaign: JSON (docs/report.md) and a human summary.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "campaign.h"

/* Counts per small integer key (close codes, HTTP statuses). */
typedef struct {
  int key[64];        /* Distinct keys, in order of first appearance. */
  uint64_t n[64];     /* Their counts. */
  size_t len;         /* Keys in use. */
  uint64_t other;     /* Counts of keys beyond the first 64. */
} tally;

static void tally_add(tally *t, int key) {
  for (size_t i = 0; i < t->len; i++)
    if (t->key[i] == key) {
      t->n[i]++;
      return;
    }
  if (t->len == WSP__ARRAY_SIZE(t->key)) {
    t->other++;
    return;
  }
  t->key[t->len] = key;
  t->n[t->len++] = 1;
}

static int cmp_key(const void *a, const void *b) {
  return *(const int *)a - *(const int *)b;
}

/* Sorts by key, keeping counts with their keys. */
static void tally_sort(tally *t) {
  struct {
    int key;
    uint64_t n;
  } tmp[64];
  for (size_t i = 0; i < t->len; i++) {
    tmp[i].key = t->key[i];
    tmp[i].n = t->n[i];
  }
  qsort(tmp, t->len, sizeof(tmp[0]), cmp_key);
  for (size_t i = 0; i < t->len; i++) {
    t->key[i] = tmp[i].key;
    t->n[i] = tmp[i].n;
  }
}

/* Everything both report forms show. */
typedef struct {
  uint64_t outcomes[WSP_OUTCOME_COUNT];               /* Per outcome. */
  uint64_t phases[WSP_OUTCOME_COUNT][WSP_PHASE_COUNT]; /* Per phase. */
  tally close_recv;                                   /* Codes received. */
  tally close_sent;                                   /* Codes sent. */
  tally http;                                         /* Statuses. */
} summary;

static void summarize(const wsp_campaign *c, summary *s) {
  memset(s, 0, sizeof(*s));
  for (size_t i = 0; i < c->nresults; i++) {
    const wsp_result *r = c->results[i];
    s->outcomes[r->outcome]++;
    s->phases[r->outcome][r->phase]++;
    if (r->close_recv.code >= 0)
      tally_add(&s->close_recv, r->close_recv.code);
    if (r->close_sent.code >= 0)
      tally_add(&s->close_sent, r->close_sent.code);
    if (r->http_status)
      tally_add(&s->http, r->http_status);
  }
  tally_sort(&s->close_recv);
  tally_sort(&s->close_sent);
  tally_sort(&s->http);
}

static cJSON *tally_json(const tally *t) {
  cJSON *o = cJSON_CreateObject();
  char k[16];
  for (size_t i = 0; i < t->len; i++) {
    snprintf(k, sizeof(k), "%d", t->key[i]);
    cJSON_AddNumberToObject(o, k, (double)t->n[i]);
  }
  if (t->other)
    cJSON_AddNumberToObject(o, "other", (double)t->other);
  return o;
}

static const double quantiles[] = {0.5, 0.9, 0.99, 0.999};
static const char *const quantile_names[] = {"p50", "p90", "p99", "p999"};

/* {count, min, p50, p90, p99, p999, max} in ms, nulls when empty. */
static cJSON *hist_json(const wsp__hist *h) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "count", (double)h->count);
  if (h->count == 0) {
    cJSON_AddNullToObject(o, "min");
    for (size_t q = 0; q < WSP__ARRAY_SIZE(quantiles); q++)
      cJSON_AddNullToObject(o, quantile_names[q]);
    cJSON_AddNullToObject(o, "max");
    return o;
  }
  cJSON_AddNumberToObject(o, "min", (double)h->min / 1e6);
  for (size_t q = 0; q < WSP__ARRAY_SIZE(quantiles); q++)
    cJSON_AddNumberToObject(o, quantile_names[q],
                            (double)wsp__hist_quantile(h, quantiles[q]) / 1e6);
  cJSON_AddNumberToObject(o, "max", (double)h->max / 1e6);
  return o;
}

static cJSON *outcomes_json(const uint64_t *counts, int all) {
  cJSON *o = cJSON_CreateObject();
  for (int i = 0; i < WSP_OUTCOME_COUNT; i++)
    if (all || counts[i])
      cJSON_AddNumberToObject(o, wsp_outcome_name((wsp_outcome)i),
                              (double)counts[i]);
  return o;
}

/* Results grouped by first-message delay, for sweeps. */
typedef struct {
  uint32_t delay;                        /* The delay, ms. */
  uint64_t total;                        /* Probes. */
  uint64_t failed;                       /* Not ok. */
  uint64_t outcomes[WSP_OUTCOME_COUNT];  /* Per outcome. */
} delay_row;

static delay_row *by_delay(const wsp_campaign *c, size_t *n) {
  delay_row *rows = calloc(c->ndelays ? c->ndelays : 1, sizeof(*rows));
  *n = 0;
  if (rows == NULL || c->mode != WSP__MODE_SWEEP)
    return rows;
  for (size_t i = 0; i < c->ndelays; i++)
    rows[i].delay = c->delays[i];
  *n = c->ndelays;
  for (size_t i = 0; i < c->nresults; i++) {
    const wsp_result *r = c->results[i];
    size_t d = r->index / c->per_delay;
    if (d >= c->ndelays)
      continue;
    rows[d].total++;
    rows[d].failed += r->outcome != WSP_OUTCOME_OK;
    rows[d].outcomes[r->outcome]++;
  }
  return rows;
}

static const char *const mode_names[] = {"plain", "sweep", "window",
                                         "concurrency"};

static cJSON *campaign_json(const wsp_campaign *c) {
  cJSON *x = cJSON_CreateObject(), *a;
  cJSON_AddStringToObject(x, "mode", mode_names[c->mode]);
  cJSON_AddNumberToObject(x, "count", c->nresults);
  cJSON_AddNumberToObject(x, "concurrency", c->concurrency);
  cJSON_AddBoolToObject(x, "burst", c->burst);
  if (c->rate > 0)
    cJSON_AddNumberToObject(x, "rate", c->rate);
  else
    cJSON_AddNullToObject(x, "rate");
  cJSON_AddNumberToObject(x, "seed", (double)c->seed);
  cJSON_AddNumberToObject(x, "jitter_ms", c->jitter_ms);
  a = cJSON_AddObjectToObject(x, "shard");
  cJSON_AddNumberToObject(a, "index", c->shard);
  cJSON_AddNumberToObject(a, "count", c->shards);
  cJSON_AddItemToObject(x, "duration_ms",
                        c->t_end ? cJSON_CreateNumber(
                                       (double)(c->t_end - c->t_start) / 1e6)
                                 : cJSON_CreateNull());
  cJSON_AddItemToObject(x, "dns_ms", c->ai ? cJSON_CreateNumber(
                                                 (double)c->dns_ns / 1e6)
                                           : cJSON_CreateNull());
  if (c->burst || c->mode == WSP__MODE_CONCURRENCY) {
    a = cJSON_AddObjectToObject(x, "bursts");
    cJSON_AddNumberToObject(a, "released", c->bursts);
    cJSON_AddItemToObject(a, "send_spread_ms", hist_json(&c->spread));
  }
  a = cJSON_AddObjectToObject(x, "loop_lag_ms");
  {
    cJSON *h = hist_json(&c->lag);
    cJSON_AddItemToObject(a, "samples", h);
    cJSON_AddNumberToObject(a, "threshold", c->lag_threshold_ms);
    cJSON_AddNumberToObject(a, "flagged_probes", (double)c->flagged);
  }
  if (c->mode == WSP__MODE_SWEEP) {
    size_t n;
    delay_row *rows = by_delay(c, &n);
    a = cJSON_AddArrayToObject(x, "sweep");
    for (size_t i = 0; rows && i < n; i++) {
      cJSON *o = cJSON_CreateObject();
      cJSON_AddNumberToObject(o, "delay_ms", rows[i].delay);
      cJSON_AddNumberToObject(o, "total", (double)rows[i].total);
      cJSON_AddNumberToObject(o, "failed", (double)rows[i].failed);
      cJSON_AddNumberToObject(o, "failure_rate",
                              rows[i].total ? (double)rows[i].failed /
                                                  (double)rows[i].total
                                            : 0);
      cJSON_AddItemToObject(o, "outcomes", outcomes_json(rows[i].outcomes, 0));
      cJSON_AddItemToArray(a, o);
    }
    free(rows);
  }
  if (c->mode == WSP__MODE_WINDOW) {
    cJSON *w = cJSON_AddObjectToObject(x, "window");
    const char *conclusion =
        c->nevidence == 0 ? "not_run"
        : c->evidence[0].failures > 0 ? "above_range"
        : c->nevidence > 1 && c->evidence[1].failures == 0 ? "below_range"
                                                           : "bounded";
    cJSON_AddNumberToObject(w, "lo_ms", c->win_lo);
    cJSON_AddNumberToObject(w, "hi_ms", c->win_hi);
    cJSON_AddNumberToObject(w, "resolution_ms", c->win_res);
    cJSON_AddNumberToObject(w, "trials", c->win_trials);
    cJSON_AddStringToObject(w, "conclusion", conclusion);
    if (strcmp(conclusion, "bounded") == 0) {
      cJSON *e = cJSON_AddObjectToObject(w, "estimate");
      cJSON_AddNumberToObject(e, "from_ms", c->cur_lo);
      cJSON_AddNumberToObject(e, "to_ms", c->cur_hi);
    } else {
      cJSON_AddNullToObject(w, "estimate");
    }
    a = cJSON_AddArrayToObject(w, "evidence");
    for (size_t i = 0; i < c->nevidence; i++) {
      cJSON *o = cJSON_CreateObject();
      cJSON_AddNumberToObject(o, "delay_ms", c->evidence[i].delay_ms);
      cJSON_AddNumberToObject(o, "trials", c->evidence[i].trials);
      cJSON_AddNumberToObject(o, "failures", c->evidence[i].failures);
      cJSON_AddItemToArray(a, o);
    }
    cJSON_AddNumberToObject(w, "probes_spent", c->nresults);
  }
  if (c->mode == WSP__MODE_CONCURRENCY) {
    cJSON *l = cJSON_AddObjectToObject(x, "concurrency_sweep");
    int first = -1;
    a = cJSON_AddArrayToObject(l, "levels");
    for (size_t i = 0; i < c->nlevels; i++) {
      cJSON *o = cJSON_CreateObject();
      cJSON_AddNumberToObject(o, "level", c->levels[i].level);
      cJSON_AddNumberToObject(o, "failed", c->levels[i].failures);
      cJSON_AddItemToObject(o, "outcomes",
                            outcomes_json(c->levels[i].outcomes, 0));
      cJSON_AddItemToArray(a, o);
      if (first < 0 && c->levels[i].failures > 0)
        first = (int)c->levels[i].level;
    }
    cJSON_AddItemToObject(l, "first_failing_level",
                          first < 0 ? cJSON_CreateNull()
                                    : cJSON_CreateNumber(first));
  }
  cJSON_AddNumberToObject(x, "slice_ms", c->slice_ms);
  a = cJSON_AddArrayToObject(x, "time_slices");
  for (size_t i = 0; i < c->nslices; i++) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "t_ms", (double)i * c->slice_ms);
    cJSON_AddItemToObject(o, "outcomes", outcomes_json(c->slices[i].outcomes,
                                                       0));
    cJSON_AddItemToArray(a, o);
  }
  return x;
}

int wsp_report_json(const wsp_campaign *c, int show_secrets, char **out) {
  cJSON *root, *probes, *sum, *x;
  summary s;
  char *cfg_text = NULL;
  int rc;
  if (c == NULL || out == NULL)
    return WSP_EINVAL;
  if ((rc = wsp_config_to_json(c->cfg, show_secrets, &cfg_text)) != 0)
    return rc;
  root = cJSON_CreateObject();
  cJSON_AddStringToObject(root, "version", WSP_VERSION_STRING);
  cJSON_AddItemToObject(root, "config", cJSON_Parse(cfg_text));
  free(cfg_text);
  cJSON_AddItemToObject(root, "campaign", campaign_json(c));
  probes = cJSON_AddArrayToObject(root, "probes");
  for (size_t i = 0; i < c->nresults; i++) {
    cJSON *pj = wsp__result_json(c->results[i], show_secrets);
    cJSON_AddNumberToObject(pj, "start_ms",
                            c->results[i]->t0 > c->t_start
                                ? (double)(c->results[i]->t0 - c->t_start) /
                                      1e6
                                : 0);
    cJSON_AddNumberToObject(pj, "delay_ms", c->results[i]->delay_ms);
    cJSON_AddItemToObject(pj, "loop_lag_ms",
                          c->results[i]->lag_ns < 0
                              ? cJSON_CreateNull()
                              : cJSON_CreateNumber(
                                    (double)c->results[i]->lag_ns / 1e6));
    cJSON_AddBoolToObject(pj, "lag_flagged", c->results[i]->lag_ns > 0);
    cJSON_AddItemToArray(probes, pj);
  }

  summarize(c, &s);
  sum = cJSON_AddObjectToObject(root, "summary");
  cJSON_AddNumberToObject(sum, "total", (double)c->nresults);
  cJSON_AddNumberToObject(sum, "passed", (double)c->passed);
  cJSON_AddNumberToObject(sum, "failed", (double)(c->nresults - c->passed));
  x = cJSON_AddObjectToObject(sum, "outcomes");
  for (int o = 0; o < WSP_OUTCOME_COUNT; o++)
    cJSON_AddNumberToObject(x, wsp_outcome_name((wsp_outcome)o),
                            (double)s.outcomes[o]);
  x = cJSON_AddObjectToObject(sum, "outcome_phases");
  for (int o = 0; o < WSP_OUTCOME_COUNT; o++) {
    cJSON *ph;
    if (s.outcomes[o] == 0)
      continue;
    ph = cJSON_AddObjectToObject(x, wsp_outcome_name((wsp_outcome)o));
    for (int p = 0; p < WSP_PHASE_COUNT; p++)
      if (s.phases[o][p])
        cJSON_AddNumberToObject(ph, wsp_phase_name((wsp_phase)p),
                                (double)s.phases[o][p]);
  }
  cJSON_AddItemToObject(sum, "close_codes", tally_json(&s.close_recv));
  cJSON_AddItemToObject(sum, "close_codes_sent", tally_json(&s.close_sent));
  cJSON_AddItemToObject(sum, "http_statuses", tally_json(&s.http));
  x = cJSON_AddObjectToObject(sum, "spans_ms");
  for (int sp = 0; sp < WSP_SPAN_COUNT; sp++)
    cJSON_AddItemToObject(x, wsp_span_name((wsp_span)sp),
                          hist_json(&c->spans[sp]));
  *out = cJSON_Print(root);
  cJSON_Delete(root);
  return *out ? 0 : WSP_ENOMEM;
}

/* A growable text buffer; on allocation failure it stays failed. */
typedef struct {
  char *p;     /* Text so far. */
  size_t len;  /* Its length. */
  size_t cap;  /* Allocated. */
  int failed;  /* An allocation failed. */
} tbuf;

static void tprintf(tbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void tprintf(tbuf *b, const char *fmt, ...) {
  va_list ap;
  int n;
  if (b->failed)
    return;
  for (;;) {
    va_start(ap, fmt);
    n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0,
                  fmt, ap);
    va_end(ap);
    if (n < 0) {
      b->failed = 1;
      return;
    }
    if (b->p && (size_t)n < b->cap - b->len) {
      b->len += (size_t)n;
      return;
    }
    size_t cap = b->cap ? b->cap * 2 : 1024;
    while (cap < b->len + (size_t)n + 1)
      cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL) {
      b->failed = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
}

static void tally_text(tbuf *b, const char *label, const tally *t) {
  tprintf(b, "%-22s", label);
  if (t->len == 0)
    tprintf(b, " none");
  for (size_t i = 0; i < t->len; i++)
    tprintf(b, " %d x%llu", t->key[i], (unsigned long long)t->n[i]);
  tprintf(b, "\n");
}

int wsp_report_text(const wsp_campaign *c, char **out) {
  tbuf b = {0};
  summary s;
  if (c == NULL || out == NULL)
    return WSP_EINVAL;
  summarize(c, &s);
  tprintf(&b, "wsprobe %s: %zu probe%s of %s (concurrency %u)\n",
          WSP_VERSION_STRING, c->nresults, c->nresults == 1 ? "" : "s",
          c->cfg->url_text, c->concurrency);
  tprintf(&b, "result: %s, %zu of %zu passed\n\n",
          c->passed == c->nresults && c->nresults > 0 ? "PASS" : "FAIL",
          c->passed, c->nresults);
  tprintf(&b, "%-22s %8s  %s\n", "outcome", "count", "phase");
  for (int o = 0; o < WSP_OUTCOME_COUNT; o++) {
    const char *sep = "";
    if (s.outcomes[o] == 0)
      continue;
    tprintf(&b, "  %-20s %8llu  ", wsp_outcome_name((wsp_outcome)o),
            (unsigned long long)s.outcomes[o]);
    for (int p = 0; p < WSP_PHASE_COUNT; p++) {
      if (s.phases[o][p] == 0)
        continue;
      tprintf(&b, "%s%s", sep, wsp_phase_name((wsp_phase)p));
      if (s.phases[o][p] != s.outcomes[o])
        tprintf(&b, " (%llu)", (unsigned long long)s.phases[o][p]);
      sep = ", ";
    }
    tprintf(&b, "\n");
  }
  tprintf(&b, "\n");
  tally_text(&b, "http statuses:", &s.http);
  tally_text(&b, "close codes received:", &s.close_recv);
  tally_text(&b, "close codes sent:", &s.close_sent);
  tprintf(&b, "\n%-14s %8s %10s %10s %10s  (ms)\n", "span", "count", "p50",
          "p99", "max");
  for (int sp = 0; sp < WSP_SPAN_COUNT; sp++) {
    const wsp__hist *h = &c->spans[sp];
    if (h->count == 0)
      continue;
    tprintf(&b, "  %-12s %8llu %10.3f %10.3f %10.3f\n",
            wsp_span_name((wsp_span)sp), (unsigned long long)h->count,
            (double)wsp__hist_quantile(h, 0.5) / 1e6,
            (double)wsp__hist_quantile(h, 0.99) / 1e6, (double)h->max / 1e6);
  }
  if (c->mode == WSP__MODE_SWEEP) {
    size_t n;
    delay_row *rows = by_delay(c, &n);
    tprintf(&b, "\n%-10s %8s %8s %8s  %s\n", "delay ms", "probes", "failed",
            "rate", "outcomes");
    for (size_t i = 0; rows && i < n; i++) {
      const char *sep = "";
      tprintf(&b, "  %-8u %8llu %8llu %7.1f%%  ", rows[i].delay,
              (unsigned long long)rows[i].total,
              (unsigned long long)rows[i].failed,
              rows[i].total ? 100.0 * (double)rows[i].failed /
                                  (double)rows[i].total
                            : 0.0);
      for (int o = 0; o < WSP_OUTCOME_COUNT; o++)
        if (rows[i].outcomes[o]) {
          tprintf(&b, "%s%s %llu", sep, wsp_outcome_name((wsp_outcome)o),
                  (unsigned long long)rows[i].outcomes[o]);
          sep = ", ";
        }
      tprintf(&b, "\n");
    }
    free(rows);
  }
  if (c->mode == WSP__MODE_WINDOW) {
    tprintf(&b, "\nrace window search (%u probes per point):\n",
            c->win_trials);
    for (size_t i = 0; i < c->nevidence; i++)
      tprintf(&b, "  delay %6u ms: %u of %u failed\n",
              c->evidence[i].delay_ms, c->evidence[i].failures,
              c->evidence[i].trials);
    if (c->nevidence > 0 && c->evidence[0].failures > 0)
      tprintf(&b, "  failures even at %u ms: the window is longer\n",
              c->win_hi);
    else if (c->nevidence > 1 && c->evidence[1].failures == 0)
      tprintf(&b, "  no failures at %u ms: no window at or above it\n",
              c->win_lo);
    else if (c->nevidence > 1)
      tprintf(&b, "  failures stop between %u and %u ms (%zu probes)\n",
              c->cur_lo, c->cur_hi, c->nresults);
  }
  if (c->mode == WSP__MODE_CONCURRENCY) {
    int first = -1;
    tprintf(&b, "\nconcurrency sweep:\n");
    for (size_t i = 0; i < c->nlevels; i++) {
      tprintf(&b, "  %6u connections: %u failed\n", c->levels[i].level,
              c->levels[i].failures);
      if (first < 0 && c->levels[i].failures > 0)
        first = (int)c->levels[i].level;
    }
    if (first > 0)
      tprintf(&b, "  failures start at %d simultaneous connections\n",
              first);
    else
      tprintf(&b, "  no failures up to %u connections\n", c->max_level);
  }
  if (c->bursts > 0)
    tprintf(&b, "\nbursts: %u released, send spread p50 %.3f ms, max %.3f "
                "ms\n",
            c->bursts, (double)wsp__hist_quantile(&c->spread, 0.5) / 1e6,
            (double)c->spread.max / 1e6);
  if (c->lag.count > 0)
    tprintf(&b, "loop lag: p99 %.3f ms, max %.3f ms%s\n",
            (double)wsp__hist_quantile(&c->lag, 0.99) / 1e6,
            (double)c->lag.max / 1e6,
            c->flagged ? "" : " (no probe affected)");
  if (c->flagged)
    tprintf(&b, "WARNING: %llu probe(s) ran while the prober's own loop was "
                "more than %u ms late; their timings are suspect\n",
            (unsigned long long)c->flagged, c->lag_threshold_ms);
  tprintf(&b, "seed: %llu\n", (unsigned long long)c->seed);
  {
    /* Failures grouped by what happened, so that a thousand identical
     * 1011s take one line and a rare different one is not drowned. */
    const wsp_result *first[10];
    size_t count[10], groups = 0, other = 0;
    for (size_t i = 0; i < c->nresults; i++) {
      const wsp_result *r = c->results[i];
      size_t g;
      if (r->outcome == WSP_OUTCOME_OK)
        continue;
      for (g = 0; g < groups; g++)
        if (first[g]->outcome == r->outcome && first[g]->phase == r->phase &&
            ((first[g]->error == NULL && r->error == NULL) ||
             (first[g]->error && r->error &&
              strcmp(first[g]->error, r->error) == 0)))
          break;
      if (g < groups) {
        count[g]++;
      } else if (groups < 10) {
        first[groups] = r;
        count[groups++] = 1;
      } else {
        other++;
      }
    }
    if (groups > 0)
      tprintf(&b, "\nfailures:\n");
    for (size_t g = 0; g < groups; g++)
      tprintf(&b, "  %zux %s in %s (first #%u): %s\n", count[g],
              wsp_outcome_name(first[g]->outcome),
              wsp_phase_name(first[g]->phase), first[g]->index,
              first[g]->error ? first[g]->error : "");
    if (other > 0)
      tprintf(&b, "  %zu more failures of other kinds (see --json)\n", other);
  }
  if (b.failed) {
    free(b.p);
    return WSP_ENOMEM;
  }
  *out = b.p;
  return 0;
}
