// xgrad-train: the main job. Trains a classifier on Fashion-MNIST (Debian's
// dataset-fashion-mnist package) with the five-step loop, validation,
// early stopping, checkpoints, a metrics file and a loss-curve picture.
#include <CLI/CLI.hpp>
#include <xgrad/xgrad.hpp>

#ifdef XGRAD_WITH_MPI
#include <xgrad/distributed.hpp>
#endif

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>
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

// Note [Interrupting a run]
// The first SIGINT (Ctrl-C) or SIGTERM only sets a flag: the Trainer finishes
// the batch in flight, writes a checkpoint that resumes mid-epoch exactly where
// it stopped, and fit returns; we print how to resume. A second signal means
// "now": _exit at once (the checkpoint on disk is always whole: atomic writes).
std::atomic<bool> g_interrupt{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the signal handler needs a lock-free flag");

extern "C" void on_signal(int) {
  if (g_interrupt.exchange(true)) ::_exit(130);
}

/// A bad command-line value: printed as "xgrad-train: <message>", exit code 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Parses a whole number in [lo, hi] from the text the user typed, so that
/// nothing is silently wrapped, truncated or replaced.
std::int64_t whole_number(const std::string& name, const std::string& text, std::int64_t lo, std::int64_t hi) {
  std::int64_t v = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ptr != end || ec == std::errc::invalid_argument)
    throw UsageError(name + " must be a whole number, got '" + text + "'");
  if (ec == std::errc::result_out_of_range || v > hi)
    throw UsageError(name + " must be at most " + std::to_string(hi) + ", got " + text);
  if (v < lo) {
    if (lo == 0) throw UsageError(name + " must not be negative, got " + text);
    throw UsageError(name + " must be at least " + std::to_string(lo) + ", got " + text);
  }
  return v;
}

