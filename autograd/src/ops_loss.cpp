// Losses, composed of differentiable ops (so second order works), with the
// numerically delicate parts done the stable way.
#include <cmath>
#include <limits>
#include <string>

#include "internal.hpp"
#include "kernels.hpp"
#include "xgrad/ops_nn.hpp"
#include "op_samples.hpp"
#include "vmap.hpp"

namespace xg {
namespace {

/// Per-element losses of a batch p ([B, ...]) reduced example by example.
Tensor reduce_each(const Tensor& p, Reduction r) {
  if (r == Reduction::None || p.dim() == 1) return p;  // one element per example: its sum and mean
  Dims dims;
  for (std::int64_t d = 1; d < p.dim(); ++d) dims.push_back(d);
  return r == Reduction::Sum ? sum(p, dims) : mean(p, dims);
}

/// The rank every input of a batch rule lines up to: the largest example rank.
std::int64_t common_rank(const detail::BatchArgs& a) {
  std::int64_t rank = 0;
  for (std::size_t i = 0; i < a.x.size(); ++i)
    if (a.x[i].defined()) rank = std::max(rank, a.example_rank(i));
  return rank;
}

Tensor reduce(const Tensor& t, Reduction r) {
  switch (r) {
    case Reduction::None: return t;
    case Reduction::Sum: return sum(t);
    case Reduction::Mean: return mean(t);
  }
  return t;
}

void check_pair(const Tensor& input, const Tensor& target, const char* op) {
  detail::check_same_dtype(input, target, op);
  XG_CHECK(input.shape() == target.shape(), op, "input ", input.shape(), " and target ", target.shape(),
           " differ in shape (reshape one; silent broadcasting here is usually a bug)");
}

/// An optional elementwise weight: the input's dtype, broadcasting to its shape.
void check_weight(const Tensor& weight, const Tensor& input, const char* op, const char* what, const char* input_name) {
  if (!weight.defined()) return;
  detail::check_same_dtype(input, weight, op);
  detail::check_broadcasts_to(weight, input, op, what, input_name);
}

/// Validates int64 class targets against C classes and returns them as a list.
std::vector<std::int64_t> class_targets(const Tensor& target, std::int64_t n, std::int64_t classes,
                                        std::int64_t ignore_index, const char* op) {
  const bool takes_probabilities = std::string(op) == "cross_entropy";
  XG_CHECK(target.dtype() == Dtype::Int64, op, "class targets must be int64, got ", target.dtype(), target.shape(),
           takes_probabilities ? " (for probabilities as targets pass a float tensor shaped like the input)" : "");
  XG_CHECK(target.numel() == n && target.dim() <= 1, op, "expected ", n, " class targets, got shape ", target.shape());
  auto t = target.to_vector<std::int64_t>();
  for (std::size_t i = 0; i < t.size(); ++i) {
    XG_CHECK(t[i] == ignore_index || (t[i] >= 0 && t[i] < classes), op, "target ", t[i], " at position ", i,
             " is out of range for ", classes, " classes");
  }
  return t;
}

}  // namespace

// Note [Fused pointwise losses]
// mse, l1, smooth_l1 and huber are one node each: forward, one pass gives
// f(x − t) per element or (Sum, Mean) its total, summed in double over fixed
// chunks; backward, one pass gives f'(x − t)·g (·1/N for Mean) for the input
// and its negative for the target. f' is 2d; sign(d); d/β inside |d| < β
// else sign(d); d inside |d| < δ else δ·sign(d) — torch's. With
// create_graph the same f' is written in Tensor ops, so higher order works.
namespace {

using detail::PointwiseLoss;

/// f'(d) in differentiable ops (the create_graph path).
Tensor loss_slope(PointwiseLoss kind, double p, const Tensor& d) {
  switch (kind) {
    case PointwiseLoss::Squared: return d * 2.0;
    case PointwiseLoss::Absolute: return sign(d.detach()).to(d.dtype());
    case PointwiseLoss::SmoothL1: return where(lt(abs(d).detach(), p), d / p, sign(d.detach()).to(d.dtype()));
    case PointwiseLoss::Huber: return where(lt(abs(d).detach(), p), d, sign(d.detach()).to(d.dtype()) * p);
  }
  return d;
}

Tensor pointwise_loss(const Tensor& input, const Tensor& target, Reduction r, PointwiseLoss kind, double p,
                      const char* op) {
  if (detail::vmapping()) {
    if (auto batched = detail::batch_rule(op, {input, target}, [&](const detail::BatchArgs& a) {
          const std::int64_t rank = common_rank(a);
          return reduce_each(pointwise_loss(a.lined_up(0, rank), a.lined_up(1, rank), Reduction::None, kind, p, op), r);
        }))
      return *batched;
  }
  check_pair(input, target, op);
  detail::check_float(input, op);
  const bool total = r != Reduction::None;
  const double n = static_cast<double>(input.numel());
  Tensor y = detail::pointwise_loss_kernel(kind, p, input, target, total);
  if (r == Reduction::Mean) y = detail::scalar_kernel(detail::BinaryOp::Div, y, n, false, op);  // 0/0 = NaN for an empty input, as torch
  if (detail::needs_grad(input, target)) {
    const double scale = r == Reduction::Mean ? 1.0 / n : 1.0;
    make_node(y, "PointwiseLossBackward", [kind, p, scale, sx = SavedTensor(input, false), st = SavedTensor(target, false)](
                                            const Tensor& g, Node& self) -> TensorList {
      const Tensor x_ = sx.unpack(self), t_ = st.unpack(self);
      Tensor dx;
      if (detail::plain_backward(g, x_, t_)) {
        dx = detail::pointwise_loss_backward_kernel(kind, p, x_, t_, g, scale);
      } else {
        dx = loss_slope(kind, p, x_ - t_) * (scale == 1.0 ? g : g * scale);
      }
      return {self.needs_input_grad(0) ? dx : Tensor(), self.needs_input_grad(1) ? -dx : Tensor()};
    }, input, target);
  }
  return y;
}

}  // namespace

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction r) {
  return pointwise_loss(input, target, r, PointwiseLoss::Squared, 0.0, "mse_loss");
}

Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction r) {
  return pointwise_loss(input, target, r, PointwiseLoss::Absolute, 0.0, "l1_loss");
}

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, Reduction r, double beta) {
  XG_CHECK(beta >= 0 && std::isfinite(beta), "smooth_l1_loss", "beta must be finite and >= 0, got ", beta);
  return beta == 0 ? pointwise_loss(input, target, r, PointwiseLoss::Absolute, 0.0, "smooth_l1_loss")
                   : pointwise_loss(input, target, r, PointwiseLoss::SmoothL1, beta, "smooth_l1_loss");
}

