/*
 * The JUnit and HTML reports, against raceserver and on made-up campaigns:
 * a plain campaign with mixed outcomes, a delay sweep, a window search, a
 * duration run, a campaign whose errors hold everything a hostile server
 * could send, and 100,000 probes. Each report is written to a file and
 * checked by tests/reports/check_report.py (XML structure, xmllint, HTML
 * that loads nothing) and for secrets.
 *
 * usage: test_reports RACESERVER PYTHON CHECK_SCRIPT OUT_DIR
 * The reports stay in OUT_DIR (tests/reports/chromium_check.sh opens them).
 */
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <uv.h>

#include "campaign.h"
#include "check.h"
#include "fixture.h"
#include "groups.h"
#include "reports/json_oracle.h"

static const char *raceserver, *python, *checker, *outdir;

/* Secrets of the configs; they must appear in no report. */
static const char jwt_secret[] = "tok.en.secret";
static const char cookie_secret[] = "cookie-value-s3cr3t";

static void start(fixture *f, const char *a1, const char *a2, const char *a3,
                  const char *a4) {
  CHECK_INT(fixture_raceserver(f, raceserver, a1, a2, a3, a4), 0);
}

static wsp_config *config(int port) {
  wsp_config *cfg = fixture_agent_config(port);
  CHECK(cfg != NULL);
  /* The token goes in an Authorization header raceserver ignores. */
  CHECK_INT(wsp_config_set_jwt(cfg, jwt_secret, WSP_JWT_BEARER), 0);
  CHECK_INT(wsp_config_add_header(cfg, "Cookie", cookie_secret), 0);
  return cfg;
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  CHECK(f != NULL);
  if (f == NULL)
    return;
  CHECK_INT(fwrite(text, 1, strlen(text), f), strlen(text));
  CHECK_INT(fclose(f), 0);
}

/* Runs the checker on a file with extra arguments; returns its status. */
static int run_check(const char *kind, const char *path, char *const *extra) {
  char *argv[32];
  int n = 0, status;
  pid_t pid;
  argv[n++] = (char *)python;
  argv[n++] = (char *)checker;
  argv[n++] = (char *)kind;
  argv[n++] = (char *)path;
  argv[n++] = "--forbid";
  argv[n++] = (char *)jwt_secret;
  argv[n++] = "--forbid";
  argv[n++] = (char *)cookie_secret;
  for (; extra && *extra && n < 31; extra++)
    argv[n++] = *extra;
  argv[n] = NULL;
  fflush(NULL);
  if ((pid = fork()) == 0) {
    execv(python, argv);
    _exit(127);
  }
  if (pid < 0 || waitpid(pid, &status, 0) != pid)
    return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Collects a streamed report; fails the call numbered fail_at (1-based). */
typedef struct {
  char *buf;
  size_t len, cap;
  int calls, fail_at;
} sink;

static int sink_write(const char *data, size_t len, void *ud) {
  sink *s = ud;
  if (++s->calls == s->fail_at)
    return -1;
  if (s->len + len + 1 > s->cap) {
    size_t cap = (s->len + len + 1) * 2;
    char *b = realloc(s->buf, cap);
    if (b == NULL)
      return -1;
    s->buf = b;
    s->cap = cap;
  }
  memcpy(s->buf + s->len, data, len);
  s->len += len;
  s->buf[s->len] = '\0';
  return 0;
}

/* The first difference of two texts, shown on stderr. */
static int same_text(const char *what, const char *a, const char *b) {
  size_t i = 0;
  if (a == NULL || b == NULL)
    return a == b;
  while (a[i] && a[i] == b[i])
    i++;
  if (a[i] == b[i])
    return 1;
  fprintf(stderr, "%s: differ at byte %zu:\n  got  ...%.80s\n  want ...%.80s\n",
          what, i, a + (i > 40 ? i - 40 : 0), b + (i > 40 ? i - 40 : 0));
  return 0;
}

/* The direct JSON writer makes the bytes the cJSON-tree writer made,
 * secrets shown or not; the string form is the streamed one. */
static void check_json_bytes(const wsp_campaign *c, const char *name) {
  for (int show = 0; show < 2; show++) {
    oracle_buf want = {0};
    sink got = {0};
    char *whole = NULL, what[96];
    snprintf(what, sizeof(what), "%s (show_secrets %d)", name, show);
    CHECK_INT(oracle_json(c, show, &want), 0);
    CHECK_INT(wsp_report_json_write(c, show, sink_write, &got), 0);
    CHECK(same_text(what, got.buf, want.p));
    CHECK_INT(wsp_report_json(c, show, &whole), 0);
    CHECK(same_text(what, whole, want.p));
    wsp_free(whole);
    free(want.p);
    free(got.buf);
  }
}

/* The streamed JSON report is the string report, probe for probe, with
 * one probe per line; a writer that fails stops it with WSP_EIO. */
static void check_json_stream(const wsp_campaign *c) {
  char *whole = NULL;
  sink s = {0}, bad = {0};
  cJSON *a, *b;
  size_t lines = 0;
  check_json_bytes(c, "campaign");
  CHECK_INT(wsp_report_json(c, 0, &whole), 0);
  CHECK_INT(wsp_report_json_write(c, 0, sink_write, &s), 0);
  a = cJSON_Parse(whole);
  b = s.buf ? cJSON_Parse(s.buf) : NULL;
  CHECK(a != NULL && b != NULL);
  CHECK(cJSON_Compare(a, b, 1));
  CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(b, "probes")),
            wsp_campaign_result_count(c));
  for (const char *q = s.buf; q && (q = strstr(q, "\n\t\t{")) != NULL; q++)
    lines++;
  CHECK_INT(lines, wsp_campaign_result_count(c));
  /* The last piece failing fails the report, however many pieces the
   * writer gathered the probes into. */
  bad.fail_at = s.calls;
  CHECK(s.calls >= 1);
  CHECK_INT(wsp_report_json_write(c, 0, sink_write, &bad), WSP_EIO);
  CHECK_INT(wsp_report_json_write(c, 0, NULL, NULL), WSP_EINVAL);
  cJSON_Delete(a);
  cJSON_Delete(b);
  wsp_free(whole);
  free(s.buf);
  free(bad.buf);
}

/*
 * Writes NAME.junit.xml and NAME.html, checks them, and returns the HTML
 * (the caller frees it) for checks of its own.
 */
