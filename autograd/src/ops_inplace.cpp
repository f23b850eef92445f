// In-place ops. They bump the storage version, so a tensor saved for
// backward that is changed afterwards is caught when backward unpacks it.
//
// Note [In-place with history]
// Outside grad mode (or on tensors that need no gradient) an in-place op just
// writes. In grad mode, on a non-leaf or with an argument that requires grad,
// the op is recorded: the out-of-place op runs on a handle holding the old
// value and history, its result is written into the tensor's storage, and
// the tensor takes over the new node. The ops whose backward needs the old
// value (mul_, div_, clamp_) run on a copy of it, as PyTorch does, since the
// write replaces it. A leaf that requires grad cannot be changed in place in
// grad mode (its .grad would no longer mean anything); wrap such updates in
// NoGradGuard, as optimizers do.
//
// Note [In-place on views]
// Writing through a view changes its base (x.narrow(1, 3, 1).fill_(100)
// changes x), with or without grad mode. When the write must be recorded (in
// grad mode, the view, its base or the value written requires grad), it is
// recorded on the base, as PyTorch's CopySlices does: the out-of-place op runs
// on the old values of the view, taken as as_strided of the base's old
// history; the result is written into the view's elements; and the base takes
// a CopySlices node whose backward sends g outside the view to the old base
// and g inside it (as_strided of g) to the op. The view is then re-made from
// the base, so its own history goes through CopySlices too. Refused, with an
// error naming the view: a view made under NoGradGuard of a tensor that
// requires grad (as in PyTorch), and a view of a base that is not contiguous
// (CopySlices maps storage positions to the base's elements). Other views of
// the base made before the write are stale: they would still send gradients
// to the old history, so using one in grad mode is an error (stale_view in
// graph.cpp; PyTorch re-makes them instead).
//
// A write must also not reach one memory location twice (an expanded view:
// stride 0), and an argument that overlaps the target is read from a copy,
// so x.add_(x.t()) sees x's old values everywhere.
#include "kernels.hpp"

