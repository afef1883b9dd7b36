/*
 * libFuzzer target: the WebSocket session (lib/ws.c) with a server's byte
 * stream, no sockets. Every input is fed three times, whole, cut in two at
 * a point the input chooses, and cut after its first byte, and must give
 * the same facts each time: what the session reports cannot depend on how
 * the bytes arrive. Cut after the first byte, every frame goes through
 * wslay (a lone byte is no whole frame: see direct_feed() in ws.c); whole,
 * the plain frames do not, so the two paths are held to each other. The facts
 * must also be well-formed (no message after the close frame or the
 * protocol error, at most one of those), what the session sent must be
 * whole masked frames, and every text message goes through the event rule
 * (lib/event.c). The frames ourselves sent afterwards (a message, a
 * close) must go out as whole frames too, or not at all once a close left.
 *
 * Input: a control byte, two bytes of split point, then the bytes.
 *   bits 0-1  max message: 64, 1024, 65536 or 1 MiB bytes
 *   bit 2     the send callback fails (the connection is gone)
 *   bit 3     permessage-deflate was agreed (RSV1 messages are inflated)
 *   bit 4     with server_no_context_takeover
 *   bit 5     with client_max_window_bits=8 (we send uncompressed)
 * The rest of the control byte is ignored (it chose probe settings when
 * this target ran a real probe over loopback; seeds still carry it).
 */
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "fuzz.h"
#include "rand.h"
#include "ws.h"
#include "ws_facts.h"

static wsp__rng rng;
static wsp__ws_loop lp;
static int ready;
static facts whole, split, first;

/* The facts' shape: a message never after the close frame or the
 * protocol error, and at most one of those. */
static void check_shape(const facts *f) {
  const char *e = f->log;
  int ended = 0;
  while (*e != '\0') {
    const char *bar = strchr(e, '|');
    FUZZ_CHECK(bar != NULL);
    if (strncmp(e, "msg ", 4) == 0) {
      FUZZ_CHECK(!ended);
    } else if (strncmp(e, "close ", 6) == 0 || strncmp(e, "error ", 6) == 0 ||
               strncmp(e, "nomem|", 6) == 0) {
      FUZZ_CHECK(!ended);
      ended = 1;
    } else {
      FUZZ_CHECK(strncmp(e, "sent ", 5) == 0);
    }
    e = bar + 1;
  }
}

static void run(facts *f, const uint8_t *data, size_t size, size_t cut,
                uint64_t max, uint8_t ctl) {
  wsp__ws ws;
  uint8_t op[64];
  size_t plen[64];
  int before, after, fail = (ctl & 4) != 0;
  FUZZ_CHECK(facts_session(&ws, f, &lp, &rng, max) == 0);
  if (ctl & 8) {
    wsp__pmd pmd = {1, (ctl & 16) != 0, 0, 15, ctl & 32 ? 8 : 15};
    FUZZ_CHECK(wsp__ws_set_deflate(&ws, &pmd) == 0);
  }
  f->fail_sends = fail;
  if (cut > 0 && cut < size)
    feed_cuts(&ws, data, size, &cut, 1);
  else
    feed_cuts(&ws, data, size, NULL, 0);
  check_shape(f);
  before = facts_frames(f, op, NULL, plen, 64);
  FUZZ_CHECK(before >= 0);
  /* Our own frames after whatever happened. */
  (void)wsp__ws_send(&ws, (const uint8_t *)"hello", 5, 0);
  (void)wsp__ws_close(&ws, 1000, (const uint8_t *)"bye", 3);
  after = facts_frames(f, op, NULL, plen, 64);
  FUZZ_CHECK(after >= before);
  wsp__ws_free(&ws);
}

/* Every text message through the event rule: no crash, and a type never
 * holds a NUL. */
static void events_of(const uint8_t *data, size_t size) {
  char *type = NULL;
  int rc = wsp__event_type(data, size, size % 2 ? "type" : "op", &type);
  FUZZ_CHECK(rc >= 0 && rc <= 1);
  FUZZ_CHECK((rc == 1) == (type != NULL));
  free(type);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const uint64_t max_message[] = {64, 1024, 65536, 1 << 20};
  size_t cut;
  uint8_t ctl;
  if (size < 3)
    return 0;
  if (!ready) {
    FUZZ_CHECK(wsp__rng_init(&rng) == 0);
    ready = 1;
  }
  ctl = data[0];
  cut = ((size_t)data[1] << 8) | data[2];
  data += 3;
  size -= 3;
  cut %= size + 1;
  run(&whole, data, size, 0, max_message[ctl & 3], ctl);
  run(&split, data, size, cut, max_message[ctl & 3], ctl);
  if (strcmp(whole.log, split.log) != 0) {
    fprintf(stderr, "whole: %s\nsplit at %zu: %s\n", whole.log, cut, split.log);
    FUZZ_CHECK(strcmp(whole.log, split.log) == 0);
  }
  run(&first, data, size, 1, max_message[ctl & 3], ctl);
  if (strcmp(whole.log, first.log) != 0) {
    fprintf(stderr, "whole: %s\nsplit at 1: %s\n", whole.log, first.log);
    FUZZ_CHECK(strcmp(whole.log, first.log) == 0);
  }
  events_of(data, size);
  return 0;
}
