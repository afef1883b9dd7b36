"""The CLI over the library's option table: how it parses, what it refuses
before running, how it is interrupted, and the papercuts users met (each
one a test here). Runs with Debian's /usr/bin/python3 against raceserver.
"""
import json
import os
import signal
import subprocess
import tempfile
import time
import unittest

import harness
from harness import ProbeTestCase

RUN = '{"type":"run"}'


def dry(args):
    """`wsprobe --dry-run ARGS`: (exit code, settings or None, stderr)."""
    rc, out, err = harness.run_wsprobe(["--dry-run"] + list(args), timeout=10)
    return rc, (json.loads(out) if rc == 0 else None), err


class Case(ProbeTestCase):

    URL = "ws://127.0.0.1:9/"

    def race(self, *opts):
        if harness.RACESERVER_BIN is None:
            self.fail(harness.RACESERVER_MISSING)
        return self.server([harness.RACESERVER_BIN, "--port", "0",
                            "--lifetime", "60", "--quiet"] + list(opts))

    def assertUsage(self, args, *words, timeout=10, status=2):
        """Exit 2 (or `status`) before anything ran, one line naming the
        problem."""
        t0 = time.monotonic()
        rc, out, err = harness.run_wsprobe(args, timeout=timeout)
        self.assertEqual(rc, status, (args, out, err))
        self.assertEqual(out, "")
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assertTrue(err.startswith("wsprobe: "), err)
        for w in words:
            self.assertIn(w, err)
        self.assertLess(time.monotonic() - t0, 2.0)
        return err


class TestParsing(Case):

    def test_find_window_value_after_a_space(self):
        # It once failed with "unexpected argument 'ws://...' after the URL".
        for args in (["--find-window", "0:500"], ["--find-window=0:500"]):
            rc, s, err = dry(args + ["--send", "x", self.URL])
            self.assertEqual(rc, 0, err)
            self.assertEqual(s["campaign"]["window"]["hi_ms"], 500)
        # Left out, the default; the URL after it stays the URL.
        rc, s, err = dry(["--send", "x", "--find-window", self.URL])
        self.assertEqual(rc, 0, err)
        self.assertEqual(s["campaign"]["window"]["hi_ms"], 5000)
        self.assertEqual(s["url"], self.URL)

    def test_forms_of_options(self):
        rc, s, err = dry(["-n3", "-c", "2", "-kq", "--delay=7", "--",
                          "wss://127.0.0.1:9/"])
        self.assertEqual(rc, 0, err)
        self.assertFalse(s["config"]["tls"]["verify"])
        self.assertEqual(s["campaign"]["planned"], 3)
        self.assertEqual(s["campaign"]["concurrency"], 2)
        self.assertEqual(s["config"]["delay_ms"], 7)
        # Seconds to the millisecond.
        rc, s, err = dry(["--duration", "1.5", self.URL])
        self.assertEqual(s["campaign"]["duration_ms"], 1500)

    def test_aliases_are_gone(self):
        # --delays and --window-search were never documented.
        self.assertUsage(["--delays", "0,10", "--send", "x", self.URL],
                         "unknown option '--delays'")
        self.assertUsage(["--window-search", "0:10", "--send", "x", self.URL],
                         "unknown option '--window-search'")

    def test_flag_with_value_and_missing_values(self):
        self.assertUsage(["--burst=yes", self.URL], "--burst takes no value")
        self.assertUsage([self.URL, "-n"], "option -n needs a value")
        self.assertUsage(["--count", "0", self.URL],
                         "--count: 0 is out of range (1-10000000)")

    def test_dry_run_redacts_secrets(self):
        rc, s, err = dry(["--jwt", "abc.def.ghi", "-H", "Authorization: x y",
                          self.URL])
        self.assertEqual(rc, 0, err)
        text = json.dumps(s)
        self.assertNotIn("abc.def.ghi", text)
        self.assertNotIn("x y", text)
        rc, s, err = dry(["--jwt", "abc.def.ghi", "--show-secrets", self.URL])
        self.assertIn("abc.def.ghi", json.dumps(s))


