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

#include "report_model.h"

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
                          const wsp__row *row) {
  const wsp_result *r = row->r;
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
                  r->delay_ms, (double)row->start_ns / 1e6);
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

/* The opening of a point's <testcase>; 0 when it passed (and is closed). */
static int point_open(wsp__out *o, const wsp_report *rep, const char *classname,
                      const wsp__point *p) {
  int levels = rep->mode == WSP__MODE_CONCURRENCY;
  const char *unit = levels ? "" : " ms";
  const char *what = levels ? "level" : "delay";
  wsp__out_printf(o, "    <testcase classname=\"%s\" name=\"%s %u%s\"",
                  classname, what, p->value, levels ? " connections" : unit);
  put_seconds(o, "time", p->total ? p->last_ns - p->first_ns : 0);
  if (p->failed == 0 && p->total > 0) {
    wsp__out_puts(o, "/>\n");
    return 0;
  }
  wsp__out_printf(o,
                  ">\n      <failure message=\"%llu of %llu probes "
                  "failed at %s %u%s: ",
                  (unsigned long long)p->failed, (unsigned long long)p->total,
                  what, p->value, unit);
  if (p->total == 0)
    wsp__out_puts(o, "no probe ended");
  put_counts(o, p->outcomes);
  put_tally(o, "close codes", &p->codes);
  put_tally(o, "HTTP statuses", &p->statuses);
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
  return 1;
}

static void point_close(wsp__out *o, uint64_t listed) {
  if (listed > MAX_POINT_LINES)
    wsp__out_printf(o, "... and %llu more\n",
                    (unsigned long long)(listed - MAX_POINT_LINES));
  wsp__out_puts(o, "</failure>\n    </testcase>\n");
}

/*
 * One <testcase> per point; it fails when any of its probes failed, and
 * lists them. The probes come in index order, and so do the points, so
 * that one walk writes them all.
 */
static int point_cases(wsp__out *o, const wsp__secrets *sec,
                       const wsp_report *rep, const char *classname) {
  wsp__rows it;
  wsp__row row;
  int rc, have;
  if ((rc = wsp__rows_begin(rep, 1, &it)) != 0)
    return rc;
  have = wsp__rows_next(&it, &row, NULL, 0);
  for (size_t k = 0; have >= 0 && k < rep->npoints; k++) {
    int open = point_open(o, rep, classname, &rep->points[k]);
    uint64_t listed = 0;
    for (; have == 1; have = wsp__rows_next(&it, &row, NULL, 0)) {
      const wsp_result *r = row.r;
      size_t at = wsp__rep_point_of(rep, r->index);
      if (at != (size_t)-1 && at > k)
        break;
      if (!open || at != k || r->outcome == WSP_OUTCOME_OK)
        continue;
      if (listed++ >= MAX_POINT_LINES)
        continue;
      wsp__out_printf(o, "probe %u (delay %u ms): ", r->index, r->delay_ms);
      probe_message(o, sec, r);
      wsp__out_puts(o, "\n");
    }
    if (open)
      point_close(o, listed);
  }
  wsp__rows_end(&it);
  return have < 0 ? have : 0;
}

static void probe_case(wsp__out *o, const wsp__secrets *sec,
                       const char *classname, const wsp__row *row) {
  const wsp_result *r = row->r;
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
  probe_details(o, sec, row);
  wsp__out_puts(o, "</failure>\n    </testcase>\n");
}

static int probe_cases(wsp__out *o, const wsp__secrets *sec,
                       const wsp_report *rep, const char *classname) {
  wsp__rows it;
  wsp__row row;
  int rc;
  if ((rc = wsp__rows_begin(rep, 1, &it)) != 0)
    return rc;
  while (!o->failed && (rc = wsp__rows_next(&it, &row, NULL, 0)) == 1)
    probe_case(o, sec, classname, &row);
  wsp__rows_end(&it);
  return rc;
}

static void property(wsp__out *o, const wsp__secrets *sec, const char *name,
                     const char *value) {
  wsp__out_printf(o, "      <property name=\"%s\" value=\"", name);
  wsp__out_escs(o, sec, value, WSP__ESC_ATTR);
  wsp__out_puts(o, "\"/>\n");
}

