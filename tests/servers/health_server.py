#!/usr/bin/python3
"""A health endpoint fixture for --health (stdlib only).

    health_server.py [--port 0] [--lifetime 60] [--cert PEM --key PEM]

With --cert and --key it speaks https (Python's ssl module).

Paths:
  /ok              200 {"status":"healthy"}
  /down            503 {"status":"degraded"}
  /slow?ms=N       waits N ms, then 200 "late"
  /long            200, "a", 300 times "é" (2 bytes each), then "!"
  /endless-body    200 without a length, then body bytes until the peer
                   goes away
  /endless-headers a status line, then header lines until the peer goes
                   away

Every request is counted; /count answers how many there were before it.
Once it accepts connections it prints exactly one line to stdout,
``listening on 127.0.0.1:PORT``. SIGTERM and --lifetime end it (exit 0).
"""
import argparse
import signal
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

COUNT = [0]
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send_body(self, status, body, ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        with LOCK:
            before = COUNT[0]
            COUNT[0] += 1
        url = urlparse(self.path)
        try:
            if url.path == "/ok":
                self.send_body(200, b'{"status":"healthy"}')
            elif url.path == "/down":
                self.send_body(503, b'{"status":"degraded"}')
            elif url.path == "/slow":
                ms = int(parse_qs(url.query).get("ms", ["1000"])[0])
                time.sleep(ms / 1000.0)
                self.send_body(200, b"late", "text/plain")
            elif url.path == "/long":
                self.send_body(200, ("a" + "\u00e9" * 300 + "!").encode(),
                               "text/plain; charset=utf-8")
            elif url.path == "/endless-body":
                self.wfile.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n"
                                 b"Content-Type: text/plain\r\n\r\n")
                chunk = b"x" * 4096
                while True:
                    self.wfile.write(chunk)
            elif url.path == "/endless-headers":
                self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                line = b"X-Filler: " + b"y" * 100 + b"\r\n"
                while True:
                    self.wfile.write(line * 40)
            elif url.path == "/count":
                self.send_body(200, str(before).encode(), "text/plain")
            else:
                self.send_body(404, b"not found", "text/plain")
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--lifetime", type=float, default=60)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    if args.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    threading.Timer(args.lifetime, lambda: srv.shutdown()).start()
    print("listening on 127.0.0.1:%d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except SystemExit:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
