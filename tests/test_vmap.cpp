// vmap's batching rules (Note [Batching] in vmap.cpp): f runs once on the
// whole batch, with the loop's values. The vmap column of xgrad-gradcheck
// checks every registry op; these cases check the machinery.
#include "helpers.hpp"
#include "xgrad/functional.hpp"
#include "xgrad/nn.hpp"

using namespace xg;
using test::contains;
using test::error_of;

namespace {
double max_diff(const Tensor& a, const Tensor& b) { return max(abs(a - b)).item<double>(); }

/// vmap(f) against the loop over examples, and which path vmap took.
bool runs_batched_like_the_loop(const functional::Fn& f, const TensorList& inputs, const functional::InDims& in_dims) {
  const TensorList batched = functional::vmap(f, in_dims)(inputs);
  const bool was_batched = functional::last_vmap().batched;
  if (!was_batched) MESSAGE("vmap looped: ", functional::last_vmap().loop_reason);
  const std::int64_t n = inputs[0].size(in_dims.empty() || !in_dims[0] ? 0 : *in_dims[0]);
  for (std::int64_t b = 0; b < n; ++b) {
    TensorList example;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      const bool mapped = in_dims.empty() || in_dims[i].has_value();
      example.push_back(mapped ? inputs[i].select(in_dims.empty() ? 0 : *in_dims[i], b) : inputs[i]);
    }
    const TensorList expected = f(example);
    for (std::size_t k = 0; k < expected.size(); ++k) {
      REQUIRE(batched[k].select(0, b).shape() == expected[k].shape());
      CHECK(max_diff(batched[k].select(0, b), expected[k]) < 1e-12);
    }
  }
  return was_batched;
}
}  // namespace

TEST_CASE("vmap runs elementwise ops once on the batch, broadcasting against shared inputs") {
  manual_seed(1);
  const Tensor x = randn({4, 3}, float64), y = randn({2, 3}, float64), s = randn({3}, float64);
  const functional::Fn f = [](const TensorList& in) { return TensorList{exp(in[0]) * in[1] + in[0] - 2.0}; };
  CHECK(runs_batched_like_the_loop(f, {x, y}, {0, std::nullopt}));
  CHECK(runs_batched_like_the_loop(f, {x, s}, {0, std::nullopt}));
  CHECK(runs_batched_like_the_loop(f, {x.t(), x}, {1, 0}));
}

TEST_CASE("vmap nests level by level and maps over any dim") {
  manual_seed(2);
  const Tensor u = randn({3, 6}, float64), w = randn({6, 4}, float64);
  const functional::Fn dot = [](const TensorList& in) { return TensorList{sum(in[0] * in[1])}; };
  // Outer vmap over u's rows, inner over w's columns: the matrix of all dot products.
  const functional::Fn inner = functional::vmap(dot, {std::nullopt, 1});
  const Tensor all = functional::vmap(inner, {0, std::nullopt})({u, w})[0];
  CHECK(functional::last_vmap().batched);
  CHECK(all.shape() == Shape{3, 4});
  CHECK(max_diff(all, matmul(u, w)) < 1e-12);
  // A matrix per example against a shared one, mapped over a middle dim and stacked at the end.
  const Tensor a = randn({2, 5, 3}, float64), b = randn({3, 4}, float64);
  const functional::Fn mm = [](const TensorList& in) { return TensorList{relu(matmul(in[0], in[1]))}; };
  const Tensor out = functional::vmap(mm, {1, std::nullopt}, {2})({a, b})[0];
  CHECK(functional::last_vmap().batched);
  CHECK(out.shape() == Shape{2, 4, 5});
  for (std::int64_t k = 0; k < 5; ++k) CHECK(max_diff(out.select(2, k), relu(matmul(a.select(1, k), b))) < 1e-12);
}

TEST_CASE("vmap of vjp gives per-example gradients in one backward, for shared weights too") {
  manual_seed(3);
  const Tensor w1 = randn({8, 5}, float64), w2 = randn({3, 8}, float64);
  const Tensor x = randn({6, 5}, float64), y = tensor({0, 2, 1, 1, 0, 2}, int64);
  // One example's loss as a function of the weights; x and y are the example.
  const functional::Fn grads = [](const TensorList& in) {
    const Tensor xi = in[2], yi = in[3];
    const functional::Fn loss = [&](const TensorList& w) {
      return TensorList{cross_entropy(matmul(w[1], tanh(matmul(w[0], xi))), yi)};
    };
    return functional::vjp(loss, {in[0], in[1]}, {ones({}, float64)}).vjp;
  };
  const TensorList per_example = functional::vmap(grads, {std::nullopt, std::nullopt, 0, 0})({w1, w2, x, y});
  CHECK(functional::last_vmap().batched);
  REQUIRE(per_example.size() == 2);
  CHECK(per_example[0].shape() == Shape{6, 8, 5});
  CHECK(per_example[1].shape() == Shape{6, 3, 8});
  for (std::int64_t b = 0; b < 6; ++b) {
    const TensorList one = grads({w1, w2, x.select(0, b), y.select(0, b)});
    CHECK(max_diff(per_example[0].select(0, b), one[0]) < 1e-12);
    CHECK(max_diff(per_example[1].select(0, b), one[1]) < 1e-12);
  }
  // Their mean is the gradient of the mean loss.
  const Tensor l1 = w1.detach().requires_grad_(true), l2 = w2.detach().requires_grad_(true);
  const Tensor mean_loss = cross_entropy(matmul(tanh(matmul(x, l1.t())), l2.t()), y);
  const TensorList g = grad({mean_loss}, {l1, l2});
  CHECK(max_diff(mean(per_example[0], {0}), g[0]) < 1e-12);
  CHECK(max_diff(mean(per_example[1], {0}), g[1]) < 1e-12);
}

