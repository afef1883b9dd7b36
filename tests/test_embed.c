/*
 * The library embedded in a caller's loop, against raceserver: outcomes,
 * cancellation, campaigns, and a loop that closes with nothing left open.
 * The loop also runs the caller's own timer; wsprobe must neither stop it
 * nor be stopped by it.
 */
#include <stdlib.h>

#include <uv.h>

#include "check.h"
#include "fixture.h"
#include "wsprobe.h"

static const char *raceserver;

typedef struct {
  wsp_result *r; /* The result, once delivered. */
  int calls;     /* How often the callback ran. */
  int ticks_at;  /* The app's timer ticks when it was delivered. */
} slot;

static int ticks;

static void on_result(wsp_probe *p, wsp_result *r, void *ud) {
  slot *s = ud;
  CHECK(wsp_probe_user_data(p) == ud);
  s->r = r;
  s->calls++;
  s->ticks_at = ticks;
}

static void on_tick(uv_timer_t *t) {
  (void)t;
  ticks++;
}

static wsp_config *config(int port, const char *path) {
  char url[128];
  wsp_config *cfg = wsp_config_new();
  snprintf(url, sizeof(url), "ws://127.0.0.1:%d%s", port, path);
  CHECK_INT(wsp_config_set_url(cfg, url), 0);
  CHECK_INT(wsp_config_set_timeouts(cfg, 3000), 0);
  return cfg;
}

static void start_server(fixture *f, const char *a1, const char *a2,
                         const char *a3, const char *a4) {
  CHECK_INT(fixture_raceserver(f, raceserver, a1, a2, a3, a4), 0);
}

