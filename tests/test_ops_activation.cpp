// Activations and the softmax family (ops_activation.cpp): values against PyTorch,
// stability at extreme logits, derivatives at kinks, regressions found by fuzzing.
#include <cmath>
#include <functional>

#include "helpers.hpp"

using namespace xg;
using namespace test;

// Golden values below were computed with PyTorch 1.13 (python3-torch,
// torch.nn.functional, float64) on the same inputs; tests/pytorch_golden.py
// prints every one of them (/usr/bin/python3 tests/pytorch_golden.py).
TEST_CASE("activations match PyTorch") {
  const Tensor x = x24();
  check_values(gelu(x), {0.841344746068543, -0.04550026389635842, 0.34573123063700656, 2.99595030590511,
                         0.053982783727702904, 0.11585194188782061, -0.1146265733433142, 3.9998733150326675}, 1e-12);
  check_values(gelu(x, true), {0.8411919906082768, -0.04540230591222494, 0.34571400982514394, 2.996362607918227,
                               0.053982751045435165, 0.11585142978210627, -0.11462907645724074, 3.9999297540518075}, 1e-12);
  check_values(elu(x), {1.0, -0.8646647167633873, 0.5, 3.0, 0.1, 0.2, -0.2591817793182821, 4.0}, 1e-12);
  check_values(softplus(x), {1.3132616875182228, 0.1269280110429725, 0.9740769841801067, 3.048587351573742,
                             0.744396660073571, 0.7981388693815918, 0.5543552444685271, 4.0181499279178094}, 1e-12);
  check_values(silu(x), {0.7310585786300049, -0.2384058440442351, 0.3112296656009273, 2.8577223804672998,
                         0.052497918747894, 0.1099667994624956, -0.1276672449565023, 3.928055160151634}, 1e-12);
  check_values(leaky_relu(x, 0.1), {1.0, -0.2, 0.5, 3.0, 0.1, 0.2, -0.03, 4.0}, 1e-12);
  check_values(logsumexp(x, {1}), {3.2022534476793516, 4.054659801536487}, 1e-12);
  check_values(softmax(x, 1).sum({1}), {1, 1}, 1e-12);
  check_values(exp(log_softmax(x, 0)), softmax(x, 0).to_vector<double>(), 1e-12);
  check_values(cumsum(tensor({1, 2, 3, 4}, {2, 2}), 0), {1, 2, 4, 6});
  check_values(cumsum(tensor({1, 2, 3, 4}, {2, 2}), 1), {1, 3, 3, 7});
}

TEST_CASE("softmax family and losses stay finite at logits of ±1e4") {
  const Tensor big = tensor({1e4, -1e4, 0.0, 1e4}, {1, 4}, float32);
  check_values(softmax(big, 1), {0.5, 0, 0, 0.5});
  check_values(log_softmax(big, 1), {-std::log(2.0), -2e4 - std::log(2.0), -1e4 - std::log(2.0), -std::log(2.0)}, 1e-5);
  CHECK(logsumexp(big, {1}).item() == doctest::Approx(1e4 + std::log(2.0)));
  Tensor logits = tensor({1e4, -1e4, -1e4}, {1, 3}, TensorOptions(float32).requires_grad(true));
  Tensor loss = cross_entropy(logits, idx({1}, {1}));
  CHECK(loss.item() == doctest::Approx(2e4));
  loss.backward();
  check_values(logits.grad(), {1, -1, 0});
  Tensor bl = binary_cross_entropy_with_logits(tensor({1e4, -1e4}), tensor({0, 1}));
  CHECK(bl.item() == doctest::Approx(1e4));
  CHECK(std::isfinite(binary_cross_entropy(tensor({0.0, 1.0}), tensor({1.0, 0.0})).item()));
  CHECK(logsumexp(full({3}, -INFINITY), {0}).item() == -INFINITY);
}

TEST_CASE("second derivatives exactly at a kink follow PyTorch's convention") {
  // torch.autograd.grad twice at the kink (tests/pytorch_golden.py: kinks):
  // elu(α = 1.5) at 0: y 0, dy 1.5, d²y 0; softplus(β = 2, threshold = 3) at
  // βx = 3: y 1.524293675786871, dy 0.9525741268224333, d²y 0.
  auto first_and_second = [](const std::function<Tensor(const Tensor&)>& f, double at) {
    Tensor x = tensor({at}, test::f64_grad());
    const Tensor y = f(x);
    const Tensor g = grad({y}, {x}, {}, std::nullopt, true)[0];
    const Tensor h = grad({g}, {x})[0];
    return std::vector<double>{y.item(), g.item(), h.item()};
  };
  const auto e = first_and_second([](const Tensor& x) { return elu(x, 1.5); }, 0.0);
  CHECK(e[0] == 0.0);
  CHECK(e[1] == doctest::Approx(1.5));
  CHECK(e[2] == 0.0);
  const auto s = first_and_second([](const Tensor& x) { return softplus(x, 2.0, 3.0); }, 1.5);
  CHECK(s[0] == doctest::Approx(1.524293675786871).epsilon(1e-14));
  CHECK(s[1] == doctest::Approx(0.9525741268224333).epsilon(1e-14));
  CHECK(s[2] == 0.0);
  // Away from the kinks the second derivatives are the smooth ones.
  CHECK(first_and_second([](const Tensor& x) { return elu(x, 1.5); }, -0.5)[2] == doctest::Approx(1.5 * std::exp(-0.5)));
  const double sg = 1.0 / (1.0 + std::exp(-2.0));
  CHECK(first_and_second([](const Tensor& x) { return softplus(x, 2.0, 3.0); }, 1.0)[2] ==
        doctest::Approx(2.0 * sg * (1.0 - sg)));
  CHECK(first_and_second([](const Tensor& x) { return softplus(x, 2.0, 3.0); }, 2.0)[1] == 1.0);
}

