/*
 * Every default and limit a user can see, in one place: the config, the
 * campaign and the option table (lib/options.c) all read these, so that
 * the help text, the man page check, the CLI and the Python binding can
 * never disagree with what the library does.
 */
#ifndef WSP_DEFAULTS_H
#define WSP_DEFAULTS_H

/* A number as a string literal, for the option table's default texts. */
#define WSP__STR(x) WSP__STR_(x)
#define WSP__STR_(x) #x

/* Probes of a plain campaign (bursts: one burst of the concurrency). */
#define WSP__DEF_COUNT 1
#define WSP__MAX_COUNT 10000000
/* Probes in flight at once. */
#define WSP__DEF_CONCURRENCY 1
#define WSP__MAX_CONCURRENCY 1000000
/* Highest rate, probes a second. */
#define WSP__MAX_RATE 10000000
/* Longest duration, ms (a week). */
#define WSP__MAX_DURATION_MS 604800000u
/* Time slice of outcomes over time, ms. */
#define WSP__DEF_SLICE_MS 1000
/* Any delay, wait, timeout or jitter, ms (an hour). */
#define WSP__MAX_MS 3600000
/* Delays of one sweep. */
#define WSP__MAX_DELAYS 10000
/* Window search: bounds, resolution and probes per point. */
#define WSP__DEF_WINDOW_LO 0
#define WSP__DEF_WINDOW_HI 5000
#define WSP__DEF_RESOLUTION_MS 1
#define WSP__DEF_TRIALS 5
#define WSP__MAX_TRIALS 100000
/* Loop lag that flags results, ms. */
#define WSP__DEF_LAG_MS 5
#define WSP__MAX_LAG_MS 60000
/* The member of a JSON message that names its event type. */
#define WSP__DEF_EXPECT_KEY "type"
/* Response headers a probe records (--record-header). */
#define WSP__MAX_RECORD 8
/* --resolve entries of one config. */
#define WSP__MAX_PINS 32
/* Shards of one campaign. */
#define WSP__MAX_SHARDS 1000000
/* Threads (loops) of one campaign. */
#define WSP__MAX_THREADS 1024
/* Seeds stay exact in a JSON number: below 2^53. */
#define WSP__MAX_SEED 0x1fffffffffffffull

/* Every phase's timeout, ms, and the closing phase's. */
#define WSP__DEF_TIMEOUT_MS 5000
#define WSP__DEF_CLOSE_TIMEOUT_MS 2000
/* Largest message accepted from the server, bytes. */
#define WSP__DEF_MAX_MESSAGE 1048576
#define WSP__MAX_MAX_MESSAGE 2147483648ull
/* Minted tokens: lifetime (s, at most 366 days), prefix, query name. */
#define WSP__DEF_JWT_TTL 300
#define WSP__MAX_JWT_TTL 31622400
#define WSP__DEF_JWT_PREFIX "jwt."
#define WSP__DEF_JWT_QUERY "access_token"

/* --start-at: how late a start may be (ms), the last instant (µs, the end
 * of 9999). */
#define WSP__DEF_START_TOLERANCE_MS 1000
#define WSP__MAX_START_US 253402300799999999ll

/* File descriptors a campaign needs beside its connections: the loop,
 * the epoll set, the wakeup handle, stdio, report files. */
#define WSP__SPARE_FILES 64

#endif