static char *reports(const wsp_campaign *c, const char *name, long tests,
                     long failures, char *const *html_expect) {
  char path[512], t[32], f[32];
  char *junit = NULL, *html = NULL;
  char *junit_args[] = {"--tests", t, "--failures", f, NULL};
  check_json_stream(c);
  CHECK_INT(wsp_report_junit(c, &junit), 0);
  CHECK_INT(wsp_report_html(c, &html), 0);
  if (junit == NULL || html == NULL) {
    wsp_free(junit);
    wsp_free(html);
    return NULL;
  }
  snprintf(t, sizeof(t), "%ld", tests);
  snprintf(f, sizeof(f), "%ld", failures);
  snprintf(path, sizeof(path), "%s/%s.junit.xml", outdir, name);
  write_file(path, junit);
  CHECK_INT(run_check("junit", path, junit_args), 0);
  snprintf(path, sizeof(path), "%s/%s.html", outdir, name);
  write_file(path, html);
  CHECK_INT(run_check("html", path, html_expect), 0);
  CHECK(strstr(junit, jwt_secret) == NULL);
  CHECK(strstr(html, jwt_secret) == NULL);
  CHECK(strstr(html, cookie_secret) == NULL);
  CHECK(strstr(html, "<svg") != NULL);
  fprintf(stderr, "%s: junit %zu bytes, html %zu bytes\n", name, strlen(junit),
          strlen(html));
  wsp_free(junit);
  return html;
}

static size_t count_outcome(const wsp_campaign *c, wsp_outcome o) {
  size_t n = 0;
  for (size_t i = 0; i < wsp_campaign_result_count(c); i++)
    n += wsp_result_outcome(wsp_campaign_result(c, i)) == o;
  return n;
}

/* 503s, 1011s and passes in one campaign. */
static void test_plain_mixed(void) {
  fixture fx;
  wsp_config *cfg;
  wsp_campaign *c;
  char *html;
  size_t n;
  char *expect[] = {
      "--expect", "handshake_rejected", "--expect", "closed_by_server",
      "--expect", "Timeline",           NULL};
  start(&fx, "--reject-first", "3", "--ready-delay", "200");
  if (fx.pid == 0)
    return;
  cfg = config(fx.port);
  CHECK_INT(wsp_campaign_new(cfg, &c), 0);
  CHECK_INT(wsp_campaign_set_count(c, 12), 0);
  CHECK_INT(wsp_campaign_set_concurrency(c, 4), 0);
  CHECK_INT(wsp_campaign_set_jitter(c, 600), 0);
  /* Which probes get the three 503s depends on which upgrades arrive
   * first: with 4 in flight and only 503s ending probes before then, one
   * of probes 0-5. Seed 3 draws the delays 231, 353, 259, 402, 134, 26,
   * 479, 410, 89, 452, 283, 557 ms: whichever three are refused, probe 8
   * (89 ms) meets the 200 ms window and the long ones pass. */
  CHECK_INT(wsp_campaign_set_seed(c, 3), 0);
  CHECK_INT(wsp_campaign_run(c), 0);
  n = wsp_campaign_result_count(c);
  CHECK_INT(n, 12);
  CHECK_INT(count_outcome(c, WSP_OUTCOME_HANDSHAKE_REJECTED), 3);
  CHECK(count_outcome(c, WSP_OUTCOME_OK) > 0);
  CHECK(count_outcome(c, WSP_OUTCOME_CLOSED_BY_SERVER) > 0);
  html =
      reports(c, "plain", (long)n, (long)(n - wsp_campaign_passed(c)), expect);
  if (html != NULL) {
    CHECK(strstr(html, "HTTP 503") != NULL); /* A refused row's label. */
    CHECK(strstr(html, ">1011<") != NULL);   /* A closed row's label. */
  }
  wsp_free(html);
  wsp_campaign_free(c);
  wsp_config_free(cfg);
  fixture_stop(&fx);
}

/* One test case per delay; the window marked between them. */
static void test_sweep(void) {
  fixture fx;
  wsp_config *cfg;
  wsp_campaign *c;
  const uint32_t delays[] = {400, 0};
  char *expect[] = {"--expect",
                    "Estimated race window: failures stop between 0 and "
                    "400 ms",
                    "--expect", "Failure rate against the first-message delay",
                    NULL};
  char *junit = NULL;
  start(&fx, "--ready-delay", "200", NULL, NULL);
  if (fx.pid == 0)
    return;
  cfg = config(fx.port);
  CHECK_INT(wsp_campaign_new(cfg, &c), 0);
  CHECK_INT(wsp_campaign_set_delays(c, delays, 2, 3), 0);
  CHECK_INT(wsp_campaign_set_concurrency(c, 6), 0);
  CHECK_INT(wsp_campaign_run(c), 0);
  CHECK_INT(wsp_campaign_result_count(c), 6);
  wsp_free(reports(c, "sweep", 2, 1, expect));
  CHECK_INT(wsp_report_junit(c, &junit), 0);
  if (junit != NULL) {
    CHECK(strstr(junit, "name=\"delay 400 ms\"") != NULL);
    CHECK(strstr(junit, "3 of 3 probes failed at delay 0 ms: "
                        "closed_by_server x3; close codes 1011 x3; "
                        "HTTP statuses 101 x3") != NULL);
  }
  wsp_free(junit);
  wsp_campaign_free(c);
  wsp_config_free(cfg);
  fixture_stop(&fx);
}

/* One test case per point of the search; the estimate in the page. */
static void test_window(void) {
  fixture fx;
  wsp_config *cfg;
  wsp_campaign *c;
  char *html, *junit = NULL;
  char *expect[] = {"--expect", "Race-window search", "--expect",
                    "race window edge", NULL};
  start(&fx, "--ready-delay", "150", NULL, NULL);
  if (fx.pid == 0)
    return;
  cfg = config(fx.port);
  CHECK_INT(wsp_campaign_new(cfg, &c), 0);
  CHECK_INT(wsp_campaign_set_window_search(c, 0, 400, 10, 2), 0);
  CHECK_INT(wsp_campaign_run(c), 0);
  CHECK(c->nevidence >= 3);
  {
    long failing = 0;
    for (size_t i = 0; i < c->nevidence; i++)
      failing += c->evidence[i].failures > 0;
    html = reports(c, "window", (long)c->nevidence, failing, expect);
  }
  if (html != NULL) {
    char est[96];
    CHECK_STR(c->win_conclusion, "bounded");
    snprintf(est, sizeof(est), "failures stop between %.3f and %.3f ms",
             (double)c->win_from / 1e6, (double)c->win_to / 1e6);
    CHECK(strstr(html, est) != NULL);
    /* The estimate brackets achieved delays: a failure cannot have
     * achieved 150 ms (the server's clock sees at least as long). */
    CHECK(c->win_from < 150 * 1000000ll);
  }
  CHECK_INT(wsp_report_junit(c, &junit), 0);
  if (junit != NULL)
    CHECK(strstr(junit, "name=\"window.conclusion\" value=\"bounded\"") !=
          NULL);
  wsp_free(junit);
  wsp_free(html);
  wsp_campaign_free(c);
  wsp_config_free(cfg);
  fixture_stop(&fx);
}

