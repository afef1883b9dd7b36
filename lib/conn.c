/*
 * The connection: bytes over TCP. Knows sockets and libuv's loop, nothing
 * of TLS, HTTP or frames, and reports facts (connected, data with its
 * arrival stamp, drained, write failed, ended) through its callbacks.
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
 * copied, into a per-connection queue flushed when the socket is writable.
 * A failed write is a fact like any other: the peer's last bytes (a close
 * frame before a reset, say) are still read and reported before the end.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "util.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

/*
 * One epoll set per loop holds every connection's socket, and libuv watches
 * that set's descriptor with a single uv_poll_t (an epoll descriptor is
 * itself pollable). A socket is added once, edge-triggered, for reading
 * and writing, and close(2) removes it: one epoll_ctl per connection.
 * A uv_poll_t per socket cost eight (libuv checks each new descriptor with
 * an add and a delete, and every change of interest stops the watcher and
 * adds it again); a level-triggered set cost two, the second to stop
 * watching for writability once connected.
 *
 * Edge-triggered means a socket is reported when something happens to it,
 * not while it is ready, so a reader must not leave bytes behind unless a
 * new report is sure to come (do_read() says when).
 */
typedef struct wsp__poller {
  uv_poll_t handle; /* Watches epfd; freed in its close callback. */
  int epfd;         /* The loop's epoll set. */
} wsp__poller;

static void on_poller(uv_poll_t *h, int status, int events);

static void poller_closed(uv_handle_t *h) { free(h->data); }

int wsp__net_init(wsp__net *net, uv_loop_t *loop) {
  memset(net, 0, sizeof(*net));
  net->loop = loop;
  /* Reads are handled synchronously, so one buffer serves every socket. */
  if ((net->rbuf = malloc(WSP__READ_BUF)) == NULL)
    return UV_ENOMEM;
  return 0;
}

void wsp__net_free(wsp__net *net) {
  free(net->rbuf);
  net->rbuf = NULL;
}

static int poller_get(wsp__net *net) {
  wsp__poller *pl;
  int rc;
  if (net->poller != NULL)
    return 0;
  if ((pl = malloc(sizeof(*pl))) == NULL)
    return UV_ENOMEM;
  if ((pl->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
    rc = -errno;
    free(pl);
    return rc;
  }
  if ((rc = uv_poll_init(net->loop, &pl->handle, pl->epfd)) != 0) {
    close(pl->epfd);
    free(pl);
    return rc;
  }
  pl->handle.data = net;
  if ((rc = uv_poll_start(&pl->handle, UV_READABLE, on_poller)) != 0) {
    pl->handle.data = pl;
    uv_close((uv_handle_t *)&pl->handle, poller_closed);
    close(pl->epfd);
    return rc;
  }
  net->poller = pl;
  return 0;
}

/* With no socket left the set goes, so that a loop with no probe has no
 * handle of ours: an embedder may close its loop right after. */
static void poller_put(wsp__net *net) {
  wsp__poller *pl = net->poller;
  if (--net->nsockets > 0 || pl == NULL)
    return;
  net->poller = NULL;
  pl->handle.data = pl;
  uv_close((uv_handle_t *)&pl->handle, poller_closed);
  close(pl->epfd);
}

void wsp__conn_init(wsp__conn *c, wsp__net *net, const wsp__conn_cbs *cbs,
                    void *ud) {
  memset(c, 0, sizeof(*c));
  c->net = net;
  c->cbs = cbs;
  c->ud = ud;
  c->fd = -1;
}

/*
 * The socket's one entry in the set, edge-triggered for everything:
 * EPOLL_CTL_ADD once, when it connects (it cannot fail for a new socket
 * with memory to spare: a failed add leaves the connect's deadline), and
 * EPOLL_CTL_MOD to have it reported again on the next turn if it is ready
 * (a reader that stopped early): a change of an edge-triggered entry polls
 * it.
 */
static void set_entry(wsp__conn *c, int op) {
  struct epoll_event ev;
  memset(&ev, 0, sizeof(ev));
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = c;
  (void)epoll_ctl(c->net->poller->epfd, op, c->fd, &ev);
}

int wsp__conn_connect(wsp__conn *c, const struct sockaddr *sa, size_t salen) {
  int fd, rc, one = 1;
  if ((rc = poller_get(c->net)) != 0)
    return rc;
  fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    rc = -errno;
    c->net->nsockets++;
    poller_put(c->net);
    return rc;
  }
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
#ifdef SO_TIMESTAMPNS
  /* Without it (an old kernel), reads are stamped when they are read. */
  (void)setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
#endif
  c->net->nsockets++;
  c->fd = fd;
  c->open = 1;
  c->reading = 0;
  c->connecting = 1;
  c->write_err = 0;
  do
    rc = connect(fd, sa, (socklen_t)salen);
  while (rc != 0 && errno == EINTR);
  if (rc != 0 && errno != EINPROGRESS)
    return -errno; /* The caller closes the socket. */
  /* Even an immediate success is reported from the loop, like libuv's
   * uv_tcp_connect, so that no callback runs inside the caller. */
  set_entry(c, EPOLL_CTL_ADD);
  return 0;
}

