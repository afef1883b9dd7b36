/*
 * JSON Web Tokens (RFC 7519) signed as JWS compact serialisation (RFC 7515):
 * HS256 (mbedtls_md_hmac), RS256 and ES256 (mbedtls_pk). ES256 signatures
 * are raw r||s (RFC 7518 3.4), not the DER mbedtls_pk_sign produces.
 *
 * Keys are parsed once per loop and cached on the context: a config holds
 * only the key's bytes, so probes on different threads never share the
 * state RSA blinding mutates.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <mbedtls/asn1.h>
#include <mbedtls/base64.h>
#include <mbedtls/bignum.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>

#include "jwt.h"
#include "util.h"

static const char *const alg_names[] = {"HS256", "RS256", "ES256"};

const char *wsp_jwt_alg_name(wsp_jwt_alg alg) {
  return (unsigned)alg < WSP__ARRAY_SIZE(alg_names) ? alg_names[alg] : NULL;
}

int wsp_jwt_alg_from_name(const char *name) {
  for (size_t i = 0; name && i < WSP__ARRAY_SIZE(alg_names); i++)
    if (strcmp(alg_names[i], name) == 0)
      return (int)i;
  return -1;
}

/* ---- base64url without padding ---- */

int wsp__b64url_encode(const uint8_t *in, size_t len, char **out,
                       size_t *olen) {
  size_t cap = 4 * ((len + 2) / 3) + 1, n = 0;
  char *s = malloc(cap);
  if (s == NULL)
    return WSP_ENOMEM;
  if (mbedtls_base64_encode((unsigned char *)s, cap, &n, in, len) != 0) {
    free(s);
    return WSP_ENOMEM;
  }
  while (n > 0 && s[n - 1] == '=')
    n--;
  for (size_t i = 0; i < n; i++)
    s[i] = s[i] == '+' ? '-' : s[i] == '/' ? '_' : s[i];
  s[n] = '\0';
  *out = s;
  if (olen != NULL)
    *olen = n;
  return 0;
}

int wsp__b64url_decode(const char *in, size_t len, uint8_t **out,
                       size_t *olen) {
  char *s;
  uint8_t *d;
  size_t padded = len + (4 - len % 4) % 4, n = 0;
  if (len % 4 == 1)
    return WSP_ETOKEN;
  if ((s = malloc(padded + 1)) == NULL)
    return WSP_ENOMEM;
  for (size_t i = 0; i < len; i++) {
    char c = in[i];
    if (c == '+' || c == '/' || c == '=') {
      free(s);
      return WSP_ETOKEN; /* Not base64url. */
    }
    s[i] = c == '-' ? '+' : c == '_' ? '/' : c;
  }
  memset(s + len, '=', padded - len);
  if ((d = malloc(padded / 4 * 3 + 1)) == NULL) {
    free(s);
    return WSP_ENOMEM;
  }
  if (mbedtls_base64_decode(d, padded / 4 * 3 + 1, &n, (unsigned char *)s,
                            padded) != 0) {
    free(s);
    free(d);
    return WSP_ETOKEN;
  }
  free(s);
  *out = d;
  *olen = n;
  return 0;
}

/* ---- keys ---- */

struct wsp__jwt_key {
  wsp_jwt_alg alg;           /* What the key signs with. */
  uint8_t *bytes;            /* The key as configured (secret or PEM). */
  size_t len;                /* Its length. */
  mbedtls_pk_context pk;     /* Parsed, for RS256 and ES256. */
  struct wsp__jwt_key *next; /* The context's next cached key. */
};

