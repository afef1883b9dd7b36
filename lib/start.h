/*
 * A campaign's wall-clock start (start.c): instants as RFC 3339 text or
 * Unix seconds, the one conversion from the real-time clock to the
 * monotonic one, the precise wait for a deadline, and what the kernel
 * says of the clock's synchronisation.
 */
#ifndef WSP_START_H
#define WSP_START_H

#include <stddef.h>
#include <stdint.h>

/* One reading of both clocks, taken together. */
typedef struct wsp__clock_pair {
  int64_t real_ns;  /* CLOCK_REALTIME, ns since the Unix epoch. */
  uint64_t mono_ns; /* uv_hrtime() (CLOCK_MONOTONIC) at that instant. */
} wsp__clock_pair;

/* The kernel's view of the real-time clock (adjtimex(2)). */
typedef struct wsp__clock_state {
  int known;          /* adjtimex() answered. */
  int synchronized;   /* NTP (or PTP...) keeps it synchronised. */
  int64_t max_err_us; /* Maximum error, µs. */
  int64_t est_err_us; /* Estimated error, µs. */
} wsp__clock_state;

/*
 * Parses "2026-11-28T22:30:00.25Z" (RFC 3339: a "T" or a space, seconds
 * with up to 9 decimals, "Z" or an offset) or Unix seconds ("1795904171",
 * "1795904171.25") into µs since the epoch: 0 or WSP_EINVAL.
 */
int wsp__parse_time(const char *text, int64_t *unix_us);
/* Writes `unix_us` as RFC 3339 in UTC with microseconds (28 bytes). */
void wsp__format_time(int64_t unix_us, char *buf, size_t len);
/* Reads both clocks: the real-time one on either side of the monotonic
 * one, the pair kept whose two readings are closest. */
void wsp__clock_pair_now(wsp__clock_pair *p);
/* The monotonic instant of the real-time instant `unix_us`, by `p`. */
uint64_t wsp__clock_to_mono(const wsp__clock_pair *p, int64_t unix_us);
/* The real-time instant (µs) of the monotonic instant `mono_ns`, by `p`. */
int64_t wsp__clock_to_real_us(const wsp__clock_pair *p, uint64_t mono_ns);
/* What adjtimex(2) says of the clock (read only; no privilege needed). */
void wsp__clock_state_now(wsp__clock_state *s);
/* Blocks until uv_hrtime() reaches `mono_ns`: a sleep on the monotonic
 * clock to just before it, then a spin. Meant for the last milliseconds. */
void wsp__wait_until(uint64_t mono_ns);

#endif
