/*
 * Plans: option values given by name (the CLI's argv, a binding's
 * keywords), checked together and turned into a config and a campaign.
 * Every check the CLI makes is here, so that a binding makes the same
 * ones: what excludes or needs what, which algorithm a JWT key signs
 * with, whether the process may open enough files, whether the report
 * files can be written (before anything runs, not after).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "campaign.h"
#include "defaults.h"
#include "options.h"
#include "proxy.h"

/* The report options and the formats they write. */
static const char *const outputs[] = {"json", "html", "junit"};
static const wsp_report_format formats[] = {WSP_REPORT_JSON, WSP_REPORT_HTML,
                                            WSP_REPORT_JUNIT};

static int plan_new(wsp_plan **out, int merge) {
  wsp_plan *p;
  if (out == NULL)
    return WSP_EINVAL;
  if ((p = calloc(1, sizeof(*p))) == NULL ||
      (p->vals = calloc(wsp__noptions, sizeof(*p->vals))) == NULL) {
    free(p);
    return WSP_ENOMEM;
  }
  p->merge = merge;
  *out = p;
  return 0;
}

int wsp_plan_new(wsp_plan **out) { return plan_new(out, 0); }

int wsp_plan_new_merge(wsp_plan **out) { return plan_new(out, 1); }

static void val_clear(wsp__optval *v) {
  if (v->text != NULL)
    memset(v->text, 0, v->len); /* It may be a secret. */
  free(v->text);
  free(v->list);
  memset(v, 0, sizeof(*v));
}

void wsp_plan_free(wsp_plan *p) {
  if (p == NULL)
    return;
  for (size_t i = 0; i < wsp__noptions; i++) {
    for (size_t k = 0; k < p->vals[i].n; k++)
      val_clear(&p->vals[i].v[k]);
    free(p->vals[i].v);
  }
  free(p->vals);
  free(p->url);
  for (size_t i = 0; p->env != NULL && p->env[i] != NULL; i++)
    free(p->env[i]);
  free(p->env);
  free(p);
}

/* The variables wsp_shard_from_environment() reads. */
static int shard_variable(const char *entry) {
  static const char *const names[] = {
      "WSPROBE_SHARD=",          "WSPROBE_SHARD_COUNT=",
      "JOB_COMPLETION_INDEX=",   "SLURM_ARRAY_TASK_ID=",
      "SLURM_ARRAY_TASK_MIN=",   "SLURM_ARRAY_TASK_MAX=",
      "SLURM_ARRAY_TASK_COUNT=", "SLURM_ARRAY_TASK_STEP="};
  for (size_t i = 0; i < WSP__ARRAY_SIZE(names); i++)
    if (strncmp(entry, names[i], strlen(names[i])) == 0)
      return 1;
  return 0;
}

int wsp_plan_set_environment(wsp_plan *p, const char *const *envp) {
  char **env;
  size_t n = 0, k = 0;
  if (p == NULL)
    return WSP_EINVAL;
  if (p->built)
    return wsp__plan_fail(p, WSP_ESTATE, "the plan was already built");
  for (size_t i = 0; envp != NULL && envp[i] != NULL; i++)
    n += shard_variable(envp[i]);
  if ((env = calloc(n + 1, sizeof(*env))) == NULL)
    return wsp__plan_fail(p, WSP_ENOMEM, "out of memory");
  for (size_t i = 0; envp != NULL && envp[i] != NULL; i++)
    if (shard_variable(envp[i]) && (env[k++] = strdup(envp[i])) == NULL) {
      for (size_t j = 0; j < k; j++)
        free(env[j]);
      free(env);
      return wsp__plan_fail(p, WSP_ENOMEM, "out of memory");
    }
  for (size_t i = 0; p->env != NULL && p->env[i] != NULL; i++)
    free(p->env[i]);
  free(p->env);
  p->env = env;
  p->error[0] = '\0';
  return 0;
}

const char *wsp_plan_last_error(const wsp_plan *p) {
  return p ? p->error : "no plan";
}

int wsp_plan_use_keywords(wsp_plan *p, int keywords) {
  if (p == NULL)
    return WSP_EINVAL;
  p->keywords = keywords != 0;
  p->error[0] = '\0';
  return 0;
}

int wsp_plan_set_url(wsp_plan *p, const char *url) {
  char *u;
  if (p == NULL)
    return WSP_EINVAL;
  if (p->merge)
    return wsp__plan_fail(p, WSP_ESTATE, "a merge of reports takes no URL");
  if (url == NULL)
    return wsp__plan_fail(p, WSP_EURL, "no URL given");
  if ((u = strdup(url)) == NULL)
    return wsp__plan_fail(p, WSP_ENOMEM, "out of memory");
  free(p->url);
  p->url = u;
  p->error[0] = '\0';
  return 0;
}