Tensor huber_loss(const Tensor& input, const Tensor& target, Reduction r, double delta) {
  XG_CHECK(delta > 0 && std::isfinite(delta), "huber_loss", "delta must be finite and > 0, got ", delta);
  return pointwise_loss(input, target, r, PointwiseLoss::Huber, delta, "huber_loss");
}

namespace {

/// The options every class-target loss shares, checked under the op the user called.
void check_loss_options(const Tensor& input, const CrossEntropyOptions& opts, std::int64_t classes, const char* op) {
  XG_CHECK(opts.label_smoothing >= 0 && opts.label_smoothing <= 1, op, "label_smoothing must be in [0, 1], got ",
           opts.label_smoothing);
  if (opts.weight.defined()) {
    XG_CHECK(opts.weight.dtype() == input.dtype(), op, "class weight is ", opts.weight.dtype(), opts.weight.shape(),
             " but the input is ", input.dtype(), input.shape(), "; mixing dtypes is an error (convert with .to(...))");
    XG_CHECK(opts.weight.dim() == 1 && opts.weight.size(0) == classes, op, "weight has shape ", opts.weight.shape(),
             " but there are ", classes, " classes");
  }
}

/// Validated class targets as rows: each row's class (0 where ignored), its
/// weight (the class weight, 0 where ignored) and whether it is kept.
detail::CrossEntropyRows class_rows(const Tensor& target, std::int64_t n, std::int64_t classes,
                                    const CrossEntropyOptions& opts, const char* op) {
  detail::CrossEntropyRows rows;
  rows.target = class_targets(target, n, classes, opts.ignore_index, op);
  std::vector<double> class_w;
  if (opts.weight.defined()) class_w = opts.weight.to_vector<double>();
  for (std::int64_t& t : rows.target) {
    const bool ignored = t == opts.ignore_index;
    if (ignored) t = 0;  // any class: its weight is 0
    rows.sample_w.push_back(ignored ? 0.0 : class_w.empty() ? 1.0 : class_w[static_cast<std::size_t>(t)]);
    rows.kept.push_back(ignored ? 0.0 : 1.0);
  }
  if (opts.weight.defined()) rows.class_w = opts.weight.detach();
  rows.smoothing = opts.label_smoothing;
  return rows;
}

Tensor nll(const Tensor& log_probs, const Tensor& target, const CrossEntropyOptions& opts, const char* op) {
  detail::check_defined(log_probs, op);
  XG_CHECK(log_probs.dim() == 1 || log_probs.dim() == 2, op, "expects input [C], [N, C] or [N, C, d1, ...], got ",
           log_probs.shape());
  const Tensor lp = log_probs.dim() == 1 ? unsqueeze(log_probs, 0) : log_probs;
  const std::int64_t n = lp.size(0), classes = lp.size(1);
  check_loss_options(log_probs, opts, classes, op);
  const detail::CrossEntropyRows rows = class_rows(target, n, classes, opts, op);
  const Tensor idx = from_vector(rows.target, Shape{n, 1});
  const Tensor w = from_vector(rows.sample_w, Shape{n}, lp.dtype());
  const Tensor picked = reshape(gather(lp, 1, idx), Shape{n});
  Tensor loss = -picked * w;
  if (opts.label_smoothing > 0) {
    // torch: (1 − ε)·nll + ε·(−Σ_c w_c log p_c / C), the second term only for kept targets.
    const Tensor class_w = opts.weight.defined() ? opts.weight.to(lp.dtype()) : ones(Shape{classes}, lp.dtype());
    const Tensor smooth = -sum(lp * class_w, {1}) / static_cast<double>(classes);
    loss = loss * (1.0 - opts.label_smoothing) + smooth * from_vector(rows.kept, Shape{n}, lp.dtype()) * opts.label_smoothing;
  }
  Tensor out;
  switch (opts.reduction) {
    case Reduction::None: out = loss; break;
    case Reduction::Sum: out = sum(loss); break;
    case Reduction::Mean: out = sum(loss) / w.sum().item(); break;
  }
  return log_probs.dim() == 1 && opts.reduction == Reduction::None ? reshape(out, Shape{}) : out;
}

// Note [Fused cross_entropy]
// With class targets, cross_entropy is one node from the logits to the
// per-sample losses: forward, one pass per row gives its log-sum-exp and
// ℓᵢ = wᵢ(1−ε)(lseᵢ − xᵢ,ₜ) + ε·kᵢ/C·(W·lseᵢ − Σ_c cw_c xᵢ,c) (w: the
// target's class weight, 0 when ignored; k: 0 when ignored; cw: class
// weights, W their sum; ε: label smoothing), keeping only lse (the logits
// are the caller's); backward, one pass per row gives
// dxᵢ,ⱼ = gᵢ·[a(pᵢ,ⱼ − δⱼₜ) + b(pᵢ,ⱼ·W − cw_j)], a = wᵢ(1−ε), b = ε·kᵢ/C,
// p = softmax(x). The reduction is ordinary ops on the [N] losses. With
// create_graph the backward is the same formula in Tensor ops (softmax,
// one_hot), so higher order works; values agree with the composed
// log_softmax + nll_loss to rounding (tests/test_ops_loss.cpp).
Tensor fused_cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyOptions& opts) {
  const Tensor x = logits.dim() == 1 ? unsqueeze(logits, 0) : logits;
  const std::int64_t n = x.size(0), classes = x.size(1);
  const auto rows = std::make_shared<const detail::CrossEntropyRows>(class_rows(target, n, classes, opts, "cross_entropy"));
  double total_w = 0;
  for (double w : rows->sample_w) total_w += w;
  Tensor per_sample, lse;
  {
    NoGradGuard no_grad;
    detail::cross_entropy_kernel(x, *rows, per_sample, lse);
  }
  if (detail::needs_grad(x)) {
    make_node(per_sample, "CrossEntropyBackward", [rows, lse, sx = SavedTensor(x, false)](const Tensor& g, Node& self) -> TensorList {
      const Tensor x_ = sx.unpack(self);
      if (detail::plain_backward(g, x_)) return {detail::cross_entropy_backward_kernel(g, x_, lse, *rows)};
      const std::int64_t n_ = x_.size(0), c = x_.size(1);
      const double eps = rows->smoothing;
      const Tensor cw = rows->class_w.defined() ? reshape(rows->class_w, Shape{1, c}) : ones(Shape{1, c}, x_.dtype());
      const double w_total = rows->class_w.defined() ? sum(rows->class_w).item() : static_cast<double>(c);
      const Tensor gi = unsqueeze(g, 1);
      const Tensor a = gi * from_vector(rows->sample_w, Shape{n_, 1}, x_.dtype()) * (1.0 - eps);
      const Tensor b = gi * from_vector(rows->kept, Shape{n_, 1}, x_.dtype()) * (eps / static_cast<double>(c));
      const Tensor onehot = one_hot(from_vector(rows->target, Shape{n_}), c, x_.dtype());
      return {softmax(x_, 1) * (a + b * w_total) - b * cw - a * onehot};
    }, x);
  }
  switch (opts.reduction) {
    case Reduction::None: return logits.dim() == 1 ? reshape(per_sample, Shape{}) : per_sample;
    case Reduction::Sum: return sum(per_sample);
    case Reduction::Mean: break;
  }
  return sum(per_sample) / total_w;
}

}  // namespace

