#pragma once
// Recurrent cells and the LSTM and GRU layer stacks. Gate layouts, parameter names and
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

/// What LSTM and GRU share: torch's stack of layers over a sequence [T, N, in]
/// ([N, T, in] with batch_first), with dropout on every layer's output but the
/// last (in training) and an optional second direction reading the sequence
/// backwards, its outputs concatenated after the forward ones. Parameters are
/// named weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0 and
/// weight_ih_l0_reverse, ... in torch's order, so state dicts carry over.
class RecurrentStack : public Module {
 public:
  std::string extra_repr() const override;
  std::int64_t input_size, hidden_size, num_layers;
  bool batch_first, bidirectional;
  double dropout;

 protected:
  RecurrentStack(std::string type, std::int64_t gates, std::int64_t input_size, std::int64_t hidden_size,
                 std::int64_t num_layers, bool batch_first, bool bias, double dropout, bool bidirectional);
  /// The output sequence and the final states, one [layers·directions, N, H]
  /// tensor per kind of state (h for GRU; h and c for LSTM), from `initial`
  /// (undefined: zeros).
  std::pair<Tensor, TensorList> run(const Tensor& input, const TensorList& initial);

 private:
  struct Weights {
    Tensor w_ih, w_hh, b_ih, b_hh;
  };
  std::vector<Weights> weights_;  // layer · directions + direction
  std::int64_t gates_;            // 4 for LSTM, 3 for GRU
};

/// Multi-layer, optionally bidirectional LSTM (gates i, f, g, o as in torch.nn.LSTM).
class LSTM : public RecurrentStack {
 public:
  LSTM(std::int64_t input_size, std::int64_t hidden_size, std::int64_t num_layers = 1, bool batch_first = false,
       bool bias = true, double dropout = 0.0, bool bidirectional = false);
  /// Returns (output [T, N, D·H], h_n [D·layers, N, H], c_n [D·layers, N, H]), D = 2 if bidirectional.
  std::tuple<Tensor, Tensor, Tensor> forward_sequence(const Tensor& x, const Tensor& h0 = {}, const Tensor& c0 = {});
  Tensor forward(const Tensor& x) override;  ///< the output sequence only
};

/// Multi-layer, optionally bidirectional GRU (gates r, z, n as in torch.nn.GRU).
class GRU : public RecurrentStack {
 public:
  GRU(std::int64_t input_size, std::int64_t hidden_size, std::int64_t num_layers = 1, bool batch_first = false,
      bool bias = true, double dropout = 0.0, bool bidirectional = false);
  /// Returns (output [T, N, D·H], h_n [D·layers, N, H]).
  std::pair<Tensor, Tensor> forward_sequence(const Tensor& x, const Tensor& h0 = {});
  Tensor forward(const Tensor& x) override;  ///< the output sequence only
};

}  // namespace xg::nn
