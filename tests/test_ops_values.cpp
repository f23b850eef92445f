// Forward values of the ops, against numbers worked out by hand.
#include <cmath>

#include "helpers.hpp"

using namespace xg;
using test::check_values;

TEST_CASE("elementwise ops broadcast like NumPy") {
  Tensor a = tensor({1, 2, 3, 4, 5, 6}, {2, 3}, float64);
  Tensor row = tensor({10, 20, 30}, float64);
  Tensor col = tensor({100, 200}, {2, 1}, float64);
  check_values(a + row, {11, 22, 33, 14, 25, 36});
  check_values(a + col, {101, 102, 103, 204, 205, 206});
  check_values(row - col, {-90, -80, -70, -190, -180, -170});
  check_values(a * 2.0, {2, 4, 6, 8, 10, 12});
  check_values(1.0 - a, {0, -1, -2, -3, -4, -5});
  check_values(6.0 / a, {6, 3, 2, 1.5, 1.2, 1});
  check_values(a / row, {0.1, 0.1, 0.1, 0.4, 0.25, 0.2});
  check_values(pow(a, 2.0), {1, 4, 9, 16, 25, 36});
  check_values(pow(2.0, row / 10.0), {2, 4, 8});
  check_values(pow(row / 10.0, row / 10.0), {1, 4, 27});
  check_values(maximum(a, tensor({3}, float64)), {3, 3, 3, 4, 5, 6});
  check_values(minimum(a, tensor({3}, float64)), {1, 2, 3, 3, 3, 3});
  check_values(-a, {-1, -2, -3, -4, -5, -6});
  // Same-shape, scalar-tensor and 3-d broadcasts through the collapsed loops.
  Tensor x = arange(24.0, float64).reshape({2, 3, 4});
  Tensor y = arange(3.0, float64).reshape({3, 1});
  Tensor s = x + y;
  CHECK(s.shape() == Shape{2, 3, 4});
  CHECK(s.to_vector<double>()[5] == 5 + 1);
  CHECK(s.to_vector<double>()[23] == 23 + 2);
  check_values(scalar_tensor(1, float64) + tensor({1, 2}, float64), {2, 3});
}

TEST_CASE("unary ops") {
  Tensor x = tensor({-1.0, 0.0, 0.5, 2.0}, float64);
  check_values(exp(x), {std::exp(-1.0), 1, std::exp(0.5), std::exp(2.0)});
  check_values(abs(x), {1, 0, 0.5, 2});
  check_values(relu(x), {0, 0, 0.5, 2});
  check_values(sign(x), {-1, 0, 1, 1});
  check_values(tanh(x), {std::tanh(-1.0), 0, std::tanh(0.5), std::tanh(2.0)});
  check_values(sigmoid(x), {1 / (1 + std::exp(1.0)), 0.5, 1 / (1 + std::exp(-0.5)), 1 / (1 + std::exp(-2.0))});
  check_values(sin(x), {std::sin(-1.0), 0, std::sin(0.5), std::sin(2.0)});
  check_values(cos(x), {std::cos(-1.0), 1, std::cos(0.5), std::cos(2.0)});
  check_values(clamp(x, -0.5, 1.0), {-0.5, 0, 0.5, 1});
  check_values(square(x), {1, 0, 0.25, 4});
  check_values(sqrt(tensor({4.0, 9.0})), {2, 3});
  check_values(log(tensor({1.0, std::exp(2.0)}, float64)), {0, 2});
  // Sigmoid stays finite and exact at extreme inputs.
  check_values(sigmoid(tensor({-1000.0, 1000.0}, float64)), {0, 1});
}

TEST_CASE("comparisons give 0/1 masks in the input dtype, where selects") {
  Tensor a = tensor({1, 2, 3}), b = tensor({3, 2, 1});
  check_values(eq(a, b), {0, 1, 0});
  check_values(ne(a, b), {1, 0, 1});
  check_values(lt(a, b), {1, 0, 0});
  check_values(le(a, b), {1, 1, 0});
  check_values(gt(a, 1.5), {0, 1, 1});
  check_values(ge(a, 2.0), {0, 1, 1});
  CHECK(gt(a, b).dtype() == float32);
  CHECK_FALSE(gt(tensor({1.0}, TensorOptions().requires_grad(true)), 0.0).requires_grad());
  check_values(where(gt(a, 1.5), a, b), {3, 2, 3});
}

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
  CHECK(xg::std(a).item() == doctest::Approx(std::sqrt(3.5)));
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

