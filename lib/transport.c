/*
 * Bytes over TCP. Knows sockets and libuv's loop, nothing of HTTP or frames.
 *
 * The socket is ours, watched by a uv_poll_t, rather than a uv_tcp_t: the
 * probe's product is when bytes arrived, and libuv's streams read with
 * read(2), which throws away the kernel's receive timestamp. Reading with
 * recvmsg(2) and SO_TIMESTAMPNS stamps every read at the moment the last
 * of its bytes reached the socket, so a reply's time does not depend on
 * how many other probes the loop served before this one (at 1,000
 * replies arriving together, that backlog was milliseconds). It is the
 * pattern of curl's multi_socket API on libuv: the library owns the
 * socket, the loop only says when it is ready.
 *
 * Writes go straight to the socket; only what the kernel would not take is
 * copied, into a per-probe queue flushed when the socket is writable.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

static void on_poll(uv_poll_t *h, int status, int events);

/* Watches what the probe needs: writability while connecting or while
 * bytes are queued, readability while reading. */
static void watch(wsp_probe *p) {
  int ev = 0;
  if (!p->sock_open)
    return;
  if (p->connecting || p->outq_off < p->outq_len)
    ev |= UV_WRITABLE;
  if (p->reading)
    ev |= UV_READABLE;
  if (ev == p->watching)
    return;
  p->watching = ev;
  if (ev != 0)
    uv_poll_start(&p->sock, ev, on_poll);
  else
    uv_poll_stop(&p->sock);
}

int wsp__tx_connect(wsp_probe *p, const struct sockaddr *sa, size_t salen) {
  int fd, rc, one = 1;
  fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
#ifdef SO_TIMESTAMPNS
  /* Without it (an old kernel), reads are stamped when they are read. */
  (void)setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
#endif
  if ((rc = uv_poll_init_socket(p->ctx->loop, &p->sock, fd)) != 0) {
    close(fd);
    return rc;
  }
  p->sock.data = p;
  p->fd = fd;
  p->sock_open = 1;
  p->handles++;
  p->watching = 0;
  p->reading = 0;
  p->connecting = 1;
  do
    rc = connect(fd, sa, (socklen_t)salen);
  while (rc != 0 && errno == EINTR);
  if (rc != 0 && errno != EINPROGRESS)
    return -errno; /* The caller closes the handle. */
  /* Even an immediate success is reported from the loop, like libuv's
   * uv_tcp_connect, so that no callback runs inside the caller. */
  watch(p);
  return 0;
}

void wsp__tx_close(wsp_probe *p, uv_close_cb cb) {
  if (!p->sock_open)
    return;
  p->sock_open = 0;
  p->reading = 0;
  /* uv_close stops the watcher and removes the fd from epoll at once, so
   * the descriptor can go now (as libuv's own streams do). */
  uv_close((uv_handle_t *)&p->sock, cb);
  close(p->fd);
  p->fd = -1;
  free(p->outq);
  p->outq = NULL;
  p->outq_len = p->outq_off = p->outq_cap = 0;
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
    ssize_t n = send(p->fd, data + done, len - done, MSG_NOSIGNAL);
    if (n >= 0) {
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
    ssize_t n = send(p->fd, p->outq + p->outq_off, p->outq_len - p->outq_off,
                     MSG_NOSIGNAL);
    if (n >= 0) {
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
  uint64_t mono = uv_hrtime();
#ifdef SO_TIMESTAMPNS
  struct cmsghdr *cm;
  for (cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm)) {
    if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
      struct timespec ts, now;
      int64_t age;
      memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
      if (clock_gettime(CLOCK_REALTIME, &now) != 0)
        break;
      age = ((int64_t)now.tv_sec - ts.tv_sec) * 1000000000 +
            (now.tv_nsec - ts.tv_nsec);
      /* Implausible ages (a clock step, a stale stamp) are ignored. */
      if (age >= 0 && age < 10 * (int64_t)1000000000 && (uint64_t)age < mono)
        return mono - (uint64_t)age;
      break;
    }
  }
#else
  (void)mh;
#endif
  return mono;
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
      p->reading = 0;
      watch(p);
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

static void on_connected(wsp_probe *p, int status) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
    err = errno;
  if (err == 0 && status < 0)
    err = ECONNREFUSED; /* POLLERR without a pending error: unexpected. */
  p->connecting = 0;
  if (err != 0) {
    p->watching = 0; /* libuv stops a poll handle on POLLERR. */
    wsp__probe_on_connect(p, -err);
    return;
  }
  /* Reading starts with the connection: one change of the epoll set,
   * not two. */
  p->reading = 1;
  watch(p);
  wsp__probe_on_connect(p, 0);
}

static void on_poll(uv_poll_t *h, int status, int events) {
  wsp_probe *p = h->data;
  if (!p->sock_open)
    return;
  if (p->connecting) {
    if (status < 0 || (events & UV_WRITABLE))
      on_connected(p, status);
    return;
  }
  if (status < 0) {
    /* POLLERR (a reset, usually): libuv stopped the watcher. What the
     * server sent before it is still readable, then the error itself. */
    int err = 0;
    socklen_t len = sizeof(err);
    p->watching = 0;
    if (p->reading)
      do_read(p);
    if (!p->sock_open)
      return;
    if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err) {
      p->reading = 0;
      wsp__probe_on_end(p, -err);
      return;
    }
    watch(p);
    return;
  }
  if (events & UV_WRITABLE)
    flush_queue(p);
  if ((events & UV_READABLE) && p->sock_open)
    do_read(p);
}

int wsp__tx_start_read(wsp_probe *p) {
  if (!p->sock_open)
    return UV_EPIPE;
  p->reading = 1;
  watch(p);
  return 0;
}