/* Runs probes of `cfgs` side by side on one caller-owned loop. */
static void run(wsp_config **cfgs, slot *slots, int n, int cancel_first) {
  uv_loop_t loop;
  uv_timer_t tick;
  wsp_ctx *ctx;
  wsp_probe *first = NULL;
  CHECK_INT(uv_loop_init(&loop), 0);
  CHECK_INT(wsp_ctx_new(&loop, &ctx), 0);
  uv_timer_init(&loop, &tick);
  uv_timer_start(&tick, on_tick, 1, 1);
  uv_unref((uv_handle_t *)&tick); /* The app's timer must not keep us. */
  for (int i = 0; i < n; i++) {
    memset(&slots[i], 0, sizeof(slots[i]));
    CHECK_INT(wsp_probe_start(ctx, cfgs[i], on_result, &slots[i],
                              i == 0 ? &first : NULL),
              0);
  }
  CHECK_INT(wsp_ctx_free(ctx), WSP_EBUSY); /* Probes are alive. */
  if (cancel_first)
    wsp_probe_cancel(first);
  uv_run(&loop, UV_RUN_DEFAULT);
  for (int i = 0; i < n; i++)
    CHECK_INT(slots[i].calls, 1);
  CHECK_INT(wsp_ctx_free(ctx), 0);
  uv_close((uv_handle_t *)&tick, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_INT(uv_loop_close(&loop), 0);
}

static void test_race_and_events(void) {
  fixture f;
  wsp_config *cfgs[3];
  slot s[3];
  const char *reason;
  start_server(&f, "--ready-delay", "300", NULL, NULL);
  if (f.pid == 0)
    return;
  for (int i = 0; i < 3; i++) {
    cfgs[i] = config(f.port, "/agent");
    CHECK_INT(wsp_config_set_message(cfgs[i], "{\"type\":\"run\"}", 14, 0), 0);
  }
  /* 0: the first message inside the readiness window: 1011. */
  /* 1: after it, expecting the agent's events: ok. */
  CHECK_INT(wsp_config_set_delay(cfgs[1], 500), 0);
  CHECK_INT(wsp_config_add_expect(cfgs[1], "agent_started"), 0);
  CHECK_INT(wsp_config_add_expect(cfgs[1], "agent_completed"), 0);
  /* 2: after it, expecting an event that never comes. */
  CHECK_INT(wsp_config_set_delay(cfgs[2], 500), 0);
  CHECK_INT(wsp_config_add_expect(cfgs[2], "never_sent"), 0);
  CHECK_INT(wsp_config_set_timeout(cfgs[2], WSP_PHASE_AWAITING_REPLY, 300), 0);
  ticks = 0;
  run(cfgs, s, 3, 0);
  /* The app's timer kept running throughout: it ticked between results
   * delivered hundreds of milliseconds apart (0 at once, 1 after its
   * 500 ms delay, 2 after 300 more). How often it ticked depends on how
   * much of the CPU this process got; that it ticked does not. */
  CHECK(s[1].ticks_at > s[0].ticks_at);
  CHECK(s[2].ticks_at > s[1].ticks_at);

  CHECK_INT(wsp_result_outcome(s[0].r), WSP_OUTCOME_CLOSED_BY_SERVER);
  CHECK_INT(wsp_result_phase(s[0].r), WSP_PHASE_AWAITING_REPLY);
  CHECK_INT(wsp_result_passed(s[0].r), 0);
  CHECK_INT(wsp_result_http_status(s[0].r), 101);
  CHECK_INT(wsp_result_close_received(s[0].r, &reason), 1011);
  CHECK_STR(reason, "Internal error");
  CHECK_INT(wsp_result_close_sent(s[0].r, &reason), 1011);
  CHECK(wsp_result_mark(s[0].r, WSP_MARK_FIRST_SENT) >= 0);
  CHECK(wsp_result_mark(s[0].r, WSP_MARK_CLOSE_RECEIVED) >=
        wsp_result_mark(s[0].r, WSP_MARK_FIRST_SENT));
  CHECK(wsp_result_error(s[0].r) != NULL &&
        strstr(wsp_result_error(s[0].r), "1011") != NULL);

  CHECK_INT(wsp_result_outcome(s[1].r), WSP_OUTCOME_OK);
  CHECK_INT(wsp_result_phase(s[1].r), WSP_PHASE_CLOSING);
  CHECK(wsp_result_error(s[1].r) == NULL);
  CHECK_INT(wsp_result_close_sent(s[1].r, NULL), 1000);
  CHECK_INT(wsp_result_close_received(s[1].r, NULL), 1000);
  CHECK(wsp_result_event_count(s[1].r) >= 5);
  {
    static const char *const seq[] = {"agent_started", "agent_thinking",
                                      "tool_executing", "tool_completed",
                                      "agent_completed"};
    int64_t prev = -1;
    for (size_t i = 0; i < 5 && i < wsp_result_event_count(s[1].r); i++) {
      const char *type;
      int64_t t;
      CHECK_INT(wsp_result_event(s[1].r, i, &type, &t), 0);
      CHECK_STR(type, seq[i]);
      CHECK(t >= prev);
      prev = t;
    }
  }
  /* The delay is honoured: the message left at least 500 ms after the
   * 101 arrived, and the result says so. */
  CHECK(wsp_result_delay(s[1].r) == 500);
  CHECK(wsp_result_delay_achieved(s[1].r) >= 500 * 1000000LL);
  CHECK(wsp_result_delay_achieved(s[1].r) ==
        wsp_result_mark(s[1].r, WSP_MARK_FIRST_SENT) -
            wsp_result_mark(s[1].r, WSP_MARK_RESPONSE));
  CHECK(wsp_result_delay_achieved(s[2].r) >= 500 * 1000000LL);
  CHECK(wsp_result_span(s[1].r, WSP_SPAN_FIRST_REPLY) > 0);
  CHECK(wsp_result_span(s[1].r, WSP_SPAN_TOTAL) >=
        wsp_result_span(s[1].r, WSP_SPAN_FIRST_REPLY));

  CHECK_INT(wsp_result_outcome(s[2].r), WSP_OUTCOME_EXPECTATION_FAILED);
  CHECK_INT(wsp_result_phase(s[2].r), WSP_PHASE_AWAITING_REPLY);
  CHECK(strstr(wsp_result_error(s[2].r), "never_sent") != NULL);

  for (int i = 0; i < 3; i++) {
    wsp_result_free(s[i].r);
    wsp_config_free(cfgs[i]);
  }
  fixture_stop(&f);
}

static void test_rejection_cancel_refused(void) {
  fixture f;
  wsp_config *cfgs[3];
  slot s[3];
  size_t blen;
  const uint8_t *body;
  start_server(&f, "--reject-first", "1", "--on-message", "silent");
  if (f.pid == 0)
    return;
  cfgs[0] = config(f.port, "/");
  CHECK_INT(wsp_config_set_message(cfgs[0], "x", 1, 0), 0);
  cfgs[1] = config(f.port, "/");
  CHECK_INT(wsp_config_set_hold(cfgs[1], 60000), 0);
  cfgs[2] = config(1, "/"); /* Nothing listens on port 1. */
  run(cfgs, s, 1, 0);       /* The first connection gets the 503. */
  run(cfgs + 1, s + 1, 2, 1);

  CHECK_INT(wsp_result_outcome(s[0].r), WSP_OUTCOME_HANDSHAKE_REJECTED);
  CHECK_INT(wsp_result_phase(s[0].r), WSP_PHASE_UPGRADE);
  CHECK_INT(wsp_result_http_status(s[0].r), 503);
  CHECK_STR(wsp_result_http_reason(s[0].r), "Service Unavailable");
  CHECK_STR(wsp_result_http_header(s[0].r, "Retry-After"), "5");
  CHECK_STR(wsp_result_http_header(s[0].r, "content-type"), "application/json");
  body = wsp_result_http_body(s[0].r, &blen);
  CHECK(blen > 0 && body != NULL && memchr(body, '{', blen) == body);
  CHECK_INT(wsp_result_close_received(s[0].r, NULL), -1);
  CHECK_INT(wsp_result_passed(s[0].r), 0);

  CHECK_INT(wsp_result_outcome(s[1].r), WSP_OUTCOME_CANCELLED);
  CHECK_INT(wsp_result_outcome(s[2].r), WSP_OUTCOME_CONNECT_REFUSED);
  CHECK_INT(wsp_result_phase(s[2].r), WSP_PHASE_CONNECT);
  CHECK_INT(wsp_result_http_status(s[2].r), 0);
  for (int i = 0; i < 3; i++) {
    wsp_result_free(s[i].r);
    wsp_config_free(cfgs[i]);
  }
  fixture_stop(&f);
}

static int probe_cb_calls;
static void on_campaign_probe(wsp_campaign *c, const wsp_result *r, void *ud) {
  (void)c;
  (void)ud;
  CHECK(r != NULL);
  probe_cb_calls++;
}

static void test_campaign(void) {
  fixture f;
  wsp_config *cfg;
  wsp_campaign *c;
  char *json = NULL, *text = NULL;
  size_t rejected = 0;
  start_server(&f, "--reject-first", "5", "--on-message", "echo");
  if (f.pid == 0)
    return;
  cfg = config(f.port, "/");
  CHECK_INT(wsp_config_set_message(cfg, "ping", 4, 0), 0);
  CHECK_INT(wsp_campaign_new(cfg, &c), 0);
  wsp_config_free(cfg); /* The campaign keeps its own copy. */
  CHECK_INT(wsp_campaign_set_count(c, 40), 0);
  CHECK_INT(wsp_campaign_set_concurrency(c, 8), 0);
  CHECK_INT(wsp_campaign_set_probe_cb(c, on_campaign_probe, NULL), 0);
  CHECK_INT(wsp_campaign_run(c), 0);
  CHECK_INT(probe_cb_calls, 40);
  CHECK_INT(wsp_campaign_result_count(c), 40);
  for (size_t i = 0; i < 40; i++) {
    const wsp_result *r = wsp_campaign_result(c, i);
    CHECK(r != NULL && wsp_result_index(r) == i);
    if (r && wsp_result_outcome(r) == WSP_OUTCOME_HANDSHAKE_REJECTED)
      rejected++;
    else
      CHECK_INT(r ? (int)wsp_result_outcome(r) : -1, WSP_OUTCOME_OK);
  }
  CHECK_INT(rejected, 5);
  CHECK_INT(wsp_campaign_passed(c), 35);
  CHECK_INT(wsp_campaign_set_count(c, 2), WSP_ESTATE);
  CHECK_INT(wsp_report_json(c, 0, &json), 0);
  CHECK(json && strstr(json, "\"handshake_rejected\":\t5") != NULL);
  CHECK(json && strstr(json, "\"503\":\t5") != NULL);
  CHECK_INT(wsp_report_text(c, &text), 0);
  CHECK(text && strstr(text, "FAIL, 35 of 40 passed") != NULL);
  CHECK(text && strstr(text, "503 x5") != NULL);
  wsp_free(json);
  wsp_free(text);
  CHECK_INT(wsp_campaign_free(c), 0);
  fixture_stop(&f);
}

static void test_blocking_run(void) {
  fixture f;
  wsp_config *cfg;
  wsp_result *r = NULL;
  const char *reason;
  start_server(&f, "--on-message", "close:1013:try again later", NULL, NULL);
  if (f.pid == 0)
    return;
  cfg = config(f.port, "/");
  CHECK_INT(wsp_config_set_message(cfg, "go", 2, 0), 0);
  CHECK_INT(wsp_probe_run(cfg, &r), 0);
  CHECK(r != NULL);
  if (r != NULL) {
    CHECK_INT(wsp_result_outcome(r), WSP_OUTCOME_CLOSED_BY_SERVER);
    CHECK_INT(wsp_result_close_received(r, &reason), 1013);
    CHECK_STR(reason, "try again later");
    CHECK_INT(wsp_result_close_sent(r, NULL), 1013);
  }
  wsp_result_free(r);
  wsp_config_free(cfg);
  fixture_stop(&f);
}

/* A scripted conversation: two messages on one connection, each answered
 * by the agent's five events; a failing step is named. */
static void test_steps(void) {
  fixture f;
  wsp_config *cfg;
  wsp_result *r = NULL;
  const char *reason;
  static const char run[] = "{\"type\":\"run\"}";
  start_server(&f, NULL, NULL, NULL, NULL);
  if (f.pid == 0)
    return;
  cfg = config(f.port, "/");
  CHECK_INT(wsp_config_add_step_send(cfg, run, strlen(run), 0), 0);
  CHECK_INT(wsp_config_add_step_expect(cfg, "agent_completed", 0), 0);
  CHECK_INT(wsp_config_add_step_wait(cfg, 100), 0);
  CHECK_INT(wsp_config_add_step_send(cfg, run, strlen(run), 0), 0);
  CHECK_INT(wsp_config_add_step_expect(cfg, "agent_started", 0), 0);
  CHECK_INT(wsp_config_add_step_expect(cfg, "agent_completed", 0), 0);
  CHECK_INT(wsp_config_add_step_close(cfg, 4001, "bye"), 0);
  CHECK_INT(wsp_probe_run(cfg, &r), 0);
  CHECK_INT(wsp_result_outcome(r), WSP_OUTCOME_OK);
  CHECK_INT(wsp_result_step(r), 6);
  CHECK_INT(wsp_result_event_count(r), 10); /* Five events, twice. */
  CHECK_INT(wsp_result_close_sent(r, &reason), 4001);
  CHECK_STR(reason, "bye");
  CHECK_INT(wsp_result_close_received(r, NULL), 4001);
  wsp_result_free(r);

  /* The third step waits for an event that never comes. */
  CHECK_INT(wsp_config_clear_steps(cfg), 0);
  CHECK_INT(wsp_config_add_step_send(cfg, run, strlen(run), 0), 0);
  CHECK_INT(wsp_config_add_step_expect(cfg, "agent_started", 0), 0);
  CHECK_INT(wsp_config_add_step_expect(cfg, "never_sent", 300), 0);
  CHECK_INT(wsp_probe_run(cfg, &r), 0);
  CHECK_INT(wsp_result_outcome(r), WSP_OUTCOME_EXPECTATION_FAILED);
  CHECK_INT(wsp_result_step(r), 2);
  CHECK(strstr(wsp_result_error(r), "step #2: no never_sent") != NULL);
  CHECK_INT(wsp_result_close_sent(r, NULL), 1000);
  wsp_result_free(r);

  /* Validation at set time. */
  CHECK_INT(wsp_config_add_step_close(cfg, 1006, NULL), WSP_ERANGE);
  CHECK_INT(wsp_config_add_step_send(cfg, "\xff", 1, 0), WSP_EINVAL);
  CHECK_INT(wsp_config_add_step_expect(cfg, "", 0), WSP_EEXPECT);
  wsp_config_free(cfg);
  fixture_stop(&f);
}

/*
 * A reply is stamped when it reached the socket, not when a busy loop got
 * round to it: the caller's own timer blocks the loop from 300 ms to
 * 1,500 ms, and the server's echo, held 600 ms, arrives inside that.
 */
static uint64_t block_start, block_end;
static void on_block(uv_timer_t *t) {
  (void)t;
  block_start = uv_hrtime();
  while (uv_hrtime() - block_start < 1200 * (uint64_t)1000000)
    uv_sleep(10);
  block_end = uv_hrtime();
}

static void test_rx_stamps(void) {
  fixture f;
  wsp_config *cfg;
  uv_loop_t loop;
  uv_timer_t block;
  wsp_ctx *ctx;
  slot s;
  uint64_t t0;
  start_server(&f, "--on-message", "echo", "--reply-delay", "600");
  if (f.pid == 0)
    return;
  cfg = config(f.port, "/");
  CHECK_INT(wsp_config_set_message(cfg, "stamp", 5, 0), 0);
  CHECK_INT(uv_loop_init(&loop), 0);
  CHECK_INT(wsp_ctx_new(&loop, &ctx), 0);
  uv_timer_init(&loop, &block);
  memset(&s, 0, sizeof(s));
  t0 = uv_hrtime();
  CHECK_INT(wsp_probe_start(ctx, cfg, on_result, &s, NULL), 0);
  uv_timer_start(&block, on_block, 300, 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_INT(s.calls, 1);
  if (s.r != NULL) {
    /* Marks count from the probe's start, microseconds after t0. */
    int64_t start = 0;
    int64_t sent = start + wsp_result_mark(s.r, WSP_MARK_FIRST_SENT);
    int64_t got = start + wsp_result_mark(s.r, WSP_MARK_FIRST_RECEIVED);
    int64_t blocked_at = (int64_t)(block_start - t0);
    int64_t unblocked_at = (int64_t)(block_end - t0);
    CHECK_INT(wsp_result_outcome(s.r), WSP_OUTCOME_OK);
    /* The premise: the message went out before the block began. */
    CHECK(sent >= 0 && sent < blocked_at);
    /* The reply is stamped about 600 ms after the send, inside the block,
     * not at its end (where a stamp taken on reading would be). */
    CHECK(got - sent >= 600 * (int64_t)1000000);
    CHECK(got < unblocked_at - 300 * (int64_t)1000000);
    /* The response to the upgrade came before any of it. */
    CHECK(wsp_result_mark(s.r, WSP_MARK_RESPONSE) <=
          wsp_result_mark(s.r, WSP_MARK_OPEN));
  }
  wsp_result_free(s.r);
  CHECK_INT(wsp_ctx_free(ctx), 0);
  uv_close((uv_handle_t *)&block, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_INT(uv_loop_close(&loop), 0);
  wsp_config_free(cfg);
  fixture_stop(&f);
}

/* A message larger than the socket takes at once is queued, drained as
 * the server reads, and counts as sent once written: its echo comes back
 * whole. */
static void test_large_message(void) {
  fixture f;
  wsp_config *cfg;
  wsp_result *r = NULL;
  size_t len = 1000 * 1000;
  char *big = malloc(len);
  start_server(&f, "--on-message", "echo", NULL, NULL);
  if (f.pid == 0 || big == NULL) {
    free(big);
    return;
  }
  memset(big, 'a', len);
  cfg = config(f.port, "/");
  CHECK_INT(wsp_config_set_message(cfg, big, len, 0), 0);
  CHECK_INT(wsp_probe_run(cfg, &r), 0);
  if (r != NULL) {
    CHECK_INT(wsp_result_outcome(r), WSP_OUTCOME_OK);
    CHECK_INT(wsp_result_message_count(r), 1);
    CHECK(wsp_result_mark(r, WSP_MARK_FIRST_SENT) >=
          wsp_result_mark(r, WSP_MARK_OPEN));
    CHECK(wsp_result_mark(r, WSP_MARK_FIRST_RECEIVED) >
          wsp_result_mark(r, WSP_MARK_FIRST_SENT));
  }
  wsp_result_free(r);
  wsp_config_free(cfg);
  free(big);
  fixture_stop(&f);
}

/*
 * Each phase's timeout counts from that phase's start, whether it is
 * longer or shorter than the one before (deadlines are re-armed lazily).
 */
static void test_phase_deadlines(void) {
  fixture f;
  wsp_config *cfg;
  wsp_result *r = NULL;
  int64_t waited;
  /* Short earlier phases, a longer wait for the reply: the echo, held
   * 700 ms, is in time although every earlier deadline has passed. */
  start_server(&f, "--on-message", "echo", "--reply-delay", "700");
  if (f.pid == 0)
    return;
  cfg = config(f.port, "/");
  CHECK_INT(wsp_config_set_message(cfg, "x", 1, 0), 0);
  CHECK_INT(wsp_config_set_timeout(cfg, WSP_PHASE_CONNECT, 200), 0);
  CHECK_INT(wsp_config_set_timeout(cfg, WSP_PHASE_UPGRADE, 300), 0);
  CHECK_INT(wsp_config_set_timeout(cfg, WSP_PHASE_FIRST_SEND, 200), 0);
  CHECK_INT(wsp_config_set_timeout(cfg, WSP_PHASE_AWAITING_REPLY, 2000), 0);
  CHECK_INT(wsp_probe_run(cfg, &r), 0);
  CHECK_INT(wsp_result_outcome(r), WSP_OUTCOME_OK);
  wsp_result_free(r);
  /* A longer phase, then a shorter one: awaiting_reply ends 400 ms after
   * the send, long before the 3 s deadline of the phases before it. */
  CHECK_INT(wsp_config_set_timeouts(cfg, 3000), 0);
  CHECK_INT(wsp_config_set_timeout(cfg, WSP_PHASE_AWAITING_REPLY, 400), 0);
  CHECK_INT(wsp_probe_run(cfg, &r), 0);
  CHECK_INT(wsp_result_outcome(r), WSP_OUTCOME_TIMEOUT);
  CHECK_INT(wsp_result_phase(r), WSP_PHASE_AWAITING_REPLY);
  waited = wsp_result_span(r, WSP_SPAN_TOTAL) -
           wsp_result_mark(r, WSP_MARK_FIRST_SENT);
  CHECK(waited >= 400 * (int64_t)1000000);
  CHECK(waited < 690 * (int64_t)1000000); /* Not the echo's 700 ms. */
  wsp_result_free(r);
  wsp_config_free(cfg);
  fixture_stop(&f);
}

int main(int argc, char **argv) {
  raceserver = argc > 1 ? argv[1] : getenv("RACESERVER_BIN");
  if (raceserver == NULL) {
    fprintf(stderr, "usage: test_embed RACESERVER\n");
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  test_race_and_events();
  test_rejection_cancel_refused();
  test_campaign();
  test_blocking_run();
  test_steps();
  test_rx_stamps();
  test_large_message();
  test_phase_deadlines();
  return check_status("test_embed");
}