TEST_CASE("regressions found by fuzzing (tests/fuzz/corpus/regression-*)") {
  // softplus had a zero slope at exactly 0 (two kinks cancelling in value
  // only); binary_cross_entropy_with_logits used the same formula.
  Tensor z = zeros({2}, f64_grad());
  softplus(z).sum().backward();
  test::check_values(z.grad(), {0.5, 0.5}, 1e-12);
  Tensor logits = zeros({2}, f64_grad());
  binary_cross_entropy_with_logits(logits, tensor({1.0, 0.0}, float64), Reduction::Sum).backward();
  test::check_values(logits.grad(), {-0.5, 0.5}, 1e-12);  // sigmoid(0) − y

  // cumsum along a dim next to an empty one wrote past the end of the result.
  CHECK(cumsum(zeros({0, 3}), 1).shape() == Shape{0, 3});
  CHECK(cumsum(zeros({2, 0}), 0).numel() == 0);
  // logsumexp over dim 0 of a 0-d tensor wrote past an empty mask.
  Tensor s = scalar_tensor(0.5, f64_grad());
  Tensor l = logsumexp(s, {0});
  CHECK(l.dim() == 0);
  CHECK(l.item() == doctest::Approx(0.5));
  CHECK(logsumexp(s, {0}, true).dim() == 0);
}

TEST_CASE("fused softmax and log_softmax agree with their composed formulas, forward and backward, in float32") {
  manual_seed(11);
  for (const Shape& shape : {Shape{4, 1000}, Shape{3, 257, 5}}) {
    for (std::int64_t dim : {1, -1}) {
      const Tensor x = (randn(shape) * 4.0).requires_grad_(true);
      const Tensor g = randn(shape);
      const Tensor y = softmax(x, dim), ly = log_softmax(x, dim);
      NoGradGuard no_grad;
      const Tensor e = exp(x - max(x, {dim}, true));
      const Tensor composed = e / sum(e, {dim}, true);
      test::check_values(y, test::values(composed), 1e-5);
      test::check_values(ly, test::values(log(composed)), 1e-4);
      const Tensor dx = grad({y}, {x}, {g})[0];
      test::check_values(dx, test::values(composed * (g - sum(g * composed, {dim}, true))), 1e-4);
      const Tensor dlx = grad({ly}, {x}, {g})[0];
      test::check_values(dlx, test::values(g - composed * sum(g, {dim}, true)), 1e-4);
    }
  }
}

TEST_CASE("float32 gelu (vectorised erf) stays within 1e-6 of float64, forward and backward") {
  const Tensor x64 = linspace(-6.0, 6.0, 120001, float64);
  const Tensor x32 = x64.to(float32).requires_grad_(true);
  const Tensor y32 = gelu(x32);
  const Tensor d32 = grad({y32}, {x32}, {ones_like(y32)})[0];
  const Tensor x64g = x32.detach().to(float64).requires_grad_(true);  // the same float32 points, in float64
  const Tensor y64 = gelu(x64g);
  const Tensor d64 = grad({y64}, {x64g}, {ones_like(y64)})[0];
  const auto a = test::values(y32), b = test::values(y64), da = test::values(d32), db = test::values(d64);
  double worst = 0, worst_d = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    worst = std::max(worst, std::abs(a[i] - b[i]) / std::max(1.0, std::abs(b[i])));
    worst_d = std::max(worst_d, std::abs(da[i] - db[i]));
  }
  CHECK(worst < 1e-6);
  CHECK(worst_d < 1e-6);
}

TEST_CASE("fused silu and its gradient agree with x * sigmoid(x) in float32 and float64, contiguous and strided") {
  const xg::Tensor grid = xg::arange(-60.0, 60.0, 0.01, xg::float64);
  for (xg::Dtype dt : {xg::float32, xg::float64}) {
    for (bool strided : {false, true}) {
      xg::Tensor x = grid.to(dt).reshape({1000, 12});
      if (strided) x = x.t();
      x = x.detach().requires_grad_(true);
      const xg::Tensor y = xg::silu(x);
      const xg::Tensor g = xg::grad({y.sum()}, {x})[0];
      const xg::Tensor y_ref = x * xg::sigmoid(x);
      const xg::Tensor g_ref = xg::grad({y_ref.sum()}, {x})[0];
      const double tol = dt == xg::float32 ? 2e-6 : 1e-13;
      const auto a = values(y), b = values(y_ref), ga = values(g), gb = values(g_ref);
      double worst = 0, worst_g = 0;
      for (std::size_t i = 0; i < a.size(); ++i) {
        worst = std::max(worst, std::abs(a[i] - b[i]) / (1.0 + std::abs(b[i])));
        worst_g = std::max(worst_g, std::abs(ga[i] - gb[i]));
      }
      CAPTURE(strided);
      CHECK(worst < tol);
      CHECK(worst_g < tol);
    }
  }
}
