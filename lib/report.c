/*
 * The human summary; the calls that write a model in any format (to a
 * callback, a string or a file); and the report calls that take a
 * campaign: each makes the campaign's model and writes one format from it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report_model.h"

/* "label  1011 x20 1000 x3". */
static void tally_text(wsp__out *b, const char *label, const wsp__tally *t) {
  wsp__out_printf(b, "%-22s", label);
  if (t->len == 0 && t->other == 0)
    wsp__out_printf(b, " none");
  for (size_t i = 0; i < t->len; i++)
    wsp__out_printf(b, " %d x%llu", t->key[i], (unsigned long long)t->n[i]);
  if (t->other)
    wsp__out_printf(b, " other x%llu", (unsigned long long)t->other);
  wsp__out_printf(b, "\n");
}

static double ms(uint64_t ns) { return (double)ns / 1e6; }

static double quantile_ms(const wsp__hist *h, double q) {
  return h->count ? ms(wsp__hist_quantile(h, q)) : 0;
}

/* Failures grouped by what happened, so that a thousand identical 1011s
 * take one line and a rare different one is not drowned. */
#define MAX_GROUPS 10

static int failures_text(wsp__out *b, const wsp_report *rep) {
  wsp_result *first[MAX_GROUPS];
  size_t count[MAX_GROUPS], groups = 0, other = 0;
  wsp__rows it;
  wsp__row row;
  int rc;
  if (rep->passed == rep->total)
    return 0;
  if ((rc = wsp__rows_begin(rep, 1, &it)) != 0)
    return rc;
  while ((rc = wsp__rows_next(&it, &row, NULL, 0)) == 1) {
    const wsp_result *r = row.r;
    size_t g;
    if (r->outcome == WSP_OUTCOME_OK)
      continue;
    for (g = 0; g < groups; g++)
      if (first[g]->outcome == r->outcome && first[g]->phase == r->phase &&
          strcmp(first[g]->error ? first[g]->error : "",
                 r->error ? r->error : "") == 0)
        break;
    if (g < groups) {
      count[g]++;
    } else if (groups < MAX_GROUPS) {
      /* A row read back lives until the next one: keep a copy. */
      if ((first[groups] = wsp_result_dup(r)) == NULL) {
        rc = WSP_ENOMEM;
        break;
      }
      count[groups++] = 1;
    } else {
      other++;
    }
  }
  wsp__rows_end(&it);
  if (rc == 0 && groups > 0)
    wsp__out_printf(b, "\nfailures:\n");
  for (size_t g = 0; g < groups; g++) {
    const char *error = first[g]->error ? first[g]->error : "";
    char *scrubbed = NULL;
    size_t len;
    /* An error quotes the server, which may echo a secret. */
    if (rc == 0 && wsp__secrets_scrub(&rep->secrets, error, strlen(error),
                                      &scrubbed, &len) < 0)
      rc = WSP_ENOMEM;
    if (rc == 0)
      wsp__out_printf(b, "  %zux %s in %s (first #%u): %s\n", count[g],
                      wsp_outcome_name(first[g]->outcome),
                      wsp_phase_name(first[g]->phase), first[g]->index,
                      scrubbed ? scrubbed : error);
    free(scrubbed);
    wsp_result_free(first[g]);
  }
  if (rc == 0 && other > 0)
    wsp__out_printf(b, "  %zu more failures of other kinds (see --json)\n",
                    other);
  return rc;
}

