#pragma once
// The workloads measured in bench/, on xgrad. The libtorch side
// (torch_workloads.hpp) builds the same models with the same shapes.
#include <cblas.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include <xgrad/xgrad.hpp>

namespace bench {

/// One SGD training step of a model on a fixed random batch.
class XgStep {
 public:
  XgStep(std::shared_ptr<xg::nn::Module> model, xg::Shape input_shape, std::int64_t batch)
      : model_(std::move(model)), opt_(model_->parameters(), {0.01}) {
    xg::manual_seed(1);
    input_shape.insert(0, batch);
    x_ = xg::randn(input_shape);
    y_ = xg::randint(0, 10, {batch});
  }
  void step() {
    opt_.zero_grad();
    xg::cross_entropy(model_->forward(x_), y_).backward();
    opt_.step();
  }

 private:
  std::shared_ptr<xg::nn::Module> model_;
  xg::optim::SGD opt_;
  xg::Tensor x_, y_;
};

inline XgStep mlp_step(std::int64_t batch = 128) { return XgStep(xg::nn::models::mlp(), {784}, batch); }
inline XgStep cnn_step(std::int64_t batch = 64) { return XgStep(xg::nn::models::small_cnn(), {1, 28, 28}, batch); }

/// The MLP step with gradients written by hand, calling the same kernels
/// (matmul_transposed, add, relu, softmax, sums) with grad mode off: what the step
/// costs without the engine.
class HandMlp {
 public:
  explicit HandMlp(std::int64_t batch = 128) {
    xg::manual_seed(1);
    auto m = xg::nn::models::mlp();
    for (auto& p : m->parameters()) params_.push_back(p.detach());
    x_ = xg::randn({batch, 784});
    y_ = xg::randint(0, 10, {batch});
    onehot_ = xg::one_hot(y_, 10, xg::float32);
  }
  void step() {
    xg::NoGradGuard no_grad;
    const xg::Tensor &w1 = params_[0], &b1 = params_[1], &w2 = params_[2], &b2 = params_[3], &w3 = params_[4], &b3 = params_[5];
    const xg::Tensor h1 = xg::relu(xg::matmul_transposed(x_, w1, false, true) + b1);
    const xg::Tensor h2 = xg::relu(xg::matmul_transposed(h1, w2, false, true) + b2);
    const xg::Tensor logits = xg::matmul_transposed(h2, w3, false, true) + b3;
    const double n = static_cast<double>(x_.size(0));
    const xg::Tensor dz3 = (xg::softmax(logits, 1) - onehot_) / n;  // d(mean CE)/d logits
    const xg::Tensor dh2 = xg::matmul_transposed(dz3, w3, false, false) * xg::gt(h2, 0.0);
    const xg::Tensor dh1 = xg::matmul_transposed(dh2, w2, false, false) * xg::gt(h1, 0.0);
    const xg::Tensor grads[6] = {xg::matmul_transposed(dh1, x_, true, false), xg::sum(dh1, {0}),
                                 xg::matmul_transposed(dh2, h1, true, false), xg::sum(dh2, {0}),
                                 xg::matmul_transposed(dz3, h2, true, false), xg::sum(dz3, {0})};
    for (int i = 0; i < 6; ++i) params_[static_cast<std::size_t>(i)].sub_(grads[i], 0.01);
  }

 private:
  xg::TensorList params_;
  xg::Tensor x_, y_, onehot_;
};

/// y = x·c repeated `depth` times, then backward, then the graph is freed.
inline void xg_chain(std::int64_t depth) {
  xg::Tensor x = xg::ones({1}, xg::TensorOptions().requires_grad(true));
  xg::Tensor y = x;
  for (std::int64_t i = 0; i < depth; ++i) y = y * 1.0;
  y.backward();
}

/// matmul n×n forward + backward (three GEMMs).
class XgMatmul {
 public:
  explicit XgMatmul(std::int64_t n)
      : a_(xg::randn({n, n}, xg::TensorOptions().requires_grad(true))),
        b_(xg::randn({n, n}, xg::TensorOptions().requires_grad(true))), seed_(xg::ones({n, n})) {}
  void step() {
    a_.zero_grad();
    b_.zero_grad();
    xg::matmul(a_, b_).backward(seed_);
  }

