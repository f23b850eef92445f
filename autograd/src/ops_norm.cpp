// Normalisation and dropout: layer_norm, rms_norm, batch_norm, group_norm
// and dropout, each fused into one node.
//
// Note [Fused layer_norm]
// layer_norm is one node: the forward makes each row's mean and 1/std in
// double and writes y in one more pass; the backward, with x̂ = (x − μ)/σ and
// gy = g·w, is dx = (gy − mean(gy) − x̂·mean(gy·x̂))/σ, dw = Σ g·x̂, db = Σ g,
// one pass per row (kernels_layer_norm.cpp). rms_norm is the same with μ
// taken as 0 and no mean(gy) term: y = x/rms(x)·w, dx = (gy − x̂·mean(gy·x̂))/rms.
// With create_graph the node computes the same formulas in differentiable ops.
#include <cmath>

#include "kernels.hpp"
#include "xgrad/ops_nn.hpp"
#include "op_samples.hpp"
#include "vmap.hpp"

namespace xg {
namespace {

struct NormGrads {
  Tensor dx, dw, db;
};

/// Records a normalisation's node over x [, weight] [, bias] (those defined).
/// grads(g, x, weight or undefined, need_x, need_w, need_b) gives the gradients.
template <class F>
void record_normalisation(Tensor& y, const char* name, const Tensor& x, const Tensor& weight, const Tensor& bias, F grads) {
  TensorList inputs{x};
  if (weight.defined()) inputs.push_back(weight);
  if (bias.defined()) inputs.push_back(bias);
  if (!detail::needs_grad(inputs)) return;
  const bool has_w = weight.defined(), has_b = bias.defined();
  make_node(y, name, [=, sx = SavedTensor(x, false), sw = SavedTensor(weight, false)](const Tensor& g, Node& self) -> TensorList {
    const std::size_t ib = has_w ? 2 : 1;
    const NormGrads d = grads(g, sx.unpack(self), has_w ? sw.unpack(self) : Tensor(), self.needs_input_grad(0),
                              has_w && self.needs_input_grad(1), has_b && self.needs_input_grad(ib));
    TensorList out{d.dx};
    if (has_w) out.push_back(d.dw);
    if (has_b) out.push_back(d.db);
    return out;
  }, inputs);
}

}  // namespace

namespace {

/// layer_norm (centred) and rms_norm (not): one node each (Note [Fused layer_norm]).
Tensor normalize_rows(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                      double eps, bool centred, const char* op) {
  detail::check_defined(x, op);
  const auto k = static_cast<std::int64_t>(normalized_shape.size());
  bool ok = k >= 1 && k <= x.dim();
  for (std::int64_t i = 0; ok && i < k; ++i)
    ok = x.size(x.dim() - k + i) == normalized_shape[static_cast<std::size_t>(i)];
  XG_CHECK(ok, op, "normalized_shape ", normalized_shape, " must match the last dims of the input ", x.shape());
  for (const Tensor* p : {&weight, &bias})
    XG_CHECK(!p->defined() || p->shape() == normalized_shape, op, "weight/bias ", p->shape(),
             " must have shape ", normalized_shape);
  detail::check_float(x, op);
  for (const Tensor* p : {&weight, &bias})
    if (p->defined()) detail::check_same_dtype(x, *p, op);
  XG_CHECK(eps >= 0 && std::isfinite(eps), op, "eps must be finite and >= 0, got ", eps);
  Dims dims;
  for (std::int64_t i = 0; i < k; ++i) dims.push_back(x.dim() - k + i);
  const std::int64_t n = normalized_shape.numel();
  Tensor y, row_mean, row_rstd;
  detail::layer_norm_kernel(x, weight, bias, n, eps, centred, y, row_mean, row_rstd);
  if (detail::has_tangent(TensorList{x, weight, bias})) {
    // x̂ = (x − μ)·r with r = 1/σ: its tangent is r·(t − mean(t) − x̂·mean(x̂·t))
    // (no mean(t) term for rms_norm, which does not centre); y = x̂·w + b.
    const Tensor tx = detail::tangent_of(x), tw = detail::tangent_of(weight), tb = detail::tangent_of(bias);
    detail::set_tangent_by(y, [&] {
      Tensor x_hat, row_mean_again, rstd;
      detail::layer_norm_kernel(x, Tensor(), Tensor(), n, eps, centred, x_hat, row_mean_again, rstd);
      Tensor t = zeros_like(y);
      if (tx.defined()) {
        const Tensor centred_t = centred ? tx - mean(tx, dims, true) : tx;
        Shape row_shape = x.shape();  // the kernel's per-row r, broadcast over the normalised dims
        for (std::int64_t d : dims) row_shape[static_cast<std::size_t>(d)] = 1;
        const Tensor r = reshape(rstd, row_shape).to(x.dtype());
        const Tensor t_hat = r * (centred_t - x_hat * mean(x_hat * tx, dims, true));
        t = weight.defined() ? t_hat * weight : t_hat;
      }
      if (tw.defined()) t = t + x_hat * tw;
      if (tb.defined()) t = t + tb;
      return t.shape() == y.shape() ? t : t.expand(y.shape());
    });
  }
  record_normalisation(y, centred ? "LayerNormBackward" : "RmsNormBackward", x, weight, bias,
                       [=](const Tensor& g, const Tensor& x_, const Tensor& w_, bool need_x, bool need_w, bool need_b) {
    NormGrads d;
    if (detail::plain_backward(g, x_, w_)) {
      detail::layer_norm_backward_kernel(g, x_, w_, row_mean, row_rstd, n, centred, need_x ? &d.dx : nullptr,
                                         need_w ? &d.dw : nullptr, need_b ? &d.db : nullptr);
      if (d.dw.defined()) d.dw = reshape(d.dw, normalized_shape);
      if (d.db.defined()) d.db = reshape(d.db, normalized_shape);
    } else {  // create_graph: the same derivatives in differentiable ops
      const Tensor centred_x = centred ? x_ - mean(x_, dims, true) : x_;
      const Tensor r = pow(mean(centred_x * centred_x, dims, true) + eps, -0.5);
      const Tensor xhat = centred_x * r;
      const Tensor gy = w_.defined() ? g * w_ : g;
      const Tensor along = xhat * mean(gy * xhat, dims, true);
      if (need_x) d.dx = r * (centred ? gy - mean(gy, dims, true) - along : gy - along);
      if (need_w) d.dw = sum_to(g * xhat, normalized_shape);
      if (need_b) d.db = sum_to(g, normalized_shape);
    }
    return d;
  });
  return y;
}

}  // namespace

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias, double eps) {
  if (detail::vmapping()) {  // it normalises the trailing dims: the batch is one more leading dim
    if (auto r = detail::batch_rule("layer_norm", {x, weight, bias}, detail::batch_of_rows(99, [&](const TensorList& in) {
          return layer_norm(in[0], normalized_shape, in[1], in[2], eps);
        })))
      return *r;
  }
  return normalize_rows(x, normalized_shape, weight, bias, eps, true, "layer_norm");
}

