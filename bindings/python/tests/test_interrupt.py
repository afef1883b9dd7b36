"""Ctrl-C: SIGINT during a campaign (or a probe) raises wsprobe.Interrupted,
a KeyboardInterrupt carrying what ran, soon; reports asked for are written.
Each case runs in a child Python, which the test interrupts like a user."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

from conftest import BINDING, RUN

CHILD = textwrap.dedent("""
    import json, sys, time
    import wsprobe
    url, report, kind = sys.argv[1], sys.argv[2], sys.argv[3]
    print("started", flush=True)
    t0 = time.monotonic()
    try:
        if kind == "campaign":
            wsprobe.campaign(url, duration_ms=8000, concurrency=4,
                             send=%(run)r, delay_ms=100, json=report)
        else:
            wsprobe.probe(url, send=%(run)r, delay_ms=8000)
        print(json.dumps({"raised": None}))
    except wsprobe.Interrupted as e:
        r = e.result
        print(json.dumps({
            "raised": type(e).__name__,
            "keyboard": isinstance(e, KeyboardInterrupt),
            "after": time.monotonic() - t0,
            "total": r.summary["total"] if kind == "campaign" else None,
            "interrupted": r.interrupted if kind == "campaign" else None,
            "passed": r.passed,
            "outcome": None if kind == "campaign" else str(r.outcome)}))
""") % {"run": RUN}


def interrupt(url, kind, tmp_path):
    report = str(tmp_path / "r.json")
    env = dict(os.environ, PYTHONPATH=BINDING)
    proc = subprocess.Popen([sys.executable, "-c", CHILD, url, report, kind],
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout.readline() == "started\n"
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, out
    return json.loads(out), report


def test_sigint_during_a_campaign(raceserver, tmp_path):
    s = raceserver()
    got, report = interrupt(s.url(), "campaign", tmp_path)
    assert got["raised"] == "Interrupted" and got["keyboard"]
    # 0.5 s into 8 s: over well before 4 s.
    assert got["after"] < 4.0, got
    assert got["total"] > 0 and got["interrupted"] and not got["passed"]
    with open(report) as f:
        written = json.load(f)
    assert written["summary"]["total"] == got["total"]
    assert written["summary"]["outcomes"]["cancelled"] > 0


def test_sigint_during_a_probe(raceserver, tmp_path):
    s = raceserver()
    got, _ = interrupt(s.url(), "probe", tmp_path)
    assert got["raised"] == "Interrupted" and got["keyboard"]
    assert got["after"] < 4.0, got
    assert got["outcome"] == "cancelled" and not got["passed"]