/* Parses a PEM (or DER) private key; PEM wants its terminating NUL. */
static int parse_private(mbedtls_pk_context *pk, const uint8_t *key, size_t len,
                         wsp_jwt_alg alg, char *err, size_t errlen) {
  uint8_t *z = malloc(len + 1);
  int rc;
  if (z == NULL)
    return WSP_ENOMEM;
  memcpy(z, key, len);
  z[len] = '\0';
  rc = mbedtls_pk_parse_key(pk, z, len + 1, NULL, 0);
  if (rc != 0)
    rc = mbedtls_pk_parse_key(pk, z, len, NULL, 0); /* DER */
  free(z);
  if (rc != 0) {
    snprintf(err, errlen, "cannot parse the %s private key (-0x%04x)",
             wsp_jwt_alg_name(alg), (unsigned)-rc);
    return WSP_EINVAL;
  }
  if (alg == WSP_JWT_RS256 && mbedtls_pk_get_type(pk) != MBEDTLS_PK_RSA) {
    snprintf(err, errlen, "RS256 needs an RSA key");
    return WSP_EINVAL;
  }
  if (alg == WSP_JWT_ES256 &&
      (!mbedtls_pk_can_do(pk, MBEDTLS_PK_ECDSA) ||
       mbedtls_pk_ec(*pk)->grp.id != MBEDTLS_ECP_DP_SECP256R1)) {
    snprintf(err, errlen, "ES256 needs a P-256 EC key");
    return WSP_EINVAL;
  }
  return 0;
}

/* Parses a public key, or the public half of a private one. */
static int parse_public(mbedtls_pk_context *pk, const uint8_t *key,
                        size_t len) {
  uint8_t *z = malloc(len + 1);
  int rc;
  if (z == NULL)
    return WSP_ENOMEM;
  memcpy(z, key, len);
  z[len] = '\0';
  rc = mbedtls_pk_parse_public_key(pk, z, len + 1);
  if (rc != 0)
    rc = mbedtls_pk_parse_public_key(pk, z, len);
  if (rc != 0) {
    mbedtls_pk_free(pk);
    mbedtls_pk_init(pk);
    rc = mbedtls_pk_parse_key(pk, z, len + 1, NULL, 0);
  }
  free(z);
  return rc == 0 ? 0 : WSP_EINVAL;
}

int wsp__jwt_check_key(wsp_jwt_alg alg, const uint8_t *key, size_t len,
                       char *err, size_t errlen) {
  mbedtls_pk_context pk;
  int rc;
  if (alg == WSP_JWT_HS256)
    return 0;
  mbedtls_pk_init(&pk);
  rc = parse_private(&pk, key, len, alg, err, errlen);
  mbedtls_pk_free(&pk);
  return rc;
}

static void key_free(wsp__jwt_key *k) {
  mbedtls_pk_free(&k->pk);
  free(k->bytes);
  free(k);
}

void wsp__jwt_keys_free(wsp__jwt_key **keys) {
  while (*keys != NULL) {
    wsp__jwt_key *next = (*keys)->next;
    key_free(*keys);
    *keys = next;
  }
}

static wsp__jwt_key *key_get(wsp__jwt_key **keys, wsp_jwt_alg alg,
                             const uint8_t *b, size_t len, char *err,
                             size_t errlen) {
  wsp__jwt_key *k;
  for (k = *keys; k != NULL; k = k->next)
    if (k->alg == alg && k->len == len && memcmp(k->bytes, b, len) == 0)
      return k;
  if ((k = calloc(1, sizeof(*k))) == NULL || (k->bytes = malloc(len)) == NULL) {
    free(k);
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  memcpy(k->bytes, b, len);
  k->len = len;
  k->alg = alg;
  mbedtls_pk_init(&k->pk);
  if (alg != WSP_JWT_HS256 &&
      parse_private(&k->pk, b, len, alg, err, errlen) != 0) {
    key_free(k);
    return NULL;
  }
  k->next = *keys;
  *keys = k;
  return k;
}

/* ---- JWS ---- */

static int sha256(const uint8_t *in, size_t len, uint8_t out[32]) {
  return mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), in, len,
                    out) == 0
             ? 0
             : WSP_ECRYPTO;
}

