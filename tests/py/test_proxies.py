"""Through HTTP proxies: ws:// and wss:// through CONNECT, against the tests'
own proxy (tests/servers/connect_proxy.py: 407, 403, 502, malformed,
dropped and silent proxies) and Debian's tinyproxy, which nobody here
wrote; curl's environment variables and no-proxy rules; credentials kept
out of every output; https:// proxies refused.
"""
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

import harness
from harness import ProbeTestCase

PROXY = os.path.join(harness.SERVERS_DIR, "connect_proxy.py")
TINYPROXY = shutil.which("tinyproxy") or (
    "/usr/bin/tinyproxy" if os.access("/usr/bin/tinyproxy", os.X_OK) else None)
PKI = None


def setUpModule():
    global PKI
    PKI = harness.make_pki()


def tearDownModule():
    shutil.rmtree(PKI, ignore_errors=True)


def pem(name):
    return os.path.join(PKI, name)


class ProxyCase(ProbeTestCase):

    def setUp(self):
        super().setUp()
        if harness.RACESERVER_BIN is None:
            self.fail(harness.RACESERVER_MISSING)

    def race(self, *opts):
        return self.server([harness.RACESERVER_BIN, "--port", "0",
                            "--lifetime", "60"] + list(opts))

    def tls_race(self):
        return self.race("--tls-cert", pem("server.pem"), "--tls-key",
                         pem("server.key"))

    def proxy(self, *opts):
        return self.server([harness.PYTHON, PROXY] + list(opts))

    def seen(self, px, n=1, timeout=5):
        """The CONNECT lines the test proxy printed (waits for n)."""
        deadline = time.monotonic() + timeout
        while True:
            lines = [l.strip() for l in px.out if l.startswith("CONNECT")]
            if len(lines) >= n or time.monotonic() > deadline:
                return lines
            time.sleep(0.02)

    def assertSecretFree(self, text, *secrets):
        for s in secrets:
            self.assertNotIn(s, text)


