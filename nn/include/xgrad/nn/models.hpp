#pragma once
// The two reference models used by the main job, the benchmarks and the
// tutorials, built from ordinary layers.
#include <memory>

#include "xgrad/nn/layers.hpp"

namespace xg::nn::models {

/// 784-256-128-10 with ReLU, input [N, 1, 28, 28] or [N, 784].
inline std::shared_ptr<Sequential> mlp() {
  auto m = std::make_shared<Sequential>();
  m->push_back(std::make_shared<Flatten>());
  m->push_back(std::make_shared<Linear>(784, 256));
  m->push_back(std::make_shared<ReLU>());
  m->push_back(std::make_shared<Linear>(256, 128));
  m->push_back(std::make_shared<ReLU>());
  m->push_back(std::make_shared<Linear>(128, 10));
  return m;
}

/// conv(1→8, 3×3, pad 1)-relu-pool-conv(8→16, 3×3, pad 1)-relu-pool-linear(784→10), input [N, 1, 28, 28].
inline std::shared_ptr<Sequential> small_cnn() {
  Conv2dOptions same;
  same.padding = {1, 1};
  auto m = std::make_shared<Sequential>();
  m->push_back(std::make_shared<Conv2d>(1, 8, 3, same));
  m->push_back(std::make_shared<ReLU>());
  m->push_back(std::make_shared<MaxPool2d>(2));
  m->push_back(std::make_shared<Conv2d>(8, 16, 3, same));
  m->push_back(std::make_shared<ReLU>());
  m->push_back(std::make_shared<MaxPool2d>(2));
  m->push_back(std::make_shared<Flatten>());
  m->push_back(std::make_shared<Linear>(16 * 7 * 7, 10));
  return m;
}

}  // namespace xg::nn::models
