/*
 * permessage-deflate with zlib (RFC 7692 section 7.2). A message is raw
 * DEFLATE ending in a sync flush whose last four bytes (00 00 ff ff) are
 * left off the wire; the inflater gets them back before it runs.
 *
 * Our deflater starts every message afresh, as if client_no_context_takeover
 * had been agreed: a message then refers to nothing before it, which a
 * server accepts whatever was negotiated, and frames built ahead for a
 * burst stay valid in any order. The server's messages are inflated with a
 * window of 15 bits (enough for every server_max_window_bits), kept from
 * one message to the next unless server_no_context_takeover was agreed.
 */
#include <stdlib.h>
#include <string.h>

#include "deflate.h"
#include "wsprobe.h"

/* The first output buffer of an inflate, before it doubles. */
#define FIRST_OUT 4096

/* The bytes a sync flush ends with, which RFC 7692 7.2.1 removes. */
static const uint8_t tail[4] = {0x00, 0x00, 0xff, 0xff};

int wsp__deflate_init(wsp__deflate *d, const wsp__pmd *pmd) {
  memset(d, 0, sizeof(*d));
  d->pmd = *pmd;
  if (inflateInit2(&d->in, -WSP__PMD_MAX_BITS) != Z_OK)
    return WSP_ENOMEM;
  d->in_ready = 1;
  /* zlib turns a raw window of 8 bits into 9, which a server that asked
   * for 8 could not inflate: those messages go uncompressed. */
  if (pmd->client_bits <= WSP__PMD_MIN_BITS)
    return 0;
  if (deflateInit2(&d->out, Z_DEFAULT_COMPRESSION, Z_DEFLATED,
                   -pmd->client_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    wsp__deflate_free(d);
    return WSP_ENOMEM;
  }
  d->out_ready = 1;
  return 0;
}

void wsp__deflate_free(wsp__deflate *d) {
  if (d->in_ready)
    inflateEnd(&d->in);
  if (d->out_ready)
    deflateEnd(&d->out);
  d->in_ready = d->out_ready = 0;
}

/* Grows *buf for more output, never past max + 1 bytes (one byte past
 * the limit shows the message is too long). */
static int grow(uint8_t **buf, size_t *cap, uint64_t max) {
  size_t want = *cap == 0 ? FIRST_OUT : *cap * 2;
  uint8_t *b;
  if (max < SIZE_MAX && want > max + 1)
    want = (size_t)max + 1;
  if (want <= *cap)
    return WSP__INFLATE_BIG;
  if ((b = realloc(*buf, want)) == NULL)
    return WSP_ENOMEM;
  *buf = b;
  *cap = want;
  return 0;
}

/* Runs the inflater over `in`; output goes on at *len in *buf. */
static int inflate_some(wsp__deflate *d, const uint8_t *in, size_t n,
                        uint64_t max, uint8_t **buf, size_t *cap, size_t *len,
                        int *ended) {
  z_stream *z = &d->in;
  int rc;
  z->next_in = (Bytef *)in;
  z->avail_in = (uInt)n;
  while (!*ended && z->avail_in > 0) {
    if (*len == *cap && (rc = grow(buf, cap, max)) != 0)
      return rc;
    z->next_out = *buf + *len;
    z->avail_out = (uInt)(*cap - *len);
    rc = inflate(z, Z_SYNC_FLUSH);
    *len = *cap - z->avail_out;
    if (rc == Z_STREAM_END)
      *ended = 1; /* A final block: the next message starts a stream. */
    else if (rc == Z_MEM_ERROR)
      return WSP_ENOMEM;
    else if (rc != Z_OK && rc != Z_BUF_ERROR)
      return WSP__INFLATE_BAD;
  }
  /* The sync flush may leave output in zlib when the buffer was full. */
  while (!*ended && z->avail_out == 0) {
    if ((rc = grow(buf, cap, max)) != 0)
      return rc;
    z->next_out = *buf + *len;
    z->avail_out = (uInt)(*cap - *len);
    rc = inflate(z, Z_SYNC_FLUSH);
    *len = *cap - z->avail_out;
    if (rc == Z_STREAM_END)
      *ended = 1;
    else if (rc != Z_OK && rc != Z_BUF_ERROR)
      return rc == Z_MEM_ERROR ? WSP_ENOMEM : WSP__INFLATE_BAD;
  }
  return 0;
}

int wsp__inflate_msg(wsp__deflate *d, const uint8_t *in, size_t len,
                     uint64_t max, uint8_t **out, size_t *out_len) {
  uint8_t *buf = NULL;
  size_t cap = 0, n = 0;
  int ended = 0, rc;
  /* zlib counts input in uInt: a longer message goes in pieces. */
  while (len > 0 && !ended) {
    size_t piece = len > (1u << 30) ? (1u << 30) : len;
    if ((rc = inflate_some(d, in, piece, max, &buf, &cap, &n, &ended)) != 0)
      goto fail;
    in += piece;
    len -= piece;
  }
  if (!ended && (rc = inflate_some(d, tail, sizeof(tail), max, &buf, &cap, &n,
                                   &ended)) != 0)
    goto fail;
  if (n > max) {
    rc = WSP__INFLATE_BIG;
    goto fail;
  }
  if (ended || d->pmd.server_no_takeover)
    inflateReset(&d->in);
  *out = buf;
  *out_len = n;
  return 0;
fail:
  free(buf);
  inflateReset(&d->in);
  return rc;
}

int wsp__deflate_msg(wsp__deflate *d, const uint8_t *in, size_t len,
                     uint8_t **out, size_t *out_len) {
  z_stream *z = &d->out;
  size_t cap, n, left;
  uint8_t *buf;
  int rc;
  if (!d->out_ready || len > UINT32_MAX / 2)
    return 1;
  cap = deflateBound(z, len) + 64;
  if ((buf = malloc(cap)) == NULL)
    return WSP_ENOMEM;
  z->next_in = (Bytef *)in;
  z->avail_in = (uInt)len;
  z->next_out = buf;
  z->avail_out = (uInt)cap;
  /* deflateBound() plus a sync flush's bytes fit the whole output. */
  rc = deflate(z, Z_SYNC_FLUSH);
  n = cap - z->avail_out;
  left = z->avail_in;
  deflateReset(z);
  if (rc != Z_OK || left > 0 || n < sizeof(tail) ||
      memcmp(buf + n - sizeof(tail), tail, sizeof(tail)) != 0) {
    free(buf);
    return WSP_ENOMEM;
  }
  *out = buf;
  *out_len = n - sizeof(tail);
  return 0;
}
