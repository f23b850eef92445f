#pragma once
// SGD with momentum, dampening, Nesterov and L2 weight decay (torch.optim.SGD):
//   d = g + wd·θ;  b = μ·b + (1 − τ)·d (b = d on the first step);
//   d = nesterov ? d + μ·b : b;  θ ← θ − α·d
#include "xgrad/optim/optimizer.hpp"

namespace xg::optim {

struct SGDOptions {
  double lr = 0.01;
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;
  bool nesterov = false;
  Fields fields() { return {{"lr", &lr}, {"momentum", &momentum}, {"dampening", &dampening}, {"weight_decay", &weight_decay}}; }
};

struct SGDState {
  double step = 0;
  Tensor momentum_buffer;
  Fields scalars() { return {{"step", &step}}; }
  TensorFields tensors() { return {{"momentum_buffer", &momentum_buffer}}; }
  static bool needs(const std::string& key, const SGDOptions& o) {
    return key != "momentum_buffer" || o.momentum != 0;
  }
};

class SGD : public OptimizerWith<SGDOptions, SGDState> {
 public:
  SGD(const TensorList& params, SGDOptions options);
  void step() override;
};

}  // namespace xg::optim
