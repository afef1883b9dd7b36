/*
 * A probe inside an application's own event loop.
 *
 * The application owns the uv_loop_t and already runs things on it: a
 * repeating timer and a small TCP echo server on 127.0.0.1 (with a client
 * that talks to it). wsprobe joins that loop: wsp_ctx_new() adds no handle,
 * wsp_probe_start() adds only the probe's own, and by the time the probe's
 * callback runs they are all closed again. wsprobe never runs or stops the
 * loop: the application's timer keeps ticking through the probe and after
 * it, and the application alone decides when to shut down. It ends with
 * uv_loop_close() == 0: nothing was left open.
 *
 *   embed_loop URL [FIRST-MESSAGE]
 *
 * Exit status 0 when the probe passed and the application's own work went
 * on undisturbed, 1 otherwise.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>
#include <wsprobe.h>

typedef struct {
  uv_loop_t loop;      /* The application's loop. */
  uv_timer_t tick;     /* Its repeating timer. */
  uv_tcp_t server;     /* Its echo server, listening on 127.0.0.1:0. */
  uv_tcp_t peer;       /* The connection the server accepted. */
  int peer_open;       /* Non-zero while peer is open. */
  uv_tcp_t client;     /* Its client of the echo server. */
  uv_connect_t conn;   /* The client's connect request. */
  char echoed[16];     /* What came back to the client. */
  size_t echoed_len;   /* Bytes of it. */
  int echo_done;       /* Non-zero once the echo came back. */
  int ticks;           /* Timer ticks so far. */
  int ticks_at_start;  /* ... when the probe started. */
  int ticks_at_done;   /* ... when its callback ran. */
  int foreign_max;     /* Most handles not the application's, per tick. */
  int foreign_at_done; /* ... during the probe's callback. */
  wsp_ctx *ctx;        /* wsprobe's per-loop state. */
  wsp_result *result;  /* The probe's result, once delivered. */
  int shut_down;       /* Non-zero once the application closed its handles. */
} app;

typedef struct {
  uv_write_t req; /* The write. */
  char data[64];  /* Its bytes, owned until the write callback. */
} write_req;

typedef struct {
  const app *a; /* The application. */
  int n;        /* Handles on its loop that are not its own. */
} census;

static void count_foreign(uv_handle_t *h, void *arg) {
  census *c = arg;
  const app *a = c->a;
  if (h != (const uv_handle_t *)&a->tick &&
      h != (const uv_handle_t *)&a->server &&
      h != (const uv_handle_t *)&a->peer &&
      h != (const uv_handle_t *)&a->client)
    c->n++;
}

/* Handles on the loop that the application did not open: wsprobe's. */
static int foreign_handles(app *a) {
  census c = {a, 0};
  uv_walk(&a->loop, count_foreign, &c);
  return c.n;
}

static void on_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf) {
  (void)h;
  buf->base = malloc(size);
  buf->len = buf->base ? size : 0;
}

static void on_written(uv_write_t *req, int status) {
  (void)status;
  free(req);
}

static void write_copy(uv_stream_t *s, const char *data, size_t len) {
  write_req *w = malloc(sizeof(*w));
  uv_buf_t buf;
  if (w == NULL || len > sizeof(w->data)) {
    free(w);
    return;
  }
  memcpy(w->data, data, len);
  buf = uv_buf_init(w->data, (unsigned)len);
  if (uv_write(&w->req, s, &buf, 1, on_written) != 0)
    free(w);
}

/* The echo server's side: send back whatever arrives. */
static void on_peer_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  if (n > 0)
    write_copy(s, buf->base, (size_t)n > 64 ? 64 : (size_t)n);
  else if (n < 0) {
    ((app *)s->data)->peer_open = 0;
    uv_close((uv_handle_t *)s, NULL);
  }
  free(buf->base);
}

static void on_connection(uv_stream_t *server, int status) {
  app *a = server->data;
  /* One connection only: the application has one client. */
  if (status != 0 || a->peer.loop != NULL ||
      uv_tcp_init(&a->loop, &a->peer) != 0)
    return;
  a->peer.data = a;
  a->peer_open = 1;
  if (uv_accept(server, (uv_stream_t *)&a->peer) == 0) {
    uv_read_start((uv_stream_t *)&a->peer, on_alloc, on_peer_read);
  } else {
    a->peer_open = 0;
    uv_close((uv_handle_t *)&a->peer, NULL);
  }
}

/* The client's side: "ping" out, "ping" back, then hang up. */
static void on_client_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  app *a = s->data;
  if (n > 0 && a->echoed_len + (size_t)n <= sizeof(a->echoed)) {
    memcpy(a->echoed + a->echoed_len, buf->base, (size_t)n);
    a->echoed_len += (size_t)n;
  }
  free(buf->base);
  if (n < 0 || (a->echoed_len == 4 && memcmp(a->echoed, "ping", 4) == 0)) {
    a->echo_done = n >= 0;
    uv_close((uv_handle_t *)s, NULL);
  }
}

static void on_client_connected(uv_connect_t *req, int status) {
  app *a = req->data;
  if (status != 0) {
    uv_close((uv_handle_t *)&a->client, NULL);
    return;
  }
  write_copy((uv_stream_t *)&a->client, "ping", 4);
  uv_read_start((uv_stream_t *)&a->client, on_alloc, on_client_read);
}

