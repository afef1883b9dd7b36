/*
 * The proxy module without sockets: URLs, curl's environment and
 * no-proxy rules, the CONNECT request, and the response parser fed at
 * every split point.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "check.h"
#include "proxy.h"
#include "wsprobe.h"

static void test_parse(void) {
  wsp__proxy px;
  char err[256];
  CHECK_INT(wsp__proxy_parse("http://127.0.0.1:3128", &px, err, sizeof(err)),
            0);
  CHECK_STR(px.host, "127.0.0.1");
  CHECK_INT(px.port, 3128);
  CHECK_INT(px.ip_literal, AF_INET);
  CHECK(px.auth == NULL);
  CHECK_STR(px.shown, "http://127.0.0.1:3128");
  wsp__proxy_clear(&px);

  /* No scheme means http://, no port means 1080 (curl's defaults). */
  CHECK_INT(wsp__proxy_parse("proxy.example:8080/", &px, err, sizeof(err)), 0);
  CHECK_STR(px.host, "proxy.example");
  CHECK_INT(px.port, 8080);
  wsp__proxy_clear(&px);
  CHECK_INT(wsp__proxy_parse("HTTP://[::1]", &px, err, sizeof(err)), 0);
  CHECK_STR(px.host, "::1");
  CHECK_INT(px.port, 1080);
  CHECK_INT(px.ip_literal, AF_INET6);
  CHECK_STR(px.shown, "http://[::1]:1080");
  wsp__proxy_clear(&px);

  /* Credentials: percent-decoded, base64'd, never shown. */
  CHECK_INT(
      wsp__proxy_parse("http://al%40ice:s3cr%3At@h:1", &px, err, sizeof(err)),
      0);
  CHECK_STR(px.auth, "YWxAaWNlOnMzY3I6dA=="); /* al@ice:s3cr:t */
  CHECK_STR(px.shown, "http://<redacted>@h:1");
  {
    wsp__proxy cp;
    CHECK_INT(wsp__proxy_copy(&cp, &px), 0);
    CHECK_STR(cp.auth, px.auth);
    CHECK_STR(cp.host, "h");
    wsp__proxy_clear(&cp);
  }
  wsp__proxy_clear(&px);
  CHECK_INT(wsp__proxy_parse("http://user@h:1", &px, err, sizeof(err)), 0);
  CHECK_STR(px.auth, "dXNlcjo="); /* user: */
  wsp__proxy_clear(&px);

  CHECK_INT(wsp__proxy_parse("https://h:3128", &px, err, sizeof(err)),
            WSP_EURL);
  CHECK(strstr(err, "https:// proxies are not supported") != NULL);
  CHECK_INT(wsp__proxy_parse("socks5://h:1", &px, err, sizeof(err)), WSP_EURL);
  CHECK_INT(wsp__proxy_parse("", &px, err, sizeof(err)), WSP_EURL);
  CHECK_INT(wsp__proxy_parse("http://h:0", &px, err, sizeof(err)), WSP_EURL);
  CHECK_INT(wsp__proxy_parse("http://h:65536", &px, err, sizeof(err)),
            WSP_EURL);
  CHECK_INT(wsp__proxy_parse("http://h:1x", &px, err, sizeof(err)), WSP_EURL);
  CHECK_INT(wsp__proxy_parse("http://h:1/path", &px, err, sizeof(err)),
            WSP_EURL);
  CHECK_INT(wsp__proxy_parse("http://:1", &px, err, sizeof(err)), WSP_EURL);
  CHECK_INT(wsp__proxy_parse("http://[::1", &px, err, sizeof(err)), WSP_EURL);
  CHECK_INT(wsp__proxy_parse("http://[nope]:1", &px, err, sizeof(err)),
            WSP_EURL);
  CHECK_INT(wsp__proxy_parse("http://a b:1", &px, err, sizeof(err)), WSP_EURL);
  CHECK_INT(wsp__proxy_parse("http://a\nb:1", &px, err, sizeof(err)), WSP_EURL);
  CHECK_INT(wsp__proxy_parse("http://u:pw%zz@h:1", &px, err, sizeof(err)),
            WSP_EURL);
  CHECK(strstr(err, "pw") == NULL);
  CHECK_INT(wsp__proxy_parse("http://u:hunter2@h:0", &px, err, sizeof(err)),
            WSP_EURL);
  CHECK(strstr(err, "hunter2") == NULL);
}

static void clear_env(void) {
  static const char *const vars[] = {"ws_proxy",    "WS_PROXY",    "wss_proxy",
                                     "WSS_PROXY",   "http_proxy",  "HTTP_PROXY",
                                     "https_proxy", "HTTPS_PROXY", "all_proxy",
                                     "ALL_PROXY",   "no_proxy",    "NO_PROXY"};
  for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
    unsetenv(vars[i]);
}

