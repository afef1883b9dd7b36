"""Shards of one campaign: the split rule and where the shard comes from.

Shard I of N runs the indexes i with i mod N == I, and every random choice
of a probe (the sweep's order, the jitter, minted "{jti}" claims) is a
function of the seed and i alone: for any N, the shards together are the
unsharded campaign, index by index. The shard comes from --shard, or from
a scheduler's environment (WSPROBE_SHARD, a Kubernetes Indexed Job's
JOB_COMPLETION_INDEX, a Slurm array task's SLURM_ARRAY_TASK_*), and
several shards need --seed. Runs with Debian's /usr/bin/python3 against
raceserver, which verifies the minted tokens.
"""
import base64
import json
import os
import tempfile
import unittest

import harness
from harness import ProbeTestCase

SCHEDULER = ("WSPROBE_SHARD", "WSPROBE_SHARD_COUNT", "JOB_COMPLETION_INDEX",
             "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN",
             "SLURM_ARRAY_TASK_MAX", "SLURM_ARRAY_TASK_COUNT",
             "SLURM_ARRAY_TASK_STEP")
# 21 probes, one at a time, so that the order they start in is the order
# the campaign chose; delays and jitter small enough to stay quick.
CAMPAIGN = ["--seed", "42", "--delay-sweep", "0,3,6", "-n", "7", "--jitter",
            "9", "-c", "1", "--send", "x", "--jwt-secret", "k",
            "--jwt-claims", '{"sub":"u-{index}","jti":"{jti}"}',
            "--show-secrets", "-q"]
URL = "ws://127.0.0.1:9/"


def claims(probe):
    """The claims of the token the probe offered (jwt.<token>)."""
    payload = probe["subprotocol"].split(".")[2]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(
        payload) % 4)))


class Case(ProbeTestCase):

    def setUp(self):
        super().setUp()
        # Whatever the machine's own environment says, these tests set it.
        self.clean = {k: "" for k in SCHEDULER}

    def run_ok(self, args, env=None):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "r.json")
            rc, out, err = harness.run_wsprobe(
                ["--json", path] + args, env={**self.clean, **(env or {})})
            self.assertEqual(rc, 0, (args, out, err))
            with open(path) as f:
                return json.load(f)

    def dry(self, env, *args):
        rc, out, err = harness.run_wsprobe(
            ["--dry-run"] + list(args) + ["--send", "x", URL],
            env={**self.clean, **env})
        return rc, (json.loads(out)["campaign"]["shard"] if rc == 0 else None), err

    def assertUsage(self, env, *args, words=()):
        rc, out, err = harness.run_wsprobe(
            list(args) + ["--send", "x", URL], env={**self.clean, **env})
        self.assertEqual(rc, 2, (env, args, out, err))
        self.assertEqual(out, "")
        self.assertEqual(len(err.splitlines()), 1, err)
        for w in words:
            self.assertIn(w, err)


class TestSplitRule(Case):

    def test_shards_are_the_unsharded_campaign(self):
        srv = self.server([harness.RACESERVER_BIN, "--port", "0", "--lifetime",
                           "120", "--quiet", "--require-jwt", "--jwt-secret",
                           "k", "--on-message", "echo"])
        whole = self.run_ok(CAMPAIGN + [srv.url()])
        self.assertEqual(whole["summary"]["total"], 21)
        by_index = {p["index"]: p for p in whole["probes"]}
        order = [p["index"] for p in sorted(whole["probes"],
                                            key=lambda p: p["start_ms"])]
        # The order is a shuffle, not the index order, and the jitter
        # varies: the comparison below could tell a wrong split.
        self.assertNotEqual(order, sorted(order))
        self.assertGreater(len({p["delay_ms"] for p in whole["probes"]}), 5)
        for n in (1, 2, 3, 7):
            seen = []
            for i in range(n):
                rep = self.run_ok(CAMPAIGN + ["--shard", "%d/%d" % (i, n),
                                              srv.url()])
                self.assertEqual(rep["campaign"]["shard"],
                                 {"index": i, "count": n,
                                  "source": "option" if n > 1 else "none"})
                probes = rep["probes"]
                self.assertTrue(all(p["index"] % n == i for p in probes))
                for p in probes:
                    w = by_index[p["index"]]
                    self.assertEqual(p["outcome"], "ok", p)
                    self.assertEqual(p["delay_ms"], w["delay_ms"], (n, i, p))
                    a, b = claims(p), claims(w)
                    self.assertEqual((a["sub"], a["jti"]), (b["sub"], b["jti"]))
                # The shard ran its indexes in the unsharded campaign's order.
                mine = [p["index"] for p in sorted(probes,
                                                   key=lambda p: p["start_ms"])]
                self.assertEqual(mine, [k for k in order if k % n == i])
                seen += [p["index"] for p in probes]
            self.assertEqual(sorted(seen), list(range(21)), n)
        # Claims differ per index and with the seed.
        self.assertEqual(len({claims(p)["jti"] for p in whole["probes"]}), 21)
        other = self.run_ok(["--seed", "43"] + CAMPAIGN[2:] + [srv.url()])
        self.assertNotEqual(
            {claims(p)["jti"] for p in other["probes"]},
            {claims(p)["jti"] for p in whole["probes"]})

    def test_shards_need_the_seed(self):
        self.assertUsage({}, "--shard", "1/3",
                         words=("--shard: shard 1 of 3 needs --seed",))
        self.assertUsage({"WSPROBE_SHARD": "0/2"},
                         words=("(WSPROBE_SHARD): shard 0 of 2 needs --seed",))
        self.assertUsage({"JOB_COMPLETION_INDEX": "1",
                          "WSPROBE_SHARD_COUNT": "2"},
                         words=("JOB_COMPLETION_INDEX", "needs --seed"))
        # One shard of one is the whole campaign: no seed needed.
        rc, shard, err = self.dry({}, "--shard", "0/1")
        self.assertEqual(rc, 0, err)


