// The attention core as one op.
//
// Note [Fused attention]
// scaled_dot_product_attention(q, k, v) = softmax(scale·q kᵀ + mask) v, with
// q [..., L, E], k [..., S, E], v [..., S, Ev]. Composed, it is six
// whole-tensor passes over the [.., L, S] scores forward (product, scale,
// mask, max/exp/sum, divide) and as many back. Fused, it is two batched
// GEMMs around one pass per row forward — scale, mask and softmax while the
// row is in cache, written as the probabilities P, the one [.., L, S] tensor
// kept for backward — and backward
//     dv = Pᵀ g,   dP = g vᵀ,   dS = P ⊙ (dP − Σⱼ dP⊙P)  (one row pass),
//     dq = scale · dS k,   dk = scale · dSᵀ q,   dmask = sum_to(dS),
// four GEMMs and one row pass. With is_causal, row l only visits columns
// j <= l (half the exp work); the rest of P and dS is written as 0. The
// weights are not returned (nn::scaled_dot_product_attention gives them when
// asked). With create_graph the backward recomputes P from q and k in
// differentiable ops and applies the same formulas, so higher derivatives
// flow through P too.
#include <cmath>
#include <limits>

#include "kernels.hpp"
#include "op_samples.hpp"
#include "vmap.hpp"

