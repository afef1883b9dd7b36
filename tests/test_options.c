/*
 * The option table, plans, step text, key algorithms and the campaign's
 * explicit modes, without a network: every check the CLI and the bindings
 * rely on, made here on the library itself.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>

#include "check.h"
#include "options.h"
#include "wsprobe.h"

#define URL "ws://127.0.0.1:9/"
#define WSS "wss://127.0.0.1:9/"

/* The URL plans are made for (TLS options need wss://). */
static const char *url = URL;

/* A plan of URL and name/value pairs (NULL-terminated); NULL on failure. */
static wsp_plan *vplan(int keywords, va_list ap) {
  wsp_plan *p;
  const char *name;
  CHECK_INT(wsp_plan_new(&p), 0);
  wsp_plan_use_keywords(p, keywords);
  CHECK_INT(wsp_plan_set_url(p, url), 0);
  while ((name = va_arg(ap, const char *)) != NULL) {
    const char *value = va_arg(ap, const char *);
    int rc = wsp_plan_set(p, name, value);
    if (rc != 0) {
      fprintf(stderr, "  set %s=%s: %s\n", name, value ? value : "(flag)",
              wsp_plan_last_error(p));
      wsp_plan_free(p);
      return NULL;
    }
  }
  return p;
}

static wsp_plan *plan(const char *first, ...) {
  va_list ap;
  wsp_plan *p;
  (void)first;
  va_start(ap, first);
  p = vplan(0, ap);
  va_end(ap);
  return p;
}

/* The dry run of a plan of pairs, or NULL with the message in err. */
static char *dry(char *err, size_t errlen, const char *first, ...) {
  va_list ap;
  wsp_plan *p;
  char *out = NULL;
  (void)first;
  va_start(ap, first);
  p = vplan(0, ap);
  va_end(ap);
  if (p == NULL)
    return NULL;
  if (wsp_plan_to_json(p, &out) != 0) {
    snprintf(err, errlen, "%s", wsp_plan_last_error(p));
    out = NULL;
  }
  wsp_plan_free(p);
  return out;
}

/* Setting `name` to `value` fails with rc and a message holding `want`. */
static void set_fails(int keywords, const char *name, const char *value, int rc,
                      const char *want) {
  wsp_plan *p;
  CHECK_INT(wsp_plan_new(&p), 0);
  wsp_plan_use_keywords(p, keywords);
  CHECK_INT(wsp_plan_set(p, name, value), rc);
  if (strstr(wsp_plan_last_error(p), want) == NULL) {
    fprintf(stderr, "  set %s=%s: '%s' lacks '%s'\n", name,
            value ? value : "(flag)", wsp_plan_last_error(p), want);
    CHECK(0);
  }
  wsp_plan_free(p);
}

/* Building a plan of pairs fails with a message holding want and want2. */
static void build_fails(const char *want, const char *want2, ...) {
  va_list ap;
  wsp_plan *p;
  wsp_campaign *c = NULL;
  char *json = NULL;
  va_start(ap, want2);
  p = vplan(0, ap);
  va_end(ap);
  CHECK(p != NULL);
  if (p == NULL)
    return;
  CHECK(wsp_plan_to_json(p, &json) != 0);
  CHECK(wsp_plan_build(p, &c) != 0);
  CHECK(c == NULL);
  if (strstr(wsp_plan_last_error(p), want) == NULL ||
      (want2 && strstr(wsp_plan_last_error(p), want2) == NULL)) {
    fprintf(stderr, "  '%s' lacks '%s' or '%s'\n", wsp_plan_last_error(p), want,
            want2 ? want2 : "");
    CHECK(0);
  }
  wsp_free(json);
  wsp_plan_free(p);
}