void wsp__conn_close(wsp__conn *c) {
  if (!c->open)
    return;
  c->open = 0;
  c->reading = 0;
  c->connecting = 0;
  /* Events for this socket may remain in the batch being dispatched;
   * they must not reach whatever socket is opened next. */
  c->closed_batch = c->net->batch;
  close(c->fd); /* Which also takes it out of the epoll set. */
  c->fd = -1;
  free(c->outq);
  c->outq = NULL;
  c->outq_len = c->outq_off = c->outq_cap = 0;
  poller_put(c->net);
}

int wsp__conn_pending(const wsp__conn *c) {
  return c->outq_off < c->outq_len && c->write_err == 0;
}

/* The kernel refused bytes: that is reported once, and nothing more is
 * written. Reading goes on: what the peer sent before is still there. */
static int write_failed(wsp__conn *c, int err) {
  if (c->write_err != 0)
    return c->write_err;
  c->write_err = err;
  free(c->outq);
  c->outq = NULL;
  c->outq_len = c->outq_off = c->outq_cap = 0;
  c->cbs->write_failed(c->ud, err);
  return err;
}

/* Queues bytes the kernel did not take, behind any already queued. */
static int enqueue(wsp__conn *c, const uint8_t *data, size_t len) {
  size_t live = c->outq_len - c->outq_off;
  if (c->outq_off > 0 && live + len > c->outq_cap - c->outq_off) {
    memmove(c->outq, c->outq + c->outq_off, live);
    c->outq_off = 0;
    c->outq_len = live;
  }
  if (wsp__grow(&c->outq, &c->outq_cap, c->outq_len + len) != 0)
    return UV_ENOMEM;
  memcpy(c->outq + c->outq_len, data, len);
  c->outq_len += len;
  return 0;
}

int wsp__conn_write(wsp__conn *c, const uint8_t *data, size_t len) {
  size_t done = 0;
  if (!c->open || c->connecting)
    return UV_ENOTCONN;
  if (c->write_err != 0)
    return c->write_err;
  /* Writing directly is only allowed while nothing is queued, to keep the
   * byte order. */
  while (c->outq_off == c->outq_len && done < len) {
    uint64_t t = uv_hrtime();
    ssize_t n = send(c->fd, data + done, len - done, MSG_NOSIGNAL);
    if (n >= 0) {
      c->tx_ns = t;
      done += (size_t)n;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      break;
    } else if (errno != EINTR) {
      return write_failed(c, -errno);
    }
  }
  if (done == len)
    return 0;
  if (enqueue(c, data + done, len - done) != 0)
    return write_failed(c, UV_ENOMEM);
  return 0;
}

