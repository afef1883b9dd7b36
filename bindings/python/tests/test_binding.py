r"""Tests of the ctypes binding against raceserver (unittest classes, run
by pytest like the other files here).

Run with Debian's Python, from the meson suite (`meson test --suite py`) or
by hand:

  WSPROBE_LIBRARY=build/lib/libwsprobe.so.0 \
  RACESERVER_BIN=build/tests/servers/raceserver \
  PYTHONPATH=bindings/python \
    /usr/bin/python3 -m pytest bindings/python/tests/test_binding.py

Every server listens on 127.0.0.1 and is stopped by its PID.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import wsprobe  # noqa: E402
from conftest import Raceserver  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
RACESERVER = os.environ.get(
    "RACESERVER_BIN", os.path.join(REPO, "build", "tests", "servers",
                                   "raceserver"))
RUN = '{"type":"run"}'
AGENT_EVENTS = ["agent_started", "agent_thinking", "tool_executing",
                "tool_completed", "agent_completed"]
# The keys of a probe object in the JSON report (docs/report.md).
PROBE_KEYS = {"index", "outcome", "phase", "passed", "http_status",
              "http_reason", "http_headers", "http_body", "subprotocol",
              "close", "timings_ms", "timeline_ms", "messages", "events",
              "error"}


def setUpModule():
    # A missing fixture fails the run: a skipped test must not pass.
    if not os.access(RACESERVER, os.X_OK):
        raise RuntimeError("raceserver not built (set RACESERVER_BIN): %s"
                           % RACESERVER)


class BindingTest(unittest.TestCase):

    def server(self, *args):
        s = Raceserver(*args)
        self.addCleanup(s.stop)
        return s

    def test_expect_key(self):
        s = self.server("--on-message", "echo")
        r = wsprobe.probe(s.url(), send='{"event":"tick","type":"run"}',
                          expect=["tick"], expect_key="event",
                          timeout_ms=3000)
        self.assertEqual(r.outcome, "ok", r)
        self.assertEqual(r.event_types, ["tick"])
        r = wsprobe.probe(s.url(), send='{"event":"tick","type":"run"}',
                          expect=["tick"], timeout_ms=3000,
                          reply_timeout_ms=300)
        self.assertEqual(r.outcome, "expectation_failed", r)
        self.assertEqual(r.event_types, ["run"])
        with self.assertRaises(wsprobe.ConfigError) as e:
            wsprobe.probe(s.url(), send="x", expect_key="")
        self.assertIn("event key", str(e.exception))

    def test_resolve_and_peers(self):
        s = self.server("--on-message", "echo")
        pin = "pinned.invalid:%d:127.0.0.1" % s.port
        url = "ws://pinned.invalid:%d/" % s.port
        r = wsprobe.probe(url, send="hi", resolve=[pin], timeout_ms=3000)
        self.assertEqual(r.outcome, "ok", r)
        self.assertEqual(r.peer, "127.0.0.1:%d" % s.port)
        rep = wsprobe.campaign(url, count=2, send="hi", resolve=[pin],
                               address_policy="first")
        self.assertEqual(rep.summary["by_peer"],
                         [{"peer": "127.0.0.1:%d" % s.port, "total": 2,
                           "passed": 2, "outcomes": {"ok": 2}}])
        with self.assertRaises(wsprobe.ConfigError) as e:
            wsprobe.probe(url, resolve=["pinned.invalid:0:127.0.0.1"])
        self.assertIn("resolve", str(e.exception))

    def test_compress(self):
        # Debian's python3-websockets agrees to permessage-deflate.
        srv = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(REPO, "tests", "servers",
                                              "py_ws_server.py"),
             "--port", "0", "--mode", "echo", "--lifetime", "30"],
            stdout=subprocess.PIPE, text=True)
        self.addCleanup(srv.wait, 10)
        self.addCleanup(srv.terminate)
        line = srv.stdout.readline()
        self.assertTrue(line.startswith("listening on "), line)
        url = "ws://%s/" % line.split()[-1]
        r = wsprobe.probe(url, send="hi" * 100, compress=True,
                          timeout_ms=3000)
        self.assertEqual(r.outcome, "ok", r)
        self.assertTrue(r.extensions.startswith("permessage-deflate"), r)
        r = wsprobe.probe(url, send="hi", timeout_ms=3000)
        self.assertEqual(r.outcome, "ok", r)
        self.assertIsNone(r.extensions)

    def test_record_headers(self):
        s = self.server("--on-message", "echo", "--response-header",
                        "X-Served-By: replica-a")
        r = wsprobe.probe(s.url(), send="hi",
                          record_headers=["X-Served-By", "X-Absent"],
                          timeout_ms=3000)
        self.assertEqual(r.outcome, "ok", r)
        self.assertEqual(r.recorded_headers,
                         {"X-Served-By": "replica-a", "X-Absent": None})
        rep = wsprobe.campaign(s.url(), count=2, send="hi",
                               record_headers=["X-Served-By"])
        self.assertEqual(rep.summary["by_header"]["X-Served-By"][0]["value"],
                         "replica-a")
        self.assertEqual(rep.summary["by_header"]["X-Served-By"][0]["total"],
                         2)

    def test_ok_with_events(self):
        s = self.server()
        r = wsprobe.probe(s.url(), send=RUN,
                          expect=["agent_started", "agent_completed"],
                          expect_order=True, timeout_ms=3000)
        self.assertEqual(r.outcome, "ok", r)
        self.assertEqual(r.phase, "closing")
        self.assertTrue(r.passed)
        self.assertIsNone(r.error)
        self.assertEqual(r.http_status, 101)
        self.assertEqual(r.close_sent, (1000, ""))
        self.assertEqual(r.close_received, (1000, ""))
        self.assertEqual(r.event_types, AGENT_EVENTS)
        times = [t for _, t in r.events]
        self.assertEqual(times, sorted(times))
        self.assertGreater(r.timings_ms["total"], 0)
        self.assertIsNone(r.timings_ms["tls"])
        self.assertEqual(r.messages, 5)
        d = r.to_dict()
        self.assertTrue(PROBE_KEYS <= set(d), PROBE_KEYS - set(d))
        self.assertEqual(d["outcome"], "ok")
        self.assertEqual(d["close"]["received"], {"code": 1000, "reason": ""})
        d["outcome"] = "changed"  # A copy: the result is unchanged.
        self.assertEqual(r.to_dict()["outcome"], "ok")

    def test_1011_race(self):
        s = self.server("--ready-delay", "300")
        r = wsprobe.probe(s.url(), send=RUN, delay_ms=0, timeout_ms=3000)
        self.assertEqual(r.outcome, "closed_by_server", r)
        self.assertEqual(r.phase, "awaiting_reply")
        self.assertFalse(r.passed)
        self.assertEqual(r.close_received, (1011, "Internal error"))
        self.assertEqual(r.close_sent[0], 1011)
        self.assertIn("1011", r.error)
        self.assertIn("1011", str(r))

    def test_503(self):
        s = self.server("--reject-first", "100")
        r = wsprobe.probe(s.url(), send=RUN, timeout_ms=3000)
        self.assertEqual(r.outcome, "handshake_rejected", r)
        self.assertEqual(r.phase, "upgrade")
        self.assertEqual(r.http_status, 503)
        self.assertFalse(r.passed)
        self.assertIsNone(r.close_received)
        self.assertIsNone(r.close_sent)
        self.assertIn("503", r.error)

    def test_timeout(self):
        s = self.server("--on-message", "silent")
        r = wsprobe.probe(s.url(), send="hello", timeout_ms=300)
        self.assertEqual(r.outcome, "timeout", r)
        self.assertEqual(r.phase, "awaiting_reply")
        self.assertFalse(r.passed)
        self.assertIn("300 ms", r.error)

    def test_per_phase_timeout(self):
        s = self.server("--on-message", "silent")
        r = wsprobe.probe(s.url(), send="hello",
                          timeout_ms={"awaiting_reply": 200, "closing": 500})
        self.assertEqual((r.outcome, r.phase), ("timeout", "awaiting_reply"))
        self.assertIn("200 ms", r.error)

    def test_close_code_and_binary(self):
        s = self.server("--on-message", "close:4001:not now \u00e9")
        r = wsprobe.probe(s.url(), send=b"\x00\x01", binary=True,
                          timeout_ms=3000)
        self.assertEqual(r.outcome, "closed_by_server", r)
        self.assertEqual(r.close_received, (4001, "not now \u00e9"))
        self.assertEqual(r.close_sent, (4001, ""))

    def test_refused_is_a_result(self):
        # Nothing listens on port 1 of 127.0.0.1.
        r = wsprobe.probe("ws://127.0.0.1:1/", send="x", timeout_ms=2000)
        self.assertEqual((r.outcome, r.phase), ("connect_refused", "connect"))
        self.assertIsNone(r.http_status)

    def test_config_errors(self):
        with self.assertRaises(wsprobe.ConfigError) as cm:
            wsprobe.probe("http://x")
        self.assertIn("http://x", str(cm.exception))
        self.assertEqual(cm.exception.name, "WSP_EURL")
        self.assertIsInstance(cm.exception, ValueError)
        for headers in ({"Bad Name": "v"}, {"Host": "example.com"},
                        {"X-Ok": "a\r\nInjected: 1"}, [("X", "a\0b")]):
            with self.subTest(headers=headers):
                with self.assertRaises(wsprobe.ConfigError) as cm:
                    wsprobe.probe("ws://127.0.0.1:1/", headers=headers)
                self.assertTrue(str(cm.exception))
        with self.assertRaises(wsprobe.ConfigError):
            wsprobe.probe("ws://127.0.0.1:1/", delay_ms=-1)
        with self.assertRaises(wsprobe.ConfigError):
            wsprobe.probe("ws://127.0.0.1:1/", subprotocols=["not a token"])
        with self.assertRaises(wsprobe.ConfigError):
            wsprobe.probe("ws://127.0.0.1:1/", timeout_ms={"nope": 5})
        with self.assertRaises(wsprobe.ConfigError):
            wsprobe.probe("ws://127.0.0.1:1/", send=b"\xff", binary=False)
        with self.assertRaises(wsprobe.ConfigError):
            wsprobe.campaign("ws://127.0.0.1:1/", count=0)
        with self.assertRaises(TypeError):
            wsprobe.probe("ws://127.0.0.1:1/", no_such_option=1)

    def test_threads_run_in_parallel(self):
        s = self.server()
        start = time.monotonic()
        one = wsprobe.probe(s.url(), send=RUN, delay_ms=300,
                            expect=["agent_completed"], timeout_ms=5000)
        single = time.monotonic() - start
        self.assertEqual(one.outcome, "ok", one)
        self.assertGreaterEqual(single, 0.3)

        results = [None] * 8
        barrier = threading.Barrier(8)

        def work(i):
            barrier.wait()
            results[i] = wsprobe.probe(s.url(), send=RUN, delay_ms=300,
                                       expect=["agent_completed"],
                                       timeout_ms=5000)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        start = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        wall = time.monotonic() - start
        self.assertEqual([r.outcome for r in results], ["ok"] * 8,
                         [str(r) for r in results])
        # Serialised, 8 probes would take at least 8 x 300 ms; overlapped,
        # little more than one.
        self.assertLess(wall, 3 * single, "8 probes took %.3f s, one %.3f s"
                        % (wall, single))
        self.assertLess(wall, 8 * 0.3 / 2)

    def test_campaign_delay_sweep(self):
        s = self.server("--ready-delay", "200")
        rep = wsprobe.campaign(s.url(), count=3, delays=[0, 500],
                               concurrency=2, seed=7, send=RUN,
                               timeout_ms=3000)
        self.assertEqual(rep.failure_rates, {0: 1.0, 500: 0.0})
        self.assertEqual(rep.summary["total"], 6)
        self.assertEqual(rep.summary["passed"], 3)
        self.assertEqual(rep.summary["outcomes"]["closed_by_server"], 3)
        self.assertFalse(rep.passed)
        self.assertEqual(rep.campaign["mode"], "sweep")
        self.assertEqual(rep.campaign["seed"], 7)
        self.assertEqual(len(rep.probes), 6)
        self.assertEqual(sorted(p.index for p in rep.probes), list(range(6)))
        for p, raw in zip(rep.probes, rep.raw["probes"]):
            self.assertEqual(p.to_dict(), raw)
            expected = "ok" if raw["delay_ms"] == 500 else "closed_by_server"
            self.assertEqual(p.outcome, expected, p)
            # What was asked for, and what was achieved from the 101.
            self.assertEqual(p.delay_ms, raw["delay_ms"])
            self.assertGreaterEqual(p.delay_achieved_ms, p.delay_ms)
            # Only a window search discards runs (test_campaign.c makes
            # one lag); the mark is read from the report either way.
            self.assertIs(raw["discarded"], False)
            self.assertIs(p.discarded, False)
            self.assertIs(wsprobe.Result.from_dict(
                dict(raw, discarded=True)).discarded, True)
        self.assertIn("3 of 6 passed", rep.text)
        self.assertFalse(rep.interrupted)
        self.assertEqual(rep.planned, 6)

    def test_campaign_burst_delay(self):
        # Released 300 ms after the last connection opened: past the
        # server's 150 ms window, every probe passes.
        s = self.server("--ready-delay", "150")
        rep = wsprobe.campaign(s.url(), count=4, concurrency=4, burst=True,
                               delay_ms=300, send=RUN, timeout_ms=3000)
        self.assertTrue(rep.passed, rep.text)
        for p in rep.probes:
            self.assertGreaterEqual(p.delay_achieved_ms, 300)
        with self.assertRaises(wsprobe.ConfigError) as e:
            wsprobe.campaign(s.url(), count=4, concurrency=4, burst=True,
                             jitter_ms=10, send=RUN)
        self.assertIn("jitter", str(e.exception))

    def test_campaign_burst_on_threads(self):
        # Two loops, one burst: each loop reports whether it held a CPU of
        # its own while releasing, which it does exactly when the system
        # grants two CPUs and a real-time priority, asked here directly.
        s = self.server("--on-message", "echo")
        rep = wsprobe.campaign(s.url(), count=8, concurrency=8, burst=True,
                               threads=2, send=RUN, timeout_ms=3000)
        self.assertTrue(rep.passed, rep.text)
        self.assertEqual(rep.campaign["bursts"]["released"], 1)
        loops = rep.campaign["threads"]["loops"]
        self.assertEqual(len(loops), 2)

        def try_rt(out):
            try:
                os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
                out.append(True)
            except OSError:
                out.append(False)
        rt = []
        t = threading.Thread(target=try_rt, args=(rt,))
        t.start()
        t.join()
        hold = len(os.sched_getaffinity(0)) >= 2 and rt[0]
        for lp in loops:
            self.assertEqual(lp["bursts"], 1)
            self.assertEqual(lp["held_bursts"], 1 if hold else 0)
            self.assertEqual(lp["held_cpu"] is None, not hold)
        if hold:
            self.assertNotEqual(loops[0]["held_cpu"], loops[1]["held_cpu"])
            self.assertIn("held CPU", rep.text)
        else:
            self.assertIn("no CPU of its own", rep.text)

    def test_campaign_plain(self):
        s = self.server("--reject-first", "2", "--on-message", "echo")
        rep = wsprobe.campaign(s.url("/"), count=6, concurrency=3,
                               send="ping", timeout_ms=3000)
        self.assertEqual(rep.summary["outcomes"]["handshake_rejected"], 2)
        self.assertEqual(rep.summary["passed"], 4)
        self.assertEqual(rep.summary["http_statuses"], {"101": 4, "503": 2})

    def test_names(self):
        self.assertEqual(wsprobe.OUTCOMES[0], "ok")
        self.assertIn("closed_by_server", wsprobe.OUTCOMES)
        self.assertEqual(wsprobe.PHASES[0], "resolve")
        self.assertEqual(wsprobe.PHASES[-1], "closing")
        self.assertRegex(wsprobe.library_version(), r"^\d+\.\d+\.\d+$")


    def test_steps(self):
        url = self.server().url()
        r = wsprobe.probe(url, steps=[("send", '{"type":"run"}'),
                                      ("expect", "agent_completed"),
                                      ("send", '{"type":"run"}'),
                                      ("expect", "agent_started", 2000),
                                      ("close", 4000, "bye")])
        self.assertEqual(r.outcome, "ok", r.error)
        self.assertEqual(r.step, 4)
        self.assertEqual(r.close_sent, (4000, "bye"))
        r = wsprobe.probe(url, steps=[("send", "x"),
                                      ("expect", "never", 200)])
        self.assertEqual(r.outcome, "expectation_failed")
        self.assertEqual(r.step, 1)
        with self.assertRaises(wsprobe.ConfigError):
            wsprobe.probe(url, steps=[("close", 1006)])


class TlsResumeTest(unittest.TestCase):
    """wss:// sessions resumed within a campaign, and tls_resume=False."""

    @classmethod
    def setUpClass(cls):
        cls.pki = tempfile.mkdtemp(prefix="wsprobe-binding-pki-")
        subprocess.run(["bash", os.path.join(REPO, "tests", "tls",
                                             "gen-certs.sh"), cls.pki],
                       check=True, timeout=60, stdout=subprocess.DEVNULL)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.pki, ignore_errors=True)

    def test_resumed_by_default_and_full_when_off(self):
        s = Raceserver("--on-message", "echo", "--tls-tickets",
                       "--tls-cert", os.path.join(self.pki, "server.pem"),
                       "--tls-key", os.path.join(self.pki, "server.key"))
        self.addCleanup(s.stop)
        url = "wss://localhost:%d/" % s.port
        ca = os.path.join(self.pki, "ca.pem")
        rep = wsprobe.campaign(url, count=3, concurrency=1, send="hi",
                               cacert=ca, timeout_ms=5000)
        self.assertTrue(rep.passed, rep.text)
        tls = [p.tls for p in sorted(rep.probes, key=lambda p: p.index)]
        self.assertEqual([t["resumed"] for t in tls], [False, True, True])
        self.assertEqual([t["group"] for t in tls], ["x25519", None, None])
        self.assertTrue(all(t["verified"] for t in tls))
        self.assertEqual(rep.summary["tls_handshakes"],
                         {"full": 1, "resumed": 2})
        self.assertTrue(rep.raw["config"]["tls"]["resume"])
        rep = wsprobe.campaign(url, count=3, concurrency=1, send="hi",
                               cacert=ca, timeout_ms=5000, tls_resume=False)
        self.assertTrue(rep.passed, rep.text)
        self.assertEqual([p.tls["resumed"] for p in rep.probes],
                         [False] * 3)
        self.assertEqual(rep.summary["tls_handshakes"],
                         {"full": 3, "resumed": 0})
        self.assertFalse(rep.raw["config"]["tls"]["resume"])
        r = wsprobe.probe(url, send="hi", cacert=ca, timeout_ms=5000)
        self.assertEqual(r.tls["version"], "TLSv1.2")
        self.assertFalse(r.tls["resumed"])


