/*
 * Campaigns on several threads (wsp_campaign_set_threads()) against
 * raceserver: a campaign on two loops equals the same campaign on one,
 * with the same seed, in everything that does not depend on timing: the
 * probes' indexes, their delays and outcomes, the counts per outcome and
 * the count of every histogram, for plain campaigns, delay sweeps and
 * bursts. Bursts on two loops are released at one deadline and report
 * each loop's figures, among them the CPU each one held while releasing,
 * which it holds exactly when this process may use two CPUs and a
 * real-time priority. Adaptive searches and other misuses are refused.
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include <cjson/cJSON.h>
#include <uv.h>

#include "check.h"
#include "fixture.h"
#include "wsprobe.h"

static const char *raceserver;

/* What a campaign is made of, besides its threads. */
typedef struct {
  int port;           /* raceserver's. */
  uint32_t delay;     /* First-message delay, ms. */
  uint32_t count;     /* Probes (plain, burst). */
  uint32_t conc;      /* Concurrency. */
  uint32_t jitter;    /* Jitter, ms. */
  int burst;          /* Bursts. */
  const uint32_t *ds; /* Sweep delays, or NULL. */
  size_t nds;         /* How many. */
  uint32_t per;       /* Sweep: probes per delay. */
} spec;

static atomic_uint calls;

static void count_call(wsp_campaign *c, const wsp_result *r, void *ud) {
  CHECK(c == ud); /* The caller's campaign, from whichever thread. */
  CHECK(r != NULL);
  atomic_fetch_add(&calls, 1);
}

static wsp_campaign *make(const spec *s, uint32_t threads) {
  wsp_config *cfg = fixture_agent_config(s->port);
  wsp_campaign *c = NULL;
  CHECK(cfg != NULL);
  CHECK_INT(wsp_config_set_delay(cfg, s->delay), 0);
  CHECK_INT(wsp_campaign_new(cfg, &c), 0);
  wsp_config_free(cfg);
  if (s->ds != NULL)
    CHECK_INT(wsp_campaign_set_delays(c, s->ds, s->nds, s->per), 0);
  else
    CHECK_INT(wsp_campaign_set_count(c, s->count), 0);
  CHECK_INT(wsp_campaign_set_concurrency(c, s->conc), 0);
  CHECK_INT(wsp_campaign_set_jitter(c, s->jitter), 0);
  CHECK_INT(wsp_campaign_set_burst(c, s->burst), 0);
  CHECK_INT(wsp_campaign_set_seed(c, 20261128), 0);
  CHECK_INT(wsp_campaign_set_threads(c, threads), 0);
  CHECK_INT(wsp_campaign_set_probe_cb(c, count_call, c), 0);
  return c;
}

static cJSON *get(const cJSON *o, const char *k) {
  return cJSON_GetObjectItemCaseSensitive(o, k);
}

static double num(const cJSON *o, const char *k) {
  return cJSON_GetNumberValue(get(o, k));
}

/* Runs it and returns its JSON report, parsed. */
static cJSON *run(const spec *s, uint32_t threads, wsp_campaign **out) {
  wsp_campaign *c = make(s, threads);
  char *text = NULL;
  cJSON *j;
  atomic_store(&calls, 0);
  CHECK_INT(wsp_campaign_run(c), 0);
  CHECK_INT(wsp_campaign_threads(c), threads);
  CHECK_INT(atomic_load(&calls), wsp_campaign_result_count(c));
  /* Results in index order, as on one loop. */
  for (size_t i = 1; i < wsp_campaign_result_count(c); i++)
    CHECK(wsp_result_index(wsp_campaign_result(c, i - 1)) <
          wsp_result_index(wsp_campaign_result(c, i)));
  CHECK_INT(wsp_report_json(c, 0, &text), 0);
  j = cJSON_Parse(text);
  CHECK(j != NULL);
  wsp_free(text);
  *out = c;
  return j;
}

/* The counts of every histogram of the summary's spans. */
static void same_span_counts(const cJSON *a, const cJSON *b) {
  const cJSON *sa = get(get(a, "summary"), "spans_ms"), *it;
  const cJSON *sb = get(get(b, "summary"), "spans_ms");
  CHECK(cJSON_GetArraySize(sa) > 0);
  CHECK_INT(cJSON_GetArraySize(sa), cJSON_GetArraySize(sb));
  cJSON_ArrayForEach(it, sa) {
    CHECK(get(sb, it->string) != NULL);
    CHECK_INT(num(it, "count"), num(get(sb, it->string), "count"));
  }
}

/* One loop's report and two loops' agree on what does not depend on
 * timing; `fail_delay` (or -1) is a delay at which every probe fails. */