/* A duration run: outcomes per time slice. */
static void test_duration(void) {
  fixture fx;
  wsp_config *cfg;
  wsp_campaign *c;
  char *expect[] = {"--expect", "Outcomes over time", "--expect",
                    "250 ms slices", NULL};
  start(&fx, "--reject-first", "5", "--ready-delay", "100");
  if (fx.pid == 0)
    return;
  cfg = config(fx.port);
  CHECK_INT(wsp_campaign_new(cfg, &c), 0);
  CHECK_INT(wsp_campaign_set_duration(c, 1500), 0);
  CHECK_INT(wsp_campaign_set_slice(c, 250), 0);
  CHECK_INT(wsp_campaign_set_rate(c, 30), 0);
  CHECK_INT(wsp_campaign_set_concurrency(c, 20), 0);
  CHECK_INT(wsp_campaign_set_jitter(c, 200), 0);
  CHECK_INT(wsp_campaign_set_seed(c, 3), 0);
  CHECK_INT(wsp_campaign_run(c), 0);
  CHECK(c->nslices >= 5);
  {
    size_t n = wsp_campaign_result_count(c);
    wsp_free(reports(c, "duration", (long)n, (long)(n - wsp_campaign_passed(c)),
                     expect));
  }
  wsp_campaign_free(c);
  wsp_config_free(cfg);
  fixture_stop(&fx);
}

/* A concurrency sweep: one test case per level. */
static void test_levels(void) {
  fixture fx;
  wsp_config *cfg;
  wsp_campaign *c;
  char *expect[] = {"--expect", "Concurrency sweep", "--expect",
                    "Failures start at 4 simultaneous connections", NULL};
  start(&fx, "--max-connections", "3", "--reply-delay", "300");
  if (fx.pid == 0)
    return;
  cfg = config(fx.port);
  CHECK_INT(wsp_campaign_new(cfg, &c), 0);
  CHECK_INT(wsp_campaign_set_concurrency_sweep(c, 8), 0);
  CHECK_INT(wsp_campaign_run(c), 0);
  CHECK_INT(c->nlevels, 4);
  {
    long failing = 0;
    for (size_t i = 0; i < c->nlevels; i++)
      failing += c->levels[i].failures > 0;
    CHECK_INT(failing, 2);
    wsp_free(reports(c, "levels", (long)c->nlevels, failing, expect));
  }
  wsp_campaign_free(c);
  wsp_config_free(cfg);
  fixture_stop(&fx);
}

/*
 * A made-up campaign of `n` probes over `ms` milliseconds (no server):
 * outcomes cycle through a mix; every 7th probe's error and close reason
 * hold markup, control characters, invalid UTF-8 and the secret, as a
 * hostile server (or a proxy echoing headers) could make them.
 */
static wsp_campaign *made_up(uint32_t n, double ms) {
  static const char hostile[] =
      "server said <script>alert('x')</script> & \"quotes\" \x01\x02\x1b[31m"
      "\x7f \xc2\x85 bad utf-8 \xff\xfe\xc3( over\xe0\x80\xaf"
      "end "
      "\xef\xbf\xbe cookie=cookie-value-s3cr3t token=tok.en.secret "
      "caf\xc3\xa9 \xe2\x9c\x93 ]]> --> \r\n second line";
  static const wsp_outcome mix[] = {WSP_OUTCOME_OK,
                                    WSP_OUTCOME_OK,
                                    WSP_OUTCOME_OK,
                                    WSP_OUTCOME_CLOSED_BY_SERVER,
                                    WSP_OUTCOME_HANDSHAKE_REJECTED,
                                    WSP_OUTCOME_OK,
                                    WSP_OUTCOME_TIMEOUT,
                                    WSP_OUTCOME_OK};
  wsp_config *cfg = wsp_config_new();
  wsp_campaign *c = NULL;
  CHECK_INT(wsp_config_set_url(cfg, "ws://127.0.0.1:9/made-up"), 0);
  CHECK_INT(wsp_config_set_jwt(cfg, jwt_secret, WSP_JWT_SUBPROTOCOL), 0);
  CHECK_INT(wsp_config_add_header(cfg, "Cookie", cookie_secret), 0);
  CHECK_INT(wsp_config_set_message(cfg, "hi", 2, 0), 0);
  CHECK_INT(wsp_campaign_new(cfg, &c), 0);
  wsp_config_free(cfg);
  if (n > 0)
    CHECK_INT(wsp_campaign_set_count(c, n), 0);
  c->t_start = 1000000000ull;
  c->t_end = c->t_start + (uint64_t)(ms * 1e6) + 50000000ull;
  c->results = calloc(n, sizeof(*c->results));
  c->results_cap = n;
  CHECK(c->results != NULL);
  if (c->results == NULL)
    return c;
  for (uint32_t i = 0; i < n; i++) {
    wsp_result *r = wsp__result_new();
    wsp_outcome o = i == 42 ? WSP_OUTCOME_PROTOCOL_ERROR : mix[i % 8];
    int64_t t = 0;
    if (r == NULL) {
      CHECK(r != NULL);
      break;
    }
    r->index = i;
    r->t0 = c->t_start + (uint64_t)((double)i * ms * 1e6 / n);
    r->delay_ms = i % 50;
    r->outcome = o;
    r->lag_ns = 0;
    r->marks[WSP_MARK_RESOLVED] = t += 1000;
    r->marks[WSP_MARK_CONNECTED] = t += 200000;
    r->marks[WSP_MARK_UPGRADE_SENT] = t += 10000;
    r->marks[WSP_MARK_RESPONSE] = t += 300000;
    if (o == WSP_OUTCOME_HANDSHAKE_REJECTED) {
      r->phase = WSP_PHASE_UPGRADE;
      r->http_status = 503;
      r->http_reason = strdup("Service Unavailable");
    } else {
      r->http_status = 101;
      r->http_reason = strdup("Switching Protocols");
      r->marks[WSP_MARK_OPEN] = t;
      r->marks[WSP_MARK_FIRST_SENT] = t += (int64_t)r->delay_ms * 1000000;
      if (o == WSP_OUTCOME_OK) {
        r->phase = WSP_PHASE_CLOSING;
        r->marks[WSP_MARK_FIRST_RECEIVED] = t += 400000;
        r->marks[WSP_MARK_CLOSE_SENT] = t += 10000;
        r->marks[WSP_MARK_CLOSE_RECEIVED] = t += 200000;
        r->close_recv.code = r->close_sent.code = 1000;
      } else if (o == WSP_OUTCOME_CLOSED_BY_SERVER) {
        r->phase = WSP_PHASE_AWAITING_REPLY;
        r->marks[WSP_MARK_CLOSE_RECEIVED] = t += 2000000;
        r->marks[WSP_MARK_CLOSE_SENT] = t += 10000;
        r->close_recv.code = r->close_sent.code = 1011;
        strcpy(r->close_recv.reason, "Internal error");
        r->close_recv.reason_len = 14;
      } else if (o == WSP_OUTCOME_PROTOCOL_ERROR) {
        r->phase = WSP_PHASE_AWAITING_REPLY;
        r->marks[WSP_MARK_CLOSE_SENT] = t += 1000000;
        r->close_sent.code = 1007;
      } else {
        r->phase = WSP_PHASE_AWAITING_REPLY;
        r->marks[WSP_MARK_CLOSE_SENT] = t += 3000000000;
      }
    }
    r->marks[WSP_MARK_CLOSED] = t += 100000;
    if (o != WSP_OUTCOME_OK) {
      char buf[512];
      if (i % 7 == 3) {
        r->error = strdup(hostile);
        memcpy(r->close_recv.reason, "\x01<b>\xff\"&", 8);
        r->close_recv.reason_len = 8;
      } else {
        snprintf(buf, sizeof(buf), "%s while %s (made up)", wsp_outcome_name(o),
                 wsp_phase_name(r->phase));
        r->error = strdup(buf);
      }
    }
    c->results[c->nresults++] = r;
    c->passed += o == WSP_OUTCOME_OK;
    for (int s = 0; s < WSP_SPAN_COUNT; s++) {
      int64_t v = wsp_result_span(r, (wsp_span)s);
      if (v >= 0)
        wsp__hist_add(&c->spans[s], (uint64_t)v);
    }
  }
  return c;
}

