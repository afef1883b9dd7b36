/*
 * wsprobe from a cmocka test suite: a group setup starts raceserver, each
 * test runs one probe and asserts its outcome, the teardown stops the
 * server by its PID.
 *
 *   test_cmocka RACESERVER
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixture.h"
#include "wsprobe.h"

static const char *raceserver;

typedef struct {
  fixture ready;   /* --ready-delay 200: 1011 inside the window. */
  fixture rejects; /* --reject-first 1000: always 503. */
} servers;

static int start(fixture *f, const char *a1, const char *a2) {
  char *argv[] = {(char *)raceserver, "--port",   "0",
                  "--lifetime",       "60",       "--quiet",
                  (char *)a1,         (char *)a2, NULL};
  return fixture_start(f, argv);
}

static int setup(void **state) {
  servers *s = calloc(1, sizeof(*s));
  if (s == NULL || start(&s->ready, "--ready-delay", "200") != 0 ||
      start(&s->rejects, "--reject-first", "1000") != 0) {
    if (s != NULL)
      fixture_stop(&s->ready);
    free(s);
    return -1;
  }
  *state = s;
  return 0;
}

static int teardown(void **state) {
  servers *s = *state;
  fixture_stop(&s->ready);
  fixture_stop(&s->rejects);
  free(s);
  return 0;
}

/* One blocking probe: {"type":"run"} after `delay_ms`. */
static wsp_result *probe(int port, uint32_t delay_ms, const char *expect) {
  char url[64];
  wsp_config *cfg = wsp_config_new();
  wsp_result *r = NULL;
  assert_non_null(cfg);
  snprintf(url, sizeof(url), "ws://127.0.0.1:%d/agent", port);
  assert_int_equal(wsp_config_set_url(cfg, url), 0);
  assert_int_equal(wsp_config_set_message(cfg, "{\"type\":\"run\"}", 14, 0), 0);
  assert_int_equal(wsp_config_set_delay(cfg, delay_ms), 0);
  assert_int_equal(wsp_config_set_timeouts(cfg, 3000), 0);
  if (expect != NULL)
    assert_int_equal(wsp_config_add_expect(cfg, expect), 0);
  assert_int_equal(wsp_probe_run(cfg, &r), 0);
  wsp_config_free(cfg);
  assert_non_null(r);
  return r;
}

static void ok_after_the_window(void **state) {
  servers *s = *state;
  wsp_result *r = probe(s->ready.port, 400, "agent_completed");
  assert_string_equal(wsp_outcome_name(wsp_result_outcome(r)), "ok");
  assert_true(wsp_result_passed(r));
  assert_null(wsp_result_error(r));
  assert_int_equal(wsp_result_close_received(r, NULL), 1000);
  wsp_result_free(r);
}

static void race_inside_the_window(void **state) {
  servers *s = *state;
  const char *reason = NULL;
  wsp_result *r = probe(s->ready.port, 0, NULL);
  assert_int_equal(wsp_result_outcome(r), WSP_OUTCOME_CLOSED_BY_SERVER);
  assert_int_equal(wsp_result_phase(r), WSP_PHASE_AWAITING_REPLY);
  assert_false(wsp_result_passed(r));
  assert_int_equal(wsp_result_close_received(r, &reason), 1011);
  assert_string_equal(reason, "Internal error");
  wsp_result_free(r);
}

static void service_unavailable(void **state) {
  servers *s = *state;
  wsp_result *r = probe(s->rejects.port, 0, NULL);
  assert_int_equal(wsp_result_outcome(r), WSP_OUTCOME_HANDSHAKE_REJECTED);
  assert_int_equal(wsp_result_phase(r), WSP_PHASE_UPGRADE);
  assert_int_equal(wsp_result_http_status(r), 503);
  assert_int_equal(wsp_result_close_received(r, NULL), -1);
  wsp_result_free(r);
}

static void bad_url_is_refused(void **state) {
  wsp_config *cfg = wsp_config_new();
  (void)state;
  assert_int_equal(wsp_config_set_url(cfg, "http://x"), WSP_EURL);
  assert_non_null(strstr(wsp_config_last_error(cfg), "http://x"));
  wsp_config_free(cfg);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(ok_after_the_window),
      cmocka_unit_test(race_inside_the_window),
      cmocka_unit_test(service_unavailable),
      cmocka_unit_test(bad_url_is_refused),
  };
  raceserver = argc > 1 ? argv[1] : getenv("RACESERVER_BIN");
  if (raceserver == NULL) {
    fprintf(stderr, "usage: %s RACESERVER\n", argv[0]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  return cmocka_run_group_tests(tests, setup, teardown);
}