static void campaign_text(wsp__out *b, const wsp_report *rep) {
  if (rep->mode == WSP__MODE_SWEEP) {
    wsp__out_printf(b, "\n%-10s %8s %8s %8s  %s\n", "delay ms", "probes",
                    "failed", "rate", "outcomes");
    for (size_t i = 0; i < rep->npoints; i++) {
      const wsp__point *p = &rep->points[i];
      const char *sep = "";
      wsp__out_printf(
          b, "  %-8u %8llu %8llu %7.1f%%  ", p->value,
          (unsigned long long)p->total, (unsigned long long)p->failed,
          p->total ? 100.0 * (double)p->failed / (double)p->total : 0);
      for (int o = 0; o < WSP_OUTCOME_COUNT; o++)
        if (p->outcomes[o]) {
          wsp__out_printf(b, "%s%s %llu", sep, wsp_outcome_name((wsp_outcome)o),
                          (unsigned long long)p->outcomes[o]);
          sep = ", ";
        }
      wsp__out_printf(b, "\n");
    }
  }
  if (rep->mode == WSP__MODE_WINDOW) {
    const wsp__window *w = &rep->window;
    wsp__out_printf(b,
                    "\nrace window search (%u probes per point; delays as "
                    "achieved: first message sent minus the 101's "
                    "arrival):\n",
                    w->trials);
    for (size_t i = 0; i < w->nevidence; i++) {
      const wsp__evidence *e = &w->evidence[i];
      wsp__out_printf(b, "  asked %6u ms: %u of %u failed", e->delay_ms,
                      e->failures, e->trials);
      if (e->achieved_min >= 0)
        wsp__out_printf(b, ", achieved %.3f-%.3f ms", ms(e->achieved_min),
                        ms(e->achieved_max));
      if (e->reruns > 0)
        wsp__out_printf(b, " (run again %ux: the prober lagged%s)", e->reruns,
                        e->lag_flagged ? ", kept" : "");
      else if (e->lag_flagged)
        wsp__out_printf(b, " (the prober lagged)");
      wsp__out_printf(b, "\n");
    }
    if (strcmp(w->conclusion, "above_range") == 0)
      wsp__out_printf(b, "  failures even at %u ms: the window is longer\n",
                      w->hi);
    else if (strcmp(w->conclusion, "below_range") == 0)
      wsp__out_printf(b, "  no failures at %u ms: no window at or above it\n",
                      w->lo);
    else if (strcmp(w->conclusion, "bounded") == 0)
      wsp__out_printf(b,
                      "  failures stop between %.3f and %.3f ms (%llu "
                      "probes)%s\n",
                      ms(w->from), ms(w->to), (unsigned long long)w->spent,
                      strcmp(w->stopped, "no_narrowing") == 0
                          ? "; wider than the resolution: three rounds did "
                            "not narrow it"
                      : strcmp(w->stopped, "point_limit") == 0
                          ? "; wider than the resolution: the point limit "
                            "was reached"
                          : "");
    else if (strcmp(w->conclusion, "overlapping") == 0)
      wsp__out_printf(b,
                      "  failures and passes overlap between %.3f and %.3f "
                      "ms: the server is not exact there (%llu probes)\n",
                      ms(w->from), ms(w->to), (unsigned long long)w->spent);
    else if (strcmp(w->conclusion, "inconclusive") == 0)
      wsp__out_printf(b, "  inconclusive: the failing probes sent no "
                         "message\n");
  }
  if (rep->mode == WSP__MODE_CONCURRENCY) {
    long first = -1;
    wsp__out_printf(b, "\nconcurrency sweep:\n");
    for (size_t i = 0; i < rep->nlevels; i++) {
      wsp__out_printf(b, "  %6u connections: %u failed\n", rep->levels[i].level,
                      rep->levels[i].failures);
      if (first < 0 && rep->levels[i].failures > 0)
        first = (long)rep->levels[i].level;
    }
    if (first >= 0)
      wsp__out_printf(b, "  failures start at %ld simultaneous connections\n",
                      first);
    else
      wsp__out_printf(b, "  no failures at any level\n");
  }
  if (rep->has_bursts && rep->bursts > 0)
    wsp__out_printf(
        b, "\nbursts: %llu released, send spread p50 %.3f ms, max %.3f ms\n",
        (unsigned long long)rep->bursts, quantile_ms(&rep->spread, 0.5),
        rep->spread.count ? ms(rep->spread.max) : 0);
  if (rep->nthreads > 1) {
    wsp__out_printf(b, "threads: %u loops", rep->nthreads);
    if (rep->has_bursts && rep->release_lag.count > 0)
      wsp__out_printf(b, ", release lag p50 %.3f ms, max %.3f ms",
                      quantile_ms(&rep->release_lag, 0.5),
                      ms(rep->release_lag.max));
    wsp__out_printf(b, "\n");
    for (uint32_t i = 0; rep->loops != NULL && i < rep->nthreads; i++) {
      const wsp__loop_fig *l = &rep->loops[i];
      wsp__out_printf(b, "  thread %u: %llu probes", i,
                      (unsigned long long)l->probes);
      if (rep->has_bursts && l->spread.count > 0)
        wsp__out_printf(b,
                        ", send spread p50 %.3f ms, release lag p50 %.3f ms, "
                        "max %.3f ms",
                        quantile_ms(&l->spread, 0.5),
                        quantile_ms(&l->release_lag, 0.5),
                        ms(l->release_lag.max));
      if (rep->has_bursts && l->bursts > 0) {
        if (l->held_bursts > 0)
          wsp__out_printf(b, ", held CPU %d in %llu of %llu bursts",
                          l->held_cpu, (unsigned long long)l->held_bursts,
                          (unsigned long long)l->bursts);
        else
          wsp__out_printf(b, ", no CPU of its own");
      }
      if (l->lag.count > 0)
        wsp__out_printf(b, ", loop lag p99 %.3f ms",
                        quantile_ms(&l->lag, 0.99));
      wsp__out_printf(b, "\n");
    }
  }
  if (rep->lag.count > 0) {
    wsp__out_printf(b, "loop lag: p99 %.3f ms, max %.3f ms%s\n",
                    quantile_ms(&rep->lag, 0.99), ms(rep->lag.max),
                    rep->flagged > 0 ? "" : " (no probe affected)");
    if (rep->flagged > 0)
      wsp__out_printf(
          b,
          "WARNING: %llu probe(s) ran while the prober's own loop was "
          "more than %u ms late; their timings are suspect\n",
          (unsigned long long)rep->flagged, rep->lag_threshold_ms);
  }
  wsp__out_printf(b, "seed: %llu\n", (unsigned long long)rep->seed);
}

