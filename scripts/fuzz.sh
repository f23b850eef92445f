#!/usr/bin/env bash
# Fuzzes random op programs (tests/fuzz/fuzz_ops.cpp) under ASan+UBSan for
# FUZZ_SECONDS (default 60), starting from the seed corpus in tests/fuzz/corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh clang libclang-rt-14-dev >/dev/null
if [ ! -f build-fuzz/CMakeCache.txt ]; then
  CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXGRAD_FUZZ=ON \
    -DXGRAD_BUILD_TESTS=OFF -DXGRAD_BUILD_BENCH=OFF -DXGRAD_BUILD_TUTORIALS=OFF >/dev/null
fi
cmake --build build-fuzz -j "${XGRAD_JOBS:-2}" --target fuzz_ops
work=$(mktemp -d)
cp tests/fuzz/corpus/* "$work/"
# New inputs go to the scratch copy; a crash leaves crash-* here for a regression test.
./build-fuzz/fuzz_ops -max_total_time="${FUZZ_SECONDS:-60}" -print_final_stats=1 -seed=1 "$work" 2>&1 | tail -15
rm -rf "$work"
