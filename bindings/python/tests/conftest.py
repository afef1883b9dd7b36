"""Fixtures of the binding's pytest suite: raceserver and the CLI, from the
environment meson gives the tests (or the build tree next to the sources).

  RACESERVER_BIN   the raceserver fixture
  WSPROBE_BIN      the CLI (for the parity test)
  WSPROBE_LIBRARY  the library the binding loads

Every server listens on 127.0.0.1 and is stopped by its PID.
"""
import os
import subprocess
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
BINDING = os.path.dirname(HERE)
REPO = os.path.dirname(os.path.dirname(BINDING))
sys.path.insert(0, BINDING)

RACESERVER = os.environ.get("RACESERVER_BIN", os.path.join(
    REPO, "build", "tests", "servers", "raceserver"))
WSPROBE = os.environ.get("WSPROBE_BIN", os.path.join(REPO, "build", "cli",
                                                     "wsprobe"))
RUN = '{"type":"run"}'
PROXY = os.path.join(REPO, "tests", "servers", "connect_proxy.py")

# The tests talk to 127.0.0.1 only: no inherited proxy may take their
# probes elsewhere (a test that wants one passes its own).
for _var in ("ws_proxy", "WS_PROXY", "wss_proxy", "WSS_PROXY", "http_proxy",
             "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
             "ALL_PROXY", "no_proxy", "NO_PROXY"):
    os.environ.pop(_var, None)


class Raceserver:
    """raceserver on 127.0.0.1:0, stopped by its PID."""

    def __init__(self, *args):
        if not os.access(RACESERVER, os.X_OK):
            # A missing fixture fails the run: a skipped test must not pass.
            raise RuntimeError("raceserver not built (set RACESERVER_BIN): "
                               + RACESERVER)
        self.out = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [RACESERVER, "--port", "0", "--lifetime", "120", "--quiet",
             *args], stdout=self.out, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.proc.poll() is None:
            self.out.seek(0)
            line = self.out.readline()
            if line.endswith("\n") and "listening on " in line:
                self.port = int(line.rsplit(":", 1)[1])
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("raceserver %s did not start" % (args,))

    def url(self, path="/agent"):
        return "ws://127.0.0.1:%d%s" % (self.port, path)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()


@pytest.fixture
def raceserver():
    """A factory: raceserver(*args) starts one, stopped after the test."""
    started = []

    def start(*args):
        s = Raceserver(*args)
        started.append(s)
        return s
    yield start
    for s in started:
        s.stop()


@pytest.fixture
def wsprobe_cli():
    if not os.access(WSPROBE, os.X_OK):
        raise RuntimeError("wsprobe not built (set WSPROBE_BIN): " + WSPROBE)
    return WSPROBE
