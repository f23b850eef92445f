#pragma once
// The libtorch side of the comparison: the same models, shapes and steps as
// xgrad_workloads.hpp.
#include <torch/torch.h>

#include <cmath>
#include <memory>
#include <vector>

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
  TorchConv(int64_t n, int64_t c, int64_t hw, int64_t out, int64_t k = 3, int64_t stride = 1, int64_t groups = 1)
      : x_(torch::randn({n, c, hw, hw}, torch::requires_grad())),
        w_(torch::randn({out, c / groups, k, k}, torch::requires_grad())),
        b_(torch::randn({out}, torch::requires_grad())), k_(k), stride_(stride), groups_(groups) {}
  void step() {
    for (auto* t : {&x_, &w_, &b_}) t->mutable_grad() = torch::Tensor();
    torch::conv2d(x_, w_, b_, stride_, k_ / 2, 1, groups_).sum().backward();
  }

 private:
  torch::Tensor x_, w_, b_;
  int64_t k_, stride_, groups_;
};

/// XgGpt (xgrad_workloads.hpp) in libtorch, op for op.
class TorchGpt {
 public:
  TorchGpt(int64_t batch, int64_t seq, int64_t width, int64_t heads, int64_t vocab)
      : b_(batch), t_(seq), e_(width), h_(heads), v_(vocab) {
    torch::manual_seed(1);
    const int64_t e = width, v = vocab, t = seq;
    auto param = [&](const torch::Tensor& init) {
      auto p = init.detach().requires_grad_(true);
      params_.push_back(p);
      return p;
    };
    auto weight = [&](std::vector<int64_t> shape) { return param(torch::randn(shape) * 0.02); };
    tok_ = weight({v, e});
    pos_ = weight({t, e});
    for (int i = 0; i < 3; ++i) ln_w_[i] = param(torch::ones({e})), ln_b_[i] = param(torch::zeros({e}));
    w_qkv_ = weight({3 * e, e});
    b_qkv_ = param(torch::zeros({3 * e}));
    w_o_ = weight({e, e});
    b_o_ = param(torch::zeros({e}));
    w_1_ = weight({4 * e, e});
    b_1_ = param(torch::zeros({4 * e}));
    w_2_ = weight({e, 4 * e});
    b_2_ = param(torch::zeros({e}));
    head_ = weight({v, e});
    tokens_ = torch::randint(0, v, {batch, t});
    targets_ = torch::randint(0, v, {batch * t});
    opt_ = std::make_unique<torch::optim::AdamW>(params_, torch::optim::AdamWOptions(3e-4));
  }
  void step() {
    const int64_t b = b_, t = t_, e = e_, h = h_, d = e / h, v = v_;
    opt_->zero_grad();
    auto linear = [](const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& bias) {
      return torch::matmul(x, w.t()) + bias;
    };
    torch::Tensor x = torch::embedding(tok_, tokens_) + pos_;
    auto qkv = linear(torch::layer_norm(x, {e}, ln_w_[0], ln_b_[0]), w_qkv_, b_qkv_);
    auto parts = qkv.split(e, 2);
    auto heads = [&](const torch::Tensor& p) { return p.reshape({b, t, h, d}).permute({0, 2, 1, 3}).reshape({b * h, t, d}); };
    auto q = heads(parts[0]), k = heads(parts[1]), val = heads(parts[2]);
    auto att = std::get<0>(at::_scaled_dot_product_attention(q, k, val, {}, 0.0, /*need_attn_weights=*/false,
                                                                 /*is_causal=*/true));
    auto y = att.reshape({b, h, t, d}).permute({0, 2, 1, 3}).reshape({b, t, e});
    x = x + linear(y, w_o_, b_o_);
    x = x + linear(torch::gelu(linear(torch::layer_norm(x, {e}, ln_w_[1], ln_b_[1]), w_1_, b_1_)), w_2_, b_2_);
    auto logits = torch::matmul(torch::layer_norm(x, {e}, ln_w_[2], ln_b_[2]), head_.t());
    torch::nn::functional::cross_entropy(logits.reshape({b * t, v}), targets_).backward();
    opt_->step();
  }

 private:
  int64_t b_, t_, e_, h_, v_;
  std::vector<torch::Tensor> params_;
  torch::Tensor tok_, pos_, ln_w_[3], ln_b_[3], w_qkv_, b_qkv_, w_o_, b_o_, w_1_, b_1_, w_2_, b_2_, head_;
  torch::Tensor tokens_, targets_;
  std::unique_ptr<torch::optim::AdamW> opt_;
};

/// XgAttention (xgrad_workloads.hpp) in libtorch 1.13: its own attention
/// core, at::_scaled_dot_product_attention, causal, without the weights.
class TorchAttention {
 public:
  TorchAttention(int64_t bh, int64_t t, int64_t d) {
    torch::manual_seed(1);
    q_ = torch::randn({bh, t, d}).requires_grad_(true);
    k_ = torch::randn({bh, t, d}).requires_grad_(true);
    v_ = torch::randn({bh, t, d}).requires_grad_(true);
    g_ = torch::randn({bh, t, d});
  }
  void step() {
    std::get<0>(at::_scaled_dot_product_attention(q_, k_, v_, {}, 0.0, false, true)).backward(g_);
    q_.mutable_grad().reset(), k_.mutable_grad().reset(), v_.mutable_grad().reset();
  }

 private:
  torch::Tensor q_, k_, v_, g_;
};

