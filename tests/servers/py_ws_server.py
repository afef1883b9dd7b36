#!/usr/bin/python3
"""An interop WebSocket server on Debian's python3-websockets (10.4, asyncio).

A server wsprobe's authors did not write, so it does not share wsprobe's
bugs. Run it with Debian's /usr/bin/python3 (the one that has websockets).

    py_ws_server.py [--host 127.0.0.1] [--port 0] [--lifetime 60] --mode MODE

Once it accepts connections it prints exactly one line to stdout,
``listening on HOST:PORT`` (IPv6 hosts in brackets), and flushes it.

Modes:
  echo             echo every message back (text as text, binary as binary)
  events           on each message send the agent event sequence as JSON text
                   frames {"type": ...}, then wait for the client's close
  close1011-early  on the first message close with 1011 "Internal error"
  close:CODE:REASON
                   on the first message close with CODE and REASON (REASON
                   optional). websockets 10.4 sends 1000-1003, 1007-1014 and
                   3000-4999 (frames.EXTERNAL_CLOSE_CODES): 1012, 1013 and 1014
                   are allowed. Other codes are refused at startup.
  reject503        refuse every upgrade with HTTP 503, Retry-After: 5,
                   Content-Type: text/plain, body "down\\n"
  subprotocol-jwt  select the first offered subprotocol starting with "jwt.";
                   a client offering none gets a 101 without a subprotocol.
                   Then echo.
  silent           accept, read every message, never reply

--request-log FILE appends one line per upgrade request, "TIME_NS PATH", the
wall-clock time (time.time_ns()) at which the server handles it: between the
client's sending it and its receiving the answer, whatever the load.

SIGTERM and SIGINT end it cleanly (exit 0); so does --lifetime (a safety net
against leaked servers, exit 0 as well).
"""
import argparse
import asyncio
import http
import json
import signal
import sys
import time

import websockets
from websockets import frames

EVENTS = ("agent_started", "agent_thinking", "tool_executing",
          "tool_completed", "agent_completed")


def parse_mode(text):
    """Returns (mode, close_code, close_reason) or raises ValueError."""
    if text.startswith("close:"):
        parts = text.split(":", 2)
        code = int(parts[1])
        reason = parts[2] if len(parts) > 2 else ""
        if not (code in frames.EXTERNAL_CLOSE_CODES or 3000 <= code < 5000):
            raise ValueError("websockets %s cannot send close code %d"
                             % (websockets.__version__, code))
        if len(reason.encode("utf-8")) > 123:
            raise ValueError("close reason longer than 123 bytes")
        return "close", code, reason
    if text == "close1011-early":
        return "close", 1011, "Internal error"
    if text in ("echo", "events", "reject503", "subprotocol-jwt", "silent"):
        return text, None, None
    raise ValueError("unknown mode %r" % text)


def make_handler(mode, code, reason):
    async def handler(ws, path=None):
        try:
            if mode in ("echo", "subprotocol-jwt"):
                async for msg in ws:
                    await ws.send(msg)
            elif mode == "events":
                async for _msg in ws:
                    for t in EVENTS:
                        await ws.send(json.dumps({"type": t}))
                # The loop ends when the client closes.
            elif mode == "close":
                await ws.recv()
                await ws.close(code, reason)
            elif mode == "silent":
                async for _msg in ws:
                    pass
        except websockets.ConnectionClosed:
            pass
    return handler


async def reject503(path, request_headers):
    return (http.HTTPStatus.SERVICE_UNAVAILABLE,
            [("Retry-After", "5"), ("Content-Type", "text/plain")],
            b"down\n")


def select_jwt(client_subprotocols, server_subprotocols):
    for p in client_subprotocols:
        if p.startswith("jwt."):
            return p
    return None


async def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--lifetime", type=float, default=60.0)
    ap.add_argument("--mode", default="echo")
    ap.add_argument("--tls-cert", help="serve wss:// with this certificate")
    ap.add_argument("--tls-key", help="... and this key")
    ap.add_argument("--request-log", help="log each request's time here")
    args = ap.parse_args()
    try:
        mode, code, reason = parse_mode(args.mode)
    except ValueError as e:
        ap.error(str(e))

    kwargs = {}
    if args.tls_cert:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        kwargs["ssl"] = ctx
    if mode == "reject503":
        kwargs["process_request"] = reject503
    elif args.request_log:
        log = open(args.request_log, "a", buffering=1)

        async def log_request(path, request_headers):
            log.write("%d %s\n" % (time.time_ns(), path))
            return None

        kwargs["process_request"] = log_request
    if mode == "subprotocol-jwt":
        # select_subprotocol is only consulted when the server lists some
        # subprotocols; the placeholder is never chosen by select_jwt.
        kwargs["subprotocols"] = ["jwt.placeholder"]
        kwargs["select_subprotocol"] = select_jwt

    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(0))

    server = await websockets.serve(make_handler(mode, code, reason),
                                    args.host, args.port, **kwargs)
    sockname = server.sockets[0].getsockname()
    host = sockname[0]
    if ":" in host:
        host = "[%s]" % host
    print("listening on %s:%d" % (host, sockname[1]), flush=True)
    try:
        await asyncio.wait_for(asyncio.shield(stop), args.lifetime)
    except asyncio.TimeoutError:
        print("lifetime of %gs over, exiting" % args.lifetime,
              file=sys.stderr, flush=True)
    server.close()
    try:
        await asyncio.wait_for(server.wait_closed(), 5)
    except asyncio.TimeoutError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
