"""Behaviour of the wsprobe CLI against the raceserver fixture.

Every case asserts what a user would rely on: the outcome name, the phase,
close codes and reasons, HTTP statuses, the exit status, the JSON shape.
"""
import json
import os
import re
import socket
import tempfile
import time
import unittest

import harness
from harness import (AGENT_EVENTS, OUTCOMES, ProbeTestCase, RaceserverCase,
                     event_types)

TOKEN = "abc.def.ghi"


def read_project_version():
    with open(harness.REPO_ROOT + "/meson.build") as f:
        m = re.search(r"version:\s*'([^']+)'", f.read())
    return m.group(1)


class TestOk(RaceserverCase):

    def test_ok_with_expected_events(self):
        srv = self.race()
        rc, p, rep = self.probe(["--send", '{"type":"hello"}',
                                 "--expect", "agent_started",
                                 "--expect", "agent_completed", srv.url()])
        self.assertProbe(p, "ok", "closing", rc)
        self.assertEqual(p["http_status"], 101)
        self.assertClose(p["close"]["sent"], 1000)
        self.assertClose(p["close"]["received"], 1000)
        types = event_types(p)
        # The five agent events, in order (other events may be around them).
        self.assertEqual([t for t in types if t in AGENT_EVENTS],
                         AGENT_EVENTS, types)
        self.assertGreaterEqual(p["messages"], 5)
        t = p["timings_ms"]
        for k in ("connect", "upgrade", "first_reply", "close", "total"):
            self.assertIsInstance(t[k], (int, float), k)
            self.assertGreaterEqual(t[k], 0, k)
        self.assertLessEqual(t["upgrade"], t["total"])
        s = rep["summary"]
        self.assertEqual((s["total"], s["passed"], s["failed"]), (1, 1, 0))
        self.assertEqual(s["outcomes"]["ok"], 1)

    def test_human_summary_on_stdout(self):
        srv = self.race()
        rc, out, err = harness.run_wsprobe(["--send", '{"type":"hello"}',
                                            srv.url()])
        self.assertEqual(rc, 0, out + err)
        self.assertIn("ok", out)
        self.assertIn("PASS", out)
        self.assertEqual(err, "")

    def test_quiet(self):
        srv = self.race()
        rc, out, err = harness.run_wsprobe(["-q", "--send", "x", srv.url()])
        self.assertEqual((rc, out, err), (0, "", ""))

    def test_json_to_file(self):
        srv = self.race()
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "r.json")
            rc, out, _ = harness.run_wsprobe(["--json", path, "--send", "x",
                                              srv.url()])
            self.assertEqual(rc, 0)
            with open(path) as f:
                rep = json.load(f)
        self.assertEqual(rep["probes"][0]["outcome"], "ok")
        self.assertIn("PASS", out)  # The summary stays on stdout.


class TestReadinessRace(RaceserverCase):
    """The bug wsprobe exists for: a message before the server is ready."""

    def test_message_before_ready_is_closed_1011(self):
        srv = self.race("--ready-delay", "300")
        rc, p, rep = self.probe(["--send", "hi", "--delay", "0", srv.url()])
        self.assertProbe(p, "closed_by_server", "awaiting_reply", rc)
        self.assertEqual(p["close"]["received"],
                         {"code": 1011, "reason": "Internal error"})
        self.assertEqual(p["http_status"], 101)
        self.assertEqual(rep["summary"]["close_codes"], {"1011": 1})
        self.assertEqual(rep["summary"]["outcomes"]["closed_by_server"], 1)

    def test_message_after_ready_is_ok(self):
        srv = self.race("--ready-delay", "300")
        rc, p, _ = self.probe(["--send", "hi", "--delay", "600", srv.url()])
        self.assertProbe(p, "ok", "closing", rc)
        self.assertClose(p["close"]["received"], 1000)
        # The delay really happened between open and first send.
        tl = p["timeline_ms"]
        self.assertGreaterEqual(tl["first_sent"] - tl["open"], 590)


