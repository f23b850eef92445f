#!/usr/bin/env bash
# The whole test suite: set-up and build, then every doctest case through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dataset-fashion-mnist  # tutorials 2 and 3 train on it
cd build
ctest --output-on-failure -j "${XGRAD_JOBS:-2}"
