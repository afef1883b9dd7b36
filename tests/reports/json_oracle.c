/*
 * The oracle of the JSON report: the cJSON-tree writer the library used
 * before it wrote JSON directly (lib/report.c and lib/result.c of
 * 2026-11-28), kept here so that tests/test_reports.c can hold the direct
 * writer to it byte for byte.
 *
 * It differs from that writer only where the report itself changed on
 * purpose, each place marked "Changed:" below: the campaign's
 * "fingerprint", "duration_limit_ms", a sweep's "per_delay" and a
 * concurrency sweep's "max_level" were added (a merge needs them), and
 * the seed is written as exact digits (cJSON's "%1.15g" rounded about one
 * seed in ten above 10^15, and a seed must repeat a run exactly), and
 * "dns_ms" is written for finished campaigns (it was always null). Since
 * the core measures what happened: close reasons and bodies keep every
 * byte (a NUL as \u0000; a body that is not UTF-8 as "http_body_hex"),
 * what a server sent has the config's secrets redacted unless they are
 * shown, each probe says "delay_achieved_ms" beside its "delay_ms", the
 * campaign "planned" and "interrupted", and the window search the delays
 * its points achieved. The shard says where it came from, and the
 * campaign when it started, how late for --start-at, and how far the
 * clock can be trusted. A campaign run on several threads has
 * "threads", its loops' figures.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "json_oracle.h"
#include "report_common.h"

/* ---- the result (lib/result.c) ---- */

static cJSON *ms_or_null(int64_t ns) {
  return ns < 0 ? cJSON_CreateNull() : cJSON_CreateNumber((double)ns / 1e6);
}

static cJSON *str_or_null(const char *s) {
  return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

/* The secrets of the campaign being written, or none when shown. */
static wsp__secrets secrets;

/*
 * Changed: n bytes a server sent with every secret replaced by
 * "<redacted>", into a fresh buffer (NUL-terminated) of *len bytes.
 */
static char *scrubbed(const char *s, size_t n, size_t *len) {
  char *out = malloc(n * 10 + 1);
  size_t k = 0;
  for (size_t i = 0; out != NULL && i < n;) {
    size_t hit = 0;
    for (size_t j = 0; j < secrets.n && hit == 0; j++)
      if (secrets.len[j] <= n - i &&
          memcmp(s + i, secrets.s[j], secrets.len[j]) == 0)
        hit = secrets.len[j];
    if (hit > 0) {
      memcpy(out + k, "<redacted>", 10);
      k += 10;
      i += hit;
    } else {
      out[k++] = s[i++];
    }
  }
  if (out != NULL)
    out[k] = '\0';
  *len = k;
  return out;
}

/* A string a server sent (or quoted), its secrets redacted. */
static cJSON *said_or_null(const char *s) {
  size_t n;
  char *t;
  cJSON *item;
  if (s == NULL)
    return cJSON_CreateNull();
  t = scrubbed(s, strlen(s), &n);
  item = cJSON_CreateString(t);
  free(t);
  return item;
}

/*
 * Changed: bytes as a JSON string, every one kept. cJSON strings end at a
 * NUL: the NUL-free runs are printed by cJSON and joined with \u0000.
 */
static cJSON *bytes_json(const char *s, size_t n) {
  char *out = malloc(n * 6 + 3), *run = malloc(n + 1);
  size_t k = 0, i = 0;
  cJSON *item = NULL;
  if (out == NULL || run == NULL)
    goto done;
  out[k++] = '"';
  for (;;) {
    size_t m = 0;
    char *text;
    cJSON *part;
    while (i < n && s[i] != '\0')
      run[m++] = s[i++];
    run[m] = '\0';
    part = cJSON_CreateString(run);
    text = cJSON_PrintUnformatted(part);
    cJSON_Delete(part);
    if (text == NULL)
      goto done;
    memcpy(out + k, text + 1, strlen(text) - 2);
    k += strlen(text) - 2;
    free(text);
    if (i == n)
      break;
    memcpy(out + k, "\\u0000", 6);
    k += 6;
    i++;
  }
  out[k++] = '"';
  out[k] = '\0';
  item = cJSON_CreateRaw(out);
done:
  free(out);
  free(run);
  return item;
}

/* Bytes a server sent under `key`, redacted, or their hex under `hex_key`
 * when they are not UTF-8. */
static void add_said_bytes(cJSON *o, const char *key, const char *hex_key,
                           const char *s, size_t n) {
  size_t len;
  char *t = scrubbed(s, n, &len);
  if (wsp__utf8_valid((const uint8_t *)t, len)) {
    cJSON_AddItemToObject(o, key, bytes_json(t, len));
  } else {
    char *hex = malloc(2 * len + 1);
    for (size_t i = 0; i < len; i++)
      snprintf(hex + 2 * i, 3, "%02x", (unsigned char)t[i]);
    hex[2 * len] = '\0';
    cJSON_AddNullToObject(o, key);
    cJSON_AddStringToObject(o, hex_key, hex);
    free(hex);
  }
  free(t);
}

static cJSON *close_json(const wsp__close *c) {
  cJSON *o;
  if (c->code < 0)
    return cJSON_CreateNull();
  o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "code", c->code);
  add_said_bytes(o, "reason", "reason_hex", c->reason, c->reason_len);
  return o;
}

