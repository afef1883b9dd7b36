/*
 * ws:// and wss:// URLs, parsed and checked when they are set.
 */
#ifndef WSP_URL_H
#define WSP_URL_H

#include <stddef.h>
#include <stdint.h>

/* A parsed ws:// URL. All strings are owned. */
typedef struct wsp__url {
  char *host;        /* Host without brackets, e.g. "::1". */
  uint16_t port;     /* Port, defaulted from the scheme. */
  char *target;      /* Request target: path and query, at least "/". */
  char *host_header; /* Value of the Host header (brackets, port). */
  int tls;           /* Non-zero for wss://. */
  int ip_literal;    /* AF_INET or AF_INET6 when host is a literal. */
} wsp__url;

int wsp__url_parse(const char *s, wsp__url *out, char *err, size_t errlen);
void wsp__url_clear(wsp__url *u);
int wsp__url_copy(wsp__url *dst, const wsp__url *src);

#endif
