// xgrad-train: the main job. Trains a classifier on Fashion-MNIST (Debian's
// dataset-fashion-mnist package) with the five-step loop, validation,
// early stopping, checkpoints, a metrics file and a loss-curve picture.
#include <CLI/CLI.hpp>
#include <xgrad/xgrad.hpp>

#ifdef XGRAD_WITH_MPI
#include <xgrad/distributed.hpp>
#endif

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

namespace {

std::unique_ptr<xg::optim::Optimizer> make_optimizer(const std::string& name, const xg::TensorList& params, double lr) {
  using namespace xg::optim;
  if (name == "sgd") {
    SGDOptions o;
    o.lr = lr;
    o.momentum = 0.9;
    return std::make_unique<SGD>(params, o);
  }
  if (name == "adamw") {
    AdamWOptions o;
    o.lr = lr;
    return std::make_unique<AdamW>(params, o);
  }
  AdamOptions o;
  o.lr = lr;
  return std::make_unique<Adam>(params, o);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Train a classifier on Fashion-MNIST with xgrad."};
  std::string model_name = "mlp", optimizer_name = "adam", out_dir = "runs/fashion-mnist",
              data_dir = "/usr/share/datasets/fashion-mnist";
  std::int64_t epochs = 20, batch_size = 128, patience = 3, validation = 5000, limit = 0;
  double lr = 0;  // 0: the model's default (mlp 1e-3, cnn 3e-3)
  std::string schedule = "cosine";
  std::uint64_t seed = 0;
  int threads = 1;
  bool resume = false;
  bool distributed = false;
  app.add_option("--model", model_name, "mlp (784-256-128-10) or cnn (conv-pool-conv-pool-linear)")
      ->check(CLI::IsMember({"mlp", "cnn"}))
      ->capture_default_str();
  app.add_option("--epochs", epochs, "maximum number of epochs")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--batch-size", batch_size, "examples per training step")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--lr", lr, "learning rate (default: 1e-3 for mlp, 3e-3 for cnn)");
  app.add_option("--schedule", schedule, "learning-rate schedule over --epochs: cosine (annealing to 0) or none")
      ->check(CLI::IsMember({"cosine", "none"}))
      ->capture_default_str();
  app.add_option("--optimizer", optimizer_name, "sgd (momentum 0.9), adam or adamw")
      ->check(CLI::IsMember({"sgd", "adam", "adamw"}))
      ->capture_default_str();
  app.add_option("--patience", patience, "stop after this many epochs without a better validation loss (-1: never)")
      ->capture_default_str();
  app.add_option("--seed", seed, "seed for weights, data split, shuffling and dropout")->capture_default_str();
  app.add_option("--threads", threads, "threads for OpenBLAS and xgrad's kernels")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--out", out_dir, "directory for checkpoint, best weights, metrics.jsonl and loss.svg")->capture_default_str();
  app.add_flag("--resume", resume, "continue from <out>/checkpoint.safetensors if it exists");
  app.add_flag("--distributed", distributed,
               "data-parallel over MPI: run as `mpirun -np N xgrad-train --distributed ...` (on by itself under mpirun)");
  app.add_option("--data", data_dir, "directory with the four Fashion-MNIST IDX .gz files")->capture_default_str();
  app.add_option("--validation", validation, "training examples held out for validation")->capture_default_str();
  app.add_option("--limit", limit, "use only this many training examples (0: all), for quick runs")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  int rank = 0, world = 1;
#ifdef XGRAD_WITH_MPI
  xg::dist::ProcessGroup* pg = nullptr;
  if (distributed || xg::dist::ProcessGroup::launched_by_mpi()) {
    pg = &xg::dist::ProcessGroup::init(&argc, &argv);
    rank = pg->rank();
    world = pg->size();
  }
#else
  if (distributed) {
    std::fprintf(stderr, "xgrad-train: built without MPI (apt-get install libopenmpi-dev, then rebuild)\n");
    return 1;
  }
#endif
  try {
    xg::set_num_threads(threads);
    xg::manual_seed(seed);
    if (rank == 0) std::filesystem::create_directories(out_dir);
    const auto t0 = std::chrono::steady_clock::now();
    auto train_full = xg::data::load_mnist(data_dir + "/train-images-idx3-ubyte.gz", data_dir + "/train-labels-idx1-ubyte.gz");
    auto test = xg::data::load_mnist(data_dir + "/t10k-images-idx3-ubyte.gz", data_dir + "/t10k-labels-idx1-ubyte.gz");
    std::shared_ptr<const xg::data::Dataset> pool = train_full;
    if (limit > 0 && limit < train_full->size()) pool = xg::data::random_split(pool, {limit, train_full->size() - limit}, seed)[0];
    XG_CHECK(validation >= 0 && validation < pool->size(), "xgrad-train", "--validation ", validation,
             " must be smaller than the ", pool->size(), " training examples");
    auto parts = xg::data::random_split(pool, {pool->size() - validation, validation}, seed + 1);
    if (rank == 0) std::printf("data: %lld train, %lld validation, %lld test (loaded in %.2fs)\n", static_cast<long long>(parts[0]->size()),
                static_cast<long long>(parts[1]->size()), static_cast<long long>(test->size()),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());

    auto model = model_name == "cnn" ? xg::nn::models::small_cnn() : xg::nn::models::mlp();
    if (rank == 0) std::cout << *model;
#ifdef XGRAD_WITH_MPI
    if (pg) {
      xg::dist::broadcast_parameters(*model, *pg);  // same start everywhere
      if (rank == 0) std::printf("distributed: %d processes, each with batches of %lld\n", world, static_cast<long long>(batch_size));
    }
#endif
    if (lr <= 0) lr = model_name == "cnn" ? 3e-3 : 1e-3;
    auto optimizer = make_optimizer(optimizer_name, model->parameters(), lr);
    std::unique_ptr<xg::optim::CosineAnnealingLR> cosine;
    if (schedule == "cosine") cosine = std::make_unique<xg::optim::CosineAnnealingLR>(*optimizer, epochs);

    xg::data::DataLoader train_loader(parts[0], {batch_size, true, seed, false, world, rank});
    xg::data::DataLoader val_loader(parts[1], {1000, false, 0, false});
    xg::data::DataLoader test_loader(test, {1000, false, 0, false});

    xg::data::FitOptions fit;
    fit.max_epochs = epochs;
    fit.patience = patience;
    fit.out_dir = out_dir;
    fit.resume = resume;
    fit.seed = seed;  // the split depends on it; resuming with another seed is refused
    if (rank != 0) {  // only rank 0 writes files and prints; every rank reads the checkpoint to resume
      fit.write_files = false;
      fit.progress = xg::data::Progress::Off;
    }
#ifdef XGRAD_WITH_MPI
    if (pg) fit.after_backward = [&] { xg::dist::allreduce_gradients(*model, *pg); };
#endif
    xg::data::Trainer trainer(*model, *optimizer,
                              [](const xg::Tensor& out, const xg::Tensor& y) { return xg::cross_entropy(out, y); }, fit);
    if (cosine) trainer.set_scheduler(cosine.get());
    const auto result = trainer.fit(train_loader, &val_loader);
    if (rank != 0) return 0;
    if (result.resumed_from > 0) std::printf("resumed after epoch %lld\n", static_cast<long long>(result.resumed_from));
    if (result.stopped_early) std::printf("early stopping: no better validation loss for %lld epochs\n", static_cast<long long>(patience));

    const auto eval = trainer.evaluate(test_loader);
    std::printf("best epoch %lld (validation loss %.4f); weights restored\n", static_cast<long long>(result.best_epoch),
                result.best_metric);
    std::printf("test accuracy: %.2f%%  (test loss %.4f)\n", 100.0 * eval.accuracy, eval.loss);
    std::printf("checkpoint: %s\nbest weights: %s\nmetrics: %s\nloss curves: %s\n", trainer.checkpoint_path().c_str(),
                trainer.best_path().c_str(), trainer.metrics_path().c_str(), trainer.plot_path().c_str());
  } catch (const std::exception& e) {
#ifdef XGRAD_WITH_MPI
    if (pg && world > 1) pg->abort(std::string("xgrad-train: ") + e.what());
#endif
    std::fprintf(stderr, "xgrad-train: %s\n", e.what());
    return 1;
  }
  return 0;
}
