/*
 * Campaigns against raceserver: the window search contains the server's
 * readiness window, sweeps and bursts report per delay and per release,
 * ordered expectations, concurrency sweeps, seeds, shards, rate limits,
 * and the loop-lag self-check.
 */
#include <stdlib.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <uv.h>

#include "check.h"
#include "fixture.h"
#include "wsprobe.h"

static const char *raceserver;

static void start(fixture *f, const char *a1, const char *a2, const char *a3,
                  const char *a4) {
  CHECK_INT(fixture_raceserver(f, raceserver, a1, a2, a3, a4), 0);
}

static wsp_config *config(int port) {
  wsp_config *cfg = fixture_agent_config(port);
  CHECK(cfg != NULL);
  return cfg;
}

/* The JSON report of a finished campaign, parsed. */
static cJSON *report(const wsp_campaign *c) {
  char *text = NULL;
  cJSON *j;
  CHECK_INT(wsp_report_json(c, 0, &text), 0);
  j = cJSON_Parse(text);
  CHECK(j != NULL);
  wsp_free(text);
  return j;
}

static cJSON *path(cJSON *j, const char *a, const char *b, const char *c) {
  j = cJSON_GetObjectItemCaseSensitive(j, a);
  if (b)
    j = cJSON_GetObjectItemCaseSensitive(j, b);
  if (c)
    j = cJSON_GetObjectItemCaseSensitive(j, c);
  return j;
}

/* The server's own measurement of a probe's delay: the first message's
 * arrival after the 101, from the close reason raceserver's
 * --report-arrival writes; -1 without one. */
static double server_ms(cJSON *probe) {
  const char *r =
      cJSON_GetStringValue(path(probe, "close", "received", "reason"));
  const char *at = r ? strstr(r, "arrived ") : NULL;
  return at ? atof(at + 8) : -1;
}

/*
 * The search brackets the delays the probes achieved, and agrees with
 * them: the estimate is the largest failing and smallest passing achieved
 * delay. Held against raceserver's window W as the server measured it:
 * no failing probe achieved W (a client never overstates its delay), and
 * every probe's achieved delay is at most what the server saw (the rest
 * is the two one-way loopback latencies). Under load, the server's and the
 * prober's lateness no longer move the result, and runs discarded because
 * the prober lagged are marked so. With no window at all it says so.
 */
