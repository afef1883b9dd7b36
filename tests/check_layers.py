#!/usr/bin/python3
"""The library's layers, read from its objects' symbols (nm).

Every lib/*.c file has a rank; a file may call only functions defined in
files of a lower rank (or the few same-rank pairs listed below). So no
lower layer calls up into the probe by name, and there is no circle of
calls among the library's files. Files below the probe (ranks under
DECISION) may not name an outcome (WSP_OUTCOME_<name>): they report facts,
only the probe decides.

    check_layers.py LIBWSPROBE.a LIB_SOURCE_DIR

Exit 0 when every rule holds, 1 with one line per violation otherwise.
"""
import os
import re
import subprocess
import sys

# Lower ranks are the layers below. The I/O stack: conn (socket) ->
# tls -> upgrade -> ws (session) -> probe, which decides.
RANKS = {
    "util": 0, "error": 0, "histogram": 0, "shard": 0.05, "start": 0.05,
    # TLS's pieces, each below the next.
    "tls_group": 0.1, "tls_cache": 0.2, "tls_check": 0.3,
    "rand": 0.5, "url": 1, "tls": 1, "jwt": 1, "proxy": 1, "addrs": 1,
    "config": 2, "steps": 2.1,
    # permessage-deflate, below the session that uses it.
    "deflate": 2.5,
    "conn": 3, "upgrade": 3, "ws": 3, "event": 3,
    "ctx": 4,
    # Health polled beside the probes: over the I/O stack, below the
    # probe, so that it can name no outcome.
    "health": 4.5,
    "probe": 5, "result": 5,
    # The deadline several loops' bursts share, below the campaign.
    "gate": 5.5,
    "campaign": 6,
    # A campaign on several loops, one a thread.
    "threads": 6.5,
    # Reports: the model's figures, reports read back into it, the walk
    # over a model's probes, the writers, then the calls over them all.
    "report_common": 7, "groups": 7, "fingerprint": 7.1, "report_model": 7.2,
    "report_read": 7.3, "report_walk": 7.4,
    "report_json": 7.5, "report_html": 7.5, "report_junit": 7.5,
    "report": 7.6, "merge": 7.7,
    # The option table over configs, campaigns and reports; plans (a
    # command line checked and built) over the table.
    "options": 8, "plan": 9,
}
# The rank of the probe and the record of its verdict.
DECISION = 5
# Same-rank calls that are allowed: (caller, callee).
SAME_RANK = {
    ("probe", "result"),
}
# Compiled-in third-party code (llhttp) is below everything.
THIRD_PARTY = re.compile(r"^_usr_share_|^llhttp")
OUTCOME = re.compile(r"\bWSP_OUTCOME_(?!MAP\b|COUNT\b)[A-Z_]+\b")


def members(archive):
    """{member stem: (defined symbols, undefined symbols)}."""
    out = subprocess.run(["nm", archive], check=True, capture_output=True,
                         text=True).stdout
    objs, cur = {}, None
    for line in out.splitlines():
        if line.endswith(":") and not line.startswith(" "):
            cur = line[:-1]
            objs[cur] = (set(), set())
            continue
        parts = line.split()
        if cur is None or len(parts) < 2:
            continue
        kind, name = parts[-2], parts[-1]
        if kind == "U":
            objs[cur][1].add(name)
        elif kind in "TDBRCVW":
            objs[cur][0].add(name)
    return objs


def stem(member):
    return member[:-len(".c.o")] if member.endswith(".c.o") else member


def main(argv):
    archive, srcdir = argv[1], argv[2]
    objs = members(archive)
    owner = {}
    for m, (defined, _) in objs.items():
        for sym in defined:
            owner[sym] = stem(m)
    errors = []
    edges = {}
    for m, (_, undefined) in sorted(objs.items()):
        me = stem(m)
        if THIRD_PARTY.search(m):
            continue
        if me not in RANKS:
            errors.append("%s: no rank in check_layers.py: give it one" % m)
            continue
        for sym in sorted(undefined):
            other = owner.get(sym)
            if other is None or other == me or THIRD_PARTY.search(other):
                continue
            if other not in RANKS:
                continue
            edges.setdefault(me, set()).add(other)
            if RANKS[other] > RANKS[me]:
                errors.append("%s.c calls %s() of %s.c, a layer above it"
                              % (me, sym, other))
            elif RANKS[other] == RANKS[me] and (me, other) not in SAME_RANK:
                errors.append("%s.c calls %s() of %s.c, a layer beside it"
                              % (me, sym, other))
    # No circle of calls among the files, whatever the ranks say.
    state = {}

    def visit(n, path):
        state[n] = 1
        for o in sorted(edges.get(n, ())):
            if state.get(o) == 1:
                errors.append("a circle of calls: %s"
                              % " -> ".join(path + [n, o]))
            elif o not in state:
                visit(o, path + [n])
        state[n] = 2

    for n in sorted(edges):
        if n not in state:
            visit(n, [])
    # Below the probe, facts only: no outcome is named.
    for name, rank in sorted(RANKS.items()):
        if rank >= DECISION:
            continue
        path = os.path.join(srcdir, name + ".c")
        with open(path, encoding="utf-8") as f:
            for i, line in enumerate(f, 1):
                m = OUTCOME.search(line)
                if m:
                    errors.append("%s:%d names %s below the probe"
                                  % (path, i, m.group(0)))
    present = {stem(m) for m in objs if not THIRD_PARTY.search(m)}
    for name in sorted(set(RANKS) - present):
        errors.append("%s.c has a rank but is not in the library" % name)
    for e in errors:
        print(e)
    if not errors:
        print("layers: %d files, %d caller-callee pairs, no upward call, no "
              "circle, no outcome below the probe"
              % (len(present), sum(len(v) for v in edges.values())))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
