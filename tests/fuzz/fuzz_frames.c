/*
 * libFuzzer target: the frame stream after a valid handshake, through the
 * same code path as any real server's bytes.
 *
 * A real probe (wsp_probe_start) on a real libuv loop connects over
 * loopback to a server inside this process, on the same loop. The server
 * answers the upgrade with a valid 101 and the fuzz input's frame bytes,
 * then shuts its write side (FIN). Every byte therefore arrives the way a
 * socket delivers it: uv_read into the shared read buffer, the upgrade
 * parser handing over what followed the 101, wslay's recv callback,
 * frames.c's close capture, probe.c's outcome decision, the teardown and
 * the result's JSON. Driving wsp__probe_on_data by hand would need a
 * probe in a state no public call creates, and would skip transport.c.
 *
 * Input: a control byte, two bytes of split point, then the bytes.
 *   bit 0     the probe sends a first message ("hello"), else it holds 0
 *   bit 1     it expects events "a" and "b"
 *   bit 2     ... in order
 *   bit 3     split: bytes before the split point come in the 101's write,
 *             the rest only after the probe has sent something (so they
 *             arrive in a later read, in the phase the probe is then in)
 *   bits 4-5  max message: 64, 1024, 65536 or 1 MiB bytes
 *   bit 6     a scripted conversation instead of bits 0-2: send "hello",
 *             expect "a", send 2 binary bytes, expect "b", close 1000
 * The probe's timeouts are 2 s; the server's FIN ends every probe sooner.
 */
#include <signal.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <uv.h>

#include "fuzz.h"
#include "upgrade.h"
#include "wsprobe.h"

/* The server's side of the one connection. */
typedef struct {
  uv_tcp_t tcp;   /* Accepted socket. */
  char req[8192]; /* Upgrade request so far. */
  size_t req_len; /* Its length. */
  int upgraded;   /* The 101 went out. */
  int rest_sent;  /* The bytes after the split went out. */
} sconn;

typedef struct {
  uv_write_t req; /* libuv request. */
  uint8_t data[]; /* The bytes. */
} swrite;

static struct {
  int ready;            /* Initialised. */
  uv_loop_t loop;       /* One loop for every input. */
  wsp_ctx *ctx;         /* One context, like a long-running prober. */
  uv_tcp_t listener;    /* The in-process server. */
  int port;             /* Its port. */
  const uint8_t *first; /* Bytes sent with the 101. */
  size_t first_len;     /* How many. */
  const uint8_t *rest;  /* Bytes sent after the probe spoke. */
  size_t rest_len;      /* How many. */
  int split;            /* Whether rest waits for the probe. */
  int calls;            /* Probe callbacks this input. */
  wsp_result *result;   /* The probe's result. */
  char rbuf[64 * 1024]; /* Server read buffer. */
} F;

static void on_sclosed(uv_handle_t *h) { free(h->data); }

static void on_written(uv_write_t *req, int status) {
  (void)status;
  free(req);
}

static void swrite_bytes(sconn *c, const void *a, size_t alen, const void *b,
                         size_t blen) {
  swrite *w = malloc(sizeof(*w) + alen + blen + 1);
  uv_buf_t buf;
  FUZZ_CHECK(w != NULL);
  memcpy(w->data, a, alen);
  if (blen > 0)
    memcpy(w->data + alen, b, blen);
  buf = uv_buf_init((char *)w->data, (unsigned)(alen + blen));
  if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, on_written) != 0)
    free(w);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  (void)status;
  free(req);
}

static void sshut(sconn *c) {
  uv_shutdown_t *req = malloc(sizeof(*req));
  FUZZ_CHECK(req != NULL);
  if (uv_shutdown(req, (uv_stream_t *)&c->tcp, on_shutdown) != 0)
    free(req);
}

static void on_salloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)h;
  (void)hint;
  *buf = uv_buf_init(F.rbuf, sizeof(F.rbuf));
}

