// Tutorial 3: a small CNN on Fashion-MNIST: conv-relu-pool twice, then a
// linear layer. The same Trainer as tutorial 2; only the model changes.
#include <xgrad/xgrad.hpp>

#include <cstdio>

#include "common.hpp"

int main(int argc, char** argv) {
  const bool quick = tutorial::quick(argc, argv);
  xg::manual_seed(0);
  auto data = tutorial::fashion_mnist(quick ? 4000 : 0, quick ? 500 : 5000, 128);

  auto model = xg::nn::models::small_cnn();
  std::printf("%s", model->str().c_str());
  xg::optim::AdamOptions adam;
  adam.lr = 3e-3;
  xg::optim::Adam optimizer(model->parameters(), adam);
  xg::data::FitOptions fit;
  fit.max_epochs = quick ? 1 : 20;
  // Cosine annealing: large steps early, fine ones at the end.
  xg::optim::CosineAnnealingLR schedule(optimizer, fit.max_epochs);
  fit.patience = 3;
  fit.progress = xg::data::Progress::Lines;
  xg::data::Trainer trainer(*model, optimizer, [](const xg::Tensor& out, const xg::Tensor& y) { return xg::cross_entropy(out, y); }, fit);
  trainer.set_scheduler(&schedule);
  trainer.fit(data.train, &data.validation);
  const auto eval = trainer.evaluate(data.test);
  std::printf("test accuracy %.2f%%\n", 100 * eval.accuracy);
  tutorial::expect(eval.accuracy > (quick ? 0.6 : 0.9), "the CNN learns Fashion-MNIST");
  return 0;
}
