// Reductions (ops_reduce.cpp): values, dims and keepdim; empty and degenerate inputs
// as PyTorch handles them.
// Golden values are PyTorch 1.13's (torch.nn.functional, float64) on the same inputs,
// printed by tests/pytorch_golden.py (/usr/bin/python3 tests/pytorch_golden.py).
#include <cmath>
#include <functional>

#include "helpers.hpp"

using namespace xg;
using namespace test;

TEST_CASE("reductions over all elements and over dims, with keepdim") {
  Tensor a = tensor({1, 2, 3, 4, 5, 6}, {2, 3}, float64);
  CHECK(a.sum().item() == 21);
  CHECK(a.sum().dim() == 0);
  check_values(a.sum({0}), {5, 7, 9});
  check_values(a.sum({1}), {6, 15});
  CHECK(a.sum({1}, true).shape() == Shape{2, 1});
  CHECK(a.sum({-1, 0}).item() == 21);
  check_values(a.mean({0}), {2.5, 3.5, 4.5});
  CHECK(a.mean().item() == 3.5);
  check_values(max(a, {1}), {3, 6});
  check_values(min(a, {0}), {1, 2, 3});
  CHECK(a.max().item() == 6);
  CHECK(a.min().item() == 1);
  check_values(var(a, {1}), {1, 1});
  check_values(var(a, {1}, false, 0), {2.0 / 3, 2.0 / 3});
  CHECK(xg::std_dev(a).item() == doctest::Approx(std::sqrt(3.5)));
  Tensor m = tensor({3, 9, 2, 7, 1, 8}, {2, 3});
  CHECK(argmax(m).item() == 1);
  CHECK(argmin(m).item() == 4);
  CHECK(argmax(m, 1).to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 2});
  CHECK(argmin(m, 0, true).shape() == Shape{1, 3});
  CHECK(argmax(m).dtype() == int64);
  // Reductions over several non-adjacent dims of a 4-d tensor.
  Tensor x = arange(120.0, float64).reshape({2, 3, 4, 5});
  Tensor r = x.sum({0, 2});
  CHECK(r.shape() == Shape{3, 5});
  double expect = 0;
  for (int i = 0; i < 2; ++i)
    for (int k = 0; k < 4; ++k) expect += i * 60 + 1 * 20 + k * 5 + 3;
  CHECK(r.to_vector<double>()[1 * 5 + 3] == expect);
  check_values(sum_to(ones({2, 3, 4}), {3, 1}), {8, 8, 8});
}

TEST_CASE("empty and degenerate inputs give PyTorch's values, not errors") {
  // torch 1.13 (tests/pytorch_golden.py: degenerate): var([1, 2], correction 3) = inf,
  // var([3, 3], correction 3) = nan, std([]) = nan, logsumexp(zeros(2, 0), 1) = [-inf, -inf],
  // softmax/log_softmax over a zero-size dim keep the shape, cross_entropy with N = 0 is nan
  // (mean) and 0 (sum), adaptive_avg_pool2d of a 0x0 image raises.
  const Tensor x = tensor({1, 2}, float64);
  CHECK(var(x, {0}, false, 3).item() == INFINITY);
  CHECK(var(x, {0}, false, 2).item() == INFINITY);
  CHECK(std::isnan(var(tensor({3, 3}, float64), {0}, false, 3).item()));
  CHECK(std::isnan(xg::std_dev(zeros({0}, float64)).item()));
  CHECK(logsumexp(zeros({2, 0}), {1}).to_vector<double>() == std::vector<double>{-INFINITY, -INFINITY});
  CHECK(logsumexp(zeros({0, 3}), {1}).shape() == Shape{0});
  CHECK(softmax(zeros({2, 0}), 1).shape() == Shape{2, 0});
  CHECK(log_softmax(zeros({0, 3}), 1).shape() == Shape{0, 3});
  Tensor logits = zeros({0, 3}, test::f64_grad());
  const Tensor empty_targets = zeros({0}, int64);
  CHECK(std::isnan(cross_entropy(logits, empty_targets).item()));
  CrossEntropyOptions sum_opts;
  sum_opts.reduction = Reduction::Sum;
  const Tensor total = cross_entropy(logits, empty_targets, sum_opts);
  CHECK(total.item() == 0.0);
  total.backward();
  CHECK(logits.grad().shape() == Shape{0, 3});
  CHECK(test::contains(test::error_of([] { adaptive_avg_pool2d(zeros({1, 1, 0, 0}), {2, 2}); }),
                       "adaptive_avg_pool2d: expects an input with non-zero height and width, got [1, 1, 0, 0]"));
  // Attention over an empty sequence: [B, 0, d] in, [B, 0, d] out.
  const Tensor q = zeros({2, 0, 4});
  auto [out, weights] = nn::scaled_dot_product_attention(q, q, q);
  CHECK(out.shape() == Shape{2, 0, 4});
  CHECK(weights.shape() == Shape{2, 0, 0});
  nn::MultiheadAttention mha(4, 2, true, true);
  CHECK(mha.forward(q, q, q).first.shape() == Shape{2, 0, 4});
}
