/*
 * Bytes over TCP. Knows sockets and libuv's loop, nothing of HTTP or frames.
 *
 * The socket is ours, in an epoll set libuv watches, not a uv_tcp_t: the
 * probe's product is when bytes arrived, and libuv's streams read with
 * read(2), which throws away the kernel's receive timestamp. Reading with
 * recvmsg(2) and SO_TIMESTAMPNS stamps every read at the moment the last
 * of its bytes reached the socket, so a reply's time does not depend on
 * how many other probes the loop served before this one (at 1,000
 * replies arriving together, that backlog was milliseconds). As with
 * curl's multi_socket API on libuv, the library owns its sockets and the
 * loop only says when they are ready.
 *
 * Writes go straight to the socket; only what the kernel would not take is
 * copied, into a per-probe queue flushed when the socket is writable.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

/*
 * One epoll set per context holds every probe's socket, and libuv watches
 * that set's descriptor with a single uv_poll_t (an epoll descriptor is
 * itself pollable). A socket costs one epoll_ctl to add and one when its
 * connect completes; close(2) removes it. A uv_poll_t per socket cost
 * eight: libuv checks each new descriptor with an add and a delete, and
 * every change of interest stops the watcher and adds it again.
 */
typedef struct wsp__poller {
  uv_poll_t handle; /* Watches epfd; freed in its close callback. */
  int epfd;         /* The context's epoll set. */
} wsp__poller;

static void on_poller(uv_poll_t *h, int status, int events);

static void poller_closed(uv_handle_t *h) { free(h->data); }

static int poller_get(wsp_ctx *ctx) {
  wsp__poller *pl;
  int rc;
  if (ctx->poller != NULL)
    return 0;
  if ((pl = malloc(sizeof(*pl))) == NULL)
    return UV_ENOMEM;
  if ((pl->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
    rc = -errno;
    free(pl);
    return rc;
  }
  if ((rc = uv_poll_init(ctx->loop, &pl->handle, pl->epfd)) != 0) {
    close(pl->epfd);
    free(pl);
    return rc;
  }
  pl->handle.data = ctx;
  if ((rc = uv_poll_start(&pl->handle, UV_READABLE, on_poller)) != 0) {
    pl->handle.data = pl;
    uv_close((uv_handle_t *)&pl->handle, poller_closed);
    close(pl->epfd);
    return rc;
  }
  ctx->poller = pl;
  return 0;
}

/* With no socket left the set goes, so that a loop with no probe has no
 * handle of ours: an embedder may close its loop right after. */
static void poller_put(wsp_ctx *ctx) {
  wsp__poller *pl = ctx->poller;
  if (--ctx->nsockets > 0 || pl == NULL)
    return;
  ctx->poller = NULL;
  pl->handle.data = pl;
  uv_close((uv_handle_t *)&pl->handle, poller_closed);
  close(pl->epfd);
}

/* Watches what the probe needs: writability while connecting or while
 * bytes are queued, readability while connecting or reading. */
static void watch(wsp_probe *p) {
  struct epoll_event ev;
  int want = 0;
  if (!p->sock_open)
    return;
  if (p->connecting || p->outq_off < p->outq_len)
    want |= EPOLLOUT;
  if (p->connecting || p->reading)
    want |= EPOLLIN;
  if (want == p->watching)
    return;
  memset(&ev, 0, sizeof(ev));
  ev.events = (uint32_t)want;
  ev.data.ptr = p;
  /* It cannot fail for a socket already in the set (or, with memory to
   * spare, for a new one): a failed add leaves the connect's deadline. */
  if (epoll_ctl(p->ctx->poller->epfd,
                p->watching < 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, p->fd,
                &ev) == 0)
    p->watching = want;
}

int wsp__tx_connect(wsp_probe *p, const struct sockaddr *sa, size_t salen) {
  int fd, rc, one = 1;
  if ((rc = poller_get(p->ctx)) != 0)
    return rc;
  fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    rc = -errno;
    p->ctx->nsockets++;
    poller_put(p->ctx);
    return rc;
  }
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
#ifdef SO_TIMESTAMPNS
  /* Without it (an old kernel), reads are stamped when they are read. */
  (void)setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
#endif
  p->ctx->nsockets++;
  p->fd = fd;
  p->sock_open = 1;
  p->watching = -1;
  p->reading = 0;
  p->connecting = 1;
  do
    rc = connect(fd, sa, (socklen_t)salen);
  while (rc != 0 && errno == EINTR);
  if (rc != 0 && errno != EINPROGRESS)
    return -errno; /* The caller closes the socket. */
  /* Even an immediate success is reported from the loop, like libuv's
   * uv_tcp_connect, so that no callback runs inside the caller. */
  watch(p);
  return 0;
}

