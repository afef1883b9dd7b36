/*
 * A WebSocket echo server for timing-accuracy measurements (issue 8): it
 * replies to every text or binary message after D ms, and says in the
 * reply how long it actually held the message, so that a client's
 * measured first-send -> first-reply time can be checked probe by probe
 * against the truth instead of against a nominal D.
 *
 *   reply: {"type":"h<H>"}   H = nanoseconds from the kernel's receive
 *                            stamp of the message (SO_TIMESTAMPNS) to just
 *                            before the reply's write
 *
 * A client's error on a probe is then (its first_reply) - H: the lateness
 * of its own receive stamp minus that of its send stamp (plus loopback
 * latency, microseconds). The server's own lateness (the reply written
 * after rx + D) does not enter it; it is reported on exit.
 *
 * One thread, edge-triggered epoll, replies scheduled on a heap and waited
 * for with epoll_pwait2 (nanosecond timeouts) and a 1 ns timer slack; due
 * replies go out between any two events, not after a whole batch.
 * It selects the first offered jwt.* subprotocol (as raceserver does),
 * answers a close with close 1000 and then closes TCP first.
 *
 * Usage: stamp_server PORT_FILE D_MS [LIFETIME_S]
 * Build: cc -O2 -o stamp_server bench/stamp_server.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ws_util.h"

typedef struct {
  int fd;
  int ws;       /* Upgraded. */
  int heap_at;  /* Index in the heap, or -1. */
  uint64_t rx;  /* Kernel receive stamp of the pending message. */
  uint64_t due; /* rx + D. */
  uint16_t len;
  uint8_t buf[2048];
} conn;

static conn **heap;
static int nheap, heap_cap;
static uint64_t delay_ns;
static uint64_t *late; /* Server lateness per reply, ns. */
static size_t nlate, late_cap;
static volatile sig_atomic_t stop;

static uint64_t real_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void heap_swap(int a, int b) {
  conn *t = heap[a];
  heap[a] = heap[b];
  heap[b] = t;
  heap[a]->heap_at = a;
  heap[b]->heap_at = b;
}

static void heap_up(int i) {
  while (i > 0 && heap[(i - 1) / 2]->due > heap[i]->due) {
    heap_swap(i, (i - 1) / 2);
    i = (i - 1) / 2;
  }
}

static void heap_down(int i) {
  for (;;) {
    int l = 2 * i + 1, r = l + 1, m = i;
    if (l < nheap && heap[l]->due < heap[m]->due)
      m = l;
    if (r < nheap && heap[r]->due < heap[m]->due)
      m = r;
    if (m == i)
      return;
    heap_swap(i, m);
    i = m;
  }
}

static void heap_remove(conn *c) {
  int i = c->heap_at;
  if (i < 0)
    return;
  c->heap_at = -1;
  if (--nheap > i) {
    heap[i] = heap[nheap];
    heap[i]->heap_at = i;
    heap_down(i);
    heap_up(i);
  }
}

static int heap_push(conn *c) {
  if (nheap == heap_cap) {
    int cap = heap_cap ? 2 * heap_cap : 1024;
    conn **h = realloc(heap, sizeof(*h) * (size_t)cap);
    if (h == NULL)
      return -1;
    heap = h;
    heap_cap = cap;
  }
  heap[nheap] = c;
  c->heap_at = nheap++;
  heap_up(c->heap_at);
  return 0;
}

static void drop(conn *c) {
  heap_remove(c);
  close(c->fd);
  free(c);
}