static void test_table(void) {
  size_t n = wsp_option_count();
  CHECK(n > 50);
  CHECK(wsp_option_at(n) == NULL);
  for (size_t i = 0; i < n; i++) {
    const wsp_option *o = wsp_option_at(i);
    const char *name = wsp_option_text(o, WSP_OPTION_NAME);
    const char *kw = wsp_option_text(o, WSP_OPTION_KEYWORD);
    unsigned flags = wsp_option_flags(o);
    wsp_option_type t = wsp_option_type_of(o);
    CHECK(wsp_option_find(name) == o);
    CHECK(wsp_option_text(o, WSP_OPTION_HELP) != NULL);
    CHECK(wsp_option_text(o, WSP_OPTION_GROUP) != NULL);
    /* A value has a name in the help; a flag has none. */
    CHECK((t == WSP_OPTION_FLAG) ==
          (wsp_option_text(o, WSP_OPTION_METAVAR) == NULL));
    if (wsp_option_short(o))
      CHECK(wsp_option_find_short(wsp_option_short(o)) == o);
    /* Every option but the front end's own has a keyword, an identifier
     * that names no other option. */
    CHECK(kw != NULL || (flags & WSP_OPTION_FRONT_END));
    if (kw != NULL) {
      CHECK(strspn(kw, "abcdefghijklmnopqrstuvwxyz_") == strlen(kw));
      CHECK(wsp_option_find(kw) == o);
    }
    for (size_t j = 0; j < i; j++) {
      const wsp_option *q = wsp_option_at(j);
      CHECK(strcmp(name, wsp_option_text(q, WSP_OPTION_NAME)) != 0);
      CHECK(!wsp_option_short(o) || wsp_option_short(o) != wsp_option_short(q));
    }
    CHECK((t == WSP_OPTION_UINT || t == WSP_OPTION_NUMBER ||
           t == WSP_OPTION_SECONDS || t == WSP_OPTION_LIST ||
           t == WSP_OPTION_PAIR) ==
          (wsp_option_text(o, WSP_OPTION_RANGE) != NULL));
    CHECK((t == WSP_OPTION_CHOICE) ==
          (wsp_option_text(o, WSP_OPTION_CHOICES) != NULL));
    CHECK((t == WSP_OPTION_PAIR) ==
          (wsp_option_text(o, WSP_OPTION_SEPARATOR) != NULL));
  }
  CHECK(wsp_option_find("no-such-option") == NULL);
  CHECK(wsp_option_find_short('Z') == NULL);
  CHECK_STR(wsp_option_text(wsp_option_find("count"), WSP_OPTION_RANGE),
            "1-10000000");
  CHECK_STR(wsp_option_text(wsp_option_find("duration"), WSP_OPTION_RANGE),
            "0.001-604800");
  CHECK_STR(wsp_option_text(wsp_option_find("delays"), WSP_OPTION_NAME),
            "delay-sweep");
  CHECK(wsp_option_text(NULL, WSP_OPTION_NAME) == NULL);
}

/* Each numeric option's range is its setter's: the lowest and the highest
 * value pass the setter, one above the highest does not. */
static void test_ranges_match_setters(void) {
  wsp_config *cfg = wsp_config_new();
  CHECK_INT(wsp_config_set_url(cfg, URL), 0);
  for (size_t i = 0; i < wsp__noptions; i++) {
    const wsp_option *o = &wsp__options[i];
    uint64_t v[3] = {o->min, o->max, o->max + 1};
    if (o->type != WSP_OPTION_UINT && o->type != WSP_OPTION_SECONDS)
      continue;
    for (int k = 0; k < 3; k++) {
      wsp_campaign *c;
      int rc = -1;
      CHECK_INT(wsp_campaign_new(cfg, &c), 0);
      if (o->cfg_u32 != NULL && v[k] <= UINT32_MAX)
        rc = o->cfg_u32(cfg, (uint32_t)v[k]);
      else if (o->cfg_u64 != NULL)
        rc = o->cfg_u64(cfg, v[k]);
      else if (o->camp_u32 != NULL && v[k] <= UINT32_MAX)
        rc = o->camp_u32(c, (uint32_t)v[k]);
      else if (o->phase >= 0 && v[k] <= UINT32_MAX)
        rc = wsp_config_set_timeout(cfg, (wsp_phase)o->phase, (uint32_t)v[k]);
      else if (strcmp(o->name, "seed") == 0)
        rc = wsp_campaign_set_seed(c, v[k]);
      else
        rc = k == 2 ? WSP_ERANGE : 0; /* Checked where it is applied. */
      if ((rc == 0) != (k < 2)) {
        fprintf(stderr, "  --%s: %llu gives %d\n", o->name,
                (unsigned long long)v[k], rc);
        CHECK(0);
      }
      wsp_campaign_close(c);
    }
  }
  wsp_config_free(cfg);
}

/* What an option needs to be given at all (it needs what it modifies). */
static const char *const needs[][5] = {
    {"resolution", "find-window", NULL},
    {"trials", "find-window", NULL},
    {"jwt-ttl", "jwt-secret", "s"},
    {"jwt-placement", "jwt", "a.b.c"},
    {"jwt-prefix", "jwt", "a.b.c"},
    {"jwt-query-param", "jwt", "a.b.c", "jwt-placement", "query"},
    {"start-tolerance", "start-at", "2026-11-28T22:30:00Z"},
    {"health-interval", "health", "http://127.0.0.1:9/health"},
    {"health-timeout", "health", "http://127.0.0.1:9/health"},
};

