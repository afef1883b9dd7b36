/*
 * Shared by the JUnit and HTML writers: the output buffer, escaping of
 * untrusted text, secret scrubbing, tallies and measured points.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_common.h"

static int out_reserve(wsp__out *o, size_t extra) {
  size_t cap;
  char *p;
  if (o->failed)
    return -1;
  if (o->len + extra + 1 <= o->cap)
    return 0;
  cap = o->cap ? o->cap : 4096;
  while (cap < o->len + extra + 1)
    cap *= 2;
  if ((p = realloc(o->p, cap)) == NULL) {
    o->failed = 1;
    return -1;
  }
  o->p = p;
  o->cap = cap;
  return 0;
}

void wsp__out_put(wsp__out *o, const char *s, size_t n) {
  if (out_reserve(o, n) != 0)
    return;
  memcpy(o->p + o->len, s, n);
  o->len += n;
  o->p[o->len] = '\0';
}

void wsp__out_puts(wsp__out *o, const char *s) {
  wsp__out_put(o, s, strlen(s));
}

void wsp__out_printf(wsp__out *o, const char *fmt, ...) {
  va_list ap;
  int n;
  if (o->failed)
    return;
  va_start(ap, fmt);
  n = vsnprintf(o->p ? o->p + o->len : NULL, o->p ? o->cap - o->len : 0, fmt,
                ap);
  va_end(ap);
  if (n < 0) {
    o->failed = 1;
    return;
  }
  if (o->p != NULL && (size_t)n < o->cap - o->len) {
    o->len += (size_t)n;
    return;
  }
  if (out_reserve(o, (size_t)n) != 0)
    return;
  va_start(ap, fmt);
  vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
  va_end(ap);
  o->len += (size_t)n;
}

int wsp__out_finish(wsp__out *o, char **out) {
  if (!o->failed && o->p == NULL)
    wsp__out_put(o, "", 0);
  if (o->failed) {
    free(o->p);
    o->p = NULL;
    return WSP_ENOMEM;
  }
  *out = o->p;
  o->p = NULL;
  return 0;
}

static void secret_add(wsp__secrets *sec, const char *s, size_t len) {
  /* Shorter strings would match innocent text; they are not kept secret
   * by length anyway. */
  if (s == NULL || len < 4 || sec->n == WSP__ARRAY_SIZE(sec->s))
    return;
  sec->s[sec->n] = s;
  sec->len[sec->n++] = len;
}

void wsp__secrets_init(wsp__secrets *sec, const wsp_config *cfg) {
  memset(sec, 0, sizeof(*sec));
  if (cfg == NULL)
    return;
  if (cfg->jwt != NULL)
    secret_add(sec, cfg->jwt, strlen(cfg->jwt));
  if (cfg->jwt_spec.enabled && cfg->jwt_spec.key != NULL)
    secret_add(sec, (const char *)cfg->jwt_spec.key, cfg->jwt_spec.key_len);
  for (size_t i = 0; i < cfg->nheaders; i++)
    if (cfg->headers[i].secret && cfg->headers[i].value != NULL) {
      const char *v = cfg->headers[i].value;
      /* "Bearer <token>": the token alone is the secret too. */
      const char *sp = strrchr(v, ' ');
      secret_add(sec, v, strlen(v));
      if (sp != NULL)
        secret_add(sec, sp + 1, strlen(sp + 1));
    }
}