static void same(const cJSON *one, const cJSON *two, int fail_delay) {
  const cJSON *p1 = get(one, "probes"), *p2 = get(two, "probes");
  const cJSON *c1 = get(one, "campaign"), *c2 = get(two, "campaign");
  const cJSON *o1 = get(get(one, "summary"), "outcomes"), *it;
  int n = cJSON_GetArraySize(p1);
  CHECK(n > 0);
  CHECK_INT(cJSON_GetArraySize(p2), n);
  CHECK_INT(num(c1, "count"), num(c2, "count"));
  CHECK_INT(num(c1, "planned"), num(c2, "planned"));
  CHECK_INT(num(c1, "concurrency"), num(c2, "concurrency"));
  CHECK_STR(cJSON_GetStringValue(get(c1, "fingerprint")),
            cJSON_GetStringValue(get(c2, "fingerprint")));
  CHECK(get(c1, "threads") == NULL);
  CHECK_INT(num(get(c2, "threads"), "count"), 2);
  for (int i = 0; i < n; i++) {
    const cJSON *a = cJSON_GetArrayItem(p1, i), *b = cJSON_GetArrayItem(p2, i);
    CHECK_INT(num(a, "index"), i);
    CHECK_INT(num(b, "index"), i);
    CHECK_INT(num(a, "delay_ms"), num(b, "delay_ms"));
    CHECK_STR(cJSON_GetStringValue(get(a, "outcome")),
              cJSON_GetStringValue(get(b, "outcome")));
    if (fail_delay >= 0)
      CHECK_INT(cJSON_IsTrue(get(a, "passed")),
                num(a, "delay_ms") != fail_delay);
  }
  cJSON_ArrayForEach(it, o1) {
    CHECK_INT(cJSON_GetNumberValue(it),
              num(get(get(two, "summary"), "outcomes"), it->string));
  }
  same_span_counts(one, two);
}

/* Whether a loop's thread may hold a CPU of its own, asked of the system
 * directly: two CPUs to run on, and SCHED_FIFO granted to a thread. */
static void *try_rt(void *arg) {
  struct sched_param sp = {.sched_priority = 1};
  *(int *)arg = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) == 0;
  return NULL;
}

static int may_hold_cpus(void) {
  cpu_set_t set;
  pthread_t t;
  int rt = 0;
  if (sched_getaffinity(0, sizeof(set), &set) != 0 || CPU_COUNT(&set) < 2)
    return 0;
  if (pthread_create(&t, NULL, try_rt, &rt) != 0)
    return 0;
  pthread_join(t, NULL);
  return rt;
}

static void check_loops(const cJSON *rep, uint32_t probes, int bursts) {
  const cJSON *t = get(get(rep, "campaign"), "threads"), *l;
  uint32_t sum = 0;
  int hold = may_hold_cpus(), cpus[2] = {-1, -1}, k = 0;
  CHECK(t != NULL);
  CHECK_INT(cJSON_GetArraySize(get(t, "loops")), 2);
  cJSON_ArrayForEach(l, get(t, "loops")) {
    sum += (uint32_t)num(l, "probes");
    CHECK(num(get(l, "loop_lag_ms"), "count") > 0);
    if (bursts > 0) {
      CHECK_INT(num(l, "bursts"), bursts);
      CHECK_INT(num(get(l, "send_spread_ms"), "count"), bursts);
      CHECK_INT(num(get(l, "release_lag_ms"), "count"), bursts);
      /* Held in every burst, or in none, as the system allows. */
      CHECK_INT(num(l, "held_bursts"), hold ? bursts : 0);
      if (hold) {
        CHECK(cJSON_IsNumber(get(l, "held_cpu")));
        cpus[k] = (int)num(l, "held_cpu");
      } else {
        CHECK(cJSON_IsNull(get(l, "held_cpu")));
      }
    }
    k++;
  }
  /* Two loops, two CPUs. */
  if (bursts > 0 && hold)
    CHECK(cpus[0] >= 0 && cpus[1] >= 0 && cpus[0] != cpus[1]);
  fprintf(stderr, "loops may hold CPUs: %s\n", hold ? "yes" : "no");
  CHECK_INT(sum, probes);
  if (bursts > 0)
    CHECK_INT(num(get(t, "release_lag_ms"), "count"), 2 * bursts);
}

static void compare(const spec *s, int fail_delay, int bursts) {
  wsp_campaign *c1, *c2;
  cJSON *one = run(s, 1, &c1), *two = run(s, 2, &c2);
  char *text = NULL;
  same(one, two, fail_delay);
  check_loops(two, (uint32_t)cJSON_GetArraySize(get(one, "probes")), bursts);
  if (bursts > 0) {
    const cJSON *b1 = get(get(one, "campaign"), "bursts");
    const cJSON *b2 = get(get(two, "campaign"), "bursts");
    CHECK_INT(num(b1, "released"), bursts);
    CHECK_INT(num(b2, "released"), bursts);
    CHECK_INT(num(get(b2, "send_spread_ms"), "count"), bursts);
    fprintf(stderr, "burst spread p50: 1 loop %.3f ms, 2 loops %.3f ms\n",
            num(get(b1, "send_spread_ms"), "p50"),
            num(get(b2, "send_spread_ms"), "p50"));
  }
  /* Every format comes from the same merged model. */
  CHECK_INT(wsp_report_text(c2, &text), 0);
  CHECK(strstr(text, "threads: 2 loops") != NULL);
  wsp_free(text);
  CHECK_INT(wsp_report_html(c2, &text), 0);
  CHECK(strstr(text, "<b>2</b> threads") != NULL);
  wsp_free(text);
  cJSON_Delete(one);
  cJSON_Delete(two);
  CHECK_INT(wsp_campaign_close(c1), 0);
  CHECK_INT(wsp_campaign_close(c2), 0);
}

