/*
 * wss:// campaigns on the caller's loop against raceserver with TLS: sessions
 * resumed by ticket and by ID (and kept per loop, across campaigns, per host),
 * full handshakes when resumption is off, a certificate that changes verified
 * afresh, a wrong-host certificate failing every probe. Runs under valgrind
 * in tests/run.sh. Certificates come from tests/tls/gen-certs.sh.
 *
 * Usage: test_tls_loop RACESERVER GEN_CERTS_SH
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "check.h"
#include "fixture.h"
#include "wsprobe.h"

static const char *raceserver;
static char pki[64];

static const char *pem(const char *name) {
  static char path[4][128];
  static int k;
  k = (k + 1) % 4;
  snprintf(path[k], sizeof(path[k]), "%s/%s", pki, name);
  return path[k];
}

/* raceserver with TLS, echoing, with up to 8 more arguments. */
static int start(fixture *f, const char *cert, const char *const *more) {
  char *argv[24] = {(char *)raceserver, "--port", "0",
                    "--lifetime",       "120",    "--quiet",
                    "--on-message",     "echo",   "--tls-cert"};
  char crt[128], key[128];
  int n = 9;
  snprintf(crt, sizeof(crt), "%s/%s.pem", pki, cert);
  snprintf(key, sizeof(key), "%s/%s.key", pki, cert);
  argv[n++] = crt;
  argv[n++] = "--tls-key";
  argv[n++] = key;
  for (; more != NULL && *more != NULL; more++)
    argv[n++] = (char *)*more;
  argv[n] = NULL;
  return fixture_start(f, argv);
}

static wsp_config *config(const char *host, int port, int resume) {
  char url[80];
  wsp_config *cfg = wsp_config_new();
  snprintf(url, sizeof(url), "wss://%s:%d/", host, port);
  CHECK_INT(wsp_config_set_url(cfg, url), 0);
  CHECK_INT(wsp_config_set_message(cfg, "hi", 2, 0), 0);
  CHECK_INT(wsp_config_set_timeouts(cfg, 5000), 0);
  CHECK_INT(wsp_config_set_ca_file(cfg, pem("ca.pem")), 0);
  CHECK_INT(wsp_config_set_tls_resume(cfg, resume), 0);
  return cfg;
}

/* Runs a campaign of `n` probes, `conc` at a time, on `ctx`'s loop. */
static wsp_campaign *run(wsp_ctx *ctx, const wsp_config *cfg, uint32_t n,
                         uint32_t conc) {
  wsp_campaign *c = NULL;
  CHECK_INT(wsp_campaign_new(cfg, &c), 0);
  CHECK_INT(wsp_campaign_set_count(c, n), 0);
  CHECK_INT(wsp_campaign_set_concurrency(c, conc), 0);
  CHECK_INT(wsp_campaign_start(c, ctx, NULL, NULL), 0);
  uv_run(wsp_ctx_loop(ctx), UV_RUN_DEFAULT);
  CHECK_INT(wsp_campaign_result_count(c), n);
  return c;
}

/* The resumed flags of a campaign's results, as a string of 0/1/-. */
static const char *resumed(const wsp_campaign *c) {
  static char s[64];
  size_t i;
  for (i = 0; i < wsp_campaign_result_count(c) && i < sizeof(s) - 1; i++) {
    const wsp_result *r = wsp_campaign_result(c, i);
    int v = wsp_result_tls_resumed(r);
    s[i] = v < 0 ? '-' : (char)('0' + v);
    /* A full handshake names its group, a resumed one has none. */
    if (v == 0)
      CHECK_STR(wsp_result_tls_group(r), "x25519");
    else
      CHECK(wsp_result_tls_group(r) == NULL);
  }
  s[i] = '\0';
  return s;
}

