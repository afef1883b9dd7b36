/*
 * The report model (report_model.h): its figures, merged, and the verdict.
 * It knows no source of probes: report_walk.c builds it from campaigns and
 * walks their probes or those of reports read back (report_read.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "report_model.h"
#include "start.h"

wsp_report *wsp__rep_alloc(void) {
  wsp_report *rep = calloc(1, sizeof(*rep));
  if (rep == NULL)
    return NULL;
  for (int s = 0; s < WSP_SPAN_COUNT; s++)
    wsp__hist_init(&rep->spans[s]);
  wsp__hist_init(&rep->lag);
  wsp__hist_init(&rep->spread);
  wsp__hist_init(&rep->release_lag);
  rep->duration_ms = -1;
  rep->dns_ms = -1;
  rep->started_us = rep->started_last_us = rep->start_at_us = -1;
  rep->late_ns = -1;
  wsp__hsamples_init(&rep->health);
  rep->shards = 1;
  rep->planned = -1;
  rep->window.from = rep->window.to = -1;
  snprintf(rep->window.conclusion, sizeof(rep->window.conclusion), "%s",
           "not_run");
  memcpy(rep->jwt_prefix, wsp__jwt_prefix, sizeof(wsp__jwt_prefix));
  return rep;
}

void wsp__rep_free(wsp_report *rep) {
  if (rep == NULL)
    return;
  free(rep->camps);
  free(rep->inputs);
  free(rep->version);
  free(rep->config);
  free(rep->config_shown);
  free(rep->url);
  for (size_t i = 0; i < WSP__MAX_SECRETS; i++)
    free(rep->secret_copy[i]);
  free(rep->points);
  free(rep->window.evidence);
  free(rep->levels);
  free(rep->loops);
  free(rep->slices);
  for (size_t i = 0; i < rep->nparts; i++)
    free(rep->parts[i].source);
  free(rep->parts);
  free(rep->missing);
  wsp__groups_clear(&rep->peers);
  wsp__groupings_clear(&rep->headers);
  free(rep->health_url);
  wsp__hsamples_clear(&rep->health);
  free(rep);
}

char *wsp__json_indent(const cJSON *tree) {
  char *pretty = cJSON_Print(tree), *out, *p;
  size_t lines = 0, n;
  if (pretty == NULL)
    return NULL;
  /* Printed alone it sits at depth 0; in the report, one tab deeper. */
  for (p = pretty; *p; p++)
    lines += *p == '\n';
  n = (size_t)(p - pretty);
  if ((out = malloc(n + lines + 1)) != NULL) {
    for (p = pretty, n = 0; *p; p++) {
      out[n++] = *p;
      if (*p == '\n')
        out[n++] = '\t';
    }
    out[n] = '\0';
  }
  free(pretty);
  return out;
}

int wsp__config_text(const wsp_config *cfg, int show_secrets, char **out) {
  char *flat = NULL;
  cJSON *tree;
  int rc;
  *out = NULL;
  if ((rc = wsp_config_to_json(cfg, show_secrets, &flat)) != 0)
    return rc;
  tree = cJSON_Parse(flat);
  free(flat);
  *out = tree ? wsp__json_indent(tree) : NULL;
  cJSON_Delete(tree);
  return *out ? 0 : WSP_ENOMEM;
}

int wsp__phase_from_name(const char *name) {
  for (int p = 0; name != NULL && p < WSP_PHASE_COUNT; p++)
    if (strcmp(name, wsp_phase_name((wsp_phase)p)) == 0)
      return p;
  return -1;
}

int wsp__mode_from_name(const char *name) {
  for (int m = WSP__MODE_PLAIN; name != NULL && m <= WSP__MODE_CONCURRENCY; m++)
    if (strcmp(name, wsp__mode_name((wsp__mode)m)) == 0)
      return m;
  return -1;
}

int wsp__rep_points(wsp_report *rep) {
  size_t n = rep->mode == WSP__MODE_WINDOW        ? rep->window.nevidence
             : rep->mode == WSP__MODE_CONCURRENCY ? rep->nlevels
                                                  : 0;
  if (n == 0)
    return 0;
  free(rep->points);
  if ((rep->points = calloc(n, sizeof(*rep->points))) == NULL) {
    rep->npoints = 0;
    return WSP_ENOMEM;
  }
  rep->npoints = n;
  for (size_t k = 0; k < n; k++)
    rep->points[k].value = rep->mode == WSP__MODE_WINDOW
                               ? rep->window.evidence[k].delay_ms
                               : rep->levels[k].level;
  return 0;
}

