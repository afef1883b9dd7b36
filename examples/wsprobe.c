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

#include <uv.h>

#include "wsprobe.h"

#define EXIT_PASS 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

static const char usage[] =
    "usage: wsprobe [options] URL\n"
    "\n"
    "Probe a WebSocket server: connect, upgrade, optionally send a first\n"
    "message and await the reply or expected events, close. Every probe ends\n"
    "in one outcome (ok, handshake_rejected, closed_by_server, ...) and the\n"
    "phase it happened in; only ok passes.\n"
    "\n"
    "  -n, --count N            probes to run (default 1)\n"
    "  -c, --concurrency N      probes in flight at once (default 1)\n"
    "  -H, --header 'N: V'      add a request header (repeatable)\n"
    "  -p, --subprotocol P      offer a subprotocol (repeatable)\n"
    "      --jwt TOKEN          authenticate with a JWT\n"
    "      --jwt-placement P    subprotocol (jwt.<token>, default) or bearer\n"
    "                           (Authorization: Bearer); repeatable\n"
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
    "  -j, --json FILE          write the JSON report to FILE ('-': stdout;\n"
    "                           the summary then goes to stderr)\n"
    "  -q, --quiet              no human summary\n"
    "      --show-secrets       show tokens and secret headers in reports\n"
    "  -h, --help               show this help\n"
    "  -V, --version            show the version\n"
    "\n"
    "Exit status: 0 every probe passed, 1 a probe failed, 2 usage error.\n";

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
};

static const struct option long_opts[] = {
    {"count", required_argument, NULL, 'n'},
    {"concurrency", required_argument, NULL, 'c'},
    {"header", required_argument, NULL, 'H'},
    {"subprotocol", required_argument, NULL, 'p'},
    {"jwt", required_argument, NULL, OPT_JWT},
    {"jwt-placement", required_argument, NULL, OPT_JWT_PLACEMENT},
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
    {"cacert", required_argument, NULL, OPT_CACERT},
    {"insecure", no_argument, NULL, 'k'},
    {"cert", required_argument, NULL, OPT_CERT},
    {"key", required_argument, NULL, OPT_KEY},
    {"tls-timeout", required_argument, NULL, OPT_TLS_TIMEOUT},
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
  va_list ap;
  fputs("wsprobe: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputs(" (see --help)\n", stderr);
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
} app;

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

int main(int argc, char **argv) {
  wsp_config *cfg = wsp_config_new();
  const char *json_path = NULL, *jwt = NULL, *send = NULL;
  const char *cert = NULL, *key = NULL;
  unsigned placement = 0;
  uint32_t count = 1, concurrency = 1;
  int binary = 0, quiet = 0, show_secrets = 0, opt, rc, status;
  uv_loop_t loop;
  wsp_ctx *ctx = NULL;
  app a = {0};
  char *text = NULL;

  signal(SIGPIPE, SIG_IGN); /* A reset connection is an outcome. */
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
      else
        die_usage("--jwt-placement: '%s' is not subprotocol or bearer",
                  optarg);
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
      check(cfg, wsp_config_set_timeout(
                     cfg, WSP_PHASE_CONNECT,
                     (uint32_t)number("--connect-timeout", optarg, 1,
                                      3600000)));
      break;
    case OPT_UPGRADE_TIMEOUT:
      check(cfg, wsp_config_set_timeout(
                     cfg, WSP_PHASE_UPGRADE,
                     (uint32_t)number("--upgrade-timeout", optarg, 1,
                                      3600000)));
      break;
    case OPT_REPLY_TIMEOUT:
      check(cfg, wsp_config_set_timeout(
                     cfg, WSP_PHASE_AWAITING_REPLY,
                     (uint32_t)number("--reply-timeout", optarg, 1,
                                      3600000)));
      break;
    case OPT_CLOSE_TIMEOUT:
      check(cfg, wsp_config_set_timeout(
                     cfg, WSP_PHASE_CLOSING,
                     (uint32_t)number("--close-timeout", optarg, 1,
                                      3600000)));
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
    case 'j':
      json_path = optarg;
      break;
    case 'q':
      quiet = 1;
      break;
    case OPT_SHOW_SECRETS:
      show_secrets = 1;
      break;
    case 'h':
      fputs(usage, stdout);
      return EXIT_PASS;
    case 'V':
      printf("wsprobe %s\n", wsp_version_string());
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
  if (placement != 0 && jwt == NULL)
    die_usage("--jwt-placement needs --jwt");
  if (jwt != NULL)
    check(cfg, wsp_config_set_jwt(cfg, jwt,
                                  placement ? placement
                                            : WSP_JWT_SUBPROTOCOL));
  if ((cert == NULL) != (key == NULL))
    die_usage("--cert and --key go together");
  if (cert != NULL)
    check(cfg, wsp_config_set_client_cert(cfg, cert, key));
  if (binary && send == NULL)
    die_usage("--binary needs --send");
  if (send != NULL)
    check(cfg, wsp_config_set_message(cfg, send, strlen(send), binary));

  if ((rc = wsp_campaign_new(cfg, &a.campaign)) != 0 ||
      (rc = wsp_campaign_set_count(a.campaign, count)) != 0 ||
      (rc = wsp_campaign_set_concurrency(a.campaign, concurrency)) != 0) {
    fprintf(stderr, "wsprobe: %s\n", wsp_strerror(rc));
    return EXIT_USAGE;
  }
  wsp_config_free(cfg);

  if ((rc = uv_loop_init(&loop)) != 0 || (rc = wsp_ctx_new(&loop, &ctx)) != 0) {
    fprintf(stderr, "wsprobe: cannot start: %s\n", wsp_strerror(rc));
    return EXIT_FAIL;
  }
  uv_signal_init(&loop, &a.sigint);
  a.sigint.data = &a;
  uv_signal_start(&a.sigint, on_sigint, SIGINT);
  uv_unref((uv_handle_t *)&a.sigint);
  if ((rc = wsp_campaign_start(a.campaign, ctx, on_done, &a)) != 0) {
    fprintf(stderr, "wsprobe: cannot start: %s\n", wsp_strerror(rc));
    return EXIT_FAIL;
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  wsp_ctx_free(ctx);
  if (uv_loop_close(&loop) != 0)
    fputs("wsprobe: warning: handles left open on the loop\n", stderr);

  status = wsp_campaign_passed(a.campaign) ==
                       wsp_campaign_result_count(a.campaign) &&
                   wsp_campaign_result_count(a.campaign) == count
               ? EXIT_PASS
               : EXIT_FAIL;
  if (json_path != NULL) {
    if ((rc = wsp_report_json(a.campaign, show_secrets, &text)) != 0 ||
        write_file(json_path, text) != 0)
      status = EXIT_FAIL;
    wsp_free(text);
  }
  if (!quiet && wsp_report_text(a.campaign, &text) == 0) {
    FILE *out = json_path && strcmp(json_path, "-") == 0 ? stderr : stdout;
    fputs(text, out);
    if (a.interrupted)
      fputs("interrupted: probes still in flight were cancelled\n", out);
    wsp_free(text);
  }
  wsp_campaign_free(a.campaign);
  return status;
}
