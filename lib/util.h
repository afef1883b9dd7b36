/*
 * Small helpers every module may use: strings, UTF-8, growable string
 * arrays, one-line error formatting. Nothing here knows about sockets,
 * TLS, HTTP or frames.
 */
#ifndef WSP_UTIL_H
#define WSP_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "wsprobe.h"

#define WSP__ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A growable array of owned strings. */
typedef struct wsp__strv {
  char **v; /* The strings. */
  size_t n; /* How many are in use. */
} wsp__strv;

int wsp__strv_push(wsp__strv *sv, const char *s);
void wsp__strv_clear(wsp__strv *sv);
int wsp__strv_copy(wsp__strv *dst, const wsp__strv *src);

/* Whether `path` names a regular file (not a directory, device, ...). */
int wsp__regular_file(const char *path);
/* Formats a one-line reason into err (may be NULL) and returns rc. */
int wsp__errorf(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/*
 * Formats a one-line, printable description of an error into an object's
 * error buffer (err may be NULL) and returns rc: the one error-detail
 * channel of configs, campaigns, contexts and plans.
 */
int wsp__vfail(char *err, size_t errlen, int rc, const char *fmt, va_list ap);
int wsp__fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Whether the comma-separated HTTP list `v` holds `token` (any case). */
int wsp__has_token(const char *v, const char *token);
/*
 * A decimal number of `len` bytes (digits only: no sign, space or base):
 * 0, WSP_EINVAL for anything else, WSP_ERANGE above 2^64-1.
 */
int wsp__parse_u64(const char *s, size_t len, uint64_t *out);

char *wsp__strdup(const char *s);
char *wsp__strndup(const char *s, size_t n);
/* Grows a byte buffer (*buf, allocated *cap) to hold at least `need`
 * bytes, doubling from 1 KiB; the bytes it held stay. 0, or -1 with the
 * buffer as it was. */
int wsp__grow(uint8_t **buf, size_t *cap, size_t need);
int wsp__strcaseeq(const char *a, const char *b);
int wsp__is_token(const char *s);
/* Strict UTF-8 (RFC 3629). */
int wsp__utf8_valid(const uint8_t *s, size_t n);
/*
 * How many of the first n bytes of a longer text to keep so that the cut
 * does not fall inside a UTF-8 sequence: n, or less by the bytes of a
 * character the cut would split. Bytes that are not UTF-8 count as
 * characters of one byte.
 */
size_t wsp__utf8_cut(const uint8_t *s, size_t n);

#endif
