// Per-op overhead: forward only, and forward + backward, on tensors of 1 to
// 10^6 elements, plus the deep chain (build + backward + free).
#include <benchmark/benchmark.h>

#include <xgrad/xgrad.hpp>

namespace {

enum class Op { Add, Mul, Tanh, Matmul };

xg::Tensor apply(Op op, const xg::Tensor& a, const xg::Tensor& b) {
  switch (op) {
    case Op::Add: return a + b;
    case Op::Mul: return a * b;
    case Op::Tanh: return xg::tanh(a);
    case Op::Matmul: return xg::matmul(a, b);
  }
  return a;
}

xg::Shape shape_for(Op op, std::int64_t n) {
  if (op != Op::Matmul) return {n};
  std::int64_t side = 1;
  while ((side + 1) * (side + 1) <= n) ++side;
  return {side, side};
}

void forward(benchmark::State& state, Op op) {
  const auto n = state.range(0);
  xg::Tensor a = xg::randn(shape_for(op, n)), b = xg::randn(shape_for(op, n));
  for (auto _ : state) benchmark::DoNotOptimize(apply(op, a, b));
  state.SetItemsProcessed(state.iterations());
}

void forward_backward(benchmark::State& state, Op op) {
  const auto n = state.range(0);
  const auto opts = xg::TensorOptions(xg::float32).requires_grad(true);
  xg::Tensor a = xg::randn(shape_for(op, n), opts), b = xg::randn(shape_for(op, n), opts);
  xg::Tensor seed = xg::ones(apply(op, a, b).shape());
  for (auto _ : state) {
    xg::Tensor y = apply(op, a, b);
    y.backward(seed);
  }
  state.SetItemsProcessed(state.iterations());
}

void deep_chain(benchmark::State& state) {
  const auto depth = state.range(0);
  xg::Tensor x = xg::ones({1}, xg::TensorOptions(xg::float32).requires_grad(true));
  for (auto _ : state) {
    xg::Tensor y = x;
    for (std::int64_t i = 0; i < depth; ++i) y = y * 1.0f;
    y.backward();
    y = xg::Tensor();  // free the graph inside the timed region
    x.zero_grad();
  }
  state.SetItemsProcessed(state.iterations() * depth);
}

}  // namespace

#define XG_OP_BENCH(name, op)                                                               \
  BENCHMARK_CAPTURE(forward, name, op)->Arg(1)->Arg(16)->Arg(1024)->Arg(1 << 20);           \
  BENCHMARK_CAPTURE(forward_backward, name, op)->Arg(1)->Arg(16)->Arg(1024)->Arg(1 << 20);
XG_OP_BENCH(add, Op::Add)
XG_OP_BENCH(mul, Op::Mul)
XG_OP_BENCH(tanh, Op::Tanh)
XG_OP_BENCH(matmul, Op::Matmul)
BENCHMARK(deep_chain)->Arg(1000)->Arg(10000)->Arg(100000)->Arg(1000000)->Unit(benchmark::kMillisecond);

int main(int argc, char** argv) {
  xg::set_num_threads(1);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
