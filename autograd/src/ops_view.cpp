// Views: ops whose result shares its input's storage.
//
// Note [Views]
// A view is a new TensorImpl over the same Storage with its own sizes,
// strides and offset: transpose/permute reorder the strides, slice/narrow/
// select move the offset and scale a stride, expand gives repeated dims
// stride 0, diagonal and unfold combine strides, and reshape/view recompute
// strides when the layout allows it (reshape copies otherwise, like libtorch;
// view refuses). Writing through a view changes its base, and the shared
// Storage carries one version counter for all of them (Note [Version counter]).
//
// A view's gradient is its op's adjoint: permute back, sum over expanded
// dims, reshape back; for the rest, g is added into zeros of the input's
// shape through the same view of those zeros (view_backward). That one rule
// serves slice, select, diagonal, unfold and as_strided, and sums where the
// view's elements overlap. Its own gradient is the view of gg again, so
// second order works.
#include <numeric>
#include <optional>

#include "kernels.hpp"
#include "op_samples.hpp"
#include "vmap.hpp"

namespace xg {

using detail::needs_grad;

namespace detail {

Tensor make_view(const Tensor& x, const Shape& shape, const Shape& strides, std::int64_t offset, const char* op) {
  const TensorImpl* src = impl_of(x);
  check_has_storage(src, op);
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = src->storage;
  impl->shape = shape;
  impl->strides = strides;
  impl->contiguous = is_contiguous_layout(shape, strides);
  impl->offset = offset;
  impl->numel = shape.numel();
  impl->dtype = src->dtype;
  impl->view_base = src->view_base ? src->view_base : impl_ptr_of(x);
  impl->view_op = op;
  impl->view_tracks_base = GradMode::is_enabled();
  impl->view_base_grad_fn = impl->view_base->grad_fn;
  return Tensor(std::move(impl));
}

}  // namespace detail

namespace {

using ViewOf = std::function<Tensor(const Tensor&)>;

/// The adjoint of a view: g added into zeros of the input's shape through the
/// same view of those zeros (Note [Views]).
Tensor view_backward(const Tensor& g, const Shape& in_shape, const char* name, const ViewOf& view_of) {
  Tensor dx = zeros(in_shape, g.dtype());
  {
    NoGradGuard no_grad;
    detail::add_strided(view_of(dx), g);
  }
  if (needs_grad(g)) make_node(dx, name, [view_of](const Tensor& gg, Node&) -> TensorList { return {view_of(gg)}; }, g);
  return dx;
}

/// Records a view made by `view_of` with the generic adjoint.
void record_view(Tensor& y, const Tensor& x, const char* name, const char* backward_name, ViewOf view_of) {
  if (!needs_grad(x)) return;
  // as_strided's strides address x's storage, which its tangent does not share: derived instead.
  if (std::string(name) != "AsStridedBackward") detail::linear_tangent(y, x, view_of);
  make_node(y, name, [in = x.shape(), backward_name, view_of = std::move(view_of)](const Tensor& g, Node&) -> TensorList {
    return {view_backward(g, in, backward_name, view_of)};
  }, x);
}

/// Strides that show x's elements in `shape` without moving them, if any
/// exist: each run of new dims must cover a run of old dims that is
/// contiguous within itself (the libtorch rule for view()).
std::optional<Shape> view_strides(const Tensor& x, const Shape& shape) {
  if (x.is_contiguous()) return detail::contiguous_strides(shape);
  const Shape& old = x.shape();
  const Shape& old_strides = x.strides();
  Shape out(shape.size(), 0);
  std::int64_t view_d = static_cast<std::int64_t>(shape.size()) - 1;
  std::int64_t chunk_stride = old_strides.back();
  std::int64_t old_count = 1, new_count = 1;
  for (std::int64_t d = static_cast<std::int64_t>(old.size()) - 1; d >= 0; --d) {
    old_count *= old[static_cast<std::size_t>(d)];
    const bool chunk_ends = d == 0 || (old[static_cast<std::size_t>(d - 1)] != 1 &&
                                       old_strides[static_cast<std::size_t>(d - 1)] != old_count * chunk_stride);
    if (!chunk_ends) continue;
    while (view_d >= 0 && (new_count < old_count || shape[static_cast<std::size_t>(view_d)] == 1)) {
      out[static_cast<std::size_t>(view_d)] = new_count * chunk_stride;
      new_count *= shape[static_cast<std::size_t>(view_d)];
      --view_d;
    }
    if (new_count != old_count) return std::nullopt;
    if (d > 0) {
      chunk_stride = old_strides[static_cast<std::size_t>(d - 1)];
      old_count = new_count = 1;
    }
  }
  if (view_d != -1) return std::nullopt;
  return out;
}

/// shape with one -1 inferred and checked against x's element count.
Shape infer_shape(const Tensor& x, const Shape& shape, const char* op) {
  Shape out = shape;
  std::int64_t known = 1, infer = -1;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      XG_CHECK(infer < 0, op, "only one dim can be -1, got ", shape);
      infer = static_cast<std::int64_t>(i);
    } else {
      XG_CHECK(out[i] >= 0, op, "invalid extent ", out[i], " in ", shape);
      XG_CHECK(!__builtin_mul_overflow(known, out[i], &known), op, "shape ", shape, " is invalid for input of shape ",
               x.shape(), " (", x.numel(), " elements): its size overflows int64");
    }
  }
  if (infer >= 0) {
    XG_CHECK(known != 0 && x.numel() % known == 0, op, "shape ", shape, " is invalid for input of shape ", x.shape(),
             " (", x.numel(), " elements)");
    out[static_cast<std::size_t>(infer)] = x.numel() / known;
  }
  XG_CHECK(checked_numel(out, op) == x.numel(), op, "shape ", shape, " is invalid for input of shape ", x.shape(), " (",
           x.numel(), " elements)");
  return out;
}

