/*
 * Campaigns: `count` probes of one config, at most `concurrency` in flight,
 * on one loop. Aggregates are updated as each result arrives.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "campaign.h"

int wsp_campaign_new(const wsp_config *cfg, wsp_campaign **out) {
  wsp_campaign *c;
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
  c->count = 1;
  c->concurrency = 1;
  for (int s = 0; s < WSP_SPAN_COUNT; s++)
    wsp__hist_init(&c->spans[s]);
  *out = c;
  return 0;
}

int wsp_campaign_free(wsp_campaign *c) {
  if (c == NULL)
    return 0;
  if (c->running)
    return WSP_EBUSY;
  if (c->results != NULL)
    for (uint32_t i = 0; i < c->count; i++)
      wsp_result_free(c->results[i]);
  free(c->results);
  free(c->slots);
  free(c->free_slots);
  wsp_config_free(c->cfg);
  free(c);
  return 0;
}

int wsp_campaign_set_count(wsp_campaign *c, uint32_t count) {
  if (c == NULL || count < 1 || count > 10000000)
    return c == NULL ? WSP_EINVAL : WSP_ERANGE;
  if (c->running || c->ran)
    return WSP_ESTATE;
  c->count = count;
  return 0;
}

int wsp_campaign_set_concurrency(wsp_campaign *c, uint32_t n) {
  if (c == NULL || n < 1 || n > 1000000)
    return c == NULL ? WSP_EINVAL : WSP_ERANGE;
  if (c->running || c->ran)
    return WSP_ESTATE;
  c->concurrency = n;
  return 0;
}

int wsp_campaign_set_probe_cb(wsp_campaign *c, wsp_campaign_probe_cb cb,
                              void *user_data) {
  if (c == NULL)
    return WSP_EINVAL;
  c->probe_cb = cb;
  c->probe_ud = user_data;
  return 0;
}

static void record(wsp_campaign *c, wsp_result *r) {
  c->results[r->index] = r;
  c->nresults++;
  if (r->outcome == WSP_OUTCOME_OK)
    c->passed++;
  for (int s = 0; s < WSP_SPAN_COUNT; s++) {
    int64_t v = wsp_result_span(r, (wsp_span)s);
    if (v >= 0)
      wsp__hist_add(&c->spans[s], (uint64_t)v);
  }
  if (c->probe_cb != NULL)
    c->probe_cb(c, r, c->probe_ud);
}

static void launch(wsp_campaign *c);

static void finish_if_done(wsp_campaign *c) {
  if (c->in_flight > 0 || (c->started < c->count && !c->cancelled))
    return;
  if (!c->running)
    return;
  c->running = 0;
  c->t_end = uv_hrtime();
  if (c->done_cb != NULL)
    c->done_cb(c, c->done_ud);
}

static void on_probe(wsp_probe *p, wsp_result *r, void *ud) {
  wsp__slot *slot = ud;
  wsp_campaign *c = slot->c;
  (void)p;
  slot->probe = NULL;
  c->free_slots[c->nfree++] = (uint32_t)(slot - c->slots);
  c->in_flight--;
  record(c, r);
  launch(c);
  finish_if_done(c);
}

static void launch(wsp_campaign *c) {
  while (!c->cancelled && c->started < c->count &&
         c->in_flight < c->concurrency) {
    uint32_t index = c->started++;
    wsp__slot *slot = &c->slots[c->free_slots[--c->nfree]];
    int rc = wsp__probe_start(c->ctx, c->cfg, index, on_probe, slot,
                              &slot->probe);
    if (rc != 0) {
      /* Not even started: record why, as this probe's result. */
      wsp_result *r = wsp__result_new();
      c->nfree++;
      if (r == NULL) {
        c->cancelled = 1;
        c->started--;
        c->count = c->started;
        break;
      }
      r->index = index;
      r->phase = WSP_PHASE_RESOLVE;
      r->error = wsp__strdup(wsp_strerror(rc));
      record(c, r);
      continue;
    }
    c->in_flight++;
  }
}

int wsp_campaign_start(wsp_campaign *c, wsp_ctx *ctx,
                       wsp_campaign_done_cb done, void *user_data) {
  uint32_t nslots;
  if (c == NULL || ctx == NULL)
    return WSP_EINVAL;
  if (c->running || c->ran)
    return WSP_ESTATE;
  nslots = c->concurrency < c->count ? c->concurrency : c->count;
  c->results = calloc(c->count, sizeof(*c->results));
  c->slots = calloc(nslots, sizeof(*c->slots));
  c->free_slots = calloc(nslots, sizeof(*c->free_slots));
  if (c->results == NULL || c->slots == NULL || c->free_slots == NULL) {
    free(c->results);
    free(c->slots);
    free(c->free_slots);
    c->results = NULL;
    c->slots = NULL;
    c->free_slots = NULL;
    return WSP_ENOMEM;
  }
  for (uint32_t i = 0; i < nslots; i++) {
    c->slots[i].c = c;
    c->free_slots[i] = nslots - 1 - i;
  }
  c->nfree = nslots;
  c->ctx = ctx;
  c->done_cb = done;
  c->done_ud = user_data;
  c->running = 1;
  c->ran = 1;
  c->t_start = uv_hrtime();
  launch(c);
  /* Every start may have failed synchronously; completion is still
   * reported from the loop, never from inside this call. */
  if (c->in_flight == 0) {
    uv_timer_init(ctx->loop, &c->idle);
    c->idle.data = c;
    uv_close((uv_handle_t *)&c->idle, wsp__campaign_idle_closed);
  }
  return 0;
}

void wsp__campaign_idle_closed(uv_handle_t *h) {
  finish_if_done(h->data);
}

void wsp_campaign_cancel(wsp_campaign *c) {
  if (c == NULL || !c->running)
    return;
  c->cancelled = 1;
  for (uint32_t i = 0; c->slots && i < c->concurrency && i < c->count; i++)
    if (c->slots[i].probe != NULL)
      wsp_probe_cancel(c->slots[i].probe);
}

static void run_done(wsp_campaign *c, void *ud) {
  (void)c;
  (void)ud;
}

int wsp_campaign_run(wsp_campaign *c) {
  uv_loop_t loop;
  wsp_ctx *ctx = NULL;
  int rc;
  if (c == NULL)
    return WSP_EINVAL;
  if ((rc = uv_loop_init(&loop)) != 0)
    return rc;
  if ((rc = wsp_ctx_new(&loop, &ctx)) == 0 &&
      (rc = wsp_campaign_start(c, ctx, run_done, NULL)) == 0)
    uv_run(&loop, UV_RUN_DEFAULT);
  wsp_ctx_free(ctx);
  if (uv_loop_close(&loop) != 0 && rc == 0)
    rc = WSP_EBUSY;
  return rc;
}

size_t wsp_campaign_result_count(const wsp_campaign *c) {
  return c ? c->nresults : 0;
}

const wsp_result *wsp_campaign_result(const wsp_campaign *c, size_t i) {
  if (c == NULL || c->results == NULL || i >= c->count)
    return NULL;
  return c->results[i];
}

size_t wsp_campaign_passed(const wsp_campaign *c) { return c ? c->passed : 0; }
