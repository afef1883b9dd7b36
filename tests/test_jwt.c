/*
 * JWT: RFC 7515 A.1 byte for byte, sign/verify round trips for HS256, RS256
 * and ES256 with keys made here, and every way a token must be refused.
 */
#include <stdlib.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>

#include "check.h"
#include "jwt.h"
#include "util.h"

static void test_rfc7515_a1(void) {
  /* The JWS Protected Header and Payload of RFC 7515 A.1, exact bytes. */
  static const char header[] = "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}";
  static const char payload[] = "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n "
                                "\"http://example.com/is_root\":true}";
  static const char jwk_k[] = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-"
                              "1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
  static const char expected[] =
      "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
      ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxl"
      "LmNvbS9pc19yb290Ijp0cnVlfQ"
      ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  char *h64, *p64, *s64, input[512], token[600];
  uint8_t *key, sig[64];
  size_t klen, slen;
  char *claims = NULL;

  CHECK_INT(wsp__b64url_decode(jwk_k, strlen(jwk_k), &key, &klen), 0);
  CHECK_INT(klen, 64);
  CHECK_INT(
      wsp__b64url_encode((const uint8_t *)header, strlen(header), &h64, NULL),
      0);
  CHECK_INT(
      wsp__b64url_encode((const uint8_t *)payload, strlen(payload), &p64, NULL),
      0);
  snprintf(input, sizeof(input), "%s.%s", h64, p64);
  CHECK_INT(wsp__jws_sign(WSP_JWT_HS256, key, klen, NULL,
                          (const uint8_t *)input, strlen(input), NULL, NULL,
                          sig, &slen),
            0);
  CHECK_INT(wsp__b64url_encode(sig, slen, &s64, NULL), 0);
  snprintf(token, sizeof(token), "%s.%s", input, s64);
  CHECK_STR(token, expected);
  /* Our verifier accepts it (before its expiry in 2011)... */
  CHECK_INT(wsp_jwt_verify(expected, WSP_JWT_HS256, key, klen, 1300819000, 0,
                           &claims, NULL, 0),
            0);
  CHECK(claims != NULL && strstr(claims, "\"iss\":\"joe\"") != NULL);
  wsp_free(claims);
  /* ...and says it has expired since. */
  CHECK_INT(wsp_jwt_verify(expected, WSP_JWT_HS256, key, klen, 1300819381, 0,
                           NULL, NULL, 0),
            WSP_EEXPIRED);
  CHECK_INT(wsp_jwt_verify(expected, WSP_JWT_HS256, key, klen, 1300819381, 60,
                           NULL, NULL, 0),
            0);
  free(h64);
  free(p64);
  free(s64);
  free(key);
}

static void test_b64url(void) {
  static const struct {
    const char *raw, *enc;
  } v[] = {{"", ""},        {"f", "Zg"},         {"fo", "Zm8"},
           {"foo", "Zm9v"}, {"\xfb\xff", "-_8"}, {"foob", "Zm9vYg"}};
  for (size_t i = 0; i < WSP__ARRAY_SIZE(v); i++) {
    char *e;
    uint8_t *d;
    size_t n;
    CHECK_INT(wsp__b64url_encode((const uint8_t *)v[i].raw, strlen(v[i].raw),
                                 &e, NULL),
              0);
    CHECK_STR(e, v[i].enc);
    CHECK_INT(wsp__b64url_decode(e, strlen(e), &d, &n), 0);
    CHECK_INT(n, strlen(v[i].raw));
    CHECK(memcmp(d, v[i].raw, n) == 0);
    free(e);
    free(d);
  }
  {
    uint8_t *d;
    size_t n;
    CHECK_INT(wsp__b64url_decode("Zm9v=", 5, &d, &n), WSP_ETOKEN);
    CHECK_INT(wsp__b64url_decode("Zm+v", 4, &d, &n), WSP_ETOKEN);
    CHECK_INT(wsp__b64url_decode("Z", 1, &d, &n), WSP_ETOKEN);
  }
}

