#!/usr/bin/env bash
# The whole test suite again, built with AddressSanitizer (LeakSanitizer
# included) and UndefinedBehaviorSanitizer, in ./build-asan. Any report fails.
# This build leaves oneDNN out, so CI also runs the suite on the build
# without it (conv2d on xgrad's own kernels throughout).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dataset-fashion-mnist libopenmpi-dev openmpi-bin >/dev/null
flags="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
if [ ! -f build-asan/CMakeCache.txt ]; then
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXGRAD_BUILD_BENCH=OFF -DXGRAD_ONEDNN=OFF \
    -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" >/dev/null
fi
cmake -S . -B build-asan -DXGRAD_ONEDNN=OFF >/dev/null  # a build directory made before the option existed
cmake --build build-asan -j "${XGRAD_JOBS:-2}"
cd build-asan
# Run in the plain build only: the install test (an outside project without sanitizers)
# and the MPI tests (Open MPI itself reports leaks under LeakSanitizer).
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --output-on-failure -j "${XGRAD_JOBS:-2}" -E "install_and_consume|distributed"