size_t wsp__rep_point_of(const wsp_report *rep, uint32_t index) {
  uint64_t from = 0;
  if (rep->mode == WSP__MODE_SWEEP)
    return rep->per_delay && index / rep->per_delay < rep->npoints
               ? index / rep->per_delay
               : (size_t)-1;
  /* Adaptive modes number their probes in the order they ran, one point
   * after the other. A window point's runs discarded because the prober
   * lagged come first and belong to no point. A report read back may name
   * points without saying what they were: then no probe belongs to one. */
  if (rep->mode == WSP__MODE_WINDOW ? rep->window.evidence == NULL
                                    : rep->levels == NULL)
    return (size_t)-1;
  for (size_t k = 0; k < rep->npoints; k++) {
    const wsp__evidence *e =
        rep->mode == WSP__MODE_WINDOW ? &rep->window.evidence[k] : NULL;
    uint64_t to = from + (e ? (uint64_t)e->trials * (e->reruns + 1)
                            : rep->levels[k].level);
    uint64_t kept = e ? to - e->trials : from;
    if (index >= kept && index < to)
      return k;
    if (index >= from && index < to)
      return (size_t)-1;
    from = to;
  }
  return (size_t)-1;
}

/* ---- figures gathered over every probe ---- */

void wsp__rep_scan_begin(wsp_report *rep) {
  memset(&rep->sum, 0, sizeof(rep->sum));
  wsp__groups_clear(&rep->peers);
  wsp__groupings_clear(&rep->headers);
  rep->total = rep->passed = 0;
  rep->last_start_ns = 0;
  for (size_t k = 0; k < rep->npoints; k++) {
    uint32_t v = rep->points[k].value;
    memset(&rep->points[k], 0, sizeof(rep->points[k]));
    rep->points[k].value = v;
  }
}

void wsp__rep_scan_row(wsp_report *rep, const wsp__row *row) {
  const wsp_result *r = row->r;
  wsp__summary *s = &rep->sum;
  size_t k = wsp__rep_point_of(rep, r->index);
  rep->total++;
  rep->passed += r->outcome == WSP_OUTCOME_OK;
  s->outcomes[r->outcome]++;
  s->phases[r->outcome][r->phase]++;
  wsp__groups_add(&rep->peers, wsp_result_peer(r), r->outcome);
  for (size_t i = 0; i < r->nrec; i++) {
    wsp__groups *g = wsp__groupings_get(&rep->headers, r->rec[2 * i]);
    if (g != NULL)
      wsp__groups_add(g, r->rec[2 * i + 1], r->outcome);
  }
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
  if (row->start_ns > rep->last_start_ns)
    rep->last_start_ns = row->start_ns;
  if (k < rep->npoints) {
    wsp__point *p = &rep->points[k];
    uint64_t end = row->start_ns + wsp__end_ns(r);
    if (p->total == 0 || row->start_ns < p->first_ns)
      p->first_ns = row->start_ns;
    if (end > p->last_ns)
      p->last_ns = end;
    p->total++;
    p->failed += r->outcome != WSP_OUTCOME_OK;
    p->outcomes[r->outcome]++;
    if (r->close_recv.code >= 0)
      wsp__tally_add(&p->codes, r->close_recv.code);
    if (r->http_status)
      wsp__tally_add(&p->statuses, r->http_status);
  }
}

void wsp__rep_scan_end(wsp_report *rep) {
  wsp__tally_sort(&rep->sum.close_recv);
  wsp__tally_sort(&rep->sum.close_sent);
  wsp__tally_sort(&rep->sum.http);
  for (size_t k = 0; k < rep->npoints; k++) {
    wsp__tally_sort(&rep->points[k].codes);
    wsp__tally_sort(&rep->points[k].statuses);
  }
}

/* ---- merging aggregates ---- */

static void add_point(wsp__point *dst, const wsp__point *src) {
  if (src->total > 0 && (dst->total == 0 || src->first_ns < dst->first_ns))
    dst->first_ns = src->first_ns;
  if (src->last_ns > dst->last_ns)
    dst->last_ns = src->last_ns;
  dst->total += src->total;
  dst->failed += src->failed;
  for (int o = 0; o < WSP_OUTCOME_COUNT; o++)
    dst->outcomes[o] += src->outcomes[o];
  wsp__tally_merge(&dst->codes, &src->codes);
  wsp__tally_merge(&dst->statuses, &src->statuses);
}

