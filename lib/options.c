/*
 * The option table: every option of the CLI, the bindings' keyword for it,
 * its value, default, range and help, and the one library setter it calls.
 * The CLI parses its command line by this table and prints its help from
 * it, the Python binding takes its keywords from it, and the man page test
 * checks docs/wsprobe.1 against it (curl's option table is the model).
 *
 * Adding an option takes:
 *   1. a setter in include/wsprobe.h (wsp_config_set_* or
 *      wsp_campaign_set_*), documented with the errors it returns;
 *   2. one entry below naming that setter (.cfg_u32, .cfg_str, .camp_u32,
 *      ...), with its keyword, type, range, default and help; values are
 *      parsed and range-checked here from the entry alone;
 *   3. the keyword in bindings/python (wsprobe/_options.py converts the
 *      value by the entry's type; only a new kind of value needs code);
 *   4. its .TP entry in docs/wsprobe.1 under the entry's group (an option
 *      of wsprobe merge, flagged MERGE, also in the MERGE section).
 * Nothing in the CLI changes: it reads the table. The parity test
 * (bindings/python/tests/test_parity.py) fails until 3 is done and the
 * man page test until 4 is. Checks between options (what excludes or needs
 * what) live in plan.c.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "defaults.h"
#include "health.h"
#include "options.h"

/* A plan's one error channel (struct wsp_plan is this layer's). */
int wsp__plan_fail(wsp_plan *p, int rc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  wsp__vfail(p->error, sizeof(p->error), rc, fmt, ap);
  va_end(ap);
  return rc;
}

#define G_CAMPAIGN "Campaign"
#define G_UPGRADE "The upgrade request"
#define G_JWT "JSON Web Tokens"
#define G_MESSAGE "The first message and what must come back"
#define G_TIMEOUTS "Timeouts"
#define G_TLS "TLS (wss://)"
#define G_PROXY "Proxies"
#define G_REPORTS "Reports"
#define G_OTHER "Other"
#define G_MERGE "Merging reports"

#define PROBE WSP_OPTION_PROBE
#define CAMPAIGN WSP_OPTION_CAMPAIGN
#define REPORT WSP_OPTION_REPORT
#define FRONT WSP_OPTION_FRONT_END
#define REPEAT WSP_OPTION_REPEATABLE
#define SECRET WSP_OPTION_SECRET
#define MERGE WSP_OPTION_MERGE
#define MERGE_ONLY WSP_OPTION_MERGE_ONLY

static int ap_header(wsp__build *b, const wsp_option *o, const wsp__optval *v);
static int ap_step(wsp__build *b, const wsp_option *o, const wsp__optval *v);
static int ap_timeout(wsp__build *b, const wsp_option *o, const wsp__optval *v);
static int ap_rate(wsp__build *b, const wsp_option *o, const wsp__optval *v);
static int ap_seed(wsp__build *b, const wsp_option *o, const wsp__optval *v);
static int ap_shard(wsp__build *b, const wsp_option *o, const wsp__optval *v);
static int ap_start_at(wsp__build *b, const wsp_option *o,
                       const wsp__optval *v);
static int ap_threads(wsp__build *b, const wsp_option *o, const wsp__optval *v);
static int ap_tls_resume(wsp__build *b, const wsp_option *o,
                         const wsp__optval *v);
static int ap_address_policy(wsp__build *b, const wsp_option *o,
                             const wsp__optval *v);
static int ap_health(wsp__build *b, const wsp_option *o, const wsp__optval *v);

