/*
 * A custom probe: a scripted conversation the built-in flow (open, one
 * first message, reply, close) does not cover:
 *
 *   send {"type":"run"}, expect agent_completed, wait 200 ms,
 *   send {"type":"run"}, expect agent_completed, close
 *
 *   custom_probe URL
 *
 * Exit status 0 when every step passed.
 *
 * wsprobe 0.1 has no public step API yet, so this example runs the script
 * as a chain of probes on the caller's loop: each (wait, send, expect...)
 * segment is one probe (the wait becomes its first-message delay), started
 * from the previous probe's callback. That is faithful for servers that
 * treat every connection alike; it cannot test what a second message on
 * the same connection does. The step table below is written so that moving
 * to the proposed API is mechanical.
 *
 * Proposed API (for include/wsprobe.h; implementation in lib/probe.c):
 *
 * 1. A declarative script on the config. It is copied with the config, so
 *    it works in campaigns, the CLI (--step) and the Python binding
 *    (steps=[...]) without callbacks crossing the FFI boundary:
 *
 *      // Appends a step. When a config has steps, they replace the
 *      // first-message flow: after the open they run in order, and the
 *      // probe passes when the last step is done and the close handshake
 *      // is clean. Returns WSP_EINVAL (bad input, e.g. invalid UTF-8 in a
 *      // text message) or WSP_ERANGE (more than 256 steps).
 *      WSP_EXTERN int wsp_config_add_step_send(wsp_config *cfg,
 *                                              const void *data,
 *                                              size_t len, int binary);
 *      // Waits for a JSON text message whose "type" equals `type`; other
 *      // messages are recorded and skipped. 0 ms: the awaiting_reply
 *      // timeout. Not arriving in time: expectation_failed (timeout when
 *      // nothing at all arrived), naming the step.
 *      WSP_EXTERN int wsp_config_add_step_expect(wsp_config *cfg,
 *                                                const char *type,
 *                                                uint32_t timeout_ms);
 *      // Waits `ms` (a close from the server meanwhile ends the probe).
 *      WSP_EXTERN int wsp_config_add_step_wait(wsp_config *cfg,
 *                                              uint32_t ms);
 *      // Sends a close frame (`code` 1000..4999, `reason` NULL or at most
 *      // 123 bytes of UTF-8) and awaits the server's answer. Implicit
 *      // (1000) after the last step.
 *      WSP_EXTERN int wsp_config_add_step_close(wsp_config *cfg,
 *                                               int code,
 *                                               const char *reason);
 *      // Removes every step.
 *      WSP_EXTERN int wsp_config_clear_steps(wsp_config *cfg);
 *      // The step the outcome was decided in, from 0; the number of
 *      // steps when all completed; -1 without steps.
 *      WSP_EXTERN int wsp_result_step(const wsp_result *r);
 *
 *    Phases keep their meaning: steps before the first send run in
 *    "open", a send step in "first_send" (the first) or "awaiting_reply"
 *    (later ones), expect and wait steps in "awaiting_reply", close in
 *    "closing". Reports gain "step" (integer or null) and "steps":
 *    [{"kind", "done_ms"}] per probe.
 *
 * 2. Callbacks for logic a script cannot express, as an opaque handlers
 *    object with setters (nghttp2's session_callbacks: ABI-safe to grow):
 *
 *      typedef struct wsp_handlers wsp_handlers;
 *      typedef void (*wsp_open_cb)(wsp_probe *p, void *user_data);
 *      typedef void (*wsp_message_cb)(wsp_probe *p, int binary,
 *                                     const uint8_t *data, size_t len,
 *                                     void *user_data);
 *      typedef void (*wsp_close_cb)(wsp_probe *p, int code,
 *                                   const char *reason, void *user_data);
 *      typedef void (*wsp_timer_cb)(wsp_probe *p, void *user_data);
 *      WSP_EXTERN int wsp_handlers_new(wsp_handlers **out);
 *      WSP_EXTERN void wsp_handlers_free(wsp_handlers *h);
 *      WSP_EXTERN void wsp_handlers_set_open(wsp_handlers *h, wsp_open_cb);
 *      WSP_EXTERN void wsp_handlers_set_message(wsp_handlers *h,
 *                                               wsp_message_cb cb);
 *      WSP_EXTERN void wsp_handlers_set_close(wsp_handlers *h,
 *                                             wsp_close_cb cb);
 *      // Like wsp_probe_start(); the handlers are copied. With an open
 *      // handler the first-message flow is off: the handlers drive it.
 *      WSP_EXTERN int wsp_probe_start_handled(wsp_ctx *ctx,
 *                                             const wsp_config *cfg,
 *                                             const wsp_handlers *h,
 *                                             wsp_probe_cb done,
 *                                             void *user_data,
 *                                             wsp_probe **out);
 *      // Valid from a handler or the loop's thread while the probe is
 *      // open; WSP_ESTATE otherwise.
 *      WSP_EXTERN int wsp_probe_send(wsp_probe *p, const void *data,
 *                                    size_t len, int binary);
 *      WSP_EXTERN int wsp_probe_after(wsp_probe *p, uint32_t ms,
 *                                     wsp_timer_cb cb);
 *      WSP_EXTERN int wsp_probe_close(wsp_probe *p, int code,
 *                                     const char *reason);
 *      // Decides the outcome now (e.g. expectation_failed with `why`)
 *      // and ends the probe; the done callback runs as usual.
 *      WSP_EXTERN int wsp_probe_fail(wsp_probe *p, wsp_outcome o,
 *                                    const char *why);
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>
#include <wsprobe.h>

typedef enum { STEP_SEND, STEP_EXPECT, STEP_WAIT, STEP_CLOSE } step_kind;

typedef struct {
  step_kind kind;   /* What the step does. */
  const char *text; /* SEND: the message; EXPECT: the event type. */
  uint32_t ms;      /* WAIT: how long. */
} step;

