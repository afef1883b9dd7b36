"""--health: a health URL polled beside the probes. Against a FastAPI app
served by uvicorn (Debian's, nobody here wrote it) whose /api/health says
200 while its WebSocket endpoint closes 1011, and against the tests' own
health fixture (tests/servers/health_server.py) for a non-200, a refused
connection, a slow endpoint, hostile endless bodies and headers, a long
UTF-8 body, and https. Health never changes the verdict or the exit status.
"""
import json
import os
import shutil
import tempfile
import time
import unittest

import harness
from harness import ProbeTestCase

HEALTH_SERVER = os.path.join(harness.SERVERS_DIR, "health_server.py")
FASTAPI_APP = os.path.join(harness.SERVERS_DIR, "fastapi_app.py")


def have_fastapi():
    import subprocess
    return subprocess.run([harness.PYTHON, "-c", "import fastapi, uvicorn"],
                          stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


class HealthCase(ProbeTestCase):

    def health_server(self, *opts):
        return self.server([harness.PYTHON, HEALTH_SERVER, "--port", "0",
                            "--lifetime", "60"] + list(opts))

    def race(self, *opts):
        if harness.RACESERVER_BIN is None:
            self.fail(harness.RACESERVER_MISSING)
        return self.server([harness.RACESERVER_BIN, "--port", "0",
                            "--lifetime", "60", "--quiet"] + list(opts))

    def campaign(self, args, timeout=30):
        rc, rep, out, err = harness.run_json_full(args, timeout)
        return rc, rep, err

    def assertSummaryAddsUp(self, h, ordered=True):
        s = h["summary"]
        self.assertEqual(s["samples"], len(h["samples"]))
        self.assertEqual(s["errors"],
                         sum(1 for x in h["samples"] if x["error"]))
        self.assertEqual(sum(s["statuses"].values()) + s["errors"],
                         s["samples"])
        self.assertEqual(s["ms"]["count"], s["samples"])
        last = -1.0
        for x in h["samples"]:
            # On the campaign's clock, in order, one in flight at a time
            # (a merge's are each shard's, on its own clock).
            if ordered:
                self.assertGreaterEqual(x["t_ms"], last)
            last = x["t_ms"] + x["ms"]
            self.assertEqual(x["status"] is None, x["error"] is not None, x)


class TestFastApi(HealthCase):

    def setUp(self):
        super().setUp()
        if not have_fastapi():
            self.fail("python3-fastapi and python3-uvicorn are missing "
                      "(scripts/deps.sh installs them)")

    def test_healthy_while_every_probe_fails(self):
        srv = self.server([harness.PYTHON, FASTAPI_APP, "--port", "0",
                           "--lifetime", "60"])
        base = "http://127.0.0.1:%d" % srv.port
        args = ["-n", "12", "-c", "4", "--rate", "20", "--send", "hi",
                srv.url("/ws")]
        rc, rep, err = self.campaign(["--health", base + "/api/health",
                                      "--health-interval", "100"] + args)
        self.assertEqual(rc, 1, err)
        self.assertEqual(rep["summary"]["outcomes"]["closed_by_server"], 12)
        self.assertEqual(rep["summary"]["close_codes"], {"1011": 12})
        h = rep["health"]
        self.assertEqual(h["url"], base + "/api/health")
        self.assertGreaterEqual(len(h["samples"]), 2, h)
        for x in h["samples"]:
            self.assertEqual(x["status"], 200, x)
            self.assertIsNone(x["error"])
            self.assertEqual(x["body"], '{"status":"healthy"}')
        self.assertEqual(h["summary"]["statuses"],
                         {"200": h["summary"]["samples"]})
        self.assertSummaryAddsUp(h)
        # The text report says it in one line.
        rc2, out, err2 = harness.run_wsprobe(
            ["--health", base + "/api/health", "--health-interval", "100"] +
            args)
        self.assertEqual(rc2, 1, err2)
        line = [l for l in out.splitlines() if l.startswith("health: ")]
        self.assertEqual(len(line), 1, out)
        self.assertRegex(line[0], r"^health: 200 x\d+ throughout, while 12 "
                         r"of 12 probes failed \(closed_by_server 1011 x12\)$")
        # The same campaign without --health: the same exit status, and no
        # health member.
        rc3, rep3, err3 = self.campaign(args)
        self.assertEqual(rc3, 1, err3)
        self.assertNotIn("health", rep3)


class TestFixture(HealthCase):

    def test_non_200_does_not_fail_a_passing_campaign(self):
        hs = self.health_server()
        rs = self.race()
        rc, rep, err = self.campaign(
            ["--health", "http://127.0.0.1:%d/down" % hs.port,
             "--health-interval", "100", "-n", "6", "-c", "2", "--rate", "20",
             "--send", "hi", rs.url()])
        self.assertEqual(rc, 0, err)
        self.assertEqual(rep["summary"]["passed"], 6)
        h = rep["health"]
        self.assertTrue(h["samples"])
        for x in h["samples"]:
            self.assertEqual(x["status"], 503, x)
            self.assertEqual(x["body"], '{"status":"degraded"}')
        self.assertEqual(list(h["summary"]["statuses"]), ["503"])
        self.assertSummaryAddsUp(h)

    def test_pinned_name_reaches_the_pinned_address(self):
        # --resolve pins the health URL's name as it pins the probes'.
        hs = self.health_server()
        rs = self.race()
        rc, rep, err = self.campaign(
            ["--resolve", "health.test:%d:127.0.0.1" % hs.port,
             "--health", "http://health.test:%d/down" % hs.port,
             "--health-interval", "100", "-n", "4", "-c", "2", "--rate",
             "20", "--send", "hi", rs.url()])
        self.assertEqual(rc, 0, err)
        h = rep["health"]
        self.assertTrue(h["samples"])
        for x in h["samples"]:
            self.assertEqual(x["status"], 503, x)

    def test_refused_is_an_error_sample(self):
        rs = self.race()
        rc, rep, err = self.campaign(
            ["--health", "http://127.0.0.1:%d/" % harness.free_port(),
             "--health-interval", "100", "-n", "4", "-c", "1", "--rate", "20",
             "--send", "hi", rs.url()])
        self.assertEqual(rc, 0, err)
        h = rep["health"]
        self.assertTrue(h["samples"])
        for x in h["samples"]:
            self.assertIsNone(x["status"])
            self.assertIn("connection refused", x["error"])
            self.assertIsNone(x["body"])
        self.assertEqual(h["summary"]["statuses"], {})
        self.assertEqual(h["summary"]["errors"], len(h["samples"]))
        self.assertSummaryAddsUp(h)

    def test_slow_endpoint_times_out_and_ticks_are_skipped(self):
        hs = self.health_server()
        rs = self.race()
        rc, rep, err = self.campaign(
            ["--health", "http://127.0.0.1:%d/slow?ms=3000" % hs.port,
             "--health-interval", "100", "--health-timeout", "300",
             "--duration", "1", "--rate", "10", "-c", "1", "--send", "hi",
             rs.url()])
        self.assertEqual(rc, 0, err)
        h = rep["health"]
        self.assertEqual(h["timeout_ms"], 300)
        self.assertTrue(h["samples"])
        for x in h["samples"]:
            self.assertIsNone(x["status"])
            self.assertEqual(x["error"], "no complete response within 300 ms")
            # Measured: at least the timeout, and far from the 3 s the
            # server would have taken.
            self.assertGreaterEqual(x["ms"], 300)
            self.assertLess(x["ms"], 3000)
        # A request runs 300 ms, ticks come every 100 ms: the ticks in
        # between find it running.
        self.assertGreaterEqual(h["summary"]["skipped"], 1)
        self.assertSummaryAddsUp(h)

    def test_hostile_endless_body_and_headers(self):
        hs = self.health_server()
        rs = self.race()
        for path, why in (("/endless-body", "body exceeds 65536 bytes"),
                          ("/endless-headers",
                           "response headers exceed 16384 bytes")):
            t0 = time.monotonic()
            rc, rep, err = self.campaign(
                ["--health", "http://127.0.0.1:%d%s" % (hs.port, path),
                 "--health-interval", "100", "-n", "4", "-c", "1", "--rate",
                 "20", "--send", "hi", rs.url()])
            self.assertEqual(rc, 0, err)
            self.assertLess(time.monotonic() - t0, 15)
            h = rep["health"]
            self.assertTrue(h["samples"])
            for x in h["samples"]:
                self.assertIsNone(x["status"])
                self.assertIn(why, x["error"])
            self.assertSummaryAddsUp(h)

    def test_long_body_cut_at_a_character(self):
        hs = self.health_server()
        rs = self.race()
        rc, rep, err = self.campaign(
            ["--health", "http://127.0.0.1:%d/long" % hs.port, "-n", "2",
             "-c", "1", "--send", "hi", rs.url()])
        self.assertEqual(rc, 0, err)
        x = rep["health"]["samples"][0]
        self.assertEqual(x["status"], 200)
        # 256 bytes would split the 128th "é": 255 bytes are kept.
        self.assertEqual(x["body"], "a" + "\u00e9" * 127)
        self.assertEqual(len(x["body"].encode()), 255)

    def test_threads_merge_junit_html(self):
        hs = self.health_server()
        rs = self.race()
        url = "http://127.0.0.1:%d/ok" % hs.port
        d = tempfile.mkdtemp(prefix="wsprobe-health-")
        self.addCleanup(shutil.rmtree, d, True)
        # On several threads: polled once, on the first loop.
        rc, rep, err = self.campaign(
            ["--health", url, "--health-interval", "100", "--threads", "2",
             "-n", "8", "-c", "2", "--rate", "20", "--send", "hi", rs.url()])
        self.assertEqual(rc, 0, err)
        self.assertTrue(rep["health"]["samples"])
        self.assertSummaryAddsUp(rep["health"])
        # Shards: each one's samples, merged.
        n = []
        for i in range(2):
            path = os.path.join(d, "%d.json" % i)
            rc, out, err = harness.run_wsprobe(
                ["--health", url, "--health-interval", "100", "--seed", "5",
                 "--shard", "%d/2" % i, "-n", "8", "-c", "1", "--rate", "20",
                 "--send", "hi", "--json", path, rs.url()])
            self.assertEqual(rc, 0, err)
            with open(path) as f:
                n.append(len(json.load(f)["health"]["samples"]))
        rc, out, err = harness.run_wsprobe(
            ["merge", "--json", os.path.join(d, "m.json"), "--junit",
             os.path.join(d, "m.xml"), "--html", os.path.join(d, "m.html"),
             os.path.join(d, "0.json"), os.path.join(d, "1.json")])
        self.assertEqual(rc, 0, err)
        self.assertIn("health: 200 x%d throughout\n" % sum(n), out)
        with open(os.path.join(d, "m.json")) as f:
            merged = json.load(f)["health"]
        self.assertEqual(len(merged["samples"]), sum(n))
        self.assertEqual(merged["summary"]["statuses"], {"200": sum(n)})
        self.assertSummaryAddsUp(merged, ordered=False)
        with open(os.path.join(d, "m.xml")) as f:
            xml = f.read()
        self.assertIn('<property name="health" value="200 x%d throughout"/>'
                      % sum(n), xml)
        with open(os.path.join(d, "m.html")) as f:
            html = f.read()
        self.assertIn("<h2>Health</h2>", html)
        self.assertEqual(html.count("<title>health at "), sum(n))

    def test_options_are_checked(self):
        for args, words in (
                (["--health", "ftp://127.0.0.1/"], "http:// or https://"),
                (["--health-interval", "100"], "applies only to --health"),
                (["--health", "http://127.0.0.1/", "--health-timeout", "0"],
                 "out of range")):
            rc, out, err = harness.run_wsprobe(args + ["ws://127.0.0.1:9/"])
            self.assertEqual(rc, 2, err)
            self.assertEqual(len(err.splitlines()), 1, err)
            self.assertIn(words, err)


class TestHttps(HealthCase):

    def setUp(self):
        super().setUp()
        self.pki = harness.make_pki()
        self.addCleanup(shutil.rmtree, self.pki, True)

    def pem(self, name):
        return os.path.join(self.pki, name)

    def test_https_health_verified_with_the_ca(self):
        hs = self.health_server("--cert", self.pem("server.pem"), "--key",
                                self.pem("server.key"))
        rs = self.race()
        url = "https://127.0.0.1:%d/ok" % hs.port
        rc, rep, err = self.campaign(
            ["--health", url, "--cacert", self.pem("ca.pem"), "-n", "2", "-c",
             "1", "--send", "hi", rs.url()])
        self.assertEqual(rc, 0, err)
        x = rep["health"]["samples"][0]
        self.assertEqual(x["status"], 200, x)
        self.assertEqual(x["body"], '{"status":"healthy"}')
        # Without the CA, the certificate is not trusted: an error sample,
        # and still the probes' verdict.
        rc, rep, err = self.campaign(
            ["--health", url, "-n", "2", "-c", "1", "--send", "hi",
             rs.url()])
        self.assertEqual(rc, 0, err)
        x = rep["health"]["samples"][0]
        self.assertIsNone(x["status"])
        self.assertTrue(x["error"].startswith("TLS: "), x)


if __name__ == "__main__":
    unittest.main()
