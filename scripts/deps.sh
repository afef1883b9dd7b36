#!/usr/bin/env bash
# Installs, from Debian's archive, every package the build, the demo and the
# tests need. Does nothing when all are present.
set -euo pipefail

packages=(
  gcc libc6-dev meson ninja-build pkg-config cmake
  libuv1-dev libwslay-dev libmbedtls-dev libcjson-dev node-llhttp
  zlib1g-dev python3-fastapi python3-uvicorn
  python3 python3-websockets python3-aiohttp nodejs node-ws
  openssl ca-certificates nginx-light libcmocka-dev python3-pytest
  python3-venv python3-pip
  chromium fonts-dejavu-core libxml2-utils valgrind
  clang libclang-rt-14-dev clang-format
  tinyproxy slurm-wlm munge parallel python3-yaml
  python3-fastapi python3-uvicorn
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
# No package may start a service while installing (nginx would listen on
# port 80): Debian's policy-rc.d convention, for the install only.
policy=/usr/sbin/policy-rc.d
own_policy=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod +x "$policy"
  own_policy=1
fi
trap '[ -n "$own_policy" ] && $sudo rm -f "$policy"' EXIT
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
