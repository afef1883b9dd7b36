/*
 * Merging the JSON reports of the shards of one campaign into one report
 * model: the same merge as several loops' campaigns (wsp__rep_add), with
 * the checks that make it impossible to pass off part of a campaign, or
 * two campaigns, as one. Each report is streamed (report_read.c) and read
 * through once here to check that its probes are what its head says they
 * are; the writers then read them again, merged in index order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_model.h"

/* What the merge checks of each report. */
typedef struct shard_info {
  uint32_t shard;                            /* Its shard index. */
  uint64_t total;                            /* Probes its summary counts. */
  uint64_t outcomes[WSP_OUTCOME_COUNT];      /* Per outcome. */
  uint64_t seen;                             /* Probes its list holds. */
  uint64_t seen_outcomes[WSP_OUTCOME_COUNT]; /* Per outcome. */
} shard_info;

/* Why reports `a` and `b` are not of one campaign, in a few words. */
static const char *difference(const wsp_report *a, const wsp_report *b,
                              char *buf, size_t len) {
  if (strcmp(a->url, b->url) != 0)
    snprintf(buf, len, "their targets differ (%s, %s)", a->url, b->url);
  else if (a->mode != b->mode)
    snprintf(buf, len, "one is a %s campaign, the other a %s one",
             wsp__mode_name(a->mode), wsp__mode_name(b->mode));
  else if (a->seed != b->seed)
    snprintf(buf, len, "their seeds differ (%llu, %llu)",
             (unsigned long long)a->seed, (unsigned long long)b->seed);
  else if (strcmp(a->config, b->config) != 0)
    snprintf(buf, len, "their probe settings differ");
  else
    snprintf(buf, len, "their campaign settings differ");
  return buf;
}

/* Refuses a report that cannot take part in a merge of shards. */
static int check_one(const wsp_report *one, const wsp__input *in, char *err,
                     size_t errlen) {
  if (one->merged)
    return wsp__errorf(err, errlen, WSP_EMERGE,
                       "%s is a merged report already: merge the shards' "
                       "own reports",
                       wsp__input_name(in));
  if (one->mode == WSP__MODE_WINDOW || one->mode == WSP__MODE_CONCURRENCY)
    return wsp__errorf(err, errlen, WSP_EMERGE,
                       "%s is a %s search, which adapts as it goes and "
                       "cannot be split into shards or merged",
                       wsp__input_name(in), wsp__mode_name(one->mode));
  if (one->fingerprint[0] == '\0')
    return wsp__errorf(err, errlen, WSP_EMERGE,
                       "%s carries no campaign fingerprint (an older "
                       "wsprobe wrote it): it cannot be merged safely",
                       wsp__input_name(in));
  return 0;
}

/* Missing shards into rep->missing; a refusal unless partial is allowed. */
static int find_missing(wsp_report *rep, const shard_info *info, size_t n,
                        wsp__input **in, unsigned flags, char *err,
                        size_t errlen) {
  uint32_t shards = rep->shards;
  unsigned char *have = calloc(shards, 1);
  wsp__out list = {0};
  int rc = 0;
  if (have == NULL)
    return wsp__errorf(err, errlen, WSP_ENOMEM, "out of memory");
  for (size_t i = 0; rc == 0 && i < n; i++) {
    if (have[info[i].shard]) {
      size_t j = 0;
      while (info[j].shard != info[i].shard)
        j++;
      rc = wsp__errorf(err, errlen, WSP_EMERGE,
                       "shard %u of %u is given twice (%s and %s): the "
                       "shards overlap",
                       info[i].shard, shards, wsp__input_name(in[j]),
                       wsp__input_name(in[i]));
    }
    have[info[i].shard] = 1;
  }
  for (uint32_t s = 0; rc == 0 && s < shards; s++)
    if (!have[s])
      rep->nmissing++;
  if (rc == 0 && rep->nmissing > 0 &&
      (rep->missing = calloc(rep->nmissing, sizeof(*rep->missing))) == NULL)
    rc = wsp__errorf(err, errlen, WSP_ENOMEM, "out of memory");
  if (rc == 0 && rep->nmissing > 0) {
    size_t k = 0;
    for (uint32_t s = 0; s < shards; s++)
      if (!have[s]) {
        rep->missing[k++] = s;
        if (k <= 10)
          wsp__out_printf(&list, "%s%u", k > 1 ? ", " : "", s);
      }
    if (k > 10)
      wsp__out_printf(&list, " and %zu more", k - 10);
    if (!(flags & WSP_MERGE_ALLOW_PARTIAL))
      rc = wsp__errorf(err, errlen, WSP_EMERGE,
                       "shard%s %s of %u %s missing: the merge would "
                       "not be the whole campaign",
                       rep->nmissing > 1 ? "s" : "", list.p ? list.p : "",
                       shards, rep->nmissing > 1 ? "are" : "is");
  }
  free(list.p);
  free(have);
  return rc;
}