static void window_case(unsigned w) {
  fixture f;
  wsp_config *cfg;
  wsp_campaign *c;
  cJSON *j, *win, *est, *p;
  char ready[16];
  const char *concl, *stopped;
  double fail_max = -1, pass_min = -1, gap = 0;
  snprintf(ready, sizeof(ready), "%u", w);
  const char *args[] = {"--ready-delay",    ready,
                        "--on-message",     "events-then-close:1000",
                        "--report-arrival", NULL};
  CHECK_INT(fixture_raceserver_v(&f, raceserver, args), 0);
  if (f.pid == 0)
    return;
  cfg = config(f.port);
  CHECK_INT(wsp_campaign_new(cfg, &c), 0);
  CHECK_INT(wsp_campaign_set_window_search(c, 0, 400, 2, 3), 0);
  CHECK_INT(wsp_campaign_run(c), 0);
  j = report(c);
  win = path(j, "campaign", "window", NULL);
  est = cJSON_GetObjectItem(win, "estimate");
  concl = cJSON_GetStringValue(cJSON_GetObjectItem(win, "conclusion"));
  cJSON_ArrayForEach(p, cJSON_GetObjectItem(j, "probes")) {
    cJSON *a = cJSON_GetObjectItem(p, "delay_achieved_ms");
    double ms = cJSON_GetNumberValue(a), srv = server_ms(p);
    int ok = cJSON_IsTrue(cJSON_GetObjectItem(p, "passed"));
    if (!cJSON_IsNumber(a))
      continue;
    /* Asked is never more than achieved, achieved never more than the
     * server saw. */
    CHECK(ms >= cJSON_GetNumberValue(cJSON_GetObjectItem(p, "delay_ms")));
    if (w > 0) {
      CHECK(srv >= 0 && ms <= srv);
      CHECK_INT(ok, srv >= w);
    }
    /* A run discarded because the prober lagged is not evidence. */
    if (cJSON_IsTrue(cJSON_GetObjectItem(p, "discarded")))
      continue;
    if (!ok && ms > fail_max)
      fail_max = ms;
    if (ok && (pass_min < 0 || ms < pass_min)) {
      pass_min = ms;
      gap = srv - ms;
    }
  }
  if (w == 0) {
    CHECK_STR(concl, "below_range");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(win, "stopped")),
              "range");
  } else {
    double from = cJSON_GetNumberValue(cJSON_GetObjectItem(est, "from_ms"));
    double to = cJSON_GetNumberValue(cJSON_GetObjectItem(est, "to_ms"));
    int overlapping = concl && strcmp(concl, "overlapping") == 0;
    CHECK(concl && (strcmp(concl, "bounded") == 0 || overlapping));
    /* The estimate is exactly what the probes achieved. */
    CHECK(from == (overlapping ? pass_min : fail_max));
    CHECK(to == (overlapping ? fail_max : pass_min));
    CHECK(fail_max < w);
    CHECK(pass_min + gap >= w);
    /* The bracket is as narrow as asked, or the report says why not. */
    stopped = cJSON_GetStringValue(cJSON_GetObjectItem(win, "stopped"));
    CHECK(stopped != NULL);
    if (stopped != NULL && strcmp(stopped, "resolution") == 0)
      CHECK(to - from <= 2);
    else
      CHECK(stopped != NULL && (strcmp(stopped, "no_narrowing") == 0 ||
                                strcmp(stopped, "point_limit") == 0 ||
                                strcmp(stopped, "conclusion") == 0));
    if (!overlapping && stopped != NULL && strcmp(stopped, "conclusion") == 0)
      CHECK(0); /* A bounded search ends on its width, never its conclusion. */
    fprintf(stderr,
            "window estimate [%.3f, %.3f] (%s, stopped: %s) for W = %u; the "
            "server saw the smallest passing delay %.3f ms later\n",
            from, to, concl, stopped ? stopped : "null", w, gap);
  }
  /* The evidence: every point, and the probes they cost. */
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(win, "evidence")) >= 2);
  CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(win, "probes_spent")),
            (double)wsp_campaign_result_count(c));
  cJSON_Delete(j);
  wsp_campaign_free(c);
  wsp_config_free(cfg);
  fixture_stop(&f);
}

static void test_window_contains_w(void) {
  window_case(0);
  window_case(37);
  window_case(250);
}

/* Two shards merged equal the unsharded run: counts, rows, probes. */
static void test_merge_shards(void) {
  fixture f;
  wsp_config *cfg;
  const uint32_t delays[] = {0, 200};
  char *json[3], *merged = NULL, err[200];
  cJSON *full, *m;
  start(&f, "--ready-delay", "100", NULL, NULL);
  if (f.pid == 0)
    return;
  cfg = config(f.port);
  for (int i = 0; i < 3; i++) {
    wsp_campaign *c;
    CHECK_INT(wsp_campaign_new(cfg, &c), 0);
    CHECK_INT(wsp_campaign_set_delays(c, delays, 2, 5), 0);
    CHECK_INT(wsp_campaign_set_concurrency(c, 4), 0);
    CHECK_INT(wsp_campaign_set_seed(c, 9), 0);
    if (i > 0)
      CHECK_INT(wsp_campaign_set_shard(c, (uint32_t)i - 1, 2), 0);
    CHECK_INT(wsp_campaign_run(c), 0);
    CHECK_INT(wsp_report_json(c, 0, &json[i]), 0);
    wsp_campaign_free(c);
  }
  CHECK_INT(wsp_report_merge((const char *const *)json + 1, 2, &merged, err,
                             sizeof(err)),
            0);
  full = cJSON_Parse(json[0]);
  m = cJSON_Parse(merged);
  {
    char *a = cJSON_PrintUnformatted(path(full, "summary", "outcomes", NULL));
    char *b = cJSON_PrintUnformatted(path(m, "summary", "outcomes", NULL));
    CHECK_STR(a, b);
    free(a);
    free(b);
    a = cJSON_PrintUnformatted(path(full, "summary", "close_codes", NULL));
    b = cJSON_PrintUnformatted(path(m, "summary", "close_codes", NULL));
    CHECK_STR(a, b);
    free(a);
    free(b);
  }
  CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(m, "probes")), 10);
  CHECK_INT(
      cJSON_GetNumberValue(path(m, "summary", "spans_ms", "total")->child), 10);
  {
    cJSON *row;
    int k = 0;
    cJSON_ArrayForEach(row, path(m, "campaign", "sweep", NULL)) {
      CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(row, "total")), 5);
      CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(row, "failed")),
                k++ == 0 ? 5 : 0);
    }
  }
  /* Overlapping shards and foreign input are refused with a reason. */
  {
    const char *twice[] = {json[1], json[1]};
    const char *junk[] = {json[1], "{\"x\":1}"};
    char *o = NULL;
    CHECK_INT(wsp_report_merge(twice, 2, &o, err, sizeof(err)), WSP_EINVAL);
    CHECK(strstr(err, "overlap") != NULL);
    CHECK_INT(wsp_report_merge(junk, 2, &o, err, sizeof(err)), WSP_EJSON);
    CHECK(strstr(err, "report 2") != NULL);
  }
  cJSON_Delete(full);
  cJSON_Delete(m);
  wsp_free(merged);
  for (int i = 0; i < 3; i++)
    wsp_free(json[i]);
  wsp_config_free(cfg);
  fixture_stop(&f);
}

