/*
 * What the streamed JSON report costs: runs a campaign of N ws:// probes
 * at concurrency C (each sends "hi" and awaits the reply, offering a JWT
 * subprotocol, as bench/run.sh's throughput workload), then times
 * wsp_report_json_write() into a file, RUNS times. Prints one JSON line per
 * run and one with the medians: the writer's microseconds per probe and
 * its time as a share of the campaign's duration_ms (read back from the
 * report it wrote).
 *
 * Usage: report_bench URL N C RUNS OUT_FILE
 * Build: cc -O2 -I include bench/report_bench.c -L BUILD/lib -lwsprobe -luv
 *        -Wl,-rpath,BUILD/lib
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wsprobe.h"

static double clock_s(clockid_t id) {
  struct timespec t;
  clock_gettime(id, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double now_s(void) { return clock_s(CLOCK_MONOTONIC); }

/* The thread's CPU time: on a busy machine the wall clock also counts
 * the time the writer waited for a core. */
static double cpu_s(void) { return clock_s(CLOCK_THREAD_CPUTIME_ID); }

static int fwrite_cb(const char *data, size_t len, void *ud) {
  return fwrite(data, 1, len, ud) == len ? 0 : -1;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* campaign.duration_ms of the report at `path` (the head is small). */
static double duration_ms(const char *path) {
  char head[65536], *at;
  FILE *f = fopen(path, "rb");
  size_t n;
  if (f == NULL)
    return 0;
  n = fread(head, 1, sizeof(head) - 1, f);
  fclose(f);
  head[n] = '\0';
  at = strstr(head, "\"duration_ms\":");
  return at ? strtod(at + strlen("\"duration_ms\":"), NULL) : 0;
}

int main(int argc, char **argv) {
  double us[64], share[64], cpu_us[64];
  int runs;
  if (argc != 6 || (runs = atoi(argv[4])) < 1 || runs > 64) {
    fprintf(stderr, "usage: %s URL N C RUNS OUT_FILE\n", argv[0]);
    return 2;
  }
  for (int i = 0; i < runs; i++) {
    wsp_config *cfg = wsp_config_new();
    wsp_campaign *c = NULL;
    uint32_t n = (uint32_t)atol(argv[2]);
    FILE *f;
    double t0, t1, c0, c1, d;
    if (cfg == NULL || wsp_config_set_url(cfg, argv[1]) != 0 ||
        wsp_config_set_jwt(cfg, "bench.token.x", WSP_JWT_SUBPROTOCOL) != 0 ||
        wsp_config_set_message(cfg, "hi", 2, 0) != 0 ||
        wsp_campaign_new(cfg, &c) != 0 || wsp_campaign_set_count(c, n) != 0 ||
        wsp_campaign_set_concurrency(c, (uint32_t)atol(argv[3])) != 0 ||
        wsp_campaign_run(c) != 0) {
      fprintf(stderr, "report_bench: cannot run the campaign\n");
      return 1;
    }
    if ((f = fopen(argv[5], "wb")) == NULL) {
      perror(argv[5]);
      return 1;
    }
    t0 = now_s();
    c0 = cpu_s();
    if (wsp_report_json_write(c, 0, fwrite_cb, f) != 0 || fclose(f) != 0) {
      fprintf(stderr, "report_bench: cannot write the report\n");
      return 1;
    }
    c1 = cpu_s();
    t1 = now_s();
    d = duration_ms(argv[5]);
    us[i] = (t1 - t0) * 1e6 / n;
    cpu_us[i] = (c1 - c0) * 1e6 / n;
    share[i] = d > 0 ? (t1 - t0) * 1e3 / d : 0;
    printf("{\"run\": %d, \"probes\": %u, \"passed\": %zu, "
           "\"duration_ms\": %.1f, \"writer_ms\": %.2f, "
           "\"writer_us_per_probe\": %.3f, \"writer_cpu_us_per_probe\": %.3f, "
           "\"writer_share\": %.4f}\n",
           i + 1, n, wsp_campaign_passed(c), d, (t1 - t0) * 1e3, us[i],
           cpu_us[i], share[i]);
    fflush(stdout);
    wsp_campaign_free(c);
    wsp_config_free(cfg);
  }
  qsort(us, (size_t)runs, sizeof(*us), cmp_double);
  qsort(share, (size_t)runs, sizeof(*share), cmp_double);
  qsort(cpu_us, (size_t)runs, sizeof(*cpu_us), cmp_double);
  printf("{\"median_writer_us_per_probe\": %.3f, "
         "\"median_writer_cpu_us_per_probe\": %.3f, \"median_writer_share\": "
         "%.4f, \"runs\": %d}\n",
         us[runs / 2], cpu_us[runs / 2], share[runs / 2], runs);
  return 0;
}