static int put(conn *c, const void *b, size_t n) {
  return send(c->fd, b, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

/* The 101, once the request's headers are in. Returns -1 to drop. */
static int upgrade(conn *c) {
  uint8_t *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
  char *k, *pr, accept[29], proto[600] = "", resp[1024];
  size_t used;
  int n;
  if (end == NULL)
    return c->len == sizeof(c->buf) ? -1 : 0;
  *end = '\0';
  k = strcasestr((char *)c->buf, "\r\nSec-WebSocket-Key:");
  if (k == NULL)
    return -1;
  k += 20;
  while (*k == ' ')
    k++;
  if (strlen(k) < 24)
    return -1;
  ws_accept(k, accept);
  pr = strcasestr((char *)c->buf, "\r\nSec-WebSocket-Protocol:");
  if (pr != NULL && (pr = strstr(pr, "jwt.")) != NULL) {
    size_t l = strcspn(pr, ", \r");
    if (l < sizeof(proto) - 1) {
      memcpy(proto, pr, l);
      proto[l] = '\0';
    }
  }
  n = snprintf(resp, sizeof(resp),
               "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s%s%s\r\n",
               accept, proto[0] ? "Sec-WebSocket-Protocol: " : "", proto,
               proto[0] ? "\r\n" : "");
  used = (size_t)(end - c->buf) + 4;
  memmove(c->buf, c->buf + used, c->len - used);
  c->len = (uint16_t)(c->len - used);
  c->ws = 1;
  return put(c, resp, (size_t)n);
}

/* Handles the client frames in c->buf. Returns -1 to drop, 1 when done. */
static int frames(conn *c, uint64_t rx) {
  for (;;) {
    size_t hl = 6, pl;
    int op;
    if (c->len < 2)
      return 0;
    op = c->buf[0] & 0x0f;
    pl = c->buf[1] & 0x7f;
    if (!(c->buf[1] & 0x80) || pl == 127)
      return -1;
    if (pl == 126) {
      if (c->len < 4)
        return 0;
      pl = (size_t)c->buf[2] << 8 | c->buf[3];
      hl = 8;
    }
    if (c->len < hl + pl)
      return c->len == sizeof(c->buf) ? -1 : 0;
    memmove(c->buf, c->buf + hl + pl, c->len - hl - pl);
    c->len = (uint16_t)(c->len - hl - pl);
    if (op == 0x8) {
      static const uint8_t cl[4] = {0x88, 0x02, 1000 >> 8, 1000 & 0xff};
      (void)put(c, cl, sizeof(cl));
      return 1; /* The server closes TCP first. */
    }
    if ((op == 0x1 || op == 0x2) && c->heap_at < 0) {
      c->rx = rx;
      c->due = rx + delay_ns;
      if (heap_push(c) != 0)
        return -1;
    }
  }
}

static void reply(conn *c) {
  char f[64];
  uint64_t t = real_ns();
  int n = snprintf(f + 2, sizeof(f) - 2, "{\"type\":\"h%llu\"}",
                   (unsigned long long)(t - c->rx));
  f[0] = (char)0x81;
  f[1] = (char)n;
  if (nlate == late_cap) {
    size_t cap = late_cap ? 2 * late_cap : 4096;
    uint64_t *v = realloc(late, cap * sizeof(*v));
    if (v != NULL)
      late = v, late_cap = cap;
  }
  if (nlate < late_cap)
    late[nlate++] = t > c->due ? t - c->due : 0;
  (void)put(c, f, (size_t)n + 2);
}

static void on_data(conn *c, uint32_t events) {
  for (;;) {
    union {
      char b[CMSG_SPACE(sizeof(struct timespec))];
      struct cmsghdr align;
    } cm;
    struct iovec iov = {c->buf + c->len, sizeof(c->buf) - c->len};
    struct msghdr mh = {0};
    uint64_t rx = 0;
    ssize_t n;
    int r;
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = cm.b;
    mh.msg_controllen = sizeof(cm.b);
    n = recvmsg(c->fd, &mh, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN)
      return;
    if (n <= 0) {
      drop(c);
      return;
    }
    for (struct cmsghdr *h = CMSG_FIRSTHDR(&mh); h; h = CMSG_NXTHDR(&mh, h))
      if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_TIMESTAMPNS) {
        struct timespec ts;
        memcpy(&ts, CMSG_DATA(h), sizeof(ts));
        rx = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
      }
    if (rx == 0)
      rx = real_ns();
    c->len = (uint16_t)(c->len + n);
    r = c->ws ? 0 : upgrade(c);
    if (r == 0 && c->ws)
      r = frames(c, rx);
    if (r != 0) {
      drop(c);
      return;
    }
    if ((size_t)n < iov.iov_len && !(events & (EPOLLRDHUP | EPOLLHUP)))
      return;
  }
}

static void on_signal(int s) {
  (void)s;
  stop = 1;
}

/* Every reply that is due, in due order. Run between any two events, so
 * that a batch of handshakes does not hold a reply back. */
static void run_due(void) {
  while (nheap > 0 && heap[0]->due <= real_ns()) {
    conn *c = heap[0];
    heap_remove(c);
    reply(c);
  }
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  struct sockaddr_in sa = {0};
  socklen_t sl = sizeof(sa);
  struct epoll_event ev, evs[512];
  struct rlimit rl;
  int lfd, ep, one = 1;
  uint64_t t_end;
  FILE *pf;
  if (argc < 3) {
    fprintf(stderr, "usage: stamp_server PORT_FILE D_MS [LIFETIME_S]\n");
    return 2;
  }
  delay_ns = (uint64_t)atoi(argv[2]) * 1000000ull;
  t_end =
      real_ns() + (uint64_t)(argc > 3 ? atoi(argv[3]) : 600) * 1000000000ull;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
      listen(lfd, 4096) != 0 ||
      getsockname(lfd, (struct sockaddr *)&sa, &sl) != 0) {
    perror("stamp_server");
    return 1;
  }
  ep = epoll_create1(EPOLL_CLOEXEC);
  ev.events = EPOLLIN;
  ev.data.ptr = NULL;
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  if ((pf = fopen(argv[1], "w")) == NULL)
    return 1;
  fprintf(pf, "%u\n", ntohs(sa.sin_port));
  fclose(pf);

  while (!stop && real_ns() < t_end) {
    struct timespec to = {0, 200000000}; /* Wake at least every 200 ms. */
    int n;
    if (nheap > 0) {
      uint64_t now = real_ns();
      uint64_t wait = heap[0]->due > now ? heap[0]->due - now : 0;
      if (wait < 200000000ull)
        to.tv_sec = 0, to.tv_nsec = (long)wait;
    }
    n = epoll_pwait2(ep, evs, 512, &to, NULL);
    for (int i = 0; i < n; i++) {
      conn *c = evs[i].data.ptr;
      if (c == NULL) { /* The listener. */
        int fd;
        while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >=
               0) {
          conn *nc = calloc(1, sizeof(*nc));
          if (nc == NULL) {
            close(fd);
            continue;
          }
          nc->fd = fd;
          nc->heap_at = -1;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
          setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
          ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
          ev.data.ptr = nc;
          if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
            drop(nc);
          else
            on_data(nc, EPOLLIN); /* Data may already be there. */
          run_due();
        }
        continue;
      }
      on_data(c, evs[i].events);
      run_due();
    }
    run_due();
  }
  if (nlate > 0) {
    qsort(late, nlate, sizeof(*late), cmp_u64);
    fprintf(stderr,
            "stamp_server: %zu replies, lateness after rx + D: p50 %.3f ms, "
            "p99 %.3f ms, max %.3f ms\n",
            nlate, late[nlate / 2] / 1e6, late[(nlate * 99) / 100] / 1e6,
            late[nlate - 1] / 1e6);
  }
  return 0;
}
