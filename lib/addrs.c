/*
 * Names pinned to addresses, and address lists made without a resolver.
 *
 * A pin is kept as the text the user gave (checked once when added) and
 * parsed again when a probe needs its addresses: that keeps the config a
 * list of strings to copy, and a pin's list is a few dozen bytes to build.
 * The host stays the URL's, so SNI, the certificate check and the Host
 * header still use the name, as with curl's --resolve.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "addrs.h"
#include "wsprobe.h"

/* One pin, split. */
typedef struct pin {
  char host[256];                            /* The name, without brackets. */
  uint16_t port;                             /* Its port. */
  struct sockaddr_in6 a[WSP__MAX_PIN_ADDRS]; /* Addresses (port unset). */
  size_t n;                                  /* How many. */
} pin;

/* One address of a pin's list, bracketed or not, into *sa. */
static int parse_addr(const char *s, size_t len, struct sockaddr_in6 *sa) {
  char buf[64];
  if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
    s++;
    len -= 2;
  }
  if (len == 0 || len >= sizeof(buf))
    return -1;
  memcpy(buf, s, len);
  buf[len] = '\0';
  memset(sa, 0, sizeof(*sa));
  if (inet_pton(AF_INET, buf, &((struct sockaddr_in *)sa)->sin_addr) == 1) {
    sa->sin6_family = AF_INET;
    return 0;
  }
  if (inet_pton(AF_INET6, buf, &sa->sin6_addr) == 1) {
    sa->sin6_family = AF_INET6;
    return 0;
  }
  return -1;
}

static int parse(const char *e, pin *p, char *err, size_t errlen) {
  const char *host = e, *end, *q;
  unsigned long port = 0;
  size_t hlen;
  if (*e == '[') {
    host = e + 1;
    if ((end = strchr(host, ']')) == NULL || end[1] != ':')
      return wsp__errorf(err, errlen, WSP_EURL,
                         "--resolve '%.80s': an unclosed [ in the host", e);
    hlen = (size_t)(end - host);
    q = end + 2;
  } else {
    if ((end = strchr(e, ':')) == NULL)
      return wsp__errorf(err, errlen, WSP_EURL,
                         "--resolve '%.80s' is not HOST:PORT:ADDR[,ADDR...]",
                         e);
    hlen = (size_t)(end - e);
    q = end + 1;
  }
  if (hlen == 0 || hlen >= sizeof(p->host))
    return wsp__errorf(err, errlen, WSP_EURL,
                       "--resolve '%.80s': the host must be 1-255 bytes", e);
  memcpy(p->host, host, hlen);
  p->host[hlen] = '\0';
  while (*q >= '0' && *q <= '9' && port <= 65535)
    port = port * 10 + (unsigned long)(*q++ - '0');
  if (*q != ':' || port == 0 || port > 65535)
    return wsp__errorf(err, errlen, WSP_EURL,
                       "--resolve '%.80s': the port must be 1-65535", e);
  p->port = (uint16_t)port;
  p->n = 0;
  for (const char *a = q + 1;; a++) {
    const char *comma = strchr(a, ',');
    size_t len = comma ? (size_t)(comma - a) : strlen(a);
    if (p->n == WSP__MAX_PIN_ADDRS)
      return wsp__errorf(err, errlen, WSP_EURL,
                         "--resolve '%.80s': more than %d addresses", e,
                         WSP__MAX_PIN_ADDRS);
    if (parse_addr(a, len, &p->a[p->n]) != 0)
      return wsp__errorf(err, errlen, WSP_EURL,
                         "--resolve '%.80s': '%.*s' is not an IP address", e,
                         (int)(len > 60 ? 60 : len), a);
    p->n++;
    if (comma == NULL)
      break;
    a = comma;
  }
  return 0;
}

int wsp__pin_check(const char *entry, char *err, size_t errlen) {
  pin *p = malloc(sizeof(*p));
  int rc;
  if (p == NULL)
    return wsp__errorf(err, errlen, WSP_ENOMEM, "out of memory");
  rc = entry ? parse(entry, p, err, errlen)
             : wsp__errorf(err, errlen, WSP_EURL, "no --resolve entry");
  free(p);
  return rc;
}

/* A list of n addresses in one block: the addrinfo structs, then the
 * socket addresses they point to. */
static struct addrinfo *chain(const struct sockaddr_in6 *a, size_t n,
                              uint16_t port) {
  struct addrinfo *ai = calloc(n, sizeof(*ai) + sizeof(*a));
  struct sockaddr_in6 *sa = (struct sockaddr_in6 *)(ai + n);
  if (ai == NULL)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    sa[i] = a[i];
    ai[i].ai_family = a[i].sin6_family;
    ai[i].ai_socktype = SOCK_STREAM;
    ai[i].ai_addr = (struct sockaddr *)&sa[i];
    if (a[i].sin6_family == AF_INET) {
      ((struct sockaddr_in *)&sa[i])->sin_port = htons(port);
      ai[i].ai_addrlen = sizeof(struct sockaddr_in);
    } else {
      sa[i].sin6_port = htons(port);
      ai[i].ai_addrlen = sizeof(struct sockaddr_in6);
    }
    ai[i].ai_next = i + 1 < n ? &ai[i + 1] : NULL;
  }
  return ai;
}

int wsp__pin_lookup(const wsp__strv *pins, const char *host, uint16_t port,
                    struct addrinfo **out) {
  pin *p;
  int found = 0;
  *out = NULL;
  if (pins == NULL || pins->n == 0)
    return 0;
  if ((p = malloc(sizeof(*p))) == NULL)
    return WSP_ENOMEM;
  for (size_t i = 0; i < pins->n && !found; i++)
    found = parse(pins->v[i], p, NULL, 0) == 0 && p->port == port &&
            strcasecmp(p->host, host) == 0;
  if (found && (*out = chain(p->a, p->n, port)) == NULL)
    found = WSP_ENOMEM;
  free(p);
  return found;
}

struct addrinfo *wsp__addr_literal(const char *ip, uint16_t port) {
  struct sockaddr_in6 a;
  if (ip == NULL || parse_addr(ip, strlen(ip), &a) != 0)
    return NULL;
  return chain(&a, 1, port);
}

size_t wsp__addr_count(const struct addrinfo *ai) {
  size_t n = 0;
  for (; ai != NULL; ai = ai->ai_next)
    n += ai->ai_socktype == SOCK_STREAM;
  return n;
}

const struct addrinfo *wsp__addr_at(const struct addrinfo *ai, size_t i) {
  for (; ai != NULL; ai = ai->ai_next)
    if (ai->ai_socktype == SOCK_STREAM && i-- == 0)
      return ai;
  return NULL;
}

void wsp__addr_name(const struct sockaddr *sa, uint16_t port, char *buf,
                    size_t len) {
  char ip[INET6_ADDRSTRLEN] = "?";
  if (sa != NULL && sa->sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, ip,
              sizeof(ip));
    snprintf(buf, len, "[%s]:%u", ip, (unsigned)port);
  } else {
    if (sa != NULL && sa->sa_family == AF_INET)
      inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, ip,
                sizeof(ip));
    snprintf(buf, len, "%s:%u", ip, (unsigned)port);
  }
}
