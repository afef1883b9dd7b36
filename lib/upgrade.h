/*
 * The HTTP/1.1 WebSocket upgrade (RFC 6455 section 4), client side: build
 * the request, parse and check the response. No I/O: bytes in, bytes out.
 */
#ifndef WSP_UPGRADE_H
#define WSP_UPGRADE_H

#include <stddef.h>
#include <stdint.h>

#include <llhttp.h>

#include "defaults.h"
#include "deflate.h"
#include "wsprobe.h"

/* Length of a Sec-WebSocket-Key (base64 of 16 bytes) without NUL. */
#define WSP__KEY_LEN 24
/* Length of a Sec-WebSocket-Accept value (base64 of SHA-1) without NUL. */
#define WSP__ACCEPT_LEN 28
/* The most response header bytes accepted before the blank line. */
#define WSP__MAX_HEADER_BYTES (32 * 1024)
/* How much of a rejection's body is kept. */
#define WSP__BODY_PREFIX 512

/*
 * Computes Sec-WebSocket-Accept for `key` (any length) into `out`,
 * NUL-terminated. Returns 0, or WSP_ECRYPTO if SHA-1 fails.
 */
int wsp__ws_accept(const char *key, size_t key_len,
                   char out[WSP__ACCEPT_LEN + 1]);

/* Base64-encodes 16 random bytes into a Sec-WebSocket-Key. */
int wsp__ws_key(const uint8_t nonce[16], char out[WSP__KEY_LEN + 1]);

struct wsp_config;

/*
 * Builds the upgrade request for `cfg` with `key`, carrying `token` (or
 * NULL) where the config places it, into a malloc'd buffer.
 * Returns 0 or WSP_ENOMEM.
 */
int wsp__upgrade_request(const struct wsp_config *cfg, const char *token,
                         const char *key, char **out, size_t *len);

/* What wsp__upgrade_parse() concluded. */
typedef enum {
  WSP__UP_MORE,     /* Needs more bytes. */
  WSP__UP_OPEN,     /* A valid 101: the connection is open. */
  WSP__UP_REJECTED, /* A complete (or long enough) non-101 response. */
  WSP__UP_INVALID,  /* Not a valid upgrade response; see err. */
} wsp__up_state;

/* Response headers the parser keeps, by index. */
enum {
  WSP__H_UPGRADE,
  WSP__H_CONNECTION,
  WSP__H_ACCEPT,
  WSP__H_PROTOCOL,
  WSP__H_EXTENSIONS,
  WSP__H_RETRY_AFTER,
  WSP__H_CONTENT_TYPE,
  WSP__H_COUNT
};

/* The response parser's state; alive only during the upgrade. */
typedef struct wsp__upgrade {
  llhttp_t parser;                  /* llhttp in response mode. */
  wsp__up_state state;              /* Conclusion so far. */
  char accept[WSP__ACCEPT_LEN + 1]; /* The Sec-WebSocket-Accept we expect. */
  const char *const *offered;       /* Offered subprotocols (borrowed). */
  size_t noffered;                  /* How many. */
  const char *extra;                /* One more offered, or NULL. */
  size_t header_bytes;              /* Bytes fed before the blank line. */
  int headers_done;                 /* The blank line was seen. */
  int field_id;                     /* Header being read, or -1. */
  int rec_id;                       /* Its index in `record`, or -1. */
  char field[64];                   /* Header name so far (lower case). */
  size_t field_len;                 /* Its length; past 63: not kept. */
  char value[512];                  /* Header value so far. */
  size_t value_len;                 /* Its length; past 511: truncated. */
  int value_long;                   /* The value did not fit. */
  char *h[WSP__H_COUNT];            /* Kept header values, or NULL. */
  const char *const *record;        /* Header names to record (borrowed),
                                       or NULL. */
  size_t nrecord;                   /* How many (WSP__MAX_RECORD at most). */
  char *rec[WSP__MAX_RECORD];       /* Their first values, or NULL. */
  uint8_t hcount[WSP__H_COUNT];     /* How often each header appeared. */
  int conn_upgrade;                 /* Connection carried "upgrade". */
  int status;                       /* Status code, 0 before it. */
  char reason[128];                 /* Reason phrase (truncated). */
  size_t reason_len;                /* Its length. */
  uint8_t body[WSP__BODY_PREFIX];   /* First bytes of a rejection's body,
                                       cut at a UTF-8 character boundary
                                       when the body is longer. */
  size_t body_len;                  /* How many. */
  int body_cut;                     /* The body went on past them. */
  unsigned interim;                 /* Interim (1xx) responses skipped. */
  char err[192];                    /* Why the response is invalid. */
  int offer_deflate;                /* permessage-deflate was offered. */
  wsp__pmd pmd;                     /* What the server agreed to. */
} wsp__upgrade;

/*
 * Prepares `up` for a response to a request sent with `key`, offering
 * `offered` subprotocols (borrowed until the upgrade ends).
 */
int wsp__upgrade_init(wsp__upgrade *up, const char *key,
                      const char *const *offered, size_t noffered);
void wsp__upgrade_clear(wsp__upgrade *up);
/*
 * Feeds response bytes. *consumed receives how many bytes belong to the
 * HTTP response: on WSP__UP_OPEN, the bytes after them are the first frames.
 */
wsp__up_state wsp__upgrade_parse(wsp__upgrade *up, const uint8_t *data,
                                 size_t len, size_t *consumed);
/* The server ended the stream: a rejection is complete, anything else is
 * invalid. */
wsp__up_state wsp__upgrade_eof(wsp__upgrade *up);

#endif
