/*
 * The gate of bursts run on several loops in several threads (gate.c):
 * every loop that takes part in a round says when its probes are ready,
 * and the last one sets one deadline on the monotonic clock at which all
 * of them release their first messages. It knows nothing of campaigns:
 * each loop gives it a uv_async_t to be woken through and asks for the
 * deadline when woken.
 */
#ifndef WSP_GATE_H
#define WSP_GATE_H

#include <pthread.h>
#include <sched.h>
#include <stdint.h>

#include <uv.h>

#include "hist.h"

/* How far ahead of the last loop's arrival a deadline is set at least:
 * wake-ups cross threads in tens of microseconds on an idle machine. */
#define WSP__GATE_LEAD_NS 2000000u

/* A loop's hold on its CPU: the set it ran on before, while it holds. */
typedef struct wsp__gate_cpu {
  cpu_set_t set; /* The thread's CPUs before the hold. */
  int held;      /* The thread holds its CPU, at a real-time priority. */
  int policy;    /* Its scheduling before the hold. */
  struct sched_param param;
} wsp__gate_cpu;

typedef struct wsp__gate {
  int *cpu;             /* Per loop: the CPU it holds while it releases,
                           or -1 (fewer CPUs allowed than loops). Read-only
                           once made. */
  wsp__gate_cpu *saved; /* Per loop: touched by that loop's thread only. */
  pthread_mutex_t mu;   /* Guards every field below. */
  uint32_t n;           /* Loops in all. */
  uint32_t members;     /* Loops still taking part. */
  uint32_t arrived;     /* Loops ready for the round being gathered. */
  uint64_t round;       /* Rounds released so far. */
  uint64_t deadline;    /* The last released round's, uv_hrtime(). */
  uint64_t lead_ns;     /* Least time from the last arrival to a release. */
  uint64_t delay_ns;    /* The round being gathered: its delay. */
  uv_async_t **wake;    /* Per loop: how to wake it, or NULL. */
  uint32_t owed;        /* Loops yet to report the last round's sends. */
  uint64_t lo, hi;      /* That round's first and last send so far. */
  uint64_t bursts;      /* Rounds whose sends were measured. */
  wsp__hist spread;     /* First send to last, over every loop, ns. */
} wsp__gate;

/* For `n` loops: 0 or WSP_ENOMEM. */
int wsp__gate_init(wsp__gate *g, uint32_t n, uint64_t lead_ns);
void wsp__gate_free(wsp__gate *g);
/* Loop `i` takes part, woken through `wake` (live until it leaves). */
void wsp__gate_join(wsp__gate *g, uint32_t i, uv_async_t *wake);
/*
 * Loop `i` is ready for the next round, whose first messages go
 * `delay_ns` after the last loop is ready. Returns the round's number
 * (from 1); the deadline is known once wsp__gate_deadline() says so.
 */
uint64_t wsp__gate_arrive(wsp__gate *g, uint32_t i, uint64_t delay_ns);
/* The deadline of round `round` (uv_hrtime()), or 0 while loops are still
 * to arrive. */
uint64_t wsp__gate_deadline(wsp__gate *g, uint64_t round);
/* A loop released the last round: its first and last send (lo > hi when
 * it sent nothing). */
void wsp__gate_sent(wsp__gate *g, uint64_t lo, uint64_t hi);
/*
 * Loop `i`'s thread holds its own CPU (pinned to it at SCHED_FIFO 1) from
 * its arrival to the end of its release, so that it is woken in time for
 * the deadline and no other task takes that CPU while it releases; freed, it
 * runs where and as it ran before. Nothing happens when there are fewer CPUs
 * than loops or the real-time priority is not allowed.
 */
void wsp__gate_hold_cpu(wsp__gate *g, uint32_t i);
void wsp__gate_free_cpu(wsp__gate *g, uint32_t i);
/* The CPU loop `i` holds now, or -1. */
int wsp__gate_held_cpu(const wsp__gate *g, uint32_t i);
/* Loop `i` takes part no more: rounds no longer wait for it, and it is
 * not woken again (its handle may be closed once this returns). */
void wsp__gate_leave(wsp__gate *g, uint32_t i);

#endif