class TestRejected(RaceserverCase):

    def test_503_json(self):
        srv = self.race("--reject-first", "100")
        rc, p, rep = self.probe(["--send", "hi", srv.url()])
        self.assertProbe(p, "handshake_rejected", "upgrade", rc)
        self.assertEqual(p["http_status"], 503)
        self.assertEqual(p["http_headers"]["retry-after"], "5")
        self.assertEqual(p["http_headers"]["content-type"],
                         "application/json")
        self.assertIsNone(p["close"]["received"])
        self.assertIsNone(p["close"]["sent"])
        self.assertIsNone(p["timings_ms"]["first_reply"])
        s = rep["summary"]
        self.assertEqual(s["http_statuses"], {"503": 1})
        self.assertEqual((s["total"], s["passed"], s["failed"]), (1, 0, 1))
        self.assertEqual(s["outcomes"]["ok"], 0)
        self.assertEqual(s["outcomes"]["handshake_rejected"], 1)

    def test_503_human_summary(self):
        srv = self.race("--reject-first", "100")
        rc, out, err = harness.run_wsprobe(["--send", "hi", srv.url()])
        self.assertEqual(rc, 1, out + err)
        self.assertIn("503", out)
        self.assertIn("handshake_rejected", out)
        self.assertNotIn("PASS", out)

    def test_503_json_stdout_summary_stderr(self):
        srv = self.race("--reject-first", "100")
        rc, rep, out, err = harness.run_json_full(["--send", "hi", srv.url()])
        self.assertEqual(rc, 1)
        self.assertIn("handshake_rejected", err)
        self.assertIn("503", err)

    def test_some_rejected_some_ok(self):
        srv = self.race("--reject-first", "2")
        rc, rep = harness.run_json(["-n", "4", "-c", "2", "--send", "hi",
                                    srv.url()])
        self.assertEqual(rc, 1)
        outcomes = sorted(p["outcome"] for p in rep["probes"])
        self.assertEqual(outcomes, ["handshake_rejected"] * 2 + ["ok"] * 2)
        s = rep["summary"]
        self.assertEqual((s["total"], s["passed"], s["failed"]), (4, 2, 2))
        self.assertEqual(s["outcomes"]["handshake_rejected"], 2)
        self.assertEqual(s["outcomes"]["ok"], 2)
        self.assertEqual(sum(s["outcomes"].values()), 4)
        self.assertEqual(s["http_statuses"], {"101": 2, "503": 2})
        for p in rep["probes"]:
            self.assertEqual(p["passed"], p["outcome"] == "ok")
            self.assertEqual(p["http_status"],
                             101 if p["outcome"] == "ok" else 503)

    def test_jwt_required_401(self):
        srv = self.race("--require-jwt")
        rc, p, _ = self.probe(["--send", "hi", srv.url()])
        self.assertProbe(p, "handshake_rejected", "upgrade", rc)
        self.assertEqual(p["http_status"], 401)


class TestConnect(RaceserverCase):

    def setUp(self):
        # No raceserver needed here.
        ProbeTestCase.setUp(self)

    def test_connect_refused(self):
        port = harness.free_port()
        rc, p, rep = self.probe(["--send", "hi",
                                 "ws://127.0.0.1:%d/" % port])
        self.assertProbe(p, "connect_refused", "connect", rc)
        self.assertEqual(rc, 1)
        self.assertIsNone(p["http_status"])
        self.assertIsNone(p["http_reason"])
        self.assertIsNone(p["subprotocol"])
        self.assertEqual(p["close"], {"received": None, "sent": None})
        self.assertIsNone(p["timings_ms"]["upgrade"])
        self.assertEqual(p["events"], [])
        self.assertEqual(p["messages"], 0)
        self.assertEqual(rep["summary"]["http_statuses"], {})
        self.assertEqual(rep["summary"]["close_codes"], {})

    def test_connect_refused_ipv6(self):
        try:
            s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            s.bind(("::1", 0))
        except OSError:
            self.fail("no ::1")
        port = s.getsockname()[1]
        s.close()
        rc, p, _ = self.probe(["ws://[::1]:%d/" % port])
        self.assertProbe(p, "connect_refused", "connect", rc)


class TestHandshakeInvalid(RaceserverCase):

    def test_each_broken_handshake(self):
        for mode in ("bad-accept", "no-upgrade", "unoffered-subprotocol"):
            with self.subTest(handshake=mode):
                srv = self.race("--handshake", mode)
                rc, p, _ = self.probe(["--send", "hi", srv.url()])
                self.assertProbe(p, "handshake_invalid", "upgrade", rc)
                self.assertEqual(p["http_status"], 101)
                self.assertIsNone(p["close"]["received"])
                self.assertEqual(p["messages"], 0)


