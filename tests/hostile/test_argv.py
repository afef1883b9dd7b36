#!/usr/bin/python3
"""Random command lines for the wsprobe CLI: it must never crash.

2,000 (WSPROBE_ARGV_RUNS) random combinations of options and values --
garbage UTF-8, control characters, huge and negative numbers, empty
strings, missing values, files that are not what they claim -- each run
must exit with 0, 1, 2 or 3 (a report that cannot be written), never by a
signal, within 20 s; and every exit 2 or 3 must print exactly one line on
stderr, starting with "wsprobe:".

The only URLs it ever passes are ws://127.0.0.1:<closed port>/ (and the same
on ::1, or as wss://), or strings that are not ws:// URLs at all: nothing
here may reach the network beyond loopback. Runs happen in a scratch
directory, so that --json FILE writes nowhere else.

The seed (WSPROBE_ARGV_SEED, default 7) makes a run repeatable; a failure
prints the argv to reproduce it.
"""
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
WSPROBE = os.environ.get("WSPROBE_BIN") or os.path.join(
    HERE, "..", "..", "build", "cli", "wsprobe")
RUNS = int(os.environ.get("WSPROBE_ARGV_RUNS", "2000"))
SEED = int(os.environ.get("WSPROBE_ARGV_SEED", "7"))
RUN_TIMEOUT = 20


def show(args):
    """The argv, each argument cut to 60 bytes, for a failure message."""
    return "[%s]" % ", ".join(repr(a[:60]) + ("...(%d bytes)" % len(a)
                                              if len(a) > 60 else "")
                              for a in args)


