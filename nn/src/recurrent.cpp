#include "xgrad/nn/recurrent.hpp"

#include <cmath>

#include "xgrad/nn/init.hpp"
#include "xgrad/ops_nn.hpp"

namespace xg::nn {
namespace {

void uniform_all(Module& m, std::int64_t hidden) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(hidden));
  for (Tensor& p : m.parameters(false)) init::uniform_(p, -bound, bound);
}

/// x Wᵀ + b + h Uᵀ + c, the pre-activations of every gate at once.
Tensor gates(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
             const Tensor& b_hh) {
  Tensor g = matmul_transposed(x, w_ih, false, true) + matmul_transposed(h, w_hh, false, true);
  if (b_ih.defined()) g = g + b_ih + b_hh;
  return g;
}

void check_step(const Tensor& x, std::int64_t input_size, const Tensor& h, std::int64_t hidden, const char* op) {
  XG_CHECK(x.dim() == 2 && x.size(1) == input_size, op, "input must be [N, ", input_size, "], got ", x.shape());
  XG_CHECK(h.dim() == 2 && h.size(0) == x.size(0) && h.size(1) == hidden, op, "hidden state must be [",
           x.size(0), ", ", hidden, "], got ", h.shape());
}

}  // namespace

RNNCell::RNNCell(std::int64_t in, std::int64_t hidden, bool bias) : Module("RNNCell"), hidden_size(hidden) {
  weight_ih = register_parameter("weight_ih", empty({hidden, in}));
  weight_hh = register_parameter("weight_hh", empty({hidden, hidden}));
  if (bias) {
    bias_ih = register_parameter("bias_ih", empty({hidden}));
    bias_hh = register_parameter("bias_hh", empty({hidden}));
  }
  uniform_all(*this, hidden);
}

Tensor RNNCell::forward(const Tensor& x, const Tensor& h) {
  check_step(x, weight_ih.size(1), h, hidden_size, "RNNCell");
  return tanh(gates(x, h, weight_ih, weight_hh, bias_ih, bias_hh));
}

Tensor RNNCell::forward(const Tensor& x) { return forward(x, zeros({x.size(0), hidden_size}, x.dtype())); }

LSTMCell::LSTMCell(std::int64_t in, std::int64_t hidden, bool bias) : Module("LSTMCell"), hidden_size(hidden) {
  weight_ih = register_parameter("weight_ih", empty({4 * hidden, in}));
  weight_hh = register_parameter("weight_hh", empty({4 * hidden, hidden}));
  if (bias) {
    bias_ih = register_parameter("bias_ih", empty({4 * hidden}));
    bias_hh = register_parameter("bias_hh", empty({4 * hidden}));
  }
  uniform_all(*this, hidden);
}

namespace {
std::pair<Tensor, Tensor> lstm_step(const Tensor& x, const Tensor& h, const Tensor& c, const Tensor& w_ih,
                                    const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh) {
  const TensorList g = chunk(gates(x, h, w_ih, w_hh, b_ih, b_hh), 4, 1);
  const Tensor c2 = sigmoid(g[1]) * c + sigmoid(g[0]) * tanh(g[2]);
  return {sigmoid(g[3]) * tanh(c2), c2};
}
}  // namespace

std::pair<Tensor, Tensor> LSTMCell::forward(const Tensor& x, const Tensor& h, const Tensor& c) {
  check_step(x, weight_ih.size(1), h, hidden_size, "LSTMCell");
  XG_CHECK(c.shape() == h.shape(), "LSTMCell", "cell state ", c.shape(), " must match the hidden state ", h.shape());
  return lstm_step(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh);
}

Tensor LSTMCell::forward(const Tensor& x) {
  const Tensor z = zeros({x.size(0), hidden_size}, x.dtype());
  return forward(x, z, z).first;
}

GRUCell::GRUCell(std::int64_t in, std::int64_t hidden, bool bias) : Module("GRUCell"), hidden_size(hidden) {
  weight_ih = register_parameter("weight_ih", empty({3 * hidden, in}));
  weight_hh = register_parameter("weight_hh", empty({3 * hidden, hidden}));
  if (bias) {
    bias_ih = register_parameter("bias_ih", empty({3 * hidden}));
    bias_hh = register_parameter("bias_hh", empty({3 * hidden}));
  }
  uniform_all(*this, hidden);
}

Tensor GRUCell::forward(const Tensor& x, const Tensor& h) {
  check_step(x, weight_ih.size(1), h, hidden_size, "GRUCell");
  Tensor gi = matmul_transposed(x, weight_ih, false, true), gh = matmul_transposed(h, weight_hh, false, true);
  if (bias_ih.defined()) {
    gi = gi + bias_ih;
    gh = gh + bias_hh;
  }
  const TensorList i = chunk(gi, 3, 1), hh = chunk(gh, 3, 1);
  const Tensor r = sigmoid(i[0] + hh[0]), z = sigmoid(i[1] + hh[1]);
  const Tensor n = tanh(i[2] + r * hh[2]);
  return (1.0 - z) * n + z * h;
}