static int set(wsp_plan *p, const char *name, const char *value, size_t len) {
  const wsp_option *o;
  wsp__optvals *vs;
  wsp__optval v;
  char ref[48];
  int rc;
  if (p == NULL)
    return WSP_EINVAL;
  if (p->built)
    return wsp__plan_fail(p, WSP_ESTATE, "the plan was already built");
  if ((o = wsp__opt_get(name)) == NULL)
    return wsp__plan_fail(p, WSP_ENOTFOUND, "unknown %s '%.60s'",
                          p->keywords ? "keyword" : "option", name ? name : "");
  wsp__opt_ref(p, o, ref, sizeof(ref));
  /* Each command takes its own options: the table says which. */
  if (p->merge && !(o->flags & WSP_OPTION_MERGE))
    return wsp__plan_fail(p, WSP_EINVAL,
                          "%s is not an option of a merge of reports", ref);
  if (!p->merge && (o->flags & WSP_OPTION_MERGE_ONLY))
    return wsp__plan_fail(p, WSP_EINVAL,
                          "%s applies only to a merge of reports (wsprobe "
                          "merge)",
                          ref);
  if (value != NULL && len != strlen(value) && !(o->flags & WSP__OPTION_BYTES))
    return wsp__plan_fail(p, WSP_EINVAL, "%s: the value holds a NUL byte", ref);
  memset(&v, 0, sizeof(v));
  v.by_keyword = o->keyword != NULL && strcmp(name, o->keyword) == 0 &&
                 strcmp(name, o->name) != 0;
  if (value != NULL) {
    if ((v.text = malloc(len + 1)) == NULL)
      return wsp__plan_fail(p, WSP_ENOMEM, "out of memory");
    memcpy(v.text, value, len);
    v.text[len] = '\0';
    v.len = len;
  }
  if ((rc = wsp__opt_parse(p, o, &v)) != 0) {
    val_clear(&v);
    return rc;
  }
  vs = &p->vals[o - wsp__options];
  if (!(o->flags & WSP_OPTION_REPEATABLE) && vs->n > 0) {
    /* Given again: the last one counts, as getopt has it. */
    val_clear(&vs->v[0]);
    vs->v[0] = v;
  } else {
    wsp__optval *nv = realloc(vs->v, (vs->n + 1) * sizeof(*nv));
    if (nv == NULL) {
      val_clear(&v);
      return wsp__plan_fail(p, WSP_ENOMEM, "out of memory");
    }
    vs->v = nv;
    vs->v[vs->n++] = v;
  }
  p->error[0] = '\0';
  return 0;
}

int wsp_plan_set(wsp_plan *p, const char *name, const char *value) {
  return set(p, name, value, value ? strlen(value) : 0);
}

int wsp_plan_set_bytes(wsp_plan *p, const char *name, const void *value,
                       size_t len) {
  if (p != NULL && value == NULL)
    return wsp__plan_fail(p, WSP_EINVAL, "no value given");
  return set(p, name, value, len);
}

/* The values given to the option called `name` (it exists). */
static const wsp__optvals *vals(const wsp_plan *p, const char *name) {
  const wsp_option *o = wsp__opt_get(name);
  return o ? &p->vals[o - wsp__options] : NULL;
}

size_t wsp_plan_given(const wsp_plan *p, const char *name) {
  const wsp__optvals *vs;
  if (p == NULL || (vs = vals(p, name)) == NULL)
    return 0;
  return vs->n;
}

const char *wsp_plan_value(const wsp_plan *p, const char *name) {
  const wsp__optvals *vs;
  if (p == NULL || (vs = vals(p, name)) == NULL || vs->n == 0)
    return NULL;
  return vs->v[vs->n - 1].text;
}

/* The last value of an option that was given. */
static const wsp__optval *last(const wsp_plan *p, const char *name) {
  const wsp__optvals *vs = vals(p, name);
  return vs->v + vs->n - 1;
}

#define GIVEN(name) (wsp_plan_given(p, name) > 0)

/* "--name" or "keyword" of the option called `name`, in a ring of buffers
 * so that one message can name several options (at most RING). */
#define RING 8
static const char *ref(const wsp_plan *p, const char *name) {
  static _Thread_local char bufs[RING][48];
  static _Thread_local unsigned next;
  char *b = bufs[next++ % RING];
  return wsp__opt_ref(p, wsp__opt_get(name), b, sizeof(bufs[0]));
}

/* The first of `names` (NULL-terminated) that was given, or NULL. */
static const char *any_given(const wsp_plan *p, const char *const *names) {
  for (; *names != NULL; names++)
    if (GIVEN(*names))
      return *names;
  return NULL;
}

