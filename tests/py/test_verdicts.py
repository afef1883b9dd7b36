"""Verdicts that must not depend on how fast or slow the prober is.

The prober is slowed on purpose: SIGSTOP/SIGCONT pauses while it runs, so
that whatever the server does next (a reset after its close frame, say)
has already happened when the prober looks. Also: delays that a report
records are the ones applied, interrupted campaigns say so, and the
upgrade and event rules that a fast path used to get wrong.
"""
import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import harness
from harness import ProbeTestCase, RaceserverCase


def run_paused(args, pause=0.3, run=0.1, timeout=300, nice=0):
    """Runs wsprobe with `--json FILE -q` (at `nice`), stopping it for
    `pause` s every `run` s; returns (exit_code, report)."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "r.json")
        proc = subprocess.Popen([harness.WSPROBE_BIN, "--json", path, "-q"] +
                                list(args), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE,
                                preexec_fn=lambda: os.nice(nice))
        deadline = time.monotonic() + timeout
        try:
            while proc.poll() is None and time.monotonic() < deadline:
                time.sleep(run)
                try:
                    proc.send_signal(signal.SIGSTOP)
                    time.sleep(pause)
                finally:
                    proc.send_signal(signal.SIGCONT)
            rc = proc.wait(timeout=max(1, deadline - time.monotonic()))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stderr.close()
        with open(path) as f:
            return rc, json.load(f)


def tally(report):
    """{(outcome, close code received): count}."""
    t = {}
    for p in report["probes"]:
        key = (p["outcome"], (p["close"]["received"] or {}).get("code"))
        t[key] = t.get(key, 0) + 1
    return t


class RaceCase(RaceserverCase):
    lifetime = 280


class TestCloseThenReset(RaceCase):
    """A close frame followed by a reset: the close frame decides, however
    late the prober reads it and whether or not its close echo meets the
    reset."""

    def test_1011_then_rst_2000_slowed(self):
        srv = self.race("--ready-delay", "100000", "--rst-after-close")
        rc, rep = run_paused(["-n", "2000", "-c", "50", "--send",
                              '{"type":"run"}', srv.url()])
        self.assertNotIn("unacknowledged", "".join(srv.err))
        self.assertEqual(tally(rep), {("closed_by_server", 1011): 2000})
        self.assertEqual(rc, 1)
        for p in rep["probes"]:
            self.assertEqual(p["phase"], "awaiting_reply")
            self.assertEqual(p["close"]["received"]["reason"],
                             "Internal error")

    def test_events_close_1000_then_rst_2000_slowed(self):
        srv = self.race("--on-message", "events-then-close:1000",
                        "--rst-after-close")
        rc, rep = run_paused(["-n", "2000", "-c", "50", "--send",
                              '{"type":"run"}', "-e", "agent_started", "-e",
                              "agent_completed", srv.url()])
        # The fixture resets once the client's kernel has ACKed its close
        # frame; had it given up waiting, a probe that never got the frame
        # would rightly be abnormal_closure.
        self.assertNotIn("unacknowledged", "".join(srv.err))
        self.assertEqual(tally(rep), {("ok", 1000): 2000})
        self.assertEqual(rc, 0)


class TestResetAfterAck(RaceCase):
    """raceserver --rst-after-close resets only once the client's kernel
    acknowledged the close frame: a reset purges what is still in flight,
    and an honest fixture must not make a slow reader lose the frame."""

    def test_slow_reader_still_gets_the_close_frame(self):
        srv = self.race("--on-message", "echo", "--rst-after-close")
        c = socket.socket()
        self.addCleanup(c.close)
        # A small receive window, kept shut: the echo and the close frame
        # behind it wait on the server's side until this client reads.
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        c.connect(("127.0.0.1", srv.port))
        c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                  b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                  b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += c.recv(1)
        self.assertIn(b" 101 ", head.split(b"\r\n")[0])
        mask = b"\x01\x02\x03\x04"
        big = b"x" * 12000
        close = b"\x03\xe8"
        c.sendall(b"\x81\xfe" + len(big).to_bytes(2, "big") + mask +
                  bytes(b ^ mask[i % 4] for i, b in enumerate(big)) +
                  b"\x88\x82" + mask +
                  bytes(b ^ mask[i % 4] for i, b in enumerate(close)))
        time.sleep(1.0)  # Longer than the server used to wait.
        data = b""
        try:
            while True:
                chunk = c.recv(65536)
                if not chunk:
                    break
                data += chunk
        except ConnectionResetError:
            pass
        # The echo (a 12,000-byte text frame), then the close frame.
        self.assertEqual(len(data), 4 + len(big) + 4)
        self.assertEqual(data[:4], b"\x81\x7e" + len(big).to_bytes(2, "big"))
        self.assertEqual(data[-4:], b"\x88\x02\x03\xe8")


class TestAiohttpMessageSize(ProbeTestCase):
    """aiohttp closes with 1009 as soon as it has read a frame's header,
    then closes its socket: a payload sent in a later write meets a closed
    socket, the server's kernel resets, and our close echo fails. A prober
    at nice 19 on a busy machine is preempted between two writes all the
    time; in one write, the frame leaves whole."""

    def test_1009_every_time(self):
        srv = self.server([harness.PYTHON, harness.AIOHTTP_SERVER,
                           "--max-msg-size", "1024", "--lifetime", "120"])
        big = "x" * 2000
        rc, rep = run_paused(["-n", "500", "-c", "10", "--send", big,
                              srv.url()], nice=19)
        self.assertEqual(tally(rep), {("closed_by_server", 1009): 500})
        self.assertEqual(rc, 1)
        # A message under the limit is echoed.
        rc, p, _ = self.probe(["--send", "x" * 1000, srv.url()])
        self.assertProbe(p, "ok", "closing", rc)


class TestDelaysApplied(RaceCase):
    """A report never records a delay that was not applied."""

    def test_burst_honours_delay(self):
        # Messages within 150 ms of the 101 get 1011: released 300 ms after
        # the last connection opened, every one passes.
        srv = self.race("--ready-delay", "150")
        rc, rep = harness.run_json(["-n", "8", "-c", "8", "--burst",
                                    "--delay", "300", "--send", "hi",
                                    srv.url()])
        self.assertEqual(tally(rep), {("ok", 1000): 8}, rep["summary"])
        for p in rep["probes"]:
            self.assertEqual(p["delay_ms"], 300)
            self.assertGreaterEqual(p["delay_achieved_ms"], 300)
        self.assertEqual(rep["campaign"]["bursts"]["released"], 1)

    def test_concurrency_sweep_honours_delay(self):
        srv = self.race("--ready-delay", "150")
        rc, rep = harness.run_json(["--concurrency-sweep", "4", "--delay",
                                    "300", "--send", "hi", srv.url()])
        self.assertEqual(rc, 0, rep["summary"])
        self.assertEqual(rep["summary"]["passed"], 7)
        for p in rep["probes"]:
            self.assertGreaterEqual(p["delay_achieved_ms"], 300)

    def test_achieved_delay_recorded(self):
        srv = self.race()
        rc, p, _ = self.probe(["--send", "hi", "--delay", "120", srv.url()])
        self.assertProbe(p, "ok", "closing", rc)
        self.assertEqual(p["delay_ms"], 120)
        # From the 101's arrival to the send: at least what was asked, and
        # the timeline agrees.
        self.assertGreaterEqual(p["delay_achieved_ms"], 120)
        self.assertLess(p["delay_achieved_ms"], 200)
        tl = p["timeline_ms"]
        self.assertAlmostEqual(tl["first_sent"] - tl["response"],
                               p["delay_achieved_ms"], places=3)

    def test_nothing_sent_is_null(self):
        srv = self.race("--reject-first", "1")
        rc, p, _ = self.probe(["--send", "hi", "--delay", "50", srv.url()])
        self.assertProbe(p, "handshake_rejected", "upgrade", rc)
        self.assertEqual(p["delay_ms"], 50)
        self.assertIsNone(p["delay_achieved_ms"])

    def test_what_cannot_be_applied_is_refused(self):
        for extra in (["--burst", "--jitter", "10"],
                      ["--concurrency-sweep", "4", "--jitter", "10"],
                      ["--burst", "--delay-sweep", "0,100"]):
            with self.subTest(args=extra):
                rc, out, err = harness.run_wsprobe(
                    extra + ["--send", "hi", "ws://127.0.0.1:9/"])
                self.assertEqual(rc, 2, err)
                self.assertEqual(out, "")
                lines = err.strip().splitlines()
                self.assertEqual(len(lines), 1, err)
                self.assertTrue(lines[0].startswith("wsprobe: "), err)


class TestInterrupted(RaceCase):

    def test_sigint_recorded(self):
        srv = self.race("--reply-delay", "200", "--on-message", "echo")
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "r.json")
            proc = subprocess.Popen(
                [harness.WSPROBE_BIN, "--json", path, "-q", "-n", "1000",
                 "-c", "2", "--send", "hi", srv.url()],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
            time.sleep(1.0)
            proc.send_signal(signal.SIGINT)
            rc = proc.wait(timeout=30)
            with open(path) as f:
                rep = json.load(f)
        self.assertEqual(rc, 130)  # 128 + SIGINT, as schedulers read it.
        camp = rep["campaign"]
        self.assertIs(camp["interrupted"], True)
        self.assertEqual(camp["planned"], 1000)
        self.assertLess(camp["count"], 1000)
        self.assertGreater(camp["count"], 0)
        self.assertGreaterEqual(rep["summary"]["outcomes"]["cancelled"], 1)

    def test_complete_campaign_not_interrupted(self):
        srv = self.race()
        rc, rep = harness.run_json(["-n", "3", "--send", "hi", srv.url()])
        self.assertIs(rep["campaign"]["interrupted"], False)
        self.assertEqual(rep["campaign"]["planned"], 3)


class TestUpgradeAndEvents(RaceCase):

    def test_early_hints_skipped(self):
        srv = self.race("--handshake", "early-hints")
        rc, p, _ = self.probe(["--send", "hi", srv.url()])
        self.assertProbe(p, "ok", "closing", rc)
        self.assertEqual(p["http_status"], 101)

    def test_nul_in_type_is_no_event(self):
        srv = self.race("--greeting", '{"type":"agent_completed\\u0000x"}')
        rc, p, _ = self.probe(["--hold", "300", "-e", "agent_completed",
                               srv.url()])
        self.assertProbe(p, "expectation_failed", "open", rc)
        self.assertEqual(p["events"], [])
        self.assertEqual(p["messages"], 1)

    def test_two_json_values_are_no_event(self):
        srv = self.race("--greeting",
                        '{"type":"agent_completed"} {"type":"x"}')
        rc, p, _ = self.probe(["--hold", "300", "-e", "agent_completed",
                               srv.url()])
        self.assertProbe(p, "expectation_failed", "open", rc)
        self.assertEqual(p["events"], [])

    def test_one_object_is_an_event(self):
        srv = self.race("--greeting", ' {"type":"agent_completed"}\n')
        rc, p, _ = self.probe(["--hold", "300", "-e", "agent_completed",
                               srv.url()])
        self.assertProbe(p, "ok", "closing", rc)


def upgrade_key(conn):
    """Reads an upgrade request from `conn`; returns the
    Sec-WebSocket-Accept value for it, None if the client left."""
    import base64
    import hashlib
    req = b""
    while b"\r\n\r\n" not in req:
        chunk = conn.recv(4096)
        if not chunk:
            return None
        req += chunk
    key = [l.split(b":", 1)[1].strip() for l in req.split(b"\r\n")
           if l.lower().startswith(b"sec-websocket-key:")][0]
    return base64.b64encode(hashlib.sha1(
        key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())


class RawServer:
    """A one-shot TCP server on 127.0.0.1 that answers the upgrade request
    with `reply(key)` bytes, then keeps the connection until the client
    closes it."""

    def __init__(self, reply):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.reply = reply
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(10)
            accept = upgrade_key(conn)
            if accept is None:
                return
            conn.sendall(self.reply(accept))
            try:
                while conn.recv(4096):
                    pass
            except OSError:
                pass

    def url(self):
        return "ws://127.0.0.1:%d/" % self.port

    def close(self):
        self.sock.close()


def switching(accept, frames=b""):
    """A valid 101 for `accept`, then `frames` in the same write."""
    return (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept +
            b"\r\n\r\n" + frames)


def text_frame(text):
    """An unmasked text frame (server to client), payload < 126 bytes."""
    data = text.encode()
    return bytes([0x81, len(data)]) + data


class TestResetAlreadyThere(unittest.TestCase):
    """The ordering a slow prober meets, scripted: the prober is stopped
    after it sent its message; the server sends the events and its close
    frame, waits until the prober's kernel has ACKed them (so they are in
    its receive queue), resets, and only then lets the prober run. It
    reads the events, its own close meets the reset (close.sent stays
    null; on a loaded machine the reset may be handled a little later),
    and the close frame decides."""

    def run_case(self, code, expect):
        import fcntl
        import struct
        ls = socket.socket()
        self.addCleanup(ls.close)
        ls.bind(("127.0.0.1", 0))
        ls.listen(1)
        pid_known = threading.Event()
        box = {}

        def serve():
            conn, _ = ls.accept()
            conn.settimeout(10)
            accept = upgrade_key(conn)
            conn.sendall(switching(accept))
            conn.recv(4096)  # The prober's message.
            pid_known.wait(10)
            os.kill(box["pid"], signal.SIGSTOP)
            try:
                events = b"".join(text_frame('{"type":"%s"}' % t)
                                  for t in ("agent_started",
                                            "agent_completed"))
                conn.sendall(events + b"\x88\x02" + struct.pack("!H", code))
                unacked = bytearray(4)
                for _ in range(5000):
                    fcntl.ioctl(conn.fileno(), 0x5411, unacked)  # SIOCOUTQ
                    if struct.unpack("i", unacked)[0] == 0:
                        break
                    time.sleep(0.001)
                box["unacked"] = struct.unpack("i", unacked)[0]
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                struct.pack("ii", 1, 0))
                conn.close()
            finally:
                os.kill(box["pid"], signal.SIGCONT)

        t = threading.Thread(target=serve, daemon=True)
        t.start()
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "r.json")
            proc = subprocess.Popen(
                [harness.WSPROBE_BIN, "--json", path, "-q", "--send",
                 '{"type":"run"}', "-e", "agent_started", "-e",
                 "agent_completed", "ws://127.0.0.1:%d/" % ls.getsockname()[1]],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
            box["pid"] = proc.pid
            pid_known.set()
            try:
                rc = proc.wait(timeout=60)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            t.join(10)
            with open(path) as f:
                p = json.load(f)["probes"][0]
        self.assertEqual(box.get("unacked"), 0)
        self.assertEqual((p["outcome"], p["close"]["received"]["code"]),
                         expect, p["error"])
        self.assertEqual(rc, 0 if expect[0] == "ok" else 1)

    def test_events_close_1000_then_reset(self):
        self.run_case(1000, ("ok", 1000))

    def test_events_close_1011_then_reset(self):
        self.run_case(1011, ("closed_by_server", 1011))


class TestBytesKept(ProbeTestCase):

    def raw(self, reply):
        srv = RawServer(reply)
        self.addCleanup(srv.close)
        return srv

    def test_close_reason_with_nul(self):
        payload = b"\x03\xf3" + b"bye\x00now"
        srv = self.raw(lambda accept: switching(
            accept, bytes([0x88, len(payload)]) + payload))
        rc, p, _ = self.probe(["--hold", "1000", srv.url()])
        self.assertProbe(p, "closed_by_server", "open", rc)
        self.assertEqual(p["close"]["received"],
                         {"code": 1011, "reason": "bye\u0000now"})

    def test_script_closed_with_the_101_is_at_step_0(self):
        # A close frame in the same read as the 101 ends a scripted probe
        # in its first step (found by fuzzing; a rule of probe.c).
        srv = self.raw(lambda accept: switching(accept, b"\x88\x02\x03\xf3"))
        rc, p, _ = self.probe(["--step", "send:hi", "--step", "expect:a",
                               srv.url()])
        self.assertProbe(p, "closed_by_server", "open", rc)
        self.assertEqual(p["step"], 0)

    def test_hold_0_with_expectations_does_not_pass(self):
        # No message to send, nothing from the server: not ok (found by
        # fuzzing; a rule of probe.c).
        srv = self.raw(switching)
        rc, p, _ = self.probe(["--hold", "0", "-e", "a", srv.url()])
        self.assertProbe(p, "timeout", "open", rc)

    def test_long_body_cut_at_a_character(self):
        body = ("a" * 511 + "\u00e9" + "b" * 100).encode("utf-8")

        def reply(accept):
            return (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: "
                    b"text/plain; charset=utf-8\r\nContent-Length: %d\r\n\r\n"
                    % len(body) + body)
        srv = self.raw(reply)
        rc, p, _ = self.probe(["--send", "hi", srv.url()])
        self.assertProbe(p, "handshake_rejected", "upgrade", rc)
        self.assertEqual(p["http_status"], 503)
        self.assertEqual(p["http_body"], "a" * 511)


if __name__ == "__main__":
    unittest.main()
