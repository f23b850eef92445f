#pragma once
// The libtorch side of the comparison: the same models, shapes and steps as
// xgrad_workloads.hpp.
#include <torch/torch.h>

namespace bench {

inline torch::nn::Sequential torch_mlp() {
  return torch::nn::Sequential(torch::nn::Flatten(), torch::nn::Linear(784, 256), torch::nn::ReLU(),
                               torch::nn::Linear(256, 128), torch::nn::ReLU(), torch::nn::Linear(128, 10));
}

inline torch::nn::Sequential torch_cnn() {
  namespace tn = torch::nn;
  return tn::Sequential(tn::Conv2d(tn::Conv2dOptions(1, 8, 3).padding(1)), tn::ReLU(), tn::MaxPool2d(2),
                        tn::Conv2d(tn::Conv2dOptions(8, 16, 3).padding(1)), tn::ReLU(), tn::MaxPool2d(2),
                        tn::Flatten(), tn::Linear(16 * 7 * 7, 10));
}

class TorchStep {
 public:
  TorchStep(torch::nn::Sequential model, std::vector<int64_t> input_shape)
      : model_(std::move(model)), opt_(model_->parameters(), torch::optim::SGDOptions(0.01)) {
    torch::manual_seed(1);
    x_ = torch::randn(input_shape);
    y_ = torch::randint(0, 10, {input_shape[0]});
  }
  void step() {
    opt_.zero_grad();
    torch::nn::functional::cross_entropy(model_->forward(x_), y_).backward();
    opt_.step();
  }

 private:
  torch::nn::Sequential model_;
  torch::optim::SGD opt_;
  torch::Tensor x_, y_;
};

inline void torch_chain(int64_t depth) {
  auto x = torch::ones({1}, torch::requires_grad());
  auto y = x;
  for (int64_t i = 0; i < depth; ++i) y = y * 1.0;
  y.backward();
}

class TorchTiny {
 public:
  TorchTiny(int op, int64_t n) : op_(op) {
    std::vector<int64_t> s{n};
    if (op == 3) {
      int64_t side = 1;
      while ((side + 1) * (side + 1) <= n) ++side;
      s = {side, side};
    }
    a_ = torch::randn(s, torch::requires_grad());
    b_ = torch::randn(s, torch::requires_grad());
    seed_ = torch::ones(s);
  }
  void forward_backward() {
    a_.mutable_grad() = torch::Tensor();
    b_.mutable_grad() = torch::Tensor();
    torch::Tensor y = op_ == 0 ? a_ + b_ : op_ == 1 ? a_ * b_ : op_ == 2 ? torch::tanh(a_) : torch::matmul(a_, b_);
    y.backward(seed_);
  }

 private:
  int op_;
  torch::Tensor a_, b_, seed_;
};

class TorchMatmul {
 public:
  explicit TorchMatmul(int64_t n)
      : a_(torch::randn({n, n}, torch::requires_grad())), b_(torch::randn({n, n}, torch::requires_grad())),
        seed_(torch::ones({n, n})) {}
  void step() {
    a_.mutable_grad() = torch::Tensor();
    b_.mutable_grad() = torch::Tensor();
    torch::matmul(a_, b_).backward(seed_);
  }

 private:
  torch::Tensor a_, b_, seed_;
};

/// conv2d forward + backward on [n, c, h, w] with `out` 3×3 filters, padding 1.
class TorchConv {
 public:
  TorchConv(int64_t n, int64_t c, int64_t hw, int64_t out)
      : x_(torch::randn({n, c, hw, hw}, torch::requires_grad())), w_(torch::randn({out, c, 3, 3}, torch::requires_grad())),
        b_(torch::randn({out}, torch::requires_grad())) {}
  void step() {
    for (auto* t : {&x_, &w_, &b_}) t->mutable_grad() = torch::Tensor();
    torch::conv2d(x_, w_, b_, 1, 1).sum().backward();
  }

 private:
  torch::Tensor x_, w_, b_;
};

}  // namespace bench
