/*
 * JSON Web Tokens: base64url, key checks, signing and per-probe minting
 * (jwt.c). Parsed signing keys are cached per loop in a list the caller
 * keeps (wsp__jwt_keys_free() releases it).
 */
#ifndef WSP_JWT_H
#define WSP_JWT_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/pk.h>

#include "config.h"
#include "rand.h"

typedef struct wsp__jwt_key wsp__jwt_key;

int wsp__b64url_encode(const uint8_t *in, size_t len, char **out, size_t *olen);
int wsp__b64url_decode(const char *in, size_t len, uint8_t **out, size_t *olen);
int wsp__jwt_check_key(wsp_jwt_alg alg, const uint8_t *key, size_t len,
                       char *err, size_t errlen);
/* Signs `input` into sig (at least MBEDTLS_PK_SIGNATURE_MAX_SIZE bytes). */
int wsp__jws_sign(wsp_jwt_alg alg, const uint8_t *secret, size_t secret_len,
                  mbedtls_pk_context *pk, const uint8_t *input, size_t len,
                  int (*rng)(void *, unsigned char *, size_t), void *rng_ctx,
                  uint8_t *sig, size_t *sig_len);
/*
 * Mints the token of probe `index` at `now` (Unix seconds) into *out (to
 * free), with the key cached in *keys; "{jti}" in the claims comes from
 * *seed and the index, or from rng when seed is NULL. 0, or an error with
 * a reason in err.
 */
int wsp__jwt_mint(wsp__jwt_key **keys, wsp__rng *rng, const wsp_jwt_spec *spec,
                  uint32_t index, const uint64_t *seed, int64_t now, char **out,
                  char *err, size_t errlen);
/* Frees a key cache. */
void wsp__jwt_keys_free(wsp__jwt_key **keys);

#endif