/// Names the view by the op the user called (narrow is a slice, transpose a
/// permute), so an error about it says what the user wrote.
Tensor relabel(Tensor y, const Tensor& x, const char* op) {
  if (!y.is_same(x) && y.is_view()) detail::impl_of(y)->view_op = op;
  return y;
}

Tensor view_as_shape(const Tensor& x, const Shape& out, const Shape& strides, const char* op) {
  Tensor y = detail::make_view(x, out, strides, x.storage_offset(), op);
  if (needs_grad(x)) {
    detail::linear_tangent(y, x, [&](const Tensor& t) { return reshape(t, out); });
    make_node(y, "ReshapeBackward", [in = x.shape()](const Tensor& g, Node&) -> TensorList { return {reshape(g, in)}; }, x);
  }
  return y;
}

}  // namespace

namespace {
/// shape with the batch dim of p (its examples along dim 0) in front.
Shape with_batch(const Tensor& p, Shape shape) {
  shape.insert(0, p.size(0));
  return shape;
}
/// shape without its 1s.
Shape squeeze(const Shape& shape) {
  Shape out;
  for (std::int64_t d : shape)
    if (d != 1) out.push_back(d);
  return out;
}
/// A permutation of one example's dims as one of the batch's (dim 0 stays).
Dims batch_first(const Dims& order, std::int64_t rank) {
  Dims out{0};
  for (std::int64_t d : order) out.push_back(d < 0 && d >= -rank ? d + rank + 1 : d + 1);
  return out;
}
}  // namespace

Tensor reshape(const Tensor& x, const Shape& shape) {
  XG_BATCHED_UNARY("reshape", x, reshape(p, with_batch(p, shape)))
  detail::check_defined(x, "reshape");
  const Shape out = infer_shape(x, shape, "reshape");
  if (out == x.shape()) return x;
  if (auto strides = view_strides(x, out)) return view_as_shape(x, out, *strides, "reshape");
  const Tensor c = x.contiguous();  // differentiable copy, then a view of it
  return view_as_shape(c, out, detail::contiguous_strides(out), "reshape");
}

Tensor Tensor::view(const Shape& shape) const {
  XG_BATCHED_UNARY("view", *this, xg::reshape(p, with_batch(p, shape)))
  detail::check_defined(*this, "view");
  const Shape out = infer_shape(*this, shape, "view");
  if (out == this->shape()) return *this;
  auto strides = view_strides(*this, out);
  XG_CHECK(strides.has_value(), "view", "shape ", shape, " is not compatible with the input's layout (shape ",
           this->shape(), ", strides ", this->strides(),
           "): a dim it merges or splits is not contiguous in memory. Use reshape(), which copies when it must");
  return view_as_shape(*this, out, *strides, "view");
}

