/*
 * The JUnit XML report: one <testcase> per probe, or per measured point
 * (delay, window point, concurrency level) for sweeps and searches, so
 * that CI systems show a campaign the way they show a test suite.
 *
 * Everything a server sent (reasons, bodies, error lines quoting them) is
 * escaped and cleaned by wsp__out_escape(): CI parsers reject a file with
 * one stray control character or invalid UTF-8 byte.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report_common.h"

/* Detail lines listed per failing point before "... and N more". */
#define MAX_POINT_LINES 100

/* Seconds as JUnit wants them. */
static void put_seconds(wsp__out *o, const char *attr, uint64_t ns) {
  wsp__out_printf(o, " %s=\"%.6f\"", attr, (double)ns / 1e9);
}

/* "1011", or "none" when nothing was received. */
static const char *code_text(int code, char *buf, size_t len) {
  if (code < 0)
    return "none";
  snprintf(buf, len, "%d", code);
  return buf;
}

/* The failure message: outcome, phase, close code, HTTP status, error. */
static void probe_message(wsp__out *o, const wsp__secrets *sec,
                          const wsp_result *r) {
  char code[16], status[16];
  wsp__out_printf(
      o, "%s in %s, close code %s, HTTP status %s",
      wsp_outcome_name(r->outcome), wsp_phase_name(r->phase),
      code_text(r->close_recv.code, code, sizeof(code)),
      code_text(r->http_status ? r->http_status : -1, status, sizeof(status)));
  if (r->error != NULL) {
    wsp__out_puts(o, ": ");
    wsp__out_escs(o, sec, r->error, WSP__ESC_ATTR);
  }
}

/* The failure's body: everything a reader needs to tell what happened. */
static void probe_details(wsp__out *o, const wsp__secrets *sec,
                          const wsp_campaign *c, const wsp_result *r) {
  const char *sep = "";
  wsp__out_printf(o, "probe %u\noutcome: %s\nphase: %s\n", r->index,
                  wsp_outcome_name(r->outcome), wsp_phase_name(r->phase));
  if (r->error != NULL) {
    wsp__out_puts(o, "error: ");
    wsp__out_escs(o, sec, r->error, WSP__ESC_TEXT);
    wsp__out_puts(o, "\n");
  }
  if (r->http_status) {
    wsp__out_printf(o, "http status: %d ", r->http_status);
    wsp__out_escs(o, sec, r->http_reason, WSP__ESC_ATTR);
    wsp__out_puts(o, "\n");
  }
  if (r->retry_after != NULL) {
    wsp__out_puts(o, "retry-after: ");
    wsp__out_escs(o, sec, r->retry_after, WSP__ESC_ATTR);
    wsp__out_puts(o, "\n");
  }
  if (r->body_len > 0) {
    wsp__out_puts(o, "http body: ");
    wsp__out_escape(o, sec, (const char *)r->body, r->body_len, WSP__ESC_ATTR);
    wsp__out_puts(o, "\n");
  }
  if (r->close_recv.code >= 0) {
    wsp__out_printf(o, "close received: %d", r->close_recv.code);
    if (r->close_recv.reason_len > 0) {
      wsp__out_puts(o, " ");
      wsp__out_escape(o, sec, r->close_recv.reason, r->close_recv.reason_len,
                      WSP__ESC_ATTR);
    }
    wsp__out_puts(o, "\n");
  }
  if (r->close_sent.code >= 0)
    wsp__out_printf(o, "close sent: %d\n", r->close_sent.code);
  wsp__out_printf(o,
                  "first-message delay: %u ms\nstarted: %.3f ms after the "
                  "campaign's start\ntimeline (ms since the probe's "
                  "start):",
                  r->delay_ms, (double)wsp__start_ns(c, r) / 1e6);
  for (int m = 0; m < WSP_MARK_COUNT; m++)
    if (r->marks[m] >= 0) {
      wsp__out_printf(o, "%s %s %.3f", sep, wsp_mark_name((wsp_mark)m),
                      (double)r->marks[m] / 1e6);
      sep = ",";
    }
  wsp__out_puts(o, "\n");
  if (r->lag_ns > 0)
    wsp__out_printf(o,
                    "warning: the prober's loop was %.3f ms late while "
                    "this probe ran; its timings are suspect\n",
                    (double)r->lag_ns / 1e6);
}