/* Signs `input` into sig (at least MBEDTLS_PK_SIGNATURE_MAX_SIZE bytes). */
int wsp__jws_sign(wsp_jwt_alg alg, const uint8_t *secret, size_t secret_len,
                  mbedtls_pk_context *pk, const uint8_t *input, size_t len,
                  int (*rng)(void *, unsigned char *, size_t), void *rng_ctx,
                  uint8_t *sig, size_t *sig_len) {
  uint8_t hash[32];
  if (alg == WSP_JWT_HS256) {
    *sig_len = 32;
    return mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), secret,
                           secret_len, input, len, sig) == 0
               ? 0
               : WSP_ECRYPTO;
  }
  if (sha256(input, len, hash) != 0 ||
      mbedtls_pk_sign(pk, MBEDTLS_MD_SHA256, hash, sizeof(hash), sig, sig_len,
                      rng, rng_ctx) != 0)
    return WSP_ECRYPTO;
  if (alg == WSP_JWT_ES256) {
    /* DER SEQUENCE { INTEGER r, INTEGER s } to 32-byte r || 32-byte s. */
    unsigned char *p = sig, *end = sig + *sig_len;
    size_t slen;
    mbedtls_mpi r, s;
    int rc;
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    rc =
        mbedtls_asn1_get_tag(
            &p, end, &slen, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) ||
        mbedtls_asn1_get_mpi(&p, end, &r) ||
        mbedtls_asn1_get_mpi(&p, end, &s) ||
        mbedtls_mpi_write_binary(&r, sig, 32) ||
        mbedtls_mpi_write_binary(&s, sig + 32, 32);
    mbedtls_mpi_free(&r);
    mbedtls_mpi_free(&s);
    if (rc != 0)
      return WSP_ECRYPTO;
    *sig_len = 64;
  }
  return 0;
}

/* The values "{index}" and "{jti}" in claims stand for. */
typedef struct {
  const char *name[2]; /* The placeholders. */
  char value[2][40];   /* What replaces them. */
} subst;

/* `s` with every placeholder of `t` replaced, or NULL without memory. */
static char *replace_all(const char *s, const subst *t) {
  size_t n = strlen(s) + 1;
  char *out, *w;
  for (int i = 0; i < 2; i++)
    for (const char *h = s; (h = strstr(h, t->name[i])) != NULL;
         h += strlen(t->name[i]))
      n += strlen(t->value[i]);
  if ((w = out = malloc(n)) == NULL)
    return NULL;
  while (*s) {
    int i = 0;
    while (i < 2 && strncmp(s, t->name[i], strlen(t->name[i])) != 0)
      i++;
    if (i == 2) {
      *w++ = *s++;
      continue;
    }
    w += sprintf(w, "%s", t->value[i]);
    s += strlen(t->name[i]);
  }
  *w = '\0';
  return out;
}

/* Replaces the placeholders of `t` in string values of `o`, recursively. */
static int template(cJSON *o, const subst *t) {
  cJSON *it;
  cJSON_ArrayForEach(it, o) {
    if (cJSON_IsString(it) && (strstr(it->valuestring, t->name[0]) != NULL ||
                               strstr(it->valuestring, t->name[1]) != NULL)) {
      char *out = replace_all(it->valuestring, t);
      if (out == NULL)
        return WSP_ENOMEM;
      if (!cJSON_SetValuestring(it, out)) {
        /* Older cJSON refuses a longer string: replace the item. */
        cJSON *repl = cJSON_CreateString(out);
        if (repl == NULL || !cJSON_ReplaceItemViaPointer(o, it, repl)) {
          free(out);
          cJSON_Delete(repl);
          return WSP_ENOMEM;
        }
        it = repl;
      }
      free(out);
    } else if (cJSON_IsObject(it) || cJSON_IsArray(it)) {
      int rc = template(it, t);
      if (rc != 0)
        return rc;
    }
  }
  return 0;
}

/*
 * The placeholders of probe `index`: "{jti}" is 128 bits as 32 hex
 * digits, from the campaign's seed and the index when there is a seed (a
 * shard mints what the unsharded campaign mints; the same seed repeats
 * them), else from the DRBG.
 */
