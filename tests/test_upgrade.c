/*
 * The upgrade, with scripted bytes: the request we write, and every way a
 * response can be right or wrong, fed whole and split at every byte.
 */
#include <stdlib.h>

#include "check.h"
#include "config.h"
#include "upgrade.h"

static const char key[] = "dGhlIHNhbXBsZSBub25jZQ==";
static const char accept_[] = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/* Feeds `resp` in pieces of `step` bytes; returns the final state. */
static wsp__up_state feed(wsp__upgrade *up, const char *resp, size_t len,
                          size_t step, size_t *consumed_total) {
  wsp__up_state st = WSP__UP_MORE;
  size_t off = 0, used;
  *consumed_total = 0;
  while (off < len && st == WSP__UP_MORE) {
    size_t n = len - off < step ? len - off : step;
    st = wsp__upgrade_parse(up, (const uint8_t *)resp + off, n, &used);
    *consumed_total += used;
    off += n;
  }
  return st;
}

static wsp__up_state parse_with(const char *resp, const char *const *offered,
                                size_t noffered, wsp__upgrade *up,
                                size_t step) {
  size_t used;
  wsp__up_state st;
  CHECK_INT(wsp__upgrade_init(up, key, offered, noffered), 0);
  st = feed(up, resp, strlen(resp), step, &used);
  return st;
}

static void expect_invalid(const char *resp, const char *why) {
  wsp__upgrade up;
  wsp__up_state st = parse_with(resp, NULL, 0, &up, 4096);
  CHECK_INT(st, WSP__UP_INVALID);
  CHECK(strstr(up.err, why) != NULL);
  if (strstr(up.err, why) == NULL)
    fprintf(stderr, "  got '%s', wanted '%s'\n", up.err, why);
  wsp__upgrade_clear(&up);
}

#define OK_HEAD                                                                \
  "HTTP/1.1 101 Switching Protocols\r\n"                                       \
  "Upgrade: websocket\r\n"                                                     \
  "Connection: Upgrade\r\n"                                                    \
  "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"

static void test_accept(void) {
  char out[WSP__ACCEPT_LEN + 1];
  uint8_t nonce[16] = "the sample nonce";
  char k[WSP__KEY_LEN + 1];
  CHECK_INT(wsp__ws_accept(key, strlen(key), out), 0);
  CHECK_STR(out, accept_);
  CHECK_INT(wsp__ws_key(nonce, k), 0);
  CHECK_STR(k, key);
}

static void test_request(void) {
  wsp_config *cfg = wsp_config_new();
  char *req;
  size_t len;
  CHECK_INT(wsp_config_set_url(cfg, "ws://[::1]:9000/chat?room=1"), 0);
  CHECK_INT(wsp_config_add_subprotocol(cfg, "chat.v2"), 0);
  CHECK_INT(wsp_config_set_jwt(cfg, "aaa.bbb.ccc",
                               WSP_JWT_SUBPROTOCOL | WSP_JWT_BEARER),
            0);
  CHECK_INT(wsp_config_set_origin(cfg, "https://app.example"), 0);
  CHECK_INT(wsp_config_add_header_line(cfg, "X-Trace:  abc"), 0);
  CHECK_INT(wsp__upgrade_request(cfg, "aaa.bbb.ccc", key, &req, &len), 0);
  req[len] = '\0'; /* The buffer was sized with room to spare. */
  CHECK(strncmp(req, "GET /chat?room=1 HTTP/1.1\r\nHost: [::1]:9000\r\n", 44) ==
        0);
  CHECK(strstr(req, "\r\nUpgrade: websocket\r\n") != NULL);
  CHECK(strstr(req, "\r\nConnection: Upgrade\r\n") != NULL);
  CHECK(strstr(req, "\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"));
  CHECK(strstr(req, "\r\nSec-WebSocket-Version: 13\r\n") != NULL);
  CHECK(
      strstr(req, "\r\nSec-WebSocket-Protocol: jwt.aaa.bbb.ccc, chat.v2\r\n"));
  CHECK(strstr(req, "\r\nAuthorization: Bearer aaa.bbb.ccc\r\n") != NULL);
  CHECK(strstr(req, "\r\nOrigin: https://app.example\r\n") != NULL);
  CHECK(strstr(req, "\r\nX-Trace: abc\r\n") != NULL);
  CHECK(len >= 4 && memcmp(req + len - 4, "\r\n\r\n", 4) == 0);
  CHECK(strstr(req, "\r\n\r\n") == req + len - 4);
  free(req);
  wsp_config_free(cfg);
}

