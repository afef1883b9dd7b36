/*
 * The WebSocket session with scripted bytes, no sockets: every server byte
 * sequence is fed whole, split at every point and byte by byte, and must
 * give the same facts (messages, close received, close sent, protocol
 * error) each time. What leaves goes through the send callback once per
 * flush: a frame is never split across writes. Also what counts as an
 * event, UTF-8 cuts and how reasons keep their bytes in JSON.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "event.h"
#include "rand.h"
#include "result.h"
#include "util.h"
#include "ws.h"
#include "ws_facts.h"

static wsp__rng rng;
static wsp__ws_loop lp;

static void session(wsp__ws *ws, facts *f, uint64_t max) {
  CHECK_INT(facts_session(ws, f, &lp, &rng, max), 0);
}

static size_t close_frame(uint8_t *out, int code, const char *reason,
                          size_t rlen) {
  uint8_t p[125];
  p[0] = (uint8_t)(code >> 8);
  p[1] = (uint8_t)code;
  memcpy(p + 2, reason, rlen);
  return frame(out, 0x88, p, rlen + 2);
}

/* The facts of `in` fed whole must equal `want`, and so must every split
 * into two pieces and the byte-by-byte feed. */
static void expect_facts(const char *name, const uint8_t *in, size_t len,
                         uint64_t max, const char *want) {
  static facts f;
  wsp__ws ws;
  session(&ws, &f, max);
  feed_cuts(&ws, in, len, NULL, 0);
  if (strcmp(f.log, want) != 0)
    fprintf(stderr, "%s whole:\n  got  %s\n  want %s\n", name, f.log, want);
  CHECK_STR(f.log, want);
  wsp__ws_free(&ws);
  for (size_t k = 1; k < len; k++) {
    session(&ws, &f, max);
    feed_cuts(&ws, in, len, &k, 1);
    if (strcmp(f.log, want) != 0) {
      fprintf(stderr, "%s split at %zu:\n  got  %s\n  want %s\n", name, k,
              f.log, want);
      CHECK_STR(f.log, want);
    }
    check_count++;
    wsp__ws_free(&ws);
  }
  {
    size_t *cuts = calloc(len ? len : 1, sizeof(*cuts));
    for (size_t k = 1; k < len; k++)
      cuts[k - 1] = k;
    session(&ws, &f, max);
    feed_cuts(&ws, in, len, cuts, len > 0 ? len - 1 : 0);
    if (strcmp(f.log, want) != 0)
      fprintf(stderr, "%s byte by byte:\n  got  %s\n  want %s\n", name, f.log,
              want);
    CHECK_STR(f.log, want);
    wsp__ws_free(&ws);
    free(cuts);
  }
}

