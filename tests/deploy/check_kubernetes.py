#!/usr/bin/python3
"""deploy/kubernetes without a cluster: the manifests' structure (an
Indexed Job whose N agrees in completions, parallelism and
WSPROBE_SHARD_COUNT; FailIndex on exit statuses 1, 2 and 3; one reports
volume for the shards and the merge), run.sh against a stand-in kubectl
that records what it is given, and the containers' own commands run here
as the pods would run them (JOB_COMPLETION_INDEX set per pod) against
raceserver on 127.0.0.1: the merge of the pods' reports equals the
unsharded campaign, index by index.

    check_kubernetes.py DEPLOY_DIR WSPROBE_BIN RACESERVER_BIN
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

from same_campaign import assert_merge_is_whole, raceserver

import yaml

DEPLOY, WSPROBE, RACESERVER = (os.path.abspath(a) for a in sys.argv[1:4])
del sys.argv[1:4]
CLEAN = {k: v for k, v in os.environ.items()
         if not k.startswith(("WSPROBE_SHARD", "JOB_COMPLETION_INDEX",
                              "SLURM_ARRAY_TASK_"))}


def load(name):
    with open(os.path.join(DEPLOY, name)) as f:
        return yaml.safe_load(f)


def container(job):
    return job["spec"]["template"]["spec"]["containers"][0]


def env_of(c):
    return {e["name"]: e.get("value") for e in c.get("env", [])}


class Manifests(unittest.TestCase):

    def test_indexed_job(self):
        job = load("wsprobe-shards.yaml")
        spec = job["spec"]
        self.assertEqual((job["apiVersion"], job["kind"]), ("batch/v1", "Job"))
        self.assertEqual(spec["completionMode"], "Indexed")
        n = spec["completions"]
        self.assertEqual(spec["parallelism"], n)
        c = container(job)
        self.assertEqual(env_of(c)["WSPROBE_SHARD_COUNT"], str(n))
        self.assertEqual(spec["template"]["spec"]["restartPolicy"], "Never")
        self.assertIn("backoffLimitPerIndex", spec)
        rules = spec["podFailurePolicy"]["rules"]
        fail = [r for r in rules if r["action"] == "FailIndex"]
        self.assertEqual(len(fail), 1)
        codes = fail[0]["onExitCodes"]
        self.assertEqual(codes["containerName"], c["name"])
        self.assertEqual(codes["operator"], "In")
        self.assertEqual(set(codes["values"]), {1, 2, 3})
        args = " ".join(c["command"] + c["args"])
        self.assertIn("--seed", args)
        self.assertIn("--start-at", args)
        self.assertIn('shard-$JOB_COMPLETION_INDEX-of-$WSPROBE_SHARD_COUNT'
                      '.json', args)

    def test_one_volume_for_shards_and_merge(self):
        pvc = load("reports-pvc.yaml")
        self.assertEqual(pvc["kind"], "PersistentVolumeClaim")
        for name in ("wsprobe-shards.yaml", "wsprobe-merge.yaml"):
            job = load(name)
            pod = job["spec"]["template"]["spec"]
            self.assertEqual(pod["restartPolicy"], "Never")
            claim = pod["volumes"][0]["persistentVolumeClaim"]["claimName"]
            self.assertEqual(claim, pvc["metadata"]["name"], name)
            mount = container(job)["volumeMounts"][0]
            self.assertEqual(mount["mountPath"], "/reports")
        merge = container(load("wsprobe-merge.yaml"))
        self.assertIn("wsprobe merge", " ".join(merge["args"]))
        self.assertIn("/reports/shard-*-of-*.json", " ".join(merge["args"]))

    def test_run_script(self):
        """run.sh with a stand-in kubectl: N in all three places, one start
        instant, the merge created after the Job ended, its exit status."""
        with tempfile.TemporaryDirectory() as d:
            fake = os.path.join(d, "kubectl")
            with open(fake, "w") as f:
                f.write("""#!/bin/bash
echo "$*" >> "%(d)s/calls"
case "$*" in
  "create -f -") cat > "%(d)s/created-$(ls %(d)s | wc -l).yaml" ;;
  *condition=failed*job/wsprobe-shards*) exec sleep 30 ;;
  get\\ pods*) echo 1 ;;
