#pragma once
// Learning-rate schedulers: each changes every group's lr between steps.
// Call scheduler.step() once per epoch (or per batch for OneCycleLR), after
// optimizer.step(), like torch. Closed forms, so resuming is exact.
#include <string>
#include <vector>

#include "xgrad/optim/optimizer.hpp"

namespace xg::optim {

class LRScheduler {
 public:
  explicit LRScheduler(Optimizer& optimizer);
  virtual ~LRScheduler() = default;
  void step();
  std::vector<double> get_last_lr() const;
  std::int64_t last_epoch() const { return last_epoch_; }
  virtual nn::StateDict state_dict() const;
  virtual void load_state_dict(const nn::StateDict& d);

 protected:
  /// The lr of a group with initial lr `base` at `epoch` (0 = construction).
  virtual double lr_at(double base, std::int64_t epoch) const = 0;
  void apply();  ///< sets lr_at(...) on every group; subclasses call it at the end of their constructor

  Optimizer& optimizer_;
  std::vector<double> base_lrs_;
  std::int64_t last_epoch_ = 0;
};

/// lr = base · γ^⌊epoch / step_size⌋
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& opt, std::int64_t step_size, double gamma = 0.1);
 protected:
  double lr_at(double base, std::int64_t epoch) const override;
  std::int64_t step_size_;
  double gamma_;
};

/// lr = base · γ^(number of milestones ≤ epoch)
class MultiStepLR : public LRScheduler {
 public:
  MultiStepLR(Optimizer& opt, std::vector<std::int64_t> milestones, double gamma = 0.1);
 protected:
  double lr_at(double base, std::int64_t epoch) const override;
  std::vector<std::int64_t> milestones_;
  double gamma_;
};

/// lr = base · γ^epoch
class ExponentialLR : public LRScheduler {
 public:
  ExponentialLR(Optimizer& opt, double gamma);
 protected:
  double lr_at(double base, std::int64_t epoch) const override;
  double gamma_;
};

/// lr = η_min + (base − η_min)(1 + cos(π · epoch / T_max)) / 2
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& opt, std::int64_t t_max, double eta_min = 0);
 protected:
  double lr_at(double base, std::int64_t epoch) const override;
  std::int64_t t_max_;
  double eta_min_;
};

/// Linear warm-up: lr = base · (start + (end − start) · min(epoch, total) / total)
class LinearLR : public LRScheduler {
 public:
  LinearLR(Optimizer& opt, double start_factor = 1.0 / 3, double end_factor = 1.0, std::int64_t total_iters = 5);
 protected:
  double lr_at(double base, std::int64_t epoch) const override;
  double start_, end_;
  std::int64_t total_;
};

/// One cycle (Smith): cosine warm-up from max_lr/div_factor to max_lr over
/// pct_start of total_steps, then cosine down to max_lr/(div_factor·final_div_factor).
/// Step it once per batch.
class OneCycleLR : public LRScheduler {
 public:
  OneCycleLR(Optimizer& opt, double max_lr, std::int64_t total_steps, double pct_start = 0.3,
             double div_factor = 25.0, double final_div_factor = 1e4);
 protected:
  double lr_at(double base, std::int64_t epoch) const override;
  double max_lr_, pct_start_, div_factor_, final_div_factor_;
  std::int64_t total_steps_;
};

/// Cuts the lr by `factor` when a metric has not improved for `patience`
/// epochs (threshold relative, like torch's default), then waits `cooldown`.
class ReduceLROnPlateau {
 public:
  enum class Mode { Min, Max };
  ReduceLROnPlateau(Optimizer& opt, Mode mode = Mode::Min, double factor = 0.1, std::int64_t patience = 10,
                    double threshold = 1e-4, std::int64_t cooldown = 0, double min_lr = 0);
  void step(double metric);
  std::vector<double> get_last_lr() const;
  std::int64_t num_bad_epochs() const { return num_bad_epochs_; }
  nn::StateDict state_dict() const;
  void load_state_dict(const nn::StateDict& d);

 private:
  bool better(double a, double best) const;
  Optimizer& optimizer_;
  Mode mode_;
  double factor_, threshold_, min_lr_;
  std::int64_t patience_, cooldown_;
  double best_;
  std::int64_t num_bad_epochs_ = 0, cooldown_counter_ = 0, last_epoch_ = 0;
};

}  // namespace xg::optim
