#!/usr/bin/env bash
# Fuzzes under ASan+UBSan: random op programs (tests/fuzz/fuzz_ops.cpp) for
# FUZZ_SECONDS (default 60), then each file reader (safetensors, IDX, CSV, npy;
# tests/fuzz/fuzz_readers.cpp) for a third of that, each from its seed corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh clang libclang-rt-14-dev >/dev/null
if [ ! -f build-fuzz/CMakeCache.txt ]; then
  CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXGRAD_FUZZ=ON \
    -DXGRAD_BUILD_TESTS=OFF -DXGRAD_BUILD_BENCH=OFF -DXGRAD_BUILD_TUTORIALS=OFF >/dev/null
fi
cmake --build build-fuzz -j "${XGRAD_JOBS:-2}" --target fuzz_ops fuzz_safetensors fuzz_idx fuzz_csv fuzz_npy
seconds=${FUZZ_SECONDS:-60}

# fuzz <target> <seed corpus dir> <seconds>: new inputs go to a scratch copy;
# a crash leaves crash-* here for a regression test.
fuzz() {
  local work
  work=$(mktemp -d)
  cp "$2"/* "$work/"
  echo "== $1 (${3}s)"
  "./build-fuzz/$1" -max_total_time="$3" -print_final_stats=1 -seed=1 -timeout=10 "$work" 2>&1 | tail -6
  rm -rf "$work"
}
fuzz fuzz_ops tests/fuzz/corpus "$seconds"
for reader in safetensors idx csv npy; do
  fuzz "fuzz_$reader" "tests/fuzz/readers/$reader" $((seconds / 3 > 5 ? seconds / 3 : 5))
done