/* "shard 2" or "shards 0, 2", the shards a partial merge lacks. */
static void missing_text(wsp__out *b, const wsp_report *rep) {
  wsp__out_printf(b, "shard%s", rep->nmissing == 1 ? "" : "s");
  for (size_t i = 0; i < rep->nmissing; i++)
    wsp__out_printf(b, "%s %u", i ? "," : "", rep->missing[i]);
}

/* Outcomes per value, when there is more than one value: which address
 * or replica fails shows itself. */
static void groups_text(wsp__out *b, const wsp__secrets *sec, const char *name,
                        const wsp__groups *g) {
  if (g->n + (g->other > 0) < 2)
    return;
  wsp__out_printf(b, "\nby %-30.30s %8s  %s\n", name, "passed", "failed");
  for (size_t i = 0; i < g->n; i++) {
    const wsp__group *x = &g->v[i];
    const char *sep = "";
    char shown[81], *scrubbed = NULL;
    size_t len, k;
    /* A header's value is what a server said: secrets redacted, control
     * characters kept off the terminal. */
    const char *v = x->value ? x->value : "(none)";
    if (wsp__secrets_scrub(sec, v, strlen(v), &scrubbed, &len) == 1)
      v = scrubbed;
    for (k = 0; v[k] != '\0' && k < sizeof(shown) - 1; k++)
      shown[k] = (unsigned char)v[k] < 0x20 || v[k] == 0x7f ? '?' : v[k];
    shown[k] = '\0';
    free(scrubbed);
    wsp__out_printf(b, "  %-31s %3llu of %-3llu ", shown,
                    (unsigned long long)x->passed,
                    (unsigned long long)x->total);
    for (int o = 0; o < WSP_OUTCOME_COUNT; o++)
      if (o != WSP_OUTCOME_OK && x->outcomes[o] > 0) {
        wsp__out_printf(b, "%s%s x%llu", sep, wsp_outcome_name((wsp_outcome)o),
                        (unsigned long long)x->outcomes[o]);
        sep = ", ";
      }
    wsp__out_printf(b, "\n");
  }
  if (g->other > 0)
    wsp__out_printf(b, "  (%llu more probes with other values)\n",
                    (unsigned long long)g->other);
}

