#pragma once
// Adagrad (torch.optim.Adagrad; L2 weight decay on the gradient):
//   lrₜ = lr / (1 + (t − 1)·lr_decay);  S += g²;  θ ← θ − lrₜ·g/(√S + ε)
#include "xgrad/optim/optimizer.hpp"

namespace xg::optim {

struct AdagradOptions {
  double lr = 1e-2;
  double lr_decay = 0;
  double weight_decay = 0;
  double initial_accumulator_value = 0;
  double eps = 1e-10;
  Fields fields() {
    return {{"lr", &lr}, {"lr_decay", &lr_decay}, {"weight_decay", &weight_decay},
            {"initial_accumulator_value", &initial_accumulator_value}, {"eps", &eps}};
  }
};

struct AdagradState {
  double step = 0;
  Tensor sum;
  Fields scalars() { return {{"step", &step}}; }
  TensorFields tensors() { return {{"sum", &sum}}; }
  static bool needs(const std::string&, const AdagradOptions&) { return true; }
};

class Adagrad : public OptimizerWith<AdagradOptions, AdagradState> {
 public:
  Adagrad(const TensorList& params, AdagradOptions options);
  void step() override;
};

}  // namespace xg::optim