static const step script[] = {
    {STEP_SEND, "{\"type\":\"run\"}", 0},
    {STEP_EXPECT, "agent_completed", 0},
    {STEP_WAIT, NULL, 200},
    {STEP_SEND, "{\"type\":\"run\"}", 0},
    {STEP_EXPECT, "agent_completed", 0},
    {STEP_CLOSE, NULL, 0},
};
#define NSTEPS (sizeof(script) / sizeof(script[0]))

typedef struct {
  const char *url; /* The target. */
  wsp_ctx *ctx;    /* wsprobe's state on the loop. */
  size_t next;     /* The first step not yet run. */
  int segments;    /* Probes run so far. */
  int failed;      /* Non-zero once a segment failed. */
} runner;

static int start_segment(runner *run);

static void on_segment_done(wsp_probe *p, wsp_result *r, void *ud) {
  runner *run = ud;
  (void)p;
  printf("  -> %s in %s", wsp_outcome_name(wsp_result_outcome(r)),
         wsp_phase_name(wsp_result_phase(r)));
  for (size_t i = 0; i < wsp_result_event_count(r); i++) {
    const char *type;
    int64_t t;
    if (wsp_result_event(r, i, &type, &t) == 0)
      printf("%s%s@%.1fms", i ? ", " : " [", type, (double)t / 1e6);
  }
  printf("%s\n", wsp_result_event_count(r) ? "]" : "");
  if (!wsp_result_passed(r)) {
    printf("     %s\n", wsp_result_error(r));
    run->failed = 1;
  }
  wsp_result_free(r);
  /* The next segment starts from this callback, on the same loop. */
  if (!run->failed && run->next < NSTEPS && start_segment(run) != 0)
    run->failed = 1;
}

/*
 * Builds one probe from the steps at run->next: any waits (its delay), one
 * send (its first message), the expects that follow (its expected events).
 */
static int start_segment(runner *run) {
  wsp_config *cfg = wsp_config_new();
  uint32_t delay = 0;
  int sent = 0, rc = 0;
  if (cfg == NULL)
    return WSP_ENOMEM;
  if ((rc = wsp_config_set_url(cfg, run->url)) != 0 ||
      (rc = wsp_config_set_timeouts(cfg, 5000)) != 0)
    goto done;
  printf("segment %d:", ++run->segments);
  for (; run->next < NSTEPS; run->next++) {
    const step *s = &script[run->next];
    if (s->kind == STEP_WAIT && !sent) {
      delay += s->ms;
      printf(" wait %u ms;", (unsigned)s->ms);
    } else if (s->kind == STEP_SEND && !sent) {
      rc = wsp_config_set_message(cfg, s->text, strlen(s->text), 0);
      sent = 1;
      printf(" send %s;", s->text);
    } else if (s->kind == STEP_EXPECT && sent) {
      rc = wsp_config_add_expect(cfg, s->text);
      printf(" expect %s;", s->text);
    } else {
      break;
    }
    if (rc != 0)
      goto done;
  }
  if (!sent) {
    /* Without a step API a probe cannot, e.g., expect before it sends. */
    printf("\n");
    fprintf(stderr, "step %zu: needs the step API\n", run->next + 1);
    wsp_config_free(cfg);
    return WSP_EINVAL;
  }
  /* A close step, or the end of the script, ends the connection. */
  if (run->next < NSTEPS && script[run->next].kind == STEP_CLOSE) {
    printf(" close;");
    run->next++;
  }
  printf("\n");
  if ((rc = wsp_config_set_delay(cfg, delay)) == 0)
    rc = wsp_probe_start(run->ctx, cfg, on_segment_done, run, NULL);
done:
  if (rc != 0)
    fprintf(stderr, "step %zu: %s\n", run->next + 1,
            wsp_config_last_error(cfg)[0] ? wsp_config_last_error(cfg)
                                          : wsp_strerror(rc));
  wsp_config_free(cfg);
  return rc;
}

int main(int argc, char **argv) {
  uv_loop_t loop;
  runner run;
  int rc;
  if (argc != 2) {
    fprintf(stderr, "usage: %s URL\n", argv[0]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  memset(&run, 0, sizeof(run));
  run.url = argv[1];
  if (uv_loop_init(&loop) != 0 || wsp_ctx_new(&loop, &run.ctx) != 0)
    return 2;
  if (start_segment(&run) != 0)
    run.failed = 1;
  uv_run(&loop, UV_RUN_DEFAULT);
  rc = wsp_ctx_free(run.ctx);
  if (uv_loop_close(&loop) != 0 || rc != 0)
    run.failed = 1;
  printf("%s: %zu of %zu steps in %d probe(s)\n", run.failed ? "FAIL" : "PASS",
         run.next, NSTEPS, run.segments);
  return run.failed ? 1 : 0;
}
