/*
 * The report model (report_model.h): built from live campaigns, merged,
 * walked probe by probe, and the public report calls every format goes
 * through.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "report_model.h"

wsp_report *wsp__rep_alloc(void) {
  wsp_report *rep = calloc(1, sizeof(*rep));
  if (rep == NULL)
    return NULL;
  for (int s = 0; s < WSP_SPAN_COUNT; s++)
    wsp__hist_init(&rep->spans[s]);
  wsp__hist_init(&rep->lag);
  wsp__hist_init(&rep->spread);
  rep->duration_ms = -1;
  rep->dns_ms = -1;
  rep->shards = 1;
  rep->planned = -1;
  rep->window.from = rep->window.to = -1;
  snprintf(rep->window.conclusion, sizeof(rep->window.conclusion), "%s",
           "not_run");
  memcpy(rep->jwt_prefix, wsp__jwt_prefix, sizeof(wsp__jwt_prefix));
  return rep;
}

void wsp_report_free(wsp_report *rep) {
  if (rep == NULL)
    return;
  free(rep->camps);
  for (size_t i = 0; i < rep->ninputs; i++)
    wsp__input_free(rep->inputs[i]);
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
  free(rep->slices);
  for (size_t i = 0; i < rep->nparts; i++)
    free(rep->parts[i].source);
  free(rep->parts);
  free(rep->missing);
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
   * lagged come first and belong to no point. */
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

/* Copies what the config says that the writers show. */
static int config_facts(wsp_report *rep, const wsp_config *cfg) {
  int rc;
  if ((rc = wsp__config_text(cfg, 0, &rep->config)) != 0 ||
      (rc = wsp__config_text(cfg, 1, &rep->config_shown)) != 0)
    return rc;
  rep->url = wsp__strdup(cfg->url_text ? cfg->url_text : "");
  rep->version = wsp__strdup(WSP_VERSION_STRING);
  if (rep->url == NULL || rep->version == NULL)
    return WSP_ENOMEM;
  rep->has_message = cfg->has_message;
  rep->delay_ms = cfg->delay_ms;
  rep->insecure = cfg->tls_insecure;
  memcpy(rep->jwt_prefix, cfg->jwt_prefix, sizeof(rep->jwt_prefix));
  /* The secrets point into the campaign's config, which outlives us. */
  wsp__secrets_init(&rep->secrets, cfg);
  return 0;
}

