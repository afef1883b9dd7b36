"""wsprobe.asyncio: coroutines that never block the running loop, run
side by side, and cancel their probes when their task is cancelled."""
import asyncio
import threading
import time

import pytest

import wsprobe
import wsprobe.asyncio
from conftest import RUN


async def ticker(stop, gaps):
    """Ticks every 10 ms and records the longest gap between ticks."""
    last = time.monotonic()
    while not stop.is_set():
        await asyncio.sleep(0.01)
        now = time.monotonic()
        gaps.append(now - last)
        last = now


def test_probe_and_campaign(raceserver):
    s = raceserver("--ready-delay", "200")

    async def main():
        return await asyncio.gather(
            wsprobe.asyncio.probe(s.url(), send=RUN, delay_ms=300,
                                  expect=["agent_completed"]),
            wsprobe.asyncio.campaign(s.url(), delays=[0, 400], count=2,
                                     send=RUN, seed=2))
    r, rep = asyncio.run(main())
    assert isinstance(r, wsprobe.Result) and r.passed, r
    assert rep.failure_rates == {0: 1.0, 400: 0.0}
    assert r.outcome is wsprobe.Outcome.OK


def test_never_blocks_the_loop(raceserver):
    # A campaign of about 1.2 s: a loop it blocked would miss its ticks for
    # that long; it misses none for more than a fraction of it.
    s = raceserver("--on-message", "echo", "--reply-delay", "300")

    async def main():
        stop, gaps = asyncio.Event(), []
        tick = asyncio.create_task(ticker(stop, gaps))
        t0 = time.monotonic()
        rep = await wsprobe.asyncio.campaign(s.url("/"), count=4,
                                             concurrency=1, send="x")
        took = time.monotonic() - t0
        stop.set()
        await tick
        return rep, took, max(gaps), len(gaps)
    rep, took, worst, ticks = asyncio.run(main())
    assert rep.passed and rep.summary["total"] == 4, rep.text
    assert took >= 1.2
    assert ticks > 10
    assert worst < took / 2, "the loop stalled %.3f s of %.3f s" % (worst,
                                                                    took)


def test_cancel_cancels_the_probes(raceserver):
    s = raceserver()
    before = threading.active_count()

    async def main():
        task = asyncio.create_task(wsprobe.asyncio.campaign(
            s.url(), duration_ms=8000, concurrency=4, send=RUN,
            delay_ms=100))
        await asyncio.sleep(0.5)
        t0 = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - t0
    took = asyncio.run(main())
    assert took < 3.5
    # The library's thread is gone: nothing runs behind the caller's back.
    assert threading.active_count() == before
    assert not [t for t in threading.enumerate()
                if t.name.startswith("wsprobe-")]


def test_config_errors_raise_in_the_coroutine():
    async def main():
        with pytest.raises(wsprobe.ConfigError, match="delays needs send"):
            await wsprobe.asyncio.campaign("ws://127.0.0.1:1/", delays=[0])
        with pytest.raises(TypeError, match="unexpected keyword"):
            await wsprobe.asyncio.probe("ws://127.0.0.1:1/", count=1)
    asyncio.run(main())