double positive_number(const std::string& name, const std::string& text) {
  double v = 0;
  std::size_t used = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (text.empty() || used != text.size() || !std::isfinite(v) || v <= 0)
    throw UsageError(name + " must be a positive number, got '" + text + "'");
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Train a classifier on Fashion-MNIST with xgrad."};
  std::string model_name = "mlp", optimizer_name = "adam", out_dir = "runs/fashion-mnist",
              data_dir = "/usr/share/datasets/fashion-mnist";
  // Numbers are read as text and checked below (whole_number, positive_number).
  std::string epochs_arg = "20", batch_arg = "128", patience_arg = "3", validation_arg = "5000", limit_arg = "0",
              lr_arg, seed_arg = "0", threads_arg = "1";
  std::string schedule = "cosine", monitor;
  bool resume = false;
  bool distributed = false;
  bool augment = false;
  app.add_option("--model", model_name,
                 "mlp (784-256-128-10), cnn (conv-pool-conv-pool-linear) or resnet (He et al.'s ResNet-20)")
      ->check(CLI::IsMember({"mlp", "cnn", "resnet"}))
      ->capture_default_str();
  app.add_option("--epochs", epochs_arg, "maximum number of epochs, 1 to 1000000")->capture_default_str();
  app.add_option("--batch-size", batch_arg, "examples per training step, at least 1")->capture_default_str();
  app.add_option("--lr", lr_arg, "learning rate, a positive number")->default_str("1e-3 for mlp and resnet, 3e-3 for cnn");
  app.add_option("--schedule", schedule, "learning-rate schedule over --epochs: cosine (annealing to 0) or none")
      ->check(CLI::IsMember({"cosine", "none"}))
      ->capture_default_str();
  app.add_option("--optimizer", optimizer_name, "sgd (momentum 0.9), adam or adamw")
      ->check(CLI::IsMember({"sgd", "adam", "adamw"}))
      ->capture_default_str();
  app.add_option("--patience", patience_arg, "stop after this many epochs without a better validation metric (-1: never)")
      ->capture_default_str();
  app.add_option("--monitor", monitor,
                 "the validation metric that picks the best weights and stops early: val_loss or val_accuracy "
                 "(a batch-normalised ResNet's validation loss climbs from over-confidence while its accuracy still rises)")
      ->check(CLI::IsMember({"val_loss", "val_accuracy"}))
      ->default_str("val_loss for mlp and cnn, val_accuracy for resnet");
  app.add_flag("--augment", augment,
               "shift training images by up to 2 pixels and mirror half of them (torchvision's RandomCrop(28, "
               "padding=2) and RandomHorizontalFlip)")
      ->default_str("off");
  app.add_option("--seed", seed_arg, "seed for weights, data split, shuffling and dropout (a non-negative whole number)")
      ->capture_default_str();
  app.add_option("--threads", threads_arg, "threads for OpenBLAS and xgrad's kernels, 1 to 256")->capture_default_str();
  app.add_option("--out", out_dir, "directory for checkpoint, best weights, metrics.jsonl and loss.svg")->capture_default_str();
  app.add_flag("--resume", resume, "continue from <out>/checkpoint.safetensors if it exists (with the same --seed)")
      ->default_str("off");
  app.add_flag("--distributed", distributed,
               "data-parallel over MPI: run as `mpirun -np N xgrad-train --distributed ...` (on by itself under mpirun)")
      ->default_str("off");
  app.add_option("--data", data_dir, "directory with the four Fashion-MNIST IDX .gz files")->capture_default_str();
  app.add_option("--validation", validation_arg, "training examples held out for validation (0: none, no early stopping)")
      ->capture_default_str();
  app.add_option("--limit", limit_arg, "use only this many training examples (0: all), for quick runs")->capture_default_str();
  for (const char* name : {"--epochs", "--batch-size", "--patience", "--seed", "--threads", "--validation", "--limit"})
    app.get_option(name)->type_name("INT");
  app.get_option("--lr")->type_name("FLOAT");
  app.get_formatter()->column_width(34);
  CLI11_PARSE(app, argc, argv);

  std::int64_t epochs, batch_size, patience, validation, limit;
  std::uint64_t seed;
  int threads;
  double lr;
  try {
    epochs = whole_number("--epochs", epochs_arg, 1, 1'000'000);
    batch_size = whole_number("--batch-size", batch_arg, 1, std::int64_t{1} << 31);
    patience = whole_number("--patience", patience_arg, -1, 1'000'000);
    validation = whole_number("--validation", validation_arg, 0, std::numeric_limits<std::int64_t>::max());
    limit = whole_number("--limit", limit_arg, 0, std::numeric_limits<std::int64_t>::max());
    seed = static_cast<std::uint64_t>(whole_number("--seed", seed_arg, 0, std::numeric_limits<std::int64_t>::max()));
    threads = static_cast<int>(whole_number("--threads", threads_arg, 1, 256));
    lr = lr_arg.empty() ? (model_name == "cnn" ? 3e-3 : 1e-3) : positive_number("--lr", lr_arg);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "xgrad-train: %s (see --help)\n", e.what());
    return 2;
  }

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
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  try {
    xg::set_num_threads(threads);
    xg::manual_seed(seed);
    if (rank == 0) std::filesystem::create_directories(out_dir);
    const auto t0 = std::chrono::steady_clock::now();
    auto train_full = xg::data::load_mnist(data_dir + "/train-images-idx3-ubyte.gz", data_dir + "/train-labels-idx1-ubyte.gz");
    auto test = xg::data::load_mnist(data_dir + "/t10k-images-idx3-ubyte.gz", data_dir + "/t10k-labels-idx1-ubyte.gz");
    std::shared_ptr<const xg::data::Dataset> pool = train_full;
    if (limit > 0 && limit < train_full->size()) pool = xg::data::random_split(pool, {limit, train_full->size() - limit}, seed)[0];
    if (validation >= pool->size())
      throw UsageError("--validation " + std::to_string(validation) + " must be smaller than the " +
                       std::to_string(pool->size()) + " training examples");
    // The test images must be shaped like the training images, not just hold as many values.
    const xg::Shape image_shape{test->size(), train_full->inputs().size(1), train_full->inputs().size(2),
                                train_full->inputs().size(3)};
    XG_CHECK(test->inputs().shape() == image_shape, "load_mnist", "test images ", test->inputs().shape(), " are not shaped like the training images ",
             train_full->inputs().shape(), " (", data_dir, ")");
    auto parts = xg::data::random_split(pool, {pool->size() - validation, validation}, seed + 1);
    if (rank == 0) std::printf("data: %lld train, %lld validation, %lld test (loaded in %.2fs)\n", static_cast<long long>(parts[0]->size()),
                static_cast<long long>(parts[1]->size()), static_cast<long long>(test->size()),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    std::fflush(stdout);  // a log watcher (or a test waiting to send Ctrl-C) sees it now

    std::shared_ptr<xg::nn::Module> model;
    if (model_name == "cnn") model = xg::nn::models::small_cnn();
    else if (model_name == "resnet") model = xg::nn::models::resnet20(10, /*in_channels=*/1);
    else model = xg::nn::models::mlp();
    if (rank == 0) std::cout << *model;
#ifdef XGRAD_WITH_MPI
    if (pg) {
      xg::dist::broadcast_parameters(*model, *pg);  // same start everywhere
      if (rank == 0) std::printf("distributed: %d processes, each with batches of %lld\n", world, static_cast<long long>(batch_size));
    }
#endif
    auto optimizer = make_optimizer(optimizer_name, model->parameters(), lr);
    std::unique_ptr<xg::optim::CosineAnnealingLR> cosine;
    if (schedule == "cosine") cosine = std::make_unique<xg::optim::CosineAnnealingLR>(*optimizer, epochs);

    xg::data::LoaderOptions train_options{batch_size, true, seed, false, world, rank};
    if (augment) train_options.augment = xg::data::shift_and_flip(2);
    xg::data::DataLoader train_loader(parts[0], train_options);
    xg::data::DataLoader val_loader(parts[1], {1000, false, 0, false});
    const bool validating = validation > 0;
    xg::data::DataLoader test_loader(test, {1000, false, 0, false});

    xg::data::FitOptions fit;
    fit.max_epochs = epochs;
    fit.patience = validating ? patience : -1;  // early stopping needs a validation set
    if (monitor.empty()) monitor = model_name == "resnet" ? "val_accuracy" : "val_loss";
    fit.monitor = monitor;
    const char* metric_name = monitor == "val_loss" ? "validation loss" : "validation accuracy";
    if (!validating) {
      fit.monitor = "train_loss";
      fit.restore_best_weights = false;
    }
    fit.out_dir = out_dir;
    fit.resume = resume;
    fit.seed = seed;  // the split depends on it; resuming with another seed is refused
    fit.interrupt = &g_interrupt;
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
    const auto result = trainer.fit(train_loader, validating ? &val_loader : nullptr);
    if (rank != 0) return result.interrupted ? 130 : 0;
    if (result.interrupted) {
      std::string again;
      for (int i = 0; i < argc; ++i) again += (i ? " " : "") + std::string(argv[i]);
      if (!resume) again += " --resume";
      std::printf("\ninterrupted after epoch %lld, batch %lld: checkpoint written to %s\nresume with: %s\n",
                  static_cast<long long>(result.interrupted_epoch), static_cast<long long>(result.interrupted_batch),
                  trainer.checkpoint_path().c_str(), again.c_str());
      std::fflush(stdout);
      return 130;
    }
    if (result.resumed_from > 0) std::printf("resumed after epoch %lld\n", static_cast<long long>(result.resumed_from));
    if (result.stopped_early)
      std::printf("early stopping: no better %s for %lld epochs\n", metric_name, static_cast<long long>(patience));

    const auto eval = trainer.evaluate(test_loader);
    if (validating) {
      std::printf("best epoch %lld (%s %.4f); weights restored\n", static_cast<long long>(result.best_epoch), metric_name,
                  result.best_metric);
    } else {
      std::printf("no validation set: the last epoch's weights are kept\n");
    }
    std::printf("test accuracy: %.2f%%  (test loss %.4f)\n", 100.0 * eval.accuracy, eval.loss);
    std::printf("checkpoint: %s\n", trainer.checkpoint_path().c_str());
    if (validating && std::filesystem::exists(trainer.best_path())) std::printf("best weights: %s\n", trainer.best_path().c_str());
    std::printf("metrics: %s\nloss curves: %s\n", trainer.metrics_path().c_str(), trainer.plot_path().c_str());
  } catch (const UsageError& e) {
    std::fprintf(stderr, "xgrad-train: %s (see --help)\n", e.what());
    return 2;
  } catch (const std::exception& e) {
#ifdef XGRAD_WITH_MPI
    if (pg && world > 1) pg->abort(std::string("xgrad-train: ") + e.what());
#endif
    std::fprintf(stderr, "xgrad-train: %s\n", e.what());
    return 1;
  }
  return 0;
}
