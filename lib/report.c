/*
 * Reports over a campaign: JSON (docs/report.md) and a human summary.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "campaign.h"
#include "report.h"
#include "report_common.h"

static cJSON *tally_json(const wsp__tally *t) {
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

/*
 * {count, min, p50, p90, p99, p999, max} in ms (nulls when empty), and the
 * histogram itself (sparse buckets, exact min and max in ns) so that
 * reports from several machines merge exactly.
 */
cJSON *wsp__hist_json(const wsp__hist *h) {
  cJSON *o = cJSON_CreateObject(), *hist, *b;
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
  hist = cJSON_AddObjectToObject(o, "histogram");
  cJSON_AddNumberToObject(hist, "min_ns", (double)h->min);
  cJSON_AddNumberToObject(hist, "max_ns", (double)h->max);
  b = cJSON_AddArrayToObject(hist, "buckets");
  for (unsigned i = 0; i < WSP__HIST_BUCKETS; i++)
    if (h->b[i]) {
      cJSON *pair = cJSON_CreateArray();
      cJSON_AddItemToArray(pair, cJSON_CreateNumber(i));
      cJSON_AddItemToArray(pair, cJSON_CreateNumber((double)h->b[i]));
      cJSON_AddItemToArray(b, pair);
    }
  return o;
}

/* Adds a histogram written by wsp__hist_json() into `h`. */
int wsp__hist_merge_json(wsp__hist *h, const cJSON *o) {
  const cJSON *hist = cJSON_GetObjectItemCaseSensitive(o, "histogram"), *pair;
  wsp__hist add;
  if (cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "count")) == 0)
    return 0;
  if (!cJSON_IsObject(hist))
    return WSP_EJSON;
  wsp__hist_init(&add);
  cJSON_ArrayForEach(pair, cJSON_GetObjectItemCaseSensitive(hist, "buckets")) {
    double i = cJSON_GetNumberValue(cJSON_GetArrayItem(pair, 0));
    double n = cJSON_GetNumberValue(cJSON_GetArrayItem(pair, 1));
    if (!(i >= 0 && i < WSP__HIST_BUCKETS) || !(n >= 0))
      return WSP_EJSON;
    add.b[(unsigned)i] += (uint64_t)n;
    add.count += (uint64_t)n;
  }
  add.min = (uint64_t)cJSON_GetNumberValue(
      cJSON_GetObjectItemCaseSensitive(hist, "min_ns"));
  add.max = (uint64_t)cJSON_GetNumberValue(
      cJSON_GetObjectItemCaseSensitive(hist, "max_ns"));
  wsp__hist_merge(h, &add);
  return 0;
}