class TestShardFromTheEnvironment(Case):

    def test_sources_in_order(self):
        cases = [
            ({}, {"index": 0, "count": 1, "source": "none"}),
            ({"WSPROBE_SHARD": "2/5"}, {"index": 2, "count": 5,
                                        "source": "WSPROBE_SHARD"}),
            ({"JOB_COMPLETION_INDEX": "3", "WSPROBE_SHARD_COUNT": "4"},
             {"index": 3, "count": 4, "source": "kubernetes"}),
            ({"SLURM_ARRAY_TASK_ID": "12", "SLURM_ARRAY_TASK_MIN": "10",
              "SLURM_ARRAY_TASK_MAX": "12", "SLURM_ARRAY_TASK_COUNT": "3",
              "SLURM_ARRAY_TASK_STEP": "1"},
             {"index": 2, "count": 3, "source": "slurm"}),
            # WSPROBE_SHARD_COUNT overrides Slurm's count.
            ({"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_MIN": "0",
              "SLURM_ARRAY_TASK_MAX": "2", "SLURM_ARRAY_TASK_COUNT": "3",
              "WSPROBE_SHARD_COUNT": "6"},
             {"index": 1, "count": 6, "source": "slurm"}),
            # The first source set wins: --shard, WSPROBE_SHARD, Kubernetes.
            ({"WSPROBE_SHARD": "1/2", "JOB_COMPLETION_INDEX": "0",
              "WSPROBE_SHARD_COUNT": "9"},
             {"index": 1, "count": 2, "source": "WSPROBE_SHARD"}),
            ({"JOB_COMPLETION_INDEX": "0", "WSPROBE_SHARD_COUNT": "2",
              "SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_MIN": "0"},
             {"index": 0, "count": 2, "source": "kubernetes"}),
        ]
        for env, want in cases:
            rc, shard, err = self.dry(env, "--seed", "1")
            self.assertEqual(rc, 0, (env, err))
            self.assertEqual(shard, want, env)
        rc, shard, err = self.dry({"WSPROBE_SHARD": "1/2"}, "--seed", "1",
                                  "--shard", "3/4")
        self.assertEqual(shard, {"index": 3, "count": 4, "source": "option"})

    def test_refusals(self):
        bad = [
            ({"JOB_COMPLETION_INDEX": "2"}, "without WSPROBE_SHARD_COUNT"),
            ({"JOB_COMPLETION_INDEX": "4", "WSPROBE_SHARD_COUNT": "4"},
             "shard 4 of 4 from JOB_COMPLETION_INDEX"),
            ({"JOB_COMPLETION_INDEX": "x1", "WSPROBE_SHARD_COUNT": "4"},
             "JOB_COMPLETION_INDEX='x1' is not a non-negative integer"),
            ({"WSPROBE_SHARD": "3"}, "WSPROBE_SHARD='3' is not of the form I/N"),
            ({"WSPROBE_SHARD": "3/3"}, "shard 3 of 3 from WSPROBE_SHARD"),
            ({"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_MIN": "0",
              "SLURM_ARRAY_TASK_MAX": "4", "SLURM_ARRAY_TASK_COUNT": "3",
              "SLURM_ARRAY_TASK_STEP": "2"}, "steps by 2"),
            ({"SLURM_ARRAY_TASK_ID": "7", "SLURM_ARRAY_TASK_MIN": "0",
              "SLURM_ARRAY_TASK_MAX": "7", "SLURM_ARRAY_TASK_COUNT": "3"},
             "sparse (3 tasks from 0 to 7)"),
            ({"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "1"},
             "without SLURM_ARRAY_TASK_COUNT or WSPROBE_SHARD_COUNT"),
            ({"SLURM_ARRAY_TASK_ID": "3"}, "without SLURM_ARRAY_TASK_MIN"),
            ({"SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_MIN": "0",
              "SLURM_ARRAY_TASK_MAX": "5", "SLURM_ARRAY_TASK_COUNT": "6",
              "WSPROBE_SHARD_COUNT": "5"},
             "shard 5 of 5 from SLURM_ARRAY_TASK_ID"),
        ]
        for env, words in bad:
            self.assertUsage(env, "--seed", "1", words=(words,))


if __name__ == "__main__":
    unittest.main()
