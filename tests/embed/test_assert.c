/*
 * wsprobe from a plain assert() test: no framework, one server, a few
 * probes and a small campaign, exit status 0 when every assert held.
 *
 *   test_assert RACESERVER
 */
#undef NDEBUG /* The asserts are the test, in every build type. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "wsprobe.h"

static wsp_config *config(int port, const char *message) {
  char url[64];
  wsp_config *cfg = wsp_config_new();
  int rc;
  assert(cfg != NULL);
  snprintf(url, sizeof(url), "ws://127.0.0.1:%d/", port);
  rc = wsp_config_set_url(cfg, url);
  assert(rc == 0);
  rc = wsp_config_set_message(cfg, message, strlen(message), 0);
  assert(rc == 0);
  rc = wsp_config_set_timeouts(cfg, 3000);
  assert(rc == 0);
  return cfg;
}

int main(int argc, char **argv) {
  /* It refuses its first upgrade with 503, then echoes. */
  static const char *const args[] = {
      "--port",         "0", "--lifetime",   "60",  "--quiet",
      "--reject-first", "1", "--on-message", "echo"};
  char *server_argv[sizeof(args) / sizeof(args[0]) + 2] = {NULL};
  fixture f;
  wsp_config *cfg;
  wsp_result *r;
  wsp_campaign *c;
  int rc;
  server_argv[0] = argc > 1 ? argv[1] : getenv("RACESERVER_BIN");
  for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++)
    server_argv[i + 1] = (char *)args[i];
  if (server_argv[0] == NULL) {
    fprintf(stderr, "usage: %s RACESERVER\n", argv[0]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  rc = fixture_start(&f, server_argv);
  assert(rc == 0);
  cfg = config(f.port, "ping");

  /* The server refuses its first upgrade: a result, not a crash. */
  rc = wsp_probe_run(cfg, &r);
  assert(rc == 0);
  assert(wsp_result_outcome(r) == WSP_OUTCOME_HANDSHAKE_REJECTED);
  assert(wsp_result_http_status(r) == 503);
  assert(!wsp_result_passed(r));
  wsp_result_free(r);

  /* Then it echoes. */
  rc = wsp_probe_run(cfg, &r);
  assert(rc == 0);
  assert(wsp_result_passed(r));
  assert(wsp_result_message_count(r) == 1);
  assert(wsp_result_span(r, WSP_SPAN_FIRST_REPLY) > 0);
  wsp_result_free(r);

  /* Twenty probes, five at a time. */
  rc = wsp_campaign_new(cfg, &c);
  assert(rc == 0);
  wsp_config_free(cfg);
  rc = wsp_campaign_set_count(c, 20);
  assert(rc == 0);
  rc = wsp_campaign_set_concurrency(c, 5);
  assert(rc == 0);
  rc = wsp_campaign_run(c);
  assert(rc == 0);
  assert(wsp_campaign_result_count(c) == 20);
  assert(wsp_campaign_passed(c) == 20);
  rc = wsp_campaign_free(c);
  assert(rc == 0);

  fixture_stop(&f);
  puts("test_assert: all asserts held");
  return 0;
}
