/*
 * Bytes over TCP. Knows libuv, nothing of HTTP or frames.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void on_write(uv_write_t *req, int status) {
  wsp__write *w = (wsp__write *)req;
  wsp_probe *p = req->data;
  free(w);
  p->writes_pending--;
  if (status < 0) {
    if (status != UV_ECANCELED)
      wsp__probe_finish(p, WSP_OUTCOME_ABNORMAL_CLOSURE, "write failed: %s",
                        uv_strerror(status));
    return;
  }
  if (p->writes_pending == 0)
    wsp__probe_on_drain(p);
}

int wsp__tx_write(wsp_probe *p, const uint8_t *data, size_t len) {
  if (p->tls != NULL)
    return wsp__tls_write(p, data, len);
  return wsp__raw_write(p, data, len);
}

int wsp__raw_write(wsp_probe *p, const uint8_t *data, size_t len) {
  uv_stream_t *s = (uv_stream_t *)&p->tcp;
  size_t done = 0;
  wsp__write *w;
  uv_buf_t buf;
  int rc;

  if (!p->tcp_open || uv_is_closing((uv_handle_t *)&p->tcp))
    return UV_EPIPE;
  /* uv_try_write sends at once without copying; only a remainder the
   * kernel would not take is copied into a queued write. Writing directly
   * is only allowed while nothing is queued, to keep the byte order. */
  if (p->writes_pending == 0) {
    buf = uv_buf_init((char *)data, (unsigned int)len);
    rc = uv_try_write(s, &buf, 1);
    if (rc >= 0)
      done = (size_t)rc;
    else if (rc != UV_EAGAIN)
      return rc;
    if (done == len)
      return 0;
  }
  if ((w = malloc(sizeof(*w) + (len - done))) == NULL)
    return UV_ENOMEM;
  w->len = len - done;
  memcpy(w->data, data + done, w->len);
  w->req.data = p;
  buf = uv_buf_init((char *)w->data, (unsigned int)w->len);
  rc = uv_write(&w->req, s, &buf, 1, on_write);
  if (rc < 0) {
    free(w);
    return rc;
  }
  p->writes_pending++;
  return 0;
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  wsp_probe *p = h->data;
  (void)hint;
  /* Every read is consumed before the callback returns, so all probes on
   * the loop share one buffer. */
  *buf = uv_buf_init((char *)p->ctx->rbuf, WSP__READ_BUF);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  wsp_probe *p = s->data;
  if (nread > 0 && p->tls != NULL)
    wsp__tls_feed(p, (const uint8_t *)buf->base, (size_t)nread);
  else if (nread > 0)
    wsp__probe_on_data(p, (const uint8_t *)buf->base, (size_t)nread);
  else if (nread < 0)
    wsp__probe_on_end(p, (int)nread);
}

int wsp__tx_start_read(wsp_probe *p) {
  return uv_read_start((uv_stream_t *)&p->tcp, on_alloc, on_read);
}
