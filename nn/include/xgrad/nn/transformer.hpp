#pragma once
// The transformer layers of torch.nn, with its options, defaults, forward
// order and parameter names (self_attn.in_proj_weight, linear1.weight,
// norm1.bias, encoder.layers.0...), so a state dict moves both ways through
// safetensors. Attention weights are never materialised unless attention
// dropout needs them (the fused attention core runs).
#include <memory>
#include <string>

#include "xgrad/nn/attention.hpp"

namespace xg::nn {

/// torch.nn.TransformerEncoderLayer's / TransformerDecoderLayer's arguments.
struct TransformerLayerOptions {
  TransformerLayerOptions(std::int64_t d_model, std::int64_t nhead) : d_model(d_model), nhead(nhead) {}
  std::int64_t d_model, nhead;
  std::int64_t dim_feedforward = 2048;
  double dropout = 0.1;            ///< after attention, inside and after the feed-forward block, on attention weights
  std::string activation = "relu";  ///< "relu" or "gelu"
  double layer_norm_eps = 1e-5;
  bool batch_first = false;  ///< inputs [N, T, E] instead of [T, N, E]
  bool norm_first = false;   ///< pre-norm (x + f(norm(x))) instead of post-norm (norm(x + f(x)))
};

/// Masks follow torch.nn.MultiheadAttention: attn_mask [T, S] or [N·H, T, S],
/// bool (true = blocked) or added to the scores; key_padding_mask [N, S], bool
/// (true = padding) or added.
class TransformerEncoderLayer : public Module {
 public:
  explicit TransformerEncoderLayer(const TransformerLayerOptions& options);
  Tensor forward(const Tensor& src, const Tensor& src_mask, const Tensor& src_key_padding_mask = {},
                 bool is_causal = false);
  Tensor forward(const Tensor& src) override { return forward(src, {}); }

  TransformerLayerOptions options;
  std::shared_ptr<MultiheadAttention> self_attn;
  std::shared_ptr<Linear> linear1, linear2;
  std::shared_ptr<Dropout> dropout, dropout1, dropout2;
  std::shared_ptr<LayerNorm> norm1, norm2;
};

class TransformerDecoderLayer : public Module {
 public:
  explicit TransformerDecoderLayer(const TransformerLayerOptions& options);
  using Module::forward;  // a decoder needs memory: the single-tensor forward throws, saying so
  Tensor forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask = {}, const Tensor& memory_mask = {},
                 const Tensor& tgt_key_padding_mask = {}, const Tensor& memory_key_padding_mask = {},
                 bool tgt_is_causal = false);

  TransformerLayerOptions options;
  std::shared_ptr<MultiheadAttention> self_attn, multihead_attn;
  std::shared_ptr<Linear> linear1, linear2;
  std::shared_ptr<Dropout> dropout, dropout1, dropout2, dropout3;
  std::shared_ptr<LayerNorm> norm1, norm2, norm3;
};

/// num_layers fresh layers built from the same options (torch deep-copies
/// one layer: the same thing), then an optional final LayerNorm `norm`.
class TransformerEncoder : public Module {
 public:
  TransformerEncoder(const TransformerLayerOptions& layer, std::int64_t num_layers, bool final_norm = false);
  Tensor forward(const Tensor& src, const Tensor& mask, const Tensor& src_key_padding_mask = {}, bool is_causal = false);
  Tensor forward(const Tensor& src) override { return forward(src, {}); }
  std::shared_ptr<ModuleList> layers;
  std::shared_ptr<LayerNorm> norm;  ///< null without final_norm
};

class TransformerDecoder : public Module {
 public:
  TransformerDecoder(const TransformerLayerOptions& layer, std::int64_t num_layers, bool final_norm = false);
  using Module::forward;
  Tensor forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask = {}, const Tensor& memory_mask = {},
                 const Tensor& tgt_key_padding_mask = {}, const Tensor& memory_key_padding_mask = {},
                 bool tgt_is_causal = false);
  std::shared_ptr<ModuleList> layers;
  std::shared_ptr<LayerNorm> norm;
};

/// torch.nn.Transformer: an encoder and a decoder, each ending in a LayerNorm;
/// every parameter with more than one dim is xavier-uniform initialised, as torch does.
class Transformer : public Module {
 public:
  Transformer(const TransformerLayerOptions& layer, std::int64_t num_encoder_layers = 6,
              std::int64_t num_decoder_layers = 6);
  using Module::forward;
  Tensor forward(const Tensor& src, const Tensor& tgt, const Tensor& src_mask = {}, const Tensor& tgt_mask = {},
                 const Tensor& memory_mask = {}, const Tensor& src_key_padding_mask = {},
                 const Tensor& tgt_key_padding_mask = {}, const Tensor& memory_key_padding_mask = {});
  /// The [T, T] float mask with −inf above the diagonal (torch's generate_square_subsequent_mask).
  static Tensor generate_square_subsequent_mask(std::int64_t size, Dtype dtype = float32);
  std::shared_ptr<TransformerEncoder> encoder;
  std::shared_ptr<TransformerDecoder> decoder;
  bool batch_first;
};

}  // namespace xg::nn
