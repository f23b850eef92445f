// Tutorial 13: differentially private SGD (Abadi et al., 2016) on
// Fashion-MNIST. Each step computes one gradient per example
// (functional::per_sample_grads: one batched backward, not a loop), clips
// each to L2 norm C, sums them, adds Gaussian noise of standard deviation
// σ·C and divides by the batch size. Clipping bounds what any one example
// can change; the noise hides whether it was there. A moments (Rényi)
// accountant turns σ, the sampling rate and the number of steps into the
// (ε, δ) the run guarantees.
#include <xgrad/xgrad.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "common.hpp"

using xg::Tensor;
namespace nn = xg::nn;

namespace {

Tensor per_example_loss(const Tensor& logits, const Tensor& labels) {
  xg::CrossEntropyOptions each;
  each.reduction = xg::Reduction::None;
  return xg::cross_entropy(logits, labels, each);
}

/// One DP-SGD step: clip each example's gradient to norm `clip`, sum, add
/// N(0, (σ·clip)²) noise, average, and take an SGD step of size lr.
/// Returns the fraction of examples whose gradient was clipped.
double dp_sgd_step(nn::Module& model, const Tensor& x, const Tensor& y, double clip, double sigma, double lr) {
  const auto grads = xg::functional::per_sample_grads(model, per_example_loss, x, y);
  const std::int64_t batch = x.size(0);
  xg::NoGradGuard no_grad;
  Tensor squared_norms = xg::zeros({batch});
  for (const auto& [name, g] : grads) squared_norms = squared_norms + xg::sum(xg::square(g.reshape({batch, -1})), {1});
  const Tensor norms = xg::sqrt(squared_norms);
  const Tensor scale = xg::clamp_max(clip / (norms + 1e-6), 1.0);  // min(1, C / ‖gᵢ‖)
  const auto params = model.named_parameters();
  for (std::size_t k = 0; k < grads.size(); ++k) {
    const Tensor& g = grads[k].second;
    xg::Shape per_example(static_cast<std::size_t>(g.dim()), 1);
    per_example[0] = batch;
    const Tensor clipped_sum = xg::sum(g * scale.reshape(per_example), {0});
    const Tensor noisy = clipped_sum + xg::randn(clipped_sum.shape()) * (sigma * clip);
    Tensor p = params[k].second;
    p.sub_(noisy * (lr / static_cast<double>(batch)));
  }
  return xg::gt(norms, clip).to(xg::float32).mean().item();
}

/// log(exp(a) + exp(b)) without overflow.
double log_add(double a, double b) { return std::max(a, b) + std::log1p(std::exp(-std::abs(a - b))); }

/// ε of `steps` compositions of the sampled Gaussian mechanism (sampling rate
/// q, noise multiplier σ) at δ, through its Rényi DP at integer orders α
/// (Mironov, Talwar, Zhang 2019): RDP(α) = log Σₖ C(α,k)(1−q)^(α−k) q^k
/// exp((k²−k)/(2σ²)) / (α−1), and ε = min over α of steps·RDP(α) + log(1/δ)/(α−1).
double epsilon(double q, double sigma, std::int64_t steps, double delta) {
  double best = std::numeric_limits<double>::infinity();
  for (int alpha = 2; alpha <= 256; ++alpha) {
    double log_a = -std::numeric_limits<double>::infinity();
    for (int k = 0; k <= alpha; ++k) {
      const double log_binom = std::lgamma(alpha + 1.0) - std::lgamma(k + 1.0) - std::lgamma(alpha - k + 1.0);
      const double term = log_binom + (alpha - k) * std::log1p(-q) + k * std::log(q) + (k * k - k) / (2 * sigma * sigma);
      log_a = log_add(log_a, term);
    }
    const double rdp = static_cast<double>(steps) * log_a / (alpha - 1);
    best = std::min(best, rdp + std::log(1 / delta) / (alpha - 1));
  }
  return best;
}

double accuracy(nn::Module& model, xg::data::DataLoader& test) {
  xg::NoGradGuard no_grad;
  std::int64_t right = 0, count = 0;
  for (auto& batch : test) {
    right += xg::eq(xg::argmax(model(batch.input.reshape({batch.input.size(0), 784})), 1), batch.target).sum().item<std::int64_t>();
    count += batch.input.size(0);
  }
  return static_cast<double>(right) / static_cast<double>(count);
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = tutorial::quick(argc, argv);
  xg::manual_seed(0);
  const std::int64_t used = quick ? 12000 : 60000, batch = 256;
  auto data = tutorial::fashion_mnist(used, 0, batch);
  nn::Sequential model(std::make_shared<nn::Linear>(784, 128), std::make_shared<nn::Tanh>(),
                       std::make_shared<nn::Linear>(128, 10));
  const double clip = 1.0, sigma = 1.1, lr = 0.5, delta = 1e-5;
  const int epochs = quick ? 3 : 15;
  std::printf("DP-SGD: clipping norm C = %.1f, noise multiplier sigma = %.1f, batch %lld of %lld examples, lr %.2f\n",
              clip, sigma, static_cast<long long>(batch), static_cast<long long>(used), lr);
  std::printf("per-sample gradients in one batched pass: %s\n",
              xg::functional::per_sample_grads_batched(model) ? "yes" : "no (a loop over examples)");

  const double q = static_cast<double>(batch) / static_cast<double>(used);
  std::int64_t steps = 0;
  double acc = accuracy(model, data.test), eps = 0;
  std::printf("before training: test accuracy %.1f%%\n", 100 * acc);
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    double clipped = 0;
    std::int64_t batches = 0;
    for (auto& b : data.train) {
      clipped += dp_sgd_step(model, b.input.reshape({b.input.size(0), 784}), b.target, clip, sigma, lr);
      ++batches;
      ++steps;
    }
    acc = accuracy(model, data.test);
    eps = epsilon(q, sigma, steps, delta);
    std::printf("epoch %2d  test accuracy %.1f%%  clipped %.0f%% of examples  (epsilon %.2f, delta %.0e)\n", epoch,
                100 * acc, 100 * clipped / static_cast<double>(batches), eps, delta);
  }
  tutorial::expect(acc > (quick ? 0.70 : 0.78), "DP-SGD learns Fashion-MNIST despite clipping and noise");
  tutorial::expect(eps > 0 && eps < (quick ? 3.0 : 5.0), "the privacy budget stays in the range DP-SGD is used at");
  return 0;
}