static cJSON *result_json(const wsp_result *r, int show_secrets) {
  cJSON *o = cJSON_CreateObject(), *x;
  cJSON_AddNumberToObject(o, "index", r->index);
  cJSON_AddStringToObject(o, "outcome", wsp_outcome_name(r->outcome));
  cJSON_AddStringToObject(o, "phase", wsp_phase_name(r->phase));
  cJSON_AddBoolToObject(o, "passed", r->outcome == WSP_OUTCOME_OK);
  cJSON_AddItemToObject(o, "http_status",
                        r->http_status ? cJSON_CreateNumber(r->http_status)
                                       : cJSON_CreateNull());
  cJSON_AddItemToObject(o, "http_reason", said_or_null(r->http_reason));
  x = cJSON_AddObjectToObject(o, "http_headers");
  cJSON_AddItemToObject(x, "retry-after", said_or_null(r->retry_after));
  cJSON_AddItemToObject(x, "content-type", said_or_null(r->content_type));
  if (r->body_len > 0)
    add_said_bytes(o, "http_body", "http_body_hex", (const char *)r->body,
                   r->body_len);
  else
    cJSON_AddNullToObject(o, "http_body");
  cJSON_AddItemToObject(
      o, "subprotocol",
      str_or_null(r->redact_subprotocol
                      ? wsp__redact_subprotocol(r->subprotocol, show_secrets)
                      : r->subprotocol));
  if (r->extensions != NULL)
    cJSON_AddStringToObject(o, "extensions", r->extensions);
  cJSON_AddItemToObject(o, "peer", str_or_null(wsp_result_peer(r)));
  if (r->nrec > 0) {
    x = cJSON_AddObjectToObject(o, "recorded_headers");
    for (size_t i = 0; i < r->nrec; i++)
      cJSON_AddItemToObject(x, r->rec[2 * i], said_or_null(r->rec[2 * i + 1]));
  }
  if (r->tls_version != NULL) {
    x = cJSON_AddObjectToObject(o, "tls");
    cJSON_AddStringToObject(x, "version", r->tls_version);
    cJSON_AddItemToObject(x, "cipher", str_or_null(r->tls_cipher));
    cJSON_AddItemToObject(x, "alpn", str_or_null(r->tls_alpn));
    cJSON_AddBoolToObject(x, "verified", r->tls_verified);
    cJSON_AddBoolToObject(x, "close_notify", r->tls_close_notify);
    cJSON_AddBoolToObject(x, "resumed", r->tls_resumed);
    cJSON_AddItemToObject(x, "group", str_or_null(r->tls_group));
  } else {
    cJSON_AddNullToObject(o, "tls");
  }
  if (r->proxy_status > 0) {
    x = cJSON_AddObjectToObject(o, "proxy");
    cJSON_AddNumberToObject(x, "status", r->proxy_status);
  } else {
    cJSON_AddNullToObject(o, "proxy");
  }
  x = cJSON_AddObjectToObject(o, "close");
  cJSON_AddItemToObject(x, "received", close_json(&r->close_recv));
  cJSON_AddItemToObject(x, "sent", close_json(&r->close_sent));
  x = cJSON_AddObjectToObject(o, "timings_ms");
  for (int s = 0; s < WSP_SPAN_COUNT; s++)
    cJSON_AddItemToObject(x, wsp_span_name((wsp_span)s),
                          ms_or_null(wsp_result_span(r, (wsp_span)s)));
  x = cJSON_AddObjectToObject(o, "timeline_ms");
  for (int m = 0; m < WSP_MARK_COUNT; m++)
    cJSON_AddItemToObject(x, wsp_mark_name((wsp_mark)m),
                          ms_or_null(r->marks[m]));
  cJSON_AddNumberToObject(o, "messages", r->messages);
  x = cJSON_AddArrayToObject(o, "events");
  for (size_t i = 0; i < r->nevents; i++) {
    cJSON *e = cJSON_CreateObject();
    cJSON_AddItemToObject(e, "type", said_or_null(r->events[i].type));
    cJSON_AddNumberToObject(e, "t_ms", (double)r->events[i].t_ns / 1e6);
    cJSON_AddItemToArray(x, e);
  }
  cJSON_AddItemToObject(o, "error", said_or_null(r->error));
  /* Changed: the delay asked for moved here from the campaign's fields,
   * the one achieved beside it. */
  cJSON_AddNumberToObject(o, "delay_ms", r->delay_ms);
  cJSON_AddItemToObject(o, "delay_achieved_ms",
                        r->marks[WSP_MARK_FIRST_SENT] >=
                                    r->marks[WSP_MARK_RESPONSE] &&
                                r->marks[WSP_MARK_RESPONSE] >= 0
                            ? ms_or_null(r->marks[WSP_MARK_FIRST_SENT] -
                                         r->marks[WSP_MARK_RESPONSE])
                            : cJSON_CreateNull());
  if (r->step >= 0)
    cJSON_AddNumberToObject(o, "step", r->step);
  return o;
}

