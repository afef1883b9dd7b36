/*
 * libFuzzer target: the proxy module's parsers, which read what a user's
 * environment and a proxy send: the CONNECT response parser
 * (wsp__tunnel_parse), the proxy URL parser and the no-proxy matcher.
 *
 * Input: the first byte picks a split point; the rest is a proxy's
 * answer, fed whole and then in two parts, which must reach the same
 * state, status and count of response bytes. The same bytes are also a
 * proxy URL, and "host\nlist" for the no-proxy matcher.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "proxy.h"

static void check_tunnel(const uint8_t *d, size_t n, size_t cut) {
  wsp__tunnel a, b;
  size_t ua, ub1 = 0, ub2 = 0;
  wsp__tunnel_state sa, sb;
  wsp__tunnel_init(&a);
  wsp__tunnel_init(&b);
  sa = wsp__tunnel_parse(&a, d, n, &ua);
  FUZZ_CHECK(ua <= n);
  FUZZ_CHECK(sa != WSP__TUNNEL_MORE || ua == n);
  FUZZ_CHECK(a.header_bytes <= WSP__TUNNEL_MAX_HEADER + 1);
  FUZZ_CHECK(strlen(a.reason) < sizeof(a.reason));
  for (const char *c = a.reason; *c; c++)
    FUZZ_CHECK((unsigned char)*c >= 0x20 && *c != 0x7f);
  if (sa == WSP__TUNNEL_UP)
    FUZZ_CHECK(a.status >= 200 && a.status < 300);
  if (sa == WSP__TUNNEL_REFUSED)
    FUZZ_CHECK(a.status >= 100 && a.status <= 999 &&
               !(a.status >= 200 && a.status < 300));
  sb = wsp__tunnel_parse(&b, d, cut, &ub1);
  if (sb == WSP__TUNNEL_MORE)
    sb = wsp__tunnel_parse(&b, d + cut, n - cut, &ub2);
  FUZZ_CHECK(sa == sb);
  FUZZ_CHECK(a.status == b.status);
  FUZZ_CHECK(strcmp(a.reason, b.reason) == 0);
  if (sa != WSP__TUNNEL_MALFORMED)
    FUZZ_CHECK(ua == ub1 + ub2);
  /* Once concluded, further bytes change nothing. */
  if (sa != WSP__TUNNEL_MORE) {
    size_t u;
    FUZZ_CHECK(wsp__tunnel_parse(&a, d, n, &u) == sa && u == 0);
  }
}

static void check_url(const char *s) {
  wsp__proxy px, cp;
  char err[256], *req;
  size_t len;
  err[0] = '\0';
  if (wsp__proxy_parse(s, &px, err, sizeof(err)) != 0) {
    FUZZ_CHECK(err[0] != '\0' || px.host == NULL);
    return;
  }
  FUZZ_CHECK(px.host != NULL && px.host[0] != '\0' && px.port != 0);
  FUZZ_CHECK(px.shown != NULL && strncmp(px.shown, "http://", 7) == 0);
  /* Credentials never reach the shown URL. */
  FUZZ_CHECK(px.auth == NULL || strchr(px.shown, '@') == NULL ||
             strstr(px.shown, "<redacted>@") != NULL);
  FUZZ_CHECK(wsp__proxy_copy(&cp, &px) == 0);
  FUZZ_CHECK(strcmp(cp.host, px.host) == 0 && cp.port == px.port);
  if (wsp__tunnel_request("example.com", 443, &px, &req, &len) == 0) {
    /* Exactly the request line, Host, maybe Proxy-Authorization. */
    size_t lines = 0;
    for (size_t i = 0; i + 1 < len; i++)
      lines += req[i] == '\r' && req[i + 1] == '\n';
    FUZZ_CHECK(lines == (px.auth ? 4u : 3u));
    free(req);
  }
  wsp__proxy_clear(&cp);
  wsp__proxy_clear(&px);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s, *nl;
  size_t cut;
  if (size < 1)
    return 0;
  cut = size > 1 ? data[0] % size : 0;
  data++;
  size--;
  check_tunnel(data, size, cut > size ? size : cut);
  if ((s = malloc(size + 1)) == NULL)
    return 0;
  memcpy(s, data, size);
  s[size] = '\0';
  check_url(s);
  if ((nl = strchr(s, '\n')) != NULL) {
    *nl = '\0';
    (void)wsp__noproxy_match(s, nl + 1);
  }
  free(s);
  return 0;
}
