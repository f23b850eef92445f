#!/usr/bin/env bash
# The whole test suite: set-up and build, then every doctest case through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
# Fashion-MNIST for tutorials 2 and 3; Open MPI for the two-process data-parallel tests.
bash scripts/setup.sh dataset-fashion-mnist libopenmpi-dev openmpi-bin
cd build
ctest --output-on-failure -j "${XGRAD_JOBS:-2}"
