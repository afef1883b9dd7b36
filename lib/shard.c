/*
 * The shard a scheduler gives a process, from its environment: what
 * Kubernetes Indexed Jobs and Slurm job arrays set, or wsprobe's own
 * variable. One function, so that the CLI and the bindings read the same
 * variables in the same order and refuse the same mistakes.
 */
#include <stdio.h>
#include <string.h>

#include "defaults.h"
#include "util.h"
#include "wsprobe.h"

/* The variable each source takes its index from. */
static const char *const index_vars[] = {
    [WSP_SHARD_ENV] = "WSPROBE_SHARD",
    [WSP_SHARD_KUBERNETES] = "JOB_COMPLETION_INDEX",
    [WSP_SHARD_SLURM] = "SLURM_ARRAY_TASK_ID",
};

static const char *const source_names[] = {
    [WSP_SHARD_NONE] = "none",         [WSP_SHARD_OPTION] = "option",
    [WSP_SHARD_ENV] = "WSPROBE_SHARD", [WSP_SHARD_KUBERNETES] = "kubernetes",
    [WSP_SHARD_SLURM] = "slurm",
};

const char *wsp_shard_source_name(wsp_shard_source s) {
  return (unsigned)s < WSP__ARRAY_SIZE(source_names) ? source_names[s] : NULL;
}

/* The value of `name` in envp, or NULL (an empty value counts as unset). */
static const char *env(const char *const *envp, const char *name) {
  size_t n = strlen(name);
  for (; envp != NULL && *envp != NULL; envp++)
    if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
      return (*envp)[n + 1] ? *envp + n + 1 : NULL;
  return NULL;
}

/* A decimal number of at most 9 digits (shard numbers and Slurm task ids
 * are far below): 0, or WSP_EINVAL with a message naming the variable. */
static int number(const char *name, const char *v, uint32_t *out, char *err,
                  size_t errlen) {
  uint64_t x;
  if (wsp__parse_u64(v, strlen(v), &x) != 0 || x > 999999999)
    return wsp__errorf(err, errlen, WSP_EINVAL,
                       "%s='%.40s' is not a non-negative integer", name, v);
  *out = (uint32_t)x;
  return 0;
}

/* The count in WSPROBE_SHARD_COUNT, if set: 0 or an error. */
static int count_override(const char *const *envp, uint32_t *count, char *err,
                          size_t errlen) {
  const char *v = env(envp, "WSPROBE_SHARD_COUNT");
  if (v == NULL)
    return 0;
  return number("WSPROBE_SHARD_COUNT", v, count, err, errlen);
}

/* Slurm: the task's place in an array of consecutive ids. */
static int from_slurm(const char *const *envp, const char *id, uint32_t *index,
                      uint32_t *count, char *err, size_t errlen) {
  const char *min = env(envp, "SLURM_ARRAY_TASK_MIN");
  const char *max = env(envp, "SLURM_ARRAY_TASK_MAX");
  const char *n = env(envp, "SLURM_ARRAY_TASK_COUNT");
  const char *step = env(envp, "SLURM_ARRAY_TASK_STEP");
  uint32_t t = 0, lo = 0, hi = 0, k = 0, st = 1;
  int rc;
  if ((rc = number("SLURM_ARRAY_TASK_ID", id, &t, err, errlen)) != 0)
    return rc;
  if (min == NULL)
    return wsp__errorf(err, errlen, WSP_EINVAL,
                       "SLURM_ARRAY_TASK_ID is set without "
                       "SLURM_ARRAY_TASK_MIN: not a job array's task");
  if ((rc = number("SLURM_ARRAY_TASK_MIN", min, &lo, err, errlen)) != 0 ||
      (max && (rc = number("SLURM_ARRAY_TASK_MAX", max, &hi, err, errlen))) ||
      (n && (rc = number("SLURM_ARRAY_TASK_COUNT", n, &k, err, errlen))) ||
      (step && (rc = number("SLURM_ARRAY_TASK_STEP", step, &st, err, errlen))))
    return rc;
  if (st != 1)
    return wsp__errorf(err, errlen, WSP_EINVAL,
                       "the job array steps by %u (SLURM_ARRAY_TASK_STEP): "
                       "shards need consecutive task ids (--array=0-%u)",
                       st, n ? k - 1 : 0);
  if (t < lo)
    return wsp__errorf(err, errlen, WSP_EINVAL,
                       "SLURM_ARRAY_TASK_ID %u is below SLURM_ARRAY_TASK_MIN "
                       "%u",
                       t, lo);
  /* A sparse array (--array=0,2,7) has gaps: ids minus the smallest would
   * not number the shards. */
  if (n != NULL && max != NULL && (hi < lo || hi - lo + 1 != k))
    return wsp__errorf(err, errlen, WSP_EINVAL,
                       "the job array is sparse (%u tasks from %u to %u): "
                       "shards need consecutive task ids; re-run one task "
                       "with --shard I/N",
                       k, lo, hi);
  *index = t - lo;
  *count = k;
  if ((rc = count_override(envp, count, err, errlen)) != 0)
    return rc;
  if (n == NULL && env(envp, "WSPROBE_SHARD_COUNT") == NULL)
    return wsp__errorf(err, errlen, WSP_EINVAL,
                       "SLURM_ARRAY_TASK_ID is set without "
                       "SLURM_ARRAY_TASK_COUNT or WSPROBE_SHARD_COUNT: the "
                       "number of shards is unknown");
  return 0;
}

