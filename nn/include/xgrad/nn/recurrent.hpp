#pragma once
// Recurrent cells and a multi-layer LSTM. Gate layouts, parameter names and
// initialisation (U(−1/√hidden, 1/√hidden)) follow libtorch, so state dicts
// carry over.
#include <optional>
#include <tuple>

#include "xgrad/nn/module.hpp"

namespace xg::nn {

/// h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)
class RNNCell : public Module {
 public:
  RNNCell(std::int64_t input_size, std::int64_t hidden_size, bool bias = true);
  Tensor forward(const Tensor& x, const Tensor& h);
  Tensor forward(const Tensor& x) override;  ///< from h = 0
  std::string extra_repr() const override;
  Tensor weight_ih, weight_hh, bias_ih, bias_hh;
  std::int64_t hidden_size;
};

/// Gates i, f, g, o (in that order in the weights); c' = f c + i g, h' = o tanh(c').
class LSTMCell : public Module {
 public:
  LSTMCell(std::int64_t input_size, std::int64_t hidden_size, bool bias = true);
  std::pair<Tensor, Tensor> forward(const Tensor& x, const Tensor& h, const Tensor& c);
  Tensor forward(const Tensor& x) override;  ///< h' from h = c = 0
  std::string extra_repr() const override;
  Tensor weight_ih, weight_hh, bias_ih, bias_hh;
  std::int64_t hidden_size;
};

/// Gates r, z, n; n = tanh(W_in x + b_in + r (W_hn h + b_hn)), h' = (1 − z) n + z h.
class GRUCell : public Module {
 public:
  GRUCell(std::int64_t input_size, std::int64_t hidden_size, bool bias = true);
  Tensor forward(const Tensor& x, const Tensor& h);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  Tensor weight_ih, weight_hh, bias_ih, bias_hh;
  std::int64_t hidden_size;
};

/// Multi-layer LSTM over a sequence [T, N, in] ([N, T, in] with batch_first).
/// Parameters are named weight_ih_l0, weight_hh_l0, bias_ih_l0, ... like torch.
class LSTM : public Module {
 public:
  LSTM(std::int64_t input_size, std::int64_t hidden_size, std::int64_t num_layers = 1, bool batch_first = false,
       bool bias = true);
  /// Returns (output [T, N, H], h_n [layers, N, H], c_n [layers, N, H]).
  std::tuple<Tensor, Tensor, Tensor> forward_sequence(const Tensor& x, const Tensor& h0 = {}, const Tensor& c0 = {});
  Tensor forward(const Tensor& x) override;  ///< the output sequence only
  std::string extra_repr() const override;
  std::int64_t input_size, hidden_size, num_layers;
  bool batch_first;

 private:
  static TensorList unbind_steps(const Tensor& x, std::int64_t steps);
  std::vector<Tensor> w_ih_, w_hh_, b_ih_, b_hh_;
};

}  // namespace xg::nn
