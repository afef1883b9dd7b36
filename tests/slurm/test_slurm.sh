#!/bin/bash
# The deploy/slurm scripts on a real Slurm: a throw-away single-node cluster
# on 127.0.0.1 (munged, slurmctld and slurmd from Debian's slurm-wlm and
# munge, as children of this script, under a mktemp directory, on free
# ports), a 3-task array of wsprobe shards against raceserver submitted with
# deploy/slurm/submit.sh, the merge chained with afterany, and the merged
# report held to the unsharded campaign run here, index by index. Every
# process started is stopped by PID; a trap cleans up on every path.
#
# Environment (meson sets it): WSPROBE_BIN, RACESERVER_BIN, DEPLOY_SLURM
# (the deploy/slurm directory), WSPROBE_PYTHON. Must run as root (CI does);
# otherwise it is skipped (exit 77). The cluster recipe and its pitfalls:
# the comments below, measured on Debian 12 with slurm-wlm 22.05.8 and
# munge 0.5.15.

set -Eeuo pipefail

STARTUP_TIMEOUT=${STARTUP_TIMEOUT:-20}   # s: munged + slurmctld + slurmd -> node idle
JOB_TIMEOUT=${JOB_TIMEOUT:-40}           # s: array + dependent job finished
PORT_TRIES=3                             # re-pick ports if a daemon dies at start
# SchedulerParameters. slurmctld 22.05 runs its event-driven scheduler from a
# background loop that ticks once a second, but only every batch_sched_delay
# (default 3) s: =0 makes a finished job's successor start on the next tick.
# bf_interval=1 (default 30) lets the backfill pass, whose parameters are read
# at once, start the first jobs ~1 s after boot; the main scheduler only reads
# its own parameters on its first pass, 3 s after boot.
SCHED_PARAMS=${SLURM_UP_SCHED_PARAMS-batch_sched_delay=0,bf_interval=1}

log() { printf '[%s] %s\n' "$(date +%T.%3N)" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

[ $# = 0 ] || { echo "usage: $0   (takes no arguments)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { log "SKIP: a Slurm cluster needs root"; exit 77; }
: "${WSPROBE_BIN:?}" "${RACESERVER_BIN:?}" "${DEPLOY_SLURM:?}"
PY=${WSPROBE_PYTHON:-/usr/bin/python3}

# --------------------------------------------------------------------------
# 0. Node name and bind address.
#    CommunicationParameters=NoInAddrAny,NoCtldInAddrAny makes slurmd and
#    slurmctld bind to the address gethostname() resolves to instead of
#    0.0.0.0. That is loopback-only only if the hostname resolves to 127.x.
#    If it does not (e.g. a container whose hostname maps to its eth0 address,
#    or does not resolve at all), re-run this script in a private UTS
#    namespace whose hostname is "localhost" (only this script's processes see
#    it). If that is not permitted (no CAP_SYS_ADMIN), fall back to 0.0.0.0
#    binds on random high ports, with a warning.
# --------------------------------------------------------------------------
FULLHOST=$(uname -n)
resolves_to_loopback() {
	local a
	a=$(getent ahostsv4 "$1" 2>/dev/null | awk 'NR == 1 { print $1 }') || true
	case "$a" in 127.*) return 0 ;; *) return 1 ;; esac
}
BIND_LOOPBACK=0
if resolves_to_loopback "$FULLHOST" && resolves_to_loopback "${FULLHOST%%.*}"; then
	BIND_LOOPBACK=1
elif [ -z "${SLURM_UP_IN_UTS_NS:-}" ] && unshare --uts true 2>/dev/null; then
	log "hostname '$FULLHOST' does not resolve to 127.x: re-running in a private UTS namespace as 'localhost'"
	export SLURM_UP_IN_UTS_NS=1
	# shellcheck disable=SC2016  # $0 is expanded by the inner sh
	exec unshare --uts /bin/sh -c 'echo localhost > /proc/sys/kernel/hostname && exec /bin/bash "$0"' "$0"
else
	log "WARNING: hostname '$FULLHOST' does not resolve to 127.x and no UTS namespace: daemons bind 0.0.0.0 (random high ports)"
fi
NODE=${FULLHOST%%.*}

# --------------------------------------------------------------------------
# State used by cleanup (set before the trap so cleanup never sees unset vars)
# --------------------------------------------------------------------------
T=""; CONF=""
MUNGED_PID=""; CTLD_PID=""; SLURMD_PID=""; RACE_PID=""
CREATED_POLICY=0
FAILED=1

alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

