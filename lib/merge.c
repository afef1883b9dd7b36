/*
 * Merging JSON reports of shards run on several machines: counts add up,
 * histograms merge bucket by bucket (so percentiles are those of the whole
 * campaign, within the histograms' 1%), probes are put back in index order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "report.h"

static const cJSON *get(const cJSON *o, const char *k) {
  return cJSON_GetObjectItemCaseSensitive(o, k);
}

static double num(const cJSON *o, const char *k) {
  const cJSON *v = get(o, k);
  return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* dst[key] += src[key] for every numeric member of src. */
static void add_counts(cJSON *dst, const cJSON *src) {
  const cJSON *it;
  cJSON_ArrayForEach(it, src) {
    cJSON *d = cJSON_GetObjectItemCaseSensitive(dst, it->string);
    if (!cJSON_IsNumber(it))
      continue;
    if (d == NULL)
      cJSON_AddNumberToObject(dst, it->string, it->valuedouble);
    else
      cJSON_SetNumberValue(d, d->valuedouble + it->valuedouble);
  }
}

static int cmp_numeric_key(const void *a, const void *b) {
  const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
  long p = strtol(x->string, NULL, 10), q = strtol(y->string, NULL, 10);
  return p < q ? -1 : p > q;
}

/* Sorts {"1011": n, "1000": m} by numeric key, as the reports write it. */
static cJSON *sorted_counts(const cJSON *o) {
  size_t n = (size_t)cJSON_GetArraySize(o), i = 0;
  const cJSON **v = calloc(n ? n : 1, sizeof(*v)), *it;
  cJSON *out = cJSON_CreateObject();
  cJSON_ArrayForEach(it, o) v[i++] = it;
  qsort(v, n, sizeof(*v), cmp_numeric_key);
  for (i = 0; i < n; i++)
    cJSON_AddNumberToObject(out, v[i]->string, v[i]->valuedouble);
  free(v);
  return out;
}

static int cmp_index(const void *a, const void *b) {
  double x = num(*(const cJSON *const *)a, "index");
  double y = num(*(const cJSON *const *)b, "index");
  return x < y ? -1 : x > y;
}

/* Merges one histogram summary (spans_ms.X and the like) from every input. */
static cJSON *merged_hist(cJSON *const *in, size_t n, const char *a,
                          const char *b, const char *c, int *rc) {
  wsp__hist h;
  wsp__hist_init(&h);
  for (size_t i = 0; i < n; i++) {
    const cJSON *o = get(get(in[i], a), b);
    if (c != NULL)
      o = get(o, c);
    if (o != NULL && wsp__hist_merge_json(&h, o) != 0)
      *rc = WSP_EJSON;
  }
  return wsp__hist_json(&h);
}

