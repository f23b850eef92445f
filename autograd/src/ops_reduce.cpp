// Reductions. sum and max/min have their own nodes; mean, var, std and
// sum_to are composed of differentiable ops and get gradients for free.
#include <cmath>

#include "kernels.hpp"
#include "op_samples.hpp"
#include "vmap.hpp"

namespace xg {

using detail::needs_grad;

namespace {

/// Which dims a reduction removes; an empty list means all of them.
std::vector<bool> reduce_mask(const Tensor& x, const Dims& dims, const char* op) {
  detail::check_defined(x, op);
  const auto nd = static_cast<std::size_t>(x.dim());
  std::vector<bool> mask(nd, dims.empty());
  for (std::int64_t d : dims) {
    const auto w = static_cast<std::size_t>(detail::wrap_dim(d, x.dim(), op));
    if (nd == 0) continue;
    XG_CHECK(!mask[w], op, "dim ", d, " appears more than once in ", dims);
    mask[w] = true;
  }
  return mask;
}

Shape kept_shape(const Shape& in, const std::vector<bool>& mask) {
  Shape s = in;
  for (std::size_t d = 0; d < mask.size(); ++d)
    if (mask[d]) s[d] = 1;
  return s;
}

std::int64_t reduced_count(const Shape& in, const std::vector<bool>& mask) {
  std::int64_t n = 1;
  for (std::size_t d = 0; d < mask.size(); ++d)
    if (mask[d]) n *= in[d];
  return n;
}

/// The gradient of a reduction, broadcast back over the reduced dims.
Tensor expand_back(const Tensor& g, const Shape& in, const std::vector<bool>& mask) {
  return expand(reshape(g, kept_shape(in, mask)), in);
}

Tensor extremum(const Tensor& x, const Dims& dims, bool keepdim, bool is_max) {
  XG_BATCHED_UNARY(is_max ? "max" : "min", x, a_.example_rank(0) == 0 ? p.clone() : extremum(p, bdims(dims), keepdim, is_max))
  const char* name = is_max ? "max" : "min";
  const auto mask = reduce_mask(x, dims, name);
  XG_CHECK(x.numel() > 0, name, "cannot reduce an empty tensor of shape ", x.shape(), " (no identity)");
  Tensor y = detail::reduce_kernel(is_max ? detail::ReduceOp::Max : detail::ReduceOp::Min, x, mask, keepdim, name);
  if (needs_grad(x)) {
    make_node(y, is_max ? "MaxBackward" : "MinBackward",
           [mask, sx = SavedTensor(x, false), sy = SavedTensor(y, true)](const Tensor& g, Node& self) -> TensorList {
             // Ties share the gradient evenly, as torch does for amax/amin.
             const Tensor x_ = sx.unpack(self).detach();
             const Tensor y_ = reshape(sy.unpack(self).detach(), kept_shape(x_.shape(), mask));
             const Tensor winners = eq(x_, y_).to(x_.dtype());
             const Tensor share = winners / detail::reduce_kernel(detail::ReduceOp::Sum, winners, mask, true, "max");
             return {expand_back(g, x_.shape(), mask) * share};
           }, x);
  }
  return y;
}

Tensor arg_extremum(const Tensor& x, std::int64_t dim, bool keepdim, bool is_max) {
  XG_BATCHED_UNARY(is_max ? "argmax" : "argmin", x, arg_extremum(p, bdim(dim), keepdim, is_max))
  const char* name = is_max ? "argmax" : "argmin";
  detail::check_defined(x, name);
  XG_CHECK(x.numel() > 0, name, "cannot take the ", name, " of an empty tensor of shape ", x.shape());
  const std::int64_t d = detail::wrap_dim(dim, x.dim(), name);
  return detail::arg_reduce_kernel(is_max, x, x.dim() == 0 ? 0 : d, keepdim && x.dim() > 0);
}

}  // namespace

namespace {
/// sum_to on a batch p (examples along dim 0) of examples that sum to `shape`.
Tensor batched_sum_to(const Tensor& p, const Shape& shape) {
  const Shape example(p.shape().begin() + 1, p.shape().end());
  if (example == shape) return p;
  XG_CHECK(shape.size() <= example.size(), "sum_to", "cannot sum shape ", example, " to the larger rank shape ", shape);
  const std::size_t lead = example.size() - shape.size();
  Dims dims;
  for (std::size_t d = 0; d < example.size(); ++d)
    if (d < lead || (shape[d - lead] == 1 && example[d] != 1)) dims.push_back(static_cast<std::int64_t>(d + 1));
  Shape out = shape;
  out.insert(0, p.size(0));
  return reshape(dims.empty() ? p : sum(p, dims, true), out);
}
}  // namespace

Tensor sum(const Tensor& x, const Dims& dims, bool keepdim) {
  XG_BATCHED_UNARY("sum", x, a_.example_rank(0) == 0 ? p.clone() : sum(p, bdims(dims), keepdim))
  const auto mask = reduce_mask(x, dims, "sum");
  Tensor y = detail::reduce_kernel(detail::ReduceOp::Sum, x, mask, keepdim, "sum");
  if (needs_grad(x)) {
    detail::linear_tangent(y, x, [&](const Tensor& t) { return sum(t, dims, keepdim); });
    make_node(y, "SumBackward", [mask, in = x.shape()](const Tensor& g, Node&) -> TensorList {
      return {expand_back(g, in, mask)};
    }, x);
  }
  return y;
}

Tensor sum(const Tensor& x) { return sum(x, Dims{}, false); }

Tensor any(const Tensor& x) { return gt(sum(ne(x, 0.0)), 0.0); }
Tensor any(const Tensor& x, std::int64_t dim, bool keepdim) { return gt(sum(ne(x, 0.0), {dim}, keepdim), 0.0); }
Tensor all(const Tensor& x) { return eq(sum(eq(x, 0.0)), 0.0); }
Tensor all(const Tensor& x, std::int64_t dim, bool keepdim) { return eq(sum(eq(x, 0.0), {dim}, keepdim), 0.0); }

Tensor mean(const Tensor& x, const Dims& dims, bool keepdim) {
  XG_BATCHED_UNARY("mean", x, a_.example_rank(0) == 0 ? mean(p.unsqueeze(1), Dims{1}, false) : mean(p, bdims(dims), keepdim))
  const auto mask = reduce_mask(x, dims, "mean");
  detail::check_float(x, "mean");
  return sum(x, dims, keepdim) / static_cast<double>(reduced_count(x.shape(), mask));
}

Tensor mean(const Tensor& x) { return mean(x, Dims{}, false); }

Tensor max(const Tensor& x) { return extremum(x, Dims{}, false, true); }
Tensor max(const Tensor& x, const Dims& dims, bool keepdim) { return extremum(x, dims, keepdim, true); }
Tensor min(const Tensor& x) { return extremum(x, Dims{}, false, false); }
Tensor min(const Tensor& x, const Dims& dims, bool keepdim) { return extremum(x, dims, keepdim, false); }

Tensor var(const Tensor& x, const Dims& dims, bool keepdim, std::int64_t correction) {
  XG_BATCHED_UNARY("var", x, var(p, bdims(dims), keepdim, correction))
  const auto mask = reduce_mask(x, dims, "var");
  detail::check_float(x, "var");
  const Tensor centred = x - mean(x, dims, true);
  const auto n = reduced_count(x.shape(), mask);
  // As in PyTorch, the divisor is max(n − correction, 0): more correction than
  // elements gives inf (or NaN for 0/0), never a negative variance.
  return sum(centred * centred, dims, keepdim) / static_cast<double>(std::max<std::int64_t>(n - correction, 0));
}

Tensor std_dev(const Tensor& x, const Dims& dims, bool keepdim, std::int64_t correction) {
  XG_BATCHED_UNARY("std", x, std_dev(p, bdims(dims), keepdim, correction))
  reduce_mask(x, dims, "std");
  detail::check_float(x, "std");
  return sqrt(var(x, dims, keepdim, correction));
}

Tensor norm(const Tensor& x, double order, const Dims& dims, bool keepdim) {
  XG_BATCHED_UNARY("norm", x, norm(p, order, bdims(dims), keepdim))
  const auto mask = reduce_mask(x, dims, "norm");
  detail::check_float(x, "norm");
  XG_CHECK(!std::isnan(order), "norm", "p is NaN");
  if (std::isinf(order)) return order > 0 ? max(abs(x), dims, keepdim) : min(abs(x), dims, keepdim);
  Tensor y;
  {
    NoGradGuard no_grad;
    if (order == 0) y = sum(ne(x, 0.0).to(x.dtype()), dims, keepdim);
    else if (order == 2) y = sqrt(sum(x * x, dims, keepdim));
    else y = pow(sum(pow(abs(x), order), dims, keepdim), 1.0 / order);
  }
  if (needs_grad(x)) {
    // dx = g·sign(x)·|x|^(p−1) / y^(p−1), and 0 where y = 0 (torch's subgradient:
    // the 2-norm of a zero vector would otherwise give 0/0).
    make_node(y, "NormBackward", [p = order, mask, sx = SavedTensor(x, false), sy = SavedTensor(y, true)](
                                     const Tensor& g, Node& self) -> TensorList {
      const Tensor x_ = sx.unpack(self);
      if (p == 0) return {zeros_like(x_)};
      const Shape keep = kept_shape(x_.shape(), mask);
      const Tensor y_ = reshape(sy.unpack(self), keep);
      const Tensor g_ = reshape(g, keep);
      const Tensor zero = eq(y_.detach(), 0.0);
      if (p == 1) return {g_ * sign(x_.detach()).to(x_.dtype())};
      if (p == 2) return {x_ * where(zero, zeros_like(y_), g_ / where(zero, ones_like(y_), y_))};
      const Tensor scale = where(zero, zeros_like(y_), g_ / pow(where(zero, ones_like(y_), y_), p - 1));
      return {sign(x_.detach()).to(x_.dtype()) * pow(abs(x_), p - 1) * scale};
    }, x);
  }
  return y;
}

Tensor argmax(const Tensor& x) { return arg_extremum(reshape(x.detach(), Shape{-1}), 0, false, true); }
Tensor argmin(const Tensor& x) { return arg_extremum(reshape(x.detach(), Shape{-1}), 0, false, false); }
Tensor argmax(const Tensor& x, std::int64_t dim, bool keepdim) { return arg_extremum(x, dim, keepdim, true); }
Tensor argmin(const Tensor& x, std::int64_t dim, bool keepdim) { return arg_extremum(x, dim, keepdim, false); }

Tensor sum_to(const Tensor& g, const Shape& shape) {
  XG_BATCHED_UNARY("sum_to", g, batched_sum_to(p, shape))
  detail::check_defined(g, "sum_to");
  if (g.shape() == shape) return g;
  const Shape& gs = g.shape();
  XG_CHECK(shape.size() <= gs.size(), "sum_to", "cannot sum shape ", gs, " to the larger rank shape ", shape);
  const std::size_t lead = gs.size() - shape.size();
  Dims dims;
  for (std::size_t d = 0; d < gs.size(); ++d) {
    if (d < lead) {
      dims.push_back(static_cast<std::int64_t>(d));
      continue;
    }
    const std::int64_t want = shape[d - lead];
    XG_CHECK(want == gs[d] || want == 1, "sum_to", "shape ", shape, " does not broadcast to ", gs);
    if (want == 1 && gs[d] != 1) dims.push_back(static_cast<std::int64_t>(d));
  }
  if (dims.empty()) return reshape(g, shape);
  return reshape(sum(g, dims, true), shape);
}


// ---------------------------------------------------------------- gradient-check samples
// This family's rows of the op registry (op_registry.hpp): every op above on
// several shapes, in float64. A row's name starts with the op it checks, so
// the coverage test can tell when an op in the public headers has none.
namespace detail {
std::vector<OpSample> samples_reduce() {
  using L = const TensorList&;
  std::vector<OpSample> c;
  const Shape s0{}, s3{3}, s23{2, 3}, s13{1, 3}, s21{2, 1}, s234{2, 3, 4}, s31{3, 1};
  c.push_back({"sum all", [](L x) { return x[0].sum(); }, {s234}});
  c.push_back({"sum dim 1", [](L x) { return x[0].sum({1}); }, {s234}});
  c.push_back({"sum dims 0,2 keepdim", [](L x) { return x[0].sum({0, 2}, true); }, {s234}});
  c.push_back({"sum 0-d", [](L x) { return x[0].sum(); }, {s0}});
  c.push_back({"mean all", [](L x) { return x[0].mean(); }, {s23}});
  c.push_back({"mean dim -1 keepdim", [](L x) { return x[0].mean({-1}, true); }, {s234}});
  c.push_back({"max all", [](L x) { return max(x[0]); }, {s234}});
  c.push_back({"max dim 1", [](L x) { return max(x[0], {1}); }, {s234}});
  c.push_back({"max dim 0 keepdim", [](L x) { return max(x[0], {0}, true); }, {s23}});
  c.push_back({"min all", [](L x) { return min(x[0]); }, {s23}});
  c.push_back({"min dims 0,2", [](L x) { return min(x[0], {0, 2}); }, {s234}});
  c.push_back({"var all", [](L x) { return var(x[0]); }, {s23}});
  c.push_back({"var dim 1 keepdim", [](L x) { return var(x[0], {1}, true); }, {s234}});
  c.push_back({"std_dev dim 0 biased", [](L x) { return xg::std_dev(x[0], {0}, false, 0); }, {s234}});
  c.push_back({"sum_to", [](L x) { return sum_to(x[0], {3, 1}); }, {s234}});
  c.push_back({"norm all", [](L x) { return norm(x[0]); }, {s234}});
  c.push_back({"norm p 3 dim 1 keepdim", [](L x) { return norm(x[0], 3, {1}, true); }, {s234}});
  c.push_back({"norm p 1.5 non-contiguous", [](L x) { return norm(x[0].transpose(0, 1), 1.5, {-1}); }, {s234}});
  c.push_back({"norm p 1", [](L x) { return norm(x[0], 1, {0}); }, {s23}});
  c.push_back({"norm p inf", [](L x) { return norm(x[0], INFINITY, {1}); }, {s23}});
  return c;
}
}  // namespace detail

}  // namespace xg
