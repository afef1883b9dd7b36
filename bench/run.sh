#!/usr/bin/env bash
# The benchmarks of issues 8 and 14, in one run on loopback (a benchmark, not a test):
#
#  1. throughput: the same workload for wsprobe, a minimal raw C epoll
#     client (the practical limit), Python's websockets and Node's ws
#     against ONE raceserver (--on-message echo): N probes at concurrency
#     C, each connect, upgrade offering Sec-WebSocket-Protocol: jwt.<token>,
#     one text message, one reply, close 1000, the server's close and EOF.
#     Median of RUNS runs (by probes/s); one table with ratios to raw C and
#     the server's CPU use during each client's runs.
#  2. memory: RSS per connection held open at HELD concurrent (VmRSS
#     sampled from /proc, peak while the connections are open, minus the
#     peak of the same client holding one), plain for every client and
#     TLS (wss://, throwaway certificates) for wsprobe.
#  3. timing accuracy: the server holds each reply D ms; ACC_N concurrent
#     probes; first_reply - D against raceserver --reply-delay, and against
#     bench/stamp_server, which says in each reply how long it really held
#     it, first_reply - that (the prober's own error).
#  4. burst: the send spread of BURST_N first messages released together,
#     against the raw client writing the same frames in one tight loop.
#  5. wss://: nginx (one worker) terminates TLS with an ECDSA P-256
#     certificate in front of the same echo raceserver; TLS_N probes at
#     concurrency TLS_C, the workload of 1., for wsprobe (sessions resumed,
#     its default), wsprobe --tls-resume=off, Python's websockets with an
#     ssl context and Node's ws with `ca` (both full handshakes: checked
#     with nginx's $ssl_session_reused), TLS_RUNS interleaved runs, medians.
#     CPU per handshake is wsprobe's CPU per probe above the same probes
#     over ws:// through the same nginx: full from --tls-resume=off runs,
#     resumed from the default runs (their few full handshakes taken out).
#     WSPROBE_BASE=PATH adds another wsprobe binary's default runs (say,
#     one built before the chain cache) to compare CPU per full handshake.
#  6. the report: wsprobe's probes/s (wall clock, process start to exit)
#     without and with --json, REPORT_RUNS interleaved runs of REPORT_N
#     probes at C = 100; and bench/report_bench, which times the library's
#     streamed JSON writer (wsp_report_json_write into a file) after a
#     campaign of the same size: microseconds per probe and share of the
#     campaign's duration_ms, median of REPORT_RUNS.
#  7. merge: three shards of MERGE_N probes in all (about 800 bytes each:
#     100 MB of reports), merged into JSON, HTML and JUnit; the merge's peak
#     RSS (/usr/bin/time %M) and wall time.
#  8. threads: the workload of 1. with --json for wsprobe --threads 1 and
#     --threads 2 against the raw C client (one thread, one epoll),
#     THREADS_RUNS interleaved runs at each C of CONCS, medians; and the
#     burst of 4. (BURST_N first messages) on 1 and 2 threads against the
#     raw client's single-thread tight loop, THREADS_RUNS interleaved runs,
#     medians of the spread.
#
# Usage: bench/run.sh [BUILD_DIR]   (default build-bench/ in the tree; configured
#        with --buildtype=release if it does not exist yet)
# Knobs (environment): N=20000 RUNS=3 CONCS="100 1000" HELD=10000
#        HOLD_MS=5000 TLS_HELD=10000 TLS_HOLD_MS=60000 D=50 ACC_N=1000
#        BURST_N=1000 TLS_N=2000 TLS_C=50 TLS_RUNS=5 WSPROBE_BASE=PATH
#        REPORT_N=20000 REPORT_RUNS=5 MERGE_N=126000 THREADS_RUNS=5
#        SKIP="throughput memory python node tls accuracy burst report
#        merge threads" (any of them; tls covers 5. and the wss:// memory
#        row)
#        PIN=1 (server on CPU 0, clients on CPU 1), RACESERVER=PATH
#        (another build's).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${1:-$root/build-bench}
N=${N:-20000}
RUNS=${RUNS:-3}
CONCS=${CONCS:-"100 1000"}
HELD=${HELD:-10000}
HOLD_MS=${HOLD_MS:-5000}
TLS_HELD=${TLS_HELD:-10000}
TLS_HOLD_MS=${TLS_HOLD_MS:-60000}
D=${D:-50}
TLS_N=${TLS_N:-2000}
TLS_C=${TLS_C:-50}
TLS_RUNS=${TLS_RUNS:-5}
WSPROBE_BASE=${WSPROBE_BASE:-}
ACC_N=${ACC_N:-1000}
export BURST_N=${BURST_N:-1000}
REPORT_N=${REPORT_N:-20000}
REPORT_RUNS=${REPORT_RUNS:-5}
MERGE_N=${MERGE_N:-126000}
THREADS_RUNS=${THREADS_RUNS:-5}
SKIP=${SKIP:-}
TOKEN=bench.token.x
PY=/usr/bin/python3

skip() { [[ " $SKIP " == *" $1 "* ]]; }
say() { printf '%s\n' "$*" >&2; }

work=$(mktemp -d /tmp/wsprobe-bench-run.XXXXXX)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# ---- build ----
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" "$root" --buildtype=release >"$work/setup.log" 2>&1 ||
    { cat "$work/setup.log"; exit 1; }