/* clang-format off */
const wsp_option wsp__options[] = {
  /* Campaign */
  {"count", 'n', "count", "N", WSP_OPTION_UINT, CAMPAIGN, G_CAMPAIGN,
   WSP__STR(WSP__DEF_COUNT), 1, WSP__MAX_COUNT, 0, 0, NULL,
   "probes to run; with --delay-sweep, probes per delay; with --burst and "
   "no count, one burst of --concurrency; with --duration, a cap", -1,
   .camp_u32 = wsp_campaign_set_count},
  {"concurrency", 'c', "concurrency", "N", WSP_OPTION_UINT, CAMPAIGN,
   G_CAMPAIGN, WSP__STR(WSP__DEF_CONCURRENCY), 1, WSP__MAX_CONCURRENCY, 0, 0,
   NULL, "probes in flight at once", -1,
   .camp_u32 = wsp_campaign_set_concurrency},
  {"threads", 0, "threads", "N|auto", WSP_OPTION_TEXT, CAMPAIGN, G_CAMPAIGN,
   "1", 0, 0, 0, 0, NULL,
   "run on N event loops, one a thread (auto: one per online CPU, at most "
   "one per connection, 1-" WSP__STR(WSP__MAX_THREADS) "); --count, "
   "--concurrency and --rate stay totals, each index runs once as on one "
   "loop, and bursts are released on every loop at one shared deadline. "
   "Not for --find-window or --concurrency-sweep, which adapt as they go",
   -1, .apply = ap_threads},
  {"rate", 0, "rate", "R", WSP_OPTION_NUMBER, CAMPAIGN, G_CAMPAIGN, NULL, 0,
   WSP__MAX_RATE, 0, 0, NULL, "start at most R probes a second", -1,
   .apply = ap_rate},
  {"duration", 0, "duration_ms", "SECONDS", WSP_OPTION_SECONDS, CAMPAIGN,
   G_CAMPAIGN, NULL, 1, WSP__MAX_DURATION_MS, 0, 0, NULL,
   "keep starting probes this long, recording outcomes per time slice "
   "(the count, if given, is a cap)", -1,
   .camp_u32 = wsp_campaign_set_duration},
  {"slice", 0, "slice_ms", "MS", WSP_OPTION_UINT, CAMPAIGN, G_CAMPAIGN,
   WSP__STR(WSP__DEF_SLICE_MS), 1, WSP__MAX_MS, 0, 0, NULL,
   "time slice of outcomes over time", -1,
   .camp_u32 = wsp_campaign_set_slice},
  {"burst", 0, "burst", NULL, WSP_OPTION_FLAG, CAMPAIGN, G_CAMPAIGN, NULL, 0,
   0, 0, 0, NULL,
   "open --concurrency connections, then send every first message in the "
   "same loop iteration; the report gives the spread of the send times",
   -1, .camp_int = wsp_campaign_set_burst},
  {"delay-sweep", 0, "delays", "LIST", WSP_OPTION_LIST, CAMPAIGN, G_CAMPAIGN,
   NULL, 0, WSP__MAX_MS, WSP__MAX_DELAYS, 0, NULL,
   "a delay sweep: --count probes at each first-message delay of LIST, "
   "e.g. 0,10,50,100,500 (ms), in an order shuffled by the seed",
   -1, .apply = NULL},
  {"find-window", 0, "window", "MIN:MAX", WSP_OPTION_PAIR,
   CAMPAIGN | WSP_OPTION_OPTIONAL, G_CAMPAIGN,
   WSP__STR(WSP__DEF_WINDOW_LO) ":" WSP__STR(WSP__DEF_WINDOW_HI), 0,
   WSP__MAX_MS, 0, ':', NULL,
   "find the first-message delay above which failures stop, by bisection "
   "between MIN and MAX ms", -1, .apply = NULL},
  {"resolution", 0, "resolution_ms", "MS", WSP_OPTION_UINT, CAMPAIGN,
   G_CAMPAIGN, WSP__STR(WSP__DEF_RESOLUTION_MS), 1, WSP__MAX_MS, 0, 0, NULL,
   "--find-window stops when its bracket is this narrow", -1, .apply = NULL},
  {"trials", 0, "trials", "N", WSP_OPTION_UINT, CAMPAIGN, G_CAMPAIGN,
   WSP__STR(WSP__DEF_TRIALS), 1, WSP__MAX_TRIALS, 0, 0, NULL,
   "--find-window runs N probes per point; a point fails when any of "
   "them fails", -1, .apply = NULL},
  {"concurrency-sweep", 0, "concurrency_sweep", "MAX", WSP_OPTION_UINT,
   CAMPAIGN, G_CAMPAIGN, NULL, 1, WSP__MAX_CONCURRENCY, 0, 0, NULL,
   "bursts of 1, 2, 4, ... MAX simultaneous connections; the report names "
   "the first level at which failures appear", -1, .apply = NULL},
  {"seed", 0, "seed", "N", WSP_OPTION_UINT, CAMPAIGN, G_CAMPAIGN, NULL, 0,
   WSP__MAX_SEED, 0, 0, NULL,
   "seed of every random choice (jitter, order); by default one is drawn "
   "and recorded in the reports", -1, .apply = ap_seed},
  {"jitter", 0, "jitter_ms", "MS", WSP_OPTION_UINT, CAMPAIGN, G_CAMPAIGN, "0",
   0, WSP__MAX_MS, 0, 0, NULL,
   "add a random 0..MS to each probe's first-message delay", -1,
   .camp_u32 = wsp_campaign_set_jitter},
  {"shard", 0, "shard", "I/N", WSP_OPTION_PAIR, CAMPAIGN, G_CAMPAIGN, "0/1", 0,
   WSP__MAX_SHARDS, 0, '/', NULL,
   "run only shard I (0-based) of N: the probes whose index modulo N is I; "
   "wsprobe merge joins the shards' reports", -1, .apply = ap_shard},
  {"start-at", 0, "start_at", "TIME", WSP_OPTION_TEXT, CAMPAIGN, G_CAMPAIGN,
   NULL, 0, 0, 0, 0, NULL,
   "open the campaign at this wall-clock instant, RFC 3339 "
   "(2026-11-28T22:30:00.250Z) or Unix seconds: shards given one instant "
   "begin together", -1, .apply = ap_start_at},
  {"start-tolerance", 0, "start_tolerance_ms", "SECONDS", WSP_OPTION_SECONDS,
   CAMPAIGN, G_CAMPAIGN, "1", 0, WSP__MAX_MS, 0, 0, NULL,
   "with --start-at: up to this late, start at once and record the "
   "lateness; later, refuse (exit status 3)", -1,
   .camp_u32 = wsp_campaign_set_start_tolerance},
  {"lag-threshold", 0, "lag_threshold_ms", "MS", WSP_OPTION_UINT, CAMPAIGN,
   G_CAMPAIGN, WSP__STR(WSP__DEF_LAG_MS), 1, WSP__MAX_LAG_MS, 0, 0, NULL,
   "flag probes that ran while the prober's own loop was this late", -1,
   .camp_u32 = wsp_campaign_set_lag_threshold},
  {"health", 0, "health", "URL", WSP_OPTION_TEXT, CAMPAIGN, G_CAMPAIGN, NULL,
   0, 0, 0, 0, NULL,
   "poll this http:// or https:// health URL (GET, a new connection each "
   "time) for the whole campaign and report its answers beside the "
   "probes; it never changes the verdict or the exit status", -1,
   .apply = ap_health},
  {"health-interval", 0, "health_interval_ms", "MS", WSP_OPTION_UINT,
   CAMPAIGN, G_CAMPAIGN, WSP__STR(WSP__HEALTH_DEF_INTERVAL), 1,
   WSP__HEALTH_MAX_MS, 0, 0, NULL,
   "with --health: a request every MS; a tick that finds the last one "
   "still running is skipped and counted", -1,
   .camp_u32 = wsp_campaign_set_health_interval},
  {"health-timeout", 0, "health_timeout_ms", "MS", WSP_OPTION_UINT, CAMPAIGN,
   G_CAMPAIGN, WSP__STR(WSP__HEALTH_DEF_TIMEOUT), 1, WSP__HEALTH_MAX_MS, 0, 0,
   NULL, "with --health: a request's whole time; later, its sample is an "
   "error", -1, .camp_u32 = wsp_campaign_set_health_timeout},

  /* The upgrade request */
  {"header", 'H', "headers", "'NAME: VALUE'", WSP_OPTION_TEXT, PROBE | REPEAT,
   G_UPGRADE, NULL, 0, 0, 0, 0, NULL,
   "add a request header; Authorization, Cookie, Proxy-Authorization and "
   "X-Api-Key values are redacted in reports", -1, .apply = ap_header},
  {"subprotocol", 'p', "subprotocols", "P", WSP_OPTION_TEXT, PROBE | REPEAT,
   G_UPGRADE, NULL, 0, 0, 0, 0, NULL, "offer a subprotocol", -1,
   .cfg_str = wsp_config_add_subprotocol},
  {"origin", 0, "origin", "ORIGIN", WSP_OPTION_TEXT, PROBE, G_UPGRADE, NULL, 0,
   0, 0, 0, NULL, "send an Origin header", -1,
   .cfg_str = wsp_config_set_origin},
  {"resolve", 0, "resolve", "HOST:PORT:ADDR[,ADDR...]", WSP_OPTION_TEXT,
   PROBE | REPEAT, G_UPGRADE, NULL, 0, 0, 0, 0, NULL,
   "connect to these addresses for HOST:PORT without asking the resolver, "
   "keeping the name for SNI, the certificate and the Host header (as "
   "curl's --resolve)", -1, .cfg_str = wsp_config_add_resolve},
  {"record-header", 0, "record_headers", "NAME", WSP_OPTION_TEXT,
   PROBE | REPEAT, G_UPGRADE, NULL, 0, 0, 0, 0, NULL,
   "record this header of the upgrade response (e.g. X-Served-By) per "
   "probe; the reports group outcomes by its value", -1,
   .cfg_str = wsp_config_add_record_header},
  {"address-policy", 0, "address_policy", "P", WSP_OPTION_CHOICE, PROBE,
   G_UPGRADE, "round-robin", 0, 0, 0, 0, "round-robin first",
   "with several addresses: round-robin (probe i starts at address i "
   "modulo their number) or first (every probe starts at the first); a "
   "probe moves on to the next address when one fails to connect", -1,
   .apply = ap_address_policy},

  /* JSON Web Tokens: applied together in plan.c. */
  {"jwt", 0, "jwt", "TOKEN", WSP_OPTION_TEXT, PROBE | SECRET, G_JWT, NULL, 0,
   0, 0, 0, NULL, "authenticate with this JWT", -1, .apply = NULL},
  {"jwt-secret", 0, "jwt_secret", "SECRET", WSP_OPTION_TEXT, PROBE | SECRET,
   G_JWT, NULL, 0, 0, 0, 0, NULL,
   "mint a JWT per probe, signed with SECRET (HS256)", -1, .apply = NULL},
  {"jwt-secret-file", 0, "jwt_secret_file", "FILE", WSP_OPTION_FILE, PROBE,
   G_JWT, NULL, 0, 0, 0, 0, NULL,
   "... with the secret in FILE (without its trailing newline)",
   -1, .apply = NULL},
  {"jwt-key", 0, "jwt_key", "PEMFILE", WSP_OPTION_FILE, PROBE, G_JWT, NULL, 0,
   0, 0, 0, NULL,
   "... signed with this RSA or P-256 private key (RS256 or ES256, from the "
   "key's type)", -1, .apply = NULL},
  {"jwt-alg", 0, "jwt_alg", "ALG", WSP_OPTION_CHOICE, PROBE, G_JWT, NULL, 0, 0,
   0, 0, "HS256 RS256 ES256",
   "the algorithm of minted tokens: HS256 with a secret, RS256 or ES256 "
   "with a key", -1, .apply = NULL},
  {"jwt-claims", 0, "jwt_claims", "JSON", WSP_OPTION_TEXT, PROBE, G_JWT, NULL,
   0, 0, 0, 0, NULL,
   "claims of minted tokens, a JSON object; \"{index}\" in a string becomes "
   "the probe's index", -1, .cfg_str = wsp_config_set_jwt_claims},
  {"jwt-ttl", 0, "jwt_ttl", "SECONDS", WSP_OPTION_UINT, PROBE, G_JWT,
   WSP__STR(WSP__DEF_JWT_TTL), 1, WSP__MAX_JWT_TTL, 0, 0, NULL,
   "lifetime of minted tokens", -1, .cfg_u32 = wsp_config_set_jwt_ttl},
  {"jwt-placement", 0, "jwt_placement", "P", WSP_OPTION_CHOICE,
   PROBE | REPEAT, G_JWT, "subprotocol", 0, 0, 0, 0,
   "subprotocol bearer query",
   "where the token goes: subprotocol (Sec-WebSocket-Protocol: jwt.TOKEN), "
   "bearer (Authorization: Bearer) or query (?access_token=)",
   -1, .apply = NULL},
  {"jwt-prefix", 0, "jwt_prefix", "P", WSP_OPTION_TEXT, PROBE, G_JWT,
   WSP__DEF_JWT_PREFIX, 0, 0, 0, 0, NULL, "the token's subprotocol prefix",
   -1, .cfg_str = wsp_config_set_jwt_prefix},
  {"jwt-query-param", 0, "jwt_query_param", "NAME", WSP_OPTION_TEXT, PROBE,
   G_JWT, WSP__DEF_JWT_QUERY, 0, 0, 0, 0, NULL,
   "the query parameter that carries the token", -1,
   .cfg_str = wsp_config_set_jwt_query_param},
  {"no-require-subprotocol", 0, "require_subprotocol", NULL, WSP_OPTION_FLAG,
   PROBE | WSP_OPTION_NEGATIVE, G_JWT, NULL, 0, 0, 0, 0, NULL,
   "accept a 101 that selects no subprotocol although the token was "
   "offered as one", -1, .cfg_int = wsp_config_set_require_subprotocol},

  /* The first message and what must come back */
  {"send", 's', "send", "TEXT", WSP_OPTION_TEXT, PROBE | WSP__OPTION_BYTES,
   G_MESSAGE, NULL, 0, 0,
   0, 0, NULL,
   "the first message, sent after the open and the delay; without it the "
   "probe opens, holds and closes", -1, .apply = NULL},
  {"binary", 0, "binary", NULL, WSP_OPTION_FLAG, PROBE, G_MESSAGE, NULL, 0, 0,
   0, 0, NULL, "send the first message as a binary frame", -1, .apply = NULL},
  {"delay", 'd', "delay_ms", "MS", WSP_OPTION_UINT, PROBE, G_MESSAGE, "0", 0,
   WSP__MAX_MS, 0, 0, NULL, "wait MS between the open and the first message",
   -1, .cfg_u32 = wsp_config_set_delay},
  {"hold", 0, "hold_ms", "MS", WSP_OPTION_UINT, PROBE, G_MESSAGE, "0", 0,
   WSP__MAX_MS, 0, 0, NULL, "without --send: hold the connection open MS",
   -1, .cfg_u32 = wsp_config_set_hold},
  {"expect", 'e', "expect", "TYPE", WSP_OPTION_TEXT, PROBE | REPEAT,
   G_MESSAGE, NULL, 0, 0, 0, 0, NULL,
   "require a JSON text message whose \"type\" (or --expect-key) is TYPE; "
   "without it any reply passes", -1, .cfg_str = wsp_config_add_expect},
  {"expect-order", 0, "expect_order", NULL, WSP_OPTION_FLAG, PROBE, G_MESSAGE,
   NULL, 0, 0, 0, 0, NULL,
   "the expected events must arrive in the order given, each exactly once",
   -1, .cfg_int = wsp_config_set_expect_order},
  {"expect-key", 0, "expect_key", "KEY", WSP_OPTION_TEXT, PROBE, G_MESSAGE,
   WSP__DEF_EXPECT_KEY, 0, 0, 0, 0, NULL,
   "the member of a JSON message that names its event type, which --expect "
   "and expect steps match (for protocols that say event or op)", -1,
   .cfg_str = wsp_config_set_expect_key},
  {"step", 0, "steps", "STEP", WSP_OPTION_TEXT,
   PROBE | REPEAT | WSP__OPTION_BYTES, G_MESSAGE,
   NULL, 0, 0, 0, 0, NULL,
   "a scripted conversation instead of --send, --delay, --hold and "
   "--expect, in order: send:TEXT, binary:DATA, expect:TYPE[:MS], wait:MS, "
   "close:CODE[:REASON]", -1, .apply = ap_step},

  /* Timeouts */
  {"timeout", 't', "timeout_ms", "MS", WSP_OPTION_UINT, PROBE, G_TIMEOUTS,
   NULL, 1, WSP__MAX_MS, 0, 0, NULL,
   "the timeout of every phase, the closing phase included (by default "
   WSP__STR(WSP__DEF_TIMEOUT_MS) " ms, closing "
   WSP__STR(WSP__DEF_CLOSE_TIMEOUT_MS) ")", -1,
   .cfg_u32 = wsp_config_set_timeouts},
  {"resolve-timeout", 0, "resolve_timeout_ms", "MS", WSP_OPTION_UINT, PROBE,
   G_TIMEOUTS, WSP__STR(WSP__DEF_TIMEOUT_MS), 1, WSP__MAX_MS, 0, 0, NULL,
   "the timeout of name resolution", WSP_PHASE_RESOLVE, .apply = ap_timeout},
  {"connect-timeout", 0, "connect_timeout_ms", "MS", WSP_OPTION_UINT, PROBE,
   G_TIMEOUTS, WSP__STR(WSP__DEF_TIMEOUT_MS), 1, WSP__MAX_MS, 0, 0, NULL,
   "the timeout of the TCP connection", WSP_PHASE_CONNECT,
   .apply = ap_timeout},
  {"tls-timeout", 0, "tls_timeout_ms", "MS", WSP_OPTION_UINT, PROBE,
   G_TIMEOUTS, WSP__STR(WSP__DEF_TIMEOUT_MS), 1, WSP__MAX_MS, 0, 0, NULL,
   "the timeout of the TLS handshake", WSP_PHASE_TLS, .apply = ap_timeout},
  {"upgrade-timeout", 0, "upgrade_timeout_ms", "MS", WSP_OPTION_UINT, PROBE,
   G_TIMEOUTS, WSP__STR(WSP__DEF_TIMEOUT_MS), 1, WSP__MAX_MS, 0, 0, NULL,
   "the timeout of the HTTP upgrade", WSP_PHASE_UPGRADE, .apply = ap_timeout},
  {"send-timeout", 0, "send_timeout_ms", "MS", WSP_OPTION_UINT, PROBE,
   G_TIMEOUTS, WSP__STR(WSP__DEF_TIMEOUT_MS), 1, WSP__MAX_MS, 0, 0, NULL,
   "the timeout of sending the first message", WSP_PHASE_FIRST_SEND,
   .apply = ap_timeout},
  {"reply-timeout", 0, "reply_timeout_ms", "MS", WSP_OPTION_UINT, PROBE,
   G_TIMEOUTS, WSP__STR(WSP__DEF_TIMEOUT_MS), 1, WSP__MAX_MS, 0, 0, NULL,
   "the timeout of the reply and the expected events",
   WSP_PHASE_AWAITING_REPLY, .apply = ap_timeout},
  {"proxy-timeout", 0, "proxy_timeout_ms", "MS", WSP_OPTION_UINT, PROBE,
   G_TIMEOUTS, WSP__STR(WSP__DEF_TIMEOUT_MS), 1, WSP__MAX_MS, 0, 0, NULL,
   "the timeout of the proxy's answer to CONNECT", WSP_PHASE_PROXY,
   .apply = ap_timeout},
  {"close-timeout", 0, "close_timeout_ms", "MS", WSP_OPTION_UINT, PROBE,
   G_TIMEOUTS, WSP__STR(WSP__DEF_CLOSE_TIMEOUT_MS), 1, WSP__MAX_MS, 0, 0,
   NULL, "the timeout of the closing handshake", WSP_PHASE_CLOSING,
   .apply = ap_timeout},
  {"compress", 0, "compress", NULL, WSP_OPTION_FLAG, PROBE, G_MESSAGE, NULL,
   0, 0, 0, 0, NULL,
   "offer permessage-deflate and inflate/deflate messages when the server "
   "accepts it", -1, .cfg_int = wsp_config_set_compress},
  {"max-message", 0, "max_message", "BYTES", WSP_OPTION_UINT, PROBE,
   G_TIMEOUTS, WSP__STR(WSP__DEF_MAX_MESSAGE), 1, WSP__MAX_MAX_MESSAGE, 0, 0,
   NULL,
   "the largest message accepted from the server; a larger one is a "
   "protocol_error (close 1009)", -1,
   .cfg_u64 = wsp_config_set_max_message},

  /* TLS */
  {"cacert", 0, "cacert", "FILE", WSP_OPTION_FILE, PROBE, G_TLS, NULL, 0, 0,
   0, 0, NULL, "trust the CAs in FILE instead of the system bundle", -1,
   .cfg_str = wsp_config_set_ca_file},
  {"insecure", 'k', "insecure", NULL, WSP_OPTION_FLAG, PROBE, G_TLS, NULL, 0,
   0, 0, 0, NULL,
   "do not verify the certificate (every report says so)", -1,
   .cfg_int = wsp_config_set_insecure},
  {"tls-resume", 0, "tls_resume", "on|off", WSP_OPTION_CHOICE, PROBE, G_TLS,
   "on", 0, 0, 0, 0, "on off",
   "resume TLS sessions as browsers do: only the first probe of a host "
   "does a full handshake; off: every probe does one", -1,
   .apply = ap_tls_resume},
  {"cert", 0, "cert", "FILE", WSP_OPTION_FILE, PROBE, G_TLS, NULL, 0, 0, 0, 0,
   NULL, "a client certificate (mutual TLS), with --key", -1, .apply = NULL},
  {"key", 0, "key", "FILE", WSP_OPTION_FILE, PROBE, G_TLS, NULL, 0, 0, 0, 0,
   NULL, "the client certificate's private key", -1, .apply = NULL},

  /* Proxies: without --proxy or --noproxy, plan.c reads curl's
   * variables. */
  {"proxy", 'x', "proxy", "URL", WSP_OPTION_TEXT, PROBE | SECRET, G_PROXY,
   NULL, 0, 0, 0, 0, NULL,
   "reach the server through the HTTP proxy URL, "
   "http://[user:password@]host[:port] (port 1080 by default; '': no "
   "proxy, whatever the environment says): ws:// and wss:// go through "
   "CONNECT; credentials are redacted in reports", -1,
   .cfg_str = wsp_config_set_proxy},
  {"noproxy", 0, "noproxy", "LIST", WSP_OPTION_TEXT, PROBE, G_PROXY, NULL, 0,
   0, 0, 0, NULL,
   "hosts reached without the proxy, as curl's no_proxy: '*', or names "
   "(with their subdomains) and addresses or CIDR ranges, comma-separated",
   -1, .cfg_str = wsp_config_set_noproxy},

  /* Reports */
  {"json", 'j', "json", "FILE", WSP_OPTION_OUTPUT, REPORT | MERGE, G_REPORTS,
   NULL, 0, 0, 0, 0, NULL,
   "write the JSON report to FILE ('-': stdout, and the summary goes to "
   "stderr)", -1, .apply = NULL},
  {"html", 0, "html", "FILE", WSP_OPTION_OUTPUT, REPORT | MERGE, G_REPORTS,
   NULL, 0, 0, 0, 0, NULL,
   "write the HTML report to FILE: one page with the timeline of every "
   "probe and the charts", -1, .apply = NULL},
  {"junit", 0, "junit", "FILE", WSP_OPTION_OUTPUT, REPORT | MERGE, G_REPORTS,
   NULL, 0, 0, 0, 0, NULL,
   "write a JUnit XML report to FILE (a test case per probe, or per delay "
   "of a sweep)", -1, .apply = NULL},
  {"show-secrets", 0, "show_secrets", NULL, WSP_OPTION_FLAG, REPORT | MERGE,
   G_REPORTS, NULL, 0, 0, 0, 0, NULL,
   "show tokens and secret header values in the JSON report (never in "
   "HTML or JUnit)", -1, .apply = NULL},
  {"quiet", 'q', NULL, NULL, WSP_OPTION_FLAG, FRONT | MERGE, G_REPORTS, NULL,
   0, 0, 0, 0, NULL, "no human summary", -1, .apply = NULL},

  /* Other */
  {"dry-run", 0, "dry_run", NULL, WSP_OPTION_FLAG, FRONT, G_OTHER, NULL, 0, 0,
   0, 0, NULL,
   "check every option, print the settings as JSON and exit: nothing is "
   "probed, no report is written", -1, .apply = NULL},
  {"help", 'h', NULL, NULL, WSP_OPTION_FLAG, FRONT | MERGE, G_OTHER, NULL, 0,
   0, 0, 0, NULL, "show this help", -1, .apply = NULL},
  {"version", 'V', NULL, NULL, WSP_OPTION_FLAG, FRONT, G_OTHER, NULL, 0, 0, 0,
   0, NULL, "show the version", -1, .apply = NULL},

  /* Merging reports: wsprobe merge only (wsp_plan_merge()). */
  {"allow-partial", 0, "allow_partial", NULL, WSP_OPTION_FLAG,
   MERGE | MERGE_ONLY, G_MERGE, NULL, 0, 0, 0, 0, NULL,
   "merge the shards given when some are missing: the report is marked "
   "partial, names them, and fails (exit status 4) whatever its probes say",
   -1, .apply = NULL},
};
/* clang-format on */