int wsp__rep_add(wsp_report *dst, const wsp_report *src) {
  wsp__summary *d = &dst->sum;
  const wsp__summary *s = &src->sum;
  dst->count += src->count;
  dst->concurrency += src->concurrency;
  /* Planned in all only when every part says; interrupted if any was. */
  dst->planned =
      dst->planned >= 0 && src->planned >= 0 ? dst->planned + src->planned : -1;
  dst->interrupted |= src->interrupted;
  /* Every shard's (or loop's) health samples, each on its own clock. */
  if (src->health_url != NULL) {
    if (dst->health_url == NULL) {
      if ((dst->health_url = wsp__strdup(src->health_url)) == NULL)
        return WSP_ENOMEM;
      dst->health_interval = src->health_interval;
      dst->health_timeout = src->health_timeout;
    }
    if (wsp__hsamples_merge(&dst->health, &src->health) != 0)
      return WSP_ENOMEM;
  }
  /* Unlimited anywhere is unlimited in all. */
  dst->rate = dst->rate < 0                    ? src->rate
              : dst->rate > 0 && src->rate > 0 ? dst->rate + src->rate
                                               : 0;
  if (src->duration_ms > dst->duration_ms)
    dst->duration_ms = src->duration_ms;
  if (src->dns_ms > dst->dns_ms)
    dst->dns_ms = src->dns_ms;
  dst->has_bursts |= src->has_bursts;
  dst->bursts += src->bursts;
  wsp__hist_merge(&dst->spread, &src->spread);
  wsp__hist_merge(&dst->lag, &src->lag);
  dst->flagged += src->flagged;
  for (int sp = 0; sp < WSP_SPAN_COUNT; sp++)
    wsp__hist_merge(&dst->spans[sp], &src->spans[sp]);
  dst->total += src->total;
  dst->passed += src->passed;
  for (int o = 0; o < WSP_OUTCOME_COUNT; o++) {
    d->outcomes[o] += s->outcomes[o];
    for (int p = 0; p < WSP_PHASE_COUNT; p++)
      d->phases[o][p] += s->phases[o][p];
  }
  wsp__tally_merge(&d->close_recv, &s->close_recv);
  wsp__tally_merge(&d->close_sent, &s->close_sent);
  wsp__tally_merge(&d->http, &s->http);
  wsp__groups_merge(&dst->peers, &src->peers);
  wsp__groupings_merge(&dst->headers, &src->headers);
  /* A report that shows secrets makes the merge one that holds them: its
   * probes are rewritten, redacted, unless secrets are asked for. */
  dst->secrets_shown |= src->secrets_shown;
  for (size_t i = 0; i < src->secrets.n; i++) {
    size_t k = 0;
    while (k < WSP__MAX_SECRETS && dst->secret_copy[k] != NULL)
      k++;
    if (k == WSP__MAX_SECRETS)
      break;
    if ((dst->secret_copy[k] =
             wsp__strndup(src->secrets.s[i], src->secrets.len[i])) == NULL)
      return WSP_ENOMEM;
    wsp__secrets_add(&dst->secrets, dst->secret_copy[k], src->secrets.len[i]);
  }
  d->tls_full += s->tls_full;
  d->tls_resumed += s->tls_resumed;
  if (src->last_start_ns > dst->last_start_ns)
    dst->last_start_ns = src->last_start_ns;
  if (dst->started_unix == 0 ||
      (src->started_unix > 0 && src->started_unix < dst->started_unix))
    dst->started_unix = src->started_unix;
  /* Shards that began together: the first and last start, the latest. */
  if (src->started_us >= 0 &&
      (dst->started_us < 0 || src->started_us < dst->started_us))
    dst->started_us = src->started_us;
  if (src->started_us > dst->started_last_us)
    dst->started_last_us = src->started_us;
  if (src->late_ns > dst->late_ns)
    dst->late_ns = src->late_ns;
  if (src->clock.known && !dst->clock.known) {
    dst->clock = src->clock;
  } else if (src->clock.known) {
    dst->clock.synchronized &= src->clock.synchronized;
    if (src->clock.max_err_us > dst->clock.max_err_us)
      dst->clock.max_err_us = src->clock.max_err_us;
    if (src->clock.est_err_us > dst->clock.est_err_us)
      dst->clock.est_err_us = src->clock.est_err_us;
  }
  /* Sweep rows by delay, in the order of the first report. */
  for (size_t j = 0; j < src->npoints; j++) {
    size_t k = 0;
    while (k < dst->npoints && dst->points[k].value != src->points[j].value)
      k++;
    if (k == dst->npoints) {
      wsp__point *p =
          realloc(dst->points, (dst->npoints + 1) * sizeof(*dst->points));
      if (p == NULL)
        return WSP_ENOMEM;
      dst->points = p;
      memset(&p[k], 0, sizeof(p[k]));
      p[k].value = src->points[j].value;
      dst->npoints++;
    }
    add_point(&dst->points[k], &src->points[j]);
  }
  if (src->nslices > dst->nslices) {
    wsp__slice *sl = realloc(dst->slices, src->nslices * sizeof(*sl));
    if (sl == NULL)
      return WSP_ENOMEM;
    memset(sl + dst->nslices, 0, (src->nslices - dst->nslices) * sizeof(*sl));
    dst->slices = sl;
    dst->nslices = src->nslices;
  }
  for (size_t i = 0; i < src->nslices; i++)
    for (int o = 0; o < WSP_OUTCOME_COUNT; o++)
      dst->slices[i].outcomes[o] += src->slices[i].outcomes[o];
  return 0;
}