static void put_counts(wsp__out *o, const uint64_t *outcomes) {
  const char *sep = "";
  for (int k = 0; k < WSP_OUTCOME_COUNT; k++)
    if (outcomes[k] && k != WSP_OUTCOME_OK) {
      wsp__out_printf(o, "%s%s x%llu", sep, wsp_outcome_name((wsp_outcome)k),
                      (unsigned long long)outcomes[k]);
      sep = ", ";
    }
}

static void put_tally(wsp__out *o, const char *label, const wsp__tally *t) {
  wsp__out_printf(o, "; %s", label);
  if (t->len == 0)
    wsp__out_puts(o, " none");
  for (size_t i = 0; i < t->len; i++)
    wsp__out_printf(o, "%s %d x%llu", i ? "," : "", t->key[i],
                    (unsigned long long)t->n[i]);
}

/* One <testcase> per point; it fails when any of its probes failed. */
static void point_case(wsp__out *o, const wsp__secrets *sec,
                       const wsp_campaign *c, const char *classname,
                       const wsp__point *p, size_t k) {
  const char *unit = c->mode == WSP__MODE_CONCURRENCY ? "" : " ms";
  const char *what = c->mode == WSP__MODE_CONCURRENCY ? "level" : "delay";
  wsp__tally codes = {0}, statuses = {0};
  uint64_t listed = 0;
  wsp__out_printf(o, "    <testcase classname=\"%s\" name=\"%s %u%s\"",
                  classname, what, p->value,
                  c->mode == WSP__MODE_CONCURRENCY ? " connections" : unit);
  put_seconds(o, "time", p->total ? p->last_ns - p->first_ns : 0);
  if (p->failed == 0 && p->total > 0) {
    wsp__out_puts(o, "/>\n");
    return;
  }
  for (size_t i = 0; i < c->nresults; i++) {
    const wsp_result *r = c->results[i];
    if (wsp__point_of(c, r) != k)
      continue;
    if (r->close_recv.code >= 0)
      wsp__tally_add(&codes, r->close_recv.code);
    if (r->http_status)
      wsp__tally_add(&statuses, r->http_status);
  }
  wsp__out_printf(o,
                  ">\n      <failure message=\"%llu of %llu probes "
                  "failed at %s %u%s: ",
                  (unsigned long long)p->failed, (unsigned long long)p->total,
                  what, p->value, unit);
  if (p->total == 0)
    wsp__out_puts(o, "no probe ended");
  put_counts(o, p->outcomes);
  put_tally(o, "close codes", &codes);
  put_tally(o, "HTTP statuses", &statuses);
  wsp__out_puts(o, "\" type=\"");
  {
    /* The most frequent failing outcome names the failure's type. */
    int worst = WSP_OUTCOME_INTERNAL_ERROR;
    uint64_t most = 0;
    for (int q = 1; q < WSP_OUTCOME_COUNT; q++)
      if (p->outcomes[q] > most) {
        most = p->outcomes[q];
        worst = q;
      }
    wsp__out_puts(o, wsp_outcome_name((wsp_outcome)worst));
  }
  wsp__out_puts(o, "\">");
  for (size_t i = 0; i < c->nresults; i++) {
    const wsp_result *r = c->results[i];
    if (r->outcome == WSP_OUTCOME_OK || wsp__point_of(c, r) != k)
      continue;
    if (listed++ == MAX_POINT_LINES)
      continue;
    wsp__out_printf(o, "probe %u (delay %u ms): ", r->index, r->delay_ms);
    probe_message(o, sec, r);
    wsp__out_puts(o, "\n");
  }
  if (listed > MAX_POINT_LINES)
    wsp__out_printf(o, "... and %llu more\n",
                    (unsigned long long)(listed - MAX_POINT_LINES));
  wsp__out_puts(o, "</failure>\n    </testcase>\n");
}

static void probe_case(wsp__out *o, const wsp__secrets *sec,
                       const wsp_campaign *c, const char *classname,
                       const wsp_result *r) {
  wsp__out_printf(o, "    <testcase classname=\"%s\" name=\"probe %u\"",
                  classname, r->index);
  put_seconds(o, "time", wsp__end_ns(r));
  if (r->outcome == WSP_OUTCOME_OK) {
    wsp__out_puts(o, "/>\n");
    return;
  }
  wsp__out_puts(o, ">\n      <failure message=\"");
  probe_message(o, sec, r);
  wsp__out_printf(o, "\" type=\"%s\">", wsp_outcome_name(r->outcome));
  probe_details(o, sec, c, r);
  wsp__out_puts(o, "</failure>\n    </testcase>\n");
}