/* Giving an option its documented default changes nothing: the table's
 * defaults are the library's. */
static void test_defaults_are_the_librarys(void) {
  url = WSS;
  for (size_t i = 0; i < wsp__noptions; i++) {
    const wsp_option *o = &wsp__options[i];
    const char *need = NULL, *need_value = NULL, *need2 = "quiet",
               *need2_value = NULL;
    char err[300] = "", *a, *b;
    /* A mode's default is that of its value when it is left out. */
    if (o->dflt == NULL || o->type == WSP_OPTION_FLAG ||
        strcmp(o->name, "find-window") == 0)
      continue;
    for (size_t k = 0; k < WSP__ARRAY_SIZE(needs); k++)
      if (strcmp(needs[k][0], o->name) == 0) {
        need = needs[k][1];
        need_value = needs[k][2];
        if (needs[k][3] != NULL) {
          need2 = needs[k][3];
          need2_value = needs[k][4];
        }
      }
    if (need != NULL && strcmp(need, "find-window") == 0) {
      a = dry(err, sizeof(err), "", need, need_value, "send", "x", NULL);
      b = dry(err, sizeof(err), "", need, need_value, "send", "x", o->name,
              o->dflt, NULL);
    } else {
      a = dry(err, sizeof(err), "", need ? need : "quiet", need_value, need2,
              need2_value, NULL);
      b = dry(err, sizeof(err), "", need ? need : "quiet", need_value, need2,
              need2_value, o->name, o->dflt, NULL);
    }
    if (a == NULL || b == NULL || strcmp(a, b) != 0) {
      fprintf(stderr, "  --%s %s: %s\n  %s\n  %s\n", o->name, o->dflt, err,
              a ? a : "", b ? b : "");
      CHECK(0);
    }
    wsp_free(a);
    wsp_free(b);
  }
  url = URL;
}

static void test_values(void) {
  wsp_plan *p;
  char err[300] = "", *j;
  cJSON *o;
  set_fails(0, "count", "0", WSP_ERANGE, "--count: 0 is out of range (1-");
  set_fails(1, "count", "0", WSP_ERANGE, "count: 0 is out of range");
  set_fails(0, "count", "-3", WSP_EINVAL, "'-3' is not a non-negative");
  set_fails(0, "count", "1x", WSP_EINVAL, "--count: '1x'");
  set_fails(0, "count", "99999999999999999999999", WSP_ERANGE, "out of range");
  set_fails(0, "count", NULL, WSP_EINVAL, "--count needs a value (N)");
  set_fails(0, "burst", "yes", WSP_EINVAL, "--burst takes no value");
  set_fails(0, "nope", "1", WSP_ENOTFOUND, "unknown option 'nope'");
  set_fails(1, "nope", "1", WSP_ENOTFOUND, "unknown keyword 'nope'");
  set_fails(0, "rate", "nan", WSP_EINVAL, "--rate: 'nan' is not a number");
  set_fails(0, "rate", "0", WSP_ERANGE, "--rate: 0 is out of range");
  set_fails(0, "delay-sweep", "0,,5", WSP_EINVAL, "has an empty entry");
  set_fails(0, "delay-sweep", "0,3600001", WSP_ERANGE, "3600001 is out");
  set_fails(0, "find-window", "5", WSP_EINVAL, "not of the form MIN:MAX");
  set_fails(0, "shard", "1:2", WSP_EINVAL, "not of the form I/N");
  set_fails(0, "jwt-placement", "both", WSP_EINVAL,
            "'both' is not one of subprotocol bearer query");
  set_fails(0, "duration", "1.2345", WSP_EINVAL, "not a number of seconds");
  set_fails(0, "duration", "0", WSP_ERANGE, "0 is out of range (0.001-");
  set_fails(0, "json", "", WSP_EINVAL, "--json: an empty file name");
  /* A secret is never echoed, even when it is wrong. */
  set_fails(0, "jwt-alg", "x", WSP_EINVAL, "'x' is not one of");
  {
    wsp_plan *q;
    CHECK_INT(wsp_plan_new(&q), 0);
    CHECK_INT(wsp_plan_set_bytes(q, "jwt", "se\0cret", 7), WSP_EINVAL);
    CHECK(strstr(wsp_plan_last_error(q), "se") == NULL);
    CHECK_INT(wsp_plan_set_bytes(q, "send", "a\0b", 3), 0);
    CHECK_INT(wsp_plan_given(q, "send"), 1);
    wsp_plan_free(q);
  }
  /* Seconds on the command line, milliseconds by keyword. */
  j = dry(err, sizeof(err), "", "duration", "1.5", NULL);
  CHECK(j != NULL && strstr(j, "\"duration_ms\":1500") != NULL);
  wsp_free(j);
  j = dry(err, sizeof(err), "", "duration_ms", "1500", NULL);
  CHECK(j != NULL && strstr(j, "\"duration_ms\":1500") != NULL);
  wsp_free(j);
  /* Repeatable options add, the others keep the last value. */
  p = plan("", "count", "3", "count", "4", "expect", "a", "expect", "b", NULL);
  CHECK(p != NULL);
  CHECK_INT(wsp_plan_given(p, "count"), 1);
  CHECK_STR(wsp_plan_value(p, "count"), "4");
  CHECK_INT(wsp_plan_given(p, "expect"), 2);
  CHECK_INT(wsp_plan_given(p, "headers"), 0);
  CHECK(wsp_plan_value(p, "nope") == NULL);
  CHECK_INT(wsp_plan_to_json(p, &j), 0);
  o = cJSON_Parse(j);
  CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(
                cJSON_GetObjectItem(o, "campaign"), "planned")),
            4);
  CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(
                cJSON_GetObjectItem(o, "config"), "expect")),
            2);
  cJSON_Delete(o);
  wsp_free(j);
  wsp_plan_free(p);
  /* An optional value left out is the default. */
  j = dry(err, sizeof(err), "", "find-window", NULL, "send", "x", NULL);
  CHECK(j != NULL && strstr(j, "\"hi_ms\":5000") != NULL);
  wsp_free(j);
}