/* An empty model with the identity of `src`: what its campaign was, none
 * of what it measured. */
int wsp__rep_like(const wsp_report *src, wsp_report **out) {
  wsp_report *rep = wsp__rep_alloc();
  *out = rep;
  if (rep == NULL)
    return WSP_ENOMEM;
  rep->version = wsp__strdup(src->version);
  rep->config = wsp__strdup(src->config);
  rep->config_shown = wsp__strdup(src->config_shown);
  rep->url = wsp__strdup(src->url);
  if (rep->version == NULL || rep->config == NULL || rep->url == NULL ||
      (src->config_shown && rep->config_shown == NULL))
    return WSP_ENOMEM;
  rep->has_message = src->has_message;
  rep->delay_ms = src->delay_ms;
  rep->insecure = src->insecure;
  rep->planned = src->planned >= 0 ? 0 : -1;
  memcpy(rep->jwt_prefix, src->jwt_prefix, sizeof(rep->jwt_prefix));
  memcpy(rep->fingerprint, src->fingerprint, sizeof(rep->fingerprint));
  rep->mode = src->mode;
  rep->burst = src->burst;
  rep->rate = src->rate;
  rep->seed = src->seed;
  rep->jitter_ms = src->jitter_ms;
  rep->shard = src->shard;
  rep->shards = src->shards;
  rep->timed_ms = src->timed_ms;
  rep->lag_threshold_ms = src->lag_threshold_ms;
  rep->start_at_us = src->start_at_us;
  rep->start_tol_ms = src->start_tol_ms;
  rep->per_delay = src->per_delay;
  rep->max_level = src->max_level;
  rep->slice_ms = src->slice_ms;
  rep->window = src->window;
  rep->window.evidence = NULL;
  rep->window.nevidence = 0;
  if (src->window.nevidence > 0) {
    size_t n = src->window.nevidence * sizeof(*src->window.evidence);
    if ((rep->window.evidence = malloc(n)) == NULL)
      return WSP_ENOMEM;
    memcpy(rep->window.evidence, src->window.evidence, n);
    rep->window.nevidence = src->window.nevidence;
  }
  if (src->nlevels > 0) {
    if ((rep->levels = malloc(src->nlevels * sizeof(*rep->levels))) == NULL)
      return WSP_ENOMEM;
    memcpy(rep->levels, src->levels, src->nlevels * sizeof(*rep->levels));
    rep->nlevels = src->nlevels;
  }
  rep->count = rep->concurrency = 0;
  rep->rate = -1; /* None added yet. */
  return 0;
}

/* ---- the public calls ---- */

wsp_verdict wsp_report_verdict(const wsp_report *rep) {
  if (rep == NULL)
    return WSP_VERDICT_FAIL;
  if (rep->nmissing > 0)
    return WSP_VERDICT_PARTIAL;
  /* An interrupted campaign did not run what it was asked to: it cannot
   * pass on the probes it had time for. */
  return rep->total > 0 && rep->passed == rep->total && !rep->interrupted
             ? WSP_VERDICT_PASS
             : WSP_VERDICT_FAIL;
}

const char *wsp_verdict_name(wsp_verdict v) {
  switch (v) {
  case WSP_VERDICT_PASS:
    return "pass";
  case WSP_VERDICT_FAIL:
    return "fail";
  case WSP_VERDICT_PARTIAL:
    return "partial";
  }
  return NULL;
}