def closed_port():
    """A loopback port nothing listens on."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


GARBAGE = [
    b"", b" ", b"-", b"--", b"-1", b"0", b"1", b"x", b"\xff\xfe\xfd",
    b"\xc3\x28", b"\xed\xa0\x80", b"caf\xc3\xa9", b"nul?",
    b"line1\nline2", b"tab\there", b"\r\n", b"\x1b[31mred", b"%s%s%s%n",
    b"{index}", b"a" * 300, b"b" * 5000, b"\xe2\x80\xae", b"'\"`$(id)",
    b"=", b":", b"/", b",", b",,", b"1,", b"::", b"1/0", b"0/0",
]

NUMBERS = [
    b"0", b"1", b"2", b"5", b"-1", b"-0", b"+1", b" 1", b"1 ", b"01",
    b"0x10", b"1e3", b"1.5", b"4294967295", b"4294967296",
    b"18446744073709551615", b"18446744073709551616",
    b"99999999999999999999999999", b"10000001", b"3600001", b"nan",
    b"inf", b"", b"\xff",
]

# Values that are valid but must not make a run long: small counts, no
# tiny rates, no long durations or searches.
OPTIONS = {
    # name: value kind
    "-n": "count", "--count": "count", "-c": "count",
    "--concurrency": "conc", "--rate": "rate", "--duration": "duration",
    "--slice": "num",
    "--resolution": "num", "--trials": "count", "--concurrency-sweep": "count",
    "--seed": "num", "--jitter": "num", "--shard": "shard",
    "--lag-threshold": "num", "--delay-sweep": "delays",
    "--find-window": "window", "--step": "step", "-H": "header", "--header": "header",
    "-p": "token", "--subprotocol": "token", "--jwt": "jwt",
    "--jwt-secret": "text", "--jwt-secret-file": "file", "--jwt-key": "file",
    "--jwt-alg": "alg", "--jwt-claims": "json", "--jwt-ttl": "num",
    "--jwt-placement": "placement", "--jwt-prefix": "token",
    "--jwt-query-param": "token", "--origin": "text", "-s": "text",
    "--send": "text", "-d": "num", "--delay": "num", "--hold": "num",
    "-e": "token", "--expect": "token", "-t": "num", "--timeout": "num",
    "--connect-timeout": "num", "--upgrade-timeout": "num",
    "--reply-timeout": "num", "--close-timeout": "num",
    "--max-message": "num", "--cacert": "file", "--cert": "file",
    "--key": "file", "--tls-timeout": "num", "--resolve-timeout": "num",
    "--send-timeout": "num", "--html": "json_out", "--junit": "json_out",
    "--dry-run": None, "-j": "json_out",
    "--json": "json_out", "--binary": None, "--burst": None,
    "--expect-order": None, "--no-require-subprotocol": None, "-k": None,
    "--insecure": None, "-q": None, "--quiet": None, "--show-secrets": None,
    "-h": None, "--help": None, "-V": None, "--version": None,
    # Not options at all.
    "--nope": None, "-Z": None, "---": None, "--count=": None,
    "--delays": None, "--window-search": None, "--find-window=": None,
    "--count=3": None, "-n3": None,
}


class Gen:
    def __init__(self, rng, scratch, port):
        self.r = rng
        self.scratch = scratch
        self.port = port
        self.garbage_rate = 0.1
        self.files = [
            os.path.join(scratch, "missing.pem"),
            os.path.join(scratch, "empty"),
            os.path.join(scratch, "garbage"),
            os.path.join(scratch, "fake.pem"),
            scratch,  # a directory
            "",
        ]
        with open(self.files[1], "wb"):
            pass
        with open(self.files[2], "wb") as f:
            f.write(bytes(rng.randrange(256) for _ in range(3000)))
        with open(self.files[3], "wb") as f:
            f.write(b"-----BEGIN PRIVATE KEY-----\nAAAA\n"
                    b"-----END PRIVATE KEY-----\n")

    def pick(self, seq):
        return self.r.choice(seq)

    def garbage(self):
        g = self.pick(GARBAGE)
        if self.r.random() < 0.3:
            g += self.pick(GARBAGE)
        return g

    def value(self, kind):
        r = self.r
        if r.random() < self.garbage_rate:
            return self.garbage()
        if kind in ("num",):
            return self.pick(NUMBERS)
        if kind == "count":
            return self.pick([b"1", b"2", b"3", b"0", b"10000001", b"-5",
                              b"99999999999999999999", b"1x", b""])
        if kind == "conc":
            return self.pick([b"1", b"2", b"50", b"0", b"1000000",
                              b"1000001", b"-1", b""])
        if kind == "rate":
            return self.pick([b"1000", b"1e6", b"0", b"-1", b"nan", b"inf",
                              b"1e308", b"1e-320", b"10000001", b"1.5x", b""])
        if kind == "duration":
            return self.pick([b"1", b"0", b"604801", b"-1", b"1.5", b""])
        if kind == "delays":
            n = r.randrange(0, 6)
            items = [self.pick([b"0", b"1", b"10", b"", b"x", b"-1",
                                b"3600001", b"99999999999999999999"])
                     for _ in range(n)]
            if r.random() < 0.05:
                items = [b"0"] * 10001
            return b",".join(items)
        if kind == "window":
            return self.pick([b"0:10", b"10:0", b"5:5", b"0:3600001", b":",
                              b"1:", b":1", b"a:b", b"0:1:2",
                              b"1" * 40 + b":2", b""])
        if kind == "shard":
            return self.pick([b"0/1", b"1/2", b"2/2", b"0/0", b"1/0", b"/",
                              b"0/", b"/1", b"a/b", b"0/1000001", b""])
        if kind == "header":
            return self.pick([b"X-Test: 1", b"X-Test:", b": value",
                              b"Bad Name: v", b"X: a\r\nInjected: 1",
                              b"Host: evil", b"Upgrade: h2c",
                              b"Authorization: Bearer secret",
                              b"X-\xff: v", b"X: \xff", b"NoColon", b""])
        if kind == "token":
            return self.pick([b"chat", b"jwt.", b"a,b", b"a b", b"\xff",
                              b"x" * 300, b"", b"{}", b"v1.chat"])
        if kind == "jwt":
            return self.pick([b"a.b.c", b"eyJhbGciOiJIUzI1NiJ9.e30.sig",
                              b"a.b", b"a b.c", b"", b"\xff.\xff.\xff",
                              b"a." * 2000 + b"a"])
        if kind == "alg":
            return self.pick([b"HS256", b"RS256", b"ES256", b"none", b"hs256",
                              b""])
        if kind == "json":
            return self.pick([b"{}", b'{"sub":"u-{index}"}', b"[]", b"null",
                              b"{", b'{"a":' * 2000, b'"x"', b"1e999",
                              b'{"a":"\xff"}', b""])
        if kind == "step":
            return self.pick([b"send:hello", b"send:", b"expect:a",
                              b"expect:a:100", b"expect::5", b"expect:a:0",
                              b"expect:a:99999999999", b"wait:10",
                              b"wait:-1", b"wait:", b"close:1000",
                              b"close:1000:bye", b"close:70000", b"close:",
                              b"close:1005", b"close:abc", b"bogus", b"",
                              b"send:\xff", b"expect:" + b"t" * 300])
        if kind == "placement":
            return self.pick([b"subprotocol", b"bearer", b"query", b"both",
                              b""])
        if kind == "file":
            return os.fsencode(self.pick(self.files))
        if kind == "json_out":
            return self.pick([b"-", os.fsencode(os.path.join(
                self.scratch, "out.json")), b"/nonexistent/dir/out.json",
                os.fsencode(self.scratch), b""])
        if kind == "text":
            return self.pick([b"hello", b"{\"type\":\"run\"}", b"",
                              b"\xff\xfe", b"x" * 70000]) \
                if r.random() < 0.7 else self.garbage()
        raise ValueError(kind)

    def url(self):
        r = self.r
        loop = [b"ws://127.0.0.1:%d/" % self.port,
                b"ws://[::1]:%d/" % self.port,
                b"wss://127.0.0.1:%d/path?q=1" % self.port,
                b"WS://127.0.0.1:%d" % self.port]
        bad = [b"", b"http://127.0.0.1/", b"ws:/", b"ws://", b"127.0.0.1",
               b"ws://127.0.0.1:0/", b"ws://127.0.0.1:99999/",
               b"ws://[::1/", b"ws://127.0.0.1:%d/#frag" % self.port,
               b"ws://127.0.0.1:%d/\xff" % self.port,
               b"ws://user@127.0.0.1:%d/" % self.port]
        return self.pick(loop) if r.random() < 0.75 else self.pick(bad)

    def argv(self):
        r = self.r
        # Half the runs mostly valid (so that probes run), half hostile.
        valid = r.random() < 0.5
        self.garbage_rate = 0.02 if valid else 0.2
        args = []
        for _ in range(r.randrange(0, 4 if valid else 8)):
            name = self.pick(list(OPTIONS))
            kind = OPTIONS[name]
            args.append(name.encode())
            if kind is not None and r.random() < 0.97:
                args.append(self.value(kind))
        # Usually one URL, somewhere; sometimes none or two.
        n_urls = self.pick([1, 1, 1, 1, 1, 1, 0, 2])
        for _ in range(n_urls):
            args.insert(r.randrange(0, len(args) + 1), self.url())
        return args


def loopback_only(args, port):
    """Every argument that could be taken as a ws:// URL is loopback."""
    ok_hosts = (b"127.0.0.1:%d" % port, b"[::1]:%d" % port)
    for a in args:
        low = a.lower()
        if low.startswith(b"ws://") or low.startswith(b"wss://"):
            rest = a.split(b"://", 1)[1]
            if not (rest == b"" or rest.startswith(ok_hosts) or
                    rest.startswith(b"127.0.0.1:0") or
                    rest.startswith(b"127.0.0.1:99999") or
                    rest.startswith(b"[::1/") or
                    rest.startswith(b"user@127.0.0.1")):
                return False
    return True


