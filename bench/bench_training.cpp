// Training steps: the MLP and the small CNN at 1 and 2 threads, the autodiff
// overhead (the MLP step through the engine vs by hand), and Adam's update over
// state decayed into denormals.
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

/// Adam's update when its moments sit in the denormal range: parameters of
/// dead units (gradient 0) whose exp_avg has decayed for `state.range(1)`
/// steps (0.9^700 ≈ 1e-32: float32 denormals by ~850 steps). Sizes: 2^16..2^20.
/// Note [Denormals in optimizer state] is why this stays flat.
void adam_step_decayed_state(benchmark::State& state) {
  xg::set_num_threads(1);
  xg::manual_seed(0);
  xg::Tensor p = xg::randn({state.range(0)}, xg::TensorOptions().requires_grad(true));
  xg::optim::Adam opt({p}, {1e-3});
  (p * 1.0).sum().backward();
  opt.step();
  p.grad().zero_();  // from now on the gradient is exactly 0: the moments only decay
  for (std::int64_t i = 0; i < state.range(1); ++i) opt.step();
  for (auto _ : state) opt.step();
}

}  // namespace

BENCHMARK(mlp_step)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);
BENCHMARK(mlp_step_by_hand)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);
BENCHMARK(cnn_step)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

BENCHMARK(adam_step_decayed_state)
    ->ArgNames({"params", "decayed_steps"})
    ->Args({1 << 16, 0})->Args({1 << 16, 780})->Args({1 << 20, 0})->Args({1 << 20, 780})
    ->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
