// Tutorial 6: measure what autodiff costs. One MLP training step through the
// engine against the same step with gradients written by hand, calling the
// same kernels. (The full benchmarks are in bench/; see bench/README.md.)
#include <chrono>
#include <cstdio>

#include "../bench/xgrad_workloads.hpp"
#include "common.hpp"

namespace {
template <class F>
double ms_per_step(F&& step, int steps) {
  step();  // warm up
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; ++i) step();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / steps;
}
}  // namespace

int main(int argc, char** argv) {
  const int steps = tutorial::quick(argc, argv) ? 5 : 300;
  xg::set_num_threads(1);
  auto engine = bench::mlp_step();  // 784-256-128-10, batch 128, SGD
  bench::HandMlp hand;
  const double a = ms_per_step([&] { engine.step(); }, steps);
  const double b = ms_per_step([&] { hand.step(); }, steps);
  std::printf("MLP step through the engine:     %.3f ms\n", a);
  std::printf("MLP step, gradients by hand:     %.3f ms\n", b);
  std::printf("autodiff overhead (engine/hand): %.2f\n", a / b);
  // The ratio itself is a measurement, not a test; CI only checks it ran.
  tutorial::expect(a > 0 && b > 0, "both steps ran");
  return 0;
}
