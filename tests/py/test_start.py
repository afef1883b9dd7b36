"""--start-at: a campaign opens at a wall-clock instant, converted once to
the monotonic clock. The recorded start is held to what a server saw: the
request of the first probe reached a server (Debian's python3-websockets,
logging time.time_ns()) after the probe sent it and before its answer
came back, so started_at plus the probe's own stamps must bracket the
server's time, whatever the load. No wall-clock bound is asserted; the
skew between three shards started 0.3 s apart is printed.
"""
import datetime
import json
import os
import re
import subprocess
import tempfile
import time
import unittest

import harness
from harness import ProbeTestCase

CLEAN = {k: "" for k in ("WSPROBE_SHARD", "JOB_COMPLETION_INDEX",
                         "SLURM_ARRAY_TASK_ID")}
# Rounding of the report's figures: µs for instants, ns for the stamps.
ROUNDING_US = 3


def unix_us(text):
    """RFC 3339 with microseconds, as reports write it, to µs."""
    d = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    d = d.replace(tzinfo=datetime.timezone.utc)
    return (int(d.timestamp()) * 1000000 + d.microsecond)


def rfc3339(us):
    d = datetime.datetime.fromtimestamp(us // 1000000, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S") + ".%06dZ" % (us % 1000000)


class Case(ProbeTestCase):

    def logged_server(self, log):
        return self.server([harness.PYTHON, harness.PY_WS_SERVER, "--port",
                            "0", "--lifetime", "60", "--mode", "echo",
                            "--request-log", log])

    def run_report(self, args, status=0):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "r.json")
            rc, out, err = harness.run_wsprobe(["-q", "--json", path] + args,
                                               env=CLEAN)
            self.assertEqual(rc, status, (args, out, err))
            with open(path) as f:
                return json.load(f)

    def assertConsistent(self, camp):
        """started_at is the asked instant plus the recorded lateness."""
        late_us = camp["start"]["late_ms"] * 1000
        self.assertGreaterEqual(late_us, 0)
        self.assertLessEqual(
            abs(unix_us(camp["started_at"]) - unix_us(camp["start"]["at"])
                - late_us), ROUNDING_US, camp)


