"""wss:// against TLS servers: verification on by default and every reason
it fails, --insecure, mutual TLS, the 1011 race over TLS, session
resumption (tickets and session IDs) and what it must not hide, nginx
terminating TLS in front of raceserver, and Python's ssl module as a server
nobody here wrote. Certificates are made at test time by
tests/tls/gen-certs.sh.
"""
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import harness
from harness import ProbeTestCase

PKI = None


def setUpModule():
    global PKI
    PKI = harness.make_pki()


def tearDownModule():
    shutil.rmtree(PKI, ignore_errors=True)


def pem(name):
    return os.path.join(PKI, name)


class TlsCase(ProbeTestCase):

    def tls_race(self, cert="server", *opts):
        srv = self.server([harness.RACESERVER_BIN, "--port", "0",
                           "--lifetime", "60", "--tls-cert", pem(cert + ".pem"),
                           "--tls-key", pem(cert + ".key")] + list(opts))
        return srv

    def wss(self, srv, host="127.0.0.1", path="/"):
        return "wss://%s:%d%s" % (host, srv.port, path)

    def assertTlsFailed(self, p, rc, why):
        self.assertProbe(p, "tls_failed", "tls", rc)
        self.assertIn(why, p["error"])
        self.assertIsNone(p["http_status"])
        self.assertIsNone(p["timeline_ms"]["tls_done"])


class TestVerification(TlsCase):

    def test_verified_ok_by_ip_and_name(self):
        srv = self.tls_race()
        for host in ("127.0.0.1", "localhost"):
            rc, p, rep = self.probe(["--cacert", pem("ca.pem"), "--send",
                                     "hi", "--expect", "agent_completed",
                                     self.wss(srv, host)])
            self.assertProbe(p, "ok", "closing", rc)
            self.assertEqual(p["tls"]["version"], "TLSv1.2")
            self.assertTrue(p["tls"]["verified"])
            self.assertTrue(p["tls"]["cipher"])
            self.assertGreater(p["timings_ms"]["tls"], 0)
            tl = p["timeline_ms"]
            self.assertLessEqual(tl["connected"], tl["tls_done"])
            self.assertLessEqual(tl["tls_done"], tl["upgrade_sent"])
            self.assertTrue(rep["config"]["tls"]["verify"])

    def test_unknown_ca(self):
        srv = self.tls_race()
        rc, p, _ = self.probe(["--send", "hi", self.wss(srv)])
        self.assertTlsFailed(p, rc, "unknown CA")

    def test_expired(self):
        srv = self.tls_race("expired")
        rc, p, _ = self.probe(["--cacert", pem("ca.pem"), "--send", "hi",
                               self.wss(srv)])
        self.assertTlsFailed(p, rc, "certificate expired")

    def test_not_yet_valid(self):
        srv = self.tls_race("future")
        rc, p, _ = self.probe(["--cacert", pem("ca.pem"), "--send", "hi",
                               self.wss(srv)])
        self.assertTlsFailed(p, rc, "not yet valid")

    def test_hostname_mismatch_by_ip_and_name(self):
        srv = self.tls_race("otherhost")
        for host in ("127.0.0.1", "localhost"):
            rc, p, _ = self.probe(["--cacert", pem("ca.pem"), "--send", "hi",
                                   self.wss(srv, host)])
            self.assertTlsFailed(p, rc, "hostname mismatch")
            self.assertIn(host, p["error"])

    def test_pinned_name_is_verified(self):
        # --resolve keeps the name for SNI and the certificate check: the
        # otherhost certificate is for other.invalid, which no resolver
        # knows, and passes for it; pinned as localhost it does not.
        srv = self.tls_race("otherhost")
        url = "wss://other.invalid:%d/" % srv.port
        rc, p, _ = self.probe(["--cacert", pem("ca.pem"), "--send", "hi",
                               "--resolve",
                               "other.invalid:%d:127.0.0.1" % srv.port, url])
        self.assertProbe(p, "ok", "closing", rc)
        self.assertTrue(p["tls"]["verified"])
        self.assertEqual(p["peer"], "127.0.0.1:%d" % srv.port)
        rc, p, _ = self.probe(["--cacert", pem("ca.pem"), "--send", "hi",
                               "--resolve",
                               "localhost:%d:127.0.0.1" % srv.port,
                               "wss://localhost:%d/" % srv.port])
        self.assertTlsFailed(p, rc, "hostname mismatch")
        self.assertIn("localhost", p["error"])

    def test_not_for_tls_servers(self):
        # mbedTLS refuses to serve a certificate meant for clients only;
        # OpenSSL (Python's ssl) serves it, and the client must refuse it.
        srv = self.server([harness.PYTHON, os.path.join(harness.SERVERS_DIR,
                                                        "py_ws_server.py"),
                           "--mode", "echo", "--tls-cert",
                           pem("clientauth.pem"), "--tls-key",
                           pem("clientauth.key")])
        for mode in ("on", "off"):
            rc, rep = harness.run_json(["--cacert", pem("ca.pem"), "-n", "2",
                                        "-c", "1", "--tls-resume", mode,
                                        "--send", "hi",
                                        "wss://localhost:%d/" % srv.port])
            for p in rep["probes"]:
                self.assertTlsFailed(p, rc, "not for a TLS server (key "
                                     "usage)")

    def test_self_signed_refused_then_insecure(self):
        srv = self.tls_race("self")
        rc, p, _ = self.probe(["--send", "hi", self.wss(srv)])
        self.assertTlsFailed(p, rc, "unknown CA")
        rc, p, rep = self.probe(["--insecure", "--send", "hi",
                                 self.wss(srv)])
        self.assertProbe(p, "ok", "closing", rc)
        # Recorded, so nobody mistakes this run for a verified one.
        self.assertFalse(p["tls"]["verified"])
        self.assertFalse(rep["config"]["tls"]["verify"])

    def test_tls_timeout(self):
        # A TCP server that accepts and never speaks TLS.
        lsock = socket.socket()
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(4)
        self.addCleanup(lsock.close)
        t0 = time.monotonic()
        rc, p, _ = self.probe(["--tls-timeout", "300", "--send", "hi",
                               "wss://127.0.0.1:%d/" % lsock.getsockname()[1]])
        self.assertTlsFailed(p, rc, "timed out after 300 ms")
        self.assertLess(time.monotonic() - t0, 5)

    def test_plain_server_is_not_tls(self):
        srv = self.server([harness.RACESERVER_BIN, "--port", "0",
                           "--lifetime", "60"])
        rc, p, _ = self.probe(["--send", "hi", self.wss(srv)])
        self.assertProbe(p, "tls_failed", "tls", rc)


