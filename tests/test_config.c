/*
 * Config validation and redaction, error codes and the stable names.
 */
#include <stdlib.h>

#include <uv.h>

#include "check.h"
#include "config.h"
#include "result.h"
#include "util.h"

static void test_validation(void) {
  wsp_config *cfg = wsp_config_new();
  CHECK(cfg != NULL);
  CHECK_STR(wsp_config_last_error(cfg), "");
  CHECK_INT(wsp_config_set_url(cfg, "http://x"), WSP_EURL);
  CHECK(strstr(wsp_config_last_error(cfg), "unsupported scheme") != NULL);
  CHECK(wsp_config_url(cfg) == NULL); /* A refused value changes nothing. */
  CHECK_INT(wsp_config_set_url(cfg, "ws://127.0.0.1:1/"), 0);
  CHECK_STR(wsp_config_last_error(cfg), "");
  CHECK_INT(wsp_config_set_url(cfg, "ftp://x/"), WSP_EURL);
  CHECK_STR(wsp_config_url(cfg), "ws://127.0.0.1:1/");
  CHECK_INT(wsp_config_set_ca_file(cfg, "/nonexistent/ca.pem"), WSP_EINVAL);
  CHECK(strstr(wsp_config_last_error(cfg), "/nonexistent/ca.pem") != NULL);
  CHECK_INT(wsp_config_set_client_cert(cfg, "/nonexistent/c.pem", NULL),
            WSP_EINVAL);
  CHECK_INT(wsp_config_set_client_cert(cfg, "/nonexistent/c.pem",
                                       "/nonexistent/k.pem"),
            WSP_EINVAL);
  CHECK(strstr(wsp_config_last_error(cfg), "client certificate") != NULL);

  CHECK_INT(wsp_config_add_header_line(cfg, "Bad Header: x"), WSP_EHEADER);
  CHECK_INT(wsp_config_add_header_line(cfg, "NoColon"), WSP_EHEADER);
  CHECK_INT(wsp_config_add_header(cfg, "X-A", "a\r\nInjected: 1"), WSP_EHEADER);
  CHECK_INT(wsp_config_add_header(cfg, "Host", "other"), WSP_EHEADER);
  CHECK_INT(wsp_config_add_header(cfg, "sec-websocket-protocol", "x"),
            WSP_EHEADER);
  CHECK(strstr(wsp_config_last_error(cfg), "--subprotocol") != NULL);
  CHECK_INT(wsp_config_add_header(cfg, "X-A", "fine\tvalue"), 0);
  CHECK_INT(cfg->nheaders, 1);

  CHECK_INT(wsp_config_add_subprotocol(cfg, "a b"), WSP_ESUBPROTO);
  CHECK_INT(wsp_config_add_subprotocol(cfg, "chat"), 0);
  CHECK_INT(wsp_config_add_subprotocol(cfg, "chat"), WSP_ESUBPROTO);

  CHECK_INT(wsp_config_set_jwt(cfg, "has space", WSP_JWT_BEARER), WSP_ETOKEN);
  CHECK(strstr(wsp_config_last_error(cfg), "has space") == NULL);
  CHECK_INT(wsp_config_set_jwt(cfg, "a.b.c", 0), WSP_EINVAL);
  CHECK_INT(wsp_config_set_jwt(cfg, "a.b.c", 99), WSP_EINVAL);
  CHECK_INT(wsp_config_set_jwt(cfg, "a.b.c", WSP_JWT_SUBPROTOCOL), 0);

  CHECK_INT(wsp_config_set_message(cfg, "\xff", 1, 0), WSP_EINVAL);
  CHECK_INT(wsp_config_set_message(cfg, "\xff", 1, 1), 0);
  CHECK_INT(wsp_config_set_message(cfg, NULL, 3, 0), WSP_EINVAL);
  CHECK_INT(wsp_config_set_delay(cfg, 3600001), WSP_ERANGE);
  CHECK_INT(wsp_config_set_timeout(cfg, WSP_PHASE_OPEN, 10), WSP_EINVAL);
  CHECK_INT(wsp_config_set_timeout(cfg, WSP_PHASE_CONNECT, 0), WSP_ERANGE);
  CHECK_INT(wsp_config_set_timeout(cfg, (wsp_phase)99, 10), WSP_EINVAL);
  CHECK_INT(wsp_config_set_max_message(cfg, 0), WSP_ERANGE);
  CHECK_INT(wsp_config_add_expect(cfg, ""), WSP_EEXPECT);
  CHECK_INT(wsp_config_add_expect(cfg, "agent_started"), 0);
  CHECK_INT(wsp_config_add_expect(cfg, "agent_started"), WSP_EEXPECT);
  wsp_config_free(cfg);
  wsp_config_free(NULL);
}

