"""wsprobe against WebSocket servers nobody on this project wrote.

tests/servers/py_ws_server.py runs Debian's python3-websockets 10.4 and
tests/servers/node_ws_server.js Debian's node-ws 8.11: a fixture of our own
could share wsprobe's bugs, these cannot.
"""
import os
import time
import unittest

import harness
from harness import AGENT_EVENTS, ProbeTestCase, event_types

TOKEN = "abc.def.ghi"


class InteropMixin:
    """The same cases against each server; subclasses say how to start it."""

    def start(self, mode):
        return self.server(self.command() + ["--port", "0", "--mode", mode,
                                             "--lifetime", "60"])

    def test_echo_ok(self):
        srv = self.start("echo")
        rc, p, rep = self.probe(["--send", "hi", srv.url()])
        self.assertProbe(p, "ok", "closing", rc)
        self.assertEqual(p["http_status"], 101)
        self.assertGreaterEqual(p["messages"], 1)
        self.assertEqual(p["events"], [])  # "hi" is not a JSON event.
        self.assertClose(p["close"]["sent"], 1000)
        self.assertClose(p["close"]["received"], 1000)
        self.assertIsNone(p["subprotocol"])
        self.assertIsNotNone(p["timings_ms"]["first_reply"])
        self.assertEqual(rep["summary"]["passed"], 1)
        self.assertEqual(rep["summary"]["outcomes"]["ok"], 1)

    def test_echo_binary_ok(self):
        srv = self.start("echo")
        rc, p, _ = self.probe(["--send", "hi", "--binary", srv.url()])
        self.assertProbe(p, "ok", "closing", rc)
        self.assertGreaterEqual(p["messages"], 1)

    def test_echo_without_send_ok(self):
        # No message to send: open, close 1000, answered by 1000.
        srv = self.start("echo")
        rc, p, _ = self.probe([srv.url()])
        self.assertProbe(p, "ok", "closing", rc)
        self.assertEqual(p["messages"], 0)
        self.assertClose(p["close"]["received"], 1000)

    def test_echo_many_concurrent(self):
        srv = self.start("echo")
        rc, rep = harness.run_json(["-n", "12", "-c", "4", "--send", "hi",
                                    srv.url()])
        self.assertEqual(rc, 0, rep["summary"])
        self.assertEqual(rep["summary"]["total"], 12)
        self.assertEqual(rep["summary"]["passed"], 12)
        self.assertEqual(rep["summary"]["failed"], 0)
        self.assertEqual(sorted(p["index"] for p in rep["probes"]),
                         list(range(12)))
        self.assertEqual(rep["summary"]["close_codes"], {"1000": 12})

    def test_events_all_expected_ok(self):
        srv = self.start("events")
        args = ["--send", '{"type":"hello"}']
        for t in AGENT_EVENTS:
            args += ["--expect", t]
        rc, p, _ = self.probe(args + [srv.url()])
        self.assertProbe(p, "ok", "closing", rc)
        self.assertEqual(event_types(p), AGENT_EVENTS)
        times = [e["t_ms"] for e in p["events"]]
        self.assertEqual(times, sorted(times))
        self.assertClose(p["close"]["received"], 1000)

    def test_events_missing_expectation(self):
        srv = self.start("events")
        rc, p, _ = self.probe(["--send", "go", "--expect", "agent_started",
                               "--expect", "never_sent",
                               "--reply-timeout", "400", srv.url()])
        self.assertProbe(p, "expectation_failed", "awaiting_reply", rc)
        self.assertEqual(event_types(p), AGENT_EVENTS)

    def test_expect_key_names_the_event_member(self):
        # The echo comes back as {"op":"hello","type":"other"}: with
        # --expect-key op its event is "hello"; by default it is "other".
        srv = self.start("echo")
        msg = '{"op":"hello","type":"other"}'
        rc, p, rep = self.probe(["--send", msg, "--expect-key", "op",
                                 "--expect", "hello", srv.url()])
        self.assertProbe(p, "ok", "closing", rc)
        self.assertEqual(event_types(p), ["hello"])
        self.assertEqual(rep["config"]["expect_key"], "op")
        rc, p, rep = self.probe(["--send", msg, "--expect", "hello",
                                 "--reply-timeout", "400", srv.url()])
        self.assertProbe(p, "expectation_failed", "awaiting_reply", rc)
        self.assertEqual(event_types(p), ["other"])
        self.assertEqual(rep["config"]["expect_key"], "type")
        rc, p, _ = self.probe(["--send", '{"type":"x"}', "--expect-key", "op",
                               "--expect", "x", "--reply-timeout", "400",
                               srv.url()])
        self.assertProbe(p, "expectation_failed", "awaiting_reply", rc)
        self.assertEqual(p["events"], [])

    def test_close_1011_early(self):
        srv = self.start("close1011-early")
        rc, p, rep = self.probe(["--send", "hi", srv.url()])
        self.assertProbe(p, "closed_by_server", "awaiting_reply", rc)
        self.assertClose(p["close"]["received"], 1011, "Internal error")
        self.assertClose(p["close"]["sent"], 1011)
        self.assertEqual(rep["summary"]["close_codes"], {"1011": 1})
        self.assertEqual(rep["summary"]["passed"], 0)

    def test_close_codes_1012_1013_1014(self):
        # wslay 1.1.1 rejects these valid codes; wsprobe must report what
        # the server put on the wire, and echo it.
        for code, reason in ((1012, "restarting"), (1013, "try again later"),
                             (1014, "bad gateway")):
            with self.subTest(code=code):
                srv = self.start("close:%d:%s" % (code, reason))
                rc, p, _ = self.probe(["--send", "hi", srv.url()])
                self.assertProbe(p, "closed_by_server", "awaiting_reply", rc)
                self.assertClose(p["close"]["received"], code, reason)
                self.assertClose(p["close"]["sent"], code)

    def test_close_4000_with_empty_reason(self):
        srv = self.start("close:4000")
        rc, p, _ = self.probe(["--send", "hi", srv.url()])
        self.assertProbe(p, "closed_by_server", "awaiting_reply", rc)
        self.assertClose(p["close"]["received"], 4000, "")

    def test_reject503(self):
        srv = self.start("reject503")
        rc, p, rep = self.probe(["--send", "hi", srv.url()])
        self.assertProbe(p, "handshake_rejected", "upgrade", rc)
        self.assertEqual(p["http_status"], 503)
        self.assertEqual(p["http_headers"]["retry-after"], "5")
        self.assertEqual(p["http_headers"]["content-type"], "text/plain")
        self.assertEqual(p["http_body"], "down\n")
        self.assertIsNone(p["close"]["received"])
        self.assertIsNone(p["close"]["sent"])
        self.assertEqual(rep["summary"]["http_statuses"], {"503": 1})
        self.assertEqual(rep["summary"]["passed"], 0)

    def test_subprotocol_jwt(self):
        srv = self.start("subprotocol-jwt")
        rc, rep, out, err = harness.run_json_full(
            ["--jwt", TOKEN, "--send", "hi", srv.url()])
        p = rep["probes"][0]
        self.assertProbe(p, "ok", "closing", rc)
        self.assertEqual(p["subprotocol"], "jwt.<redacted>")
        self.assertNotIn(TOKEN, out)
        self.assertNotIn(TOKEN, err)
        rc, rep, out, _ = harness.run_json_full(
            ["--jwt", TOKEN, "--show-secrets", "--send", "hi", srv.url()])
        p = rep["probes"][0]
        self.assertProbe(p, "ok", "closing", rc)
        self.assertEqual(p["subprotocol"], "jwt." + TOKEN)

    def test_subprotocol_not_selected(self):
        # The token went out as a subprotocol, the server selected none
        # (the client offered no jwt.* one): an upgrade that cannot have
        # authenticated. The echo server ignores subprotocols entirely.
        srv = self.start("echo")
        rc, p, _ = self.probe(["--jwt", TOKEN, "--send", "hi", srv.url()])
        self.assertProbe(p, "handshake_invalid", "upgrade", rc)
        rc, p, _ = self.probe(["--jwt", TOKEN, "--no-require-subprotocol",
                               "--send", "hi", srv.url()])
        self.assertProbe(p, "ok", "closing", rc)
        self.assertIsNone(p["subprotocol"])

    def test_silent_timeout(self):
        srv = self.start("silent")
        t0 = time.monotonic()
        rc, p, _ = self.probe(["--send", "hi", "--reply-timeout", "300",
                               srv.url()])
        wall = time.monotonic() - t0
        self.assertProbe(p, "timeout", "awaiting_reply", rc)
        self.assertEqual(p["messages"], 0)
        self.assertLess(wall, 4.0)


