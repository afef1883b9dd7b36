/*
 * wsprobe: the command-line front end. It turns options into a config and a
 * campaign, runs them on its own loop (with a SIGINT handler beside them:
 * the library only adds its handles), and prints the reports. Every
 * decision about outcomes lives in the library.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <uv.h>

#include "wsprobe.h"

#define EXIT_PASS 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define EXIT_CANNOT_RUN 3
#define EXIT_MERGE 4

static const char usage[] =
    "usage: wsprobe [options] URL\n"
    "       wsprobe merge [--json FILE] [--html FILE] [--junit FILE]\n"
    "                     [--allow-partial] [--show-secrets] [-q] REPORT...\n"
    "\n"
    "Probe a WebSocket server: connect, upgrade, optionally send a first\n"
    "message and await the reply or expected events, close. Every probe ends\n"
    "in one outcome (ok, handshake_rejected, closed_by_server, ...) and the\n"
    "phase it happened in; only ok passes.\n"
    "\n"
    "  -n, --count N            probes to run (default 1); with --delays,\n"
    "                           probes per delay\n"
    "  -c, --concurrency N      probes in flight at once (default 1)\n"
    "      --rate R             start at most R probes per second\n"
    "      --duration SECONDS   keep probing this long (count is a cap)\n"
    "      --slice MS           time slice of outcomes over time (1000)\n"
    "      --burst              open -c connections, then send every first\n"
    "                           message in the same loop iteration\n"
    "      --delay-sweep LIST   delay sweep, e.g. 0,10,50,100,500 (ms)\n"
    "      --find-window[=MIN:MAX]\n"
    "                           find the first-message delay above which\n"
    "                           failures stop, by bisection between MIN and\n"
    "                           MAX ms (default 0:5000)\n"
    "      --resolution MS      ... to this resolution (default 1)\n"
    "      --trials N           ... with N probes per point (default 5)\n"
    "      --concurrency-sweep MAX\n"
    "                           bursts of 1, 2, 4, ... MAX connections\n"
    "      --seed N             seed of every random choice (recorded)\n"
    "      --jitter MS          add a random 0..MS to each delay\n"
    "      --shard I/N          run shard I (0-based) of N\n"
    "      --lag-threshold MS   flag probes run while the prober's loop was\n"
    "                           this late (default 5)\n"
    "      --expect-order       expected events in order, each once\n"
    "      --step STEP          a scripted conversation instead of --send,\n"
    "                           --delay and --expect (repeatable, in order):\n"
    "                           send:TEXT, expect:TYPE[:MS], wait:MS,\n"
    "                           close:CODE[:REASON]\n"
    "  -H, --header 'N: V'      add a request header (repeatable)\n"
    "  -p, --subprotocol P      offer a subprotocol (repeatable)\n"
    "      --jwt TOKEN          authenticate with this JWT\n"
    "      --jwt-secret SECRET  mint a JWT per probe, signed with SECRET\n"
    "      --jwt-secret-file F  ... with the secret in file F\n"
    "      --jwt-key PEMFILE    ... with this RSA or P-256 private key\n"
    "      --jwt-alg ALG        HS256 (default with a secret), RS256 or\n"
    "                           ES256 (default with a key)\n"
    "      --jwt-claims JSON    claims of minted tokens; \"{index}\" in a\n"
    "                           string becomes the probe's index\n"
    "      --jwt-ttl SECONDS    lifetime of minted tokens (default 300)\n"
    "      --jwt-placement P    subprotocol (jwt.<token>, default), bearer\n"
    "                           (Authorization: Bearer) or query\n"
    "                           (?access_token=); repeatable\n"
    "      --jwt-prefix P       subprotocol prefix (default jwt.)\n"
    "      --jwt-query-param N  query parameter name (default access_token)\n"
    "      --no-require-subprotocol\n"
    "                           accept a 101 that selects no subprotocol\n"
    "                           although the token was offered as one\n"
    "      --origin ORIGIN      send an Origin header\n"
    "  -s, --send TEXT          first message to send after the open\n"
    "      --binary             send the first message as a binary frame\n"
    "  -d, --delay MS           wait MS between open and first message\n"
    "      --hold MS            without --send: hold the connection MS\n"
    "  -e, --expect TYPE        require a JSON message with \"type\": TYPE\n"
    "                           (repeatable)\n"
    "  -t, --timeout MS         timeout of every phase (default 5000,\n"
    "                           closing 2000)\n"
    "      --connect-timeout MS, --upgrade-timeout MS,\n"
    "      --reply-timeout MS, --close-timeout MS\n"
    "                           timeout of one phase\n"
    "      --max-message BYTES  largest server message accepted (default\n"
    "                           1048576)\n"
    "      --cacert FILE        wss://: trust the CAs in FILE instead of the\n"
    "                           system bundle\n"
    "  -k, --insecure           wss://: do not verify the certificate\n"
    "                           (recorded in the report)\n"
    "      --cert FILE, --key FILE\n"
    "                           wss://: client certificate and key (mutual\n"
    "                           TLS)\n"
    "      --tls-timeout MS     timeout of the TLS handshake\n"
    "      --tls-resume on|off  wss://: resume TLS sessions (default on):\n"
    "                           only the first probe of a host does a full\n"
    "                           handshake; off: every probe does one\n"
    "  -j, --json FILE          write the JSON report to FILE ('-': stdout;\n"
    "                           the summary then goes to stderr)\n"
    "      --html FILE          write the HTML report to FILE: one page with\n"
    "                           the timeline of every probe and the charts\n"
    "      --junit FILE         write a JUnit XML report to FILE (a test\n"
    "                           case per probe, or per delay of a sweep)\n"
    "  -q, --quiet              no human summary\n"
    "      --show-secrets       show tokens and secret headers in reports\n"
    "  -h, --help               show this help\n"
    "  -V, --version            show the version\n"
    "\n"
    "\n"
    "merge: combines the JSON reports of the shards (--shard I/N) of one\n"
    "campaign into one report: counts add up, histograms merge exactly,\n"
    "probes return to index order. Reports are streamed (any size). A\n"
    "missing or repeated shard, or reports of different campaigns, are\n"
    "refused; --allow-partial merges the shards given and marks the report\n"
    "partial (it fails). Prints the summary; --json, --html and --junit\n"
    "write the merged report. One report alone is rendered as it is.\n"
    "\n"
    "Exit status: 0 every probe passed, 1 a probe failed, 2 usage error,\n"
    "3 a report cannot be written, 4 merge refused or partial.\n";

enum {
  OPT_JWT = 256,
  OPT_JWT_PLACEMENT,
  OPT_ORIGIN,
  OPT_BINARY,
  OPT_HOLD,
  OPT_CONNECT_TIMEOUT,
  OPT_UPGRADE_TIMEOUT,
  OPT_REPLY_TIMEOUT,
  OPT_CLOSE_TIMEOUT,
  OPT_MAX_MESSAGE,
  OPT_SHOW_SECRETS,
  OPT_CACERT,
  OPT_CERT,
  OPT_KEY,
  OPT_TLS_TIMEOUT,
  OPT_TLS_RESUME,
  OPT_JWT_SECRET,
  OPT_JWT_SECRET_FILE,
  OPT_JWT_KEY,
  OPT_JWT_ALG,
  OPT_JWT_CLAIMS,
  OPT_JWT_TTL,
  OPT_JWT_PREFIX,
  OPT_JWT_QUERY_PARAM,
  OPT_NO_REQUIRE_SUBPROTOCOL,
  OPT_RATE,
  OPT_DURATION,
  OPT_SLICE,
  OPT_BURST,
  OPT_DELAYS,
  OPT_WINDOW,
  OPT_RESOLUTION,
  OPT_TRIALS,
  OPT_CONC_SWEEP,
  OPT_SEED,
  OPT_JITTER,
  OPT_SHARD,
  OPT_LAG,
  OPT_EXPECT_ORDER,
  OPT_HTML,
  OPT_JUNIT,
  OPT_STEP,
};

static const struct option long_opts[] = {
    {"count", required_argument, NULL, 'n'},
    {"concurrency", required_argument, NULL, 'c'},
    {"header", required_argument, NULL, 'H'},
    {"subprotocol", required_argument, NULL, 'p'},
    {"jwt", required_argument, NULL, OPT_JWT},
    {"jwt-placement", required_argument, NULL, OPT_JWT_PLACEMENT},
    {"jwt-secret", required_argument, NULL, OPT_JWT_SECRET},
    {"jwt-secret-file", required_argument, NULL, OPT_JWT_SECRET_FILE},
    {"jwt-key", required_argument, NULL, OPT_JWT_KEY},
    {"jwt-alg", required_argument, NULL, OPT_JWT_ALG},
    {"jwt-claims", required_argument, NULL, OPT_JWT_CLAIMS},
    {"jwt-ttl", required_argument, NULL, OPT_JWT_TTL},
    {"jwt-prefix", required_argument, NULL, OPT_JWT_PREFIX},
    {"jwt-query-param", required_argument, NULL, OPT_JWT_QUERY_PARAM},
    {"no-require-subprotocol", no_argument, NULL, OPT_NO_REQUIRE_SUBPROTOCOL},
    {"origin", required_argument, NULL, OPT_ORIGIN},
    {"send", required_argument, NULL, 's'},
    {"binary", no_argument, NULL, OPT_BINARY},
    {"delay", required_argument, NULL, 'd'},
    {"hold", required_argument, NULL, OPT_HOLD},
    {"expect", required_argument, NULL, 'e'},
    {"timeout", required_argument, NULL, 't'},
    {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
    {"upgrade-timeout", required_argument, NULL, OPT_UPGRADE_TIMEOUT},
    {"reply-timeout", required_argument, NULL, OPT_REPLY_TIMEOUT},
    {"close-timeout", required_argument, NULL, OPT_CLOSE_TIMEOUT},
    {"max-message", required_argument, NULL, OPT_MAX_MESSAGE},
    {"html", required_argument, NULL, OPT_HTML},
    {"junit", required_argument, NULL, OPT_JUNIT},
    {"cacert", required_argument, NULL, OPT_CACERT},
    {"insecure", no_argument, NULL, 'k'},
    {"cert", required_argument, NULL, OPT_CERT},
    {"key", required_argument, NULL, OPT_KEY},
    {"tls-timeout", required_argument, NULL, OPT_TLS_TIMEOUT},
    {"tls-resume", required_argument, NULL, OPT_TLS_RESUME},
    {"rate", required_argument, NULL, OPT_RATE},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"slice", required_argument, NULL, OPT_SLICE},
    {"burst", no_argument, NULL, OPT_BURST},
    {"delay-sweep", required_argument, NULL, OPT_DELAYS},
    {"delays", required_argument, NULL, OPT_DELAYS},
    {"find-window", optional_argument, NULL, OPT_WINDOW},
    {"window-search", required_argument, NULL, OPT_WINDOW},
    {"resolution", required_argument, NULL, OPT_RESOLUTION},
    {"trials", required_argument, NULL, OPT_TRIALS},
    {"concurrency-sweep", required_argument, NULL, OPT_CONC_SWEEP},
    {"seed", required_argument, NULL, OPT_SEED},
    {"jitter", required_argument, NULL, OPT_JITTER},
    {"shard", required_argument, NULL, OPT_SHARD},
    {"lag-threshold", required_argument, NULL, OPT_LAG},
    {"expect-order", no_argument, NULL, OPT_EXPECT_ORDER},
    {"step", required_argument, NULL, OPT_STEP},
    {"json", required_argument, NULL, 'j'},
    {"quiet", no_argument, NULL, 'q'},
    {"show-secrets", no_argument, NULL, OPT_SHOW_SECRETS},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/* Prints one line naming the problem and exits with 2. */
