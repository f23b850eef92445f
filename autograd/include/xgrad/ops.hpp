#pragma once
// Every op, with its forward and gradient: this header is the derivative table.
// g is the incoming gradient, y the result, sum_to(x, s) sums a broadcast
// gradient back to shape s. Binary ops broadcast like NumPy and accept a
// scalar on either side. Mixed dtypes promote as in libtorch (bool < int32 <
// int64 < float; Note [Type promotion]), except that mixing float32 and
// float64 is an error: convert with to().
#include <cstdint>
#include <string>
#include <vector>

#include "xgrad/tensor.hpp"

namespace xg {

// ---- elementwise, binary (ops_elementwise.cpp)
Tensor add(const Tensor& a, const Tensor& b);      ///< y = a + b;  da = sum_to(g), db = sum_to(g)
Tensor sub(const Tensor& a, const Tensor& b);      ///< y = a - b;  da = g, db = -g
Tensor mul(const Tensor& a, const Tensor& b);      ///< y = a * b;  da = g * b, db = g * a
Tensor div(const Tensor& a, const Tensor& b);      ///< y = a / b;  da = g / b, db = -g * a / b²
Tensor pow(const Tensor& a, const Tensor& b);      ///< y = a^b;    da = g * b * a^(b-1), db = g * y * log(a) (0 where a = 0)
Tensor maximum(const Tensor& a, const Tensor& b);  ///< y = max(a, b); g goes to the larger, halved on ties
Tensor minimum(const Tensor& a, const Tensor& b);  ///< y = min(a, b); g goes to the smaller, halved on ties

Tensor add(const Tensor& a, double s);  ///< y = a + s;  da = g
Tensor sub(const Tensor& a, double s);  ///< y = a - s;  da = g
Tensor sub(double s, const Tensor& a);  ///< y = s - a;  da = -g
Tensor mul(const Tensor& a, double s);  ///< y = a * s;  da = g * s
Tensor div(const Tensor& a, double s);  ///< y = a / s;  da = g / s
Tensor div(double s, const Tensor& a);  ///< y = s / a;  da = -g * y / a
Tensor pow(const Tensor& a, double p);  ///< y = a^p;    da = g * p * a^(p-1)
Tensor pow(double s, const Tensor& a);  ///< y = s^a;    da = g * y * log(s)

// ---- elementwise, unary
Tensor neg(const Tensor& x);      ///< y = -x;        dx = -g
Tensor exp(const Tensor& x);      ///< y = eˣ;        dx = g * y
Tensor expm1(const Tensor& x);    ///< y = eˣ − 1;    dx = g * (y + 1)  (accurate near 0)
Tensor log(const Tensor& x);      ///< y = ln x;      dx = g / x
Tensor log1p(const Tensor& x);    ///< y = ln(1 + x); dx = g / (1 + x)  (accurate near 0)
Tensor sqrt(const Tensor& x);     ///< y = √x;        dx = g / (2y)
Tensor rsqrt(const Tensor& x);    ///< y = 1/√x;      dx = -g * y³ / 2
Tensor abs(const Tensor& x);      ///< y = |x|;       dx = g * sign(x)
Tensor sin(const Tensor& x);      ///< y = sin x;     dx = g * cos x
Tensor cos(const Tensor& x);      ///< y = cos x;     dx = -g * sin x
Tensor tanh(const Tensor& x);     ///< y = tanh x;    dx = g * (1 - y²)
Tensor sigmoid(const Tensor& x);  ///< y = 1/(1+e⁻ˣ); dx = g * y * (1 - y)
Tensor relu(const Tensor& x);     ///< y = max(x, 0); dx = g * (x > 0)
Tensor square(const Tensor& x);   ///< y = x²;        dx = 2 g x
Tensor clamp(const Tensor& x, double lo, double hi);  ///< dx = g where lo ≤ x ≤ hi, else 0
Tensor clamp_min(const Tensor& x, double lo);
Tensor clamp_max(const Tensor& x, double hi);
Tensor tan(const Tensor& x);      ///< y = tan x;     dx = g * (1 + y²)
Tensor asin(const Tensor& x);     ///< y = asin x;    dx = g / √(1 − x²)
Tensor acos(const Tensor& x);     ///< y = acos x;    dx = −g / √(1 − x²)
Tensor atan(const Tensor& x);     ///< y = atan x;    dx = g / (1 + x²)
Tensor sinh(const Tensor& x);     ///< y = sinh x;    dx = g * cosh x
Tensor cosh(const Tensor& x);     ///< y = cosh x;    dx = g * sinh x
Tensor reciprocal(const Tensor& x);  ///< y = 1/x;    dx = −g * y²
/// atan2(a, b): the angle of (b, a) in (−π, π]; da = g·b/(a² + b²), db = −g·a/(a² + b²)
Tensor atan2(const Tensor& a, const Tensor& b);
Tensor sign(const Tensor& x);     ///< not differentiable (gradient 0 almost everywhere)
/// Rounding (gradient 0, like torch); round takes halves to even. Integers come back as copies.
Tensor floor(const Tensor& x);
Tensor ceil(const Tensor& x);
Tensor round(const Tensor& x);
Tensor trunc(const Tensor& x);

/// Division rounding toward −∞ (integers stay integers; an integer divisor of 0
/// is an error); not differentiable.
Tensor floor_divide(const Tensor& a, const Tensor& b);
Tensor floor_divide(const Tensor& a, double s);
/// a − floor_divide(a, b)·b: the sign of b, like Python's %. da = g, db = −g·floor(a/b)
Tensor remainder(const Tensor& a, const Tensor& b);
Tensor remainder(const Tensor& a, double s);

// ---- comparisons and logic: not differentiable; the result is bool (a mask
// multiplies a float tensor directly: bool promotes to the other dtype).
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, double s);
Tensor ne(const Tensor& a, double s);
Tensor lt(const Tensor& a, double s);
Tensor le(const Tensor& a, double s);
Tensor gt(const Tensor& a, double s);
Tensor ge(const Tensor& a, double s);
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);  ///< cond ≠ 0 ? a : b; da = g * cond, db = g * (1 - cond)
Tensor logical_not(const Tensor& x);  ///< x == 0, as bool
Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);
Tensor logical_xor(const Tensor& a, const Tensor& b);

