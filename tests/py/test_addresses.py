"""Which address, which backend: --resolve pins a name to loopback
addresses, probes spread over them (--address-policy), each probe records
its peer, and the summaries group outcomes by peer; --record-header
records a response header (X-Served-By) and groups outcomes by its value.

Two raceserver replicas share one port number, one on 127.0.0.1 and one on
::1: the first is healthy, the second closes with 1011 on a first message
(its readiness delay never ends), so the grouping must show which one fails.
The header replicas listen on 127.0.0.1 and 127.0.0.2 and say who they are.
"""
import socket
import tempfile
import threading
import unittest

import harness
from harness import RaceserverCase

RUN = '{"type":"run"}'


class AddressCase(RaceserverCase):

    def replicas(self, bad_opts=("--ready-delay", "3600000")):
        """(port, healthy on 127.0.0.1, failing on ::1) on one port."""
        last = None
        for _ in range(10):
            good = self.race("--ready-delay", "0", "--quiet")
            try:
                bad = self.race("--listen", "::1", "--port", str(good.port),
                                "--quiet", *bad_opts)
                return good.port, good, bad
            except RuntimeError as e:  # That port is taken on ::1.
                last = e
                harness.stop(good.proc)
        raise AssertionError("no port free on both 127.0.0.1 and ::1: %s"
                             % last)

    def by_peer(self, rep):
        return {g["peer"]: g for g in rep["summary"]["by_peer"]}


