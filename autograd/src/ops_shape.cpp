// Shape ops.
//
// Note [Contiguous tensors]
// Every xgrad tensor is contiguous, row-major, from offset 0 of its storage.
// reshape (and flatten/squeeze/unsqueeze/view) only relabel the shape, so they
// share storage; permute, expand, slice and cat gather into a new contiguous
// tensor. Kernels can then run flat loops without stride bookkeeping; the
// strided-tensor work replaces this with views that share storage.
#include <numeric>

#include "kernels.hpp"
#include "op_samples.hpp"

namespace xg {

using detail::needs_grad;

Tensor reshape(const Tensor& x, const Shape& shape) {
  detail::check_defined(x, "reshape");
  Shape out = shape;
  std::int64_t known = 1, infer = -1;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      XG_CHECK(infer < 0, "reshape", "only one dim can be -1, got ", shape);
      infer = static_cast<std::int64_t>(i);
    } else {
      XG_CHECK(out[i] >= 0, "reshape", "invalid extent ", out[i], " in ", shape);
      XG_CHECK(!__builtin_mul_overflow(known, out[i], &known), "reshape", "shape ", shape,
               " is invalid for input of shape ", x.shape(), " (", x.numel(), " elements): its size overflows int64");
    }
  }
  if (infer >= 0) {
    XG_CHECK(known != 0 && x.numel() % known == 0, "reshape", "shape ", shape, " is invalid for input of shape ",
             x.shape(), " (", x.numel(), " elements)");
    out[static_cast<std::size_t>(infer)] = x.numel() / known;
  }
  XG_CHECK(checked_numel(out, "reshape") == x.numel(), "reshape", "shape ", shape, " is invalid for input of shape ", x.shape(),
           " (", x.numel(), " elements)");
  if (out == x.shape()) return x;
  Tensor y = detail::alias(x);
  detail::impl_of(y)->shape = out;
  if (needs_grad(x)) {
    make_node(y, "ReshapeBackward", [in = x.shape()](const Tensor& g, Node&) -> TensorList { return {reshape(g, in)}; }, x);
  }
  return y;
}

Tensor flatten(const Tensor& x, std::int64_t start_dim, std::int64_t end_dim) {
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
  detail::check_defined(x, "squeeze");
  Shape out;
  for (std::int64_t d : x.shape())
    if (d != 1) out.push_back(d);
  return reshape(x, out);
}

Tensor squeeze(const Tensor& x, std::int64_t dim) {
  detail::check_defined(x, "squeeze");
  if (x.dim() == 0) return x;
  const auto d = static_cast<std::size_t>(detail::wrap_dim(dim, x.dim(), "squeeze"));
  if (x.shape()[d] != 1) return x;  // like torch: squeezing a non-1 dim is a no-op
  Shape out = x.shape();
  out.erase(d);
  return reshape(x, out);
}

Tensor unsqueeze(const Tensor& x, std::int64_t dim) {
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
  detail::check_defined(x, "permute");
  XG_CHECK(static_cast<std::int64_t>(order.size()) == x.dim(), "permute", "order ", order, " has ", order.size(),
           " dims but the tensor has shape ", x.shape());
  const Shape strides = detail::contiguous_strides(x.shape());
  Shape perm(order.size()), out(order.size()), gather(order.size()), inverse(order.size());
  std::vector<bool> seen(order.size(), false);
  for (std::size_t i = 0; i < order.size(); ++i) {
    const auto d = static_cast<std::size_t>(detail::wrap_dim(order[i], x.dim(), "permute"));
    XG_CHECK(!seen[d], "permute", "dim ", order[i], " repeats in ", order);
    seen[d] = true;
    perm[i] = static_cast<std::int64_t>(d);
    out[i] = x.shape()[d];
    gather[i] = strides[d];
    inverse[d] = static_cast<std::int64_t>(i);
  }
  bool identity = true;
  for (std::size_t i = 0; i < perm.size(); ++i) identity = identity && perm[i] == static_cast<std::int64_t>(i);
  if (identity) return x;
  Tensor y = detail::gather_strided(x, 0, gather, out);
  if (needs_grad(x)) {
    make_node(y, "PermuteBackward", [inverse](const Tensor& g, Node&) -> TensorList { return {permute(g, inverse)}; }, x);
  }
  return y;
}