static int substitutions(subst *t, uint32_t index, const uint64_t *seed,
                         int (*rng)(void *, unsigned char *, size_t),
                         void *rng_ctx) {
  uint64_t jti[2];
  t->name[0] = "{index}";
  t->name[1] = "{jti}";
  snprintf(t->value[0], sizeof(t->value[0]), "%u", index);
  if (seed != NULL) {
    jti[0] = wsp__rand_at(*seed, WSP__STREAM_JTI_HI, index);
    jti[1] = wsp__rand_at(*seed, WSP__STREAM_JTI_LO, index);
  } else if (rng(rng_ctx, (unsigned char *)jti, sizeof(jti)) != 0) {
    return WSP_ECRYPTO;
  }
  snprintf(t->value[1], sizeof(t->value[1]), "%016llx%016llx",
           (unsigned long long)jti[0], (unsigned long long)jti[1]);
  return 0;
}

static void set_number(cJSON *o, const char *name, double v) {
  /* Claims given as {"exp": 1, "exp": 2} keep both keys through cJSON:
   * remove every one, or a verifier may read the user's instead. */
  while (cJSON_GetObjectItemCaseSensitive(o, name) != NULL)
    cJSON_DeleteItemFromObjectCaseSensitive(o, name);
  cJSON_AddNumberToObject(o, name, v);
}

/* Builds the token for probe `index` at `now` (Unix seconds). */
static int mint(const wsp_jwt_spec *spec, wsp__jwt_key *k, uint32_t index,
                const uint64_t *seed, int64_t now,
                int (*rng)(void *, unsigned char *, size_t), void *rng_ctx,
                char **out) {
  char header[64], *claims_text = NULL, *h64 = NULL, *c64 = NULL, *s64 = NULL;
  uint8_t sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
  size_t hlen, clen, slen, sig_len = 0;
  cJSON *claims;
  char *input = NULL;
  subst t;
  int rc = WSP_ENOMEM;

  claims = spec->claims ? cJSON_Parse(spec->claims) : cJSON_CreateObject();
  if (claims == NULL)
    return WSP_ENOMEM;
  if ((rc = substitutions(&t, index, seed, rng, rng_ctx)) != 0 ||
      (rc = template(claims, &t)) != 0)
    goto done;
  rc = WSP_ENOMEM;
  set_number(claims, "iat", (double)now);
  set_number(claims, "exp", (double)(now + spec->ttl));
  if (spec->nbf_set)
    set_number(claims, "nbf", (double)(now + spec->nbf_offset));
  if ((claims_text = cJSON_PrintUnformatted(claims)) == NULL)
    goto done;
  snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"typ\":\"JWT\"}",
           wsp_jwt_alg_name(k->alg));
  if (wsp__b64url_encode((const uint8_t *)header, strlen(header), &h64,
                         &hlen) != 0 ||
      wsp__b64url_encode((const uint8_t *)claims_text, strlen(claims_text),
                         &c64, &clen) != 0)
    goto done;
  if ((input = malloc(hlen + clen + 2)) == NULL)
    goto done;
  memcpy(input, h64, hlen);
  input[hlen] = '.';
  memcpy(input + hlen + 1, c64, clen + 1);
  if ((rc = wsp__jws_sign(k->alg, k->bytes, k->len, &k->pk,
                          (const uint8_t *)input, hlen + 1 + clen, rng, rng_ctx,
                          sig, &sig_len)) != 0)
    goto done;
  if ((rc = wsp__b64url_encode(sig, sig_len, &s64, &slen)) != 0)
    goto done;
  rc = WSP_ENOMEM;
  if ((*out = malloc(hlen + clen + slen + 3)) == NULL)
    goto done;
  memcpy(*out, input, hlen + 1 + clen);
  (*out)[hlen + 1 + clen] = '.';
  memcpy(*out + hlen + 2 + clen, s64, slen + 1);
  rc = 0;
done:
  cJSON_Delete(claims);
  free(claims_text);
  free(h64);
  free(c64);
  free(s64);
  free(input);
  return rc;
}