Tensor flatten(const Tensor& x, std::int64_t start_dim, std::int64_t end_dim) {
  XG_BATCHED_UNARY("flatten", x, a_.example_rank(0) == 0 ? reshape(p, Shape{p.size(0), 1}) : flatten(p, bdim(start_dim), bdim(end_dim)))
  detail::check_defined(x, "flatten");
  if (x.dim() == 0) return reshape(x, Shape{1});
  const std::int64_t s = detail::wrap_dim(start_dim, x.dim(), "flatten");
  const std::int64_t e = detail::wrap_dim(end_dim, x.dim(), "flatten");
  XG_CHECK(s <= e, "flatten", "start_dim ", start_dim, " comes after end_dim ", end_dim, " for shape ", x.shape());
  Shape out;
  std::int64_t merged = 1;
  for (std::int64_t d = 0; d < x.dim(); ++d) {
    if (d < s || d > e) {
      out.push_back(x.size(d));
    } else {
      merged *= x.size(d);
      if (d == e) out.push_back(merged);
    }
  }
  return reshape(x, out);
}

Tensor squeeze(const Tensor& x) {
  XG_BATCHED_UNARY("squeeze", x, reshape(p, with_batch(p, squeeze(x.shape()))))
  detail::check_defined(x, "squeeze");
  Shape out;
  for (std::int64_t d : x.shape())
    if (d != 1) out.push_back(d);
  return reshape(x, out);
}

Tensor squeeze(const Tensor& x, std::int64_t dim) {
  XG_BATCHED_UNARY("squeeze", x, a_.example_rank(0) == 0 ? p : squeeze(p, bdim(dim)))
  detail::check_defined(x, "squeeze");
  if (x.dim() == 0) return x;
  const auto d = static_cast<std::size_t>(detail::wrap_dim(dim, x.dim(), "squeeze"));
  if (x.shape()[d] != 1) return x;  // like torch: squeezing a non-1 dim is a no-op
  Shape out = x.shape();
  out.erase(d);
  return reshape(x, out);
}

Tensor unsqueeze(const Tensor& x, std::int64_t dim) {
  XG_BATCHED_UNARY("unsqueeze", x, unsqueeze(p, dim < 0 ? dim + x.dim() + 2 : dim + 1))
  detail::check_defined(x, "unsqueeze");
  // A new dim can go at any of rank + 1 places, so the valid range is wider than the tensor's rank.
  XG_CHECK(dim >= -(x.dim() + 1) && dim <= x.dim(), "unsqueeze", "dim ", dim, " is out of range for a tensor of rank ",
           x.dim(), " (shape ", x.shape(), "; expected a dim in [", -(x.dim() + 1), ", ", x.dim(), "])");
  const auto d = static_cast<std::size_t>(dim < 0 ? dim + x.dim() + 1 : dim);
  Shape out = x.shape();
  out.insert(d, 1);
  return reshape(x, out);
}

Tensor permute(const Tensor& x, const Dims& order) {
  XG_BATCHED_UNARY("permute", x, permute(p, batch_first(order, x.dim())))
  detail::check_defined(x, "permute");
  XG_CHECK(static_cast<std::int64_t>(order.size()) == x.dim(), "permute", "order ", order, " has ", order.size(),
           " dims but the tensor has shape ", x.shape());
  Shape out(order.size()), strides(order.size()), inverse(order.size());
  std::vector<bool> seen(order.size(), false);
  bool identity = true;
  for (std::size_t i = 0; i < order.size(); ++i) {
    const auto d = static_cast<std::size_t>(detail::wrap_dim(order[i], x.dim(), "permute"));
    XG_CHECK(!seen[d], "permute", "dim ", order[i], " repeats in ", order);
    seen[d] = true;
    identity = identity && d == i;
    out[i] = x.shape()[d];
    strides[i] = x.strides()[d];
    inverse[d] = static_cast<std::int64_t>(i);
  }
  if (identity) return x;
  Tensor y = detail::make_view(x, out, strides, x.storage_offset(), "permute");
  if (needs_grad(x)) {
    detail::linear_tangent(y, x, [&](const Tensor& t) { return permute(t, order); });
    make_node(y, "PermuteBackward", [inverse](const Tensor& g, Node&) -> TensorList { return {permute(g, inverse)}; }, x);
  }
  return y;
}

