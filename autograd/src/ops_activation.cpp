// Activations and the softmax family. Composite ones reuse the primitives;
// softmax, log_softmax, logsumexp, erf and cumsum have their own nodes
// (stability, and one saved output instead of a chain of temporaries).
#include <cmath>
#include <limits>

#include "kernels.hpp"
#include "xgrad/ops_nn.hpp"

namespace xg {

using detail::needs_grad;
using detail::record;

Tensor erf(const Tensor& x) {
  Tensor y = detail::unary_kernel(detail::UnaryOp::Erf, x, "erf");
  if (needs_grad(x)) {
    record(y, "ErfBackward", [sx = SavedTensor(x, false)](const Tensor& g, Node& self) -> TensorList {
      const Tensor x_ = sx.unpack(self);
      return {g * exp(-(x_ * x_)) * (2.0 / std::sqrt(M_PI))};
    }, x);
  }
  return y;
}

Tensor leaky_relu(const Tensor& x, double negative_slope) {
  return where(gt(x.detach(), 0.0), x, x * negative_slope);
}

Tensor elu(const Tensor& x, double alpha) {
  // exp only sees x <= 0, so the unused branch never overflows into a NaN gradient.
  return where(gt(x.detach(), 0.0), x, (exp(clamp_max(x, 0.0)) - 1.0) * alpha);
}

Tensor gelu(const Tensor& x, bool tanh_approximation) {
  if (tanh_approximation) {
    const double k = std::sqrt(2.0 / M_PI);
    return x * 0.5 * (1.0 + tanh((x + pow(x, 3.0) * 0.044715) * k));
  }
  return x * 0.5 * (1.0 + erf(x / std::sqrt(2.0)));
}

Tensor silu(const Tensor& x) { return x * sigmoid(x); }

Tensor softplus(const Tensor& x, double beta, double threshold) {
  const Tensor bx = x * beta;
  // log(1 + e^z) as two branches that are each smooth and agree in value
  // and slope at 0: z + log(1 + e^-z) for z > 0, log(1 + e^z) otherwise.
  // Each exp sees only non-positive numbers (clamped), so the unused branch
  // never overflows into a NaN gradient. (relu(z) + log(1 + e^-|z|) has the
  // right values but a zero slope at z = 0 from its two kinks; found by fuzzing.)
  const Tensor positive = gt(bx.detach(), 0.0);
  const Tensor smooth = where(positive, bx + log(1.0 + exp(-clamp_min(bx, 0.0))), log(1.0 + exp(clamp_max(bx, 0.0)))) / beta;
  return where(gt(bx.detach(), threshold), x, smooth);
}

namespace {
/// The one dim softmax-like ops reduce over (none for a 0-d tensor).
Dims softmax_dims(const Tensor& x, std::int64_t dim, const char* op) {
  detail::check_defined(x, op);
  const std::int64_t d = detail::wrap_dim(dim, x.dim(), op);
  return x.dim() == 0 ? Dims{} : Dims{d};
}
}  // namespace

Tensor softmax(const Tensor& x, std::int64_t dim) {
  const Dims dims = softmax_dims(x, dim, "softmax");
  Tensor y;
  {
    NoGradGuard no_grad;
    const Tensor e = exp(x - max(x, dims, true));
    y = e / sum(e, dims, true);
  }
  if (needs_grad(x)) {
    record(y, "SoftmaxBackward", [dims, sy = SavedTensor(y, true)](const Tensor& g, Node& self) -> TensorList {
      const Tensor y_ = sy.unpack(self);
      return {y_ * (g - sum(g * y_, dims, true))};
    }, x);
  }
  return y;
}

Tensor log_softmax(const Tensor& x, std::int64_t dim) {
  const Dims dims = softmax_dims(x, dim, "log_softmax");
  Tensor y;
  {
    NoGradGuard no_grad;
    const Tensor shifted = x - max(x, dims, true);
    y = shifted - log(sum(exp(shifted), dims, true));
  }
  if (needs_grad(x)) {
    record(y, "LogSoftmaxBackward", [dims, sy = SavedTensor(y, true)](const Tensor& g, Node& self) -> TensorList {
      return {g - exp(sy.unpack(self)) * sum(g, dims, true)};
    }, x);
  }
  return y;
}

Tensor logsumexp(const Tensor& x, const Dims& dims, bool keepdim) {
  detail::check_defined(x, "logsumexp");
  Tensor y_keep;
  {
    NoGradGuard no_grad;
    Tensor m = max(x, dims, true);
    // A slice of all −inf would give (−inf) − (−inf) = NaN; shift it by 0 instead.
    m = where(eq(abs(m), std::numeric_limits<double>::infinity()), zeros_like(m), m);
    y_keep = log(sum(exp(x - m), dims, true)) + m;
  }
  Shape out_shape;
  if (!dims.empty() && x.dim() > 0) {  // a 0-d input stays 0-d (found by fuzzing)
    std::vector<bool> drop(static_cast<std::size_t>(x.dim()), false);
    for (std::int64_t d : dims) drop[static_cast<std::size_t>(detail::wrap_dim(d, x.dim(), "logsumexp"))] = true;
    for (std::size_t d = 0; d < drop.size(); ++d)
      if (!drop[d]) out_shape.push_back(x.shape()[d]);
  }
  Tensor y = keepdim ? y_keep : detail::alias(y_keep);
  if (!keepdim) y.impl()->shape = out_shape;
  if (needs_grad(x)) {
    record(y, "LogsumexpBackward", [keep_shape = y_keep.shape(), sx = SavedTensor(x, false), sy = SavedTensor(y, true)](
                                       const Tensor& g, Node& self) -> TensorList {
      const Tensor x_ = sx.unpack(self);
      const Tensor y_ = reshape(sy.unpack(self), keep_shape);
      return {reshape(g, keep_shape) * exp(x_ - y_)};
    }, x);
  }
  return y;
}

Tensor cumsum(const Tensor& x, std::int64_t dim) {
  detail::check_defined(x, "cumsum");
  const std::int64_t d = detail::wrap_dim(dim, x.dim(), "cumsum");
  Tensor y = detail::cumsum_kernel(x, x.dim() == 0 ? 0 : d);
  if (needs_grad(x)) {
    record(y, "CumsumBackward", [d, nd = x.dim()](const Tensor& g, Node&) -> TensorList {
      if (nd == 0) return {g};
      // dx_i = Σ_{j ≥ i} g_j = total − cumsum(g)_i + g_i
      return {sum(g, {d}, true) - cumsum(g, d) + g};
    }, x);
  }
  return y;
}

}  // namespace xg