Tensor rms_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, std::optional<double> eps) {
  if (detail::vmapping()) {
    if (auto r = detail::batch_rule("rms_norm", {x, weight}, detail::batch_of_rows(99, [&](const TensorList& in) {
          return rms_norm(in[0], normalized_shape, in[1], eps);
        })))
      return *r;
  }
  detail::check_defined(x, "rms_norm");
  // torch.nn.functional.rms_norm's default: the dtype's machine epsilon.
  const double e = eps ? *eps : x.dtype() == Dtype::Float64 ? 2.220446049250313e-16 : 1.1920928955078125e-07;
  return normalize_rows(x, normalized_shape, weight, Tensor(), e, false, "rms_norm");
}

// Note [Fused batch_norm]
// batch_norm is one node. Training: one pass per channel for the mean and one
// for Σ(x − μ)² (float64 across a channel's runs; the biased variance
// normalises, the unbiased one updates running_var, as in PyTorch), one pass
// writes y = (x − μ)·r·w + b. Backward, with x̂ = (x − μ)·r: one pass for
// Σg and Σg·(x − μ) per channel (db and dw = Σg·x̂), one writing
// dx = w·r·(g − mean(g) − x̂·mean(g·x̂)). Eval uses the running statistics,
// fixed, so dx = w·r·g. Channels split across threads. [N, C] inputs
// (BatchNorm1d) are transposed to [1, C, N] around the kernels so each
// channel is one run. With create_graph the node runs the same formulas in
// differentiable ops (Note [Fused layer_norm] does the same).
Tensor batch_norm(const Tensor& x, Tensor running_mean, Tensor running_var, const Tensor& weight, const Tensor& bias,
                  bool training, double momentum, double eps) {
  detail::check_defined(x, "batch_norm");
  XG_CHECK(x.dim() >= 2, "batch_norm", "expects an input [N, C, ...], got ", x.shape());
  detail::check_float(x, "batch_norm");
  const std::int64_t c = x.size(1);
  Shape param_shape(static_cast<std::size_t>(x.dim()), 1);
  param_shape[1] = c;
  for (const Tensor* p : std::initializer_list<const Tensor*>{&running_mean, &running_var, &weight, &bias}) {
    XG_CHECK(!p->defined() || (p->dim() == 1 && p->size(0) == c), "batch_norm", "parameter ", p->shape(),
             " should be [", c, "] for input ", x.shape());
    if (p->defined()) detail::check_same_dtype(x, *p, "batch_norm");
  }
  XG_CHECK(eps >= 0 && std::isfinite(eps), "batch_norm", "eps must be finite and >= 0, got ", eps);
  XG_CHECK(std::isfinite(momentum), "batch_norm", "momentum must be finite, got ", momentum);
  Dims dims{0};
  for (std::int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
  const std::int64_t count = x.numel() / std::max<std::int64_t>(c, 1);
  if (training) {
    XG_CHECK(count > 1, "batch_norm", "training needs more than one value per channel, got input ", x.shape());
  } else {
    XG_CHECK(running_mean.defined() && running_var.defined(), "batch_norm",
             "eval mode needs running_mean and running_var");
  }
  // [N, C] -> [1, C, N]: one run per channel (and back).
  const bool flat = x.dim() == 2;
  auto channels_first = [flat, c](const Tensor& t) { return flat ? reshape(t.t().contiguous(), Shape{1, c, -1}) : t; };
  auto channels_back = [flat, c](const Tensor& t) { return flat ? reshape(t, Shape{c, -1}).t().contiguous() : t; };
  Tensor y, ch_mean, ch_rstd;  // float64 [C]
  {
    NoGradGuard no_grad;
    const Tensor xk = channels_first(x);
    Tensor var;
    if (training) {
      detail::batch_norm_stats_kernel(xk, ch_mean, var);
      const double unbias = static_cast<double>(count) / static_cast<double>(count - 1);
      if (running_mean.defined()) running_mean.mul_(1.0 - momentum).add_(ch_mean.to(running_mean.dtype()) * momentum);
      if (running_var.defined())
        running_var.mul_(1.0 - momentum).add_(var.to(running_var.dtype()) * (momentum * unbias));
    } else {
      ch_mean = running_mean.to(Dtype::Float64).clone();  // its own copy: the buffer may change before backward
      var = running_var.to(Dtype::Float64);
    }
    ch_rstd = pow(var + eps, -0.5);
    y = channels_back(detail::batch_norm_apply_kernel(xk, ch_mean, ch_rstd, weight, bias));
  }
  record_normalisation(y, "BatchNormBackward", x, weight, bias,
                       [=](const Tensor& g, const Tensor& x_, const Tensor& w_, bool need_x, bool need_w, bool need_b) {
    NormGrads d;
    if (detail::plain_backward(g, x_, w_)) {
      detail::batch_norm_backward_kernel(channels_first(g), channels_first(x_), w_, ch_mean, ch_rstd, training,
                                         need_x ? &d.dx : nullptr, need_w ? &d.dw : nullptr, need_b ? &d.db : nullptr);
      if (d.dx.defined()) d.dx = channels_back(d.dx);
    } else {  // create_graph: the same derivatives in differentiable ops
      const Tensor centred = training ? x_ - mean(x_, dims, true) : x_ - reshape(ch_mean.to(x_.dtype()), param_shape);
      const Tensor r = training ? pow(mean(centred * centred, dims, true) + eps, -0.5)
                                : reshape(ch_rstd.to(x_.dtype()), param_shape);
      const Tensor xhat = centred * r;
      const Tensor gy = w_.defined() ? g * reshape(w_, param_shape) : g;
      if (need_x) d.dx = training ? r * (gy - mean(gy, dims, true) - xhat * mean(gy * xhat, dims, true)) : gy * r;
      if (need_w) d.dw = reshape(sum_to(g * xhat, param_shape), Shape{c});
      if (need_b) d.db = reshape(sum_to(g, param_shape), Shape{c});
    }
    return d;
  });
  return y;
}

// Note [Fused group_norm]
// group_norm is one node: x [N, C, ...] is N·G rows, one per (image, group);
// a row's mean and Σ(x − μ)² (double, two passes) and one pass writing
// y = (x − μ)·r·w + b per channel. Backward, per row: one pass for each
// channel's Σg and Σg·(x − μ) (dw = Σg·x̂ and db = Σg add them over the
// images, in order), one writing dx = r·(gy − mean(gy) − x̂·mean(gy·x̂)) with
// gy = g·w; rows split across threads (kernels_group_norm.cpp). With
// create_graph the node runs the same formulas in differentiable ops.
Tensor group_norm(const Tensor& x, std::int64_t num_groups, const Tensor& weight, const Tensor& bias, double eps) {
  if (detail::vmapping()) {
    if (auto r = detail::batch_rule("group_norm", {x, weight, bias}, detail::batch_of_rows(2, [&](const TensorList& in) {
          return group_norm(in[0], num_groups, in[1], in[2], eps);
        })))
      return *r;
  }
  detail::check_defined(x, "group_norm");
  XG_CHECK(x.dim() >= 2 && num_groups > 0 && x.size(1) % num_groups == 0, "group_norm", "channels of ", x.shape(),
           " must divide into ", num_groups, " groups");
  detail::check_float(x, "group_norm");
  const std::int64_t n = x.size(0), c = x.size(1);
  for (const Tensor* p : {&weight, &bias}) {
    XG_CHECK(!p->defined() || (p->dim() == 1 && p->size(0) == c), "group_norm", "weight/bias ", p->shape(),
             " should be [", c, "] for input ", x.shape());
    if (p->defined()) detail::check_same_dtype(x, *p, "group_norm");
  }
  XG_CHECK(eps >= 0 && std::isfinite(eps), "group_norm", "eps must be finite and >= 0, got ", eps);
  Shape param_shape(static_cast<std::size_t>(x.dim()), 1);
  param_shape[1] = c;
  Tensor y, row_mean, row_rstd;
  {
    NoGradGuard no_grad;
    detail::group_norm_kernel(x, weight, bias, num_groups, eps, y, row_mean, row_rstd);
  }
  record_normalisation(y, "GroupNormBackward", x, weight, bias,
                       [=](const Tensor& g, const Tensor& x_, const Tensor& w_, bool need_x, bool need_w, bool need_b) {
    NormGrads d;
    if (detail::plain_backward(g, x_, w_)) {
      detail::group_norm_backward_kernel(g, x_, w_, row_mean, row_rstd, num_groups, need_x ? &d.dx : nullptr,
                                         need_w ? &d.dw : nullptr, need_b ? &d.db : nullptr);
    } else {  // create_graph: the same derivatives in differentiable ops
      const Tensor rows = reshape(x_, Shape{n, num_groups, -1});
      const Tensor centred = rows - mean(rows, {2}, true);
      const Tensor r = pow(mean(centred * centred, {2}, true) + eps, -0.5);
      const Tensor xhat = centred * r;
      const Tensor gy = reshape(w_.defined() ? g * reshape(w_, param_shape) : g, Shape{n, num_groups, -1});
      if (need_x) d.dx = reshape(r * (gy - mean(gy, {2}, true) - xhat * mean(gy * xhat, {2}, true)), x_.shape());
      if (need_w) d.dw = reshape(sum_to(g * reshape(xhat, x_.shape()), param_shape), Shape{c});
      if (need_b) d.db = reshape(sum_to(g, param_shape), Shape{c});
    }
    return d;
  });
  return y;
}

// Note [Fused dropout]
// dropout is one node: one pass draws the mask and writes y = x·keep/(1−p),
// keeping the mask as bool (a byte per element), and the backward is one
// pass g·keep/(1−p) — or, with create_graph, that product in Tensor ops
// (linear in g, so every higher derivative follows). The mask comes from one
// draw of the global generator (the seed) and a counter-based hash of each
// element's index (SplitMix64), not from one generator draw per element: the
// same seed gives the same mask on any thread count, and the pass splits
// across threads. x·0 keeps a dropped NaN as NaN, as in PyTorch.
Tensor dropout(const Tensor& x, double p, bool training) {
  detail::check_defined(x, "dropout");
  XG_CHECK(p >= 0 && p <= 1, "dropout", "probability must be in [0, 1], got ", p);
  if (!training || p == 0) return x;
  if (p == 1) return x * 0.0;
  detail::check_float(x, "dropout");
  Tensor y, keep;
  detail::dropout_kernel(x, p, random_u64(), y, keep);
  if (detail::needs_grad(x)) {
    make_node(y, "DropoutBackward", [p, keep](const Tensor& g, Node&) -> TensorList {
      if (detail::plain_backward(g)) return {detail::dropout_backward_kernel(g, keep, p)};
      return {g * keep.to(g.dtype()) * (1.0 / (1.0 - p))};
    }, x);
  }
  return y;
}


// ---------------------------------------------------------------- gradient-check samples
// This family's rows of the op registry (op_registry.hpp): every op above on
// several shapes, in float64. A row's name starts with the op it checks, so
// the coverage test can tell when an op in the public headers has none.
namespace detail {
std::vector<OpSample> samples_norm() {
  using L = const TensorList&;
  std::vector<OpSample> c;
  const Shape s234b{2, 3, 4};
  c.push_back({"layer_norm affine", [](L x) { return layer_norm(x[0], {3, 4}, x[1], x[2]); }, {s234b, {3, 4}, {3, 4}}});
  c.push_back({"layer_norm plain", [](L x) { return layer_norm(x[0], {4}); }, {s234b}});
  c.push_back({"layer_norm weight only", [](L x) { return layer_norm(x[0], {4}, x[1]); }, {s234b, {4}}});
  c.push_back({"rms_norm weight", [](L x) { return rms_norm(x[0], {3, 4}, x[1], 1e-5); }, {s234b, {3, 4}}});
  c.push_back({"rms_norm plain", [](L x) { return rms_norm(x[0], {4}); }, {s234b}});
  c.push_back({"layer_norm bias only", [](L x) { return layer_norm(x[0], {3, 4}, Tensor(), x[1]); }, {s234b, {3, 4}}});
  c.push_back({"batch_norm train", [](L x) { return batch_norm(x[0], {}, {}, x[1], x[2], true); }, {s234b, {3}, {3}}});
  c.push_back({"batch_norm eval", [](L x) {
         return batch_norm(x[0], full({3}, 0.2, float64), full({3}, 1.5, float64), x[1], x[2], false);
       }, {s234b, {3}, {3}}});
  c.push_back({"group_norm", [](L x) { return group_norm(x[0], 2, x[1], x[2]); }, {{2, 4, 3}, {4}, {4}}});
  c.push_back({"group_norm 4-d, no weight or bias", [](L x) { return group_norm(x[0], 3, {}, {}); }, {{2, 6, 2, 3}}});
  c.push_back({"group_norm one group per channel (instance norm)", [](L x) { return group_norm(x[0], 3, x[1], x[2]); },
               {{3, 3, 2, 2}, {3}, {3}}});
  c.push_back({"group_norm one group, weight only", [](L x) { return group_norm(x[0], 1, x[1], {}); }, {{2, 4, 5}, {4}}});
  c.push_back({"dropout (seeded)", [](L x) {
         manual_seed(11);
         return dropout(x[0], 0.4, true);
       }, {s234b}});
  return c;
}
}  // namespace detail

}  // namespace xg