class ThroughProxy(ProxyCase):

    def test_ws_through_connect(self):
        srv, px = self.race(), self.proxy()
        rc, p, rep = self.probe(["--proxy", "http://127.0.0.1:%d" % px.port,
                                 "--send", "hi", srv.url()])
        self.assertProbe(p, "ok", "closing", rc)
        self.assertEqual(p["proxy"], {"status": 200})
        self.assertEqual(self.seen(px),
                         ["CONNECT 127.0.0.1:%d auth=none" % srv.port])
        tl = p["timeline_ms"]
        self.assertLessEqual(tl["connected"], tl["tunnel"])
        self.assertLessEqual(tl["tunnel"], tl["upgrade_sent"])
        self.assertGreaterEqual(p["timings_ms"]["proxy"], 0)
        self.assertEqual(rep["config"]["proxy"],
                         "http://127.0.0.1:%d" % px.port)

    def test_resolve_pins_the_proxy_dialled(self):
        # Through a proxy the host dialled is the proxy: --resolve pins its
        # name, as curl's does; the target goes in CONNECT as written.
        srv, px = self.race(), self.proxy()
        rc, p, rep = self.probe(
            ["--proxy", "http://proxy.test:%d" % px.port, "--resolve",
             "proxy.test:%d:127.0.0.1" % px.port, "--send", "hi", srv.url()])
        self.assertProbe(p, "ok", "closing", rc)
        self.assertEqual(p["peer"], "127.0.0.1:%d" % px.port)
        self.assertEqual(self.seen(px),
                         ["CONNECT 127.0.0.1:%d auth=none" % srv.port])

    def test_wss_through_connect_checks_the_server_name(self):
        srv, px = self.tls_race(), self.proxy()
        for host in ("127.0.0.1", "localhost"):
            rc, p, _ = self.probe(
                ["-x", "127.0.0.1:%d" % px.port, "--cacert", pem("ca.pem"),
                 "--send", "hi", "wss://%s:%d/" % (host, srv.port)])
            self.assertProbe(p, "ok", "closing", rc)
            self.assertTrue(p["tls"]["verified"])
            self.assertEqual(p["proxy"]["status"], 200)
            tl = p["timeline_ms"]
            self.assertLessEqual(tl["tunnel"], tl["tls_done"])
            self.assertGreater(p["timings_ms"]["tls"], 0)
        self.assertEqual(self.seen(px, 2),
                         ["CONNECT 127.0.0.1:%d auth=none" % srv.port,
                          "CONNECT localhost:%d auth=none" % srv.port])

    def test_wss_through_connect_wrong_certificate_is_tls_failed(self):
        srv = self.race("--tls-cert", pem("otherhost.pem"), "--tls-key",
                        pem("otherhost.key"))
        px = self.proxy()
        rc, p, _ = self.probe(["-x", "127.0.0.1:%d" % px.port, "--cacert",
                               pem("ca.pem"), "--send", "hi",
                               "wss://localhost:%d/" % srv.port])
        self.assertProbe(p, "tls_failed", "tls", rc)
        self.assertIn("hostname mismatch", p["error"])

    def test_1011_race_through_the_proxy(self):
        srv, px = self.race("--ready-delay", "400"), self.proxy()
        rc, p, _ = self.probe(["--proxy", "http://127.0.0.1:%d" % px.port,
                               "--send", "hi", srv.url()])
        self.assertProbe(p, "closed_by_server", "awaiting_reply", rc)
        self.assertClose(p["close"]["received"], 1011)

    def test_407_then_credentials(self):
        srv = self.race()
        px = self.proxy("--auth", "alice:pa:ss@1")
        url = "http://127.0.0.1:%d" % px.port
        rc, rep, out, err = harness.run_json_full(["--proxy", url, "--send",
                                                   "hi", srv.url()])
        p = rep["probes"][0]
        self.assertProbe(p, "proxy_rejected", "proxy", rc)
        self.assertEqual(p["proxy"], {"status": 407})
        self.assertIn("407", p["error"])
        self.assertIsNone(p["http_status"])
        self.assertIsNone(p["timeline_ms"]["upgrade_sent"])
        # Percent-encoded credentials, decoded before they are sent.
        secret_url = "http://alice:pa%3Ass%401@127.0.0.1:" + str(px.port)
        rc, rep, out, err = harness.run_json_full(
            ["--proxy", secret_url, "--send", "hi", "--dry-run", srv.url()]
            if False else ["--proxy", secret_url, "--send", "hi", srv.url()])
        p = rep["probes"][0]
        self.assertProbe(p, "ok", "closing", rc)
        self.assertEqual(self.seen(px, 2)[1],
                         "CONNECT 127.0.0.1:%d auth=good" % srv.port)
        self.assertEqual(rep["config"]["proxy"],
                         "http://<redacted>@127.0.0.1:%d" % px.port)
        self.assertSecretFree(out + err, "alice", "pa%3Ass", "YWxpY2")
        # Shown only when asked for.
        rc, rep, out, err = harness.run_json_full(
            ["--proxy", secret_url, "--show-secrets", "--send", "hi",
             srv.url()])
        self.assertEqual(rep["config"]["proxy"], secret_url)
        # Wrong credentials: 407 again, and the summary names no secret.
        rc, out, err = harness.run_wsprobe(
            ["--proxy", "http://alice:wrong@127.0.0.1:%d" % px.port,
             "--send", "hi", srv.url()])
        self.assertEqual(rc, 1)
        self.assertIn("proxy_rejected", out + err)
        self.assertSecretFree(out + err, "wrong", "alice")

    def test_refusals_and_broken_tunnels(self):
        srv = self.race()
        cases = [("403", "proxy_rejected", 403, "403"),
                 ("502", "proxy_rejected", 502, "502"),
                 ("malformed", "proxy_failed", None, "not an HTTP response"),
                 ("drop", "proxy_failed", None, "before answering CONNECT"),
                 ("half", "proxy_failed", 200, "in the middle of its answer")]
        for mode, outcome, status, says in cases:
            with self.subTest(mode=mode):
                px = self.proxy("--mode", mode)
                rc, p, _ = self.probe(["-x", "127.0.0.1:%d" % px.port,
                                       "--send", "hi", srv.url()])
                self.assertProbe(p, outcome, "proxy", rc)
                self.assertEqual(p["proxy"],
                                 {"status": status} if status else None)
                self.assertIn(says, p["error"])
                self.assertIsNone(p["timeline_ms"]["tunnel"])

    def test_html_and_junit_reports_name_the_proxy_outcomes(self):
        srv, px = self.race(), self.proxy("--mode", "403")
        d = tempfile.mkdtemp(prefix="wsprobe-proxy-reports-")
        self.addCleanup(shutil.rmtree, d, True)
        html, junit = os.path.join(d, "r.html"), os.path.join(d, "r.xml")
        rc, out, err = harness.run_wsprobe(
            ["-x", "127.0.0.1:%d" % px.port, "--html", html, "--junit",
             junit, "--send", "hi", srv.url()])
        self.assertEqual(rc, 1, err)
        for path in (html, junit):
            with open(path, encoding="utf-8") as f:
                text = f.read()
            self.assertIn("proxy_rejected", text)
            self.assertNotIn("(null)", text)
        self.assertIn("proxy_rejected", out + err)

    def test_silent_proxy_times_out_in_the_proxy_phase(self):
        srv, px = self.race(), self.proxy("--mode", "silent")
        rc, p, _ = self.probe(["-x", "127.0.0.1:%d" % px.port,
                               "--proxy-timeout", "300", "--send", "hi",
                               srv.url()])
        self.assertProbe(p, "proxy_failed", "proxy", rc)
        self.assertIn("did not answer CONNECT within 300 ms", p["error"])

    def test_no_proxy_listening_is_connect_refused(self):
        srv = self.race()
        port = harness.free_port()
        rc, p, _ = self.probe(["-x", "127.0.0.1:%d" % port, "--send", "hi",
                               srv.url()])
        self.assertProbe(p, "connect_refused", "connect", rc)
        self.assertIn("the proxy", p["error"])
        self.assertIn(str(port), p["error"])

    def test_campaign_through_the_proxy(self):
        srv, px = self.race(), self.proxy()
        rc, rep = harness.run_json(["-x", "127.0.0.1:%d" % px.port, "-n", "6",
                                    "-c", "3", "--send", "hi", srv.url()])
        self.assertEqual(rc, 0, rep["summary"])
        self.assertEqual([p["outcome"] for p in rep["probes"]], ["ok"] * 6)
        self.assertEqual(len(self.seen(px, 6)), 6)
        self.assertIn("proxy", rep["summary"]["spans_ms"])

    def test_shards_through_different_proxies_merge(self):
        # A shard's proxy is its machine's: it is no part of the campaign's
        # fingerprint, so shards run through a proxy and without merge.
        srv, px = self.race(), self.proxy()
        d = tempfile.mkdtemp(prefix="wsprobe-proxy-shards-")
        self.addCleanup(shutil.rmtree, d, True)
        shards = [os.path.join(d, "s%d.json" % i) for i in range(2)]
        for i, extra in enumerate([["-x", "127.0.0.1:%d" % px.port], []]):
            rc, out, err = harness.run_wsprobe(
                extra + ["-n", "4", "--seed", "7", "--shard", "%d/2" % i,
                         "-q", "--json", shards[i], "--send", "hi",
                         srv.url()])
            self.assertEqual(rc, 0, err)
        rc, out, err = harness.run_wsprobe(
            ["merge", "-q", "--json", os.path.join(d, "all.json")] + shards)
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(self.seen(px, 2)), 2)


