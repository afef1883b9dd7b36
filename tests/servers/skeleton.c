/*
 * The fixture servers' shared skeleton (skeleton.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mbedtls/base64.h>
#include <mbedtls/sha1.h>

#include "skeleton.h"

fx_server *fx;

void fx_init(fx_server *s, const char *name, void (*close_conn)(void *)) {
  memset(s, 0, sizeof(*s));
  s->name = name;
  s->close_conn = close_conn;
  uv_loop_init(&s->loop);
  fx = s;
}

void fx_usage_error(const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "%s: ", fx ? fx->name : "server");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit(2);
}

unsigned long long fx_number(const char *opt, const char *s,
                             unsigned long long max) {
  char *end;
  unsigned long long v;
  errno = 0;
  v = strtoull(s, &end, 10);
  if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || v > max)
    fx_usage_error("%s: '%s' is not a number from 0 to %llu", opt, s, max);
  return v;
}

int fx_listen(const char *addr, unsigned port, int backlog,
              uv_connection_cb on_connection, const char *label,
              const char *port_file) {
  struct sockaddr_storage ss;
  int namelen = sizeof(ss), rc;
  if (uv_ip4_addr(addr, (int)port, (struct sockaddr_in *)&ss) != 0 &&
      uv_ip6_addr(addr, (int)port, (struct sockaddr_in6 *)&ss) != 0)
    fx_usage_error("--listen: '%s' is not an IP address", addr);
  uv_tcp_init(&fx->loop, &fx->listener);
  if ((rc = uv_tcp_bind(&fx->listener, (struct sockaddr *)&ss, 0)) != 0 ||
      (rc = uv_listen((uv_stream_t *)&fx->listener, backlog, on_connection)) !=
          0) {
    fprintf(stderr, "%s: cannot listen on %s port %u: %s\n", fx->name, addr,
            port, uv_strerror(rc));
    return 1;
  }
  uv_tcp_getsockname(&fx->listener, (struct sockaddr *)&ss, &namelen);
  port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
  if (port_file != NULL) {
    FILE *f = fopen(port_file, "w");
    if (f == NULL)
      fx_usage_error("--port-file: cannot write '%s'", port_file);
    fprintf(f, "%u\n", port);
    fclose(f);
  }
  printf("%s listening on %s%s%s:%u\n", label,
         ss.ss_family == AF_INET6 ? "[" : "", addr,
         ss.ss_family == AF_INET6 ? "]" : "", port);
  fflush(stdout);
  return 0;
}

static void close_walk(uv_handle_t *h, void *arg) {
  (void)arg;
  if (uv_is_closing(h))
    return;
  if (h->type == UV_TCP && h != (uv_handle_t *)&fx->listener)
    fx->close_conn(h->data);
  else if (h->type == UV_TIMER && h != (uv_handle_t *)&fx->lifetime)
    ; /* A connection's timer: closed with its connection. */
  else
    uv_close(h, NULL);
}

void fx_stop(void) {
  if (fx->stopping)
    return;
  fx->stopping = 1;
  uv_walk(&fx->loop, close_walk, NULL);
}

static void on_signal(uv_signal_t *s, int signum) {
  (void)s;
  (void)signum;
  fx_stop();
}

static void on_lifetime(uv_timer_t *t) {
  (void)t;
  fx_stop();
}

int fx_run(uint64_t lifetime_s) {
  uv_signal_init(&fx->loop, &fx->sigterm);
  uv_signal_start(&fx->sigterm, on_signal, SIGTERM);
  uv_signal_init(&fx->loop, &fx->sigint);
  uv_signal_start(&fx->sigint, on_signal, SIGINT);
  uv_timer_init(&fx->loop, &fx->lifetime);
  if (lifetime_s > 0)
    uv_timer_start(&fx->lifetime, on_lifetime, lifetime_s * 1000, 0);
  uv_run(&fx->loop, UV_RUN_DEFAULT);
  return uv_loop_close(&fx->loop);
}

int fx_ws_accept(const char *key, char out[FX_ACCEPT_LEN + 1]) {
  static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[20];
  mbedtls_sha1_context sha;
  size_t n = 0;
  int rc;
  mbedtls_sha1_init(&sha);
  rc = mbedtls_sha1_starts_ret(&sha);
  if (rc == 0)
    rc = mbedtls_sha1_update_ret(&sha, (const unsigned char *)key, strlen(key));
  if (rc == 0)
    rc = mbedtls_sha1_update_ret(&sha, (const unsigned char *)guid,
                                 sizeof(guid) - 1);
  if (rc == 0)
    rc = mbedtls_sha1_finish_ret(&sha, digest);
  mbedtls_sha1_free(&sha);
  if (rc == 0)
    rc = mbedtls_base64_encode((unsigned char *)out, FX_ACCEPT_LEN + 1, &n,
                               digest, sizeof(digest));
  return rc == 0 && n == FX_ACCEPT_LEN ? 0 : -1;
}

int fx_has_token(const char *list, const char *token) {
  size_t n = strlen(token);
  while (list != NULL && *list) {
    size_t len;
    while (*list == ' ' || *list == '\t' || *list == ',')
      list++;
    len = strcspn(list, ",");
    /* The element without its trailing spaces. */
    while (len > 0 && (list[len - 1] == ' ' || list[len - 1] == '\t'))
      len--;
    if (len == n && strncasecmp(list, token, n) == 0)
      return 1;
    list += strcspn(list, ",");
  }
  return 0;
}
