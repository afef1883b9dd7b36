#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: once in a normal
# build (build/), the loop tests again under valgrind memcheck, and all of
# them under AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh

[ -d build ] || meson setup build
ninja -C build
meson test -C build --print-errorlogs

# The library's loop tests under valgrind memcheck: no error, no leak.
meson test -C build --suite loop --print-errorlogs --timeout-multiplier 4 \
  --wrapper 'valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite,indirect,possible'

[ -d build-asan ] ||
  meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false \
    -Dbuildtype=debug
ninja -C build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C build-asan --print-errorlogs