static void test_messages(void) {
  uint8_t b[512];
  size_t n;
  n = frame(b, 0x81, "hi", 2);
  expect_facts("text", b, n, 1024, "msg t 2 hi|");
  n = frame(b, 0x82, "\x00\x01", 2);
  expect_facts("binary", b, n, 1024, "msg b 2 \\00\\01|");
  /* Fragments, with a ping between them. */
  n = frame(b, 0x01, "hel", 3);
  n += frame(b + n, 0x89, "p", 1);
  n += frame(b + n, 0x80, "lo", 2);
  expect_facts("fragmented", b, n, 1024, "msg t 5 hello|");
  /* Several in one read keep their order. */
  n = frame(b, 0x81, "{\"type\":\"a\"}", 12);
  n += frame(b + n, 0x81, "{\"type\":\"b\"}", 12);
  n += close_frame(b + n, 1000, "", 0);
  expect_facts("events then close", b, n, 1024,
               "msg t 12 {\"type\":\"a\"}|msg t 12 {\"type\":\"b\"}|sent "
               "1000 |close 1000 ok 0 |");
  {
    static uint8_t big[70000 + 16];
    uint8_t *payload = malloc(70000);
    memset(payload, 'x', 70000);
    n = frame(big, 0x82, payload, 70000);
    expect_facts("64-bit length", big, n, 1 << 20,
                 "msg b 70000 "
                 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx|");
    free(payload);
  }
}

static void test_closes(void) {
  uint8_t b[256];
  size_t n;
  n = close_frame(b, 1011, "Internal error", 14);
  expect_facts("1011", b, n, 1024,
               "sent 1011 |close 1011 ok 14 Internal error|");
  /* Valid codes wslay 1.1.1 itself rejects. */
  n = close_frame(b, 1012, "restart", 7);
  expect_facts("1012", b, n, 1024, "sent 1012 |close 1012 ok 7 restart|");
  n = close_frame(b, 1014, "", 0);
  expect_facts("1014", b, n, 1024, "sent 1014 |close 1014 ok 0 |");
  /* A reason of several-byte characters, cut anywhere (wslay checks a
   * close payload's UTF-8 piece by piece from each piece's third byte). */
  n = close_frame(b, 1001, "caf\xc3\xa9 \xe2\x82\xac", 9);
  expect_facts("UTF-8 reason", b, n, 1024,
               "sent 1001 |close 1001 ok 9 caf\\c3\\a9 \\e2\\82\\ac|");
  /* An invalid code and a reason that is not UTF-8: the reason decides,
   * however cut. */
  n = close_frame(b, 884, "tres\xf4+ar", 9);
  expect_facts("bad code, bad reason", b, n, 1024, "sent 1007 |error 1007|");
  /* A reason keeps its bytes, NUL included. */
  n = close_frame(b, 4000, "a\0b", 3);
  expect_facts("NUL reason", b, n, 1024, "sent 4000 |close 4000 ok 3 a\\00b|");
  n = frame(b, 0x88, "", 0);
  expect_facts("empty close", b, n, 1024, "sent 1005 |close 1005 ok 0 |");
  n = frame(b, 0x88, "\x03", 1);
  expect_facts("1-byte close", b, n, 1024, "sent 1002 |close -1 bad 0 |");
  n = close_frame(b, 999, "", 0);
  expect_facts("code 999", b, n, 1024, "sent 1002 |close 999 bad 0 |");
  n = close_frame(b, 1005, "", 0);
  expect_facts("code 1005", b, n, 1024, "sent 1002 |close 1005 bad 0 |");
  /* A close reason that is not UTF-8 is a broken protocol, however the
   * bytes are split (wslay itself notices only some splits). */
  n = close_frame(b, 1000, "\xff", 1);
  expect_facts("bad UTF-8 reason", b, n, 1024, "sent 1007 |error 1007|");
  /* The largest message bounds a close frame too. */
  n = close_frame(b, 1000, "0123456789", 10);
  expect_facts("close over the largest message", b, n, 8,
               "sent 1009 |error 1009|");
  /* Nothing after a close frame counts. */
  n = close_frame(b, 1000, "", 0);
  n += frame(b + n, 0x81, "late", 4);
  expect_facts("after close", b, n, 1024, "sent 1000 |close 1000 ok 0 |");
}

static void test_protocol_errors(void) {
  uint8_t b[256];
  size_t n;
  /* A masked server frame. */
  b[0] = 0x81;
  b[1] = 0x82;
  memcpy(b + 2, "\x01\x02\x03\x04hi", 6);
  expect_facts("masked", b, 8, 1024, "sent 1002 |error 1002|");
  n = frame(b, 0xc1, "hi", 2);
  expect_facts("RSV1", b, n, 1024, "sent 1002 |error 1002|");
  n = frame(b, 0x83, "x", 1);
  expect_facts("reserved opcode", b, n, 1024, "sent 1002 |error 1002|");
  n = frame(b, 0x80, "hi", 2);
  expect_facts("orphan continuation", b, n, 1024, "sent 1002 |error 1002|");
  n = frame(b, 0x81, "\xc3\x28", 2);
  expect_facts("bad UTF-8", b, n, 1024, "sent 1007 |error 1007|");
  n = frame(b, 0x81, "0123456789", 10);
  expect_facts("too big", b, n, 8, "sent 1009 |error 1009|");
  n = frame(b, 0x09, "p", 1);
  expect_facts("fragmented ping", b, n, 1024, "sent 1002 |error 1002|");
  /* A length with its top bit set. */
  memcpy(b, "\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00", 10);
  expect_facts("length 2^63", b, 10, 1024, "sent 1002 |error 1002|");
  /* A message before the error still counts. */
  n = frame(b, 0x81, "ok", 2);
  n += frame(b + n, 0xc1, "hi", 2);
  expect_facts("message then RSV1", b, n, 1024,
               "msg t 2 ok|sent 1002 |error 1002|");
}

/* A frame leaves in one write, whatever its size (wslay hands over the
 * header and the masked payload, 4 KiB at a time, in separate calls). */
static void test_one_write(void) {
  static const size_t sizes[] = {0,    10,   125,   126,   1000,  1025,
                                 4096, 5000, 65535, 65536, 100000};
  static uint8_t msg[100000], back[100000];
  uint8_t op[4];
  size_t plen[4];
  for (size_t i = 0; i < sizeof(msg); i++)
    msg[i] = (uint8_t)(i * 7);
  for (size_t s = 0; s < WSP__ARRAY_SIZE(sizes); s++) {
    static facts f;
    wsp__ws ws;
    session(&ws, &f, 1024);
    CHECK_INT(wsp__ws_send(&ws, msg, sizes[s], 1), 0);
    CHECK_INT(f.sends, 1);
    CHECK_INT(facts_frames(&f, op, back, plen, 4), 1);
    CHECK_INT(op[0], 0x82);
    CHECK_INT(plen[0], sizes[s]);
    CHECK(memcmp(back, msg, sizes[s]) == 0);
    wsp__ws_free(&ws);
  }
  {
    /* A pong owed and a message: one write, pong first. */
    static facts f;
    wsp__ws ws;
    uint8_t ping[8];
    size_t n = frame(ping, 0x89, "pp", 2);
    session(&ws, &f, 1024);
    f.fail_sends = 1; /* The pong waits (the feed's flush fails)... */
    wsp__ws_feed(&ws, ping, n);
    CHECK_INT(f.sends, 0);
    wsp__ws_free(&ws);
    session(&ws, &f, 1024);
    wsp__ws_feed(&ws, ping, n);
    CHECK_INT(f.sends, 1);
    CHECK_INT(facts_frames(&f, op, back, plen, 4), 1);
    CHECK_INT(op[0], 0x8a);
    CHECK(memcmp(back, "pp", 2) == 0);
    wsp__ws_free(&ws);
  }
  {
    /* A prebuilt frame goes out as it is, in one write. */
    static facts f;
    wsp__ws ws;
    uint8_t *fr;
    size_t frl;
    session(&ws, &f, 1024);
    CHECK_INT(wsp__ws_frame(&ws, msg, 3000, 0, &fr, &frl), 0);
    CHECK_INT(wsp__ws_send_frame(&ws, fr, frl), 0);
    CHECK_INT(f.sends, 1);
    CHECK_INT(facts_frames(&f, op, back, plen, 4), 1);
    CHECK_INT(op[0], 0x81);
    CHECK(memcmp(back, msg, 3000) == 0);
    free(fr);
    wsp__ws_free(&ws);
  }
  {
    /* After a failed send nothing more goes out, and nothing is
     * reported as sent. */
    static facts f;
    wsp__ws ws;
    session(&ws, &f, 1024);
    f.fail_sends = 1;
    CHECK_INT(wsp__ws_send(&ws, msg, 10, 0), WSP_EIO);
    f.fail_sends = 0;
    CHECK_INT(wsp__ws_send(&ws, msg, 10, 0), WSP_EIO);
    CHECK_INT(wsp__ws_close(&ws, 1000, NULL, 0), WSP_EIO);
    CHECK_INT(f.sends, 0);
    CHECK_STR(f.log, "");
    CHECK(!wsp__ws_can_close(&ws));
    wsp__ws_free(&ws);
  }
  {
    /* Our close: reported once it left, with its reason. */
    static facts f;
    wsp__ws ws;
    session(&ws, &f, 1024);
    CHECK_INT(wsp__ws_close(&ws, 4000, (const uint8_t *)"bye", 3), 0);
    CHECK_STR(f.log, "sent 4000 bye|");
    CHECK_INT(wsp__ws_close_code(&ws), 4000);
    CHECK_INT(wsp__ws_close(&ws, 1000, NULL, 0), 0); /* Ignored. */
    CHECK_INT(f.sends, 1);
    wsp__ws_free(&ws);
  }
}

/*
 * Our close first, then a ping, a message and the server's close: the same
 * facts whole (plain frames, then wslay from the ping on) and byte by byte
 * (wslay from the first byte), and no pong after our close either way.
 */
static void test_close_first(void) {
  uint8_t b[64], op[4];
  size_t n, plen[4];
  static facts whole, bytes;
  wsp__ws ws;
  n = frame(b, 0x89, "pp", 2);
  n += frame(b + n, 0x81, "late", 4);
  n += close_frame(b + n, 1000, "", 0);
  session(&ws, &whole, 1024);
  CHECK_INT(wsp__ws_close(&ws, 4000, (const uint8_t *)"bye", 3), 0);
  wsp__ws_feed(&ws, b, n);
  CHECK_STR(whole.log, "sent 4000 bye|msg t 4 late|close 1000 ok 0 |");
  CHECK_INT(whole.sends, 1);
  CHECK_INT(facts_frames(&whole, op, NULL, plen, 4), 1);
  CHECK_INT(op[0], 0x88);
  CHECK(!wsp__ws_can_close(&ws));
  CHECK_INT(wsp__ws_send(&ws, (const uint8_t *)"x", 1, 0), WSP_EIO);
  wsp__ws_free(&ws);
  session(&ws, &bytes, 1024);
  CHECK_INT(wsp__ws_close(&ws, 4000, (const uint8_t *)"bye", 3), 0);
  for (size_t i = 0; i < n; i++)
    wsp__ws_feed(&ws, b + i, 1);
  CHECK_STR(bytes.log, whole.log);
  CHECK_INT(bytes.sends, 1);
  wsp__ws_free(&ws);
}

static void expect_event_key(const char *text, const char *key,
                             const char *type) {
  char *t = NULL;
  int rc = wsp__event_type((const uint8_t *)text, strlen(text), key, &t);
  if (type == NULL) {
    CHECK_INT(rc, 0);
    if (rc != 0)
      fprintf(stderr, "  an event: %s\n", text);
  } else {
    CHECK_INT(rc, 1);
    CHECK_STR(t, type);
    if (rc != 1)
      fprintf(stderr, "  no event: %s\n", text);
  }
  free(t);
}

static void expect_event(const char *text, const char *type) {
  expect_event_key(text, "type", type);
}

static void test_events(void) {
  expect_event("{\"type\":\"agent_started\"}", "agent_started");
  expect_event(" \n{\"seq\":1, \"type\":\"x\"}\t", "x");
  expect_event("{\"type\":\"a\\u00e9\"}", "a\xc3\xa9");
  /* A NUL in the type, escaped or raw, makes no event. */
  expect_event("{\"type\":\"agent_completed\\u0000x\"}", NULL);
  expect_event("{\"type\":\"\\u0000\"}", NULL);
  {
    const char raw[] = "{\"type\":\"a\0b\"}";
    char *t = NULL;
    CHECK_INT(
        wsp__event_type((const uint8_t *)raw, sizeof(raw) - 1, "type", &t), 0);
  }
  /* A NUL escape elsewhere leaves the type alone; an escaped backslash
   * before "u0000" is no NUL at all. */
  expect_event("{\"note\":\"\\u0000\",\"type\":\"a\"}", "a");
  expect_event("{\"type\":\"a\\\\u0000\"}", "a\\u0000");
  /* The whole payload is one object. */
  expect_event("{\"type\":\"a\"} {\"type\":\"b\"}", NULL);
  expect_event("{\"type\":\"a\"}x", NULL);
  expect_event("[{\"type\":\"a\"}]", NULL);
  expect_event("\"type\"", NULL);
  expect_event("{\"type\":1}", NULL);
  expect_event("{\"Type\":\"a\"}", NULL);
  expect_event("", NULL);
  expect_event("{\"type\":\"a\"", NULL);
  /* A key with a NUL is no "type"; the real member after it still is. */
  expect_event("{\"type\\u0000x\":\"a\"}", NULL);
  expect_event("{\"type\\u0000x\":\"a\",\"type\":\"b\"}", "b");
  expect_event("{\"type\\u0000\":1,\"type\":\"b\"}", "b");
  expect_event("{\"type\":\"b\\u0000\",\"type\\u0000\":\"a\"}", NULL);
}

/* Another event key: only its member names the event. */
static void test_event_key(void) {
  expect_event_key("{\"op\":\"hello\",\"type\":\"x\"}", "op", "hello");
  expect_event_key("{\"type\":\"x\"}", "op", NULL);
  expect_event_key("{\"event\":\"tick\"}", "event", "tick");
  expect_event_key("{\"event\":\"a\\u0000\"}", "event", NULL);
  expect_event_key("{\"op\\u0000\":\"a\",\"op\":\"b\"}", "op", "b");
  expect_event_key("{\"Op\":\"a\"}", "op", NULL);
  expect_event_key("{\"a b\":\"c\"}", "a b", "c");
}

static void test_utf8_cut(void) {
  const uint8_t *e = (const uint8_t *)"ab\xc3\xa9"; /* "abé" */
  const uint8_t *euro = (const uint8_t *)"a\xe2\x82\xac";
  CHECK_INT(wsp__utf8_cut(e, 4), 4);
  CHECK_INT(wsp__utf8_cut(e, 3), 2);
  CHECK_INT(wsp__utf8_cut(e, 2), 2);
  CHECK_INT(wsp__utf8_cut(euro, 4), 4);
  CHECK_INT(wsp__utf8_cut(euro, 3), 1);
  CHECK_INT(wsp__utf8_cut(euro, 2), 1);
  CHECK_INT(wsp__utf8_cut((const uint8_t *)"\xff\xfe", 2), 2);
  CHECK_INT(wsp__utf8_cut((const uint8_t *)"\xf0\x9f\x98\x80", 4), 4);
  CHECK_INT(wsp__utf8_cut((const uint8_t *)"\xf0\x9f\x98\x80", 3), 0);
}

/* Reasons and bodies keep every byte in JSON: NULs and controls escaped
 * as cJSON escapes them (\u0000, \n), not cut; bytes that are not UTF-8
 * as hex. */
static void test_json_bytes(void) {
  wsp_result *r = wsp__result_new();
  char *json = NULL;
  cJSON *j, *close;
  r->outcome = WSP_OUTCOME_CLOSED_BY_SERVER;
  wsp__close_set(&r->close_recv, 4000, (const uint8_t *)"a\0b\"\n", 5);
  wsp__close_set(&r->close_sent, 1002, (const uint8_t *)"\xff\x01", 2);
  r->body = malloc(3);
  memcpy(r->body, "x\0y", 3);
  r->body_len = 3;
  CHECK_INT(wsp_result_to_json(r, &json), 0);
  j = cJSON_Parse(json);
  CHECK(j != NULL);
  CHECK(strstr(json, "\"reason\":\"a\\u0000b\\\"\\n\"") != NULL);
  close = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "close"), "sent");
  CHECK(cJSON_IsNull(cJSON_GetObjectItem(close, "reason")));
  CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(close, "reason_hex")),
            "ff01");
  CHECK(strstr(json, "\"http_body\":\"x\\u0000y\"") != NULL);
  {
    size_t len;
    const uint8_t *b = wsp_result_close_reason(r, 0, &len);
    CHECK_INT(len, 5);
    CHECK(b != NULL && memcmp(b, "a\0b\"\n", 5) == 0);
  }
  cJSON_Delete(j);
  wsp_free(json);
  wsp_result_free(r);
}

int main(void) {
  CHECK_INT(wsp__rng_init(&rng), 0);
  test_messages();
  test_closes();
  test_protocol_errors();
  test_one_write();
  test_close_first();
  test_events();
  test_event_key();
  test_utf8_cut();
  test_json_bytes();
  wsp__rng_free(&rng);
  free(lp.buf);
  return check_status("test_frames");
}