fi
ninja -C "$build" cli/wsprobe tests/servers/raceserver >"$work/build.log" 2>&1 ||
  { cat "$work/build.log"; exit 1; }
cc -O2 -o "$work/raw_client" bench/raw_client.c
cc -O2 -o "$work/stamp_server" bench/stamp_server.c
cc -O2 -I include -I "$build/include" -o "$work/report_bench" \
  bench/report_bench.c \
  -L "$build/lib" -lwsprobe -luv -Wl,-rpath,"$build/lib"
wsprobe=$build/cli/wsprobe
raceserver=${RACESERVER:-$build/tests/servers/raceserver}

# ---- limits: every child holds up to HELD sockets ----
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt $((HELD + 100)) ]; then
  say "open-files hard limit $hard < $((HELD + 100)): HELD lowered"
  HELD=$((hard - 100))
fi
if [ "$hard" != unlimited ] && [ "$hard" -lt $((TLS_HELD + 100)) ]; then
  TLS_HELD=$((hard - 100))
fi
ulimit -n "$hard"

if [ "${PIN:-0}" = 1 ]; then
  srv_pin=(taskset -c 0)
  cli_pin=(taskset -c 1)
else
  srv_pin=()
  cli_pin=()
fi

# serve NAME ARGS...: starts a server, writes its port to $work/NAME.port
serve() {
  local name=$1
  shift
  "${srv_pin[@]}" "$@" >"$work/$name.log" 2>&1 &
  pids+=($!)
  eval "${name}_pid=$!"
  for _ in $(seq 200); do [ -s "$work/$name.port" ] && return 0; sleep 0.05; done
  say "$name did not start"
  cat "$work/$name.log" >&2
  exit 1
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
clk=$(getconf CLK_TCK)

serve echo "$raceserver" --port 0 --port-file "$work/echo.port" --quiet \
  --lifetime 3600 --on-message echo --backlog 4096
url="ws://127.0.0.1:$(cat "$work/echo.port")/"

# ---- 1. throughput ----
# One JSON line per run: client, c, probes_per_s, p50_ms, p99_ms, cpu_s,
# peak_rss_kb, ok, failed, srv_cpu (server CPU share during the run).
run_client() { # CLIENT N C
  local client=$1 n=$2 c=$3 t0 t1 line
  t0=$(cpu_ticks "$echo_pid")
  case $client in
    raw) line=$("${cli_pin[@]}" "$work/raw_client" "$url" "$n" "$c" 0 "$TOKEN" || true) ;;
    python) line=$("${cli_pin[@]}" $PY bench/py_client.py "$url" "$n" "$c" 0 "$TOKEN" || true) ;;
    node) line=$("${cli_pin[@]}" node bench/node_client.js "$url" "$n" "$c" 0 "$TOKEN" || true) ;;
    wsprobe | wsprobe-t*)
      "${cli_pin[@]}" /usr/bin/time -f '%U %S %M' -o "$work/time" "$wsprobe" \
        -q -n "$n" -c "$c" --jwt "$TOKEN" --send hi --json "$work/r.json" \
        --threads "$([ "$client" = wsprobe ] && echo 1 || echo "${client#wsprobe-t}")" \
        "$url" || true
      line=$($PY - "$work/r.json" "$work/time" "$n" "$c" <<'PY'
import json, math, sys
d = json.load(open(sys.argv[1]))
u, s, m = open(sys.argv[2]).read().split()[-3:]
lat = sorted(p["timings_ms"]["total"] for p in d["probes"]
             if p["outcome"] == "ok")
rank = lambda q: lat[min(len(lat) - 1, max(0, math.ceil(q * len(lat)) - 1))] if lat else None
print(json.dumps({"client": "wsprobe", "n": int(sys.argv[3]),
                  "c": int(sys.argv[4]), "ok": d["summary"]["passed"],
                  "failed": d["summary"]["failed"],
                  "probes_per_s": d["summary"]["total"] /
                  (d["campaign"]["duration_ms"] / 1000),
                  "p50_ms": rank(0.5), "p99_ms": rank(0.99),
                  "cpu_s": float(u) + float(s), "peak_rss_kb": int(m)}))
PY
)
      ;;
  esac
  t1=$(cpu_ticks "$echo_pid")
  [ -n "$line" ] || line='{"client": "'$client'", "n": '$n', "c": '$c', "ok": 0, "failed": '$n', "probes_per_s": 0}'
  $PY -c 'import json,sys; d=json.loads(sys.argv[1]); w=d["n"]/d["probes_per_s"] if d.get("probes_per_s") else 0; d["client"]=sys.argv[2]; d["srv_cpu"]=(float(sys.argv[3])/float(sys.argv[4]))/w if w else None; print(json.dumps(d))' \
    "$line" "$client" "$((t1 - t0))" "$clk"
}

clients="raw wsprobe"
skip python || clients="$clients python"
skip node || clients="$clients node"
skip throughput || say "throughput: N=$N, C in {$CONCS}, $RUNS runs each: $clients"
skip throughput || for c in $CONCS; do
  for r in $(seq "$RUNS"); do
    for client in $clients; do # interleaved, so drift hits every client
      run_client "$client" "$N" "$c" >>"$work/throughput.jsonl"
    done
  done
done

