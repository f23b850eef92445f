// Tutorial 10: a variational autoencoder on Fashion-MNIST. An encoder maps an
// image to a Gaussian q(z|x) over a 20-d latent; a sample from it, drawn by
// the reparameterisation trick so gradients reach the encoder, is decoded
// back to pixel probabilities. The loss is the negative evidence lower bound:
// reconstruction cross-entropy plus KL(q(z|x) ‖ N(0, I)). Afterwards, decoding
// draws from the prior N(0, I) makes new images.
#include <xgrad/xgrad.hpp>

#include <cstdio>

#include "common.hpp"
#include "png.hpp"

using xg::Tensor;
namespace nn = xg::nn;

namespace {

struct Vae : nn::Module {
  static constexpr std::int64_t kLatent = 20;
  Vae() : nn::Module("Vae") {
    hidden = register_module("hidden", std::make_shared<nn::Linear>(784, 400));
    mu = register_module("mu", std::make_shared<nn::Linear>(400, kLatent));
    logvar = register_module("logvar", std::make_shared<nn::Linear>(400, kLatent));
    decoder = register_module("decoder", std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(kLatent, 400),
                                                                          std::make_shared<nn::ReLU>(),
                                                                          std::make_shared<nn::Linear>(400, 784)));
  }
  struct Output {
    Tensor logits, mu, logvar;
  };
  Output encode_decode(const Tensor& images) {
    const Tensor h = xg::relu((*hidden)(images.reshape({images.size(0), 784})));
    Output out{{}, (*mu)(h), (*logvar)(h)};
    // z = μ + σ·ε: the noise is an input, so ∂z/∂μ = 1 and ∂z/∂σ = ε.
    const Tensor z = is_training() ? out.mu + xg::exp(0.5 * out.logvar) * xg::randn(out.mu.shape()) : out.mu;
    out.logits = (*decoder)(z);
    return out;
  }
  std::shared_ptr<nn::Linear> hidden, mu, logvar;
  std::shared_ptr<nn::Sequential> decoder;
};

/// −ELBO per image: Σ BCE(pixels) + KL(N(μ, σ²) ‖ N(0, I)), averaged over the batch.
Tensor negative_elbo(const Vae::Output& out, const Tensor& images) {
  const Tensor target = images.reshape({images.size(0), 784});
  const Tensor reconstruction = xg::binary_cross_entropy_with_logits(out.logits, target, xg::Reduction::Sum);
  const Tensor kl = -0.5 * xg::sum(1.0 + out.logvar - xg::square(out.mu) - xg::exp(out.logvar));
  return (reconstruction + kl) / static_cast<double>(images.size(0));
}

double test_loss(Vae& vae, xg::data::DataLoader& test) {
  xg::NoGradGuard no_grad;
  double total = 0;
  std::int64_t count = 0;
  for (auto& batch : test) {
    total += negative_elbo(vae.encode_decode(batch.input), batch.input).item() * static_cast<double>(batch.input.size(0));
    count += batch.input.size(0);
  }
  return total / static_cast<double>(count);
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = tutorial::quick(argc, argv);
  xg::manual_seed(0);
  auto data = tutorial::fashion_mnist(quick ? 12000 : 0, 0, 128);
  Vae vae;
  xg::optim::Adam adam(vae.parameters(), {1e-3});
  vae.eval();
  const double before = test_loss(vae, data.test);
  std::printf("before training: test -ELBO %.1f nats per image\n", before);

  const int epochs = quick ? 3 : 10;
  double after = before;
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    vae.train();
    double total = 0;
    std::int64_t batches = 0;
    for (auto& batch : data.train) {
      adam.zero_grad();
      const Tensor loss = negative_elbo(vae.encode_decode(batch.input), batch.input);
      loss.backward();
      adam.step();
      total += loss.item();
      ++batches;
    }
    vae.eval();
    after = test_loss(vae, data.test);
    std::printf("epoch %2d  train -ELBO %.1f  test -ELBO %.1f\n", epoch, total / static_cast<double>(batches), after);
  }

  // 16 test images (top rows) above their reconstructions (bottom rows).
  xg::NoGradGuard no_grad;
  const Tensor originals = data.test.batch(0).input.narrow(0, 0, 16).reshape({16, 28, 28});
  const Tensor reconstructed = xg::sigmoid(vae.encode_decode(originals).logits).reshape({16, 28, 28});
  tutorial::write_png("10_reconstructions.png", tutorial::tile_grid(xg::cat({originals, reconstructed}, 0), 8));
  const double pixel_error = xg::abs(reconstructed - originals).mean().item();
  std::printf("wrote 10_reconstructions.png (mean absolute pixel error %.3f)\n", pixel_error);
  // New images: decode draws from the prior.
  const Tensor samples = xg::sigmoid((*vae.decoder)(xg::randn({64, Vae::kLatent}))).reshape({64, 28, 28});
  tutorial::write_png("10_samples.png", tutorial::tile_grid(samples, 8));
  std::printf("wrote 10_samples.png\n");

  // The full run reaches 238.9 nats; quick mode (a fifth of the data, 3 epochs) 265.8.
  tutorial::expect(after < (quick ? 280 : 245), "the test -ELBO reaches what a VAE of this size reaches");
  tutorial::expect(pixel_error < (quick ? 0.10 : 0.07), "reconstructions are close to the originals");
  return 0;
}
