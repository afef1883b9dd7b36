/*
 * Every hostile_server scenario against the library: the exact outcome and
 * phase, the close codes received and sent, the HTTP status, and that the
 * probe ended within its timeouts. Each scenario runs once alone and then
 * as a campaign of parallel probes, which must all agree: an outcome that
 * depends on timing is a bug in the scenario or in wsprobe.
 *
 * Usage: test_hostile HOSTILE_SERVER [SCENARIO...]
 */
#include <stdlib.h>

#include <cjson/cJSON.h>
#include <uv.h>

#include "check.h"
#include "fixture.h"
#include "wsprobe.h"

/* AddressSanitizer keeps freed memory in quarantine (256 MiB by default):
 * RSS says nothing about leaks there, so it is printed but not checked. */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_CHECKED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RSS_CHECKED 0
#endif
#endif
#ifndef RSS_CHECKED
#define RSS_CHECKED 1
#endif

/* Every phase's timeout in these tests. */
#define PHASE_MS 1000
/* Not checked. */
#define ANY (-2)
/* Probes of each scenario's campaign, all at once. */
#define CAMPAIGN 10

enum {
  F_BIG = 1 << 0,      /* Send a 32 MiB first message. */
  F_MEM = 1 << 1,      /* Check the peak memory of the process. */
  F_TIMEOUT = 1 << 2,  /* Ends by a timeout: at least PHASE_MS. */
  F_SUBPROTO = 1 << 3, /* Offer a subprotocol ("chat"). */
  F_PATIENT = 1 << 4,  /* 10 s timeouts: lots of work before the reply
                          (under valgrind, 100,000 pings take seconds). */
  F_COMPRESS = 1 << 5, /* Offer permessage-deflate (--compress). */
};

typedef struct {
  const char *scenario; /* hostile_server --scenario. */
  wsp_outcome outcome;  /* The outcome it must give. */
  wsp_phase phase;      /* In this phase. */
  int http;             /* HTTP status (0: none), or ANY. */
  int recv;             /* Close code received (-1: none), or ANY. */
  int sent;             /* Close code sent (-1: none), or ANY. */
  unsigned flags;       /* F_*. */
} hcase;

#define O(x) WSP_OUTCOME_##x
#define P(x) WSP_PHASE_##x

