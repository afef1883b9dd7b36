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
 */
#include <stdlib.h>

#include "gate.h"
#include "wsprobe.h"

int wsp__gate_init(wsp__gate *g, uint32_t n, uint64_t lead_ns) {
  g->wake = calloc(n, sizeof(*g->wake));
  if (g->wake == NULL)
    return WSP_ENOMEM;
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
  g->wake = NULL;
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
