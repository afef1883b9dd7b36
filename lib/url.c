/*
 * ws:// and wss:// URL parsing (RFC 6455 section 3). Strict on purpose: a
 * URL the probe cannot use is refused when it is set, with a reason.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "url.h"
#include "util.h"

#define FAIL(...)                                                              \
  do {                                                                         \
    snprintf(err, errlen, __VA_ARGS__);                                        \
    goto fail;                                                                 \
  } while (0)

static int host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

/* Printable ASCII except space, '#' and the characters RFC 3986 excludes. */
static int target_char(unsigned char c) {
  return c > 0x20 && c < 0x7f && c != '#' && c != '"' && c != '<' && c != '>' &&
         c != '\\' && c != '^' && c != '`' && c != '{' && c != '|' && c != '}';
}

int wsp__url_parse(const char *s, wsp__url *out, char *err, size_t errlen) {
  wsp__url u = {0};
  const char *p, *host, *host_end;
  size_t n;

  if (s == NULL || *s == '\0')
    FAIL("empty URL");
  if (strncasecmp(s, "ws://", 5) == 0) {
    p = s + 5;
  } else if (strncasecmp(s, "wss://", 6) == 0) {
    p = s + 6;
    u.tls = 1;
  } else {
    const char *colon = strstr(s, "://");
    if (colon != NULL)
      FAIL("unsupported scheme '%.*s' (use ws:// or wss://)",
           (int)(colon - s > 16 ? 16 : colon - s), s);
    FAIL("URL must start with ws:// or wss://");
  }
  u.port = u.tls ? 443 : 80;

  /* Authority: host and port, up to '/', '?' or the end. */
  n = strcspn(p, "/?#");
  for (size_t i = 0; i < n; i++)
    if (p[i] == '@')
      FAIL("user information in URLs is not supported");
  if (*p == '[') {
    const char *rb = memchr(p, ']', n);
    if (rb == NULL)
      FAIL("unterminated IPv6 literal (missing ']')");
    host = p + 1;
    host_end = rb;
    p = rb + 1;
    u.ip_literal = AF_INET6;
  } else {
    host = p;
    host_end = p + strcspn(p, ":/?#");
    p = host_end;
  }
  if (host_end == host)
    FAIL("missing host");
  if ((size_t)(host_end - host) > 253)
    FAIL("host name too long");
  u.host = wsp__strndup(host, (size_t)(host_end - host));
  if (u.host == NULL)
    FAIL("out of memory");
  if (u.ip_literal == AF_INET6) {
    struct in6_addr a6;
    if (inet_pton(AF_INET6, u.host, &a6) != 1)
      FAIL("invalid IPv6 address '%s'", u.host);
  } else {
    struct in_addr a4;
    for (const char *c = u.host; *c; c++)
      if (!host_char(*c))
        FAIL("invalid character '%c' in host", *c);
    if (inet_pton(AF_INET, u.host, &a4) == 1)
      u.ip_literal = AF_INET;
  }

  if (*p == ':') {
    char *end;
    unsigned long port;
    p++;
    if (*p < '0' || *p > '9')
      FAIL("invalid port");
    port = strtoul(p, &end, 10);
    if (end - p > 5 || port == 0 || port > 65535)
      FAIL("port out of range (1-65535)");
    u.port = (uint16_t)port;
    p = end;
  }
  if (*p != '\0' && *p != '/' && *p != '?')
    FAIL("invalid character after host");

  /* Target: path and query, never a fragment (RFC 6455 section 3). */
  for (const char *c = p; *c; c++) {
    if (*c == '#')
      FAIL("fragments are not allowed in WebSocket URLs");
    if (!target_char((unsigned char)*c))
      FAIL("invalid character 0x%02x in path or query",
           (unsigned)(unsigned char)*c);
  }
  if (*p == '\0') {
    u.target = strdup("/");
  } else if (*p == '?') {
    size_t len = strlen(p);
    u.target = malloc(len + 2);
    if (u.target != NULL) {
      u.target[0] = '/';
      memcpy(u.target + 1, p, len + 1);
    }
  } else {
    u.target = strdup(p);
  }
  if (u.target == NULL)
    FAIL("out of memory");

  {
    int def = u.port == (u.tls ? 443 : 80);
    int v6 = u.ip_literal == AF_INET6;
    size_t len = strlen(u.host) + 16;
    u.host_header = malloc(len);
    if (u.host_header == NULL)
      FAIL("out of memory");
    if (def)
      snprintf(u.host_header, len, v6 ? "[%s]" : "%s", u.host);
    else
      snprintf(u.host_header, len, v6 ? "[%s]:%u" : "%s:%u", u.host,
               (unsigned)u.port);
  }
  *out = u;
  return 0;

fail:
  wsp__url_clear(&u);
  return WSP_EURL;
}

void wsp__url_clear(wsp__url *u) {
  free(u->host);
  free(u->target);
  free(u->host_header);
  memset(u, 0, sizeof(*u));
}

int wsp__url_copy(wsp__url *dst, const wsp__url *src) {
  *dst = *src;
  dst->host = wsp__strdup(src->host);
  dst->target = wsp__strdup(src->target);
  dst->host_header = wsp__strdup(src->host_header);
  if ((src->host && !dst->host) || (src->target && !dst->target) ||
      (src->host_header && !dst->host_header)) {
    wsp__url_clear(dst);
    return WSP_ENOMEM;
  }
  return 0;
}