static void test_resumption(uv_loop_t *loop) {
  static const char *const tickets[] = {"--tls-tickets", NULL};
  static const char *const ids[] = {"--tls-session-cache", NULL};
  const char *const *modes[] = {tickets, ids};
  for (size_t m = 0; m < 2; m++) {
    fixture f;
    wsp_ctx *ctx = NULL;
    wsp_config *cfg, *other, *off;
    wsp_campaign *c;
    if (start(&f, "server", modes[m]) != 0) {
      CHECK(0);
      continue;
    }
    CHECK_INT(wsp_ctx_new(loop, &ctx), 0);
    cfg = config("localhost", f.port, 1);
    other = config("127.0.0.1", f.port, 1);
    off = config("localhost", f.port, 0);

    c = run(ctx, cfg, 4, 1);
    CHECK_INT(wsp_campaign_passed(c), 4);
    CHECK_STR(resumed(c), "0111");
    wsp_campaign_free(c);
    /* The session belongs to the loop: the next campaign resumes it. */
    c = run(ctx, cfg, 2, 1);
    CHECK_STR(resumed(c), "11");
    wsp_campaign_free(c);
    /* Another host (and SNI) is another session. */
    c = run(ctx, other, 2, 1);
    CHECK_INT(wsp_campaign_passed(c), 2);
    CHECK_STR(resumed(c), "01");
    wsp_campaign_free(c);
    /* Off: full handshakes, the chain verified once already. */
    c = run(ctx, off, 3, 1);
    CHECK_INT(wsp_campaign_passed(c), 3);
    CHECK_STR(resumed(c), "000");
    wsp_campaign_free(c);
    /* Concurrent probes: at most the first window is full. */
    c = run(ctx, cfg, 12, 4);
    CHECK_INT(wsp_campaign_passed(c), 12);
    CHECK(strcmp(resumed(c), "111111111111") == 0);
    wsp_campaign_free(c);

    CHECK_INT(wsp_ctx_free(ctx), 0);
    wsp_config_free(cfg);
    wsp_config_free(other);
    wsp_config_free(off);
    fixture_stop(&f);
  }
}

static void test_verified_afresh(uv_loop_t *loop) {
  static const char *const changing[] = {"--tls-tickets",
                                         "--tls-next-after",
                                         "2",
                                         "--tls-next-cert",
                                         NULL,
                                         "--tls-next-key",
                                         NULL,
                                         NULL};
  const char *const news[][2] = {
      {"self", "certificate signed by an unknown CA"},
      {"otherhost", "hostname mismatch: the certificate is not for localhost"},
      {"expired", "certificate expired"}};
  for (size_t k = 0; k < 3; k++)
    for (int resume = 0; resume <= 1; resume++) {
      const char *argv[8];
      fixture f;
      wsp_ctx *ctx = NULL;
      wsp_config *cfg;
      wsp_campaign *c;
      char crt[128], key[128];
      memcpy(argv, changing, sizeof(argv));
      snprintf(crt, sizeof(crt), "%s/%s.pem", pki, news[k][0]);
      snprintf(key, sizeof(key), "%s/%s.key", pki, news[k][0]);
      argv[4] = crt;
      argv[6] = key;
      if (start(&f, "server", argv) != 0) {
        CHECK(0);
        continue;
      }
      CHECK_INT(wsp_ctx_new(loop, &ctx), 0);
      cfg = config("localhost", f.port, resume);
      c = run(ctx, cfg, 5, 1);
      CHECK_STR(resumed(c), resume ? "01---" : "00---");
      for (size_t i = 0; i < 5; i++) {
        const wsp_result *r = wsp_campaign_result(c, i);
        if (i < 2) {
          CHECK_INT(wsp_result_outcome(r), WSP_OUTCOME_OK);
          continue;
        }
        CHECK_INT(wsp_result_outcome(r), WSP_OUTCOME_TLS_FAILED);
        CHECK(wsp_result_error(r) != NULL &&
              strncmp(wsp_result_error(r), news[k][1], strlen(news[k][1])) ==
                  0);
        if (wsp_result_error(r) != NULL &&
            strncmp(wsp_result_error(r), news[k][1], strlen(news[k][1])))
          fprintf(stderr, "  probe %zu: %s\n", i, wsp_result_error(r));
      }
      wsp_campaign_free(c);
      CHECK_INT(wsp_ctx_free(ctx), 0);
      wsp_config_free(cfg);
      fixture_stop(&f);
    }
}

int main(int argc, char **argv) {
  uv_loop_t loop;
  char cmd[256];
  if (argc < 3)
    return fprintf(stderr, "usage: test_tls_loop RACESERVER GEN_CERTS\n"), 1;
  raceserver = argv[1];
  signal(SIGPIPE, SIG_IGN);
  snprintf(pki, sizeof(pki), "/tmp/wsprobe-tls-loop-XXXXXX");
  if (mkdtemp(pki) == NULL)
    return perror("mkdtemp"), 1;
  snprintf(cmd, sizeof(cmd), "bash '%s' '%s' >/dev/null", argv[2], pki);
  if (system(cmd) != 0)
    return fprintf(stderr, "%s failed\n", cmd), 1;
  uv_loop_init(&loop);
  test_resumption(&loop);
  test_verified_afresh(&loop);
  CHECK_INT(uv_loop_close(&loop), 0);
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", pki);
  if (system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", pki);
  return check_status("test_tls_loop");
}
