// Tutorial 2: your first classifier. An MLP on Fashion-MNIST with
// mini-batches, validation monitoring, early stopping with patience, the
// best weights restored, and the loss-curve picture.
#include <xgrad/xgrad.hpp>

#include <cstdio>
#include <filesystem>

#include "common.hpp"

int main(int argc, char** argv) {
  const bool quick = tutorial::quick(argc, argv);
  xg::manual_seed(0);
  // Hold out examples for validation; quick mode also uses fewer of them.
  auto data = tutorial::fashion_mnist(quick ? 6000 : 0, quick ? 1000 : 5000, 128);

  auto model = xg::nn::models::mlp();  // 784-256-128-10 with ReLU
  xg::optim::AdamOptions adam;
  adam.lr = 1e-3;
  xg::optim::Adam optimizer(model->parameters(), adam);

  xg::data::FitOptions fit;
  fit.max_epochs = quick ? 2 : 20;
  fit.patience = 3;  // stop after 3 epochs without a better validation loss
  fit.out_dir = "tutorial02";
  fit.progress = xg::data::Progress::Lines;
  std::filesystem::create_directories(fit.out_dir);
  xg::data::Trainer trainer(*model, optimizer, [](const xg::Tensor& out, const xg::Tensor& y) { return xg::cross_entropy(out, y); }, fit);
  const auto result = trainer.fit(data.train, &data.validation);

  const auto eval = trainer.evaluate(data.test);
  std::printf("best epoch %lld, test accuracy %.2f%%\n", static_cast<long long>(result.best_epoch), 100 * eval.accuracy);
  std::printf("loss curves: %s\n", trainer.plot_path().c_str());
  tutorial::expect(eval.accuracy > (quick ? 0.70 : 0.87), "the MLP learns Fashion-MNIST");
  return 0;
}
