// Tutorial 11: a physics-informed network. Solve the Poisson problem
//   −Δu = f on the unit square, u = 0 on its boundary,
// with f = 2π² sin(πx) sin(πy), whose solution is u = sin(πx) sin(πy). The
// loss is the PDE residual at collocation points; the Laplacian comes from
// second derivatives of the network through xg::grad(create_graph). Adam
// finds the basin, LBFGS with a strong-Wolfe line search polishes.
#include <xgrad/xgrad.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common.hpp"
#include "png.hpp"

using xg::Tensor;

namespace {

const double kPi = std::acos(-1.0);

/// n×n points of the square's interior (cell centres), as [n², 2].
Tensor grid(int n) {
  const Tensor t = (xg::arange(static_cast<double>(n), xg::float64) + 0.5) / static_cast<double>(n);
  const Tensor xs = t.reshape({n, 1}).expand({n, n}).reshape({n * n, 1});
  const Tensor ys = t.reshape({1, n}).expand({n, n}).reshape({n * n, 1});
  return xg::cat({xs, ys}, 1);
}

Tensor exact(const Tensor& xy) { return xg::sin(kPi * xy.select(1, 0)) * xg::sin(kPi * xy.select(1, 1)); }

/// u(x, y) = x(1 − x) y(1 − y) · N(x, y): zero on the boundary by construction,
/// so the loss needs no boundary term.
struct Solution {
  std::shared_ptr<xg::nn::Sequential> net;
  Tensor operator()(const Tensor& xy) const {
    const Tensor x = xy.select(1, 0), y = xy.select(1, 1);
    return x * (1.0 - x) * y * (1.0 - y) * (*net)(xy).select(1, 0);
  }
};

/// Δu = u_xx + u_yy at the points (which require grad), by reverse over
/// reverse: a graph, so the loss can be differentiated through it.
Tensor laplacian(const Solution& u, const Tensor& xy) {
  const xg::GradOptions keep = xg::GradOptions().create_graph(true);
  const Tensor du = xg::grad({u(xy).sum()}, {xy}, keep)[0];                     // [n, 2]: u_x, u_y
  const Tensor u_xx = xg::grad({du.select(1, 0).sum()}, {xy}, keep)[0].select(1, 0);
  const Tensor u_yy = xg::grad({du.select(1, 1).sum()}, {xy}, keep)[0].select(1, 1);
  return u_xx + u_yy;
}

/// The mean squared residual of Δu + f at the points (which require grad).
Tensor residual_loss(const Solution& u, const Tensor& xy) {
  const Tensor f = 2 * kPi * kPi * exact(xy);
  return xg::square(laplacian(u, xy) + f).mean();
}

/// ‖u − u_exact‖₂ / ‖u_exact‖₂ on a finer grid than the one trained on.
double relative_l2_error(const Solution& u, const Tensor& xy) {
  xg::NoGradGuard no_grad;
  const Tensor e = exact(xy);
  return std::sqrt(xg::square(u(xy) - e).sum().item() / xg::square(e).sum().item());
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = tutorial::quick(argc, argv);
  const int adam_steps = quick ? 300 : 2000, lbfgs_steps = quick ? 4 : 25;
  xg::manual_seed(0);
  Solution u{std::make_shared<xg::nn::Sequential>(std::make_shared<xg::nn::Linear>(2, 32), std::make_shared<xg::nn::Tanh>(),
                                                  std::make_shared<xg::nn::Linear>(32, 32), std::make_shared<xg::nn::Tanh>(),
                                                  std::make_shared<xg::nn::Linear>(32, 1))};
  u.net->to(xg::float64);  // float64: LBFGS drives the residual far below float32's resolution
  const Tensor train_points = grid(24).requires_grad_(true);
  const Tensor test_points = grid(101);

  xg::optim::Adam adam(u.net->parameters(), {1e-3});
  for (int step = 1; step <= adam_steps; ++step) {
    adam.zero_grad();
    const Tensor loss = residual_loss(u, train_points);
    loss.backward();
    adam.step();
    if (step % (adam_steps / 4) == 0)
      std::printf("adam  %5d  residual %.3e  L2 error %.3e\n", step, loss.item(), relative_l2_error(u, test_points));
  }
  const double after_adam = relative_l2_error(u, test_points);

  xg::optim::LBFGSOptions lbfgs_options;
  lbfgs_options.line_search_fn = "strong_wolfe";
  lbfgs_options.max_iter = 20;
  lbfgs_options.tolerance_change = 1e-14;
  xg::optim::LBFGS lbfgs(u.net->parameters(), lbfgs_options);
  for (int step = 1; step <= lbfgs_steps; ++step) {
    const Tensor loss = lbfgs.step([&] {
      lbfgs.zero_grad();
      Tensor l = residual_loss(u, train_points);
      l.backward();
      return l;
    });
    if (step % std::max(1, lbfgs_steps / 5) == 0)
      std::printf("lbfgs %5d  residual %.3e  L2 error %.3e  (%lld evaluations)\n", step, loss.item(),
                  relative_l2_error(u, test_points), static_cast<long long>(lbfgs.func_evals()));
  }
  const double error = relative_l2_error(u, test_points);
  std::printf("relative L2 error on a 101x101 grid: %.3e after Adam, %.3e after LBFGS\n", after_adam, error);

  // The error field |u − u_exact| as a picture (dark: small, yellow: the largest).
  {
    xg::NoGradGuard no_grad;
    const Tensor field = xg::abs(u(test_points) - exact(test_points)).reshape({101, 101}).transpose(0, 1);
    tutorial::write_png("11_error_field.png", tutorial::field_image(field, 4));
    std::printf("wrote 11_error_field.png (largest pointwise error %.3e)\n", field.max().item());
  }
  // The Laplacian once more, by forward over reverse: functional::hessian runs
  // u's backward on dual tensors (jacfwd of jacrev), one 2×2 Hessian per point,
  // whose trace must equal the reverse-over-reverse Δu the loss was built on.
  double worst = 0;
  {
    const Tensor points = grid(5).requires_grad_(true);
    const Tensor by_reverse = laplacian(u, points).detach();
    for (std::int64_t k = 0; k < points.size(0); ++k) {
      const Tensor h = xg::functional::hessian([&](const Tensor& p) { return u(p.reshape({1, 2})).sum(); },
                                               points.detach().select(0, k),
                                               xg::functional::HessianMode::ForwardOverReverse);
      const double by_forward = h.diagonal().sum().item();
      worst = std::max(worst, std::abs(by_forward - by_reverse.select(0, k).item()));
    }
    std::printf("Laplacian by forward over reverse vs reverse over reverse at 25 points: largest difference %.1e\n", worst);
  }
  tutorial::expect(worst < 1e-9, "forward-over-reverse and reverse-over-reverse Laplacians agree");
  tutorial::expect(error < after_adam, "LBFGS improves on Adam");
  tutorial::expect(error < 1e-3, "the relative L2 error is below 1e-3");
  return 0;
}