static void test_redaction(void) {
  wsp_config *cfg = wsp_config_new(), *dup;
  char *json;
  CHECK_INT(wsp_config_set_url(cfg, "ws://h/"), 0);
  CHECK_INT(wsp_config_set_jwt(cfg, "tok.en.secret",
                               WSP_JWT_SUBPROTOCOL | WSP_JWT_BEARER),
            0);
  CHECK_INT(wsp_config_add_header(cfg, "Authorization", "Basic c2VjcmV0"), 0);
  CHECK_INT(wsp_config_add_header(cfg, "Cookie", "sid=hidden"), 0);
  CHECK_INT(wsp_config_add_subprotocol(cfg, "jwt.manual"), 0);
  CHECK_INT(wsp_config_set_proxy(cfg, "https://px:1"), WSP_EURL);
  CHECK_INT(wsp_config_set_proxy(cfg, "http://pxuser:pxpass@px:3128"), 0);
  CHECK_INT(wsp_config_set_noproxy(cfg, "a.test,127.0.0.0/8"), 0);
  CHECK_INT(wsp_config_set_noproxy(cfg, "a\nb"), WSP_EINVAL);
  dup = wsp_config_dup(cfg);
  CHECK(dup != NULL);
  wsp_config_free(cfg);

  CHECK_INT(wsp_config_to_json(dup, 0, &json), 0);
  CHECK(strstr(json, "tok.en.secret") == NULL);
  CHECK(strstr(json, "c2VjcmV0") == NULL);
  CHECK(strstr(json, "hidden") == NULL);
  CHECK(strstr(json, "jwt.manual") == NULL);
  CHECK(strstr(json, "pxpass") == NULL);
  CHECK(strstr(json, "pxuser") == NULL);
  CHECK(strstr(json, "\"proxy\":\"http://<redacted>@px:3128\"") != NULL);
  CHECK(strstr(json, "\"noproxy\":\"a.test,127.0.0.0/8\"") != NULL);
  CHECK(strstr(json, "<redacted>") != NULL);
  wsp_free(json);
  CHECK_INT(wsp_config_to_json(dup, 1, &json), 0);
  CHECK(strstr(json, "tok.en.secret") != NULL);
  CHECK(strstr(json, "c2VjcmV0") != NULL);
  CHECK(strstr(json, "http://pxuser:pxpass@px:3128") != NULL);
  wsp_free(json);
  wsp_config_free(dup);
}

