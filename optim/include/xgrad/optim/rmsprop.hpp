#pragma once
// RMSprop (torch.optim.RMSprop; L2 weight decay on the gradient):
//   s = αs + (1 − α)g²;  centered: a = αa + (1 − α)g, r = √(s − a²) + ε, else r = √s + ε
//   momentum μ > 0: b = μb + g/r, θ ← θ − lr·b;  else θ ← θ − lr·g/r
#include "xgrad/optim/optimizer.hpp"

namespace xg::optim {

struct RMSpropOptions {
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0;
  double momentum = 0;
  bool centered = false;
  Fields fields() {
    return {{"lr", &lr}, {"alpha", &alpha}, {"eps", &eps}, {"weight_decay", &weight_decay}, {"momentum", &momentum}};
  }
};

struct RMSpropState {
  double step = 0;
  Tensor square_avg, grad_avg, momentum_buffer;
  Fields scalars() { return {{"step", &step}}; }
  TensorFields tensors() {
    return {{"square_avg", &square_avg}, {"grad_avg", &grad_avg}, {"momentum_buffer", &momentum_buffer}};
  }
  static bool needs(const std::string& key, const RMSpropOptions& o) {
    return key == "square_avg" || (key == "grad_avg" && o.centered) || (key == "momentum_buffer" && o.momentum > 0);
  }
};

class RMSprop : public OptimizerWith<RMSpropOptions, RMSpropState> {
 public:
  RMSprop(const TensorList& params, RMSpropOptions options);
  void step() override;
};

}  // namespace xg::optim