static void on_sread(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  sconn *c = s->data;
  if (nread < 0) {
    if (!uv_is_closing((uv_handle_t *)s))
      uv_close((uv_handle_t *)s, on_sclosed);
    return;
  }
  if (!c->upgraded) {
    char key[64] = "", *k, *end, resp[256], accept[WSP__ACCEPT_LEN + 1];
    size_t n = (size_t)nread;
    int len;
    if (n > sizeof(c->req) - 1 - c->req_len)
      n = sizeof(c->req) - 1 - c->req_len;
    memcpy(c->req + c->req_len, buf->base, n);
    c->req_len += n;
    c->req[c->req_len] = '\0';
    if (strstr(c->req, "\r\n\r\n") == NULL)
      return;
    k = strstr(c->req, "Sec-WebSocket-Key: ");
    FUZZ_CHECK(k != NULL);
    k += strlen("Sec-WebSocket-Key: ");
    end = strstr(k, "\r\n");
    FUZZ_CHECK(end != NULL && (size_t)(end - k) < sizeof(key));
    memcpy(key, k, (size_t)(end - k));
    key[end - k] = '\0';
    FUZZ_CHECK(wsp__ws_accept(key, strlen(key), accept) == 0);
    len = snprintf(resp, sizeof(resp),
                   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                   accept);
    c->upgraded = 1;
    /* One write: on loopback the 101 and the first bytes arrive in one
     * read, as they do from servers that greet at once. */
    swrite_bytes(c, resp, (size_t)len, F.first, F.first_len);
    if (!F.split) {
      if (F.rest_len > 0)
        swrite_bytes(c, F.rest, F.rest_len, NULL, 0);
      sshut(c);
    }
    return;
  }
  if (F.split && !c->rest_sent && nread > 0) {
    c->rest_sent = 1;
    if (F.rest_len > 0)
      swrite_bytes(c, F.rest, F.rest_len, NULL, 0);
    sshut(c);
  }
}

static void on_sconn(uv_stream_t *server, int status) {
  sconn *c;
  if (status < 0)
    return;
  c = calloc(1, sizeof(*c));
  FUZZ_CHECK(c != NULL);
  uv_tcp_init(&F.loop, &c->tcp);
  c->tcp.data = c;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
    uv_close((uv_handle_t *)&c->tcp, on_sclosed);
    return;
  }
  uv_read_start((uv_stream_t *)&c->tcp, on_salloc, on_sread);
}

static void init(void) {
  struct sockaddr_in sa;
  struct sockaddr_storage ss;
  int namelen = sizeof(ss);
  signal(SIGPIPE, SIG_IGN);
  FUZZ_CHECK(uv_loop_init(&F.loop) == 0);
  FUZZ_CHECK(wsp_ctx_new(&F.loop, &F.ctx) == 0);
  uv_ip4_addr("127.0.0.1", 0, &sa);
  uv_tcp_init(&F.loop, &F.listener);
  FUZZ_CHECK(uv_tcp_bind(&F.listener, (struct sockaddr *)&sa, 0) == 0);
  FUZZ_CHECK(uv_listen((uv_stream_t *)&F.listener, 128, on_sconn) == 0);
  uv_tcp_getsockname(&F.listener, (struct sockaddr *)&ss, &namelen);
  F.port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
  /* The listener alone does not keep the loop running. */
  uv_unref((uv_handle_t *)&F.listener);
  F.ready = 1;
}

static void on_probe(wsp_probe *p, wsp_result *r, void *ud) {
  (void)p;
  (void)ud;
  F.calls++;
  F.result = r;
}

/* A failed check shows the whole result first. */
#define CHECK_R(cond)                                                          \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "result: %s\n", json);                                   \
      FUZZ_CHECK(cond);                                                        \
    }                                                                          \
  } while (0)