class ReadmeTest(unittest.TestCase):

    def test_pytest_example(self):
        """The pytest example of README.md, run with pytest."""
        try:
            import pytest  # noqa: F401
        except ImportError:
            self.fail("pytest not installed (Debian: python3-pytest)")
        with open(os.path.join(os.path.dirname(HERE), "README.md")) as f:
            readme = f.read()
        blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
        example = [b for b in blocks if "import pytest" in b]
        self.assertEqual(len(example), 1, "one pytest example in README.md")
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "test_agent_ws.py")
            with open(path, "w") as f:
                f.write(example[0])
            env = dict(os.environ, RACESERVER_BIN=RACESERVER,
                       PYTHONPATH=os.path.dirname(HERE),
                       PYTHONDONTWRITEBYTECODE="1")
            p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p",
                                "no:cacheprovider", path], cwd=tmp, env=env,
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("4 passed", p.stdout)

    def test_readme_says_debians_pytest(self):
        for path in (os.path.join(os.path.dirname(HERE), "README.md"),
                     os.path.join(REPO, "README.md")):
            with open(path) as f:
                readme = f.read()
            # "python3" on PATH may be a Python without pytest.
            commands = re.findall(r"[\w/]*python3 -m pytest", readme)
            self.assertTrue(commands, path)
            self.assertEqual(set(commands), {"/usr/bin/python3 -m pytest"},
                             path)

    def test_top_level_readme_example(self):
        """The Python example of the repository's README.md, run as a
        script against raceserver with the demo's 300 ms window."""
        with open(os.path.join(REPO, "README.md")) as f:
            readme = f.read()
        blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
        self.assertEqual(len(blocks), 1, "one Python example in README.md")
        self.assertIn("wsprobe.asyncio", blocks[0])
        s = Raceserver("--ready-delay", "300")
        self.addCleanup(s.stop)
        env = dict(os.environ, WSPROBE_URL=s.url(),
                   PYTHONPATH=os.path.dirname(HERE),
                   PYTHONDONTWRITEBYTECODE="1")
        with tempfile.TemporaryDirectory() as tmp:
            p = subprocess.run([sys.executable, "-c", blocks[0]], env=env,
                               cwd=tmp, capture_output=True, text=True,
                               timeout=60)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            written = sorted(os.listdir(tmp))
        # Each print's value is the comment beside it in the README.
        expected = re.findall(r"^print\(.*\)  # (.*)$", blocks[0], re.M)
        self.assertEqual(p.stdout.splitlines(), expected)
        self.assertEqual(written, ["merged.html", "shard-0.json",
                                   "shard-1.json", "sweep.html",
                                   "sweep.json", "sweep.xml"])

    def test_asyncio_and_reports_example(self):
        """The asyncio example of README.md, run as a script."""
        with open(os.path.join(os.path.dirname(HERE), "README.md")) as f:
            readme = f.read()
        blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
        example = [b for b in blocks if "wsprobe.asyncio" in b]
        self.assertEqual(len(example), 1, "one asyncio example in README.md")
        env = dict(os.environ, RACESERVER_BIN=RACESERVER,
                   PYTHONPATH=os.path.dirname(HERE),
                   PYTHONDONTWRITEBYTECODE="1")
        p = subprocess.run([sys.executable, "-c", example[0]], env=env,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(p.stdout.strip(),
                         "['merged.xml', 'shard-0.json', 'shard-1.json', "
                         "'sweep.html', 'sweep.json', 'sweep.xml']")


class LoadTest(unittest.TestCase):

    def import_in(self, tmp, library, build_tree):
        """`import wsprobe` from a copy of the package outside the
        repository, with a build tree beside it or not."""
        pkg = os.path.join(tmp, "repo", "bindings", "python")
        shutil.copytree(os.path.join(os.path.dirname(HERE), "wsprobe"),
                        os.path.join(pkg, "wsprobe"))
        if build_tree:
            os.makedirs(os.path.join(tmp, "repo", "build", "lib"))
            shutil.copy(wsprobe.library_path, os.path.join(
                tmp, "repo", "build", "lib", "libwsprobe.so.0"))
        env = dict(os.environ, PYTHONPATH=pkg, PYTHONDONTWRITEBYTECODE="1")
        env.pop("WSPROBE_LIBRARY", None)
        if library is not None:
            env["WSPROBE_LIBRARY"] = library
        # meson puts the build's lib/ on LD_LIBRARY_PATH for tests (an
        # LD_PRELOAD of a sanitizer runtime stays: a sanitized copy needs
        # it first).
        env.pop("LD_LIBRARY_PATH", None)
        # cwd: "-c" puts the working directory first on sys.path.
        return subprocess.run(
            [sys.executable, "-c",
             "import wsprobe; print(wsprobe.library_path)"],
            env=env, cwd=tmp, capture_output=True, text=True, timeout=60)

    def test_mistyped_library_is_an_error(self):
        # A build tree that would load lies next to the package: a typo in
        # WSPROBE_LIBRARY must not silently fall back to it.
        with tempfile.TemporaryDirectory() as tmp:
            p = self.import_in(tmp, "/nonexistent/libwsprobe.so.0", True)
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertIn("ImportError: cannot load libwsprobe from "
                      "WSPROBE_LIBRARY: /nonexistent/libwsprobe.so.0", p.stderr)
        self.assertNotIn("build tree", p.stderr)

    def test_build_tree_next_to_the_sources(self):
        with tempfile.TemporaryDirectory() as tmp:
            p = self.import_in(tmp, None, True)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stdout.strip(), os.path.join(
                tmp, "repo", "build", "lib", "libwsprobe.so.0"))

    def test_import_error_names_every_path(self):
        with tempfile.TemporaryDirectory() as tmp:
            p = self.import_in(tmp, None, False)
        if p.returncode == 0:
            self.fail("libwsprobe is installed on the system path")
        self.assertIn("ImportError", p.stderr)
        self.assertIn(os.path.join(tmp, "repo", "build", "lib",
                                   "libwsprobe.so.0"), p.stderr)
        self.assertIn("libwsprobe.so.0 (system)", p.stderr)


if __name__ == "__main__":
    unittest.main()