static void flush_queue(wsp__conn *c) {
  while (c->outq_off < c->outq_len) {
    uint64_t t = uv_hrtime();
    ssize_t n = send(c->fd, c->outq + c->outq_off, c->outq_len - c->outq_off,
                     MSG_NOSIGNAL);
    if (n >= 0) {
      c->tx_ns = t;
      c->outq_off += (size_t)n;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return;
    } else if (errno != EINTR) {
      (void)write_failed(c, -errno);
      return;
    }
  }
  free(c->outq);
  c->outq = NULL;
  c->outq_len = c->outq_off = c->outq_cap = 0;
  c->cbs->drained(c->ud);
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
       * the arrival later, never earlier, than it was, so an achieved
       * delay is never overstated. */
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

/* Bits of a report after which the socket may hold an end (EOF or an
 * error) still to be read, which no further report would announce. */
#define END_BITS (EPOLLRDHUP | EPOLLHUP | EPOLLERR)

/*
 * Reads what the socket holds. The set is edge-triggered, so this stops
 * only where a new report is sure to come for whatever is left: at
 * EAGAIN; at the end; or at a read shorter than the buffer when the
 * report that woke it (`events`) showed no end, since anything arriving
 * after the report was taken raises a new one. When the report showed
 * the peer's FIN and nothing worse, the short read that empties the
 * socket is the end. After 16 full buffers it stops anyway, so that one
 * flooding peer cannot starve the rest of the loop, and has the socket
 * reported again. An error or EOF is reported only once every byte
 * before it was.
 */
static void do_read(wsp__conn *c, uint32_t events) {
  int i;
  for (i = 0; c->open && c->reading; i++) {
    union {
      char buf[CMSG_SPACE(sizeof(struct timespec)) + 64];
      struct cmsghdr align;
    } cbuf;
    struct iovec iov;
    struct msghdr mh;
    ssize_t n;
    if (i == 16) {
      set_entry(c, EPOLL_CTL_MOD);
      return;
    }
    iov.iov_base = c->net->rbuf;
    iov.iov_len = WSP__READ_BUF;
    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = cbuf.buf;
    mh.msg_controllen = sizeof(cbuf.buf);
    n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return;
    if (n <= 0) {
      c->reading = 0;
      /* The socket stays in the set if its owner keeps it open: edges
       * come once, so a hang-up cannot spin the loop. */
      c->cbs->ended(c->ud, n == 0 ? UV_EOF : -errno);
      return;
    }
    c->cbs->data(c->ud, c->net->rbuf, (size_t)n, rx_stamp(&mh));
    if ((size_t)n == WSP__READ_BUF)
      continue;
    if (!(events & END_BITS))
      return;
    if ((events & END_BITS) == EPOLLRDHUP && c->open && c->reading) {
      /* The report said the peer's FIN had been taken in, in order, so
       * every byte before it was queued, and this short read took them
       * all: the next read could only return 0 (after a FIN the kernel
       * says EOF even if a reset followed). Said without that read. */
      c->reading = 0;
      c->cbs->ended(c->ud, UV_EOF);
      return;
    }
  }
}

void wsp__conn_read(wsp__conn *c) {
  /* No report to go by: up to EAGAIN or the end, read. */
  if (c->open && !c->connecting && c->reading)
    do_read(c, EPOLLHUP | EPOLLERR);
}

/* A connect completed is reported writable; a failed one with an error,
 * whose code only then costs a getsockopt. */
static void on_connected(wsp__conn *c, uint32_t events) {
  int err = 0;
  socklen_t len = sizeof(err);
  if ((events & (EPOLLERR | EPOLLHUP)) &&
      getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
    err = errno;
  if (err == 0 && !(events & EPOLLOUT))
    return; /* Not yet: a spurious wake-up. */
  c->connecting = 0;
  if (err != 0) {
    c->cbs->connected(c->ud, -err);
    return;
  }
  c->reading = 1;
  c->cbs->connected(c->ud, 0);
  /* What came with the connect (a peer that speaks first, a reset) was in
   * this report, and no other would announce it. */
  if (c->open && c->reading && (events & (EPOLLIN | END_BITS)))
    do_read(c, events);
}

static void dispatch(wsp__conn *c, uint32_t events) {
  if (c->connecting) {
    on_connected(c, events);
    return;
  }
  if ((events & EPOLLOUT) && wsp__conn_pending(c))
    flush_queue(c);
  if (!c->open)
    return;
  /* What the peer sent before a reset is read first, then the error
   * itself. */
  if (c->reading && (events & (EPOLLIN | END_BITS)))
    do_read(c, events);
}

static void on_poller(uv_poll_t *h, int status, int events) {
  wsp__net *net = h->data;
  struct epoll_event ev[256];
  int n, i;
  (void)events;
  if (status < 0)
    return;
  do
    n = epoll_wait(net->poller->epfd, ev, (int)(sizeof(ev) / sizeof(ev[0])), 0);
  while (n < 0 && errno == EINTR);
  /* A connection may close its socket and open another (the next address)
   * within the batch: the batch number tells old events from new. */
  net->batch++;
  for (i = 0; i < n; i++) {
    wsp__conn *c = ev[i].data.ptr;
    if (c->open && c->closed_batch != net->batch)
      dispatch(c, ev[i].events);
  }
}
