// Elementwise ops (ops_elementwise.cpp, kernels_elementwise.cpp): values against
// numbers worked out by hand and libm (the SIMD math itself: test_simd.cpp).
#include <cmath>
#include <functional>

#include "helpers.hpp"

using namespace xg;
using namespace test;

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

TEST_CASE("comparisons give bool masks, where selects") {
  Tensor a = tensor({1, 2, 3}), b = tensor({3, 2, 1});
  check_values(eq(a, b), {0, 1, 0});
  check_values(ne(a, b), {1, 0, 1});
  check_values(lt(a, b), {1, 0, 0});
  check_values(le(a, b), {1, 1, 0});
  check_values(gt(a, 1.5), {0, 1, 1});
  check_values(ge(a, 2.0), {0, 1, 1});
  CHECK(gt(a, b).dtype() == boolean);
  check_values(a * gt(a, 1.5), {0, 2, 3});  // a bool mask multiplies in the other dtype
  CHECK((a * gt(a, 1.5)).dtype() == float32);
  CHECK_FALSE(gt(tensor({1.0}, TensorOptions().requires_grad(true)), 0.0).requires_grad());
  check_values(where(gt(a, 1.5), a, b), {3, 2, 3});
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

TEST_CASE("log1p, expm1 and rsqrt: values against libm (accurate near 0 where log(1 + x) and exp(x) - 1 are not), gradients, errors") {
  const std::vector<double> xs{1e-12, -1e-9, 1e-5, 0.3, 2.0, 50.0};
  const Tensor x = from_vector(xs, {6}, float64);
  std::vector<double> want_log1p, want_expm1;
  for (double v : xs) want_log1p.push_back(std::log1p(v)), want_expm1.push_back(std::expm1(v));
  check_values(log1p(x), want_log1p, 1e-15);
  check_values(expm1(x), want_expm1, 1e-15);
  check_values(rsqrt(tensor({4.0, 0.25, 1e-6}, float64)), {0.5, 2.0, 1000.0}, 1e-15);
  // float32 near 0: log(1 + 1e-8f) is 0, log1p keeps it.
  CHECK(log1p(tensor({1e-8})).item() == doctest::Approx(1e-8).epsilon(1e-6));
  CHECK(expm1(tensor({1e-8})).item() == doctest::Approx(1e-8).epsilon(1e-6));
  // Gradients: 1/(1 + x), eˣ, −y³/2.
  const Tensor p = tensor({0.5, 3.0}, f64_grad());
  check_values(grad({log1p(p).sum()}, {p})[0], {1.0 / 1.5, 0.25}, 1e-15);
  check_values(grad({expm1(p).sum()}, {p})[0], {std::exp(0.5), std::exp(3.0)}, 1e-15);
  check_values(grad({rsqrt(p).sum()}, {p})[0], {-0.5 * std::pow(0.5, -1.5), -0.5 * std::pow(3.0, -1.5)}, 1e-14);
  CHECK(contains(error_of([] { log1p(tensor({1.0}, int64)); }), "log1p"));
}