# ---- 2. held-open memory ----
held_run() { # CLIENT COUNT HOLD URL [wsprobe args...] -> JSON line
  local client=$1 n=$2 hold=$3 u=$4 pid line s
  shift 4
  case $client in
    raw) "${cli_pin[@]}" "$work/raw_client" "$u" "$n" "$n" "$hold" "$TOKEN" >"$work/held.out" 2>&1 & ;;
    python) "${cli_pin[@]}" $PY bench/py_client.py "$u" "$n" "$n" "$hold" "$TOKEN" >"$work/held.out" 2>&1 & ;;
    node) "${cli_pin[@]}" node bench/node_client.js "$u" "$n" "$n" "$hold" "$TOKEN" >"$work/held.out" 2>&1 & ;;
    wsprobe) "${cli_pin[@]}" "$wsprobe" -q -n "$n" -c "$n" --hold "$hold" \
               --jwt "$TOKEN" --timeout 120000 "$@" "$u" >"$work/held.out" 2>&1 & ;;
  esac
  pid=$!
  pids+=($pid)
  # Peak while at least n sockets are open (n = 1: any time).
  s=$($PY bench/rss_sampler.py "$pid" "$((n > 1 ? n : 0))")
  wait "$pid" && line=ok || line=failed
  printf '%s\n' "$s" | $PY -c 'import json,sys; d=json.load(sys.stdin); d["exit"]=sys.argv[1]; print(json.dumps(d))' "$line"
}

held_pair() { # LABEL CLIENT COUNT HOLD URL [args...]
  local label=$1 client=$2 n=$3 hold=$4 u=$5 base big
  shift 5
  base=$(held_run "$client" 1 1000 "$u" "$@")
  big=$(held_run "$client" "$n" "$hold" "$u" "$@")
  $PY -c 'import json,sys; b=json.loads(sys.argv[2]); g=json.loads(sys.argv[3]); n=int(sys.argv[4]); print(json.dumps({"label": sys.argv[1], "n": n, "base_kb": b["peak_rss_kb"], "peak_kb": g["peak_rss_held_kb"], "max_fds": g["max_fds"], "exit": g["exit"], "per_conn_kb": (g["peak_rss_held_kb"] - b["peak_rss_kb"]) / (n - 1)}))' \
    "$label" "$base" "$big" "$n" >>"$work/held.jsonl"
}

if ! skip memory; then
  say "memory: $HELD connections held ${HOLD_MS} ms"
  held_pair "raw C" raw "$HELD" "$HOLD_MS" "$url"
  held_pair "wsprobe" wsprobe "$HELD" "$HOLD_MS" "$url"
  skip python || held_pair "python-websockets" python "$HELD" "$HOLD_MS" "$url"
  skip node || held_pair "node-ws" node "$HELD" "$HOLD_MS" "$url"
fi
if ! skip tls; then
  tests/tls/gen-certs.sh "$work/pki" >/dev/null 2>&1
  serve tls "$raceserver" --port 0 --port-file "$work/tls.port" --quiet \
    --lifetime 3600 --on-message echo --backlog 4096 \
    --tls-cert "$work/pki/server.pem" --tls-key "$work/pki/server.key"
  say "memory: $TLS_HELD TLS connections held ${TLS_HOLD_MS} ms (handshakes take a while)"
  held_pair "wsprobe wss://" wsprobe "$TLS_HELD" "$TLS_HOLD_MS" \
    "wss://127.0.0.1:$(cat "$work/tls.port")/" --cacert "$work/pki/ca.pem"
  kill "$tls_pid" 2>/dev/null || true
fi

# ---- 3. timing accuracy ----
if ! skip accuracy; then
  say "accuracy: $ACC_N concurrent probes, reply held $D ms"
  serve delay "$raceserver" --port 0 --port-file "$work/delay.port" --quiet \
    --lifetime 3600 --on-message echo --reply-delay "$D" --backlog 4096
  "${srv_pin[@]}" "$work/stamp_server" "$work/stamp.port" "$D" 3600 \
    2>"$work/stamp.log" &
  stamp_pid=$!
  pids+=($stamp_pid)
  for _ in $(seq 100); do [ -s "$work/stamp.port" ] && break; sleep 0.05; done
  for r in $(seq "$RUNS"); do
    for srv in delay stamp; do
      "${cli_pin[@]}" "$wsprobe" -q -n "$ACC_N" -c "$ACC_N" --jwt "$TOKEN" \
        --send hi --json "$work/acc.json" \
        "ws://127.0.0.1:$(cat "$work/$srv.port")/" || true
      $PY - "$work/acc.json" "$D" "$srv" >>"$work/accuracy.jsonl" <<'PY'
import json, math, sys
d = json.load(open(sys.argv[1])); D = float(sys.argv[2])
vd, vh = [], []
for p in d["probes"]:
    fr = p["timings_ms"]["first_reply"]
    if fr is None:
        continue
    vd.append(fr - D)
    h = [e["type"] for e in p["events"] if e["type"].startswith("h")]
    if h:
        vh.append(fr - int(h[0][1:]) / 1e6)
def q(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, max(0, math.ceil(p * len(v)) - 1))] if v else None
print(json.dumps({"server": sys.argv[3], "n": len(vd),
                  "minus_d": [q(vd, .5), q(vd, .99)],
                  "minus_hold": [q(vh, .5), q(vh, .99)] if vh else None,
                  "lag_flagged": d["campaign"]["loop_lag_ms"]["flagged_probes"]}))
