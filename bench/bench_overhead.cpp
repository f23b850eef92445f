// Per-op overhead (forward, forward + backward) on 1 to 10^6 elements, the
// deep chain (build + backward + free), and matmul against raw sgemm.
#include <benchmark/benchmark.h>

#include <cmath>

#include "xgrad_workloads.hpp"

namespace {

void forward(benchmark::State& state, bench::TinyOp op) {
  bench::XgTiny w(op, state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(w.forward());
  state.SetItemsProcessed(state.iterations());
}

void forward_backward(benchmark::State& state, bench::TinyOp op) {
  bench::XgTiny w(op, state.range(0));
  for (auto _ : state) w.forward_backward();
  state.SetItemsProcessed(state.iterations());
}

void deep_chain(benchmark::State& state) {
  for (auto _ : state) bench::xg_chain(state.range(0));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void matmul_forward_backward(benchmark::State& state) {
  bench::XgMatmul w(state.range(0));
  for (auto _ : state) w.step();
  state.counters["GFLOP/s"] = benchmark::Counter(6.0 * std::pow(double(state.range(0)), 3) * double(state.iterations()) / 1e9,
                                                 benchmark::Counter::kIsRate);
}

void three_raw_sgemm(benchmark::State& state) {
  bench::RawSgemm w(state.range(0));
  for (auto _ : state) w.step();
  state.counters["GFLOP/s"] = benchmark::Counter(6.0 * std::pow(double(state.range(0)), 3) * double(state.iterations()) / 1e9,
                                                 benchmark::Counter::kIsRate);
}

}  // namespace

#define XG_OP_BENCH(label, op)                                                                        \
  BENCHMARK_CAPTURE(forward, label, op)->Arg(1)->Arg(16)->Arg(1024)->Arg(1 << 20);                    \
  BENCHMARK_CAPTURE(forward_backward, label, op)->Arg(1)->Arg(16)->Arg(1024)->Arg(1 << 20);
XG_OP_BENCH(add, bench::TinyOp::Add)
XG_OP_BENCH(mul, bench::TinyOp::Mul)
XG_OP_BENCH(tanh, bench::TinyOp::Tanh)
XG_OP_BENCH(matmul, bench::TinyOp::Matmul)
BENCHMARK(deep_chain)->Arg(1000)->Arg(10000)->Arg(100000)->Arg(1000000)->Unit(benchmark::kMillisecond);
BENCHMARK(matmul_forward_backward)->Arg(256)->Arg(512)->Arg(1024)->Unit(benchmark::kMillisecond);
BENCHMARK(three_raw_sgemm)->Arg(256)->Arg(512)->Arg(1024)->Unit(benchmark::kMillisecond);

int main(int argc, char** argv) {
  xg::set_num_threads(1);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
