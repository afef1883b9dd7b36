/*
 * Reports over a campaign: JSON (docs/report.md) and a human summary.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "campaign.h"

/* Counts per small integer key (close codes, HTTP statuses). */
typedef struct {
  int key[64];        /* Distinct keys, in order of first appearance. */
  uint64_t n[64];     /* Their counts. */
  size_t len;         /* Keys in use. */
  uint64_t other;     /* Counts of keys beyond the first 64. */
} tally;

static void tally_add(tally *t, int key) {
  for (size_t i = 0; i < t->len; i++)
    if (t->key[i] == key) {
      t->n[i]++;
      return;
    }
  if (t->len == WSP__ARRAY_SIZE(t->key)) {
    t->other++;
    return;
  }
  t->key[t->len] = key;
  t->n[t->len++] = 1;
}

static int cmp_key(const void *a, const void *b) {
  return *(const int *)a - *(const int *)b;
}

/* Sorts by key, keeping counts with their keys. */
static void tally_sort(tally *t) {
  struct {
    int key;
    uint64_t n;
  } tmp[64];
  for (size_t i = 0; i < t->len; i++) {
    tmp[i].key = t->key[i];
    tmp[i].n = t->n[i];
  }
  qsort(tmp, t->len, sizeof(tmp[0]), cmp_key);
  for (size_t i = 0; i < t->len; i++) {
    t->key[i] = tmp[i].key;
    t->n[i] = tmp[i].n;
  }
}

/* Everything both report forms show. */
typedef struct {
  uint64_t outcomes[WSP_OUTCOME_COUNT];               /* Per outcome. */
  uint64_t phases[WSP_OUTCOME_COUNT][WSP_PHASE_COUNT]; /* Per phase. */
  tally close_recv;                                   /* Codes received. */
  tally close_sent;                                   /* Codes sent. */
  tally http;                                         /* Statuses. */
} summary;

static void summarize(const wsp_campaign *c, summary *s) {
  memset(s, 0, sizeof(*s));
  for (uint32_t i = 0; c->results && i < c->count; i++) {
    const wsp_result *r = c->results[i];
    if (r == NULL)
      continue;
    s->outcomes[r->outcome]++;
    s->phases[r->outcome][r->phase]++;
    if (r->close_recv.code >= 0)
      tally_add(&s->close_recv, r->close_recv.code);
    if (r->close_sent.code >= 0)
      tally_add(&s->close_sent, r->close_sent.code);
    if (r->http_status)
      tally_add(&s->http, r->http_status);
  }
  tally_sort(&s->close_recv);
  tally_sort(&s->close_sent);
  tally_sort(&s->http);
}

static cJSON *tally_json(const tally *t) {
  cJSON *o = cJSON_CreateObject();
  char k[16];
  for (size_t i = 0; i < t->len; i++) {
    snprintf(k, sizeof(k), "%d", t->key[i]);
    cJSON_AddNumberToObject(o, k, (double)t->n[i]);
  }
  if (t->other)
    cJSON_AddNumberToObject(o, "other", (double)t->other);
  return o;
}

static const double quantiles[] = {0.5, 0.9, 0.99, 0.999};
static const char *const quantile_names[] = {"p50", "p90", "p99", "p999"};

int wsp_report_json(const wsp_campaign *c, int show_secrets, char **out) {
  cJSON *root, *probes, *sum, *x;
  summary s;
  char *cfg_text = NULL;
  int rc;
  if (c == NULL || out == NULL)
    return WSP_EINVAL;
  if ((rc = wsp_config_to_json(c->cfg, show_secrets, &cfg_text)) != 0)
    return rc;
  root = cJSON_CreateObject();
  cJSON_AddStringToObject(root, "version", WSP_VERSION_STRING);
  cJSON_AddItemToObject(root, "config", cJSON_Parse(cfg_text));
  free(cfg_text);
  x = cJSON_AddObjectToObject(root, "campaign");
  cJSON_AddNumberToObject(x, "count", c->count);
  cJSON_AddNumberToObject(x, "concurrency", c->concurrency);
  cJSON_AddItemToObject(x, "duration_ms",
                        c->t_end ? cJSON_CreateNumber(
                                       (double)(c->t_end - c->t_start) / 1e6)
                                 : cJSON_CreateNull());
  probes = cJSON_AddArrayToObject(root, "probes");
  for (uint32_t i = 0; c->results && i < c->count; i++)
    if (c->results[i] != NULL)
      cJSON_AddItemToArray(probes,
                           wsp__result_json(c->results[i], show_secrets));

  summarize(c, &s);
  sum = cJSON_AddObjectToObject(root, "summary");
  cJSON_AddNumberToObject(sum, "total", (double)c->nresults);
  cJSON_AddNumberToObject(sum, "passed", (double)c->passed);
  cJSON_AddNumberToObject(sum, "failed", (double)(c->nresults - c->passed));
  x = cJSON_AddObjectToObject(sum, "outcomes");
  for (int o = 0; o < WSP_OUTCOME_COUNT; o++)
    cJSON_AddNumberToObject(x, wsp_outcome_name((wsp_outcome)o),
                            (double)s.outcomes[o]);
  x = cJSON_AddObjectToObject(sum, "outcome_phases");
  for (int o = 0; o < WSP_OUTCOME_COUNT; o++) {
    cJSON *ph;
    if (s.outcomes[o] == 0)
      continue;
    ph = cJSON_AddObjectToObject(x, wsp_outcome_name((wsp_outcome)o));
    for (int p = 0; p < WSP_PHASE_COUNT; p++)
      if (s.phases[o][p])
        cJSON_AddNumberToObject(ph, wsp_phase_name((wsp_phase)p),
                                (double)s.phases[o][p]);
  }
  cJSON_AddItemToObject(sum, "close_codes", tally_json(&s.close_recv));
  cJSON_AddItemToObject(sum, "close_codes_sent", tally_json(&s.close_sent));
  cJSON_AddItemToObject(sum, "http_statuses", tally_json(&s.http));
  x = cJSON_AddObjectToObject(sum, "spans_ms");
  for (int sp = 0; sp < WSP_SPAN_COUNT; sp++) {
    const wsp__hist *h = &c->spans[sp];
    cJSON *o = cJSON_AddObjectToObject(x, wsp_span_name((wsp_span)sp));
    cJSON_AddNumberToObject(o, "count", (double)h->count);
    if (h->count == 0) {
      cJSON_AddNullToObject(o, "min");
      for (size_t q = 0; q < WSP__ARRAY_SIZE(quantiles); q++)
        cJSON_AddNullToObject(o, quantile_names[q]);
      cJSON_AddNullToObject(o, "max");
      continue;
    }
    cJSON_AddNumberToObject(o, "min", (double)h->min / 1e6);
    for (size_t q = 0; q < WSP__ARRAY_SIZE(quantiles); q++)
      cJSON_AddNumberToObject(
          o, quantile_names[q],
          (double)wsp__hist_quantile(h, quantiles[q]) / 1e6);
    cJSON_AddNumberToObject(o, "max", (double)h->max / 1e6);
  }
  *out = cJSON_Print(root);
  cJSON_Delete(root);
  return *out ? 0 : WSP_ENOMEM;
}

