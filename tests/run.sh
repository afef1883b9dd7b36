#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: once in a normal
# build (build/), the ones that run real probes again under valgrind
# memcheck, a minute of fuzzing per fuzz target, and every test under
# AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/), and the
# threaded ones under ThreadSanitizer (build-tsan/).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh

[ -d build ] || meson setup build
ninja -C build
meson test -C build --print-errorlogs

# Real probes under valgrind memcheck: no error, no leak.
meson test -C build --print-errorlogs --timeout-multiplier 4 \
  --wrapper 'valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite,indirect,possible' \
  test_embed test_campaign test_interrupt test_threads test_reports \
  test_hostile soak \
  test_tls_loop fuzz_url fuzz_upgrade fuzz_frames fuzz_json fuzz_report \
  fuzz_proxy

# Coverage-guided fuzzing of the URL parser, the upgrade parser, the frame
# stream and the JSON inputs, a minute each (clang, libFuzzer, ASan, UBSan).
tests/fuzz/run.sh 60

[ -d build-asan ] ||
  meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false \
    -Dbuildtype=debug
ninja -C build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C build-asan --print-errorlogs

# The tests that run campaigns on several threads, under ThreadSanitizer
# (about 10 s from scratch). tests/tsan.supp says why each line is there.
[ -d build-tsan ] ||
  meson setup build-tsan -Db_sanitize=thread -Db_lundef=false \
    -Dbuildtype=debug
ninja -C build-tsan tests/test_threads tests/test_interrupt \
  tests/servers/raceserver
TSAN_OPTIONS="halt_on_error=1:suppressions=$PWD/tests/tsan.supp" \
  meson test -C build-tsan --no-rebuild --print-errorlogs test_threads \
  test_interrupt