// Inputs [N, C, d1, ..., dk] (sequence and segmentation losses): PyTorch's
// loss is that of the N·d1⋯dk rows [C] taken one by one, with the same
// weighted mean, so moving C last and flattening gives the [rows, C] case;
// only the unreduced losses need their [N, d1, ..., dk] shape back.
struct SpatialRows {
  Tensor input, target;
  Shape per_element;  // [N, d1, ..., dk]
};

SpatialRows spatial_rows(const Tensor& input, const Tensor& target, const char* op) {
  const std::int64_t classes = input.size(1);
  Dims class_last{0};
  Shape per_element{input.size(0)};
  for (std::int64_t d = 2; d < input.dim(); ++d) {
    class_last.push_back(d);
    per_element.push_back(input.size(d));
  }
  class_last.push_back(1);
  auto rows = [&](const Tensor& t) { return reshape(permute(t, class_last), Shape{-1, classes}); };
  if (is_floating(target.dtype())) {
    XG_CHECK(target.shape() == input.shape(), op, "float targets are read as probabilities and must be shaped like the input ",
             input.shape(), ", got ", target.dtype(), target.shape(), "; class indices must be int64");
    return {rows(input), rows(target), per_element};
  }
  XG_CHECK(target.shape() == per_element, op, "input ", input.shape(), " [N, C, d1, ...] needs class targets shaped ",
           per_element, " [N, d1, ...], got ", target.shape());
  return {rows(input), reshape(target, Shape{-1}), per_element};
}