static void test_checks(void) {
  build_fails("--step and --send exclude each other", NULL, "step", "send:x",
              "send", "y", NULL);
  build_fails("--step and --delay exclude each other", NULL, "step", "send:x",
              "delay", "5", NULL);
  build_fails("--binary needs --send", NULL, "binary", NULL, NULL);
  build_fails("--hold applies without --send", NULL, "hold", "5", "send", "x",
              NULL);
  build_fails("--expect-order needs --expect", NULL, "expect-order", NULL,
              NULL);
  build_fails("give one of --jwt-secret", NULL, "jwt-secret", "a", "jwt-key",
              "/etc/hostname", NULL);
  build_fails("--jwt and --jwt-secret exclude", NULL, "jwt", "a.b.c",
              "jwt-secret", "s", NULL);
  build_fails("--jwt-claims needs --jwt-secret", NULL, "jwt-claims", "{}",
              NULL);
  build_fails("--jwt-placement needs a token: --jwt, --jwt-secret, "
              "--jwt-secret-file or --jwt-key",
              NULL, "jwt-placement", "bearer", NULL);
  build_fails("give one of --jwt-secret, --jwt-secret-file and --jwt-key", NULL,
              "jwt-secret", "a", "jwt-secret-file", "/etc/hostname", NULL);
  url = WSS;
  build_fails("--cert and --key go together", NULL, "cert", "/x", NULL);
  url = URL;
  build_fails("--tls-resume applies to wss:// URLs", NULL, "tls-resume", "off",
              NULL);
  build_fails("exclude each other: a campaign runs one", NULL, "delay-sweep",
              "0,5", "concurrency-sweep", "4", "send", "x", NULL);
  /* The false passes: a sweep, a search or a burst with nothing
   * to send would pass without testing anything. */
  build_fails("--delay-sweep needs --send", NULL, "delay-sweep", "0,10", NULL);
  build_fails("--find-window needs --send", NULL, "find-window", "0:50", NULL);
  build_fails("--burst needs --send", NULL, "burst", NULL, NULL);
  build_fails("--trials applies only to --find-window", NULL, "delay-sweep",
              "0,10", "trials", "3", "send", "x", NULL);
  build_fails("--find-window and --delay exclude", NULL, "find-window", "0:9",
              "delay", "5", "send", "x", NULL);
  build_fails("--count:", "a window search ignores the count", "find-window",
              "0:9", "count", "3", "send", "x", NULL);
  build_fails("--shard:", "cannot be split", "concurrency-sweep", "4", "shard",
              "0/2", "send", "x", NULL);
  build_fails("--duration:", "ignores a duration", "concurrency-sweep", "4",
              "duration", "2", "send", "x", NULL);
  build_fails("--shard: I must be below N", NULL, "shard", "2/2", NULL);
  build_fails("--origin", "Origin given twice", "origin", "http://a", "header",
              "Origin: http://b", NULL);
  build_fails("--header: invalid header name 'Bad Name'", NULL, "header",
              "Bad Name: v", NULL);
  build_fails("--jwt-key holds a private key: HS256 takes a secret", NULL,
              "jwt-key", "/etc/hostname", "jwt-alg", "HS256", NULL);
  build_fails("--jwt-secret-file: '/' is not a readable file", NULL,
              "jwt-secret-file", "/", NULL);
  build_fails("--html: cannot write /nonexistent/x.html: ", NULL, "html",
              "/nonexistent/x.html", NULL);
  {
    /* Keywords in messages, as a binding shows them. */
    wsp_plan *p;
    wsp_campaign *c = NULL;
    CHECK_INT(wsp_plan_new(&p), 0);
    wsp_plan_use_keywords(p, 1);
    CHECK_INT(wsp_plan_set_url(p, URL), 0);
    CHECK_INT(wsp_plan_set(p, "delays", "0,10"), 0);
    CHECK(wsp_plan_build(p, &c) != 0);
    CHECK_STR(wsp_plan_last_error(p),
              "delays needs send: the delay is that of the first message");
    wsp_plan_free(p);
    CHECK_INT(wsp_plan_new(&p), 0);
    CHECK(wsp_plan_build(p, &c) != 0);
    CHECK_STR(wsp_plan_last_error(p), "missing URL");
    wsp_plan_free(p);
  }
}

