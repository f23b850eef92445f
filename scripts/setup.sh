#!/usr/bin/env bash
# Installs what is missing (Debian 12 packages), configures and builds xgrad
# in ./build. Safe to run again: it only installs what is missing and the
# build is incremental. Used by scripts/test.sh and scripts/demo.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(g++ cmake ninja-build pkg-config xtensor-dev libxsimd-dev libopenblas-dev doctest-dev
          libbenchmark-dev zlib1g-dev nlohmann-json3-dev libcli11-dev libdnnl-dev libpng-dev)
packages+=("$@")  # callers add what only they need

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -f build/CMakeCache.txt ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build build -j "${XGRAD_JOBS:-2}"