PY
    done
    RAW_TIMESTAMPS=1 "${cli_pin[@]}" "$work/raw_client" \
      "ws://127.0.0.1:$(cat "$work/stamp.port")/" "$ACC_N" "$ACC_N" 0 "$TOKEN" |
      $PY -c 'import json,sys; ls=[json.loads(l) for l in sys.stdin]; e=[l for l in ls if "error_vs_server_hold_user_ms" in l][0]; print(json.dumps({"server": "stamp-raw", "user": [e["error_vs_server_hold_user_ms"]["p50"], e["error_vs_server_hold_user_ms"]["p99"]], "kernel": [e["error_vs_server_hold_kernel_ms"]["p50"], e["error_vs_server_hold_kernel_ms"]["p99"]]}))' \
      >>"$work/accuracy.jsonl"
  done
fi

# ---- 4. burst send spread ----
# wsprobe --burst opens BURST_N connections, then writes every first
# message in one loop iteration; the spread is last send - first send. The
# raw client's RAW_BURST mode writes the same frame on as many open
# connections in one tight loop: the floor on this machine.
if ! skip burst; then
  say "burst: $BURST_N connections, first messages released together"
  for r in $(seq "$RUNS"); do
    "${cli_pin[@]}" "$wsprobe" -q --burst -n "$BURST_N" -c "$BURST_N" \
      --jwt "$TOKEN" --send hi --json "$work/burst.json" "$url" || true
    $PY -c 'import json,sys; d=json.load(open(sys.argv[1])); b=d["campaign"]["bursts"]; print(json.dumps({"client": "wsprobe", "released": b["released"], "spread_ms": b["send_spread_ms"]["max"], "failed": d["summary"]["failed"]}))' \
      "$work/burst.json" >>"$work/burst.jsonl"
    RAW_BURST=1 "${cli_pin[@]}" "$work/raw_client" "$url" "$BURST_N" \
      "$BURST_N" 200 "$TOKEN" |
      $PY -c 'import json,sys; ls=[json.loads(l) for l in sys.stdin]; b=[l for l in ls if "burst_spread_ms" in l][0]; e=[l for l in ls if "client" in l][0]; print(json.dumps({"client": "raw", "released": 1, "spread_ms": b["burst_spread_ms"], "failed": e["failed"]}))' \
      >>"$work/burst.jsonl" || true
  done
fi

# ---- 5. wss:// through nginx ----
if ! skip tls; then
  [ -s "$work/pki/ca.pem" ] || tests/tls/gen-certs.sh "$work/pki" >/dev/null 2>&1
  free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
  ngx_tls=$(free_port)
  ngx_plain=$(free_port)
  mkdir -p "$work/nginx"
  # The X-Reused header ($ssl_session_reused: "r" or ".") is how the
  # peers' handshakes are checked to be full ones.
  cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 1;
