#!/usr/bin/python3
"""A small HTTP CONNECT proxy for the tests (stdlib only).

  connect_proxy.py [--mode MODE] [--auth USER:PASSWORD]

Listens on 127.0.0.1 (an ephemeral port), prints "listening on
127.0.0.1:PORT", then one line per CONNECT it reads:
"CONNECT <target> auth=<none|good|bad>". MODE says how it answers:
  ok         200, then relays bytes both ways (127.0.0.1, ::1 or
             localhost targets only; anything else gets 403)
  403, 502   that status, with a short body
  malformed  a line that is not HTTP
  drop       closes without answering
  half       the status line only, then closes
  silent     never answers
With --auth, a CONNECT without those credentials gets 407 (and
Proxy-Authenticate) whatever the mode.
"""
import argparse
import asyncio
import base64
import sys

LOOPBACK = ("127.0.0.1", "::1", "localhost")


async def relay(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            writer.close()
        except OSError:
            pass


async def answer(writer, status, reason, extra=b""):
    body = b"%d %s\n" % (status, reason)
    writer.write(b"HTTP/1.1 %d %s\r\n%sContent-Length: %d\r\n\r\n%s"
                 % (status, reason, extra, len(body), body))
    await writer.drain()
    writer.close()


async def handle(reader, writer, args):
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError,
            ConnectionError):
        writer.close()
        return
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    auth = "none"
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "proxy-authorization":
            want = "Basic " + base64.b64encode(
                (args.auth or "").encode()).decode()
            auth = "good" if value.strip() == want else "bad"
    target = parts[1] if len(parts) == 3 and parts[0] == "CONNECT" else "?"
    print("CONNECT %s auth=%s" % (target, auth), flush=True)
    if target == "?":
        await answer(writer, 400, b"Bad Request")
        return
    if args.auth and auth != "good":
        await answer(writer, 407, b"Proxy Authentication Required",
                     b'Proxy-Authenticate: Basic realm="tests"\r\n')
        return
    mode = args.mode
    if mode in ("403", "502"):
        await answer(writer, int(mode), b"Refused by the test proxy")
    elif mode == "malformed":
        writer.write(b"SSH-2.0-NotAProxy\r\n\r\n")
        await writer.drain()
        writer.close()
    elif mode == "drop":
        writer.close()
    elif mode == "half":
        writer.write(b"HTTP/1.1 200 Connection established\r\n")
        await writer.drain()
        writer.close()
    elif mode == "silent":
        await asyncio.sleep(3600)
    else:
        host, _, port = target.rpartition(":")
        host = host.strip("[]")
        if host not in LOOPBACK or not port.isdigit():
            await answer(writer, 403, b"Loopback Only")
            return
        try:
            up_r, up_w = await asyncio.open_connection(host, int(port))
        except OSError:
            await answer(writer, 502, b"Bad Gateway")
            return
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await asyncio.gather(relay(reader, up_w), relay(up_r, writer))


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", default="ok",
                    choices=["ok", "403", "502", "malformed", "drop", "half",
                             "silent"])
    ap.add_argument("--auth")
    ap.add_argument("--lifetime", type=float, default=120)
    args = ap.parse_args()
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, args), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print("listening on 127.0.0.1:%d" % port, flush=True)
    async with server:
        await asyncio.sleep(args.lifetime)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
