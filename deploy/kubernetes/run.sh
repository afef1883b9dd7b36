#!/bin/bash
# Runs a sharded campaign on Kubernetes: the reports volume, the Indexed Job
# with N pods starting together, then (whatever the pods' statuses) the
# merge. Exit status: the merge's (0 passed, 1 failed probes, 4 a shard
# missing).
#
#   run.sh N [SECONDS_FROM_NOW]
#
# SECONDS_FROM_NOW (default 60) must cover scheduling the pods and pulling
# the image: a pod that starts more than 1 s late refuses to run (exit 3).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
n=${1:?usage: run.sh N [SECONDS_FROM_NOW]}
lead=${2:-60}
start=$(date -u -d "+$lead seconds" +%Y-%m-%dT%H:%M:%S.%3NZ)
kubectl apply -f "$here/reports-pvc.yaml"
# N in completions, parallelism and WSPROBE_SHARD_COUNT; the start instant.
sed -e "s/^  completions: .*/  completions: $n/" \
    -e "s/^  parallelism: .*/  parallelism: $n/" \
    -e "s/^  maxFailedIndexes: .*/  maxFailedIndexes: $n/" \
    -e "/name: WSPROBE_SHARD_COUNT/{n;s/value: .*/value: \"$n\"/}" \
    -e "/name: WSPROBE_START_AT/{n;s/value: .*/value: \"$start\"/}" \
    "$here/wsprobe-shards.yaml" | kubectl create -f -
# Complete, or failed (some index failed): either way, merge.
kubectl wait --for=condition=complete --timeout=-1s job/wsprobe-shards &
ok=$!
kubectl wait --for=condition=failed --timeout=-1s job/wsprobe-shards &
failed=$!
wait -n "$ok" "$failed" || true
kill "$ok" "$failed" 2>/dev/null || true
kubectl create -f "$here/wsprobe-merge.yaml"
kubectl wait --for=condition=complete --timeout=600s job/wsprobe-merge ||
  kubectl wait --for=condition=failed --timeout=1s job/wsprobe-merge || true
kubectl logs job/wsprobe-merge
code=$(kubectl get pods -l job-name=wsprobe-merge \
  -o jsonpath='{.items[0].status.containerStatuses[0].state.terminated.exitCode}')
exit "${code:-4}"