TEST_CASE("vmap falls back to the loop for an op without a batching rule, and says which") {
  manual_seed(4);
  const Tensor x = randn({4, 2, 3}, float64);
  // batch_norm updates running statistics, so it runs per example.
  const functional::Fn f = [](const TensorList& in) {
    Tensor mean_ = zeros({3}, float64), var_ = ones({3}, float64);
    return TensorList{batch_norm(exp(in[0]), mean_, var_, Tensor(), Tensor(), true, 0.1, 1e-5)};
  };
  const functional::Fn vf = functional::vmap(f);
  const Tensor out = vf({x})[0];
  CHECK_FALSE(functional::last_vmap().batched);
  CHECK(contains(functional::last_vmap().loop_reason, "batch_norm: it has no batching rule"));
  for (std::int64_t b = 0; b < 4; ++b) CHECK(max_diff(out.select(0, b), f({x.select(0, b)})[0]) < 1e-12);
  // The same vmapped function loops straight away the next time.
  vf({x});
  CHECK(contains(functional::last_vmap().loop_reason, "an earlier call"));
  // xg::grad with respect to a tensor every example shares would sum over
  // them, so it takes the loop too (functional's transforms do not).
  const Tensor w = randn({3}, float64);
  const functional::Fn shared = [](const TensorList& in) {
    const Tensor wl = in[0].detach().requires_grad_(true);
    return grad({sum(wl * in[1])}, {wl});
  };
  const Tensor g = functional::vmap(shared, {std::nullopt, 0})({w, x.select(1, 0)})[0];
  CHECK_FALSE(functional::last_vmap().batched);
  CHECK(contains(functional::last_vmap().loop_reason, "grad: an input shared by every example"));
  CHECK(max_diff(g, x.select(1, 0)) < 1e-12);
}

TEST_CASE("vmap: outputs every example shares, mistakes in f, and batched tensors that escape") {
  manual_seed(5);
  const Tensor x = randn({3, 2}, float64), c = randn({2}, float64);
  // An output that does not depend on the mapped input is repeated per example.
  const TensorList out = functional::vmap([](const TensorList& in) { return TensorList{in[0] * 2.0, in[1] + 1.0}; },
                                          {0, std::nullopt})({x, c});
  CHECK(functional::last_vmap().batched);
  CHECK(out[1].shape() == Shape{3, 2});
  for (std::int64_t b = 0; b < 3; ++b) CHECK(max_diff(out[1].select(0, b), c + 1.0) < 1e-12);
  // A shape mistake is reported in one example's shapes, as the loop meets it.
  const functional::Fn bad = [](const TensorList& in) { return TensorList{matmul(in[0], ones({3, 3}, float64))}; };
  CHECK(contains(error_of([&] { functional::vmap(bad)({x}); }), "matmul: shapes [2] and [3, 3] cannot be multiplied"));
  // A batched tensor kept past its vmap is an error when used, never a read of memory it does not have.
  Tensor kept;
  functional::vmap([&](const TensorList& in) {
    kept = in[0];
    return TensorList{in[0] + 1.0};
  })({x});
  CHECK(contains(error_of([&] { (kept * 2.0).item<double>(); }), "mul: got a tensor batched by a vmap that has finished"));
  CHECK(contains(error_of([&] { kept.to_vector<double>(); }), "a vmap that has finished"));
}

TEST_CASE("vmap keeps its result differentiable with respect to its inputs") {
  manual_seed(6);
  const Tensor x = randn({4, 3}, TensorOptions(float64).requires_grad(true));
  const Tensor w = randn({3, 2}, TensorOptions(float64).requires_grad(true));
  const functional::Fn f = [](const TensorList& in) { return TensorList{softmax(matmul(in[0], in[1]), 0)}; };
  const Tensor y = functional::vmap(f, {0, std::nullopt})({x, w})[0];
  CHECK(functional::last_vmap().batched);
  const Tensor target = randn({4, 2}, float64);
  const TensorList g = grad({sum(y * target)}, {x, w});
  const TensorList expected = grad({sum(softmax(matmul(x, w), 1) * target)}, {x, w});
  CHECK(max_diff(g[0], expected[0]) < 1e-12);
  CHECK(max_diff(g[1], expected[1]) < 1e-12);
}

TEST_CASE("vmap of forward-mode jvp gives the loop's tangents") {
  manual_seed(7);
  const Tensor x = randn({4, 3}, float64), v = randn({4, 3}, float64);
  const functional::Fn f = [](const TensorList& in) { return TensorList{sin(in[0]) * in[0]}; };
  const functional::Fn tangent = [&](const TensorList& in) { return functional::jvp(f, {in[0]}, {in[1]}).vjp; };
  const Tensor t = functional::vmap(tangent)({x, v})[0];
  // Tangents do not pass through batching rules (yet), so this one loops.
  CHECK_FALSE(functional::last_vmap().batched);
  CHECK(max_diff(t, (cos(x) * x + sin(x)) * v) < 1e-12);
}