/* Odd values in every field of made-up results: strings that need every
 * escape, NULs inside reasons and bodies, invalid UTF-8, TLS, events,
 * steps, tokens in subprotocols, and times at the edges of the number
 * formats (exponent form below 0.0001 ms, "%1.15g" limits above 10^15). */
static void odd_results(wsp_campaign *c) {
  static const int64_t edges[] = {0,
                                  1,
                                  9,
                                  10,
                                  99,
                                  100,
                                  101,
                                  999999,
                                  1000000,
                                  123456789,
                                  999999999999999,
                                  1000000000000001};
  static const char weird[] = "q\"b\\s/\b\f\n\r\t\x01\x1f\x7f caf\xc3\xa9 \xff";
  for (size_t i = 0; i < c->nresults; i++) {
    wsp_result *r = c->results[i];
    switch (i % 6) {
    case 1:
      r->tls_version = strdup("TLSv1.2");
      r->tls_cipher = i % 4 == 1 ? strdup("TLS-ECDHE-RSA-WITH-AES-128") : NULL;
      r->tls_alpn = i % 3 == 1 ? strdup("http/1.1") : NULL;
      r->tls_verified = (int)(i % 2);
      r->tls_close_notify = (int)(i % 3 == 0);
      r->tls_resumed = (int)(i % 4 == 1);
      r->tls_group = i % 4 == 1 ? NULL : "x25519";
      break;
    case 2:
      r->close_recv.code = 4000 + (int)i;
      memcpy(r->close_recv.reason, "ab\0cd", 5); /* Valid UTF-8, a NUL. */
      r->close_recv.reason_len = 5;
      r->close_sent.code = 1005;
      r->close_sent.reason[0] = '\0';
      r->close_sent.reason_len = 0;
      break;
    case 3:
      memset(r->close_recv.reason, 'x', WSP__MAX_REASON);
      memcpy(r->close_recv.reason, weird, sizeof(weird) - 3);
      r->close_recv.reason[WSP__MAX_REASON] = '\0';
      r->close_recv.reason_len = WSP__MAX_REASON;
      r->close_recv.code = 1011;
      free(r->retry_after);
      r->retry_after = strdup("120");
      r->content_type = strdup("text/html; charset=\"x\"");
      r->body = malloc(9);
      memcpy(r->body, "<b>\0hi</b", 9);
      r->body_len = 9;
      break;
    case 4:
      r->body = malloc(3);
      memcpy(r->body, "\xff\xfeX", 3); /* Not UTF-8: null. */
      r->body_len = 3;
      r->subprotocol = strdup("jwt.tok.en.secret");
      r->redact_subprotocol = 1;
      r->http_status = 999;
      break;
    case 5:
      r->subprotocol = strdup("chat\x02");
      r->extensions =
          strdup("permessage-deflate; client_max_window_bits=\"9\"");
      r->step = (int)(i % 3);
      r->lag_ns = i % 4 ? 7000001 : -1;
      break;
    }
    for (size_t k = 0; k < i % 4; k++)
      wsp__result_add_event(r, k ? weird : "agent_started",
                            k ? sizeof(weird) - 1 : 13,
                            edges[(i + k) % WSP__ARRAY_SIZE(edges)]);
    r->marks[WSP_MARK_TLS_DONE] = edges[i % WSP__ARRAY_SIZE(edges)];
    r->marks[WSP_MARK_CLOSE_RECEIVED] = edges[(i * 7) % WSP__ARRAY_SIZE(edges)];
    r->delay_ms = i % 9 ? r->delay_ms : 4000000000u;
    r->t0 = c->t_start + (uint64_t)edges[(i * 5) % WSP__ARRAY_SIZE(edges)];
  }
}