/* Whether --jwt-placement was given `where` (subprotocol by default). */
static int placed(const wsp_plan *p, const char *where) {
  const wsp__optvals *vs = vals(p, "jwt-placement");
  if (vs->n == 0)
    return strcmp(where, "subprotocol") == 0;
  for (size_t i = 0; i < vs->n; i++)
    if (strcmp(vs->v[i].text, where) == 0)
      return 1;
  return 0;
}

/* The placements given, when none of them is `where`: "bearer", ... */
static const char *placement_without(const wsp_plan *p, const char *where) {
  const wsp__optvals *vs = vals(p, "jwt-placement");
  return placed(p, where) ? NULL : vs->v[vs->n - 1].text;
}

/* Whether --health names an https:// URL. */
static int https_health(const wsp_plan *p) {
  const wsp__optvals *v = vals(p, "health");
  return v != NULL && v->n > 0 && v->v[v->n - 1].text != NULL &&
         strncasecmp(v->v[v->n - 1].text, "https:", 6) == 0;
}

/* What excludes or needs what: the options as a whole. */
static int check(wsp_plan *p) {
  static const char *const script_excludes[] = {
      "send", "binary", "delay", "hold", "expect", "expect-order", NULL};
  static const char *const keys[] = {"jwt-secret", "jwt-secret-file", "jwt-key",
                                     NULL};
  static const char *const minted[] = {"jwt-alg", "jwt-claims", "jwt-ttl",
                                       NULL};
  static const char *const token[] = {"jwt-placement", "jwt-prefix",
                                      "jwt-query-param",
                                      "no-require-subprotocol", NULL};
  static const char *const modes[] = {"delay-sweep", "find-window",
                                      "concurrency-sweep", NULL};
  static const char *const window_only[] = {"resolution", "trials", NULL};
  static const char *const tls_only[] = {"cacert", "insecure",   "cert",
                                         "key",    "tls-resume", NULL};
  const char *a, *k;
  int nmodes = 0;
  if (p->url == NULL)
    return wsp__plan_fail(p, WSP_EURL, "missing URL");
  if (GIVEN("step") && (a = any_given(p, script_excludes)) != NULL)
    return wsp__plan_fail(p, WSP_EINVAL,
                          "%s and %s exclude each other: a script has its "
                          "own send:, wait: and expect: steps",
                          ref(p, "step"), ref(p, a));
  if (GIVEN("binary") && !GIVEN("send"))
    return wsp__plan_fail(p, WSP_EINVAL, "%s needs %s", ref(p, "binary"),
                          ref(p, "send"));
  if (GIVEN("hold") && GIVEN("send"))
    return wsp__plan_fail(p, WSP_EINVAL,
                          "%s applies without %s (the connection is held "
                          "instead of sending)",
                          ref(p, "hold"), ref(p, "send"));
  if (GIVEN("expect-order") && !GIVEN("expect"))
    return wsp__plan_fail(p, WSP_EINVAL, "%s needs %s", ref(p, "expect-order"),
                          ref(p, "expect"));
  k = any_given(p, keys);
  for (const char *const *n = keys; *n; n++)
    if (GIVEN(*n) && k != *n)
      return wsp__plan_fail(p, WSP_EINVAL, "give one of %s, %s and %s",
                            ref(p, keys[0]), ref(p, keys[1]), ref(p, keys[2]));
  if (GIVEN("jwt") && k != NULL)
    return wsp__plan_fail(p, WSP_EINVAL, "%s and %s exclude each other",
                          ref(p, "jwt"), ref(p, k));
  if ((a = any_given(p, minted)) != NULL && k == NULL)
    return wsp__plan_fail(p, WSP_EINVAL,
                          "%s needs %s, %s or %s (it is about "
                          "minted tokens)",
                          ref(p, a), ref(p, keys[0]), ref(p, keys[1]),
                          ref(p, keys[2]));
  if ((a = any_given(p, token)) != NULL && k == NULL && !GIVEN("jwt"))
    return wsp__plan_fail(p, WSP_EINVAL, "%s needs a token: %s, %s, %s or %s",
                          ref(p, a), ref(p, "jwt"), ref(p, keys[0]),
                          ref(p, keys[1]), ref(p, keys[2]));
  if (GIVEN("jwt-placement") && (a = placement_without(p, "subprotocol")) &&
      GIVEN("jwt-prefix"))
    return wsp__plan_fail(p, WSP_EINVAL,
                          "%s applies to the subprotocol placement, not %s "
                          "alone",
                          ref(p, "jwt-prefix"), a);
  if (GIVEN("jwt-query-param") && !placed(p, "query"))
    return wsp__plan_fail(p, WSP_EINVAL, "%s applies to %s query",
                          ref(p, "jwt-query-param"), ref(p, "jwt-placement"));
  /* An https:// health URL takes them too (not tls-resume). */
  if (strncasecmp(p->url, "wss:", 4) != 0 &&
      (a = any_given(p, tls_only)) != NULL &&
      (!https_health(p) || strcmp(a, "tls-resume") == 0))
    return wsp__plan_fail(p, WSP_EINVAL, "%s applies to wss:// URLs",
                          ref(p, a));
  if (GIVEN("cert") != GIVEN("key"))
    return wsp__plan_fail(p, WSP_EINVAL, "%s and %s go together",
                          ref(p, "cert"), ref(p, "key"));
  for (const char *const *n = modes; *n; n++)
    if (GIVEN(*n) && nmodes++ > 0)
      return wsp__plan_fail(p, WSP_EINVAL,
                            "%s, %s and %s exclude each other: a campaign "
                            "runs one of them",
                            ref(p, modes[0]), ref(p, modes[1]),
                            ref(p, modes[2]));
  if ((GIVEN("health-interval") || GIVEN("health-timeout")) && !GIVEN("health"))
    return wsp__plan_fail(
        p, WSP_EINVAL, "%s applies only to %s",
        ref(p, GIVEN("health-interval") ? "health-interval" : "health-timeout"),
        ref(p, "health"));
  if (GIVEN("start-tolerance") && !GIVEN("start-at"))
    return wsp__plan_fail(p, WSP_EINVAL, "%s applies only to %s",
                          ref(p, "start-tolerance"), ref(p, "start-at"));
  if ((a = any_given(p, window_only)) != NULL && !GIVEN("find-window"))
    return wsp__plan_fail(p, WSP_EINVAL, "%s applies only to %s", ref(p, a),
                          ref(p, "find-window"));
  if ((a = any_given(p, modes)) != NULL && a != modes[2] && GIVEN("delay"))
    return wsp__plan_fail(p, WSP_EINVAL,
                          "%s and %s exclude each other: the search chooses "
                          "the delays",
                          ref(p, a), ref(p, "delay"));
  if (a != NULL && a != modes[2] && !GIVEN("send"))
    return wsp__plan_fail(p, WSP_EINVAL,
                          "%s needs %s: the delay is that of the first "
                          "message",
                          ref(p, a), ref(p, "send"));
  if ((GIVEN("burst") || GIVEN("concurrency-sweep")) && !GIVEN("send") &&
      !GIVEN("step"))
    return wsp__plan_fail(
        p, WSP_EINVAL, "%s needs %s: a burst releases first messages",
        ref(p, GIVEN("burst") ? "burst" : "concurrency-sweep"), ref(p, "send"));
  return 0;
}