class Environment(ProxyCase):
    """curl's variables, read when neither --proxy nor --noproxy says."""

    def via(self, px, srv, env, url=None, extra=()):
        before = len(self.seen(px, 0))
        rc, p, rep = self.probe(list(extra) + ["--send", "hi",
                                               url or srv.url()], env=env)
        self.assertProbe(p, "ok", "closing", rc)
        time.sleep(0.05)
        return p["proxy"] is not None, len(self.seen(px, 0)) > before, rep

    def test_ws_variables_in_order(self):
        srv, px = self.race(), self.proxy()
        good = "http://127.0.0.1:%d" % px.port
        bad = "http://127.0.0.1:%d" % harness.free_port()
        for env, proxied in [
                ({"ws_proxy": good, "WS_PROXY": bad, "http_proxy": bad}, True),
                ({"WS_PROXY": good, "http_proxy": bad}, True),
                ({"http_proxy": good, "all_proxy": bad}, True),
                ({"all_proxy": good, "ALL_PROXY": bad}, True),
                ({"ALL_PROXY": good}, True),
                # Never HTTP_PROXY (a CGI client may set it), nor https_proxy
                # for ws://.
                ({"HTTP_PROXY": bad}, False),
                ({"https_proxy": bad, "wss_proxy": bad}, False),
                # Empty counts as unset.
                ({"ws_proxy": "", "http_proxy": good}, True)]:
            with self.subTest(env=sorted(env)):
                used, seen, _ = self.via(px, srv, env)
                self.assertEqual((used, seen), (proxied, proxied))

    def test_wss_variables_in_order(self):
        srv, px = self.tls_race(), self.proxy()
        good = "http://127.0.0.1:%d" % px.port
        bad = "http://127.0.0.1:%d" % harness.free_port()
        url = "wss://localhost:%d/" % srv.port
        for env, proxied in [
                ({"wss_proxy": good, "WSS_PROXY": bad, "https_proxy": bad},
                 True),
                ({"WSS_PROXY": good, "https_proxy": bad}, True),
                ({"https_proxy": good, "HTTPS_PROXY": bad}, True),
                ({"HTTPS_PROXY": good, "all_proxy": bad}, True),
                ({"all_proxy": good}, True),
                ({"http_proxy": bad, "ws_proxy": bad}, False)]:
            with self.subTest(env=sorted(env)):
                used, seen, _ = self.via(px, srv, env, url,
                                         ["--cacert", pem("ca.pem")])
                self.assertEqual((used, seen), (proxied, proxied))

    def test_no_proxy_rules(self):
        srv, px = self.race(), self.proxy()
        good = "http://127.0.0.1:%d" % px.port
        for noproxy, host, direct in [
                ("*", "127.0.0.1", True),
                ("127.0.0.1", "127.0.0.1", True),
                ("127.0.0.0/8", "127.0.0.1", True),
                ("10.0.0.0/8", "127.0.0.1", False),
                ("localhost", "localhost", True),
                (".localhost", "localhost", True),
                ("example.com, localhost", "localhost", True),
                ("host", "localhost", False),
                ("localhost", "127.0.0.1", False)]:
            url = "ws://%s:%d/" % (host, srv.port)
            with self.subTest(no_proxy=noproxy, host=host):
                used, _, _ = self.via(px, srv, {"http_proxy": good,
                                                "no_proxy": noproxy}, url)
                self.assertEqual(used, not direct)
                used, _, _ = self.via(px, srv, {"http_proxy": good,
                                                "NO_PROXY": noproxy}, url)
                self.assertEqual(used, not direct)
        # --noproxy and --proxy take precedence over the environment.
        used, _, _ = self.via(px, srv, {"http_proxy": good, "no_proxy": "*"},
                              extra=["--noproxy", "example.com"])
        self.assertTrue(used)
        used, _, _ = self.via(px, srv, {"http_proxy": good},
                              extra=["--noproxy", "*"])
        self.assertFalse(used)
        used, _, _ = self.via(px, srv, {"http_proxy": good},
                              extra=["--proxy", ""])
        self.assertFalse(used)

    def test_bad_proxies_are_refused_in_one_line(self):
        srv = self.race()
        for args, env, says in [
                (["--proxy", "https://u:sekrit@127.0.0.1:1"], None,
                 "https:// proxies are not supported"),
                (["--proxy", "socks5://127.0.0.1:1"], None,
                 "only http:// proxies"),
                (["--proxy", "http://127.0.0.1:0"], None, "bad port"),
                ([], {"http_proxy": "https://u:sekrit@127.0.0.1:1"},
                 "http_proxy in the environment"),
                ([], {"ALL_PROXY": "http://[nope]:1"},
                 "ALL_PROXY in the environment")]:
            with self.subTest(args=args, env=env):
                rc, out, err = harness.run_wsprobe(
                    args + ["--send", "hi", srv.url()], env=env)
                self.assertEqual(rc, 2, err)
                self.assertEqual(out, "")
                self.assertEqual(len(err.strip().splitlines()), 1, err)
                self.assertIn(says, err)
                self.assertNotIn("sekrit", err)


