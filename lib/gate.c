/*
 * One release deadline for the bursts of several loops (gate.h).
 *
 * A loop cannot make another one act at an instant: it can only wake it,
 * and a wakeup crosses threads in tens of microseconds on an idle machine
 * and in milliseconds on a busy one. So the last loop to be ready does
 * not release anything itself; it sets a deadline a little ahead (at
 * least `lead_ns`, or the round's delay) and wakes the others, and every
 * loop, itself included, waits for that instant on its own clock. A loop
 * woken too late releases at once; its lateness is what the campaign
 * reports as that loop's release lag.
 *
 * Between its arrival and the end of its release, each loop holds a CPU
 * of its own, pinned to it at a real-time priority (SCHED_FIFO 1), when
 * the process may use as many CPUs as there are loops and is allowed
 * that priority. Left to itself, the scheduler put two releasing threads
 * on one CPU, or gave one thread's CPU for a whole 4 ms tick to another
 * task (the server, on a 2-core machine): a 2 ms release of 500 sends
 * took 6 to 11 ms in one burst in three. Held, it took 1.8 to 3.1 ms in
 * 30 of 30, none late. The hold lasts from the loop's arrival to the end of its
 * release, a few milliseconds when the loops are ready together; then
 * the thread runs as before.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pthread_setaffinity_np, CPU_COUNT */
#endif
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "gate.h"
#include "wsprobe.h"

int wsp__gate_init(wsp__gate *g, uint32_t n, uint64_t lead_ns) {
  cpu_set_t set;
  g->wake = calloc(n, sizeof(*g->wake));
  g->cpu = malloc(n * sizeof(*g->cpu));
  g->saved = calloc(n, sizeof(*g->saved));
  if (g->wake == NULL || g->cpu == NULL || g->saved == NULL) {
    free(g->wake);
    free(g->cpu);
    free(g->saved);
    g->wake = NULL;
    return WSP_ENOMEM;
  }
  /* Loop i holds the i-th CPU the caller may run on, if there are enough
   * (the loops' threads inherit the caller's set). */
  for (uint32_t i = 0; i < n; i++)
    g->cpu[i] = -1;
  if (sched_getaffinity(0, sizeof(set), &set) == 0 &&
      (uint32_t)CPU_COUNT(&set) >= n) {
    uint32_t i = 0;
    for (int k = 0; k < CPU_SETSIZE && i < n; k++)
      if (CPU_ISSET(k, &set))
        g->cpu[i++] = k;
  }
  pthread_mutex_init(&g->mu, NULL);
  g->n = g->members = n;
  g->arrived = 0;
  g->round = 0;
  g->deadline = 0;
  g->lead_ns = lead_ns;
  g->delay_ns = 0;
  g->owed = 0;
  g->lo = UINT64_MAX;
  g->hi = 0;
  g->bursts = 0;
  wsp__hist_init(&g->spread);
  return 0;
}

void wsp__gate_free(wsp__gate *g) {
  if (g->wake == NULL)
    return;
  pthread_mutex_destroy(&g->mu);
  free(g->wake);
  free(g->cpu);
  free(g->saved);
  g->wake = NULL;
}

void wsp__gate_hold_cpu(wsp__gate *g, uint32_t i) {
  wsp__gate_cpu *sv = &g->saved[i];
  struct sched_param rt;
  cpu_set_t one;
  if (g->cpu[i] < 0 || sv->held)
    return;
  if (pthread_getaffinity_np(pthread_self(), sizeof(sv->set), &sv->set) != 0 ||
      pthread_getschedparam(pthread_self(), &sv->policy, &sv->param) != 0)
    return;
  /* Without the right to a real-time priority (root, CAP_SYS_NICE or
   * RLIMIT_RTPRIO), nothing: pinned alone, a loop still loses whole ticks
   * to any other task the scheduler puts on its CPU. */
  memset(&rt, 0, sizeof(rt));
  rt.sched_priority = 1;
  if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &rt) != 0)
    return;
  CPU_ZERO(&one);
  CPU_SET(g->cpu[i], &one);
  if (pthread_setaffinity_np(pthread_self(), sizeof(one), &one) != 0) {
    (void)pthread_setschedparam(pthread_self(), sv->policy, &sv->param);
    return;
  }
  sv->held = 1;
}

int wsp__gate_held_cpu(const wsp__gate *g, uint32_t i) {
  return g->saved[i].held ? g->cpu[i] : -1;
}

void wsp__gate_free_cpu(wsp__gate *g, uint32_t i) {
  wsp__gate_cpu *sv = &g->saved[i];
  if (!sv->held)
    return;
  (void)pthread_setschedparam(pthread_self(), sv->policy, &sv->param);
  (void)pthread_setaffinity_np(pthread_self(), sizeof(sv->set), &sv->set);
  sv->held = 0;
}

void wsp__gate_join(wsp__gate *g, uint32_t i, uv_async_t *wake) {
  pthread_mutex_lock(&g->mu);
  g->wake[i] = wake;
  pthread_mutex_unlock(&g->mu);
}

/* Called with the lock held once every member arrived: sets the deadline
 * and wakes every member (each one reads it under the lock). */
static void open_round(wsp__gate *g, uint64_t delay_ns) {
  uint64_t ahead = delay_ns > g->lead_ns ? delay_ns : g->lead_ns;
  g->deadline = uv_hrtime() + ahead;
  g->round++;
  g->owed = g->arrived;
  g->arrived = 0;
  g->lo = UINT64_MAX;
  g->hi = 0;
  for (uint32_t i = 0; i < g->n; i++)
    if (g->wake[i] != NULL)
      uv_async_send(g->wake[i]);
}

uint64_t wsp__gate_arrive(wsp__gate *g, uint32_t i, uint64_t delay_ns) {
  uint64_t round;
  (void)i;
  pthread_mutex_lock(&g->mu);
  round = g->round + 1;
  g->delay_ns = delay_ns;
  if (++g->arrived >= g->members)
    open_round(g, delay_ns);
  pthread_mutex_unlock(&g->mu);
  return round;
}

uint64_t wsp__gate_deadline(wsp__gate *g, uint64_t round) {
  uint64_t d;
  pthread_mutex_lock(&g->mu);
  /* The next round cannot open before this loop arrives at it, so the
   * deadline read here is still round `round`'s. */
  d = g->round >= round ? g->deadline : 0;
  pthread_mutex_unlock(&g->mu);
  return d;
}

void wsp__gate_sent(wsp__gate *g, uint64_t lo, uint64_t hi) {
  pthread_mutex_lock(&g->mu);
  if (lo <= hi) {
    if (lo < g->lo)
      g->lo = lo;
    if (hi > g->hi)
      g->hi = hi;
  }
  if (g->owed > 0 && --g->owed == 0 && g->lo <= g->hi) {
    wsp__hist_add(&g->spread, g->hi - g->lo);
    g->bursts++;
  }
  pthread_mutex_unlock(&g->mu);
}

void wsp__gate_leave(wsp__gate *g, uint32_t i) {
  pthread_mutex_lock(&g->mu);
  g->wake[i] = NULL;
  g->members--;
  /* The round being gathered waited for this loop too. */
  if (g->arrived > 0 && g->arrived >= g->members)
    open_round(g, g->delay_ns);
  pthread_mutex_unlock(&g->mu);
}
