#pragma once
// The training loop as a product. Per batch, exactly the five steps: sample a
// batch, forward, loss, backward, update. Per epoch: validation loss and
// accuracy, early stopping with patience and min_delta, best weights kept
// and restored, an atomic checkpoint of model + optimizer + scheduler + epoch
// + random state, a metrics line and the loss-curve picture.
#include <atomic>
#include <functional>
#include <optional>
#include <iosfwd>
#include <limits>
#include <string>
#include <vector>

#include "xgrad/data/loader.hpp"
#include "xgrad/nn/module.hpp"
#include "xgrad/optim/optimizer.hpp"
#include "xgrad/optim/scheduler.hpp"

namespace xg::data {

/// Patience counter on a monitored metric: stop after `patience` epochs in a
/// row without an improvement larger than min_delta.
class EarlyStopping {
 public:
  enum class Mode { Min, Max };
  explicit EarlyStopping(std::int64_t patience, double min_delta = 0.0, Mode mode = Mode::Min);
  /// Records the metric of the next epoch; true when training should stop.
  bool step(double metric);
  bool improved() const { return improved_; }  ///< did the last step improve?
  double best() const { return best_; }
  std::int64_t best_epoch() const { return best_epoch_; }  ///< 1-based; 0 before any step
  std::int64_t bad_epochs() const { return bad_epochs_; }
  std::int64_t epochs_seen() const { return epochs_; }
  void restore(double best, std::int64_t best_epoch, std::int64_t bad_epochs, std::int64_t epochs);

 private:
  std::int64_t patience_;
  double min_delta_;
  Mode mode_;
  double best_;
  std::int64_t best_epoch_ = 0, bad_epochs_ = 0, epochs_ = 0;
  bool improved_ = false;
};

struct EpochLog {
  std::int64_t epoch = 0;  ///< 1-based
  double train_loss = 0;
  double val_loss = std::numeric_limits<double>::quiet_NaN();
  double val_accuracy = std::numeric_limits<double>::quiet_NaN();
  double lr = 0;
  double seconds = 0;
};

enum class Progress { Auto, Bar, Lines, Off };  ///< Auto: a live bar on a terminal, plain lines otherwise

struct FitOptions {
  std::int64_t max_epochs = 10;
  std::string monitor = "val_loss";  ///< "val_loss", "val_accuracy" or "train_loss"
  std::int64_t patience = -1;        ///< < 0 turns early stopping off
  double min_delta = 0.0;
  bool restore_best_weights = true;
  std::string out_dir;  ///< checkpoint.safetensors, best.safetensors, metrics.jsonl, loss.svg; empty: none
  bool resume = false;  ///< continue from out_dir/checkpoint.safetensors when it exists
  bool write_files = true;  ///< false: read a checkpoint to resume, write nothing (data-parallel ranks > 0)
  double clip_grad_norm = 0.0;  ///< 0: off
  Progress progress = Progress::Auto;
  std::ostream* log = nullptr;  ///< where progress goes; default std::cout
  /// Runs after loss.backward() and before clipping and the update; data-
  /// parallel training averages gradients across processes here.
  std::function<void()> after_backward;
  /// The seed that made the data split and shuffling, saved in the checkpoint:
  /// resuming with another seed would train on a different split, so it is an error.
  std::optional<std::uint64_t> seed;
  /// Checked after every batch (a signal handler may set it): when true, fit
  /// finishes that batch, writes a checkpoint that resumes mid-epoch exactly
  /// where it stopped, and returns with FitResult::interrupted set.
  const std::atomic<bool>* interrupt = nullptr;
};

struct EvalResult {
  double loss = 0;
  double accuracy = std::numeric_limits<double>::quiet_NaN();  ///< for [N, C] outputs and int64 targets
  std::int64_t count = 0;
};

struct FitResult {
  std::vector<EpochLog> history;
  std::int64_t best_epoch = 0;
  double best_metric = std::numeric_limits<double>::quiet_NaN();
  bool stopped_early = false;
  std::int64_t resumed_from = 0;  ///< the epoch a resumed run continued after (0: fresh)
  bool interrupted = false;       ///< FitOptions::interrupt stopped the run
  std::int64_t interrupted_epoch = 0, interrupted_batch = 0;  ///< where: epoch, batches done in it
};

using LossFn = std::function<Tensor(const Tensor& output, const Tensor& target)>;

class Trainer {
 public:
  Trainer(nn::Module& model, optim::Optimizer& optimizer, LossFn loss, FitOptions options = {});

  /// Stepped once per epoch; saved in checkpoints.
  void set_scheduler(optim::LRScheduler* scheduler) { scheduler_ = scheduler; }
  /// Stepped once per epoch with the monitored metric.
  void set_plateau_scheduler(optim::ReduceLROnPlateau* plateau) { plateau_ = plateau; }
  /// Called after each epoch (after checkpointing); may call request_stop().
  void add_callback(std::function<void(const EpochLog&, Trainer&)> callback) { callbacks_.push_back(std::move(callback)); }
  void request_stop() { stop_requested_ = true; }

  FitResult fit(DataLoader& train, DataLoader* validation = nullptr);
  /// Mean loss (and accuracy) over a loader, in eval mode, without a graph.
  EvalResult evaluate(DataLoader& loader);

  std::string checkpoint_path() const;
  std::string best_path() const;
  std::string metrics_path() const;
  std::string plot_path() const;

 private:
  /// Progress inside an epoch: where a run interrupted mid-epoch resumes.
  struct Partial {
    std::int64_t epoch = 0, batches = 0, seen = 0;
    double loss_sum = 0;
    std::int64_t of_batches = 0;  ///< the epoch's number of batches (resuming needs the same batching)
  };
  /// Trains batches from partial.batches on; returns false when interrupted (partial then says where).
  bool train_epoch(DataLoader& train, std::int64_t epoch, Partial& partial);
  void save_checkpoint(std::int64_t epoch, const EarlyStopping& stopper, const std::vector<EpochLog>& history,
                       const Partial* partial = nullptr);
  std::int64_t load_checkpoint(EarlyStopping& stopper, std::vector<EpochLog>& history, Partial& partial);
  bool interrupted() const { return options_.interrupt && options_.interrupt->load(); }

  nn::Module& model_;
  optim::Optimizer& optimizer_;
  LossFn loss_;
  FitOptions options_;
  optim::LRScheduler* scheduler_ = nullptr;
  optim::ReduceLROnPlateau* plateau_ = nullptr;
  std::vector<std::function<void(const EpochLog&, Trainer&)>> callbacks_;
  // The training loader's batching across processes: batch_size × num_replicas
  // examples per step. A checkpoint records it; a run may resume on another
  // number of processes with the same global batch (elastic resume).
  std::int64_t batch_per_process_ = 0, processes_ = 1;
  bool stop_requested_ = false;
};

/// The metrics file and the loss-curve SVG for a history (used by Trainer).
void write_metrics_jsonl(const std::string& path, const std::vector<EpochLog>& history);
void write_loss_svg(const std::string& path, const std::vector<EpochLog>& history);

}  // namespace xg::data
