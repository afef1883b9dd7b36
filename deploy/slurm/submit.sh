#!/bin/bash
# Submits a sharded wsprobe campaign to Slurm: an array of N tasks, each
# one shard, then the merge chained with afterany. Prints the two job ids.
#
#   submit.sh N OUTDIR [wsprobe options, --seed included] URL
#
# Environment: WSPROBE (the binary on the nodes), MERGE_OPTIONS (extra
# options of wsprobe merge, e.g. --show-secrets), SBATCH_OPTIONS (extra
# sbatch options, e.g. --partition=... --time=...). Give the tasks one
# --start-at a little in the future so that they begin together.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
n=${1:?usage: submit.sh N OUTDIR [options] URL}
out=${2:?usage: submit.sh N OUTDIR [options] URL}
shift 2
mkdir -p "$out"
# shellcheck disable=SC2086  # SBATCH_OPTIONS holds several options
array=$(sbatch --parsable ${SBATCH_OPTIONS:-} --array=0-$((n - 1)) -D "$out" \
  "$here/wsprobe-array.sbatch" "$out" "$@")
array=${array%%;*}
# shellcheck disable=SC2086
merge=$(sbatch --parsable ${SBATCH_OPTIONS:-} --dependency=afterany:"$array" \
  --kill-on-invalid-dep=yes -D "$out" "$here/wsprobe-merge.sbatch" "$out" \
  ${MERGE_OPTIONS:-})
merge=${merge%%;*}
echo "$array $merge"