template <class Loss>
Tensor over_spatial_rows(const Tensor& input, const Tensor& target, const CrossEntropyOptions& opts, const char* op,
                         Loss loss) {
  detail::check_defined(input, op);
  detail::check_defined(target, op);
  const SpatialRows r = spatial_rows(input, target, op);
  const Tensor out = loss(r.input, r.target);
  return opts.reduction == Reduction::None ? reshape(out, r.per_element) : out;
}

/// A class-target loss (cross_entropy, nll_loss) of a batch: the examples'
/// rows side by side, reduced example by example as the loss would (a mean
/// divides by the example's total target weight).
template <class Loss>
Tensor batched_class_loss(const detail::BatchArgs& a, const CrossEntropyOptions& opts, Loss loss) {
  XG_CHECK(a.example_rank(0) >= 1, "cross_entropy", "expects logits [C], [N, C] or [N, C, d1, ...]");
  const bool one_row = a.example_rank(0) == 1;  // [C]: the batch [B, C] is the rows
  const Tensor x = a.expanded(0), t = a.expanded(1);
  CrossEntropyOptions each = opts;
  each.reduction = Reduction::None;
  const Tensor per = one_row ? loss(x, t, each) : detail::unfold_batch(loss(detail::fold_batch(x), detail::fold_batch(t), each), a.size, x.size(1));
  if (opts.reduction != Reduction::Mean || is_floating(t.dtype())) return reduce_each(per, opts.reduction);
  // The mean over class targets divides by the sum of the targets' class weights (0 where ignored).
  const Tensor kept = ne(t, static_cast<double>(opts.ignore_index));
  Tensor w = kept.to(per.dtype());
  if (opts.weight.defined())
    w = w * reshape(index_select(opts.weight.detach().to(per.dtype()), 0, reshape(where(kept, t, zeros_like(t)), Shape{-1})), t.shape());
  if (one_row) return per / w;
  Dims dims;
  for (std::int64_t d = 1; d < per.dim(); ++d) dims.push_back(d);
  return sum(per, dims) / sum(w, dims);
}

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, const CrossEntropyOptions& opts) {
  if (detail::vmapping()) {
    if (auto r = detail::batch_rule("nll_loss", {log_probs, target}, [&](const detail::BatchArgs& a) {
          return batched_class_loss(a, opts, [](const Tensor& x, const Tensor& t, const CrossEntropyOptions& o) { return nll_loss(x, t, o); });
        }))
      return *r;
  }
  if (log_probs.defined() && log_probs.dim() > 2)
    return over_spatial_rows(log_probs, target, opts, "nll_loss",
                             [&](const Tensor& x, const Tensor& t) { return nll(x, t, opts, "nll_loss"); });
  return nll(log_probs, target, opts, "nll_loss");
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyOptions& opts) {
  if (detail::vmapping()) {
    if (auto r = detail::batch_rule("cross_entropy", {logits, target}, [&](const detail::BatchArgs& a) {
          return batched_class_loss(a, opts, [](const Tensor& x, const Tensor& t, const CrossEntropyOptions& o) { return cross_entropy(x, t, o); });
        }))
      return *r;
  }
  detail::check_defined(logits, "cross_entropy");
  detail::check_defined(target, "cross_entropy");
  if (logits.dim() > 2)
    return over_spatial_rows(logits, target, opts, "cross_entropy",
                             [&](const Tensor& x, const Tensor& t) { return cross_entropy(x, t, opts); });
  XG_CHECK(logits.dim() >= 1, "cross_entropy", "expects logits [C], [N, C] or [N, C, d1, ...], got ", logits.shape());
  const std::int64_t class_dim = logits.dim() - 1;
  detail::check_float(logits, "cross_entropy");
  check_loss_options(logits, opts, logits.size(class_dim), "cross_entropy");
  if (!is_floating(target.dtype()) && logits.numel() > 0) return fused_cross_entropy(logits, target, opts);
  const Tensor lp = log_softmax(logits, class_dim);
  if (is_floating(target.dtype())) {
    // Probabilities as targets (soft labels).
    XG_CHECK(target.shape() == logits.shape(), "cross_entropy", "float targets are read as probabilities and must be shaped like the logits ",
             logits.shape(), ", got ", target.dtype(), target.shape(), "; class indices must be int64");
    check_pair(logits, target, "cross_entropy");
    const std::int64_t classes = logits.size(class_dim);
    Tensor probs = target;
    if (opts.label_smoothing > 0) probs = target * (1.0 - opts.label_smoothing) + opts.label_smoothing / classes;
    Tensor per = lp * probs;
    if (opts.weight.defined()) per = per * opts.weight.to(lp.dtype());
    const Tensor loss = -sum(per, {class_dim});
    return reduce(loss, opts.reduction);
  }
  return nll(lp, target, opts, "cross_entropy");
}

Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, Reduction r, const Tensor& weight) {
  if (detail::vmapping()) {
    if (auto batched = detail::batch_rule("binary_cross_entropy", {input, target, weight}, [&](const detail::BatchArgs& a) {
          const std::int64_t rank = common_rank(a);
          const Tensor w = a.x[2].defined() ? a.lined_up(2, rank) : Tensor();
          return reduce_each(binary_cross_entropy(a.lined_up(0, rank), a.lined_up(1, rank), Reduction::None, w), r);
        }))
      return *batched;
  }
  check_pair(input, target, "binary_cross_entropy");
  check_weight(weight, input, "binary_cross_entropy", "weight", "input's");
  {
    NoGradGuard no_grad;
    const double lo = min(input).item(), hi = max(input).item();
    XG_CHECK(input.numel() == 0 || (lo >= 0 && hi <= 1), "binary_cross_entropy", "input values must be in [0, 1], got [",
             lo, ", ", hi, "] (for logits use binary_cross_entropy_with_logits)");
  }
  // torch clamps each log at −100 so that p = 0 or 1 gives a finite loss.
  Tensor loss = -(target * clamp_min(log(input), -100.0) + (1.0 - target) * clamp_min(log(1.0 - input), -100.0));
  if (weight.defined()) loss = loss * weight;
  return reduce(loss, r);
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target, Reduction r, const Tensor& weight,
                                        const Tensor& pos_weight) {
  const char* op = "binary_cross_entropy_with_logits";
  if (detail::vmapping()) {
    if (auto batched = detail::batch_rule(op, {logits, target, weight, pos_weight}, [&](const detail::BatchArgs& a) {
          const std::int64_t rank = common_rank(a);
          const Tensor w = a.x[2].defined() ? a.lined_up(2, rank) : Tensor();
          const Tensor pw = a.x[3].defined() ? a.lined_up(3, rank) : Tensor();
          return reduce_each(binary_cross_entropy_with_logits(a.lined_up(0, rank), a.lined_up(1, rank), Reduction::None, w, pw), r);
        }))
      return *batched;
  }
  check_pair(logits, target, op);
  check_weight(weight, logits, op, "weight", "logits'");
  check_weight(pos_weight, logits, op, "pos_weight", "logits'");
  // log(1 + e^(−x)) = softplus(−x), computed without overflow and with the
  // right slope at x = 0 (zero-initialised logits are common).
  const Tensor log_sigmoid_neg = softplus(-logits, 1.0, std::numeric_limits<double>::infinity());
  Tensor loss;
  if (pos_weight.defined()) {
    loss = (1.0 - target) * logits + (1.0 + (pos_weight - 1.0) * target) * log_sigmoid_neg;
  } else {
    loss = (1.0 - target) * logits + log_sigmoid_neg;
  }
  if (weight.defined()) loss = loss * weight;
  return reduce(loss, r);
}

