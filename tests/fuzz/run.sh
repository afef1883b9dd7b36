#!/usr/bin/env bash
# Builds the fuzz targets with clang, libFuzzer, ASan and UBSan, then fuzzes
# each for SECONDS (default 60), starting from corpus/<target>/ and the
# regression inputs. New inputs go to a scratch corpus, never into the
# source tree; crashes, leaks and timeouts are written to $FUZZ_OUT/<target>/
# and end the script with status 1: minimise one (the target binary with
# -minimize_crash=1), add it to regress/<target>/ and fix the bug.
#
# Usage: tests/fuzz/run.sh [SECONDS] [TARGET...]
# Environment: FUZZ_OUT (default build-fuzz/ in the tree), CC (default clang),
#              FUZZ_JOBS (parallel jobs per target, default 1).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_url fuzz_upgrade fuzz_frames fuzz_json fuzz_report fuzz_proxy)
out=${FUZZ_OUT:-$root/build-fuzz}
cc=${CC:-clang}
jobs=${FUZZ_JOBS:-1}
llhttp_dir=${LLHTTP_DIR:-/usr/share/llhttp}
llhttp_inc=${LLHTTP_INCLUDE_DIR:-/usr/share/include/llhttp}

if ! "$cc" --version 2>/dev/null | grep -q clang; then
  echo "run.sh: needs clang with libFuzzer (Debian: clang, libclang-rt-14-dev)" >&2
  exit 2
fi

# wsprobe_version.h as meson makes it, from the version in meson.build.
version=$(sed -n "s/^ *version: '\([0-9.]*\)',\$/\1/p" "$root/meson.build" | head -n 1)
IFS=. read -r vmajor vminor vpatch <<<"$version"
mkdir -p "$out/include"
sed -e "s/@MAJOR@/$vmajor/" -e "s/@MINOR@/$vminor/" -e "s/@PATCH@/$vpatch/" \
    -e "s/@VERSION@/$version/" "$root/include/wsprobe_version.h.in" \
    >"$out/include/wsprobe_version.h"

san=(-fsanitize=address,undefined -fno-sanitize-recover=all
     -fno-omit-frame-pointer)
cflags=(-g -O1 -std=gnu11 -Wall -Wextra -DWSP_BUILDING
        -I"$root/lib" -I"$root/include" -I"$out/include" -I"$root/tests"
        -I"$llhttp_inc")
libs=(-luv -lwslay -lz -lmbedtls -lmbedx509 -lmbedcrypto -lcjson -lm)

# The library's sources, as lib/meson.build lists them.
mapfile -t srcs < <(sed -n "/wsp_sources = files(/,/)/p" "$root/lib/meson.build" |
                    grep -o "'[a-z_]*\.c'" | tr -d "'")

obj="$out/obj"
mkdir -p "$obj"
echo "building in $out" >&2
for s in "${srcs[@]}"; do
  "$cc" "${cflags[@]}" "${san[@]}" -fsanitize=fuzzer-no-link \
        -c "$root/lib/$s" -o "$obj/${s%.c}.o"
done
for s in llhttp api http; do
  "$cc" -g -O1 -w "${san[@]}" -fsanitize=fuzzer-no-link -I"$llhttp_inc" \
        -c "$llhttp_dir/$s.c" -o "$obj/llhttp_$s.o"
done
for t in "${targets[@]}"; do
  "$cc" "${cflags[@]}" "${san[@]}" -fsanitize=fuzzer "$here/$t.c" \
        "$obj"/*.o "${libs[@]}" -o "$out/$t"
done

status=0
par=()
[ "$jobs" -gt 1 ] && par=(-jobs="$jobs" -workers="$jobs")
for t in "${targets[@]}"; do
  bin="$out/$t"
  corpus="$out/$t.corpus"
  arts="$out/$t.artifacts"
  mkdir -p "$corpus" "$arts"
  dirs=("$corpus" "$here/corpus/$t")
  [ -d "$here/regress/$t" ] && dirs+=("$here/regress/$t")
  echo "== $t: $seconds s" >&2
  # -timeout: no input may take longer (fuzz_frames' probes end in
  # milliseconds; their own timeouts are 2 s). -rss_limit_mb: growing
  # memory is a failure too. Logs of parallel jobs land in the cwd.
  if ! (cd "$out" && "$bin" -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
        -artifact_prefix="$arts/" "${par[@]}" "${dirs[@]}") \
        > "$out/$t.log" 2>&1; then
    echo "$t: FAILED (see $out/$t.log and $arts/)" >&2
    status=1
  fi
  grep -E "^#[0-9]+.*(DONE|pulse)|^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb|new_units_added)" \
       "$out/$t.log" | tail -6 >&2 || true
done
exit $status
