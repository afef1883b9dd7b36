/*
 * The probe's internal entry points (probe.c), for campaigns.
 */
#ifndef WSP_PROBE_H
#define WSP_PROBE_H

#include <stdint.h>

#include "wsprobe.h"

struct addrinfo;

/* How a probe is started; the public API uses defaults. */
typedef struct wsp__probe_opts {
  uint32_t index;            /* Index within the campaign. */
  uint32_t delay_ms;         /* First-message delay of this probe. */
  const uint64_t *seed;      /* The campaign's seed, or NULL. */
  int borrow_cfg;            /* cfg outlives the probe: no copy. */
  const struct addrinfo *ai; /* Addresses resolved once, or NULL. */
  void (*ready)(wsp_probe *p, void *ud); /* Gate: called at open instead
                                            of arming the delay. */
  void *ready_ud;                        /* Passed to ready. */
} wsp__probe_opts;

int wsp__probe_start(wsp_ctx *ctx, const wsp_config *cfg,
                     const wsp__probe_opts *opts, wsp_probe_cb cb,
                     void *user_data, wsp_probe **out);
/* Sends a gated probe's first message now (it is open and waiting). */
void wsp__probe_release(wsp_probe *p);
/* When its first message left (uv_hrtime() clock), or 0. */
uint64_t wsp__probe_sent_at(const wsp_probe *p);

#endif