/* The campaign figures of each mode, made up. */
static void odd_campaign(wsp_campaign *c, int v) {
  static const uint32_t delays[] = {0, 10, 50, 100};
  /* Asked, trials, failures, achieved min and max, largest failing,
   * smallest passing (ns, -1 none), reruns, kept though lagging. */
  static const wsp__evidence bounded[] = {
      {400, 5, 0, 400123456, 400987654, -1, 400123456, 0, 0},
      {0, 5, 5, 100001, 999999, 999999, -1, 0, 0},
      {200, 5, 0, 200000001, 200500000, -1, 200000001, 1, 0},
      {100, 5, 3, 100010000, 100090000, 100080000, 100010000, 2, 1},
      {150, 5, 0, -1, -1, -1, -1, 0, 0}};
  c->seed = v == 0 ? 9007199254740991ull : 1000000000000000ull + (uint64_t)v;
  c->rate = v == 0 ? 12.5 : 0;
  c->jitter_ms = (uint32_t)v * 7;
  c->lag_threshold_ms = 3;
  for (uint64_t t = 1; t < 2000000000ull; t = t * 3 + 17)
    wsp__hist_add(&c->lag, t);
  c->flagged = 4;
  switch (v) {
  case 0:
    c->shard = 1;
    c->shards = 3;
    c->interrupted = 1;
    break;
  case 1:
    c->mode = WSP__MODE_SWEEP;
    c->delays = malloc(sizeof(delays));
    memcpy(c->delays, delays, sizeof(delays));
    c->ndelays = 4;
    c->per_delay = (uint32_t)(c->nresults / 4);
    break;
  case 2:
  case 3:
  case 4:
  case 5:
    c->mode = WSP__MODE_WINDOW;
    c->win_lo = 0;
    c->win_hi = 400;
    c->win_res = 50;
    c->win_trials = 5;
    c->nevidence = v == 5 ? 0 : 5;
    c->evidence = malloc(sizeof(bounded));
    memcpy(c->evidence, bounded, sizeof(bounded));
    c->win_conclusion = v == 2 ? "bounded" : v == 4 ? "overlapping" : NULL;
    c->win_from = v == 2 ? 100080000 : v == 4 ? 100010000 : -1;
    c->win_to = v == 2 ? 150000007 : v == 4 ? 100080000 : -1;
    if (v == 3) {
      c->evidence[0].failures = 2;
      c->win_conclusion = "above_range";
    }
    break;
  case 6:
    c->mode = WSP__MODE_CONCURRENCY;
    c->burst = 1;
    c->max_level = 8;
    c->nlevels = 4;
    c->levels = calloc(4, sizeof(*c->levels));
    for (uint32_t k = 0; k < 4; k++) {
      c->levels[k].level = 1u << k;
      c->levels[k].failures = k > 1 ? k : 0;
      c->levels[k].outcomes[WSP_OUTCOME_OK] = (1u << k) - c->levels[k].failures;
      c->levels[k].outcomes[WSP_OUTCOME_CLOSED_BY_SERVER] =
          c->levels[k].failures;
    }
    c->bursts = 4;
    for (uint64_t t = 1000; t < 90000000; t = t * 2 + 3)
      wsp__hist_add(&c->spread, t);
    break;
  case 7:
    c->duration_ms = 1500;
    c->slice_ms = 100;
    c->nslices = 15;
    c->slices = calloc(15, sizeof(*c->slices));
    for (size_t k = 0; k < 15; k++)
      c->slices[k].outcomes[k % WSP_OUTCOME_COUNT] = k * 3 + 1;
    c->dns_ns = 1234567;
    break;
  }
}

/* The direct JSON writer against the cJSON one over campaigns of every
 * mode holding every kind of odd value. */
static void test_json_bytes(void) {
  for (int v = 0; v < 9; v++) {
    wsp_campaign *c = made_up(v == 8 ? 0 : 48, 700);
    char name[32];
    if (v == 7) {
      /* A host name (resolved once), and TLS settings in the config. */
      CHECK_INT(wsp_config_set_url(c->cfg, "wss://example.test:8443/x"), 0);
      CHECK_INT(wsp_config_set_ca_file(c->cfg, NULL), 0);
      CHECK_INT(wsp_config_set_insecure(c->cfg, 1), 0);
    }
    if (v == 8)
      c->t_end = 0;
    odd_results(c);
    odd_campaign(c, v);
    snprintf(name, sizeof(name), "made-up %d", v);
    check_json_bytes(c, name);
    wsp_campaign_free(c);
  }
  {
    /* More distinct close codes than a tally keeps: "other". */
    wsp_campaign *c = made_up(200, 100);
    for (size_t i = 0; i < c->nresults; i++)
      c->results[i]->close_recv.code = 3000 + (int)i;
    check_json_bytes(c, "many codes");
    wsp_campaign_free(c);
  }
}

/* Records where each piece of a streamed report ended. */
typedef struct {
  sink s;           /* The text so far. */
  size_t ends[512]; /* Where each piece ended in it. */
  int n;            /* Pieces recorded. */
} pieces;

static int piece_write(const char *data, size_t len, void *ud) {
  pieces *p = ud;
  int rc = sink_write(data, len, &p->s);
  if (rc == 0 && p->n < (int)WSP__ARRAY_SIZE(p->ends))
    p->ends[p->n++] = p->s.len;
  return rc;
}

/* A report of many probes reaches the sink in large pieces of whole
 * lines, the bytes the cJSON tree made; a sink failing in the middle
 * stops the writer there. */
static void test_json_pieces(void) {
  wsp_campaign *c = made_up(3000, 2000);
  pieces p = {0};
  sink bad = {0};
  oracle_buf want = {0};
  CHECK_INT(oracle_json(c, 0, &want), 0);
  CHECK_INT(wsp_report_json_write(c, 0, piece_write, &p), 0);
  CHECK(same_text("3000 probes in pieces", p.s.buf, want.p));
  CHECK(p.n > 10 && p.n < (int)WSP__ARRAY_SIZE(p.ends));
  for (int i = 1; i + 1 < p.n; i++) {
    /* Every piece after the head ends with a probe's line. */
    CHECK(p.ends[i] - p.ends[i - 1] >= 16 * 1024);
    CHECK(p.s.buf[p.ends[i] - 1] == '}' && p.s.buf[p.ends[i]] == ',');
  }
  bad.fail_at = 3;
  CHECK_INT(wsp_report_json_write(c, 0, sink_write, &bad), WSP_EIO);
  CHECK_INT(bad.calls, 3);
  free(want.p);
  free(p.s.buf);
  free(bad.buf);
  wsp_campaign_free(c);
}

/* Keeps the results of `c` whose index modulo n is k, as the loop that
 * ran them would hold them. */