/*
 * Reads every report once: each probe in its own shard and in index
 * order, none in two reports, and every report's list adding up to its
 * summary (a report cut short, or edited, does not). Collects the
 * figures counted over the probes on the way.
 */
static int check_probes(wsp_report *rep, shard_info *info, int sharded,
                        char *err, size_t errlen) {
  wsp__rows it;
  wsp__row row;
  int rc;
  if ((rc = wsp__rows_begin(rep, 1, &it)) != 0)
    return wsp__errorf(err, errlen, rc, "cannot read the reports again");
  wsp__rep_scan_begin(rep);
  while ((rc = wsp__rows_next(&it, &row, err, errlen)) == 1) {
    shard_info *s = &info[row.input];
    if (sharded && row.index % rep->shards != s->shard) {
      rc = wsp__errorf(err, errlen, WSP_EMERGE,
                       "%s holds probe %u, which belongs to shard %u of %u, "
                       "not to its own shard %u",
                       wsp__input_name(rep->inputs[row.input]), row.index,
                       row.index % rep->shards, rep->shards, s->shard);
      break;
    }
    s->seen++;
    s->seen_outcomes[row.r->outcome]++;
    wsp__rep_scan_row(rep, &row);
  }
  wsp__rows_end(&it);
  wsp__rep_scan_end(rep);
  for (size_t i = 0; rc == 0 && i < rep->ninputs; i++)
    if (info[i].seen != info[i].total ||
        memcmp(info[i].seen_outcomes, info[i].outcomes,
               sizeof(info[i].outcomes)) != 0)
      rc = wsp__errorf(err, errlen, WSP_EMERGE,
                       "%s lists %llu probes where its summary counts %llu "
                       "(or other outcomes): it was cut short or edited",
                       wsp__input_name(rep->inputs[i]),
                       (unsigned long long)info[i].seen,
                       (unsigned long long)info[i].total);
  return rc;
}

/* The parts of a merged report, in the order the reports were given. */
static int parts_from(wsp_report *rep, const shard_info *info,
                      const double *durations, const uint64_t *counts) {
  if ((rep->parts = calloc(rep->ninputs, sizeof(*rep->parts))) == NULL)
    return WSP_ENOMEM;
  rep->nparts = rep->ninputs;
  for (size_t i = 0; i < rep->ninputs; i++) {
    const char *name = wsp__input_name(rep->inputs[i]);
    rep->parts[i].shard = info[i].shard;
    rep->parts[i].shards = rep->shards;
    rep->parts[i].probes = counts[i];
    rep->parts[i].duration_ms = durations[i];
    if ((rep->parts[i].source = wsp__strdup(name)) == NULL)
      return WSP_ENOMEM;
  }
  return 0;
}

/*
 * The model of the reports `in` (taken over, freed with the model). With
 * `as_is`, one report is read as it is (a shard stays a shard); otherwise
 * they are the shards of one campaign, every one of them present unless
 * WSP_MERGE_ALLOW_PARTIAL.
 */
static int open_reports(wsp__input **in, size_t n, unsigned flags, int as_is,
                        wsp_report **out, char *err, size_t errlen) {
  wsp_report *rep = NULL, *one = NULL;
  shard_info *info = calloc(n, sizeof(*info));
  double *durations = calloc(n, sizeof(*durations));
  uint64_t *counts = calloc(n, sizeof(*counts));
  char why[256];
  int rc = 0, single = 0;
  if (info == NULL || durations == NULL || counts == NULL) {
    rc = wsp__errorf(err, errlen, WSP_ENOMEM, "out of memory");
    goto done;
  }
  for (size_t i = 0; i < n; i++) {
    if ((rc = wsp__input_model(in[i], &one, err, errlen)) != 0)
      goto done;
    info[i].shard = one->shard;
    info[i].total = one->total;
    memcpy(info[i].outcomes, one->sum.outcomes, sizeof(info[i].outcomes));
    durations[i] = one->duration_ms;
    counts[i] = one->total;
    if (i == 0) {
      single = n == 1 && (as_is || one->merged || one->shards == 1);
      if (single) {
        rep = one;
        one = NULL;
        continue;
      }
      if ((rc = check_one(one, in[i], err, errlen)) != 0)
        goto done;
      if ((rc = wsp__rep_like(one, &rep)) != 0) {
        wsp__errorf(err, errlen, rc, "out of memory");
        goto done;
      }
    } else {
      if ((rc = check_one(one, in[i], err, errlen)) != 0)
        goto done;
      if (strcmp(one->fingerprint, rep->fingerprint) != 0) {
        rc = wsp__errorf(err, errlen, WSP_EMERGE,
                         "%s and %s are reports of different campaigns: %s",
                         wsp__input_name(in[0]), wsp__input_name(in[i]),
                         difference(rep, one, why, sizeof(why)));
        goto done;
      }
      if (one->shards != rep->shards) {
        rc = wsp__errorf(err, errlen, WSP_EMERGE,
                         "%s is one of %u shards, %s one of %u",
                         wsp__input_name(in[0]), rep->shards,
                         wsp__input_name(in[i]), one->shards);
        goto done;
      }
    }
    if ((rc = wsp__rep_add(rep, one)) != 0) {
      wsp__errorf(err, errlen, rc, "out of memory");
      goto done;
    }
    wsp_report_free(one);
    one = NULL;
  }
  if (!single) {
    rep->merged = 1;
    if ((rc = find_missing(rep, info, n, in, flags, err, errlen)) != 0)
      goto done;
  }
  /* From here on the model owns the inputs. */
  rep->inputs = in;
  rep->ninputs = n;
  in = NULL;
  if (!single && (rc = parts_from(rep, info, durations, counts)) != 0) {
    wsp__errorf(err, errlen, rc, "out of memory");
    goto done;
  }
  rc = check_probes(rep, info, !single && rep->shards > 1, err, errlen);
done:
  if (in != NULL)
    for (size_t i = 0; i < n; i++)
      wsp__input_free(in[i]);
  free(in);
  wsp_report_free(one);
  free(info);
  free(durations);
  free(counts);
  if (rc != 0) {
    wsp_report_free(rep);
    return rc;
  }
  *out = rep;
  return 0;
}