static const hcase cases[] = {
    {"echo", O(OK), P(CLOSING), 101, 1000, 1000, 0},
    {"slowloris", O(TIMEOUT), P(UPGRADE), 0, -1, -1, F_TIMEOUT},
    {"huge-headers", O(HANDSHAKE_INVALID), P(UPGRADE), 101, -1, -1, 0},
    {"huge-header-line", O(HANDSHAKE_INVALID), P(UPGRADE), 101, -1, -1, 0},
    {"headers-40k", O(HANDSHAKE_INVALID), P(UPGRADE), 101, -1, -1, 0},
    {"no-end-of-headers", O(TIMEOUT), P(UPGRADE), 0, -1, -1, F_TIMEOUT},
    {"bad-accept", O(HANDSHAKE_INVALID), P(UPGRADE), 101, -1, -1, 0},
    {"no-upgrade", O(HANDSHAKE_INVALID), P(UPGRADE), 101, -1, -1, 0},
    {"no-connection-upgrade", O(HANDSHAKE_INVALID), P(UPGRADE), 101, -1, -1, 0},
    {"unoffered-subprotocol", O(HANDSHAKE_INVALID), P(UPGRADE), 101, -1, -1,
     F_SUBPROTO},
    {"unoffered-extension", O(HANDSHAKE_INVALID), P(UPGRADE), 101, -1, -1, 0},
    {"http10-101", O(HANDSHAKE_INVALID), P(UPGRADE), 101, -1, -1, 0},
    {"garbage-response", O(HANDSHAKE_INVALID), P(UPGRADE), 0, -1, -1, 0},
    {"rst-before-response", O(ABNORMAL_CLOSURE), P(UPGRADE), 0, -1, -1, 0},
    {"rst-mid-response", O(HANDSHAKE_INVALID), P(UPGRADE), 101, -1, -1, 0},
    {"eof-before-response", O(ABNORMAL_CLOSURE), P(UPGRADE), 0, -1, -1, 0},
    {"eof-mid-response", O(HANDSHAKE_INVALID), P(UPGRADE), 101, -1, -1, 0},
    {"reject-endless-body", O(HANDSHAKE_REJECTED), P(UPGRADE), 503, -1, -1, 0},
    {"reject-stalled-body", O(HANDSHAKE_REJECTED), P(UPGRADE), 503, -1, -1,
     F_TIMEOUT},
    {"garbage-after-101", O(PROTOCOL_ERROR), P(OPEN), 101, -1, 1002, 0},
    /* Before the cases that send 32 MiB: the bomb's peak RSS counts. */
    {"deflate-bomb", O(PROTOCOL_ERROR), P(AWAITING_REPLY), 101, -1, 1009,
     F_COMPRESS | F_MEM},
    {"deflate-bad-utf8", O(PROTOCOL_ERROR), P(AWAITING_REPLY), 101, -1, 1007,
     F_COMPRESS},
    {"deflate-bad-param", O(HANDSHAKE_INVALID), P(UPGRADE), 101, -1, -1,
     F_COMPRESS},
    {"deflate-unknown-param", O(HANDSHAKE_INVALID), P(UPGRADE), 101, -1, -1,
     F_COMPRESS},
    {"deflate-twice", O(HANDSHAKE_INVALID), P(UPGRADE), 101, -1, -1,
     F_COMPRESS},
    {"ping-flood", O(OK), P(CLOSING), 101, 1000, 1000, F_MEM | F_PATIENT},
    {"ping-flood-forever", O(TIMEOUT), P(AWAITING_REPLY), 101, -1, 1000,
     F_MEM | F_TIMEOUT},
    {"half-close", O(ABNORMAL_CLOSURE), P(AWAITING_REPLY), 101, 1006, -1, 0},
    {"never-read", O(TIMEOUT), P(FIRST_SEND), 101, -1, ANY, F_BIG | F_TIMEOUT},
    {"masked-frame", O(PROTOCOL_ERROR), P(AWAITING_REPLY), 101, -1, 1002, 0},
    {"length-2^63", O(PROTOCOL_ERROR), P(AWAITING_REPLY), 101, -1, 1002, 0},
    {"length-2^63-1", O(PROTOCOL_ERROR), P(AWAITING_REPLY), 101, -1, 1009, 0},
    {"fragmented-ping", O(PROTOCOL_ERROR), P(AWAITING_REPLY), 101, -1, 1002, 0},
    {"long-ping", O(PROTOCOL_ERROR), P(AWAITING_REPLY), 101, -1, 1002, 0},
    {"reserved-opcode", O(PROTOCOL_ERROR), P(AWAITING_REPLY), 101, -1, 1002, 0},
    {"rsv-bits", O(PROTOCOL_ERROR), P(AWAITING_REPLY), 101, -1, 1002, 0},
    {"orphan-continuation", O(PROTOCOL_ERROR), P(AWAITING_REPLY), 101, -1, 1002,
     0},
    {"close-0", O(PROTOCOL_ERROR), P(AWAITING_REPLY), 101, 0, 1002, 0},
    {"close-999", O(PROTOCOL_ERROR), P(AWAITING_REPLY), 101, 999, 1002, 0},
    {"close-1004", O(PROTOCOL_ERROR), P(AWAITING_REPLY), 101, 1004, 1002, 0},
    {"close-1005", O(PROTOCOL_ERROR), P(AWAITING_REPLY), 101, 1005, 1002, 0},
    {"close-1006", O(PROTOCOL_ERROR), P(AWAITING_REPLY), 101, 1006, 1002, 0},
    {"close-1015", O(PROTOCOL_ERROR), P(AWAITING_REPLY), 101, 1015, 1002, 0},
    {"close-1016", O(PROTOCOL_ERROR), P(AWAITING_REPLY), 101, 1016, 1002, 0},
    {"close-2999", O(PROTOCOL_ERROR), P(AWAITING_REPLY), 101, 2999, 1002, 0},
    {"close-5000", O(PROTOCOL_ERROR), P(AWAITING_REPLY), 101, 5000, 1002, 0},
    {"close-65535", O(PROTOCOL_ERROR), P(AWAITING_REPLY), 101, 65535, 1002, 0},
    {"close-1012", O(CLOSED_BY_SERVER), P(AWAITING_REPLY), 101, 1012, 1012, 0},
    {"close-1-byte", O(PROTOCOL_ERROR), P(AWAITING_REPLY), 101, -1, 1002, 0},
    {"close-reason-control", O(CLOSED_BY_SERVER), P(AWAITING_REPLY), 101, 1011,
     1011, 0},
    {"bad-utf8-text", O(PROTOCOL_ERROR), P(AWAITING_REPLY), 101, -1, 1007, 0},
    {"bad-utf8-fragmented", O(PROTOCOL_ERROR), P(AWAITING_REPLY), 101, -1, 1007,
     0},
    /* wslay checks a close reason's UTF-8 before wsprobe sees the payload,
     * so the code the server sent (1000) is not recorded. */
    {"bad-utf8-close-reason", O(PROTOCOL_ERROR), P(AWAITING_REPLY), 101, -1,
     1007, 0},
    {"oversized-message", O(PROTOCOL_ERROR), P(AWAITING_REPLY), 101, -1, 1009,
     0},
    {"oversized-fragmented", O(PROTOCOL_ERROR), P(AWAITING_REPLY), 101, -1,
     1009, 0},
    {"rst-mid-message", O(ABNORMAL_CLOSURE), P(AWAITING_REPLY), 101, 1006, -1,
     0},
    {"eof-mid-message", O(ABNORMAL_CLOSURE), P(AWAITING_REPLY), 101, 1006, -1,
     0},
    {"no-close-answer", O(TIMEOUT), P(CLOSING), 101, -1, 1000, F_TIMEOUT},
};