namespace xg {

using detail::needs_grad;

namespace {

constexpr const char* kOp = "scaled_dot_product_attention";

/// Element offsets of each [L, S]-row's start in `mask`, expanded to
/// batch + [L, S], row r = (batch index)·L + l.
std::vector<std::int64_t> mask_row_offsets(const Tensor& expanded, std::int64_t rows) {
  const Shape& shape = expanded.shape();
  const Shape& strides = expanded.strides();
  const std::size_t nd = shape.size();
  std::vector<std::int64_t> offsets(static_cast<std::size_t>(rows));
  std::vector<std::int64_t> index(nd - 1, 0);  // over every dim but the last
  std::int64_t offset = 0;
  for (std::int64_t r = 0; r < rows; ++r) {
    offsets[static_cast<std::size_t>(r)] = offset;
    for (std::size_t d = nd - 1; d-- > 0;) {  // odometer over dims nd-2 ... 0
      offset += strides[d];
      if (++index[d] < shape[d]) break;
      offset -= strides[d] * shape[d];
      index[d] = 0;
    }
  }
  return offsets;
}

/// The composed attention's backward in differentiable ops (create_graph):
/// q, k, v as the user gave them, mask additive (or undefined), g shaped like
/// the output. Returns dq, dk, dv and dS shaped like the scores.
TensorList composed_backward(const Tensor& g, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                             bool causal, double scale, const Shape& scores_shape) {
  const std::int64_t L = q.size(-2), S = k.size(-2), E = q.size(-1), Ev = v.size(-1);
  const std::int64_t B = L * S == 0 ? 0 : scores_shape.numel() / (L * S);
  const Tensor q3 = reshape(q, {B, L, E}), k3 = reshape(k, {B, S, E}), v3 = reshape(v, {B, S, Ev});
  Tensor scores = reshape(matmul_transposed(q3, k3, false, true) * scale, scores_shape);
  if (mask.defined()) scores = scores + mask;
  if (causal) scores = scores + triu(full(Shape{L, S}, -INFINITY, q.dtype()), 1);
  const Tensor p = reshape(softmax(scores, -1), {B, L, S});
  const Tensor g3 = reshape(g, {B, L, Ev});
  const Tensor dv = matmul_transposed(p, g3, true, false);
  const Tensor dp = matmul_transposed(g3, v3, false, true);
  const Tensor ds = p * (dp - sum(dp * p, {-1}, true));
  return {reshape(matmul(ds, k3) * scale, q.shape()), reshape(matmul_transposed(ds, q3, true, false) * scale, k.shape()),
          reshape(dv, v.shape()), reshape(ds, scores_shape)};
}

}  // namespace

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& attn_mask,
                                    bool is_causal, std::optional<double> scale_opt) {
  if (detail::vmapping()) {
    if (auto r = detail::batch_rule(kOp, {q, k, v, attn_mask}, [&](const detail::BatchArgs& a) {
          const std::int64_t rank = a.example_rank(0);
          const Tensor mask = a.x[3].defined() ? a.aligned(3, rank) : Tensor();
          return scaled_dot_product_attention(a.lined_up(0, rank), a.lined_up(1, rank), a.lined_up(2, rank), mask, is_causal,
                                              scale_opt);
        }))
      return *r;
  }
  for (const Tensor* t : {&q, &k, &v}) detail::check_defined(*t, kOp);
  detail::check_float(q, kOp);
  XG_CHECK(k.dtype() == q.dtype() && v.dtype() == q.dtype(), kOp, "query, key and value must share a dtype, got ",
           q.dtype(), ", ", k.dtype(), ", ", v.dtype());
  const std::int64_t nd = q.dim();
  XG_CHECK(nd >= 2 && k.dim() == nd && v.dim() == nd, kOp,
           "expects query [..., L, E], key [..., S, E] and value [..., S, Ev] with the same number of dims, got ",
           q.shape(), ", ", k.shape(), ", ", v.shape());
  const Shape batch(q.shape().begin(), q.shape().end() - 2);
  XG_CHECK(Shape(k.shape().begin(), k.shape().end() - 2) == batch && Shape(v.shape().begin(), v.shape().end() - 2) == batch,
           kOp, "query, key and value must have the same batch dims, got ", q.shape(), ", ", k.shape(), ", ", v.shape());
  const std::int64_t L = q.size(-2), E = q.size(-1), S = k.size(-2), Ev = v.size(-1);
  XG_CHECK(k.size(-1) == E && v.size(-2) == S, kOp, "key must be [..., S, ", E, "] and value [..., S, Ev] with key's S, got ",
           "query ", q.shape(), ", key ", k.shape(), ", value ", v.shape());
  const double scale = scale_opt ? *scale_opt : 1.0 / std::sqrt(static_cast<double>(std::max<std::int64_t>(E, 1)));
  XG_CHECK(std::isfinite(scale), kOp, "scale must be finite, got ", scale);
  Shape scores_shape = batch;
  scores_shape.push_back(L);
  scores_shape.push_back(S);
  Tensor mask;  // additive, in q's dtype
  if (attn_mask.defined()) {
    XG_CHECK(!is_causal, kOp, "give either attn_mask or is_causal = true, not both (as in PyTorch)");
    XG_CHECK(attn_mask.dtype() == Dtype::Bool || attn_mask.dtype() == q.dtype(), kOp,
             "attn_mask must be bool (true = attend) or ", q.dtype(), " like query (added to the scores), got ",
             attn_mask.dtype());
    XG_CHECK(attn_mask.dim() <= nd && detail::broadcast_shapes(attn_mask.shape(), scores_shape, kOp) == scores_shape, kOp,
             "attn_mask of shape ", attn_mask.shape(), " does not broadcast to the scores' shape ", scores_shape);
    mask = attn_mask.dtype() == Dtype::Bool
               ? where(attn_mask, zeros(Shape{}, q.dtype()), full(Shape{}, -INFINITY, q.dtype()))
               : attn_mask;
  }
  std::int64_t B = 1;
  for (std::int64_t d : batch) B *= d;

  Tensor y, q3, k3, v3, probs;
  {
    NoGradGuard no_grad;
    q3 = reshape(q, {B, L, E});
    k3 = reshape(k, {B, S, E});
    v3 = reshape(v, {B, S, Ev});
    probs = detail::make_tensor({B, L, S}, q.dtype(), kOp);
    detail::gemm_batched(q3, k3, probs, B, L, S, E, false, true);
    Tensor expanded;
    std::vector<std::int64_t> mask_rows;
    if (mask.defined() && B * L > 0) {
      expanded = broadcast_to(mask, scores_shape);
      mask_rows = mask_row_offsets(expanded, B * L);
    }
    detail::attention_probs_kernel(probs, L, scale, expanded, mask_rows, is_causal);
    Tensor out = detail::make_tensor({B, L, Ev}, q.dtype(), kOp);
    detail::gemm_batched(probs, v3, out, B, L, Ev, S, false, false);
    Shape out_shape = batch;
    out_shape.push_back(L);
    out_shape.push_back(Ev);
    y = reshape(out, out_shape);
  }
  const bool mask_grad = mask.defined() && (mask.requires_grad() || detail::has_tangent(mask));
  if (needs_grad(TensorList{q, k, v}) || (mask_grad && needs_grad(mask))) {
    TensorList inputs{q, k, v};
    if (mask_grad) inputs.push_back(attn_mask);
    make_node(y, "ScaledDotProductAttentionBackward",
              [L, S, E, Ev, B, scale, is_causal, scores_shape, has_mask = mask_grad, q_shape = q.shape(), k_shape = k.shape(),
               v_shape = v.shape(), mask_shape = mask.defined() ? mask.shape() : Shape{},
               sq = SavedTensor(q, false), sk = SavedTensor(k, false), sv = SavedTensor(v, false),
               sq3 = SavedTensor(q3, false), sk3 = SavedTensor(k3, false), sv3 = SavedTensor(v3, false),
               sp = SavedTensor(probs, false), smask = SavedTensor(mask_grad ? attn_mask : mask, false)](
                  const Tensor& g, Node& self) -> TensorList {
                const bool want_mask = has_mask && self.needs_input_grad(3);
                Tensor m = smask.unpack(self);
                if (m.defined() && m.dtype() == Dtype::Bool)
                  m = where(m, zeros(Shape{}, g.dtype()), full(Shape{}, -INFINITY, g.dtype()));
                if (!detail::plain_backward(g, sq.unpack(self), sk.unpack(self), sv.unpack(self), m)) {
                  const TensorList d = composed_backward(g, sq.unpack(self), sk.unpack(self), sv.unpack(self), m,
                                                         is_causal, scale, scores_shape);
                  TensorList out{d[0], d[1], d[2]};
                  if (want_mask) out.push_back(sum_to(d[3], mask_shape));
                  return out;
                }
                const Tensor q3_ = sq3.unpack(self), k3_ = sk3.unpack(self), v3_ = sv3.unpack(self), p = sp.unpack(self);
                const Tensor g3 = reshape(g, {B, L, Ev});
                TensorList out(want_mask ? 4 : 3);
                if (self.needs_input_grad(2)) {
                  Tensor dv = detail::make_tensor({B, S, Ev}, g.dtype(), "backward");
                  detail::gemm_batched(p, g3, dv, B, S, Ev, L, true, false);
                  out[2] = reshape(dv, v_shape);
                }
                if (!self.needs_input_grad(0) && !self.needs_input_grad(1) && !want_mask) return out;
                Tensor ds = detail::make_tensor({B, L, S}, g.dtype(), "backward");
                detail::gemm_batched(g3, v3_, ds, B, L, S, Ev, false, true);
                detail::attention_probs_backward_kernel(ds, p, L, is_causal);
                if (want_mask) out[3] = sum_to(reshape(ds, scores_shape), mask_shape);
                if (self.needs_input_grad(0)) {
                  Tensor dq = detail::make_tensor({B, L, E}, g.dtype(), "backward");
                  detail::gemm_batched(ds, k3_, dq, B, L, E, S, false, false);
                  out[0] = reshape(dq * scale, q_shape);
                }
                if (self.needs_input_grad(1)) {
                  Tensor dk = detail::make_tensor({B, S, E}, g.dtype(), "backward");
                  detail::gemm_batched(ds, q3_, dk, B, S, E, L, true, false);
                  out[1] = reshape(dk * scale, k_shape);
                }
                return out;
              },
              inputs);
  }
  return y;
}

