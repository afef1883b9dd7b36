/*
 * HTTP proxies (proxy.c): the proxy URL, which environment variable names
 * one (curl's rules), the no-proxy list, and the CONNECT tunnel as an
 * I/O-free step: a request out, the proxy's answer parsed from bytes in.
 * It reports what the proxy said; the probe decides what that means.
 */
#ifndef WSP_PROXY_H
#define WSP_PROXY_H

#include <stddef.h>
#include <stdint.h>

#include "url.h"

/* A parsed http:// proxy URL. All strings are owned. */
typedef struct wsp__proxy {
  char *host;     /* Host without brackets; NULL: no proxy. */
  uint16_t port;  /* Port (1080 when the URL names none, as curl). */
  int ip_literal; /* AF_INET or AF_INET6 when host is a literal. */
  char *auth;     /* Base64 of "user:password" (a secret), or NULL. */
  char *shown;    /* The URL for reports, credentials redacted. */
  char *text;     /* The URL as given (a secret when it has credentials). */
} wsp__proxy;

/*
 * Parses "[http://][user[:password]@]host[:port][/]". The scheme may be
 * left out (http:// is meant, as in curl). An https:// proxy, a SOCKS
 * proxy or any other scheme is refused with WSP_EURL; so is a path, a
 * query, an empty host or a bad port. Messages never quote credentials.
 */
int wsp__proxy_parse(const char *s, wsp__proxy *out, char *err, size_t errlen);
void wsp__proxy_clear(wsp__proxy *px);
int wsp__proxy_copy(wsp__proxy *dst, const wsp__proxy *src);

/*
 * The proxy the environment names for a ws:// (tls 0) or wss:// (tls 1)
 * target, as curl reads it: ws_proxy, WS_PROXY, then http_proxy (never
 * HTTP_PROXY, which CGI lets a client set); wss_proxy, WSS_PROXY, then
 * https_proxy, HTTPS_PROXY; then all_proxy, ALL_PROXY. An empty variable
 * counts as unset. NULL when none; *var names the variable read.
 */
const char *wsp__proxy_env(int tls, const char **var);
/* no_proxy, then NO_PROXY (empty counts as unset), or NULL. */
const char *wsp__noproxy_env(const char **var);

/*
 * Whether `host` (a name, or an IP address without brackets) is in the
 * no-proxy list `list`, by curl's rules: "*" alone matches every host;
 * entries are separated by commas and blanks; a name matches itself and
 * its subdomains, case-insensitively, a leading and a trailing dot of an
 * entry ignored; an IP address matches an address entry, or a CIDR range
 * "addr/bits", and never a name.
 */
int wsp__noproxy_match(const char *host, const char *list);

/* Where a probe connects to. */
typedef struct wsp__dial {
  const char *host;        /* The proxy's host or the URL's. */
  uint16_t port;           /* Its port. */
  int ip_literal;          /* AF_INET or AF_INET6 for a literal. */
  const wsp__proxy *proxy; /* The proxy in use, or NULL: direct. */
} wsp__dial;

/* The proxy `px` (host NULL: none) unless `noproxy` names the URL's host;
 * else the URL's own host. Pointers point into `u` and `px`. */
void wsp__dial_of(const wsp__url *u, const wsp__proxy *px, const char *noproxy,
                  wsp__dial *out);

/* Longest CONNECT response header we read before calling it malformed. */
#define WSP__TUNNEL_MAX_HEADER (16 * 1024)

/* Where the CONNECT response parser stands. */
typedef enum {
  WSP__TUNNEL_MORE,      /* More bytes are needed. */
  WSP__TUNNEL_UP,        /* A 2xx: the tunnel is open. */
  WSP__TUNNEL_REFUSED,   /* Any other status: the proxy said no. */
  WSP__TUNNEL_MALFORMED, /* Not an HTTP response, or too long. */
} wsp__tunnel_state;

/*
 * The CONNECT response, parsed without llhttp: a response to CONNECT has
 * no body on success and the tunnel's bytes follow the blank line, which
 * llhttp, not knowing the request's method, would take for a body read
 * to EOF. Only the status line is kept; headers are counted and skipped.
 */
typedef struct wsp__tunnel {
  wsp__tunnel_state state; /* Where parsing stands. */
  char line[128];          /* The status line's first bytes. */
  size_t line_len;         /* How many are kept. */
  int in_line;             /* Still in the status line. */
  size_t header_bytes;     /* Bytes of the response read so far. */
  size_t cur;              /* Bytes on the current line, CR aside. */
  int status;              /* The status code, 0 until known. */
  char reason[64];         /* The reason phrase (printable, cut). */
} wsp__tunnel;

void wsp__tunnel_init(wsp__tunnel *t);
/*
 * The request: "CONNECT host:port HTTP/1.1", Host, Proxy-Authorization
 * when the proxy has credentials. *out is malloc'd. 0 or WSP_ENOMEM.
 */
int wsp__tunnel_request(const char *host, uint16_t port, const wsp__proxy *px,
                        char **out, size_t *len);
/*
 * Feeds response bytes. *used says how many belong to the response; the
 * rest (after UP) are the tunnel's first bytes. Once the state is not
 * MORE, further calls change nothing.
 */
wsp__tunnel_state wsp__tunnel_parse(wsp__tunnel *t, const uint8_t *data,
                                    size_t len, size_t *used);

#endif