class TestMutualTls(TlsCase):

    def test_client_certificate_accepted_and_refused(self):
        srv = self.tls_race("server", "--tls-client-ca", pem("ca.pem"))
        base = ["--cacert", pem("ca.pem"), "--send", "hi"]
        rc, p, _ = self.probe(base + ["--cert", pem("client.pem"), "--key",
                                      pem("client.key"), self.wss(srv)])
        self.assertProbe(p, "ok", "closing", rc)
        rc, p, _ = self.probe(base + [self.wss(srv)])
        self.assertProbe(p, "tls_failed", "tls", rc)
        rc, p, _ = self.probe(base + ["--cert", pem("rogue-client.pem"),
                                      "--key", pem("rogue-client.key"),
                                      self.wss(srv)])
        self.assertProbe(p, "tls_failed", "tls", rc)

    def test_mismatched_key_is_a_usage_error(self):
        rc, out, err = harness.run_wsprobe(["--cert", pem("client.pem"),
                                            "--key", pem("server.key"),
                                            "wss://127.0.0.1:1/"])
        self.assertEqual(rc, 2)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertIn("does not match", err)


class TestRaceOverTls(TlsCase):

    def test_1011_race_and_clean_run(self):
        srv = self.tls_race("server", "--ready-delay", "300")
        base = ["--cacert", pem("ca.pem"), "--send", "hi"]
        rc, p, _ = self.probe(base + [self.wss(srv)])
        self.assertProbe(p, "closed_by_server", "awaiting_reply", rc)
        self.assertEqual(p["close"]["received"],
                         {"code": 1011, "reason": "Internal error"})
        rc, p, _ = self.probe(base + ["--delay", "500", self.wss(srv)])
        self.assertProbe(p, "ok", "closing", rc)

    def test_many_probes_share_one_configuration(self):
        srv = self.tls_race()
        rc, rep = harness.run_json(["--cacert", pem("ca.pem"), "-n", "60",
                                    "-c", "20", "--send", "hi",
                                    self.wss(srv, "localhost")])
        self.assertEqual(rc, 0)
        self.assertEqual(rep["summary"]["passed"], 60)