/* The first `len` bytes of the file at `path`, as a string ("" when it
 * cannot be read). */
static void head_of(const char *path, char *buf, size_t len) {
  FILE *f = fopen(path, "r");
  size_t n = f ? fread(buf, 1, len - 1, f) : 0;
  buf[n] = '\0';
  if (f)
    fclose(f);
}

static void test_build_and_reports(void) {
  wsp_plan *p;
  wsp_campaign *c = NULL;
  wsp_report *rep = NULL;
  char path[] = "/tmp/wsprobe-options-XXXXXX", json[300], html[300], buf[256];
  FILE *f;
  CHECK(mkdtemp(path) != NULL);
  snprintf(json, sizeof(json), "%s/r.json", path);
  snprintf(html, sizeof(html), "%s/r.html", path);
  /* A report from an earlier run stays whole until the new one is. */
  f = fopen(json, "w");
  CHECK(f != NULL);
  if (f) {
    fputs("earlier", f);
    fclose(f);
  }
  p = plan("", "burst", NULL, "concurrency", "4", "send", "x", "json", json,
           "html", html, "seed", "7", NULL);
  CHECK(p != NULL);
  CHECK_INT(wsp_plan_build(p, &c), 0);
  CHECK(c != NULL);
  /* The paths were checked, not opened: nothing was created or cut. */
  head_of(json, buf, sizeof(buf));
  CHECK_STR(buf, "earlier");
  CHECK(access(html, F_OK) != 0);
  /* With bursts and no count: one burst of the concurrency. */
  CHECK_INT(wsp_campaign_planned(c), 4);
  CHECK_INT(wsp_campaign_seed(c), 7);
  CHECK_INT(wsp_plan_build(p, &c), WSP_ESTATE);
  CHECK_INT(wsp_plan_set(p, "count", "2"), WSP_ESTATE);
  CHECK_INT(wsp_campaign_run(c), 0);
  CHECK_INT(wsp_campaign_result_count(c), 4);
  CHECK_INT(wsp_report_new(c, &rep), 0);
  CHECK_INT(wsp_plan_save_reports(p, rep), 0);
  head_of(json, buf, sizeof(buf));
  CHECK(strstr(buf, "\"version\"") != NULL);
  head_of(html, buf, sizeof(buf));
  CHECK(strstr(buf, "<!DOCTYPE html>") != NULL);
  /* A report that cannot be written is named; the others still are. */
  remove(json);
  remove(html);
  CHECK_INT(rmdir(path), 0);
  CHECK_INT(wsp_plan_save_reports(p, rep), WSP_EIO);
  CHECK(strstr(wsp_plan_last_error(p), "--json: cannot write ") != NULL);
  wsp_report_free(rep);
  CHECK_INT(wsp_campaign_close(c), 0);
  wsp_plan_free(p);
  wsp_plan_free(NULL);
}

/* Merge plans take the options of wsprobe merge only, and the reports of
 * a run's shards. */