Tensor transpose(const Tensor& x, std::int64_t dim0, std::int64_t dim1) {
  XG_BATCHED_UNARY("transpose", x, a_.example_rank(0) == 0 ? p : transpose(p, bdim(dim0), bdim(dim1)))
  detail::check_defined(x, "transpose");
  if (x.dim() == 0) return x;
  Dims order(static_cast<std::size_t>(x.dim()));
  std::iota(order.begin(), order.end(), 0);
  std::swap(order[static_cast<std::size_t>(detail::wrap_dim(dim0, x.dim(), "transpose"))],
            order[static_cast<std::size_t>(detail::wrap_dim(dim1, x.dim(), "transpose"))]);
  return relabel(permute(x, order), x, "transpose");
}

Tensor expand(const Tensor& x, const Shape& shape) {
  XG_BATCHED_UNARY("expand", x, expand(a_.aligned(0, static_cast<std::int64_t>(shape.size())), with_batch(p, shape)))
  detail::check_defined(x, "expand");
  XG_CHECK(shape.size() >= x.shape().size(), "expand", "cannot expand shape ", x.shape(), " to fewer dims ", shape);
  const std::size_t lead = shape.size() - x.shape().size();
  Shape out = shape, strides(shape.size(), 0);
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (d < lead) {
      XG_CHECK(shape[d] >= 0, "expand", "invalid extent ", shape[d], " in ", shape,
               " (new leading dims need a size >= 0; -1 keeps an existing dim)");
      continue;
    }
    const std::int64_t have = x.shape()[d - lead];
    XG_CHECK(shape[d] >= -1, "expand", "invalid extent ", shape[d], " in ", shape, " (sizes must be >= 0, or -1 to keep the dim)");
    if (shape[d] == -1) out[d] = have;
    XG_CHECK(out[d] == have || have == 1, "expand", "cannot expand shape ", x.shape(), " to ", shape, " (dim ", d,
             ": ", have, " vs ", shape[d], "; only size-1 dims stretch)");
    strides[d] = have == 1 && out[d] != 1 ? 0 : x.strides()[d - lead];
  }
  if (out == x.shape()) return x;
  checked_numel(out, "expand");
  Tensor y = detail::make_view(x, out, strides, x.storage_offset(), "expand");
  if (needs_grad(x)) {
    detail::linear_tangent(y, x, [&](const Tensor& t) { return expand(t, shape); });
    make_node(y, "ExpandBackward", [in = x.shape()](const Tensor& g, Node&) -> TensorList { return {sum_to(g, in)}; }, x);
  }
  return y;
}

Tensor broadcast_to(const Tensor& x, const Shape& shape) { return expand(x, shape); }

Tensor slice(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step) {
  XG_BATCHED_UNARY("slice", x, slice(p, bdim(dim), start, end, step))
  detail::check_defined(x, "slice");
  XG_CHECK(x.dim() > 0, "slice", "cannot slice a 0-d tensor");
  XG_CHECK(step > 0, "slice", "step must be positive, got ", step);
  const std::int64_t d = detail::wrap_dim(dim, x.dim(), "slice");
  const auto du = static_cast<std::size_t>(d);
  const std::int64_t size = x.size(d);
  auto clampi = [size](std::int64_t i) { return std::min(std::max(i < 0 ? i + size : i, std::int64_t{0}), size); };
  start = clampi(start);
  end = std::max(clampi(end), start);
  // Written so that a huge step cannot overflow; with at most one element
  // the step does not matter, so it is dropped (its stride product could overflow).
  const std::int64_t len = end == start ? 0 : (end - start - 1) / step + 1;
  if (len <= 1) step = 1;
  Shape out = x.shape(), strides = x.strides();
  out[du] = len;
  const std::int64_t offset = x.storage_offset() + (len == 0 ? 0 : start * strides[du]);
  strides[du] *= step;
  Tensor y = detail::make_view(x, out, strides, offset, "slice");
  const std::int64_t stop = start + (len == 0 ? 0 : (len - 1) * step + 1);
  record_view(y, x, "SliceBackward", "SliceBackwardBackward",
              [d, start, stop, step](const Tensor& t) { return slice(t, d, start, stop, step); });
  return y;
}