/* Reads a whole file of at most 1 MiB (a secret or a key). */
static int read_file(wsp_plan *p, const char *opt, const char *path,
                     uint8_t **out, size_t *len) {
  FILE *f;
  uint8_t *buf = NULL;
  size_t n = 0, cap = 0;
  if (!wsp__regular_file(path))
    return wsp__plan_fail(p, WSP_EINVAL, "%s: '%.200s' is not a readable file",
                          ref(p, opt), path);
  if ((f = fopen(path, "rb")) == NULL)
    return wsp__plan_fail(p, WSP_EINVAL, "%s: cannot read '%.200s': %s",
                          ref(p, opt), path, strerror(errno));
  for (;;) {
    size_t r;
    if (n == cap) {
      uint8_t *nb;
      cap = cap ? 2 * cap : 4096;
      if (cap > 1024 * 1024 || (nb = realloc(buf, cap)) == NULL) {
        fclose(f);
        free(buf);
        return wsp__plan_fail(p, WSP_ETOOLONG, "%s: '%.200s' is too large",
                              ref(p, opt), path);
      }
      buf = nb;
    }
    if ((r = fread(buf + n, 1, cap - n, f)) == 0)
      break;
    n += r;
  }
  fclose(f);
  *out = buf;
  *len = n;
  return 0;
}

static int cfg_fail(wsp__build *b, const char *opt, int rc) {
  return wsp__opt_cfg_fail(b, wsp__opt_get(opt), rc);
}

/* The JWT options together: a fixed token, or a key to mint with and the
 * algorithm, from --jwt-alg or from the key itself. */
