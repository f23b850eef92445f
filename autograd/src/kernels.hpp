#pragma once
// Raw kernels. Callers (the ops) have validated shapes and dtypes; kernels
// only compute, and read any strides (flat-buffer kernels through dense()).
// No autograd here.
#include <cstdint>
#include <vector>

#include "internal.hpp"
#include "xgrad/ops_nn.hpp"
#include "simd/simd.hpp"

namespace xg::detail {

/// t's data, or null when t is undefined (an optional weight or bias) ...
template <class T>
const T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}
/// ... and an optional output's, or null when it is not wanted.
template <class T>
T* data_or_null(Tensor* t) {
  return t ? t->data<T>() : nullptr;
}

using UnaryOp = simd::Unary;
enum class BinaryOp { Add, Sub, Mul, Div, Pow, Max, Min, FloorDiv, Remainder, Atan2, Eq, Ne, Lt, Le, Gt, Ge };
inline bool is_comparison(BinaryOp op) { return op >= BinaryOp::Eq; }
/// The SIMD table's entry for Add..Min (the float arithmetic ops).
inline simd::Binary simd_binary_of(BinaryOp op) {
  switch (op) {
    case BinaryOp::Add: return simd::Binary::Add;
    case BinaryOp::Sub: return simd::Binary::Sub;
    case BinaryOp::Mul: return simd::Binary::Mul;
    case BinaryOp::Div: return simd::Binary::Div;
    case BinaryOp::Max: return simd::Binary::Max;
    case BinaryOp::Min: return simd::Binary::Min;
    default: return simd::Binary::Pow;
  }
}

Tensor unary_kernel(UnaryOp op, const Tensor& x, const char* name);
/// g·∂y/∂x for tanh, sigmoid and relu from the saved output y (silu: from
/// the saved input), in one pass (the create_graph path uses the same
/// formulas as Tensor ops instead).
Tensor fused_unary_backward(UnaryOp op, const Tensor& g, const Tensor& y);

/// The [outer, n, inner] view of a row-major shape around dim (n = 1 for a 0-d shape).
inline void split_around(const Shape& s, std::int64_t dim, std::int64_t& outer, std::int64_t& n, std::int64_t& inner) {
  outer = inner = 1;
  for (std::int64_t d = 0; d < dim; ++d) outer *= s[static_cast<std::size_t>(d)];
  for (std::size_t d = static_cast<std::size_t>(dim) + 1; d < s.size(); ++d) inner *= s[d];
  n = s.empty() ? 1 : s[static_cast<std::size_t>(dim)];
}

/// softmax (or log_softmax) along dim, one pass per row (Note [Fused softmax]).
Tensor softmax_kernel(const Tensor& x, std::int64_t dim, bool log);
/// Its gradient from the output y and the incoming g, one pass per row.
Tensor softmax_backward_kernel(const Tensor& g, const Tensor& y, std::int64_t dim, bool log);

/// BatchNorm over the channels of x [N, C, ...] (Note [Fused batch_norm] in
/// ops_norm.cpp): each channel's mean and biased variance (float64, [C]) ...
void batch_norm_stats_kernel(const Tensor& x, Tensor& mean, Tensor& var);
/// ... y = (x − mean)·rstd·w + b per channel (w, b may be undefined) ...
Tensor batch_norm_apply_kernel(const Tensor& x, const Tensor& mean, const Tensor& rstd, const Tensor& w, const Tensor& b);
/// ... and its gradients (a null pointer skips one; dw, db come back [C]).
/// batch_stats: mean and rstd came from x itself (training), so dx has their terms.
void batch_norm_backward_kernel(const Tensor& g, const Tensor& x, const Tensor& w, const Tensor& mean,
                                const Tensor& rstd, bool batch_stats, Tensor* dx, Tensor* dw, Tensor* db);