/* Length of the secret starting at s[0..n), or 0. */
static size_t secret_at(const wsp__secrets *sec, const char *s, size_t n) {
  if (sec == NULL)
    return 0;
  for (size_t i = 0; i < sec->n; i++)
    if (sec->len[i] <= n && sec->s[i][0] == s[0] &&
        memcmp(sec->s[i], s, sec->len[i]) == 0)
      return sec->len[i];
  return 0;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0; *cp its value. */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp) {
  size_t len;
  uint32_t v;
  if (s[0] < 0x80) {
    *cp = s[0];
    return 1;
  }
  if (s[0] >= 0xc2 && s[0] <= 0xdf) {
    len = 2;
    v = s[0] & 0x1f;
  } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
    len = 3;
    v = s[0] & 0x0f;
  } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
    len = 4;
    v = s[0] & 0x07;
  } else {
    return 0;
  }
  if (len > n)
    return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    v = (v << 6) | (s[i] & 0x3f);
  }
  /* Overlong forms, surrogates and values beyond U+10FFFF. */
  if ((len == 3 && v < 0x800) || (len == 4 && (v < 0x10000 || v > 0x10ffff)) ||
      (v >= 0xd800 && v <= 0xdfff))
    return 0;
  *cp = v;
  return len;
}

void wsp__out_escape(wsp__out *o, const wsp__secrets *sec, const char *s,
                     size_t n, wsp__esc_mode mode) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0, run = 0; /* run: bytes at i - run.. to copy as they are. */
  if (s == NULL)
    return;
  while (i < n) {
    size_t skip = secret_at(sec, s + i, n - i), len;
    const char *rep = NULL;
    uint32_t cp = 0;
    if (skip > 0) {
      rep = "&lt;redacted&gt;";
    } else if ((len = utf8_seq(u + i, n - i, &cp)) == 0) {
      rep = "\xef\xbf\xbd"; /* U+FFFD */
      skip = 1;
    } else {
      skip = len;
      switch (cp) {
      case '&':
        rep = "&amp;";
        break;
      case '<':
        rep = "&lt;";
        break;
      case '>':
        rep = "&gt;";
        break;
      case '"':
        rep = "&quot;";
        break;
      case '\'':
        rep = "&#39;";
        break;
      case '\t':
      case '\n':
        if (mode == WSP__ESC_ATTR)
          rep = " ";
        break;
      case '\r':
        rep = mode == WSP__ESC_ATTR ? " " : "";
        break;
      default:
        if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0xfffe ||
            cp == 0xffff)
          rep = "";
      }
    }
    if (rep == NULL) {
      run += skip;
      i += skip;
      continue;
    }
    if (run > 0)
      wsp__out_put(o, s + i - run, run);
    run = 0;
    wsp__out_puts(o, rep);
    i += skip;
  }
  if (run > 0)
    wsp__out_put(o, s + i - run, run);
}

void wsp__out_escs(wsp__out *o, const wsp__secrets *sec, const char *s,
                   wsp__esc_mode mode) {
  if (s != NULL)
    wsp__out_escape(o, sec, s, strlen(s), mode);
}