static int apply_jwt(wsp__build *b) {
  wsp_plan *p = b->p;
  static const char *const places[] = {"subprotocol", "bearer", "query"};
  unsigned placement = 0;
  const wsp__optvals *pl = vals(p, "jwt-placement");
  const char *k = GIVEN("jwt-secret")        ? "jwt-secret"
                  : GIVEN("jwt-secret-file") ? "jwt-secret-file"
                  : GIVEN("jwt-key")         ? "jwt-key"
                                             : NULL;
  uint8_t *key = NULL;
  size_t key_len = 0;
  int alg, rc = 0;
  for (size_t i = 0; i < pl->n; i++)
    for (unsigned j = 0; j < WSP__ARRAY_SIZE(places); j++)
      if (strcmp(pl->v[i].text, places[j]) == 0)
        placement |= 1u << j;
  if (GIVEN("jwt")) {
    rc = wsp_config_set_jwt(b->cfg, last(p, "jwt")->text,
                            placement ? placement : WSP_JWT_SUBPROTOCOL);
    return rc ? cfg_fail(b, "jwt", rc) : 0;
  }
  if (k == NULL)
    return 0;
  if (strcmp(k, "jwt-secret") == 0) {
    key_len = last(p, k)->len;
    if ((key = malloc(key_len + 1)) == NULL)
      return wsp__plan_fail(p, WSP_ENOMEM, "out of memory");
    memcpy(key, last(p, k)->text, key_len);
  } else if ((rc = read_file(p, k, last(p, k)->text, &key, &key_len)) != 0) {
    return rc;
  }
  /* A secret file's trailing newline is not part of the secret. */
  while (strcmp(k, "jwt-secret-file") == 0 && key_len > 0 &&
         (key[key_len - 1] == '\n' || key[key_len - 1] == '\r'))
    key_len--;
  if (GIVEN("jwt-alg"))
    alg = wsp_jwt_alg_from_name(last(p, "jwt-alg")->text);
  else if (strcmp(k, "jwt-key") != 0)
    alg = WSP_JWT_HS256;
  else if ((alg = wsp_jwt_key_alg(key, key_len)) < 0)
    alg = WSP_JWT_RS256; /* Not a key we know: the setter says why. */
  if (alg == WSP_JWT_HS256 && strcmp(k, "jwt-key") == 0)
    rc = wsp__plan_fail(p, WSP_EINVAL,
                        "%s holds a private key: HS256 takes a secret (%s or "
                        "%s)",
                        ref(p, k), ref(p, "jwt-secret"),
                        ref(p, "jwt-secret-file"));
  else if ((rc = wsp_config_set_jwt_signing(b->cfg, (wsp_jwt_alg)alg, key,
                                            key_len)) != 0)
    rc = cfg_fail(b, k, rc);
  else if (placement != 0 &&
           (rc = wsp_config_set_jwt_placement(b->cfg, placement)) != 0)
    rc = cfg_fail(b, "jwt-placement", rc);
  memset(key, 0, key_len);
  free(key);
  return rc;
}

/* The proxy from the environment, as curl reads it, unless --proxy or
 * --noproxy said otherwise (a --proxy of '' is none at all). A bad value
 * is refused naming its variable, never quoting it: it may hold a
 * password. */
static int proxy_env(wsp__build *b) {
  wsp_plan *p = b->p;
  const char *var = NULL, *v;
  int rc;
  if (!GIVEN("proxy") && (v = wsp__proxy_env(b->cfg->url.tls, &var)) != NULL &&
      (rc = wsp_config_set_proxy(b->cfg, v)) != 0)
    return wsp__plan_fail(p, rc, "%s in the environment: %s", var,
                          wsp_config_last_error(b->cfg));
  if (!GIVEN("noproxy") && (v = wsp__noproxy_env(&var)) != NULL &&
      (rc = wsp_config_set_noproxy(b->cfg, v)) != 0)
    return wsp__plan_fail(p, rc, "%s in the environment: %s", var,
                          wsp_config_last_error(b->cfg));
  return 0;
}

/* The config: every probe option in table order, then the ones that only
 * make sense together. */
static int build_config(wsp__build *b) {
  wsp_plan *p = b->p;
  int rc;
  if ((b->cfg = wsp_config_new()) == NULL)
    return wsp__plan_fail(p, WSP_ENOMEM, "out of memory");
  if ((rc = wsp_config_set_url(b->cfg, p->url)) != 0)
    return wsp__plan_fail(p, rc, "%s", wsp_config_last_error(b->cfg));
  for (size_t i = 0; i < wsp__noptions; i++) {
    const wsp_option *o = &wsp__options[i];
    if (!(o->flags & WSP_OPTION_PROBE))
      continue;
    for (size_t k = 0; k < p->vals[i].n; k++)
      if ((rc = wsp__opt_apply(b, o, &p->vals[i].v[k])) != 0)
        return rc;
  }
  if ((rc = apply_jwt(b)) != 0)
    return rc;
  if ((rc = proxy_env(b)) != 0)
    return rc;
  if (GIVEN("send") &&
      (rc = wsp_config_set_message(b->cfg, last(p, "send")->text,
                                   last(p, "send")->len, GIVEN("binary"))) != 0)
    return cfg_fail(b, "send", rc);
  if (GIVEN("cert") &&
      (rc = wsp_config_set_client_cert(b->cfg, last(p, "cert")->text,
                                       last(p, "key")->text)) != 0)
    return cfg_fail(b, "cert", rc);
  return 0;
}

