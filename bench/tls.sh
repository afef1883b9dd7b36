#!/usr/bin/env bash
# TLS figures for wsprobe on loopback (a benchmark, not a test):
#  - memory per open TLS probe: peak RSS of a run holding N connections
#    open, minus the same run's plain-TCP peak, divided by N;
#  - TLS handshakes per second: probes/s of short wss:// probes.
# Usage: bench/tls.sh [BUILD_DIR] [N]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
n=${2:-1000}
wsprobe=$build/cli/wsprobe
raceserver=$build/tests/servers/raceserver
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
tests/tls/gen-certs.sh "$work/pki" >/dev/null

serve() { # serve PORTFILE ARGS...
  local pf=$1; shift
  "$raceserver" --port 0 --port-file "$pf" --quiet --lifetime 300 \
    --on-message echo "$@" >/dev/null &
  pids+=($!)
  for _ in $(seq 100); do [ -s "$pf" ] && break; sleep 0.05; done
}
serve "$work/plain.port"
serve "$work/tls.port" --tls-cert "$work/pki/server.pem" \
  --tls-key "$work/pki/server.key"
plain="ws://127.0.0.1:$(cat "$work/plain.port")/"
tls="wss://127.0.0.1:$(cat "$work/tls.port")/"

peak_kb() { # peak RSS (kB) of a held-open run
  /usr/bin/time -f %M "$wsprobe" -q -n "$n" -c "$n" --hold 2000 \
    --timeout 30000 "$@" 2>&1 >/dev/null | tail -1
}
p=$(peak_kb "$plain")
t=$(peak_kb --cacert "$work/pki/ca.pem" "$tls")
echo "held open: $n connections: plain peak ${p} kB, TLS peak ${t} kB"
echo "memory per open TLS probe above plain: $(( (t - p) * 1024 / n )) bytes"
echo "memory per open plain probe (whole process / N): $(( p * 1024 / n )) bytes"

for c in 1 50; do
  "$wsprobe" -q -n 2000 -c $c --cacert "$work/pki/ca.pem" --send hi "$tls" \
    --json "$work/hs.json" || true
  /usr/bin/python3 - "$work/hs.json" "$c" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
c = d["campaign"]
s = d["summary"]["spans_ms"]["tls"]
print("TLS probes at concurrency %s: %.0f probes/s (%d ok), handshake p50 "
      "%.3f ms p99 %.3f ms" % (sys.argv[2], d["summary"]["total"] /
      (c["duration_ms"] / 1000), d["summary"]["passed"], s["p50"], s["p99"]))
PY
done