namespace xg {
namespace {

/// An in-place op may not write one memory location twice with different
/// values; fill_ writes one value, so libtorch allows it there, as does xgrad.
void check_writable_layout(const Tensor& self, const char* op) {
  const Shape& shape = self.shape();
  const Shape& strides = self.strides();
  for (std::size_t d = 0; d < shape.size(); ++d)
    XG_CHECK(shape[d] <= 1 || strides[d] != 0, op, "the target (shape ", shape, ", strides ", strides,
             ") has more than one element at the same memory location (an expanded view); clone() it first");
}

/// Whether the in-place op must be recorded for autograd (by rebase); throws
/// for the cases autograd cannot record.
bool recorded(const Tensor& self, const Tensor* other, const char* op, bool writes_one_value = false) {
  detail::check_defined(self, op);
  if (other) detail::check_defined(*other, op);
  if (!writes_one_value) check_writable_layout(self, op);
  // Forward mode: the out-of-place formula carries the tangents (rebase).
  const auto& view_base = detail::impl_of(self)->view_base;
  const bool dual = detail::has_tangent(self) || (other && detail::has_tangent(*other)) ||
                    (view_base && detail::has_tangent(Tensor(view_base)));
  if (!GradMode::is_enabled()) return dual;
  XG_CHECK(!(self.is_leaf() && self.requires_grad()), op, "a leaf tensor that requires grad (", self.dtype(),
           self.shape(), ") cannot be modified in place while grad mode is on; wrap the update in xg::NoGradGuard");
  const bool with_history = self.requires_grad() || (other && other->requires_grad());
  const auto* impl = detail::impl_of(self);
  if (!impl->view_base) return with_history || dual;
  detail::stale_view(self);  // throws if the base's history moved on since the view was made
  const detail::TensorImpl* base = impl->view_base.get();
  if (!(with_history || base->requires_grad)) return dual;
  auto refuse = [&](const char* why) {
    detail::fail(op, "the tensor changed in place is a view (", impl->view_op, ", shape ", self.shape(), ") of a ",
                 base->dtype, base->shape, " tensor ", why, " (Note [In-place on views]). Build the new value out of "
                 "place (xg::where, or cat of the pieces), or write under xg::NoGradGuard if no gradient should flow "
                 "through it");
  };
  if (!impl->view_tracks_base) refuse("that requires grad, and the view was made under NoGradGuard, so autograd cannot record the write");
  if (!detail::is_contiguous_layout(base->shape, base->strides))
    refuse("that is not contiguous, so autograd cannot record the write (make the base contiguous first)");
  return true;
}

bool broadcasts_to(const Shape& from, const Shape& to) {
  if (from.size() > to.size()) return false;
  const std::size_t lead = to.size() - from.size();
  for (std::size_t d = 0; d < from.size(); ++d)
    if (from[d] != 1 && from[d] != to[d + lead]) return false;
  return true;
}

void bump(Tensor& t) { detail::bump_version(t); }

bool same_layout(const Tensor& a, const Tensor& b) {
  return a.storage_offset() == b.storage_offset() && a.shape() == b.shape() && a.strides() == b.strides();
}

/// `other` as an in-place op on self may read it: a copy when it overlaps self
/// in any other layout (Note [In-place on views]).
Tensor readable(const Tensor& other, const Tensor& self) {
  if (!detail::shares_storage(other, self) || same_layout(other, self)) return other;
  Tensor copy = detail::make_tensor(other.shape(), other.dtype());
  detail::copy_strided(copy, other);
  return copy;
}

/// dst takes src's place in the graph: its node, output number and requires_grad.
void take_history(const Tensor& dst, const Tensor& src) {
  auto* impl = detail::impl_of(dst);
  impl->grad_fn = src.grad_fn();
  impl->output_nr = detail::impl_of(src)->output_nr;
  impl->requires_grad = src.requires_grad();
}

/// A new handle on t's storage with t's history: the old value an in-place
/// op is recorded on.
Tensor with_old_history(const Tensor& t) {
  Tensor old = detail::alias(t);
  take_history(old, t);
  detail::impl_of(old)->forward_grad = detail::impl_of(t)->forward_grad;  // and its old tangent
  return old;
}

/// self's tangent becomes the one forward mode gave `value` (in a block of
/// its own: saved aliases keep the old one).
void take_tangent(const Tensor& self, const Tensor& value) {
  if (detail::forward_level == 0) return;
  detail::impl_of(self)->forward_grad.reset();
  detail::set_tangent(self, detail::tangent_of(value), detail::forward_level);
}

void write_into(Tensor& self, const Tensor& value) {
  if (!(detail::shares_storage(value, self) && same_layout(value, self))) detail::copy_strided(self, readable(value, self));
  bump(self);
}

/// The CopySlices half of Note [In-place on views]: self is a view of a
/// contiguous base; out_of_place gives the view's new value from its old one.
template <class F>
Tensor& rebase_view(Tensor& self, const char* op, F out_of_place) {
  auto* impl = detail::impl_of(self);
  Tensor base(impl->view_base);
  const Tensor old_base = with_old_history(base);
  const Shape shape = self.shape(), strides = self.strides();
  const std::int64_t offset = self.storage_offset(), rel = offset - base.storage_offset();
  const Tensor value = out_of_place(as_strided(old_base, shape, strides, offset));
  XG_CHECK(value.shape() == shape && value.dtype() == self.dtype(), op, "the result ", value.dtype(), value.shape(),
           " does not fit the in-place target ", self.dtype(), shape);
  const Tensor old_tangent = detail::tangent_of(old_base);
  write_into(self, value);
  if (detail::forward_level != 0) {  // CopySlices derives the base's new tangent from the old one and value's
    detail::impl_of(old_base)->forward_grad.reset();
    detail::set_tangent(old_base, old_tangent, detail::forward_level);
    detail::impl_of(base)->forward_grad.reset();
  }
  make_node(base, "CopySlices", [shape, strides, rel, base_shape = base.shape()](const Tensor& g, Node& node) -> TensorList {
    Tensor g_base, g_value;
    if (node.needs_input_grad(0)) {  // g outside the view's elements
      Tensor outside = ones(base_shape, g.dtype());
      {
        NoGradGuard no_grad;
        as_strided(outside, shape, strides, rel).fill_(0);
      }
      g_base = g * outside;
    }
    if (node.needs_input_grad(1)) {  // g at the view's elements
      const Tensor c = g.contiguous();
      g_value = as_strided(c, shape, strides, c.storage_offset() + rel);
    }
    return {g_base, g_value};
  }, old_base, value);
  // The view again, now from the base's new history (and tangent).
  const Tensor again = as_strided(base, shape, strides, offset);
  take_tangent(self, again);
  if (!GradMode::is_enabled()) return self;  // forward mode only: self keeps its history
  take_history(self, again);
  impl->view_base_grad_fn = base.grad_fn();
  return self;
}

template <class F>
Tensor& rebase(Tensor& self, const char* op, F out_of_place) {
  if (self.is_view()) return rebase_view(self, op, out_of_place);
  const Tensor result = out_of_place(with_old_history(self));
  XG_CHECK(result.shape() == self.shape() && result.dtype() == self.dtype(), op, "the result ", result.dtype(),
           result.shape(), " does not fit the in-place target ", self.dtype(), self.shape());
  write_into(self, result);
  take_tangent(self, result);
  if (GradMode::is_enabled()) take_history(self, result);  // else forward mode only: self keeps its history
  return self;
}

}  // namespace

Tensor& Tensor::add_(const Tensor& other, double alpha) {
  if (recorded(*this, &other, "add_"))
    return rebase(*this, "add_", [&](const Tensor& old) { return alpha == 1.0 ? old + other : old + other * alpha; });
  detail::add_inplace_kernel(*this, readable(other, *this), alpha, "add_");
  bump(*this);
  return *this;
}

Tensor& Tensor::sub_(const Tensor& other, double alpha) { return add_(other, -alpha); }

Tensor& Tensor::mul_(const Tensor& other) {
  if (recorded(*this, &other, "mul_")) return rebase(*this, "mul_", [&](const Tensor& old) { return old.clone() * other; });
  detail::mul_inplace_kernel(*this, readable(other, *this), "mul_");
  bump(*this);
  return *this;
}

Tensor& Tensor::div_(const Tensor& other) {
  if (recorded(*this, &other, "div_")) return rebase(*this, "div_", [&](const Tensor& old) { return old.clone() / other; });
  detail::div_inplace_kernel(*this, readable(other, *this), "div_");
  bump(*this);
  return *this;
}

Tensor& Tensor::mul_(double s) {
  if (recorded(*this, nullptr, "mul_")) return rebase(*this, "mul_", [&](const Tensor& old) { return old * s; });
  detail::check_float(*this, "mul_");
  detail::scalar_inplace_kernel(*this, s, 0.0);
  bump(*this);
  return *this;
}

Tensor& Tensor::add_(double s) {
  if (recorded(*this, nullptr, "add_")) return rebase(*this, "add_", [&](const Tensor& old) { return old + s; });
  detail::scalar_inplace_kernel(*this, 1.0, s);
  bump(*this);
  return *this;
}

Tensor& Tensor::zero_() { return fill_(0.0); }

Tensor& Tensor::fill_(double value) {
  // The gradient w.r.t. the old value is zero.
  if (recorded(*this, nullptr, "fill_", /*writes_one_value=*/true)) return rebase(*this, "fill_", [&](const Tensor& old) { return old * 0.0 + value; });
  detail::scalar_inplace_kernel(*this, 0.0, value);
  bump(*this);
  return *this;
}

Tensor& Tensor::copy_(const Tensor& src) {
  const bool with_history = recorded(*this, &src, "copy_");
  XG_CHECK(broadcasts_to(src.shape(), shape()), "copy_", "cannot copy shape ", src.shape(), " into shape ", shape());
  if (with_history) {
    const Shape target = shape();
    const Dtype dt = dtype();
    return rebase(*this, "copy_", [&](const Tensor& old) {
      // The old value's gradient is zero; src's flows through.
      return old * 0.0 + xg::expand(src.to(dt), target);
    });
  }
  write_into(*this, src.detach());  // converts the dtype and broadcasts as it copies
  return *this;
}

Tensor& Tensor::clamp_(double lo, double hi) {
  if (recorded(*this, nullptr, "clamp_")) return rebase(*this, "clamp_", [&](const Tensor& old) { return xg::clamp(old.clone(), lo, hi); });
  write_into(*this, detail::clamp_kernel(*this, lo, hi, "clamp_"));
  return *this;
}

}  // namespace xg
