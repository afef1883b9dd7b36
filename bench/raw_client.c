/*
 * The benchmark workload on a minimal raw C epoll client: the practical
 * limit the other clients are measured against (issue 8).
 *
 * Each probe: a non-blocking connect to an IPv4 literal, TCP_NODELAY, the
 * upgrade request offering `Sec-WebSocket-Protocol: jwt.<token>`, the 101
 * checked (status and Sec-WebSocket-Accept), one masked text frame "hi",
 * one reply frame, a masked close 1000, the server's close frame, then the
 * server's EOF (so that TIME_WAIT stays on the server, as with wsprobe),
 * close(). N probes, C in flight, one thread, one edge-triggered epoll.
 *
 * It is "minimal" on purpose: fixed-size buffers, no HTTP parser beyond
 * what the check needs, masks and keys from a xorshift generator (not a
 * CSPRNG), writes that must go out whole (a loopback socket takes them).
 *
 * Usage: raw_client URL N C [HOLD_MS] [TOKEN]
 *   URL      ws://127.0.0.1:PORT/path (IPv4 literal only)
 *   HOLD_MS  > 0: held-open mode (needs C == N): open every connection,
 *            and once all are open, hold them HOLD_MS, then close cleanly;
 *            no message is sent (RAW_BURST=1: one message on each, in one
 *            timed loop, then the replies and closes).
 * Prints one JSON line: probes/s, p50/p99 latency, CPU seconds
 * (getrusage), peak RSS.
 *
 * Build: cc -O2 -o raw_client bench/raw_client.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ws_util.h"

enum {
  ST_CONNECTING,
  ST_UPGRADE,
  ST_HOLD,
  ST_REPLY,
  ST_CLOSING,
  ST_EOF,
  ST_DONE
};

typedef struct {
  int fd;
  int state;
  uint64_t t0;
  uint64_t t_sent; /* CLOCK_REALTIME ns after the message went out. */
  uint64_t t_rx;   /* Kernel receive stamp of the last read (ns). */
  char accept[29];
  uint16_t len;
  uint8_t buf[512];
} conn;

static uint64_t real_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- xorshift64* for keys and masks ---- */
static uint64_t rng;
static uint64_t rnd(void) {
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return rng * 0x2545f4914f6cdd1dull;
}

/* ---- the run ---- */
static struct sockaddr_in addr;
static char host_hdr[80], path[256], token[512];
static int ep, n_total, conc, hold_ms;
static int started, finished, ok, failed, opened_now, holding_all;
static double *lat;
/* RAW_TIMESTAMPS=1: first-reply times (message written -> reply read),
 * stamped in user space and by the kernel (SO_TIMESTAMPNS), to tell the
 * server's timing from the client's own delays. */
static int stamps;
static double *fr_user, *fr_kernel;
static double *err_user, *err_kernel; /* Minus the stamp_server's hold. */
static int nfr, nerr;
static uint64_t hold_until;
static conn **held; /* Held-open mode: every connection, to close them. */
/* RAW_BURST=1 (held-open mode): at the end of the hold, the message goes
 * out on every connection in one tight loop, which is timed; each reply
 * is then answered with a close as in the ordinary workload. */
static int burst, bursts;
static const uint8_t hi[2] = {'h', 'i'};
static uint64_t burst_ns;

static void finish(conn *c, int good) {
  close(c->fd); /* Also removes it from the epoll set. */
  c->state = ST_DONE;
  if (good)
    lat[ok++] = (double)(now_ns() - c->t0) / 1e6;
  else
    failed++;
  finished++;
  if (hold_ms == 0)
    free(c);
}