static void test_sweep_and_seed(void) {
  fixture f;
  wsp_config *cfg;
  const uint32_t delays[] = {0, 300};
  uint32_t order[2][8];
  start(&f, "--ready-delay", "150", NULL, NULL);
  if (f.pid == 0)
    return;
  cfg = config(f.port);
  for (int run = 0; run < 2; run++) {
    wsp_campaign *c;
    cJSON *j, *rows;
    CHECK_INT(wsp_campaign_new(cfg, &c), 0);
    CHECK_INT(wsp_campaign_set_delays(c, delays, 2, 4), 0);
    CHECK_INT(wsp_campaign_set_seed(c, 42), 0);
    CHECK_INT(wsp_campaign_planned(c), 8);
    CHECK_INT(wsp_campaign_run(c), 0);
    CHECK_INT(wsp_campaign_result_count(c), 8);
    j = report(c);
    rows = path(j, "campaign", "sweep", NULL);
    CHECK_INT(cJSON_GetArraySize(rows), 2);
    CHECK_INT(cJSON_GetNumberValue(
                  cJSON_GetObjectItem(cJSON_GetArrayItem(rows, 0), "failed")),
              4);
    CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(
                  cJSON_GetArrayItem(rows, 0), "failure_rate")),
              1);
    CHECK_INT(cJSON_GetNumberValue(
                  cJSON_GetObjectItem(cJSON_GetArrayItem(rows, 1), "failed")),
              0);
    CHECK_INT(cJSON_GetNumberValue(path(j, "campaign", "seed", NULL)), 42);
    /* Results come in index order: indexes 0-3 had delay 0, 4-7 300. */
    for (size_t i = 0; i < 8; i++) {
      const wsp_result *r = wsp_campaign_result(c, i);
      CHECK_INT(wsp_result_index(r), i);
      CHECK_INT(wsp_result_outcome(r),
                i < 4 ? WSP_OUTCOME_CLOSED_BY_SERVER : WSP_OUTCOME_OK);
    }
    /* The schedule: which probe started n-th. */
    {
      cJSON *probes = cJSON_GetObjectItem(j, "probes"), *p;
      double starts[8];
      int k = 0;
      cJSON_ArrayForEach(p, probes) {
        starts[k++] = cJSON_GetNumberValue(cJSON_GetObjectItem(p, "start_ms"));
      }
      /* order[run][n] = index of the n-th probe started. */
      for (int n = 0; n < 8; n++) {
        int best = -1;
        for (int i = 0; i < 8; i++)
          if (starts[i] >= 0 && (best < 0 || starts[i] < starts[best]))
            best = i;
        order[run][n] = (uint32_t)best;
        starts[best] = -1;
      }
    }
    cJSON_Delete(j);
    wsp_campaign_free(c);
  }
  /* The same seed gives the same schedule. */
  CHECK(memcmp(order[0], order[1], sizeof(order[0])) == 0);
  wsp_config_free(cfg);
  fixture_stop(&f);
}