int wsp__report_junit(const wsp_report *rep, wsp__out *o) {
  const wsp__secrets *sec = &rep->secrets;
  uint64_t tests, failures = 0, elapsed;
  char classname[32], buf[64];
  int rc;
  if (rep->npoints > 0) {
    tests = rep->npoints;
    for (size_t k = 0; k < rep->npoints; k++)
      failures += rep->points[k].failed > 0 || rep->points[k].total == 0;
  } else {
    tests = rep->total;
    failures = rep->total - rep->passed;
  }
  /* A partial merge cannot pass: it fails as a suite of its own. */
  if (rep->nmissing > 0) {
    tests++;
    failures++;
  }
  /* So does an interrupted campaign: it did not run what it planned. */
  if (rep->interrupted) {
    tests++;
    failures++;
  }
  elapsed = rep->duration_ms > 0 ? (uint64_t)(rep->duration_ms * 1e6) : 0;
  snprintf(classname, sizeof(classname), "wsprobe.%s",
           wsp__mode_name(rep->mode));

  wsp__out_puts(o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
  wsp__out_printf(o,
                  "<testsuites name=\"wsprobe\" tests=\"%llu\" "
                  "failures=\"%llu\" errors=\"0\"",
                  (unsigned long long)tests, (unsigned long long)failures);
  put_seconds(o, "time", elapsed);
  wsp__out_puts(o, ">\n  <testsuite name=\"wsprobe ");
  wsp__out_escs(o, sec, rep->url, WSP__ESC_ATTR);
  wsp__out_printf(o,
                  "\" tests=\"%llu\" failures=\"%llu\" errors=\"0\" "
                  "skipped=\"0\"",
                  (unsigned long long)tests, (unsigned long long)failures);
  put_seconds(o, "time", elapsed);
  if (rep->started_unix > 0) {
    time_t start = (time_t)rep->started_unix;
    struct tm tm;
    if (gmtime_r(&start, &tm) != NULL &&
        strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm) > 0)
      wsp__out_printf(o, " timestamp=\"%s\"", buf);
  }
  wsp__out_puts(o, ">\n    <properties>\n");
  property(o, sec, "wsprobe.version", rep->version);
  property(o, sec, "url", rep->url);
  property(o, sec, "mode", wsp__mode_name(rep->mode));
  if (rep->health_url != NULL) {
    char words[512];
    wsp__rep_health_words(rep, words, sizeof(words));
    property(o, sec, "health.url", rep->health_url);
    property(o, sec, "health", words);
  }
  snprintf(buf, sizeof(buf), "%llu", (unsigned long long)rep->seed);
  property(o, sec, "seed", buf);
  snprintf(buf, sizeof(buf), "%llu", (unsigned long long)rep->concurrency);
  property(o, sec, "concurrency", buf);
  snprintf(buf, sizeof(buf), "%llu", (unsigned long long)rep->total);
  property(o, sec, "probes", buf);
  snprintf(buf, sizeof(buf), "%llu", (unsigned long long)rep->passed);
  property(o, sec, "passed", buf);
  if (rep->shards > 1 && !rep->merged) {
    snprintf(buf, sizeof(buf), "%u/%u", rep->shard, rep->shards);
    property(o, sec, "shard", buf);
  }
  if (rep->merged) {
    snprintf(buf, sizeof(buf), "%zu", rep->nparts);
    property(o, sec, "merged_from", buf);
    property(o, sec, "fingerprint", rep->fingerprint);
  }
  if (rep->insecure)
    property(o, sec, "tls_insecure", "true");
  if (rep->mode == WSP__MODE_WINDOW) {
    property(o, sec, "window.conclusion", rep->window.conclusion);
    if (rep->window.from >= 0) {
      snprintf(buf, sizeof(buf), "%.3f..%.3f ms (achieved delays)",
               (double)rep->window.from / 1e6, (double)rep->window.to / 1e6);
      property(o, sec, "window.estimate", buf);
    }
  }
  if (rep->flagged > 0) {
    snprintf(buf, sizeof(buf), "%llu", (unsigned long long)rep->flagged);
    property(o, sec, "lag_flagged_probes", buf);
  }
  wsp__out_puts(o, "    </properties>\n");
  if (rep->nmissing > 0) {
    wsp__out_printf(o,
                    "    <testcase classname=\"%s\" name=\"every shard "
                    "merged\">\n      <failure message=\"partial merge: ",
                    classname);
    for (size_t i = 0; i < rep->nmissing; i++)
      wsp__out_printf(o, "%s%u", i ? ", " : "shard ", rep->missing[i]);
    wsp__out_printf(o,
                    " of %u missing\" type=\"partial\">the report lacks "
                    "these shards' probes</failure>\n    </testcase>\n",
                    rep->shards);
  }
  if (rep->interrupted) {
    wsp__out_printf(o,
                    "    <testcase classname=\"%s\" name=\"campaign ran to "
                    "its end\">\n      <failure message=\"interrupted: %llu ",
                    classname, (unsigned long long)rep->total);
    if (rep->planned >= 0)
      wsp__out_printf(o, "of %lld planned ", (long long)rep->planned);
    wsp__out_puts(o, "probes ran\" type=\"interrupted\">the campaign was "
                     "cancelled before it ended</failure>\n    "
                     "</testcase>\n");
  }
  rc = rep->npoints > 0 ? point_cases(o, sec, rep, classname)
                        : probe_cases(o, sec, rep, classname);
  if (rc != 0)
    return rc;
  wsp__out_puts(o, "  </testsuite>\n</testsuites>\n");
  return o->failed;
}
