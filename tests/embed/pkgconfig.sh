#!/usr/bin/env bash
# Installs the build into a temporary DESTDIR and compiles examples/minimal.c
# against the installed files with `pkg-config --cflags --libs wsprobe`,
# then runs it (with LD_LIBRARY_PATH on the installed library) against
# raceserver.
#
#   pkgconfig.sh MESON BUILD-DIR SOURCE-DIR RACESERVER CC [CFLAG...]
#
# CFLAGs are added to the compile, e.g. the build's -fsanitize=... so that
# a sanitized library links.
set -euo pipefail

[ $# -ge 5 ] || { echo "usage: $0 MESON BUILD-DIR SOURCE-DIR RACESERVER CC [CFLAG...]" >&2; exit 2; }
meson=$1 build=$2 src=$3 raceserver=$4 cc=$5
shift 5

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root

# Already built by `meson test`; a nested rebuild could fight over the tree.
"$meson" install -C "$build" --destdir "$root" --no-rebuild --quiet

pc=$(find "$root" -name wsprobe.pc -path '*/pkgconfig/*' | head -n 1)
[ -n "$pc" ] || { echo "$0: no wsprobe.pc under $root" >&2; exit 1; }
pcdir=$(dirname "$pc")
echo "installed: ${pc#"$root"}"

# The .pc file names the real prefix (e.g. /usr/local); the files sit under
# the DESTDIR, so point the prefix there.
prefix=$(PKG_CONFIG_PATH=$pcdir pkg-config --variable=prefix wsprobe)
pkgconf() {
  PKG_CONFIG_PATH=$pcdir pkg-config --define-variable=prefix="$root$prefix" "$@"
}
pkgconf --exists --print-errors wsprobe
flags=$(pkgconf --cflags --libs wsprobe)
libdir=$(pkgconf --variable=libdir wsprobe)
includedir=$(pkgconf --variable=includedir wsprobe)
echo "pkg-config --cflags --libs wsprobe: $flags"
[ -f "$includedir/wsprobe.h" ] || { echo "$0: $includedir/wsprobe.h missing" >&2; exit 1; }
[ -e "$libdir/libwsprobe.so.0" ] || { echo "$0: $libdir/libwsprobe.so.0 missing" >&2; exit 1; }
# The version the .pc file declares is the header's.
version=$(pkgconf --modversion wsprobe)
grep -q "#define WSP_VERSION_STRING \"$version\"" "$includedir/wsprobe_version.h" ||
  { echo "$0: wsprobe.pc says $version, wsprobe_version.h does not" >&2; exit 1; }

# shellcheck disable=SC2086 # $flags is a list of flags.
"$cc" "$@" -Wall -Wextra -Werror -o "$tmp/minimal" "$src/examples/minimal.c" $flags

# It must run against the installed library, not the build tree's.
LD_LIBRARY_PATH=$libdir ldd "$tmp/minimal" | grep -F "libwsprobe.so.0 => $libdir/" ||
  { echo "$0: minimal does not load $libdir/libwsprobe.so.0" >&2;
    LD_LIBRARY_PATH=$libdir ldd "$tmp/minimal" >&2; exit 1; }

out=$(LD_LIBRARY_PATH=$libdir "$src/tests/embed/with_raceserver.sh" \
  "$raceserver" 0 -- "$tmp/minimal" '{url}' '{"type":"run"}')
echo "$out"
grep -q '^ok in closing$' <<<"$out" || { echo "$0: minimal did not pass" >&2; exit 1; }
echo "pkgconfig: ok"
