/*
 * libFuzzer target: the URL parser (wsp__url_parse), and the upgrade request
 * built from a URL and the other strings a user controls.
 *
 * Input: lines. The first is the URL; each later line starts with a letter
 * saying what it sets: H header line, P subprotocol, O origin, J JWT,
 * Q JWT query parameter, X JWT prefix. Whatever the setters accept must
 * give a request that llhttp parses as exactly one upgrade request with
 * one Host and one Sec-WebSocket-Key: no input may inject a header line.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <llhttp.h>

#include "config.h"
#include "fuzz.h"
#include "upgrade.h"
#include "url.h"

static void check_url(const char *s) {
  wsp__url u, copy;
  char err[256];
  err[0] = '\0';
  if (wsp__url_parse(s, &u, err, sizeof(err)) != 0) {
    FUZZ_CHECK(err[0] != '\0');
    return;
  }
  FUZZ_CHECK(u.host != NULL && u.target != NULL && u.host_header != NULL);
  FUZZ_CHECK(u.target[0] == '/');
  FUZZ_CHECK(u.port != 0);
  FUZZ_CHECK(strlen(u.host) <= 253);
  /* Nothing that could end a request line or a header. */
  FUZZ_CHECK(strpbrk(u.target, " \r\n") == NULL);
  FUZZ_CHECK(strpbrk(u.host_header, " \r\n") == NULL);
  FUZZ_CHECK(wsp__url_copy(&copy, &u) == 0);
  FUZZ_CHECK(strcmp(copy.host, u.host) == 0 && copy.port == u.port &&
             strcmp(copy.target, u.target) == 0 &&
             strcmp(copy.host_header, u.host_header) == 0);
  wsp__url_clear(&copy);
  wsp__url_clear(&u);
}

/* What the request parser saw. */
typedef struct {
  char field[64]; /* Current header name (lower case, truncated). */
  size_t flen;    /* Its length. */
  int host;       /* Host headers. */
  int key;        /* Sec-WebSocket-Key headers. */
  int upgrade;    /* Upgrade headers. */
  int done;       /* Headers complete. */
} req_seen;

static int on_field(llhttp_t *h, const char *at, size_t len) {
  req_seen *r = h->data;
  for (size_t i = 0; i < len; i++, r->flen++)
    if (r->flen < sizeof(r->field) - 1)
      r->field[r->flen] =
          (at[i] >= 'A' && at[i] <= 'Z') ? (char)(at[i] + 32) : at[i];
  return 0;
}

static int on_field_done(llhttp_t *h) {
  req_seen *r = h->data;
  r->field[r->flen < sizeof(r->field) ? r->flen : sizeof(r->field) - 1] = '\0';
  r->host += strcmp(r->field, "host") == 0;
  r->key += strcmp(r->field, "sec-websocket-key") == 0;
  r->upgrade += strcmp(r->field, "upgrade") == 0;
  r->flen = 0;
  return 0;
}

static int on_headers_done(llhttp_t *h) {
  ((req_seen *)h->data)->done = 1;
  return 0;
}

static void check_request(const char *req, size_t len) {
  llhttp_settings_t s;
  llhttp_t h;
  req_seen r;
  llhttp_errno_t e;
  memset(&r, 0, sizeof(r));
  llhttp_settings_init(&s);
  s.on_header_field = on_field;
  s.on_header_field_complete = on_field_done;
  s.on_headers_complete = on_headers_done;
  llhttp_init(&h, HTTP_REQUEST, &s);
  h.data = &r;
  e = llhttp_execute(&h, req, len);
  /* A GET with Upgrade and no body ends at its blank line. */
  FUZZ_CHECK(e == HPE_PAUSED_UPGRADE);
  FUZZ_CHECK(llhttp_get_error_pos(&h) == req + len);
  FUZZ_CHECK(r.done && r.host == 1 && r.key == 1 && r.upgrade == 1);
  FUZZ_CHECK(h.method == HTTP_GET);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1), *line, *next;
  wsp_config *cfg;
  if (text == NULL)
    return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  next = strchr(text, '\n');
  if (next != NULL)
    *next++ = '\0';
  check_url(text);

  cfg = wsp_config_new();
  FUZZ_CHECK(cfg != NULL);
  if (wsp_config_set_url(cfg, text) == 0) {
    char *req, *json;
    size_t len;
    unsigned placement = 0;
    for (line = next; line != NULL; line = next) {
      next = strchr(line, '\n');
      if (next != NULL)
        *next++ = '\0';
      switch (line[0]) {
      case 'H':
        wsp_config_add_header_line(cfg, line + 1);
        break;
      case 'P':
        wsp_config_add_subprotocol(cfg, line + 1);
        break;
      case 'O':
        wsp_config_set_origin(cfg, line + 1);
        break;
      case 'J':
        placement = (placement % 7) + 1;
        wsp_config_set_jwt(cfg, line + 1, placement);
        break;
      case 'Q':
        wsp_config_set_jwt_query_param(cfg, line + 1);
        break;
      case 'X':
        wsp_config_set_jwt_prefix(cfg, line + 1);
        break;
      default:
        break;
      }
      FUZZ_CHECK(strchr(wsp_config_last_error(cfg), '\n') == NULL);
    }
    FUZZ_CHECK(wsp__upgrade_request(
                   cfg, cfg->jwt, "dGhlIHNhbXBsZSBub25jZQ==", &req, &len) == 0);
    check_request(req, len);
    free(req);
    if (wsp_config_to_json(cfg, 0, &json) == 0) {
      cJSON *j = cJSON_Parse(json);
      FUZZ_CHECK(j != NULL);
      cJSON_Delete(j);
      wsp_free(json);
    }
  } else {
    FUZZ_CHECK(wsp_config_last_error(cfg)[0] != '\0');
  }
  wsp_config_free(cfg);
  free(text);
  return 0;
}