static void die_usage(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void die_usage(const char *fmt, ...) {
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  /* One line, whatever the offending argument held. */
  for (char *c = line; *c; c++)
    if ((unsigned char)*c < 0x20 || *c == 0x7f)
      *c = '?';
  fprintf(stderr, "wsprobe: %s (see --help)\n", line);
  exit(EXIT_USAGE);
}

/* A decimal number in [min, max], or a usage error naming the option. */
static unsigned long long number(const char *opt, const char *s,
                                 unsigned long long min,
                                 unsigned long long max) {
  char *end;
  unsigned long long v;
  if (*s < '0' || *s > '9')
    die_usage("%s: '%s' is not a non-negative integer", opt, s);
  errno = 0;
  v = strtoull(s, &end, 10);
  if (*end != '\0')
    die_usage("%s: '%s' is not a non-negative integer", opt, s);
  if (errno == ERANGE || v < min || v > max)
    die_usage("%s: %s is out of range (%llu-%llu)", opt, s, min, max);
  return v;
}

/* A config setter's failure: its own one-line message. */
static void check(wsp_config *cfg, int rc) {
  if (rc != 0)
    die_usage("%s", wsp_config_last_error(cfg));
}

typedef struct {
  wsp_campaign *campaign; /* What runs. */
  uv_signal_t sigint;     /* Ctrl-C cancels the campaign. */
  int interrupted;        /* SIGINT arrived. */
  uv_timer_t progress;    /* Redraws the progress line. */
  int show_progress;      /* stderr is a terminal and not --quiet. */
  uint64_t done;          /* Probes ended. */
  uint64_t failed;        /* Of which did not pass. */
  uint64_t total;         /* Planned, 0 when open-ended. */
  uint64_t t0;            /* uv_hrtime() at start. */
} app;

static void on_probe_done(wsp_campaign *c, const wsp_result *r, void *ud) {
  app *a = ud;
  (void)c;
  a->done++;
  a->failed += !wsp_result_passed(r);
}

static void draw_progress(app *a, int final) {
  double secs = (double)(uv_hrtime() - a->t0) / 1e9;
  double rate = secs > 0 ? (double)a->done / secs : 0;
  if (a->total > 0 && rate > 0 && a->done < a->total)
    fprintf(stderr, "\r%llu/%llu probes, %.0f/s, %llu failed, ETA %.0fs   ",
            (unsigned long long)a->done, (unsigned long long)a->total, rate,
            (unsigned long long)a->failed, (double)(a->total - a->done) / rate);
  else
    fprintf(stderr, "\r%llu probes, %.0f/s, %llu failed            ",
            (unsigned long long)a->done, rate, (unsigned long long)a->failed);
  if (final)
    fputs("\r\033[K", stderr);
}

static void on_progress(uv_timer_t *t) { draw_progress(t->data, 0); }

/* A list of delays: "0,10,50" (ms). */
static size_t parse_delays(const char *s, uint32_t **out) {
  size_t n = 1, k = 0;
  uint32_t *d;
  char *copy, *tok, *save = NULL;
  for (const char *c = s; *c; c++)
    n += *c == ',';
  if (n > 10000 || (d = calloc(n, sizeof(*d))) == NULL ||
      (copy = strdup(s)) == NULL)
    die_usage("--delay-sweep: too many delays");
  for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
    d[k++] = (uint32_t)number("--delay-sweep", tok, 0, 3600000);
  if (k != n)
    die_usage("--delay-sweep: '%s' has an empty entry", s);
  free(copy);
  *out = d;
  return n;
}

/* Two numbers around a separator: "LO:HI", "I/N". */
static void parse_pair(const char *opt, const char *s, char sep,
                       unsigned long long max, unsigned long long *a,
                       unsigned long long *b) {
  const char *m = strchr(s, sep);
  char first[32];
  if (m == NULL || (size_t)(m - s) >= sizeof(first))
    die_usage("%s: '%s' is not of the form A%cB", opt, s, sep);
  memcpy(first, s, (size_t)(m - s));
  first[m - s] = '\0';
  *a = number(opt, first, 0, max);
  *b = number(opt, m + 1, 0, max);
}

/* --step send:TEXT | expect:TYPE[:MS] | wait:MS | close:CODE[:REASON] */
static void add_step(wsp_config *cfg, const char *s) {
  if (strncmp(s, "send:", 5) == 0) {
    check(cfg, wsp_config_add_step_send(cfg, s + 5, strlen(s + 5), 0));
  } else if (strncmp(s, "expect:", 7) == 0) {
    const char *type = s + 7, *colon = strrchr(type, ':');
    unsigned long long ms = 0;
    char buf[260];
    if (colon != NULL && colon[1] >= '0' && colon[1] <= '9' &&
        strspn(colon + 1, "0123456789") == strlen(colon + 1)) {
      ms = number("--step expect", colon + 1, 1, 3600000);
      if ((size_t)(colon - type) >= sizeof(buf))
        die_usage("--step expect: type too long");
      memcpy(buf, type, (size_t)(colon - type));
      buf[colon - type] = '\0';
      type = buf;
    }
    check(cfg, wsp_config_add_step_expect(cfg, type, (uint32_t)ms));
  } else if (strncmp(s, "wait:", 5) == 0) {
    check(cfg, wsp_config_add_step_wait(
                   cfg, (uint32_t)number("--step wait", s + 5, 0, 3600000)));
  } else if (strncmp(s, "close:", 6) == 0) {
    const char *colon = strchr(s + 6, ':');
    char code[8];
    size_t n = colon ? (size_t)(colon - (s + 6)) : strlen(s + 6);
    if (n == 0 || n >= sizeof(code))
      die_usage("--step close: '%s' has no code", s);
    memcpy(code, s + 6, n);
    code[n] = '\0';
    check(cfg, wsp_config_add_step_close(
                   cfg, (uint16_t)number("--step close", code, 0, 65535),
                   colon ? colon + 1 : NULL));
  } else {
    die_usage("--step: '%.40s' is not send:, expect:, wait: or close:", s);
  }
}

/* Raises the open-files limit as far as allowed; 0 if `need` fits. */
static int raise_nofile(uint64_t need, rlim_t *have) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return 0;
  if (rl.rlim_cur < rl.rlim_max && rl.rlim_cur < need) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  *have = rl.rlim_cur;
  return rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need ? 0 : -1;
}

