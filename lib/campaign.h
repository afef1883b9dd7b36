/*
 * The campaign's private layout, shared with the report writer.
 */
#ifndef WSP_CAMPAIGN_H
#define WSP_CAMPAIGN_H

#include "internal.h"

/* One place for a probe in flight. */
typedef struct wsp__slot {
  struct wsp_campaign *c; /* The owner. */
  wsp_probe *probe;       /* The probe in this slot, or NULL. */
} wsp__slot;

struct wsp_campaign {
  wsp_config *cfg;                      /* Private copy. */
  uint32_t count;                       /* Probes to run. */
  uint32_t concurrency;                 /* Most in flight at once. */
  wsp_ctx *ctx;                         /* Where it runs. */
  uint32_t started;                     /* Probes started (or failed to). */
  uint32_t in_flight;                   /* Probes not yet ended. */
  size_t nresults;                      /* Results recorded. */
  size_t passed;                        /* Of which ok. */
  wsp_result **results;                 /* By probe index. */
  wsp__slot *slots;                     /* min(count, concurrency) slots. */
  uint32_t *free_slots;                 /* Stack of free slot indexes. */
  uint32_t nfree;                       /* Its depth. */
  int running;                          /* Started and not done. */
  int ran;                              /* Was started once. */
  int cancelled;                        /* Start no more probes. */
  uv_timer_t idle;                      /* Defers a completion with none
                                           in flight to the loop. */
  wsp_campaign_done_cb done_cb;         /* Called once at the end. */
  void *done_ud;                        /* Its user data. */
  wsp_campaign_probe_cb probe_cb;       /* Called per result. */
  void *probe_ud;                       /* Its user data. */
  uint64_t t_start;                     /* uv_hrtime() at start. */
  uint64_t t_end;                       /* uv_hrtime() at the end. */
  wsp__hist spans[WSP_SPAN_COUNT];      /* Durations, ns. */
};

void wsp__campaign_idle_closed(uv_handle_t *h);

#endif