static cJSON *outcomes_json(const uint64_t *counts, int all) {
  cJSON *o = cJSON_CreateObject();
  for (int i = 0; i < WSP_OUTCOME_COUNT; i++)
    if (all || counts[i])
      cJSON_AddNumberToObject(o, wsp_outcome_name((wsp_outcome)i),
                              (double)counts[i]);
  return o;
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
  cJSON_AddItemToObject(
      x, "duration_ms",
      c->t_end ? cJSON_CreateNumber((double)(c->t_end - c->t_start) / 1e6)
               : cJSON_CreateNull());
  cJSON_AddItemToObject(x, "dns_ms",
                        c->ai ? cJSON_CreateNumber((double)c->dns_ns / 1e6)
                              : cJSON_CreateNull());
  if (c->burst || c->mode == WSP__MODE_CONCURRENCY) {
    a = cJSON_AddObjectToObject(x, "bursts");
    cJSON_AddNumberToObject(a, "released", c->bursts);
    cJSON_AddItemToObject(a, "send_spread_ms", wsp__hist_json(&c->spread));
  }
  a = cJSON_AddObjectToObject(x, "loop_lag_ms");
  {
    cJSON *h = wsp__hist_json(&c->lag);
    cJSON_AddItemToObject(a, "samples", h);
    cJSON_AddNumberToObject(a, "threshold", c->lag_threshold_ms);
    cJSON_AddNumberToObject(a, "flagged_probes", (double)c->flagged);
  }
  if (c->mode == WSP__MODE_SWEEP) {
    size_t n;
    wsp__point *rows = wsp__points(c, &n);
    a = cJSON_AddArrayToObject(x, "sweep");
    for (size_t i = 0; rows && i < n; i++) {
      cJSON *o = cJSON_CreateObject();
      cJSON_AddNumberToObject(o, "delay_ms", rows[i].value);
      cJSON_AddNumberToObject(o, "total", (double)rows[i].total);
      cJSON_AddNumberToObject(o, "failed", (double)rows[i].failed);
      cJSON_AddNumberToObject(
          o, "failure_rate",
          rows[i].total ? (double)rows[i].failed / (double)rows[i].total : 0);
      cJSON_AddItemToObject(o, "outcomes", outcomes_json(rows[i].outcomes, 0));
      cJSON_AddItemToArray(a, o);
    }
    free(rows);
  }
  if (c->mode == WSP__MODE_WINDOW) {
    cJSON *w = cJSON_AddObjectToObject(x, "window");
    const char *conclusion = c->nevidence == 0             ? "not_run"
                             : c->evidence[0].failures > 0 ? "above_range"
                             : c->nevidence > 1 && c->evidence[1].failures == 0
                                 ? "below_range"
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
    cJSON_AddItemToObject(o, "outcomes",
                          outcomes_json(c->slices[i].outcomes, 0));
    cJSON_AddItemToArray(a, o);
  }
  return x;
}

/* One probe's object in the report. */
static cJSON *probe_json(const wsp_campaign *c, size_t i, int show_secrets) {
  const wsp_result *r = c->results[i];
  cJSON *pj = wsp__result_json(r, show_secrets);
  if (pj == NULL)
    return NULL;
  cJSON_AddNumberToObject(
      pj, "start_ms",
      r->t0 > c->t_start ? (double)(r->t0 - c->t_start) / 1e6 : 0);
  cJSON_AddNumberToObject(pj, "delay_ms", r->delay_ms);
  cJSON_AddItemToObject(pj, "loop_lag_ms",
                        r->lag_ns < 0
                            ? cJSON_CreateNull()
                            : cJSON_CreateNumber((double)r->lag_ns / 1e6));
  cJSON_AddBoolToObject(pj, "lag_flagged", r->lag_ns > 0);
  return pj;
}

/* Which probes report_tree() lists. */
enum { PROBES_ALL, PROBES_FAILED, PROBES_NONE };

/* The report as a JSON tree: the one form every other report renders. */
static cJSON *report_tree(const wsp_campaign *c, int show_secrets, int which) {
  cJSON *root, *probes, *sum, *x;
  wsp__summary s;
  char *cfg_text = NULL;
  if (wsp_config_to_json(c->cfg, show_secrets, &cfg_text) != 0)
    return NULL;
  root = cJSON_CreateObject();
  cJSON_AddStringToObject(root, "version", WSP_VERSION_STRING);
  cJSON_AddItemToObject(root, "config", cJSON_Parse(cfg_text));
  free(cfg_text);
  cJSON_AddItemToObject(root, "campaign", campaign_json(c));
  if (which != PROBES_NONE) {
    probes = cJSON_AddArrayToObject(root, "probes");
    for (size_t i = 0; i < c->nresults; i++)
      if (which == PROBES_ALL || c->results[i]->outcome != WSP_OUTCOME_OK)
        cJSON_AddItemToArray(probes, probe_json(c, i, show_secrets));
  }

  wsp__summarize(c, &s);
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
  x = cJSON_AddObjectToObject(sum, "tls_handshakes");
  cJSON_AddNumberToObject(x, "full", (double)s.tls_full);
  cJSON_AddNumberToObject(x, "resumed", (double)s.tls_resumed);
  x = cJSON_AddObjectToObject(sum, "spans_ms");
  for (int sp = 0; sp < WSP_SPAN_COUNT; sp++)
    cJSON_AddItemToObject(x, wsp_span_name((wsp_span)sp),
                          wsp__hist_json(&c->spans[sp]));
  return root;
}