def tls_of(rep):
    """Each probe's tls object, in index order."""
    return [p["tls"] for p in sorted(rep["probes"], key=lambda p: p["index"])]


class TestResumption(TlsCase):
    """Sessions resumed by ticket and by session ID on raceserver, never
    claimed where the server does not resume, and off on request."""

    def run_seq(self, srv, *opts, n=4, host="localhost"):
        """n probes one after the other (so that each can resume the
        last); returns (exit code, report)."""
        return harness.run_json(["--cacert", pem("ca.pem"), "-n", str(n),
                                 "-c", "1", "--send", "hi"] + list(opts) +
                                [self.wss(srv, host)])

    def assertResumed(self, rep, resumed):
        tls = tls_of(rep)
        self.assertEqual([t["resumed"] for t in tls], resumed, tls)
        for t in tls:
            # The group comes from a full handshake's ServerKeyExchange.
            self.assertEqual(t["group"], None if t["resumed"] else "x25519")
            self.assertTrue(t["verified"])
            self.assertEqual(t["version"], "TLSv1.2")
            self.assertTrue(t["cipher"])
        self.assertEqual(rep["summary"]["tls_handshakes"],
                         {"full": resumed.count(False),
                          "resumed": resumed.count(True)})

    def test_tickets(self):
        srv = self.tls_race("server", "--on-message", "echo", "--tls-tickets")
        for host in ("localhost", "127.0.0.1"):
            rc, rep = self.run_seq(srv, host=host)
            self.assertEqual(rc, 0)
            self.assertResumed(rep, [False, True, True, True])
            self.assertTrue(rep["config"]["tls"]["resume"])

    def test_session_ids(self):
        srv = self.tls_race("server", "--on-message", "echo",
                            "--tls-session-cache")
        rc, rep = self.run_seq(srv)
        self.assertEqual(rc, 0)
        self.assertResumed(rep, [False, True, True, True])

    def test_not_claimed_when_the_server_does_not_resume(self):
        srv = self.tls_race("server", "--on-message", "echo")
        rc, rep = self.run_seq(srv)
        self.assertEqual(rc, 0)
        self.assertResumed(rep, [False] * 4)

    def test_off_does_full_handshakes(self):
        srv = self.tls_race("server", "--on-message", "echo", "--tls-tickets",
                            "--tls-session-cache")
        rc, rep = self.run_seq(srv, "--tls-resume=off")
        self.assertEqual(rc, 0)
        self.assertResumed(rep, [False] * 4)
        self.assertFalse(rep["config"]["tls"]["resume"])
        rc, rep = self.run_seq(srv, "--tls-resume", "on", n=2)
        self.assertResumed(rep, [False, True])
        rc, out, err = harness.run_wsprobe(["--tls-resume=maybe",
                                            self.wss(srv)])
        self.assertEqual(rc, 2)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertIn("--tls-resume", err)

    def test_concurrent_probes_resume(self):
        srv = self.tls_race("server", "--on-message", "echo", "--tls-tickets")
        rc, rep = harness.run_json(["--cacert", pem("ca.pem"), "-n", "40",
                                    "-c", "8", "--send", "hi",
                                    self.wss(srv, "localhost")])
        self.assertEqual(rc, 0)
        hs = rep["summary"]["tls_handshakes"]
        self.assertEqual(hs["full"] + hs["resumed"], 40)
        # At most the first window of 8 starts without a session.
        self.assertLessEqual(hs["full"], 8)
        self.assertGreaterEqual(hs["resumed"], 32)

    def test_summary_text_counts_handshakes(self):
        srv = self.tls_race("server", "--on-message", "echo", "--tls-tickets")
        rc, out, _ = harness.run_wsprobe(["--cacert", pem("ca.pem"), "-n",
                                          "3", "-c", "1", "--send", "hi",
                                          self.wss(srv)])
        self.assertEqual(rc, 0, out)
        self.assertRegex(out, r"tls handshakes: +1 full, 2 resumed")