// ---- reductions (ops_reduce.cpp); dims may be negative; an empty dim list means all
Tensor sum(const Tensor& x);                                         ///< dx = expand(g)
Tensor sum(const Tensor& x, const Dims& dims, bool keepdim = false);
Tensor mean(const Tensor& x);                                        ///< dx = expand(g) / n
Tensor mean(const Tensor& x, const Dims& dims, bool keepdim = false);
Tensor max(const Tensor& x);  ///< dx = g shared evenly by the elements equal to the max
Tensor max(const Tensor& x, const Dims& dims, bool keepdim = false);
Tensor min(const Tensor& x);
Tensor min(const Tensor& x, const Dims& dims, bool keepdim = false);
/// var with `correction` (1 = unbiased, like torch); composed of mean/sub/mul/sum.
Tensor var(const Tensor& x, const Dims& dims = {}, bool keepdim = false, std::int64_t correction = 1);
/// Named std_dev, not std, so `using namespace xg;` cannot make std(x) ambiguous; x.std() also works.
Tensor std_dev(const Tensor& x, const Dims& dims = {}, bool keepdim = false, std::int64_t correction = 1);
/// (Σ|x|^p)^(1/p) over dims (all when empty); p = ±inf: max/min |x|; p = 0: the count of nonzeros.
/// dx = g·sign(x)·|x|^(p−1)/y^(p−1), 0 where y = 0.
Tensor norm(const Tensor& x, double p = 2, const Dims& dims = {}, bool keepdim = false);
Tensor any(const Tensor& x);  ///< bool: some element is nonzero
Tensor any(const Tensor& x, std::int64_t dim, bool keepdim = false);
Tensor all(const Tensor& x);  ///< bool: every element is nonzero
Tensor all(const Tensor& x, std::int64_t dim, bool keepdim = false);
/// (values, int64 indices) along one dim, like torch::max(x, dim); see Tensor::max(dim).
template <class I, IfInteger<I> = 0>
std::tuple<Tensor, Tensor> max(const Tensor& x, I dim, bool keepdim = false) { return x.max_along(dim, keepdim); }
template <class I, IfInteger<I> = 0>
std::tuple<Tensor, Tensor> min(const Tensor& x, I dim, bool keepdim = false) { return x.min_along(dim, keepdim); }
Tensor argmax(const Tensor& x);  ///< int64 index into the flattened tensor
Tensor argmax(const Tensor& x, std::int64_t dim, bool keepdim = false);  ///< int64
Tensor argmin(const Tensor& x);
Tensor argmin(const Tensor& x, std::int64_t dim, bool keepdim = false);
/// Sums g over the dims that broadcasting added or stretched, to `shape`. dx = expand(g)
Tensor sum_to(const Tensor& g, const Shape& shape);