static const char *server_bin;

/* A field of /proc/self/status in KiB ("VmRSS", "VmHWM"), or -1. */
static long status_kib(const char *field) {
  char line[256];
  long v = -1;
  size_t n = strlen(field);
  FILE *f = fopen("/proc/self/status", "r");
  if (f == NULL)
    return -1;
  while (fgets(line, sizeof(line), f) != NULL)
    if (strncmp(line, field, n) == 0 && line[n] == ':') {
      v = strtol(line + n + 1, NULL, 10);
      break;
    }
  fclose(f);
  return v;
}

static wsp_config *config(const hcase *c, int port) {
  char url[64];
  wsp_config *cfg = wsp_config_new();
  snprintf(url, sizeof(url), "ws://127.0.0.1:%d/", port);
  CHECK_INT(wsp_config_set_url(cfg, url), 0);
  CHECK_INT(wsp_config_set_timeouts(cfg, c->flags & F_PATIENT ? 10 * PHASE_MS
                                                              : PHASE_MS),
            0);
  CHECK_INT(wsp_config_set_max_message(cfg, 1024), 0);
  if (c->flags & F_SUBPROTO)
    CHECK_INT(wsp_config_add_subprotocol(cfg, "chat"), 0);
  if (c->flags & F_COMPRESS)
    CHECK_INT(wsp_config_set_compress(cfg, 1), 0);
  if (c->flags & F_BIG) {
    /* More than the kernel buffers of both ends take. */
    size_t len = 32 * 1024 * 1024;
    char *big = malloc(len);
    memset(big, 'x', len);
    CHECK_INT(wsp_config_set_message(cfg, big, len, 0), 0);
    free(big);
  } else {
    CHECK_INT(wsp_config_set_message(cfg, "hello", 5, 0), 0);
  }
  return cfg;
}

/* The outcome, phase and close codes as the JSON report gives them. */
static void check_json(const hcase *c, const wsp_result *r) {
  char *text = NULL;
  cJSON *j, *close, *x;
  CHECK_INT(wsp_result_to_json(r, &text), 0);
  j = cJSON_Parse(text);
  CHECK(j != NULL);
  CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "outcome")),
            wsp_outcome_name(c->outcome));
  CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "phase")),
            wsp_phase_name(c->phase));
  close = cJSON_GetObjectItem(j, "close");
  if (c->recv != ANY) {
    x = cJSON_GetObjectItem(close, "received");
    if (c->recv < 0)
      CHECK(cJSON_IsNull(x));
    else
      CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(x, "code")), c->recv);
  }
  if (c->sent != ANY) {
    x = cJSON_GetObjectItem(close, "sent");
    if (c->sent < 0)
      CHECK(cJSON_IsNull(x));
    else
      CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(x, "code")), c->sent);
  }
  cJSON_Delete(j);
  wsp_free(text);
}

