// Tutorial 1: the training loop, step by step. Fit y = 3x + 2 + noise with
// the five steps written out by hand; see why hidden units need random
// initial weights; then try learning rates that are too large and too small.
#include <xgrad/xgrad.hpp>

#include <cmath>
#include <cstdio>

#include "common.hpp"

namespace {

/// Trains y ≈ w·x + b by mini-batch SGD and returns the final full-data loss.
double fit_line(const xg::Tensor& x, const xg::Tensor& y, double lr, int steps, bool verbose, double* w_out = nullptr,
                double* b_out = nullptr) {
  xg::manual_seed(1);
  // Random initialisation: the parameters are leaves that require grad.
  xg::Tensor w = xg::randn({1}, xg::TensorOptions().requires_grad(true));
  xg::Tensor b = xg::zeros({1}, xg::TensorOptions().requires_grad(true));
  const std::int64_t n = x.size(0), batch = 32;
  for (int step = 1; step <= steps; ++step) {
    // 1. sample a mini-batch
    const xg::Tensor idx = xg::randint(0, n, {batch});
    const xg::Tensor xb = xg::index_select(x, 0, idx), yb = xg::index_select(y, 0, idx);
    // 2. forward pass: the ops record the graph backward will walk
    const xg::Tensor pred = xb * w + b;
    // 3. loss
    const xg::Tensor loss = xg::mse_loss(pred, yb);
    // 4. backward: fills w.grad() and b.grad()
    w.zero_grad();
    b.zero_grad();
    loss.backward();
    // 5. update θ ← θ − α∇L, outside the graph
    {
      xg::NoGradGuard no_grad;
      w.sub_(w.grad(), lr);
      b.sub_(b.grad(), lr);
    }
    if (verbose && (step == 1 || step % (steps / 5) == 0))
      std::printf("  step %4d  batch loss %10.4f  w %7.4f  b %7.4f\n", step, loss.item(), w.item(), b.item());
  }
  if (w_out) *w_out = w.item();
  if (b_out) *b_out = b.item();
  xg::NoGradGuard no_grad;
  return xg::mse_loss(x * w + b, y).item();
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = tutorial::quick(argc, argv);
  const int steps = quick ? 200 : 1000;

  // Data: y = 3x + 2 plus noise of σ = 0.1.
  xg::manual_seed(0);
  const xg::Tensor x = xg::rand({256, 1}) * 2.0 - 1.0;
  const xg::Tensor y = x * 3.0 + 2.0 + xg::randn({256, 1}) * 0.1;

  std::printf("1. Fit y = 3x + 2 with lr = 0.1\n");
  double w = 0, b = 0;
  const double good = fit_line(x, y, 0.1, steps, true, &w, &b);
  std::printf("  final loss %.4f, w = %.3f, b = %.3f\n\n", good, w, b);
  tutorial::expect(std::abs(w - 3) < 0.1 && std::abs(b - 2) < 0.1, "w ≈ 3 and b ≈ 2");

  std::printf("2. Why random initialisation: a hidden layer whose weights all start equal\n");
  for (bool random_init : {false, true}) {
    xg::manual_seed(2);
    xg::nn::Sequential net({std::make_shared<xg::nn::Linear>(1, 4), std::make_shared<xg::nn::Tanh>(),
                            std::make_shared<xg::nn::Linear>(4, 1)});
    if (!random_init)
      for (xg::Tensor& p : net.parameters()) xg::nn::init::constant_(p, 0.5);
    xg::optim::SGD opt(net.parameters(), {0.1});
    for (int step = 0; step < 100; ++step) {
      opt.zero_grad();
      xg::mse_loss(net.forward(x), y).backward();
      opt.step();
    }
    const auto hidden = net.at<xg::nn::Linear>(0)->weight.to_vector<float>();
    std::printf("  %s init: hidden weights after 100 steps: %.4f %.4f %.4f %.4f\n", random_init ? "random" : " equal",
                hidden[0], hidden[1], hidden[2], hidden[3]);
    const bool identical = hidden[0] == hidden[1] && hidden[1] == hidden[2] && hidden[2] == hidden[3];
    tutorial::expect(identical != random_init, "equal init keeps the units identical; random init does not");
  }
  std::printf("  equal weights get equal gradients, so the four units stay one unit.\n\n");

  std::printf("3. Learning rates\n");
  const double too_big = fit_line(x, y, 1.5, 50, false);
  const double too_small = fit_line(x, y, 0.001, steps, false);
  std::printf("  lr = 1.5:   loss after 50 steps %g (diverged)\n", too_big);
  std::printf("  lr = 0.001: loss after %d steps %.4f (still far from %.4f)\n", steps, too_small, good);
  tutorial::expect(!(too_big < 1e3), "a too-large learning rate diverges");
  tutorial::expect(too_small > 10 * good, "a too-small learning rate is slow");
  return 0;
}