static void check_result(const wsp_result *r, int expect, int scripted) {
  wsp_outcome o = wsp_result_outcome(r);
  wsp_phase ph = wsp_result_phase(r);
  char *json = NULL;
  cJSON *j;
  FUZZ_CHECK(wsp_result_to_json(r, &json) == 0);
  j = cJSON_Parse(json);
  CHECK_R(j != NULL);
  CHECK_R(strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "outcome")),
                 wsp_outcome_name(o)) == 0);
  cJSON_Delete(j);
  CHECK_R((unsigned)o < WSP_OUTCOME_COUNT);
  CHECK_R((unsigned)ph < WSP_PHASE_COUNT);
  CHECK_R(wsp_result_passed(r) == (o == WSP_OUTCOME_OK));
  CHECK_R((wsp_result_error(r) == NULL) == (o == WSP_OUTCOME_OK));
  /* The handshake is always valid: whatever went wrong, went wrong
   * after it. */
  CHECK_R(wsp_result_http_status(r) == 101);
  CHECK_R(ph >= WSP_PHASE_OPEN);
  CHECK_R(o != WSP_OUTCOME_HANDSHAKE_INVALID &&
          o != WSP_OUTCOME_HANDSHAKE_REJECTED &&
          o != WSP_OUTCOME_INTERNAL_ERROR);
  if (o == WSP_OUTCOME_OK) {
    CHECK_R(wsp_result_close_sent(r, NULL) == 1000);
    CHECK_R(!expect || wsp_result_event_count(r) >= 2);
    /* It ended in its closing step (4). */
    CHECK_R(!scripted || wsp_result_step(r) == 4);
  }
  CHECK_R(scripted ? wsp_result_step(r) >= 0 && wsp_result_step(r) <= 5
                   : wsp_result_step(r) == -1);
  if (o == WSP_OUTCOME_ABNORMAL_CLOSURE)
    CHECK_R(wsp_result_close_received(r, NULL) == 1006);
  wsp_free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const uint64_t max_message[] = {64, 1024, 65536, 1 << 20};
  wsp_config *cfg;
  char url[64];
  size_t split;
  uint8_t ctl;
  int expect;
  if (size < 3)
    return 0;
  if (!F.ready)
    init();
  ctl = data[0];
  split = ((size_t)data[1] << 8) | data[2];
  data += 3;
  size -= 3;
  split %= size + 1;
  F.split = (ctl & 8) != 0;
  F.first = data;
  F.first_len = F.split ? split : size;
  F.rest = data + F.first_len;
  F.rest_len = size - F.first_len;
  expect = (ctl & 2) != 0;

  cfg = wsp_config_new();
  FUZZ_CHECK(cfg != NULL);
  snprintf(url, sizeof(url), "ws://127.0.0.1:%d/", F.port);
  FUZZ_CHECK(wsp_config_set_url(cfg, url) == 0);
  FUZZ_CHECK(wsp_config_set_timeouts(cfg, 2000) == 0);
  FUZZ_CHECK(wsp_config_set_max_message(cfg, max_message[ctl >> 4 & 3]) == 0);
  if (ctl & 0x40) {
    expect = 0;
    FUZZ_CHECK(wsp_config_add_step_send(cfg, "hello", 5, 0) == 0);
    FUZZ_CHECK(wsp_config_add_step_expect(cfg, "a", 0) == 0);
    FUZZ_CHECK(wsp_config_add_step_send(cfg, "\x00\x01", 2, 1) == 0);
    FUZZ_CHECK(wsp_config_add_step_expect(cfg, "b", 0) == 0);
    FUZZ_CHECK(wsp_config_add_step_close(cfg, 1000, "bye") == 0);
  } else if (ctl & 1) {
    FUZZ_CHECK(wsp_config_set_message(cfg, "hello", 5, 0) == 0);
  }
  if (expect) {
    FUZZ_CHECK(wsp_config_add_expect(cfg, "a") == 0);
    FUZZ_CHECK(wsp_config_add_expect(cfg, "b") == 0);
    FUZZ_CHECK(wsp_config_set_expect_order(cfg, (ctl & 4) != 0) == 0);
  }
  F.calls = 0;
  F.result = NULL;
  FUZZ_CHECK(wsp_probe_start(F.ctx, cfg, on_probe, NULL, NULL) == 0);
  wsp_config_free(cfg);
  uv_run(&F.loop, UV_RUN_DEFAULT);
  FUZZ_CHECK(F.calls == 1 && F.result != NULL);
  check_result(F.result, expect, (ctl & 0x40) != 0);
  wsp_result_free(F.result);
  F.result = NULL;
  return 0;
}