Tensor transpose(const Tensor& x, std::int64_t dim0, std::int64_t dim1) {
  detail::check_defined(x, "transpose");
  if (x.dim() == 0) return x;
  Dims order(static_cast<std::size_t>(x.dim()));
  std::iota(order.begin(), order.end(), 0);
  std::swap(order[static_cast<std::size_t>(detail::wrap_dim(dim0, x.dim(), "transpose"))],
            order[static_cast<std::size_t>(detail::wrap_dim(dim1, x.dim(), "transpose"))]);
  return permute(x, order);
}

Tensor expand(const Tensor& x, const Shape& shape) {
  detail::check_defined(x, "expand");
  XG_CHECK(shape.size() >= x.shape().size(), "expand", "cannot expand shape ", x.shape(), " to fewer dims ", shape);
  const std::size_t lead = shape.size() - x.shape().size();
  Shape out = shape, strides(shape.size(), 0);
  const Shape in_strides = detail::contiguous_strides(x.shape());
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
    strides[d] = have == 1 ? 0 : in_strides[d - lead];
  }
  if (out == x.shape()) return x;
  checked_numel(out, "expand");
  Tensor y = detail::gather_strided(x, 0, strides, out);
  if (needs_grad(x)) {
    make_node(y, "ExpandBackward", [in = x.shape()](const Tensor& g, Node&) -> TensorList { return {sum_to(g, in)}; }, x);
  }
  return y;
}

Tensor broadcast_to(const Tensor& x, const Shape& shape) { return expand(x, shape); }

namespace {

/// Strides and offset of the elements start, start+step, ... along dim.
void slice_layout(const Shape& shape, std::int64_t dim, std::int64_t start, std::int64_t step, std::int64_t& offset,
                  Shape& strides) {
  strides = detail::contiguous_strides(shape);
  offset = start * strides[static_cast<std::size_t>(dim)];
  strides[static_cast<std::size_t>(dim)] *= step;
}

/// The gradient of slice: g written into zeros of the input's shape. Its own
/// gradient is the slice again, which keeps second order working.
Tensor slice_backward(const Tensor& g, const Shape& in_shape, std::int64_t dim, std::int64_t start, std::int64_t step) {
  Tensor dx = zeros(in_shape, g.dtype());
  std::int64_t offset;
  Shape strides;
  slice_layout(in_shape, dim, start, step, offset, strides);
  detail::scatter_strided(dx, offset, strides, g);
  if (needs_grad(g)) {
    const std::int64_t len = g.size(dim);
    make_node(dx, "SliceBackwardBackward", [dim, start, step, len](const Tensor& gg, Node&) -> TensorList {
      return {slice(gg, dim, start, start + len * step, step)};
    }, g);
  }
  return dx;
}

}  // namespace

Tensor slice(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step) {
  detail::check_defined(x, "slice");
  XG_CHECK(x.dim() > 0, "slice", "cannot slice a 0-d tensor");
  XG_CHECK(step > 0, "slice", "step must be positive, got ", step);
  const std::int64_t d = detail::wrap_dim(dim, x.dim(), "slice");
  const std::int64_t size = x.size(d);
  auto clampi = [size](std::int64_t i) { return std::min(std::max(i < 0 ? i + size : i, std::int64_t{0}), size); };
  start = clampi(start);
  end = std::max(clampi(end), start);
  // Written so that a huge step cannot overflow; with at most one element
  // the step does not matter, so it is dropped (its stride product could overflow).
  const std::int64_t len = end == start ? 0 : (end - start - 1) / step + 1;
  if (len <= 1) step = 1;
  Shape out = x.shape();
  out[static_cast<std::size_t>(d)] = len;
  std::int64_t offset;
  Shape strides;
  slice_layout(x.shape(), d, start, step, offset, strides);
  Tensor y = detail::gather_strided(x, offset, strides, out);
  if (needs_grad(x)) {
    make_node(y, "SliceBackward", [in = x.shape(), d, start, step](const Tensor& g, Node&) -> TensorList {
      return {slice_backward(g, in, d, start, step)};
    }, x);
  }
  return y;
}