 private:
  xg::Tensor a_, b_, seed_;
};

/// The roofline: the same three sgemm calls, raw.
class RawSgemm {
 public:
  explicit RawSgemm(std::int64_t n) : n_(n), a_(n * n, 1.f), b_(n * n, 1.f), c_(n * n), d_(n * n), e_(n * n) {}
  void step() {
    const int n = static_cast<int>(n_);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.f, a_.data(), n, b_.data(), n, 0.f, c_.data(), n);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.f, c_.data(), n, b_.data(), n, 0.f, d_.data(), n);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, n, n, 1.f, a_.data(), n, c_.data(), n, 0.f, e_.data(), n);
  }

 private:
  std::int64_t n_;
  std::vector<float> a_, b_, c_, d_, e_;
};

enum class TinyOp { Add, Mul, Tanh, Matmul };
inline const char* name(TinyOp op) {
  switch (op) {
    case TinyOp::Add: return "add";
    case TinyOp::Mul: return "mul";
    case TinyOp::Tanh: return "tanh";
    case TinyOp::Matmul: return "matmul";
  }
  return "?";
}

/// Forward + backward of one op on tensors of n elements (matmul: √n × √n).
class XgTiny {
 public:
  XgTiny(TinyOp op, std::int64_t n) : op_(op) {
    xg::Shape s{n};
    if (op == TinyOp::Matmul) {
      std::int64_t side = 1;
      while ((side + 1) * (side + 1) <= n) ++side;
      s = {side, side};
    }
    a_ = xg::randn(s, xg::TensorOptions().requires_grad(true));
    b_ = xg::randn(s, xg::TensorOptions().requires_grad(true));
    seed_ = xg::ones(s);
  }
  xg::Tensor forward() const {
    switch (op_) {
      case TinyOp::Add: return a_ + b_;
      case TinyOp::Mul: return a_ * b_;
      case TinyOp::Tanh: return xg::tanh(a_);
      case TinyOp::Matmul: return xg::matmul(a_, b_);
    }
    return a_;
  }
  void forward_backward() {
    a_.zero_grad();
    b_.zero_grad();
    forward().backward(seed_);
  }

 private:
  TinyOp op_;
  xg::Tensor a_, b_, seed_;
};

/// conv2d forward + backward on [n, c, h, w] with `out` 3×3 filters, padding 1.
class XgConv {
 public:
  /// k×k filters, padding k/2, the given stride and groups.
  XgConv(std::int64_t n, std::int64_t c, std::int64_t hw, std::int64_t out, std::int64_t k = 3, std::int64_t stride = 1,
         std::int64_t groups = 1)
      : x_(xg::randn({n, c, hw, hw}, xg::TensorOptions().requires_grad(true))),
        w_(xg::randn({out, c / groups, k, k}, xg::TensorOptions().requires_grad(true))),
        b_(xg::randn({out}, xg::TensorOptions().requires_grad(true))) {
    opts_.padding = {k / 2, k / 2};
    opts_.stride = {stride, stride};
    opts_.groups = groups;
  }
  void step() {
    for (auto* t : {&x_, &w_, &b_}) t->zero_grad();
    xg::conv2d(x_, w_, b_, opts_).sum().backward();
  }

 private:
  xg::Tensor x_, w_, b_;
  xg::Conv2dOptions opts_;
};

/// A GPT-style decoder block's shape: batch, sequence, width, heads, vocabulary.
struct GptShape {
  std::int64_t batch, seq, width, heads, vocab;
  std::string name() const {
    return "B" + std::to_string(batch) + " T" + std::to_string(seq) + " E" + std::to_string(width) + " H" +
           std::to_string(heads) + " V" + std::to_string(vocab);
  }
};

