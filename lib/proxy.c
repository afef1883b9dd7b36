/*
 * HTTP proxies: the URL, the environment (curl's rules, so that a shell
 * set up for curl reaches the same proxy), the no-proxy list and the
 * CONNECT tunnel's bytes. No I/O and no decisions: the probe sends what
 * this builds and decides on what this parsed.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <mbedtls/base64.h>

#include "proxy.h"
#include "util.h"
#include "wsprobe.h"

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  c = (char)tolower((unsigned char)c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decodes s[0..n) into a new string: credentials in a URL are
 * percent-encoded when they hold ':' or '@'. NULL on a bad escape. */
static char *pct_decode(const char *s, size_t n) {
  char *o = malloc(n + 1), *w = o;
  if (o == NULL)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '%') {
      int a = i + 2 < n ? hexval(s[i + 1]) : -1;
      int b = a >= 0 ? hexval(s[i + 2]) : -1;
      if (a < 0 || b < 0) {
        free(o);
        return NULL;
      }
      *w++ = (char)(a * 16 + b);
      i += 2;
    } else {
      *w++ = s[i];
    }
  }
  *w = '\0';
  return o;
}

static int set_auth(wsp__proxy *px, const char *ui, size_t n) {
  const char *colon = memchr(ui, ':', n);
  char *user = pct_decode(ui, colon ? (size_t)(colon - ui) : n);
  char *pass = colon ? pct_decode(colon + 1, n - (size_t)(colon - ui) - 1)
                     : wsp__strdup("");
  size_t ul, pl, olen = 0;
  unsigned char *plain = NULL;
  int rc = WSP_ENOMEM;
  if (user == NULL || pass == NULL) {
    rc = user && pass ? WSP_ENOMEM : WSP_EURL;
    goto out;
  }
  ul = strlen(user);
  pl = strlen(pass);
  if ((plain = malloc(ul + pl + 2)) == NULL)
    goto out;
  memcpy(plain, user, ul);
  plain[ul] = ':';
  memcpy(plain + ul + 1, pass, pl);
  (void)mbedtls_base64_encode(NULL, 0, &olen, plain, ul + pl + 1);
  if ((px->auth = malloc(olen)) == NULL)
    goto out;
  rc = mbedtls_base64_encode((unsigned char *)px->auth, olen, &olen, plain,
                             ul + pl + 1) == 0
           ? 0
           : WSP_ENOMEM;
out:
  if (plain != NULL)
    memset(plain, 0, ul + pl + 1);
  if (pass != NULL)
    memset(pass, 0, strlen(pass));
  free(plain);
  free(user);
  free(pass);
  return rc;
}

