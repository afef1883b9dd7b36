/*
 * permessage-deflate with scripted bytes, no sockets: the deflate module
 * on RFC 7692's own examples, a round trip, an 8-bit window and a deflate
 * bomb; the upgrade's checks of a Sec-WebSocket-Extensions answer; and a
 * session that agreed it, fed compressed frames whole, split at every
 * point and byte by byte, which must give the same facts each time.
 */
#define _GNU_SOURCE /* memmem() */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "deflate.h"
#include "upgrade.h"
#include "ws.h"
#include "ws_facts.h"

static wsp__rng rng;
static wsp__ws_loop lp;

/* RFC 7692 7.2.3.1: "Hello" in one compressed text frame. */
static const uint8_t hello_frame[] = {0xc1, 0x07, 0xf2, 0x48, 0xcd,
                                      0xc9, 0xc9, 0x07, 0x00};
/* RFC 7692 7.2.3.2: the second "Hello", sharing the first's window. */
static const uint8_t hello_again[] = {0xf2, 0x00, 0x11, 0x00, 0x00};

static wsp__pmd pmd_of(int server_no, int client_bits) {
  wsp__pmd p = {1, server_no, 0, 15, client_bits};
  return p;
}

static void test_module(void) {
  wsp__deflate d;
  wsp__pmd p = pmd_of(0, 15);
  uint8_t *out, *z;
  size_t n, zn;
  CHECK_INT(wsp__deflate_init(&d, &p), 0);
  CHECK_INT(wsp__inflate_msg(&d, hello_frame + 2, 7, 1024, &out, &n), 0);
  CHECK_INT(n, 5);
  CHECK(memcmp(out, "Hello", 5) == 0);
  free(out);
  /* Context takeover: the second message refers to the first. */
  CHECK_INT(wsp__inflate_msg(&d, hello_again, 5, 1024, &out, &n), 0);
  CHECK_INT(n, 5);
  CHECK(memcmp(out, "Hello", 5) == 0);
  free(out);
  /* A round trip through our deflater, twice (each starts afresh). */
  for (int i = 0; i < 2; i++) {
    static const char msg[] =
        "{\"type\":\"hello\",\"pad\":\"aaaaaaaaaaaaaaaa\"}";
    CHECK_INT(wsp__deflate_msg(&d, (const uint8_t *)msg, strlen(msg), &z, &zn),
              0);
    CHECK(zn > 0 && zn < strlen(msg));
    CHECK_INT(wsp__inflate_msg(&d, z, zn, 1024, &out, &n), 0);
    CHECK_INT(n, strlen(msg));
    CHECK(memcmp(out, msg, n) == 0);
    free(out);
    free(z);
  }
  /* An empty message deflates to nothing after the tail is cut. */
  CHECK_INT(wsp__deflate_msg(&d, (const uint8_t *)"", 0, &z, &zn), 0);
  CHECK_INT(wsp__inflate_msg(&d, z, zn, 1024, &out, &n), 0);
  CHECK_INT(n, 0);
  free(out);
  free(z);
  /* Garbage is not DEFLATE (a reserved block type). */
  CHECK_INT(
      wsp__inflate_msg(&d, (const uint8_t *)"\xff\xff\xff", 3, 1024, &out, &n),
      WSP__INFLATE_BAD);
  wsp__deflate_free(&d);

  /* Without context takeover the second "Hello" refers to nothing. */
  p = pmd_of(1, 15);
  CHECK_INT(wsp__deflate_init(&d, &p), 0);
  CHECK_INT(wsp__inflate_msg(&d, hello_frame + 2, 7, 1024, &out, &n), 0);
  free(out);
  CHECK_INT(wsp__inflate_msg(&d, hello_again, 5, 1024, &out, &n),
            WSP__INFLATE_BAD);
  wsp__deflate_free(&d);

  /* An 8-bit client window: zlib cannot keep to it, so no deflating. */
  p = pmd_of(0, 8);
  CHECK_INT(wsp__deflate_init(&d, &p), 0);
  CHECK_INT(wsp__deflate_msg(&d, (const uint8_t *)"Hello", 5, &z, &zn), 1);
  wsp__deflate_free(&d);
}

/* 4 MiB of zeros deflated: about 4 KiB on the wire. */
static uint8_t *bomb(size_t *len) {
  size_t plain = 4u << 20;
  uint8_t *zeros = calloc(1, plain), *z;
  wsp__deflate d;
  wsp__pmd p = pmd_of(0, 15);
  CHECK_INT(wsp__deflate_init(&d, &p), 0);
  CHECK_INT(wsp__deflate_msg(&d, zeros, plain, &z, len), 0);
  wsp__deflate_free(&d);
  free(zeros);
  return z;
}

