/*
 * libFuzzer target: JSON and JWT input, the cJSON paths a user or a server
 * controls.
 *
 * Input: a control byte, then text. By the control byte's low two bits:
 *   0  the text as JWT claims: wsp_config_set_jwt_claims, the config as
 *      JSON, then a token signed over them (wsp_jwt_sign, HS256) and one
 *      minted per probe ("{index}" templates, wsp__jwt_mint) must both
 *      verify, carrying the claims wsprobe sets;
 *   1  the same with ES256 (a test key, below);
 *   2  the text as a token for wsp_jwt_verify with HS256, RS256 or ES256
 *      (bits 2-3), at a time and skew taken from bits 4-7;
 *   3  base64url: decoding anything, and decode(encode(x)) == x.
 * The keys are test keys made for this file and protect nothing.
 */
#include <string.h>

#include <cjson/cJSON.h>
#include <uv.h>

#include "fuzz.h"
#include "jwt.h"
#include "util.h"

static const char hs_secret[] = "fuzz-secret";

static const char rsa_public[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAie3radFq6lnqkRmn/mK+\n"
    "DuIf6ZIjYXZy+DPe2KfVfWUGdbB8HB1FDI8pnDxTMK34lY6JsUwiFwgVrlTUcB9i\n"
    "KKxFKe35SFDmX/1iBJyeuWDOulWTN4PBBHsr/u3LddXc7rlFcUFfnK1rdzXias6C\n"
    "zHStvMsopaV2Gw7NzNM9KWPWNfZnXdUsDsLYEUibSwusvkMaQoMedw4D+B//s/3o\n"
    "wTTmvTZAeZ+QSVcfiRryWcHiJbFQG0vnCjO2jbdm4rdtZDZw+3pHlg/xPDbiMXkl\n"
    "jXir5iquXg+tY6XdskV0zyXJRx/3xB+WZaNyMLaat53ZmLq9o0+ONka71EGpn/ui\n"
    "eQIDAQAB\n"
    "-----END PUBLIC KEY-----\n";

static const char ec_private[] =
    "-----BEGIN EC PRIVATE KEY-----\n"
    "MHcCAQEEIKALFTBJwuD1oL9hdQ7TQf7rFTfjypi6W4fvVmvjpJhxoAoGCCqGSM49\n"
    "AwEHoUQDQgAE+66ti+tKMdEquxKYdg7LzCvXpSHAkoM1tZxuVkReI1sE1dOtss+c\n"
    "p396EFiSDSAGEMi1aIJ0zpaaqr+DgrL1fw==\n"
    "-----END EC PRIVATE KEY-----\n";

static const char ec_public[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE+66ti+tKMdEquxKYdg7LzCvXpSHA\n"
    "koM1tZxuVkReI1sE1dOtss+cp396EFiSDSAGEMi1aIJ0zpaaqr+DgrL1fw==\n"
    "-----END PUBLIC KEY-----\n";

/* 2023-11-14, a fixed "now" so that runs repeat. */
#define NOW 1700000000

static int ready;
static wsp__rng rng;
static wsp__jwt_key *keys;

/* A token over `claims` must verify with the key it was signed with, and
 * carry the iat and exp wsprobe put in (and the user's nbf, if any, may
 * make it not yet valid). */
static void check_token(const char *token, wsp_jwt_alg alg, const void *key,
                        size_t key_len, uint32_t ttl, const cJSON *claims) {
  char *out = NULL, err[128];
  const cJSON *nbf = cJSON_GetObjectItemCaseSensitive(claims, "nbf");
  int rc =
      wsp_jwt_verify(token, alg, key, key_len, NOW, 0, &out, err, sizeof(err));
  if (rc == WSP_ENOTYET) {
    FUZZ_CHECK(nbf != NULL);
    return;
  }
  if (rc != 0)
    fprintf(stderr, "token %s: %s\n", token, err);
  FUZZ_CHECK(rc == 0);
  {
    cJSON *c = cJSON_Parse(out);
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(c, "exp");
    const cJSON *iat = cJSON_GetObjectItemCaseSensitive(c, "iat");
    FUZZ_CHECK(cJSON_IsObject(c));
    FUZZ_CHECK(cJSON_IsNumber(iat) && iat->valuedouble == NOW);
    FUZZ_CHECK(cJSON_IsNumber(exp) && exp->valuedouble == (double)NOW + ttl);
    cJSON_Delete(c);
  }
  wsp_free(out);
}

static void claims_mode(const char *text, wsp_jwt_alg alg) {
  const void *key =
      alg == WSP_JWT_HS256 ? (const void *)hs_secret : (const void *)ec_private;
  size_t key_len =
      alg == WSP_JWT_HS256 ? sizeof(hs_secret) - 1 : sizeof(ec_private) - 1;
  const void *vkey =
      alg == WSP_JWT_HS256 ? (const void *)hs_secret : (const void *)ec_public;
  size_t vkey_len =
      alg == WSP_JWT_HS256 ? sizeof(hs_secret) - 1 : sizeof(ec_public) - 1;
  wsp_config *cfg = wsp_config_new();
  char *json = NULL, *token = NULL, err[128];
  cJSON *claims;
  FUZZ_CHECK(cfg != NULL);
  if (wsp_config_set_jwt_claims(cfg, text) != 0) {
    FUZZ_CHECK(wsp_config_last_error(cfg)[0] != '\0');
    FUZZ_CHECK(wsp_jwt_sign(alg, key, key_len, text, NOW, 300, &token) != 0);
    wsp_config_free(cfg);
    return;
  }
  claims = cJSON_Parse(cfg->jwt_spec.claims);
  FUZZ_CHECK(cJSON_IsObject(claims));
  FUZZ_CHECK(wsp_config_set_jwt_signing(cfg, alg, key, key_len) == 0);
  FUZZ_CHECK(wsp_config_to_json(cfg, 0, &json) == 0);
  {
    /* The signing key never appears in a report. The claims do, and may
     * spell anything: look everywhere but there. */
    cJSON *j = cJSON_Parse(json), *m;
    char *rest;
    FUZZ_CHECK(j != NULL);
    m = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "jwt"), "minted");
    FUZZ_CHECK(m != NULL);
    cJSON_DeleteItemFromObject(m, "claims");
    rest = cJSON_PrintUnformatted(j);
    FUZZ_CHECK(rest != NULL);
    FUZZ_CHECK(strstr(rest, alg == WSP_JWT_HS256 ? hs_secret : "MHcCAQEE") ==
               NULL);
    free(rest);
    cJSON_Delete(j);
    wsp_free(json);
  }

  FUZZ_CHECK(wsp_jwt_sign(alg, key, key_len, text, NOW, 300, &token) == 0);
  check_token(token, alg, vkey, vkey_len, 300, claims);
  wsp_free(token);
  token = NULL;

  FUZZ_CHECK(wsp__jwt_mint(&keys, &rng, &cfg->jwt_spec, 4294967295u, NULL, NOW,
                           &token, err, sizeof(err)) == 0);
  check_token(token, alg, vkey, vkey_len, cfg->jwt_spec.ttl, claims);
  free(token);
  cJSON_Delete(claims);
  wsp_config_free(cfg);
}

