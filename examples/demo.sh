#!/usr/bin/env bash
# The demo: raceserver on loopback with a 300 ms readiness window, probed by
# wsprobe. At delay 0 the first message lands inside the window and the
# server closes with 1011; at delay 500 ms every probe passes; a bisection
# finds where the window ends; a server that refuses the upgrade with HTTP
# 503 is a failure too, never a pass.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null

wsprobe=build/cli/wsprobe
raceserver=build/tests/servers/raceserver
portfile=$(mktemp)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -f "$portfile"
}
trap cleanup EXIT

start() { # start ARGS...: runs raceserver on an ephemeral loopback port
  : >"$portfile"
  "$raceserver" --listen 127.0.0.1 --port 0 --port-file "$portfile" \
    --lifetime 120 --quiet "$@" >/dev/null &
  pids+=($!)
  for _ in $(seq 100); do [ -s "$portfile" ] && break; sleep 0.05; done
  port=$(cat "$portfile")
}

run() { # run TITLE ARGS...: prints the command, runs it, shows its exit code
  local title=$1; shift
  printf '\n=== %s\n$ wsprobe %s\n' "$title" "$*"
  set +e
  "$wsprobe" "$@"
  local rc=$?
  set -e
  printf '(exit status %d)\n' "$rc"
}

start --ready-delay 300
url="ws://127.0.0.1:$port/agent"
msg='{"type":"run","prompt":"hello"}'
run "first message at delay 0: inside the 300 ms readiness window" \
  -n 20 -c 20 --send "$msg" --delay 0 --expect agent_completed "$url"
run "first message at delay 500 ms: after the window" \
  -n 20 -c 20 --send "$msg" --delay 500 --expect agent_started \
  --expect agent_completed "$url"

run "where does the race window end? bisection over the delay, 5 probes a point" \
  --find-window=0:1000 --trials 5 --resolution 2 -q --json "$portfile.json" \
  --send "$msg" "$url"
python3 - "$portfile.json" <<'PY'
import json, sys
w = json.load(open(sys.argv[1]))["campaign"]["window"]
for e in w["evidence"]:
    print(f"  delay {e['delay_ms']:4d} ms: {e['failures']}/{e['trials']} failed")
est = w["estimate"]
print(f"  failures stop between {est['from_ms']} and {est['to_ms']} ms "
      f"(the server's window is 300 ms); {w['probes_spent']} probes spent")
PY
rm -f "$portfile.json"

start --reject-first 1000000
run "service down: every upgrade refused with HTTP 503" \
  -n 5 --send "$msg" "ws://127.0.0.1:$port/agent"
