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

// PyTorch 1.13 in float64 on the same inputs: /usr/bin/python3 tests/pytorch_golden.py math_functions.
TEST_CASE("tan, asin, acos, atan, sinh, cosh, reciprocal, atan2: values and gradients match PyTorch") {
  const Tensor x = (sin(arange(6.0, float64) + 0.5) * 0.9).requires_grad_(true);
  const Tensor w = arange(6.0, float64) + 1.0;
  const std::vector<GoldenCase> cases = {
      {"tan", [](const Tensor& t) { return tan(t); },
       {0.46041715213414836, 1.254340062967745, 0.5975620064889282, -0.3266293732810377, -1.2091152169534296, -0.736779707111577},
       {1.2119839539793196, 5.1467379871318535, 4.0712410547972215, 4.426746989959854, 12.309798039341695, 9.257066020868526}},
      {"asin", [](const Tensor& t) { return asin(t); },
       {0.4461360185114605, 1.11462461372605, 0.5688042139171131, -0.32119946099812785, -1.0753931275255595, -0.6879907767713022},
       {1.1084986569576851, 4.540145504850359, 3.5606378989652816, 4.215596457950709, 10.517759528120383, 7.7667549995259755}},
      {"acos", [](const Tensor& t) { return acos(t); },
       {1.124660308283436, 0.4561717130688466, 1.0019921128777836, 1.8919957877930245, 2.646189454320456, 2.2587871035661986},
       {-1.1084986569576851, -4.540145504850359, -3.5606378989652816, -4.215596457950709, -10.517759528120383, -7.7667549995259755}},
      {"atan", [](const Tensor& t) { return atan(t); },
       {0.40734895400064836, 0.7315681177565276, 0.494068025960182, -0.30580196947794674, -0.7215292203743082, -0.5657482614785052},
       {0.8430441011189764, 1.1074522358929806, 2.325370823309401, 3.6374562389646923, 2.818476967144447, 4.2759175711855555}},
      {"sinh", [](const Tensor& t) { return sinh(t); },
       {0.4449969148100905, 1.0232884212407067, 0.5650493651540941, -0.32097546511595293, -0.9977435081638467, -0.6785267620313478},
       {1.0945420294308021, 2.861551462438024, 3.4457984656026244, 4.201000355546573, 7.063094414070755, 7.250817085304169}},
      {"cosh", [](const Tensor& t) { return cosh(t); },
       {1.0945420294308021, 1.430775731219012, 1.1485994885342081, 1.0502500888866433, 1.412618882814151, 1.2084695142173614},
       {0.4449969148100905, 2.0465768424814135, 1.6951480954622822, -1.2839018604638117, -4.988717540819233, -4.071160572188086}},
      {"reciprocal", [](const Tensor& t) { return reciprocal(t); },
       {2.31758849214832, 1.1139014491630277, 1.8565794950652001, -3.167514930600516, -1.1366515374125579, -1.5748371437349618},
       {-5.371216418938324, -2.481552876894986, -10.34066226448966, -40.13260334230876, -6.459883587511657, -14.880672175723756}},
  };
  check_golden(x, cases, 1e-13, 1e-12);
  // atan2's quadrants, including b = −0 (the angle is +π/2 for a > 0).
  const Tensor b = tensor({-1.5, 0.25, -0.0, 2.0, -3.0, 0.5}, {6}, f64_grad());
  const Tensor y = atan2(x, b);
  check_values(y, {2.8614993720916164, 1.2992019787515314, 1.5707963267948966, -0.15656062087053296, -2.856331646376452, -0.9037742073240306}, 1e-13);
  const TensorList g = grad({(y * w).sum()}, {x, b});
  check_values(g[0], {-0.6157186655268699, 0.5757403991066301, -0.0, 1.9513767707977092, -1.5346826372932605, 4.592720653121297}, 1e-12);
  check_values(g[1], {-0.17711475170932844, -2.067473382099412, -5.5697384851956, 0.30802960894453557, 0.45005954970355866, 5.832629324742714}, 1e-12);
  CHECK(atan2(tensor({1, -1}, {2}, int64), tensor({0, 0}, {2}, int64)).dtype() == float32);
  CHECK(values(x.tan()) == values(tan(x)));
  CHECK(values(x.atan2(b)) == values(y));
}

TEST_CASE("floor, ceil, round (half to even, like torch.round) and trunc: values, signed zeros, a zero gradient, ints unchanged") {
  const Tensor r = tensor({-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, -1.7, 1.2}, {8}, f64_grad());
  CHECK(values(floor(r)) == std::vector<double>{-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, -2.0, 1.0});
  CHECK(values(ceil(r)) == std::vector<double>{-2.0, -1.0, -0.0, 1.0, 2.0, 3.0, -1.0, 2.0});
  CHECK(values(round(r)) == std::vector<double>{-2.0, -2.0, -0.0, 0.0, 2.0, 2.0, -2.0, 1.0});
  CHECK(values(trunc(r)) == std::vector<double>{-2.0, -1.0, -0.0, 0.0, 1.0, 2.0, -1.0, 1.0});
  CHECK(std::signbit(ceil(r).to_vector<double>()[2]));
  CHECK(std::signbit(round(r).to_vector<double>()[2]));
  CHECK(values(grad({(floor(r) * 3.0).sum()}, {r})[0]) == std::vector<double>(8, 0.0));
  const Tensor i = tensor({-3, 4}, {2}, int64);
  CHECK(round(i).dtype() == int64);
  CHECK(values(trunc(i)) == std::vector<double>{-3, 4});
}