class TestPeers(AddressCase):

    def test_round_robin_over_pinned_addresses(self):
        port, _good, _bad = self.replicas()
        pin = "replica.test:%d:127.0.0.1,[::1]" % port
        rc, rep = harness.run_json(["-n", "6", "-c", "2", "--send", RUN,
                                    "--resolve", pin,
                                    "ws://replica.test:%d/agent" % port])
        self.assertEqual(rc, 1)
        v4, v6 = "127.0.0.1:%d" % port, "[::1]:%d" % port
        for p in rep["probes"]:
            if p["index"] % 2 == 0:
                self.assertEqual(p["peer"], v4, p)
                self.assertEqual(p["outcome"], "ok", p)
            else:
                self.assertEqual(p["peer"], v6, p)
                self.assertEqual(p["outcome"], "closed_by_server", p)
                self.assertClose(p["close"]["received"], 1011)
        groups = self.by_peer(rep)
        self.assertEqual(set(groups), {v4, v6})
        self.assertEqual((groups[v4]["total"], groups[v4]["passed"]), (3, 3))
        self.assertEqual(groups[v4]["outcomes"], {"ok": 3})
        self.assertEqual((groups[v6]["total"], groups[v6]["passed"]), (3, 0))
        self.assertEqual(groups[v6]["outcomes"], {"closed_by_server": 3})
        self.assertEqual(rep["config"]["resolve"], [pin])
        self.assertEqual(rep["config"]["address_policy"], "round-robin")
        # Pinned: nothing was resolved.
        self.assertIsNone(rep["campaign"]["dns_ms"])

        rc, out, _ = harness.run_wsprobe(["-n", "4", "--send", RUN,
                                          "--resolve", pin,
                                          "ws://replica.test:%d/" % port])
        self.assertEqual(rc, 1, out)
        lines = out.splitlines()
        self.assertTrue(any(l.startswith("by peer") for l in lines), out)
        row4 = [l for l in lines if l.strip().startswith(v4)]
        row6 = [l for l in lines if l.strip().startswith(v6)]
        self.assertEqual(len(row4), 1, out)
        self.assertEqual(len(row6), 1, out)
        self.assertIn("2 of 2", row4[0])
        self.assertIn("0 of 2", row6[0])
        self.assertIn("closed_by_server x2", row6[0])

    def test_first_policy_keeps_one_address(self):
        port, _good, _bad = self.replicas()
        rc, rep = harness.run_json(["-n", "4", "--send", RUN,
                                    "--address-policy", "first",
                                    "--resolve",
                                    "replica.test:%d:127.0.0.1,::1" % port,
                                    "ws://replica.test:%d/" % port])
        self.assertEqual(rc, 0, rep["summary"])
        self.assertEqual({p["peer"] for p in rep["probes"]},
                         {"127.0.0.1:%d" % port})
        self.assertEqual(len(rep["summary"]["by_peer"]), 1)
        self.assertEqual(rep["config"]["address_policy"], "first")
        rc, out, _ = harness.run_wsprobe(["-n", "2", "--send", RUN,
                                          "--address-policy", "first",
                                          "--resolve",
                                          "replica.test:%d:127.0.0.1" % port,
                                          "ws://replica.test:%d/" % port])
        self.assertEqual(rc, 0, out)
        self.assertNotIn("by peer", out)

    def test_refused_address_moves_on(self):
        # Only 127.0.0.1 listens: probes that start at ::1 move on to it.
        for _ in range(10):
            srv = self.race("--ready-delay", "0")
            port = srv.port
            with socket.socket(socket.AF_INET6) as s:
                try:
                    s.bind(("::1", port))
                    break
                except OSError:  # Taken on ::1: another port.
                    harness.stop(srv.proc)
        else:
            self.fail("no port free on both 127.0.0.1 and ::1")
        rc, rep = harness.run_json(["-n", "4", "--send", RUN, "--resolve",
                                    "replica.test:%d:[::1],127.0.0.1" % port,
                                    "ws://replica.test:%d/" % port])
        self.assertEqual(rc, 0, rep["summary"])
        self.assertEqual({p["peer"] for p in rep["probes"]},
                         {"127.0.0.1:%d" % port})

    def test_every_address_refused(self):
        port = harness.free_port()
        rc, p, rep = self.probe(["--send", RUN, "--resolve",
                                 "replica.test:%d:127.0.0.1" % port,
                                 "ws://replica.test:%d/" % port])
        self.assertProbe(p, "connect_refused", "connect", rc)
        self.assertEqual(p["peer"], "127.0.0.1:%d" % port)
        self.assertIn("127.0.0.1:%d" % port, p["error"])

    def test_pin_for_another_port_is_not_used(self):
        port = harness.free_port()
        rc, p, _ = self.probe(["--resolve", "replica.invalid:1:127.0.0.1",
                               "ws://replica.invalid:%d/" % port])
        self.assertProbe(p, "dns_failed", "resolve", rc)
        self.assertIsNone(p["peer"])

    def test_name_kept_for_host_header(self):
        # A plain TCP server that records the request and answers 503.
        got = []
        lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lst.bind(("127.0.0.1", 0))
        lst.listen(1)
        lst.settimeout(10)
        port = lst.getsockname()[1]

        def serve():
            try:
                conn, _ = lst.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(10)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                got.append(data.decode("latin-1"))
                conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\n"
                             b"Content-Length: 0\r\nConnection: close\r\n\r\n")

        t = threading.Thread(target=serve, daemon=True)
        t.start()
        try:
            rc, p, _ = self.probe(["--resolve",
                                   "Replica.Test:%d:127.0.0.1" % port,
                                   "ws://replica.test:%d/x" % port])
        finally:
            t.join(15)
            lst.close()
        self.assertProbe(p, "handshake_rejected", "upgrade", rc)
        self.assertEqual(p["http_status"], 503)
        self.assertEqual(len(got), 1)
        self.assertIn("\r\nHost: replica.test:%d\r\n" % port, got[0])

    def test_bad_resolve_entries(self):
        for bad in ("nocolons", "h.test:0:127.0.0.1", "h.test:80:",
                    "h.test:80:127.0.0.1,notanip", "h.test:x:127.0.0.1",
                    ":80:127.0.0.1", "[::1:80:127.0.0.1"):
            with self.subTest(entry=bad):
                rc, out, err = harness.run_wsprobe(["--resolve", bad,
                                                    "ws://h.test/"])
                self.assertEqual(rc, 2, err)
                self.assertEqual(out, "")
                self.assertEqual(len(err.strip().splitlines()), 1, err)
                self.assertIn("--resolve", err)
        rc, _, err = harness.run_wsprobe(["--address-policy", "random",
                                          "ws://h.test/"])
        self.assertEqual(rc, 2, err)
        self.assertIn("--address-policy", err)