/* Writes a whole small buffer or fails. */
static int put(conn *c, const void *b, size_t n) {
  return send(c->fd, b, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

static int send_frame(conn *c, uint8_t opcode, const uint8_t *payload,
                      size_t n) {
  uint8_t f[2 + 4 + 125];
  uint64_t m = rnd();
  f[0] = 0x80 | opcode;
  f[1] = 0x80 | (uint8_t)n;
  memcpy(f + 2, &m, 4);
  for (size_t i = 0; i < n; i++)
    f[6 + i] = payload[i] ^ f[2 + (i & 3)];
  return put(c, f, 6 + n);
}

static int send_close(conn *c) {
  static const uint8_t code[2] = {1000 >> 8, 1000 & 0xff};
  c->state = ST_CLOSING;
  return send_frame(c, 0x8, code, 2);
}

static void start_one(void) {
  conn *c = calloc(1, sizeof(*c));
  struct epoll_event ev;
  int one = 1;
  if (c == NULL) {
    failed++, finished++, started++;
    return;
  }
  started++;
  c->t0 = now_ns();
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) {
    free(c);
    failed++, finished++;
    return;
  }
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (stamps)
    setsockopt(c->fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
  if (connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 &&
      errno != EINPROGRESS) {
    finish(c, 0);
    return;
  }
  if (hold_ms > 0)
    held[started - 1] = c;
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = c;
  if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
    finish(c, 0);
}

static void on_connected(conn *c) {
  char req[1024], key[25];
  uint8_t nonce[16];
  uint64_t r1 = rnd(), r2 = rnd();
  int n;
  memcpy(nonce, &r1, 8);
  memcpy(nonce + 8, &r2, 8);
  b64(nonce, 16, key);
  ws_accept(key, c->accept);
  n = snprintf(req, sizeof(req),
               "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Protocol: jwt.%s\r\n\r\n",
               path, host_hdr, key, token);
  c->state = ST_UPGRADE;
  if (put(c, req, (size_t)n) != 0)
    finish(c, 0);
}

/* A whole server frame at the head of c->buf: its opcode and size. */
static int frame_at(const conn *c, int *opcode, size_t *size) {
  size_t hl = 2, pl;
  if (c->len < 2)
    return 0;
  pl = c->buf[1] & 0x7f;
  if (pl == 126) {
    if (c->len < 4)
      return 0;
    pl = (size_t)c->buf[2] << 8 | c->buf[3];
    hl = 4;
  } else if (pl == 127) {
    return -1; /* Never for this workload. */
  }
  if (c->len < hl + pl)
    return 0;
  *opcode = c->buf[0] & 0x0f;
  *size = hl + pl;
  return 1;
}

static void consume(conn *c, size_t n) {
  memmove(c->buf, c->buf + n, c->len - n);
  c->len = (uint16_t)(c->len - n);
}

/* The reply of a probe at the head of c->buf (sz bytes): its first-reply
 * times; a stamp_server reply also says how long the server held it. */
static void stamp_reply(conn *c, size_t sz) {
  static const char pre[] = "{\"type\":\"h";
  fr_user[nfr] = (double)(real_ns() - c->t_sent) / 1e6;
  fr_kernel[nfr] = ((double)c->t_rx - (double)c->t_sent) / 1e6;
  if (sz > 2 + sizeof(pre) - 1 && sz < 64 && (c->buf[1] & 0x7f) < 126 &&
      memcmp(c->buf + 2, pre, sizeof(pre) - 1) == 0) {
    char num[32];
    size_t l = sz - 2 - (sizeof(pre) - 1);
    double h;
    memcpy(num, c->buf + 2 + sizeof(pre) - 1, l < 31 ? l : 31);
    num[l < 31 ? l : 31] = '\0';
    h = strtod(num, NULL) / 1e6;
    err_user[nerr] = fr_user[nfr] - h;
    err_kernel[nerr++] = fr_kernel[nfr] - h;
  }
  nfr++;
}

/* Makes what has arrived move the probe on. Returns -1 on failure. */
static int advance(conn *c) {
  for (;;) {
    if (c->state == ST_UPGRADE) {
      uint8_t *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
      char *a;
      if (end == NULL)
        return c->len == sizeof(c->buf) ? -1 : 0;
      *end = '\0';
      if (memcmp(c->buf, "HTTP/1.1 101 ", 13) != 0 ||
          (a = strcasestr((char *)c->buf, "\r\nSec-WebSocket-Accept: ")) ==
              NULL ||
          memcmp(a + 24, c->accept, 28) != 0)
        return -1;
      consume(c, (size_t)(end - c->buf) + 4);
      if (hold_ms > 0) {
        c->state = ST_HOLD;
        opened_now++;
        return 0;
      }
      c->state = ST_REPLY;
      if (send_frame(c, 0x1, hi, 2) != 0)
        return -1;
      if (stamps)
        c->t_sent = real_ns();
      continue;
    }
    int op;
    size_t sz;
    int r = frame_at(c, &op, &sz);
    if (r <= 0)
      return r;
    if (stamps && c->state == ST_REPLY && (op == 0x1 || op == 0x2))
      stamp_reply(c, sz);
    consume(c, sz);
    if (c->state == ST_REPLY && (op == 0x1 || op == 0x2)) {
      if (send_close(c) != 0)
        return -1;
    } else if (c->state == ST_CLOSING && op == 0x8) {
      c->state = ST_EOF;
    } else if (op == 0x8 || c->state == ST_EOF || c->state == ST_HOLD) {
      return -1; /* Anything else is not this workload. */
    }
  }
}

static void on_event(conn *c, uint32_t events) {
  if (c->state == ST_CONNECTING) {
    int err = 0;
    socklen_t l = sizeof(err);
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
      return;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
    if (err != 0) {
      finish(c, 0);
      return;
    }
    on_connected(c);
    return;
  }
  if (!(events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)))
    return;
  for (;;) {
    size_t room = sizeof(c->buf) - c->len;
    ssize_t n;
    if (stamps) {
      union {
        char buf[CMSG_SPACE(sizeof(struct timespec))];
        struct cmsghdr align;
      } cm;
      struct iovec iov = {c->buf + c->len, room};
      struct msghdr mh = {0};
      mh.msg_iov = &iov;
      mh.msg_iovlen = 1;
      mh.msg_control = cm.buf;
      mh.msg_controllen = sizeof(cm.buf);
      n = recvmsg(c->fd, &mh, 0);
      for (struct cmsghdr *h = CMSG_FIRSTHDR(&mh); n > 0 && h != NULL;
           h = CMSG_NXTHDR(&mh, h))
        if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_TIMESTAMPNS) {
          struct timespec ts;
          memcpy(&ts, CMSG_DATA(h), sizeof(ts));
          c->t_rx = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
        }
    } else {
      n = read(c->fd, c->buf + c->len, room);
    }
    if (n > 0) {
      c->len = (uint16_t)(c->len + n);
      if (advance(c) != 0) {
        finish(c, 0);
        return;
      }
      /* Edge-triggered: a short read drained the socket, unless the
       * peer's FIN came with the data (it raises no new edge). */
      if ((size_t)n < room && !(events & (EPOLLRDHUP | EPOLLHUP)))
        return;
      continue;
    }
    if (n < 0 && errno == EAGAIN)
      return;
    if (n < 0 && errno == EINTR)
      continue;
    finish(c, n == 0 && c->state == ST_EOF);
    return;
  }
}