static void test_merge_plans(void) {
  char dir[] = "/tmp/wsprobe-merge-plan-XXXXXX", shard[2][300], out[300];
  const char *paths[2];
  wsp_plan *p;
  wsp_report *rep = NULL;
  uint32_t missing[2];
  CHECK(mkdtemp(dir) != NULL);
  /* Two shards of one campaign against a closed port: every probe fails,
   * quickly, the same way. */
  for (int i = 0; i < 2; i++) {
    wsp_campaign *c = NULL;
    wsp_report *r = NULL;
    char s[8];
    snprintf(shard[i], sizeof(shard[i]), "%s/shard-%d.json", dir, i);
    snprintf(s, sizeof(s), "%d/2", i);
    p = plan("", "count", "4", "seed", "3", "shard", s, "json", shard[i], NULL);
    CHECK(p != NULL);
    CHECK_INT(wsp_plan_build(p, &c), 0);
    CHECK_INT(wsp_campaign_run(c), 0);
    CHECK_INT(wsp_report_new(c, &r), 0);
    CHECK_INT(wsp_plan_save_reports(p, r), 0);
    wsp_report_free(r);
    wsp_campaign_close(c);
    wsp_plan_free(p);
    paths[i] = shard[i];
  }
  snprintf(out, sizeof(out), "%s/merged.json", dir);
  CHECK_INT(wsp_plan_new_merge(&p), 0);
  CHECK_INT(wsp_plan_set(p, "count", "3"), WSP_EINVAL);
  CHECK_STR(wsp_plan_last_error(p),
            "--count is not an option of a merge of reports");
  CHECK_INT(wsp_plan_set_url(p, URL), WSP_ESTATE);
  CHECK_INT(wsp_plan_build(p, &(wsp_campaign *){NULL}), WSP_ESTATE);
  CHECK_INT(wsp_plan_set(p, "json", out), 0);
  CHECK_INT(wsp_plan_check_reports(p), 0);
  /* One shard of two is refused, naming the way to merge it anyway. */
  CHECK_INT(wsp_plan_merge(p, paths, 1, &rep), WSP_EMERGE);
  CHECK(strstr(wsp_plan_last_error(p), "shard 1 of 2 is missing") != NULL);
  CHECK(strstr(wsp_plan_last_error(p), "(--allow-partial merges the shards "
                                       "given)") != NULL);
  CHECK_INT(wsp_plan_merge(p, paths, 2, &rep), 0);
  CHECK_INT(wsp_plan_merge(p, paths, 2, &rep), WSP_ESTATE);
  CHECK_INT(wsp_report_total(rep), 4);
  CHECK_INT(wsp_report_verdict(rep), WSP_VERDICT_FAIL);
  CHECK_INT(wsp_plan_save_reports(p, rep), 0);
  CHECK(access(out, R_OK) == 0);
  wsp_report_free(rep);
  wsp_plan_free(p);
  /* Partial, by keyword as a binding gives it. */
  CHECK_INT(wsp_plan_new_merge(&p), 0);
  wsp_plan_use_keywords(p, 1);
  CHECK_INT(wsp_plan_set(p, "allow_partial", NULL), 0);
  CHECK_INT(wsp_plan_merge(p, paths + 1, 1, &rep), 0);
  CHECK_INT(wsp_report_verdict(rep), WSP_VERDICT_PARTIAL);
  CHECK_INT(wsp_report_missing_shards(rep, missing, 2), 1);
  CHECK_INT(missing[0], 0);
  wsp_report_free(rep);
  wsp_plan_free(p);
  /* A run refuses what only a merge takes, and unwritable reports. */
  CHECK_INT(wsp_plan_new(&p), 0);
  CHECK_INT(wsp_plan_set(p, "allow-partial", NULL), WSP_EINVAL);
  CHECK(strstr(wsp_plan_last_error(p), "applies only to a merge") != NULL);
  CHECK_INT(wsp_plan_merge(p, paths, 2, &rep), WSP_ESTATE);
  CHECK_INT(wsp_plan_set(p, "junit", "/nonexistent/x.xml"), 0);
  CHECK_INT(wsp_plan_check_reports(p), WSP_EIO);
  CHECK(strstr(wsp_plan_last_error(p),
               "--junit: cannot write /nonexistent/x.xml: ") != NULL);
  wsp_plan_free(p);
  remove(out);
  remove(shard[0]);
  remove(shard[1]);
  CHECK_INT(rmdir(dir), 0);
}