Tensor narrow(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t length) {
  XG_BATCHED_UNARY("narrow", x, narrow(p, bdim(dim), start, length))
  detail::check_defined(x, "narrow");
  const std::int64_t d = detail::wrap_dim(dim, x.dim(), "narrow");
  const std::int64_t size = x.dim() == 0 ? 1 : x.size(d);
  if (start < 0) start += size;
  XG_CHECK(start >= 0 && start <= size && length >= 0 && length <= size - start, "narrow", "start ", start, " + length ", length,
           " is out of range for dim ", d, " of size ", size, " (shape ", x.shape(), ")");
  return relabel(slice(x, d, start, start + length, 1), x, "narrow");
}

Tensor select(const Tensor& x, std::int64_t dim, std::int64_t index) {
  XG_BATCHED_UNARY("select", x, select(p, bdim(dim), index))
  detail::check_defined(x, "select");
  XG_CHECK(x.dim() > 0, "select", "cannot select from a 0-d tensor");
  const std::int64_t d = detail::wrap_dim(dim, x.dim(), "select");
  const auto du = static_cast<std::size_t>(d);
  const std::int64_t size = x.size(d);
  XG_CHECK(index >= -size && index < size, "select", "index ", index, " is out of range for dim ", d, " of size ",
           size, " (shape ", x.shape(), ")");
  if (index < 0) index += size;
  Shape out = x.shape(), strides = x.strides();
  const std::int64_t offset = x.storage_offset() + index * strides[du];
  out.erase(du);
  strides.erase(du);
  Tensor y = detail::make_view(x, out, strides, offset, "select");
  record_view(y, x, "SelectBackward", "SelectBackwardBackward", [d, index](const Tensor& t) { return select(t, d, index); });
  return y;
}

TensorList unbind(const Tensor& x, std::int64_t dim) {
  XG_CHECK(x.defined(), "unbind", "got an undefined tensor");  // batched x goes through select
  XG_CHECK(x.dim() > 0, "unbind", "cannot unbind a 0-d tensor");
  const std::int64_t d = detail::wrap_dim(dim, x.dim(), "unbind");
  TensorList parts;
  for (std::int64_t i = 0; i < x.size(d); ++i) parts.push_back(select(x, d, i));
  return parts;
}

Tensor diagonal(const Tensor& x, std::int64_t offset, std::int64_t dim1, std::int64_t dim2) {
  XG_BATCHED_UNARY("diagonal", x, diagonal(p, offset, bdim(dim1), bdim(dim2)))
  detail::check_defined(x, "diagonal");
  XG_CHECK(x.dim() >= 2, "diagonal", "expects a tensor with at least 2 dims, got shape ", x.shape());
  const std::int64_t d1 = detail::wrap_dim(dim1, x.dim(), "diagonal");
  const std::int64_t d2 = detail::wrap_dim(dim2, x.dim(), "diagonal");
  XG_CHECK(d1 != d2, "diagonal", "dim1 and dim2 must differ, both are ", d1, " (shape ", x.shape(), ")");
  const std::int64_t n1 = x.size(d1), n2 = x.size(d2);
  // Written so that no offset, however large, overflows.
  const std::int64_t len = offset >= 0 ? (offset >= n2 ? 0 : std::min(n1, n2 - offset))
                                       : (offset <= -n1 ? 0 : std::min(n1 + offset, n2));
  std::int64_t start = x.storage_offset();
  if (len > 0) start += offset >= 0 ? offset * x.stride(d2) : -offset * x.stride(d1);
  Shape out, strides;
  for (std::int64_t d = 0; d < x.dim(); ++d) {
    if (d == d1 || d == d2) continue;
    out.push_back(x.size(d));
    strides.push_back(x.stride(d));
  }
  out.push_back(len);
  strides.push_back(x.stride(d1) + x.stride(d2));
  Tensor y = detail::make_view(x, out, strides, start, "diagonal");
  record_view(y, x, "DiagonalBackward", "DiagonalBackwardBackward",
              [offset, d1, d2](const Tensor& t) { return diagonal(t, offset, d1, d2); });
  return y;
}