int wsp_shard_from_environment(const char *const *envp, uint32_t *index,
                               uint32_t *count, wsp_shard_source *source,
                               char *err, size_t errlen) {
  const char *v;
  uint32_t i = 0, n = 1;
  wsp_shard_source s = WSP_SHARD_NONE;
  int rc = 0;
  if (index == NULL || count == NULL || source == NULL)
    return wsp__errorf(err, errlen, WSP_EINVAL, "no place for the shard");
  if ((v = env(envp, "WSPROBE_SHARD")) != NULL) {
    const char *slash = strchr(v, '/');
    char a[16];
    s = WSP_SHARD_ENV;
    if (slash == NULL || (size_t)(slash - v) >= sizeof(a))
      return wsp__errorf(err, errlen, WSP_EINVAL,
                         "WSPROBE_SHARD='%.40s' is not of the form I/N", v);
    memcpy(a, v, (size_t)(slash - v));
    a[slash - v] = '\0';
    if ((rc = number("WSPROBE_SHARD", a, &i, err, errlen)) != 0 ||
        (rc = number("WSPROBE_SHARD", slash + 1, &n, err, errlen)) != 0)
      return rc;
  } else if ((v = env(envp, "JOB_COMPLETION_INDEX")) != NULL) {
    s = WSP_SHARD_KUBERNETES;
    if ((rc = number("JOB_COMPLETION_INDEX", v, &i, err, errlen)) != 0)
      return rc;
    if (env(envp, "WSPROBE_SHARD_COUNT") == NULL)
      return wsp__errorf(err, errlen, WSP_EINVAL,
                         "JOB_COMPLETION_INDEX=%u is set without "
                         "WSPROBE_SHARD_COUNT (the Job's completions): the "
                         "number of shards is unknown",
                         i);
    if ((rc = count_override(envp, &n, err, errlen)) != 0)
      return rc;
  } else if ((v = env(envp, "SLURM_ARRAY_TASK_ID")) != NULL) {
    s = WSP_SHARD_SLURM;
    if ((rc = from_slurm(envp, v, &i, &n, err, errlen)) != 0)
      return rc;
  }
  if (s != WSP_SHARD_NONE && (n < 1 || n > WSP__MAX_SHARDS || i >= n))
    return wsp__errorf(err, errlen, WSP_ERANGE,
                       "shard %u of %u from %s: the index must be below the "
                       "count (1-%u shards)",
                       i, n, index_vars[s], WSP__MAX_SHARDS);
  *index = i;
  *count = n;
  *source = s;
  if (err != NULL && errlen > 0)
    err[0] = '\0';
  return 0;
}