/* Makes a PEM private key: RSA 2048 or EC P-256. */
static char *make_key(int rsa, mbedtls_ctr_drbg_context *drbg) {
  mbedtls_pk_context pk;
  char *pem = malloc(8192);
  mbedtls_pk_init(&pk);
  CHECK_INT(mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(
                                      rsa ? MBEDTLS_PK_RSA : MBEDTLS_PK_ECKEY)),
            0);
  if (rsa)
    CHECK_INT(mbedtls_rsa_gen_key(mbedtls_pk_rsa(pk), mbedtls_ctr_drbg_random,
                                  drbg, 2048, 65537),
              0);
  else
    CHECK_INT(mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(pk),
                                  mbedtls_ctr_drbg_random, drbg),
              0);
  CHECK_INT(mbedtls_pk_write_key_pem(&pk, (unsigned char *)pem, 8192), 0);
  mbedtls_pk_free(&pk);
  return pem;
}

/* Flips one character of the signature (or payload, at `where`). */
static char *tamper(const char *token, size_t where) {
  char *t = strdup(token);
  t[where] = t[where] == 'A' ? 'B' : 'A';
  return t;
}

static void round_trip(wsp_jwt_alg alg, const char *key, size_t klen,
                       const char *other_key, size_t olen) {
  char *tok = NULL, *claims = NULL, *bad, err[128];
  const int64_t now = 1700000000;
  CHECK_INT(wsp_jwt_sign(alg, key, klen, "{\"sub\":\"user-7\",\"aud\":\"a\"}",
                         now, 300, &tok),
            0);
  if (tok == NULL)
    return;
  CHECK_INT(wsp_jwt_verify(tok, alg, key, klen, now + 10, 0, &claims, err,
                           sizeof(err)),
            0);
  CHECK(claims && strstr(claims, "\"sub\":\"user-7\""));
  CHECK(claims && strstr(claims, "\"iat\":1700000000"));
  CHECK(claims && strstr(claims, "\"exp\":1700000300"));
  wsp_free(claims);
  CHECK_INT(
      wsp_jwt_verify(tok, alg, key, klen, now + 301, 0, NULL, err, sizeof(err)),
      WSP_EEXPIRED);
  CHECK_INT(
      wsp_jwt_verify(tok, alg, other_key, olen, now, 0, NULL, err, sizeof(err)),
      WSP_ETOKEN);
  CHECK_STR(err, "bad signature");
  bad = tamper(tok, strlen(tok) - 3);
  CHECK_INT(wsp_jwt_verify(bad, alg, key, klen, now, 0, NULL, err, sizeof(err)),
            WSP_ETOKEN);
  free(bad);
  bad = tamper(tok, strchr(tok, '.') - tok + 5); /* The payload. */
  CHECK(wsp_jwt_verify(bad, alg, key, klen, now, 0, NULL, NULL, 0) != 0);
  free(bad);
  /* Another algorithm than the caller's is refused whatever the key. */
  CHECK_INT(wsp_jwt_verify(tok,
                           alg == WSP_JWT_HS256 ? WSP_JWT_RS256 : WSP_JWT_HS256,
                           key, klen, now, 0, NULL, err, sizeof(err)),
            WSP_ETOKEN);
  CHECK(strstr(err, "algorithm") != NULL);
  wsp_free(tok);
}