int wsp__jwt_mint(wsp__jwt_key **keys, wsp__rng *rng, const wsp_jwt_spec *spec,
                  uint32_t index, const uint64_t *seed, int64_t now, char **out,
                  char *err, size_t errlen) {
  wsp__jwt_key *k =
      key_get(keys, spec->alg, spec->key, spec->key_len, err, errlen);
  if (k == NULL)
    return WSP_EINVAL;
  return mint(spec, k, index, seed, now, mbedtls_ctr_drbg_random, &rng->drbg,
              out);
}

int wsp_jwt_sign(wsp_jwt_alg alg, const void *key, size_t key_len,
                 const char *claims_json, int64_t now, uint32_t ttl,
                 char **out) {
  wsp_jwt_spec spec;
  wsp__jwt_key k;
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  char err[128];
  int rc;
  if (key == NULL || out == NULL || (unsigned)alg > WSP_JWT_ES256)
    return WSP_EINVAL;
  if (claims_json != NULL) {
    cJSON *c = cJSON_Parse(claims_json);
    int obj = cJSON_IsObject(c);
    cJSON_Delete(c);
    if (!obj)
      return WSP_EJSON;
  }
  memset(&spec, 0, sizeof(spec));
  spec.alg = alg;
  spec.claims = (char *)claims_json;
  spec.ttl = ttl;
  memset(&k, 0, sizeof(k));
  k.alg = alg;
  k.bytes = (uint8_t *)key;
  k.len = key_len;
  mbedtls_pk_init(&k.pk);
  mbedtls_entropy_init(&entropy);
  mbedtls_ctr_drbg_init(&drbg);
  if (alg != WSP_JWT_HS256 &&
      (rc = parse_private(&k.pk, key, key_len, alg, err, sizeof(err))) != 0)
    goto done;
  if (mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, NULL, 0)) {
    rc = WSP_ECRYPTO;
    goto done;
  }
  rc = mint(&spec, &k, 0, NULL, now, mbedtls_ctr_drbg_random, &drbg, out);
done:
  mbedtls_pk_free(&k.pk);
  mbedtls_ctr_drbg_free(&drbg);
  mbedtls_entropy_free(&entropy);
  return rc;
}