int wsp_verdict_exit_code(wsp_verdict v) {
  return v == WSP_VERDICT_PASS ? 0 : v == WSP_VERDICT_PARTIAL ? 4 : 1;
}

uint64_t wsp_report_total(const wsp_report *rep) {
  return rep ? rep->total : 0;
}

uint64_t wsp_report_passed(const wsp_report *rep) {
  return rep ? rep->passed : 0;
}

const char *wsp_report_fingerprint(const wsp_report *rep) {
  return rep ? rep->fingerprint : NULL;
}

size_t wsp_report_missing_shards(const wsp_report *rep, uint32_t *out,
                                 size_t cap) {
  if (rep == NULL)
    return 0;
  for (size_t i = 0; out != NULL && i < rep->nmissing && i < cap; i++)
    out[i] = rep->missing[i];
  return rep->nmissing;
}

int wsp__rep_start_words(const wsp_report *rep, char *buf, size_t len) {
  char at[40];
  size_t n;
  buf[0] = '\0';
  if (rep->start_at_us < 0 || len == 0)
    return 0;
  wsp__format_time(rep->start_at_us, at, sizeof(at));
  n = (size_t)snprintf(buf, len, "at %s", at);
  if (n < len && rep->late_ns >= 0)
    n += (size_t)snprintf(buf + n, len - n, ", %.3f ms late%s",
                          (double)rep->late_ns / 1e6,
                          rep->merged ? " (the latest shard)" : "");
  if (n < len && rep->merged && rep->started_us >= 0 &&
      rep->started_last_us >= rep->started_us)
    n += (size_t)snprintf(buf + n, len - n, "; shards began within %.3f ms",
                          (double)(rep->started_last_us - rep->started_us) /
                              1e3);
  if (n < len && rep->clock.known)
    snprintf(buf + n, len - n, "; clock %s (max error %.3f ms)",
             rep->clock.synchronized ? "synchronized" : "NOT synchronized",
             (double)rep->clock.max_err_us / 1e3);
  return 1;
}

/* Appends to buf (of len bytes) as snprintf would, never past its end. */
static void add(char *buf, size_t len, size_t *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add(char *buf, size_t len, size_t *at, const char *fmt, ...) {
  va_list ap;
  int n;
  if (*at >= len)
    return;
  va_start(ap, fmt);
  n = vsnprintf(buf + *at, len - *at, fmt, ap);
  va_end(ap);
  if (n > 0)
    *at += (size_t)n;
}

void wsp__rep_health_words(const wsp_report *rep, char *buf, size_t len) {
  const wsp__hsamples *hs = &rep->health;
  const char *sep = "";
  size_t at = 0;
  int kinds = 0;
  buf[0] = '\0';
  for (int code = 100; code < 600; code++)
    if (hs->status[code]) {
      add(buf, len, &at, "%s%d x%llu", sep, code,
          (unsigned long long)hs->status[code]);
      sep = ", ";
      kinds++;
    }
  if (hs->errors)
    add(buf, len, &at, "%serrors x%llu", sep, (unsigned long long)hs->errors);
  if (hs->total == 0)
    add(buf, len, &at, "no answer");
  else if (kinds == 1 && hs->errors == 0)
    add(buf, len, &at, " throughout");
  if (hs->skipped)
    add(buf, len, &at, " (%llu tick%s skipped: a request was still running)",
        (unsigned long long)hs->skipped, hs->skipped == 1 ? "" : "s");
  if (rep->total > rep->passed) {
    const wsp__summary *s = &rep->sum;
    sep = "";
    add(buf, len, &at, ", while %llu of %llu probes failed (",
        (unsigned long long)(rep->total - rep->passed),
        (unsigned long long)rep->total);
    for (int o = 0; o < WSP_OUTCOME_COUNT; o++) {
      if (o == WSP_OUTCOME_OK || s->outcomes[o] == 0)
        continue;
      add(buf, len, &at, "%s%s", sep, wsp_outcome_name((wsp_outcome)o));
      /* One close code for every closed probe: name it. */
      if (o == WSP_OUTCOME_CLOSED_BY_SERVER && s->close_recv.len == 1 &&
          s->close_recv.other == 0)
        add(buf, len, &at, " %d", s->close_recv.key[0]);
      add(buf, len, &at, " x%llu", (unsigned long long)s->outcomes[o]);
      sep = ", ";
    }
    add(buf, len, &at, ")");
  }
}