class TestRefusedBeforeRunning(Case):

    def test_trials_with_a_delay_sweep(self):
        # It was silently ignored.
        self.assertUsage(["--delay-sweep", "0,10", "--trials", "3", "--send",
                          "x", self.URL],
                         "--trials applies only to --find-window")

    def test_report_paths_are_checked_first(self):
        # A two-minute run would have ended in "cannot write": it is
        # refused at once, with the exit status of a report that cannot be
        # written (3), in a dry run too.
        for opt in ("--html", "--junit", "--json"):
            for dry_run in ([], ["--dry-run"]):
                with self.subTest(opt=opt, dry_run=dry_run):
                    self.assertUsage(dry_run + [
                        opt, "/nonexistent/x.out", "--duration", "120",
                        "--send", "x", self.URL],
                        opt + ": cannot write /nonexistent/x.out: No such "
                        "file or directory", status=3)

    def test_options_that_would_be_ignored(self):
        self.assertUsage(["-k", self.URL], "--insecure applies to wss://")
        self.assertUsage(["--jwt", "a.b", "--jwt-query-param", "t",
                          self.URL], "--jwt-query-param applies to")
        self.assertUsage(["--step", "send:x", "--expect", "a", self.URL],
                         "--step and --expect exclude each other")
        self.assertUsage(["--hold", "5", "--send", "x", self.URL],
                         "--hold applies without --send")

    def test_each_command_takes_its_own_options(self):
        # The option table says which command takes which option.
        self.assertUsage(["--allow-partial", self.URL],
                         "--allow-partial applies only to a merge of "
                         "reports")
        self.assertUsage(["merge", "--count", "3", "r.json"],
                         "--count is not an option of a merge of reports")
        self.assertUsage(["merge", "-q"], "merge: no reports given")

    def test_origin_twice(self):
        # Two Origin headers went out.
        self.assertUsage(["--origin", "http://a", "-H", "Origin: http://b",
                          self.URL], "Origin given twice")

    def test_sweeps_and_bursts_need_a_message(self):
        for args in (["--delay-sweep", "0,10"], ["--find-window=0:10"],
                     ["--burst"], ["--concurrency-sweep", "4"]):
            with self.subTest(args=args):
                self.assertUsage(args + [self.URL], "needs --send")

    def test_modes_exclude_each_other(self):
        self.assertUsage(["--find-window=0:10", "-n", "3", "--send", "x",
                          self.URL], "--count: a window search ignores")
        self.assertUsage(["--concurrency-sweep", "4", "--shard", "0/2",
                          "--send", "x", self.URL], "--shard:")
        self.assertUsage(["--delay-sweep", "0", "--find-window=0:9", "--send",
                          "x", self.URL], "exclude each other")

    def test_open_files(self):
        # More connections than the hard limit allows: refused with the
        # figures, before a single probe.
        rc, out, err = harness.run_wsprobe(
            ["--dry-run", "-c", "1000000", "-n", "1000000", self.URL])
        import resource
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        if hard != resource.RLIM_INFINITY and hard < 1000064:
            self.assertEqual(rc, 2, err)
            self.assertIn("need about 1000064 open files", err)
            self.assertIn("ulimit -n", err)
        else:
            self.assertEqual(rc, 0, err)


class TestRuns(Case):

    def test_burst_without_count_is_one_burst(self):
        # --burst -c 50 without -n once ran one probe.
        srv = self.race("--on-message", "echo")
        rc, rep = harness.run_json(["--burst", "-c", "20", "--send", "x",
                                    srv.url()])
        self.assertEqual(rc, 0)
        self.assertEqual(len(rep["probes"]), 20)
        self.assertEqual(rep["campaign"]["bursts"]["released"], 1)

    def test_step_numbers_match(self):
        # The text said "step 2" where the JSON said 1.
        srv = self.race()
        rc, rep, out, err = harness.run_json_full(
            ["--step", "send:" + RUN, "--step", "expect:never:200",
             srv.url()])
        p = rep["probes"][0]
        self.assertEqual(p["step"], 1)
        self.assertIn("step #1: no never", p["error"])
        self.assertIn("step #1: no never", err)

    def test_concurrency_sweep_header(self):
        # The header said "(concurrency 1)".
        srv = self.race("--on-message", "echo")
        rc, out, err = harness.run_wsprobe(["--concurrency-sweep", "4",
                                            "--send", "x", srv.url()])
        self.assertEqual(rc, 0, out + err)
        first = out.splitlines()[0]
        self.assertIn("(concurrency sweep up to 4)", first)
        self.assertNotIn("concurrency 1", first)

    def test_insecure_in_the_summary(self):
        port = harness.free_port()
        rc, out, err = harness.run_wsprobe(["-k", "--send", "x",
                                            "wss://127.0.0.1:%d/" % port])
        self.assertEqual(rc, 1)
        self.assertIn("certificates were not verified (--insecure)", out)
        rc, out, err = harness.run_wsprobe(["--send", "x",
                                            "wss://127.0.0.1:%d/" % port])
        self.assertNotIn("not verified", out)

    def interrupt(self, sig):
        """SIGINT or SIGTERM 0.5 s into an 8 s campaign: it ends soon, with
        its partial reports written, marked interrupted, the reason said,
        and the exit status a scheduler reads as that signal (128 + N)."""
        srv = self.race()
        with tempfile.TemporaryDirectory() as d:
            paths = {k: os.path.join(d, "r." + k) for k in
                     ("json", "html", "junit")}
            proc = subprocess.Popen(
                [harness.WSPROBE_BIN, "--duration", "8", "-c", "4", "--send",
                 RUN, "--delay", "100", "--json", paths["json"], "--html",
                 paths["html"], "--junit", paths["junit"], srv.url()],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            time.sleep(0.5)
            t0 = time.monotonic()
            proc.send_signal(sig)
            out, err = proc.communicate(timeout=10)
            took = time.monotonic() - t0
            with open(paths["json"]) as f:
                rep = json.load(f)
            for k in ("html", "junit"):
                self.assertGreater(os.path.getsize(paths[k]), 100)
        out = out.decode()
        self.assertLess(took, 3.5)
        self.assertEqual(proc.returncode, 128 + sig, err)
        self.assertIs(rep["campaign"]["interrupted"], True)
        # One line says it, with what ran of the plan.
        said = [l for l in out.splitlines() if "interrupted" in l]
        self.assertEqual(len(said), 1, out)
        self.assertRegex(said[0], r"^interrupted: \d+ (of \d+ planned )?probes "
                         r"ran; those in flight were cancelled$")
        self.assertGreater(len(rep["probes"]), 0)
        self.assertEqual(rep["summary"]["total"], len(rep["probes"]))
        self.assertGreater(rep["summary"]["outcomes"]["cancelled"], 0)

    def test_sigint(self):
        self.interrupt(signal.SIGINT)

    def test_sigterm(self):
        self.interrupt(signal.SIGTERM)


if __name__ == "__main__":
    unittest.main()