static void test_burst_and_order(void) {
  fixture f;
  wsp_config *cfg;
  wsp_campaign *c;
  cJSON *j;
  start(&f, NULL, NULL, NULL, NULL);
  if (f.pid == 0)
    return;
  cfg = config(f.port);
  CHECK_INT(wsp_config_add_expect(cfg, "agent_started"), 0);
  CHECK_INT(wsp_config_add_expect(cfg, "tool_executing"), 0);
  CHECK_INT(wsp_config_add_expect(cfg, "agent_completed"), 0);
  CHECK_INT(wsp_config_set_expect_order(cfg, 1), 0);
  CHECK_INT(wsp_campaign_new(cfg, &c), 0);
  CHECK_INT(wsp_campaign_set_count(c, 100), 0);
  CHECK_INT(wsp_campaign_set_concurrency(c, 50), 0);
  CHECK_INT(wsp_campaign_set_burst(c, 1), 0);
  CHECK_INT(wsp_campaign_run(c), 0);
  CHECK_INT(wsp_campaign_passed(c), 100);
  j = report(c);
  CHECK_INT(cJSON_GetNumberValue(path(j, "campaign", "bursts", "released")), 2);
  {
    cJSON *spread = path(j, "campaign", "bursts", "send_spread_ms");
    CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(spread, "count")), 2);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(spread, "max")) >= 0);
  }
  cJSON_Delete(j);
  wsp_campaign_free(c);
  wsp_config_free(cfg);

  /* Out of order: agent_completed expected before tool_executing. */
  cfg = config(f.port);
  CHECK_INT(wsp_config_add_expect(cfg, "agent_started"), 0);
  CHECK_INT(wsp_config_add_expect(cfg, "agent_completed"), 0);
  CHECK_INT(wsp_config_add_expect(cfg, "tool_executing"), 0);
  CHECK_INT(wsp_config_set_expect_order(cfg, 1), 0);
  {
    wsp_result *r = NULL;
    CHECK_INT(wsp_probe_run(cfg, &r), 0);
    CHECK_INT(wsp_result_outcome(r), WSP_OUTCOME_EXPECTATION_FAILED);
    CHECK(strstr(wsp_result_error(r),
                 "tool_executing arrived before agent_completed") != NULL);
    wsp_result_free(r);
  }
  wsp_config_free(cfg);
  fixture_stop(&f);
}

static void test_concurrency_sweep(void) {
  fixture f;
  wsp_config *cfg;
  wsp_campaign *c;
  cJSON *j;
  start(&f, "--max-connections", "4", "--on-message", "silent");
  if (f.pid == 0)
    return;
  cfg = config(f.port);
  /* The server stays silent, so every connection of a level is held open
   * until its reply timeout: the levels above 4 meet the cap. */
  CHECK_INT(wsp_config_set_timeout(cfg, WSP_PHASE_AWAITING_REPLY, 200), 0);
  CHECK_INT(wsp_campaign_new(cfg, &c), 0);
  CHECK_INT(wsp_campaign_set_concurrency_sweep(c, 16), 0);
  CHECK_INT(wsp_campaign_run(c), 0);
  j = report(c);
  CHECK_INT(
      cJSON_GetArraySize(path(j, "campaign", "concurrency_sweep", "levels")),
      5);
  /* Silence times every probe out; what matters is where the 503s begin. */
  {
    cJSON *lv;
    int first503 = -1;
    cJSON_ArrayForEach(lv, path(j, "campaign", "concurrency_sweep", "levels")) {
      cJSON *o = cJSON_GetObjectItem(lv, "outcomes");
      if (first503 < 0 && cJSON_GetObjectItem(o, "handshake_rejected"))
        first503 = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(lv, "level"));
    }
    CHECK_INT(first503, 8);
  }
  cJSON_Delete(j);
  wsp_campaign_free(c);
  wsp_config_free(cfg);
  fixture_stop(&f);
}