static void test_env(void) {
  const char *var = NULL;
  clear_env();
  CHECK(wsp__proxy_env(0, &var) == NULL);
  CHECK(wsp__proxy_env(1, &var) == NULL);
  CHECK(wsp__noproxy_env(&var) == NULL);

  /* HTTP_PROXY is never read (a CGI client can set it); all_proxy is. */
  setenv("HTTP_PROXY", "http://upper:1", 1);
  CHECK(wsp__proxy_env(0, &var) == NULL);
  setenv("ALL_PROXY", "http://ALL:1", 1);
  CHECK_STR(wsp__proxy_env(0, &var), "http://ALL:1");
  CHECK_STR(var, "ALL_PROXY");
  setenv("all_proxy", "http://all:1", 1);
  CHECK_STR(wsp__proxy_env(1, &var), "http://all:1");
  CHECK_STR(var, "all_proxy");
  setenv("http_proxy", "http://http:1", 1);
  CHECK_STR(wsp__proxy_env(0, &var), "http://http:1");
  CHECK_STR(var, "http_proxy");
  /* http_proxy is for ws:// only; wss:// falls back to https_proxy. */
  CHECK_STR(wsp__proxy_env(1, &var), "http://all:1");
  setenv("HTTPS_PROXY", "http://HTTPS:1", 1);
  CHECK_STR(wsp__proxy_env(1, &var), "http://HTTPS:1");
  setenv("https_proxy", "http://https:1", 1);
  CHECK_STR(wsp__proxy_env(1, &var), "http://https:1");
  setenv("WSS_PROXY", "http://WSS:1", 1);
  CHECK_STR(wsp__proxy_env(1, &var), "http://WSS:1");
  setenv("wss_proxy", "http://wss:1", 1);
  CHECK_STR(wsp__proxy_env(1, &var), "http://wss:1");
  CHECK_STR(var, "wss_proxy");
  setenv("WS_PROXY", "http://WS:1", 1);
  CHECK_STR(wsp__proxy_env(0, &var), "http://WS:1");
  setenv("ws_proxy", "http://ws:1", 1);
  CHECK_STR(wsp__proxy_env(0, &var), "http://ws:1");
  CHECK_STR(var, "ws_proxy");
  /* Empty counts as unset. */
  setenv("ws_proxy", "", 1);
  CHECK_STR(wsp__proxy_env(0, &var), "http://WS:1");

  setenv("NO_PROXY", "upper", 1);
  CHECK_STR(wsp__noproxy_env(&var), "upper");
  CHECK_STR(var, "NO_PROXY");
  setenv("no_proxy", "lower", 1);
  CHECK_STR(wsp__noproxy_env(&var), "lower");
  setenv("no_proxy", "", 1);
  CHECK_STR(wsp__noproxy_env(&var), "upper");
  clear_env();
}

static void test_noproxy(void) {
  CHECK(wsp__noproxy_match("anything", "*"));
  CHECK(wsp__noproxy_match("127.0.0.1", "*"));
  CHECK(!wsp__noproxy_match("anything", ""));
  CHECK(!wsp__noproxy_match("anything", NULL));
  /* "*" only alone: inside a list it is a name like any other. */
  CHECK(!wsp__noproxy_match("anything", "*, other"));
  CHECK(wsp__noproxy_match("example.com", "example.com"));
  CHECK(wsp__noproxy_match("EXAMPLE.com", "example.COM"));
  CHECK(wsp__noproxy_match("www.example.com", "example.com"));
  CHECK(wsp__noproxy_match("www.example.com", ".example.com"));
  CHECK(wsp__noproxy_match("example.com", ".example.com"));
  CHECK(wsp__noproxy_match("example.com.", "example.com"));
  CHECK(wsp__noproxy_match("example.com", "example.com."));
  CHECK(!wsp__noproxy_match("nonexample.com", "example.com"));
  CHECK(!wsp__noproxy_match("example.com", "www.example.com"));
  CHECK(wsp__noproxy_match("b.test", "a.test, b.test"));
  CHECK(wsp__noproxy_match("b.test", " a.test ,,b.test"));
  /* As in curl, blanks without a comma end the list. */
  CHECK(!wsp__noproxy_match("b.test", "a.test\tb.test"));
  CHECK(!wsp__noproxy_match("c.test", "a.test,b.test"));
  /* Addresses match addresses and ranges, never names. */
  CHECK(wsp__noproxy_match("127.0.0.1", "127.0.0.1"));
  CHECK(!wsp__noproxy_match("127.0.0.1", "0.0.1"));
  CHECK(!wsp__noproxy_match("127.0.0.1", "localhost"));
  CHECK(wsp__noproxy_match("127.0.0.2", "10.0.0.0/8,127.0.0.0/8"));
  CHECK(!wsp__noproxy_match("128.0.0.1", "127.0.0.0/8"));
  CHECK(wsp__noproxy_match("192.168.1.7", "192.168.1.0/24"));
  CHECK(!wsp__noproxy_match("192.168.2.7", "192.168.1.0/24"));
  CHECK(!wsp__noproxy_match("127.0.0.1", "127.0.0.0/33"));
  CHECK(wsp__noproxy_match("::1", "::1"));
  CHECK(wsp__noproxy_match("fd00::5", "fd00::/8"));
  CHECK(!wsp__noproxy_match("fe00::5", "fd00::/8"));
  CHECK(!wsp__noproxy_match("::1", "127.0.0.1"));
  CHECK(!wsp__noproxy_match("localhost", "127.0.0.1"));
}

