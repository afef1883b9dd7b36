/*
 * The connection: one TCP socket in the loop's epoll set, its write queue
 * and the kernel's receive stamps (conn.c). It knows nothing of TLS, HTTP
 * or frames, and decides nothing: it reports what happened to the socket
 * through its callbacks.
 */
#ifndef WSP_CONN_H
#define WSP_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

/* Size of the per-loop buffer every connection's reads land in. */
#define WSP__READ_BUF (64 * 1024)

/* What every connection on one loop shares. */
typedef struct wsp__net {
  uv_loop_t *loop;            /* The loop. */
  struct wsp__poller *poller; /* The sockets' epoll set, while any socket
                                 is open. */
  size_t nsockets;            /* Sockets open. */
  uint64_t batch;             /* Poll batches dispatched. */
  uint8_t *rbuf;              /* The read buffer (WSP__READ_BUF bytes). */
} wsp__net;

/*
 * What a connection reports. Each is a fact about the socket; none may
 * free the connection (close it instead: wsp__conn_close()).
 */
typedef struct wsp__conn_cbs {
  /* The connect completed: 0, or a negative libuv error. */
  void (*connected)(void *ud, int status);
  /* Bytes arrived; rx_ns is when the last of them reached the socket, on
   * uv_hrtime()'s clock. */
  void (*data)(void *ud, const uint8_t *data, size_t len, uint64_t rx_ns);
  /* The write queue emptied. */
  void (*drained)(void *ud);
  /* The kernel refused bytes (a negative libuv error, e.g. UV_EPIPE or
   * UV_ECONNRESET); nothing more is written. Reported once. What the peer
   * sent before is still read and reported. */
  void (*write_failed)(void *ud, int err);
  /* The peer ended the stream: UV_EOF, or a negative libuv error such as
   * UV_ECONNRESET, after every byte before it was reported. */
  void (*ended)(void *ud, int err);
} wsp__conn_cbs;

typedef struct wsp__conn {
  wsp__net *net;             /* The loop's shared state. */
  const wsp__conn_cbs *cbs;  /* Where facts go. */
  void *ud;                  /* Passed to every callback. */
  int fd;                    /* The socket, while open. */
  int open;                  /* The socket is open. */
  int connecting;            /* The connect has not completed. */
  int reading;               /* Reads are wanted. */
  uint64_t closed_batch;     /* Poll batch it was last closed in. */
  uint64_t tx_ns;            /* uv_hrtime() just before the last send(2)
                                that took bytes, or 0. */
  int write_err;             /* The write error reported, or 0. */
  uint8_t *outq;             /* Bytes the kernel did not take yet. */
  size_t outq_off, outq_len; /* Sent, queued. */
  size_t outq_cap;           /* Allocated. */
} wsp__conn;

/* Sets up the loop's shared state: 0 or WSP_ENOMEM. */
int wsp__net_init(wsp__net *net, uv_loop_t *loop);
/* Frees it; every connection must be closed. */
void wsp__net_free(wsp__net *net);

void wsp__conn_init(wsp__conn *c, wsp__net *net, const wsp__conn_cbs *cbs,
                    void *ud);
/*
 * Opens a socket and connects it to `sa`. The outcome is reported by the
 * connected callback, from the loop, never from here. A non-zero return
 * (a negative libuv error) reports nothing; the socket may then be open:
 * close it.
 */
int wsp__conn_connect(wsp__conn *c, const struct sockaddr *sa, size_t salen);
/*
 * Writes at once what the kernel takes and queues the rest. Returns 0;
 * UV_ENOTCONN (not connected) without reporting anything; or the write
 * error (UV_ENOMEM when the queue cannot grow), reported once through
 * write_failed.
 */
int wsp__conn_write(wsp__conn *c, const uint8_t *data, size_t len);
/* Whether bytes wait in the queue. */
int wsp__conn_pending(const wsp__conn *c);
/* Reads what the socket holds now, as its readiness would (data, then the
 * end), without waiting for the loop to poll. */
void wsp__conn_read(wsp__conn *c);
/* Closes the socket (if open); no callback follows. */
void wsp__conn_close(wsp__conn *c);

#endif