class TestServerBehaviour(RaceserverCase):

    def test_drop_is_abnormal_closure(self):
        srv = self.race("--on-message", "drop")
        rc, p, rep = self.probe(["--send", "hi", srv.url()])
        self.assertProbe(p, "abnormal_closure", "awaiting_reply", rc)
        self.assertClose(p["close"]["received"], 1006)
        self.assertEqual(rep["summary"]["close_codes"], {"1006": 1})

    def test_rst_is_abnormal_closure(self):
        srv = self.race("--on-message", "rst")
        rc, p, _ = self.probe(["--send", "hi", srv.url()])
        self.assertProbe(p, "abnormal_closure", "awaiting_reply", rc)
        self.assertClose(p["close"]["received"], 1006)

    def test_silent_is_timeout(self):
        srv = self.race("--on-message", "silent")
        t0 = time.monotonic()
        rc, p, _ = self.probe(["--send", "hi", "--reply-timeout", "300",
                               srv.url()])
        wall = time.monotonic() - t0
        self.assertProbe(p, "timeout", "awaiting_reply", rc)
        self.assertEqual(p["messages"], 0)
        self.assertLess(wall, 4.0)
        # The reply timeout, not another one, ended the wait.
        tl = p["timeline_ms"]
        self.assertIsNone(tl["first_received"])
        self.assertGreaterEqual(tl["closed"] - tl["first_sent"], 290)
        # It leaves with a close frame, not by vanishing.
        self.assertClose(p["close"]["sent"], 1000)
        self.assertGreaterEqual(tl["close_sent"] - tl["first_sent"], 290)

    def test_reply_without_expected_event(self):
        srv = self.race("--on-message", "echo")
        rc, p, _ = self.probe(["--send", '{"type":"x"}',
                               "--expect", "agent_completed",
                               "--reply-timeout", "300", srv.url()])
        self.assertProbe(p, "expectation_failed", "awaiting_reply", rc)
        self.assertGreaterEqual(p["messages"], 1)
        self.assertIn("x", event_types(p))
        self.assertNotIn("agent_completed", event_types(p))

    def test_close_codes_1012_1013_1014(self):
        for code, reason in ((1012, "restarting"), (1013, "try later"),
                             (1014, "bad gateway")):
            with self.subTest(code=code):
                srv = self.race("--on-message",
                                "close:%d:%s" % (code, reason))
                rc, p, rep = self.probe(["--send", "hi", srv.url()])
                self.assertProbe(p, "closed_by_server", "awaiting_reply", rc)
                self.assertEqual(p["close"]["received"],
                                 {"code": code, "reason": reason})
                self.assertClose(p["close"]["sent"], code)
                self.assertEqual(rep["summary"]["close_codes"],
                                 {str(code): 1})

    def test_events_then_close(self):
        # The client still awaits an event that never comes, so the server's
        # close arrives in awaiting_reply whatever the event pacing.
        srv = self.race("--on-message", "events-then-close:1011")
        rc, p, _ = self.probe(["--send", "hi", "--expect", "agent_started",
                               "--expect", "never_sent", "--reply-timeout",
                               "3000", srv.url()])
        self.assertProbe(p, "closed_by_server", "awaiting_reply", rc)
        self.assertEqual(event_types(p), AGENT_EVENTS)
        self.assertClose(p["close"]["received"], 1011)
        self.assertClose(p["close"]["sent"], 1011)
        self.assertIn("never_sent", p["error"])

    def test_greeting_in_same_read_as_101(self):
        srv = self.race("--greeting", '{"type":"welcome"}')
        rc, p, _ = self.probe(["--send", '{"type":"hello"}',
                               "--expect", "agent_completed", srv.url()])
        self.assertProbe(p, "ok", "closing", rc)
        types = event_types(p)
        self.assertEqual(types[0], "welcome", types)
        self.assertIn("agent_completed", types)