static void test_bomb(void) {
  size_t zn, n;
  uint8_t *z = bomb(&zn), *out = NULL;
  wsp__deflate d;
  wsp__pmd p = pmd_of(0, 15);
  CHECK(zn < 8192);
  CHECK_INT(wsp__deflate_init(&d, &p), 0);
  CHECK_INT(wsp__inflate_msg(&d, z, zn, 1 << 20, &out, &n), WSP__INFLATE_BIG);
  CHECK(out == NULL);
  /* Exactly at the limit passes. */
  CHECK_INT(wsp__inflate_msg(&d, z, zn, 4u << 20, &out, &n), 0);
  CHECK_INT(n, 4u << 20);
  free(out);
  wsp__deflate_free(&d);
  free(z);
}

/* A session that agreed permessage-deflate (or not, when pmd is NULL). */
static void session(wsp__ws *ws, facts *f, uint64_t max, const wsp__pmd *p) {
  CHECK_INT(facts_session(ws, f, &lp, &rng, max), 0);
  if (p != NULL)
    CHECK_INT(wsp__ws_set_deflate(ws, p), 0);
}

/* The facts of `in` fed whole, split at every point and byte by byte. */
static void expect_facts(const char *name, const uint8_t *in, size_t len,
                         uint64_t max, const wsp__pmd *p, const char *want) {
  static facts f;
  wsp__ws ws;
  size_t *cuts = malloc(len * sizeof(*cuts));
  for (size_t k = 0; k <= len; k++) {
    size_t nc = k == len ? (len > 0 ? len - 1 : 0) : k > 0;
    if (k == len)
      for (size_t i = 1; i < len; i++)
        cuts[i - 1] = i;
    else
      cuts[0] = k;
    session(&ws, &f, max, p);
    feed_cuts(&ws, in, len, cuts, nc);
    if (strcmp(f.log, want) != 0)
      fprintf(stderr, "%s (cut %zu):\n  got  %s\n  want %s\n", name, k, f.log,
              want);
    CHECK_STR(f.log, want);
    wsp__ws_free(&ws);
  }
  free(cuts);
}

static void test_session(void) {
  wsp__pmd p = pmd_of(0, 15), none = pmd_of(1, 15);
  uint8_t b[64], *z, *big;
  size_t n, zn;
  expect_facts("hello", hello_frame, sizeof(hello_frame), 1024, &p,
               "msg t 5 Hello|");
  /* The same bytes without the extension agreed: RSV1 breaks the protocol. */
  expect_facts("RSV1 not agreed", hello_frame, sizeof(hello_frame), 1024, NULL,
               "sent 1002 |error 1002|");
  /* Two messages sharing a window, then without takeover. */
  n = frame(b, 0xc1, hello_frame + 2, 7);
  n += frame(b + n, 0xc1, hello_again, 5);
  expect_facts("takeover", b, n, 1024, &p, "msg t 5 Hello|msg t 5 Hello|");
  expect_facts("no takeover", b, n, 1024, &none,
               "msg t 5 Hello|sent 1007 |error 1007|");
  /* A compressed message in two frames: RSV1 on the first only. */
  n = frame(b, 0x41, hello_frame + 2, 3);
  n += frame(b + n, 0x80, hello_frame + 5, 4);
  expect_facts("fragmented", b, n, 1024, &p, "msg t 5 Hello|");
  /* RSV1 on a control frame or a continuation breaks the protocol. */
  n = frame(b, 0xc9, "p", 1);
  expect_facts("RSV1 ping", b, n, 1024, &p, "sent 1002 |error 1002|");
  n = frame(b, 0x41, hello_frame + 2, 3);
  n += frame(b + n, 0xc0, hello_frame + 5, 4);
  expect_facts("RSV1 continuation", b, n, 1024, &p, "sent 1002 |error 1002|");
  /* Uncompressed messages still pass, and wslay still checks their UTF-8. */
  n = frame(b, 0x81, "hi", 2);
  expect_facts("plain", b, n, 1024, &p, "msg t 2 hi|");
  /* Invalid UTF-8 once inflated: deflate "\xc3\x28" as a text message. */
  {
    wsp__deflate d;
    CHECK_INT(wsp__deflate_init(&d, &p), 0);
    CHECK_INT(wsp__deflate_msg(&d, (const uint8_t *)"\xc3\x28", 2, &z, &zn), 0);
    wsp__deflate_free(&d);
    n = frame(b, 0xc1, z, zn);
    free(z);
    expect_facts("bad UTF-8 inflated", b, n, 1024, &p,
                 "sent 1007 |error 1007|");
    b[0] = 0xc2; /* The same bytes as binary are a message. */
    expect_facts("binary inflated", b, n, 1024, &p, "msg b 2 \\c3(|");
  }
  /* A deflate bomb: small on the wire, past --max-message inflated. */
  z = bomb(&zn);
  big = malloc(zn + 16);
  n = frame(big, 0xc2, z, zn);
  {
    static facts f;
    wsp__ws ws;
    session(&ws, &f, 1 << 20, &p);
    wsp__ws_feed(&ws, big, n);
    CHECK_STR(f.log, "sent 1009 |error 1009|");
    wsp__ws_free(&ws);
  }
  free(big);
  free(z);
}