Tensor cosine_similarity(const Tensor& x1, const Tensor& x2, std::int64_t dim, double eps) {
  if (detail::vmapping()) {
    if (auto r = detail::batch_rule("cosine_similarity", {x1, x2}, [&](const detail::BatchArgs& a) {
          const std::int64_t rank = common_rank(a);
          return cosine_similarity(a.lined_up(0, rank), a.lined_up(1, rank), detail::wrap_dim(dim, rank, "cosine_similarity") + 1, eps);
        }))
      return *r;
  }
  detail::check_same_dtype(x1, x2, "cosine_similarity");
  detail::check_float(x1, "cosine_similarity");
  const Shape shape = detail::broadcast_shapes(x1.shape(), x2.shape(), "cosine_similarity");
  const std::int64_t d = detail::wrap_dim(dim, static_cast<std::int64_t>(shape.size()), "cosine_similarity");
  const Tensor a = broadcast_to(x1, shape), b = broadcast_to(x2, shape);
  // torch's form: each vector divided by max(‖v‖, eps) before the dot product,
  // so a zero vector gives 0 (and finite gradients), not NaN.
  auto unit = [&](const Tensor& v) { return v / clamp_min(norm(v, 2, {d}, true), eps); };
  return sum(unit(a) * unit(b), {d});
}