# stop one of our children by PID: TERM, wait up to $2 s, KILL, reap
stop_pid() {
	local pid=$1 grace=${2:-10} i
	alive "$pid" || { wait "$pid" 2>/dev/null || true; return 0; }
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < grace * 10; i++)); do
		alive "$pid" || break
		sleep 0.1
	done
	if alive "$pid"; then
		log "pid $pid ignored SIGTERM, sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

# PIDs (other than this script) whose environment or command line mentions
# our temp dir: slurmstepd and job processes inherit SLURM_CONF=$T/slurm.conf.
our_leftovers() {
	local p
	[ -n "$T" ] || return 0
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		[ "$p" = "$$" ] && continue
		[ "$p" = "$BASHPID" ] && continue
		if grep -qaF -- "$T" "/proc/$p/environ" "/proc/$p/cmdline" 2>/dev/null; then
			echo "$p"
		fi
	done
}

# session id of a PID (field 6 of /proc/PID/stat; comm may contain spaces)
sid_of() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	# shellcheck disable=SC2086  # split the fields on purpose
	set -- $s
	echo "$4"
}

kill_leftovers() {
	local p s q mysid exe
	mysid=$(sid_of "$$")
	for p in $(our_leftovers); do
		exe=$(readlink "/proc/$p/exe" 2>/dev/null) || exe=""
		log "killing leftover pid $p ($(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | cut -c1-60))"
		# a stray slurmstepd (it survives slurmd's exit) runs in a session of
		# its own together with the job's processes: kill that whole session.
		# Never do this for our own session (the caller's shell lives there).
		case "${exe##*/}" in slurmstepd*) ;; *) exe="" ;; esac
		if [ -n "$exe" ] && s=$(sid_of "$p") &&
			[ "$s" != 0 ] && [ "$s" != 1 ] && [ "$s" != "$mysid" ]; then
			for q in /proc/[0-9]*; do
				q=${q#/proc/}
				[ "$(sid_of "$q" 2>/dev/null)" = "$s" ] && kill -KILL "$q" 2>/dev/null
			done
		fi
		kill -KILL "$p" 2>/dev/null || true   # anything else: by PID only
	done
}