esac
exit 0
""" % {"d": d})
            os.chmod(fake, 0o755)
            env = dict(CLEAN, PATH=d + ":" + os.environ["PATH"])
            p = subprocess.run([os.path.join(DEPLOY, "run.sh"), "5", "90"],
                               env=env, capture_output=True, text=True,
                               timeout=20)
            self.assertEqual(p.returncode, 1, p.stderr)  # The merge's.
            with open(os.path.join(d, "calls")) as f:
                calls = f.read().splitlines()
            created = [x for x in sorted(os.listdir(d)) if
                       x.startswith("created")]
            self.assertEqual(len(created), 1)
            with open(os.path.join(d, created[0])) as f:
                job = yaml.safe_load(f)
        spec = job["spec"]
        self.assertEqual((spec["completions"], spec["parallelism"],
                          env_of(container(job))["WSPROBE_SHARD_COUNT"]),
                         (5, 5, "5"))
        at = env_of(container(job))["WSPROBE_START_AT"]
        self.assertRegex(at, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        # The merge Job is created only after the wait for the Job.
        order = [c.split()[0] + " " + c.split()[-1] for c in calls]
        self.assertLess(order.index("wait job/wsprobe-shards"),
                        calls.index("create -f " + os.path.join(
                            DEPLOY, "wsprobe-merge.yaml")))


class PodsRunHere(unittest.TestCase):
    """The containers' commands as the pods run them, with the campaign
    made small and /reports a temporary directory."""

    def test_merge_of_the_pods_is_the_campaign(self):
        job = load("wsprobe-shards.yaml")
        n = job["spec"]["completions"]
        c = container(job)
        merge = container(load("wsprobe-merge.yaml"))
        with raceserver(RACESERVER) as url, \
                tempfile.TemporaryDirectory() as d:
            bindir = os.path.join(d, "bin")
            os.mkdir(bindir)
            os.symlink(WSPROBE, os.path.join(bindir, "wsprobe"))
            reports = os.path.join(d, "reports")
            os.mkdir(reports)

            def script(cmd):
                s = cmd["args"][0].replace("/reports", reports)
                return re.sub(r"-n \d+ -c \d+", "-n 60 -c 10", s)
            env = dict(CLEAN, **env_of(c))
            env.update(PATH=bindir + ":" + os.environ["PATH"],
                       WSPROBE_URL=url,
                       WSPROBE_START_AT="%.6f" % (time.time() + 1.0))
            pods = [subprocess.Popen(
                c["command"] + [script(c)],
                env=dict(env, JOB_COMPLETION_INDEX=str(i)),
                stderr=subprocess.PIPE, text=True) for i in range(n)]
            for p in pods:
                _, err = p.communicate(timeout=30)
                self.assertEqual(p.returncode, 0, err)
            m = subprocess.run(merge["command"] + [script(merge)],
                               env=dict(env, PATH=bindir + ":" +
                                        os.environ["PATH"]),
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(m.returncode, 0, m.stderr)
            with open(os.path.join(reports, "merged.json")) as f:
                merged = json.load(f)
            for i in range(n):
                with open(os.path.join(reports, "shard-%d-of-%d.json" %
                                       (i, n))) as f:
                    self.assertEqual(json.load(f)["campaign"]["shard"],
                                     {"index": i, "count": n,
                                      "source": "kubernetes"})
            # The same campaign unsharded.
            whole = os.path.join(d, "whole.json")
            s = script(c).replace(
                "/shard-$JOB_COMPLETION_INDEX-of-$WSPROBE_SHARD_COUNT",
                "/../whole").replace('--start-at "$WSPROBE_START_AT"', "")
            env.pop("WSPROBE_SHARD_COUNT")
            u = subprocess.run(c["command"] + [s], env=env,
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(u.returncode, 0, u.stderr)
            with open(whole) as f:
                w = json.load(f)
        assert_merge_is_whole(self, merged, w, n, 60)


if __name__ == "__main__":
    unittest.main(verbosity=2)