Tensor unfold(const Tensor& x, std::int64_t dim, std::int64_t size, std::int64_t step) {
  XG_BATCHED_UNARY("unfold", x, unfold(p, bdim(dim), size, step))
  detail::check_defined(x, "unfold");
  XG_CHECK(x.dim() > 0, "unfold", "expects a tensor with at least 1 dim, got a 0-d tensor");
  const std::int64_t d = detail::wrap_dim(dim, x.dim(), "unfold");
  const auto du = static_cast<std::size_t>(d);
  XG_CHECK(step > 0, "unfold", "step must be positive, got ", step);
  XG_CHECK(size >= 0 && size <= x.size(d), "unfold", "size ", size, " must be in [0, ", x.size(d), "] for dim ", d,
           " of shape ", x.shape());
  Shape out = x.shape(), strides = x.strides();
  out[du] = (x.size(d) - size) / step + 1;
  strides[du] *= step;
  out.push_back(size);
  strides.push_back(x.stride(d));
  checked_numel(out, "unfold");
  Tensor y = detail::make_view(x, out, strides, x.storage_offset(), "unfold");
  record_view(y, x, "UnfoldBackward", "UnfoldBackwardBackward",
              [d, size, step](const Tensor& t) { return unfold(t, d, size, step); });
  return y;
}

Tensor as_strided(const Tensor& x, const Shape& size, const Shape& stride, std::int64_t storage_offset) {
  detail::check_defined(x, "as_strided");
  XG_CHECK(size.size() == stride.size(), "as_strided", "size ", size, " and stride ", stride, " differ in length");
  XG_CHECK(storage_offset >= -1, "as_strided", "storage offset must be >= 0 (or -1 for the input's own), got ",
           storage_offset);
  if (storage_offset == -1) storage_offset = x.storage_offset();
  detail::check_has_storage(detail::impl_of(x), "as_strided");
  const auto elements = static_cast<std::int64_t>(detail::impl_of(x)->storage->nbytes / dtype_size(x.dtype()));
  const std::int64_t n = checked_numel(size, "as_strided");
  std::int64_t last = storage_offset;
  for (std::size_t d = 0; d < size.size(); ++d) {
    XG_CHECK(stride[d] >= 0, "as_strided", "negative strides are not supported, got stride ", stride);
    std::int64_t reach = 0;
    XG_CHECK(n == 0 || (!__builtin_mul_overflow(size[d] - 1, stride[d], &reach) && !__builtin_add_overflow(last, reach, &last)),
             "as_strided", "size ", size, " with stride ", stride, " overflows int64");
  }
  XG_CHECK(n == 0 || last < elements, "as_strided", "size ", size, ", stride ", stride, " and storage offset ",
           storage_offset, " reach element ", last, " but the storage holds ", elements, " elements");
  Tensor y = detail::make_view(x, size, stride, storage_offset, "as_strided");
  if (needs_grad(x)) {
    // The gradient maps storage positions back to x's elements, which needs
    // x laid out as storage itself (contiguous) and the view inside it.
    const std::int64_t rel = storage_offset - x.storage_offset();
    XG_CHECK(x.is_contiguous() && (n == 0 || (rel >= 0 && last < x.storage_offset() + x.numel())), "as_strided",
             "the gradient of as_strided needs a contiguous input and a view that stays within the input's own "
             "elements; got input shape ", x.shape(), ", strides ", x.strides(), " and a view reaching storage elements ",
             storage_offset, "..", last, " (the input covers ", x.storage_offset(), "..",
             x.storage_offset() + x.numel() - 1, "). Call contiguous() first, or view under NoGradGuard");
    record_view(y, x, "AsStridedBackward", "AsStridedBackwardBackward", [size, stride, rel](const Tensor& t) {
      const Tensor c = t.contiguous();
      return as_strided(c, size, stride, c.storage_offset() + rel);
    });
  }
  return y;
}