dump_logs() {
	local f
	for f in "$T"/log/*.log "$T"/munge/munged.log "$T"/log/*.out; do
		[ -s "$f" ] || continue
		echo "----- $f (last 25 lines)" >&2
		tail -n 25 "$f" >&2
	done
}

cleanup() {
	local rc=$? left
	set +e
	trap - EXIT INT TERM
	[ "$rc" != 0 ] && FAILED=1
	if [ "$FAILED" != 0 ] && [ -n "$T" ] && [ -d "$T" ]; then dump_logs; fi
	# cancel whatever is still queued/running so slurmstepd ends the job
	# processes itself (slurmstepd survives a slurmd shutdown)
	if alive "$CTLD_PID"; then
		SLURM_CONF=$CONF timeout 10 scancel --quiet --user=root 2>/dev/null
		for ((i = 0; i < 50; i++)); do
			[ -z "$(SLURM_CONF=$CONF timeout 5 squeue -h -o %i 2>/dev/null)" ] && break
			sleep 0.1
		done
	fi
	stop_pid "$SLURMD_PID" 10
	stop_pid "$CTLD_PID" 10     # also ends its slurmscriptd child
	stop_pid "$MUNGED_PID" 5
	stop_pid "$RACE_PID" 5
	kill_leftovers              # stray slurmstepd / job processes, if any
	sleep 0.2
	left=$(our_leftovers | tr '\n' ' ')
	if [ -n "$left" ]; then
		log "FAIL: processes still running after cleanup: $left"
		rc=1
	else
		log "cleanup: no process of ours is left"
	fi
	if [ -n "$T" ] && [ -d "$T" ]; then
		if [ -n "${SLURM_UP_KEEP:-}" ]; then log "kept $T"; else rm -rf "$T"; fi
	fi
	[ "$CREATED_POLICY" = 1 ] && rm -f /usr/sbin/policy-rc.d
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --------------------------------------------------------------------------
# 1. Packages (services must not start during install)
# --------------------------------------------------------------------------
have_pkgs() {
	local b
	for b in /usr/sbin/slurmctld /usr/sbin/slurmd /usr/bin/sbatch /usr/bin/squeue \
		/usr/bin/scontrol /usr/bin/sinfo /usr/sbin/munged /usr/bin/munge /usr/bin/unmunge; do
		[ -x "$b" ] || return 1
	done
}
have_pkgs || die "slurm-wlm and munge are not installed (scripts/deps.sh installs them)"
log "versions: $(/usr/sbin/slurmctld -V) / $(/usr/sbin/munged -V 2>&1 | head -n 1)"

# --------------------------------------------------------------------------
# 2. Temp dir + munged with its own key/socket/pid/log/seed
#    munged insists that every directory above its socket is a+x, so the
#    0700 dir from mktemp must be opened up to 0755.
# --------------------------------------------------------------------------
T=$(mktemp -d /tmp/slurm-up.XXXXXX)
chmod 755 "$T"
mkdir -p "$T"/munge "$T"/state "$T"/spool "$T"/log "$T"/run "$T"/jobs
chmod 755 "$T"/munge
CONF=$T/slurm.conf
SOCK=$T/munge/munge.sock

T0=$(now)
if [ -x /usr/sbin/mungekey ]; then
	/usr/sbin/mungekey --create --bits=1024 --keyfile="$T/munge/munge.key"
else
	dd if=/dev/urandom of="$T/munge/munge.key" bs=128 count=1 status=none
fi
chmod 600 "$T/munge/munge.key"

/usr/sbin/munged --foreground --socket="$SOCK" --key-file="$T/munge/munge.key" \
	--pid-file="$T/munge/munged.pid" --log-file="$T/munge/munged.log" \
	--seed-file="$T/munge/munged.seed" < /dev/null > "$T/log/munged.out" 2>&1 &
MUNGED_PID=$!
for ((i = 0; ; i++)); do
	if [ -S "$SOCK" ] && munge -n -S "$SOCK" 2>/dev/null | unmunge -S "$SOCK" > /dev/null 2>&1; then break; fi
	alive "$MUNGED_PID" || die "munged exited at start"
	((i < 100)) || die "munged socket not working after 10 s"
	sleep 0.1
done
T_MUNGE=$(now)
log "munged pid $MUNGED_PID up in $(secs "$T0" "$T_MUNGE") s (socket $SOCK)"

# --------------------------------------------------------------------------
# 3. Free ports: random, below the ephemeral range (32768+), never 6817-6819,
#    not in use by any TCP socket (any state, IPv4 or IPv6).
# --------------------------------------------------------------------------
used_ports() {   # local ports of every TCP socket, any state (mawk: no strtonum)
	awk 'FNR > 1 { h = $2; sub(/.*:/, "", h); n = 0
		for (i = 1; i <= length(h); i++) n = n * 16 + index("0123456789ABCDEF", substr(h, i, 1)) - 1
		print n }' /proc/net/tcp /proc/net/tcp6 2>/dev/null | sort -un | tr '\n' ' '
}
pick_port() {   # $1: ports in use (space separated), $2: a port to avoid as well
	local p
	while :; do
		p=$((20000 + RANDOM % 12000))
		[ "$p" = "${2:-}" ] && continue
		case " $1 " in *" $p "*) continue ;; esac
		echo "$p"; return
	done
}

listening() { grep -q "^ *[0-9]*: [0-9A-F]*:$(printf '%04X' "$1") [0-9A-F]*:0000 0A" /proc/net/tcp; }

write_conf() {
	local comm="" sched=""
	[ "$BIND_LOOPBACK" = 1 ] && comm="CommunicationParameters=NoInAddrAny,NoCtldInAddrAny"
	[ -n "$SCHED_PARAMS" ] && sched="SchedulerParameters=$SCHED_PARAMS"   # an empty value is fatal
	cat > "$CONF" <<EOF
# Throw-away single-node cluster for tests (slurm 22.05, Debian bookworm)
ClusterName=wsprobetest
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
$comm
AuthType=auth/munge
AuthInfo=socket=$SOCK
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/run/slurmctld.pid
SlurmdPidFile=$T/run/slurmd.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MinJobAge=300
$sched
NodeName=$NODE NodeAddr=127.0.0.1 NodeHostname=$NODE CPUs=$CPUS Boards=1 SocketsPerBoard=$SOCKETS CoresPerSocket=$CORES ThreadsPerCore=$THREADS State=UNKNOWN
PartitionName=test Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
}

# hardware as slurmd itself sees it (hwloc), so the node is not drained for
# a CPU mismatch; RealMemory left at its default (1 MB) on purpose.
HW=$(/usr/sbin/slurmd -C | head -n 1) || die "slurmd -C failed"
hw() { local v; v=$(echo "$HW" | tr ' ' '\n' | sed -n "s/^$1=//p"); echo "${v:-1}"; }
CPUS=$(hw CPUs); SOCKETS=$(hw SocketsPerBoard); CORES=$(hw CoresPerSocket); THREADS=$(hw ThreadsPerCore)

# --------------------------------------------------------------------------
# 4. slurmctld -D and slurmd -D as background children; wait for node idle
# --------------------------------------------------------------------------
sl() { SLURM_CONF=$CONF "$@"; }

started=0
start_deadline=$(($(date +%s) + STARTUP_TIMEOUT))
for ((try = 1; try <= PORT_TRIES; try++)); do
	used=$(used_ports)
	CTLD_PORT=$(pick_port "$used"); SLURMD_PORT=$(pick_port "$used" "$CTLD_PORT")
	write_conf
	rm -rf "$T"/state/* "$T"/spool/*
	T1=$(now)
	(cd "$T" && SLURM_CONF=$CONF exec /usr/sbin/slurmctld -D -f "$CONF" < /dev/null > "$T/log/slurmctld.out" 2>&1) &
	CTLD_PID=$!
	# slurmd registers at once; if slurmctld is not listening yet it retries
	# only after ~1 s, so start it once slurmctld listens
	while alive "$CTLD_PID" && ! listening "$CTLD_PORT" && (($(date +%s) < start_deadline)); do sleep 0.02; done
	(cd "$T" && SLURM_CONF=$CONF exec /usr/sbin/slurmd -D -f "$CONF" -N "$NODE" < /dev/null > "$T/log/slurmd.out" 2>&1) &
	SLURMD_PID=$!
	state=""
	while (($(date +%s) < start_deadline)); do
		{ alive "$CTLD_PID" && alive "$SLURMD_PID"; } || break
		# ask sinfo only once slurmctld listens: a refused sinfo sleeps 1 s
		# internally before its retry
		if listening "$CTLD_PORT"; then
			state=$(sl timeout 5 sinfo -h -n "$NODE" -o %T 2>/dev/null) || state=""
			[ "$state" = idle ] && break
		fi
		sleep 0.05
	done
	if [ "$state" = idle ]; then started=1; break; fi
	# retry (with new ports) only if a daemon died, e.g. its port was taken
	# between pick_port and bind; a daemon that is merely slow is a failure
	log "start attempt $try failed (ports $CTLD_PORT/$SLURMD_PORT, node state '${state}')"
	if alive "$CTLD_PID" && alive "$SLURMD_PID"; then try=$PORT_TRIES; fi
	dump_logs
	stop_pid "$SLURMD_PID" 5; stop_pid "$CTLD_PID" 5
	CTLD_PID=""; SLURMD_PID=""
	alive "$MUNGED_PID" || die "munged died"
done
[ "$started" = 1 ] || die "cluster did not come up"
T_IDLE=$(now)
log "slurmctld pid $CTLD_PID (port $CTLD_PORT), slurmd pid $SLURMD_PID (port $SLURMD_PORT): node '$NODE' idle"

if [ "$BIND_LOOPBACK" = 1 ]; then
	# prove the binds: both ports listen on 127.0.0.1 only, nothing on 0.0.0.0
	for p in "$CTLD_PORT" "$SLURMD_PORT"; do
		hex=$(printf '%04X' "$p")
		grep -q "^ *[0-9]*: 0100007F:$hex 00000000:0000 0A" /proc/net/tcp || die "port $p is not listening on 127.0.0.1"
		! grep -q "^ *[0-9]*: 00000000:$hex 00000000:0000 0A" /proc/net/tcp || die "port $p listens on 0.0.0.0"
	done
fi

# --------------------------------------------------------------------------
# 5. raceserver on 127.0.0.1; the unsharded campaign here; its 3 shards as
#    a job array with deploy/slurm/submit.sh, merged by an afterany job.
# --------------------------------------------------------------------------
J=$T/jobs
"$RACESERVER_BIN" --port 0 --lifetime 120 --quiet --require-jwt \
	--jwt-secret k --on-message echo < /dev/null > "$T/log/raceserver.out" 2>&1 &
RACE_PID=$!
for ((i = 0; i < 100; i++)); do
	grep -q '^raceserver listening on 127.0.0.1:' "$T/log/raceserver.out" 2>/dev/null && break
	alive "$RACE_PID" || die "raceserver exited at start"
	sleep 0.05
done
URL="ws://$(sed -n 's/^raceserver listening on //p' "$T/log/raceserver.out")/"
[ "$URL" != "ws:///" ] || die "raceserver did not start"
# A sweep shuffled by the seed, with jitter and minted claims: every random
# choice must come out the same in the shards as in the whole.
ARGS=(--seed 42 --delay-sweep 0,3,6 -n 8 --jitter 9 -c 2 --send x
	--jwt-secret k --jwt-claims '{"sub":"u-{index}","jti":"{jti}"}'
	--show-secrets "$URL")
# The scheduler variables of this shell (none, normally) must not shard it.
env -u SLURM_ARRAY_TASK_ID -u JOB_COMPLETION_INDEX -u WSPROBE_SHARD \
	"$WSPROBE_BIN" -q --json "$T/whole.json" "${ARGS[@]}" || die "unsharded run failed"

T_SUB=$(now)
ids=$(SLURM_CONF=$CONF WSPROBE=$WSPROBE_BIN MERGE_OPTIONS=--show-secrets \
	"$DEPLOY_SLURM/submit.sh" 3 "$J/out" "${ARGS[@]}") || die "submit.sh failed"
A=${ids% *}; B=${ids#* }
log "submitted array job $A and merge job $B"

job_state() { sl timeout 5 scontrol -o show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | sort -u | tr '\n' ' '; }
deadline=$(($(date +%s) + JOB_TIMEOUT))
while :; do
	st=$(job_state "$B")
	case "$st" in
	"COMPLETED ") break ;;
	*FAILED* | *CANCELLED* | *TIMEOUT* | *NODE_FAIL* | *OUT_OF_MEMORY* | *BOOT_FAIL* | *DEADLINE* | *PREEMPTED*)
		cat "$J"/out/*.out >&2 2>/dev/null || true
		die "merge job $B ended in state $st" ;;
	esac
	(($(date +%s) < deadline)) || { sl squeue >&2 || true; die "jobs not finished after $JOB_TIMEOUT s (merge job state '$st')"; }
	{ alive "$CTLD_PID" && alive "$SLURMD_PID"; } || die "a slurm daemon died while jobs ran"
	sleep 0.1
done
T_DONE=$(now)
tasks=$(sl scontrol -o show job "$A")
[ "$(echo "$tasks" | grep -c 'JobState=COMPLETED .*ExitCode=0:0')" = 3 ] ||
	{ echo "$tasks" >&2; die "not all 3 array tasks COMPLETED with exit 0"; }
sl scontrol -o show job "$B" | grep -q 'ExitCode=0:0' || die "merge job exit code not 0"
for f in shard-0-of-3.json shard-1-of-3.json shard-2-of-3.json merged.json merged.html merged.xml; do
	[ -s "$J/out/$f" ] || die "$f was not written"
done

# The merged report is the unsharded campaign: every index once, with the
# same delay (jitter included), outcome and minted claims; each shard says
# it came from Slurm.
"$PY" - "$T/whole.json" "$J/out" <<'PYEOF' || die "the merged report differs from the unsharded run"
import base64, json, sys
def load(p):
    with open(p) as f:
        return json.load(f)
def claims(p):
    t = p["subprotocol"].split(".")[2]
    return json.loads(base64.urlsafe_b64decode(t + "=" * (-len(t) % 4)))
whole, out = load(sys.argv[1]), sys.argv[2]
merged = load(out + "/merged.json")
for i in range(3):
    s = load("%s/shard-%d-of-3.json" % (out, i))["campaign"]["shard"]
    assert s == {"index": i, "count": 3, "source": "slurm"}, s
assert merged["campaign"]["shard"]["count"] == 1, merged["campaign"]["shard"]
assert merged["campaign"]["merged_from"] == 3
w = {p["index"]: p for p in whole["probes"]}
m = {p["index"]: p for p in merged["probes"]}
assert sorted(m) == sorted(w) == list(range(24)), (sorted(m), sorted(w))
for i in w:
    a, b = w[i], m[i]
    assert a["delay_ms"] == b["delay_ms"], (i, a["delay_ms"], b["delay_ms"])
    assert a["outcome"] == b["outcome"] == "ok", (i, a["outcome"], b["outcome"])
    ca, cb = claims(a), claims(b)
    assert (ca["sub"], ca["jti"]) == (cb["sub"], cb["jti"]), (i, ca, cb)
assert merged["summary"]["outcomes"] == whole["summary"]["outcomes"]
print("merged report of 3 Slurm tasks equals the unsharded run (24 probes)")
PYEOF
printf '  %-44s %s\n' "submit -> merge job COMPLETED (polled)" "$(secs "$T_SUB" "$T_DONE")" \
	"total: munged start -> all done" "$(secs "$T0" "$T_DONE")"
FAILED=0
log "PASS: array $A (3 shards) and merge job $B on Slurm; merged == unsharded"