void wsp__out_escf(wsp__out *o, const wsp__secrets *sec, wsp__esc_mode mode,
                   const char *fmt, ...) {
  char buf[4096];
  va_list ap;
  int n;
  va_start(ap, fmt);
  n = vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  wsp__out_escape(o, sec, buf,
                  (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1, mode);
}

void wsp__tally_add(wsp__tally *t, int key) {
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

/* Insertion sort by key: at most 64 keys. */
static void tally_sort(wsp__tally *t) {
  for (size_t i = 1; i < t->len; i++) {
    int k = t->key[i];
    uint64_t n = t->n[i];
    size_t j = i;
    for (; j > 0 && t->key[j - 1] > k; j--) {
      t->key[j] = t->key[j - 1];
      t->n[j] = t->n[j - 1];
    }
    t->key[j] = k;
    t->n[j] = n;
  }
}

void wsp__summarize(const wsp_campaign *c, wsp__summary *s) {
  memset(s, 0, sizeof(*s));
  for (size_t i = 0; i < c->nresults; i++) {
    const wsp_result *r = c->results[i];
    s->outcomes[r->outcome]++;
    s->phases[r->outcome][r->phase]++;
    if (r->close_recv.code >= 0)
      wsp__tally_add(&s->close_recv, r->close_recv.code);
    if (r->close_sent.code >= 0)
      wsp__tally_add(&s->close_sent, r->close_sent.code);
    if (r->http_status)
      wsp__tally_add(&s->http, r->http_status);
    if (r->tls_version != NULL && r->tls_resumed)
      s->tls_resumed++;
    else if (r->tls_version != NULL)
      s->tls_full++;
  }
  tally_sort(&s->close_recv);
  tally_sort(&s->close_sent);
  tally_sort(&s->http);
}

/* The size of point k of a window search or concurrency sweep. */
static uint32_t point_size(const wsp_campaign *c, size_t k) {
  return c->mode == WSP__MODE_WINDOW ? c->evidence[k].trials
                                     : c->levels[k].level;
}

static size_t npoints(const wsp_campaign *c) {
  switch (c->mode) {
  case WSP__MODE_SWEEP:
    return c->per_delay ? c->ndelays : 0;
  case WSP__MODE_WINDOW:
    return c->nevidence;
  case WSP__MODE_CONCURRENCY:
    return c->nlevels;
  default:
    return 0;
  }
}

size_t wsp__point_of(const wsp_campaign *c, const wsp_result *r) {
  size_t n = npoints(c);
  uint64_t from = 0;
  if (c->mode == WSP__MODE_SWEEP)
    return n && r->index / c->per_delay < n ? r->index / c->per_delay
                                            : (size_t)-1;
  /* Adaptive modes number their probes in the order they ran, one point
   * after the other. */
  for (size_t k = 0; k < n; k++) {
    uint64_t to = from + point_size(c, k);
    if (r->index >= from && r->index < to)
      return k;
    from = to;
  }
  return (size_t)-1;
}

wsp__point *wsp__points(const wsp_campaign *c, size_t *n) {
  wsp__point *p;
  *n = npoints(c);
  if (*n == 0)
    return NULL;
  if ((p = calloc(*n, sizeof(*p))) == NULL) {
    *n = 0;
    return NULL;
  }
  for (size_t k = 0; k < *n; k++)
    p[k].value = c->mode == WSP__MODE_SWEEP    ? c->delays[k]
                 : c->mode == WSP__MODE_WINDOW ? c->evidence[k].delay_ms
                                               : c->levels[k].level;
  for (size_t i = 0; i < c->nresults; i++) {
    const wsp_result *r = c->results[i];
    size_t k = wsp__point_of(c, r);
    uint64_t end = r->t0 + wsp__end_ns(r);
    if (k >= *n)
      continue;
    if (p[k].total == 0 || r->t0 < p[k].first_ns)
      p[k].first_ns = r->t0;
    if (end > p[k].last_ns)
      p[k].last_ns = end;
    p[k].total++;
    p[k].failed += r->outcome != WSP_OUTCOME_OK;
    p[k].outcomes[r->outcome]++;
  }
  return p;
}

uint64_t wsp__start_ns(const wsp_campaign *c, const wsp_result *r) {
  return r->t0 > c->t_start ? r->t0 - c->t_start : 0;
}

uint64_t wsp__end_ns(const wsp_result *r) {
  int64_t end = r->marks[WSP_MARK_CLOSED];
  if (end < 0)
    for (int m = 0; m < WSP_MARK_COUNT; m++)
      if (r->marks[m] > end)
        end = r->marks[m];
  return end > 0 ? (uint64_t)end : 0;
}

const char *wsp__mode_name(wsp__mode m) {
  static const char *const names[] = {"plain", "sweep", "window",
                                      "concurrency"};
  return (unsigned)m < WSP__ARRAY_SIZE(names) ? names[m] : "plain";
}

const char *wsp__window_conclusion(const wsp_campaign *c) {
  if (c->nevidence == 0)
    return "not_run";
  if (c->evidence[0].failures > 0)
    return "above_range";
  if (c->nevidence > 1 && c->evidence[1].failures == 0)
    return "below_range";
  return "bounded";
}