class TestVerifiedOnEveryFullHandshake(TlsCase):
    """The chain is verified once per loop, but a certificate that changes
    is verified afresh, and a bad one fails every probe that does a full
    handshake, with the precise reason."""

    def changing(self, new, *opts):
        """raceserver that serves server.pem for 2 connections, then `new`
        (with its own ticket key and session cache)."""
        return self.tls_race("server", "--on-message", "echo",
                             "--tls-next-cert", pem(new + ".pem"),
                             "--tls-next-key", pem(new + ".key"),
                             "--tls-next-after", "2", *opts)

    def outcomes(self, rep):
        ps = sorted(rep["probes"], key=lambda p: p["index"])
        return [(p["outcome"], p["error"]) for p in ps]

    def test_changed_certificate_without_resumption(self):
        for new, why in (("self", "certificate signed by an unknown CA"),
                         ("expired", "certificate expired"),
                         ("otherhost", "hostname mismatch: the certificate "
                                       "is not for localhost")):
            srv = self.changing(new)
            rc, rep = harness.run_json(["--cacert", pem("ca.pem"), "-n", "4",
                                        "-c", "1", "--send", "hi",
                                        "--tls-resume=off",
                                        self.wss(srv, "localhost")])
            self.assertEqual(rc, 1)
            got = self.outcomes(rep)
            self.assertEqual(got[:2], [("ok", None)] * 2, got)
            for outcome, error in got[2:]:
                self.assertEqual(outcome, "tls_failed", got)
                self.assertTrue(error.startswith(why), got)

    def test_changed_certificate_with_resumption(self):
        for opt in ("--tls-tickets", "--tls-session-cache"):
            srv = self.changing("self", opt)
            rc, rep = harness.run_json(["--cacert", pem("ca.pem"), "-n", "4",
                                        "-c", "1", "--send", "hi",
                                        self.wss(srv, "localhost")])
            got = self.outcomes(rep)
            self.assertEqual(got[:2], [("ok", None)] * 2, got)
            self.assertEqual([t["resumed"] for t in tls_of(rep)[:2]],
                             [False, True])
            # The session made with the first certificate is not resumed
            # by the second: full handshakes, and the new chain fails.
            self.assertEqual(got[2:], [("tls_failed", "certificate signed by "
                                        "an unknown CA (verify flags 0x8)")]
                             * 2, got)

    def test_bad_certificates_fail_every_probe(self):
        for cert, host, why in (
                ("expired", "localhost", "certificate expired"),
                ("otherhost", "localhost", "hostname mismatch"),
                ("otherhost", "127.0.0.1", "hostname mismatch"),
                ("future", "localhost", "not yet valid")):
            srv = self.tls_race(cert, "--on-message", "echo", "--tls-tickets",
                                "--tls-session-cache")
            for mode in ("on", "off"):
                rc, rep = harness.run_json(["--cacert", pem("ca.pem"), "-n",
                                            "5", "-c", "2", "--send", "hi",
                                            "--tls-resume", mode,
                                            self.wss(srv, host)])
                self.assertEqual(rc, 1)
                self.assertEqual(rep["summary"]["outcomes"]["tls_failed"], 5)
                for p in rep["probes"]:
                    self.assertIn(why, p["error"])
                    self.assertIsNone(p["tls"])
                self.assertEqual(rep["summary"]["tls_handshakes"],
                                 {"full": 0, "resumed": 0})


NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
  server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    {extra}
    location / {{
      proxy_pass http://127.0.0.1:{upstream};
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_read_timeout 30s;
    }}
  }}
}}
"""


class TestThroughNginx(TlsCase):
    """The usual deployment: nginx terminates TLS and proxies the WebSocket
    to the backend."""

    def start_nginx(self, upstream_port, extra=""):
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        d = tempfile.mkdtemp(prefix="wsprobe-nginx-")
        self.addCleanup(shutil.rmtree, d, True)
        port = harness.free_port()
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(dir=d, port=port, cert=pem("server.pem"),
                                      key=pem("server.key"),
                                      upstream=upstream_port, extra=extra))
        proc = subprocess.Popen([nginx, "-p", d, "-c", conf],
                                stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        self.addCleanup(harness.stop, proc)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                return port
            except OSError:
                if proc.poll() is not None:
                    self.fail("nginx exited: %s" % proc.stderr.read().decode())
                time.sleep(0.05)
        self.fail("nginx did not start")

    def test_race_and_events_through_nginx(self):
        backend = self.server([harness.RACESERVER_BIN, "--port", "0",
                               "--lifetime", "60", "--ready-delay", "300"])
        port = self.start_nginx(backend.port)
        url = "wss://localhost:%d/agent" % port
        base = ["--cacert", pem("ca.pem"), "--send", '{"type":"run"}']
        rc, p, _ = self.probe(base + [url])
        self.assertProbe(p, "closed_by_server", "awaiting_reply", rc)
        self.assertEqual(p["close"]["received"]["code"], 1011)
        rc, p, _ = self.probe(base + ["--delay", "500", "--expect",
                                      "agent_started", "--expect",
                                      "agent_completed", url])
        self.assertProbe(p, "ok", "closing", rc)
        self.assertTrue(p["tls"]["verified"])

    def test_resumption_tickets_and_session_ids(self):
        backend = self.server([harness.RACESERVER_BIN, "--port", "0",
                               "--lifetime", "60", "--on-message", "echo"])
        # nginx's default: tickets, and no session cache ("none" only
        # pretends). Then session IDs only. Then neither: nothing may be
        # reported as resumed.
        for extra, resumed in (
                ("", [False, True, True, True]),
                ("ssl_session_tickets off; ssl_session_cache shared:WSP:1m;",
                 [False, True, True, True]),
                ("ssl_session_tickets off; ssl_session_cache off;",
                 [False] * 4)):
            port = self.start_nginx(backend.port, extra)
            for host in ("localhost", "127.0.0.1"):
                rc, rep = harness.run_json(["--cacert", pem("ca.pem"), "-n",
                                            "4", "-c", "1", "--send", "hi",
                                            "wss://%s:%d/" % (host, port)])
                self.assertEqual(rc, 0, extra)
                tls = tls_of(rep)
                self.assertEqual([t["resumed"] for t in tls], resumed,
                                 (extra, tls))
                for t in tls:
                    self.assertTrue(t["verified"])
                    if t["resumed"]:
                        self.assertIsNone(t["group"])
                    else:
                        self.assertEqual(t["group"], "x25519")
            rc, rep = harness.run_json(["--cacert", pem("ca.pem"), "-n", "3",
                                        "-c", "1", "--send", "hi",
                                        "--tls-resume=off",
                                        "wss://localhost:%d/" % port])
            self.assertEqual(rc, 0)
            self.assertEqual([t["resumed"] for t in tls_of(rep)], [False] * 3)

    def test_tls13_only_server_is_named(self):
        # Debian's mbedTLS 2.28 speaks TLS 1.2 only (docs/tls.md).
        backend = self.server([harness.RACESERVER_BIN, "--port", "0",
                               "--lifetime", "60", "--on-message", "echo"])
        port = self.start_nginx(backend.port, "ssl_protocols TLSv1.3;")
        rc, p, _ = self.probe(["--cacert", pem("ca.pem"), "--send", "hi",
                               "wss://localhost:%d/" % port])
        self.assertTlsFailed(p, rc, "protocol_version (70): the server "
                             "accepts no TLS 1.2")

    def test_backend_down_is_a_502_not_a_pass(self):
        port = self.start_nginx(harness.free_port())
        rc, p, _ = self.probe(["--cacert", pem("ca.pem"), "--send", "hi",
                               "wss://127.0.0.1:%d/" % port])
        self.assertProbe(p, "handshake_rejected", "upgrade", rc)
        self.assertEqual(p["http_status"], 502)


class TestPythonSslServer(TlsCase):
    """A TLS WebSocket server nobody here wrote: Python's ssl module under
    Debian's python3-websockets."""

    def test_echo_over_python_ssl(self):
        srv = self.server([harness.PYTHON, os.path.join(harness.SERVERS_DIR,
                                                        "py_ws_server.py"),
                           "--mode", "echo", "--tls-cert", pem("server.pem"),
                           "--tls-key", pem("server.key")])
        rc, p, _ = self.probe(["--cacert", pem("ca.pem"), "--send", "hi",
                               "wss://localhost:%d/" % srv.port])
        self.assertProbe(p, "ok", "closing", rc)
        self.assertEqual(p["tls"]["version"], "TLSv1.2")
        self.assertTrue(p["tls"]["verified"])
        self.assertEqual(p["close"]["received"]["code"], 1000)


if __name__ == "__main__":
    unittest.main()