static int camp_fail(wsp__build *b, const char *opt, int rc) {
  return wsp__opt_camp_fail(b, wsp__opt_get(opt), rc);
}

/*
 * The shard: the option's, else the scheduler's from the environment
 * given. Shards only add up to the campaign when every one of them makes
 * the same random choices: several need the seed, given.
 */
static int apply_shard(wsp__build *b) {
  wsp_plan *p = b->p;
  uint32_t i = 0, n = 1;
  wsp_shard_source from = WSP_SHARD_NONE;
  char err[200], what[64] = "";
  int rc;
  if (GIVEN("shard")) {
    from = b->c->shard_from;
    n = b->c->shards;
    snprintf(what, sizeof(what), "%s", ref(p, "shard"));
  } else if (p->env != NULL) {
    if ((rc = wsp_shard_from_environment((const char *const *)p->env, &i, &n,
                                         &from, err, sizeof(err))) != 0)
      return wsp__plan_fail(p, rc, "%s", err);
    if (from != WSP_SHARD_NONE &&
        (rc = wsp_campaign_set_shard_from(b->c, i, n, from)) != 0)
      return wsp__plan_fail(p, rc, "shard %u of %u from %s: %s", i, n,
                            wsp_shard_source_name(from),
                            wsp_campaign_last_error(b->c));
    snprintf(what, sizeof(what), "the environment (%s)",
             from == WSP_SHARD_ENV          ? "WSPROBE_SHARD"
             : from == WSP_SHARD_KUBERNETES ? "JOB_COMPLETION_INDEX"
                                            : "SLURM_ARRAY_TASK_ID");
  }
  if (n > 1 && !GIVEN("seed"))
    return wsp__plan_fail(p, WSP_EINVAL,
                          "%s: shard %u of %u needs %s, the same for every "
                          "shard, so that the shards add up to one campaign",
                          what, b->c->shard, n, ref(p, "seed"));
  return 0;
}

/* The campaign: its mode first, so that a setting the mode would ignore
 * is refused by name; then every campaign option in table order. */
static int build_campaign(wsp__build *b) {
  wsp_plan *p = b->p;
  int rc;
  if ((rc = wsp_campaign_new(b->cfg, &b->c)) != 0)
    return wsp__plan_fail(p, rc, "cannot make the campaign: %s",
                          wsp_strerror(rc));
  if (GIVEN("delay-sweep")) {
    const wsp__optval *d = last(p, "delay-sweep");
    uint32_t per = GIVEN("count") ? (uint32_t)last(p, "count")->u : 1;
    if ((rc = wsp_campaign_set_delays(b->c, d->list, d->nlist, per)) != 0)
      return camp_fail(b, "delay-sweep", rc);
  } else if (GIVEN("find-window")) {
    const wsp__optval *w = last(p, "find-window");
    uint32_t res = GIVEN("resolution") ? (uint32_t)last(p, "resolution")->u
                                       : WSP__DEF_RESOLUTION_MS;
    uint32_t trials =
        GIVEN("trials") ? (uint32_t)last(p, "trials")->u : WSP__DEF_TRIALS;
    if ((rc = wsp_campaign_set_window_search(
             b->c, (uint32_t)w->u, (uint32_t)w->u2, res, trials)) != 0)
      return camp_fail(b, "find-window", rc);
  } else if (GIVEN("concurrency-sweep")) {
    if ((rc = wsp_campaign_set_concurrency_sweep(
             b->c, (uint32_t)last(p, "concurrency-sweep")->u)) != 0)
      return camp_fail(b, "concurrency-sweep", rc);
  }
  for (size_t i = 0; i < wsp__noptions; i++) {
    const wsp_option *o = &wsp__options[i];
    if (!(o->flags & WSP_OPTION_CAMPAIGN) || p->vals[i].n == 0)
      continue;
    /* In a sweep the count is per delay: given with the delays above. */
    if (strcmp(o->name, "count") == 0 && GIVEN("delay-sweep"))
      continue;
    if ((rc = wsp__opt_apply(b, o, &p->vals[i].v[p->vals[i].n - 1])) != 0)
      return rc;
  }
  if ((rc = apply_shard(b)) != 0)
    return rc;
  /* Settings that only conflict together (a jitter with a burst...). */
  char why[200];
  if ((rc = wsp_campaign_validate(b->c, why, sizeof(why))) != 0)
    return wsp__plan_fail(p, rc, "%s", why);
  if ((rc = wsp_campaign_check_limits(b->c)) != 0)
    return wsp__plan_fail(p, rc, "%s", wsp_campaign_last_error(b->c));
  return 0;
}

