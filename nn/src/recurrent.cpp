#include "xgrad/nn/recurrent.hpp"

#include <cmath>

#include "xgrad/nn/init.hpp"
#include "xgrad/ops_nn.hpp"
#include "repr.hpp"

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

// ---------------------------------------------------------------- LSTM and GRU layers

std::string RecurrentStack::extra_repr() const {
  std::string s = std::to_string(input_size) + ", " + std::to_string(hidden_size);
  if (num_layers != 1) s += ", num_layers=" + std::to_string(num_layers);
  if (!weights_[0].b_ih.defined()) s += ", bias=False";
  if (batch_first) s += ", batch_first=True";
  if (dropout != 0) s += ", dropout=" + py_float(dropout);
  if (bidirectional) s += ", bidirectional=True";
  return s;
}

RecurrentStack::RecurrentStack(std::string type, std::int64_t gates, std::int64_t in, std::int64_t hidden,
                               std::int64_t layers, bool batch_first, bool bias, double dropout, bool bidirectional)
    : Module(type), input_size(in), hidden_size(hidden), num_layers(layers), batch_first(batch_first),
      bidirectional(bidirectional), dropout(dropout), gates_(gates) {
  XG_CHECK(in > 0 && hidden > 0 && layers > 0, type.c_str(), "sizes must be positive, got input_size=", in,
           ", hidden_size=", hidden, ", num_layers=", layers);
  XG_CHECK(dropout >= 0 && dropout <= 1, type.c_str(), "dropout must be in [0, 1], got ", dropout);
  const std::int64_t directions = bidirectional ? 2 : 1;
  for (std::int64_t l = 0; l < layers; ++l)
    for (std::int64_t d = 0; d < directions; ++d) {
      const std::string s = std::to_string(l) + (d == 1 ? "_reverse" : "");
      Weights w;
      w.w_ih = register_parameter("weight_ih_l" + s, empty({gates * hidden, l == 0 ? in : directions * hidden}));
      w.w_hh = register_parameter("weight_hh_l" + s, empty({gates * hidden, hidden}));
      if (bias) {
        w.b_ih = register_parameter("bias_ih_l" + s, empty({gates * hidden}));
        w.b_hh = register_parameter("bias_hh_l" + s, empty({gates * hidden}));
      }
      weights_.push_back(w);
    }
  uniform_all(*this, hidden);
}

std::pair<Tensor, TensorList> RecurrentStack::run(const Tensor& input, const TensorList& initial) {
  const char* op = type_name().c_str();
  XG_CHECK(input.dim() == 3 && input.size(2) == input_size, op, "input must be ", batch_first ? "[N, T, " : "[T, N, ",
           input_size, "], got ", input.shape());
  const Tensor x = batch_first ? transpose(input, 0, 1) : input;
  const std::int64_t steps = x.size(0), n = x.size(1), directions = bidirectional ? 2 : 1;
  XG_CHECK(steps > 0, op, "the sequence length must be at least 1, got input ", input.shape(),
           " (as in PyTorch, an empty sequence has no output to return)");
  const Shape state{num_layers * directions, n, hidden_size};
  for (const Tensor& s : initial)
    XG_CHECK(!s.defined() || s.shape() == state, op, "initial state must be ", state, ", got ", s.shape());
  std::vector<TensorList> finals(initial.size());  // per kind of state, per layer and direction
  Tensor layer_in = x;
  for (std::int64_t l = 0; l < num_layers; ++l) {
    if (l > 0 && dropout > 0) layer_in = xg::dropout(layer_in, dropout, is_training());
    TensorList outputs;  // per direction: [T, N, H]
    for (std::int64_t d = 0; d < directions; ++d) {
      const Weights& w = weights_[static_cast<std::size_t>(l * directions + d)];
      // Every step's input projection in one GEMM; only h·W_hhᵀ is left inside the loop.
      Tensor projected = matmul(layer_in, w.w_ih.t());
      if (w.b_ih.defined()) projected = projected + w.b_ih;
      TensorList st;
      for (const Tensor& s : initial)
        st.push_back(s.defined() ? select(s, 0, l * directions + d) : zeros({n, hidden_size}, x.dtype()));
      TensorList outs(static_cast<std::size_t>(steps));
      for (std::int64_t k = 0; k < steps; ++k) {
        const std::int64_t t = d == 0 ? k : steps - 1 - k;
        Tensor gh = matmul_transposed(st[0], w.w_hh, false, true);
        if (w.b_hh.defined()) gh = gh + w.b_hh;
        const Tensor gi = select(projected, 0, t);
        if (gates_ == 4) {
          const TensorList g = chunk(gi + gh, 4, 1);
          st[1] = sigmoid(g[1]) * st[1] + sigmoid(g[0]) * tanh(g[2]);
          st[0] = sigmoid(g[3]) * tanh(st[1]);
        } else {
          const TensorList i = chunk(gi, 3, 1), h = chunk(gh, 3, 1);
          const Tensor r = sigmoid(i[0] + h[0]), z = sigmoid(i[1] + h[1]);
          const Tensor cand = tanh(i[2] + r * h[2]);
          st[0] = (1.0 - z) * cand + z * st[0];
        }
        outs[static_cast<std::size_t>(t)] = st[0];
      }
      for (std::size_t kind = 0; kind < st.size(); ++kind) finals[kind].push_back(st[kind]);
      outputs.push_back(stack(outs, 0));
    }
    layer_in = directions == 1 ? outputs[0] : cat(outputs, 2);
  }
  TensorList final_states;
  for (const TensorList& f : finals) final_states.push_back(stack(f, 0));
  return {batch_first ? transpose(layer_in, 0, 1) : layer_in, final_states};
}

LSTM::LSTM(std::int64_t in, std::int64_t hidden, std::int64_t layers, bool batch_first, bool bias, double dropout,
           bool bidirectional)
    : RecurrentStack("LSTM", 4, in, hidden, layers, batch_first, bias, dropout, bidirectional) {}

std::tuple<Tensor, Tensor, Tensor> LSTM::forward_sequence(const Tensor& x, const Tensor& h0, const Tensor& c0) {
  auto [out, states] = run(x, {h0, c0});
  return {out, states[0], states[1]};
}

Tensor LSTM::forward(const Tensor& x) { return std::get<0>(forward_sequence(x)); }

GRU::GRU(std::int64_t in, std::int64_t hidden, std::int64_t layers, bool batch_first, bool bias, double dropout,
         bool bidirectional)
    : RecurrentStack("GRU", 3, in, hidden, layers, batch_first, bias, dropout, bidirectional) {}

std::pair<Tensor, Tensor> GRU::forward_sequence(const Tensor& x, const Tensor& h0) {
  auto [out, states] = run(x, {h0});
  return {out, states[0]};
}

Tensor GRU::forward(const Tensor& x) { return forward_sequence(x).first; }

}  // namespace xg::nn
