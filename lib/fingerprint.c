/*
 * The campaign fingerprint: a SHA-256 over what makes two runs the same
 * campaign, so that a merge can refuse shards of different campaigns. It
 * covers the target, the message, steps, expectations, headers (secret
 * values left out), the JWT settings but never the token or key, the
 * timeouts, the mode and its parameters, the count, the seed, the jitter
 * and the time slice. It leaves out what may differ between the machines
 * of one campaign without changing what is measured: concurrency, rate,
 * the loop-lag threshold, threads, output paths, a start time, and the
 * paths of CA and client certificate files (the TLS verification setting
 * itself is covered). The shard index and count are left out too: the
 * merge checks those itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <mbedtls/sha256.h>

#include "report_model.h"

/* The redacted config without machine-local file paths, as flat JSON.
 * The proxy is left out too: each shard reaches the server through its
 * own machine's proxy, or none. */
static char *config_part(const wsp_config *cfg) {
  char *flat = NULL, *out;
  cJSON *tree, *tls;
  if (wsp_config_to_json(cfg, 0, &flat) != 0)
    return NULL;
  tree = cJSON_Parse(flat);
  free(flat);
  if (tree == NULL)
    return NULL;
  cJSON_DeleteItemFromObjectCaseSensitive(tree, "proxy");
  cJSON_DeleteItemFromObjectCaseSensitive(tree, "noproxy");
  tls = cJSON_GetObjectItemCaseSensitive(tree, "tls");
  if (cJSON_IsObject(tls)) {
    cJSON_DeleteItemFromObjectCaseSensitive(tls, "ca_file");
    cJSON_DeleteItemFromObjectCaseSensitive(tls, "client_cert");
  }
  out = cJSON_PrintUnformatted(tree);
  cJSON_Delete(tree);
  return out;
}

int wsp__fingerprint(const wsp_campaign *c, char out[65]) {
  wsp__out o = {0};
  char *config = config_part(c->cfg);
  uint8_t hash[32];
  int rc;
  if (config == NULL)
    return WSP_ENOMEM;
  wsp__out_printf(&o,
                  "wsprobe campaign 1\nconfig %s\nmode %s\ncount %u\n"
                  "burst %d\nseed %llu\njitter_ms %u\nduration_ms %u\n"
                  "slice_ms %u\n",
                  config, wsp__mode_name(c->mode), c->count, c->burst != 0,
                  (unsigned long long)c->seed, c->jitter_ms, c->duration_ms,
                  c->slice_ms);
  free(config);
  if (c->mode == WSP__MODE_SWEEP) {
    wsp__out_printf(&o, "per_delay %u\ndelays", c->per_delay);
    for (size_t i = 0; i < c->ndelays; i++)
      wsp__out_printf(&o, " %u", c->delays[i]);
    wsp__out_puts(&o, "\n");
  } else if (c->mode == WSP__MODE_WINDOW) {
    wsp__out_printf(&o, "window %u %u %u %u\n", c->win_lo, c->win_hi,
                    c->win_res, c->win_trials);
  } else if (c->mode == WSP__MODE_CONCURRENCY) {
    wsp__out_printf(&o, "max_level %u\n", c->max_level);
  }
  if (o.failed) {
    rc = o.failed;
    free(o.p);
    return rc;
  }
  rc = mbedtls_sha256_ret((const unsigned char *)o.p, o.len, hash, 0);
  free(o.p);
  if (rc != 0)
    return WSP_ECRYPTO;
  for (size_t i = 0; i < sizeof(hash); i++)
    snprintf(out + 2 * i, 3, "%02x", hash[i]);
  return 0;
}

int wsp_campaign_fingerprint(const wsp_campaign *c, char *out, size_t len) {
  char fp[65];
  int rc;
  if (c == NULL || out == NULL || len < sizeof(fp))
    return WSP_EINVAL;
  if ((rc = wsp__fingerprint(c, fp)) != 0)
    return rc;
  memcpy(out, fp, sizeof(fp));
  return 0;
}