const size_t wsp__noptions = WSP__ARRAY_SIZE(wsp__options);

size_t wsp_option_count(void) { return wsp__noptions; }

const wsp_option *wsp_option_at(size_t i) {
  return i < wsp__noptions ? &wsp__options[i] : NULL;
}

const wsp_option *wsp__opt_get(const char *name) {
  if (name == NULL)
    return NULL;
  for (size_t i = 0; i < wsp__noptions; i++)
    if (strcmp(wsp__options[i].name, name) == 0)
      return &wsp__options[i];
  for (size_t i = 0; i < wsp__noptions; i++)
    if (wsp__options[i].keyword != NULL &&
        strcmp(wsp__options[i].keyword, name) == 0)
      return &wsp__options[i];
  return NULL;
}

const wsp_option *wsp_option_find(const char *name) {
  return wsp__opt_get(name);
}

const wsp_option *wsp_option_find_short(int c) {
  if (c <= 0)
    return NULL;
  for (size_t i = 0; i < wsp__noptions; i++)
    if (wsp__options[i].short_name == c)
      return &wsp__options[i];
  return NULL;
}

/* Ranges as text, made once for the whole table. */
static char ranges[WSP__ARRAY_SIZE(wsp__options)][48];
static pthread_once_t ranges_once = PTHREAD_ONCE_INIT;