/* ---- the summary and the points (lib/report_common.c) ---- */

static void summarize(const wsp_campaign *c, wsp__summary *s) {
  memset(s, 0, sizeof(*s));
  for (size_t i = 0; i < c->nresults; i++) {
    const wsp_result *r = c->results[i];
    s->outcomes[r->outcome]++;
    s->phases[r->outcome][r->phase]++;
    if (r->close_recv.code >= 0)
      wsp__tally_add(&s->close_recv, r->close_recv.code);
    if (r->close_sent.code >= 0)
      wsp__tally_add(&s->close_sent, r->close_sent.code);
    if (r->http_status)
      wsp__tally_add(&s->http, r->http_status);
    if (r->tls_version != NULL && r->tls_resumed)
      s->tls_resumed++;
    else if (r->tls_version != NULL)
      s->tls_full++;
  }
  wsp__tally_sort(&s->close_recv);
  wsp__tally_sort(&s->close_sent);
  wsp__tally_sort(&s->http);
}

static wsp__point *sweep_points(const wsp_campaign *c, size_t *n) {
  wsp__point *p;
  *n = c->per_delay ? c->ndelays : 0;
  if (*n == 0 || (p = calloc(*n, sizeof(*p))) == NULL) {
    *n = 0;
    return NULL;
  }
  for (size_t k = 0; k < *n; k++)
    p[k].value = c->delays[k];
  for (size_t i = 0; i < c->nresults; i++) {
    const wsp_result *r = c->results[i];
    size_t k = r->index / c->per_delay;
    if (k >= *n)
      continue;
    p[k].total++;
    p[k].failed += r->outcome != WSP_OUTCOME_OK;
    p[k].outcomes[r->outcome]++;
  }
  return p;
}