void wsp__tx_close(wsp_probe *p) {
  if (!p->sock_open)
    return;
  p->sock_open = 0;
  p->reading = 0;
  p->connecting = 0;
  /* Events for this socket may remain in the batch being dispatched;
   * they must not reach whatever socket the probe opens next. */
  p->closed_batch = p->ctx->batch;
  close(p->fd); /* Which also takes it out of the epoll set. */
  p->fd = -1;
  free(p->outq);
  p->outq = NULL;
  p->outq_len = p->outq_off = p->outq_cap = 0;
  poller_put(p->ctx);
}

int wsp__tx_pending(const wsp_probe *p) { return p->outq_off < p->outq_len; }

int wsp__tx_write(wsp_probe *p, const uint8_t *data, size_t len) {
  if (p->tls != NULL)
    return wsp__tls_write(p, data, len);
  return wsp__raw_write(p, data, len);
}

/* Queues bytes the kernel did not take, behind any already queued. */
static int enqueue(wsp_probe *p, const uint8_t *data, size_t len) {
  size_t live = p->outq_len - p->outq_off;
  if (p->outq_off > 0 && live + len > p->outq_cap - p->outq_off) {
    memmove(p->outq, p->outq + p->outq_off, live);
    p->outq_off = 0;
    p->outq_len = live;
  }
  if (p->outq_len + len > p->outq_cap) {
    size_t cap = p->outq_cap ? p->outq_cap : 1024;
    uint8_t *q;
    while (cap < p->outq_len + len)
      cap *= 2;
    if ((q = realloc(p->outq, cap)) == NULL)
      return UV_ENOMEM;
    p->outq = q;
    p->outq_cap = cap;
  }
  memcpy(p->outq + p->outq_len, data, len);
  p->outq_len += len;
  watch(p);
  return 0;
}

int wsp__raw_write(wsp_probe *p, const uint8_t *data, size_t len) {
  size_t done = 0;
  if (!p->sock_open || p->connecting)
    return UV_EPIPE;
  /* Writing directly is only allowed while nothing is queued, to keep the
   * byte order. */
  while (p->outq_off == p->outq_len && done < len) {
    uint64_t t = uv_hrtime();
    ssize_t n = send(p->fd, data + done, len - done, MSG_NOSIGNAL);
    if (n >= 0) {
      p->tx_ns = t;
      done += (size_t)n;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      break;
    } else if (errno != EINTR) {
      return -errno;
    }
  }
  if (done == len)
    return 0;
  return enqueue(p, data + done, len - done);
}

static void flush_queue(wsp_probe *p) {
  while (p->outq_off < p->outq_len) {
    uint64_t t = uv_hrtime();
    ssize_t n = send(p->fd, p->outq + p->outq_off, p->outq_len - p->outq_off,
                     MSG_NOSIGNAL);
    if (n >= 0) {
      p->tx_ns = t;
      p->outq_off += (size_t)n;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return;
    } else if (errno != EINTR) {
      wsp__probe_finish(p, WSP_OUTCOME_ABNORMAL_CLOSURE, "write failed: %s",
                        uv_strerror(-errno));
      return;
    }
  }
  free(p->outq);
  p->outq = NULL;
  p->outq_len = p->outq_off = p->outq_cap = 0;
  watch(p);
  wsp__probe_on_drain(p);
}

/*
 * When the bytes of this read reached the socket, on uv_hrtime()'s clock:
 * the kernel stamps on CLOCK_REALTIME, so its age is measured on that
 * clock and taken from the monotonic now (a clock step between the two
 * reads of a few nanoseconds apart is the only error).
 */