static void make_ranges(void) {
  for (size_t i = 0; i < wsp__noptions; i++) {
    const wsp_option *o = &wsp__options[i];
    if (o->type == WSP_OPTION_SECONDS)
      snprintf(ranges[i], sizeof(ranges[i]), "%g-%llu", (double)o->min / 1000,
               (unsigned long long)(o->max / 1000));
    else if (o->type == WSP_OPTION_UINT || o->type == WSP_OPTION_NUMBER ||
             o->type == WSP_OPTION_LIST || o->type == WSP_OPTION_PAIR)
      snprintf(ranges[i], sizeof(ranges[i]), "%llu-%llu",
               (unsigned long long)o->min, (unsigned long long)o->max);
  }
}

const char *wsp_option_text(const wsp_option *o, wsp_option_field field) {
  if (o == NULL || o < wsp__options || o >= wsp__options + wsp__noptions)
    return NULL;
  switch (field) {
  case WSP_OPTION_NAME:
    return o->name;
  case WSP_OPTION_KEYWORD:
    return o->keyword;
  case WSP_OPTION_METAVAR:
    return o->metavar;
  case WSP_OPTION_HELP:
    return o->help;
  case WSP_OPTION_DEFAULT:
    return o->dflt;
  case WSP_OPTION_GROUP:
    return o->group;
  case WSP_OPTION_RANGE:
    pthread_once(&ranges_once, make_ranges);
    return ranges[o - wsp__options][0] ? ranges[o - wsp__options] : NULL;
  case WSP_OPTION_CHOICES:
    return o->choices;
  case WSP_OPTION_SEPARATOR:
    return o->sep == ':' ? ":" : o->sep == '/' ? "/" : NULL;
  }
  return NULL;
}