/* Nearest-rank percentile index, as the other clients compute it. */
static int rank(int n, double q) {
  int k = (int)(q * n + 0.999999);
  return k < 1 ? 0 : k > n ? n - 1 : k - 1;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  struct epoll_event evs[256];
  struct rlimit rl;
  struct rusage ru;
  char hostbuf[64];
  unsigned port = 0;
  uint64_t t_start, wall, deadline;
  const char *url;

  if (argc < 4) {
    fprintf(stderr, "usage: raw_client URL N C [HOLD_MS] [TOKEN]\n");
    return 2;
  }
  url = argv[1];
  n_total = atoi(argv[2]);
  conc = atoi(argv[3]);
  hold_ms = argc > 4 ? atoi(argv[4]) : 0;
  snprintf(token, sizeof(token), "%s", argc > 5 ? argv[5] : "bench.token.x");
  path[0] = '/', path[1] = '\0';
  if (sscanf(url, "ws://%63[0-9.]:%u%255s", hostbuf, &port, path) < 2 ||
      n_total < 1 || conc < 1 || (hold_ms > 0 && conc != n_total)) {
    fprintf(stderr, "raw_client: need ws://IPV4:PORT/..., N, C (= N "
                    "with HOLD_MS)\n");
    return 2;
  }
  snprintf(host_hdr, sizeof(host_hdr), "%s:%u", hostbuf, port);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, hostbuf, &addr.sin_addr) != 1)
    return 2;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  if (getrandom(&rng, sizeof(rng), 0) != sizeof(rng) || rng == 0)
    rng = now_ns() | 1;
  lat = malloc(sizeof(*lat) * (size_t)n_total);
  stamps = getenv("RAW_TIMESTAMPS") != NULL && atoi(getenv("RAW_TIMESTAMPS"));
  burst =
      hold_ms > 0 && getenv("RAW_BURST") != NULL && atoi(getenv("RAW_BURST"));
  fr_user = malloc(sizeof(double) * (size_t)n_total);
  fr_kernel = malloc(sizeof(double) * (size_t)n_total);
  err_user = malloc(sizeof(double) * (size_t)n_total);
  err_kernel = malloc(sizeof(double) * (size_t)n_total);
  held = hold_ms > 0 ? calloc((size_t)n_total, sizeof(*held)) : NULL;
  ep = epoll_create1(EPOLL_CLOEXEC);
  if (lat == NULL || ep < 0 || (hold_ms > 0 && held == NULL))
    return 1;

  t_start = now_ns();
  deadline = t_start + 120ull * 1000000000ull;
  while (finished < n_total) {
    int timeout = 1000, nev;
    while (started < n_total && started - finished < conc)
      start_one();
    if (hold_ms > 0 && !holding_all && opened_now + failed >= n_total) {
      holding_all = 1;
      hold_until = now_ns() + (uint64_t)hold_ms * 1000000;
    }
    if (holding_all == 1) {
      uint64_t t = now_ns();
      if (t >= hold_until) {
        holding_all = 2;
        if (burst) {
          /* The floor for a burst's send spread: the message written on
           * every open connection in one tight loop. */
          uint64_t b0 = now_ns();
          for (int i = 0; i < n_total; i++)
            if (held[i] != NULL && held[i]->state == ST_HOLD) {
              held[i]->state = ST_REPLY;
              if (send_frame(held[i], 0x1, hi, 2) != 0)
                finish(held[i], 0);
              else
                bursts++;
            }
          burst_ns = now_ns() - b0;
          continue;
        }
        for (int i = 0; i < n_total; i++)
          if (held[i] != NULL && held[i]->state == ST_HOLD &&
              send_close(held[i]) != 0)
            finish(held[i], 0);
        continue;
      }
      timeout = (int)((hold_until - t) / 1000000) + 1;
    }
    nev = epoll_wait(ep, evs, 256, timeout);
    for (int i = 0; i < nev; i++)
      on_event(evs[i].data.ptr, evs[i].events);
    if (now_ns() > deadline) {
      fprintf(stderr, "raw_client: gave up after 120 s\n");
      failed += n_total - finished;
      break;
    }
  }
  wall = now_ns() - t_start;
  getrusage(RUSAGE_SELF, &ru);
  qsort(lat, (size_t)ok, sizeof(*lat), cmp_double);
  if (stamps && nfr > 0) {
    qsort(fr_user, (size_t)nfr, sizeof(double), cmp_double);
    qsort(fr_kernel, (size_t)nfr, sizeof(double), cmp_double);
    printf("{\"first_reply_user_ms\": {\"p50\": %.3f, \"p99\": %.3f, "
           "\"max\": %.3f}, \"first_reply_kernel_ms\": {\"p50\": %.3f, "
           "\"p99\": %.3f, \"max\": %.3f}}\n",
           fr_user[rank(nfr, 0.5)], fr_user[rank(nfr, 0.99)], fr_user[nfr - 1],
           fr_kernel[rank(nfr, 0.5)], fr_kernel[rank(nfr, 0.99)],
           fr_kernel[nfr - 1]);
  }
  if (stamps && nerr > 0) {
    qsort(err_user, (size_t)nerr, sizeof(double), cmp_double);
    qsort(err_kernel, (size_t)nerr, sizeof(double), cmp_double);
    printf("{\"error_vs_server_hold_user_ms\": {\"p50\": %.3f, \"p99\": %.3f, "
           "\"max\": %.3f}, \"error_vs_server_hold_kernel_ms\": {\"p50\": "
           "%.3f, \"p99\": %.3f, \"max\": %.3f}}\n",
           err_user[rank(nerr, 0.5)], err_user[rank(nerr, 0.99)],
           err_user[nerr - 1], err_kernel[rank(nerr, 0.5)],
           err_kernel[rank(nerr, 0.99)], err_kernel[nerr - 1]);
  }
  if (burst)
    printf("{\"burst_sends\": %d, \"burst_spread_ms\": %.3f}\n", bursts,
           (double)burst_ns / 1e6);
  printf("{\"client\": \"raw-c\", \"n\": %d, \"c\": %d, \"ok\": %d, "
         "\"failed\": %d, \"probes_per_s\": %.1f, \"p50_ms\": %.3f, "
         "\"p99_ms\": %.3f, \"cpu_s\": %.3f, \"peak_rss_kb\": %ld}\n",
         n_total, conc, ok, failed, n_total / ((double)wall / 1e9),
         ok ? lat[rank(ok, 0.5)] : -1.0, ok ? lat[rank(ok, 0.99)] : -1.0,
         (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
             (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6,
         ru.ru_maxrss);
  return failed ? 1 : 0;
}