static void test_send(void) {
  static facts f;
  wsp__ws ws;
  wsp__pmd p = pmd_of(0, 15), eight = pmd_of(0, 8);
  uint8_t op[2], payload[64], *fr;
  size_t plen[2], n;
  session(&ws, &f, 1024, &p);
  CHECK_INT(wsp__ws_send(&ws, (const uint8_t *)"Hello", 5, 0), 0);
  CHECK_INT(facts_frames(&f, op, payload, plen, 2), 1);
  CHECK_INT(op[0], 0xc1);
  /* What went out inflates back to the message. */
  {
    wsp__deflate d;
    uint8_t *out;
    CHECK_INT(wsp__deflate_init(&d, &p), 0);
    CHECK_INT(wsp__inflate_msg(&d, payload, plen[0], 1024, &out, &n), 0);
    CHECK_INT(n, 5);
    CHECK(memcmp(out, "Hello", 5) == 0);
    free(out);
    wsp__deflate_free(&d);
  }
  /* A frame built ahead carries RSV1 too. */
  CHECK_INT(wsp__ws_frame(&ws, (const uint8_t *)"Hello", 5, 1, &fr, &n), 0);
  CHECK_INT(fr[0], 0xc2);
  free(fr);
  wsp__ws_free(&ws);
  /* An 8-bit window: sent as it is, without RSV1. */
  session(&ws, &f, 1024, &eight);
  CHECK_INT(wsp__ws_send(&ws, (const uint8_t *)"Hello", 5, 0), 0);
  CHECK_INT(facts_frames(&f, op, payload, plen, 2), 1);
  CHECK_INT(op[0], 0x81);
  CHECK_INT(plen[0], 5);
  CHECK(memcmp(payload, "Hello", 5) == 0);
  wsp__ws_free(&ws);
}

#define ACCEPTED                                                               \
  "HTTP/1.1 101 Switching Protocols\r\n"                                       \
  "Upgrade: websocket\r\n"                                                     \
  "Connection: Upgrade\r\n"                                                    \
  "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"

/* Parses ACCEPTED plus `ext` (header lines) having offered deflate,
 * whole and byte by byte; returns the state and leaves `up` set. */
static wsp__up_state answer(const char *ext, wsp__upgrade *up) {
  char resp[1024];
  wsp__up_state st = WSP__UP_MORE, whole;
  size_t used, len;
  snprintf(resp, sizeof(resp), "%s%s\r\n", ACCEPTED, ext);
  len = strlen(resp);
  CHECK_INT(wsp__upgrade_init(up, "dGhlIHNhbXBsZSBub25jZQ==", NULL, 0), 0);
  up->offer_deflate = 1;
  for (size_t i = 0; i < len && st == WSP__UP_MORE; i++)
    st = wsp__upgrade_parse(up, (const uint8_t *)resp + i, 1, &used);
  wsp__upgrade_clear(up);
  CHECK_INT(wsp__upgrade_init(up, "dGhlIHNhbXBsZSBub25jZQ==", NULL, 0), 0);
  up->offer_deflate = 1;
  whole = wsp__upgrade_parse(up, (const uint8_t *)resp, len, &used);
  CHECK_INT(whole, st);
  return whole;
}