/// conv2d of x [N, C, H, W] with w [O, C/groups, kh, kw] and b [O] (or
/// undefined), one image at a time (Note [Fused conv2d] in ops_conv.cpp) ...
Tensor conv2d_kernel(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dOptions& opts);
/// ... and its gradients from g [N, O, oh, ow] for an input of shape
/// `image` (a null pointer skips one; x is read only for dw and may be
/// undefined without it). conv_transpose2d runs on the same two kernels.
void conv2d_backward_kernel(const Tensor& g, const Tensor& x, const Shape& image, const Tensor& w,
                            const Conv2dOptions& opts, Tensor* dx, Tensor* dw, Tensor* db);

/// Inverted dropout in one pass (Note [Fused dropout] in ops_norm.cpp): y = x·keep/(1−p)
/// with keep (bool, x's shape) drawn from (seed, element index) alone.
void dropout_kernel(const Tensor& x, double p, std::uint64_t seed, Tensor& y, Tensor& keep);
/// g·keep/(1−p).
Tensor dropout_backward_kernel(const Tensor& g, const Tensor& keep, double p);

/// The attention core's row pass (Note [Fused attention] in ops_attention.cpp):
/// each row of scores [rows, S] (row r is query r % L) becomes
/// softmax(scale·s + mask) over its visible columns (j <= r % L when causal),
/// 0 elsewhere. mask: undefined, or a float view whose row r starts
/// mask_rows[r] elements after its first element.
void attention_probs_kernel(Tensor& scores, std::int64_t L, double scale, const Tensor& mask,
                            const std::vector<std::int64_t>& mask_rows, bool causal);
/// dP → the gradient of the masked, scaled scores, in place: P ⊙ (dP − Σ dP⊙P) per row.
void attention_probs_backward_kernel(Tensor& dprobs, const Tensor& probs, std::int64_t L, bool causal);

/// Cross-entropy with class targets over rows of logits x [n, C], one pass
/// per row (Note [Fused cross_entropy] in ops_loss.cpp): the per-sample loss
/// ℓᵢ = wᵢ(1−ε)(lseᵢ − xᵢ,ₜ) + ε·kᵢ/C·(W·lseᵢ − Σ_c cw_c xᵢ,c), and each row's lse.
/// target: class per row (an ignored row has weight 0); sample_w: wᵢ; kept: kᵢ;
/// class_w: cw (undefined: all 1, W = C).
struct CrossEntropyRows {
  std::vector<std::int64_t> target;
  std::vector<double> sample_w, kept;
  Tensor class_w;
  double smoothing = 0;
};
void cross_entropy_kernel(const Tensor& x, const CrossEntropyRows& rows, Tensor& loss, Tensor& lse);
/// dx from the per-sample incoming gradient g [n].
Tensor cross_entropy_backward_kernel(const Tensor& g, const Tensor& x, const Tensor& lse, const CrossEntropyRows& rows);

/// Pointwise regression losses of d = x − t (Note [Fused pointwise losses]).
enum class PointwiseLoss { Squared, Absolute, SmoothL1, Huber };
/// f(d) per element, or (sum) their total as a 0-d tensor; param is β or δ.
Tensor pointwise_loss_kernel(PointwiseLoss kind, double param, const Tensor& x, const Tensor& t, bool sum);
/// f'(d)·g·scale, g per element or one value for every element.
Tensor pointwise_loss_backward_kernel(PointwiseLoss kind, double param, const Tensor& x, const Tensor& t,
                                      const Tensor& g, double scale);

/// GELU, exact (erf) or tanh form, and its gradient g·dy/dx, one pass each.
Tensor gelu_kernel(const Tensor& x, bool tanh_form);
Tensor gelu_backward_kernel(const Tensor& g, const Tensor& x, bool tanh_form);

/// LayerNorm over rows of n values: y, and each row's mean and 1/std
/// (float64); not centred, RMSNorm (mean 0, 1/rms).
void layer_norm_kernel(const Tensor& x, const Tensor& w, const Tensor& b, std::int64_t n, double eps, bool centred,
                       Tensor& y, Tensor& mean, Tensor& rstd);
/// Its gradients; a null pointer skips that gradient. dw and db come back [n].
void layer_norm_backward_kernel(const Tensor& g, const Tensor& x, const Tensor& w, const Tensor& mean,
                                const Tensor& rstd, std::int64_t n, bool centred, Tensor* dx, Tensor* dw, Tensor* db);