static void test_shard_rate_lag(void) {
  fixture f;
  wsp_config *cfg;
  wsp_campaign *c;
  start(&f, "--on-message", "echo", NULL, NULL);
  if (f.pid == 0)
    return;
  cfg = config(f.port);
  CHECK_INT(wsp_campaign_new(cfg, &c), 0);
  CHECK_INT(wsp_campaign_set_count(c, 10), 0);
  CHECK_INT(wsp_campaign_set_shard(c, 1, 3), 0);
  CHECK_INT(wsp_campaign_start(c, NULL, NULL, NULL), WSP_EINVAL);
  CHECK_INT(wsp_campaign_run(c), WSP_EINVAL); /* Shards need the seed. */
  CHECK(strstr(wsp_campaign_last_error(c), "needs the campaign's seed") !=
        NULL);
  wsp_campaign_free(c);
  CHECK_INT(wsp_campaign_new(cfg, &c), 0);
  CHECK_INT(wsp_campaign_set_count(c, 10), 0);
  CHECK_INT(wsp_campaign_set_shard(c, 1, 3), 0);
  CHECK_INT(wsp_campaign_set_seed(c, 3), 0);
  CHECK_INT(wsp_campaign_set_rate(c, 40), 0);
  CHECK_INT(wsp_campaign_planned(c), 3);
  CHECK_INT(wsp_campaign_run(c), 0);
  CHECK_INT(wsp_campaign_result_count(c), 3);
  for (size_t i = 0; i < 3; i++)
    CHECK_INT(wsp_result_index(wsp_campaign_result(c, i)), 1 + 3 * i);
  wsp_campaign_free(c);

  /* The rate is a ceiling: 12 probes at 40/s take at least 11/40 s. */
  CHECK_INT(wsp_campaign_new(cfg, &c), 0);
  CHECK_INT(wsp_campaign_set_count(c, 12), 0);
  CHECK_INT(wsp_campaign_set_concurrency(c, 12), 0);
  CHECK_INT(wsp_campaign_set_rate(c, 40), 0);
  CHECK_INT(wsp_campaign_run(c), 0);
  CHECK_INT(wsp_campaign_passed(c), 12);
  {
    char *text;
    cJSON *j, *p;
    double lo = 1e18, hi = 0;
    CHECK_INT(wsp_report_json(c, 0, &text), 0);
    j = cJSON_Parse(text);
    cJSON_ArrayForEach(p, cJSON_GetObjectItem(j, "probes")) {
      double s = cJSON_GetNumberValue(cJSON_GetObjectItem(p, "start_ms"));
      lo = s < lo ? s : lo;
      hi = s > hi ? s : hi;
    }
    CHECK(hi - lo >= 11.0 / 40 * 1000 - 2);
    cJSON_Delete(j);
    wsp_free(text);
  }
  wsp_campaign_free(c);
  wsp_config_free(cfg);
  fixture_stop(&f);
}

/* A callback that stalls the loop for 200 ms when probe 2 has ended. */
static void stall(wsp_campaign *c, const wsp_result *r, void *ud) {
  (void)c;
  (void)ud;
  if (wsp_result_index(r) == 2)
    usleep(200 * 1000);
}

/*
 * The stall is put on the probes that were in flight during it, and on no
 * probe that had ended before it; the summary warns. What is checked is
 * where this stall went, not that the machine was otherwise quiet: a busy
 * machine may flag probes 0-1 too, but not with the stall's lag.
 */
static void test_lag_flags(void) {
  fixture f;
  wsp_config *cfg;
  wsp_campaign *c;
  char *text = NULL;
  start(&f, "--on-message", "echo", "--reply-delay", "100");
  if (f.pid == 0)
    return;
  cfg = config(f.port);
  CHECK_INT(wsp_campaign_new(cfg, &c), 0);
  CHECK_INT(wsp_campaign_set_count(c, 6), 0);
  CHECK_INT(wsp_campaign_set_concurrency(c, 6), 0);
  CHECK_INT(wsp_campaign_set_lag_threshold(c, 20), 0);
  /* Starts 50 ms apart, replies after 100 ms: probes 0-1 have ended and
   * probe 3 is in flight when probe 2's callback stalls the loop. */
  CHECK_INT(wsp_campaign_set_rate(c, 20), 0);
  CHECK_INT(wsp_campaign_set_probe_cb(c, stall, NULL), 0);
  CHECK_INT(wsp_campaign_run(c), 0);
  {
    double lag[6] = {0};
    for (size_t i = 0; i < 6; i++) {
      char *json = NULL;
      CHECK_INT(wsp_result_to_json(wsp_campaign_result(c, i), &json), 0);
      wsp_free(json);
    }
    CHECK_INT(wsp_report_json(c, 0, &text), 0);
    {
      cJSON *j = cJSON_Parse(text), *p;
      cJSON_ArrayForEach(p, cJSON_GetObjectItem(j, "probes")) {
        int i = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(p, "index"));
        if (i >= 0 && i < 6)
          lag[i] = cJSON_GetNumberValue(cJSON_GetObjectItem(p, "loop_lag_ms"));
        if (i == 3)
          CHECK(cJSON_IsTrue(cJSON_GetObjectItem(p, "lag_flagged")));
      }
      cJSON_Delete(j);
    }
    wsp_free(text);
    /* The stall (200 ms, less one 10 ms tick at most) is probe 3's worst
     * lag, and larger than anything probes 0-1 saw. */
    CHECK(lag[3] >= 190);
    CHECK(lag[3] > lag[0] && lag[3] > lag[1]);
  }
  CHECK_INT(wsp_report_text(c, &text), 0);
  CHECK(text && strstr(text, "WARNING") != NULL);
  CHECK(text && strstr(text, "their timings are suspect") != NULL);
  wsp_free(text);
  wsp_campaign_free(c);
  wsp_config_free(cfg);
  fixture_stop(&f);
}

