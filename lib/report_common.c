/*
 * Shared by the report writers: the output buffer, escaping of untrusted
 * text, secret scrubbing, tallies.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_common.h"

/* Above this much text, a buffer with a sink hands it on. */
#define SINK_AT (64 * 1024)

void wsp__out_flush(wsp__out *o) {
  if (o->sink == NULL || o->failed || o->len == 0)
    return;
  if (o->sink(o->p, o->len, o->sink_ud) != 0)
    o->failed = WSP_EIO;
  o->len = 0;
  o->p[0] = '\0';
}

static int out_reserve(wsp__out *o, size_t extra) {
  size_t cap;
  char *p;
  if (o->failed)
    return -1;
  if (o->len + extra + 1 <= o->cap)
    return 0;
  if (o->sink != NULL && o->len > 0 && o->len + extra > SINK_AT) {
    wsp__out_flush(o);
    if (o->failed)
      return -1;
    if (extra + 1 <= o->cap)
      return 0;
  }
  cap = o->cap ? o->cap : 4096;
  while (cap < o->len + extra + 1)
    cap *= 2;
  if ((p = realloc(o->p, cap)) == NULL) {
    o->failed = WSP_ENOMEM;
    return -1;
  }
  o->p = p;
  o->cap = cap;
  return 0;
}

void wsp__out_put_slow(wsp__out *o, const char *s, size_t n) {
  if (out_reserve(o, n) != 0)
    return;
  memcpy(o->p + o->len, s, n);
  o->len += n;
  o->p[o->len] = '\0';
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
    o->failed = WSP_ENOMEM;
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
  int rc;
  if (!o->failed && o->p == NULL)
    wsp__out_put(o, "", 0);
  if (o->failed) {
    rc = o->failed;
    free(o->p);
    o->p = NULL;
    return rc;
  }
  *out = o->p;
  o->p = NULL;
  return 0;
}

int wsp__out_close(wsp__out *o) {
  wsp__out_flush(o);
  free(o->p);
  o->p = NULL;
  o->len = o->cap = 0;
  return o->failed;
}

void wsp__secrets_add(wsp__secrets *sec, const char *s, size_t len) {
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
    wsp__secrets_add(sec, cfg->jwt, strlen(cfg->jwt));
  if (cfg->jwt_spec.enabled && cfg->jwt_spec.key != NULL)
    wsp__secrets_add(sec, (const char *)cfg->jwt_spec.key,
                     cfg->jwt_spec.key_len);
  for (size_t i = 0; i < cfg->nheaders; i++)
    if (cfg->headers[i].secret && cfg->headers[i].value != NULL) {
      const char *v = cfg->headers[i].value;
      /* "Bearer <token>": the token alone is the secret too. */
      const char *sp = strrchr(v, ' ');
      wsp__secrets_add(sec, v, strlen(v));
      if (sp != NULL)
        wsp__secrets_add(sec, sp + 1, strlen(sp + 1));
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

int wsp__secrets_scrub(const wsp__secrets *sec, const char *s, size_t n,
                       char **out, size_t *outlen) {
  static const char mark[] = "<redacted>";
  size_t i = 0, len = 0, found = 0;
  char *p;
  *out = NULL;
  if (sec == NULL || sec->n == 0 || s == NULL)
    return 0;
  /* One pass to size the copy, one to fill it: most texts hold none. */
  for (i = 0; i < n; i++) {
    size_t k = secret_at(sec, s + i, n - i);
    if (k > 0) {
      found = 1;
      len += sizeof(mark) - 1;
      i += k - 1;
    } else {
      len++;
    }
  }
  if (!found)
    return 0;
  if ((p = malloc(len + 1)) == NULL)
    return WSP_ENOMEM;
  len = 0;
  for (i = 0; i < n; i++) {
    size_t k = secret_at(sec, s + i, n - i);
    if (k > 0) {
      memcpy(p + len, mark, sizeof(mark) - 1);
      len += sizeof(mark) - 1;
      i += k - 1;
    } else {
      p[len++] = s[i];
    }
  }
  p[len] = '\0';
  *out = p;
  *outlen = len;
  return 1;
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
void wsp__tally_sort(wsp__tally *t) {
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

void wsp__tally_merge(wsp__tally *dst, const wsp__tally *src) {
  for (size_t i = 0; i < src->len; i++) {
    size_t k = 0;
    while (k < dst->len && dst->key[k] != src->key[i])
      k++;
    if (k < dst->len) {
      dst->n[k] += src->n[i];
    } else if (dst->len < WSP__ARRAY_SIZE(dst->key)) {
      dst->key[dst->len] = src->key[i];
      dst->n[dst->len++] = src->n[i];
    } else {
      dst->other += src->n[i];
    }
  }
  dst->other += src->other;
  wsp__tally_sort(dst);
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

wsp_phase wsp__phase_in_order(int i) {
  for (int p = 0; p < WSP_PHASE_COUNT; p++)
    if (wsp_phase_rank((wsp_phase)p) == i)
      return (wsp_phase)p;
  return WSP_PHASE_COUNT;
}

wsp_span wsp__span_in_order(int i) {
  if (i <= WSP_SPAN_CONNECT)
    return (wsp_span)i;
  if (i == WSP_SPAN_CONNECT + 1)
    return WSP_SPAN_PROXY;
  return (wsp_span)(i - 1);
}