Tensor kl_div(const Tensor& input, const Tensor& target, KLDivReduction r, bool log_target) {
  if (detail::vmapping()) {
    if (auto batched = detail::batch_rule("kl_div", {input, target}, [&](const detail::BatchArgs& a) {
          const std::int64_t rank = common_rank(a);
          const Tensor per = kl_div(a.lined_up(0, rank), a.lined_up(1, rank), KLDivReduction::None, log_target);
          switch (r) {
            case KLDivReduction::None: return per;
            case KLDivReduction::Sum: return reduce_each(per, Reduction::Sum);
            case KLDivReduction::Mean: return reduce_each(per, Reduction::Mean);
            case KLDivReduction::BatchMean: return rank == 0 ? per : reduce_each(per, Reduction::Sum) / static_cast<double>(per.size(1));
          }
          return per;
        }))
      return *batched;
  }
  detail::check_same_dtype(input, target, "kl_div");
  detail::check_float(input, "kl_div");
  detail::broadcast_shapes(input.shape(), target.shape(), "kl_div");
  Tensor pointwise;
  if (log_target) {
    pointwise = exp(target) * (target - input);
  } else {
    // target·log(target) is 0 at target = 0 (xlogy); log reads 1 there so no
    // 0·(−inf) reaches the value or its gradients.
    const Tensor safe = where(gt(target.detach(), 0.0), target, ones_like(target));
    pointwise = target * (log(safe) - input);
  }
  switch (r) {
    case KLDivReduction::None: return pointwise;
    case KLDivReduction::Sum: return sum(pointwise);
    case KLDivReduction::Mean: return mean(pointwise);
    case KLDivReduction::BatchMean:
      return pointwise.dim() == 0 ? pointwise : sum(pointwise) / static_cast<double>(pointwise.size(0));
  }
  return pointwise;
}

