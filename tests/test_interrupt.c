/*
 * wsp_campaign_interrupt() against raceserver: from another thread, from a
 * signal handler on the loop's own thread, before the campaign starts and
 * after it ended. An interrupted campaign ends soon, keeps its results and
 * still makes its reports.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <uv.h>

#include "check.h"
#include "fixture.h"
#include "wsprobe.h"

static const char *raceserver;
static wsp_campaign *volatile target;

static double now_s(void) { return (double)uv_hrtime() / 1e9; }

/* A campaign that would run for `ms` if nothing stopped it, on `threads`
 * loops. */
static wsp_campaign *long_campaign_on(int port, uint32_t ms, uint32_t threads) {
  wsp_config *cfg = fixture_agent_config(port);
  wsp_campaign *c = NULL;
  CHECK(cfg != NULL);
  CHECK_INT(wsp_config_set_delay(cfg, 100), 0);
  CHECK_INT(wsp_campaign_new(cfg, &c), 0);
  CHECK_INT(wsp_campaign_set_duration(c, ms), 0);
  CHECK_INT(wsp_campaign_set_concurrency(c, 4), 0);
  CHECK_INT(wsp_campaign_set_threads(c, threads), 0);
  wsp_config_free(cfg);
  return c;
}

static wsp_campaign *long_campaign(int port, uint32_t ms) {
  return long_campaign_on(port, ms, 1);
}

/* The campaign's report holds what ran: probes, and a summary of them. */
static void check_partial_report(const wsp_campaign *c) {
  char *text = NULL;
  cJSON *j;
  CHECK_INT(wsp_report_json(c, 0, &text), 0);
  j = cJSON_Parse(text);
  CHECK(j != NULL);
  CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "probes")),
            wsp_campaign_result_count(c));
  CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(
                cJSON_GetObjectItem(j, "summary"), "total")),
            wsp_campaign_result_count(c));
  cJSON_Delete(j);
  wsp_free(text);
  CHECK_INT(wsp_report_text(c, &text), 0);
  CHECK(text != NULL && strstr(text, "FAIL") != NULL);
  wsp_free(text);
}

typedef struct {
  pthread_t loop_thread; /* Where the signal goes, or 0: interrupt here. */
  unsigned after_ms;     /* When. */
} interrupter;

static void *interrupt_later(void *arg) {
  interrupter *in = arg;
  usleep(in->after_ms * 1000);
  if (in->loop_thread)
    pthread_kill(in->loop_thread, SIGUSR1);
  else
    wsp_campaign_interrupt(target);
  return NULL;
}

static void on_usr1(int sig) {
  (void)sig;
  wsp_campaign_interrupt(target);
}

/* 8 s of probing, interrupted 0.5 s in: over well before it would be, on
 * every loop. */
static void interrupted_run(int port, int by_signal, uint32_t threads) {
  interrupter in = {by_signal ? pthread_self() : 0, 500};
  pthread_t t;
  double t0, took;
  size_t n, cancelled = 0;
  wsp_campaign *c = long_campaign_on(port, 8000, threads);
  target = c;
  t0 = now_s();
  CHECK_INT(pthread_create(&t, NULL, interrupt_later, &in), 0);
  CHECK_INT(wsp_campaign_run(c), 0);
  took = now_s() - t0;
  pthread_join(t, NULL);
  fprintf(stderr, "interrupted %s after 0.5 s on %u loop(s): over in %.2f s\n",
          by_signal ? "by a signal" : "from a thread", threads, took);
  CHECK(took < 4.0);
  CHECK(wsp_campaign_interrupted(c));
  n = wsp_campaign_result_count(c);
  CHECK(n > 0);
  for (size_t i = 0; i < n; i++)
    cancelled +=
        wsp_result_outcome(wsp_campaign_result(c, i)) == WSP_OUTCOME_CANCELLED;
  /* The probes in flight were cancelled; those that ended before stand. */
  CHECK(cancelled >= threads);
  CHECK(cancelled < n);
  if (threads > 1) {
    /* Every loop ran probes and had some cancelled: each one heard. */
    char *text = NULL;
    cJSON *j, *l;
    CHECK_INT(wsp_report_json(c, 0, &text), 0);
    j = cJSON_Parse(text);
    wsp_free(text);
    l = cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(j, "campaign"), "threads"),
        "loops");
    CHECK_INT(cJSON_GetArraySize(l), threads);
    for (int i = 0; i < cJSON_GetArraySize(l); i++)
      CHECK(cJSON_GetNumberValue(
                cJSON_GetObjectItem(cJSON_GetArrayItem(l, i), "probes")) > 0);
    cJSON_Delete(j);
  }
  check_partial_report(c);
  /* After the end an interrupt does nothing. */
  wsp_campaign_interrupt(c);
  CHECK_INT(wsp_campaign_close(c), 0);
  target = NULL;
}

