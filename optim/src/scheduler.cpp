#include "xgrad/optim/scheduler.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace xg::optim {

LRScheduler::LRScheduler(Optimizer& optimizer) : optimizer_(optimizer) {
  for (std::size_t g = 0; g < optimizer.num_param_groups(); ++g) base_lrs_.push_back(optimizer.lr(g));
}

void LRScheduler::apply() {
  for (std::size_t g = 0; g < base_lrs_.size(); ++g) optimizer_.set_lr(g, lr_at(base_lrs_[g], last_epoch_));
}

void LRScheduler::step() {
  ++last_epoch_;
  apply();
}

std::vector<double> LRScheduler::get_last_lr() const {
  std::vector<double> out;
  for (std::size_t g = 0; g < optimizer_.num_param_groups(); ++g) out.push_back(optimizer_.lr(g));
  return out;
}

nn::StateDict LRScheduler::state_dict() const {
  nn::StateDict d{{"last_epoch", scalar_tensor(static_cast<double>(last_epoch_), float64)}};
  for (std::size_t g = 0; g < base_lrs_.size(); ++g) d["base_lrs." + std::to_string(g)] = scalar_tensor(base_lrs_[g], float64);
  return d;
}

void LRScheduler::load_state_dict(const nn::StateDict& d) {
  std::vector<double> bases;
  for (std::size_t g = 0; g < base_lrs_.size(); ++g)
    bases.push_back(detail::read_finite(d, "base_lrs." + std::to_string(g), "LRScheduler"));
  for (double b : bases) detail::check_options_lr(b, "LRScheduler");
  last_epoch_ = static_cast<std::int64_t>(detail::read_count(d, "last_epoch", "LRScheduler"));
  base_lrs_ = bases;
  apply();
}

StepLR::StepLR(Optimizer& opt, std::int64_t step_size, double gamma)
    : LRScheduler(opt), step_size_(step_size), gamma_(gamma) {
  XG_CHECK(step_size > 0, "StepLR", "step_size must be positive, got ", step_size);
  apply();
}
double StepLR::lr_at(double base, std::int64_t e) const {
  return base * std::pow(gamma_, static_cast<double>(e / step_size_));
}

MultiStepLR::MultiStepLR(Optimizer& opt, std::vector<std::int64_t> milestones, double gamma)
    : LRScheduler(opt), milestones_(std::move(milestones)), gamma_(gamma) {
  XG_CHECK(std::is_sorted(milestones_.begin(), milestones_.end()), "MultiStepLR", "milestones must be increasing");
  apply();
}
double MultiStepLR::lr_at(double base, std::int64_t e) const {
  const auto passed = std::upper_bound(milestones_.begin(), milestones_.end(), e) - milestones_.begin();
  return base * std::pow(gamma_, static_cast<double>(passed));
}

ExponentialLR::ExponentialLR(Optimizer& opt, double gamma) : LRScheduler(opt), gamma_(gamma) { apply(); }
double ExponentialLR::lr_at(double base, std::int64_t e) const { return base * std::pow(gamma_, static_cast<double>(e)); }

CosineAnnealingLR::CosineAnnealingLR(Optimizer& opt, std::int64_t t_max, double eta_min)
    : LRScheduler(opt), t_max_(t_max), eta_min_(eta_min) {
  XG_CHECK(t_max > 0, "CosineAnnealingLR", "T_max must be positive, got ", t_max);
  apply();
}
double CosineAnnealingLR::lr_at(double base, std::int64_t e) const {
  return eta_min_ + (base - eta_min_) * (1 + std::cos(M_PI * static_cast<double>(e) / static_cast<double>(t_max_))) / 2;
}

LinearLR::LinearLR(Optimizer& opt, double start, double end, std::int64_t total)
    : LRScheduler(opt), start_(start), end_(end), total_(total) {
  XG_CHECK(start > 0 && start <= 1 && end >= 0 && end <= 1, "LinearLR",
           "start_factor must be in (0, 1] and end_factor in [0, 1], got ", start, " and ", end);
  XG_CHECK(total > 0, "LinearLR", "total_iters must be positive, got ", total);
  apply();
}
double LinearLR::lr_at(double base, std::int64_t e) const {
  const double t = static_cast<double>(std::min(e, total_)) / static_cast<double>(total_);
  return base * (start_ + (end_ - start_) * t);
}