int wsp__report_text(const wsp_report *rep, wsp__out *b) {
  const wsp__summary *s = &rep->sum;
  wsp_verdict v = wsp_report_verdict(rep);
  wsp__out_printf(b, "wsprobe %s: %llu probe%s of %s (", rep->version,
                  (unsigned long long)rep->total, rep->total == 1 ? "" : "s",
                  rep->url);
  /* What was in flight at once, in the mode's own terms. */
  if (rep->mode == WSP__MODE_CONCURRENCY)
    wsp__out_printf(b, "concurrency sweep up to %u",
                    rep->nlevels > 0 ? rep->levels[rep->nlevels - 1].level
                                     : rep->max_level);
  else if (rep->mode == WSP__MODE_WINDOW)
    wsp__out_printf(b, "window search, %u probes per point",
                    rep->window.trials);
  else
    wsp__out_printf(b, "concurrency %llu",
                    (unsigned long long)rep->concurrency);
  if (rep->merged)
    wsp__out_printf(b, ", merged from %zu reports", rep->nparts);
  wsp__out_printf(b, ")\nresult: %s, %llu of %llu passed",
                  v == WSP_VERDICT_PASS ? "PASS" : "FAIL",
                  (unsigned long long)rep->passed,
                  (unsigned long long)rep->total);
  if (v == WSP_VERDICT_PARTIAL) {
    wsp__out_printf(b, "; partial: ");
    missing_text(b, rep);
    wsp__out_printf(b, " of %u missing", rep->shards);
  }
  /* An interrupt cancels the probes in flight: they are in the count, as
   * "cancelled". */
  if (rep->interrupted && rep->planned >= 0)
    wsp__out_printf(b,
                    "\ninterrupted: %llu of %lld planned probes ran; those "
                    "in flight were cancelled",
                    (unsigned long long)rep->total, (long long)rep->planned);
  else if (rep->interrupted)
    wsp__out_printf(b,
                    "\ninterrupted: %llu probes ran; those in flight were "
                    "cancelled",
                    (unsigned long long)rep->total);
  wsp__out_printf(b, "\n");
  {
    char words[256];
    if (rep->shards > 1 && !rep->merged)
      wsp__out_printf(b, "shard: %u of %u (from %s)\n", rep->shard, rep->shards,
                      wsp_shard_source_name(rep->shard_from));
    if (wsp__rep_start_words(rep, words, sizeof(words)))
      wsp__out_printf(b, "start: %s\n", words);
  }
  if (rep->health_url != NULL) {
    char words[512];
    wsp__rep_health_words(rep, words, sizeof(words));
    wsp__out_printf(b, "health: %s\n", words);
  }
  /* An unverified run must not read like a verified one. */
  if (rep->insecure)
    wsp__out_printf(b, "WARNING: certificates were not verified "
                       "(--insecure)\n");
  wsp__out_printf(b, "\n%-22s %8s  %s\n", "outcome", "count", "phase");
  for (int o = 0; o < WSP_OUTCOME_COUNT; o++) {
    const char *sep = "";
    if (s->outcomes[o] == 0)
      continue;
    wsp__out_printf(b, "  %-20s %8llu  ", wsp_outcome_name((wsp_outcome)o),
                    (unsigned long long)s->outcomes[o]);
    for (int i = 0; i < WSP_PHASE_COUNT; i++) {
      wsp_phase p = wsp__phase_in_order(i);
      if (s->phases[o][p] == 0)
        continue;
      wsp__out_printf(b, "%s%s", sep, wsp_phase_name((wsp_phase)p));
      if (s->phases[o][p] != s->outcomes[o])
        wsp__out_printf(b, " (%llu)", (unsigned long long)s->phases[o][p]);
      sep = ", ";
    }
    wsp__out_printf(b, "\n");
  }
  groups_text(b, NULL, "peer", &rep->peers);
  for (size_t i = 0; i < rep->headers.n; i++)
    groups_text(b, &rep->secrets, rep->headers.name[i], &rep->headers.g[i]);
  wsp__out_printf(b, "\n");
  tally_text(b, "http statuses:", &s->http);
  tally_text(b, "close codes received:", &s->close_recv);
  tally_text(b, "close codes sent:", &s->close_sent);
  if (s->tls_full + s->tls_resumed > 0)
    wsp__out_printf(b, "%-22s %llu full, %llu resumed\n",
                    "tls handshakes:", (unsigned long long)s->tls_full,
                    (unsigned long long)s->tls_resumed);
  wsp__out_printf(b, "\n%-14s %8s %10s %10s %10s  (ms)\n", "span", "count",
                  "p50", "p99", "max");
  for (int i = 0; i < WSP_SPAN_COUNT; i++) {
    wsp_span sp = wsp__span_in_order(i);
    const wsp__hist *h = &rep->spans[sp];
    if (h->count == 0)
      continue;
    wsp__out_printf(b, "  %-12s %8llu %10.3f %10.3f %10.3f\n",
                    wsp_span_name((wsp_span)sp), (unsigned long long)h->count,
                    quantile_ms(h, 0.5), quantile_ms(h, 0.99), ms(h->max));
  }
  campaign_text(b, rep);
  return failures_text(b, rep);
}