worker_rlimit_nofile 20000;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  map \$http_upgrade \$connection_upgrade { default upgrade; '' close; }
  server {
    listen 127.0.0.1:$ngx_tls ssl;
    listen 127.0.0.1:$ngx_plain;
    ssl_certificate $work/pki/server.pem;
    ssl_certificate_key $work/pki/server.key;
    add_header X-Reused \$ssl_session_reused always;
    location / {
      proxy_pass http://127.0.0.1:$(cat "$work/echo.port");
      proxy_http_version 1.1;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection \$connection_upgrade;
    }
  }
}
CONF
  "${srv_pin[@]}" /usr/sbin/nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" \
    >"$work/nginx/out.log" 2>&1 &
  ngx_pid=$!
  pids+=($ngx_pid)
  for _ in $(seq 100); do
    $PY -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2)' \
      "$ngx_tls" 2>/dev/null && break
    sleep 0.05
  done
  wss="wss://127.0.0.1:$ngx_tls/"
  ws_ngx="ws://127.0.0.1:$ngx_plain/"
  ca=$work/pki/ca.pem
  ngx_ticks() { # CPU ticks of nginx's master and workers
    local t=0 p
    for p in $ngx_pid $(pgrep -P "$ngx_pid"); do
      t=$((t + $(cpu_ticks "$p")))
    done
    echo "$t"
  }
  # What the peers' handshakes are: nginx says whether each reused a session.
  reused=$($PY - "$wss" "$ca" <<'PY'
import asyncio, ssl, sys, websockets
async def main():
    ctx = ssl.create_default_context(cafile=sys.argv[2])
    out = ""
    for _ in range(3):
        async with websockets.connect(sys.argv[1], ssl=ctx) as ws:
            out += ws.response_headers.get("X-Reused", "?")
    print(out)
asyncio.run(main())
PY
)
  reused_node=$(node -e '
const WebSocket = require("/usr/share/nodejs/ws"), fs = require("fs");
let out = "", k = 0;
function one() {
  const ws = new WebSocket(process.argv[1], { ca: fs.readFileSync(process.argv[2]) });
  ws.on("upgrade", (r) => { out += r.headers["x-reused"] || "?"; });
  ws.on("open", () => ws.close());
  ws.on("error", () => {});
  ws.on("close", () => { if (++k < 3) one(); else console.log(out); });
}
one();' "$wss" "$ca")
  echo "{\"python\": \"$reused\", \"node\": \"$reused_node\"}" >"$work/reused.json"

  # One JSON line per run: client, probes_per_s, cpu_s, ok, failed, full,
  # resumed, srv_cpu (nginx's CPU share during the run).
  tls_client() { # CLIENT
    local client=$1 t0 t1 line bin=$wsprobe u=$wss extra=()
    t0=$(ngx_ticks)
    case $client in
      python) line=$("${cli_pin[@]}" $PY bench/py_client.py "$u" "$TLS_N" "$TLS_C" 0 "$TOKEN" "$ca" || true) ;;
      node) line=$("${cli_pin[@]}" node bench/node_client.js "$u" "$TLS_N" "$TLS_C" 0 "$TOKEN" "$ca" || true) ;;
      *)
        case $client in
          wsprobe-off) extra=(--tls-resume=off) ;;
          wsprobe-base) bin=$WSPROBE_BASE ;;
          wsprobe-ws) u=$ws_ngx ;;
        esac
        [ "$u" = "$ws_ngx" ] || extra+=(--cacert "$ca")
        "${cli_pin[@]}" /usr/bin/time -f '%U %S %M' -o "$work/time" "$bin" \
          -q -n "$TLS_N" -c "$TLS_C" --jwt "$TOKEN" --send hi \
          --json "$work/tls.json" "${extra[@]}" "$u" || true
        line=$($PY - "$work/tls.json" "$work/time" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
u, s, m = open(sys.argv[2]).read().split()[-3:]
hs = d["summary"].get("tls_handshakes")
if hs is None:  # a build without the count: every wss:// probe was full
    hs = {"full": sum(1 for p in d["probes"] if p.get("tls")), "resumed": 0}
print(json.dumps({"n": d["summary"]["total"], "ok": d["summary"]["passed"],
                  "failed": d["summary"]["failed"],
                  "probes_per_s": d["summary"]["total"] /
                  (d["campaign"]["duration_ms"] / 1000),
                  "cpu_s": float(u) + float(s), "peak_rss_kb": int(m),
                  "full": hs["full"], "resumed": hs["resumed"]}))
PY
)
        ;;
    esac
    t1=$(ngx_ticks)
    [ -n "$line" ] || line='{"n": '$TLS_N', "ok": 0, "failed": '$TLS_N', "probes_per_s": 0}'
    $PY -c 'import json,sys; d=json.loads(sys.argv[1]); w=d["n"]/d["probes_per_s"] if d.get("probes_per_s") else 0; d["client"]=sys.argv[2]; d["srv_cpu"]=(float(sys.argv[3])/float(sys.argv[4]))/w if w else None; print(json.dumps(d))' \
      "$line" "$client" "$((t1 - t0))" "$clk"
  }
  tls_clients="wsprobe wsprobe-off wsprobe-ws"
  [ -z "$WSPROBE_BASE" ] || tls_clients="$tls_clients wsprobe-base"
  skip python || tls_clients="$tls_clients python"
  skip node || tls_clients="$tls_clients node"
  say "wss:// through nginx: N=$TLS_N, C=$TLS_C, $TLS_RUNS runs each: $tls_clients"
  for r in $(seq "$TLS_RUNS"); do
    for client in $tls_clients; do
      tls_client "$client" >>"$work/wss.jsonl"
    done
  done
  kill "$ngx_pid" 2>/dev/null || true
  wait "$ngx_pid" 2>/dev/null || true
fi

# ---- 6. the report's cost ----
now_ns() { date +%s%N; }
if ! skip report; then
  say "report: $REPORT_N probes at C = 100, without and with --json, and the writer alone ($REPORT_RUNS runs)"
  for r in $(seq "$REPORT_RUNS"); do
    for json in 0 1; do # interleaved
      args=(-q -n "$REPORT_N" -c 100 --jwt "$TOKEN" --send hi)
      [ "$json" = 1 ] && args+=(--json "$work/report.json")
      t0=$(now_ns)
      "${cli_pin[@]}" "$wsprobe" "${args[@]}" "$url" || true
      t1=$(now_ns)
      awk -v j="$json" -v n="$REPORT_N" -v a="$t0" -v b="$t1" \
        'BEGIN { printf "{\"json\": %d, \"n\": %d, \"wall_s\": %.6f}\n", j, n, (b - a) / 1e9 }' \
        >>"$work/report.jsonl"
    done
  done
  "${cli_pin[@]}" "$work/report_bench" "$url" "$REPORT_N" 100 "$REPORT_RUNS" \
    "$work/writer.json" >>"$work/writer.jsonl" || true
fi

# ---- 7. merging 100 MB of shard reports ----
if ! skip merge; then
  say "merge: 3 shards of $MERGE_N probes in all, merged into JSON, HTML, JUnit"
  for i in 0 1 2; do
    "${cli_pin[@]}" "$wsprobe" -q -n "$MERGE_N" -c 100 --jwt "$TOKEN" \
      --send hi --seed 7 --shard "$i/3" --json "$work/shard-$i.json" "$url" ||
      true
  done
  "${cli_pin[@]}" /usr/bin/time -f '%M %e' -o "$work/merge.time" "$wsprobe" \
    merge -q --json "$work/merged.json" --html "$work/merged.html" \
    --junit "$work/merged.xml" "$work"/shard-{0,1,2}.json || true
  read -r rss secs <"$work/merge.time"
  printf '{"shard_bytes": %d, "merged_bytes": %d, "html_bytes": %d, "junit_bytes": %d, "peak_rss_kb": %d, "wall_s": %s}\n' \
    "$(cat "$work"/shard-{0,1,2}.json | wc -c)" "$(wc -c <"$work/merged.json")" \
    "$(wc -c <"$work/merged.html")" "$(wc -c <"$work/merged.xml")" "$rss" \
    "$secs" >"$work/merge.jsonl"
  rm -f "$work"/shard-{0,1,2}.json "$work"/merged.*