class RandomArgv(unittest.TestCase):
    def test_random_argv(self):
        if not os.access(WSPROBE, os.X_OK):
            self.skipTest("no wsprobe binary at %s" % WSPROBE)
        scratch = tempfile.mkdtemp(prefix="wsprobe-argv-")
        self.addCleanup(shutil.rmtree, scratch, True)
        port = closed_port()
        gen = Gen(random.Random(SEED), scratch, port)
        counts = {0: 0, 1: 0, 2: 0, 3: 0}
        failures = []
        slowest = (0.0, None)
        t_all = time.monotonic()
        for i in range(RUNS):
            args = gen.argv()
            self.assertTrue(loopback_only(args, port), args)
            t0 = time.monotonic()
            try:
                p = subprocess.run([WSPROBE] + args, cwd=scratch,
                                   stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE,
                                   timeout=RUN_TIMEOUT)
            except subprocess.TimeoutExpired:
                failures.append("run %d: no exit within %d s: %s"
                                % (i, RUN_TIMEOUT, show(args)))
                continue
            took = time.monotonic() - t0
            if took > slowest[0]:
                slowest = (took, args)
            rc, err = p.returncode, p.stderr
            if rc < 0:
                failures.append("run %d: killed by %s: %s\n%s"
                                % (i, signal.Signals(-rc).name, show(args),
                                   err[-2000:].decode("utf-8", "replace")))
                continue
            if rc not in counts:
                failures.append("run %d: exit %d: %s" % (i, rc, show(args)))
                continue
            counts[rc] += 1
            if rc in (2, 3) and (err.count(b"\n") != 1 or
                                 not err.endswith(b"\n") or
                                 not err.startswith(b"wsprobe:")):
                failures.append("run %d: exit %d without exactly one "
                                "'wsprobe:' line on stderr: %s\nstderr: %r"
                                % (i, rc, show(args), err[:300]))
        print("\n%d runs in %.1f s (seed %d): exit 0: %d, 1: %d, 2: %d, "
              "3: %d; slowest %.2f s"
              % (RUNS, time.monotonic() - t_all, SEED, counts[0], counts[1],
                 counts[2], counts[3], slowest[0]))
        if failures:
            print("%d failures; the first ones:" % len(failures))
            for f in failures[:15]:
                print("  " + f)
        self.assertEqual(failures, [])


if __name__ == "__main__":
    unittest.main()