int wsp_report_json(const wsp_campaign *c, int show_secrets, char **out) {
  cJSON *root;
  if (c == NULL || out == NULL)
    return WSP_EINVAL;
  if ((root = report_tree(c, show_secrets, PROBES_ALL)) == NULL)
    return WSP_ENOMEM;
  *out = cJSON_Print(root);
  cJSON_Delete(root);
  return *out ? 0 : WSP_ENOMEM;
}

static int emit(wsp_write_cb write, void *ud, const char *s) {
  return write(s, strlen(s), ud);
}

/*
 * The same document, written as it is made: a tree of every probe takes
 * about 7 KB a probe (140 MB for 20,000), one probe at a time takes one.
 * The probes come last, one per line.
 */
int wsp_report_json_write(const wsp_campaign *c, int show_secrets,
                          wsp_write_cb write, void *ud) {
  cJSON *root;
  char *head, *line;
  size_t n;
  int rc = 0;
  if (c == NULL || write == NULL)
    return WSP_EINVAL;
  if ((root = report_tree(c, show_secrets, PROBES_NONE)) == NULL)
    return WSP_ENOMEM;
  head = cJSON_Print(root);
  cJSON_Delete(root);
  if (head == NULL)
    return WSP_ENOMEM;
  /* The tree printed: "{ ... \n}"; the probes go before its brace. */
  n = strlen(head);
  while (n > 0 && head[n - 1] != '}')
    n--;
  if (n > 0)
    n--;
  while (n > 0 && head[n - 1] == '\n')
    n--;
  if (write(head, n, ud) != 0 || emit(write, ud, ",\n\t\"probes\":\t[") != 0)
    rc = WSP_EIO;
  free(head);
  for (size_t i = 0; rc == 0 && i < c->nresults; i++) {
    cJSON *pj = probe_json(c, i, show_secrets);
    line = pj ? cJSON_PrintUnformatted(pj) : NULL;
    cJSON_Delete(pj);
    if (line == NULL)
      return WSP_ENOMEM;
    if (emit(write, ud, i ? ",\n\t\t" : "\n\t\t") != 0 ||
        emit(write, ud, line) != 0)
      rc = WSP_EIO;
    free(line);
  }
  if (rc == 0 && emit(write, ud, c->nresults ? "\n\t]\n}\n" : "]\n}\n") != 0)
    rc = WSP_EIO;
  return rc;
}

/* Numbers and strings from the tree, with defaults for absent ones. */
static const cJSON *get(const cJSON *o, const char *k) {
  return cJSON_GetObjectItemCaseSensitive(o, k);
}