/* The model of one campaign, without its scan. */
static int from_campaign(const wsp_campaign *c, wsp_report **out) {
  wsp_report *rep = wsp__rep_alloc();
  int rc;
  *out = rep;
  if (rep == NULL)
    return WSP_ENOMEM;
  if ((rc = config_facts(rep, c->cfg)) != 0 ||
      (rc = wsp__fingerprint(c, rep->fingerprint)) != 0)
    return rc;
  rep->mode = c->mode;
  rep->count = c->nresults;
  rep->planned =
      wsp_campaign_planned(c) ? (int64_t)wsp_campaign_planned(c) : -1;
  rep->interrupted = c->interrupted;
  rep->concurrency = c->concurrency;
  rep->burst = c->burst;
  rep->rate = c->rate;
  rep->seed = c->seed;
  rep->jitter_ms = c->jitter_ms;
  rep->shard = c->shard;
  rep->shards = c->shards;
  rep->duration_ms = c->t_end ? (double)(c->t_end - c->t_start) / 1e6 : -1;
  rep->timed_ms = c->duration_ms;
  /* The one resolution of a host name (an IP literal needs none). */
  rep->dns_ms =
      !c->cfg->url.ip_literal && c->dns_ns > 0 ? (double)c->dns_ns / 1e6 : -1;
  rep->has_bursts = c->burst || c->mode == WSP__MODE_CONCURRENCY;
  rep->bursts = c->bursts;
  rep->spread = c->spread;
  rep->lag = c->lag;
  rep->lag_threshold_ms = c->lag_threshold_ms;
  rep->flagged = c->flagged;
  memcpy(rep->spans, c->spans, sizeof(rep->spans));
  rep->slice_ms = c->slice_ms;
  if (c->t_start != 0)
    /* The wall-clock start: now, less the monotonic time since then. */
    rep->started_unix =
        (double)time(NULL) - (double)((uv_hrtime() - c->t_start) / 1000000000u);
  if (c->nslices > 0) {
    if ((rep->slices = malloc(c->nslices * sizeof(*rep->slices))) == NULL)
      return WSP_ENOMEM;
    memcpy(rep->slices, c->slices, c->nslices * sizeof(*rep->slices));
    rep->nslices = c->nslices;
  }
  if (c->mode == WSP__MODE_SWEEP) {
    rep->per_delay = c->per_delay;
    rep->npoints = c->per_delay ? c->ndelays : 0;
  } else if (c->mode == WSP__MODE_WINDOW) {
    wsp__window *w = &rep->window;
    w->lo = c->win_lo;
    w->hi = c->win_hi;
    w->res = c->win_res;
    w->trials = c->win_trials;
    w->from = c->win_from;
    w->to = c->win_to;
    w->spent = c->nresults;
    snprintf(w->conclusion, sizeof(w->conclusion), "%s",
             c->win_conclusion ? c->win_conclusion : "not_run");
    if (c->nevidence > 0) {
      if ((w->evidence = malloc(c->nevidence * sizeof(*w->evidence))) == NULL)
        return WSP_ENOMEM;
      memcpy(w->evidence, c->evidence, c->nevidence * sizeof(*w->evidence));
      w->nevidence = c->nevidence;
    }
  } else if (c->mode == WSP__MODE_CONCURRENCY) {
    rep->max_level = c->max_level;
    if (c->nlevels > 0) {
      if ((rep->levels = malloc(c->nlevels * sizeof(*rep->levels))) == NULL)
        return WSP_ENOMEM;
      memcpy(rep->levels, c->levels, c->nlevels * sizeof(*rep->levels));
      rep->nlevels = c->nlevels;
    }
  }
  if (c->mode == WSP__MODE_SWEEP && rep->npoints > 0) {
    if ((rep->points = calloc(rep->npoints, sizeof(*rep->points))) == NULL)
      return WSP_ENOMEM;
    for (size_t k = 0; k < rep->npoints; k++)
      rep->points[k].value = c->delays[k];
  }
  if ((rc = wsp__rep_points(rep)) != 0)
    return rc;
  if ((rep->camps = malloc(sizeof(*rep->camps))) == NULL)
    return WSP_ENOMEM;
  rep->camps[0] = c;
  rep->ncamps = 1;
  return 0;
}

/* ---- the walk over the probes ---- */

int wsp__rows_begin(const wsp_report *rep, int facts, wsp__rows *it) {
  memset(it, 0, sizeof(*it));
  it->rep = rep;
  it->facts = facts;
  it->last = -1;
  if (rep->ncamps > 0 &&
      (it->next = calloc(rep->ncamps, sizeof(*it->next))) == NULL)
    return WSP_ENOMEM;
  for (size_t i = 0; i < rep->ninputs; i++) {
    int rc = wsp__input_rewind(rep->inputs[i], NULL, 0);
    if (rc != 0) {
      wsp__rows_end(it);
      return rc;
    }
  }
  return 0;
}