/// XgResBlock (xgrad_workloads.hpp) in libtorch.
class TorchResBlock {
 public:
  TorchResBlock(int64_t n, int64_t c, int64_t hw) {
    torch::manual_seed(1);
    auto param = [&](const torch::Tensor& init) {
      auto p = init.detach().requires_grad_(true);
      params_.push_back(p);
      return p;
    };
    const double fan = std::sqrt(2.0 / static_cast<double>(9 * c));
    for (int i = 0; i < 2; ++i) {
      conv_[i] = param(torch::randn({c, c, 3, 3}) * fan);
      bn_w_[i] = param(torch::ones({c}));
      bn_b_[i] = param(torch::zeros({c}));
      run_mean_[i] = torch::zeros({c});
      run_var_[i] = torch::ones({c});
    }
    fc_w_ = param(torch::randn({10, c}) * 0.1);
    fc_b_ = param(torch::zeros({10}));
    x_ = torch::randn({n, c, hw, hw});
    y_ = torch::randint(0, 10, {n});
    opt_ = std::make_unique<torch::optim::SGD>(params_, torch::optim::SGDOptions(0.01).momentum(0.9));
  }
  void step() {
    opt_->zero_grad();
    auto bn = [&](const torch::Tensor& h, int i) {
      return torch::batch_norm(h, bn_w_[i], bn_b_[i], run_mean_[i], run_var_[i], true, 0.1, 1e-5, false);
    };
    auto h = torch::relu(bn(torch::conv2d(x_, conv_[0], {}, 1, 1), 0));
    h = torch::relu(bn(torch::conv2d(h, conv_[1], {}, 1, 1), 1) + x_);
    auto pooled = h.mean({2, 3});
    torch::nn::functional::cross_entropy(torch::matmul(pooled, fc_w_.t()) + fc_b_, y_).backward();
    opt_->step();
  }

 private:
  std::vector<torch::Tensor> params_;
  torch::Tensor conv_[2], bn_w_[2], bn_b_[2], run_mean_[2], run_var_[2], fc_w_, fc_b_, x_, y_;
  std::unique_ptr<torch::optim::SGD> opt_;
};

/// XgResNet18 (xgrad_workloads.hpp) in libtorch: torchvision's resnet18
/// structure with the CIFAR stem, written with torch::nn modules.
struct TorchBasicBlockImpl : torch::nn::Module {
  TorchBasicBlockImpl(int64_t in, int64_t out, int64_t stride)
      : conv1(register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false)))),
        bn1(register_module("bn1", torch::nn::BatchNorm2d(out))),
        conv2(register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(out, out, 3).padding(1).bias(false)))),
        bn2(register_module("bn2", torch::nn::BatchNorm2d(out))) {
    if (stride != 1 || in != out) {
      down_conv = register_module("down_conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1).stride(stride).bias(false)));
      down_bn = register_module("down_bn", torch::nn::BatchNorm2d(out));
    }
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto h = torch::relu(bn1(conv1(x)));
    auto out = bn2(conv2(h));
    return torch::relu(out + (down_conv ? down_bn(down_conv(x)) : x));
  }
  torch::nn::Conv2d conv1, conv2, down_conv{nullptr};
  torch::nn::BatchNorm2d bn1, bn2, down_bn{nullptr};
};
TORCH_MODULE(TorchBasicBlock);

class TorchResNet18 {
 public:
  explicit TorchResNet18(int64_t n) {
    torch::manual_seed(1);
    stem_ = torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 64, 3).padding(1).bias(false));
    bn_ = torch::nn::BatchNorm2d(64);
    int64_t in = 64;
    for (int64_t s = 0; s < 4; ++s)
      for (int64_t b = 0; b < 2; ++b) {
        const int64_t out = 64 << s;
        blocks_->push_back(TorchBasicBlock(in, out, b == 0 && s > 0 ? 2 : 1));
        in = out;
      }
    fc_ = torch::nn::Linear(512, 10);
    std::vector<torch::Tensor> params;
    for (auto* m : std::initializer_list<torch::nn::Module*>{stem_.get(), bn_.get(), blocks_.get(), fc_.get()})
      for (auto& p : m->parameters()) params.push_back(p);
    x_ = torch::randn({n, 3, 32, 32});
    y_ = torch::randint(0, 10, {n});
    opt_ = std::make_unique<torch::optim::SGD>(params, torch::optim::SGDOptions(0.01).momentum(0.9));
  }
  void step() {
    opt_->zero_grad();
    auto h = torch::relu(bn_(stem_(x_)));
    h = blocks_->forward(h);
    torch::nn::functional::cross_entropy(fc_(h.mean({2, 3})), y_).backward();
    opt_->step();
  }

 private:
  torch::nn::Conv2d stem_{nullptr};
  torch::nn::BatchNorm2d bn_{nullptr};
  torch::nn::Sequential blocks_;
  torch::nn::Linear fc_{nullptr};
  torch::Tensor x_, y_;
  std::unique_ptr<torch::optim::SGD> opt_;
};

/// XgLstm (xgrad_workloads.hpp) in libtorch.
class TorchLstm {
 public:
  TorchLstm(int64_t t, int64_t n, int64_t in, int64_t hidden) : lstm_(torch::nn::LSTMOptions(in, hidden)) {
    torch::manual_seed(1);
    x_ = torch::randn({t, n, in});
    opt_ = std::make_unique<torch::optim::Adam>(lstm_->parameters(), torch::optim::AdamOptions(1e-3));
  }
  void step() {
    opt_->zero_grad();
    std::get<0>(lstm_->forward(x_)).square().mean().backward();
    opt_->step();
  }

 private:
  torch::nn::LSTM lstm_;
  torch::Tensor x_;
  std::unique_ptr<torch::optim::Adam> opt_;
};

}  // namespace bench