Tensor GRUCell::forward(const Tensor& x) { return forward(x, zeros({x.size(0), hidden_size}, x.dtype())); }

namespace {
std::string cell_repr(const Tensor& w_ih, std::int64_t hidden, const Tensor& b_ih) {
  return std::to_string(w_ih.size(1)) + ", " + std::to_string(hidden) + (b_ih.defined() ? "" : ", bias=False");
}
}  // namespace

std::string RNNCell::extra_repr() const { return cell_repr(weight_ih, hidden_size, bias_ih); }
std::string LSTMCell::extra_repr() const { return cell_repr(weight_ih, hidden_size, bias_ih); }
std::string GRUCell::extra_repr() const { return cell_repr(weight_ih, hidden_size, bias_ih); }

std::string LSTM::extra_repr() const {
  std::string s = std::to_string(input_size) + ", " + std::to_string(hidden_size);
  if (num_layers != 1) s += ", num_layers=" + std::to_string(num_layers);
  if (!b_ih_[0].defined()) s += ", bias=False";
  if (batch_first) s += ", batch_first=True";
  return s;
}

LSTM::LSTM(std::int64_t in, std::int64_t hidden, std::int64_t layers, bool batch_first, bool bias)
    : Module("LSTM"), input_size(in), hidden_size(hidden), num_layers(layers), batch_first(batch_first) {
  XG_CHECK(in > 0 && hidden > 0 && layers > 0, "LSTM", "sizes must be positive, got input_size=", in,
           ", hidden_size=", hidden, ", num_layers=", layers);
  for (std::int64_t l = 0; l < layers; ++l) {
    const std::string s = std::to_string(l);
    w_ih_.push_back(register_parameter("weight_ih_l" + s, empty({4 * hidden, l == 0 ? in : hidden})));
    w_hh_.push_back(register_parameter("weight_hh_l" + s, empty({4 * hidden, hidden})));
    if (bias) {
      b_ih_.push_back(register_parameter("bias_ih_l" + s, empty({4 * hidden})));
      b_hh_.push_back(register_parameter("bias_hh_l" + s, empty({4 * hidden})));
    } else {
      b_ih_.emplace_back();
      b_hh_.emplace_back();
    }
  }
  uniform_all(*this, hidden);
}

std::tuple<Tensor, Tensor, Tensor> LSTM::forward_sequence(const Tensor& input, const Tensor& h0, const Tensor& c0) {
  XG_CHECK(input.dim() == 3 && input.size(2) == input_size, "LSTM", "input must be ",
           batch_first ? "[N, T, " : "[T, N, ", input_size, "], got ", input.shape());
  const Tensor x = batch_first ? transpose(input, 0, 1) : input;
  const std::int64_t steps = x.size(0), n = x.size(1);
  XG_CHECK(steps > 0, "LSTM", "the sequence length must be at least 1, got input ", input.shape(),
           " (as in PyTorch, an empty sequence has no output to return)");
  const Shape state{num_layers, n, hidden_size};
  for (const Tensor* s : {&h0, &c0})
    XG_CHECK(!s->defined() || s->shape() == state, "LSTM", "initial state must be ", state, ", got ", s->shape());
  TensorList layer_in = unbind_steps(x, steps);
  TensorList h_n, c_n;
  for (std::int64_t l = 0; l < num_layers; ++l) {
    const auto li = static_cast<std::size_t>(l);
    Tensor h = h0.defined() ? select(h0, 0, l) : zeros({n, hidden_size}, x.dtype());
    Tensor c = c0.defined() ? select(c0, 0, l) : zeros({n, hidden_size}, x.dtype());
    TensorList outs;
    for (const Tensor& xt : layer_in) {
      std::tie(h, c) = lstm_step(xt, h, c, w_ih_[li], w_hh_[li], b_ih_[li], b_hh_[li]);
      outs.push_back(h);
    }
    h_n.push_back(h);
    c_n.push_back(c);
    layer_in = std::move(outs);
  }
  Tensor out = stack(layer_in, 0);
  if (batch_first) out = transpose(out, 0, 1);
  return {out, stack(h_n, 0), stack(c_n, 0)};
}

TensorList LSTM::unbind_steps(const Tensor& x, std::int64_t steps) {
  TensorList out;
  for (std::int64_t t = 0; t < steps; ++t) out.push_back(select(x, 0, t));
  return out;
}

Tensor LSTM::forward(const Tensor& x) { return std::get<0>(forward_sequence(x)); }

}  // namespace xg::nn