static double num(const cJSON *o, const char *k) {
  const cJSON *v = get(o, k);
  return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static const char *str(const cJSON *o, const char *k) {
  const char *v = cJSON_GetStringValue(get(o, k));
  return v ? v : "";
}

/* "label  1011 x20 1000 x3" from {"1011": 20, "1000": 3}. */
static void tally_text(wsp__out *b, const char *label, const cJSON *t) {
  const cJSON *it;
  wsp__out_printf(b, "%-22s", label);
  if (cJSON_GetArraySize(t) == 0)
    wsp__out_printf(b, " none");
  cJSON_ArrayForEach(it, t)
      wsp__out_printf(b, " %s x%.0f", it->string, it->valuedouble);
  wsp__out_printf(b, "\n");
}

static void failures_text(wsp__out *b, const cJSON *probes) {
  /* Failures grouped by what happened, so that a thousand identical
   * 1011s take one line and a rare different one is not drowned. */
  const cJSON *first[10], *p;
  size_t count[10], groups = 0, other = 0;
  cJSON_ArrayForEach(p, probes) {
    size_t g;
    if (cJSON_IsTrue(get(p, "passed")))
      continue;
    for (g = 0; g < groups; g++)
      if (strcmp(str(first[g], "outcome"), str(p, "outcome")) == 0 &&
          strcmp(str(first[g], "phase"), str(p, "phase")) == 0 &&
          strcmp(str(first[g], "error"), str(p, "error")) == 0)
        break;
    if (g < groups) {
      count[g]++;
    } else if (groups < 10) {
      first[groups] = p;
      count[groups++] = 1;
    } else {
      other++;
    }
  }
  if (groups > 0)
    wsp__out_printf(b, "\nfailures:\n");
  for (size_t g = 0; g < groups; g++)
    wsp__out_printf(b, "  %zux %s in %s (first #%.0f): %s\n", count[g],
                    str(first[g], "outcome"), str(first[g], "phase"),
                    num(first[g], "index"), str(first[g], "error"));
  if (other > 0)
    wsp__out_printf(b, "  %zu more failures of other kinds (see --json)\n",
                    other);
}

static void campaign_text(wsp__out *b, const cJSON *camp) {
  const cJSON *x, *it;
  if ((x = get(camp, "sweep")) != NULL) {
    wsp__out_printf(b, "\n%-10s %8s %8s %8s  %s\n", "delay ms", "probes",
                    "failed", "rate", "outcomes");
    cJSON_ArrayForEach(it, x) {
      const cJSON *o;
      const char *sep = "";
      wsp__out_printf(b, "  %-8.0f %8.0f %8.0f %7.1f%%  ", num(it, "delay_ms"),
                      num(it, "total"), num(it, "failed"),
                      100.0 * num(it, "failure_rate"));
      cJSON_ArrayForEach(o, get(it, "outcomes")) {
        wsp__out_printf(b, "%s%s %.0f", sep, o->string, o->valuedouble);
        sep = ", ";
      }
      wsp__out_printf(b, "\n");
    }
  }
  if ((x = get(camp, "window")) != NULL) {
    const char *concl = str(x, "conclusion");
    wsp__out_printf(b, "\nrace window search (%.0f probes per point):\n",
                    num(x, "trials"));
    cJSON_ArrayForEach(it, get(x, "evidence")) wsp__out_printf(
        b, "  delay %6.0f ms: %.0f of %.0f failed\n", num(it, "delay_ms"),
        num(it, "failures"), num(it, "trials"));
    if (strcmp(concl, "above_range") == 0)
      wsp__out_printf(b, "  failures even at %.0f ms: the window is longer\n",
                      num(x, "hi_ms"));
    else if (strcmp(concl, "below_range") == 0)
      wsp__out_printf(b, "  no failures at %.0f ms: no window at or above it\n",
                      num(x, "lo_ms"));
    else if (strcmp(concl, "bounded") == 0)
      wsp__out_printf(
          b, "  failures stop between %.0f and %.0f ms (%.0f probes)\n",
          num(get(x, "estimate"), "from_ms"), num(get(x, "estimate"), "to_ms"),
          num(x, "probes_spent"));
  }
  if ((x = get(camp, "concurrency_sweep")) != NULL) {
    wsp__out_printf(b, "\nconcurrency sweep:\n");
    cJSON_ArrayForEach(it, get(x, "levels"))
        wsp__out_printf(b, "  %6.0f connections: %.0f failed\n",
                        num(it, "level"), num(it, "failed"));
    if (cJSON_IsNumber(get(x, "first_failing_level")))
      wsp__out_printf(b, "  failures start at %.0f simultaneous connections\n",
                      num(x, "first_failing_level"));
    else
      wsp__out_printf(b, "  no failures at any level\n");
  }
  if ((x = get(camp, "bursts")) != NULL && num(x, "released") > 0)
    wsp__out_printf(
        b, "\nbursts: %.0f released, send spread p50 %.3f ms, max %.3f ms\n",
        num(x, "released"), num(get(x, "send_spread_ms"), "p50"),
        num(get(x, "send_spread_ms"), "max"));
  if ((x = get(camp, "loop_lag_ms")) != NULL &&
      num(get(x, "samples"), "count") > 0) {
    wsp__out_printf(b, "loop lag: p99 %.3f ms, max %.3f ms%s\n",
                    num(get(x, "samples"), "p99"),
                    num(get(x, "samples"), "max"),
                    num(x, "flagged_probes") > 0 ? "" : " (no probe affected)");
    if (num(x, "flagged_probes") > 0)
      wsp__out_printf(
          b,
          "WARNING: %.0f probe(s) ran while the prober's own loop was "
          "more than %.0f ms late; their timings are suspect\n",
          num(x, "flagged_probes"), num(x, "threshold"));
  }
  if (cJSON_IsArray(get(camp, "seeds"))) {
    wsp__out_printf(b, "seeds:");
    cJSON_ArrayForEach(it, get(camp, "seeds"))
        wsp__out_printf(b, " %.0f", it->valuedouble);
    wsp__out_printf(b, "\n");
  } else if (cJSON_IsNumber(get(camp, "seed"))) {
    wsp__out_printf(b, "seed: %.0f\n", num(camp, "seed"));
  }
}

int wsp__report_text_tree(const cJSON *root, char **out) {
  wsp__out b = {0};
  const cJSON *sum = get(root, "summary"), *camp = get(root, "campaign");
  const cJSON *it, *x;
  double total = num(sum, "total"), passed = num(sum, "passed");
  wsp__out_printf(&b, "wsprobe %s: %.0f probe%s of %s (concurrency %.0f",
                  str(root, "version"), total, total == 1 ? "" : "s",
                  str(get(root, "config"), "url"), num(camp, "concurrency"));
  if (num(camp, "merged_from") > 1)
    wsp__out_printf(&b, ", merged from %.0f reports", num(camp, "merged_from"));
  wsp__out_printf(&b, ")\nresult: %s, %.0f of %.0f passed\n\n",
                  passed == total && total > 0 ? "PASS" : "FAIL", passed,
                  total);
  wsp__out_printf(&b, "%-22s %8s  %s\n", "outcome", "count", "phase");
  cJSON_ArrayForEach(it, get(sum, "outcomes")) {
    const cJSON *ph;
    const char *sep = "";
    if (it->valuedouble == 0)
      continue;
    wsp__out_printf(&b, "  %-20s %8.0f  ", it->string, it->valuedouble);
    cJSON_ArrayForEach(ph, get(get(sum, "outcome_phases"), it->string)) {
      wsp__out_printf(&b, "%s%s", sep, ph->string);
      if (ph->valuedouble != it->valuedouble)
        wsp__out_printf(&b, " (%.0f)", ph->valuedouble);
      sep = ", ";
    }
    wsp__out_printf(&b, "\n");
  }
  wsp__out_printf(&b, "\n");
  tally_text(&b, "http statuses:", get(sum, "http_statuses"));
  tally_text(&b, "close codes received:", get(sum, "close_codes"));
  tally_text(&b, "close codes sent:", get(sum, "close_codes_sent"));
  if ((x = get(sum, "tls_handshakes")) != NULL &&
      num(x, "full") + num(x, "resumed") > 0)
    wsp__out_printf(&b, "%-22s %.0f full, %.0f resumed\n",
                    "tls handshakes:", num(x, "full"), num(x, "resumed"));
  wsp__out_printf(&b, "\n%-14s %8s %10s %10s %10s  (ms)\n", "span", "count",
                  "p50", "p99", "max");
  cJSON_ArrayForEach(it, get(sum, "spans_ms")) {
    if (num(it, "count") == 0)
      continue;
    wsp__out_printf(&b, "  %-12s %8.0f %10.3f %10.3f %10.3f\n", it->string,
                    num(it, "count"), num(it, "p50"), num(it, "p99"),
                    num(it, "max"));
  }
  campaign_text(&b, camp);
  failures_text(&b, get(root, "probes"));
  return wsp__out_finish(&b, out);
}

int wsp_report_text(const wsp_campaign *c, char **out) {
  cJSON *root;
  int rc;
  if (c == NULL || out == NULL)
    return WSP_EINVAL;
  if ((root = report_tree(c, 0, PROBES_FAILED)) == NULL)
    return WSP_ENOMEM;
  rc = wsp__report_text_tree(root, out);
  cJSON_Delete(root);
  return rc;
}
