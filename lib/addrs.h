/*
 * Addresses (addrs.c): names pinned to addresses (--resolve, as curl has
 * it), address lists built without a resolver, and an address as reports
 * name it. No I/O.
 */
#ifndef WSP_ADDRS_H
#define WSP_ADDRS_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct addrinfo;
struct sockaddr;

/* Most addresses one --resolve entry pins. */
#define WSP__MAX_PIN_ADDRS 64
/* Room for "[ipv6]:port" and its NUL. */
#define WSP__PEER_LEN 56

/*
 * Checks one pin, "HOST:PORT:ADDR[,ADDR...]" (an IPv6 address in brackets
 * or bare, a HOST that is an IPv6 literal in brackets). 0, or WSP_EURL
 * with a one-line message in err.
 */
int wsp__pin_check(const char *entry, char *err, size_t errlen);

/*
 * The addresses the first pin of `pins` naming host:port (the host
 * compared without case) gives, as one allocation that free() releases:
 * 1 and *out, 0 when no pin names it, WSP_ENOMEM.
 */
int wsp__pin_lookup(const wsp__strv *pins, const char *host, uint16_t port,
                    struct addrinfo **out);

/* An IP literal as a list of one address (free() releases it), or NULL
 * when out of memory or not a literal. */
struct addrinfo *wsp__addr_literal(const char *ip, uint16_t port);

/* How many stream addresses a list holds. */
size_t wsp__addr_count(const struct addrinfo *ai);
/* The i-th stream address of a list (i below wsp__addr_count()). */
const struct addrinfo *wsp__addr_at(const struct addrinfo *ai, size_t i);

/* An address with a port as reports give it: "127.0.0.1:80", "[::1]:80". */
void wsp__addr_name(const struct sockaddr *sa, uint16_t port, char *buf,
                    size_t len);

#endif
