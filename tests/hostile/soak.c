/*
 * Resource hygiene: campaigns of probes against failing servers, one kind
 * after another (a refused port, 503 for every upgrade, 1011 for every
 * message, a reset before the response), until TOTAL probes have run.
 * After each campaign it prints the process's open file descriptors and
 * VmRSS; the descriptors must be back at their starting count and the RSS
 * must stay flat once the first campaigns have warmed the allocator.
 *
 * Usage: soak RACESERVER HOSTILE_SERVER [TOTAL [PER_CAMPAIGN [CONCURRENCY]]]
 * (defaults 100000, 10000, 200).
 */
#include <dirent.h>
#include <malloc.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <uv.h>

#include "check.h"
#include "fixture.h"
#include "wsprobe.h"

/* AddressSanitizer keeps freed memory in quarantine (256 MiB by default):
 * RSS says nothing about leaks there, so it is printed but not checked. */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_CHECKED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RSS_CHECKED 0
#endif
#endif
#ifndef RSS_CHECKED
#define RSS_CHECKED 1
#endif

/* RSS (free memory given back) may drift this much above its level after
 * the warm-up campaigns; it drifted by at most 60 KiB in runs here. */
#define RSS_SLACK_KIB (2 * 1024)
/* Campaigns before the RSS baseline is taken (one of each kind). */
#define WARMUP 4

typedef struct {
  const char *name;    /* What fails. */
  int port;            /* Where. */
  int send;            /* Send a first message. */
  wsp_outcome outcome; /* What every probe must give. */
} kind;

static long open_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  long n = 0;
  if (d == NULL)
    return -1;
  while ((e = readdir(d)) != NULL)
    n += e->d_name[0] != '.';
  closedir(d);
  return n - 1; /* The directory's own descriptor. */
}

/*
 * VmRSS of what the process holds. glibc keeps freed memory at the top of
 * its heap once a large block (a campaign's row table) was freed from an
 * mmap: its trim threshold then rises to twice that block, and whether a
 * campaign's peak is given back depends on where its last blocks fell. The
 * free memory is given back first, so that RSS counts what is held and a
 * leak shows as growth however the heap was laid out.
 */
static long rss_kib(void) {
  char line[256];
  long v = -1;
  FILE *f;
  malloc_trim(0);
  if ((f = fopen("/proc/self/status", "r")) == NULL)
    return -1;
  while (fgets(line, sizeof(line), f) != NULL)
    if (strncmp(line, "VmRSS:", 6) == 0)
      v = strtol(line + 6, NULL, 10);
  fclose(f);
  return v;
}

/* A loopback port nothing listens on: bound once, then released. */
static int closed_port(void) {
  struct sockaddr_in sa;
  socklen_t len = sizeof(sa);
  int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
      getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
    port = ntohs(sa.sin_port);
  if (fd >= 0)
    close(fd);
  return port;
}

/* Runs one campaign; returns how many probes gave the expected outcome. */
static size_t campaign(const kind *k, uint32_t count, uint32_t conc) {
  char url[64];
  wsp_config *cfg = wsp_config_new();
  wsp_campaign *c = NULL;
  size_t good = 0, n;
  snprintf(url, sizeof(url), "ws://127.0.0.1:%d/", k->port);
  CHECK_INT(wsp_config_set_url(cfg, url), 0);
  CHECK_INT(wsp_config_set_timeouts(cfg, 5000), 0);
  if (k->send)
    CHECK_INT(wsp_config_set_message(cfg, "hello", 5, 0), 0);
  CHECK_INT(wsp_campaign_new(cfg, &c), 0);
  wsp_config_free(cfg);
  CHECK_INT(wsp_campaign_set_count(c, count), 0);
  CHECK_INT(wsp_campaign_set_concurrency(c, conc), 0);
  CHECK_INT(wsp_campaign_run(c), 0);
  n = wsp_campaign_result_count(c);
  CHECK_INT(n, count);
  for (size_t i = 0; i < n; i++) {
    const wsp_result *r = wsp_campaign_result(c, i);
    if (wsp_result_outcome(r) == k->outcome)
      good++;
    else if (i - good < 3)
      fprintf(stderr, "  %s: probe %zu: %s/%s: %s\n", k->name, i,
              wsp_outcome_name(wsp_result_outcome(r)),
              wsp_phase_name(wsp_result_phase(r)),
              wsp_result_error(r) ? wsp_result_error(r) : "");
  }
  CHECK_INT(wsp_campaign_free(c), 0);
  return good;
}