int wsp_option_short(const wsp_option *o) {
  return o ? (unsigned char)o->short_name : 0;
}

wsp_option_type wsp_option_type_of(const wsp_option *o) {
  return o ? o->type : WSP_OPTION_FLAG;
}

unsigned int wsp_option_flags(const wsp_option *o) { return o ? o->flags : 0; }

const char *wsp__opt_ref(const wsp_plan *p, const wsp_option *o, char *buf,
                         size_t len) {
  if (p->keywords && o->keyword != NULL)
    snprintf(buf, len, "%s", o->keyword);
  else
    snprintf(buf, len, "--%s", o->name);
  return buf;
}

/* ---- parsing ---- */

/* A value as a message may quote it: never a secret's, at most 60 bytes. */
static const char *shown(const wsp_option *o, const char *text) {
  return (o->flags & SECRET) ? "<secret>" : text;
}

/* A number in o's range from s[0..len), or an error naming the option. */
static int number(wsp_plan *p, const wsp_option *o, const char *s, size_t len,
                  uint64_t *out) {
  char ref[48];
  int rc = wsp__parse_u64(s, len, out);
  wsp__opt_ref(p, o, ref, sizeof(ref));
  if (rc == WSP_EINVAL)
    return wsp__plan_fail(p, WSP_EINVAL,
                          "%s: '%.*s' is not a non-negative integer", ref,
                          (int)(len > 60 ? 60 : len), shown(o, s));
  if (rc != 0 || *out < o->min || *out > o->max)
    return wsp__plan_fail(p, WSP_ERANGE, "%s: %.*s is out of range (%s)", ref,
                          (int)(len > 60 ? 60 : len), s,
                          wsp_option_text(o, WSP_OPTION_RANGE));
  return 0;
}

