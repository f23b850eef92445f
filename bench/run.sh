#!/usr/bin/env bash
# Runs every benchmark and the side-by-side race against libtorch, and writes
# bench/results/latest.md (the table for bench/README.md) and latest.json.
#   bash bench/run.sh            # full run, ~5 minutes on 2 cores
#   bash bench/run.sh --quick    # every benchmark once, a few seconds each (what CI does)
set -euo pipefail
cd "$(dirname "$0")/.."
quick=""
[ "${1:-}" = "--quick" ] && quick="--quick"
if [ -z "$quick" ]; then
  bash scripts/setup.sh libtorch-dev time   # the race needs Debian's libtorch; /usr/bin/time measures RSS
else
  bash scripts/setup.sh time
fi
# On 2 cores a spinning OpenMP pool steals the core the other side needs.
export OMP_WAIT_POLICY=PASSIVE
out=bench/results
mkdir -p "$out"
min_time=$([ -n "$quick" ] && echo 0.001 || echo 0.3)

./build/bench/bench_overhead --benchmark_min_time="$min_time" --benchmark_out="$out/overhead.json" --benchmark_out_format=json
./build/bench/bench_training --benchmark_min_time="$min_time" --benchmark_out="$out/training.json" --benchmark_out_format=json
./build/bench/bench_functional --benchmark_min_time="$min_time" --benchmark_out="$out/functional.json" --benchmark_out_format=json

if [ ! -x build/bench/bench_vs_libtorch ]; then
  echo "bench_vs_libtorch was not built (libtorch-dev missing); skipping the race"
  exit 0
fi
./build/bench/bench_vs_libtorch $quick --json "$out/vs_libtorch.json" --markdown "$out/vs_libtorch.md"

# Memory over 1000 MLP steps, each side in its own process.
mem_x=$(./build/bench/bench_vs_libtorch --memory xgrad)
mem_t=$(./build/bench/bench_vs_libtorch --memory torch)

# Whole-process start-up: one op + backward, median of 5 runs (wall clock in
# seconds, nanosecond clock), and the peak RSS /usr/bin/time reports.
startup() {
  local times=() rss=0 t0 t1
  for i in 1 2 3 4 5; do
    t0=$(date +%s%N)
    rss=$(/usr/bin/time -f "%M" "$1" 2>&1 >/dev/null | tail -1)
    t1=$(date +%s%N)
    times+=("$(awk "BEGIN { printf \"%.4f\", ($t1 - $t0) / 1e9 }")")
  done
  printf '%s %s\n' "$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)" "$rss"
}
read -r sx rx < <(startup build/bench/startup_xgrad)
read -r st rt < <(startup build/bench/startup_torch)

# Compile time of a user file that includes the umbrella header.
inc="-Iautograd/include -Inn/include -Ioptim/include -Idata/include"
t0=$(date +%s.%N)
g++ -std=c++17 -O2 $inc -c bench/compile_probe.cpp -o /tmp/xgrad_compile_probe.o
t1=$(date +%s.%N)
compile=$(awk "BEGIN { printf \"%.2f\", $t1 - $t0 }")

{
  echo "Measured $(date -u +%Y-%m-%d) on $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, commit $(git rev-parse --short HEAD)."
  echo "OMP_WAIT_POLICY=PASSIVE; each row sets xgrad's, libtorch's and OpenBLAS's thread counts together."
  echo
  cat "$out/vs_libtorch.md"
  echo
  echo "| whole process | xgrad | libtorch | ratio | target |"
  echo "|---|---|---|---|---|"
  echo "| start-up + one op + backward (s) | $sx | $st | $(awk "BEGIN { printf \"%.3f\", $sx / $st }") | <= 0.05 |"
  echo "| peak RSS of that process (KiB) | $rx | $rt | $(awk "BEGIN { printf \"%.3f\", $rx / $rt }") | <= 0.05 |"
  echo
  echo "Memory over 1000 MLP steps (RSS after 10 and after 1000 steps, KiB): xgrad $mem_x; libtorch $mem_t"
  echo
  echo "Compiling a user file that includes <xgrad/xgrad.hpp> (g++ -O2): ${compile} s (target <= 2 s)."
} > "$out/latest.md"
echo
cat "$out/latest.md"