// ---- linear algebra (ops_linalg.cpp): OpenBLAS sgemm/dgemm, transposes as flags
/// 1-d·1-d dot, 2-d·2-d, 1-d/2-d mixes, and batched N-d with the batch dims broadcast as in PyTorch.
/// y = a @ b;  da = g @ bᵀ, db = aᵀ @ g (summed over broadcast batches)
Tensor matmul(const Tensor& a, const Tensor& b);
/// y = op(a) @ op(b), op = transpose when the flag is set (2-d or 3-d, no copies).
Tensor matmul_transposed(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b);
/// The old name of matmul_transposed, kept one release so existing code still compiles.
[[deprecated("renamed matmul_transposed")]] inline Tensor matmul_t(const Tensor& a, const Tensor& b, bool transpose_a,
                                                                   bool transpose_b) {
  return matmul_transposed(a, b, transpose_a, transpose_b);
}
Tensor outer(const Tensor& a, const Tensor& b);  ///< y = a bᵀ for 1-d a, b
/// torch.einsum (ops_einsum.cpp): "ij,jk->ik", "bhqd,bhkd->bhqk", "ii" (trace),
/// "...ij,...jk" (ellipsis dims broadcast); without "->" the output is the
/// ellipsis then the letters used once, sorted. Any number of operands,
/// contracted left to right, each pair as one batched matmul.
Tensor einsum(const std::string& equation, const TensorList& operands);

// ---- views (ops_view.cpp): each shares x's storage, so writing through it
// changes x (Note [Views]); dx is the view's adjoint.
/// A view when x's strides allow it, else a copy (like libtorch); one -1 allowed. dx = reshape(g, x.shape)
Tensor reshape(const Tensor& x, const Shape& shape);
Tensor flatten(const Tensor& x, std::int64_t start_dim = 0, std::int64_t end_dim = -1);
Tensor squeeze(const Tensor& x);                      ///< drops all size-1 dims
Tensor squeeze(const Tensor& x, std::int64_t dim);
Tensor unsqueeze(const Tensor& x, std::int64_t dim);
Tensor permute(const Tensor& x, const Dims& order);   ///< dx = permute(g, inverse)
Tensor transpose(const Tensor& x, std::int64_t dim0, std::int64_t dim1);
Tensor expand(const Tensor& x, const Shape& shape);   ///< stride 0 where it repeats; -1 keeps a dim; dx = sum_to(g, x.shape)
Tensor broadcast_to(const Tensor& x, const Shape& shape);
/// Elements start, start+step, ... < end along dim (negative start/end count from the end,
/// clamped like Python slices). dx = g scattered into zeros.
Tensor slice(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step = 1);
Tensor narrow(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t length);
Tensor select(const Tensor& x, std::int64_t dim, std::int64_t index);  ///< removes dim
TensorList unbind(const Tensor& x, std::int64_t dim = 0);              ///< select of every index
/// The diagonal of the (dim1, dim2) planes, as the last dim; offset > 0 above the main one.
Tensor diagonal(const Tensor& x, std::int64_t offset = 0, std::int64_t dim1 = 0, std::int64_t dim2 = 1);
/// The upper (lower) triangle of the last two dims: elements with
/// column − row ≥ diagonal (≤ diagonal) kept, the rest 0 (never x·0, so an
/// infinity outside stays out). dx = the same triangle of g.
Tensor triu(const Tensor& x, std::int64_t diagonal = 0);
Tensor tril(const Tensor& x, std::int64_t diagonal = 0);
/// Windows of `size` every `step` along dim, as a new last dim (windows may overlap).
Tensor unfold(const Tensor& x, std::int64_t dim, std::int64_t size, std::int64_t step);
/// Any layout over x's storage (storage_offset -1: x's own), checked against the
/// storage's bounds. Differentiable when x is contiguous and the view stays within x.
Tensor as_strided(const Tensor& x, const Shape& size, const Shape& stride, std::int64_t storage_offset = -1);

