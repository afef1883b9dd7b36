"""Samples a process's resident memory until it exits (bench/run.sh).

Every 50 ms: VmRSS from /proc/PID/status; every 200 ms also the number of
open descriptors. Prints one JSON line: the peak VmRSS (kB), the peak
VmRSS among samples taken while at least MIN_FDS descriptors were open
(connections held; this leaves out a report built after they closed),
the most descriptors seen, and the kernel's own high-water mark (VmHWM).

Usage: /usr/bin/python3 bench/rss_sampler.py PID [MIN_FDS]
"""
import json
import os
import sys
import time

pid, min_fds = int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 0
peak = peak_held = max_fds = hwm = 0
fds, tick = 0, 0
while True:
    try:
        with open("/proc/%d/status" % pid) as f:
            st = f.read()
        if tick % 4 == 0:
            fds = len(os.listdir("/proc/%d/fd" % pid))
    except (FileNotFoundError, ProcessLookupError):
        break
    fields = dict(l.split(":", 1) for l in st.splitlines() if ":" in l)
    if fields.get("State", "").strip().startswith("Z"):
        break
    rss = int(fields.get("VmRSS", "0 kB").split()[0])
    hwm = max(hwm, int(fields.get("VmHWM", "0 kB").split()[0]))
    peak = max(peak, rss)
    max_fds = max(max_fds, fds)
    if fds >= min_fds:
        peak_held = max(peak_held, rss)
    tick += 1
    time.sleep(0.05)
print(json.dumps({"peak_rss_kb": peak, "peak_rss_held_kb": peak_held,
                  "max_fds": max_fds, "vmhwm_kb": hwm}))
