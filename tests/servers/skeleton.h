/*
 * The skeleton raceserver and hostile_server share: usage errors, numbers
 * from options, listening on loopback with the "listening on ADDR:PORT"
 * line tests wait for, a clean stop on SIGTERM, SIGINT or --lifetime, and
 * the WebSocket handshake's computations. It uses libuv, mbedTLS's SHA-1
 * and base64, and nothing of wsprobe: a fixture must not share the code
 * it tests.
 */
#ifndef WSP_FIXTURE_SKELETON_H
#define WSP_FIXTURE_SKELETON_H

#include <stdint.h>

#include <uv.h>

/* Length of a Sec-WebSocket-Accept value: base64 of a SHA-1. */
#define FX_ACCEPT_LEN 28

/* A server's loop, listener and ways to stop. */
typedef struct fx_server {
  const char *name;             /* "raceserver": messages start with it. */
  uv_loop_t loop;               /* The one loop. */
  uv_tcp_t listener;            /* Listening socket. */
  uv_signal_t sigterm, sigint;  /* Clean shutdown. */
  uv_timer_t lifetime;          /* Safety exit for tests. */
  int stopping;                 /* Shutting down: accept nothing more. */
  void (*close_conn)(void *ud); /* Closes the connection whose TCP
                                   handle's data is ud. */
} fx_server;

/* The server messages are about (set by fx_init()). */
extern fx_server *fx;

/* Sets up `s` as the server, named `name`, with its loop. */
void fx_init(fx_server *s, const char *name, void (*close_conn)(void *));
/* "NAME: MESSAGE" on stderr and exit 2. */
void fx_usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
/* A decimal number of at most `max`, or a usage error naming `opt`. */
unsigned long long fx_number(const char *opt, const char *s,
                             unsigned long long max);
/*
 * Listens on addr:port (port 0: any free one) and prints "LABEL listening
 * on ADDR:PORT" (IPv6 bracketed), writing the port to `port_file` too when
 * given. Returns 0, or 1 after saying why it cannot listen.
 */
int fx_listen(const char *addr, unsigned port, int backlog,
              uv_connection_cb on_connection, const char *label,
              const char *port_file);
/* Runs the loop until a signal or `lifetime_s` (0: none) stops it;
 * returns uv_loop_close()'s result. */
int fx_run(uint64_t lifetime_s);
/* Stops accepting and closes every connection and handle. */
void fx_stop(void);
/* Sec-WebSocket-Accept of a key: base64(SHA-1(key + GUID)), NUL-ended. */
int fx_ws_accept(const char *key, char out[FX_ACCEPT_LEN + 1]);
/* Whether the comma-separated HTTP list `list` holds `token` (any case). */
int fx_has_token(const char *list, const char *token);

#endif