@unittest.skipIf(TINYPROXY is None, "tinyproxy is not installed "
                 "(scripts/deps.sh installs it)")
class Tinyproxy(ProxyCase):
    """Debian's tinyproxy, started on a free port with its own config."""

    def tinyproxy(self, *lines):
        d = tempfile.mkdtemp(prefix="wsprobe-tinyproxy-")
        self.addCleanup(shutil.rmtree, d, True)
        port = harness.free_port()
        conf = os.path.join(d, "tinyproxy.conf")
        with open(conf, "w") as f:
            f.write("Port %d\nListen 127.0.0.1\nBind 127.0.0.1\nTimeout 30\n"
                    "MaxClients 20\nAllow 127.0.0.1\nLogLevel Info\n"
                    "LogFile \"%s\"\nPidFile \"%s\"\n%s"
                    % (port, os.path.join(d, "log"),
                       os.path.join(d, "pid"), "".join(l + "\n"
                                                       for l in lines)))
        proc = subprocess.Popen([TINYPROXY, "-d", "-c", conf],
                                stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        harness._live.add(proc)
        self.addCleanup(harness.stop, proc)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    self.fail("tinyproxy did not start (status %s): %s"
                              % (proc.poll(), open(os.path.join(d, "log"))
                                 .read() if os.path.exists(
                                     os.path.join(d, "log")) else ""))
                time.sleep(0.05)
        return port

    def test_ws_and_wss_through_tinyproxy(self):
        port = self.tinyproxy()
        srv, tsrv = self.race(), self.tls_race()
        rc, p, _ = self.probe(["-x", "127.0.0.1:%d" % port, "--send", "hi",
                               srv.url()])
        self.assertProbe(p, "ok", "closing", rc)
        self.assertEqual(p["proxy"], {"status": 200})
        rc, p, _ = self.probe(["-x", "127.0.0.1:%d" % port, "--cacert",
                               pem("ca.pem"), "--send", "hi",
                               "wss://localhost:%d/" % tsrv.port])
        self.assertProbe(p, "ok", "closing", rc)
        self.assertTrue(p["tls"]["verified"])

    def test_tinyproxy_refuses_a_port(self):
        # ConnectPort allows only the listed ports: tinyproxy answers 403.
        port = self.tinyproxy("ConnectPort 1")
        srv = self.race()
        rc, p, _ = self.probe(["-x", "127.0.0.1:%d" % port, "--send", "hi",
                               srv.url()])
        self.assertProbe(p, "proxy_rejected", "proxy", rc)
        self.assertEqual(p["proxy"], {"status": 403})


if __name__ == "__main__":
    unittest.main()