static void keep_share(wsp_campaign *c, uint32_t k, uint32_t n) {
  size_t kept = 0;
  c->passed = 0;
  for (int s = 0; s < WSP_SPAN_COUNT; s++)
    wsp__hist_init(&c->spans[s]);
  for (size_t i = 0; i < c->nresults; i++) {
    wsp_result *r = c->results[i];
    if (r->index % n != k) {
      wsp_result_free(r);
      continue;
    }
    c->results[kept++] = r;
    c->passed += r->outcome == WSP_OUTCOME_OK;
    for (int s = 0; s < WSP_SPAN_COUNT; s++)
      if (wsp_result_span(r, (wsp_span)s) >= 0)
        wsp__hist_add(&c->spans[s], (uint64_t)wsp_result_span(r, (wsp_span)s));
  }
  c->nresults = kept;
}

/* The text of `json` from its summary on: the summary and the probes. */
static const char *from_summary(const char *json) {
  const char *at = json ? strstr(json, "\n\t\"summary\":") : NULL;
  return at ? at : "";
}

/* Several loops' campaigns that ran one campaign between them make the
 * report one loop running it all makes; loops that are not one campaign
 * are refused. */
static void test_loops_merged(void) {
  wsp_campaign *all = made_up(90, 900), *part[3], *bad;
  wsp_report *rep = NULL;
  char *one = NULL, *merged = NULL, *html = NULL, err[256];
  for (uint32_t t = 0; t < 3; t++) {
    part[t] = made_up(90, 900);
    part[t]->seed = all->seed; /* Drawn at random by each. */
    keep_share(part[t], t, 3);
  }
  CHECK_INT(wsp_report_new_merged((const wsp_campaign *const *)part, 3, &rep,
                                  err, sizeof(err)),
            0);
  CHECK_INT(wsp_report_json(all, 0, &one), 0);
  if (rep != NULL) {
    CHECK_INT(wsp_report_string(rep, WSP_REPORT_JSON, 0, &merged), 0);
    CHECK(same_text("loops", from_summary(merged), from_summary(one)));
    CHECK(strstr(merged, "\"concurrency\":\t3,") != NULL);
    CHECK_INT(wsp_report_total(rep), 90);
    CHECK_INT(wsp_report_passed(rep), wsp_campaign_passed(all));
    CHECK_INT(wsp_report_verdict(rep), WSP_VERDICT_FAIL);
    CHECK_STR(wsp_report_fingerprint(rep), wsp_report_fingerprint(rep));
    CHECK_INT(wsp_report_string(rep, WSP_REPORT_HTML, 0, &html), 0);
    CHECK(html != NULL && strstr(html, "A sample of") == NULL);
  }
  wsp_report_free(rep);
  rep = NULL;
  /* The same loop twice: its probes were run twice. */
  {
    const wsp_campaign *twice[2] = {part[0], part[0]};
    CHECK_INT(wsp_report_new_merged(twice, 2, &rep, err, sizeof(err)),
              WSP_EMERGE);
    CHECK(strstr(err, "run by two campaigns") != NULL);
    CHECK(rep == NULL);
  }
  /* Another seed: another campaign. */
  bad = made_up(90, 900);
  keep_share(bad, 2, 3);
  bad->seed = all->seed + 1;
  {
    const wsp_campaign *mixed[3] = {part[0], part[1], bad};
    CHECK_INT(wsp_report_new_merged(mixed, 3, &rep, err, sizeof(err)),
              WSP_EMERGE);
    CHECK(strstr(err, "campaign 3 is another campaign") != NULL);
    bad->seed = part[0]->seed;
    bad->running = 1;
    CHECK_INT(wsp_report_new_merged(mixed, 3, &rep, err, sizeof(err)),
              WSP_EBUSY);
    bad->running = 0;
    bad->mode = part[0]->mode = part[1]->mode = WSP__MODE_WINDOW;
    CHECK_INT(wsp_report_new_merged(mixed, 3, &rep, err, sizeof(err)),
              WSP_EMERGE);
    CHECK(strstr(err, "adapt") != NULL);
    part[0]->mode = part[1]->mode = WSP__MODE_PLAIN;
  }
  CHECK_INT(wsp_report_new_merged(NULL, 0, &rep, err, sizeof(err)), WSP_EINVAL);
  wsp_free(one);
  wsp_free(merged);
  wsp_free(html);
  wsp_campaign_free(bad);
  for (int t = 0; t < 3; t++)
    wsp_campaign_free(part[t]);
  wsp_campaign_free(all);
}

/* Everything a hostile server could put in an error stays inert. */
static void test_hostile(void) {
  wsp_campaign *c = made_up(600, 3000);
  char *html, *junit = NULL;
  char *expect[] = {"--expect",
                    "A sample of",
                    "--expect",
                    "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; "
                    "&quot;quotes&quot;",
                    "--expect",
                    "caf\xc3\xa9 \xe2\x9c\x93",
                    NULL};
  html = reports(c, "hostile", 600, 600 - (long)c->passed, expect);
  CHECK(html != NULL && strstr(html, "<script") == NULL);
  CHECK(html != NULL && strstr(html, "&lt;redacted&gt;") != NULL);
  wsp_free(html);
  CHECK_INT(wsp_report_junit(c, &junit), 0);
  if (junit != NULL) {
    /* Invalid bytes become U+FFFD; controls vanish; lines stay in text. */
    CHECK(strstr(junit, "bad utf-8 \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd(") !=
          NULL);
    CHECK(strstr(junit, "\x1b") == NULL);
    CHECK(strstr(junit, "token=&lt;redacted&gt;") != NULL);
    CHECK(strstr(junit, "cookie=&lt;redacted&gt;") != NULL);
  }
  wsp_free(junit);
  wsp_campaign_free(c);
}

/*
 * A server that echoes a secret back (a token in its close reason, a
 * cookie in a rejection's body, both beside a NUL) has it redacted in
 * every format, JSON included, unless secrets are shown; a report that
 * shows them, read back, is redacted again, and every byte of the reasons
 * and bodies survives the reading.
 */