// ---- shape ops that copy (ops_shape.cpp)
Tensor cat(const TensorList& xs, std::int64_t dim = 0);   ///< dx_i = slice of g
Tensor stack(const TensorList& xs, std::int64_t dim = 0);
TensorList split(const Tensor& x, std::int64_t split_size, std::int64_t dim = 0);
TensorList split(const Tensor& x, const std::vector<std::int64_t>& sizes, std::int64_t dim = 0);
TensorList chunk(const Tensor& x, std::int64_t chunks, std::int64_t dim = 0);
Tensor flip(const Tensor& x, const Dims& dims);  ///< reverses each of dims; dx = flip(g, dims)
/// Rolls each dim by its shift (wrapping around); without dims, the flattened tensor. dx = roll(g, −shifts).
Tensor roll(const Tensor& x, const std::vector<std::int64_t>& shifts, const Dims& dims = {});
Tensor roll(const Tensor& x, std::int64_t shift, std::int64_t dim);
/// Tensor.repeat: tiles x repeats[i] times along dim i (extra leading repeats add dims); dx sums g's tiles.
Tensor repeat(const Tensor& x, const Shape& repeats);
Tensor tile(const Tensor& x, const Shape& repeats);  ///< torch.tile: like repeat, missing leading repeats are 1

// ---- sorting and sampling (ops_sort.cpp): indices are int64; values are read
// with gather, so their gradient goes to the positions they came from.
/// (values, indices) along dim, stable; NaN sorts as the largest value.
std::tuple<Tensor, Tensor> sort(const Tensor& x, std::int64_t dim = -1, bool descending = false);
Tensor argsort(const Tensor& x, std::int64_t dim = -1, bool descending = false);
/// The k largest (or smallest) along dim as (values, indices), always in sorted order.
std::tuple<Tensor, Tensor> topk(const Tensor& x, std::int64_t k, std::int64_t dim = -1, bool largest = true,
                                bool sorted = true);
/// num_samples category indices per row of (unnormalised) probabilities, from the global generator.
Tensor multinomial(const Tensor& probs, std::int64_t num_samples, bool replacement = false);

// ---- operators
inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator-(const Tensor& a) { return neg(a); }
inline Tensor operator%(const Tensor& a, const Tensor& b) { return remainder(a, b); }
inline Tensor operator%(const Tensor& a, double s) { return remainder(a, s); }
inline Tensor operator==(const Tensor& a, const Tensor& b) { return eq(a, b); }
inline Tensor operator!=(const Tensor& a, const Tensor& b) { return ne(a, b); }
inline Tensor operator<(const Tensor& a, const Tensor& b) { return lt(a, b); }
inline Tensor operator<=(const Tensor& a, const Tensor& b) { return le(a, b); }
inline Tensor operator>(const Tensor& a, const Tensor& b) { return gt(a, b); }
inline Tensor operator>=(const Tensor& a, const Tensor& b) { return ge(a, b); }
inline Tensor operator==(const Tensor& a, double s) { return eq(a, s); }
inline Tensor operator!=(const Tensor& a, double s) { return ne(a, s); }
inline Tensor operator<(const Tensor& a, double s) { return lt(a, s); }
inline Tensor operator<=(const Tensor& a, double s) { return le(a, s); }
inline Tensor operator>(const Tensor& a, double s) { return gt(a, s); }
inline Tensor operator>=(const Tensor& a, double s) { return ge(a, s); }
inline Tensor operator!(const Tensor& x) { return logical_not(x); }
inline Tensor operator&&(const Tensor& a, const Tensor& b) { return logical_and(a, b); }
inline Tensor operator||(const Tensor& a, const Tensor& b) { return logical_or(a, b); }
inline Tensor operator+(const Tensor& a, double s) { return add(a, s); }
inline Tensor operator+(double s, const Tensor& a) { return add(a, s); }
inline Tensor operator-(const Tensor& a, double s) { return sub(a, s); }
inline Tensor operator-(double s, const Tensor& a) { return sub(s, a); }
inline Tensor operator*(const Tensor& a, double s) { return mul(a, s); }
inline Tensor operator*(double s, const Tensor& a) { return mul(a, s); }
inline Tensor operator/(const Tensor& a, double s) { return div(a, s); }
inline Tensor operator/(double s, const Tensor& a) { return div(s, a); }

}  // namespace xg