class TestRecordHeader(AddressCase):

    def two_replicas(self):
        """Replicas on 127.0.0.1 and 127.0.0.2, one port: replica-a is
        healthy, replica-b closes with 1011 on the first message."""
        last = None
        for _ in range(10):
            a = self.race("--ready-delay", "0", "--quiet",
                          "--response-header", "X-Served-By: replica-a")
            try:
                b = self.race("--listen", "127.0.0.2", "--port", str(a.port),
                              "--quiet", "--ready-delay", "3600000",
                              "--response-header", "X-Served-By: replica-b")
                return a.port
            except RuntimeError as e:
                last = e
                harness.stop(a.proc)
        raise AssertionError("no port free on 127.0.0.1 and 127.0.0.2: %s"
                             % last)

    def test_outcomes_by_replica(self):
        port = self.two_replicas()
        args = ["-n", "6", "-c", "3", "--send", RUN, "--record-header",
                "x-served-by", "--record-header", "X-Absent", "--resolve",
                "app.test:%d:127.0.0.1,127.0.0.2" % port,
                "ws://app.test:%d/agent" % port]
        rc, rep = harness.run_json(args)
        self.assertEqual(rc, 1)
        for p in rep["probes"]:
            want = "replica-a" if p["index"] % 2 == 0 else "replica-b"
            self.assertEqual(p["recorded_headers"],
                             {"x-served-by": want, "X-Absent": None}, p)
            self.assertEqual(p["outcome"],
                             "ok" if want == "replica-a"
                             else "closed_by_server", p)
        by = rep["summary"]["by_header"]
        self.assertEqual(set(by), {"x-served-by", "X-Absent"})
        self.assertEqual(
            by["x-served-by"],
            [{"value": "replica-a", "total": 3, "passed": 3,
              "outcomes": {"ok": 3}},
             {"value": "replica-b", "total": 3, "passed": 0,
              "outcomes": {"closed_by_server": 3}}])
        self.assertEqual(by["X-Absent"],
                         [{"value": None, "total": 6, "passed": 3,
                           "outcomes": {"ok": 3, "closed_by_server": 3}}])
        self.assertEqual(rep["config"]["record_headers"],
                         ["x-served-by", "X-Absent"])

        with tempfile.TemporaryDirectory() as d:
            html = d + "/r.html"
            rc, out, _ = harness.run_wsprobe(args + ["--html", html])
            self.assertEqual(rc, 1, out)
            with open(html, encoding="utf-8") as f:
                page = f.read()
        lines = out.splitlines()
        self.assertIn("by x-served-by", " ".join(lines))
        ra = [l for l in lines if l.strip().startswith("replica-a")]
        rb = [l for l in lines if l.strip().startswith("replica-b")]
        self.assertEqual(len(ra), 1, out)
        self.assertEqual(len(rb), 1, out)
        self.assertIn("3 of 3", ra[0])
        self.assertIn("0 of 3", rb[0])
        self.assertIn("closed_by_server x3", rb[0])
        # One value only: no grouping of X-Absent in the summary.
        self.assertNotIn("by X-Absent", out)
        self.assertIn("Outcomes by x-served-by", page)
        self.assertIn("replica-b", page)

    def test_rejection_records_too(self):
        srv = self.race("--reject-first", "1", "--response-header",
                        "X-Served-By: replica-a")
        rc, rep = harness.run_json(["-n", "2", "--send", RUN,
                                    "--record-header", "X-Served-By",
                                    srv.url()])
        self.assertEqual(rc, 1)
        first, second = sorted(rep["probes"], key=lambda p: p["index"])
        # raceserver's 503 carries no X-Served-By; its 101 does.
        self.assertEqual(first["http_status"], 503)
        self.assertEqual(first["recorded_headers"], {"X-Served-By": None})
        self.assertEqual(second["recorded_headers"],
                         {"X-Served-By": "replica-a"})

    def test_bad_record_header(self):
        for bad in ("", "X Served", "X:Y", "a" * 64):
            with self.subTest(name=bad):
                rc, out, err = harness.run_wsprobe(["--record-header", bad,
                                                    "ws://127.0.0.1:1/"])
                self.assertEqual(rc, 2, err)
                self.assertEqual(len(err.strip().splitlines()), 1, err)
        args = []
        for i in range(9):
            args += ["--record-header", "X-H%d" % i]
        rc, _, err = harness.run_wsprobe(args + ["ws://127.0.0.1:1/"])
        self.assertEqual(rc, 2, err)
        self.assertIn("at most 8", err)


if __name__ == "__main__":
    unittest.main()