/*
 * A window point run while the prober lagged is run again, twice at most,
 * then kept and marked. The caller's own timer stalls the loop for 60 ms
 * every 20 ms while the first nine probes run: the first point (three
 * probes, 100 ms each) lags in every run, so it is run three times and
 * kept, flagged; the points after it do not lag.
 */
static void on_stall_tick(uv_timer_t *t) {
  if (wsp_campaign_result_count(t->data) < 9)
    usleep(60 * 1000);
  else
    uv_timer_stop(t);
}

static void on_done(wsp_campaign *c, void *ud) {
  (void)c;
  uv_close(ud, NULL);
}

/* The probes marked discarded: with `first`, checks that they are the
 * first two runs of the first point (the ones run again), the rest not. */
static int discarded_probes(cJSON *j, int first) {
  cJSON *p;
  int n = 0;
  cJSON_ArrayForEach(p, cJSON_GetObjectItem(j, "probes")) {
    cJSON *d = cJSON_GetObjectItem(p, "discarded");
    int i = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(p, "index"));
    CHECK(cJSON_IsBool(d));
    if (first)
      CHECK(cJSON_IsTrue(d) == (i < 6));
    n += cJSON_IsTrue(d);
  }
  return n;
}

static void test_window_reruns(void) {
  fixture f;
  wsp_config *cfg;
  wsp_campaign *c;
  uv_loop_t loop;
  uv_timer_t tick;
  wsp_ctx *ctx;
  cJSON *j, *ev, *first, *e;
  double spent = 0;
  start(&f, "--ready-delay", "30", "--on-message", "echo");
  if (f.pid == 0)
    return;
  cfg = config(f.port);
  CHECK_INT(wsp_campaign_new(cfg, &c), 0);
  CHECK_INT(wsp_campaign_set_window_search(c, 0, 100, 50, 3), 0);
  CHECK_INT(wsp_campaign_set_lag_threshold(c, 20), 0);
  CHECK_INT(uv_loop_init(&loop), 0);
  CHECK_INT(wsp_ctx_new(&loop, &ctx), 0);
  uv_timer_init(&loop, &tick);
  tick.data = c;
  uv_timer_start(&tick, on_stall_tick, 20, 20);
  CHECK_INT(wsp_campaign_start(c, ctx, on_done, &tick), 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_INT(wsp_ctx_free(ctx), 0);
  CHECK_INT(uv_loop_close(&loop), 0);
  j = report(c);
  ev = path(j, "campaign", "window", "evidence");
  first = cJSON_GetArrayItem(ev, 0);
  CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(first, "delay_ms")), 100);
  CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(first, "reruns")), 2);
  CHECK(cJSON_IsTrue(cJSON_GetObjectItem(first, "lag_flagged")));
  CHECK_INT(cJSON_GetNumberValue(
                cJSON_GetObjectItem(cJSON_GetArrayItem(ev, 1), "reruns")),
            0);
  /* The discarded runs' probes were spent, and are in the report. */
  CHECK_INT(cJSON_GetNumberValue(path(j, "campaign", "window", "probes_spent")),
            (double)wsp_campaign_result_count(c));
  cJSON_ArrayForEach(e, ev) spent +=
      cJSON_GetNumberValue(cJSON_GetObjectItem(e, "trials"));
  CHECK_INT(wsp_campaign_result_count(c), spent + 6);
  CHECK_INT(discarded_probes(j, 1), 6);
  {
    /* Read back (as a conversion does), the marks are kept. */
    char *text = NULL, *again = NULL, err[200] = "";
    const char *texts[1];
    wsp_report *rep = NULL;
    cJSON *k;
    CHECK_INT(wsp_report_json(c, 0, &text), 0);
    texts[0] = text;
    CHECK_INT(wsp_report_merge_texts(texts, 1, 0, &rep, err, sizeof(err)), 0);
    CHECK_INT(wsp_report_string(rep, WSP_REPORT_JSON, 0, &again), 0);
    k = cJSON_Parse(again);
    CHECK_INT(discarded_probes(k, 0), 6);
    cJSON_Delete(k);
    wsp_report_free(rep);
    wsp_free(again);
    wsp_free(text);
  }
  {
    /* One JUnit case per point, its kept run's probes only. */
    char *junit = NULL, *at;
    int cases = 0;
    CHECK_INT(wsp_report_junit(c, &junit), 0);
    for (at = junit; at && (at = strstr(at, "<testcase ")) != NULL; at++)
      cases++;
    CHECK_INT(cases, cJSON_GetArraySize(ev));
    CHECK(junit && strstr(junit, "3 of 3 probes failed") != NULL);
    wsp_free(junit);
  }
  cJSON_Delete(j);
  wsp_campaign_free(c);
  wsp_config_free(cfg);
  fixture_stop(&f);
}