static void expect_answer(const char *ext, int sno, int cno, int sbits,
                          int cbits) {
  wsp__upgrade up;
  CHECK_INT(answer(ext, &up), WSP__UP_OPEN);
  if (up.state != WSP__UP_OPEN)
    fprintf(stderr, "  '%s': %s\n", ext, up.err);
  CHECK_INT(up.pmd.on, 1);
  CHECK_INT(up.pmd.server_no_takeover, sno);
  CHECK_INT(up.pmd.client_no_takeover, cno);
  CHECK_INT(up.pmd.server_bits, sbits);
  CHECK_INT(up.pmd.client_bits, cbits);
  wsp__upgrade_clear(&up);
}

static void expect_refused(const char *ext, const char *why) {
  wsp__upgrade up;
  CHECK_INT(answer(ext, &up), WSP__UP_INVALID);
  if (strstr(up.err, why) == NULL)
    fprintf(stderr, "  '%s': got '%s', wanted '%s'\n", ext, up.err, why);
  CHECK(strstr(up.err, why) != NULL);
  wsp__upgrade_clear(&up);
}

static void test_negotiation(void) {
  static const char offer[] = "\r\nSec-WebSocket-Extensions: "
                              "permessage-deflate; client_max_window_bits\r\n";
  wsp__upgrade up;
  char *req;
  size_t len;
  wsp_config *cfg;
  /* None: the session goes on without compression. */
  CHECK_INT(answer("", &up), WSP__UP_OPEN);
  CHECK_INT(up.pmd.on, 0);
  wsp__upgrade_clear(&up);
  expect_answer("Sec-WebSocket-Extensions: permessage-deflate\r\n", 0, 0, 15,
                15);
  expect_answer("Sec-WebSocket-Extensions: Permessage-Deflate ; "
                "server_no_context_takeover;client_no_context_takeover; "
                "server_max_window_bits=10; client_max_window_bits=\"8\"\r\n",
                1, 1, 10, 8);
  expect_refused("Sec-WebSocket-Extensions: x-webkit-deflate-frame\r\n",
                 "not offered");
  expect_refused("Sec-WebSocket-Extensions: permessage-deflate; foo\r\n",
                 "unknown permessage-deflate parameter 'foo'");
  expect_refused("Sec-WebSocket-Extensions: permessage-deflate; "
                 "server_no_context_takeover; server_no_context_takeover\r\n",
                 "given twice");
  expect_refused("Sec-WebSocket-Extensions: permessage-deflate; "
                 "client_max_window_bits\r\n",
                 "is not 8 to 15");
  expect_refused("Sec-WebSocket-Extensions: permessage-deflate; "
                 "server_max_window_bits=16\r\n",
                 "is not 8 to 15");
  expect_refused("Sec-WebSocket-Extensions: permessage-deflate; "
                 "server_max_window_bits=09\r\n",
                 "is not 8 to 15");
  expect_refused("Sec-WebSocket-Extensions: permessage-deflate; "
                 "client_no_context_takeover=1\r\n",
                 "takes no value");
  expect_refused("Sec-WebSocket-Extensions: permessage-deflate, "
                 "permessage-deflate\r\n",
                 "more than one extension");
  expect_refused("Sec-WebSocket-Extensions: permessage-deflate\r\n"
                 "Sec-WebSocket-Extensions: permessage-deflate\r\n",
                 "more than one extension");
  expect_refused("Sec-WebSocket-Extensions: permessage-deflate;\r\n",
                 "malformed");
  expect_refused("Sec-WebSocket-Extensions: permessage-deflate; "
                 "server_max_window_bits=\"10\r\n",
                 "malformed");
  /* The offer is in the request only when asked for. */
  cfg = wsp_config_new();
  CHECK_INT(wsp_config_set_url(cfg, "ws://127.0.0.1:1/"), 0);
  CHECK_INT(wsp__upgrade_request(cfg, NULL, "k", &req, &len), 0);
  CHECK(memmem(req, len, "Sec-WebSocket-Extensions", 24) == NULL);
  free(req);
  CHECK_INT(wsp_config_set_compress(cfg, 1), 0);
  CHECK_INT(wsp__upgrade_request(cfg, NULL, "k", &req, &len), 0);
  CHECK(memmem(req, len, offer, sizeof(offer) - 1) != NULL);
  CHECK(len > 4 && memcmp(req + len - 4, "\r\n\r\n", 4) == 0);
  free(req);
  wsp_config_free(cfg);
  CHECK_INT(wsp_config_set_compress(NULL, 1), WSP_EINVAL);
}

int main(void) {
  CHECK_INT(wsp__rng_init(&rng), 0);
  test_module();
  test_bomb();
  test_session();
  test_send();
  test_negotiation();
  wsp__rng_free(&rng);
  free(lp.buf);
  return check_status("test_deflate");
}
