#!/usr/bin/python3
"""A FastAPI app served by uvicorn (Debian's python3-fastapi and
python3-uvicorn): the service of the incident wsprobe was made for.

    fastapi_app.py [--port 0] [--lifetime 60] [--ready-ms 100000]

/api/health answers 200 {"status":"healthy"} whatever happens elsewhere.
The WebSocket endpoint /ws accepts every upgrade, then closes with 1011
when the first message arrives less than --ready-ms after the accept (its
message pipeline is not ready yet), else echoes it.

Once it accepts connections it prints exactly one line to stdout,
``listening on 127.0.0.1:PORT``. SIGTERM and --lifetime end it.
"""
import argparse
import asyncio
import signal
import socket
import sys
import time

import uvicorn
from fastapi import FastAPI, WebSocket
from fastapi.responses import JSONResponse


def make_app(ready_ms):
    app = FastAPI()

    @app.get("/api/health")
    async def health():
        return JSONResponse({"status": "healthy"})

    @app.websocket("/ws")
    async def ws(sock: WebSocket):
        await sock.accept()
        opened = time.monotonic()
        try:
            msg = await sock.receive_text()
        except Exception:
            return
        if (time.monotonic() - opened) * 1000 < ready_ms:
            await sock.close(code=1011)
            return
        await sock.send_text(msg)
        await sock.close(code=1000)

    return app


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--lifetime", type=float, default=60)
    ap.add_argument("--ready-ms", type=float, default=100000)
    args = ap.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(128)
    config = uvicorn.Config(make_app(args.ready_ms), log_level="error",
                            lifespan="off")
    server = uvicorn.Server(config)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    def stop(*_):
        server.should_exit = True

    loop.add_signal_handler(signal.SIGTERM, stop)
    loop.call_later(args.lifetime, stop)
    # The socket listens already: connections wait in its backlog until
    # uvicorn accepts them.
    print("listening on 127.0.0.1:%d" % sock.getsockname()[1], flush=True)
    loop.run_until_complete(server.serve(sockets=[sock]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