static void on_probe(wsp_probe *p, wsp_result *r, void *ud) {
  (void)p;
  (void)ud;
  wsp_result_free(r);
}

/* A context with a probe alive cannot close, and says why. */
static void test_ctx_close(int port) {
  uv_loop_t loop;
  wsp_ctx *ctx;
  wsp_config *cfg = fixture_agent_config(port);
  CHECK_INT(uv_loop_init(&loop), 0);
  CHECK_INT(wsp_ctx_new(&loop, &ctx), 0);
  CHECK_INT(wsp_probe_start(ctx, cfg, on_probe, NULL, NULL), 0);
  CHECK_INT(wsp_ctx_close(ctx), WSP_EBUSY);
  CHECK_STR(wsp_ctx_last_error(ctx), "probes still exist on the context: 1 "
                                     "(they exist until their callback has "
                                     "run)");
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_INT(wsp_ctx_close(ctx), 0);
  CHECK_INT(uv_loop_close(&loop), 0);
  CHECK_INT(wsp_ctx_close(NULL), 0);
  wsp_config_free(cfg);
}

static void test_interrupts(void) {
  fixture f;
  struct sigaction sa;
  wsp_campaign *c;
  double t0;
  CHECK_INT(fixture_raceserver(&f, raceserver, NULL, NULL, NULL, NULL), 0);
  if (f.pid == 0)
    return;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_usr1;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, NULL);
  test_ctx_close(f.port);
  interrupted_run(f.port, 0, 1);
  interrupted_run(f.port, 1, 1);
  interrupted_run(f.port, 0, 2);
  interrupted_run(f.port, 1, 2);

  /* Interrupted before it started: it ends at once, having run nothing,
   * on one loop or on two. */
  for (uint32_t threads = 1; threads <= 2; threads++) {
    c = long_campaign_on(f.port, 8000, threads);
    wsp_campaign_interrupt(c);
    t0 = now_s();
    CHECK_INT(wsp_campaign_run(c), 0);
    CHECK(now_s() - t0 < 1.0);
    CHECK(wsp_campaign_interrupted(c));
    CHECK_INT(wsp_campaign_result_count(c), 0);
    CHECK_INT(wsp_campaign_close(c), 0);
  }

  /* A campaign that ends by itself was not interrupted. */
  c = long_campaign(f.port, 100);
  CHECK_INT(wsp_campaign_run(c), 0);
  CHECK(!wsp_campaign_interrupted(c));
  CHECK(wsp_campaign_result_count(c) > 0);
  wsp_campaign_interrupt(c);
  CHECK(!wsp_campaign_interrupted(c));
  CHECK_INT(wsp_campaign_close(c), 0);
  wsp_campaign_interrupt(NULL);
  CHECK(!wsp_campaign_interrupted(NULL));
  fixture_stop(&f);
}

int main(int argc, char **argv) {
  raceserver = argc > 1 ? argv[1] : getenv("RACESERVER_BIN");
  if (raceserver == NULL)
    return fprintf(stderr, "usage: test_interrupt RACESERVER\n"), 1;
  signal(SIGPIPE, SIG_IGN);
  test_interrupts();
  return check_status("test_interrupt");
}