/* Seconds to the millisecond: "2", "0.5", "1.250". */
static int seconds(wsp_plan *p, const wsp_option *o, const char *s,
                   uint64_t *ms) {
  const char *dot = strchr(s, '.');
  size_t ilen = dot ? (size_t)(dot - s) : strlen(s);
  uint64_t whole = 0, frac = 0;
  size_t flen = dot ? strlen(dot + 1) : 0;
  char ref[48];
  wsp__opt_ref(p, o, ref, sizeof(ref));
  if ((ilen == 0 && flen == 0) || (dot && flen == 0) || flen > 3 ||
      (ilen > 0 && wsp__parse_u64(s, ilen, &whole) == WSP_EINVAL) ||
      (flen > 0 && wsp__parse_u64(dot + 1, flen, &frac) != 0))
    return wsp__plan_fail(p, WSP_EINVAL,
                          "%s: '%.60s' is not a number of seconds (to the "
                          "millisecond, e.g. 2 or 0.5)",
                          ref, s);
  while (flen++ < 3)
    frac *= 10;
  if (whole > o->max / 1000 || whole * 1000 + frac < o->min ||
      whole * 1000 + frac > o->max)
    return wsp__plan_fail(p, WSP_ERANGE, "%s: %.60s is out of range (%s)", ref,
                          s, wsp_option_text(o, WSP_OPTION_RANGE));
  *ms = whole * 1000 + frac;
  return 0;
}

