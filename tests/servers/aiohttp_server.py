#!/usr/bin/python3
"""An interop WebSocket server on Debian's python3-aiohttp (3.8).

A server wsprobe's authors did not write. Run it with Debian's
/usr/bin/python3 (the one that has aiohttp).

    aiohttp_server.py [--host 127.0.0.1] [--port 0] [--lifetime 60]
                      [--max-msg-size N]

It echoes every message. A message longer than --max-msg-size (default
1024) bytes makes aiohttp close with 1009 after reading only the frame's
header, then close the socket: the rest of the frame, unread, makes the
kernel reset the connection.

Once it accepts connections it prints exactly one line to stdout,
``listening on HOST:PORT``, and flushes it. SIGTERM, SIGINT and --lifetime
end it cleanly (exit 0).
"""
import argparse
import asyncio
import signal
import sys

from aiohttp import WSMsgType, web


def make_app(max_msg_size):
    async def handler(request):
        ws = web.WebSocketResponse(max_msg_size=max_msg_size)
        await ws.prepare(request)
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                await ws.send_str(msg.data)
            elif msg.type == WSMsgType.BINARY:
                await ws.send_bytes(msg.data)
        return ws

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    return app


async def main(args):
    runner = web.AppRunner(make_app(args.max_msg_size), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    print("listening on %s:%d" % (args.host, port), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await asyncio.wait_for(stop.wait(), args.lifetime)
    except asyncio.TimeoutError:
        pass
    await runner.cleanup()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--lifetime", type=float, default=60)
    ap.add_argument("--max-msg-size", type=int, default=1024)
    asyncio.run(main(ap.parse_args()))
    sys.exit(0)
