"""The benchmark workload on Debian's python3-websockets (asyncio): N probes
at concurrency C, each connect, upgrade offering jwt.<token>, send one text
message, receive one reply, close cleanly. Prints one JSON line of figures.

Usage: /usr/bin/python3 bench/py_client.py URL N C
"""
import asyncio
import json
import resource
import sys
import time

import websockets


async def one(url, lat):
    t0 = time.monotonic()
    async with websockets.connect(url, subprotocols=["jwt.bench.token.x"],
                                  compression=None, ping_interval=None) as ws:
        await ws.send("hi")
        await ws.recv()
    lat.append((time.monotonic() - t0) * 1000)


async def main(url, n, c):
    lat, sem = [], asyncio.Semaphore(c)
    failed = 0

    async def guarded():
        nonlocal failed
        async with sem:
            try:
                await one(url, lat)
            except Exception:
                failed += 1

    t0 = time.monotonic()
    await asyncio.gather(*(guarded() for _ in range(n)))
    return time.monotonic() - t0, sorted(lat), failed


url, n, c = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
wall, lat, failed = asyncio.run(main(url, n, c))
ru = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"client": "python-websockets", "n": n, "c": c,
                  "ok": len(lat), "failed": failed, "probes_per_s": n / wall,
                  "p50_ms": lat[len(lat) // 2] if lat else None,
                  "p99_ms": lat[int(len(lat) * 0.99) - 1] if lat else None,
                  "cpu_s": ru.ru_utime + ru.ru_stime,
                  "peak_rss_kb": ru.ru_maxrss}))