// ---------------------------------------------------------------- gradient-check samples
namespace detail {
std::vector<OpSample> samples_attention() {
  using L = const TensorList&;
  std::vector<OpSample> c;
  c.push_back({"scaled_dot_product_attention 3-d", [](L x) { return scaled_dot_product_attention(x[0], x[1], x[2]); },
               {{2, 3, 4}, {2, 5, 4}, {2, 5, 3}}});
  c.push_back({"scaled_dot_product_attention causal 4-d",
               [](L x) { return scaled_dot_product_attention(x[0], x[1], x[2], {}, true, 0.7); },
               {{2, 2, 4, 3}, {2, 2, 4, 3}, {2, 2, 4, 2}}});
  c.push_back({"scaled_dot_product_attention float mask broadcast",
               [](L x) { return scaled_dot_product_attention(x[0], x[1], x[2], x[3]); },
               {{2, 3, 4}, {2, 4, 4}, {2, 4, 2}, {3, 4}}});
  c.push_back({"scaled_dot_product_attention bool mask 2-d",
               [](L x) {
                 const Tensor keep = tensor({1, 0, 1, 1, 1, 1, 0, 1, 0, 1, 1, 1}, {3, 4}).to(Dtype::Bool);
                 return scaled_dot_product_attention(x[0], x[1], x[2], keep);
               },
               {{3, 2}, {4, 2}, {4, 3}}});
  return c;
}
}  // namespace detail

}  // namespace xg