int wsp__opt_parse(wsp_plan *p, const wsp_option *o, wsp__optval *v) {
  char ref[48];
  const char *s = v->text;
  wsp__opt_ref(p, o, ref, sizeof(ref));
  if (o->type == WSP_OPTION_FLAG) {
    if (s != NULL)
      return wsp__plan_fail(p, WSP_EINVAL, "%s takes no value", ref);
    return 0;
  }
  if (s == NULL) {
    if (o->flags & WSP_OPTION_OPTIONAL) {
      /* Left out: the default. */
      if ((v->text = wsp__strdup(o->dflt)) == NULL)
        return wsp__plan_fail(p, WSP_ENOMEM, "out of memory");
      v->len = strlen(v->text);
      s = v->text;
    } else {
      return wsp__plan_fail(p, WSP_EINVAL, "%s needs a value (%s)", ref,
                            o->metavar);
    }
  }
  if (o->type != WSP_OPTION_TEXT && memchr(s, '\0', v->len) != NULL)
    return wsp__plan_fail(p, WSP_EINVAL, "%s: the value holds a NUL byte", ref);
  switch (o->type) {
  case WSP_OPTION_UINT:
    return number(p, o, s, v->len, &v->u);
  case WSP_OPTION_SECONDS:
    if (v->by_keyword) /* The bindings give integer milliseconds. */
      return number(p, o, s, v->len, &v->u);
    return seconds(p, o, s, &v->u);
  case WSP_OPTION_NUMBER: {
    char *end;
    errno = 0;
    v->d = strtod(s, &end);
    if (*s == '\0' || *end != '\0' || errno != 0 || !isfinite(v->d))
      return wsp__plan_fail(p, WSP_EINVAL, "%s: '%.60s' is not a number", ref,
                            s);
    if (!(v->d > (double)o->min && v->d <= (double)o->max))
      return wsp__plan_fail(p, WSP_ERANGE,
                            "%s: %.60s is out of range (above %llu, at most "
                            "%llu)",
                            ref, s, (unsigned long long)o->min,
                            (unsigned long long)o->max);
    return 0;
  }
  case WSP_OPTION_LIST: {
    size_t n = 1, k = 0;
    const char *c = s;
    for (const char *q = s; *q; q++)
      n += *q == ',';
    if (n > o->max_items)
      return wsp__plan_fail(p, WSP_ERANGE, "%s: more than %zu entries", ref,
                            o->max_items);
    if ((v->list = calloc(n, sizeof(*v->list))) == NULL)
      return wsp__plan_fail(p, WSP_ENOMEM, "out of memory");
    for (;;) {
      const char *comma = strchr(c, ',');
      size_t len = comma ? (size_t)(comma - c) : strlen(c);
      uint64_t x;
      int rc;
      if (len == 0)
        return wsp__plan_fail(p, WSP_EINVAL, "%s: '%.60s' has an empty entry",
                              ref, s);
      if ((rc = number(p, o, c, len, &x)) != 0)
        return rc;
      v->list[k++] = (uint32_t)x;
      if (comma == NULL)
        break;
      c = comma + 1;
    }
    v->nlist = k;
    return 0;
  }
  case WSP_OPTION_PAIR: {
    const char *m = strchr(s, o->sep);
    int rc;
    if (m == NULL || strchr(m + 1, o->sep) != NULL)
      return wsp__plan_fail(p, WSP_EINVAL, "%s: '%.60s' is not of the form %s",
                            ref, s, o->metavar);
    if ((rc = number(p, o, s, (size_t)(m - s), &v->u)) != 0 ||
        (rc = number(p, o, m + 1, strlen(m + 1), &v->u2)) != 0)
      return rc;
    return 0;
  }
  case WSP_OPTION_CHOICE: {
    const char *c = o->choices;
    size_t n = strlen(s);
    while (*c) {
      size_t len = strcspn(c, " ");
      if (len == n && n > 0 && memcmp(c, s, n) == 0)
        return 0;
      c += len + (c[len] == ' ');
    }
    return wsp__plan_fail(p, WSP_EINVAL, "%s: '%.60s' is not one of %s", ref, s,
                          o->choices);
  }
  case WSP_OPTION_FILE:
  case WSP_OPTION_OUTPUT:
    if (*s == '\0')
      return wsp__plan_fail(p, WSP_EINVAL, "%s: an empty file name", ref);
    return 0;
  default:
    return 0;
  }
}

/* ---- applying ---- */

