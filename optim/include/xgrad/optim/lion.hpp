#pragma once
// Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms"),
// decoupled weight decay:
//   θ ← θ(1 − lr·wd);  θ ← θ − lr·sign(β₁m + (1 − β₁)g);  m = β₂m + (1 − β₂)g
#include "xgrad/optim/optimizer.hpp"

namespace xg::optim {

struct LionOptions {
  double lr = 1e-4;
  double beta1 = 0.9;
  double beta2 = 0.99;
  double weight_decay = 0;
  Fields fields() { return {{"lr", &lr}, {"beta1", &beta1}, {"beta2", &beta2}, {"weight_decay", &weight_decay}}; }
};

struct LionState {
  double step = 0;
  Tensor exp_avg;
  Fields scalars() { return {{"step", &step}}; }
  TensorFields tensors() { return {{"exp_avg", &exp_avg}}; }
  static bool needs(const std::string&, const LionOptions&) { return true; }
};

class Lion : public OptimizerWith<LionOptions, LionState> {
 public:
  Lion(const TensorList& params, LionOptions options);
  void step() override;
};

}  // namespace xg::optim
