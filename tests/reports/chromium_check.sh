#!/usr/bin/env bash
# Opens every HTML report test_reports writes in headless Chromium (Debian's
# `chromium`): fails on console errors or a missing screenshot, and keeps a
# full-page-width screenshot of each report in SCREENSHOT_DIR to look at.
# A missing chromium is a failure, not a skip: scripts/deps.sh installs it.
#
# usage: chromium_check.sh TEST_REPORTS RACESERVER PYTHON CHECKER SCREENSHOT_DIR
set -euo pipefail

if [ $# -ne 5 ]; then
  echo "usage: $0 TEST_REPORTS RACESERVER PYTHON CHECKER SCREENSHOT_DIR" >&2
  exit 2
fi
test_reports=$1 raceserver=$2 python=$3 checker=$4 shots=$5

chromium=$(command -v chromium || true)
if [ -z "$chromium" ]; then
  echo "FAIL: chromium is not installed (apt-get install chromium;" \
       "scripts/deps.sh installs it)" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$shots"

# The reports: the same campaigns test_reports checks.
"$test_reports" "$raceserver" "$python" "$checker" "$work/out" \
  >"$work/test_reports.log" 2>&1 || {
  cat "$work/test_reports.log" >&2
  echo "FAIL: test_reports failed" >&2
  exit 1
}

status=0
count=0
for page in "$work"/out/*.html; do
  name=$(basename "$page" .html)
  png="$shots/$name.png"
  log="$work/$name.log"
  rm -f "$png"
  # No network, no first-run work; a profile of its own; console messages
  # to stderr. timeout: a hung browser fails the test instead of hanging it.
  timeout 90 "$chromium" --headless --no-sandbox --disable-gpu \
    --disable-quic --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --disable-extensions \
    --disable-default-apps --mute-audio --hide-scrollbars \
    --user-data-dir="$work/profile-$name" \
    --enable-logging=stderr --v=0 \
    --window-size=1400,2400 --screenshot="$png" \
    "file://$page" >"$log" 2>&1 || {
    echo "FAIL: $name: chromium exited with $?" >&2
    tail -20 "$log" >&2
    status=1
    continue
  }
  # The pages have no script: any console message (Chromium logs even
  # console.error as INFO:CONSOLE), uncaught error or blocked load fails.
  if grep -E "Uncaught|:CONSOLE|Refused to|net::ERR_" \
    "$log" >&2; then
    echo "FAIL: $name: console errors or blocked loads (above)" >&2
    status=1
  fi
  if [ ! -s "$png" ] ||
    [ "$(head -c 8 "$png" | od -An -tx1 | tr -d ' \n')" != \
      "89504e470d0a1a0a" ]; then
    echo "FAIL: $name: no screenshot" >&2
    status=1
    continue
  fi
  count=$((count + 1))
  echo "ok: $name ($(wc -c <"$page") bytes) -> $png"
done

if [ "$count" -eq 0 ] && [ "$status" -eq 0 ]; then
  echo "FAIL: no HTML report to open" >&2
  status=1
fi
exit $status
