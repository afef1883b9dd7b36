/* URL parsing: what is accepted, what each part becomes, what is refused. */
#include <stdlib.h>
#include <sys/socket.h>

#include "check.h"
#include "url.h"
#include "wsprobe.h"

static void ok(const char *s, const char *host, unsigned port,
               const char *target, const char *host_header, int literal) {
  wsp__url u;
  char err[200] = "";
  int rc = wsp__url_parse(s, &u, err, sizeof(err));
  CHECK_INT(rc, 0);
  if (rc != 0) {
    fprintf(stderr, "  %s: %s\n", s, err);
    return;
  }
  CHECK_STR(u.host, host);
  CHECK_INT(u.port, port);
  CHECK_STR(u.target, target);
  CHECK_STR(u.host_header, host_header);
  CHECK_INT(u.ip_literal, literal);
  wsp__url_clear(&u);
}

static void bad(const char *s, const char *why) {
  wsp__url u;
  char err[200] = "";
  CHECK_INT(wsp__url_parse(s, &u, err, sizeof(err)), WSP_EURL);
  CHECK(strstr(err, why) != NULL);
  if (strstr(err, why) == NULL)
    fprintf(stderr, "  '%s' gave '%s', wanted '%s'\n", s ? s : "(null)", err,
            why);
}

int main(void) {
  ok("ws://example.com", "example.com", 80, "/", "example.com", 0);
  ok("ws://example.com/", "example.com", 80, "/", "example.com", 0);
  ok("WS://Example.com:8080/chat?x=1&y=%20", "Example.com", 8080,
     "/chat?x=1&y=%20", "Example.com:8080", 0);
  ok("ws://h?only=query", "h", 80, "/?only=query", "h", 0);
  ok("ws://127.0.0.1:9000/ws", "127.0.0.1", 9000, "/ws", "127.0.0.1:9000",
     AF_INET);
  ok("ws://[::1]:9000/ws", "::1", 9000, "/ws", "[::1]:9000", AF_INET6);
  ok("ws://[::1]/", "::1", 80, "/", "[::1]", AF_INET6);
  ok("wss://h/", "h", 443, "/", "h", 0);
  ok("wss://h:443/", "h", 443, "/", "h", 0);
  ok("ws://h:80/", "h", 80, "/", "h", 0);

  bad(NULL, "empty");
  bad("", "empty");
  bad("http://x/", "unsupported scheme 'http'");
  bad("x", "must start with ws://");
  bad("ws://", "missing host");
  bad("ws:///path", "missing host");
  bad("ws://[::1", "unterminated IPv6");
  bad("ws://[zz]/", "invalid IPv6");
  bad("ws://h:0/", "port out of range");
  bad("ws://h:65536/", "port out of range");
  bad("ws://h:123456/", "port out of range");
  bad("ws://h:/", "invalid port");
  bad("ws://h:x/", "invalid port");
  bad("ws://u@h/", "user information");
  bad("ws://h/p#frag", "fragments");
  bad("ws://h/a b", "invalid character 0x20");
  bad("ws://h/\x01", "invalid character 0x01");
  bad("ws://h\xc3\xa9/", "invalid character");
  bad("ws://h!/", "invalid character '!'");
  bad("ws://[::1]x/", "invalid character after host");
  return check_status("test_url");
}
