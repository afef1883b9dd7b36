/*
 * Per-loop shared state: each layer's, made once per loop.
 */
#include <stdlib.h>
#include <string.h>

#include "ctx.h"

int wsp_ctx_new(uv_loop_t *loop, wsp_ctx **out) {
  wsp_ctx *ctx;
  int rc;
  if (loop == NULL || out == NULL)
    return WSP_EINVAL;
  if ((ctx = calloc(1, sizeof(*ctx))) == NULL)
    return WSP_ENOMEM;
  ctx->loop = loop;
  if ((rc = wsp__rng_init(&ctx->rng)) != 0) {
    free(ctx);
    return rc;
  }
  if (wsp__net_init(&ctx->net, loop) != 0 ||
      wsp__tls_loop_init(&ctx->tls, &ctx->rng.drbg) != 0) {
    wsp__net_free(&ctx->net);
    wsp__rng_free(&ctx->rng);
    free(ctx);
    return WSP_ENOMEM;
  }
  *out = ctx;
  return 0;
}

int wsp_ctx_close(wsp_ctx *ctx) {
  if (ctx == NULL)
    return 0;
  if (ctx->nprobes > 0)
    return wsp__fail(ctx->error, sizeof(ctx->error), WSP_EBUSY,
                     "probes still exist on the context: %zu (they exist "
                     "until their callback has run)",
                     ctx->nprobes);
  wsp__tls_loop_free(&ctx->tls);
  wsp__jwt_keys_free(&ctx->jwt_keys);
  wsp__net_free(&ctx->net);
  free(ctx->ws.buf);
  wsp__rng_free(&ctx->rng);
  free(ctx);
  return 0;
}

int wsp_ctx_free(wsp_ctx *ctx) { return wsp_ctx_close(ctx); }

const char *wsp_ctx_last_error(const wsp_ctx *ctx) {
  return ctx ? ctx->error : "no context";
}

uv_loop_t *wsp_ctx_loop(const wsp_ctx *ctx) { return ctx ? ctx->loop : NULL; }
