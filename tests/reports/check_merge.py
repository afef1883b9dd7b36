#!/usr/bin/python3
"""`wsprobe merge` against real shards: a delay sweep of 13,500 probes
against raceserver (ready 150 ms after the upgrade: delay 0 fails with
1011, delay 300 passes), run whole and as three shards of 4,500 probes
whose reports are well over 1 MiB each. The merge is its shards row for
row, its counts and histograms their exact sums; it equals the unsharded
run in indexes and delays, and in outcomes wherever the delays achieved
decide the race (a prober slowed by a loaded machine sends a "delay 0"
message late, and then truly passes); every way a merge could lie is
refused with one line and exit status 4.

Run by meson (WSPROBE_BIN, RACESERVER_BIN, CHECK_REPORT set), with Debian's
/usr/bin/python3.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "py"))
import harness  # noqa: E402

CHECK_REPORT = os.environ.get("CHECK_REPORT")
PER_DELAY = 6750  # 13,500 probes; 4,500 per shard.
SWEEP = ["--seed", "5", "-n", str(PER_DELAY), "-c", "500",
         "--delay-sweep", "0,300", "--send", "hi"]


def wsprobe(*args, timeout=300):
    return harness.run_wsprobe(list(args), timeout=timeout)


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def buckets(hist):
    """{bucket: count} of a histogram as the report writes it."""
    h = hist.get("histogram") or {"buckets": []}
    return {b: n for b, n in h["buckets"]}


class Merge(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if harness.RACESERVER_BIN is None:
            raise RuntimeError(harness.RACESERVER_MISSING)
        cls.dir = tempfile.mkdtemp(prefix="wsprobe-merge-")
        cls.proc, port = harness.start_server(
            [harness.RACESERVER_BIN, "--port", "0", "--lifetime", "600",
             "--ready-delay", "150", "--on-message", "echo",
             "--backlog", "1024"])
        cls.url = "ws://127.0.0.1:%d/" % port
        cls.full = cls.path("full.json")
        rc, _, err = wsprobe("-q", "--json", cls.full, *SWEEP, cls.url)
        assert rc == 1, err  # The delay-0 half fails by design.
        cls.shards = []
        for i in range(3):
            p = cls.path("shard-%d-of-3.json" % i)
            rc, _, err = wsprobe("-q", "--json", p, "--shard", "%d/3" % i,
                                 *SWEEP, cls.url)
            assert rc == 1, err
            cls.shards.append(p)

    @classmethod
    def tearDownClass(cls):
        harness.stop(cls.proc)
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def path(cls, name):
        return os.path.join(cls.dir, name)

    def merge(self, *args):
        return wsprobe("merge", *args)

    def assertRefused(self, args, words):
        out = self.path("refused.json")
        rc, stdout, err = self.merge("--json", out, *args)
        self.assertEqual(rc, 4, err)
        self.assertEqual(stdout, "")
        lines = err.strip().splitlines()
        self.assertEqual(len(lines), 1, err)
        self.assertTrue(lines[0].startswith("wsprobe merge: "), err)
        self.assertIn(words, lines[0])
        self.assertFalse(os.path.exists(out))

    def test_shards_merge_into_the_unsharded_run(self):
        for p in self.shards:
            self.assertGreater(os.path.getsize(p), 1 << 20)
        out = self.path("merged.json")
        html, junit = self.path("merged.html"), self.path("merged.xml")
        rc, text, err = self.merge("--json", out, "--html", html,
                                   "--junit", junit, *self.shards)
        self.assertEqual(rc, 1, err)  # Failed probes: exit 1, not 0 or 4.
        full, m = load(self.full), load(out)
        shards = [load(p) for p in self.shards]
        passed = sum(s["summary"]["passed"] for s in shards)
        self.assertIn("result: FAIL, %d of 13500 passed" % passed, text)
        self.assertIn("merged from 3 reports", text)
        # The merge is its shards, row for row.
        rows = sorted((p for s in shards for p in s["probes"]),
                      key=lambda p: p["index"])
        self.assertEqual(m["probes"], rows)
        for key in ("total", "passed", "failed"):
            self.assertEqual(m["summary"][key],
                             sum(s["summary"][key] for s in shards), key)
        for key in ("outcomes", "close_codes", "close_codes_sent",
                    "http_statuses"):
            want = {}
            for s in shards:
                for k, n in s["summary"][key].items():
                    want[k] = want.get(k, 0) + n
            self.assertEqual({k: n for k, n in m["summary"][key].items() if n},
                             {k: n for k, n in want.items() if n}, key)
        # And the shards are the unsharded campaign: the same indexes and
        # delays, and the same outcomes wherever the delay achieved decides
        # the race. The server's window counts from its 101 to the message's
        # arrival, which is the achieved delay (from the 101's arrival to the
        # message's sending) plus two loopback transits: a probe whose
        # message left 150 ms or more after the 101 arrived passed, one that
        # failed left before; within 50 ms under the window the transits,
        # which a loaded machine can stretch, may decide either way.
        for run in (m, full):
            for p in run["probes"]:
                a = p["delay_achieved_ms"]
                if a >= 150:
                    self.assertEqual(p["outcome"], "ok", p)
                if p["outcome"] != "ok":
                    self.assertLess(a, 150, p)
        same = 0
        for a, b in zip(m["probes"], full["probes"]):
            self.assertEqual((a["index"], a["delay_ms"]),
                             (b["index"], b["delay_ms"]))
            x, y = a["delay_achieved_ms"], b["delay_achieved_ms"]
            if max(x, y) < 100 or min(x, y) >= 150:
                same += 1
                self.assertEqual((a["outcome"], a["phase"]),
                                 (b["outcome"], b["phase"]), (a, b))
        print("\n%d of %d probes decided alike by their achieved delays in "
              "both runs; %d of 13500 passed (unsharded: %d)" % (
                  same, len(full["probes"]), passed,
                  full["summary"]["passed"]))
        self.assertEqual(m["campaign"]["sweep"], full["campaign"]["sweep"])
        self.assertEqual(m["campaign"]["fingerprint"],
                         full["campaign"]["fingerprint"])
        self.assertEqual(m["campaign"]["shard"],
                         {"index": 0, "count": 1, "source": "none"})
        self.assertEqual(m["campaign"]["merged_from"], 3)
        self.assertFalse(m["campaign"]["partial"])
        self.assertEqual(m["campaign"]["missing_shards"], [])
        # Rows per index: every index once, in order, as unsharded.
        self.assertEqual([p["index"] for p in m["probes"]],
                         list(range(2 * PER_DELAY)))
        # Histograms: the exact bucket sums of the shards', counted as the
        # unsharded run counted.
        for span, hist in m["summary"]["spans_ms"].items():
            want = {}
            for s in shards:
                for b, n in buckets(s["summary"]["spans_ms"][span]).items():
                    want[b] = want.get(b, 0) + n
            self.assertEqual(buckets(hist), want, span)
            self.assertEqual(hist["count"], sum(
                s["summary"]["spans_ms"][span]["count"] for s in shards), span)
        if CHECK_REPORT:
            for kind, path, extra in (
                    ("html", html, ["--expect", "merged from <b>3</b>"]),
                    ("junit", junit, ["--tests", "2", "--failures", "1"])):
                r = subprocess.run([sys.executable, CHECK_REPORT, kind, path]
                                   + extra, capture_output=True, text=True)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_two_of_three_refused(self):
        self.assertRefused(self.shards[:2], "shard 2 of 3 is missing")
        self.assertRefused(self.shards[1:], "shard 0 of 3 is missing")

    def test_allow_partial_fails(self):
        out, html = self.path("partial.json"), self.path("partial.html")
        junit = self.path("partial.xml")
        rc, text, err = self.merge("--allow-partial", "--json", out,
                                   "--html", html, "--junit", junit,
                                   self.shards[0], self.shards[2])
        self.assertEqual(rc, 4, err)
        self.assertIn("result: FAIL", text)
        self.assertIn("partial: shard 1 of 3 missing", text)
        m = load(out)
        self.assertTrue(m["campaign"]["partial"])
        self.assertEqual(m["campaign"]["missing_shards"], [1])
        self.assertIsNone(m["campaign"]["shard"])
        self.assertEqual(m["summary"]["total"], 9000)
        with open(html, encoding="utf-8") as f:
            self.assertIn("PARTIAL: missing shard 1 of 3", f.read())
        with open(junit, encoding="utf-8") as f:
            self.assertIn("partial merge: shard 1 of 3 missing", f.read())
        # Even when every probe it has passed.
        ok = [self.path("ok-%d.json" % i) for i in range(3)]
        for i, p in enumerate(ok):
            rc, _, err = wsprobe("-q", "--json", p, "--seed", "8", "-n", "30",
                                 "--delay", "300", "--send", "hi",
                                 "--shard", "%d/3" % i, self.url)
            self.assertEqual(rc, 0, err)
        rc, text, err = self.merge(*ok)
        self.assertEqual(rc, 0, err)
        self.assertIn("result: PASS, 30 of 30 passed", text)
        rc, text, err = self.merge("--allow-partial", ok[0], ok[1])
        self.assertEqual(rc, 4, err)
        self.assertIn("result: FAIL, 20 of 20 passed; partial", text)

    def test_duplicate_shard_refused(self):
        self.assertRefused([self.shards[0], self.shards[0], self.shards[1]],
                           "shard 0 of 3 is given twice")

    def test_other_campaign_refused(self):
        other = self.path("other-seed.json")
        rc, _, err = wsprobe("-q", "--json", other, "--shard", "2/3",
                             *(SWEEP[:1] + ["6"] + SWEEP[2:]), self.url)
        self.assertEqual(rc, 1, err)
        self.assertRefused(self.shards[:2] + [other],
                           "reports of different campaigns: their seeds "
                           "differ (5, 6)")
        two = self.path("two-shards.json")
        rc, _, err = wsprobe("-q", "--json", two, "--shard", "1/2", *SWEEP,
                             self.url)
        self.assertRefused([self.shards[0], two], "one of 3 shards")

    def test_cut_short_or_edited_refused(self):
        with open(self.shards[2], "rb") as f:
            data = f.read()
        cut = self.path("cut.json")
        with open(cut, "wb") as f:
            f.write(data[: len(data) // 2])
        self.assertRefused(self.shards[:2] + [cut], "ends early")
        lines = data.decode().split("\n")
        first = next(i for i, l in enumerate(lines) if l.startswith("\t\t{"))
        # Cut just after a '}' inside a probe line (the line then ends as
        # a whole probe's would) and at a few other places in it.
        head = len("\n".join(lines[:first])) + 1
        line = lines[first]
        inner = line.index("}")
        self.assertLess(inner, len(line) - 2, line)
        for at in (inner + 1, 5, 11, len(line) // 2, len(line) - 1):
            with open(cut, "wb") as f:
                f.write(data[: head + at])
            self.assertRefused(self.shards[:2] + [cut], "ends early")
        # One probe line dropped: the list no longer adds up.
        dropped = self.path("dropped.json")
        with open(dropped, "w") as f:
            f.write("\n".join(lines[:first] + lines[first + 1:]))
        self.assertRefused(self.shards[:2] + [dropped], "cut short or edited")
        # An outcome rewritten: the summary does not agree.
        edited = self.path("edited.json")
        lines[first] = lines[first].replace('"outcome":"closed_by_server"',
                                            '"outcome":"ok"', 1)
        with open(edited, "w") as f:
            f.write("\n".join(lines))
        self.assertRefused(self.shards[:2] + [edited], "cut short or edited")

    def test_not_reports_refused(self):
        junk = self.path("junk.json")
        with open(junk, "w") as f:
            f.write('{"x": 1}\n')
        self.assertRefused(self.shards[:2] + [junk], "not")
        pretty = self.path("pretty.json")
        with open(pretty, "w") as f:
            json.dump(load(self.shards[2]), f, indent=2)
        self.assertRefused(self.shards[:2] + [pretty], "layout")
        self.assertRefused(self.shards[:2] + [self.path("none.json")],
                           "No such file")

    def test_searches_refused(self):
        win = self.path("window.json")
        rc, _, err = wsprobe("-q", "--json", win, "--find-window=0:300",
                             "--resolution", "150", "--trials", "1",
                             "--send", "hi", self.url)
        self.assertIn(rc, (0, 1), err)
        self.assertRefused([win, win], "adapts as it goes")
        # Alone, it is rendered as it is.
        rc, text, err = self.merge(win)
        self.assertIn(rc, (0, 1), err)
        self.assertIn("race window search", text)

    def test_one_report_renders_as_it_is(self):
        again = self.path("again.json")
        rc, text, err = self.merge("-q", "--json", again, self.full)
        self.assertEqual(rc, 1, err)
        self.assertEqual(text, "")
        with open(self.full, "rb") as a, open(again, "rb") as b:
            self.assertEqual(a.read(), b.read())
        # A merged report too: and it cannot be merged again.
        merged = self.path("merged-again.json")
        rc, _, err = self.merge("-q", "--json", merged, *self.shards)
        self.assertEqual(rc, 1, err)
        rc, _, err = self.merge("-q", "--json", again, merged)
        self.assertEqual(rc, 1, err)
        with open(merged, "rb") as a, open(again, "rb") as b:
            self.assertEqual(a.read(), b.read())
        self.assertRefused([merged, self.shards[0]], "merged report already")

    def test_secrets_stay_redacted(self):
        token, cookie = "tok.en.s3cr3t", "c00kie-s3cr3t"
        shards = [self.path("secret-%d.json" % i) for i in range(2)]
        for i, p in enumerate(shards):
            rc, _, err = wsprobe("-q", "--json", p, "--show-secrets",
                                 "--jwt", token, "-H", "Cookie: " + cookie,
                                 "--seed", "3", "-n", "6", "--delay", "300",
                                 "--send", "hi", "--shard", "%d/2" % i,
                                 self.url)
            self.assertEqual(rc, 0, err)
            with open(p, encoding="utf-8") as f:
                self.assertIn("jwt." + token, f.read())
        out = [self.path("secret-merged." + x) for x in ("json", "html",
                                                         "xml")]
        rc, text, err = self.merge("--json", out[0], "--html", out[1],
                                   "--junit", out[2], *shards)
        self.assertEqual(rc, 0, err)
        for p in out:
            with open(p, encoding="utf-8") as f:
                data = f.read()
            self.assertNotIn(token, data, p)
            self.assertNotIn(cookie, data, p)
        with open(out[0], encoding="utf-8") as f:
            self.assertIn("jwt.<redacted>", f.read())
        self.assertNotIn(token, text)
        shown = self.path("secret-shown.json")
        rc, _, err = self.merge("-q", "--show-secrets", "--json", shown,
                                *shards)
        self.assertEqual(rc, 0, err)
        with open(shown, encoding="utf-8") as f:
            data = f.read()
        self.assertIn("jwt." + token, data)
        self.assertIn(cookie, data)

    def test_usage_and_unwritable(self):
        rc, _, err = self.merge()
        self.assertEqual(rc, 2, err)
        rc, _, err = self.merge("--bogus", self.full)
        self.assertEqual(rc, 2, err)
        rc, _, err = self.merge("--html", "/nonexistent/dir/x.html",
                                *self.shards)
        self.assertEqual(rc, 3, err)
        self.assertIn("cannot write /nonexistent/dir/x.html", err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)


if __name__ == "__main__":
    unittest.main()