static uint64_t rx_stamp(struct msghdr *mh) {
#ifdef SO_TIMESTAMPNS
  struct cmsghdr *cm;
  for (cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm)) {
    if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
      struct timespec ts, now;
      uint64_t mono;
      int64_t age;
      memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
      /* The real-time clock first: a pause between the two reads makes
       * the arrival later, never earlier, than it was (before the send
       * it answers, when the pause is longer than the answer took). */
      if (clock_gettime(CLOCK_REALTIME, &now) != 0)
        break;
      mono = uv_hrtime();
      age = ((int64_t)now.tv_sec - ts.tv_sec) * 1000000000 +
            (now.tv_nsec - ts.tv_nsec);
      /* Implausible ages (a clock step, a stale stamp) are ignored. */
      if (age >= 0 && age < 10 * (int64_t)1000000000 && (uint64_t)age < mono)
        return mono - (uint64_t)age;
      return mono;
    }
  }
#else
  (void)mh;
#endif
  return uv_hrtime();
}

/* Reads until the socket is empty (or a few full buffers were taken:
 * epoll is level-triggered, the rest comes on the next turn). */
static void do_read(wsp_probe *p) {
  int i;
  for (i = 0; i < 16 && p->sock_open && p->reading; i++) {
    union {
      char buf[CMSG_SPACE(sizeof(struct timespec)) + 64];
      struct cmsghdr align;
    } cbuf;
    struct iovec iov;
    struct msghdr mh;
    ssize_t n;
    iov.iov_base = p->ctx->rbuf;
    iov.iov_len = WSP__READ_BUF;
    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = cbuf.buf;
    mh.msg_controllen = sizeof(cbuf.buf);
    n = recvmsg(p->fd, &mh, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return;
    if (n <= 0) {
      int err = n == 0 ? UV_EOF : -errno;
      p->reading = 0; /* The probe closes the socket now. */
      wsp__probe_on_end(p, err);
      return;
    }
    p->rx_ns = rx_stamp(&mh);
    if (p->tls != NULL)
      wsp__tls_feed(p, p->ctx->rbuf, (size_t)n);
    else
      wsp__probe_on_data(p, p->ctx->rbuf, (size_t)n);
    p->rx_ns = 0;
    if ((size_t)n < WSP__READ_BUF)
      return;
  }
}

static void on_connected(wsp_probe *p, uint32_t events) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
    err = errno;
  if (err == 0 && !(events & EPOLLOUT))
    return; /* Not yet: a spurious wake-up. */
  p->connecting = 0;
  if (err != 0) {
    wsp__probe_on_connect(p, -err);
    return;
  }
  /* Reading starts with the connection: one change of the epoll set. */
  p->reading = 1;
  watch(p);
  wsp__probe_on_connect(p, 0);
}

static void dispatch(wsp_probe *p, uint32_t events) {
  if (p->connecting) {
    on_connected(p, events);
    return;
  }
  if ((events & EPOLLOUT) && p->outq_off < p->outq_len)
    flush_queue(p);
  if (!p->sock_open)
    return;
  if (p->reading && (events & (EPOLLIN | EPOLLERR | EPOLLHUP))) {
    /* What the server sent before a reset is still read, then the
     * error itself. */
    do_read(p);
  } else if (events & EPOLLERR) {
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err)
      wsp__probe_on_end(p, -err);
  }
}

static void on_poller(uv_poll_t *h, int status, int events) {
  wsp_ctx *ctx = h->data;
  struct epoll_event ev[256];
  int n, i;
  (void)events;
  if (status < 0)
    return;
  do
    n = epoll_wait(ctx->poller->epfd, ev, (int)(sizeof(ev) / sizeof(ev[0])), 0);
  while (n < 0 && errno == EINTR);
  /* A probe may close its socket and open another (the next address)
   * within the batch: the batch number tells old events from new. */
  ctx->batch++;
  for (i = 0; i < n; i++) {
    wsp_probe *p = ev[i].data.ptr;
    if (p->sock_open && p->closed_batch != ctx->batch)
      dispatch(p, ev[i].events);
  }
}