int main(int argc, char **argv) {
  fixture rs503, rs1011, rst;
  char *a503[] = {argv[1],          "--port",        "0",
                  "--quiet",        "--lifetime",    "900",
                  "--reject-first", "1000000000000", NULL};
  char *a1011[] = {argv[1], "--port",        "0",       "--quiet", "--lifetime",
                   "900",   "--ready-delay", "3600000", NULL};
  char *arst[] = {argv[2],  "--scenario", "rst-before-response",
                  "--port", "0",          "--lifetime",
                  "900",    NULL};
  uint64_t total, per, conc, done = 0;
  long fds0, rss_base = -1, rss_max = 0;
  uint64_t t0;
  kind kinds[4];
  int round = 0;

  if (argc < 3) {
    fprintf(stderr, "usage: soak RACESERVER HOSTILE_SERVER [TOTAL "
                    "[PER_CAMPAIGN [CONCURRENCY]]]\n");
    return 2;
  }
  total = argc > 3 ? strtoull(argv[3], NULL, 10) : 100000;
  per = argc > 4 ? strtoull(argv[4], NULL, 10) : 10000;
  conc = argc > 5 ? strtoull(argv[5], NULL, 10) : 200;
  if (total == 0 || per == 0 || conc == 0 || per > 10000000 || conc > per) {
    fprintf(stderr, "soak: bad numbers\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  if (fixture_start(&rs503, a503) != 0 || fixture_start(&rs1011, a1011) != 0 ||
      fixture_start(&rst, arst) != 0) {
    fixture_stop(&rs503);
    fixture_stop(&rs1011);
    fixture_stop(&rst);
    return 1;
  }
  kinds[0] = (kind){"refused", closed_port(), 0, WSP_OUTCOME_CONNECT_REFUSED};
  kinds[1] = (kind){"503", rs503.port, 0, WSP_OUTCOME_HANDSHAKE_REJECTED};
  kinds[2] = (kind){"1011", rs1011.port, 1, WSP_OUTCOME_CLOSED_BY_SERVER};
  kinds[3] = (kind){"rst", rst.port, 0, WSP_OUTCOME_ABNORMAL_CLOSURE};

  {
    /* libuv opens a pipe once per process, at the first loop (its signal
     * lock): count from after it. */
    uv_loop_t warm;
    uv_loop_init(&warm);
    uv_loop_close(&warm);
  }
  fds0 = open_fds();
  printf("start: %ld open fds, VmRSS %ld KiB\n", fds0, rss_kib());
  t0 = uv_hrtime();
  while (done < total) {
    const kind *k = &kinds[round % 4];
    uint32_t n = (uint32_t)(total - done < per ? total - done : per);
    uint64_t t = uv_hrtime();
    size_t good = campaign(k, n, (uint32_t)(conc < n ? conc : n));
    long fds = open_fds(), rss = rss_kib();
    double s = (double)(uv_hrtime() - t) / 1e9;
    done += n;
    round++;
    printf("%3d %-8s %6u probes in %5.2f s (%6.0f/s), %zu as expected; "
           "total %7llu; open fds %ld, VmRSS %ld KiB\n",
           round, k->name, n, s, n / s, good, (unsigned long long)done, fds,
           rss);
    fflush(stdout);
    CHECK_INT(good, n);
    CHECK_INT(fds, fds0);
    if (round == WARMUP)
      rss_base = rss;
    if (round > WARMUP && rss > rss_max)
      rss_max = rss;
  }
  printf("%llu probes in %.1f s; fds %ld -> %ld; VmRSS after warm-up %ld "
         "KiB, highest later %ld KiB\n",
         (unsigned long long)done, (double)(uv_hrtime() - t0) / 1e9, fds0,
         open_fds(), rss_base, rss_max);
  if (RSS_CHECKED && rss_base > 0 && rss_max > 0)
    CHECK(rss_max <= rss_base + RSS_SLACK_KIB);
  else if (!RSS_CHECKED)
    printf("RSS not checked under AddressSanitizer (quarantine)\n");
  fixture_stop(&rs503);
  fixture_stop(&rs1011);
  fixture_stop(&rst);
  return check_status("soak");
}
