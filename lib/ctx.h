/*
 * What all probes on one loop share (ctx.c): each layer's per-loop state,
 * side by side. Per-probe memory is only what one connection needs.
 */
#ifndef WSP_CTX_H
#define WSP_CTX_H

#include <stddef.h>

#include <uv.h>

#include "conn.h"
#include "jwt.h"
#include "rand.h"
#include "tls.h"
#include "upgrade.h"
#include "ws.h"

struct wsp_ctx {
  uv_loop_t *loop;         /* The loop everything runs on. */
  wsp__rng rng;            /* Keys, masks, TLS and signatures. */
  wsp__net net;            /* Sockets: the epoll set, the read buffer. */
  wsp__tls_loop tls;       /* TLS profiles, the plaintext buffer. */
  wsp__ws_loop ws;         /* Frames being gathered for one write. */
  wsp__jwt_key *jwt_keys;  /* Parsed signing keys, made lazily. */
  size_t nprobes;          /* Probes alive on this context. */
  int up_busy;             /* up_scratch is in use (probe.c). */
  wsp__upgrade up_scratch; /* Parses responses that come whole. */
  char error[128];         /* Last error, one line. */
};

#endif