static void property(wsp__out *o, const wsp__secrets *sec, const char *name,
                     const char *value) {
  wsp__out_printf(o, "      <property name=\"%s\" value=\"", name);
  wsp__out_escs(o, sec, value, WSP__ESC_ATTR);
  wsp__out_puts(o, "\"/>\n");
}

int wsp_report_junit(const wsp_campaign *c, char **out) {
  wsp__out o = {0};
  wsp__secrets sec;
  wsp__point *points;
  size_t np;
  uint64_t tests, failures = 0, elapsed = 0;
  char classname[32], buf[64];
  if (c == NULL || out == NULL)
    return WSP_EINVAL;
  wsp__secrets_init(&sec, c->cfg);
  points = wsp__points(c, &np);
  if (np > 0) {
    tests = np;
    for (size_t k = 0; k < np; k++)
      failures += points[k].failed > 0 || points[k].total == 0;
  } else {
    tests = c->nresults;
    failures = c->nresults - c->passed;
  }
  if (c->t_start != 0)
    elapsed = (c->t_end ? c->t_end : uv_hrtime()) - c->t_start;
  snprintf(classname, sizeof(classname), "wsprobe.%s", wsp__mode_name(c->mode));

  wsp__out_puts(&o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
  wsp__out_printf(&o,
                  "<testsuites name=\"wsprobe\" tests=\"%llu\" "
                  "failures=\"%llu\" errors=\"0\"",
                  (unsigned long long)tests, (unsigned long long)failures);
  put_seconds(&o, "time", elapsed);
  wsp__out_puts(&o, ">\n  <testsuite name=\"wsprobe ");
  wsp__out_escs(&o, &sec, c->cfg->url_text, WSP__ESC_ATTR);
  wsp__out_printf(&o,
                  "\" tests=\"%llu\" failures=\"%llu\" errors=\"0\" "
                  "skipped=\"0\"",
                  (unsigned long long)tests, (unsigned long long)failures);
  put_seconds(&o, "time", elapsed);
  if (c->t_start != 0) {
    /* The wall-clock start: now, less the monotonic time since then. */
    time_t start =
        time(NULL) - (time_t)((uv_hrtime() - c->t_start) / 1000000000u);
    struct tm tm;
    if (gmtime_r(&start, &tm) != NULL &&
        strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm) > 0)
      wsp__out_printf(&o, " timestamp=\"%s\"", buf);
  }
  wsp__out_puts(&o, ">\n    <properties>\n");
  property(&o, &sec, "wsprobe.version", WSP_VERSION_STRING);
  property(&o, &sec, "url", c->cfg->url_text);
  property(&o, &sec, "mode", wsp__mode_name(c->mode));
  snprintf(buf, sizeof(buf), "%llu", (unsigned long long)c->seed);
  property(&o, &sec, "seed", buf);
  snprintf(buf, sizeof(buf), "%u", c->concurrency);
  property(&o, &sec, "concurrency", buf);
  snprintf(buf, sizeof(buf), "%zu", c->nresults);
  property(&o, &sec, "probes", buf);
  snprintf(buf, sizeof(buf), "%zu", c->passed);
  property(&o, &sec, "passed", buf);
  if (c->shards > 1) {
    snprintf(buf, sizeof(buf), "%u/%u", c->shard, c->shards);
    property(&o, &sec, "shard", buf);
  }
  if (c->cfg->tls_insecure)
    property(&o, &sec, "tls_insecure", "true");
  if (c->mode == WSP__MODE_WINDOW) {
    const char *conclusion = wsp__window_conclusion(c);
    property(&o, &sec, "window.conclusion", conclusion);
    if (strcmp(conclusion, "bounded") == 0) {
      snprintf(buf, sizeof(buf), "%u..%u ms", c->cur_lo, c->cur_hi);
      property(&o, &sec, "window.estimate", buf);
    }
  }
  if (c->flagged > 0) {
    snprintf(buf, sizeof(buf), "%llu", (unsigned long long)c->flagged);
    property(&o, &sec, "lag_flagged_probes", buf);
  }
  wsp__out_puts(&o, "    </properties>\n");
  if (np > 0)
    for (size_t k = 0; k < np; k++)
      point_case(&o, &sec, c, classname, &points[k], k);
  else
    for (size_t i = 0; i < c->nresults; i++)
      probe_case(&o, &sec, c, classname, c->results[i]);
  wsp__out_puts(&o, "  </testsuite>\n</testsuites>\n");
  free(points);
  return wsp__out_finish(&o, out);
}