/* What cannot run on several threads is refused, and says why. */
static void refusals(int port) {
  spec s = {.port = port, .count = 4, .conc = 2};
  wsp_campaign *c = make(&s, 3);
  wsp_config *cfg;
  char why[256];
  uv_loop_t loop;
  wsp_ctx *ctx;
  CHECK_INT(wsp_campaign_validate(c, why, sizeof(why)), WSP_EINVAL);
  CHECK_STR(why, "3 threads for a concurrency of 2: each thread needs a "
                 "connection of its own");
  CHECK_INT(wsp_campaign_run(c), WSP_EINVAL);
  CHECK_INT(wsp_campaign_close(c), 0);

  c = make(&s, 2);
  CHECK_INT(uv_loop_init(&loop), 0);
  CHECK_INT(wsp_ctx_new(&loop, &ctx), 0);
  CHECK_INT(wsp_campaign_start(c, ctx, NULL, NULL), WSP_ESTATE);
  CHECK(strstr(wsp_campaign_last_error(c), "wsp_campaign_run()") != NULL);
  CHECK_INT(wsp_ctx_close(ctx), 0);
  CHECK_INT(uv_loop_close(&loop), 0);
  CHECK_INT(wsp_campaign_set_threads(c, 1025), WSP_ERANGE);
  CHECK_INT(wsp_campaign_close(c), 0);

  cfg = fixture_agent_config(port);
  CHECK_INT(wsp_campaign_new(cfg, &c), 0);
  CHECK_INT(wsp_campaign_set_window_search(c, 0, 100, 10, 2), 0);
  CHECK_INT(wsp_campaign_set_threads(c, 2), 0);
  CHECK_INT(wsp_campaign_validate(c, why, sizeof(why)), WSP_EINVAL);
  CHECK(strstr(why, "a window search runs on one thread") != NULL);
  /* Auto is one loop for an adaptive search. */
  CHECK_INT(wsp_campaign_set_threads(c, 0), 0);
  CHECK_INT(wsp_campaign_threads(c), 1);
  CHECK_INT(wsp_campaign_close(c), 0);

  CHECK_INT(wsp_campaign_new(cfg, &c), 0);
  CHECK_INT(wsp_campaign_set_concurrency_sweep(c, 4), 0);
  CHECK_INT(wsp_campaign_set_threads(c, 2), 0);
  CHECK_INT(wsp_campaign_validate(c, why, sizeof(why)), WSP_EINVAL);
  CHECK(strstr(why, "a concurrency sweep runs on one thread") != NULL);
  CHECK_INT(wsp_campaign_close(c), 0);
  wsp_config_free(cfg);
}

int main(int argc, char **argv) {
  static const uint32_t delays[] = {0, 400};
  static const char *const slow[] = {"--ready-delay", "300", NULL};
  fixture f;
  raceserver = argc > 1 ? argv[1] : getenv("RACESERVER_BIN");
  if (raceserver == NULL)
    return fprintf(stderr, "usage: test_threads RACESERVER\n"), 1;
  signal(SIGPIPE, SIG_IGN);
  CHECK_INT(fixture_raceserver(&f, raceserver, NULL, NULL, NULL, NULL), 0);
  if (f.pid != 0) {
    /* Plain: jittered delays, an odd count and concurrency. */
    compare(&(spec){.port = f.port, .count = 61, .conc = 7, .jitter = 15}, -1,
            0);
    /* Bursts: 5 of 8, the last one short (4 probes). */
    compare(&(spec){.port = f.port, .count = 36, .conc = 8, .burst = 1}, -1, 5);
    /* Bursts with a delay after the last loop is ready. */
    compare(
        &(spec){
            .port = f.port, .count = 12, .conc = 6, .burst = 1, .delay = 20},
        -1, 2);
    refusals(f.port);
    fixture_stop(&f);
  }
  /* A sweep against a server that closes messages within 300 ms of the
   * upgrade with 1011: delay 0 fails, 400 passes, on one loop or two. */
  CHECK_INT(fixture_raceserver_v(&f, raceserver, slow), 0);
  if (f.pid != 0) {
    compare(
        &(spec){.port = f.port, .ds = delays, .nds = 2, .per = 9, .conc = 6}, 0,
        0);
    fixture_stop(&f);
  }
  return check_status("test_threads");
}