// ---- method spellings
Tensor Tensor::diagonal(std::int64_t offset, std::int64_t dim1, std::int64_t dim2) const {
  return xg::diagonal(*this, offset, dim1, dim2);
}
Tensor Tensor::unfold(std::int64_t dim, std::int64_t size, std::int64_t step) const { return xg::unfold(*this, dim, size, step); }
TensorList Tensor::unbind(std::int64_t dim) const { return xg::unbind(*this, dim); }
Tensor Tensor::as_strided(const Shape& size, const Shape& stride, std::int64_t storage_offset) const {
  return xg::as_strided(*this, size, stride, storage_offset);
}
Tensor Tensor::slice(std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step) const {
  return xg::slice(*this, dim, start, end, step);
}

// ---------------------------------------------------------------- gradient-check samples
// This family's rows of the op registry (op_registry.hpp).
namespace detail {
std::vector<OpSample> samples_view() {
  using L = const TensorList&;
  std::vector<OpSample> c;
  const Shape s23{2, 3}, s13{1, 3}, s234{2, 3, 4}, s31{3, 1};
  c.push_back({"reshape", [](L x) { return x[0].reshape({4, -1}); }, {s234}});
  c.push_back({"reshape of a transpose (copies)", [](L x) { return x[0].transpose(0, 2).reshape({-1}); }, {s234}});
  c.push_back({"view splitting a dim", [](L x) { return x[0].view({2, 3, 2, 2}); }, {s234}});
  c.push_back({"contiguous/view", [](L x) { return x[0].contiguous().view({6, 4}); }, {s234}});
  c.push_back({"flatten 1..2", [](L x) { return x[0].flatten(1); }, {s234}});
  c.push_back({"squeeze/unsqueeze", [](L x) { return x[0].unsqueeze(1).squeeze(); }, {s13}});
  c.push_back({"permute", [](L x) { return x[0].permute({2, 0, 1}); }, {s234}});
  c.push_back({"transpose", [](L x) { return x[0].transpose(0, 1); }, {s23}});
  c.push_back({"expand", [](L x) { return x[0].expand({2, 3, 4}); }, {s31}});
  c.push_back({"slice step 2", [](L x) { return slice(x[0], 2, 0, 4, 2); }, {s234}});
  c.push_back({"slice negative", [](L x) { return slice(x[0], -1, -2, 100); }, {s23}});
  c.push_back({"narrow", [](L x) { return x[0].narrow(1, 1, 2); }, {s234}});
  c.push_back({"select", [](L x) { return x[0].select(0, 1); }, {s234}});
  c.push_back({"broadcast_to", [](L x) { return broadcast_to(x[0], {2, 3, 4}); }, {s31}});
  c.push_back({"unbind", [](L x) { auto p = unbind(x[0], 1); return p[0] * 2.0 + p[2]; }, {s234}});
  c.push_back({"diagonal", [](L x) { return diagonal(x[0]); }, {{3, 4}}});
  c.push_back({"diagonal offset, dims 2 and 0", [](L x) { return diagonal(x[0], -1, 2, 0); }, {s234}});
  c.push_back({"unfold overlapping windows", [](L x) { return unfold(x[0], 1, 3, 2); }, {{2, 7}}});
  // In-place ops on views, recorded on the base (Note [In-place on views]).
  c.push_back({"composite narrow().mul_() on a non-leaf", [](L x) {
    Tensor b = x[0] * 1.0;
    b.narrow(1, 1, 2).mul_(x[1]);
    return b;
  }, {s234, {2, 2, 4}}});
  c.push_back({"composite select().copy_() into a buffer", [](L x) {
    Tensor buf = zeros({3, 4}, x[0].dtype());
    buf.select(0, 1).copy_(x[0]);
    buf.t().add_(x[1]);
    return buf * buf;
  }, {{4}, {4, 3}}});
  // Storage positions mean something only in a known layout, hence contiguous().
  c.push_back({"as_strided overlapping", [](L x) { return as_strided(x[0].contiguous(), {3, 3}, {2, 1}, 1); }, {{2, 4}}});
  c.back().no_vmap = "as_strided addresses storage positions, which one example of a batch does not own";
  return c;
}
}  // namespace detail

}  // namespace xg
