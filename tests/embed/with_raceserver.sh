#!/usr/bin/env bash
# Runs a command against a fresh raceserver and checks its exit status.
#
#   with_raceserver.sh RACESERVER STATUS [SERVER-ARG...] -- COMMAND [ARG...]
#
# The server listens on 127.0.0.1 (any free port) and is stopped by its PID
# when the command is done. Every "{url}" in the arguments becomes
# ws://127.0.0.1:PORT/agent. STATUS is the exit status the command must end
# with; the command's output is shown either way.
set -euo pipefail

[ $# -ge 4 ] || { echo "usage: $0 RACESERVER STATUS [SERVER-ARG...] -- COMMAND [ARG...]" >&2; exit 2; }
server=$1
want=$2
shift 2
server_args=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  server_args+=("$1")
  shift
done
[ $# -ge 2 ] || { echo "$0: no command after --" >&2; exit 2; }
shift

out=$(mktemp)
pid=
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -f "$out"
}
trap cleanup EXIT

"$server" --port 0 --lifetime 60 --quiet ${server_args[@]+"${server_args[@]}"} >"$out" &
pid=$!
port=
for _ in $(seq 100); do
  port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$out")
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$port" ] || { echo "$0: raceserver did not start" >&2; exit 1; }

cmd=()
for a in "$@"; do
  cmd+=("${a//\{url\}/ws://127.0.0.1:$port/agent}")
done
echo "+ ${cmd[*]}"
status=0
"${cmd[@]}" || status=$?
if [ "$status" -ne "$want" ]; then
  echo "$0: exit status $status, expected $want" >&2
  exit 1
fi