fi

# ---- 8. threads ----
if ! skip threads; then
  say "threads: N=$N, C in {$CONCS}, wsprobe --json on 1 and 2 threads and raw C, $THREADS_RUNS runs each; bursts of $BURST_N"
  for c in $CONCS; do
    for r in $(seq "$THREADS_RUNS"); do
      for client in raw wsprobe-t1 wsprobe-t2; do
        run_client "$client" "$N" "$c" >>"$work/threads.jsonl"
      done
    done
  done
  for r in $(seq "$THREADS_RUNS"); do
    for t in 1 2; do
      "${cli_pin[@]}" "$wsprobe" -q --burst -n "$BURST_N" -c "$BURST_N" \
        --threads "$t" --jwt "$TOKEN" --send hi --json "$work/burst.json" \
        "$url" || true
      $PY -c 'import json,sys; d=json.load(open(sys.argv[1])); c=d["campaign"]; b=c["bursts"]; t=c.get("threads"); print(json.dumps({"client": "t" + sys.argv[2], "spread_ms": b["send_spread_ms"]["max"], "failed": d["summary"]["failed"], "lag_ms": [l["release_lag_ms"]["max"] for l in t["loops"]] if t else None, "own_ms": [l["send_spread_ms"]["max"] for l in t["loops"]] if t else None}))' \
        "$work/burst.json" "$t" >>"$work/tburst.jsonl"
    done
    RAW_BURST=1 "${cli_pin[@]}" "$work/raw_client" "$url" "$BURST_N" \
      "$BURST_N" 200 "$TOKEN" |
      $PY -c 'import json,sys; ls=[json.loads(l) for l in sys.stdin]; b=[l for l in ls if "burst_spread_ms" in l][0]; e=[l for l in ls if "client" in l][0]; print(json.dumps({"client": "raw", "spread_ms": b["burst_spread_ms"], "failed": e["failed"]}))' \
      >>"$work/tburst.jsonl" || true
  done
fi

# ---- report ----
$PY - "$work" "$RUNS" "$D" "$ACC_N" "$TLS_N" "$TLS_C" "$TLS_RUNS" <<'PY'
import json, os, statistics, sys
work, runs, D, acc_n = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
tls_n, tls_c, tls_runs = sys.argv[5], sys.argv[6], int(sys.argv[7])
def load(name):
    p = os.path.join(work, name)
    return [json.loads(l) for l in open(p) if l.strip()] if os.path.exists(p) else []
rows = load("throughput.jsonl")
names = {"raw": "raw C epoll", "wsprobe": "wsprobe", "python": "python-websockets",
         "node": "node-ws"}
if rows:
    print()
    print("%-18s %5s %9s %8s %8s %7s %8s %6s %8s %8s" % (
        "client", "C", "probes/s", "p50 ms", "p99 ms", "CPU s", "RSS MB",
        "fail", "vs raw", "srv CPU"))
