// Tutorial 5: higher-order gradients. Hessian-vector products, a full
// Hessian checked against its closed form, and a gradient penalty.
#include <xgrad/xgrad.hpp>

#include <cmath>
#include <cstdio>

#include "common.hpp"

int main(int, char**) {
  using xg::Tensor;
  // f(x) = Σ sin(xᵢ) · xᵢ₊₁ over consecutive pairs, and Σ x⁴ / 4.
  auto f = [](const Tensor& x) {
    return xg::sum(xg::sin(x.narrow(0, 0, 2)) * x.narrow(0, 1, 2)) + xg::sum(xg::pow(x, 4.0)) / 4.0;
  };
  const Tensor x = xg::tensor({0.5, -1.0, 2.0}, xg::float64);
  const double a = 0.5, b = -1.0, c = 2.0;
  // Closed form: ∂²f/∂xᵢ² = −sin(xᵢ)xᵢ₊₁ [i < 2] + 3xᵢ², ∂²f/∂xᵢ∂xᵢ₊₁ = cos(xᵢ).
  const double closed[9] = {-std::sin(a) * b + 3 * a * a, std::cos(a), 0,
                            std::cos(a), -std::sin(b) * c + 3 * b * b, std::cos(b),
                            0, std::cos(b), 3 * c * c};
  const Tensor H = xg::functional::hessian(f, x);
  std::printf("Hessian by xgrad:\n%s\n", H.str().c_str());
  double worst = 0;
  const auto h = H.to_vector<double>();
  for (int i = 0; i < 9; ++i) worst = std::max(worst, std::abs(h[static_cast<std::size_t>(i)] - closed[i]));
  std::printf("largest difference from the closed form: %.2e\n", worst);
  tutorial::expect(worst < 1e-12, "the Hessian matches its closed form");

  const Tensor v = xg::tensor({1.0, 0.0, -1.0}, xg::float64);
  const Tensor hv = xg::functional::hvp(f, x, v);
  std::printf("H·v without forming H: %s\n", hv.str().c_str());
  tutorial::expect(std::abs(hv.to_vector<double>()[1] - (closed[3] - closed[5])) < 1e-12, "H·v matches");

  // A gradient penalty (as in WGAN-GP): push ‖∂D/∂x‖ towards 1. Its gradient
  // with respect to the critic's weights goes through a gradient.
  xg::manual_seed(0);
  auto critic = std::make_shared<xg::nn::Linear>(3, 1);
  critic->to(xg::float64);
  const Tensor points = xg::randn({8, 3}, xg::TensorOptions(xg::float64).requires_grad(true));
  const Tensor scores = critic->forward(points).sum();
  const Tensor dx = xg::grad({scores}, {points}, xg::GradOptions().create_graph(true))[0];
  const Tensor penalty = xg::square(xg::sqrt(xg::sum(dx * dx, {1})) - 1.0).mean();
  penalty.backward();
  std::printf("gradient penalty %.4f; its gradient w.r.t. the critic's weight: %s\n", penalty.item(),
              critic->weight.grad().str().c_str());
  tutorial::expect(critic->weight.grad().defined(), "the penalty reaches the weights");
  return 0;
}