Tensor narrow(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t length) {
  detail::check_defined(x, "narrow");
  const std::int64_t d = detail::wrap_dim(dim, x.dim(), "narrow");
  const std::int64_t size = x.dim() == 0 ? 1 : x.size(d);
  if (start < 0) start += size;
  XG_CHECK(start >= 0 && start <= size && length >= 0 && length <= size - start, "narrow", "start ", start, " + length ", length,
           " is out of range for dim ", d, " of size ", size, " (shape ", x.shape(), ")");
  return slice(x, d, start, start + length, 1);
}

Tensor select(const Tensor& x, std::int64_t dim, std::int64_t index) {
  detail::check_defined(x, "select");
  XG_CHECK(x.dim() > 0, "select", "cannot select from a 0-d tensor");
  const std::int64_t d = detail::wrap_dim(dim, x.dim(), "select");
  const std::int64_t size = x.size(d);
  XG_CHECK(index >= -size && index < size, "select", "index ", index, " is out of range for dim ", d, " of size ",
           size, " (shape ", x.shape(), ")");
  if (index < 0) index += size;
  Shape out = x.shape();
  out.erase(static_cast<std::size_t>(d));
  return reshape(slice(x, d, index, index + 1, 1), out);
}

Tensor cat(const TensorList& xs, std::int64_t dim) {
  XG_CHECK(!xs.empty(), "cat", "expects a non-empty list of tensors");
  for (const Tensor& t : xs) detail::check_same_dtype(xs[0], t, "cat");
  const Tensor& first = xs[0];
  XG_CHECK(first.dim() > 0, "cat", "zero-dimensional tensors cannot be concatenated (use stack)");
  const std::int64_t d = detail::wrap_dim(dim, first.dim(), "cat");
  Shape out = first.shape();
  out[static_cast<std::size_t>(d)] = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const Tensor& t = xs[i];
    bool same = t.dim() == first.dim();
    for (std::int64_t k = 0; same && k < t.dim(); ++k) same = k == d || t.size(k) == first.size(k);
    XG_CHECK(same, "cat", "tensor ", i, " has shape ", t.shape(), " but tensor 0 has shape ", first.shape(),
             "; all dims but dim ", d, " must match");
    out[static_cast<std::size_t>(d)] += t.size(d);
  }
  Tensor y = detail::make_tensor(out, first.dtype());
  std::vector<std::int64_t> offsets;
  std::int64_t at = 0;
  for (const Tensor& t : xs) {
    offsets.push_back(at);
    std::int64_t offset;
    Shape strides;
    slice_layout(out, d, at, 1, offset, strides);
    detail::scatter_strided(y, offset, strides, t);
    at += t.size(d);
  }
  if (needs_grad(xs)) {
    std::vector<std::int64_t> sizes;
    for (const Tensor& t : xs) sizes.push_back(t.size(d));
    make_node(y, "CatBackward", [d, offsets, sizes](const Tensor& g, Node& self) -> TensorList {
      TensorList grads(sizes.size());
      for (std::size_t i = 0; i < sizes.size(); ++i)
        if (self.needs_input_grad(i)) grads[i] = slice(g, d, offsets[i], offsets[i] + sizes[i], 1);
      return grads;
    }, xs);
  }
  return y;
}

Tensor stack(const TensorList& xs, std::int64_t dim) {
  XG_CHECK(!xs.empty(), "stack", "expects a non-empty list of tensors");
  const std::int64_t d = detail::wrap_dim(dim, xs[0].dim() + 1, "stack");
  TensorList parts;
  parts.reserve(xs.size());
  for (std::size_t i = 0; i < xs.size(); ++i) {
    detail::check_defined(xs[i], "stack");
    XG_CHECK(xs[i].shape() == xs[0].shape(), "stack", "tensor ", i, " has shape ", xs[i].shape(),
             " but tensor 0 has shape ", xs[0].shape(), "; stack needs equal shapes");
    parts.push_back(unsqueeze(xs[i], d));
  }
  return cat(parts, d);
}