static void test_open_split(void) {
  /* A frame (text "hi") follows the headers in the same bytes. */
  const char resp[] = OK_HEAD "\r\n\x81\x02hi";
  size_t head = strlen(OK_HEAD) + 2;
  for (size_t step = 1; step <= sizeof(resp); step++) {
    wsp__upgrade up;
    size_t used;
    wsp__up_state st;
    CHECK_INT(wsp__upgrade_init(&up, key, NULL, 0), 0);
    st = feed(&up, resp, sizeof(resp) - 1, step, &used);
    CHECK_INT(st, WSP__UP_OPEN);
    CHECK_INT(used, head);
    wsp__upgrade_clear(&up);
  }
}

static void test_open_variants(void) {
  static const char *const offered[] = {"jwt.t", "chat"};
  wsp__upgrade up;
  CHECK_INT(parse_with("HTTP/1.1 101 OK\r\nupgrade: WebSocket\r\n"
                       "connection: keep-alive, upgrade\r\n"
                       "sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo= \r\n"
                       "Sec-WebSocket-Protocol: chat\r\n\r\n",
                       offered, 2, &up, 7),
            WSP__UP_OPEN);
  CHECK_STR(up.h[WSP__H_PROTOCOL], "chat");
  CHECK_INT(up.status, 101);
  wsp__upgrade_clear(&up);
  CHECK_INT(parse_with(OK_HEAD "Sec-WebSocket-Protocol: jwt.t\r\n\r\n", offered,
                       2, &up, 4096),
            WSP__UP_OPEN);
  wsp__upgrade_clear(&up);
}

static void test_invalid(void) {
  expect_invalid("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Accept: "
                 "AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n",
                 "wrong Sec-WebSocket-Accept");
  expect_invalid("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
                 "without an Upgrade header");
  expect_invalid("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n"
                 "Connection: Upgrade\r\n"
                 "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
                 "not websocket");
  expect_invalid("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 "Connection: keep-alive\r\n"
                 "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
                 "without 'upgrade' in Connection");
  expect_invalid("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\n\r\n",
                 "without Sec-WebSocket-Accept");
  expect_invalid(OK_HEAD "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
                         "\r\n\r\n",
                 "wrong Sec-WebSocket-Accept");
  expect_invalid(OK_HEAD "Sec-WebSocket-Protocol: chat\r\n\r\n",
                 "subprotocol 'chat' that was not offered");
  expect_invalid(OK_HEAD "Sec-WebSocket-Protocol: jwt.secret\r\n\r\n",
                 "subprotocol 'jwt.<redacted>' that was not offered");
  expect_invalid(OK_HEAD "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
                 "extension 'permessage-deflate' that was not offered");
  expect_invalid("HTTP/1.0 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\n"
                 "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
                 "not HTTP/1.1");
  expect_invalid("garbage\r\n\r\n", "malformed HTTP response");
  expect_invalid("HTTP/1.1 abc OK\r\n\r\n", "malformed HTTP response");
}