class TestStartAt(Case):

    def test_recorded_start_is_what_the_server_saw(self):
        with tempfile.TemporaryDirectory() as d:
            log = os.path.join(d, "requests")
            srv = self.logged_server(log)
            at_us = (time.time_ns() // 1000) + 700000
            at = rfc3339(at_us)
            rep = self.run_report(["--start-at", at, "-n", "3", "-c", "1",
                                   "--send", "x", srv.url("/p")])
            with open(log) as f:
                seen = sorted(int(line.split()[0]) // 1000 for line in f)
        camp = rep["campaign"]
        self.assertEqual(camp["start"]["at"], at)
        self.assertEqual(camp["start"]["tolerance_ms"], 1000)
        self.assertConsistent(camp)
        self.assertEqual(set(camp["clock"]),
                         {"synchronized", "max_error_us", "est_error_us"})
        self.assertEqual(len(seen), 3)
        # The server never saw a request before the instant asked for.
        self.assertGreaterEqual(seen[0], at_us)
        started = unix_us(camp["started_at"])
        first = min(rep["probes"], key=lambda p: p["start_ms"])
        t = first["timeline_ms"]
        sent = started + (first["start_ms"] + t["upgrade_sent"]) * 1000
        answered = started + (first["start_ms"] + t["response"]) * 1000
        self.assertLessEqual(sent - ROUNDING_US, seen[0], (sent, seen[0]))
        self.assertLessEqual(seen[0], answered + ROUNDING_US,
                             (seen[0], answered))

    def test_threads_wait_for_the_start_together(self):
        with tempfile.TemporaryDirectory() as d:
            log = os.path.join(d, "requests")
            srv = self.logged_server(log)
            at_us = (time.time_ns() // 1000) + 700000
            rep = self.run_report(["--start-at", rfc3339(at_us),
                                   "--threads", "2", "-n", "6", "-c", "2",
                                   "--send", "x", srv.url("/p")])
            with open(log) as f:
                seen = sorted(int(line.split()[0]) // 1000 for line in f)
        camp = rep["campaign"]
        self.assertEqual(camp["threads"]["count"], 2, camp)
        self.assertConsistent(camp)
        self.assertEqual(rep["summary"]["total"], 6)
        self.assertEqual(len(seen), 6)
        # Neither loop sent anything before the instant asked for.
        self.assertGreaterEqual(seen[0], at_us)

    def test_late_within_tolerance_starts_and_says_how_late(self):
        srv = self.server([harness.RACESERVER_BIN, "--port", "0",
                           "--lifetime", "60", "--quiet", "--on-message",
                           "echo"])
        at_us = time.time_ns() // 1000 - 400000
        rep = self.run_report(["--start-at", "%.6f" % (at_us / 1e6),
                               "--send", "x", srv.url()])
        camp = rep["campaign"]
        self.assertConsistent(camp)
        # It was launched after the instant had passed by 0.4 s.
        self.assertGreaterEqual(camp["start"]["late_ms"], 400)
        self.assertEqual(rep["summary"]["total"], 1)

    def test_missed_beyond_tolerance_is_exit_3(self):
        at = rfc3339(time.time_ns() // 1000 - 3000000)
        rc, out, err = harness.run_wsprobe(
            ["--start-at", at, "--start-tolerance", "2.5", "--send", "x",
             "ws://127.0.0.1:9/"], env=CLEAN)
        self.assertEqual(rc, 3, err)
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assertIn("the start at %s was missed by" % at, err)
        self.assertIn("(tolerance 2.500 s)", err)

    def test_refusals(self):
        for args, words in (
                (["--start-at", "2026-13-01T00:00:00Z"], "is not an RFC 3339"),
                (["--start-at", "2026-11-28 22:00:00"], "is not an RFC 3339"),
                (["--start-tolerance", "2"], "applies only to --start-at")):
            rc, out, err = harness.run_wsprobe(
                args + ["--send", "x", "ws://127.0.0.1:9/"], env=CLEAN)
            self.assertEqual(rc, 2, (args, err))
            self.assertEqual(len(err.splitlines()), 1, err)
            self.assertIn(words, err)
        # Offsets and Unix seconds name the same instant.
        for text in ("2030-01-01T01:30:00.25+01:30", "1893456000.25",
                     "2030-01-01t00:00:00.250000000z"):
            rc, out, err = harness.run_wsprobe(
                ["--dry-run", "--start-at", text, "--send", "x",
                 "ws://127.0.0.1:9/"], env=CLEAN)
            self.assertEqual(rc, 0, err)
            self.assertEqual(json.loads(out)["campaign"]["start"]["at"],
                             "2030-01-01T00:00:00.250000Z", text)

    def test_three_shards_begin_together(self):
        """Three shards launched 0.3 s apart with one --start-at: each
        starts when asked; the merge records their skew. The figure is
        printed, not bounded (the machine is shared)."""
        srv = self.server([harness.RACESERVER_BIN, "--port", "0",
                           "--lifetime", "60", "--quiet", "--on-message",
                           "echo"])
        at_us = time.time_ns() // 1000 + 1500000
        with tempfile.TemporaryDirectory() as d:
            paths, procs = [], []
            for i in range(3):
                paths.append(os.path.join(d, "shard-%d-of-3.json" % i))
                procs.append(subprocess.Popen(
                    [harness.WSPROBE_BIN, "-q", "--json", paths[-1],
                     "--seed", "1", "--shard", "%d/3" % i, "-n", "30", "-c",
                     "10", "--start-at", rfc3339(at_us), "--send", "x",
                     srv.url()], env={**os.environ, **CLEAN},
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE))
                time.sleep(0.3)
            for p in procs:
                out, err = p.communicate(timeout=30)
                self.assertEqual(p.returncode, 0, err)
            starts = []
            for path in paths:
                with open(path) as f:
                    camp = json.load(f)["campaign"]
                self.assertConsistent(camp)
                starts.append(unix_us(camp["started_at"]))
            merged = os.path.join(d, "merged.json")
            rc, out, err = harness.run_wsprobe(["merge", "-q", "--json",
                                                merged] + paths)
            self.assertEqual(rc, 0, err)
            with open(merged) as f:
                m = json.load(f)["campaign"]
            # The text and HTML reports say it too.
            page = os.path.join(d, "merged.html")
            rc, out, err = harness.run_wsprobe(["merge", "--html", page] +
                                               paths)
            self.assertEqual(rc, 0, err)
            self.assertRegex(out, r"\nstart: at %s, \d+\.\d{3} ms late "
                             r"\(the latest shard\); shards began within "
                             r"\d+\.\d{3} ms; clock " % re.escape(
                                 rfc3339(at_us)))
            with open(page) as f:
                self.assertIn("<span>start <b>at %s, " % rfc3339(at_us),
                              f.read())
            rc, out, err = harness.run_wsprobe(
                ["--seed", "1", "--shard", "2/3", "-n", "3", "--send", "x",
                 srv.url()], env=CLEAN)
            self.assertEqual(rc, 0, err)
            self.assertIn("\nshard: 2 of 3 (from option)\n", out)
            self.assertNotIn("\nstart:", out)
        skew_us = max(starts) - min(starts)
        self.assertEqual(unix_us(m["started_at"]), min(starts))
        self.assertAlmostEqual(m["start"]["skew_ms"] * 1000, skew_us,
                               delta=ROUNDING_US)
        print("\nthree shards launched 0.3 s apart, one --start-at: starts "
              "%s us after it, skew %d us" % (
                  [s - at_us for s in starts], skew_us))


if __name__ == "__main__":
    unittest.main()
