// Tutorial 7: save, load and resume. Checkpoints in the safetensors format;
// a run interrupted after epoch 2 and resumed ends bit-identical to one that
// ran straight through.
#include <xgrad/xgrad.hpp>

#include <cstdio>
#include <filesystem>

#include "common.hpp"

namespace {

struct Run {
  std::shared_ptr<xg::nn::Sequential> model;
  xg::data::FitResult result;
};

Run train(const std::string& dir, std::int64_t epochs, bool resume, std::uint64_t init_seed) {
  // A synthetic 3-class problem: which of three centres a point is near.
  xg::manual_seed(42);
  const xg::Tensor centres = xg::randn({3, 2}) * 3.0;
  const xg::Tensor labels = xg::randint(0, 3, {600});
  const xg::Tensor points = xg::index_select(centres, 0, labels) + xg::randn({600, 2});
  auto data = std::make_shared<xg::data::TensorDataset>(points, labels);
  auto parts = xg::data::random_split(data, {500, 100}, 0);

  xg::manual_seed(init_seed);
  auto model = std::make_shared<xg::nn::Sequential>(std::initializer_list<std::shared_ptr<xg::nn::Module>>{
      std::make_shared<xg::nn::Linear>(2, 32), std::make_shared<xg::nn::ReLU>(), std::make_shared<xg::nn::Dropout>(0.1),
      std::make_shared<xg::nn::Linear>(32, 3)});
  xg::optim::SGDOptions sgd;
  sgd.lr = 0.05;
  sgd.momentum = 0.9;
  xg::optim::SGD optimizer(model->parameters(), sgd);
  xg::optim::StepLR schedule(optimizer, 2, 0.5);
  xg::data::FitOptions fit;
  fit.max_epochs = epochs;
  fit.out_dir = dir;
  fit.resume = resume;
  fit.restore_best_weights = false;
  fit.progress = xg::data::Progress::Lines;
  xg::data::Trainer trainer(*model, optimizer, [](const xg::Tensor& o, const xg::Tensor& y) { return xg::cross_entropy(o, y); }, fit);
  trainer.set_scheduler(&schedule);
  xg::data::DataLoader train_loader(parts[0], {50, true, 7});
  xg::data::DataLoader val_loader(parts[1], {100});
  return {model, trainer.fit(train_loader, &val_loader)};
}

}  // namespace

int main(int argc, char** argv) {
  const std::int64_t epochs = tutorial::quick(argc, argv) ? 4 : 6;
  std::filesystem::remove_all("tutorial07");
  std::printf("Straight through, %lld epochs:\n", static_cast<long long>(epochs));
  const Run straight = train("tutorial07/straight", epochs, false, 1);
  std::printf("Interrupted after epoch 2:\n");
  train("tutorial07/interrupted", 2, false, 1);
  std::printf("Resumed from tutorial07/interrupted/checkpoint.safetensors (fresh weights, which the checkpoint replaces):\n");
  const Run resumed = train("tutorial07/interrupted", epochs, true, 999);

  bool identical = true;
  const auto a = straight.model->parameters(), b = resumed.model->parameters();
  for (std::size_t i = 0; i < a.size(); ++i) identical = identical && a[i].to_vector<float>() == b[i].to_vector<float>();
  std::printf("resumed after epoch %lld; parameters bit-identical to the straight run: %s\n",
              static_cast<long long>(resumed.result.resumed_from), identical ? "yes" : "NO");
  tutorial::expect(identical, "resume is exact");

  // A model's weights alone: save, then load into a new model.
  xg::nn::save(*straight.model, "tutorial07/model.safetensors");
  auto copy = std::make_shared<xg::nn::Sequential>(std::initializer_list<std::shared_ptr<xg::nn::Module>>{
      std::make_shared<xg::nn::Linear>(2, 32), std::make_shared<xg::nn::ReLU>(), std::make_shared<xg::nn::Dropout>(0.1),
      std::make_shared<xg::nn::Linear>(32, 3)});
  xg::nn::load(*copy, "tutorial07/model.safetensors");
  copy->eval();
  straight.model->eval();
  const xg::Tensor probe = xg::randn({4, 2});
  const bool same = copy->forward(probe).to_vector<float>() == straight.model->forward(probe).to_vector<float>();
  std::printf("a model loaded from model.safetensors predicts the same: %s\n", same ? "yes" : "NO");
  tutorial::expect(same, "save/load round trip");
  return 0;
}
