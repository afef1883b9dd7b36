#!/usr/bin/env bash
# Fails when a C source or header differs from what the committed
# .clang-format makes of it, naming the files (clang-format --dry-run shows
# the first differences).
set -euo pipefail
root=${1:?usage: check_format.sh SOURCE_ROOT}
cd "$root"
mapfile -t files < <(find lib include examples cli tests bench \
  \( -name '*.c' -o -name '*.h' \) -not -path '*/corpus/*' \
  -not -path '*/regress/*' 2>/dev/null | sort)
[ ${#files[@]} -gt 0 ] || { echo "check_format: no sources found" >&2; exit 1; }
bad=()
for f in "${files[@]}"; do
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ ${#bad[@]} -gt 0 ]; then
  echo "not formatted (run: clang-format -i ${bad[*]}):" >&2
  clang-format --dry-run "${bad[0]}" 2>&1 | head -20 >&2
  exit 1
fi
echo "check_format: ${#files[@]} files formatted"
