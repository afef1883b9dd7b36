/*
 * The smallest useful wsprobe program: one probe of a URL, its outcome and
 * phase printed, exit status 0 only when it passed.
 *
 *   cc minimal.c $(pkg-config --cflags --libs wsprobe) -o minimal
 *   ./minimal ws://127.0.0.1:8765/agent '{"type":"run"}'
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <wsprobe.h>

int main(int argc, char **argv) {
  wsp_config *cfg;
  wsp_result *r;
  int rc, passed;
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: %s URL [FIRST-MESSAGE]\n", argv[0]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN); /* A reset connection is an outcome. */
  if ((cfg = wsp_config_new()) == NULL)
    return 2;
  if (wsp_config_set_url(cfg, argv[1]) != 0 ||
      (argc == 3 &&
       wsp_config_set_message(cfg, argv[2], strlen(argv[2]), 0) != 0)) {
    fprintf(stderr, "%s\n", wsp_config_last_error(cfg));
    wsp_config_free(cfg);
    return 2;
  }
  rc = wsp_probe_run(cfg, &r);
  wsp_config_free(cfg);
  if (rc != 0) {
    fprintf(stderr, "cannot probe: %s\n", wsp_strerror(rc));
    return 2;
  }
  printf("%s in %s\n", wsp_outcome_name(wsp_result_outcome(r)),
         wsp_phase_name(wsp_result_phase(r)));
  if (wsp_result_error(r) != NULL)
    printf("%s\n", wsp_result_error(r));
  passed = wsp_result_passed(r);
  wsp_result_free(r);
  return passed ? 0 : 1;
}