// ---------------------------------------------------------------- gradient-check samples
// This family's rows of the op registry (op_registry.hpp): every op above on
// several shapes, in float64. A row's name starts with the op it checks, so
// the coverage test can tell when an op in the public headers has none.
namespace detail {
std::vector<OpSample> samples_loss() {
  using L = const TensorList&;
  std::vector<OpSample> c;
  const Shape s23b{2, 3}, s234b{2, 3, 4};
  auto soft = [](L x) { return softmax(x[1], 1); };  // probability targets
  c.push_back({"mse_loss", [](L x) { return mse_loss(x[0], x[1]); }, {s23b, s23b}});
  c.push_back({"l1_loss sum", [](L x) { return l1_loss(x[0], x[1], Reduction::Sum); }, {s23b, s23b}});
  c.push_back({"smooth_l1_loss none", [](L x) { return smooth_l1_loss(x[0], x[1], Reduction::None, 0.5); }, {s23b, s23b}});
  c.push_back({"huber_loss", [](L x) { return huber_loss(x[0], x[1], Reduction::Mean, 0.7); }, {s23b, s23b}});
  c.push_back({"mse_loss none", [](L x) { return mse_loss(x[0], x[1], Reduction::None); }, {s234b, s234b}});
  c.push_back({"smooth_l1_loss mean", [](L x) { return smooth_l1_loss(x[0], x[1], Reduction::Mean, 2.0); }, {s234b, s234b}});
  c.push_back({"cross_entropy", [](L x) { return cross_entropy(x[0], tensor({2, 0}, int64)); }, {s23b}});
  c.push_back({"cross_entropy weighted smoothed", [](L x) {
         CrossEntropyOptions o;
         o.weight = tensor({0.5, 2.0, 1.0}, float64);
         o.label_smoothing = 0.2;
         return cross_entropy(x[0], tensor({2, 1}, int64), o);
       }, {s23b}});
  c.push_back({"cross_entropy ignore_index none", [](L x) {
         CrossEntropyOptions o;
         o.reduction = Reduction::None;
         o.label_smoothing = 0.1;
         o.ignore_index = 1;
         return cross_entropy(x[0], tensor({0, 1, 3, 1}, int64), o);
       }, {Shape{4, 5}}});
  c.push_back({"cross_entropy 1-d sum", [](L x) {
         CrossEntropyOptions o;
         o.reduction = Reduction::Sum;
         return cross_entropy(x[0], tensor({2}, Shape{}, int64), o);
       }, {Shape{4}}});
  c.push_back({"cross_entropy soft targets", [soft](L x) { return cross_entropy(x[0], soft(x)); }, {s23b, s23b}});
  c.push_back({"nll_loss none", [](L x) {
         CrossEntropyOptions o;
         o.reduction = Reduction::None;
         return nll_loss(x[0], tensor({1, 2}, int64), o);
       }, {s23b}});
  c.push_back({"cross_entropy [N, C, T] weighted ignore_index", [](L x) {
         CrossEntropyOptions o;
         o.weight = tensor({0.5, 2.0, 1.0}, float64);
         o.ignore_index = 0;
         return cross_entropy(x[0], tensor({2, 0, 1, 1, 2, 0, 2, 1}, Shape{2, 4}, int64), o);
       }, {Shape{2, 3, 4}}});
  c.push_back({"cross_entropy [N, C, H, W] none smoothed", [](L x) {
         CrossEntropyOptions o;
         o.reduction = Reduction::None;
         o.label_smoothing = 0.1;
         return cross_entropy(x[0], tensor({0, 1, 2, 3, 3, 2, 1, 0}, Shape{2, 2, 2}, int64), o);
       }, {Shape{2, 4, 2, 2}}});
  c.push_back({"cross_entropy [N, C, T] soft targets", [](L x) { return cross_entropy(x[0], softmax(x[1], 1)); },
               {s234b, s234b}});
  c.push_back({"nll_loss [N, C, T] sum", [](L x) {
         CrossEntropyOptions o;
         o.reduction = Reduction::Sum;
         return nll_loss(log_softmax(x[0], 1), tensor({2, 0, 1, 1, 2, 0, 2, 1}, Shape{2, 4}, int64), o);
       }, {s234b}});
  c.push_back({"cosine_similarity", [](L x) { return cosine_similarity(x[0], x[1]); }, {s234b, s234b}});
  c.push_back({"cosine_similarity broadcast dim -1", [](L x) { return cosine_similarity(x[0], x[1], -1); },
               {s234b, Shape{3, 1}}});
  c.push_back({"kl_div batchmean", [](L x) { return kl_div(log_softmax(x[0], 1), softmax(x[1], 1), KLDivReduction::BatchMean); },
               {s234b, s234b}});
  c.push_back({"kl_div log_target none", [](L x) {
         return kl_div(log_softmax(x[0], 1), log_softmax(x[1], 1), KLDivReduction::None, true);
       }, {s23b, s23b}});
  c.push_back({"binary_cross_entropy", [](L x) { return binary_cross_entropy(sigmoid(x[0]), sigmoid(x[1])); }, {s23b, s23b}});
  c.push_back({"binary_cross_entropy_with_logits pos_weight", [](L x) {
         return binary_cross_entropy_with_logits(x[0], sigmoid(x[1]), Reduction::Sum, {}, full({3}, 1.5, float64));
       }, {s23b, s23b}});
  return c;
}
}  // namespace detail

}  // namespace xg