static void test_steps(void) {
  wsp_config *cfg = wsp_config_new();
  char *j = NULL;
  CHECK_INT(wsp_config_add_step_text(cfg, "send:{\"type\":\"a:b\"}"), 0);
  CHECK_INT(wsp_config_add_step_text(cfg, "expect:x:y:250"), 0);
  CHECK_INT(wsp_config_add_step_text(cfg, "expect:plain"), 0);
  CHECK_INT(wsp_config_add_step_text(cfg, "expect:t:0"), 0);
  CHECK_INT(wsp_config_add_step_text(cfg, "wait:10"), 0);
  CHECK_INT(wsp_config_add_step_text(cfg, "binary:\x01\x02"), 0);
  CHECK_INT(wsp_config_add_step_text(cfg, "close:4000:bye: now"), 0);
  CHECK_INT(wsp_config_set_url(cfg, URL), 0);
  CHECK_INT(wsp_config_to_json(cfg, 0, &j), 0);
  CHECK(strstr(j, "{\"step\":\"expect\",\"type\":\"x:y\",\"timeout_ms\":250}"));
  CHECK(strstr(j, "{\"step\":\"expect\",\"type\":\"plain\",\"timeout_ms\":0}"));
  CHECK(strstr(j, "{\"step\":\"send\",\"binary\":true,\"bytes\":2}"));
  CHECK(
      strstr(j, "{\"step\":\"close\",\"code\":4000,\"reason\":\"bye: now\"}"));
  wsp_free(j);
  CHECK_INT(wsp_config_add_step_text(cfg, "bogus"), WSP_EINVAL);
  CHECK(strstr(wsp_config_last_error(cfg), "is not send:") != NULL);
  CHECK_INT(wsp_config_add_step_text(cfg, "wait:-1"), WSP_EINVAL);
  CHECK_INT(wsp_config_add_step_text(cfg, "wait:3600001"), WSP_ERANGE);
  CHECK_INT(wsp_config_add_step_text(cfg, "close:1005"), WSP_ERANGE);
  CHECK_INT(wsp_config_add_step_text(cfg, "close:"), WSP_EINVAL);
  CHECK_INT(wsp_config_add_step_text(cfg, "expect:"), WSP_EEXPECT);
  CHECK_INT(wsp_config_add_step_text(cfg, "send:\xff"), WSP_EINVAL);
  CHECK_INT(wsp_config_add_step_text(cfg, NULL), WSP_EINVAL);
  wsp_config_free(cfg);
}

/* A key of `type` as PEM, made here; "" when generation failed. */
static void make_key(mbedtls_pk_type_t type, int curve, char *pem, size_t len) {
  mbedtls_pk_context pk;
  mbedtls_entropy_context ent;
  mbedtls_ctr_drbg_context drbg;
  int rc;
  mbedtls_pk_init(&pk);
  mbedtls_entropy_init(&ent);
  mbedtls_ctr_drbg_init(&drbg);
  rc = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, NULL, 0);
  if (rc == 0)
    rc = mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(type));
  if (rc == 0 && type == MBEDTLS_PK_RSA)
    rc = mbedtls_rsa_gen_key(mbedtls_pk_rsa(pk), mbedtls_ctr_drbg_random, &drbg,
                             1024, 65537);
  else if (rc == 0)
    rc = mbedtls_ecp_gen_key((mbedtls_ecp_group_id)curve, mbedtls_pk_ec(pk),
                             mbedtls_ctr_drbg_random, &drbg);
  if (rc == 0)
    rc = mbedtls_pk_write_key_pem(&pk, (unsigned char *)pem, len);
  CHECK_INT(rc, 0);
  if (rc != 0)
    pem[0] = '\0';
  mbedtls_pk_free(&pk);
  mbedtls_ctr_drbg_free(&drbg);
  mbedtls_entropy_free(&ent);
}

static void test_key_alg(void) {
  static char pem[4096];
  make_key(MBEDTLS_PK_RSA, 0, pem, sizeof(pem));
  CHECK_INT(wsp_jwt_key_alg(pem, strlen(pem)), WSP_JWT_RS256);
  make_key(MBEDTLS_PK_ECKEY, MBEDTLS_ECP_DP_SECP256R1, pem, sizeof(pem));
  CHECK_INT(wsp_jwt_key_alg(pem, strlen(pem)), WSP_JWT_ES256);
  make_key(MBEDTLS_PK_ECKEY, MBEDTLS_ECP_DP_SECP384R1, pem, sizeof(pem));
  CHECK_INT(wsp_jwt_key_alg(pem, strlen(pem)), WSP_EINVAL);
  CHECK_INT(wsp_jwt_key_alg("not a key", 9), WSP_EINVAL);
  CHECK_INT(wsp_jwt_key_alg(NULL, 0), WSP_EINVAL);
}

/* Modes are chosen by their setters; conflicting ones are refused, and no
 * setter changes another's value. */