class TestJwt(RaceserverCase):

    def test_jwt_redacted(self):
        srv = self.race("--require-jwt")
        rc, rep, out, err = harness.run_json_full(
            ["--jwt", TOKEN, "--send", "hi", srv.url()])
        p = rep["probes"][0]
        self.assertProbe(p, "ok", "closing", rc)
        self.assertEqual(p["subprotocol"], "jwt.<redacted>")
        self.assertNotIn(TOKEN, out)
        self.assertNotIn(TOKEN, err)
        # Nor in the human summary on stdout.
        rc, out, err = harness.run_wsprobe(["--jwt", TOKEN, "--send", "hi",
                                            srv.url()])
        self.assertEqual(rc, 0, out + err)
        self.assertNotIn(TOKEN, out + err)

    def test_jwt_show_secrets(self):
        srv = self.race("--require-jwt")
        rc, rep, out, err = harness.run_json_full(
            ["--jwt", TOKEN, "--show-secrets", "--send", "hi", srv.url()])
        p = rep["probes"][0]
        self.assertProbe(p, "ok", "closing", rc)
        self.assertEqual(p["subprotocol"], "jwt." + TOKEN)
        self.assertIn(TOKEN, out)

    def test_jwt_bearer_header_redacted_in_config(self):
        srv = self.race()
        rc, rep, out, err = harness.run_json_full(
            ["--jwt", TOKEN, "--jwt-placement", "bearer",
             "-H", "X-Api-Key: sekrit-value", "--send", "hi", srv.url()])
        self.assertEqual(rep["probes"][0]["outcome"], "ok", rep["probes"])
        self.assertNotIn(TOKEN, out + err)
        self.assertNotIn("sekrit-value", out + err)


class TestUsage(unittest.TestCase):
    """Usage errors: exit 2, one line on stderr naming the problem."""

    URL = "ws://127.0.0.1:9/"

    def setUp(self):
        if harness.WSPROBE_BIN is None:
            self.fail(harness.WSPROBE_MISSING)

    def assertUsage(self, args):
        rc, out, err = harness.run_wsprobe(args, timeout=10)
        self.assertEqual(rc, 2, (args, out, err))
        lines = err.splitlines()
        self.assertEqual(len(lines), 1, (args, err))
        self.assertTrue(lines[0].startswith("wsprobe:"), (args, err))
        self.assertEqual(out, "", args)

    def test_bad_urls(self):
        for url in ("http://x", "ws://", "ws://[::1", "ws://host:99999/",
                    "ftp://127.0.0.1/", "127.0.0.1:80"):
            with self.subTest(url=url):
                self.assertUsage([url])

    def test_bad_numbers(self):
        for args in (["--count", "0"], ["--count", "abc"], ["-n", "-3"],
                     ["--delay", "-1"], ["--concurrency", "0"],
                     ["--reply-timeout", "0"], ["--timeout", "1x"]):
            with self.subTest(args=args):
                self.assertUsage(args + [self.URL])

    def test_unknown_option(self):
        self.assertUsage(["--no-such-option", self.URL])
        self.assertUsage(["-Z", self.URL])

    def test_missing_value(self):
        self.assertUsage([self.URL, "--send"])

    def test_bad_headers(self):
        for h in ("Bad Header: x", "X-Ok: a\r\nInjected: b", "X-Ok: a\nb",
                  "NoColon", ": empty-name"):
            with self.subTest(header=h):
                self.assertUsage(["--header", h, self.URL])

    def test_files_that_are_not_files(self):
        # A directory once reached mbedTLS, which tried to allocate 2^63
        # bytes for it (found by random command lines under ASan).
        for args in (["--cacert", "/"], ["--cert", "/", "--key", "/"],
                     ["--jwt-key", "/"], ["--jwt-secret-file", "/"]):
            with self.subTest(args=args):
                self.assertUsage(args + [self.URL])

    def test_missing_url(self):
        self.assertUsage([])
        self.assertUsage(["--send", "hi"])

    def test_two_urls(self):
        self.assertUsage([self.URL, self.URL])

    def test_help_after_a_key_file(self):
        # --help after --jwt-key once leaked the key's buffer (LeakSanitizer).
        with tempfile.TemporaryDirectory() as d:
            key = os.path.join(d, "k.pem")
            with open(key, "w") as f:
                f.write("not a key\n")
            rc, out, err = harness.run_wsprobe(["--jwt-key", key, "--help",
                                                self.URL])
        self.assertEqual((rc, err), (0, ""))
        self.assertIn("usage:", out)

    def test_help(self):
        rc, out, err = harness.run_wsprobe(["--help"], timeout=10)
        self.assertEqual(rc, 0)
        self.assertIn("usage: wsprobe", out)
        self.assertIn("--expect", out)
        rc2, out2, _ = harness.run_wsprobe(["-h"], timeout=10)
        self.assertEqual((rc2, out2), (0, out))

    def test_version(self):
        rc, out, err = harness.run_wsprobe(["--version"], timeout=10)
        self.assertEqual(rc, 0)
        self.assertEqual(out.strip(), "wsprobe " + read_project_version())
        rc, out2, _ = harness.run_wsprobe(["-V"], timeout=10)
        self.assertEqual((rc, out2), (0, out))