static int from_camps(wsp__rows *it, wsp__row *row, char *err, size_t errlen) {
  const wsp_report *rep = it->rep;
  size_t best = (size_t)-1;
  const wsp_result *r = NULL;
  if (rep->ncamps == 1) {
    /* One campaign: its results as they are (in index order once it is
     * done, in order of ending while it runs). */
    best = 0;
    if (it->next[0] < rep->camps[0]->nresults)
      r = rep->camps[0]->results[it->next[0]];
  } else {
    for (size_t i = 0; i < rep->ncamps; i++) {
      const wsp_campaign *c = rep->camps[i];
      if (it->next[i] < c->nresults &&
          (r == NULL || c->results[it->next[i]]->index < r->index)) {
        r = c->results[it->next[i]];
        best = i;
      }
    }
  }
  if (r == NULL)
    return 0;
  /* Loops that shared a campaign ran each index once. */
  if (rep->ncamps > 1 && (int64_t)r->index <= it->last)
    return wsp__errorf(err, errlen, WSP_EMERGE,
                       "probe %u was run by two campaigns (or out of order)",
                       r->index);
  it->last = r->index;
  it->next[best]++;
  memset(row, 0, sizeof(*row));
  row->r = r;
  row->index = r->index;
  row->start_ns = wsp__start_ns(rep->camps[best], r);
  return 1;
}

int wsp__rows_next(wsp__rows *it, wsp__row *row, char *err, size_t errlen) {
  const wsp_report *rep = it->rep;
  size_t best = (size_t)-1;
  uint32_t best_index = 0;
  int rc;
  if (rep->ncamps > 0)
    return from_camps(it, row, err, errlen);
  /* Reports read back: each lists its probes in index order; take the
   * lowest index of all, as a merge sort of their lists. */
  for (size_t i = 0; i < rep->ninputs; i++) {
    uint32_t index;
    rc = wsp__input_peek(rep->inputs[i], &index, err, errlen);
    if (rc < 0)
      return rc;
    if (rc == 0)
      continue;
    if (best != (size_t)-1 && index == best_index)
      return wsp__errorf(err, errlen, WSP_EMERGE,
                         "probe %u is in both %s and %s: the shards overlap",
                         index, wsp__input_name(rep->inputs[best]),
                         wsp__input_name(rep->inputs[i]));
    if (best == (size_t)-1 || index < best_index) {
      best = i;
      best_index = index;
    }
  }
  if (best == (size_t)-1)
    return 0;
  rc = wsp__input_take(rep->inputs[best], it->facts, row, err, errlen);
  row->input = best;
  return rc < 0 ? rc : 1;
}

int wsp__rows_facts(wsp__rows *it, wsp__row *row, char *err, size_t errlen) {
  if (row->r != NULL)
    return 0;
  return wsp__input_result(it->rep->inputs[row->input], row, err, errlen);
}

void wsp__rows_end(wsp__rows *it) {
  free(it->next);
  it->next = NULL;
}

/* ---- figures gathered over every probe ---- */

