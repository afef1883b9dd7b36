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
  OPT_JWT_SECRET,
  OPT_JWT_SECRET_FILE,
  OPT_JWT_KEY,
  OPT_JWT_ALG,
  OPT_JWT_CLAIMS,
  OPT_JWT_TTL,
  OPT_JWT_PREFIX,
  OPT_JWT_QUERY_PARAM,
  OPT_NO_REQUIRE_SUBPROTOCOL,
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
    {"no-require-subprotocol", no_argument, NULL,
     OPT_NO_REQUIRE_SUBPROTOCOL},
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
  const char *cert = NULL, *key = NULL, *jwt_alg = NULL;
  char *jwt_key = NULL;
  size_t jwt_key_len = 0;
  int jwt_key_is_pem = 0;
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
      jwt_key = read_file(opt == OPT_JWT_KEY ? "--jwt-key"
                                             : "--jwt-secret-file",
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
      check(cfg, wsp_config_set_jwt_ttl(
                     cfg, (uint32_t)number("--jwt-ttl", optarg, 1,
                                           366 * 86400)));
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
  if (jwt != NULL && jwt_key != NULL)
    die_usage("--jwt and --jwt-secret/--jwt-key exclude each other");
  if (placement != 0 && jwt == NULL && jwt_key == NULL)
    die_usage("--jwt-placement needs --jwt, --jwt-secret or --jwt-key");
  if (jwt_alg != NULL && jwt_key == NULL)
    die_usage("--jwt-alg needs --jwt-secret, --jwt-secret-file or --jwt-key");
  if (jwt != NULL)
    check(cfg, wsp_config_set_jwt(cfg, jwt,
                                  placement ? placement
                                            : WSP_JWT_SUBPROTOCOL));
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
