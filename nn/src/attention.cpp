#include "xgrad/nn/attention.hpp"

#include <cmath>
#include <limits>
#include <sstream>
#include <tuple>

#include "xgrad/nn/init.hpp"

namespace xg::nn {

std::pair<Tensor, Tensor> scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                                       const Tensor& attn_mask, bool is_causal) {
  XG_CHECK(q.dim() == 3 && k.dim() == 3 && v.dim() == 3 && q.size(0) == k.size(0) && k.size(0) == v.size(0) &&
               q.size(2) == k.size(2) && k.size(1) == v.size(1),
           "scaled_dot_product_attention", "expects q [B, L, d], k [B, S, d], v [B, S, dv], got ", q.shape(), ", ",
           k.shape(), ", ", v.shape());
  Tensor scores = matmul_transposed(q, k, false, true) / std::sqrt(static_cast<double>(q.size(2)));  // [B, L, S]
  if (attn_mask.defined()) scores = scores + attn_mask;
  // Position i may attend to j <= i only: the upper triangle gets −inf.
  if (is_causal) scores = scores + triu(full(Shape{q.size(1), k.size(1)}, -std::numeric_limits<double>::infinity(), q.dtype()), 1);
  const Tensor weights = softmax(scores, -1);
  return {matmul(weights, v), weights};
}

MultiheadAttention::MultiheadAttention(std::int64_t e, std::int64_t heads, bool bias, bool batch_first)
    : Module("MultiheadAttention"), embed_dim(e), num_heads(heads), batch_first(batch_first) {
  XG_CHECK(e > 0 && heads > 0 && e % heads == 0, "MultiheadAttention", "embed_dim ", e,
           " must be divisible by num_heads ", heads);
  in_proj_weight = register_parameter("in_proj_weight", empty({3 * e, e}));
  init::xavier_uniform_(in_proj_weight);
  if (bias) in_proj_bias = register_parameter("in_proj_bias", zeros({3 * e}));
  out_proj = register_module("out_proj", std::make_shared<Linear>(e, e, bias));
  if (bias) init::zeros_(out_proj->bias);
}

std::pair<Tensor, Tensor> MultiheadAttention::forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                                      const Tensor& attn_mask, bool is_causal, bool need_weights) {
  for (const Tensor* t : {&query, &key, &value})
    XG_CHECK(t->dim() == 3 && t->size(2) == embed_dim, "MultiheadAttention", "inputs must be [",
             batch_first ? "N, L, " : "L, N, ", embed_dim, "], got ", t->shape());
  // Work in [N, L, E].
  const Tensor q_in = batch_first ? query : transpose(query, 0, 1);
  const Tensor k_in = batch_first ? key : transpose(key, 0, 1);
  const Tensor v_in = batch_first ? value : transpose(value, 0, 1);
  const std::int64_t n = q_in.size(0), L = q_in.size(1), S = k_in.size(1), d = embed_dim / num_heads;
  auto project = [&](const Tensor& x, std::int64_t part) {
    Tensor y = matmul(x, transpose(narrow(in_proj_weight, 0, part * embed_dim, embed_dim), 0, 1));
    if (in_proj_bias.defined()) y = y + narrow(in_proj_bias, 0, part * embed_dim, embed_dim);
    // [N, T, E] -> [N, T, H, d] -> [N, H, T, d] -> [N·H, T, d]
    const std::int64_t t = x.size(1);
    return reshape(permute(reshape(y, {n, t, num_heads, d}), {0, 2, 1, 3}), {n * num_heads, t, d});
  };
  Tensor mask = attn_mask;
  // A bool mask marks the positions that may NOT attend, as in torch.nn.MultiheadAttention.
  if (mask.defined() && mask.dtype() == Dtype::Bool)
    mask = masked_fill(zeros(mask.shape(), q_in.dtype()), mask, -std::numeric_limits<double>::infinity());
  if (mask.defined() && mask.dim() == 2) mask = reshape(mask, {1, L, S});
  const Tensor q = project(q_in, 0), k = project(k_in, 1), v = project(v_in, 2);
  Tensor heads_out, weights;
  if (need_weights) std::tie(heads_out, weights) = nn::scaled_dot_product_attention(q, k, v, mask, is_causal);
  else heads_out = xg::scaled_dot_product_attention(q, k, v, mask, is_causal, std::nullopt);
  // [N·H, L, d] -> [N, L, E]
  const Tensor merged = reshape(permute(reshape(heads_out, {n, num_heads, L, d}), {0, 2, 1, 3}), {n, L, embed_dim});
  Tensor out = (*out_proj)(merged);
  if (!batch_first) out = transpose(out, 0, 1);
  if (!need_weights) return {out, Tensor()};
  return {out, mean(reshape(weights, {n, num_heads, L, S}), {1})};
}

Tensor MultiheadAttention::forward(const Tensor& x) { return forward(x, x, x, {}, false, false).first; }

std::string MultiheadAttention::extra_repr() const {
  std::ostringstream os;
  os << "embed_dim=" << embed_dim << ", num_heads=" << num_heads;
  return os.str();
}

}  // namespace xg::nn
