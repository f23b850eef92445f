#include "xgrad/nn/attention.hpp"

#include <cmath>
#include <limits>
#include <sstream>
#include <tuple>

#include "xgrad/nn/init.hpp"

namespace xg::nn {

namespace {

/// A bool mask (true = blocked) as an additive one (−inf where blocked).
Tensor additive(const Tensor& mask, Dtype dtype) {
  if (!mask.defined() || mask.dtype() != Dtype::Bool) return mask;
  return masked_fill(zeros(mask.shape(), dtype), mask, -std::numeric_limits<double>::infinity());
}

}  // namespace

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
                                                      const Tensor& attn_mask, bool is_causal, bool need_weights,
                                                      const Tensor& key_padding_mask) {
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
  // A bool mask marks the positions that may NOT attend, as in torch.nn.MultiheadAttention.
  Tensor mask = additive(attn_mask, q_in.dtype());
  if (mask.defined()) {
    const bool per_head = mask.dim() == 3 && mask.size(0) == n * num_heads;
    XG_CHECK((mask.dim() == 2 || per_head) && mask.size(-2) == L && mask.size(-1) == S, "MultiheadAttention",
             "attn_mask must be [L, S] = [", L, ", ", S, "] or [N·H, L, S] = [", n * num_heads, ", ", L, ", ", S,
             "], got ", attn_mask.shape());
    mask = reshape(mask, {per_head ? n : 1, per_head ? num_heads : 1, L, S});
  }
  if (key_padding_mask.defined()) {
    XG_CHECK(key_padding_mask.dim() == 2 && key_padding_mask.size(0) == n && key_padding_mask.size(1) == S,
             "MultiheadAttention", "key_padding_mask must be [N, S] = [", n, ", ", S, "], got ", key_padding_mask.shape());
    const Tensor padding = reshape(additive(key_padding_mask, q_in.dtype()), {n, 1, 1, S});
    mask = mask.defined() ? mask + padding : padding;
  }
  // Heads are batched as N·H: a mask with per-sample or per-head rows is spread to match.
  if (mask.defined())
    mask = mask.size(0) == 1 && mask.size(1) == 1 ? reshape(mask, {1, L, S})
                                                  : reshape(expand(mask, {n, num_heads, L, S}), {n * num_heads, L, S});
  const Tensor q = project(q_in, 0), k = project(k_in, 1), v = project(v_in, 2);
  Tensor heads_out, weights;
  const bool drop = dropout > 0 && is_training();
  if (need_weights || drop) {
    std::tie(heads_out, weights) = nn::scaled_dot_product_attention(q, k, v, mask, is_causal);
    if (drop) heads_out = matmul(xg::dropout(weights, dropout, true), v);
  } else {
    heads_out = xg::scaled_dot_product_attention(q, k, v, mask, is_causal, std::nullopt);
  }
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
  if (dropout > 0) os << ", dropout=" << dropout;
  return os.str();
}

}  // namespace xg::nn