/* Checks one result against its case; `ms` is how long the probe took. */
static void check_result(const hcase *c, const wsp_result *r, double ms) {
  int failures = check_failures;
  /* Bounds: a probe that ends by a timeout waits at least PHASE_MS and
   * at most a few; one that ends by the server's doing is quick. Both
   * are generous, for sanitizers and loaded machines. */
  double lo = c->flags & F_TIMEOUT ? PHASE_MS * 0.95 : 0;
  double hi = c->flags & F_TIMEOUT   ? PHASE_MS * 4
              : c->flags & F_PATIENT ? PHASE_MS * 10
                                     : PHASE_MS * 3;
  CHECK_STR(wsp_outcome_name(wsp_result_outcome(r)),
            wsp_outcome_name(c->outcome));
  CHECK_STR(wsp_phase_name(wsp_result_phase(r)), wsp_phase_name(c->phase));
  if (c->http != ANY)
    CHECK_INT(wsp_result_http_status(r), c->http);
  if (c->recv != ANY)
    CHECK_INT(wsp_result_close_received(r, NULL), c->recv);
  if (c->sent != ANY)
    CHECK_INT(wsp_result_close_sent(r, NULL), c->sent);
  CHECK(c->outcome == WSP_OUTCOME_OK ? wsp_result_error(r) == NULL
                                     : wsp_result_error(r) != NULL);
  /* The agreed extension is recorded once the upgrade opened. */
  if ((c->flags & F_COMPRESS) && c->phase != WSP_PHASE_UPGRADE)
    CHECK_STR(wsp_result_extensions(r), "permessage-deflate");
  else
    CHECK(wsp_result_extensions(r) == NULL);
  if (strcmp(c->scenario, "close-reason-control") == 0) {
    /* The report keeps the reason exactly as sent. */
    const char *reason = NULL;
    wsp_result_close_received(r, &reason);
    CHECK_STR(reason, "line 1\nline 2\x1b[2J");
  }
  if (wsp_result_error(r) != NULL) {
    /* One printable line, whatever the server sent. */
    for (const char *e = wsp_result_error(r); *e; e++)
      CHECK((unsigned char)*e >= 0x20 && *e != 0x7f);
  }
  CHECK(ms >= lo);
  CHECK(ms <= hi);
  check_json(c, r);
  if (check_failures != failures)
    fprintf(stderr, "  in scenario %s: %s/%s in %.0f ms: %s\n", c->scenario,
            wsp_outcome_name(wsp_result_outcome(r)),
            wsp_phase_name(wsp_result_phase(r)), ms,
            wsp_result_error(r) ? wsp_result_error(r) : "(no error)");
}

static void run_case(const hcase *c) {
  fixture f;
  char *argv[] = {(char *)server_bin,
                  "--scenario",
                  (char *)c->scenario,
                  "--port",
                  "0",
                  "--lifetime",
                  "120",
                  NULL};
  wsp_config *cfg;
  wsp_result *r = NULL;
  long rss0 = status_kib("VmRSS"), hwm;
  uint64_t t0;
  double ms;

  CHECK_INT(fixture_start(&f, argv), 0);
  if (f.pid == 0)
    return;
  cfg = config(c, f.port);
  t0 = uv_hrtime();
  CHECK_INT(wsp_probe_run(cfg, &r), 0);
  ms = (double)(uv_hrtime() - t0) / 1e6;
  if (r != NULL) {
    check_result(c, r, ms);
    printf("%-24s %-18s %-15s %6.0f ms  %s\n", c->scenario,
           wsp_outcome_name(wsp_result_outcome(r)),
           wsp_phase_name(wsp_result_phase(r)), ms,
           wsp_result_error(r) ? wsp_result_error(r) : "");
  }
  wsp_result_free(r);
  if (c->flags & F_MEM) {
    /* A flood must not make the prober grow: the peak stays within a few
     * MiB of where it started (pongs are answered as pings arrive). */
    hwm = status_kib("VmHWM");
    printf("%-24s peak RSS %ld KiB (RSS before: %ld KiB)\n", c->scenario, hwm,
           rss0);
    if (RSS_CHECKED)
      CHECK(hwm - rss0 < 64 * 1024);
  }

  if (!(c->flags & F_BIG)) {
    /* The same scenario, CAMPAIGN probes at once. */
    wsp_campaign *cp;
    CHECK_INT(wsp_campaign_new(cfg, &cp), 0);
    CHECK_INT(wsp_campaign_set_count(cp, CAMPAIGN), 0);
    CHECK_INT(wsp_campaign_set_concurrency(cp, CAMPAIGN), 0);
    t0 = uv_hrtime();
    CHECK_INT(wsp_campaign_run(cp), 0);
    ms = (double)(uv_hrtime() - t0) / 1e6;
    CHECK_INT(wsp_campaign_result_count(cp), CAMPAIGN);
    for (size_t i = 0; i < wsp_campaign_result_count(cp); i++) {
      const wsp_result *cr = wsp_campaign_result(cp, i);
      double pms = (double)wsp_result_span(cr, WSP_SPAN_TOTAL) / 1e6;
      check_result(c, cr, pms);
    }
    /* Side by side, the campaign takes about as long as one probe. */
    CHECK(ms <= PHASE_MS * (c->flags & F_PATIENT ? 12 : 6));
    wsp_campaign_free(cp);
  }
  wsp_config_free(cfg);
  fixture_stop(&f);
}

int main(int argc, char **argv) {
  int ran = 0;
  if (argc < 2) {
    fprintf(stderr, "usage: test_hostile HOSTILE_SERVER [SCENARIO...]\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  server_bin = argv[1];
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    int want = argc == 2;
    for (int k = 2; k < argc; k++)
      want |= strcmp(argv[k], cases[i].scenario) == 0;
    if (want) {
      run_case(&cases[i]);
      ran++;
    }
  }
  CHECK(ran > 0);
  printf("%d scenarios\n", ran);
  return check_status("test_hostile");
}