TensorList split(const Tensor& x, const std::vector<std::int64_t>& sizes, std::int64_t dim) {
  detail::check_defined(x, "split");
  const std::int64_t d = detail::wrap_dim(dim, x.dim(), "split");
  std::int64_t total = 0;
  for (std::int64_t s : sizes) {
    XG_CHECK(s >= 0, "split", "negative size ", s);
    total += s;
  }
  XG_CHECK(total == x.size(d), "split", "sizes add up to ", total, " but dim ", d, " of shape ", x.shape(), " has ",
           x.size(d));
  TensorList parts;
  std::int64_t at = 0;
  for (std::int64_t s : sizes) {
    parts.push_back(narrow(x, d, at, s));
    at += s;
  }
  return parts;
}

TensorList split(const Tensor& x, std::int64_t split_size, std::int64_t dim) {
  detail::check_defined(x, "split");
  XG_CHECK(split_size > 0, "split", "split_size must be positive, got ", split_size);
  const std::int64_t size = x.size(dim);
  std::vector<std::int64_t> sizes;
  for (std::int64_t at = 0; at < size; at += split_size) sizes.push_back(std::min(split_size, size - at));
  return split(x, sizes, dim);
}

TensorList chunk(const Tensor& x, std::int64_t chunks, std::int64_t dim) {
  detail::check_defined(x, "chunk");
  XG_CHECK(chunks > 0, "chunk", "number of chunks must be positive, got ", chunks);
  const std::int64_t size = x.size(dim);
  return split(x, std::max<std::int64_t>(1, (size + chunks - 1) / chunks), dim);
}


// ---------------------------------------------------------------- gradient-check samples
// This family's rows of the op registry (op_registry.hpp): every op above on
// several shapes, in float64. A row's name starts with the op it checks, so
// the coverage test can tell when an op in the public headers has none.
namespace detail {
std::vector<OpSample> samples_shape() {
  using L = const TensorList&;
  std::vector<OpSample> c;
  const Shape s0{}, s3{3}, s23{2, 3}, s13{1, 3}, s21{2, 1}, s234{2, 3, 4}, s31{3, 1};
  c.push_back({"reshape", [](L x) { return x[0].reshape({4, -1}); }, {s234}});
  c.push_back({"flatten 1..2", [](L x) { return x[0].flatten(1); }, {s234}});
  c.push_back({"squeeze/unsqueeze", [](L x) { return x[0].unsqueeze(1).squeeze(); }, {s13}});
  c.push_back({"permute", [](L x) { return x[0].permute({2, 0, 1}); }, {s234}});
  c.push_back({"transpose", [](L x) { return x[0].transpose(0, 1); }, {s23}});
  c.push_back({"expand", [](L x) { return x[0].expand({2, 3, 4}); }, {s31}});
  c.push_back({"slice step 2", [](L x) { return slice(x[0], 2, 0, 4, 2); }, {s234}});
  c.push_back({"slice negative", [](L x) { return slice(x[0], -1, -2, 100); }, {s23}});
  c.push_back({"narrow", [](L x) { return x[0].narrow(1, 1, 2); }, {s234}});
  c.push_back({"select", [](L x) { return x[0].select(0, 1); }, {s234}});
  c.push_back({"cat dim 1", [](L x) { return cat({x[0], x[1]}, 1); }, {s23, {2, 2}}});
  c.push_back({"cat dim 0", [](L x) { return cat({x[0], x[1], x[0]}, 0); }, {s13, s23}});
  c.push_back({"stack", [](L x) { return stack({x[0], x[1]}, 1); }, {s23, s23}});
  c.push_back({"split", [](L x) { auto p = split(x[0], 2, 1); return p[0] * 2.0 + p[1].sum(); }, {{2, 4}}});
  c.push_back({"chunk", [](L x) { auto p = chunk(x[0], 3, 0); return cat({p[2], p[0]}, 0); }, {{3, 2}}});
  c.push_back({"broadcast_to", [](L x) { return broadcast_to(x[0], {2, 3, 4}); }, {{3, 1}}});
  return c;
}
}  // namespace detail

}  // namespace xg
