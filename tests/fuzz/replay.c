/*
 * Runs a fuzz target over files, without libFuzzer: the seed corpora and
 * the regression inputs (tests/fuzz/regress/) replayed by a normal build,
 * so that every crash ever found stays fixed.
 *
 * Usage: fuzz_TARGET_replay FILE_OR_DIRECTORY...
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  uint8_t *buf = NULL;
  size_t len = 0, cap = 0, n;
  if (f == NULL) {
    perror(path);
    return -1;
  }
  do {
    if (len == cap) {
      uint8_t *b;
      cap = cap ? 2 * cap : 4096;
      if ((b = realloc(buf, cap)) == NULL) {
        free(buf);
        fclose(f);
        return -1;
      }
      buf = b;
    }
    n = fread(buf + len, 1, cap - len, f);
    len += n;
  } while (n > 0);
  fclose(f);
  LLVMFuzzerTestOneInput(buf, len);
  free(buf);
  return 0;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file in `dir`, in name order; returns how many. */
static int run_dir(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  char **names = NULL;
  size_t n = 0;
  int count = 0;
  if (d == NULL) {
    perror(dir);
    return -1;
  }
  while ((e = readdir(d)) != NULL) {
    char **v;
    if (e->d_name[0] == '.' ||
        (v = realloc(names, (n + 1) * sizeof(*v))) == NULL)
      continue;
    names = v;
    names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof(*names), by_name);
  for (size_t i = 0; i < n; i++) {
    char path[4096];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && run_file(path) == 0)
      count++;
    free(names[i]);
  }
  free(names);
  return count;
}

int main(int argc, char **argv) {
  int total = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    int n;
    if (stat(argv[i], &st) != 0) {
      perror(argv[i]);
      return 1;
    }
    n = S_ISDIR(st.st_mode) ? run_dir(argv[i]) : run_file(argv[i]) == 0;
    if (n < 0)
      return 1;
    total += n;
  }
  printf("%s: %d inputs replayed\n", argv[0], total);
  return total > 0 ? 0 : 1;
}