OneCycleLR::OneCycleLR(Optimizer& opt, double max_lr, std::int64_t total_steps, double pct_start, double div_factor,
                       double final_div_factor)
    : LRScheduler(opt), max_lr_(max_lr), pct_start_(pct_start), div_factor_(div_factor),
      final_div_factor_(final_div_factor), total_steps_(total_steps) {
  XG_CHECK(total_steps > 1, "OneCycleLR", "total_steps must be > 1, got ", total_steps);
  XG_CHECK(pct_start > 0 && pct_start < 1, "OneCycleLR", "pct_start must be in (0, 1), got ", pct_start);
  apply();
}
double OneCycleLR::lr_at(double, std::int64_t e) const {
  XG_CHECK(e < total_steps_, "OneCycleLR", "stepped ", e + 1, " times, more than total_steps=", total_steps_);
  const double initial = max_lr_ / div_factor_, final_lr = initial / final_div_factor_;
  const double peak = pct_start_ * static_cast<double>(total_steps_) - 1, last = static_cast<double>(total_steps_ - 1);
  auto anneal = [](double from, double to, double pct) { return to + (from - to) / 2 * (1 + std::cos(M_PI * pct)); };
  const double s = static_cast<double>(e);
  if (s <= peak) return anneal(initial, max_lr_, s / peak);
  return anneal(max_lr_, final_lr, (s - peak) / (last - peak));
}

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& opt, Mode mode, double factor, std::int64_t patience, double threshold,
                                     std::int64_t cooldown, double min_lr)
    : optimizer_(opt), mode_(mode), factor_(factor), threshold_(threshold), min_lr_(min_lr), patience_(patience),
      cooldown_(cooldown),
      best_(mode == Mode::Min ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity()) {
  XG_CHECK(factor < 1.0 && factor >= 0, "ReduceLROnPlateau", "factor should be < 1.0, got ", factor);
  XG_CHECK(patience >= 0 && cooldown >= 0, "ReduceLROnPlateau", "patience and cooldown must be >= 0");
}

bool ReduceLROnPlateau::better(double a, double best) const {
  return mode_ == Mode::Min ? a < best * (1 - threshold_) : a > best * (1 + threshold_);
}

void ReduceLROnPlateau::step(double metric) {
  ++last_epoch_;
  if (better(metric, best_)) {
    best_ = metric;
    num_bad_epochs_ = 0;
  } else {
    ++num_bad_epochs_;
  }
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    num_bad_epochs_ = 0;  // bad epochs in cooldown do not count
  }
  if (num_bad_epochs_ > patience_) {
    for (std::size_t g = 0; g < optimizer_.num_param_groups(); ++g)
      optimizer_.set_lr(g, std::max(optimizer_.lr(g) * factor_, min_lr_));
    cooldown_counter_ = cooldown_;
    num_bad_epochs_ = 0;
  }
}

std::vector<double> ReduceLROnPlateau::get_last_lr() const {
  std::vector<double> out;
  for (std::size_t g = 0; g < optimizer_.num_param_groups(); ++g) out.push_back(optimizer_.lr(g));
  return out;
}

nn::StateDict ReduceLROnPlateau::state_dict() const {
  return {{"best", scalar_tensor(best_, float64)},
          {"num_bad_epochs", scalar_tensor(static_cast<double>(num_bad_epochs_), float64)},
          {"cooldown_counter", scalar_tensor(static_cast<double>(cooldown_counter_), float64)},
          {"last_epoch", scalar_tensor(static_cast<double>(last_epoch_), float64)}};
}

void ReduceLROnPlateau::load_state_dict(const nn::StateDict& d) {
  const double best = detail::read_scalar(d, "best", "ReduceLROnPlateau");  // ±inf before the first step
  XG_CHECK(!std::isnan(best), "ReduceLROnPlateau", "'best' must not be NaN");
  const auto bad = static_cast<std::int64_t>(detail::read_count(d, "num_bad_epochs", "ReduceLROnPlateau"));
  const auto cool = static_cast<std::int64_t>(detail::read_count(d, "cooldown_counter", "ReduceLROnPlateau"));
  last_epoch_ = static_cast<std::int64_t>(detail::read_count(d, "last_epoch", "ReduceLROnPlateau"));
  best_ = best;
  num_bad_epochs_ = bad;
  cooldown_counter_ = cool;
}

}  // namespace xg::optim