void wsp__rep_scan_begin(wsp_report *rep) {
  memset(&rep->sum, 0, sizeof(rep->sum));
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

int wsp__rep_scan(wsp_report *rep, char *err, size_t errlen) {
  wsp__rows it;
  wsp__row row;
  int rc;
  if ((rc = wsp__rows_begin(rep, 1, &it)) != 0)
    return rc;
  wsp__rep_scan_begin(rep);
  while ((rc = wsp__rows_next(&it, &row, err, errlen)) == 1)
    wsp__rep_scan_row(rep, &row);
  wsp__rows_end(&it);
  wsp__rep_scan_end(rep);
  return rc;
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

int wsp_report_new(const wsp_campaign *c, wsp_report **out) {
  wsp_report *rep = NULL;
  int rc;
  if (c == NULL || out == NULL)
    return WSP_EINVAL;
  *out = NULL;
  if ((rc = from_campaign(c, &rep)) != 0 ||
      (rc = wsp__rep_scan(rep, NULL, 0)) != 0) {
    wsp_report_free(rep);
    return rc;
  }
  *out = rep;
  return 0;
}

int wsp_report_new_merged(const wsp_campaign *const *c, size_t n,
                          wsp_report **out, char *err, size_t errlen) {
  wsp_report *rep = NULL, *one = NULL;
  int rc = 0;
  if (c == NULL || n == 0 || out == NULL)
    return wsp__errorf(err, errlen, WSP_EINVAL, "no campaign to report");
  *out = NULL;
  for (size_t i = 0; i < n; i++)
    if (c[i] == NULL || c[i]->running)
      return wsp__errorf(err, errlen, c[i] ? WSP_EBUSY : WSP_EINVAL,
                         "campaign %zu is %s", i + 1,
                         c[i] ? "still running" : "missing");
  if (n == 1)
    return wsp_report_new(c[0], out);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    if ((rc = wsp_report_new(c[i], &one)) != 0) {
      wsp__errorf(err, errlen, rc, "campaign %zu: %s", i + 1, wsp_strerror(rc));
      break;
    }
    if (rep == NULL) {
      if (one->mode == WSP__MODE_WINDOW || one->mode == WSP__MODE_CONCURRENCY)
        rc = wsp__errorf(err, errlen, WSP_EMERGE,
                         "%s searches adapt as they go and cannot be merged",
                         wsp__mode_name(one->mode));
      else if ((rc = wsp__rep_like(one, &rep)) != 0)
        wsp__errorf(err, errlen, rc, "out of memory");
    } else if (strcmp(one->fingerprint, rep->fingerprint) != 0 ||
               one->shard != rep->shard || one->shards != rep->shards) {
      rc = wsp__errorf(err, errlen, WSP_EMERGE,
                       "campaign %zu is another campaign than campaign 1",
                       i + 1);
    }
    if (rc == 0 && (rc = wsp__rep_add(rep, one)) != 0)
      wsp__errorf(err, errlen, rc, "out of memory");
    wsp_report_free(one);
    one = NULL;
  }
  /* The loops' probes, walked together in index order. */
  if (rc == 0 && (rep->camps = malloc(n * sizeof(*rep->camps))) == NULL)
    rc = wsp__errorf(err, errlen, WSP_ENOMEM, "out of memory");
  if (rc == 0) {
    memcpy(rep->camps, c, n * sizeof(*rep->camps));
    rep->ncamps = n;
    rc = wsp__rep_scan(rep, err, errlen);
  }
  if (rc != 0) {
    wsp_report_free(rep);
    return rc;
  }
  *out = rep;
  return 0;
}

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

int wsp_report_write(const wsp_report *rep, wsp_report_format format,
                     unsigned flags, wsp_write_cb write, void *user_data) {
  wsp__out o = {0};
  int rc;
  if (rep == NULL || write == NULL)
    return WSP_EINVAL;
  o.sink = write;
  o.sink_ud = user_data;
  switch (format) {
  case WSP_REPORT_TEXT:
    rc = wsp__report_text(rep, &o);
    break;
  case WSP_REPORT_JSON:
    rc = wsp__report_json(rep, (flags & WSP_REPORT_SHOW_SECRETS) != 0, &o);
    break;
  case WSP_REPORT_HTML:
    rc = wsp__report_html(rep, &o);
    break;
  case WSP_REPORT_JUNIT:
    rc = wsp__report_junit(rep, &o);
    break;
  default:
    rc = WSP_EINVAL;
  }
  if (rc == 0)
    rc = wsp__out_close(&o);
  else
    wsp__out_close(&o);
  return rc;
}

static int collect(const char *data, size_t len, void *ud) {
  wsp__out_put(ud, data, len);
  return ((wsp__out *)ud)->failed ? -1 : 0;
}

int wsp_report_string(const wsp_report *rep, wsp_report_format format,
                      unsigned flags, char **out) {
  wsp__out s = {0};
  int rc;
  if (rep == NULL || out == NULL)
    return WSP_EINVAL;
  *out = NULL;
  rc = wsp_report_write(rep, format, flags, collect, &s);
  if (rc != 0) {
    free(s.p);
    return rc == WSP_EIO && s.failed ? s.failed : rc;
  }
  return wsp__out_finish(&s, out);
}

static int fwrite_cb(const char *data, size_t len, void *ud) {
  return fwrite(data, 1, len, ud) == len ? 0 : -1;
}

int wsp_report_save(const wsp_report *rep, wsp_report_format format,
                    unsigned flags, const char *path, char *err,
                    size_t errlen) {
  struct stat st;
  char *tmp = NULL;
  FILE *f;
  int rc, to_stdout, direct;
  if (rep == NULL || path == NULL)
    return wsp__errorf(err, errlen, WSP_EINVAL, "no report or no path");
  to_stdout = strcmp(path, "-") == 0;
  /* A regular file is written beside its final name and renamed into
   * place: a reader (a merge) never sees half a report. Anything else (a
   * pipe, /dev/null) is written to directly. */
  direct = to_stdout || (stat(path, &st) == 0 && !S_ISREG(st.st_mode));
  if (!direct) {
    size_t n = strlen(path) + 32;
    if ((tmp = malloc(n)) == NULL)
      return wsp__errorf(err, errlen, WSP_ENOMEM, "out of memory");
    snprintf(tmp, n, "%s.part-%ld", path, (long)getpid());
  }
  f = to_stdout ? stdout : fopen(direct ? path : tmp, "w");
  if (f == NULL) {
    rc = wsp__errorf(err, errlen, WSP_EIO, "cannot write %s: %s", path,
                     strerror(errno));
    free(tmp);
    return rc;
  }
  /* The JSON writer hands on one probe at a time: gather them in larger
   * writes than stdio's default. */
  if (!to_stdout)
    setvbuf(f, NULL, _IOFBF, 256 * 1024);
  rc = wsp_report_write(rep, format, flags, fwrite_cb, f);
  if (to_stdout) {
    if (fflush(f) != 0 && rc == 0)
      rc = WSP_EIO;
  } else if (fclose(f) != 0 && rc == 0) {
    rc = WSP_EIO;
  }
  if (rc == 0 && tmp != NULL && rename(tmp, path) != 0)
    rc = WSP_EIO;
  if (rc != 0) {
    wsp__errorf(err, errlen, rc, "cannot write %s: %s", path,
                rc == WSP_EIO ? strerror(errno) : wsp_strerror(rc));
    if (tmp != NULL)
      unlink(tmp);
  }
  free(tmp);
  return rc;
}

int wsp_report_path_check(const char *path, char *err, size_t errlen) {
  struct stat st;
  char *dir;
  const char *slash;
  int ok;
  if (path == NULL || path[0] == '\0')
    return wsp__errorf(err, errlen, WSP_EINVAL, "no path");
  if (strcmp(path, "-") == 0)
    return 0;
  if (stat(path, &st) == 0) {
    if (S_ISDIR(st.st_mode))
      return wsp__errorf(err, errlen, WSP_EIO, "cannot write %s: %s", path,
                         strerror(EISDIR));
    if (access(path, W_OK) != 0)
      return wsp__errorf(err, errlen, WSP_EIO, "cannot write %s: %s", path,
                         strerror(errno));
    if (!S_ISREG(st.st_mode))
      return 0; /* A pipe or a device is written to directly. */
  }
  /* The report is made beside its name, then renamed: the directory must
   * take a new file. */
  slash = strrchr(path, '/');
  dir = slash == NULL   ? wsp__strdup(".")
        : slash == path ? wsp__strdup("/")
                        : wsp__strndup(path, (size_t)(slash - path));
  if (dir == NULL)
    return wsp__errorf(err, errlen, WSP_ENOMEM, "out of memory");
  ok = access(dir, W_OK | X_OK) == 0;
  if (!ok)
    wsp__errorf(err, errlen, WSP_EIO, "cannot write %s: %s", path,
                strerror(errno));
  free(dir);
  return ok ? 0 : WSP_EIO;
}