class PythonWebsocketsInterop(InteropMixin, ProbeTestCase):
    """Debian's python3-websockets 10.4."""

    def command(self):
        if not os.access(harness.PYTHON, os.X_OK):
            self.fail("%s not found" % harness.PYTHON)
        return [harness.PYTHON, harness.PY_WS_SERVER]


class NodeWsInterop(InteropMixin, ProbeTestCase):
    """Debian's node-ws 8.11."""

    def command(self):
        if harness.NODE is None:
            self.fail("node not found")
        return [harness.NODE, harness.NODE_WS_SERVER]


class CompressionInterop(ProbeTestCase):
    """--compress against servers whose permessage-deflate nobody here
    wrote: python3-websockets (compression on by default) and node-ws with
    perMessageDeflate, its context kept and dropped."""

    # Long and repetitive, so that compressing it matters.
    LONG = '{"type":"hello","pad":"%s"}' % ("abcdefgh" * 300)

    def py_server(self, mode):
        return self.server([harness.PYTHON, harness.PY_WS_SERVER, "--port",
                            "0", "--mode", mode, "--lifetime", "60"])

    def node_server(self, mode, deflate):
        if harness.NODE is None:
            self.fail("node not found")
        return self.server([harness.NODE, harness.NODE_WS_SERVER, "--port",
                            "0", "--mode", mode, "--deflate", deflate,
                            "--lifetime", "60"])

    def events_ok(self, srv):
        args = ["--compress", "--send", self.LONG]
        for t in AGENT_EVENTS:
            args += ["--expect", t]
        rc, p, rep = self.probe(args + ["--expect-order", srv.url()])
        self.assertProbe(p, "ok", "closing", rc)
        self.assertEqual(event_types(p), AGENT_EVENTS)
        self.assertClose(p["close"]["received"], 1000)
        self.assertIs(rep["config"]["compress"], True)
        return p

    def echo_ok(self, srv):
        return self.echo_ok_at(srv.url())

    def echo_ok_at(self, url):
        rc, p, _ = self.probe(["--compress", "--send", self.LONG,
                               "--expect-key", "type", "--expect", "hello",
                               url])
        self.assertProbe(p, "ok", "closing", rc)
        self.assertEqual(event_types(p), ["hello"])
        return p

    def test_python_websockets(self):
        srv = self.py_server("events")
        p = self.events_ok(srv)
        self.assertTrue(p["extensions"].startswith("permessage-deflate"), p)
        srv = self.py_server("echo")
        p = self.echo_ok(srv)
        self.assertTrue(p["extensions"].startswith("permessage-deflate"), p)
        # A burst sends frames deflated ahead, within the window the
        # server set (client_max_window_bits=12 by default).
        rc, rep = harness.run_json(["-n", "4", "-c", "4", "--burst",
                                    "--compress", "--send", self.LONG,
                                    srv.url()])
        self.assertEqual(rc, 0, rep["summary"])
        self.assertEqual(rep["summary"]["passed"], 4)
        for p in rep["probes"]:
            self.assertIn("client_max_window_bits=", p["extensions"])

    def test_python_websockets_without_compress(self):
        # The server would compress, but nothing was offered: no extension.
        srv = self.py_server("echo")
        rc, p, rep = self.probe(["--send", "hi", srv.url()])
        self.assertProbe(p, "ok", "closing", rc)
        self.assertNotIn("extensions", p)
        self.assertNotIn("compress", rep["config"])

    def test_node_ws_context_takeover(self):
        p = self.events_ok(self.node_server("events", "takeover"))
        self.assertTrue(p["extensions"].startswith("permessage-deflate"), p)
        self.assertNotIn("context_takeover", p["extensions"])
        self.echo_ok(self.node_server("echo", "takeover"))

    def test_node_ws_no_context_takeover(self):
        p = self.events_ok(self.node_server("events", "no-takeover"))
        self.assertIn("server_no_context_takeover", p["extensions"])
        self.assertIn("client_no_context_takeover", p["extensions"])
        self.echo_ok(self.node_server("echo", "no-takeover"))

    def test_fastapi_uvicorn(self):
        # uvicorn (Debian's 0.17) agrees to permessage-deflate by default.
        srv = self.server([harness.PYTHON, os.path.join(
            harness.SERVERS_DIR, "fastapi_echo_server.py"), "--port", "0",
            "--lifetime", "60"], timeout=30)
        url = srv.url("/ws")
        p = self.echo_ok_at(url)
        self.assertTrue(p["extensions"].startswith("permessage-deflate"), p)
        rc, p, _ = self.probe(["--send", "hi", url])
        self.assertProbe(p, "ok", "closing", rc)
        self.assertNotIn("extensions", p)

    def test_node_ws_off(self):
        # Offered but declined: the session goes on uncompressed.
        rc, p, _ = self.probe(["--compress", "--send", "hi",
                               self.node_server("echo", "off").url()])
        self.assertProbe(p, "ok", "closing", rc)
        self.assertNotIn("extensions", p)


class ServerConventions(unittest.TestCase):
    """The interop servers themselves: startup line, lifetime, SIGTERM."""

    def test_startup_line_and_sigterm(self):
        cmds = [[harness.PYTHON, harness.PY_WS_SERVER]]
        if harness.NODE:
            cmds.append([harness.NODE, harness.NODE_WS_SERVER])
        for cmd in cmds:
            with self.subTest(server=cmd[-1]):
                proc, port = harness.start_server(cmd + ["--port", "0"],
                                                  test=self)
                self.assertRegex(proc.server.first_line,
                                 r"^listening on 127\.0\.0\.1:\d+\n$")
                self.assertGreater(port, 0)
                self.assertEqual(harness.stop(proc), 0)

    def test_lifetime(self):
        cmds = [[harness.PYTHON, harness.PY_WS_SERVER]]
        if harness.NODE:
            cmds.append([harness.NODE, harness.NODE_WS_SERVER])
        for cmd in cmds:
            with self.subTest(server=cmd[-1]):
                proc, _ = harness.start_server(
                    cmd + ["--port", "0", "--lifetime", "0.3"], test=self)
                self.assertEqual(proc.wait(10), 0)


if __name__ == "__main__":
    unittest.main()