static void verify_mode(const char *text, uint8_t ctl) {
  static const struct {
    wsp_jwt_alg alg;
    const char *key;
    size_t len;
  } keys[] = {
      {WSP_JWT_HS256, hs_secret, sizeof(hs_secret) - 1},
      {WSP_JWT_RS256, rsa_public, sizeof(rsa_public) - 1},
      {WSP_JWT_ES256, ec_public, sizeof(ec_public) - 1},
      {WSP_JWT_HS256, "", 0},
  };
  const int64_t nows[] = {0, NOW, INT64_MAX / 2, -NOW};
  char *out = NULL, err[64];
  int k = ctl >> 2 & 3, rc;
  memset(err, 'x', sizeof(err));
  rc = wsp_jwt_verify(text, keys[k].alg, keys[k].key, keys[k].len,
                      nows[ctl >> 4 & 3], (ctl & 0x40) ? 0xffffffffu : 60, &out,
                      err, sizeof(err));
  FUZZ_CHECK(rc == 0 || rc == WSP_ETOKEN || rc == WSP_EEXPIRED ||
             rc == WSP_ENOTYET || rc == WSP_EINVAL);
  if (rc == 0) {
    cJSON *c = cJSON_Parse(out);
    FUZZ_CHECK(cJSON_IsObject(c));
    cJSON_Delete(c);
    wsp_free(out);
  } else {
    FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
  }
}

static void b64_mode(const uint8_t *data, size_t size) {
  uint8_t *dec = NULL, *back = NULL;
  char *enc = NULL;
  size_t dlen, elen, blen;
  if (wsp__b64url_decode((const char *)data, size, &dec, &dlen) == 0) {
    FUZZ_CHECK(dlen <= size);
    free(dec);
  }
  FUZZ_CHECK(wsp__b64url_encode(data, size, &enc, &elen) == 0);
  FUZZ_CHECK(strlen(enc) == elen && strpbrk(enc, "+/=") == NULL);
  FUZZ_CHECK(wsp__b64url_decode(enc, elen, &back, &blen) == 0);
  FUZZ_CHECK(blen == size && (size == 0 || memcmp(back, data, size) == 0));
  free(enc);
  free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text;
  uint8_t ctl;
  if (size < 1)
    return 0;
  if (!ready) {
    FUZZ_CHECK(wsp__rng_init(&rng) == 0);
    ready = 1;
  }
  ctl = data[0];
  data++;
  size--;
  if ((ctl & 3) == 3) {
    b64_mode(data, size);
    return 0;
  }
  if ((text = malloc(size + 1)) == NULL)
    return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  if ((ctl & 3) == 2)
    verify_mode(text, ctl);
  else
    claims_mode(text, (ctl & 3) == 0 ? WSP_JWT_HS256 : WSP_JWT_ES256);
  free(text);
  return 0;
}
