// Tutorial 1: fit y = sin(x) with a two-layer network, using nothing but
// tensors and the engine. The five steps of every training loop:
//   1. sample a batch, 2. forward, 3. loss, 4. backward, 5. update.
#include <xgrad/xgrad.hpp>

#include <cmath>
#include <cstdio>

int main() {
  xg::manual_seed(0);
  const auto grad_on = xg::TensorOptions(xg::float32).requires_grad(true);

  // Data: 512 points of sin on [-π, π].
  const xg::Tensor x_all = xg::linspace(-M_PI, M_PI, 512).reshape({512, 1});
  const xg::Tensor y_all = xg::sin(x_all);

  // Parameters, randomly initialised (scaled like libtorch's Linear default).
  const std::int64_t hidden = 32;
  xg::Tensor w1 = (xg::rand({1, hidden}) * 2.0 - 1.0).requires_grad_(true);
  xg::Tensor b1 = (xg::rand({hidden}) * 2.0 - 1.0).requires_grad_(true);
  xg::Tensor w2 = ((xg::rand({hidden, 1}) * 2.0 - 1.0) / std::sqrt(double(hidden))).requires_grad_(true);
  xg::Tensor b2 = xg::zeros({1}, grad_on);
  std::vector<xg::Tensor> params{w1, b1, w2, b2};

  const double lr = 0.05;
  const std::int64_t batch = 64;
  for (int step = 0; step <= 3000; ++step) {
    // 1. sample a mini-batch
    const xg::Tensor idx = xg::randint(0, 512, {batch});
    std::vector<xg::Tensor> xs, ys;
    for (auto i : idx.to_vector<std::int64_t>()) {
      xs.push_back(x_all.select(0, i));
      ys.push_back(y_all.select(0, i));
    }
    const xg::Tensor x = xg::stack(xs), y = xg::stack(ys);
    // 2. forward
    const xg::Tensor pred = xg::matmul(xg::tanh(xg::matmul(x, w1) + b1), w2) + b2;
    // 3. loss
    const xg::Tensor loss = xg::mean(xg::square(pred - y));
    // 4. backward
    for (auto& p : params) p.zero_grad();
    loss.backward();
    // 5. update θ ← θ − α∇L, in place, outside the graph
    {
      xg::NoGradGuard no_grad;
      for (auto& p : params) p.sub_(p.grad(), lr);
    }
    if (step % 500 == 0) {
      xg::NoGradGuard no_grad;
      const xg::Tensor full = xg::matmul(xg::tanh(xg::matmul(x_all, w1) + b1), w2) + b2;
      std::printf("step %4d  batch loss %.5f  full-data loss %.5f\n", step, loss.item(),
                  xg::mean(xg::square(full - y_all)).item());
    }
  }
  return 0;
}