static void test_names(void) {
  static const char *const outcomes[] = {
      "ok",
      "dns_failed",
      "connect_refused",
      "connect_timeout",
      "connect_failed",
      "tls_failed",
      "handshake_rejected",
      "handshake_invalid",
      "closed_by_server",
      "abnormal_closure",
      "protocol_error",
      "timeout",
      "expectation_failed",
      "cancelled",
      "internal_error",
      "proxy_rejected",
      "proxy_failed",
  };
  static const char *const phases[] = {
      "resolve",    "connect",        "tls",     "upgrade", "open",
      "first_send", "awaiting_reply", "closing", "proxy",
  };
  /* The order a probe passes through them: proxy after connect. */
  static const wsp_phase order[] = {
      WSP_PHASE_RESOLVE,    WSP_PHASE_CONNECT,        WSP_PHASE_PROXY,
      WSP_PHASE_TLS,        WSP_PHASE_UPGRADE,        WSP_PHASE_OPEN,
      WSP_PHASE_FIRST_SEND, WSP_PHASE_AWAITING_REPLY, WSP_PHASE_CLOSING,
  };
  CHECK_INT(WSP_OUTCOME_COUNT, WSP__ARRAY_SIZE(outcomes));
  for (int i = 0; i < WSP_OUTCOME_COUNT; i++) {
    CHECK_STR(wsp_outcome_name((wsp_outcome)i), outcomes[i]);
    CHECK_INT(wsp_outcome_from_name(outcomes[i]), i);
  }
  CHECK(wsp_outcome_name(WSP_OUTCOME_COUNT) == NULL);
  CHECK(wsp_outcome_name((wsp_outcome)-1) == NULL);
  CHECK_INT(wsp_outcome_from_name("nope"), -1);
  CHECK_INT(WSP_PHASE_COUNT, WSP__ARRAY_SIZE(phases));
  for (int i = 0; i < WSP_PHASE_COUNT; i++)
    CHECK_STR(wsp_phase_name((wsp_phase)i), phases[i]);
  CHECK_INT(WSP__ARRAY_SIZE(order), WSP_PHASE_COUNT);
  for (int i = 0; i < WSP_PHASE_COUNT; i++)
    CHECK_INT(wsp_phase_rank(order[i]), i);
  CHECK_INT(wsp_phase_rank(WSP_PHASE_COUNT), -1);
  CHECK_STR(wsp_strerror(WSP_EURL), "invalid URL");
  CHECK_STR(wsp_err_name(WSP_EURL), "WSP_EURL");
  CHECK_STR(wsp_err_name(UV_ECONNREFUSED), "ECONNREFUSED");
  CHECK(WSP_EINVAL < -4096 || WSP_EINVAL > 0); /* Clear of libuv's range. */
  CHECK_INT(wsp_version(), WSP_VERSION_HEX);
  CHECK_STR(wsp_version_string(), WSP_VERSION_STRING);
}

static void test_result_spans(void) {
  wsp_result *r = wsp__result_new(), *d;
  const char *reason = "x";
  CHECK_INT(wsp_result_close_received(r, &reason), -1);
  CHECK(reason == NULL);
  CHECK_INT(wsp_result_span(r, WSP_SPAN_TOTAL), -1);
  r->marks[WSP_MARK_FIRST_SENT] = 1000;
  r->marks[WSP_MARK_FIRST_RECEIVED] = 4000;
  r->marks[WSP_MARK_CLOSED] = 9000;
  CHECK_INT(wsp_result_span(r, WSP_SPAN_FIRST_REPLY), 3000);
  CHECK_INT(wsp_result_span(r, WSP_SPAN_TOTAL), 9000);
  CHECK_INT(wsp_result_span(r, WSP_SPAN_CONNECT), -1);
  /* Through a proxy, TLS counts from the tunnel. */
  r->marks[WSP_MARK_CONNECTED] = 100;
  r->marks[WSP_MARK_TUNNEL] = 300;
  r->marks[WSP_MARK_TLS_DONE] = 700;
  CHECK_INT(wsp_result_span(r, WSP_SPAN_PROXY), 200);
  CHECK_INT(wsp_result_span(r, WSP_SPAN_TLS), 400);
  r->marks[WSP_MARK_TUNNEL] = -1;
  CHECK_INT(wsp_result_span(r, WSP_SPAN_PROXY), -1);
  CHECK_INT(wsp_result_span(r, WSP_SPAN_TLS), 600);
  CHECK_INT(wsp__result_add_event(r, "agent_started", 13, 5), 0);
  d = wsp_result_dup(r);
  wsp_result_free(r);
  CHECK_INT(wsp_result_event_count(d), 1);
  {
    const char *type;
    int64_t t;
    CHECK_INT(wsp_result_event(d, 0, &type, &t), 0);
    CHECK_STR(type, "agent_started");
    CHECK_INT(t, 5);
    CHECK_INT(wsp_result_event(d, 1, &type, &t), WSP_ERANGE);
  }
  for (int i = 0; i < 2 * WSP__MAX_EVENTS; i++)
    CHECK_INT(wsp__result_add_event(d, "e", 1, i), 0);
  CHECK_INT(wsp_result_event_count(d), WSP__MAX_EVENTS); /* Bounded. */
  wsp_result_free(d);
  wsp_result_free(NULL);
}

int main(void) {
  test_validation();
  test_redaction();
  test_names();
  test_result_spans();
  return check_status("test_config");
}
