"""Helpers for wsprobe's behaviour tests (stdlib only; run with /usr/bin/python3).

Binaries come from the environment (meson passes them), else from the build
directory next to the sources:

  WSPROBE_BIN        the wsprobe CLI        (default build/cli/wsprobe)
  RACESERVER_BIN     the raceserver fixture (default build/tests/servers/raceserver)
  WSPROBE_SERVERS    tests/servers          (interop servers)
  WSPROBE_PYTHON     Python with websockets (default /usr/bin/python3)
  NODE_BIN           node                   (default: node on PATH)

Network rule: every server listens on 127.0.0.1 (or ::1) only, and every
server started here is stopped by its PID: terminate, wait, kill. start_server()
registers that with the test case (addCleanup) and, as a last resort, atexit.
"""
import atexit
import json
import os
import re
import selectors
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD_DIR = os.path.join(REPO_ROOT, "build")

SERVERS_DIR = os.environ.get("WSPROBE_SERVERS",
                             os.path.join(REPO_ROOT, "tests", "servers"))
PY_WS_SERVER = os.path.join(SERVERS_DIR, "py_ws_server.py")
NODE_WS_SERVER = os.path.join(SERVERS_DIR, "node_ws_server.js")
AIOHTTP_SERVER = os.path.join(SERVERS_DIR, "aiohttp_server.py")
PYTHON = os.environ.get("WSPROBE_PYTHON", "/usr/bin/python3")
NODE = os.environ.get("NODE_BIN") or shutil.which("node")

# Every outcome name wsprobe reports (docs/report.md), in table order.
OUTCOMES = ["ok", "dns_failed", "connect_refused", "connect_timeout",
            "connect_failed", "tls_failed", "handshake_rejected",
            "handshake_invalid", "closed_by_server", "abnormal_closure",
            "protocol_error", "timeout", "expectation_failed", "cancelled",
            "internal_error", "proxy_rejected", "proxy_failed"]
PHASES = ["resolve", "connect", "tls", "upgrade", "open", "first_send",
          "awaiting_reply", "closing", "proxy"]
AGENT_EVENTS = ["agent_started", "agent_thinking", "tool_executing",
                "tool_completed", "agent_completed"]

# Every variable a proxy may come from (curl's, which wsprobe reads). The
# tests talk to 127.0.0.1 only: none may send their probes elsewhere, so
# none is inherited; a test that wants a proxy passes its own.
PROXY_VARS = ("ws_proxy", "WS_PROXY", "wss_proxy", "WSS_PROXY", "http_proxy",
              "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
              "ALL_PROXY", "no_proxy", "NO_PROXY")
for _var in PROXY_VARS:
    os.environ.pop(_var, None)

LISTEN_RE = re.compile(r"listening on (\[[0-9a-fA-F:.]+\]|[^\s:]+):(\d+)\s*$")


def _binary(env, default):
    """(path, why-missing): an env var that names a missing file is an error."""
    path = os.environ.get(env)
    if path:
        if not os.access(path, os.X_OK):
            raise RuntimeError("%s=%s is not an executable file" % (env, path))
        return path, None
    path = os.path.join(BUILD_DIR, default)
    if os.access(path, os.X_OK):
        return path, None
    return None, "%s not set and %s not built" % (env, path)


WSPROBE_BIN, WSPROBE_MISSING = _binary("WSPROBE_BIN", "cli/wsprobe")
RACESERVER_BIN, RACESERVER_MISSING = _binary("RACESERVER_BIN",
                                             "tests/servers/raceserver")

_live = set()  # Processes started here and not yet stopped.


class Server:
    """A started server: its process, port, and what it printed."""

    def __init__(self, proc, host, port, first_line):
        self.proc = proc
        self.host = host
        self.port = port
        self.first_line = first_line
        self.out = []  # Later stdout lines (drained so the pipe never fills).
        self.err = []  # stderr lines.

    def url(self, path="/"):
        return "ws://%s:%d%s" % (self.host, self.port, path)

    def output(self):
        return "".join(self.out) + "".join(self.err)


def _drain(stream, sink):
    try:
        for line in iter(stream.readline, b""):
            sink.append(line.decode("utf-8", "replace"))
    except (OSError, ValueError):
        pass


def _read_first_line(proc, timeout):
    """The first stdout line, read without blocking past the deadline."""
    fd = proc.stdout.fileno()
    buf = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no startup line within %gs" % timeout)
            if not sel.select(left):
                continue
            chunk = os.read(fd, 1)  # One byte: leave the rest in the pipe.
            if not chunk:
                raise RuntimeError("server exited before its startup line "
                                   "(status %s)" % proc.poll())
            buf += chunk
    return buf.decode("utf-8", "replace")


