// Tutorial 12: a GAN on Fashion-MNIST, DCGAN-style. A generator turns noise
// into 28×28 images through transposed convolutions; a discriminator, a
// small CNN, learns to tell them from real ones; each trains against the
// other. Afterwards, a grid of samples is written as a PNG.
#include <xgrad/xgrad.hpp>

#include <cmath>
#include <cstdio>

#include "common.hpp"
#include "png.hpp"

using xg::Tensor;
namespace nn = xg::nn;

namespace {

constexpr std::int64_t kNoise = 64;

xg::Conv2dOptions stride2() {
  xg::Conv2dOptions o;
  o.stride = {2, 2};
  o.padding = {1, 1};
  return o;
}

/// noise [N, 64] -> images [N, 1, 28, 28] in [−1, 1]: 7×7 → 14×14 → 28×28.
struct Generator : nn::Module {
  Generator() : nn::Module("Generator") {
    project = register_module("project", std::make_shared<nn::Linear>(kNoise, 128 * 7 * 7));
    upsample = register_module("upsample", std::make_shared<nn::Sequential>(
        std::make_shared<nn::BatchNorm2d>(128), std::make_shared<nn::ReLU>(),
        std::make_shared<nn::ConvTranspose2d>(128, 64, 4, stride2()), std::make_shared<nn::BatchNorm2d>(64),
        std::make_shared<nn::ReLU>(), std::make_shared<nn::ConvTranspose2d>(64, 1, 4, stride2()),
        std::make_shared<nn::Tanh>()));
  }
  Tensor forward(const Tensor& z) override { return (*upsample)((*project)(z).reshape({z.size(0), 128, 7, 7})); }
  std::shared_ptr<nn::Linear> project;
  std::shared_ptr<nn::Sequential> upsample;
};

/// images [N, 1, 28, 28] -> one logit each: how real it looks.
std::shared_ptr<nn::Sequential> discriminator() {
  return std::make_shared<nn::Sequential>(
      std::make_shared<nn::Conv2d>(1, 64, 4, stride2()), std::make_shared<nn::LeakyReLU>(0.2),
      std::make_shared<nn::Conv2d>(64, 128, 4, stride2()), std::make_shared<nn::BatchNorm2d>(128),
      std::make_shared<nn::LeakyReLU>(0.2), std::make_shared<nn::Flatten>(), std::make_shared<nn::Linear>(128 * 7 * 7, 1));
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = tutorial::quick(argc, argv);
  xg::manual_seed(0);
  auto data = tutorial::fashion_mnist(quick ? 6400 : 20000, 0, 64);
  Generator generator;
  auto critic = discriminator();
  xg::optim::AdamOptions adam;  // DCGAN's settings: lr 2e-4, β₁ = 0.5
  adam.lr = 2e-4;
  adam.beta1 = 0.5;
  xg::optim::Adam g_opt(generator.parameters(), adam), d_opt(critic->parameters(), adam);

  const int epochs = quick ? 1 : 3;
  double d_real = 0, d_fake = 0;  // the discriminator's mean probability of "real" on each, last epoch
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    double d_loss_sum = 0, g_loss_sum = 0;
    d_real = d_fake = 0;
    std::int64_t batches = 0;
    for (auto& batch : data.train) {
      const Tensor real = batch.input * 2.0 - 1.0;  // [0, 1] -> [−1, 1], tanh's range
      const std::int64_t n = real.size(0);
      const Tensor ones = xg::ones({n, 1}), zeros = xg::zeros({n, 1});
      const Tensor smoothed = xg::full({n, 1}, 0.9);  // one-sided label smoothing keeps D from saturating
      const Tensor fake = generator(xg::randn({n, kNoise}));

      // The discriminator: real -> 1, fake -> 0 (the generator is not updated here: fake is detached).
      d_opt.zero_grad();
      const Tensor real_logits = (*critic)(real), fake_logits = (*critic)(fake.detach());
      const Tensor d_loss = xg::binary_cross_entropy_with_logits(real_logits, smoothed) +
                            xg::binary_cross_entropy_with_logits(fake_logits, zeros);
      d_loss.backward();
      d_opt.step();

      // The generator: make the discriminator say 1 on fakes (the non-saturating loss).
      g_opt.zero_grad();
      const Tensor g_loss = xg::binary_cross_entropy_with_logits((*critic)(fake), ones);
      g_loss.backward();
      g_opt.step();

      d_loss_sum += d_loss.item();
      g_loss_sum += g_loss.item();
      d_real += xg::sigmoid(real_logits).mean().item();
      d_fake += xg::sigmoid(fake_logits).mean().item();
      ++batches;
    }
    d_real /= static_cast<double>(batches), d_fake /= static_cast<double>(batches);
    std::printf("epoch %d  D loss %.3f  G loss %.3f  D(real) %.2f  D(fake) %.2f\n", epoch,
                d_loss_sum / static_cast<double>(batches), g_loss_sum / static_cast<double>(batches), d_real, d_fake);
  }

  // Samples with batch statistics in BatchNorm, as the generator was trained
  // (its running averages lag a generator that changed all along).
  xg::NoGradGuard no_grad;
  const Tensor samples = (generator(xg::randn({64, kNoise})) + 1.0) / 2.0;
  tutorial::write_png("12_samples.png", tutorial::tile_grid(samples.reshape({64, 28, 28}), 8));
  const Tensor real = data.test.batch(0).input.narrow(0, 0, 64);
  // Diversity: how much the images differ from each other, pixel by pixel.
  auto spread = [](const Tensor& images) { return xg::sqrt(images.var({0})).mean().item(); };
  const double fake_mean = samples.mean().item(), real_mean = real.mean().item();
  const double fake_spread = spread(samples), real_spread = spread(real);
  std::printf("wrote 12_samples.png; mean pixel %.3f (real %.3f), spread across images %.3f (real %.3f)\n", fake_mean,
              real_mean, fake_spread, real_spread);

  tutorial::expect(d_real > 0.2 && d_real < 0.98 && d_fake > 0.02, "neither network overwhelms the other");
  tutorial::expect(std::abs(fake_mean - real_mean) < (quick ? 0.12 : 0.05), "samples are as bright as real images");
  tutorial::expect(fake_spread > 0.5 * real_spread, "samples differ from each other (no mode collapse)");
  return 0;
}
