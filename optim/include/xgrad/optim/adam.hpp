#pragma once
// Adam (L2 weight decay added to the gradient, like torch.optim.Adam) and
// AdamW (decoupled weight decay θ ← θ(1 − α·wd), like torch.optim.AdamW):
//   m = β₁m + (1 − β₁)g;  v = β₂v + (1 − β₂)g²;  v̂ = amsgrad ? max(v̂, v) : v
//   θ ← θ − α/(1 − β₁ᵗ) · m / (√v̂/√(1 − β₂ᵗ) + ε)
#include "xgrad/optim/optimizer.hpp"

namespace xg::optim {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;
  bool amsgrad = false;
  Fields fields() {
    return {{"lr", &lr}, {"beta1", &beta1}, {"beta2", &beta2}, {"eps", &eps}, {"weight_decay", &weight_decay}};
  }
};

struct AdamState {
  double step = 0;
  Tensor exp_avg, exp_avg_sq, max_exp_avg_sq;
  Fields scalars() { return {{"step", &step}}; }
  TensorFields tensors() { return {{"exp_avg", &exp_avg}, {"exp_avg_sq", &exp_avg_sq}, {"max_exp_avg_sq", &max_exp_avg_sq}}; }
  static bool needs(const std::string& key, const AdamOptions& o) {
    return key != "max_exp_avg_sq" || o.amsgrad;
  }
};

class Adam : public OptimizerWith<AdamOptions, AdamState> {
 public:
  Adam(const TensorList& params, AdamOptions options);
  void step() override;

 protected:
  Adam(const TensorList& params, AdamOptions options, const char* name, bool decoupled);

 private:
  bool decoupled_;
};

/// AdamW: defaults as torch (weight_decay = 0.01), decay applied to θ directly.
struct AdamWOptions : AdamOptions {
  // A constructor (not an aggregate, because of the base) so `AdamW o(params, {3e-3})` reads like Adam's.
  AdamWOptions(double learning_rate = 1e-3) {  // NOLINT: implicit, as the braced form needs
    lr = learning_rate;
    weight_decay = 0.01;
  }
};

class AdamW : public Adam {
 public:
  AdamW(const TensorList& params, AdamWOptions options) : Adam(params, options, "AdamW", true) {}
};

}  // namespace xg::optim
