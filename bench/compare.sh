#!/usr/bin/env bash
# The same workload for wsprobe, Python's websockets and Node's ws against
# one raceserver (echo) on loopback: N probes at concurrency C, each
# connect, upgrade with Sec-WebSocket-Protocol: jwt.<token>, one text
# message, one reply, a clean close. Median of RUNS runs; prints a table.
# A benchmark, not a test. Usage: bench/compare.sh [BUILD] [N] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
n=${2:-20000}
runs=${3:-3}
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)"

"$build/examples/raceserver" --port 0 --port-file "$work/port" --quiet \
  --lifetime 3600 --on-message echo --backlog 4096 >/dev/null &
pids+=($!)
server=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
url="ws://127.0.0.1:$(cat "$work/port")/"

run_wsprobe() { # N C -> JSON line
  /usr/bin/time -f '%U %S %M' -o "$work/time" "$build/examples/wsprobe" \
    -q -n "$1" -c "$2" --jwt bench.token.x --send hi --json "$work/r.json" \
    "$url" || true
  /usr/bin/python3 - "$work/r.json" "$work/time" "$1" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
u, s, m = open(sys.argv[2]).read().split()
t = d["summary"]["spans_ms"]["total"]
print(json.dumps({"client": "wsprobe", "n": int(sys.argv[3]),
                  "c": int(sys.argv[4]), "ok": d["summary"]["passed"],
                  "failed": d["summary"]["failed"],
                  "probes_per_s": d["summary"]["total"] /
                  (d["campaign"]["duration_ms"] / 1000),
                  "p50_ms": t["p50"], "p99_ms": t["p99"],
                  "cpu_s": float(u) + float(s), "peak_rss_kb": int(m)}))
PY
}

for c in 100 1000; do
  for client in wsprobe python node; do
    for r in $(seq "$runs"); do
      case $client in
        wsprobe) run_wsprobe "$n" "$c" ;;
        python) /usr/bin/python3 bench/py_client.py "$url" "$n" "$c" ;;
        node) node bench/node_client.js "$url" "$n" "$c" ;;
      esac >>"$work/results.jsonl"
    done
  done
done
server_cpu=$(ps -o time= -p "$server")

/usr/bin/python3 - "$work/results.jsonl" "$server_cpu" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("%-18s %5s %10s %8s %8s %7s %9s %6s %7s" % ("client", "C", "probes/s",
      "p50 ms", "p99 ms", "CPU s", "RSS MB", "fail", "ratio"))
for c in sorted({r["c"] for r in rows}):
    base = None
    for client in ("wsprobe", "python-websockets", "node-ws"):
        rs = [r for r in rows if r["c"] == c and r["client"] == client]
        if not rs:
            continue
        med = sorted(rs, key=lambda r: r["probes_per_s"])[len(rs) // 2]
        base = base or med["probes_per_s"]
        print("%-18s %5d %10.0f %8.2f %8.2f %7.2f %9.1f %6d %6.2fx" % (
            client, c, med["probes_per_s"], med["p50_ms"] or 0,
            med["p99_ms"] or 0, med["cpu_s"], med["peak_rss_kb"] / 1024,
            med["failed"], base / med["probes_per_s"]))
print("raceserver CPU for all runs: %s" % sys.argv[2].strip())
PY