/// One training step of a GPT-style decoder block: token + position
/// embedding, pre-LayerNorm causal multi-head attention, GELU MLP (4E),
/// final LayerNorm, LM head, mean cross-entropy, AdamW. torch_workloads.hpp
/// runs the same program op for op; the attention core is each library's
/// own (xgrad's fused scaled_dot_product_attention, libtorch 1.13's
/// at::_scaled_dot_product_attention).
class XgGpt {
 public:
  explicit XgGpt(const GptShape& s) : s_(s) {
    xg::manual_seed(1);
    const std::int64_t e = s.width, v = s.vocab, t = s.seq;
    auto param = [&](const xg::Tensor& init) {
      xg::Tensor p = init.detach();
      p.requires_grad_(true);
      params_.push_back(p);
      return p;
    };
    auto weight = [&](xg::Shape shape) { return param(xg::randn(shape) * 0.02); };
    tok_ = weight({v, e});
    pos_ = weight({t, e});
    for (int i = 0; i < 3; ++i) ln_w_[i] = param(xg::ones({e})), ln_b_[i] = param(xg::zeros({e}));
    w_qkv_ = weight({3 * e, e});
    b_qkv_ = param(xg::zeros({3 * e}));
    w_o_ = weight({e, e});
    b_o_ = param(xg::zeros({e}));
    w_1_ = weight({4 * e, e});
    b_1_ = param(xg::zeros({4 * e}));
    w_2_ = weight({e, 4 * e});
    b_2_ = param(xg::zeros({e}));
    head_ = weight({v, e});
    tokens_ = xg::randint(0, v, {s.batch, t});
    targets_ = xg::randint(0, v, {s.batch * t});
    xg::optim::AdamWOptions o;
    o.lr = 3e-4;
    opt_ = std::make_unique<xg::optim::AdamW>(params_, o);
  }
  void step() {
    const std::int64_t b = s_.batch, t = s_.seq, e = s_.width, h = s_.heads, d = e / h, v = s_.vocab;
    opt_->zero_grad();
    auto linear = [](const xg::Tensor& x, const xg::Tensor& w, const xg::Tensor& bias) {
      return xg::matmul(x, w.t()) + bias;
    };
    xg::Tensor x = xg::embedding(tok_, tokens_) + pos_;
    const xg::Tensor qkv = linear(xg::layer_norm(x, {e}, ln_w_[0], ln_b_[0]), w_qkv_, b_qkv_);
    const auto parts = xg::split(qkv, e, 2);
    auto heads = [&](const xg::Tensor& p) { return p.reshape({b, t, h, d}).permute({0, 2, 1, 3}).reshape({b * h, t, d}); };
    const xg::Tensor q = heads(parts[0]), k = heads(parts[1]), val = heads(parts[2]);
    const xg::Tensor att = xg::scaled_dot_product_attention(q, k, val, {}, /*is_causal=*/true);
    const xg::Tensor y = att.reshape({b, h, t, d}).permute({0, 2, 1, 3}).reshape({b, t, e});
    x = x + linear(y, w_o_, b_o_);
    x = x + linear(xg::gelu(linear(xg::layer_norm(x, {e}, ln_w_[1], ln_b_[1]), w_1_, b_1_)), w_2_, b_2_);
    const xg::Tensor logits = xg::matmul(xg::layer_norm(x, {e}, ln_w_[2], ln_b_[2]), head_.t());
    xg::cross_entropy(logits.reshape({b * t, v}), targets_).backward();
    opt_->step();
  }

 private:
  GptShape s_;
  xg::TensorList params_;
  xg::Tensor tok_, pos_, ln_w_[3], ln_b_[3], w_qkv_, b_qkv_, w_o_, b_o_, w_1_, b_1_, w_2_, b_2_, head_;
  xg::Tensor tokens_, targets_;
  std::unique_ptr<xg::optim::AdamW> opt_;
};

/// The attention core alone, causal: q, k, v [batch·heads, T, d] -> output,
/// then backward from a fixed gradient.
class XgAttention {
 public:
  XgAttention(std::int64_t bh, std::int64_t t, std::int64_t d) {
    xg::manual_seed(1);
    const auto o = xg::TensorOptions(xg::float32).requires_grad(true);
    q_ = xg::randn({bh, t, d}, o), k_ = xg::randn({bh, t, d}, o), v_ = xg::randn({bh, t, d}, o);
    g_ = xg::randn({bh, t, d});
  }
  void step() {
    xg::backward({xg::scaled_dot_product_attention(q_, k_, v_, {}, true)}, {g_});
    q_.zero_grad(), k_.zero_grad(), v_.zero_grad();
  }

 private:
  xg::Tensor q_, k_, v_, g_;
};