TEST_CASE("matmul in 1-d, 2-d and batched 3-d forms") {
  Tensor a = tensor({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = tensor({1, 0, 0, 1, 1, 1}, {3, 2});
  check_values(matmul(a, b), {4, 5, 10, 11});
  check_values(matmul(tensor({1, 2, 3}), tensor({4, 5, 6})), {32});
  check_values(matmul(a, tensor({1, 1, 1})), {6, 15});
  check_values(matmul(tensor({1, 1}), a), {5, 7, 9});
  check_values(matmul_transposed(a, a, false, true), {14, 32, 32, 77});
  check_values(matmul_transposed(a, a, true, false), {17, 22, 27, 22, 29, 36, 27, 36, 45});
  Tensor batch = stack({a, a * 2.0});
  Tensor c = matmul(batch, b);
  CHECK(c.shape() == Shape{2, 2, 2});
  check_values(c, {4, 5, 10, 11, 8, 10, 20, 22});
  Tensor d = matmul(batch, stack({b, b}));
  check_values(d, {4, 5, 10, 11, 8, 10, 20, 22});
  check_values(matmul(eye(2), stack({a, a})), {1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6});
  check_values(outer(tensor({1, 2}), tensor({3, 4, 5})), {3, 4, 5, 6, 8, 10});
}

TEST_CASE("shape ops") {
  Tensor a = arange(6.0).reshape({2, 3});
  check_values(a.t(), {0, 3, 1, 4, 2, 5});
  Tensor x = arange(24.0).reshape({2, 3, 4});
  Tensor p = x.permute({2, 0, 1});
  CHECK(p.shape() == Shape{4, 2, 3});
  CHECK(p.to_vector<float>()[1] == 4);  // p[0][0][1] = x[0][1][0]
  check_values(tensor({1, 2}).expand({2, 2}), {1, 2, 1, 2});
  check_values(tensor({1, 2}, {2, 1}).expand({-1, 3}), {1, 1, 1, 2, 2, 2});
  check_values(slice(arange(10.0), 0, 1, 8, 3), {1, 4, 7});
  check_values(slice(arange(10.0), 0, -3, 100), {7, 8, 9});
  check_values(a.narrow(1, 1, 2), {1, 2, 4, 5});
  check_values(a.select(1, -1), {2, 5});
  check_values(cat({a, a * 10.0}, 1), {0, 1, 2, 0, 10, 20, 3, 4, 5, 30, 40, 50});
  Tensor s = stack({tensor({1, 2}), tensor({3, 4})}, 1);
  CHECK(s.shape() == Shape{2, 2});
  check_values(s, {1, 3, 2, 4});
  auto parts = split(arange(5.0), 2);
  REQUIRE(parts.size() == 3);
  check_values(parts[2], {4});
  auto chunks = chunk(arange(6.0).reshape({3, 2}), 2, 0);
  REQUIRE(chunks.size() == 2);
  CHECK(chunks[1].shape() == Shape{1, 2});
  auto sized = split(arange(6.0), std::vector<std::int64_t>{1, 5});
  CHECK(sized[1].numel() == 5);
}

TEST_CASE("float32 exp, tanh and sigmoid (vectorised) stay within a few ulp of libm") {
  std::vector<float> xs;
  for (int i = -200000; i <= 200000; ++i) xs.push_back(static_cast<float>(i) * 1e-4f);  // [-20, 20]
  for (float v : {0.0f, -0.0f, 1e-30f, -1e-30f, 1e-6f, 0.6249f, 0.6251f, 80.0f, 88.0f, -87.0f, -100.0f, 100.0f, 1e4f, -1e4f})
    xs.push_back(v);
  const Tensor x = from_vector(xs, {static_cast<std::int64_t>(xs.size())});
  const auto e = exp(x).to_vector<float>(), t = tanh(x).to_vector<float>(), s = sigmoid(x).to_vector<float>();
  double worst_e = 0, worst_t = 0, worst_s = 0;
  auto rel = [](double got, double want) {
    if (want == 0) return std::abs(got) < 1e-37 ? 0.0 : 1.0;
    if (std::abs(want) < 1e-37) return 0.0;  // denormal range: flushed to 0 is fine
    return std::abs(got - want) / std::abs(want);
  };
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const double v = xs[i];
    if (std::exp(v) < 3.4e38) worst_e = std::max(worst_e, rel(e[i], std::exp(v)));
    worst_t = std::max(worst_t, rel(t[i], std::tanh(v)));
    worst_s = std::max(worst_s, rel(s[i], 1 / (1 + std::exp(-v))));
  }
  CHECK(worst_e < 4e-7);  // ~3 ulp of float
  CHECK(worst_t < 4e-7);
  CHECK(worst_s < 4e-7);
  const auto special = tensor({INFINITY, -INFINITY, NAN});
  const auto es = exp(special).to_vector<float>(), ts = tanh(special).to_vector<float>();
  CHECK(es[0] == INFINITY);
  CHECK(es[1] == 0.0f);
  CHECK(std::isnan(es[2]));
  CHECK(ts[0] == 1.0f);
  CHECK(ts[1] == -1.0f);
  CHECK(std::isnan(ts[2]));
}