static void test_rejections(void) {
  wsp__upgrade up;
  size_t used;
  const char r503[] =
      "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\n"
      "Content-Type: application/json\r\nContent-Length: 15\r\n\r\n"
      "{\"error\":\"no\"}\n";
  for (size_t step = 1; step < sizeof(r503); step += 3) {
    CHECK_INT(wsp__upgrade_init(&up, key, NULL, 0), 0);
    CHECK_INT(feed(&up, r503, sizeof(r503) - 1, step, &used), WSP__UP_REJECTED);
    CHECK_INT(up.status, 503);
    CHECK_STR(up.reason, "Service Unavailable");
    CHECK_STR(up.h[WSP__H_RETRY_AFTER], "5");
    CHECK_STR(up.h[WSP__H_CONTENT_TYPE], "application/json");
    CHECK_INT(up.body_len, 15);
    CHECK(memcmp(up.body, "{\"error\":\"no\"}\n", 15) == 0);
    wsp__upgrade_clear(&up);
  }

  /* Chunked bodies are decoded. */
  CHECK_INT(parse_with("HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: "
                       "chunked\r\n\r\n4\r\nauth\r\n6\r\n fail!\r\n0\r\n\r\n",
                       NULL, 0, &up, 5),
            WSP__UP_REJECTED);
  CHECK_INT(up.status, 401);
  CHECK_INT(up.body_len, 10);
  CHECK(memcmp(up.body, "auth fail!", 10) == 0);
  wsp__upgrade_clear(&up);

  /* A long body: the first bytes are enough, without waiting for more. */
  {
    char big[4096];
    int n = snprintf(big, sizeof(big),
                     "HTTP/1.1 500 Oops\r\nContent-Length: 100000\r\n\r\n");
    memset(big + n, 'x', sizeof(big) - (size_t)n);
    CHECK_INT(wsp__upgrade_init(&up, key, NULL, 0), 0);
    CHECK_INT(wsp__upgrade_parse(&up, (uint8_t *)big, sizeof(big), &used),
              WSP__UP_REJECTED);
    CHECK_INT(up.body_len, WSP__BODY_PREFIX);
    wsp__upgrade_clear(&up);
  }

  /* A body delimited by the end of the connection. */
  CHECK_INT(parse_with("HTTP/1.1 503 Down\r\n\r\nbye", NULL, 0, &up, 4096),
            WSP__UP_MORE);
  CHECK_INT(wsp__upgrade_eof(&up), WSP__UP_REJECTED);
  CHECK_INT(up.body_len, 3);
  wsp__upgrade_clear(&up);

  /* A rejection that also says Connection: upgrade is still one. */
  CHECK_INT(parse_with("HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nContent-Length: 0\r\n\r\n",
                       NULL, 0, &up, 4096),
            WSP__UP_REJECTED);
  CHECK_INT(up.status, 426);
  wsp__upgrade_clear(&up);
}

static void test_bounds_and_eof(void) {
  wsp__upgrade up;
  size_t used;
  char chunk[1024];
  wsp__up_state st = WSP__UP_MORE;
  int rounds = 0;

  CHECK_INT(wsp__upgrade_init(&up, key, NULL, 0), 0);
  st = wsp__upgrade_parse(&up, (const uint8_t *)"HTTP/1.1 200 OK\r\n", 17,
                          &used);
  memset(chunk, 'a', sizeof(chunk));
  memcpy(chunk, "X-Filler: ", 10);
  chunk[sizeof(chunk) - 2] = '\r';
  chunk[sizeof(chunk) - 1] = '\n';
  while (st == WSP__UP_MORE && rounds++ < 1000)
    st = wsp__upgrade_parse(&up, (const uint8_t *)chunk, sizeof(chunk), &used);
  CHECK_INT(st, WSP__UP_INVALID);
  CHECK(strstr(up.err, "exceed") != NULL);
  CHECK(rounds <= WSP__MAX_HEADER_BYTES / (int)sizeof(chunk) + 2);
  wsp__upgrade_clear(&up);

  /* Headers over the limit are invalid with the status their status line
   * gave, however the bytes are cut into reads. */
  {
    static char big[72 * 1024];
    size_t n = (size_t)snprintf(big, sizeof(big), OK_HEAD "X-Pad: ");
    static const size_t steps[] = {7, 1000, 20000, 40000, sizeof(big)};
    memset(big + n, 'a', sizeof(big) - n);
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
      size_t used;
      CHECK_INT(wsp__upgrade_init(&up, key, NULL, 0), 0);
      CHECK_INT(feed(&up, big, sizeof(big), steps[i], &used), WSP__UP_INVALID);
      CHECK_INT(up.status, 101);
      CHECK(strstr(up.err, "exceed") != NULL);
      wsp__upgrade_clear(&up);
    }
  }

  CHECK_INT(wsp__upgrade_init(&up, key, NULL, 0), 0);
  CHECK_INT(wsp__upgrade_eof(&up), WSP__UP_INVALID);
  CHECK(strstr(up.err, "without a response") != NULL);
  wsp__upgrade_clear(&up);

  CHECK_INT(parse_with("HTTP/1.1 101 Switching", NULL, 0, &up, 4096),
            WSP__UP_MORE);
  CHECK_INT(wsp__upgrade_eof(&up), WSP__UP_INVALID);
  CHECK(strstr(up.err, "middle of the response headers") != NULL);
  wsp__upgrade_clear(&up);
}

