/*
 * SHA-1 and base64 for the benchmark's minimal C peers (raw_client.c,
 * stamp_server.c): just enough for Sec-WebSocket-Accept. Header-only,
 * no dependencies.
 */
#ifndef BENCH_WS_UTIL_H
#define BENCH_WS_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/* SHA-1 (FIPS 180-4). */
#define ROL(x, n) (((x) << (n)) | ((x) >> (32 - (n))))
static void sha1_block(uint32_t h[5], const uint8_t *p) {
  uint32_t w[80], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], t;
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
           (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
  for (int i = 16; i < 80; i++)
    w[i] = ROL(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
  for (int i = 0; i < 80; i++) {
    uint32_t f, k;
    if (i < 20)
      f = (b & c) | (~b & d), k = 0x5a827999;
    else if (i < 40)
      f = b ^ c ^ d, k = 0x6ed9eba1;
    else if (i < 60)
      f = (b & c) | (b & d) | (c & d), k = 0x8f1bbcdc;
    else
      f = b ^ c ^ d, k = 0xca62c1d6;
    t = ROL(a, 5) + f + e + k + w[i];
    e = d, d = c, c = ROL(b, 30), b = a, a = t;
  }
  h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
}

/* SHA-1 of a message shorter than 120 bytes. */
static void sha1(const uint8_t *m, size_t n, uint8_t out[20]) {
  uint32_t h[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
  uint8_t blk[128] = {0};
  size_t nb = n + 9 <= 64 ? 64 : 128;
  memcpy(blk, m, n);
  blk[n] = 0x80;
  for (int i = 0; i < 8; i++)
    blk[nb - 1 - i] = (uint8_t)((uint64_t)n * 8 >> (8 * i));
  sha1_block(h, blk);
  if (nb == 128)
    sha1_block(h, blk + 64);
  for (int i = 0; i < 5; i++)
    for (int j = 0; j < 4; j++)
      out[4 * i + j] = (uint8_t)(h[i] >> (24 - 8 * j));
}

static void b64(const uint8_t *in, size_t n, char *out) {
  static const char a[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i, o = 0;
  for (i = 0; i + 2 < n; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    out[o++] = a[v >> 18], out[o++] = a[(v >> 12) & 63];
    out[o++] = a[(v >> 6) & 63], out[o++] = a[v & 63];
  }
  if (n - i == 1) {
    uint32_t v = (uint32_t)in[i] << 16;
    out[o++] = a[v >> 18], out[o++] = a[(v >> 12) & 63];
    out[o++] = '=', out[o++] = '=';
  } else if (n - i == 2) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
    out[o++] = a[v >> 18], out[o++] = a[(v >> 12) & 63];
    out[o++] = a[(v >> 6) & 63], out[o++] = '=';
  }
  out[o] = '\0';
}

/* Sec-WebSocket-Accept for a 24-character key, into out[29]. */
static void ws_accept(const char *key, char out[29]) {
  char cat[60];
  uint8_t dg[20];
  memcpy(cat, key, 24);
  memcpy(cat + 24, ws_guid, 36);
  sha1((const uint8_t *)cat, 60, dg);
  b64(dg, 20, out);
}

#endif