/* Opens n inputs from paths or texts and reads them as reports. */
static int open_inputs(const char *const *paths, const char *const *texts,
                       size_t n, unsigned flags, int as_is, wsp_report **out,
                       char *err, size_t errlen) {
  wsp__input **in;
  if (out == NULL || n == 0 || (paths == NULL && texts == NULL))
    return wsp__errorf(err, errlen, WSP_EINVAL, "no report to read");
  *out = NULL;
  if ((in = calloc(n, sizeof(*in))) == NULL)
    return wsp__errorf(err, errlen, WSP_ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    const char *text = texts ? texts[i] : NULL;
    int rc;
    if (paths ? paths[i] == NULL : text == NULL)
      rc = wsp__errorf(err, errlen, WSP_EINVAL, "report %zu is missing", i + 1);
    else
      rc = wsp__input_open(&in[i], paths ? paths[i] : NULL, text,
                           text ? strlen(text) : 0, err, errlen);
    if (rc == 0 && texts != NULL)
      wsp__input_label(in[i], i + 1);
    if (rc != 0) {
      for (size_t j = 0; j <= i; j++)
        wsp__input_free(in[j]);
      free(in);
      return rc;
    }
  }
  return open_reports(in, n, flags, as_is, out, err, errlen);
}

int wsp_report_merge_files(const char *const *paths, size_t n, unsigned flags,
                           wsp_report **out, char *err, size_t errlen) {
  if (paths == NULL)
    return wsp__errorf(err, errlen, WSP_EINVAL, "no report to read");
  return open_inputs(paths, NULL, n, flags, 0, out, err, errlen);
}

int wsp_report_merge_texts(const char *const *texts, size_t n, unsigned flags,
                           wsp_report **out, char *err, size_t errlen) {
  if (texts == NULL)
    return wsp__errorf(err, errlen, WSP_EINVAL, "no report to read");
  return open_inputs(NULL, texts, n, flags, 0, out, err, errlen);
}

int wsp_report_merge(const char *const *reports, size_t n, char **out,
                     char *err, size_t errlen) {
  wsp_report *rep;
  int rc;
  if (reports == NULL || n == 0 || out == NULL)
    return wsp__errorf(err, errlen, WSP_EINVAL, "nothing to merge");
  rc = open_inputs(NULL, reports, n, 0, 0, &rep, err, errlen);
  /* This call has always said WSP_EINVAL for reports that do not merge. */
  if (rc == WSP_EMERGE)
    return WSP_EINVAL;
  if (rc != 0)
    return rc;
  rc = wsp_report_string(rep, WSP_REPORT_JSON, 0, out);
  wsp_report_free(rep);
  if (rc != 0)
    wsp__errorf(err, errlen, rc, "%s", wsp_strerror(rc));
  return rc;
}

int wsp_report_text_json(const char *json, char **out) {
  wsp_report *rep;
  int rc;
  if (json == NULL || out == NULL)
    return WSP_EINVAL;
  if ((rc = open_inputs(NULL, &json, 1, 0, 1, &rep, NULL, 0)) != 0)
    return rc == WSP_EMERGE ? WSP_EJSON : rc;
  rc = wsp_report_string(rep, WSP_REPORT_TEXT, 0, out);
  wsp_report_free(rep);
  return rc;
}