/* Health beside the probes: its setters refuse what they must, and a
 * campaign polls (raceserver answers a plain GET with 426) without the
 * answers touching the verdict. */
static void test_health(void) {
  fixture f;
  wsp_config *cfg;
  wsp_campaign *c;
  char url[64];
  cJSON *rep, *h, *s0;
  start(&f, "--on-message", "echo", NULL, NULL);
  if (f.pid == 0)
    return;
  cfg = config(f.port);
  CHECK_INT(wsp_campaign_new(cfg, &c), 0);
  CHECK_INT(wsp_campaign_set_health(c, "ws://127.0.0.1/"), WSP_EURL);
  CHECK(strstr(wsp_campaign_last_error(c), "http:// or https://") != NULL);
  CHECK_INT(wsp_campaign_set_health(c, "http://"), WSP_EURL);
  CHECK_INT(wsp_campaign_set_health_interval(c, 0), WSP_ERANGE);
  CHECK_INT(wsp_campaign_set_health_timeout(c, 3600001), WSP_ERANGE);
  CHECK_INT(wsp_campaign_set_health(NULL, "http://127.0.0.1/"), WSP_EINVAL);
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/", f.port);
  CHECK_INT(wsp_campaign_set_health(c, url), 0);
  CHECK_INT(wsp_campaign_set_health_interval(c, 50), 0);
  CHECK_INT(wsp_campaign_set_count(c, 4), 0);
  CHECK_INT(wsp_campaign_run(c), 0);
  CHECK_INT(wsp_campaign_set_health(c, url), WSP_ESTATE);
  CHECK_INT((int)wsp_campaign_passed(c), 4);
  rep = report(c);
  h = cJSON_GetObjectItem(rep, "health");
  CHECK(cJSON_IsObject(h));
  CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(h, "url")), url);
  s0 = cJSON_GetArrayItem(cJSON_GetObjectItem(h, "samples"), 0);
  CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(s0, "status")), 426);
  CHECK(cJSON_IsNull(cJSON_GetObjectItem(s0, "error")));
  cJSON_Delete(rep);
  wsp_campaign_free(c);
  wsp_config_free(cfg);
  fixture_stop(&f);
}

int main(int argc, char **argv) {
  raceserver = argc > 1 ? argv[1] : getenv("RACESERVER_BIN");
  if (raceserver == NULL)
    return fprintf(stderr, "usage: test_campaign RACESERVER\n"), 1;
  signal(SIGPIPE, SIG_IGN);
  test_window_contains_w();
  test_merge_shards();
  test_sweep_and_seed();
  test_burst_and_order();
  test_concurrency_sweep();
  test_shard_rate_lag();
  test_lag_flags();
  test_window_reruns();
  test_health();
  return check_status("test_campaign");
}
