/*
 * The JSON report (docs/report.md), written directly from the report model
 * and the results: no cJSON tree is built, so that a probe costs about a
 * microsecond where a tree of its object cost about ten. The bytes are
 * those cJSON prints for the same values (the head formatted with tabs,
 * each probe on one line, unformatted): readers of older reports see no
 * difference, and tests/test_reports.c compares the two writers byte for
 * byte.
 *
 * Numbers follow cJSON 1.7's print_number(): an integer within int's range
 * as "%d", anything else as "%1.15g" unless that does not read back as the
 * same double (within its epsilon), then "%1.17g". Most numbers of a report
 * are nanoseconds shown as milliseconds (ns / 1e6); for those the result is
 * known without printf (see put_ms()), which is most of the speed.
 */
#include <float.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_model.h"

static void put(wsp__out *o, const char *s, size_t n) { wsp__out_put(o, s, n); }

/* Whole probe lines gathered before they go to the sink: half of what
 * the buffer holds before it hands on text by itself (mid-line). */
#define PROBES_AT (32 * 1024)

/* A string literal (never an expression: sizeof must see the array). */
#define PUTS(o, lit) put((o), "" lit, sizeof(lit) - 1)

/* "00" to "99", for writing digits two at a time. */
static const char two_digits[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233"
    "34353637383940414243444546474849505152535455565758596061626364656667"
    "6869707172737475767778798081828384858687888990919293949596979899";

/* Writes v's decimal digits. */
static void put_u64(wsp__out *o, uint64_t v) {
  char buf[24], *p = buf + sizeof(buf);
  do {
    *--p = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  put(o, p, (size_t)(buf + sizeof(buf) - p));
}

/* Any double, exactly as cJSON prints it. */
static void put_double(wsp__out *o, double d) {
  char buf[32];
  char point = localeconv()->decimal_point[0];
  int n, vi;
  double back;
  if (isnan(d) || isinf(d)) {
    PUTS(o, "null");
    return;
  }
  /* cJSON keeps the value saturated to int beside the double. */
  vi = d >= INT_MAX ? INT_MAX : d <= (double)INT_MIN ? INT_MIN : (int)d;
  if (d == (double)vi) {
    n = snprintf(buf, sizeof(buf), "%d", vi);
  } else {
    n = snprintf(buf, sizeof(buf), "%1.15g", d);
    back = strtod(buf, NULL);
    if (!(fabs(back - d) <= fmax(fabs(back), fabs(d)) * DBL_EPSILON))
      n = snprintf(buf, sizeof(buf), "%1.17g", d);
  }
  if (n < 0 || (size_t)n >= sizeof(buf))
    return;
  for (int i = 0; i < n; i++)
    if (buf[i] == point)
      buf[i] = '.';
  put(o, buf, (size_t)n);
}

/* An unsigned integer: digits while "%d" or "%1.15g" would print all of
 * them (below 10^15), as cJSON prints its double beyond. */
static void put_uint(wsp__out *o, uint64_t v) {
  if (v < 1000000000000000ull)
    put_u64(o, v);
  else
    put_double(o, (double)v);
}

/*
 * ns / 1e6, as cJSON prints that double. For 0 <= ns < 10^15 the decimal
 * ns * 10^-6 has at most 15 significant digits, and the double nearest to
 * it is within 2^-53 of it relatively: far less than half a unit of the
 * 15th digit, so "%1.15g" prints exactly that decimal (trailing zeros cut),
 * and it reads back as the same double. It is in exponent form below
 * 10^-4 ms ("5e-05"); an integral result is what "%d" prints.
 */
static void put_ms(wsp__out *o, uint64_t ns) {
  char buf[32], *p = buf + sizeof(buf), *end = p;
  uint64_t ip, fp;
  if (ns >= 1000000000000000ull) {
    put_double(o, (double)ns / 1e6);
    return;
  }
  if (ns > 0 && ns < 100) {
    /* d[.d]e-0X */
    int exp = ns < 10 ? 6 : 5;
    size_t n = 0;
    buf[n++] = (char)('0' + (ns < 10 ? ns : ns / 10));
    if (ns >= 10 && ns % 10) {
      buf[n++] = '.';
      buf[n++] = (char)('0' + ns % 10);
    }
    memcpy(buf + n, "e-0", 3);
    n += 3;
    buf[n++] = (char)('0' + exp);
    put(o, buf, n);
    return;
  }
  ip = ns / 1000000;
  fp = ns % 1000000;
  if (fp != 0) {
    /* Six digits two at a time, then the trailing zeros cut as text:
     * cheaper than dividing them off first. */
    p -= 6;
    memcpy(p, two_digits + 2 * (fp / 10000), 2);
    memcpy(p + 2, two_digits + 2 * (fp / 100 % 100), 2);
    memcpy(p + 4, two_digits + 2 * (fp % 100), 2);
    end = p + 6;
    while (end[-1] == '0')
      end--;
    *--p = '.';
  }
  do {
    *--p = (char)('0' + ip % 10);
    ip /= 10;
  } while (ip);
  put(o, p, (size_t)(end - p));
}

/* Milliseconds from signed nanoseconds; null below 0. */
static void put_ms_or_null(wsp__out *o, int64_t ns) {
  if (ns < 0)
    PUTS(o, "null");
  else
    put_ms(o, (uint64_t)ns);
}

/*
 * n bytes as a string, as cJSON prints a string: quotes, backslashes and
 * the named controls escaped, other bytes below 0x20 as \u00xx, every
 * other byte (invalid UTF-8 included) as it is. A NUL is \u0000 like any
 * other control character, where cJSON's own strings end at the first
 * one: the bytes a server sent (a close reason, a body) are all kept.
 */
static void put_bytes(wsp__out *o, const uint8_t *s, size_t n) {
  const uint8_t *u = s, *end = s + n, *run = s;
  PUTS(o, "\"");
  for (; u < end; u++) {
    char esc[8];
    size_t k = 2;
    if (*u > 31 && *u != '"' && *u != '\\')
      continue;
    put(o, (const char *)run, (size_t)(u - run));
    run = u + 1;
    esc[0] = '\\';
    switch (*u) {
    case '"':
      esc[1] = '"';
      break;
    case '\\':
      esc[1] = '\\';
      break;
    case '\b':
      esc[1] = 'b';
      break;
    case '\f':
      esc[1] = 'f';
      break;
    case '\n':
      esc[1] = 'n';
      break;
    case '\r':
      esc[1] = 'r';
      break;
    case '\t':
      esc[1] = 't';
      break;
    default:
      k = (size_t)snprintf(esc + 1, sizeof(esc) - 1, "u%04x", *u) + 1;
    }
    put(o, esc, k);
  }
  put(o, (const char *)run, (size_t)(u - run));
  PUTS(o, "\"");
}

/* A NUL-terminated string, or null. */
static void put_str(wsp__out *o, const char *s) {
  if (s == NULL)
    PUTS(o, "null");
  else
    put_bytes(o, (const uint8_t *)s, strlen(s));
}

/*
 * Bytes a server sent, every secret of `sec` (NULL: none) redacted, as a
 * string when they are UTF-8, else null beside their hex under `hex_key`
 * (JSON must be UTF-8).
 */
static void put_said_bytes(wsp__out *o, const wsp__secrets *sec,
                           const uint8_t *s, size_t n, const char *hex_key) {
  static const char hex[] = "0123456789abcdef";
  char *copy = NULL;
  size_t len;
  int rc = wsp__secrets_scrub(sec, (const char *)s, n, &copy, &len);
  if (rc < 0) {
    o->failed = WSP_ENOMEM;
    return;
  }
  if (rc == 1) {
    s = (const uint8_t *)copy;
    n = len;
  }
  if (wsp__utf8_valid(s, n)) {
    put_bytes(o, s, n);
  } else {
    PUTS(o, "null,\"");
    wsp__out_puts(o, hex_key);
    PUTS(o, "\":\"");
    for (size_t i = 0; i < n; i++) {
      char h[2] = {hex[s[i] >> 4], hex[s[i] & 15]};
      put(o, h, 2);
    }
    PUTS(o, "\"");
  }
  free(copy);
}

/* A NUL-terminated string a server sent (or quoted), every secret of
 * `sec` (NULL: none) redacted. */
static void put_said(wsp__out *o, const wsp__secrets *sec, const char *s) {
  char *copy;
  size_t len;
  int rc;
  if (sec == NULL || sec->n == 0 || s == NULL) {
    put_str(o, s);
    return;
  }
  if ((rc = wsp__secrets_scrub(sec, s, strlen(s), &copy, &len)) < 0) {
    o->failed = WSP_ENOMEM;
    return;
  }
  put_str(o, rc == 1 ? copy : s);
  free(copy);
}

static void put_bool(wsp__out *o, int b) {
  if (b)
    PUTS(o, "true");
  else
    PUTS(o, "false");
}

/* ---- one probe, on one line ---- */

static void close_json(wsp__out *o, const wsp__secrets *sec,
                       const wsp__close *c) {
  if (c->code < 0) {
    PUTS(o, "null");
    return;
  }
  PUTS(o, "{\"code\":");
  put_u64(o, (uint64_t)c->code);
  /* A reason need not be valid UTF-8 on the wire; JSON must be. */
  PUTS(o, ",\"reason\":");
  put_said_bytes(o, sec, (const uint8_t *)c->reason, c->reason_len,
                 "reason_hex");
  PUTS(o, "}");
}

void wsp__probe_json(wsp__out *o, const wsp_result *r, const wsp__secrets *sec,
                     int show_secrets, int campaign_fields, uint64_t start_ns) {
  /* What the server sent may echo a secret (a token in a close reason, a
   * header in a rejection's body): redacted unless secrets are shown. */
  if (show_secrets)
    sec = NULL;
  PUTS(o, "{\"index\":");
  put_u64(o, r->index);
  PUTS(o, ",\"outcome\":\"");
  wsp__out_puts(o, wsp_outcome_name(r->outcome));
  PUTS(o, "\",\"phase\":\"");
  wsp__out_puts(o, wsp_phase_name(r->phase));
  PUTS(o, "\",\"passed\":");
  put_bool(o, r->outcome == WSP_OUTCOME_OK);
  PUTS(o, ",\"http_status\":");
  if (r->http_status > 0)
    put_u64(o, (uint64_t)r->http_status);
  else if (r->http_status < 0)
    put_double(o, r->http_status);
  else
    PUTS(o, "null");
  PUTS(o, ",\"http_reason\":");
  put_said(o, sec, r->http_reason);
  PUTS(o, ",\"http_headers\":{\"retry-after\":");
  put_said(o, sec, r->retry_after);
  PUTS(o, ",\"content-type\":");
  put_said(o, sec, r->content_type);
  PUTS(o, "},\"http_body\":");
  if (r->body_len > 0)
    put_said_bytes(o, sec, r->body, r->body_len, "http_body_hex");
  else
    PUTS(o, "null");
  PUTS(o, ",\"subprotocol\":");
  put_str(o, r->redact_subprotocol
                 ? wsp__redact_subprotocol(r->subprotocol, show_secrets)
                 : r->subprotocol);
  /* Only what was agreed: a run without --compress has no such member. */
  if (r->extensions != NULL) {
    PUTS(o, ",\"extensions\":");
    put_str(o, r->extensions);
  }
  PUTS(o, ",\"peer\":");
  put_str(o, wsp_result_peer(r));
  if (r->nrec > 0) {
    PUTS(o, ",\"recorded_headers\":{");
    for (size_t i = 0; i < r->nrec; i++) {
      if (i > 0)
        PUTS(o, ",");
      put_str(o, r->rec[2 * i]);
      PUTS(o, ":");
      put_said(o, sec, r->rec[2 * i + 1]);
    }
    PUTS(o, "}");
  }
  PUTS(o, ",\"tls\":");
  if (r->tls_version != NULL) {
    PUTS(o, "{\"version\":");
    put_str(o, r->tls_version);
    PUTS(o, ",\"cipher\":");
    put_str(o, r->tls_cipher);
    PUTS(o, ",\"alpn\":");
    put_str(o, r->tls_alpn);
    PUTS(o, ",\"verified\":");
    put_bool(o, r->tls_verified);
    PUTS(o, ",\"close_notify\":");
    put_bool(o, r->tls_close_notify);
    PUTS(o, ",\"resumed\":");
    put_bool(o, r->tls_resumed);
    PUTS(o, ",\"group\":");
    put_str(o, r->tls_group);
    PUTS(o, "}");
  } else {
    PUTS(o, "null");
  }
  PUTS(o, ",\"proxy\":");
  if (r->proxy_status > 0) {
    PUTS(o, "{\"status\":");
    put_u64(o, (uint64_t)r->proxy_status);
    PUTS(o, "}");
  } else {
    PUTS(o, "null");
  }
  PUTS(o, ",\"close\":{\"received\":");
  close_json(o, sec, &r->close_recv);
  PUTS(o, ",\"sent\":");
  close_json(o, sec, &r->close_sent);
  PUTS(o, "},\"timings_ms\":{");
  for (int s = 0; s < WSP_SPAN_COUNT; s++) {
    if (s)
      PUTS(o, ",");
    PUTS(o, "\"");
    wsp__out_puts(o, wsp_span_name((wsp_span)s));
    PUTS(o, "\":");
    put_ms_or_null(o, wsp_result_span(r, (wsp_span)s));
  }
  PUTS(o, "},\"timeline_ms\":{");
  for (int m = 0; m < WSP_MARK_COUNT; m++) {
    if (m)
      PUTS(o, ",");
    PUTS(o, "\"");
    wsp__out_puts(o, wsp_mark_name((wsp_mark)m));
    PUTS(o, "\":");
    put_ms_or_null(o, r->marks[m]);
  }
  PUTS(o, "},\"messages\":");
  put_u64(o, r->messages);
  PUTS(o, ",\"events\":[");
  for (size_t i = 0; i < r->nevents; i++) {
    if (i)
      PUTS(o, ",");
    PUTS(o, "{\"type\":");
    put_said(o, sec, r->events[i].type);
    PUTS(o, ",\"t_ms\":");
    if (r->events[i].t_ns >= 0)
      put_ms(o, (uint64_t)r->events[i].t_ns);
    else
      put_double(o, (double)r->events[i].t_ns / 1e6);
    PUTS(o, "}");
  }
  PUTS(o, "],\"error\":");
  put_said(o, sec, r->error);
  PUTS(o, ",\"delay_ms\":");
  put_u64(o, r->delay_ms);
  PUTS(o, ",\"delay_achieved_ms\":");
  put_ms_or_null(o, wsp__result_delay_achieved(r));
  if (r->step >= 0) {
    PUTS(o, ",\"step\":");
    put_u64(o, (uint64_t)r->step);
  }
  if (!campaign_fields) {
    PUTS(o, "}");
    return;
  }
  PUTS(o, ",\"start_ms\":");
  put_ms(o, start_ns);
  PUTS(o, ",\"loop_lag_ms\":");
  put_ms_or_null(o, r->lag_ns);
  PUTS(o, ",\"lag_flagged\":");
  put_bool(o, r->lag_ns > 0);
  PUTS(o, ",\"discarded\":");
  put_bool(o, r->discarded);
  PUTS(o, "}");
}

int wsp_result_to_json(const wsp_result *r, char **out) {
  wsp__out o = {0};
  if (r == NULL || out == NULL)
    return WSP_EINVAL;
  wsp__probe_json(&o, r, NULL, 0, 0, 0);
  return wsp__out_finish(&o, out);
}

/* ---- the head, formatted as cJSON_Print() formats it ---- */

/*
 * Objects and arrays as cJSON formats them: "{" and a line break, each
 * member on its own line indented by its depth in tabs, "key":<tab>value,
 * the closing brace indented one less; arrays on one line, ", " between
 * elements. Arrays count as a level of depth too.
 */
typedef struct fmt {
  wsp__out *o;  /* Where it goes. */
  int depth;    /* Levels open. */
  size_t n[16]; /* Members written so far at each level. */
} fmt;

static void tabs(wsp__out *o, int n) {
  static const char t[] = "\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t";
  put(o, t, (size_t)n < sizeof(t) - 1 ? (size_t)n : sizeof(t) - 1);
}

static void f_open(fmt *f, int object) {
  put(f->o, object ? "{\n" : "[", object ? 2 : 1);
  f->n[++f->depth] = 0;
}

static void f_close(fmt *f, int object) {
  if (object) {
    if (f->n[f->depth])
      PUTS(f->o, "\n");
    tabs(f->o, f->depth - 1);
    PUTS(f->o, "}");
  } else {
    PUTS(f->o, "]");
  }
  f->depth--;
}

/* Starts a member of the open object. */
static void f_key(fmt *f, const char *k) {
  if (f->n[f->depth]++)
    PUTS(f->o, ",\n");
  tabs(f->o, f->depth);
  PUTS(f->o, "\"");
  wsp__out_puts(f->o, k);
  PUTS(f->o, "\":\t");
}

/* Starts an element of the open array. */
static void f_elem(fmt *f) {
  if (f->n[f->depth]++)
    PUTS(f->o, ", ");
}

static void k_num(fmt *f, const char *k, double v) {
  f_key(f, k);
  put_double(f->o, v);
}

static void k_uint(fmt *f, const char *k, uint64_t v) {
  f_key(f, k);
  put_uint(f->o, v);
}

static void k_ms(fmt *f, const char *k, uint64_t ns) {
  f_key(f, k);
  put_ms(f->o, ns);
}

/* Nanoseconds as milliseconds, or null when negative (none). */
static void k_ms_or_null(fmt *f, const char *k, int64_t ns) {
  f_key(f, k);
  put_ms_or_null(f->o, ns);
}

static void k_null(fmt *f, const char *k) {
  f_key(f, k);
  PUTS(f->o, "null");
}

static void k_str(fmt *f, const char *k, const char *v) {
  f_key(f, k);
  put_str(f->o, v);
}

static void k_bool(fmt *f, const char *k, int v) {
  f_key(f, k);
  put_bool(f->o, v);
}

/* {count, min, p50, p90, p99, p999, max} in ms (nulls when empty), and
 * the histogram itself so that reports from several machines merge
 * exactly. */
static const double quantiles[] = {0.5, 0.9, 0.99, 0.999};
static const char *const quantile_names[] = {"p50", "p90", "p99", "p999"};

static void k_hist(fmt *f, const char *k, const wsp__hist *h) {
  f_key(f, k);
  f_open(f, 1);
  k_uint(f, "count", h->count);
  if (h->count == 0) {
    k_null(f, "min");
    for (size_t q = 0; q < WSP__ARRAY_SIZE(quantiles); q++)
      k_null(f, quantile_names[q]);
    k_null(f, "max");
    f_close(f, 1);
    return;
  }
  k_ms(f, "min", h->min);
  for (size_t q = 0; q < WSP__ARRAY_SIZE(quantiles); q++)
    k_ms(f, quantile_names[q], wsp__hist_quantile(h, quantiles[q]));
  k_ms(f, "max", h->max);
  f_key(f, "histogram");
  f_open(f, 1);
  k_uint(f, "min_ns", h->min);
  k_uint(f, "max_ns", h->max);
  f_key(f, "buckets");
  f_open(f, 0);
  for (unsigned i = 0; i < WSP__HIST_BUCKETS; i++)
    if (h->b[i]) {
      f_elem(f);
      f_open(f, 0);
      f_elem(f);
      put_u64(f->o, i);
      f_elem(f);
      put_uint(f->o, h->b[i]);
      f_close(f, 0);
    }
  f_close(f, 0);
  f_close(f, 1);
  f_close(f, 1);
}

/* {outcome: n} of the outcomes that occurred (all of them when `all`). */
static void k_outcomes(fmt *f, const char *k, const uint64_t *counts, int all) {
  f_key(f, k);
  f_open(f, 1);
  for (int i = 0; i < WSP_OUTCOME_COUNT; i++)
    if (all || counts[i])
      k_uint(f, wsp_outcome_name((wsp_outcome)i), counts[i]);
  f_close(f, 1);
}

static void k_tally(fmt *f, const char *k, const wsp__tally *t) {
  char key[16];
  f_key(f, k);
  f_open(f, 1);
  for (size_t i = 0; i < t->len; i++) {
    snprintf(key, sizeof(key), "%d", t->key[i]);
    k_uint(f, key, t->n[i]);
  }
  if (t->other)
    k_uint(f, "other", t->other);
  f_close(f, 1);
}

/* When the campaign began, how that compares with --start-at, and how far
 * the clock that says so can be trusted. */
static void start_json(fmt *f, const wsp_report *rep) {
  char when[40];
  if (rep->started_us >= 0) {
    wsp__format_time(rep->started_us, when, sizeof(when));
    k_str(f, "started_at", when);
  } else {
    k_null(f, "started_at");
  }
  if (rep->start_at_us < 0) {
    k_null(f, "start");
  } else {
    f_key(f, "start");
    f_open(f, 1);
    wsp__format_time(rep->start_at_us, when, sizeof(when));
    k_str(f, "at", when);
    k_uint(f, "tolerance_ms", rep->start_tol_ms);
    if (rep->late_ns < 0)
      k_null(f, "late_ms");
    else
      k_num(f, "late_ms", (double)rep->late_ns / 1e6);
    if (rep->merged && rep->started_us >= 0)
      k_num(f, "skew_ms",
            (double)(rep->started_last_us - rep->started_us) / 1e3);
    f_close(f, 1);
  }
  if (!rep->clock.known) {
    k_null(f, "clock");
    return;
  }
  f_key(f, "clock");
  f_open(f, 1);
  k_bool(f, "synchronized", rep->clock.synchronized);
  k_uint(f, "max_error_us", (uint64_t)rep->clock.max_err_us);
  k_uint(f, "est_error_us", (uint64_t)rep->clock.est_err_us);
  f_close(f, 1);
}

static void sweep_json(fmt *f, const wsp_report *rep) {
  k_uint(f, "per_delay", rep->per_delay);
  f_key(f, "sweep");
  f_open(f, 0);
  for (size_t i = 0; i < rep->npoints; i++) {
    const wsp__point *p = &rep->points[i];
    f_elem(f);
    f_open(f, 1);
    k_uint(f, "delay_ms", p->value);
    k_uint(f, "total", p->total);
    k_uint(f, "failed", p->failed);
    k_num(f, "failure_rate",
          p->total ? (double)p->failed / (double)p->total : 0);
    k_outcomes(f, "outcomes", p->outcomes, 0);
    f_close(f, 1);
  }
  f_close(f, 0);
}

static void window_json(fmt *f, const wsp__window *w) {
  f_key(f, "window");
  f_open(f, 1);
  k_uint(f, "lo_ms", w->lo);
  k_uint(f, "hi_ms", w->hi);
  k_uint(f, "resolution_ms", w->res);
  k_uint(f, "trials", w->trials);
  k_str(f, "conclusion", w->conclusion);
  if (w->stopped[0] != '\0')
    k_str(f, "stopped", w->stopped);
  else
    k_null(f, "stopped");
  k_str(f, "measured", "achieved_delay");
  if (w->from >= 0) {
    f_key(f, "estimate");
    f_open(f, 1);
    k_ms(f, "from_ms", (uint64_t)w->from);
    k_ms(f, "to_ms", (uint64_t)w->to);
    f_close(f, 1);
  } else {
    k_null(f, "estimate");
  }
  f_key(f, "evidence");
  f_open(f, 0);
  for (size_t i = 0; i < w->nevidence; i++) {
    const wsp__evidence *e = &w->evidence[i];
    f_elem(f);
    f_open(f, 1);
    k_uint(f, "delay_ms", e->delay_ms);
    k_uint(f, "trials", e->trials);
    k_uint(f, "failures", e->failures);
    k_ms_or_null(f, "achieved_min_ms", e->achieved_min);
    k_ms_or_null(f, "achieved_max_ms", e->achieved_max);
    k_ms_or_null(f, "failed_max_ms", e->fail_max);
    k_ms_or_null(f, "passed_min_ms", e->pass_min);
    k_uint(f, "reruns", e->reruns);
    k_bool(f, "lag_flagged", e->lag_flagged);
    f_close(f, 1);
  }
  f_close(f, 0);
  k_uint(f, "probes_spent", w->spent);
  f_close(f, 1);
}

static void levels_json(fmt *f, const wsp_report *rep) {
  long first = -1;
  f_key(f, "concurrency_sweep");
  f_open(f, 1);
  k_uint(f, "max_level", rep->max_level);
  f_key(f, "levels");
  f_open(f, 0);
  for (size_t i = 0; i < rep->nlevels; i++) {
    const wsp__level *l = &rep->levels[i];
    f_elem(f);
    f_open(f, 1);
    k_uint(f, "level", l->level);
    k_uint(f, "failed", l->failures);
    k_outcomes(f, "outcomes", l->outcomes, 0);
    f_close(f, 1);
    if (first < 0 && l->failures > 0)
      first = (long)l->level;
  }
  f_close(f, 0);
  if (first < 0)
    k_null(f, "first_failing_level");
  else
    k_uint(f, "first_failing_level", (uint64_t)first);
  f_close(f, 1);
}

static void merge_json(fmt *f, const wsp_report *rep) {
  k_uint(f, "merged_from", rep->nparts);
  f_key(f, "shards");
  f_open(f, 0);
  for (size_t i = 0; i < rep->nparts; i++) {
    const wsp__part *p = &rep->parts[i];
    f_elem(f);
    f_open(f, 1);
    k_uint(f, "index", p->shard);
    k_uint(f, "count", p->shards);
    k_uint(f, "probes", p->probes);
    if (p->duration_ms < 0)
      k_null(f, "duration_ms");
    else
      k_num(f, "duration_ms", p->duration_ms);
    k_str(f, "file", p->source);
    f_close(f, 1);
  }
  f_close(f, 0);
  k_bool(f, "partial", rep->nmissing > 0);
  f_key(f, "missing_shards");
  f_open(f, 0);
  for (size_t i = 0; i < rep->nmissing; i++) {
    f_elem(f);
    put_u64(f->o, rep->missing[i]);
  }
  f_close(f, 0);
}

/* A campaign run on several loops: each one's share and timing (written
 * only then, so that one loop's report stays as it was). */
static void threads_json(fmt *f, const wsp_report *rep) {
  f_key(f, "threads");
  f_open(f, 1);
  k_uint(f, "count", rep->nthreads);
  if (rep->has_bursts)
    k_hist(f, "release_lag_ms", &rep->release_lag);
  f_key(f, "loops");
  f_open(f, 0);
  for (uint32_t i = 0; rep->loops != NULL && i < rep->nthreads; i++) {
    const wsp__loop_fig *l = &rep->loops[i];
    f_elem(f);
    f_open(f, 1);
    k_uint(f, "thread", i);
    k_uint(f, "probes", l->probes);
    k_uint(f, "concurrency", l->concurrency);
    if (rep->has_bursts) {
      k_uint(f, "bursts", l->bursts);
      k_hist(f, "send_spread_ms", &l->spread);
      k_hist(f, "release_lag_ms", &l->release_lag);
      k_uint(f, "held_bursts", l->held_bursts);
      if (l->held_cpu >= 0)
        k_uint(f, "held_cpu", (uint64_t)l->held_cpu);
      else
        k_null(f, "held_cpu");
    }
    k_hist(f, "loop_lag_ms", &l->lag);
    f_close(f, 1);
  }
  f_close(f, 0);
  f_close(f, 1);
}

static void campaign_json(fmt *f, const wsp_report *rep) {
  f_key(f, "campaign");
  f_open(f, 1);
  k_str(f, "mode", wsp__mode_name(rep->mode));
  k_uint(f, "count", rep->count);
  /* An interrupted campaign says so, and how much of it ran. */
  if (rep->planned >= 0)
    k_uint(f, "planned", (uint64_t)rep->planned);
  else
    k_null(f, "planned");
  k_bool(f, "interrupted", rep->interrupted);
  k_uint(f, "concurrency", rep->concurrency);
  k_bool(f, "burst", rep->burst);
  if (rep->rate > 0)
    k_num(f, "rate", rep->rate);
  else
    k_null(f, "rate");
  /* Digits, always: the seed must repeat the run exactly, and "%1.15g"
   * would round some seeds above 10^15. */
  f_key(f, "seed");
  put_u64(f->o, rep->seed);
  k_uint(f, "jitter_ms", rep->jitter_ms);
  /* A complete merge is the whole campaign: shard 0 of 1. A partial one
   * is no shard at all. */
  f_key(f, "shard");
  if (rep->merged && rep->nmissing > 0) {
    PUTS(f->o, "null");
  } else {
    f_open(f, 1);
    k_uint(f, "index", rep->merged ? 0 : rep->shard);
    k_uint(f, "count", rep->merged ? 1 : rep->shards);
    k_str(
        f, "source",
        wsp_shard_source_name(rep->merged ? WSP_SHARD_NONE : rep->shard_from));
    f_close(f, 1);
  }
  k_str(f, "fingerprint", rep->fingerprint);
  if (rep->duration_ms < 0)
    k_null(f, "duration_ms");
  else
    k_num(f, "duration_ms", rep->duration_ms);
  if (rep->timed_ms > 0)
    k_uint(f, "duration_limit_ms", rep->timed_ms);
  else
    k_null(f, "duration_limit_ms");
  if (rep->dns_ms < 0)
    k_null(f, "dns_ms");
  else
    k_num(f, "dns_ms", rep->dns_ms);
  start_json(f, rep);
  if (rep->has_bursts) {
    f_key(f, "bursts");
    f_open(f, 1);
    k_uint(f, "released", rep->bursts);
    k_hist(f, "send_spread_ms", &rep->spread);
    f_close(f, 1);
  }
  f_key(f, "loop_lag_ms");
  f_open(f, 1);
  k_hist(f, "samples", &rep->lag);
  k_uint(f, "threshold", rep->lag_threshold_ms);
  k_uint(f, "flagged_probes", rep->flagged);
  f_close(f, 1);
  if (rep->nthreads > 1)
    threads_json(f, rep);
  if (rep->mode == WSP__MODE_SWEEP)
    sweep_json(f, rep);
  if (rep->mode == WSP__MODE_WINDOW)
    window_json(f, &rep->window);
  if (rep->mode == WSP__MODE_CONCURRENCY)
    levels_json(f, rep);
  k_uint(f, "slice_ms", rep->slice_ms);
  f_key(f, "time_slices");
  f_open(f, 0);
  for (size_t i = 0; i < rep->nslices; i++) {
    f_elem(f);
    f_open(f, 1);
    k_uint(f, "t_ms", (uint64_t)i * rep->slice_ms);
    k_outcomes(f, "outcomes", rep->slices[i].outcomes, 0);
    f_close(f, 1);
  }
  f_close(f, 0);
  if (rep->merged)
    merge_json(f, rep);
  f_close(f, 1);
}

/* A grouping: [{"<name>": value or null, "total", "passed", "outcomes"}],
 * then "<key>_other": the probes beyond its values, when there are any. */
static void k_groups(fmt *f, const wsp__secrets *sec, const char *key,
                     const char *name, const wsp__groups *g) {
  char other[80];
  f_key(f, key);
  f_open(f, 0);
  for (size_t i = 0; i < g->n; i++) {
    const wsp__group *x = &g->v[i];
    f_elem(f);
    f_open(f, 1);
    f_key(f, name);
    put_said(f->o, sec, x->value);
    k_uint(f, "total", x->total);
    k_uint(f, "passed", x->passed);
    k_outcomes(f, "outcomes", x->outcomes, 0);
    f_close(f, 1);
  }
  f_close(f, 0);
  snprintf(other, sizeof(other), "%s_other", key);
  if (g->other > 0)
    k_uint(f, other, g->other);
}

static void summary_json(fmt *f, const wsp_report *rep,
                         const wsp__secrets *sec) {
  const wsp__summary *s = &rep->sum;
  f_key(f, "summary");
  f_open(f, 1);
  k_uint(f, "total", rep->total);
  k_uint(f, "passed", rep->passed);
  k_uint(f, "failed", rep->total - rep->passed);
  k_outcomes(f, "outcomes", s->outcomes, 1);
  f_key(f, "outcome_phases");
  f_open(f, 1);
  for (int o = 0; o < WSP_OUTCOME_COUNT; o++) {
    if (s->outcomes[o] == 0)
      continue;
    f_key(f, wsp_outcome_name((wsp_outcome)o));
    f_open(f, 1);
    for (int p = 0; p < WSP_PHASE_COUNT; p++)
      if (s->phases[o][p])
        k_uint(f, wsp_phase_name((wsp_phase)p), s->phases[o][p]);
    f_close(f, 1);
  }
  f_close(f, 1);
  k_tally(f, "close_codes", &s->close_recv);
  k_tally(f, "close_codes_sent", &s->close_sent);
  k_tally(f, "http_statuses", &s->http);
  k_groups(f, NULL, "by_peer", "peer", &rep->peers);
  /* Header values are what servers said: redacted like the rest. */
  f_key(f, "by_header");
  f_open(f, 1);
  for (size_t i = 0; i < rep->headers.n; i++)
    k_groups(f, sec, rep->headers.name[i], "value", &rep->headers.g[i]);
  f_close(f, 1);
  f_key(f, "tls_handshakes");
  f_open(f, 1);
  k_uint(f, "full", s->tls_full);
  k_uint(f, "resumed", s->tls_resumed);
  f_close(f, 1);
  f_key(f, "spans_ms");
  f_open(f, 1);
  for (int sp = 0; sp < WSP_SPAN_COUNT; sp++)
    k_hist(f, wsp_span_name((wsp_span)sp), &rep->spans[sp]);
  f_close(f, 1);
  f_close(f, 1);
}

/*
 * Health polled beside the probes: every sample, then their summary
 * (absent without --health). Bodies and errors are what the service said:
 * redacted like the rest.
 */
static void health_json(fmt *f, const wsp_report *rep,
                        const wsp__secrets *sec) {
  const wsp__hsamples *hs = &rep->health;
  f_key(f, "health");
  f_open(f, 1);
  k_str(f, "url", rep->health_url);
  k_uint(f, "interval_ms", rep->health_interval);
  k_uint(f, "timeout_ms", rep->health_timeout);
  f_key(f, "samples");
  f_open(f, 0);
  for (size_t i = 0; i < hs->n; i++) {
    const wsp__hsample *s = &hs->s[i];
    f_elem(f);
    /* One sample a line: a long campaign's samples stay within the line
     * length a report is read back with. */
    PUTS(f->o, "\n");
    tabs(f->o, f->depth + 1);
    PUTS(f->o, "{\"t_ms\":");
    put_double(f->o, s->t_ms);
    PUTS(f->o, ",\"status\":");
    if (s->error != NULL)
      PUTS(f->o, "null");
    else
      put_uint(f->o, (uint64_t)s->status);
    PUTS(f->o, ",\"ms\":");
    put_double(f->o, s->ms);
    PUTS(f->o, ",\"error\":");
    put_said(f->o, sec, s->error);
    PUTS(f->o, ",\"body\":");
    if (s->body == NULL)
      PUTS(f->o, "null");
    else
      put_said_bytes(f->o, sec, (const uint8_t *)s->body, s->blen, "body_hex");
    PUTS(f->o, "}");
  }
  f_close(f, 0);
  f_key(f, "summary");
  f_open(f, 1);
  k_uint(f, "samples", hs->total);
  f_key(f, "statuses");
  f_open(f, 1);
  for (int code = 100; code < 600; code++)
    if (hs->status[code]) {
      char key[8];
      snprintf(key, sizeof(key), "%d", code);
      k_uint(f, key, hs->status[code]);
    }
  f_close(f, 1);
  k_uint(f, "errors", hs->errors);
  k_uint(f, "skipped", hs->skipped);
  k_hist(f, "ms", &hs->ms);
  f_close(f, 1);
  f_close(f, 1);
}

int wsp__report_json(const wsp_report *rep, int show_secrets, wsp__out *o) {
  fmt f = {o, 0, {0}};
  wsp__rows it;
  wsp__row row;
  int rc, first = 1;
  const char *config =
      show_secrets && rep->config_shown ? rep->config_shown : rep->config;
  f_open(&f, 1);
  k_str(&f, "version", rep->version);
  f_key(&f, "config");
  wsp__out_puts(o, config);
  campaign_json(&f, rep);
  summary_json(&f, rep, show_secrets ? NULL : &rep->secrets);
  if (rep->health_url != NULL)
    health_json(&f, rep, show_secrets ? NULL : &rep->secrets);
  f_key(&f, "probes");
  /* The probes last, one a line, handed to the sink some 32 KiB of whole
   * lines at a time: one call per probe cost more than the probe's text. */
  if ((rc = wsp__rows_begin(rep, 0, &it)) != 0)
    return rc;
  while (!o->failed && (rc = wsp__rows_next(&it, &row, NULL, 0)) == 1) {
    if (first)
      PUTS(o, "[\n\t\t");
    else
      PUTS(o, ",\n\t\t");
    first = 0;
    if (row.line != NULL && !(rep->secrets_shown && !show_secrets))
      put(o, row.line, row.line_len);
    else if (row.r != NULL)
      wsp__probe_json(o, row.r, &rep->secrets, show_secrets, 1, row.start_ns);
    else if ((rc = wsp__rows_facts(&it, &row, NULL, 0)) == 0)
      wsp__probe_json(o, row.r, &rep->secrets, show_secrets, 1, row.start_ns);
    if (rc < 0)
      break;
    if (o->len >= PROBES_AT)
      wsp__out_flush(o);
  }
  wsp__rows_end(&it);
  if (rc < 0)
    return rc;
  if (first)
    PUTS(o, "[]\n}\n");
  else
    PUTS(o, "\n\t]\n}\n");
  wsp__out_flush(o);
  return o->failed;
}
