#!/usr/bin/env python3
"""The guide's GNU parallel recipe (docs/guide-distributed.md, "GNU
parallel: one host"), run as written with the campaign made small: three
shards started by `parallel -j 3 --will-cite --joblog`, one --start-at, the
job log's exit statuses, and the merge held to the unsharded campaign.

Arguments: the guide, the wsprobe binary, the raceserver binary."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

from same_campaign import assert_merge_is_whole, raceserver

GUIDE, WSPROBE, RACESERVER = sys.argv[1:4]
del sys.argv[1:4]
CLEAN = {k: v for k, v in os.environ.items()
         if not k.upper().startswith(("WSPROBE_", "SLURM_", "JOB_COMPLETION"))
         and "PROXY" not in k.upper()}


def recipe():
    """The first sh block of the guide's GNU parallel section."""
    with open(GUIDE) as f:
        text = f.read()
    section = text.split("## GNU parallel", 1)[1]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


class Parallel(unittest.TestCase):

    def test_the_guides_recipe(self):
        if shutil.which("parallel") is None:
            self.fail("GNU parallel is not installed (scripts/deps.sh)")
        with raceserver(RACESERVER, "--on-message", "echo") as url, \
                tempfile.TemporaryDirectory() as d:
            bindir = os.path.join(d, "bin")
            os.mkdir(bindir)
            os.symlink(WSPROBE, os.path.join(bindir, "wsprobe"))
            script = recipe().replace("-n 30000 -c 500", "-n 90 -c 10")
            script = script.replace("URL", url)
            self.assertIn("parallel -j 3 --will-cite --joblog", script)
            env = dict(CLEAN, PATH=bindir + ":" + os.environ["PATH"],
                       HOME=d)
            r = subprocess.run(["bash", "-euo", "pipefail", "-c", script],
                               cwd=d, env=env, capture_output=True,
                               text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            with open(os.path.join(d, "jobs.log")) as f:
                rows = [line.split("\t") for line in f.read().splitlines()]
            head, jobs = rows[0], rows[1:]
            self.assertEqual(len(jobs), 3, rows)
            col = head.index("Exitval")
            self.assertEqual([j[col] for j in jobs], ["0"] * 3, rows)
            shards = []
            for i in range(3):
                with open(os.path.join(d, "shard-%d-of-3.json" % i)) as f:
                    shards.append(json.load(f))
            with open(os.path.join(d, "merged.json")) as f:
                merged = json.load(f)
            whole = os.path.join(d, "whole.json")
            u = subprocess.run([WSPROBE, "--seed", "42", "-n", "90", "-c",
                                "10", "--send", '{"type":"run"}', "-q",
                                "--json", whole, url], env=CLEAN,
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(u.returncode, 0, u.stderr)
            with open(whole) as f:
                w = json.load(f)
        for i, s in enumerate(shards):
            self.assertEqual(s["campaign"]["shard"],
                             {"index": i, "count": 3, "source": "option"})
            # One instant for all three, each started at it (or says how
            # late it was).
            self.assertEqual(s["campaign"]["start"]["at"],
                             shards[0]["campaign"]["start"]["at"])
            self.assertGreaterEqual(s["campaign"]["start"]["late_ms"], 0)
        assert_merge_is_whole(self, merged, w, 3, 90)


if __name__ == "__main__":
    unittest.main(verbosity=2)