/* ---- the report (lib/report.c) ---- */

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

static cJSON *hist_json(const wsp__hist *h) {
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
  char seed[32], fp[65];
  cJSON_AddStringToObject(x, "mode", mode_names[c->mode]);
  cJSON_AddNumberToObject(x, "count", c->nresults);
  /* Changed: added. */
  cJSON_AddItemToObject(x, "planned",
                        wsp_campaign_planned(c)
                            ? cJSON_CreateNumber(wsp_campaign_planned(c))
                            : cJSON_CreateNull());
  cJSON_AddBoolToObject(x, "interrupted", c->interrupted);
  cJSON_AddNumberToObject(x, "concurrency", c->concurrency);
  cJSON_AddBoolToObject(x, "burst", c->burst);
  if (c->rate > 0)
    cJSON_AddNumberToObject(x, "rate", c->rate);
  else
    cJSON_AddNullToObject(x, "rate");
  /* Changed: exact digits. */
  snprintf(seed, sizeof(seed), "%llu", (unsigned long long)c->seed);
  cJSON_AddRawToObject(x, "seed", seed);
  cJSON_AddNumberToObject(x, "jitter_ms", c->jitter_ms);
  a = cJSON_AddObjectToObject(x, "shard");
  cJSON_AddNumberToObject(a, "index", c->shard);
  cJSON_AddNumberToObject(a, "count", c->shards);
  /* Changed: added. */
  cJSON_AddStringToObject(a, "source", wsp_shard_source_name(c->shard_from));
  /* Changed: added. */
  if (wsp_campaign_fingerprint(c, fp, sizeof(fp)) != 0)
    fp[0] = '\0';
  cJSON_AddStringToObject(x, "fingerprint", fp);
  cJSON_AddItemToObject(
      x, "duration_ms",
      c->t_end ? cJSON_CreateNumber((double)(c->t_end - c->t_start) / 1e6)
               : cJSON_CreateNull());
  /* Changed: added. */
  cJSON_AddItemToObject(x, "duration_limit_ms",
                        c->duration_ms ? cJSON_CreateNumber(c->duration_ms)
                                       : cJSON_CreateNull());
  /* Changed: the resolution of a finished campaign (its addresses, which
   * this used to test for, are freed when it ends). */
  cJSON_AddItemToObject(x, "dns_ms",
                        !c->cfg->url.ip_literal && c->dns_ns > 0
                            ? cJSON_CreateNumber((double)c->dns_ns / 1e6)
                            : cJSON_CreateNull());
  /* Changed: added, the start as it happened and the clock's state. */
  {
    char when[40];
    cJSON *s;
    if (c->t_start != 0) {
      wsp__format_time(wsp__clock_to_real_us(&c->clocks, c->t_start), when,
                       sizeof(when));
      cJSON_AddStringToObject(x, "started_at", when);
    } else {
      cJSON_AddNullToObject(x, "started_at");
    }
    if (c->start_at_us < 0) {
      cJSON_AddNullToObject(x, "start");
    } else {
      s = cJSON_AddObjectToObject(x, "start");
      wsp__format_time(c->start_at_us, when, sizeof(when));
      cJSON_AddStringToObject(s, "at", when);
      cJSON_AddNumberToObject(s, "tolerance_ms", c->start_tol_ms);
      cJSON_AddItemToObject(s, "late_ms", ms_or_null(c->late_ns));
    }
    if (!c->clock.known) {
      cJSON_AddNullToObject(x, "clock");
    } else {
      s = cJSON_AddObjectToObject(x, "clock");
      cJSON_AddBoolToObject(s, "synchronized", c->clock.synchronized);
      cJSON_AddNumberToObject(s, "max_error_us", (double)c->clock.max_err_us);
      cJSON_AddNumberToObject(s, "est_error_us", (double)c->clock.est_err_us);
    }
  }
  if (c->burst || c->mode == WSP__MODE_CONCURRENCY) {
    a = cJSON_AddObjectToObject(x, "bursts");
    cJSON_AddNumberToObject(a, "released", c->bursts);
    cJSON_AddItemToObject(a, "send_spread_ms", hist_json(&c->spread));
  }
  a = cJSON_AddObjectToObject(x, "loop_lag_ms");
  cJSON_AddItemToObject(a, "samples", hist_json(&c->lag));
  cJSON_AddNumberToObject(a, "threshold", c->lag_threshold_ms);
  cJSON_AddNumberToObject(a, "flagged_probes", (double)c->flagged);
  /* Changed: added, for campaigns run on several threads. */
  if (c->sub != NULL) {
    cJSON *t = cJSON_AddObjectToObject(x, "threads"), *loops;
    cJSON_AddNumberToObject(t, "count", c->threads);
    if (c->burst)
      cJSON_AddItemToObject(t, "release_lag_ms", hist_json(&c->release_lag));
    loops = cJSON_AddArrayToObject(t, "loops");
    for (uint32_t i = 0; i < c->threads; i++) {
      const wsp_campaign *l = c->sub[i];
      cJSON *o = cJSON_CreateObject();
      cJSON_AddNumberToObject(o, "thread", i);
      cJSON_AddNumberToObject(o, "probes", (double)l->nresults);
      cJSON_AddNumberToObject(o, "concurrency", l->concurrency);
      if (c->burst) {
        cJSON_AddNumberToObject(o, "bursts", l->bursts);
        cJSON_AddItemToObject(o, "send_spread_ms", hist_json(&l->spread));
        cJSON_AddItemToObject(o, "release_lag_ms", hist_json(&l->release_lag));
        cJSON_AddNumberToObject(o, "held_bursts", (double)l->held_bursts);
        if (l->held_cpu >= 0)
          cJSON_AddNumberToObject(o, "held_cpu", l->held_cpu);
        else
          cJSON_AddNullToObject(o, "held_cpu");
      }
      cJSON_AddItemToObject(o, "loop_lag_ms", hist_json(&l->lag));
      cJSON_AddItemToArray(loops, o);
    }
  }
  if (c->mode == WSP__MODE_SWEEP) {
    size_t n;
    wsp__point *rows = sweep_points(c, &n);
    /* Changed: added. */
    cJSON_AddNumberToObject(x, "per_delay", c->per_delay);
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
    /* Changed: the search concludes as it goes, "overlapping" and
     * "inconclusive" too, and brackets achieved delays (ns). */
    const char *conclusion =
        c->win_conclusion != NULL ? c->win_conclusion : "not_run";
    cJSON_AddNumberToObject(w, "lo_ms", c->win_lo);
    cJSON_AddNumberToObject(w, "hi_ms", c->win_hi);
    cJSON_AddNumberToObject(w, "resolution_ms", c->win_res);
    cJSON_AddNumberToObject(w, "trials", c->win_trials);
    cJSON_AddStringToObject(w, "conclusion", conclusion);
    if (c->win_stopped != NULL)
      cJSON_AddStringToObject(w, "stopped", c->win_stopped);
    else
      cJSON_AddNullToObject(w, "stopped");
    cJSON_AddStringToObject(w, "measured", "achieved_delay");
    if (c->win_from >= 0) {
      cJSON *e = cJSON_AddObjectToObject(w, "estimate");
      cJSON_AddNumberToObject(e, "from_ms", (double)c->win_from / 1e6);
      cJSON_AddNumberToObject(e, "to_ms", (double)c->win_to / 1e6);
    } else {
      cJSON_AddNullToObject(w, "estimate");
    }
    a = cJSON_AddArrayToObject(w, "evidence");
    for (size_t i = 0; i < c->nevidence; i++) {
      const wsp__evidence *ev = &c->evidence[i];
      cJSON *o = cJSON_CreateObject();
      cJSON_AddNumberToObject(o, "delay_ms", ev->delay_ms);
      cJSON_AddNumberToObject(o, "trials", ev->trials);
      cJSON_AddNumberToObject(o, "failures", ev->failures);
      cJSON_AddItemToObject(o, "achieved_min_ms", ms_or_null(ev->achieved_min));
      cJSON_AddItemToObject(o, "achieved_max_ms", ms_or_null(ev->achieved_max));
      cJSON_AddItemToObject(o, "failed_max_ms", ms_or_null(ev->fail_max));
      cJSON_AddItemToObject(o, "passed_min_ms", ms_or_null(ev->pass_min));
      cJSON_AddNumberToObject(o, "reruns", ev->reruns);
      cJSON_AddBoolToObject(o, "lag_flagged", ev->lag_flagged);
      cJSON_AddItemToArray(a, o);
    }
    cJSON_AddNumberToObject(w, "probes_spent", c->nresults);
  }
  if (c->mode == WSP__MODE_CONCURRENCY) {
    cJSON *l = cJSON_AddObjectToObject(x, "concurrency_sweep");
    int first = -1;
    /* Changed: added. */
    cJSON_AddNumberToObject(l, "max_level", c->max_level);
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

static cJSON *probe_json(const wsp_campaign *c, size_t i, int show_secrets) {
  const wsp_result *r = c->results[i];
  cJSON *pj = result_json(r, show_secrets);
  cJSON_AddNumberToObject(
      pj, "start_ms",
      r->t0 > c->t_start ? (double)(r->t0 - c->t_start) / 1e6 : 0);
  cJSON_AddItemToObject(pj, "loop_lag_ms",
                        r->lag_ns < 0
                            ? cJSON_CreateNull()
                            : cJSON_CreateNumber((double)r->lag_ns / 1e6));
  cJSON_AddBoolToObject(pj, "lag_flagged", r->lag_ns > 0);
  cJSON_AddBoolToObject(pj, "discarded", r->discarded);
  return pj;
}

/* A probe's value for a grouping: its peer (name NULL) or the recorded
 * header `name`; *has says whether the probe is counted at all. */
static const char *value_of(const wsp_result *r, const char *name, int *has) {
  *has = name == NULL || r->nrec > 0;
  return name ? wsp_result_recorded_header(r, name) : wsp_result_peer(r);
}

static int same(const char *a, const char *b) {
  return a == b || (a && b && strcmp(a, b) == 0);
}

/* Outcomes per value, in the order values first appear among the probes
 * (every report here has fewer than 64 of them). */
static cJSON *grouped(const wsp_campaign *c, const char *name,
                      const char *key) {
  cJSON *a = cJSON_CreateArray();
  for (size_t i = 0; i < c->nresults; i++) {
    int has, seen = 0;
    const char *v = value_of(c->results[i], name, &has);
    uint64_t outcomes[WSP_OUTCOME_COUNT] = {0}, total = 0;
    cJSON *g;
    if (!has)
      continue;
    for (size_t j = 0; j < i && !seen; j++) {
      int h;
      const char *q = value_of(c->results[j], name, &h);
      seen = h && same(q, v);
    }
    if (seen)
      continue;
    for (size_t j = i; j < c->nresults; j++) {
      int h;
      const char *q = value_of(c->results[j], name, &h);
      if (h && same(q, v)) {
        outcomes[c->results[j]->outcome]++;
        total++;
      }
    }
    g = cJSON_CreateObject();
    cJSON_AddItemToObject(g, key, name ? said_or_null(v) : str_or_null(v));
    cJSON_AddNumberToObject(g, "total", (double)total);
    cJSON_AddNumberToObject(g, "passed", (double)outcomes[WSP_OUTCOME_OK]);
    cJSON_AddItemToObject(g, "outcomes", outcomes_json(outcomes, 0));
    cJSON_AddItemToArray(a, g);
  }
  return a;
}

/* Per recorded header, its grouping, when some probe recorded it. */
static cJSON *by_header(const wsp_campaign *c) {
  cJSON *o = cJSON_CreateObject();
  for (size_t k = 0; k < c->cfg->record.n; k++) {
    cJSON *g = grouped(c, c->cfg->record.v[k], "value");
    if (cJSON_GetArraySize(g) > 0)
      cJSON_AddItemToObject(o, c->cfg->record.v[k], g);
    else
      cJSON_Delete(g);
  }
  return o;
}

static cJSON *head_tree(const wsp_campaign *c, int show_secrets) {
  cJSON *root, *sum, *x;
  wsp__summary s;
  char *cfg_text = NULL;
  if (wsp_config_to_json(c->cfg, show_secrets, &cfg_text) != 0)
    return NULL;
  root = cJSON_CreateObject();
  cJSON_AddStringToObject(root, "version", WSP_VERSION_STRING);
  cJSON_AddItemToObject(root, "config", cJSON_Parse(cfg_text));
  free(cfg_text);
  cJSON_AddItemToObject(root, "campaign", campaign_json(c));
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
  cJSON_AddItemToObject(sum, "by_peer", grouped(c, NULL, "peer"));
  cJSON_AddItemToObject(sum, "by_header", by_header(c));
  x = cJSON_AddObjectToObject(sum, "tls_handshakes");
  cJSON_AddNumberToObject(x, "full", (double)s.tls_full);
  cJSON_AddNumberToObject(x, "resumed", (double)s.tls_resumed);
  x = cJSON_AddObjectToObject(sum, "spans_ms");
  for (int sp = 0; sp < WSP_SPAN_COUNT; sp++)
    cJSON_AddItemToObject(x, wsp_span_name((wsp_span)sp),
                          hist_json(&c->spans[sp]));
  return root;
}

static void add(oracle_buf *b, const char *s) {
  size_t n = strlen(s);
  if (b->len + n + 1 > b->cap) {
    size_t cap = (b->len + n + 1) * 2;
    char *p = realloc(b->p, cap);
    if (p == NULL)
      return;
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n + 1);
  b->len += n;
}

int oracle_json(const wsp_campaign *c, int show_secrets, oracle_buf *b) {
  cJSON *root;
  char *head, *line;
  size_t n;
  /* Before the head: the summary holds what servers said too. */
  wsp__secrets_init(&secrets, show_secrets ? NULL : c->cfg);
  root = head_tree(c, show_secrets);
  if (root == NULL)
    return -1;
  head = cJSON_Print(root);
  cJSON_Delete(root);
  if (head == NULL)
    return -1;
  /* The tree printed: "{ ... \n}"; the probes go before its brace. */
  n = strlen(head);
  while (n > 0 && head[n - 1] != '}')
    n--;
  if (n > 0)
    n--;
  while (n > 0 && head[n - 1] == '\n')
    n--;
  head[n] = '\0';
  add(b, head);
  add(b, ",\n\t\"probes\":\t[");
  free(head);
  for (size_t i = 0; i < c->nresults; i++) {
    cJSON *pj = probe_json(c, i, show_secrets);
    line = cJSON_PrintUnformatted(pj);
    cJSON_Delete(pj);
    if (line == NULL)
      return -1;
    add(b, i ? ",\n\t\t" : "\n\t\t");
    add(b, line);
    free(line);
  }
  add(b, c->nresults ? "\n\t]\n}\n" : "]\n}\n");
  return 0;
}