static void test_request(void) {
  wsp__proxy px;
  char err[128], *req;
  size_t len;
  CHECK_INT(wsp__proxy_parse("http://u:p@h:1", &px, err, sizeof(err)), 0);
  CHECK_INT(wsp__tunnel_request("example.com", 443, &px, &req, &len), 0);
  CHECK_STR(req, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n"
                 "Proxy-Authorization: Basic dTpw\r\n\r\n");
  CHECK_INT(len, strlen(req));
  free(req);
  wsp__proxy_clear(&px);
  CHECK_INT(wsp__proxy_parse("h:1", &px, err, sizeof(err)), 0);
  CHECK_INT(wsp__tunnel_request("::1", 80, &px, &req, &len), 0);
  CHECK_STR(req, "CONNECT [::1]:80 HTTP/1.1\r\nHost: [::1]:80\r\n\r\n");
  free(req);
  wsp__proxy_clear(&px);
}

/* Feeds `s` split at every point; checks the state, status and how many
 * bytes belong to the response. */
static void feed_split(const char *s, wsp__tunnel_state want, int status,
                       size_t resp_len) {
  size_t n = strlen(s);
  for (size_t cut = 0; cut <= n; cut++) {
    wsp__tunnel t;
    size_t used = 0, used2 = 0;
    wsp__tunnel_state st;
    wsp__tunnel_init(&t);
    st = wsp__tunnel_parse(&t, (const uint8_t *)s, cut, &used);
    if (st == WSP__TUNNEL_MORE) {
      CHECK_INT(used, cut);
      st = wsp__tunnel_parse(&t, (const uint8_t *)s + cut, n - cut, &used2);
    }
    CHECK_INT(st, want);
    if (want != WSP__TUNNEL_MALFORMED) {
      CHECK_INT(t.status, status);
      CHECK_INT(used + used2, resp_len);
    }
  }
}

static void test_parse_response(void) {
  const char *ok = "HTTP/1.1 200 Connection established\r\n"
                   "Proxy-Agent: x\r\n\r\n";
  wsp__tunnel t;
  size_t used;
  char buf[64];
  feed_split(ok, WSP__TUNNEL_UP, 200, strlen(ok));
  /* The tunnel's first bytes may follow in the same read. */
  snprintf(buf, sizeof(buf), "HTTP/1.0 200 OK\r\n\r\nHTTP/1.1 101");
  feed_split(buf, WSP__TUNNEL_UP, 200, 19);
  feed_split("HTTP/1.1 200\n\n", WSP__TUNNEL_UP, 200, 14);
  feed_split("HTTP/1.1 407 Proxy Authentication Required\r\n"
             "Proxy-Authenticate: Basic realm=\"x\"\r\nContent-Length: 3\r\n"
             "\r\nabc",
             WSP__TUNNEL_REFUSED, 407, 102);
  wsp__tunnel_init(&t);
  CHECK_INT(wsp__tunnel_parse(&t, (const uint8_t *)"HTTP/1.1 403 No\r\n\r\n",
                              19, &used),
            WSP__TUNNEL_REFUSED);
  CHECK_STR(t.reason, "No");
  feed_split("SSH-2.0-OpenSSH\r\n\r\n", WSP__TUNNEL_MALFORMED, 0, 0);
  feed_split("HTTP/1.1 2x0 OK\r\n\r\n", WSP__TUNNEL_MALFORMED, 0, 0);
  feed_split("HTTP/1.1 099 X\r\n\r\n", WSP__TUNNEL_MALFORMED, 0, 0);
  feed_split("HTTP/1.1 200OK\r\n\r\n", WSP__TUNNEL_MALFORMED, 0, 0);
  /* A response that never ends its headers is cut off at the bound. */
  {
    size_t n = WSP__TUNNEL_MAX_HEADER + 10;
    char *big = malloc(n);
    memset(big, 'a', n);
    memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
    wsp__tunnel_init(&t);
    CHECK_INT(wsp__tunnel_parse(&t, (const uint8_t *)big, n, &used),
              WSP__TUNNEL_MALFORMED);
    free(big);
  }
  /* A reason phrase's control bytes do not reach reports. */
  wsp__tunnel_init(&t);
  CHECK_INT(wsp__tunnel_parse(
                &t, (const uint8_t *)"HTTP/1.1 502 a\033b\r\n\r\n", 21, &used),
            WSP__TUNNEL_REFUSED);
  CHECK_STR(t.reason, "a?b");
}

int main(void) {
  test_parse();
  test_env();
  test_noproxy();
  test_request();
  test_parse_response();
  return check_status("test_proxy");
}
