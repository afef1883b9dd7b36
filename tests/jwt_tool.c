/*
 * A command-line face of wsp_jwt_sign/wsp_jwt_verify for the interop tests:
 *   jwt_tool sign ALG KEYFILE CLAIMS_JSON NOW TTL   -> prints the token
 *   jwt_tool verify ALG KEYFILE TOKEN NOW           -> prints the claims
 * Exit 0 on success; 1 and the error name on stderr otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsprobe.h"

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *buf = malloc(1 << 20);
  if (f == NULL || buf == NULL)
    exit(2);
  *len = fread(buf, 1, (1 << 20) - 1, f);
  buf[*len] = '\0';
  fclose(f);
  return buf;
}

int main(int argc, char **argv) {
  size_t klen;
  char *key, *out = NULL, err[128] = "";
  int alg, rc;
  if (argc < 6 || (alg = wsp_jwt_alg_from_name(argv[2])) < 0) {
    fprintf(stderr, "usage: jwt_tool sign|verify ALG KEYFILE ...\n");
    return 2;
  }
  key = slurp(argv[3], &klen);
  if (strcmp(argv[1], "sign") == 0 && argc == 7)
    rc = wsp_jwt_sign((wsp_jwt_alg)alg, key, klen, argv[4],
                      strtoll(argv[5], NULL, 10),
                      (uint32_t)strtoul(argv[6], NULL, 10), &out);
  else
    rc = wsp_jwt_verify(argv[4], (wsp_jwt_alg)alg, key, klen,
                        strtoll(argv[5], NULL, 10), 0, &out, err, sizeof(err));
  free(key);
  if (rc != 0) {
    fprintf(stderr, "%s %s\n", wsp_err_name(rc), err);
    return 1;
  }
  puts(out);
  wsp_free(out);
  return 0;
}