int wsp__proxy_parse(const char *s, wsp__proxy *out, char *err, size_t errlen) {
  wsp__proxy px;
  const char *p, *at, *end, *hs, *he, *colon = NULL;
  unsigned long port = 1080;
  unsigned char addr[16];
  char shown[300];
  int rc;
  memset(&px, 0, sizeof(px));
  memset(out, 0, sizeof(*out));
  if (s == NULL || *s == '\0')
    return wsp__errorf(err, errlen, WSP_EURL, "empty proxy URL");
  if ((p = strstr(s, "://")) != NULL) {
    size_t sl = (size_t)(p - s);
    if (sl == 5 && strncasecmp(s, "https", 5) == 0)
      return wsp__errorf(err, errlen, WSP_EURL,
                         "https:// proxies are not supported: use an "
                         "http:// proxy (wss:// still runs TLS to the "
                         "server through its tunnel)");
    if (sl != 4 || strncasecmp(s, "http", 4) != 0)
      return wsp__errorf(err, errlen, WSP_EURL,
                         "unsupported proxy scheme '%.*s://': only http:// "
                         "proxies are supported",
                         (int)(sl < 16 ? sl : 16), s);
    p += 3;
  } else {
    p = s;
  }
  end = p + strcspn(p, "/?#");
  if (*end == '?' || *end == '#' || (*end == '/' && end[1] != '\0'))
    return wsp__errorf(err, errlen, WSP_EURL,
                       "a proxy URL has no path or query");
  at = NULL;
  for (const char *q = p; q < end; q++)
    if (*q == '@')
      at = q;
  hs = at ? at + 1 : p;
  if (*hs == '[') {
    he = memchr(hs, ']', (size_t)(end - hs));
    if (he == NULL)
      return wsp__errorf(err, errlen, WSP_EURL,
                         "unterminated '[' in the proxy URL");
    if (he + 1 < end && he[1] != ':')
      return wsp__errorf(err, errlen, WSP_EURL,
                         "junk after ']' in the proxy URL");
    colon = he + 1 < end ? he + 1 : NULL;
    hs++;
  } else {
    colon = memchr(hs, ':', (size_t)(end - hs));
    he = colon ? colon : end;
  }
  if (he == hs)
    return wsp__errorf(err, errlen, WSP_EURL, "no host in the proxy URL");
  if (colon != NULL) {
    char *e;
    if (colon + 1 == end || !isdigit((unsigned char)colon[1]))
      return wsp__errorf(err, errlen, WSP_EURL, "bad port in the proxy URL");
    port = strtoul(colon + 1, &e, 10);
    if (e != end || port == 0 || port > 65535)
      return wsp__errorf(err, errlen, WSP_EURL, "bad port in the proxy URL");
  }
  /* A name is letters, digits, dots, hyphens and underscores: nothing
   * that could reach a report or the resolver as something else. */
  for (const char *c = hs; c < he; c++)
    if (!isalnum((unsigned char)*c) && *c != '.' && *c != '-' && *c != '_' &&
        !(*c == ':' && hs > p && hs[-1] == '['))
      return wsp__errorf(err, errlen, WSP_EURL,
                         "bad character in the proxy URL's host");
  if ((px.host = wsp__strndup(hs, (size_t)(he - hs))) == NULL)
    return WSP_ENOMEM;
  px.port = (uint16_t)port;
  if (inet_pton(AF_INET6, px.host, addr) == 1)
    px.ip_literal = AF_INET6;
  else if (inet_pton(AF_INET, px.host, addr) == 1)
    px.ip_literal = AF_INET;
  else if (hs > p && hs[-1] == '[') {
    wsp__proxy_clear(&px);
    return wsp__errorf(err, errlen, WSP_EURL,
                       "not an IPv6 address in brackets in the proxy URL");
  }
  if (at != NULL && (rc = set_auth(&px, p, (size_t)(at - p))) != 0) {
    wsp__proxy_clear(&px);
    return rc == WSP_EURL ? wsp__errorf(err, errlen, WSP_EURL,
                                        "bad %%-escape in the proxy URL's "
                                        "credentials")
                          : rc;
  }
  snprintf(shown, sizeof(shown), "http://%s%s%.255s%s:%u",
           at ? "<redacted>@" : "", px.ip_literal == AF_INET6 ? "[" : "",
           px.host, px.ip_literal == AF_INET6 ? "]" : "", (unsigned)px.port);
  if ((px.shown = wsp__strdup(shown)) == NULL ||
      (px.text = wsp__strdup(s)) == NULL) {
    wsp__proxy_clear(&px);
    return WSP_ENOMEM;
  }
  *out = px;
  return 0;
}

void wsp__proxy_clear(wsp__proxy *px) {
  if (px == NULL)
    return;
  if (px->auth != NULL)
    memset(px->auth, 0, strlen(px->auth));
  if (px->text != NULL)
    memset(px->text, 0, strlen(px->text));
  free(px->auth);
  free(px->text);
  free(px->host);
  free(px->shown);
  memset(px, 0, sizeof(*px));
}

int wsp__proxy_copy(wsp__proxy *dst, const wsp__proxy *src) {
  memset(dst, 0, sizeof(*dst));
  if (src->host == NULL)
    return 0;
  *dst = *src;
  dst->host = wsp__strdup(src->host);
  dst->shown = wsp__strdup(src->shown);
  dst->auth = src->auth ? wsp__strdup(src->auth) : NULL;
  dst->text = wsp__strdup(src->text);
  if (dst->host == NULL || dst->shown == NULL || dst->text == NULL ||
      (src->auth != NULL && dst->auth == NULL)) {
    wsp__proxy_clear(dst);
    return WSP_ENOMEM;
  }
  return 0;
}

