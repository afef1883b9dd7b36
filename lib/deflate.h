/*
 * permessage-deflate (RFC 7692): the parameters agreed in the upgrade, and
 * one message inflated or deflated at a time with zlib. No I/O, no frames:
 * the WebSocket session (ws.c) calls it between wslay and its facts.
 */
#ifndef WSP_DEFLATE_H
#define WSP_DEFLATE_H

#include <stddef.h>
#include <stdint.h>

#include <zlib.h>

/* The largest and smallest LZ77 window RFC 7692 allows, in bits. */
#define WSP__PMD_MAX_BITS 15
#define WSP__PMD_MIN_BITS 8

/* permessage-deflate as the server accepted it (RFC 7692 section 7.1). */
typedef struct wsp__pmd {
  int on;                 /* The server accepted permessage-deflate. */
  int server_no_takeover; /* server_no_context_takeover was given. */
  int client_no_takeover; /* client_no_context_takeover was given. */
  int server_bits;        /* server_max_window_bits (15 when absent). */
  int client_bits;        /* client_max_window_bits (15 when absent). */
} wsp__pmd;

/* Why a message could not be inflated. */
enum {
  WSP__INFLATE_BAD = -1, /* Not a valid DEFLATE stream. */
  WSP__INFLATE_BIG = -2, /* Inflates past the limit. */
};

/* One session's compression state. */
typedef struct wsp__deflate {
  wsp__pmd pmd;  /* What was agreed. */
  z_stream in;   /* The server's messages' inflater. */
  z_stream out;  /* Our messages' deflater, when we can deflate. */
  int in_ready;  /* `in` was initialised. */
  int out_ready; /* `out` was initialised: deflating is possible. */
} wsp__deflate;

/* Sets the state up for `pmd`: 0 or WSP_ENOMEM. */
int wsp__deflate_init(wsp__deflate *d, const wsp__pmd *pmd);
/*
 * Inflates one message's payload (its frames joined) into a malloc'd
 * *out of at most `max` bytes: 0, WSP__INFLATE_BAD, WSP__INFLATE_BIG or
 * WSP_ENOMEM. Memory never grows past `max` and a bounded slack.
 */
int wsp__inflate_msg(wsp__deflate *d, const uint8_t *in, size_t len,
                     uint64_t max, uint8_t **out, size_t *out_len);
/*
 * Deflates one message into a malloc'd *out: 0, WSP_ENOMEM, or 1 when
 * it must go uncompressed (zlib cannot deflate within an 8-bit window).
 */
int wsp__deflate_msg(wsp__deflate *d, const uint8_t *in, size_t len,
                     uint8_t **out, size_t *out_len);
void wsp__deflate_free(wsp__deflate *d);

#endif