static void test_algorithms(void) {
  mbedtls_entropy_context ent;
  mbedtls_ctr_drbg_context drbg;
  char *rsa, *rsa2, *ec, *ec2;
  mbedtls_entropy_init(&ent);
  mbedtls_ctr_drbg_init(&drbg);
  CHECK_INT(mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, NULL, 0),
            0);
  rsa = make_key(1, &drbg);
  rsa2 = make_key(1, &drbg);
  ec = make_key(0, &drbg);
  ec2 = make_key(0, &drbg);
  round_trip(WSP_JWT_HS256, "secret-one", 10, "secret-two", 10);
  round_trip(WSP_JWT_RS256, rsa, strlen(rsa), rsa2, strlen(rsa2));
  round_trip(WSP_JWT_ES256, ec, strlen(ec), ec2, strlen(ec2));
  {
    /* ES256 signatures are raw r||s: 64 bytes, 86 base64url characters. */
    char *tok;
    CHECK_INT(wsp_jwt_sign(WSP_JWT_ES256, ec, strlen(ec), NULL, 1, 1, &tok), 0);
    CHECK_INT(strlen(strrchr(tok, '.') + 1), 86);
    wsp_free(tok);
  }
  /* Key checks: the wrong kind of key for the algorithm is refused. */
  {
    char tok[8];
    char *out = tok;
    CHECK_INT(wsp_jwt_sign(WSP_JWT_RS256, ec, strlen(ec), NULL, 1, 1, &out),
              WSP_EINVAL);
    CHECK_INT(wsp_jwt_sign(WSP_JWT_ES256, rsa, strlen(rsa), NULL, 1, 1, &out),
              WSP_EINVAL);
    CHECK_INT(wsp_jwt_sign(WSP_JWT_RS256, "junk", 4, NULL, 1, 1, &out),
              WSP_EINVAL);
    CHECK_INT(wsp_jwt_sign(WSP_JWT_HS256, "k", 1, "[1]", 1, 1, &out),
              WSP_EJSON);
  }
  free(rsa);
  free(rsa2);
  free(ec);
  free(ec2);
  mbedtls_ctr_drbg_free(&drbg);
  mbedtls_entropy_free(&ent);
}

static void test_refusals(void) {
  static const char *key = "k";
  char *t, *none, *h64, *p64, *claims;
  char err[128];
  /* alg "none" with an empty signature. */
  CHECK_INT(
      wsp__b64url_encode((const uint8_t *)"{\"alg\":\"none\"}", 14, &h64, NULL),
      0);
  CHECK_INT(
      wsp__b64url_encode((const uint8_t *)"{\"sub\":\"x\"}", 11, &p64, NULL),
      0);
  none = malloc(strlen(h64) + strlen(p64) + 3);
  sprintf(none, "%s.%s.", h64, p64);
  CHECK_INT(
      wsp_jwt_verify(none, WSP_JWT_HS256, key, 1, 0, 0, NULL, err, sizeof(err)),
      WSP_ETOKEN);
  CHECK(strstr(err, "none") != NULL);
  free(none);
  free(h64);
  free(p64);
  CHECK_INT(wsp_jwt_verify("a.b", WSP_JWT_HS256, key, 1, 0, 0, NULL, NULL, 0),
            WSP_ETOKEN);
  CHECK_INT(
      wsp_jwt_verify("a.b.c.d", WSP_JWT_HS256, key, 1, 0, 0, NULL, NULL, 0),
      WSP_ETOKEN);
  CHECK_INT(
      wsp_jwt_verify("!!.??.**", WSP_JWT_HS256, key, 1, 0, 0, NULL, NULL, 0),
      WSP_ETOKEN);
  /* nbf in the future. */
  {
    wsp_config *cfg = wsp_config_new();
    CHECK_INT(wsp_config_set_jwt_signing(cfg, WSP_JWT_HS256, "k", 1), 0);
    CHECK_INT(wsp_config_set_jwt_claims(cfg, "{\"sub\":\"u-{index}-{index}\"}"),
              0);
    CHECK_INT(wsp_config_set_jwt_claims(cfg, "[]"), WSP_EJSON);
    CHECK_INT(wsp_config_set_jwt_nbf(cfg, 100), 0);
    CHECK_INT(wsp_config_set_jwt_signing(cfg, WSP_JWT_RS256, "junk", 4),
              WSP_EINVAL);
    CHECK(strstr(wsp_config_last_error(cfg), "junk") == NULL);
    {
      wsp__jwt_key *keys = NULL;
      wsp__rng rng;
      CHECK_INT(wsp__rng_init(&rng), 0);
      CHECK_INT(wsp__jwt_mint(&keys, &rng, &cfg->jwt_spec, 42, NULL, 1000, &t,
                              err, sizeof(err)),
                0);
      CHECK_INT(
          wsp_jwt_verify(t, WSP_JWT_HS256, "k", 1, 1000, 0, NULL, NULL, 0),
          WSP_ENOTYET);
      CHECK_INT(
          wsp_jwt_verify(t, WSP_JWT_HS256, "k", 1, 1100, 0, &claims, NULL, 0),
          0);
      CHECK(claims && strstr(claims, "\"sub\":\"u-42-42\"") != NULL);
      CHECK(claims && strstr(claims, "\"nbf\":1100") != NULL);
      wsp_free(claims);
      free(t);
      wsp__jwt_keys_free(&keys);
      wsp__rng_free(&rng);
    }
    wsp_config_free(cfg);
  }
}