/// GroupNorm of x [N, C, ...] in `groups` groups (Note [Fused group_norm] in
/// ops_norm.cpp): y, and each (image, group) row's mean and 1/std (float64,
/// [N·groups]); w and b ([C]) may be undefined ...
void group_norm_kernel(const Tensor& x, const Tensor& w, const Tensor& b, std::int64_t groups, double eps, Tensor& y,
                       Tensor& mean, Tensor& rstd);
/// ... and its gradients (a null pointer skips one; dw and db come back [C]).
void group_norm_backward_kernel(const Tensor& g, const Tensor& x, const Tensor& w, const Tensor& mean,
                                const Tensor& rstd, std::int64_t groups, Tensor* dx, Tensor* dw, Tensor* db);

/// Broadcasting a ∘ b in the promoted dtype (Note [Type promotion] in
/// ops_elementwise.cpp); comparisons give bool.
Tensor binary_kernel(BinaryOp op, const Tensor& a, const Tensor& b, const char* name);
/// The dtype binary_kernel gives (and its checks: float32 with float64 is an error).
Dtype result_dtype(BinaryOp op, const Tensor& a, const Tensor& b, const char* name);
/// a ∘ s, or s ∘ a when scalar_left; an integer tensor stays integral with a
/// whole-number scalar and becomes float32 otherwise.
Tensor scalar_kernel(BinaryOp op, const Tensor& a, double s, bool scalar_left, const char* name);
Tensor clamp_kernel(const Tensor& x, double lo, double hi, const char* name);
/// 1 where lo <= x <= hi, else 0.
Tensor in_range_mask(const Tensor& x, double lo, double hi);
Tensor where_kernel(const Tensor& cond, const Tensor& a, const Tensor& b, const char* name);
/// Cumulative sum along dim (contiguous [outer, n, inner] walk).
/// Running sum (or product) along dim.
Tensor cumulative_kernel(const Tensor& x, std::int64_t dim, bool product);
/// Fused y = a + alpha * b in place on `a` (b broadcast to a's shape).
void add_inplace_kernel(Tensor& a, const Tensor& b, double alpha, const char* name);
void mul_inplace_kernel(Tensor& a, const Tensor& b, const char* name);
void div_inplace_kernel(Tensor& a, const Tensor& b, const char* name);
void scalar_inplace_kernel(Tensor& a, double mul, double add);  // a = a * mul + add

enum class ReduceOp { Sum, Max, Min };
/// Reduces the dims where reduce[d] is true; keepdim keeps them as size 1.
Tensor reduce_kernel(ReduceOp op, const Tensor& x, const std::vector<bool>& reduce, bool keepdim, const char* name);
/// int64 indices of the max/min along dim (first one on ties).
Tensor arg_reduce_kernel(bool is_max, const Tensor& x, std::int64_t dim, bool keepdim);

/// dst[i...] = src[i...] for any strides of either (src broadcasts to dst's
/// shape; dtypes convert). dst must not overlap src.
void copy_strided(const Tensor& dst, const Tensor& src);
/// dst[i...] += src[i...], element by element in order, so where dst's
/// elements overlap (stride 0, overlapping windows) they sum. Same dtype.
void add_strided(const Tensor& dst, const Tensor& src);
/// t itself when contiguous, else a contiguous copy (no history): what a
/// kernel that walks flat buffers reads.
Tensor dense(const Tensor& t);
/// Row-major strides and whether a layout is row-major contiguous (size-1
/// dims may have any stride; an empty tensor is contiguous), as in libtorch.
bool is_contiguous_layout(const Shape& shape, const Shape& strides);
Shape contiguous_strides(const Shape& shape);

/// C[b] = op(A[b]) @ op(B[b]) for each batch, A and B 2-d or 3-d views of
/// any strides (a batch of 1 broadcasts); transposed views become BLAS flags
/// and leading dims, other layouts are copied. C is contiguous.
void gemm_batched(const Tensor& a, const Tensor& b, Tensor& c, std::int64_t batch, std::int64_t m, std::int64_t n,
                  std::int64_t k, bool trans_a, bool trans_b);

}  // namespace xg::detail