static void test_campaign_modes(void) {
  wsp_config *cfg = wsp_config_new();
  const uint32_t d[] = {0, 10};
  wsp_campaign *c;
  CHECK_INT(wsp_config_set_url(cfg, URL), 0);

  CHECK_INT(wsp_campaign_new(cfg, &c), 0);
  CHECK_INT(wsp_campaign_set_delays(c, d, 2, 3), 0);
  CHECK_INT(wsp_campaign_set_window_search(c, 0, 10, 1, 1), WSP_ESTATE);
  CHECK(strstr(wsp_campaign_last_error(c), "already a delay sweep") != NULL);
  CHECK_INT(wsp_campaign_set_concurrency_sweep(c, 4), WSP_ESTATE);
  CHECK_INT(wsp_campaign_set_count(c, 5), WSP_ESTATE);
  CHECK_INT(wsp_campaign_set_delays(c, d, 1, 4), 0); /* Its own: fine. */
  CHECK_STR(wsp_campaign_last_error(c), "");
  CHECK_INT(wsp_campaign_planned(c), 4);
  wsp_campaign_close(c);

  CHECK_INT(wsp_campaign_new(cfg, &c), 0);
  CHECK_INT(wsp_campaign_set_count(c, 5), 0);
  CHECK_INT(wsp_campaign_set_delays(c, d, 2, 3), WSP_ESTATE);
  CHECK_INT(wsp_campaign_set_window_search(c, 0, 10, 1, 1), WSP_ESTATE);
  CHECK_INT(wsp_campaign_set_shard(c, 0, 2), 0);
  CHECK_INT(wsp_campaign_planned(c), 3);
  wsp_campaign_close(c);

  CHECK_INT(wsp_campaign_new(cfg, &c), 0);
  CHECK_INT(wsp_campaign_set_shard(c, 1, 2), 0);
  CHECK_INT(wsp_campaign_set_concurrency_sweep(c, 4), WSP_ESTATE);
  CHECK(strstr(wsp_campaign_last_error(c), "cannot be split") != NULL);
  CHECK_INT(wsp_campaign_set_shard(c, 0, 1), 0); /* One shard: no split. */
  CHECK_INT(wsp_campaign_set_concurrency_sweep(c, 4), 0);
  CHECK_INT(wsp_campaign_set_duration(c, 100), WSP_ESTATE);
  CHECK_INT(wsp_campaign_set_concurrency(c, 2), WSP_ESTATE);
  CHECK_INT(wsp_campaign_set_burst(c, 1), 0);
  wsp_campaign_close(c);

  /* A duration does not rewrite the count: a count given stays a cap. */
  CHECK_INT(wsp_campaign_new(cfg, &c), 0);
  CHECK_INT(wsp_campaign_set_count(c, 1), 0);
  CHECK_INT(wsp_campaign_set_duration(c, 50), 0);
  CHECK_INT(wsp_campaign_run(c), 0);
  CHECK_INT(wsp_campaign_result_count(c), 1);
  CHECK_INT(wsp_campaign_set_count(c, 2), WSP_ESTATE);
  CHECK(strstr(wsp_campaign_last_error(c), "already been started") != NULL);
  CHECK_INT(wsp_campaign_close(c), 0);

  /* Bursts without a count: one burst of the concurrency. */
  CHECK_INT(wsp_campaign_new(cfg, &c), 0);
  CHECK_INT(wsp_campaign_set_concurrency(c, 6), 0);
  CHECK_INT(wsp_campaign_set_burst(c, 1), 0);
  CHECK_INT(wsp_campaign_planned(c), 6);
  CHECK_INT(wsp_campaign_set_count(c, 0), WSP_ERANGE);
  CHECK(strstr(wsp_campaign_last_error(c), "count 0 out of range") != NULL);
  CHECK_INT(wsp_campaign_set_count(c, 2), 0);
  CHECK_INT(wsp_campaign_planned(c), 2);
  CHECK(wsp_campaign_open_files(c) >= 2 + 1);
  CHECK_INT(wsp_campaign_check_limits(c), 0);
  wsp_campaign_close(c);
  CHECK_INT(wsp_campaign_close(NULL), 0);
  CHECK_STR(wsp_campaign_last_error(NULL), "no campaign");
  wsp_config_free(cfg);
}

int main(void) {
  test_table();
  test_ranges_match_setters();
  test_defaults_are_the_librarys();
  test_values();
  test_checks();
  test_build_and_reports();
  test_merge_plans();
  test_steps();
  test_key_alg();
  test_campaign_modes();
  return check_status("test_options");
}
