#pragma once
// Raw kernels on contiguous buffers. Callers (the ops) have validated shapes
// and dtypes; kernels only compute. No autograd here.
#include <cstdint>
#include <vector>

#include "internal.hpp"

namespace xg::detail {

enum class UnaryOp { Neg, Exp, Log, Sqrt, Abs, Sin, Cos, Tanh, Sigmoid, Relu, Sign, Square, Reciprocal, Erf };
enum class BinaryOp { Add, Sub, Mul, Div, Pow, Max, Min, Eq, Ne, Lt, Le, Gt, Ge };

Tensor unary_kernel(UnaryOp op, const Tensor& x, const char* name);
/// g·∂y/∂x for tanh, sigmoid and relu from the saved output y, in one pass
/// (the create_graph path uses the same formulas as Tensor ops instead).
Tensor fused_unary_backward(UnaryOp op, const Tensor& g, const Tensor& y);

// Vectorised float32 transcendentals (kernels_math.cpp).
void exp_f32(const float* x, float* y, std::int64_t n);
void tanh_f32(const float* x, float* y, std::int64_t n);
void sigmoid_f32(const float* x, float* y, std::int64_t n);
/// Broadcasting a ∘ b. Comparisons give 0/1 in the input dtype.
Tensor binary_kernel(BinaryOp op, const Tensor& a, const Tensor& b, const char* name);
/// a ∘ s, or s ∘ a when scalar_left.
Tensor scalar_kernel(BinaryOp op, const Tensor& a, double s, bool scalar_left, const char* name);
Tensor clamp_kernel(const Tensor& x, double lo, double hi, const char* name);
/// 1 where lo <= x <= hi, else 0.
Tensor in_range_mask(const Tensor& x, double lo, double hi);
Tensor where_kernel(const Tensor& cond, const Tensor& a, const Tensor& b, const char* name);
/// Cumulative sum along dim (contiguous [outer, n, inner] walk).
Tensor cumsum_kernel(const Tensor& x, std::int64_t dim);
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

/// out[i...] = src[offset + Σ i_d * strides[d]], out contiguous of out_shape.
Tensor gather_strided(const Tensor& src, std::int64_t offset, const Shape& strides, const Shape& out_shape);
/// dst[offset + Σ i_d * strides[d]] = src[i...] (dst written in place).
void scatter_strided(Tensor& dst, std::int64_t offset, const Shape& strides, const Tensor& src);
Shape contiguous_strides(const Shape& shape);

/// C[b] = op(A[b]) @ op(B[b]) for each batch; a batch stride of 0 broadcasts.
void gemm_batched(const Tensor& a, const Tensor& b, Tensor& c, std::int64_t batch, std::int64_t m,
                  std::int64_t n, std::int64_t k, bool trans_a, bool trans_b, std::int64_t stride_a,
                  std::int64_t stride_b);

}  // namespace xg::detail
