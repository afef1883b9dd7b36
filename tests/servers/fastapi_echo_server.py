#!/usr/bin/python3
"""An interop WebSocket server on Debian's python3-fastapi and
python3-uvicorn: a FastAPI app served by uvicorn, which agrees to
permessage-deflate when the client offers it.

A server wsprobe's authors did not write. Run it with Debian's
/usr/bin/python3 (the one that has fastapi and uvicorn).

    fastapi_echo_server.py [--host 127.0.0.1] [--port 0] [--lifetime 60]

/ws echoes every text message; GET /health answers {"status": "ok"}.

Once it accepts connections it prints exactly one line to stdout,
``listening on HOST:PORT``, and flushes it. SIGTERM and SIGINT (uvicorn's
own handlers) and --lifetime end it cleanly (exit 0).
"""
import argparse
import asyncio
import socket
import sys

import uvicorn
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()


@app.get("/health")
async def health():
    return {"status": "ok"}


@app.websocket("/ws")
async def echo(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect:
        pass


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--lifetime", type=float, default=60)
    args = ap.parse_args()
    # Our own socket, so that the port is known before uvicorn starts.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))

    async def lifetime():
        await asyncio.sleep(args.lifetime)
        print("lifetime of %gs over, exiting" % args.lifetime,
              file=sys.stderr, flush=True)
        server.should_exit = True

    async def announce():
        while not server.started:
            await asyncio.sleep(0.01)
        print("listening on %s:%d" % sock.getsockname(), flush=True)

    timer = asyncio.ensure_future(lifetime())
    ready = asyncio.ensure_future(announce())
    await server.serve(sockets=[sock])
    timer.cancel()
    ready.cancel()


if __name__ == "__main__":
    asyncio.run(main())