int wsp_jwt_verify(const char *token, wsp_jwt_alg alg, const void *key,
                   size_t key_len, int64_t now, uint32_t skew,
                   char **claims_out, char *err, size_t errlen) {
  const char *dot1, *dot2;
  uint8_t *hdr = NULL, *body = NULL, *sig = NULL;
  size_t hlen, blen, slen;
  cJSON *h = NULL, *c = NULL;
  const cJSON *a, *exp, *nbf;
  int rc;

  if (token == NULL || key == NULL || (unsigned)alg > WSP_JWT_ES256)
    return WSP_EINVAL;
  if ((dot1 = strchr(token, '.')) == NULL ||
      (dot2 = strchr(dot1 + 1, '.')) == NULL || strchr(dot2 + 1, '.'))
    return wsp__errorf(err, errlen, WSP_ETOKEN, "not a JWS compact token");
  if (wsp__b64url_decode(token, (size_t)(dot1 - token), &hdr, &hlen) != 0 ||
      wsp__b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), &body, &blen) !=
          0 ||
      wsp__b64url_decode(dot2 + 1, strlen(dot2 + 1), &sig, &slen) != 0) {
    rc = wsp__errorf(err, errlen, WSP_ETOKEN, "malformed base64url");
    goto done;
  }
  h = cJSON_ParseWithLength((const char *)hdr, hlen);
  a = cJSON_GetObjectItemCaseSensitive(h, "alg");
  if (!cJSON_IsString(a)) {
    rc = wsp__errorf(err, errlen, WSP_ETOKEN, "header without alg");
    goto done;
  }
  /* The caller's algorithm decides, never the token's ("alg": "none"). */
  if (strcmp(a->valuestring, wsp_jwt_alg_name(alg)) != 0) {
    rc = wsp__errorf(err, errlen, WSP_ETOKEN,
                     "algorithm %.16s where %s is required", a->valuestring,
                     wsp_jwt_alg_name(alg));
    goto done;
  }
  {
    const uint8_t *input = (const uint8_t *)token;
    size_t ilen = (size_t)(dot2 - token);
    uint8_t hash[32], mac[32];
    mbedtls_pk_context pk;
    int bad = 1;
    mbedtls_pk_init(&pk);
    if (alg == WSP_JWT_HS256) {
      size_t mlen;
      if (wsp__jws_sign(alg, key, key_len, NULL, input, ilen, NULL, NULL, mac,
                        &mlen) == 0 &&
          slen == 32) {
        uint8_t diff = 0;
        for (size_t i = 0; i < 32; i++)
          diff |= mac[i] ^ sig[i];
        bad = diff != 0;
      }
    } else if (parse_public(&pk, key, key_len) == 0 &&
               sha256(input, ilen, hash) == 0) {
      if (alg == WSP_JWT_RS256 && mbedtls_pk_get_type(&pk) == MBEDTLS_PK_RSA)
        bad = mbedtls_pk_verify(&pk, MBEDTLS_MD_SHA256, hash, 32, sig, slen);
      else if (alg == WSP_JWT_ES256 && slen == 64 &&
               mbedtls_pk_can_do(&pk, MBEDTLS_PK_ECDSA)) {
        mbedtls_ecp_keypair *ec = mbedtls_pk_ec(pk);
        mbedtls_mpi r, s;
        mbedtls_mpi_init(&r);
        mbedtls_mpi_init(&s);
        bad = mbedtls_mpi_read_binary(&r, sig, 32) ||
              mbedtls_mpi_read_binary(&s, sig + 32, 32) ||
              mbedtls_ecdsa_verify(&ec->grp, hash, 32, &ec->Q, &r, &s);
        mbedtls_mpi_free(&r);
        mbedtls_mpi_free(&s);
      }
    }
    mbedtls_pk_free(&pk);
    if (bad) {
      rc = wsp__errorf(err, errlen, WSP_ETOKEN, "bad signature");
      goto done;
    }
  }
  c = cJSON_ParseWithLength((const char *)body, blen);
  if (!cJSON_IsObject(c)) {
    rc = wsp__errorf(err, errlen, WSP_ETOKEN, "claims are not a JSON object");
    goto done;
  }
  exp = cJSON_GetObjectItemCaseSensitive(c, "exp");
  nbf = cJSON_GetObjectItemCaseSensitive(c, "nbf");
  if (exp != NULL &&
      (!cJSON_IsNumber(exp) || (double)now > exp->valuedouble + (double)skew)) {
    rc = wsp__errorf(err, errlen, WSP_EEXPIRED, "token expired");
    goto done;
  }
  if (nbf != NULL &&
      (!cJSON_IsNumber(nbf) || (double)now + (double)skew < nbf->valuedouble)) {
    rc = wsp__errorf(err, errlen, WSP_ENOTYET, "token not yet valid");
    goto done;
  }
  rc = 0;
  if (claims_out != NULL &&
      (*claims_out = wsp__strndup((const char *)body, blen)) == NULL)
    rc = WSP_ENOMEM;
done:
  cJSON_Delete(h);
  cJSON_Delete(c);
  free(hdr);
  free(body);
  free(sig);
  return rc;
}

int wsp_jwt_key_alg(const void *key, size_t key_len) {
  mbedtls_pk_context pk;
  int rc;
  if (key == NULL || key_len == 0)
    return WSP_EINVAL;
  mbedtls_pk_init(&pk);
  /* A public key, or the public half of a private one: either names its
   * type, and the type names the algorithm. */
  rc = parse_public(&pk, key, key_len);
  if (rc == 0) {
    if (mbedtls_pk_get_type(&pk) == MBEDTLS_PK_RSA)
      rc = WSP_JWT_RS256;
    else if (mbedtls_pk_can_do(&pk, MBEDTLS_PK_ECDSA) &&
             mbedtls_pk_ec(pk)->grp.id == MBEDTLS_ECP_DP_SECP256R1)
      rc = WSP_JWT_ES256;
    else
      rc = WSP_EINVAL;
  }
  mbedtls_pk_free(&pk);
  return rc;
}
