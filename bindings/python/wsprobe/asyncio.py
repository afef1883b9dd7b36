"""wsprobe for asyncio: probe(), campaign() and merge() as coroutines.

They take the keywords of :func:`wsprobe.probe`, :func:`wsprobe.campaign`
and :func:`wsprobe.merge` and return the same Result and Report, but never
block the running event loop: the library runs the probes on a thread of
its own and the coroutine awaits its end. Cancelling the task cancels the
probes in flight (through the library's wsp_campaign_interrupt()) and
waits, without blocking the loop, until the library let go of them; the
CancelledError then propagates.

    import asyncio, wsprobe.asyncio

    async def main():
        r, rep = await asyncio.gather(
            wsprobe.asyncio.probe(url, send='{"type":"run"}'),
            wsprobe.asyncio.campaign(url, delays=[0, 300], count=3,
                                     send='{"type":"run"}'))
"""
from __future__ import annotations

import asyncio
from typing import Any

import wsprobe

__all__ = ["probe", "campaign", "merge"]


async def _run(func: str, url: Any, options: dict) -> Any:
    # Building checks the options and opens report files: quick, and its
    # errors belong to the caller, here.
    job = wsprobe._new_job(func, url, options)
    loop = asyncio.get_running_loop()
    finished = loop.create_future()

    def on_done() -> None:
        # From the library's thread; the loop may be gone by then.
        try:
            loop.call_soon_threadsafe(
                lambda: finished.done() or finished.set_result(None))
        except RuntimeError:
            pass

    try:
        job.start(on_done)
        try:
            await asyncio.shield(finished)
        except asyncio.CancelledError:
            job.interrupt()
            # The library lets go of the probes soon; until then the
            # campaign must stay alive. Further cancellations wait too.
            while not finished.done():
                try:
                    await asyncio.shield(finished)
                except asyncio.CancelledError:
                    pass
            raise
        return job.result()
    finally:
        if job.thread is None or job.done.is_set():
            job.close()
        else:
            # Only when the loop itself is torn down mid-run: let the
            # thread free the campaign when it ends.
            job.interrupt()
            job.thread.join()
            job.close()


async def probe(url: str, **options: Any) -> "wsprobe.Result":
    """:func:`wsprobe.probe` as a coroutine; cancelling it cancels the
    probe."""
    return await _run("probe", url, options)


async def campaign(url: str, **options: Any) -> "wsprobe.Report":
    """:func:`wsprobe.campaign` as a coroutine; cancelling it cancels every
    probe in flight and starts no more."""
    return await _run("campaign", url, options)


async def merge(paths: Any, **options: Any) -> "wsprobe.Report":
    """:func:`wsprobe.merge` as a coroutine: the reports are read, merged
    and written on a thread of their own while the loop stays free.
    Cancelling it stops the wait; the merge itself runs to its end."""
    return await asyncio.to_thread(wsprobe.merge, paths, **options)


wsprobe._with_keywords(probe, wsprobe.PROBE_KEYWORDS)
wsprobe._with_keywords(campaign, wsprobe.CAMPAIGN_KEYWORDS)
wsprobe._with_keywords(merge, wsprobe.MERGE_KEYWORDS, "paths")
