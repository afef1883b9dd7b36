/*
 * wsprobe merge: combines the JSON reports of a campaign's shards into one
 * (wsp_report_merge()) and prints its summary.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "wsprobe.h"

/* Reads a whole file (a secret or a key) or exits with a usage error. */
static char *read_file(const char *opt, const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  size_t n = 0, cap = 0;
  if (f == NULL)
    cli_usage_error("%s: cannot read '%s': %s", opt, path, strerror(errno));
  for (;;) {
    if (n == cap) {
      cap = cap ? 2 * cap : 4096;
      if (cap > 1024 * 1024 || (buf = realloc(buf, cap)) == NULL)
        cli_usage_error("%s: '%s' is too large", opt, path);
    }
    size_t r = fread(buf + n, 1, cap - n, f);
    if (r == 0)
      break;
    n += r;
  }
  fclose(f);
  *len = n;
  return buf;
}

static int write_file(const char *path, const char *text) {
  FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
  if (f == NULL) {
    fprintf(stderr, "wsprobe: cannot write %s: %s\n", path, strerror(errno));
    return -1;
  }
  fputs(text, f);
  fputc('\n', f);
  if (f == stdout)
    return fflush(f) == 0 ? 0 : -1;
  if (fclose(f) != 0) {
    fprintf(stderr, "wsprobe: cannot write %s: %s\n", path, strerror(errno));
    return -1;
  }
  return 0;
}

/* wsprobe merge [--json FILE] [-q] REPORT.json... */
int cli_merge(int argc, char **argv) {
  static const struct option opts[] = {
      {"json", required_argument, NULL, 'j'},
      {"quiet", no_argument, NULL, 'q'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *json_path = NULL;
  char **texts, *merged = NULL, *text = NULL, err[256] = "";
  int quiet = 0, opt, n, status;
  size_t len;
  opterr = 0;
  while ((opt = getopt_long(argc, argv, ":j:qh", opts, NULL)) != -1) {
    if (opt == 'j')
      json_path = optarg;
    else if (opt == 'q')
      quiet = 1;
    else if (opt == 'h')
      return cli_help(stdout), EXIT_PASS;
    else if (opt == ':')
      cli_usage_error("merge: option %s needs a value", argv[optind - 1]);
    else
      cli_usage_error("merge: unknown option '%s'", argv[optind - 1]);
  }
  if ((n = argc - optind) < 1)
    cli_usage_error("merge: no reports given");
  if ((texts = calloc((size_t)n, sizeof(*texts))) == NULL)
    cli_usage_error("out of memory");
  for (int i = 0; i < n; i++) {
    texts[i] = read_file("merge", argv[optind + i], &len);
    texts[i] = realloc(texts[i], len + 1);
    texts[i][len] = '\0';
  }
  if (wsp_report_merge((const char *const *)texts, (size_t)n, &merged, err,
                       sizeof(err)) != 0)
    cli_usage_error("merge: %s", err);
  for (int i = 0; i < n; i++)
    free(texts[i]);
  free(texts);
  status = EXIT_PASS;
  if (json_path != NULL && write_file(json_path, merged) != 0)
    status = EXIT_FAIL;
  if (wsp_report_text_json(merged, &text) == 0) {
    if (!quiet)
      fputs(text, json_path && strcmp(json_path, "-") == 0 ? stderr : stdout);
    if (strstr(text, "result: PASS") == NULL)
      status = EXIT_FAIL;
    wsp_free(text);
  }
  wsp_free(merged);
  return status;
}