int wsp_report_write(const wsp_report *rep, wsp_report_format format,
                     unsigned flags, wsp_write_cb write, void *user_data) {
  wsp__out o = {0};
  int rc;
  if (rep == NULL || write == NULL)
    return WSP_EINVAL;
  o.sink = write;
  o.sink_ud = user_data;
  switch (format) {
  case WSP_REPORT_TEXT:
    rc = wsp__report_text(rep, &o);
    break;
  case WSP_REPORT_JSON:
    rc = wsp__report_json(rep, (flags & WSP_REPORT_SHOW_SECRETS) != 0, &o);
    break;
  case WSP_REPORT_HTML:
    rc = wsp__report_html(rep, &o);
    break;
  case WSP_REPORT_JUNIT:
    rc = wsp__report_junit(rep, &o);
    break;
  default:
    rc = WSP_EINVAL;
  }
  if (rc == 0)
    rc = wsp__out_close(&o);
  else
    wsp__out_close(&o);
  return rc;
}

static int collect(const char *data, size_t len, void *ud) {
  wsp__out_put(ud, data, len);
  return ((wsp__out *)ud)->failed ? -1 : 0;
}

int wsp_report_string(const wsp_report *rep, wsp_report_format format,
                      unsigned flags, char **out) {
  wsp__out s = {0};
  int rc;
  if (rep == NULL || out == NULL)
    return WSP_EINVAL;
  *out = NULL;
  rc = wsp_report_write(rep, format, flags, collect, &s);
  if (rc != 0) {
    free(s.p);
    return rc == WSP_EIO && s.failed ? s.failed : rc;
  }
  return wsp__out_finish(&s, out);
}

static int fwrite_cb(const char *data, size_t len, void *ud) {
  return fwrite(data, 1, len, ud) == len ? 0 : -1;
}

/* A report file's stdio buffer: a write(2) per 256 KiB. */
#define REPORT_VBUF (256 * 1024)

int wsp_report_save(const wsp_report *rep, wsp_report_format format,
                    unsigned flags, const char *path, char *err,
                    size_t errlen) {
  struct stat st;
  char *tmp = NULL, *vbuf = NULL;
  FILE *f;
  int rc, to_stdout, direct;
  if (rep == NULL || path == NULL)
    return wsp__errorf(err, errlen, WSP_EINVAL, "no report or no path");
  to_stdout = strcmp(path, "-") == 0;
  /* A regular file is written beside its final name and renamed into
   * place: a reader (a merge) never sees half a report. Anything else (a
   * pipe, /dev/null) is written to directly. */
  direct = to_stdout || (stat(path, &st) == 0 && !S_ISREG(st.st_mode));
  if (!direct) {
    size_t n = strlen(path) + 32;
    if ((tmp = malloc(n)) == NULL)
      return wsp__errorf(err, errlen, WSP_ENOMEM, "out of memory");
    snprintf(tmp, n, "%s.part-%ld", path, (long)getpid());
  }
  f = to_stdout ? stdout : fopen(direct ? path : tmp, "w");
  if (f == NULL) {
    rc = wsp__errorf(err, errlen, WSP_EIO, "cannot write %s: %s", path,
                     strerror(errno));
    free(tmp);
    return rc;
  }
  /* The writers hand on pieces of up to 64 KiB: gather them in larger
   * writes than stdio's default. The buffer must be ours: glibc ignores
   * setvbuf()'s size without one and writes 4 KiB at a time. */
  if (!to_stdout && (vbuf = malloc(REPORT_VBUF)) != NULL)
    setvbuf(f, vbuf, _IOFBF, REPORT_VBUF);
  rc = wsp_report_write(rep, format, flags, fwrite_cb, f);
  if (to_stdout) {
    if (fflush(f) != 0 && rc == 0)
      rc = WSP_EIO;
  } else if (fclose(f) != 0 && rc == 0) {
    rc = WSP_EIO;
  }
  free(vbuf);
  if (rc == 0 && tmp != NULL && rename(tmp, path) != 0)
    rc = WSP_EIO;
  if (rc != 0) {
    wsp__errorf(err, errlen, rc, "cannot write %s: %s", path,
                rc == WSP_EIO ? strerror(errno) : wsp_strerror(rc));
    if (tmp != NULL)
      unlink(tmp);
  }
  free(tmp);
  return rc;
}

