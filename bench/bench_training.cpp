// Training steps: the MLP and the small CNN at 1 and 2 threads, and the
// autodiff overhead (the MLP step through the engine vs by hand).
#include <benchmark/benchmark.h>

#include "xgrad_workloads.hpp"

namespace {

void mlp_step(benchmark::State& state) {
  xg::set_num_threads(static_cast<int>(state.range(0)));
  auto w = bench::mlp_step();
  for (auto _ : state) w.step();
}

void mlp_step_by_hand(benchmark::State& state) {
  xg::set_num_threads(static_cast<int>(state.range(0)));
  bench::HandMlp w;
  for (auto _ : state) w.step();
}

void cnn_step(benchmark::State& state) {
  xg::set_num_threads(static_cast<int>(state.range(0)));
  auto w = bench::cnn_step();
  for (auto _ : state) w.step();
}

}  // namespace

BENCHMARK(mlp_step)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);
BENCHMARK(mlp_step_by_hand)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);
BENCHMARK(cnn_step)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
