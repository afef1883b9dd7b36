/*
 * A custom probe: a scripted conversation on one connection, which the
 * built-in flow (open, one first message, reply, close) does not cover:
 *
 *   send {"type":"run"}, expect agent_started, expect agent_completed,
 *   wait 200 ms, send {"type":"run"} again, expect agent_completed,
 *   close 4000 "done"
 *
 *   custom_probe URL
 *
 * It runs on the caller's loop beside nothing else, prints what happened
 * and exits 0 when every step passed. A failure names its step.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <uv.h>

#include "wsprobe.h"

static void on_done(wsp_probe *p, wsp_result *r, void *ud) {
  int *status = ud;
  const char *reason = NULL;
  int code = wsp_result_close_received(r, &reason);
  (void)p;
  printf("%s in %s at step %d", wsp_outcome_name(wsp_result_outcome(r)),
         wsp_phase_name(wsp_result_phase(r)), wsp_result_step(r));
  if (code >= 0)
    printf(", server closed with %d \"%s\"", code, reason ? reason : "");
  printf(", %zu events\n", wsp_result_event_count(r));
  if (!wsp_result_passed(r))
    printf("error: %s\n", wsp_result_error(r));
  *status = wsp_result_passed(r) ? 0 : 1;
  wsp_result_free(r);
}

int main(int argc, char **argv) {
  static const char run[] = "{\"type\":\"run\"}";
  wsp_config *cfg;
  uv_loop_t loop;
  wsp_ctx *ctx;
  int status = 2;

  if (argc != 2) {
    fprintf(stderr, "usage: custom_probe URL\n");
    return 2;
  }
  cfg = wsp_config_new();
  if (wsp_config_set_url(cfg, argv[1]) != 0 ||
      wsp_config_add_step_send(cfg, run, strlen(run), 0) != 0 ||
      wsp_config_add_step_expect(cfg, "agent_started", 2000) != 0 ||
      wsp_config_add_step_expect(cfg, "agent_completed", 2000) != 0 ||
      wsp_config_add_step_wait(cfg, 200) != 0 ||
      wsp_config_add_step_send(cfg, run, strlen(run), 0) != 0 ||
      wsp_config_add_step_expect(cfg, "agent_completed", 2000) != 0 ||
      wsp_config_add_step_close(cfg, 4000, "done") != 0) {
    fprintf(stderr, "custom_probe: %s\n", wsp_config_last_error(cfg));
    wsp_config_free(cfg);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  uv_loop_init(&loop);
  if (wsp_ctx_new(&loop, &ctx) == 0 &&
      wsp_probe_start(ctx, cfg, on_done, &status, NULL) == 0)
    uv_run(&loop, UV_RUN_DEFAULT);
  wsp_config_free(cfg);
  wsp_ctx_free(ctx);
  return uv_loop_close(&loop) == 0 ? status : 2;
}
