"""JWTs: our tokens checked by implementations nobody here wrote (Python's
hmac for HS256, `openssl dgst` for RS256 and ES256), theirs checked by ours,
refusals, placement, 401/403 at the upgrade, and no secret in any output.
"""
import base64
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import harness
from harness import ProbeTestCase

JWT_TOOL = os.environ.get("JWT_TOOL") or os.path.join(
    harness.REPO_ROOT, "build", "tests", "jwt_tool")
SECRET = "s3cret-for-tests-only"


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64url(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def hs256(claims, secret=SECRET, header=None):
    h = b64url(json.dumps(header or {"alg": "HS256", "typ": "JWT"}).encode())
    c = b64url(json.dumps(claims).encode())
    sig = hmac.new(secret.encode(), ("%s.%s" % (h, c)).encode(),
                   hashlib.sha256).digest()
    return "%s.%s.%s" % (h, c, b64url(sig))


def der_int(b):
    b = b.lstrip(b"\0") or b"\0"
    if b[0] & 0x80:
        b = b"\0" + b
    return b"\x02" + bytes([len(b)]) + b


def raw_to_der(sig):
    body = der_int(sig[:32]) + der_int(sig[32:])
    return b"\x30" + bytes([len(body)]) + body


def der_to_raw(der):
    # SEQUENCE { INTEGER r, INTEGER s } -> 32-byte r || 32-byte s.
    assert der[0] == 0x30
    i = 2
    out = b""
    for _ in range(2):
        assert der[i] == 0x02
        n = der[i + 1]
        out += der[i + 2:i + 2 + n].lstrip(b"\0").rjust(32, b"\0")
        i += 2 + n
    return out


class Keys:
    """Throwaway RSA and P-256 keys made with openssl."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="wsprobe-jwt-")
        self.secret = os.path.join(self.dir, "secret")
        with open(self.secret, "w") as f:
            f.write(SECRET + "\n")
        for name, args in (("rsa", ["-algorithm", "RSA", "-pkeyopt",
                                    "rsa_keygen_bits:2048"]),
                           ("ec", ["-algorithm", "EC", "-pkeyopt",
                                   "ec_paramgen_curve:P-256"])):
            key = os.path.join(self.dir, name + ".pem")
            subprocess.run(["openssl", "genpkey"] + args + ["-out", key],
                           check=True, capture_output=True)
            subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-out",
                            os.path.join(self.dir, name + ".pub")],
                           check=True, capture_output=True)

    def path(self, name):
        return os.path.join(self.dir, name)


KEYS = None


def setUpModule():
    global KEYS
    KEYS = Keys()


def tearDownModule():
    shutil.rmtree(KEYS.dir, ignore_errors=True)


def tool(*args):
    p = subprocess.run([JWT_TOOL] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout.strip(), p.stderr.strip()


def openssl_verify(pub, signing_input, sig_der):
    with tempfile.TemporaryDirectory() as d:
        data, sig = os.path.join(d, "in"), os.path.join(d, "sig")
        write(data, signing_input)
        write(sig, sig_der)
        p = subprocess.run(["openssl", "dgst", "-sha256", "-verify", pub,
                            "-signature", sig, data], capture_output=True)
        return p.returncode == 0


def openssl_sign(key, signing_input):
    with tempfile.TemporaryDirectory() as d:
        data = os.path.join(d, "in")
        write(data, signing_input)
        p = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key, data],
                           capture_output=True, check=True)
        return p.stdout


class TestOurTokensElsewhere(unittest.TestCase):
    NOW = int(time.time())

    def test_hs256_checked_by_python_hmac(self):
        rc, tok, err = tool("sign", "HS256", KEYS.secret,
                            '{"sub":"user-1"}', self.NOW, 60)
        self.assertEqual(rc, 0, err)
        h, c, s = tok.split(".")
        # jwt_tool signs with the file's bytes as they are.
        key = read(KEYS.secret, "rb")
        want = hmac.new(key, ("%s.%s" % (h, c)).encode(),
                        hashlib.sha256).digest()
        self.assertEqual(unb64url(s), want)
        self.assertEqual(json.loads(unb64url(h)),
                         {"alg": "HS256", "typ": "JWT"})
        claims = json.loads(unb64url(c))
        self.assertEqual(claims["sub"], "user-1")
        self.assertEqual(claims["exp"] - claims["iat"], 60)

    def test_rs256_and_es256_checked_by_openssl(self):
        for alg, name in (("RS256", "rsa"), ("ES256", "ec")):
            rc, tok, err = tool("sign", alg, KEYS.path(name + ".pem"),
                                '{"aud":"a"}', self.NOW, 60)
            self.assertEqual(rc, 0, err)
            h, c, s = tok.split(".")
            sig = unb64url(s)
            if alg == "ES256":
                self.assertEqual(len(sig), 64)  # raw r||s, not DER
                sig = raw_to_der(sig)
            self.assertTrue(openssl_verify(KEYS.path(name + ".pub"),
                                           ("%s.%s" % (h, c)).encode(), sig),
                            alg)
            # And a flipped bit is caught by openssl too.
            bad = bytearray(sig)
            bad[-1] ^= 1
            self.assertFalse(openssl_verify(KEYS.path(name + ".pub"),
                                            ("%s.%s" % (h, c)).encode(),
                                            bytes(bad)), alg)


class TestTheirTokensHere(unittest.TestCase):
    NOW = int(time.time())

    def test_python_hs256_verified(self):
        secret_file = KEYS.path("secret")
        key = read(secret_file)
        tok = hs256({"sub": "x", "exp": self.NOW + 60}, secret=key)
        rc, out, err = tool("verify", "HS256", secret_file, tok, self.NOW)
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out)["sub"], "x")

    def test_openssl_rs256_and_es256_verified(self):
        for alg, name in (("RS256", "rsa"), ("ES256", "ec")):
            h = b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode())
            c = b64url(json.dumps({"sub": "o", "exp": self.NOW + 60}).encode())
            sig = openssl_sign(KEYS.path(name + ".pem"),
                               ("%s.%s" % (h, c)).encode())
            if alg == "ES256":
                sig = der_to_raw(sig)
            tok = "%s.%s.%s" % (h, c, b64url(sig))
            rc, out, err = tool("verify", alg, KEYS.path(name + ".pub"), tok,
                                self.NOW)
            self.assertEqual(rc, 0, "%s: %s" % (alg, err))

    def test_refusals(self):
        key = read(KEYS.secret)
        good = hs256({"sub": "x", "exp": self.NOW + 60}, secret=key)
        h, c, s = good.split(".")
        tampered = "%s.%s.%s" % (h, b64url(json.dumps(
            {"sub": "admin", "exp": self.NOW + 60}).encode()), s)
        expired = hs256({"exp": self.NOW - 100}, secret=key)
        none = "%s.%s." % (b64url(b'{"alg":"none"}'), c)
        for tok, want in ((tampered, "WSP_ETOKEN"), (expired, "WSP_EEXPIRED"),
                          (none, "WSP_ETOKEN"), ("a.b", "WSP_ETOKEN")):
            rc, out, err = tool("verify", "HS256", KEYS.secret, tok, self.NOW)
            self.assertEqual(rc, 1, tok)
            self.assertIn(want, err)


class TestUpgradeAuth(ProbeTestCase):

    def race(self, *opts):
        return self.server([harness.RACESERVER_BIN, "--port", "0",
                            "--lifetime", "60", "--require-jwt",
                            "--jwt-secret", SECRET] + list(opts))

    def test_minted_token_accepted_in_each_placement(self):
        srv = self.race()
        for placement in ("subprotocol", "bearer", "query"):
            rc, p, rep = self.probe(["--jwt-secret", SECRET,
                                     "--jwt-claims", '{"sub":"user-{index}"}',
                                     "--jwt-placement", placement, "-n", "1",
                                     "--send", "hi", srv.url()])
            self.assertProbe(p, "ok", "closing", rc)
            if placement == "subprotocol":
                self.assertEqual(p["subprotocol"], "jwt.<redacted>")
            else:
                self.assertIsNone(p["subprotocol"])
            self.assertEqual(rep["config"]["jwt"]["minted"]["alg"], "HS256")

    def test_rs256_and_es256_minted(self):
        for alg, name in (("RS256", "rsa"), ("ES256", "ec")):
            srv = self.server([harness.RACESERVER_BIN, "--port", "0",
                               "--lifetime", "60", "--require-jwt",
                               "--jwt-public-key", KEYS.path(name + ".pub"),
                               "--jwt-alg", alg])
            rc, p, _ = self.probe(["--jwt-key", KEYS.path(name + ".pem"),
                                   "--send", "hi", srv.url()])
            self.assertProbe(p, "ok", "closing", rc)

    def test_401_and_403(self):
        srv = self.race()
        rc, p, _ = self.probe(["--send", "hi", srv.url()])
        self.assertProbe(p, "handshake_rejected", "upgrade", rc)
        self.assertEqual(p["http_status"], 401)
        rc, p, _ = self.probe(["--jwt-secret", "wrong-secret", "--send", "hi",
                               srv.url()])
        self.assertEqual(p["http_status"], 401)
        expired = hs256({"sub": "x", "exp": int(time.time()) - 3600})
        rc, p, _ = self.probe(["--jwt", expired, "--send", "hi", srv.url()])
        self.assertProbe(p, "handshake_rejected", "upgrade", rc)
        self.assertEqual(p["http_status"], 403)
        self.assertIn("403", p["error"])

    def test_server_that_ignores_the_subprotocol(self):
        srv = self.server([harness.PYTHON,
                           os.path.join(harness.SERVERS_DIR, "py_ws_server.py"),
                           "--mode", "echo"])
        tok = hs256({"sub": "x"})
        rc, p, _ = self.probe(["--jwt", tok, "--send", "hi", srv.url()])
        self.assertProbe(p, "handshake_invalid", "upgrade", rc)
        self.assertIn("selected no subprotocol", p["error"])
        rc, p, _ = self.probe(["--jwt", tok, "--no-require-subprotocol",
                               "--send", "hi", srv.url()])
        self.assertProbe(p, "ok", "closing", rc)


class TestRedaction(ProbeTestCase):
    """Every output path, with a known token and secret: neither appears
    unless --show-secrets is given."""

    def outputs(self, args):
        with tempfile.TemporaryDirectory() as d:
            jf = os.path.join(d, "r.json")
            rc, out, err = harness.run_wsprobe(args + ["--json", jf])
            text = out + err + read(jf)
            rc2, out2, err2 = harness.run_wsprobe(args + ["--json", "-"])
            return text + out2 + err2

    def test_nothing_leaks(self):
        tok = hs256({"sub": "leak-check"})
        srv = self.server([harness.RACESERVER_BIN, "--port", "0", "--lifetime",
                           "60", "--require-jwt", "--jwt-secret", SECRET])
        refused = "ws://127.0.0.1:%d/" % harness.free_port()
        runs = [
            ["--jwt", tok, "--send", "hi", srv.url()],        # 403/401 path
            ["--jwt", tok, "--jwt-placement", "bearer", "--jwt-placement",
             "query", "--send", "hi", srv.url()],
            ["--jwt", tok, "-H", "Authorization: Bearer " + tok, "--send",
             "hi", srv.url()],
            ["--jwt", tok, "--send", "hi", refused],
            ["--jwt-secret", SECRET, "--send", "hi", srv.url()],
            ["--jwt-secret", SECRET, "--send", "hi", refused],
        ]
        sig = tok.split(".")[2]
        for args in runs:
            text = self.outputs(args)
            self.assertNotIn(sig, text, args)
            self.assertNotIn(SECRET, text, args)
        # Usage errors name the problem, never the value.
        for args in (["--jwt", tok + "!", refused],
                     ["--jwt-secret", SECRET, "--jwt-alg", "RS256", refused]):
            rc, out, err = harness.run_wsprobe(args)
            self.assertEqual(rc, 2)
            self.assertNotIn(sig, out + err)
            self.assertNotIn(SECRET, out + err)
        # With --show-secrets the token is shown.
        text = self.outputs(["--show-secrets"] + runs[0])
        self.assertIn(sig, text)


if __name__ == "__main__":
    unittest.main()
