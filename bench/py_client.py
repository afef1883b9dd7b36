"""The benchmark workload on Debian's python3-websockets (10.4, asyncio API):
N probes, C in flight (C worker tasks), each: connect, upgrade offering
`Sec-WebSocket-Protocol: jwt.<token>`, send one text message, receive one
reply, close cleanly (close 1000, the server's close, the server's EOF).
Prints one JSON line: probes/s, p50/p99 latency, CPU seconds, peak RSS.

Held-open mode (HOLD_MS > 0, C == N): open every connection, and once all
are open hold them HOLD_MS, then close them cleanly; no message is sent.

For wss:// URLs, CAFILE is the CA to verify the server against (an
ssl.SSLContext from ssl.create_default_context; like every Python client
that does not pass a session, each connection is a full TLS handshake).

Usage: /usr/bin/python3 bench/py_client.py URL N C [HOLD_MS] [TOKEN] [CAFILE]
"""
import asyncio
import json
import math
import resource
import ssl
import sys
import time

import websockets


def rank(v, q):
    """Nearest-rank percentile of a sorted list, as the other clients."""
    return v[min(len(v) - 1, max(0, math.ceil(q * len(v)) - 1))] if v else None


SSL = None  # The client's SSLContext for wss:// URLs.


def connect(url, token):
    return websockets.connect(url, subprotocols=["jwt." + token],
                              compression=None, ping_interval=None,
                              open_timeout=120, close_timeout=30,
                              max_queue=None, ssl=SSL)


async def probes(url, n, c, token):
    lat, failed, nxt = [], 0, 0

    async def worker():
        nonlocal failed, nxt
        while nxt < n:
            nxt += 1
            t0 = time.monotonic()
            try:
                async with connect(url, token) as ws:
                    await ws.send("hi")
                    await ws.recv()
                lat.append((time.monotonic() - t0) * 1000)
            except Exception:
                failed += 1

    t0 = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(c)))
    return time.monotonic() - t0, lat, failed


async def held(url, n, hold_ms, token):
    lat, failed, opened = [], 0, 0
    all_open, release = asyncio.Event(), asyncio.Event()

    async def one():
        nonlocal failed, opened
        t0 = time.monotonic()
        ws = None
        try:
            ws = await connect(url, token)
        except Exception:
            failed += 1
        opened += 1
        if opened == n:
            all_open.set()
        if ws is None:
            return
        await release.wait()
        try:
            await ws.close()
            lat.append((time.monotonic() - t0) * 1000)
        except Exception:
            failed += 1

    async def timer():
        await all_open.wait()
        await asyncio.sleep(hold_ms / 1000)
        release.set()

    t0 = time.monotonic()
    await asyncio.gather(timer(), *(one() for _ in range(n)))
    return time.monotonic() - t0, lat, failed


def main():
    global SSL
    url, n, c = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if url.startswith("wss:"):
        SSL = ssl.create_default_context(
            cafile=sys.argv[6] if len(sys.argv) > 6 else None)
    hold = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    token = sys.argv[5] if len(sys.argv) > 5 else "bench.token.x"
    if hold > 0:
        wall, lat, failed = asyncio.run(held(url, n, hold, token))
    else:
        wall, lat, failed = asyncio.run(probes(url, n, c, token))
    lat.sort()
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"client": "python-websockets", "n": n, "c": c,
                      "ok": len(lat), "failed": failed,
                      "probes_per_s": n / wall,
                      "p50_ms": rank(lat, 0.5), "p99_ms": rank(lat, 0.99),
                      "cpu_s": ru.ru_utime + ru.ru_stime,
                      "peak_rss_kb": ru.ru_maxrss}))


main()