/// A ResNet basic block training step on [N, C, H, W]: conv3x3 - BatchNorm -
/// ReLU - conv3x3 - BatchNorm - residual add - ReLU, global average pool,
/// linear to 10 classes, cross-entropy, SGD with momentum.
/// torch_workloads.hpp runs the same program op for op.
class XgResBlock {
 public:
  XgResBlock(std::int64_t n, std::int64_t c, std::int64_t hw) : c_(c) {
    xg::manual_seed(1);
    auto param = [&](const xg::Tensor& init) {
      xg::Tensor p = init.detach();
      p.requires_grad_(true);
      params_.push_back(p);
      return p;
    };
    const double fan = std::sqrt(2.0 / static_cast<double>(9 * c));
    for (int i = 0; i < 2; ++i) {
      conv_[i] = param(xg::randn({c, c, 3, 3}) * fan);
      bn_w_[i] = param(xg::ones({c}));
      bn_b_[i] = param(xg::zeros({c}));
      run_mean_[i] = xg::zeros({c});
      run_var_[i] = xg::ones({c});
    }
    fc_w_ = param(xg::randn({10, c}) * 0.1);
    fc_b_ = param(xg::zeros({10}));
    x_ = xg::randn({n, c, hw, hw});
    y_ = xg::randint(0, 10, {n});
    xg::optim::SGDOptions o;
    o.lr = 0.01;
    o.momentum = 0.9;
    opt_ = std::make_unique<xg::optim::SGD>(params_, o);
  }
  void step() {
    opt_->zero_grad();
    xg::Conv2dOptions same;
    same.padding = {1, 1};
    auto bn = [&](const xg::Tensor& h, int i) {
      return xg::batch_norm(h, run_mean_[i], run_var_[i], bn_w_[i], bn_b_[i], true);
    };
    xg::Tensor h = xg::relu(bn(xg::conv2d(x_, conv_[0], {}, same), 0));
    h = xg::relu(bn(xg::conv2d(h, conv_[1], {}, same), 1) + x_);
    const xg::Tensor pooled = h.mean(std::vector<std::int64_t>{2, 3});
    xg::cross_entropy(xg::matmul(pooled, fc_w_.t()) + fc_b_, y_).backward();
    opt_->step();
  }

 private:
  std::int64_t c_;
  xg::TensorList params_;
  xg::Tensor conv_[2], bn_w_[2], bn_b_[2], run_mean_[2], run_var_[2], fc_w_, fc_b_, x_, y_;
  std::unique_ptr<xg::optim::SGD> opt_;
};

/// A whole ResNet-18 (CIFAR form: 3x3 stem, no max-pool) training step on
/// [N, 3, 32, 32]: forward, cross-entropy, backward, SGD with momentum.
class XgResNet18 {
 public:
  explicit XgResNet18(std::int64_t n) : model_(xg::nn::models::resnet18(10, /*cifar_stem=*/true)) {
    xg::manual_seed(1);
    x_ = xg::randn({n, 3, 32, 32});
    y_ = xg::randint(0, 10, {n});
    xg::optim::SGDOptions o;
    o.lr = 0.01;
    o.momentum = 0.9;
    opt_ = std::make_unique<xg::optim::SGD>(model_->parameters(), o);
  }
  void step() {
    opt_->zero_grad();
    xg::cross_entropy(model_->forward(x_), y_).backward();
    opt_->step();
  }

 private:
  std::shared_ptr<xg::nn::ResNet> model_;
  xg::Tensor x_, y_;
  std::unique_ptr<xg::optim::SGD> opt_;
};

/// An LSTM training step: sequence [T, N, in], loss mean(output²), Adam.
class XgLstm {
 public:
  XgLstm(std::int64_t t, std::int64_t n, std::int64_t in, std::int64_t hidden) : lstm_(in, hidden) {
    xg::manual_seed(1);
    x_ = xg::randn({t, n, in});
    opt_ = std::make_unique<xg::optim::Adam>(lstm_.parameters(), xg::optim::AdamOptions{});
  }
  void step() {
    opt_->zero_grad();
    xg::mean(xg::square(lstm_.forward(x_))).backward();
    opt_->step();
  }

 private:
  xg::nn::LSTM lstm_;
  xg::Tensor x_;
  std::unique_ptr<xg::optim::Adam> opt_;
};

}  // namespace bench
