/*
 * Small string helpers used across the library.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "util.h"

void wsp_free(void *ptr) { free(ptr); }

int wsp__regular_file(const char *path) {
  struct stat st;
  /* mbedTLS's loaders take ftell() of a directory as its size and try to
   * allocate 2^63 bytes: only regular files go to them. */
  return path != NULL && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int wsp__errorf(char *err, size_t errlen, int rc, const char *fmt, ...) {
  va_list ap;
  if (err != NULL && errlen > 0) {
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return rc;
}

int wsp__vfail(char *err, size_t errlen, int rc, const char *fmt, va_list ap) {
  if (err == NULL || errlen == 0)
    return rc;
  vsnprintf(err, errlen, fmt, ap);
  /* Messages quote what the caller gave, which may hold a line break or
   * a terminal escape: keep them one printable line. */
  for (char *c = err; *c; c++)
    if ((unsigned char)*c < 0x20 || *c == 0x7f)
      *c = '?';
  return rc;
}

int wsp__fail(char *err, size_t errlen, int rc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  wsp__vfail(err, errlen, rc, fmt, ap);
  va_end(ap);
  return rc;
}

int wsp__has_token(const char *v, const char *token) {
  size_t tl = strlen(token);
  while (v != NULL && *v) {
    while (*v == ' ' || *v == '\t' || *v == ',')
      v++;
    const char *e = v;
    while (*e && *e != ',')
      e++;
    const char *t = e;
    while (t > v && (t[-1] == ' ' || t[-1] == '\t'))
      t--;
    if ((size_t)(t - v) == tl && strncasecmp(v, token, tl) == 0)
      return 1;
    v = e;
  }
  return 0;
}

char *wsp__strdup(const char *s) { return s ? strdup(s) : NULL; }

int wsp__grow(uint8_t **buf, size_t *cap, size_t need) {
  size_t c = *cap ? *cap : 1024;
  uint8_t *b;
  if (need <= *cap)
    return 0;
  while (c < need)
    c *= 2;
  if ((b = realloc(*buf, c)) == NULL)
    return -1;
  *buf = b;
  *cap = c;
  return 0;
}

char *wsp__strndup(const char *s, size_t n) {
  char *d = malloc(n + 1);
  if (d == NULL)
    return NULL;
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

int wsp__strcaseeq(const char *a, const char *b) {
  for (; *a && *b; a++, b++) {
    char x = *a, y = *b;
    if (x >= 'A' && x <= 'Z')
      x += 'a' - 'A';
    if (y >= 'A' && y <= 'Z')
      y += 'a' - 'A';
    if (x != y)
      return 0;
  }
  return *a == *b;
}

/* RFC 7230 tchar. */
static int is_tchar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
      (c >= 'A' && c <= 'Z'))
    return 1;
  return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

int wsp__is_token(const char *s) {
  if (s == NULL || *s == '\0')
    return 0;
  for (; *s; s++)
    if (!is_tchar((unsigned char)*s))
      return 0;
  return 1;
}

/* Strict UTF-8 (RFC 3629): no overlongs, surrogates or values > U+10FFFF. */
int wsp__utf8_valid(const uint8_t *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t c = s[i];
    size_t need;
    uint32_t cp;
    if (c < 0x80) {
      i++;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      need = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      need = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      need = 3;
      cp = c & 0x07;
    } else {
      return 0;
    }
    if (n - i - 1 < need)
      return 0;
    for (size_t k = 1; k <= need; k++) {
      if ((s[i + k] & 0xC0) != 0x80)
        return 0;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if ((need == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
      return 0;
    i += need + 1;
  }
  return 1;
}

size_t wsp__utf8_cut(const uint8_t *s, size_t n) {
  size_t i, k, need;
  /* Back up over continuation bytes to the start of the character the
   * cut falls in: it stays only if it ends at the cut. */
  for (i = n, k = 0; i > 0 && k < 3 && (s[i - 1] & 0xC0) == 0x80; i--)
    k++;
  if (i == 0)
    return n;
  need = s[i - 1] >= 0xF5   ? 0
         : s[i - 1] >= 0xF0 ? 3
         : s[i - 1] >= 0xE0 ? 2
         : s[i - 1] >= 0xC2 ? 1
                            : 0;
  if (need == 0 || need == k)
    return n; /* ASCII, not UTF-8, or the character ends at the cut. */
  return k < need ? i - 1 : n;
}

int wsp__strv_push(wsp__strv *sv, const char *s) {
  char *d = strdup(s);
  if (d == NULL)
    return WSP_ENOMEM;
  char **v = realloc(sv->v, (sv->n + 1) * sizeof(*v));
  if (v == NULL) {
    free(d);
    return WSP_ENOMEM;
  }
  v[sv->n++] = d;
  sv->v = v;
  return 0;
}

void wsp__strv_clear(wsp__strv *sv) {
  for (size_t i = 0; i < sv->n; i++)
    free(sv->v[i]);
  free(sv->v);
  sv->v = NULL;
  sv->n = 0;
}

int wsp__strv_copy(wsp__strv *dst, const wsp__strv *src) {
  dst->v = NULL;
  dst->n = 0;
  for (size_t i = 0; i < src->n; i++) {
    if (wsp__strv_push(dst, src->v[i]) != 0) {
      wsp__strv_clear(dst);
      return WSP_ENOMEM;
    }
  }
  return 0;
}

int wsp__parse_u64(const char *s, size_t len, uint64_t *out) {
  uint64_t v = 0;
  if (len == 0 || len > 20)
    return len == 0 ? WSP_EINVAL : WSP_ERANGE;
  for (size_t i = 0; i < len; i++) {
    unsigned d = (unsigned char)s[i] - '0';
    if (d > 9)
      return WSP_EINVAL;
    if (v > (UINT64_MAX - d) / 10)
      return WSP_ERANGE;
    v = v * 10 + d;
  }
  *out = v;
  return 0;
}
