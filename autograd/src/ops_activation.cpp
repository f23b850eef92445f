// Activations and the softmax family. Composite ones reuse the primitives;
// softmax, log_softmax, logsumexp, erf and cumsum have their own nodes
// (stability, and one saved output instead of a chain of temporaries).
#include <cmath>
#include <limits>

#include "kernels.hpp"
#include "elementwise_primitive.hpp"
#include "xgrad/ops_nn.hpp"
#include "op_samples.hpp"
#include "vmap.hpp"

namespace xg {

using detail::needs_grad;

namespace {
// Unary primitives (Note [Elementwise primitives]). SiLU's one SIMD pass each
// way replaces x·σ(x)'s two nodes and three passes.
XG_PRIMITIVE(ErfPrim, "erf", "ErfBackward", Erf, Input, false)
inline Tensor ErfPrim::grad(const Tensor& g, const Tensor& x) { return g * exp(-(x * x)) * (2.0 / std::sqrt(M_PI)); }
XG_PRIMITIVE(SiluPrim, "silu", "SiluBackward", Silu, Input, true)
inline Tensor SiluPrim::grad(const Tensor& g, const Tensor& x) {
  const Tensor s = sigmoid(x);
  return g * s * (1.0 + x * (1.0 - s));
}
}  // namespace

Tensor erf(const Tensor& x) { return detail::unary<ErfPrim>(x); }

Tensor leaky_relu(const Tensor& x, double negative_slope) {
  XG_BATCHED_UNARY("leaky_relu", x, leaky_relu(p, negative_slope))
  return where(gt(x.detach(), 0.0), x, x * negative_slope);
}

// Note [Derivatives at a kink, as in PyTorch]
// At elu's kink (x = 0) and softplus's threshold (βx = threshold) the first
// derivative takes the lower branch (α, and sigmoid(threshold)), but the second
// derivative is 0 there, as PyTorch's double-backward formulas (strict x < 0,
// βx < threshold) give. So each op has its own node whose backward holds the
// lower branch's slope at the boundary as a constant: `where(lt(x, 0), x, 0)`
// has the value of min(x, 0) but no slope at 0.
Tensor elu(const Tensor& x, double alpha) {
  XG_BATCHED_UNARY("elu", x, elu(p, alpha))
  detail::check_float(x, "elu");
  Tensor y;
  {
    NoGradGuard no_grad;
    const Tensor neg = where(gt(x, 0.0), zeros_like(x), x);  // exp never sees a positive number; NaN stays NaN
    y = where(gt(x, 0.0), x, (exp(neg) - 1.0) * alpha);
  }
  if (needs_grad(x)) {
    make_node(y, "EluBackward", [alpha, sx = SavedTensor(x, false)](const Tensor& g, Node& self) -> TensorList {
      const Tensor x_ = sx.unpack(self);
      const Tensor neg = where(lt(x_.detach(), 0.0), x_, zeros_like(x_));
      return {g * where(gt(x_.detach(), 0.0), ones_like(x_), exp(neg) * alpha)};
    }, x);
  }
  return y;
}

// Note [Fused GELU]
// gelu is its own node: one pass forward and one backward (kernels_gelu.cpp)
// where the composed form made five whole-tensor passes forward and more
// backward. With create_graph the backward is the same derivative written in
// differentiable Tensor ops, so second order works (gradgradcheck rows):
// exact: Φ(x) + x·φ(x); tanh form: ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²).
Tensor gelu(const Tensor& x, bool tanh_approximation) {
  XG_BATCHED_UNARY("gelu", x, gelu(p, tanh_approximation))
  detail::check_defined(x, "gelu");
  detail::check_float(x, "gelu");
  Tensor y = detail::gelu_kernel(x, tanh_approximation);
  if (detail::has_tangent(x)) {  // a diagonal Jacobian: the backward kernel applied to the tangent
    const Tensor t = detail::tangent_of(x);
    detail::set_tangent_by(y, [&] { return detail::gelu_backward_kernel(t, x, tanh_approximation); });
  }
  if (needs_grad(x)) {
    make_node(y, "GeluBackward", [tanh_approximation, sx = SavedTensor(x, false)](const Tensor& g, Node& self) -> TensorList {
      const Tensor x_ = sx.unpack(self);
      if (detail::plain_backward(g, x_)) return {detail::gelu_backward_kernel(g, x_, tanh_approximation)};
      if (tanh_approximation) {
        const double k = std::sqrt(2.0 / M_PI);
        const Tensor t = tanh((x_ + pow(x_, 3.0) * 0.044715) * k);
        return {g * ((1.0 + t) * 0.5 + x_ * (1.0 - t * t) * (0.5 * k) * (1.0 + square(x_) * (3 * 0.044715)))};
      }
      return {g * ((1.0 + erf(x_ / std::sqrt(2.0))) * 0.5 + x_ * exp(square(x_) * -0.5) / std::sqrt(2.0 * M_PI))};
    }, x);
  }
  return y;
}

Tensor silu(const Tensor& x) { return detail::unary<SiluPrim>(x); }

Tensor softplus(const Tensor& x, double beta, double threshold) {
  XG_BATCHED_UNARY("softplus", x, softplus(p, beta, threshold))
  detail::check_float(x, "softplus");
  XG_CHECK(beta != 0.0 && std::isfinite(beta), "softplus", "beta must be finite and nonzero, got ", beta);
  Tensor y;
  {
    NoGradGuard no_grad;
    // log(1 + e^z) = max(z, 0) + log(1 + e^-|z|): exp never overflows.
    const Tensor bx = x * beta;
    const Tensor smooth = (relu(bx) + log(1.0 + exp(-abs(bx)))) / beta;
    y = where(gt(bx, threshold), x, smooth);
  }
  if (needs_grad(x)) {
    // dy/dx = sigmoid(βx) below the threshold, 1 above (Note [Derivatives at a kink, as in PyTorch]).
    // sigmoid has slope everywhere, including at βx = 0 (a fuzzing find against
    // an earlier two-branch form).
    make_node(y, "SoftplusBackward", [beta, threshold, sx = SavedTensor(x, false)](const Tensor& g, Node& self) -> TensorList {
      const Tensor bx = sx.unpack(self) * beta;
      const Tensor below = where(lt(bx.detach(), threshold), bx, full_like(bx, threshold));
      return {g * where(gt(bx.detach(), threshold), ones_like(bx), sigmoid(below))};
    }, x);
  }
  return y;
}

namespace {
/// The one dim softmax-like ops reduce over (none for a 0-d tensor).
Dims softmax_dims(const Tensor& x, std::int64_t dim, const char* op) {
  detail::check_defined(x, op);
  detail::check_float(x, op);
  const std::int64_t d = detail::wrap_dim(dim, x.dim(), op);
  return x.dim() == 0 ? Dims{} : Dims{d};
}
}  // namespace

Tensor softmax(const Tensor& x, std::int64_t dim) {
  XG_BATCHED_UNARY("softmax", x, softmax(p, bdim(dim)))
  const Dims dims = softmax_dims(x, dim, "softmax");
  Tensor y;
  {
    NoGradGuard no_grad;
    // Nothing to normalise over a zero-size dim, as in PyTorch; else Note [Fused softmax].
    y = x.numel() == 0 ? zeros_like(x) : detail::softmax_kernel(x, dims.empty() ? 0 : dims[0], false);
  }
  if (detail::has_tangent(x) && y.numel() > 0) {  // J = diag(y) − y yᵀ is symmetric: J·t is the backward of t
    const Tensor t = detail::tangent_of(x);
    detail::set_tangent_by(y, [&] { return detail::softmax_backward_kernel(t, y, dims.empty() ? 0 : dims[0], false); });
  }
  if (needs_grad(x)) {
    make_node(y, "SoftmaxBackward", [dims, sy = SavedTensor(y, true)](const Tensor& g, Node& self) -> TensorList {
      const Tensor y_ = sy.unpack(self);
      if (detail::plain_backward(g, y_) && y_.numel() > 0)
        return {detail::softmax_backward_kernel(g, y_, dims.empty() ? 0 : dims[0], false)};
      return {y_ * (g - sum(g * y_, dims, true))};
    }, x);
  }
  return y;
}

Tensor log_softmax(const Tensor& x, std::int64_t dim) {
  XG_BATCHED_UNARY("log_softmax", x, log_softmax(p, bdim(dim)))
  const Dims dims = softmax_dims(x, dim, "log_softmax");
  Tensor y;
  {
    NoGradGuard no_grad;
    y = x.numel() == 0 ? zeros_like(x) : detail::softmax_kernel(x, dims.empty() ? 0 : dims[0], true);
  }
  if (detail::has_tangent(x)) {  // J·t = t − Σ softmax·t along the dim
    const Tensor t = detail::tangent_of(x);
    detail::set_tangent_by(y, [&] { return t - sum(exp(y) * t, dims, true); });
  }
  if (needs_grad(x)) {
    make_node(y, "LogSoftmaxBackward", [dims, sy = SavedTensor(y, true)](const Tensor& g, Node& self) -> TensorList {
      const Tensor y_ = sy.unpack(self);
      if (detail::plain_backward(g, y_) && y_.numel() > 0)
        return {detail::softmax_backward_kernel(g, y_, dims.empty() ? 0 : dims[0], true)};
      return {g - exp(y_) * sum(g, dims, true)};
    }, x);
  }
  return y;
}

Tensor logsumexp(const Tensor& x, const Dims& dims, bool keepdim) {
  XG_BATCHED_UNARY("logsumexp", x, logsumexp(p, bdims(dims), keepdim))
  detail::check_defined(x, "logsumexp");
  detail::check_float(x, "logsumexp");
  Tensor y_keep;
  {
    NoGradGuard no_grad;
    if (x.numel() == 0) {
      y_keep = log(sum(x, dims, true));  // log of an empty sum: −inf, as in PyTorch
    } else {
      Tensor m = max(x, dims, true);
      // A slice of all −inf would give (−inf) − (−inf) = NaN; shift it by 0 instead.
      m = where(eq(abs(m), std::numeric_limits<double>::infinity()), zeros_like(m), m);
      y_keep = log(sum(exp(x - m), dims, true)) + m;
    }
  }
  Shape out_shape;
  if (!dims.empty() && x.dim() > 0) {  // a 0-d input stays 0-d (found by fuzzing)
    std::vector<bool> drop(static_cast<std::size_t>(x.dim()), false);
    for (std::int64_t d : dims) drop[static_cast<std::size_t>(detail::wrap_dim(d, x.dim(), "logsumexp"))] = true;
    for (std::size_t d = 0; d < drop.size(); ++d)
      if (!drop[d]) out_shape.push_back(x.shape()[d]);
  }
  Tensor y = keepdim ? y_keep : detail::alias(y_keep);
  if (!keepdim) {
    detail::impl_of(y)->shape = out_shape;
    detail::impl_of(y)->strides = detail::contiguous_strides(out_shape);  // y_keep is fresh, so contiguous
  }
  if (needs_grad(x)) {
    make_node(y, "LogsumexpBackward", [keep_shape = y_keep.shape(), sx = SavedTensor(x, false), sy = SavedTensor(y, true)](
                                       const Tensor& g, Node& self) -> TensorList {
      const Tensor x_ = sx.unpack(self);
      const Tensor y_ = reshape(sy.unpack(self), keep_shape);
      return {reshape(g, keep_shape) * exp(x_ - y_)};
    }, x);
  }
  return y;
}

Tensor cumsum(const Tensor& x, std::int64_t dim) {
  XG_BATCHED_UNARY("cumsum", x, cumsum(p, bdim(dim)))
  detail::check_defined(x, "cumsum");
  const std::int64_t d = detail::wrap_dim(dim, x.dim(), "cumsum");
  Tensor y = detail::cumulative_kernel(x, x.dim() == 0 ? 0 : d, false);
  if (needs_grad(x)) {
    make_node(y, "CumsumBackward", [d, nd = x.dim()](const Tensor& g, Node&) -> TensorList {
      if (nd == 0) return {g};
      // dx_i = Σ_{j ≥ i} g_j = total − cumsum(g)_i + g_i
      return {sum(g, {d}, true) - cumsum(g, d) + g};
    }, x);
  }
  return y;
}


namespace {
/// Σ_{j ≥ i} t_j along d.
Tensor reverse_cumsum(const Tensor& t, std::int64_t d) { return sum(t, {d}, true) - cumsum(t, d) + t; }

/// dx_i = Σ_{j ≥ i} g_j·y_j / x_i where x has no zeros. Where it has, the exact
/// form: dx_i = (Π_{k<i} x_k)·S_i with S_i = g_i + x_{i+1}·S_{i+1}, one step per
/// position (only then: it is n small ops instead of a few large ones).
Tensor cumprod_backward(const Tensor& g, const Tensor& x, const Tensor& y, std::int64_t d) {
  const bool has_zero = any(eq(x.detach(), 0.0)).item<bool>();
  if (!has_zero) return reverse_cumsum(g * y, d) / x;
  const std::int64_t n = x.size(d);
  const Tensor before = cat({ones_like(narrow(x, d, 0, 1)), narrow(y, d, 0, n - 1)}, d);
  TensorList s(static_cast<std::size_t>(n));
  s[static_cast<std::size_t>(n - 1)] = narrow(g, d, n - 1, 1);
  for (std::int64_t i = n - 2; i >= 0; --i)
    s[static_cast<std::size_t>(i)] = narrow(g, d, i, 1) + narrow(x, d, i + 1, 1) * s[static_cast<std::size_t>(i + 1)];
  return before * cat(s, d);
}
}  // namespace

Tensor cumprod(const Tensor& x, std::int64_t dim) {
  XG_BATCHED_UNARY("cumprod", x, cumprod(p, bdim(dim)))
  detail::check_defined(x, "cumprod");
  const std::int64_t d = detail::wrap_dim(dim, x.dim(), "cumprod");
  Tensor y = detail::cumulative_kernel(x, x.dim() == 0 ? 0 : d, true);
  if (needs_grad(x)) {
    make_node(y, "CumprodBackward", [d, sx = SavedTensor(x, false), sy = SavedTensor(y, true)](
                                        const Tensor& g, Node& self) -> TensorList {
      const Tensor x_ = sx.unpack(self);
      if (x_.dim() == 0 || x_.numel() == 0) return {g};
      return {cumprod_backward(g, x_, sy.unpack(self), d)};
    }, x);
  }
  return y;
}

// ---------------------------------------------------------------- gradient-check samples
// This family's rows of the op registry (op_registry.hpp): every op above on
// several shapes, in float64. A row's name starts with the op it checks, so
// the coverage test can tell when an op in the public headers has none.
namespace detail {
std::vector<OpSample> samples_activation() {
  using L = const TensorList&;
  std::vector<OpSample> c;
  const Shape s23b{2, 3}, s234b{2, 3, 4};
  c.push_back({"erf", [](L x) { return erf(x[0]); }, {s234b}});
  c.push_back({"leaky_relu", [](L x) { return leaky_relu(x[0], 0.2); }, {s234b}});
  c.push_back({"elu", [](L x) { return elu(x[0], 1.5); }, {s234b}});
  c.push_back({"gelu", [](L x) { return gelu(x[0]); }, {s23b}});
  c.push_back({"gelu tanh", [](L x) { return gelu(x[0], true); }, {s23b}});
  c.push_back({"silu", [](L x) { return silu(x[0]); }, {s23b}});
  c.push_back({"softplus", [](L x) { return softplus(x[0], 2.0, 3.0); }, {s234b}});
  c.push_back({"softmax dim 1", [](L x) { return softmax(x[0], 1); }, {s234b}});
  c.push_back({"softmax dim -1", [](L x) { return softmax(x[0], -1); }, {s23b}});
  c.push_back({"log_softmax dim 0", [](L x) { return log_softmax(x[0], 0); }, {s234b}});
  c.push_back({"logsumexp dims", [](L x) { return logsumexp(x[0], {0, 2}); }, {s234b}});
  c.push_back({"logsumexp keepdim", [](L x) { return logsumexp(x[0], {1}, true); }, {s23b}});
  c.push_back({"cumsum", [](L x) { return cumsum(x[0], 1); }, {s234b}});
  c.push_back({"cumprod", [](L x) { return cumprod(x[0], 1); }, {s234b}});
  c.push_back({"cumprod dim 0", [](L x) { return cumprod(x[0].transpose(0, 1), 0); }, {s23b}});
  return c;
}
}  // namespace detail

}  // namespace xg