static void test_echoed_secrets(void) {
  wsp_campaign *c = made_up(40, 400);
  char *shown = NULL, *hidden = NULL, *text = NULL, *again = NULL;
  char *again_shown = NULL, err[256];
  wsp_report *back = NULL;
  static const char reason[] = "bad token tok.en.secret\0!";
  static const char body[] = "{\"cookie\":\"cookie-value-s3cr3t\"}\0\xc3\xa9";
  for (size_t i = 0; i < c->nresults; i++) {
    wsp_result *r = c->results[i];
    if (r->outcome == WSP_OUTCOME_CLOSED_BY_SERVER) {
      memcpy(r->close_recv.reason, reason, sizeof(reason) - 1);
      r->close_recv.reason_len = sizeof(reason) - 1;
    } else if (r->outcome == WSP_OUTCOME_HANDSHAKE_REJECTED) {
      free(r->body);
      r->body = malloc(sizeof(body) - 1);
      memcpy(r->body, body, sizeof(body) - 1);
      r->body_len = sizeof(body) - 1;
    }
  }
  check_json_bytes(c, "echoed secrets");
  CHECK_INT(wsp_report_json(c, 1, &shown), 0);
  CHECK_INT(wsp_report_json(c, 0, &hidden), 0);
  CHECK_INT(wsp_report_text(c, &text), 0);
  if (shown != NULL && hidden != NULL && text != NULL) {
    CHECK(strstr(shown, "\"reason\":\"bad token tok.en.secret\\u0000!\"") !=
          NULL);
    CHECK(strstr(shown, "cookie-value-s3cr3t\\\"}\\u0000\xc3\xa9\"") != NULL);
    CHECK(strstr(hidden, "\"reason\":\"bad token <redacted>\\u0000!\"") !=
          NULL);
    CHECK(strstr(hidden, "{\\\"cookie\\\":\\\"<redacted>\\\"}\\u0000") != NULL);
    CHECK(strstr(hidden, jwt_secret) == NULL);
    CHECK(strstr(hidden, cookie_secret) == NULL);
    CHECK(strstr(text, jwt_secret) == NULL);
    CHECK(strstr(text, cookie_secret) == NULL);
  }
  /* Read back: the report that shows secrets is redacted when written
   * without them, and gives the same probes as the campaign itself. */
  CHECK_INT(wsp_report_merge_texts((const char *const *)&shown, 1, 0, &back,
                                   err, sizeof(err)),
            0);
  if (back != NULL) {
    CHECK_INT(wsp_report_string(back, WSP_REPORT_JSON, 0, &again), 0);
    CHECK_INT(wsp_report_string(back, WSP_REPORT_JSON, WSP_REPORT_SHOW_SECRETS,
                                &again_shown),
              0);
    CHECK(again != NULL && strstr(again, jwt_secret) == NULL);
    CHECK(again != NULL && strstr(again, cookie_secret) == NULL);
    CHECK(same_text("echoed, read back", from_summary(again),
                    from_summary(hidden)));
    CHECK(same_text("echoed, read back shown", from_summary(again_shown),
                    from_summary(shown)));
  }
  wsp_report_free(back);
  wsp_free(shown);
  wsp_free(hidden);
  wsp_free(text);
  wsp_free(again);
  wsp_free(again_shown);
  wsp_campaign_free(c);
}

/* Odd values read back: a report that shows secrets, rewritten from its
 * facts, gives the bytes the campaign gave, NULs in reasons and bodies
 * and the achieved delays included. */
static void test_read_back(void) {
  wsp_campaign *c = made_up(48, 700);
  char *shown = NULL, *hidden = NULL, *again = NULL, err[256];
  wsp_report *back = NULL;
  odd_results(c);
  CHECK_INT(wsp_report_json(c, 1, &shown), 0);
  CHECK_INT(wsp_report_json(c, 0, &hidden), 0);
  CHECK_INT(wsp_report_merge_texts((const char *const *)&shown, 1, 0, &back,
                                   err, sizeof(err)),
            0);
  if (back != NULL) {
    CHECK_INT(wsp_report_string(back, WSP_REPORT_JSON, 0, &again), 0);
    CHECK(
        same_text("odd, read back", from_summary(again), from_summary(hidden)));
  }
  wsp_report_free(back);
  wsp_free(shown);
  wsp_free(hidden);
  wsp_free(again);
  wsp_campaign_free(c);
}

/*
 * Campaigns run on two threads: the direct writer against the oracle,
 * which reads the caller's campaign (its figures added up from the loops)
 * where the writer merges the loops' models; and the report read back
 * and written again is the same report, threads and all.
 */
static void test_threads_json(void) {
  fixture fx;
  start(&fx, "--ready-delay", "20", NULL, NULL);
  if (fx.pid == 0)
    return;
  for (int burst = 0; burst < 2; burst++) {
    wsp_config *cfg = config(fx.port);
    wsp_campaign *c;
    wsp_report *back = NULL;
    char *json = NULL, *again = NULL, err[256];
    CHECK_INT(wsp_config_set_delay(cfg, 10), 0);
    CHECK_INT(wsp_campaign_new(cfg, &c), 0);
    CHECK_INT(wsp_campaign_set_count(c, 21), 0);
    CHECK_INT(wsp_campaign_set_concurrency(c, 5), 0);
    CHECK_INT(wsp_campaign_set_burst(c, burst), 0);
    CHECK_INT(wsp_campaign_set_jitter(c, burst ? 0 : 30), 0);
    CHECK_INT(wsp_campaign_set_rate(c, burst ? 0 : 1000.0 / 3), 0);
    CHECK_INT(wsp_campaign_set_threads(c, 2), 0);
    CHECK_INT(wsp_campaign_run(c), 0);
    CHECK_INT(wsp_campaign_result_count(c), 21);
    check_json_bytes(c, burst ? "threads, bursts" : "threads");
    CHECK_INT(wsp_report_json(c, 1, &json), 0);
    CHECK(json != NULL && strstr(json, "\"threads\":\t{") != NULL);
    CHECK_INT(wsp_report_merge_texts((const char *const *)&json, 1, 0, &back,
                                     err, sizeof(err)),
              0);
    if (back != NULL) {
      CHECK_INT(wsp_report_string(back, WSP_REPORT_JSON,
                                  WSP_REPORT_SHOW_SECRETS, &again),
                0);
      CHECK(same_text("threads, read back", again, json));
    }
    wsp_report_free(back);
    wsp_free(json);
    wsp_free(again);
    wsp_campaign_free(c);
    wsp_config_free(cfg);
  }
  fixture_stop(&fx);
}