static void build_clear(wsp__build *b) {
  wsp_config_free(b->cfg);
  wsp_campaign_close(b->c);
  b->cfg = NULL;
  b->c = NULL;
}

static int make(wsp_plan *p, wsp__build *b) {
  int rc;
  memset(b, 0, sizeof(*b));
  b->p = p;
  if (p->merge)
    return wsp__plan_fail(p, WSP_ESTATE,
                          "a merge of reports builds no campaign");
  if ((rc = check(p)) != 0 || (rc = build_config(b)) != 0 ||
      (rc = build_campaign(b)) != 0) {
    build_clear(b);
    return rc;
  }
  return 0;
}

int wsp_plan_check_reports(wsp_plan *p) {
  char err[sizeof(p->error)];
  if (p == NULL)
    return WSP_EINVAL;
  for (size_t i = 0; i < WSP__ARRAY_SIZE(outputs); i++) {
    int rc;
    if (GIVEN(outputs[i]) &&
        (rc = wsp_report_path_check(last(p, outputs[i])->text, err,
                                    sizeof(err))) != 0)
      return wsp__plan_fail(p, rc, "%s: %s", ref(p, outputs[i]), err);
  }
  p->error[0] = '\0';
  return 0;
}

int wsp_plan_build(wsp_plan *p, wsp_campaign **out) {
  wsp__build b;
  int rc;
  if (p == NULL || out == NULL)
    return WSP_EINVAL;
  if (p->built)
    return wsp__plan_fail(p, WSP_ESTATE, "the plan was already built");
  if ((rc = make(p, &b)) != 0)
    return rc;
  if ((rc = wsp_plan_check_reports(p)) != 0) {
    build_clear(&b);
    return rc;
  }
  wsp_config_free(b.cfg);
  p->built = 1;
  *out = b.c;
  p->error[0] = '\0';
  return 0;
}

