// What forward mode costs: J·v of the MLP (784-256-128-10) by forward mode
// and by the double-vjp trick, against its plain forward and one backward, at
// several batch sizes; and a Hessian of a scalar function of n inputs by
// forward over reverse against reverse over reverse (functional::hessian's
// two modes); per-sample gradients of the MLP
// (functional::per_sample_grads, one batched pass) against one forward and
// backward of the batch and against a loop over the examples (the only way
// libtorch's C++ API offers), and torch.func's recipe, vmap of the gradient
// of one example's loss; and vmap of the one-example forward against the
// batched forward.
#include <benchmark/benchmark.h>

#include <cmath>

#include "xgrad/forward_ad.hpp"
#include "xgrad/functional.hpp"
#include "xgrad/nn.hpp"

namespace {

struct Mlp {
  std::shared_ptr<xg::nn::Sequential> net = std::make_shared<xg::nn::Sequential>(
      std::make_shared<xg::nn::Linear>(784, 256), std::make_shared<xg::nn::ReLU>(),
      std::make_shared<xg::nn::Linear>(256, 128), std::make_shared<xg::nn::ReLU>(),
      std::make_shared<xg::nn::Linear>(128, 10));
  xg::Tensor x, v;
  explicit Mlp(std::int64_t batch) {
    xg::manual_seed(0);
    x = xg::randn({batch, 784});
    v = xg::randn({batch, 784});
  }
  xg::functional::Fn fn() const {
    return [net = net](const xg::TensorList& in) { return xg::TensorList{net->forward(in[0])}; };
  }
};

void mlp_forward(benchmark::State& state) {
  Mlp m(state.range(0));
  xg::NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(m.net->forward(m.x));
}

void mlp_forward_backward(benchmark::State& state) {
  Mlp m(state.range(0));
  for (auto _ : state) {
    m.net->forward(m.x).sum().backward();
    m.net->zero_grad();
  }
}

void mlp_jvp_forward_mode(benchmark::State& state) {
  Mlp m(state.range(0));
  xg::NoGradGuard no_grad;  // the parameters are constants here, as in the plain forward
  const auto f = m.fn();
  for (auto _ : state) benchmark::DoNotOptimize(xg::functional::jvp(f, {m.x}, {m.v}));
}

void mlp_jvp_double_vjp(benchmark::State& state) {
  Mlp m(state.range(0));
  const auto f = m.fn();
  for (auto _ : state) benchmark::DoNotOptimize(xg::functional::jvp(f, {m.x}, {m.v}, /*create_graph=*/true));
}

xg::Tensor per_example_loss(const xg::Tensor& logits, const xg::Tensor& labels) {
  xg::CrossEntropyOptions each;
  each.reduction = xg::Reduction::None;
  return xg::cross_entropy(logits, labels, each);
}

xg::Tensor labels_for(std::int64_t batch) { return xg::randint(0, 10, {batch}); }

void mlp_per_sample_grads(benchmark::State& state) {
  Mlp m(state.range(0));
  const xg::Tensor y = labels_for(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(xg::functional::per_sample_grads(*m.net, per_example_loss, m.x, y));
}

void mlp_per_sample_grads_loop(benchmark::State& state) {
  Mlp m(state.range(0));
  const xg::Tensor y = labels_for(state.range(0));
  const xg::TensorList params = m.net->parameters();
  for (auto _ : state) {
    std::vector<xg::TensorList> grads;
    for (std::int64_t b = 0; b < state.range(0); ++b) {
      const xg::Tensor loss = xg::sum(per_example_loss(m.net->forward(m.x.narrow(0, b, 1)), y.narrow(0, b, 1)));
      grads.push_back(xg::grad({loss}, params));
    }
    benchmark::DoNotOptimize(grads);
  }
}

/// The MLP written for one example, its parameters (weight, bias per layer) passed in.
xg::Tensor mlp_one_example(const xg::TensorList& w, const xg::Tensor& x) {
  const xg::Tensor h1 = xg::relu(xg::matmul(w[0], x) + w[1]);
  const xg::Tensor h2 = xg::relu(xg::matmul(w[2], h1) + w[3]);
  return xg::matmul(w[4], h2) + w[5];
}

/// vmap of the one-example forward against the batched forward (what vmap's rules cost).
void mlp_forward_vmap(benchmark::State& state) {
  Mlp m(state.range(0));
  xg::NoGradGuard no_grad;
  xg::TensorList in = m.net->parameters();
  in.push_back(m.x);
  xg::functional::InDims dims(6, std::nullopt);
  dims.push_back(0);
  const auto f = xg::functional::vmap(
      [](const xg::TensorList& a) { return xg::TensorList{mlp_one_example(a, a[6])}; }, dims);
  for (auto _ : state) benchmark::DoNotOptimize(f(in));
  if (!xg::functional::last_vmap().batched) state.SkipWithError("vmap looped");
}

/// torch.func's recipe: vmap over examples of the gradient of one example's loss.
void mlp_per_sample_grads_vmap(benchmark::State& state) {
  Mlp m(state.range(0));
  const xg::Tensor y = labels_for(state.range(0));
  xg::TensorList in = m.net->parameters();
  in.push_back(m.x);
  in.push_back(y);
  xg::functional::InDims dims(6, std::nullopt);
  dims.push_back(0);
  dims.push_back(0);
  const auto per_example = xg::functional::vmap(
      [](const xg::TensorList& a) {
        const xg::TensorList w(a.begin(), a.begin() + 6);
        const xg::functional::Fn loss = [&](const xg::TensorList& p) {
          return xg::TensorList{xg::cross_entropy(mlp_one_example(p, a[6]), a[7])};
        };
        return xg::functional::vjp(loss, w, {xg::ones({})}).vjp;
      },
      dims);
  for (auto _ : state) benchmark::DoNotOptimize(per_example(in));
  if (!xg::functional::last_vmap().batched) state.SkipWithError("vmap looped");
}

/// f(x) = Σ tanh(W₂ tanh(W₁ x)) with x of n elements, hidden width n.
struct Scalar {
  xg::Tensor w1, w2;
  explicit Scalar(std::int64_t n) {
    xg::manual_seed(1);
    w1 = xg::randn({n, n}, xg::float64) * (1.0 / std::sqrt(static_cast<double>(n)));
    w2 = xg::randn({n, n}, xg::float64) * (1.0 / std::sqrt(static_cast<double>(n)));
  }
  xg::Tensor operator()(const xg::Tensor& x) const { return xg::sum(xg::tanh(xg::matmul(w2, xg::tanh(xg::matmul(w1, x))))); }
};

void hessian_forward_over_reverse(benchmark::State& state) {
  const Scalar f(state.range(0));
  const xg::Tensor x = xg::randn({state.range(0)}, xg::float64);
  for (auto _ : state) benchmark::DoNotOptimize(xg::functional::hessian(f, x, xg::functional::HessianMode::ForwardOverReverse));
}

void hessian_vectorized(benchmark::State& state) {
  const Scalar f(state.range(0));
  const xg::Tensor x = xg::randn({state.range(0)}, xg::float64);
  for (auto _ : state) benchmark::DoNotOptimize(xg::functional::hessian(f, x, xg::functional::HessianMode::Vectorized));
  if (!xg::functional::last_vmap().batched) state.SkipWithError("vmap looped");
}

void hessian_reverse_over_reverse(benchmark::State& state) {
  const Scalar f(state.range(0));
  const xg::Tensor x = xg::randn({state.range(0)}, xg::float64);
  for (auto _ : state) benchmark::DoNotOptimize(xg::functional::hessian_reverse(f, x));
}

void hvp_forward_over_reverse(benchmark::State& state) {
  const Scalar f(state.range(0));
  const xg::Tensor x = xg::randn({state.range(0)}, xg::float64), v = xg::randn({state.range(0)}, xg::float64);
  for (auto _ : state) benchmark::DoNotOptimize(xg::functional::hvp(f, x, v));
}

void hvp_reverse_over_reverse(benchmark::State& state) {
  const Scalar f(state.range(0));
  const xg::Tensor x = xg::randn({state.range(0)}, xg::float64), v = xg::randn({state.range(0)}, xg::float64);
  for (auto _ : state) benchmark::DoNotOptimize(xg::functional::hvp(f, x, v, /*create_graph=*/true));
}

}  // namespace

BENCHMARK(mlp_forward)->ArgName("batch")->Arg(32)->Arg(128)->Arg(512)->Unit(benchmark::kMicrosecond);
BENCHMARK(mlp_jvp_forward_mode)->ArgName("batch")->Arg(32)->Arg(128)->Arg(512)->Unit(benchmark::kMicrosecond);
BENCHMARK(mlp_jvp_double_vjp)->ArgName("batch")->Arg(32)->Arg(128)->Arg(512)->Unit(benchmark::kMicrosecond);
BENCHMARK(mlp_forward_backward)->ArgName("batch")->Arg(32)->Arg(128)->Arg(512)->Unit(benchmark::kMicrosecond);
BENCHMARK(mlp_per_sample_grads)->ArgName("batch")->Arg(32)->Arg(128)->Arg(512)->Unit(benchmark::kMicrosecond);
BENCHMARK(mlp_forward_vmap)->ArgName("batch")->Arg(32)->Arg(128)->Arg(512)->Unit(benchmark::kMicrosecond);
BENCHMARK(mlp_per_sample_grads_vmap)->ArgName("batch")->Arg(32)->Arg(128)->Arg(512)->Unit(benchmark::kMicrosecond);
BENCHMARK(mlp_per_sample_grads_loop)->ArgName("batch")->Arg(32)->Arg(128)->Unit(benchmark::kMicrosecond);
BENCHMARK(hessian_forward_over_reverse)->ArgName("n")->Arg(20)->Arg(100)->Unit(benchmark::kMillisecond);
BENCHMARK(hessian_vectorized)->ArgName("n")->Arg(20)->Arg(100)->Unit(benchmark::kMillisecond);
BENCHMARK(hessian_reverse_over_reverse)->ArgName("n")->Arg(20)->Arg(100)->Unit(benchmark::kMillisecond);
BENCHMARK(hvp_forward_over_reverse)->ArgName("n")->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond);
BENCHMARK(hvp_reverse_over_reverse)->ArgName("n")->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