/* getenv(), an empty value counting as unset (curl_getenv()). */
static const char *env(const char *name, const char **var) {
  const char *v = getenv(name);
  if (v == NULL || *v == '\0')
    return NULL;
  if (var != NULL)
    *var = name;
  return v;
}

const char *wsp__proxy_env(int tls, const char **var) {
  static const char *const ws[] = {"ws_proxy", "WS_PROXY", "http_proxy",
                                   "all_proxy", "ALL_PROXY"};
  static const char *const wss[] = {"wss_proxy",   "WSS_PROXY", "https_proxy",
                                    "HTTPS_PROXY", "all_proxy", "ALL_PROXY"};
  const char *const *names = tls ? wss : ws;
  size_t n = tls ? WSP__ARRAY_SIZE(wss) : WSP__ARRAY_SIZE(ws);
  const char *v;
  for (size_t i = 0; i < n; i++)
    if ((v = env(names[i], var)) != NULL)
      return v;
  return NULL;
}

const char *wsp__noproxy_env(const char **var) {
  const char *v = env("no_proxy", var);
  return v != NULL ? v : env("NO_PROXY", var);
}

/* Whether `ip` lies in `net`/`bits` (bits < 0: the whole address). */
static int cidr_match(int af, const unsigned char *ip, const char *net,
                      long bits) {
  unsigned char n[16];
  int total = af == AF_INET6 ? 128 : 32;
  if (inet_pton(af, net, n) != 1 || bits > total)
    return 0;
  if (bits < 0 || (af == AF_INET && bits == 0))
    bits = total; /* curl: "/0" on IPv4 is the address itself. */
  if (af == AF_INET6 && bits == 0)
    bits = total;
  for (long i = 0; i < bits; i++) {
    int m = 0x80 >> (i % 8);
    if ((ip[i / 8] & m) != (n[i / 8] & m))
      return 0;
  }
  return 1;
}

static int is_blank(char c) { return c == ' ' || c == '\t'; }

int wsp__noproxy_match(const char *host, const char *list) {
  unsigned char ip[16];
  int af = 0;
  size_t hl;
  const char *p = list;
  if (host == NULL || *host == '\0' || list == NULL || *list == '\0')
    return 0;
  if (strcmp(list, "*") == 0)
    return 1;
  if (inet_pton(AF_INET6, host, ip) == 1)
    af = AF_INET6;
  else if (inet_pton(AF_INET, host, ip) == 1)
    af = AF_INET;
  hl = strlen(host);
  if (af == 0 && hl > 0 && host[hl - 1] == '.')
    hl--;
  while (*p) {
    const char *tok;
    size_t tl = 0;
    while (*p && is_blank(*p))
      p++;
    tok = p;
    while (*p && !is_blank(*p) && *p != ',') {
      p++;
      tl++;
    }
    if (tl > 0 && af == 0) {
      if (tok[tl - 1] == '.')
        tl--;
      if (tl > 0 && *tok == '.') {
        tok++;
        tl--;
      }
      if (tl == hl && strncasecmp(tok, host, hl) == 0)
        return 1;
      if (tl < hl && host[hl - tl - 1] == '.' &&
          strncasecmp(tok, host + hl - tl, tl) == 0)
        return 1;
    } else if (tl > 0 && tl < 64) {
      char net[64], *slash;
      long bits = -1;
      memcpy(net, tok, tl);
      net[tl] = '\0';
      if ((slash = strchr(net, '/')) != NULL) {
        bits = strtol(slash + 1, NULL, 10);
        *slash = '\0';
      }
      if (cidr_match(af, ip, net, bits))
        return 1;
    }
    while (is_blank(*p))
      p++;
    if (*p != ',')
      break;
    while (*p == ',')
      p++;
  }
  return 0;
}