for c in sorted({r["c"] for r in rows}):
    med = {}
    for client in ("raw", "wsprobe", "python", "node"):
        rs = sorted((r for r in rows if r["c"] == c and r["client"] == client),
                    key=lambda r: r["probes_per_s"])
        if rs:
            med[client] = rs[len(rs) // 2]
    base = med.get("raw", {}).get("probes_per_s")
    for client, m in med.items():
        f = lambda k, fmt: fmt % m[k] if m.get(k) is not None else "-"
        print("%-18s %5d %9.0f %8s %8s %7s %8s %6d %8s %8s" % (
            names[client], c, m["probes_per_s"], f("p50_ms", "%.2f"),
            f("p99_ms", "%.2f"), f("cpu_s", "%.2f"),
            "%.1f" % (m["peak_rss_kb"] / 1024) if m.get("peak_rss_kb") else "-",
            m.get("failed", 0),
            "%.2fx" % (m["probes_per_s"] / base) if base else "-",
            "%.0f%%" % (100 * m["srv_cpu"]) if m.get("srv_cpu") is not None else "-"))
    ws = [r["probes_per_s"] for r in rows if r["c"] == c and r["client"] == "wsprobe"]
    raw = [r["probes_per_s"] for r in rows if r["c"] == c and r["client"] == "raw"]
    if ws and raw:
        print("%-18s %5d   all runs: wsprobe %s; raw %s" % ("", c,
              ", ".join("%.0f" % v for v in ws), ", ".join("%.0f" % v for v in raw)))
if rows:
    print("(median of %d runs by probes/s; p50/p99: per-probe latency, connect "
          "to close; CPU s and RSS: the whole client process, wsprobe's "
          "including its JSON report; srv CPU: the server's share of one core "
          "during the run)" % runs)
wss = load("wss.jsonl")
if wss:
    med = lambda v: statistics.median(v) if v else None
    label = {"wsprobe": "wsprobe (default: resumes)",
             "wsprobe-off": "wsprobe --tls-resume=off",
             "wsprobe-base": "wsprobe WSPROBE_BASE",
             "python": "python-websockets, ssl", "node": "node-ws, ca",
             "wsprobe-ws": "wsprobe ws:// (baseline)"}
    reused = load("reused.json")
    reused = reused[0] if reused else {}
    print()
    print("wss:// through nginx (ECDSA P-256), N=%s, C=%s, median of %d "
          "interleaved runs" % (tls_n, tls_c, tls_runs))
    print("%-28s %9s %7s %8s %9s %6s  %s" % ("client", "probes/s", "CPU s",
          "ms/probe", "nginx CPU", "fail", "handshakes"))
    by = {}
    for client in ("wsprobe", "wsprobe-off", "wsprobe-base", "python", "node",
                   "wsprobe-ws"):
        rs = [r for r in wss if r["client"] == client]
        if not rs:
            continue
        by[client] = rs
        pps = med([r["probes_per_s"] for r in rs])
        cpu = med([r["cpu_s"] for r in rs if r.get("cpu_s") is not None])
        srv = med([r["srv_cpu"] for r in rs if r.get("srv_cpu") is not None])
        if client in ("python", "node"):
            seen = reused.get(client) or ""
            hs = "full (nginx: %d of %d checked reused)" % (seen.count("r"),
                                                            len(seen))
        elif client == "wsprobe-ws":
            hs = "no TLS"
        else:
            hs = "%.0f full, %.0f resumed" % (med([r.get("full", 0) for r in rs]),
                                            med([r.get("resumed", 0) for r in rs]))
        print("%-28s %9.0f %7s %8s %9s %6d  %s" % (
            label[client], pps, "%.2f" % cpu if cpu is not None else "-",
            "%.3f" % (cpu * 1000 / rs[0]["n"]) if cpu is not None else "-",
            "%.0f%%" % (100 * srv) if srv is not None else "-",
            sum(r.get("failed", 0) for r in rs), hs))
    pps = {c: med([r["probes_per_s"] for r in rs]) for c, rs in by.items()}
    for c in ("wsprobe", "wsprobe-off"):
        if c in pps:
            print("  %s: %s; all runs %s" % (label[c], ", ".join(
                "%.2fx %s" % (pps[c] / pps[p], p) for p in ("python", "node")
                if pps.get(p)), ", ".join("%.0f" % r["probes_per_s"]
                                          for r in by[c])))
    for p in ("python", "node"):
        if p in by:
            print("  %s: all runs %s" % (p, ", ".join(
                "%.0f" % r["probes_per_s"] for r in by[p])))
    if "wsprobe-ws" in by:
        # CPU per handshake: per-run differences against the median ws://
        # cost, medians of those.
        ws = med([r["cpu_s"] / r["n"] for r in by["wsprobe-ws"]])
        def per_full(c):
            return med([r["cpu_s"] / r["n"] - ws for r in by.get(c, [])
                        if r.get("full") == r["n"]])
        full = per_full("wsprobe-off")
        res = med([(r["cpu_s"] - r["n"] * ws - r["full"] * full) / r["resumed"]
                   for r in by.get("wsprobe", [])
                   if full is not None and r.get("resumed")])
        base = per_full("wsprobe-base")
        print("wsprobe CPU per TLS handshake (above ws:// through the same "
              "nginx, %.3f ms a probe):" % (ws * 1000))
        if full is not None:
            print("  full:    %.3f ms (--tls-resume=off; chain verified once "
                  "per run)" % (full * 1000))
        if res is not None:
            print("  resumed: %.3f ms (default runs, their full handshakes "
                  "taken out)" % (res * 1000))
        if base is not None:
            print("  full, WSPROBE_BASE: %.3f ms" % (base * 1000))
    print("(probes/s: wsprobe's summary.total / campaign.duration_ms, the "
          "peers' own count; CPU s: the whole client process; nginx CPU: its "
          "share of one core; the peers do full handshakes: neither passes "
          "a session)")
held = load("held.jsonl")
if held:
    print()
    print("%-18s %7s %10s %10s %8s %12s" % ("held open", "conns", "base MB",
          "peak MB", "max fds", "KB per conn"))
    for h in held:
        print("%-18s %7d %10.1f %10.1f %8d %12.2f%s" % (
            h["label"], h["n"], h["base_kb"] / 1024, h["peak_kb"] / 1024,
            h["max_fds"], h["per_conn_kb"], "" if h["exit"] == "ok" else
            "  (some failed)"))
    print("(VmRSS peak while the connections were open, minus the peak of the "
          "same client holding one, per connection; 1 KB = 1024 bytes)")
burst = load("burst.jsonl")
if burst:
    print()
    print("burst of %s first messages, send spread (ms, every run):" % os.environ.get("BURST_N", "1000"))
    for client, label in (("wsprobe", "wsprobe --burst"), ("raw", "raw C tight loop")):
        v = [b["spread_ms"] for b in burst if b["client"] == client]
        f = sum(b["failed"] for b in burst if b["client"] == client)
        if v:
            print("  %-18s %s%s" % (label, ", ".join("%.3f" % x for x in v),
                  "  (%d probes failed)" % f if f else ""))
rep = load("report.jsonl")
if rep:
    print()
    n = rep[0]["n"]
    med = lambda v: sorted(v)[len(v) // 2]
    plain = [n / r["wall_s"] for r in rep if r["json"] == 0]
    json_ = [n / r["wall_s"] for r in rep if r["json"] == 1]
    print("the report, %d probes at C = 100 (probes/s, wall clock, process "
          "start to exit; median of %d):" % (n, len(plain)))
    print("  without --json   %8.0f   (runs: %s)" % (med(plain), ", ".join("%.0f" % v for v in plain)))
    print("  with --json      %8.0f   (runs: %s)   %.2fx" % (
        med(json_), ", ".join("%.0f" % v for v in json_), med(json_) / med(plain)))
writer = [w for w in load("writer.jsonl") if "run" in w]
if writer:
    us = sorted(w["writer_us_per_probe"] for w in writer)
    share = sorted(w["writer_share"] for w in writer)
    cpu = sorted(w["writer_cpu_us_per_probe"] for w in writer)
    print("  JSON writer alone (bench/report_bench, wsp_report_json_write to a "
          "file): %.2f us/probe (%.2f us of CPU), %.1f%% of the campaign's "
          "duration_ms (median of %d; runs: %s)" % (
              us[len(us) // 2], cpu[len(cpu) // 2],
              100 * share[len(share) // 2], len(us),
              ", ".join("%.1f%%" % (100 * v) for v in
                        (w["writer_share"] for w in writer))))
merge = load("merge.jsonl")
if merge:
    m = merge[0]
    print()
    print("merge of 3 shard reports, %.1f MB in all: peak RSS %.1f MiB, %.1f s "
          "(merged JSON %.1f MB, HTML %.2f MB, JUnit %.1f MB)" % (
              m["shard_bytes"] / 1e6, m["peak_rss_kb"] / 1024, float(m["wall_s"]),
              m["merged_bytes"] / 1e6, m["html_bytes"] / 1e6,
              m["junit_bytes"] / 1e6))
thr = load("threads.jsonl")
if thr:
    print()
    print("threads, N=%d with --json (probes/s, medians of %d interleaved "
          "runs; ratio to raw C's median):" % (
              thr[0]["n"], len([t for t in thr if t["client"] == "raw"]) //
              len({t["c"] for t in thr})))
    lab = {"raw": "raw C epoll", "wsprobe-t1": "wsprobe --threads 1",
           "wsprobe-t2": "wsprobe --threads 2"}
    for c in sorted({t["c"] for t in thr}):
        med = {}
        for client in ("raw", "wsprobe-t1", "wsprobe-t2"):
            v = sorted(t["probes_per_s"] for t in thr
                       if t["c"] == c and t["client"] == client)
            if v:
                med[client] = (v[len(v) // 2], v)
        base = med.get("raw", (0,))[0]
        for client, (m, v) in med.items():
            print("  C=%-5d %-20s %8.0f  %5.2fx  (runs: %s)" % (
                c, lab[client], m, m / base if base else 0,
                ", ".join("%.0f" % x for x in v)))
tb = load("tburst.jsonl")
if tb:
    print()
    print("burst of %s first messages on threads, send spread (ms; medians of "
          "interleaved runs; ratio to the raw single-thread floor):" %
          os.environ.get("BURST_N", "1000"))
    raw = sorted(b["spread_ms"] for b in tb if b["client"] == "raw")
    floor = raw[len(raw) // 2] if raw else None
    for client, label in (("raw", "raw C tight loop"), ("t1", "wsprobe, 1 thread"),
                          ("t2", "wsprobe, 2 threads")):
        v = sorted(b["spread_ms"] for b in tb if b["client"] == client)
        if not v:
            continue
        m = v[len(v) // 2]
        f = sum(b["failed"] for b in tb if b["client"] == client)
        print("  %-20s %7.3f  %5.2fx  (runs: %s)%s" % (
            label, m, m / floor if floor else 0, ", ".join("%.3f" % x for x in v),
            "  (%d probes failed)" % f if f else ""))
    for b in tb:
        if b["client"] == "t2" and b.get("lag_ms"):
            print("    2 threads: each thread's own spread %s ms, release lag "
                  "behind the deadline %s ms" % (
                      " / ".join("%.3f" % x for x in b["own_ms"]),
                      " / ".join("%.3f" % x for x in b["lag_ms"])))
acc = load("accuracy.jsonl")
if acc:
    print()
    print("timing accuracy, %s concurrent probes, reply held %s ms (ms, p50 / p99):" % (acc_n, D))
    fmt = lambda v: "%.3f / %.3f" % tuple(v) if v else "-"
    for a in acc:
        if a["server"] == "delay":
            print("  wsprobe vs raceserver --reply-delay: first_reply - D      %s" % fmt(a["minus_d"]))
        elif a["server"] == "stamp":
            print("  wsprobe vs stamp_server:             first_reply - D      %s;"
                  "  - actual hold %s" % (fmt(a["minus_d"]), fmt(a["minus_hold"])))
        else:
            print("  raw C vs stamp_server:               - actual hold, user-space "
                  "stamps %s; kernel stamps %s" % (fmt(a["user"]), fmt(a["kernel"])))
PY
if [ -n "${stamp_pid:-}" ]; then
  kill "$stamp_pid" 2>/dev/null || true
  wait "$stamp_pid" 2>/dev/null || true
  sed 's/^/  /' "$work/stamp.log"
fi