int wsp__opt_cfg_fail(wsp__build *b, const wsp_option *o, int rc) {
  char ref[48];
  if (rc == 0)
    return 0;
  return wsp__plan_fail(b->p, rc, "%s: %s",
                        wsp__opt_ref(b->p, o, ref, sizeof(ref)),
                        wsp_config_last_error(b->cfg));
}

int wsp__opt_camp_fail(wsp__build *b, const wsp_option *o, int rc) {
  char ref[48];
  if (rc == 0)
    return 0;
  return wsp__plan_fail(b->p, rc, "%s: %s",
                        wsp__opt_ref(b->p, o, ref, sizeof(ref)),
                        wsp_campaign_last_error(b->c));
}

int wsp__opt_apply(wsp__build *b, const wsp_option *o, const wsp__optval *v) {
  int on = !(o->flags & WSP_OPTION_NEGATIVE);
  if (o->apply != NULL)
    return o->apply(b, o, v);
  if (o->cfg_u32 != NULL)
    return wsp__opt_cfg_fail(b, o, o->cfg_u32(b->cfg, (uint32_t)v->u));
  if (o->cfg_u64 != NULL)
    return wsp__opt_cfg_fail(b, o, o->cfg_u64(b->cfg, v->u));
  if (o->cfg_int != NULL)
    return wsp__opt_cfg_fail(b, o, o->cfg_int(b->cfg, on));
  if (o->cfg_str != NULL)
    return wsp__opt_cfg_fail(b, o, o->cfg_str(b->cfg, v->text));
  if (o->camp_u32 != NULL)
    return wsp__opt_camp_fail(b, o, o->camp_u32(b->c, (uint32_t)v->u));
  if (o->camp_int != NULL)
    return wsp__opt_camp_fail(b, o, o->camp_int(b->c, on));
  return 0;
}

static int ap_health(wsp__build *b, const wsp_option *o, const wsp__optval *v) {
  return wsp__opt_camp_fail(b, o, wsp_campaign_set_health(b->c, v->text));
}

static int ap_header(wsp__build *b, const wsp_option *o, const wsp__optval *v) {
  return wsp__opt_cfg_fail(b, o, wsp_config_add_header_line(b->cfg, v->text));
}

static int ap_step(wsp__build *b, const wsp_option *o, const wsp__optval *v) {
  return wsp__opt_cfg_fail(b, o,
                           wsp__config_add_step_text(b->cfg, v->text, v->len));
}

static int ap_timeout(wsp__build *b, const wsp_option *o,
                      const wsp__optval *v) {
  return wsp__opt_cfg_fail(
      b, o,
      wsp_config_set_timeout(b->cfg, (wsp_phase)o->phase, (uint32_t)v->u));
}

static int ap_rate(wsp__build *b, const wsp_option *o, const wsp__optval *v) {
  return wsp__opt_camp_fail(b, o, wsp_campaign_set_rate(b->c, v->d));
}

static int ap_seed(wsp__build *b, const wsp_option *o, const wsp__optval *v) {
  return wsp__opt_camp_fail(b, o, wsp_campaign_set_seed(b->c, v->u));
}

static int ap_shard(wsp__build *b, const wsp_option *o, const wsp__optval *v) {
  char ref[48];
  if (v->u2 == 0 || v->u >= v->u2)
    return wsp__plan_fail(b->p, WSP_ERANGE,
                          "%s: I must be below N (I/N, 0-based), not %s",
                          wsp__opt_ref(b->p, o, ref, sizeof(ref)), v->text);
  return wsp__opt_camp_fail(
      b, o, wsp_campaign_set_shard(b->c, (uint32_t)v->u, (uint32_t)v->u2));
}

static int ap_start_at(wsp__build *b, const wsp_option *o,
                       const wsp__optval *v) {
  char ref[48];
  int64_t us;
  if (wsp_time_parse(v->text, &us) != 0)
    return wsp__plan_fail(b->p, WSP_EINVAL,
                          "%s: '%.60s' is not an RFC 3339 time "
                          "(2026-11-28T22:30:00.250Z) or Unix seconds",
                          wsp__opt_ref(b->p, o, ref, sizeof(ref)), v->text);
  return wsp__opt_camp_fail(b, o, wsp_campaign_set_start_at(b->c, us));
}

static int ap_threads(wsp__build *b, const wsp_option *o,
                      const wsp__optval *v) {
  char ref[48], *end;
  unsigned long n;
  if (strcmp(v->text, "auto") == 0)
    return wsp__opt_camp_fail(b, o, wsp_campaign_set_threads(b->c, 0));
  errno = 0;
  n = strtoul(v->text, &end, 10);
  if (v->text[0] < '0' || v->text[0] > '9' || *end != '\0' || errno != 0 ||
      n < 1 || n > WSP__MAX_THREADS)
    return wsp__plan_fail(b->p, WSP_ERANGE,
                          "%s: '%.60s' is neither a number of threads "
                          "(1-%d) nor auto",
                          wsp__opt_ref(b->p, o, ref, sizeof(ref)), v->text,
                          WSP__MAX_THREADS);
  return wsp__opt_camp_fail(b, o, wsp_campaign_set_threads(b->c, (uint32_t)n));
}

static int ap_tls_resume(wsp__build *b, const wsp_option *o,
                         const wsp__optval *v) {
  return wsp__opt_cfg_fail(
      b, o, wsp_config_set_tls_resume(b->cfg, strcmp(v->text, "on") == 0));
}

static int ap_address_policy(wsp__build *b, const wsp_option *o,
                             const wsp__optval *v) {
  return wsp__opt_cfg_fail(
      b, o,
      wsp_config_set_address_policy(b->cfg, strcmp(v->text, "first") == 0
                                                ? WSP_ADDRESS_FIRST
                                                : WSP_ADDRESS_ROUND_ROBIN));
}