def start_server(argv, timeout=10, test=None):
    """Starts argv, waits for `listening on ADDR:PORT`, returns (proc, port).

    With `test` (a unittest.TestCase) the server is stopped by the test's
    cleanups, pass or fail; it is always stopped at exit at the latest. The
    returned proc carries `.server` (a Server: url(), output()).
    """
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _live.add(proc)
    if test is not None:
        test.addCleanup(stop, proc)
    err = []
    threading.Thread(target=_drain, args=(proc.stderr, err),
                     daemon=True).start()
    try:
        line = _read_first_line(proc, timeout)
        m = LISTEN_RE.search(line.strip())
        if m is None:
            raise RuntimeError("unexpected startup line %r" % line)
    except Exception as e:
        stop(proc)
        raise RuntimeError("%s: %s; stderr: %s"
                           % (" ".join(argv), e, "".join(err).strip()))
    host = m.group(1)
    srv = Server(proc, host, int(m.group(2)), line)
    srv.err = err
    threading.Thread(target=_drain, args=(proc.stdout, srv.out),
                     daemon=True).start()
    proc.server = srv
    return proc, srv.port


def stop(proc, timeout=5):
    """Stops a server by its PID: SIGTERM, wait, SIGKILL. Idempotent."""
    _live.discard(proc)
    if proc.poll() is None:
        try:
            proc.terminate()
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
        except ProcessLookupError:
            pass
    for f in (proc.stdout, proc.stderr):
        try:
            if f is not None:
                f.close()
        except OSError:
            pass
    return proc.returncode


@atexit.register
def _stop_all():
    for proc in list(_live):
        stop(proc)


def run_wsprobe(args, timeout=30, env=None):
    """Runs wsprobe with args (and `env`, variables added to this process's
    environment); returns (exit_code, stdout, stderr) as text."""
    if WSPROBE_BIN is None:
        raise unittest.SkipTest(WSPROBE_MISSING)
    p = subprocess.run([WSPROBE_BIN] + list(args), stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout,
                       env=None if env is None else {**os.environ, **env})
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"))


def run_json_full(args, timeout=30, env=None):
    """Adds `--json -`; returns (exit_code, report, stdout, stderr)."""
    rc, out, err = run_wsprobe(["--json", "-"] + list(args), timeout, env)
    try:
        report = json.loads(out)
    except ValueError as e:
        raise AssertionError("stdout is not JSON (%s); exit %d\nstdout: %s\n"
                             "stderr: %s" % (e, rc, out, err))
    return rc, report, out, err


def run_json(args, timeout=30):
    """Adds `--json -`; returns (exit_code, report_dict)."""
    rc, report, _out, _err = run_json_full(args, timeout)
    return rc, report


def free_port():
    """A port on 127.0.0.1 with nothing listening (bound, then closed)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def make_pki():
    """A new temporary directory holding the certificates of
    tests/tls/gen-certs.sh (the caller removes it)."""
    d = tempfile.mkdtemp(prefix="wsprobe-pki-")
    subprocess.run(["bash", os.path.join(REPO_ROOT, "tests", "tls",
                                         "gen-certs.sh"), d],
                   check=True, timeout=60, stdout=subprocess.DEVNULL)
    return d


def event_types(probe):
    return [e["type"] for e in probe["events"]]


class ProbeTestCase(unittest.TestCase):
    """Base class: server start-up with cleanup, and probe assertions."""

    maxDiff = None

    def setUp(self):
        if WSPROBE_BIN is None:
            self.fail(WSPROBE_MISSING)

    def server(self, argv, timeout=10):
        proc, _port = start_server(argv, timeout, test=self)
        return proc.server

    def probe(self, args, timeout=30, env=None):
        """Runs one probe; returns (exit_code, the probe, the report)."""
        rc, report, out, err = run_json_full(args, timeout, env)
        self._last = (rc, out, err)
        self.assertEqual(len(report["probes"]), 1, out)
        return rc, report["probes"][0], report

    def assertProbe(self, probe, outcome, phase, rc=None):
        """Outcome and phase, with the probe's error in the message."""
        what = "probe: %s" % json.dumps(probe, indent=1)
        self.assertEqual(probe["outcome"], outcome, what)
        self.assertEqual(probe["phase"], phase, what)
        self.assertIs(probe["passed"], outcome == "ok", what)
        if outcome == "ok":
            self.assertIsNone(probe["error"], what)
        else:
            self.assertIsInstance(probe["error"], str, what)
            self.assertTrue(probe["error"], what)
        if rc is not None:
            self.assertEqual(rc, 0 if outcome == "ok" else 1, what)

    def assertClose(self, close, code, reason=None):
        self.assertIsNotNone(close)
        self.assertEqual(close["code"], code, close)
        if reason is not None:
            self.assertEqual(close["reason"], reason, close)


class RaceserverCase(ProbeTestCase):
    """A probe test with raceserver; every server lives for one test."""

    #: How long a server lives at most (a safety net, in seconds).
    lifetime = 60

    def setUp(self):
        super().setUp()
        if RACESERVER_BIN is None:
            self.fail(RACESERVER_MISSING)

    def race(self, *opts):
        return self.server([RACESERVER_BIN, "--port", "0", "--lifetime",
                            str(self.lifetime)] + list(opts))