/* A growable text buffer; on allocation failure it stays failed. */
typedef struct {
  char *p;     /* Text so far. */
  size_t len;  /* Its length. */
  size_t cap;  /* Allocated. */
  int failed;  /* An allocation failed. */
} tbuf;

static void tprintf(tbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void tprintf(tbuf *b, const char *fmt, ...) {
  va_list ap;
  int n;
  if (b->failed)
    return;
  for (;;) {
    va_start(ap, fmt);
    n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0,
                  fmt, ap);
    va_end(ap);
    if (n < 0) {
      b->failed = 1;
      return;
    }
    if (b->p && (size_t)n < b->cap - b->len) {
      b->len += (size_t)n;
      return;
    }
    size_t cap = b->cap ? b->cap * 2 : 1024;
    while (cap < b->len + (size_t)n + 1)
      cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL) {
      b->failed = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
}

static void tally_text(tbuf *b, const char *label, const tally *t) {
  tprintf(b, "%-22s", label);
  if (t->len == 0)
    tprintf(b, " none");
  for (size_t i = 0; i < t->len; i++)
    tprintf(b, " %d x%llu", t->key[i], (unsigned long long)t->n[i]);
  tprintf(b, "\n");
}

int wsp_report_text(const wsp_campaign *c, char **out) {
  tbuf b = {0};
  summary s;
  unsigned shown = 0;
  if (c == NULL || out == NULL)
    return WSP_EINVAL;
  summarize(c, &s);
  tprintf(&b, "wsprobe %s: %zu probe%s of %s (concurrency %u)\n",
          WSP_VERSION_STRING, c->nresults, c->nresults == 1 ? "" : "s",
          c->cfg->url_text, c->concurrency);
  tprintf(&b, "result: %s, %zu of %zu passed\n\n",
          c->passed == c->nresults && c->nresults > 0 ? "PASS" : "FAIL",
          c->passed, c->nresults);
  tprintf(&b, "%-22s %8s  %s\n", "outcome", "count", "phase");
  for (int o = 0; o < WSP_OUTCOME_COUNT; o++) {
    const char *sep = "";
    if (s.outcomes[o] == 0)
      continue;
    tprintf(&b, "  %-20s %8llu  ", wsp_outcome_name((wsp_outcome)o),
            (unsigned long long)s.outcomes[o]);
    for (int p = 0; p < WSP_PHASE_COUNT; p++) {
      if (s.phases[o][p] == 0)
        continue;
      tprintf(&b, "%s%s", sep, wsp_phase_name((wsp_phase)p));
      if (s.phases[o][p] != s.outcomes[o])
        tprintf(&b, " (%llu)", (unsigned long long)s.phases[o][p]);
      sep = ", ";
    }
    tprintf(&b, "\n");
  }
  tprintf(&b, "\n");
  tally_text(&b, "http statuses:", &s.http);
  tally_text(&b, "close codes received:", &s.close_recv);
  tally_text(&b, "close codes sent:", &s.close_sent);
  tprintf(&b, "\n%-14s %8s %10s %10s %10s  (ms)\n", "span", "count", "p50",
          "p99", "max");
  for (int sp = 0; sp < WSP_SPAN_COUNT; sp++) {
    const wsp__hist *h = &c->spans[sp];
    if (h->count == 0)
      continue;
    tprintf(&b, "  %-12s %8llu %10.3f %10.3f %10.3f\n",
            wsp_span_name((wsp_span)sp), (unsigned long long)h->count,
            (double)wsp__hist_quantile(h, 0.5) / 1e6,
            (double)wsp__hist_quantile(h, 0.99) / 1e6, (double)h->max / 1e6);
  }
  for (uint32_t i = 0; c->results && i < c->count && shown < 10; i++) {
    const wsp_result *r = c->results[i];
    if (r == NULL || r->outcome == WSP_OUTCOME_OK)
      continue;
    if (shown++ == 0)
      tprintf(&b, "\nfailures (first 10):\n");
    tprintf(&b, "  #%u %s in %s: %s\n", r->index,
            wsp_outcome_name(r->outcome), wsp_phase_name(r->phase),
            r->error ? r->error : "");
  }
  if (b.failed) {
    free(b.p);
    return WSP_ENOMEM;
  }
  *out = b.p;
  return 0;
}