/* Interim responses (RFC 9110 15.2) come before the final one and are
 * skipped: 103 Early Hints, 100 Continue, several of them, at every split. */
static void test_interim(void) {
  const char resp[] = "HTTP/1.1 103 Early Hints\r\nLink: </app.js>; rel=preload"
                      "\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n" OK_HEAD
                      "Sec-WebSocket-Protocol: chat\r\n\r\n\x81\x02hi";
  static const char *const offered[] = {"chat"};
  size_t head = sizeof(resp) - 1 - 4;
  for (size_t step = 1; step <= sizeof(resp); step++) {
    wsp__upgrade up;
    size_t used;
    wsp__up_state st;
    CHECK_INT(wsp__upgrade_init(&up, key, offered, 1), 0);
    st = feed(&up, resp, sizeof(resp) - 1, step, &used);
    CHECK_INT(st, WSP__UP_OPEN);
    CHECK_INT(used, head);
    CHECK_INT(up.status, 101);
    CHECK_STR(up.h[WSP__H_PROTOCOL], "chat");
    wsp__upgrade_clear(&up);
  }
  {
    /* The final response is the one that counts: a 503 after a 103. */
    wsp__upgrade up;
    CHECK_INT(parse_with("HTTP/1.1 103 Early Hints\r\nRetry-After: 1\r\n\r\n"
                         "HTTP/1.1 503 Down\r\nContent-Length: 2\r\n\r\nno",
                         NULL, 0, &up, 3),
              WSP__UP_REJECTED);
    CHECK_INT(up.status, 503);
    CHECK_STR(up.reason, "Down");
    CHECK(up.h[WSP__H_RETRY_AFTER] == NULL);
    CHECK_INT(up.body_len, 2);
    wsp__upgrade_clear(&up);
    /* An interim response has no body, whatever it says, and is no
     * upgrade even with Connection: upgrade. */
    CHECK_INT(parse_with("HTTP/1.1 103 Early Hints\r\nTransfer-Encoding: "
                         "chunked\r\n\r\nHTTP/1.1 100 Continue\r\n"
                         "Connection: upgrade\r\nUpgrade: websocket\r\n"
                         "\r\n" OK_HEAD "\r\n",
                         NULL, 0, &up, 1),
              WSP__UP_OPEN);
    CHECK_INT(up.interim, 2);
    wsp__upgrade_clear(&up);
    CHECK_INT(parse_with("HTTP/1.1 103 Early Hints\r\nTransfer-Encoding: "
                         "chunked\r\n\r\nHTTP/1.1 100 Continue\r\n"
                         "Connection: upgrade\r\nUpgrade: websocket\r\n"
                         "\r\n" OK_HEAD "\r\n",
                         NULL, 0, &up, 4096),
              WSP__UP_OPEN);
    wsp__upgrade_clear(&up);
    /* Headers of interim responses count against the limit too. */
    CHECK_INT(wsp__upgrade_init(&up, key, NULL, 0), 0);
    {
      wsp__up_state st = WSP__UP_MORE;
      size_t used;
      int rounds = 0;
      static const char hint[] = "HTTP/1.1 103 Early Hints\r\n"
                                 "Link: </a.js>; rel=preload\r\n\r\n";
      while (st == WSP__UP_MORE && rounds++ < 10000)
        st = wsp__upgrade_parse(&up, (const uint8_t *)hint, sizeof(hint) - 1,
                                &used);
      CHECK_INT(st, WSP__UP_INVALID);
      CHECK(strstr(up.err, "exceed") != NULL);
    }
    wsp__upgrade_clear(&up);
  }
}