/* 100,000 probes: the page stays small and quick to write. */
static void test_large(void) {
  wsp_campaign *c = made_up(100000, 60000);
  char *html = NULL, path[512];
  char *expect[] = {"--expect", "A sample of 400 of 100000 probes",
                    "--max-bytes", "2000000", NULL};
  struct timespec a, b;
  double secs;
  clock_gettime(CLOCK_MONOTONIC, &a);
  CHECK_INT(wsp_report_html(c, &html), 0);
  clock_gettime(CLOCK_MONOTONIC, &b);
  secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
  if (html != NULL) {
    fprintf(stderr, "large: html %zu bytes in %.3f s\n", strlen(html), secs);
    CHECK(strlen(html) < 2000000);
    snprintf(path, sizeof(path), "%s/large.html", outdir);
    write_file(path, html);
    CHECK_INT(run_check("html", path, expect), 0);
  }
  CHECK(secs < 10);
  wsp_free(html);
  wsp_campaign_free(c);
}

/* Argument checks and an empty campaign. */
static void test_edges(void) {
  wsp_config *cfg = wsp_config_new();
  wsp_campaign *c = NULL;
  char *out = NULL;
  CHECK_INT(wsp_report_junit(NULL, &out), WSP_EINVAL);
  CHECK_INT(wsp_report_html(NULL, &out), WSP_EINVAL);
  CHECK_INT(wsp_config_set_url(cfg, "ws://127.0.0.1:9/"), 0);
  CHECK_INT(wsp_campaign_new(cfg, &c), 0);
  CHECK_INT(wsp_report_junit(c, NULL), WSP_EINVAL);
  CHECK_INT(wsp_report_junit(c, &out), 0);
  CHECK(out != NULL && strstr(out, "tests=\"0\" failures=\"0\"") != NULL);
  wsp_free(out);
  out = NULL;
  CHECK_INT(wsp_report_html(c, &out), 0);
  CHECK(out != NULL && strstr(out, "no probe ran") != NULL);
  wsp_free(out);
  wsp_campaign_free(c);
  wsp_config_free(cfg);
}

/* Recorded headers: per probe and grouped, in the JSON writer and its
 * oracle alike; a server that echoes a secret into one is redacted. */
static void test_recorded_headers(void) {
  fixture fx;
  wsp_config *cfg;
  wsp_campaign *c;
  char *json = NULL;
  start(&fx, "--response-header", "X-Served-By: replica-a", "--response-header",
        "X-Echo: cookie-value-s3cr3t");
  if (fx.pid == 0)
    return;
  cfg = config(fx.port);
  CHECK_INT(wsp_config_add_record_header(cfg, "x-served-by"), 0);
  CHECK_INT(wsp_config_add_record_header(cfg, "X-Echo"), 0);
  CHECK_INT(wsp_config_add_record_header(cfg, "X-Absent"), 0);
  CHECK_INT(wsp_config_add_record_header(cfg, "X-ECHO"), WSP_EHEADER);
  CHECK_INT(wsp_config_add_record_header(cfg, "Bad Name"), WSP_EHEADER);
  CHECK_INT(wsp_campaign_new(cfg, &c), 0);
  CHECK_INT(wsp_campaign_set_count(c, 3), 0);
  CHECK_INT(wsp_campaign_run(c), 0);
  CHECK_INT(wsp_campaign_result_count(c), 3);
  for (size_t i = 0; i < wsp_campaign_result_count(c); i++) {
    const wsp_result *r = wsp_campaign_result(c, i);
    CHECK_STR(wsp_result_recorded_header(r, "X-Served-By"), "replica-a");
    CHECK_STR(wsp_result_recorded_header(r, "x-echo"), cookie_secret);
    CHECK(wsp_result_recorded_header(r, "X-Absent") == NULL);
    CHECK(wsp_result_recorded_header(r, "X-Other") == NULL);
  }
  check_json_bytes(c, "recorded headers");
  CHECK_INT(wsp_report_json(c, 0, &json), 0);
  if (json != NULL) {
    CHECK(strstr(json, cookie_secret) == NULL);
    CHECK(strstr(json, "\"x-served-by\":\"replica-a\"") != NULL);
    CHECK(strstr(json, "\"by_header\"") != NULL);
  }
  wsp_free(json);
  wsp_campaign_free(c);
  wsp_config_free(cfg);
  fixture_stop(&fx);
}

/* Groupings keep at most WSP__MAX_GROUPS values, whatever servers send;
 * later values are counted, not lost, and merges add by value. */
static void test_groups(void) {
  wsp__groups a = {0}, b = {0};
  char v[32];
  for (int i = 0; i < WSP__MAX_GROUPS + 10; i++) {
    snprintf(v, sizeof(v), "replica-%d", i);
    wsp__groups_add(&a, v, i % 2 ? WSP_OUTCOME_OK : WSP_OUTCOME_TIMEOUT);
  }
  wsp__groups_add(&a, NULL, WSP_OUTCOME_DNS_FAILED);
  CHECK_INT(a.n, WSP__MAX_GROUPS);
  CHECK_INT(a.other, 11);
  CHECK_STR(a.v[1].value, "replica-1");
  CHECK_INT(a.v[1].passed, 1);
  CHECK_INT(a.v[0].outcomes[WSP_OUTCOME_TIMEOUT], 1);
  wsp__groups_add(&b, "replica-1", WSP_OUTCOME_OK);
  wsp__groups_add(&b, NULL, WSP_OUTCOME_DNS_FAILED);
  wsp__groups_merge(&b, &a);
  CHECK_INT(b.n, WSP__MAX_GROUPS);
  CHECK_STR(b.v[0].value, "replica-1");
  CHECK_INT(b.v[0].total, 2);
  CHECK_INT(b.v[0].passed, 2);
  CHECK(b.v[1].value == NULL);
  CHECK_INT(b.v[1].total, 1);
  /* b held 2 values and had room for 62 more: a's replica-1 joined its
   * own, 62 of a's other 63 values found room, one did not; a's NULL was
   * already among a's 11 others. */
  CHECK_INT(b.other, 11 + 1);
  wsp__groups_clear(&a);
  wsp__groups_clear(&b);
  CHECK_INT(a.n, 0);
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s RACESERVER PYTHON CHECK_SCRIPT OUT_DIR\n",
            argv[0]);
    return 2;
  }
  raceserver = argv[1];
  python = argv[2];
  checker = argv[3];
  outdir = argv[4];
  if (mkdir(outdir, 0755) != 0 && errno != EEXIST) {
    perror(outdir);
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  test_groups();
  test_recorded_headers();
  test_edges();
  test_json_bytes();
  test_loops_merged();
  test_hostile();
  test_echoed_secrets();
  test_read_back();
  test_threads_json();
  test_large();
  test_json_pieces();
  test_plain_mixed();
  test_sweep();
  test_window();
  test_duration();
  test_levels();
  return check_status("test_reports");
}