int wsp_report_path_check(const char *path, char *err, size_t errlen) {
  struct stat st;
  char *dir;
  const char *slash;
  int ok;
  if (path == NULL || path[0] == '\0')
    return wsp__errorf(err, errlen, WSP_EINVAL, "no path");
  if (strcmp(path, "-") == 0)
    return 0;
  if (stat(path, &st) == 0) {
    if (S_ISDIR(st.st_mode))
      return wsp__errorf(err, errlen, WSP_EIO, "cannot write %s: %s", path,
                         strerror(EISDIR));
    if (access(path, W_OK) != 0)
      return wsp__errorf(err, errlen, WSP_EIO, "cannot write %s: %s", path,
                         strerror(errno));
    if (!S_ISREG(st.st_mode))
      return 0; /* A pipe or a device is written to directly. */
  }
  /* The report is made beside its name, then renamed: the directory must
   * take a new file. */
  slash = strrchr(path, '/');
  dir = slash == NULL   ? wsp__strdup(".")
        : slash == path ? wsp__strdup("/")
                        : wsp__strndup(path, (size_t)(slash - path));
  if (dir == NULL)
    return wsp__errorf(err, errlen, WSP_ENOMEM, "out of memory");
  ok = access(dir, W_OK | X_OK) == 0;
  if (!ok)
    wsp__errorf(err, errlen, WSP_EIO, "cannot write %s: %s", path,
                strerror(errno));
  free(dir);
  return ok ? 0 : WSP_EIO;
}

/* The campaign's model written in one format into a string. */
static int campaign_string(const wsp_campaign *c, wsp_report_format format,
                           unsigned flags, char **out) {
  wsp_report *rep;
  int rc;
  if (c == NULL || out == NULL)
    return WSP_EINVAL;
  if ((rc = wsp_report_new(c, &rep)) != 0)
    return rc;
  rc = wsp_report_string(rep, format, flags, out);
  wsp_report_free(rep);
  return rc;
}

int wsp_report_json(const wsp_campaign *c, int show_secrets, char **out) {
  return campaign_string(c, WSP_REPORT_JSON,
                         show_secrets ? WSP_REPORT_SHOW_SECRETS : 0, out);
}

int wsp_report_json_write(const wsp_campaign *c, int show_secrets,
                          wsp_write_cb write, void *ud) {
  wsp_report *rep;
  int rc;
  if (c == NULL || write == NULL)
    return WSP_EINVAL;
  if ((rc = wsp_report_new(c, &rep)) != 0)
    return rc;
  rc = wsp_report_write(rep, WSP_REPORT_JSON,
                        show_secrets ? WSP_REPORT_SHOW_SECRETS : 0, write, ud);
  wsp_report_free(rep);
  return rc;
}

int wsp_report_text(const wsp_campaign *c, char **out) {
  return campaign_string(c, WSP_REPORT_TEXT, 0, out);
}

int wsp_report_junit(const wsp_campaign *c, char **out) {
  return campaign_string(c, WSP_REPORT_JUNIT, 0, out);
}

int wsp_report_html(const wsp_campaign *c, char **out) {
  return campaign_string(c, WSP_REPORT_HTML, 0, out);
}