void wsp__dial_of(const wsp__url *u, const wsp__proxy *px, const char *noproxy,
                  wsp__dial *out) {
  if (px->host != NULL && !wsp__noproxy_match(u->host, noproxy)) {
    out->host = px->host;
    out->port = px->port;
    out->ip_literal = px->ip_literal;
    out->proxy = px;
  } else {
    out->host = u->host;
    out->port = u->port;
    out->ip_literal = u->ip_literal;
    out->proxy = NULL;
  }
}

void wsp__tunnel_init(wsp__tunnel *t) {
  memset(t, 0, sizeof(*t));
  t->in_line = 1;
}

int wsp__tunnel_request(const char *host, uint16_t port, const wsp__proxy *px,
                        char **out, size_t *len) {
  int v6 = strchr(host, ':') != NULL;
  size_t cap = 2 * strlen(host) + (px->auth ? strlen(px->auth) : 0) + 160;
  char *buf = malloc(cap);
  int n;
  if (buf == NULL)
    return WSP_ENOMEM;
  n = snprintf(buf, cap,
               "CONNECT %s%s%s:%u HTTP/1.1\r\nHost: %s%s%s:%u\r\n%s%s%s"
               "\r\n",
               v6 ? "[" : "", host, v6 ? "]" : "", (unsigned)port,
               v6 ? "[" : "", host, v6 ? "]" : "", (unsigned)port,
               px->auth ? "Proxy-Authorization: Basic " : "",
               px->auth ? px->auth : "", px->auth ? "\r\n" : "");
  if (n < 0 || (size_t)n >= cap) {
    free(buf);
    return WSP_ENOMEM;
  }
  *out = buf;
  *len = (size_t)n;
  return 0;
}

/* Reads "HTTP/1.x NNN reason" from the kept status line. */
static wsp__tunnel_state status_line(wsp__tunnel *t) {
  const char *l = t->line;
  size_t k = 0;
  if (t->line_len < 12 || strncmp(l, "HTTP/1.", 7) != 0 ||
      !isdigit((unsigned char)l[7]) || l[8] != ' ' ||
      !isdigit((unsigned char)l[9]) || !isdigit((unsigned char)l[10]) ||
      !isdigit((unsigned char)l[11]) || (t->line_len > 12 && l[12] != ' '))
    return WSP__TUNNEL_MALFORMED;
  t->status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
  if (t->status < 100)
    return WSP__TUNNEL_MALFORMED;
  for (size_t i = 13; i < t->line_len && k + 1 < sizeof(t->reason); i++)
    t->reason[k++] = (unsigned char)l[i] < 0x20 || l[i] == 0x7f || (l[i] & 0x80)
                         ? '?'
                         : l[i];
  t->reason[k] = '\0';
  return WSP__TUNNEL_MORE;
}

wsp__tunnel_state wsp__tunnel_parse(wsp__tunnel *t, const uint8_t *data,
                                    size_t len, size_t *used) {
  size_t i = 0;
  while (t->state == WSP__TUNNEL_MORE && i < len) {
    char c = (char)data[i++];
    if (++t->header_bytes > WSP__TUNNEL_MAX_HEADER) {
      t->state = WSP__TUNNEL_MALFORMED;
      break;
    }
    if (c != '\n') {
      if (c != '\r')
        t->cur++;
      if (t->in_line && t->line_len + 1 < sizeof(t->line))
        t->line[t->line_len++] = c;
      continue;
    }
    /* A line ended (a bare LF too, as most HTTP parsers allow). */
    if (t->in_line) {
      t->in_line = 0;
      if (t->line_len > 0 && t->line[t->line_len - 1] == '\r')
        t->line_len--;
      t->line[t->line_len] = '\0';
      t->state = status_line(t);
    } else if (t->cur == 0) {
      t->state = t->status >= 200 && t->status < 300 ? WSP__TUNNEL_UP
                                                     : WSP__TUNNEL_REFUSED;
    }
    t->cur = 0;
  }
  *used = i;
  return t->state;
}
