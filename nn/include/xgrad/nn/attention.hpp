#pragma once
// Scaled dot-product attention and multi-head attention (libtorch layout:
// in_proj_weight [3E, E], in_proj_bias [3E], out_proj).
#include <memory>
#include <utility>

#include "xgrad/nn/layers.hpp"

namespace xg::nn {

/// q [B, L, d], k [B, S, d], v [B, S, dv] -> [B, L, dv]. attn_mask (optional,
/// broadcast to [B, L, S]) is added to the scores (use −inf to block);
/// is_causal blocks positions j > i. Returns (output, attention weights),
/// composed of differentiable ops; xg::scaled_dot_product_attention is the
/// fused op for when the weights are not needed.
std::pair<Tensor, Tensor> scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                                       const Tensor& attn_mask = {}, bool is_causal = false);

class MultiheadAttention : public Module {
 public:
  MultiheadAttention(std::int64_t embed_dim, std::int64_t num_heads, bool bias = true, bool batch_first = false);
  /// query [L, N, E], key/value [S, N, E] (or [N, ·, E] with batch_first).
  /// attn_mask [L, S] or [N·H, L, S]: added to the scores, or bool with true
  /// where attending is not allowed (torch.nn.MultiheadAttention's meaning).
  /// Returns (output like query, attention weights averaged over heads
  /// [N, L, S]); with need_weights = false the weights are undefined and the
  /// fused xg::scaled_dot_product_attention runs (Note [Fused attention]).
  /// key_padding_mask [N, S]: bool with true at the keys to ignore (padding),
  /// or added to the scores, as torch's.
  std::pair<Tensor, Tensor> forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                    const Tensor& attn_mask = {}, bool is_causal = false, bool need_weights = true,
                                    const Tensor& key_padding_mask = {});
  Tensor forward(const Tensor& x) override;  ///< self-attention, output only (need_weights = false)
  std::string extra_repr() const override;
  Tensor in_proj_weight, in_proj_bias;
  std::shared_ptr<Linear> out_proj;
  std::int64_t embed_dim, num_heads;
  bool batch_first;
  double dropout = 0;  ///< on the attention weights, in training (torch's `dropout` argument)
};

}  // namespace xg::nn