class TestJsonShape(RaceserverCase):

    PROBE_KEYS = {"index", "outcome", "phase", "passed", "http_status",
                  "http_reason", "http_headers", "http_body", "subprotocol",
                  "close", "timings_ms", "timeline_ms", "messages", "events",
                  "error"}
    TIMINGS = {"dns", "connect", "tls", "upgrade", "first_reply", "close",
               "total"}

    def check_shape(self, rep):
        for k in ("version", "config", "probes", "summary"):
            self.assertIn(k, rep)
        self.assertEqual(rep["version"], read_project_version())
        for p in rep["probes"]:
            self.assertLessEqual(self.PROBE_KEYS, set(p))
            self.assertIn(p["outcome"], OUTCOMES)
            self.assertIn(p["phase"], harness.PHASES)
            self.assertLessEqual(self.TIMINGS, set(p["timings_ms"]))
            self.assertEqual(set(p["close"]), {"received", "sent"})
            self.assertEqual(set(p["http_headers"]),
                             {"retry-after", "content-type"})
        s = rep["summary"]
        for k in ("total", "passed", "failed", "outcomes", "close_codes",
                  "http_statuses", "spans_ms"):
            self.assertIn(k, s)
        # Every outcome name is listed, zeros included.
        self.assertLessEqual(set(OUTCOMES), set(s["outcomes"]))
        self.assertEqual(sum(s["outcomes"].values()), s["total"])
        self.assertEqual(s["total"], len(rep["probes"]))

    def test_shape_ok(self):
        srv = self.race()
        rc, rep = harness.run_json(["--send", "hi", srv.url()])
        self.assertEqual(rc, 0)
        self.check_shape(rep)
        p = rep["probes"][0]
        self.assertIsNone(p["error"])
        self.assertIsNone(p["timings_ms"]["tls"])  # ws://: no TLS.
        self.assertIsNone(p["http_body"])
        self.assertIsNone(p["http_headers"]["retry-after"])
        self.assertEqual(rep["config"]["url"], srv.url())

    def test_shape_rejected(self):
        srv = self.race("--reject-first", "100")
        rc, rep = harness.run_json(["-n", "3", "-c", "3", "--send", "hi",
                                    srv.url()])
        self.assertEqual(rc, 1)
        self.check_shape(rep)
        self.assertEqual(rep["summary"]["outcomes"]["handshake_rejected"], 3)
        self.assertEqual(rep["summary"]["passed"], 0)


class TestJsonShapeNoServer(TestJsonShape):
    """Shape of a probe that never reached a server (no raceserver needed)."""

    def setUp(self):
        ProbeTestCase.setUp(self)

    # The raceserver cases run in TestJsonShape only.
    test_shape_ok = None
    test_shape_rejected = None

    def test_shape_never_opened(self):
        port = harness.free_port()
        rc, rep = harness.run_json(["--send", "hi",
                                    "ws://127.0.0.1:%d/" % port])
        self.assertEqual(rc, 1)
        self.check_shape(rep)
        p = rep["probes"][0]
        # Absent values are null, not 0.
        self.assertIsNone(p["http_status"])
        self.assertIsNone(p["close"]["received"])
        self.assertIsNone(p["close"]["sent"])
        for k in ("upgrade", "first_reply", "close", "tls"):
            self.assertIsNone(p["timings_ms"][k], k)
        self.assertIsNone(p["timeline_ms"]["open"])


if __name__ == "__main__":
    unittest.main()
