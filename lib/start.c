/*
 * A campaign's wall-clock start. Shards on different machines share no
 * clock but the real-time one (kept by NTP or PTP), while every timing
 * here runs on the monotonic clock, which NTP may slew but never steps.
 * So an instant is converted from the one to the other once, from a pair
 * of readings taken together, and then waited for on the monotonic clock:
 * a step of the real-time clock during the wait moves nothing. The kernel
 * says how far the real-time clock can be trusted (adjtimex(2)), and the
 * report carries it, so that a skew between shards can be told from an
 * unsynchronised machine.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/timex.h>
#include <time.h>

#include <uv.h>

#include "start.h"
#include "wsprobe.h"

/* The final stretch is spun rather than slept: a sleep ends up to the
 * timer slack (50 µs by default) late, a spin when the clock says so. */
#define SPIN_NS 150000

/* Digits at s: their value, how many in *n (at most max). */
static int64_t digits(const char *s, int max, int *n) {
  int64_t v = 0;
  *n = 0;
  while (*n < max && s[*n] >= '0' && s[*n] <= '9')
    v = v * 10 + (s[(*n)++] - '0');
  return v;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; Howard Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  int64_t era, yoe, doy, doe;
  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/* A fraction of a second after its dot: µs (digits beyond are dropped);
 * how many characters in *n, at least one digit. */
static int64_t fraction_us(const char *s, int *n) {
  int64_t us = digits(s, 6, n);
  for (int k = *n; k < 6; k++)
    us *= 10;
  while (s[*n] >= '0' && s[*n] <= '9' && *n < 9)
    (*n)++;
  return us;
}

int wsp__parse_time(const char *text, int64_t *unix_us) {
  static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const char *s = text;
  int64_t y, mo, d, h, mi, sec, us = 0, off = 0;
  int n;
  if (s == NULL || unix_us == NULL)
    return WSP_EINVAL;
  y = digits(s, 10, &n);
  if (n == 0)
    return WSP_EINVAL;
  if (s[n] != '-') {
    /* Unix seconds, maybe with a fraction. */
    if (n > 10)
      return WSP_EINVAL;
    s += n;
    if (*s == '.') {
      us = fraction_us(s + 1, &n);
      if (n == 0)
        return WSP_EINVAL;
      s += 1 + n;
    }
    if (*s != '\0')
      return WSP_EINVAL;
    *unix_us = y * 1000000 + us;
    return 0;
  }
  if (n != 4)
    return WSP_EINVAL;
  s += 5;
  mo = digits(s, 2, &n);
  if (n != 2 || s[2] != '-')
    return WSP_EINVAL;
  s += 3;
  d = digits(s, 2, &n);
  if (n != 2 || (s[2] != 'T' && s[2] != 't' && s[2] != ' '))
    return WSP_EINVAL;
  s += 3;
  h = digits(s, 2, &n);
  if (n != 2 || s[2] != ':')
    return WSP_EINVAL;
  mi = digits(s + 3, 2, &n);
  if (n != 2 || s[5] != ':')
    return WSP_EINVAL;
  sec = digits(s + 6, 2, &n);
  if (n != 2)
    return WSP_EINVAL;
  s += 8;
  if (*s == '.') {
    us = fraction_us(s + 1, &n);
    if (n == 0)
      return WSP_EINVAL;
    s += 1 + n;
  }
  if (*s == 'Z' || *s == 'z') {
    s++;
  } else if (*s == '+' || *s == '-') {
    int64_t oh = digits(s + 1, 2, &n), om;
    if (n != 2 || s[3] != ':')
      return WSP_EINVAL;
    om = digits(s + 4, 2, &n);
    if (n != 2 || oh > 23 || om > 59)
      return WSP_EINVAL;
    off = (*s == '-' ? -1 : 1) * (oh * 3600 + om * 60);
    s += 6;
  } else {
    return WSP_EINVAL;
  }
  /* A leap second (60) is accepted as the next second's start. */
  if (*s != '\0' || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
      (mo == 2 && d == 29 && (y % 4 != 0 || (y % 100 == 0 && y % 400 != 0))) ||
      h > 23 || mi > 59 || sec > 60)
    return WSP_EINVAL;
  *unix_us =
      ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) - off) *
          1000000 +
      us;
  return 0;
}

void wsp__format_time(int64_t unix_us, char *buf, size_t len) {
  time_t t =
      (time_t)(unix_us >= 0 ? unix_us / 1000000 : (unix_us - 999999) / 1000000);
  int64_t us = unix_us - (int64_t)t * 1000000;
  struct tm tm;
  gmtime_r(&t, &tm);
  snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
           (long long)us);
}

static int64_t real_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void wsp__clock_pair_now(wsp__clock_pair *p) {
  int64_t best = INT64_MAX;
  /* A preemption between two readings would offset the pair by its
   * length: of three tries, the one whose readings are closest. */
  for (int i = 0; i < 3; i++) {
    int64_t a = real_ns();
    uint64_t m = uv_hrtime();
    int64_t b = real_ns();
    if (b - a < best) {
      best = b - a;
      p->real_ns = a + (b - a) / 2;
      p->mono_ns = m;
    }
  }
}

uint64_t wsp__clock_to_mono(const wsp__clock_pair *p, int64_t unix_us) {
  int64_t d = unix_us * 1000 - p->real_ns;
  if (d < 0 && (uint64_t)-d > p->mono_ns)
    return 1; /* Before the machine started: long past. */
  return (uint64_t)((int64_t)p->mono_ns + d);
}

int64_t wsp__clock_to_real_us(const wsp__clock_pair *p, uint64_t mono_ns) {
  return (p->real_ns + ((int64_t)mono_ns - (int64_t)p->mono_ns)) / 1000;
}

void wsp__clock_state_now(wsp__clock_state *s) {
  struct timex tx;
  int state;
  memset(&tx, 0, sizeof(tx)); /* modes 0: read only. */
  memset(s, 0, sizeof(*s));
  if ((state = adjtimex(&tx)) < 0)
    return;
  s->known = 1;
  s->synchronized = state != TIME_ERROR && !(tx.status & STA_UNSYNC);
  s->max_err_us = tx.maxerror;
  s->est_err_us = tx.esterror;
}

void wsp__wait_until(uint64_t mono_ns) {
  uint64_t now = uv_hrtime();
  if (now + SPIN_NS < mono_ns) {
    struct timespec ts;
    uint64_t at = mono_ns - SPIN_NS;
    ts.tv_sec = (time_t)(at / 1000000000);
    ts.tv_nsec = (long)(at % 1000000000);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
      ;
  }
  while (uv_hrtime() < mono_ns)
    ;
}