static cJSON *u32_or_null(uint32_t v) {
  return v ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

/* The campaign's settings (not its results), as a dry run shows them. */
static cJSON *settings_json(const wsp_plan *p, const wsp_campaign *c) {
  cJSON *x = cJSON_CreateObject(), *a;
  cJSON_AddStringToObject(x, "mode", wsp__mode_names[c->mode]);
  cJSON_AddNumberToObject(x, "planned", wsp_campaign_planned(c));
  cJSON_AddNumberToObject(x, "concurrency", c->concurrency);
  /* Auto says how many it would be on this machine. */
  cJSON_AddNumberToObject(x, "threads", wsp_campaign_threads(c));
  cJSON_AddItemToObject(x, "rate",
                        c->rate > 0 ? cJSON_CreateNumber(c->rate)
                                    : cJSON_CreateNull());
  cJSON_AddItemToObject(x, "duration_ms", u32_or_null(c->duration_ms));
  cJSON_AddNumberToObject(x, "slice_ms", c->slice_ms);
  cJSON_AddBoolToObject(x, "burst", c->burst);
  /* A seed nobody chose is drawn at random: null says so. */
  cJSON_AddItemToObject(x, "seed",
                        GIVEN("seed") ? cJSON_CreateNumber((double)c->seed)
                                      : cJSON_CreateNull());
  cJSON_AddNumberToObject(x, "jitter_ms", c->jitter_ms);
  a = cJSON_AddObjectToObject(x, "shard");
  cJSON_AddNumberToObject(a, "index", c->shard);
  cJSON_AddNumberToObject(a, "count", c->shards);
  cJSON_AddStringToObject(a, "source", wsp_shard_source_name(c->shard_from));
  cJSON_AddNumberToObject(x, "lag_threshold_ms", c->lag_threshold_ms);
  if (c->start_at_us >= 0) {
    char when[40];
    wsp__format_time(c->start_at_us, when, sizeof(when));
    a = cJSON_AddObjectToObject(x, "start");
    cJSON_AddStringToObject(a, "at", when);
    cJSON_AddNumberToObject(a, "tolerance_ms", c->start_tol_ms);
  } else {
    cJSON_AddNullToObject(x, "start");
  }
  if (c->health_cfg.text != NULL) {
    a = cJSON_AddObjectToObject(x, "health");
    cJSON_AddStringToObject(a, "url", c->health_cfg.text);
    cJSON_AddNumberToObject(a, "interval_ms", c->health_cfg.interval_ms);
    cJSON_AddNumberToObject(a, "timeout_ms", c->health_cfg.timeout_ms);
  } else {
    cJSON_AddNullToObject(x, "health");
  }
  if (c->mode == WSP__MODE_SWEEP) {
    a = cJSON_AddArrayToObject(x, "delays_ms");
    for (size_t i = 0; i < c->ndelays; i++)
      cJSON_AddItemToArray(a, cJSON_CreateNumber(c->delays[i]));
    cJSON_AddNumberToObject(x, "per_delay", c->per_delay);
  } else if (c->mode == WSP__MODE_WINDOW) {
    a = cJSON_AddObjectToObject(x, "window");
    cJSON_AddNumberToObject(a, "lo_ms", c->win_lo);
    cJSON_AddNumberToObject(a, "hi_ms", c->win_hi);
    cJSON_AddNumberToObject(a, "resolution_ms", c->win_res);
    cJSON_AddNumberToObject(a, "trials", c->win_trials);
  } else if (c->mode == WSP__MODE_CONCURRENCY) {
    cJSON_AddNumberToObject(x, "max_level", c->max_level);
  }
  return x;
}

int wsp_plan_to_json(wsp_plan *p, char **out) {
  wsp__build b;
  cJSON *o, *r;
  char *cfg = NULL;
  int rc;
  if (p == NULL || out == NULL)
    return WSP_EINVAL;
  if ((rc = make(p, &b)) != 0)
    return rc;
  if ((rc = wsp_plan_check_reports(p)) != 0) {
    build_clear(&b);
    return rc;
  }
  rc = wsp_config_to_json(b.cfg, GIVEN("show-secrets"), &cfg);
  o = cJSON_CreateObject();
  if (rc == 0 && o != NULL) {
    cJSON_AddStringToObject(o, "url", p->url);
    cJSON_AddItemToObject(o, "config", cJSON_Parse(cfg));
    cJSON_AddItemToObject(o, "campaign", settings_json(p, b.c));
    r = cJSON_AddObjectToObject(o, "reports");
    for (size_t i = 0; i < WSP__ARRAY_SIZE(outputs); i++)
      cJSON_AddItemToObject(r, outputs[i],
                            GIVEN(outputs[i])
                                ? cJSON_CreateString(last(p, outputs[i])->text)
                                : cJSON_CreateNull());
    cJSON_AddBoolToObject(r, "show_secrets", GIVEN("show-secrets"));
    cJSON_AddNumberToObject(o, "open_files",
                            (double)wsp_campaign_open_files(b.c));
    *out = cJSON_PrintUnformatted(o);
    rc = *out ? 0 : WSP_ENOMEM;
  } else if (rc == 0) {
    rc = WSP_ENOMEM;
  }
  cJSON_Delete(o);
  wsp_free(cfg);
  build_clear(&b);
  if (rc != 0)
    return wsp__plan_fail(p, rc, "cannot describe the plan: %s",
                          wsp_strerror(rc));
  p->error[0] = '\0';
  return 0;
}

int wsp_plan_merge(wsp_plan *p, const char *const *paths, size_t n,
                   wsp_report **out) {
  char err[sizeof(p->error)] = "";
  int rc;
  if (p == NULL || out == NULL)
    return WSP_EINVAL;
  if (!p->merge)
    return wsp__plan_fail(p, WSP_ESTATE, "the plan runs probes: no merge");
  if (p->built)
    return wsp__plan_fail(p, WSP_ESTATE, "the plan has merged already");
  if (paths == NULL || n == 0)
    return wsp__plan_fail(p, WSP_EINVAL, "no reports given");
  if ((rc = wsp_report_merge_files(
           paths, n, GIVEN("allow-partial") ? WSP_MERGE_ALLOW_PARTIAL : 0, out,
           err, sizeof(err))) == 0) {
    p->built = 1;
    p->error[0] = '\0';
    return 0;
  }
  if (rc == WSP_EMERGE && strstr(err, "missing") != NULL)
    return wsp__plan_fail(p, rc, "%s (%s merges the shards given)", err,
                          ref(p, "allow-partial"));
  return wsp__plan_fail(p, rc, "%s", err);
}

int wsp_plan_save_reports(wsp_plan *p, const wsp_report *r) {
  char err[sizeof(p->error)];
  int rc = 0;
  if (p == NULL || r == NULL)
    return WSP_EINVAL;
  p->error[0] = '\0';
  for (size_t i = 0; i < WSP__ARRAY_SIZE(outputs); i++) {
    int r1;
    if (!GIVEN(outputs[i]))
      continue;
    /* The HTML and JUnit reports never show secrets: they are made to be
     * shared (CI artifacts, attachments). */
    r1 = wsp_report_save(
        r, formats[i],
        i == 0 && GIVEN("show-secrets") ? WSP_REPORT_SHOW_SECRETS : 0,
        last(p, outputs[i])->text, err, sizeof(err));
    /* The first failure is the one reported; the others still write. */
    if (r1 != 0 && rc == 0)
      rc = wsp__plan_fail(p, r1, "%s: %s", ref(p, outputs[i]), err);
  }
  return rc;
}