/* A body longer than the prefix kept is cut at a character boundary, not
 * inside a UTF-8 sequence. */
static void test_body_cut(void) {
  char resp[2048];
  wsp__upgrade up;
  size_t used;
  int n = snprintf(resp, sizeof(resp),
                   "HTTP/1.1 503 Down\r\nContent-Type: text/plain; "
                   "charset=utf-8\r\nContent-Length: 600\r\n\r\n");
  /* 511 ASCII bytes, then "é" (2 bytes) across the 512-byte cut. */
  memset(resp + n, 'a', 511);
  memcpy(resp + n + 511, "\xc3\xa9", 2);
  memset(resp + n + 513, 'b', 600 - 513);
  CHECK_INT(wsp__upgrade_init(&up, key, NULL, 0), 0);
  CHECK_INT(wsp__upgrade_parse(&up, (uint8_t *)resp, (size_t)n + 600, &used),
            WSP__UP_REJECTED);
  CHECK_INT(up.body_len, 511);
  CHECK(up.body_cut);
  wsp__upgrade_clear(&up);
  /* Exactly at a boundary nothing is lost. */
  memcpy(resp + n + 510, "\xc3\xa9", 2);
  resp[n + 512] = 'b';
  CHECK_INT(wsp__upgrade_init(&up, key, NULL, 0), 0);
  CHECK_INT(wsp__upgrade_parse(&up, (uint8_t *)resp, (size_t)n + 600, &used),
            WSP__UP_REJECTED);
  CHECK_INT(up.body_len, 512);
  wsp__upgrade_clear(&up);
}

/* Recorded headers: the first value of each, matched without case, at
 * every split; an interim response's are forgotten; a recorded header
 * that is also checked (Upgrade) is both. */
static void test_recorded(void) {
  const char resp[] =
      "HTTP/1.1 103 Early Hints\r\nX-Served-By: early\r\n\r\n" OK_HEAD
      "x-served-by:  replica-a \r\n"
      "X-Served-By: replica-b\r\n"
      "X-Long-Name-Of-A-Header-That-Goes-On-And-On-For-Fifty: "
      "v\r\n\r\n";
  static const char *const names[] = {
      "X-Served-By", "Upgrade", "X-Absent",
      "X-Long-Name-Of-A-Header-That-Goes-On-And-On-For-Fifty"};
  for (size_t step = 1; step <= sizeof(resp); step++) {
    wsp__upgrade up;
    size_t used;
    CHECK_INT(wsp__upgrade_init(&up, key, NULL, 0), 0);
    up.record = names;
    up.nrecord = 4;
    CHECK_INT(feed(&up, resp, sizeof(resp) - 1, step, &used), WSP__UP_OPEN);
    CHECK_STR(up.rec[0], "replica-a");
    CHECK_STR(up.rec[1], "websocket");
    CHECK_STR(up.h[WSP__H_UPGRADE], "websocket");
    CHECK(up.rec[2] == NULL);
    CHECK_STR(up.rec[3], "v");
    wsp__upgrade_clear(&up);
    CHECK(up.rec[0] == NULL);
  }
}

int main(void) {
  test_recorded();
  test_accept();
  test_interim();
  test_body_cut();
  test_request();
  test_open_split();
  test_open_variants();
  test_invalid();
  test_rejections();
  test_bounds_and_eof();
  return check_status("test_upgrade");
}
