/*
 * The report model built and walked (report_model.h): from one campaign or
 * the campaigns of several loops, and the walk over the probes of those
 * campaigns or of reports read back (report_read.c), in index order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report_model.h"

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
  rep->shard_from = c->shard_from;
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
  rep->nthreads = 1;
  rep->flagged = c->flagged;
  memcpy(rep->spans, c->spans, sizeof(rep->spans));
  rep->slice_ms = c->slice_ms;
  if (c->t_start != 0) {
    /* The wall-clock start, by the clocks read together at start. */
    rep->started_us = wsp__clock_to_real_us(&c->clocks, c->t_start);
    rep->started_unix = (double)rep->started_us / 1e6;
  }
  rep->start_at_us = c->start_at_us;
  rep->start_tol_ms = c->start_tol_ms;
  rep->late_ns = c->late_ns;
  rep->clock = c->clock;
  if (c->health_cfg.text != NULL) {
    if ((rep->health_url = wsp__strdup(c->health_cfg.text)) == NULL ||
        wsp__hsamples_merge(&rep->health, &c->hsamples) != 0)
      return WSP_ENOMEM;
    rep->health_interval = c->health_cfg.interval_ms;
    rep->health_timeout = c->health_cfg.timeout_ms;
  }
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
    snprintf(w->stopped, sizeof(w->stopped), "%s",
             c->win_stopped ? c->win_stopped : "");
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

/* ---- the public calls ---- */

/*
 * The report of a campaign run on several loops: the merge of the loops'
 * campaigns, with what only the whole run knows: a burst's spread from
 * the first send on any loop to the last on any, and each loop's figures.
 */
static int from_loops(const wsp_campaign *c, wsp_report **out) {
  wsp_report *rep = NULL;
  int rc = wsp_report_new_merged((const wsp_campaign *const *)c->sub,
                                 c->threads, &rep, NULL, 0);
  *out = rep;
  if (rc != 0)
    return rc;
  rep->nthreads = c->threads;
  if ((rep->loops = calloc(c->threads, sizeof(*rep->loops))) == NULL)
    return WSP_ENOMEM;
  for (uint32_t i = 0; i < c->threads; i++) {
    const wsp_campaign *l = c->sub[i];
    wsp__loop_fig *f = &rep->loops[i];
    f->probes = l->nresults;
    f->concurrency = l->concurrency;
    f->bursts = l->bursts;
    f->spread = l->spread;
    f->release_lag = l->release_lag;
    f->held_bursts = l->held_bursts;
    f->held_cpu = l->held_cpu;
    f->lag = l->lag;
  }
  /* Totals as they were set: the loops' shares of a rate need not add
   * up to it exactly in floating point. */
  rep->concurrency = c->concurrency;
  rep->rate = c->rate;
  rep->bursts = c->bursts;
  rep->spread = c->spread;
  rep->release_lag = c->release_lag;
  return 0;
}

int wsp_report_new(const wsp_campaign *c, wsp_report **out) {
  wsp_report *rep = NULL;
  int rc;
  if (c == NULL || out == NULL)
    return WSP_EINVAL;
  *out = NULL;
  if (c->sub != NULL && !c->running) {
    if ((rc = from_loops(c, &rep)) != 0) {
      wsp_report_free(rep);
      return rc;
    }
    *out = rep;
    return 0;
  }
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

void wsp_report_free(wsp_report *rep) {
  if (rep == NULL)
    return;
  for (size_t i = 0; i < rep->ninputs; i++)
    wsp__input_free(rep->inputs[i]);
  wsp__rep_free(rep);
}