static void on_sigint(uv_signal_t *s, int signum) {
  app *a = s->data;
  (void)signum;
  a->interrupted = 1;
  wsp_campaign_cancel(a->campaign);
}

static void on_done(wsp_campaign *c, void *ud) {
  app *a = ud;
  (void)c;
  uv_close((uv_handle_t *)&a->sigint, NULL);
  if (a->show_progress) {
    draw_progress(a, 1);
    uv_close((uv_handle_t *)&a->progress, NULL);
  }
}

/* Reads a whole file (a secret or a key) or exits with a usage error. */
static char *read_file(const char *opt, const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  size_t n = 0, cap = 0;
  if (f == NULL)
    die_usage("%s: cannot read '%s': %s", opt, path, strerror(errno));
  for (;;) {
    if (n == cap) {
      cap = cap ? 2 * cap : 4096;
      if (cap > 1024 * 1024 || (buf = realloc(buf, cap)) == NULL)
        die_usage("%s: '%s' is too large", opt, path);
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

static int fwrite_cb(const char *data, size_t len, void *ud) {
  return fwrite(data, 1, len, ud) == len ? 0 : -1;
}

/* Each report path given: one that cannot be written ends the run before
 * it starts (exit 3). */
static void check_paths(const char *const *paths, size_t n) {
  char err[512];
  for (size_t i = 0; i < n; i++)
    if (paths[i] != NULL && wsp_report_path_check(paths[i], err, sizeof(err)))
      exit((fprintf(stderr, "wsprobe: %s\n", err), EXIT_CANNOT_RUN));
}

/* Writes every report asked for, the summary unless quiet; returns the
 * exit status: the verdict's, or 3 when a report cannot be written. */
static int write_reports(const wsp_report *rep, const char *const paths[3],
                         unsigned flags, int quiet) {
  static const wsp_report_format formats[3] = {WSP_REPORT_JSON, WSP_REPORT_HTML,
                                               WSP_REPORT_JUNIT};
  int status = wsp_verdict_exit_code(wsp_report_verdict(rep)), to_stdout = 0;
  char err[512];
  for (int i = 0; i < 3; i++) {
    if (paths[i] == NULL)
      continue;
    to_stdout |= strcmp(paths[i], "-") == 0;
    /* The HTML and JUnit reports never show secrets: they are made to be
     * shared (CI artifacts, attachments). */
    if (wsp_report_save(rep, formats[i], i == 0 ? flags : 0, paths[i], err,
                        sizeof(err)) != 0) {
      fprintf(stderr, "wsprobe: %s\n", err);
      status = EXIT_CANNOT_RUN;
    }
  }
  /* Any report on stdout sends the summary to stderr. */
  if (!quiet)
    wsp_report_write(rep, WSP_REPORT_TEXT, 0, fwrite_cb,
                     to_stdout ? stderr : stdout);
  return status;
}

/* wsprobe merge [--json FILE] [--html FILE] [--junit FILE]
 * [--allow-partial] [--show-secrets] [-q] REPORT... */
static int merge_main(int argc, char **argv) {
  static const struct option opts[] = {
      {"json", required_argument, NULL, 'j'},
      {"html", required_argument, NULL, OPT_HTML},
      {"junit", required_argument, NULL, OPT_JUNIT},
      {"allow-partial", no_argument, NULL, 'p'},
      {"show-secrets", no_argument, NULL, OPT_SHOW_SECRETS},
      {"quiet", no_argument, NULL, 'q'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *paths[3] = {NULL, NULL, NULL};
  unsigned merge_flags = 0, flags = 0;
  wsp_report *rep = NULL;
  char err[512] = "";
  int quiet = 0, opt, n, rc, status;
  opterr = 0;
  while ((opt = getopt_long(argc, argv, ":j:qh", opts, NULL)) != -1) {
    if (opt == 'j')
      paths[0] = optarg;
    else if (opt == OPT_HTML)
      paths[1] = optarg;
    else if (opt == OPT_JUNIT)
      paths[2] = optarg;
    else if (opt == 'p')
      merge_flags |= WSP_MERGE_ALLOW_PARTIAL;
    else if (opt == OPT_SHOW_SECRETS)
      flags |= WSP_REPORT_SHOW_SECRETS;
    else if (opt == 'q')
      quiet = 1;
    else if (opt == 'h')
      return fputs(usage, stdout), EXIT_PASS;
    else if (opt == ':')
      die_usage("merge: option %s needs a value", argv[optind - 1]);
    else
      die_usage("merge: unknown option '%s'", argv[optind - 1]);
  }
  if ((n = argc - optind) < 1)
    die_usage("merge: no reports given");
  check_paths(paths, 3);
  rc = wsp_report_merge_files((const char *const *)argv + optind, (size_t)n,
                              merge_flags, &rep, err, sizeof(err));
  if (rc != 0) {
    fprintf(stderr, "wsprobe merge: %s%s\n", err,
            rc == WSP_EMERGE && strstr(err, "missing") != NULL
                ? " (--allow-partial merges the shards given)"
                : "");
    return EXIT_MERGE;
  }
  status = write_reports(rep, paths, flags, quiet);
  wsp_report_free(rep);
  return status;
}

int main(int argc, char **argv) {
  wsp_config *cfg = wsp_config_new();
  const char *json_path = NULL, *jwt = NULL, *send = NULL;
  const char *cert = NULL, *key = NULL, *jwt_alg = NULL;
  const char *html_path = NULL, *junit_path = NULL;
  char *jwt_key = NULL;
  size_t jwt_key_len = 0;
  int jwt_key_is_pem = 0;
  unsigned placement = 0;
  uint32_t count = 1, concurrency = 1, *delays = NULL;
  size_t ndelays = 0;
  double rate = 0;
  unsigned long long duration = 0, slice = 0, seed = 0, jitter = 0;
  unsigned long long win_lo = 0, win_hi = 0, resolution = 1, trials = 5;
  unsigned long long conc_sweep = 0, shard_i = 0, shard_n = 1, lag = 0;
  int burst = 0, have_seed = 0, window = 0, have_steps = 0;
  rlim_t nofile;
  int binary = 0, quiet = 0, show_secrets = 0, opt, rc, status;
  uv_loop_t loop;
  wsp_ctx *ctx = NULL;
  app a = {0};

  signal(SIGPIPE, SIG_IGN); /* A reset connection is an outcome. */
  if (argc > 1 && strcmp(argv[1], "merge") == 0) {
    wsp_config_free(cfg);
    return merge_main(argc - 1, argv + 1);
  }
  if (cfg == NULL) {
    fputs("wsprobe: out of memory\n", stderr);
    return EXIT_USAGE;
  }
  opterr = 0;
  while ((opt = getopt_long(argc, argv, ":n:c:H:p:s:d:e:t:j:kqhV", long_opts,
                            NULL)) != -1) {
    const char *name = optind > 1 ? argv[optind - 1] : "?";
    switch (opt) {
    case 'n':
      count = (uint32_t)number("--count", optarg, 1, 10000000);
      break;
    case 'c':
      concurrency = (uint32_t)number("--concurrency", optarg, 1, 1000000);
      break;
    case 'H':
      check(cfg, wsp_config_add_header_line(cfg, optarg));
      break;
    case 'p':
      check(cfg, wsp_config_add_subprotocol(cfg, optarg));
      break;
    case OPT_JWT:
      jwt = optarg;
      break;
    case OPT_JWT_PLACEMENT:
      if (strcmp(optarg, "subprotocol") == 0)
        placement |= WSP_JWT_SUBPROTOCOL;
      else if (strcmp(optarg, "bearer") == 0)
        placement |= WSP_JWT_BEARER;
      else if (strcmp(optarg, "query") == 0)
        placement |= WSP_JWT_QUERY;
      else
        die_usage("--jwt-placement: '%s' is not subprotocol, bearer or "
                  "query",
                  optarg);
      break;
    case OPT_JWT_SECRET:
      if (jwt_key != NULL)
        die_usage("give one of --jwt-secret, --jwt-secret-file, --jwt-key");
      jwt_key_len = strlen(optarg);
      jwt_key = strdup(optarg);
      break;
    case OPT_JWT_SECRET_FILE:
    case OPT_JWT_KEY:
      if (jwt_key != NULL)
        die_usage("give one of --jwt-secret, --jwt-secret-file, --jwt-key");
      jwt_key =
          read_file(opt == OPT_JWT_KEY ? "--jwt-key" : "--jwt-secret-file",
                    optarg, &jwt_key_len);
      /* A secret file's trailing newline is not part of the secret. */
      while (opt == OPT_JWT_SECRET_FILE && jwt_key_len > 0 &&
             (jwt_key[jwt_key_len - 1] == '\n' ||
              jwt_key[jwt_key_len - 1] == '\r'))
        jwt_key_len--;
      jwt_key_is_pem = opt == OPT_JWT_KEY;
      break;
    case OPT_JWT_ALG:
      if (wsp_jwt_alg_from_name(optarg) < 0)
        die_usage("--jwt-alg: '%s' is not HS256, RS256 or ES256", optarg);
      jwt_alg = optarg;
      break;
    case OPT_JWT_CLAIMS:
      check(cfg, wsp_config_set_jwt_claims(cfg, optarg));
      break;
    case OPT_JWT_TTL:
      check(cfg,
            wsp_config_set_jwt_ttl(
                cfg, (uint32_t)number("--jwt-ttl", optarg, 1, 366 * 86400)));
      break;
    case OPT_JWT_PREFIX:
      check(cfg, wsp_config_set_jwt_prefix(cfg, optarg));
      break;
    case OPT_JWT_QUERY_PARAM:
      check(cfg, wsp_config_set_jwt_query_param(cfg, optarg));
      break;
    case OPT_NO_REQUIRE_SUBPROTOCOL:
      check(cfg, wsp_config_set_require_subprotocol(cfg, 0));
      break;
    case OPT_ORIGIN:
      check(cfg, wsp_config_set_origin(cfg, optarg));
      break;
    case 's':
      send = optarg;
      break;
    case OPT_BINARY:
      binary = 1;
      break;
    case 'd':
      check(cfg, wsp_config_set_delay(
                     cfg, (uint32_t)number("--delay", optarg, 0, 3600000)));
      break;
    case OPT_HOLD:
      check(cfg, wsp_config_set_hold(
                     cfg, (uint32_t)number("--hold", optarg, 0, 3600000)));
      break;
    case 'e':
      check(cfg, wsp_config_add_expect(cfg, optarg));
      break;
    case 't':
      check(cfg, wsp_config_set_timeouts(
                     cfg, (uint32_t)number("--timeout", optarg, 1, 3600000)));
      break;
    case OPT_CONNECT_TIMEOUT:
      check(cfg, wsp_config_set_timeout(cfg, WSP_PHASE_CONNECT,
                                        (uint32_t)number("--connect-timeout",
                                                         optarg, 1, 3600000)));
      break;
    case OPT_UPGRADE_TIMEOUT:
      check(cfg, wsp_config_set_timeout(cfg, WSP_PHASE_UPGRADE,
                                        (uint32_t)number("--upgrade-timeout",
                                                         optarg, 1, 3600000)));
      break;
    case OPT_REPLY_TIMEOUT:
      check(cfg, wsp_config_set_timeout(
                     cfg, WSP_PHASE_AWAITING_REPLY,
                     (uint32_t)number("--reply-timeout", optarg, 1, 3600000)));
      break;
    case OPT_CLOSE_TIMEOUT:
      check(cfg, wsp_config_set_timeout(
                     cfg, WSP_PHASE_CLOSING,
                     (uint32_t)number("--close-timeout", optarg, 1, 3600000)));
      break;
    case OPT_MAX_MESSAGE:
      check(cfg, wsp_config_set_max_message(
                     cfg, number("--max-message", optarg, 1,
                                 (unsigned long long)1 << 31)));
      break;
    case OPT_CACERT:
      check(cfg, wsp_config_set_ca_file(cfg, optarg));
      break;
    case 'k':
      check(cfg, wsp_config_set_insecure(cfg, 1));
      break;
    case OPT_CERT:
      cert = optarg;
      break;
    case OPT_KEY:
      key = optarg;
      break;
    case OPT_TLS_TIMEOUT:
      check(cfg, wsp_config_set_timeout(
                     cfg, WSP_PHASE_TLS,
                     (uint32_t)number("--tls-timeout", optarg, 1, 3600000)));
      break;
    case OPT_TLS_RESUME:
      if (strcmp(optarg, "on") != 0 && strcmp(optarg, "off") != 0)
        die_usage("--tls-resume: '%s' is not on or off", optarg);
      check(cfg, wsp_config_set_tls_resume(cfg, strcmp(optarg, "on") == 0));
      break;
    case OPT_RATE: {
      char *end;
      errno = 0;
      rate = strtod(optarg, &end);
      if (*end != '\0' || errno != 0 || !(rate > 0 && rate <= 1e7))
        die_usage("--rate: '%s' is not a rate between 0 and 10000000", optarg);
      break;
    }
    case OPT_DURATION:
      duration = number("--duration", optarg, 1, 7 * 24 * 3600);
      break;
    case OPT_SLICE:
      slice = number("--slice", optarg, 1, 3600000);
      break;
    case OPT_BURST:
      burst = 1;
      break;
    case OPT_DELAYS:
      free(delays);
      ndelays = parse_delays(optarg, &delays);
      break;
    case OPT_WINDOW:
      win_lo = 0;
      win_hi = 5000;
      if (optarg != NULL)
        parse_pair("--find-window", optarg, ':', 3600000, &win_lo, &win_hi);
      if (win_hi <= win_lo)
        die_usage("--find-window: MAX must be above MIN");
      window = 1;
      break;
    case OPT_RESOLUTION:
      resolution = number("--resolution", optarg, 1, 3600000);
      break;
    case OPT_TRIALS:
      trials = number("--trials", optarg, 1, 100000);
      break;
    case OPT_CONC_SWEEP:
      conc_sweep = number("--concurrency-sweep", optarg, 1, 1000000);
      break;
    case OPT_SEED:
      seed = number("--seed", optarg, 0, 0x1fffffffffffffull);
      have_seed = 1;
      break;
    case OPT_JITTER:
      jitter = number("--jitter", optarg, 0, 3600000);
      break;
    case OPT_SHARD:
      parse_pair("--shard", optarg, '/', 1000000, &shard_i, &shard_n);
      if (shard_n == 0 || shard_i >= shard_n)
        die_usage("--shard: I must be below N (I/N, 0-based)");
      break;
    case OPT_LAG:
      lag = number("--lag-threshold", optarg, 1, 60000);
      break;
    case OPT_EXPECT_ORDER:
      check(cfg, wsp_config_set_expect_order(cfg, 1));
      break;
    case OPT_STEP:
      add_step(cfg, optarg);
      have_steps = 1;
      break;
    case 'j':
      json_path = optarg;
      break;
    case OPT_HTML:
      html_path = optarg;
      break;
    case OPT_JUNIT:
      junit_path = optarg;
      break;
    case 'q':
      quiet = 1;
      break;
    case OPT_SHOW_SECRETS:
      show_secrets = 1;
      break;
    case 'h':
    case 'V':
      if (opt == 'h')
        fputs(usage, stdout);
      else
        printf("wsprobe %s\n", wsp_version_string());
      wsp_config_free(cfg);
      free(jwt_key);
      free(delays);
      return EXIT_PASS;
    case ':':
      die_usage("option %s needs a value", name);
    default:
      if (optopt != 0 && optopt < 256)
        die_usage("unknown option '-%c'", optopt);
      die_usage("unknown option '%s'", name);
    }
  }
  if (optind >= argc)
    die_usage("missing URL");
  if (optind + 1 < argc)
    die_usage("unexpected argument '%s' after the URL", argv[optind + 1]);
  check(cfg, wsp_config_set_url(cfg, argv[optind]));
  if (jwt != NULL && jwt_key != NULL)
    die_usage("--jwt and --jwt-secret/--jwt-key exclude each other");
  if (placement != 0 && jwt == NULL && jwt_key == NULL)
    die_usage("--jwt-placement needs --jwt, --jwt-secret or --jwt-key");
  if (jwt_alg != NULL && jwt_key == NULL)
    die_usage("--jwt-alg needs --jwt-secret, --jwt-secret-file or --jwt-key");
  if (jwt != NULL)
    check(cfg, wsp_config_set_jwt(cfg, jwt,
                                  placement ? placement : WSP_JWT_SUBPROTOCOL));
  if (jwt_key != NULL) {
    if (jwt_alg != NULL) {
      int alg = wsp_jwt_alg_from_name(jwt_alg);
      if (jwt_key_is_pem && alg == WSP_JWT_HS256)
        die_usage("--jwt-key holds a private key: HS256 takes a secret "
                  "(--jwt-secret or --jwt-secret-file)");
      check(cfg, wsp_config_set_jwt_signing(cfg, (wsp_jwt_alg)alg, jwt_key,
                                            jwt_key_len));
    } else if (!jwt_key_is_pem) {
      check(cfg, wsp_config_set_jwt_signing(cfg, WSP_JWT_HS256, jwt_key,
                                            jwt_key_len));
    } else if (wsp_config_set_jwt_signing(cfg, WSP_JWT_RS256, jwt_key,
                                          jwt_key_len) != 0) {
      /* Not an RSA key: the key's type picks the algorithm. */
      check(cfg, wsp_config_set_jwt_signing(cfg, WSP_JWT_ES256, jwt_key,
                                            jwt_key_len));
    }
    if (placement != 0)
      check(cfg, wsp_config_set_jwt_placement(cfg, placement));
    memset(jwt_key, 0, jwt_key_len);
    free(jwt_key);
  }
  if ((cert == NULL) != (key == NULL))
    die_usage("--cert and --key go together");
  if (cert != NULL)
    check(cfg, wsp_config_set_client_cert(cfg, cert, key));
  if (binary && send == NULL)
    die_usage("--binary needs --send");
  if (have_steps && send != NULL)
    die_usage("--step replaces --send: give one or the other");
  if (send != NULL)
    check(cfg, wsp_config_set_message(cfg, send, strlen(send), binary));

  if ((ndelays > 0) + window + (conc_sweep > 0) > 1)
    die_usage("--delay-sweep, --find-window and --concurrency-sweep exclude "
              "each other");
  if ((window || conc_sweep) && shard_n > 1)
    die_usage("--shard splits fixed schedules, not --find-window or "
              "--concurrency-sweep");
  if ((ndelays > 0 || window) && send == NULL)
    die_usage("--delay-sweep and --find-window need --send");
  if ((burst || conc_sweep) && send == NULL && !have_steps)
    die_usage("--burst and --concurrency-sweep need --send");
  if ((rc = wsp_campaign_new(cfg, &a.campaign)) != 0 ||
      (rc = wsp_campaign_set_count(a.campaign, count)) != 0 ||
      (rc = wsp_campaign_set_concurrency(a.campaign, concurrency)) != 0 ||
      (rate > 0 && (rc = wsp_campaign_set_rate(a.campaign, rate)) != 0) ||
      (duration > 0 && (rc = wsp_campaign_set_duration(
                            a.campaign, (uint32_t)(duration * 1000))) != 0) ||
      (slice > 0 &&
       (rc = wsp_campaign_set_slice(a.campaign, (uint32_t)slice)) != 0) ||
      (rc = wsp_campaign_set_burst(a.campaign, burst)) != 0 ||
      (have_seed && (rc = wsp_campaign_set_seed(a.campaign, seed)) != 0) ||
      (rc = wsp_campaign_set_jitter(a.campaign, (uint32_t)jitter)) != 0 ||
      (rc = wsp_campaign_set_shard(a.campaign, (uint32_t)shard_i,
                                   (uint32_t)shard_n)) != 0 ||
      (lag > 0 &&
       (rc = wsp_campaign_set_lag_threshold(a.campaign, (uint32_t)lag)) != 0) ||
      (ndelays > 0 && (rc = wsp_campaign_set_delays(a.campaign, delays, ndelays,
                                                    count)) != 0) ||
      (window && (rc = wsp_campaign_set_window_search(
                      a.campaign, (uint32_t)win_lo, (uint32_t)win_hi,
                      (uint32_t)resolution, (uint32_t)trials)) != 0) ||
      (conc_sweep && (rc = wsp_campaign_set_concurrency_sweep(
                          a.campaign, (uint32_t)conc_sweep)) != 0)) {
    die_usage("invalid campaign: %s", wsp_strerror(rc));
  }
  {
    char why[200];
    if (wsp_campaign_validate(a.campaign, why, sizeof(why)) != 0)
      die_usage("%s", why);
  }
  free(delays);
  wsp_config_free(cfg);
  {
    uint64_t in_flight = conc_sweep ? conc_sweep
                         : window
                             ? (trials > concurrency ? trials : concurrency)
                             : concurrency;
    if (raise_nofile(in_flight + 64, &nofile) != 0)
      die_usage("%llu connections at once need about %llu open files, but "
                "the limit is %llu (raise it with ulimit -n)",
                (unsigned long long)in_flight,
                (unsigned long long)in_flight + 64, (unsigned long long)nofile);
  }

  {
    /* A report that cannot be written is refused before the run, not
     * after it. */
    const char *paths[3] = {json_path, html_path, junit_path};
    check_paths(paths, 3);
  }
  if ((rc = uv_loop_init(&loop)) != 0 || (rc = wsp_ctx_new(&loop, &ctx)) != 0) {
    fprintf(stderr, "wsprobe: cannot start: %s\n", wsp_strerror(rc));
    return EXIT_FAIL;
  }
  uv_signal_init(&loop, &a.sigint);
  a.sigint.data = &a;
  uv_signal_start(&a.sigint, on_sigint, SIGINT);
  uv_unref((uv_handle_t *)&a.sigint);
  a.total = wsp_campaign_planned(a.campaign);
  a.t0 = uv_hrtime();
  a.show_progress = !quiet && isatty(STDERR_FILENO);
  wsp_campaign_set_probe_cb(a.campaign, on_probe_done, &a);
  if (a.show_progress) {
    uv_timer_init(&loop, &a.progress);
    a.progress.data = &a;
    uv_timer_start(&a.progress, on_progress, 200, 200);
    uv_unref((uv_handle_t *)&a.progress);
  }
  if ((rc = wsp_campaign_start(a.campaign, ctx, on_done, &a)) != 0) {
    fprintf(stderr, "wsprobe: cannot start: %s\n", wsp_strerror(rc));
    return EXIT_FAIL;
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  wsp_ctx_free(ctx);
  if (uv_loop_close(&loop) != 0)
    fputs("wsprobe: warning: handles left open on the loop\n", stderr);

  {
    const char *paths[3] = {json_path, html_path, junit_path};
    wsp_report *rep = NULL;
    if ((rc = wsp_report_new(a.campaign, &rep)) != 0) {
      fprintf(stderr, "wsprobe: cannot report: %s\n", wsp_strerror(rc));
      status = EXIT_FAIL;
    } else {
      status = write_reports(rep, paths,
                             show_secrets ? WSP_REPORT_SHOW_SECRETS : 0, quiet);
      wsp_report_free(rep);
    }
  }
  wsp_campaign_free(a.campaign);
  return status;
}