/* The claims minted for probe i: from a seed, "{jti}" is a function of
 * the seed and the index alone; without one, it is new every time. */
static char *claims_of(const wsp_config *cfg, wsp__rng *rng, uint32_t index,
                       const uint64_t *seed) {
  wsp__jwt_key *keys = NULL;
  char *t = NULL, *claims = NULL, err[200];
  CHECK_INT(wsp__jwt_mint(&keys, rng, &cfg->jwt_spec, index, seed, 1000, &t,
                          err, sizeof(err)),
            0);
  CHECK_INT(wsp_jwt_verify(t, WSP_JWT_HS256, "k", 1, 1000, 0, &claims, NULL, 0),
            0);
  free(t);
  wsp__jwt_keys_free(&keys);
  return claims;
}

static void test_jti(void) {
  wsp_config *cfg = wsp_config_new();
  wsp__rng rng;
  uint64_t seed = 7, other = 8;
  char *a, *b, *c, *d, want[80];
  CHECK_INT(wsp__rng_init(&rng), 0);
  CHECK_INT(wsp_config_set_jwt_signing(cfg, WSP_JWT_HS256, "k", 1), 0);
  CHECK_INT(wsp_config_set_jwt_claims(
                cfg, "{\"jti\":\"{jti}\",\"sub\":[\"{index}/{jti}\"]}"),
            0);
  a = claims_of(cfg, &rng, 5, &seed);
  b = claims_of(cfg, &rng, 5, &seed);
  c = claims_of(cfg, &rng, 6, &seed);
  d = claims_of(cfg, &rng, 5, &other);
  snprintf(want, sizeof(want), "\"jti\":\"%016llx%016llx\"",
           (unsigned long long)wsp__rand_at(7, WSP__STREAM_JTI_HI, 5),
           (unsigned long long)wsp__rand_at(7, WSP__STREAM_JTI_LO, 5));
  CHECK(a && strstr(a, want) != NULL);
  CHECK(a && strstr(a, "\"5/") != NULL);
  CHECK_STR(a, b);
  CHECK(strcmp(a, c) != 0 && strcmp(a, d) != 0);
  wsp_free(a);
  wsp_free(b);
  a = claims_of(cfg, &rng, 5, NULL);
  b = claims_of(cfg, &rng, 5, NULL);
  CHECK(a && b && strcmp(a, b) != 0 && strlen(a) == strlen(b));
  CHECK(a && strstr(a, "{jti}") == NULL);
  wsp_free(a);
  wsp_free(b);
  wsp_free(c);
  wsp_free(d);
  wsp__rng_free(&rng);
  wsp_config_free(cfg);
}

int main(void) {
  test_jti();
  test_rfc7515_a1();
  test_b64url();
  test_algorithms();
  test_refusals();
  return check_status("test_jwt");
}