static void on_probe_done(wsp_probe *p, wsp_result *r, void *ud) {
  app *a = ud;
  (void)p;
  a->result = r; /* Ours now; freed at the end. */
  a->ticks_at_done = a->ticks;
  /* Every handle the probe opened is already closed. */
  a->foreign_at_done = foreign_handles(a);
}

/*
 * The application's timer. It, not wsprobe, ends the program: once the
 * probe has reported, the echo came back and the timer has ticked a few
 * more times, it closes what the application opened.
 */
static void on_tick(uv_timer_t *t) {
  app *a = t->data;
  int foreign = foreign_handles(a);
  a->ticks++;
  if (foreign > a->foreign_max)
    a->foreign_max = foreign;
  if (a->shut_down || a->result == NULL || a->ticks < a->ticks_at_done + 5)
    return;
  if (!a->echo_done && a->ticks < a->ticks_at_done + 500)
    return;
  a->shut_down = 1;
  if (wsp_ctx_free(a->ctx) != 0)
    fprintf(stderr, "wsp_ctx_free failed with no probe alive\n");
  a->ctx = NULL;
  uv_close((uv_handle_t *)&a->tick, NULL);
  uv_close((uv_handle_t *)&a->server, NULL);
  if (!uv_is_closing((uv_handle_t *)&a->client))
    uv_close((uv_handle_t *)&a->client, NULL);
  if (a->peer_open) {
    a->peer_open = 0;
    uv_close((uv_handle_t *)&a->peer, NULL);
  }
}

int main(int argc, char **argv) {
  app a;
  wsp_config *cfg;
  struct sockaddr_in addr;
  struct sockaddr_storage bound;
  int len = sizeof(bound), rc, ok, foreign_before, foreign_with_ctx;
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: %s URL [FIRST-MESSAGE]\n", argv[0]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  memset(&a, 0, sizeof(a));

  /* The application, before wsprobe: a loop, a timer, a server, a client. */
  if (uv_loop_init(&a.loop) != 0)
    return 2;
  uv_timer_init(&a.loop, &a.tick);
  a.tick.data = &a;
  uv_timer_start(&a.tick, on_tick, 5, 5);
  uv_tcp_init(&a.loop, &a.server);
  a.server.data = &a;
  uv_ip4_addr("127.0.0.1", 0, &addr);
  if (uv_tcp_bind(&a.server, (const struct sockaddr *)&addr, 0) != 0 ||
      uv_listen((uv_stream_t *)&a.server, 16, on_connection) != 0 ||
      uv_tcp_getsockname(&a.server, (struct sockaddr *)&bound, &len) != 0) {
    fprintf(stderr, "cannot start the echo server\n");
    return 2;
  }
  uv_tcp_init(&a.loop, &a.client);
  a.client.data = &a;
  a.conn.data = &a;
  uv_tcp_connect(&a.conn, &a.client, (const struct sockaddr *)&bound,
                 on_client_connected);
  foreign_before = foreign_handles(&a);

  /* wsprobe joins: a context adds no handle, a probe only its own. */
  if ((rc = wsp_ctx_new(&a.loop, &a.ctx)) != 0) {
    fprintf(stderr, "wsp_ctx_new: %s\n", wsp_strerror(rc));
    return 2;
  }
  foreign_with_ctx = foreign_handles(&a);
  cfg = wsp_config_new();
  if (cfg == NULL || wsp_config_set_url(cfg, argv[1]) != 0 ||
      (argc == 3 &&
       wsp_config_set_message(cfg, argv[2], strlen(argv[2]), 0) != 0) ||
      wsp_config_set_delay(cfg, 100) != 0 ||
      wsp_config_set_timeouts(cfg, 5000) != 0) {
    fprintf(stderr, "%s\n", cfg ? wsp_config_last_error(cfg) : "no memory");
    return 2;
  }
  a.ticks_at_start = a.ticks;
  rc = wsp_probe_start(a.ctx, cfg, on_probe_done, &a, NULL);
  wsp_config_free(cfg); /* The probe copied what it needs. */
  if (rc != 0) {
    fprintf(stderr, "wsp_probe_start: %s\n", wsp_strerror(rc));
    return 2;
  }

  /* The application runs its loop, as it always did. */
  uv_run(&a.loop, UV_RUN_DEFAULT);
  rc = uv_loop_close(&a.loop);

  printf("probe: %s in %s\n", wsp_outcome_name(wsp_result_outcome(a.result)),
         wsp_phase_name(wsp_result_phase(a.result)));
  if (wsp_result_error(a.result) != NULL)
    printf("  %s\n", wsp_result_error(a.result));
  printf("wsprobe's handles on the loop: %d before, %d with the context, "
         "at most %d during the probe, %d in its callback\n",
         foreign_before, foreign_with_ctx, a.foreign_max, a.foreign_at_done);
  printf("timer ticks: %d during the probe, %d after it\n",
         a.ticks_at_done - a.ticks_at_start, a.ticks - a.ticks_at_done);
  printf("echo server: %s\n", a.echo_done ? "ping echoed" : "no echo");
  printf("uv_loop_close: %s\n", rc == 0 ? "0" : uv_err_name(rc));

  ok = wsp_result_passed(a.result) && a.echo_done && rc == 0 &&
       foreign_before == 0 && foreign_with_ctx == 0 && a.foreign_max > 0 &&
       a.foreign_at_done == 0 && a.ticks_at_done - a.ticks_at_start >= 5 &&
       a.ticks - a.ticks_at_done >= 5;
  wsp_result_free(a.result);
  return ok ? 0 : 1;
}