int wsp_report_merge(const char *const *reports, size_t n, char **out,
                     char *err, size_t errlen) {
  cJSON **in, *root = NULL, *camp, *sum, *x, *probes;
  const cJSON *first_camp, *it;
  const char *mode;
  int rc = 0;
  size_t nprobes = 0;

  if (reports == NULL || n == 0 || out == NULL)
    return wsp__errorf(err, errlen, WSP_EINVAL, "nothing to merge");
  if ((in = calloc(n, sizeof(*in))) == NULL)
    return wsp__errorf(err, errlen, WSP_ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    in[i] = reports[i] ? cJSON_Parse(reports[i]) : NULL;
    if (!cJSON_IsObject(in[i]) || !cJSON_IsObject(get(in[i], "summary")) ||
        !cJSON_IsArray(get(in[i], "probes"))) {
      rc = wsp__errorf(err, errlen, WSP_EJSON,
                       "report %zu is not a wsprobe JSON "
                       "report",
                       i + 1);
      goto done;
    }
  }
  first_camp = get(in[0], "campaign");
  mode = cJSON_GetStringValue(get(first_camp, "mode"));
  if (mode &&
      (strcmp(mode, "window") == 0 || strcmp(mode, "concurrency") == 0)) {
    rc = wsp__errorf(err, errlen, WSP_EINVAL,
                     "%s searches adapt as they go and cannot be merged", mode);
    goto done;
  }
  for (size_t i = 1; i < n; i++) {
    const char *u0 = cJSON_GetStringValue(get(get(in[0], "config"), "url"));
    const char *ui = cJSON_GetStringValue(get(get(in[i], "config"), "url"));
    const char *mi = cJSON_GetStringValue(get(get(in[i], "campaign"), "mode"));
    if (!u0 || !ui || strcmp(u0, ui) != 0) {
      rc = wsp__errorf(err, errlen, WSP_EINVAL,
                       "report %zu probes another target than report 1", i + 1);
      goto done;
    }
    if (!mode || !mi || strcmp(mode, mi) != 0) {
      rc = wsp__errorf(err, errlen, WSP_EINVAL,
                       "report %zu is another kind of campaign than report 1",
                       i + 1);
      goto done;
    }
  }

  root = cJSON_CreateObject();
  cJSON_AddStringToObject(root, "version", WSP_VERSION_STRING);
  cJSON_AddItemToObject(root, "config",
                        cJSON_Duplicate(get(in[0], "config"), 1));

  /* The campaign: what the shards were, and their merged aggregates. */
  camp = cJSON_AddObjectToObject(root, "campaign");
  cJSON_AddStringToObject(camp, "mode", mode ? mode : "plain");
  cJSON_AddNumberToObject(camp, "merged_from", (double)n);
  cJSON_AddNumberToObject(camp, "concurrency", num(first_camp, "concurrency"));
  x = cJSON_AddArrayToObject(camp, "seeds");
  for (size_t i = 0; i < n; i++)
    cJSON_AddItemToArray(
        x, cJSON_CreateNumber(num(get(in[i], "campaign"), "seed")));
  x = cJSON_AddArrayToObject(camp, "shards");
  {
    double longest = 0;
    double count = 0;
    for (size_t i = 0; i < n; i++) {
      const cJSON *ci = get(in[i], "campaign");
      cJSON_AddItemToArray(x, cJSON_Duplicate(get(ci, "shard"), 1));
      count += num(ci, "count");
      if (num(ci, "duration_ms") > longest)
        longest = num(ci, "duration_ms");
    }
    cJSON_AddNumberToObject(camp, "count", count);
    cJSON_AddNumberToObject(camp, "duration_ms", longest);
  }
  if (get(first_camp, "sweep") != NULL) {
    /* Rows keyed by delay, in the first report's order. */
    cJSON *rows = cJSON_AddArrayToObject(camp, "sweep");
    cJSON_ArrayForEach(it, get(first_camp, "sweep")) {
      cJSON *row = cJSON_CreateObject(), *oc = cJSON_CreateObject();
      double total = 0, failed = 0, d = num(it, "delay_ms");
      for (size_t i = 0; i < n; i++) {
        const cJSON *r;
        cJSON_ArrayForEach(r, get(get(in[i], "campaign"), "sweep")) {
          if (num(r, "delay_ms") != d)
            continue;
          total += num(r, "total");
          failed += num(r, "failed");
          add_counts(oc, get(r, "outcomes"));
        }
      }
      cJSON_AddNumberToObject(row, "delay_ms", d);
      cJSON_AddNumberToObject(row, "total", total);
      cJSON_AddNumberToObject(row, "failed", failed);
      cJSON_AddNumberToObject(row, "failure_rate", total ? failed / total : 0);
      cJSON_AddItemToObject(row, "outcomes", oc);
      cJSON_AddItemToArray(rows, row);
    }
  }
  {
    cJSON *lag = cJSON_AddObjectToObject(camp, "loop_lag_ms");
    double flagged = 0;
    cJSON_AddItemToObject(
        lag, "samples",
        merged_hist(in, n, "campaign", "loop_lag_ms", "samples", &rc));
    for (size_t i = 0; i < n; i++)
      flagged +=
          num(get(get(in[i], "campaign"), "loop_lag_ms"), "flagged_probes");
    cJSON_AddNumberToObject(lag, "threshold",
                            num(get(first_camp, "loop_lag_ms"), "threshold"));
    cJSON_AddNumberToObject(lag, "flagged_probes", flagged);
  }
  if (get(first_camp, "bursts") != NULL) {
    cJSON *bursts = cJSON_AddObjectToObject(camp, "bursts");
    double released = 0;
    for (size_t i = 0; i < n; i++)
      released += num(get(get(in[i], "campaign"), "bursts"), "released");
    cJSON_AddNumberToObject(bursts, "released", released);
    cJSON_AddItemToObject(
        bursts, "send_spread_ms",
        merged_hist(in, n, "campaign", "bursts", "send_spread_ms", &rc));
  }

  /* Probes: every shard's, back in index order; an index twice means the
   * shards overlapped. */
  for (size_t i = 0; i < n; i++)
    nprobes += (size_t)cJSON_GetArraySize(get(in[i], "probes"));
  {
    cJSON **v = calloc(nprobes ? nprobes : 1, sizeof(*v));
    size_t k = 0;
    if (v == NULL) {
      rc = wsp__errorf(err, errlen, WSP_ENOMEM, "out of memory");
      goto done;
    }
    for (size_t i = 0; i < n; i++) {
      cJSON *p = get(in[i], "probes")->child;
      for (; p != NULL; p = p->next)
        v[k++] = p;
    }
    qsort(v, nprobes, sizeof(*v), cmp_index);
    probes = cJSON_AddArrayToObject(root, "probes");
    for (k = 0; k < nprobes; k++) {
      if (k > 0 && num(v[k], "index") == num(v[k - 1], "index")) {
        double dup = num(v[k], "index");
        free(v);
        rc = wsp__errorf(err, errlen, WSP_EINVAL,
                         "probe %.0f appears in two reports: did the shards "
                         "overlap?",
                         dup);
        goto done;
      }
      cJSON_AddItemToArray(probes, cJSON_Duplicate(v[k], 1));
    }
    free(v);
  }

  /* The summary: sums, and histograms merged bucket by bucket. */
  sum = cJSON_AddObjectToObject(root, "summary");
  {
    double total = 0, passed = 0;
    cJSON *outcomes = cJSON_CreateObject(), *phases = cJSON_CreateObject();
    cJSON *cc = cJSON_CreateObject(), *ccs = cJSON_CreateObject();
    cJSON *hs = cJSON_CreateObject(), *tls = cJSON_CreateObject();
    for (size_t i = 0; i < n; i++) {
      const cJSON *s = get(in[i], "summary");
      total += num(s, "total");
      passed += num(s, "passed");
      add_counts(outcomes, get(s, "outcomes"));
      cJSON_ArrayForEach(it, get(s, "outcome_phases")) {
        cJSON *d = cJSON_GetObjectItemCaseSensitive(phases, it->string);
        if (d == NULL)
          d = cJSON_AddObjectToObject(phases, it->string);
        add_counts(d, it);
      }
      add_counts(cc, get(s, "close_codes"));
      add_counts(ccs, get(s, "close_codes_sent"));
      add_counts(hs, get(s, "http_statuses"));
      add_counts(tls, get(s, "tls_handshakes"));
    }
    /* Reports written before the count existed add nothing. */
    if (!cJSON_HasObjectItem(tls, "full"))
      cJSON_AddNumberToObject(tls, "full", 0);
    if (!cJSON_HasObjectItem(tls, "resumed"))
      cJSON_AddNumberToObject(tls, "resumed", 0);
    cJSON_AddNumberToObject(sum, "total", total);
    cJSON_AddNumberToObject(sum, "passed", passed);
    cJSON_AddNumberToObject(sum, "failed", total - passed);
    cJSON_AddItemToObject(sum, "outcomes", outcomes);
    cJSON_AddItemToObject(sum, "outcome_phases", phases);
    cJSON_AddItemToObject(sum, "close_codes", sorted_counts(cc));
    cJSON_AddItemToObject(sum, "close_codes_sent", sorted_counts(ccs));
    cJSON_AddItemToObject(sum, "http_statuses", sorted_counts(hs));
    cJSON_AddItemToObject(sum, "tls_handshakes", tls);
    cJSON_Delete(cc);
    cJSON_Delete(ccs);
    cJSON_Delete(hs);
  }
  x = cJSON_AddObjectToObject(sum, "spans_ms");
  cJSON_ArrayForEach(it, get(get(in[0], "summary"), "spans_ms"))
      cJSON_AddItemToObject(
          x, it->string,
          merged_hist(in, n, "summary", "spans_ms", it->string, &rc));
  if (rc != 0) {
    wsp__errorf(err, errlen, rc, "a report's histograms are malformed");
    goto done;
  }
  if ((*out = cJSON_Print(root)) == NULL)
    rc = wsp__errorf(err, errlen, WSP_ENOMEM, "out of memory");
done:
  cJSON_Delete(root);
  for (size_t i = 0; i < n; i++)
    cJSON_Delete(in[i]);
  free(in);
  return rc;
}

int wsp_report_text_json(const char *json, char **out) {
  cJSON *root;
  int rc;
  if (json == NULL || out == NULL)
    return WSP_EINVAL;
  if ((root = cJSON_Parse(json)) == NULL || !cJSON_IsObject(root)) {
    cJSON_Delete(root);
    return WSP_EJSON;
  }
  rc = wsp__report_text_tree(root, out);
  cJSON_Delete(root);
  return rc;
}
