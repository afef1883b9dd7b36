/*
 * Per-loop shared state: one DRBG seeded once, one read buffer.
 * (The sockets' epoll set lives in transport.c.)
 */
#include <stdlib.h>
#include <string.h>

#include <mbedtls/platform_util.h>

#include "internal.h"

int wsp_ctx_new(uv_loop_t *loop, wsp_ctx **out) {
  static const char pers[] = "wsprobe";
  wsp_ctx *ctx;
  if (loop == NULL || out == NULL)
    return WSP_EINVAL;
  if ((ctx = calloc(1, sizeof(*ctx))) == NULL)
    return WSP_ENOMEM;
  ctx->loop = loop;
  mbedtls_entropy_init(&ctx->entropy);
  mbedtls_ctr_drbg_init(&ctx->drbg);
  if (mbedtls_ctr_drbg_seed(&ctx->drbg, mbedtls_entropy_func, &ctx->entropy,
                            (const unsigned char *)pers,
                            sizeof(pers) - 1) != 0) {
    mbedtls_ctr_drbg_free(&ctx->drbg);
    mbedtls_entropy_free(&ctx->entropy);
    free(ctx);
    return WSP_ECRYPTO;
  }
  /* Reads are processed synchronously, so one buffer serves every probe. */
  if ((ctx->rbuf = malloc(WSP__READ_BUF)) == NULL ||
      (ctx->pbuf = malloc(WSP__PLAIN_BUF)) == NULL) {
    free(ctx->rbuf);
    mbedtls_ctr_drbg_free(&ctx->drbg);
    mbedtls_entropy_free(&ctx->entropy);
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
  mbedtls_ctr_drbg_free(&ctx->drbg);
  mbedtls_entropy_free(&ctx->entropy);
  mbedtls_platform_zeroize(ctx->pool, sizeof(ctx->pool));
  wsp__tls_ctx_free(ctx);
  wsp__jwt_ctx_free(ctx);
  free(ctx->rbuf);
  free(ctx->pbuf);
  free(ctx);
  return 0;
}

int wsp_ctx_free(wsp_ctx *ctx) { return wsp_ctx_close(ctx); }

const char *wsp_ctx_last_error(const wsp_ctx *ctx) {
  return ctx ? ctx->error : "no context";
}

uv_loop_t *wsp_ctx_loop(const wsp_ctx *ctx) { return ctx ? ctx->loop : NULL; }

/*
 * Masks and keys come from a pool the DRBG refills a kilobyte at a time:
 * one AES-CTR call per ~50 probes instead of two per probe. The bytes are
 * the same DRBG output either way.
 */
int wsp__random(wsp_ctx *ctx, void *buf, size_t len) {
  if (len > sizeof(ctx->pool) / 4)
    return mbedtls_ctr_drbg_random(&ctx->drbg, buf, len) == 0 ? 0 : WSP_ECRYPTO;
  if (ctx->pool_left < len) {
    if (mbedtls_ctr_drbg_random(&ctx->drbg, ctx->pool, sizeof(ctx->pool)) != 0)
      return WSP_ECRYPTO;
    ctx->pool_left = sizeof(ctx->pool);
  }
  memcpy(buf, ctx->pool + sizeof(ctx->pool) - ctx->pool_left, len);
  /* Used bytes do not stay behind. */
  memset(ctx->pool + sizeof(ctx->pool) - ctx->pool_left, 0, len);
  ctx->pool_left -= len;
  return 0;
}
