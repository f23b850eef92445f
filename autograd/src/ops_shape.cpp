// Shape ops that make new tensors: cat, stack; split and chunk return views
// (narrow). The views themselves are in ops_view.cpp.

#include "kernels.hpp"
#include "xgrad/ops_nn.hpp"
#include "op_samples.hpp"
#include "vmap.hpp"

namespace xg {

using detail::needs_grad;

Tensor cat(const TensorList& xs, std::int64_t dim) {
  if (detail::vmapping()) {
    if (auto r = detail::batch_rule("cat", xs, [&](const detail::BatchArgs& a) {
          TensorList parts;
          for (std::size_t i = 0; i < a.x.size(); ++i) parts.push_back(a.expanded(i));
          return cat(parts, a.dim(0, dim, "cat") + (a.batched[0] ? 0 : 1));
        }))
      return *r;
  }
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
  {
    NoGradGuard no_grad;
    for (const Tensor& t : xs) {
      offsets.push_back(at);
      detail::copy_strided(narrow(y, d, at, t.size(d)), t);
      at += t.size(d);
    }
  }
  if (detail::has_tangent(xs)) {
    TensorList tangents;
    for (const Tensor& t : xs) tangents.push_back(detail::has_tangent(t) ? detail::tangent_of(t) : zeros_like(t));
    detail::set_tangent_by(y, [&] { return cat(tangents, d); });
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
  if (detail::vmapping()) {
    if (auto r = detail::batch_rule("stack", xs, [&](const detail::BatchArgs& a) {
          TensorList parts;
          for (std::size_t i = 0; i < a.x.size(); ++i) parts.push_back(a.expanded(i));
          return stack(parts, detail::wrap_dim(dim, a.example_rank(0) + 1, "stack") + 1);
        }))
      return *r;
  }
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
  XG_CHECK(x.defined(), "split", "got an undefined tensor");  // batched x goes through narrow
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
  XG_CHECK(x.defined(), "split", "got an undefined tensor");  // batched x goes through narrow
  XG_CHECK(split_size > 0, "split", "split_size must be positive, got ", split_size);
  const std::int64_t size = x.size(dim);
  std::vector<std::int64_t> sizes;
  for (std::int64_t at = 0; at < size; at += split_size) sizes.push_back(std::min(split_size, size - at));
  return split(x, sizes, dim);
}

TensorList chunk(const Tensor& x, std::int64_t chunks, std::int64_t dim) {
  XG_CHECK(x.defined(), "chunk", "got an undefined tensor");  // batched x goes through narrow
  XG_CHECK(chunks > 0, "chunk", "number of chunks must be positive, got ", chunks);
  const std::int64_t size = x.size(dim);
  return split(x, std::max<std::int64_t>(1, (size + chunks - 1) / chunks), dim);
}

// flip, roll, repeat and tile are built from index_select, narrow/cat and
// expand, so their gradients (and the gradients of those) and their
// batching rules come for free.

Tensor flip(const Tensor& x, const Dims& dims) {
  XG_CHECK(x.defined(), "flip", "got an undefined tensor");
  std::vector<bool> seen(static_cast<std::size_t>(std::max<std::int64_t>(x.dim(), 1)), false);
  Tensor y = x;
  for (std::int64_t dim : dims) {
    const std::int64_t d = detail::wrap_dim(dim, x.dim(), "flip");
    XG_CHECK(!seen[static_cast<std::size_t>(d)], "flip", "dim ", d, " appears more than once in dims ", dims);
    seen[static_cast<std::size_t>(d)] = true;
    if (x.dim() == 0 || x.size(d) < 2) continue;
    y = index_select(y, d, arange(static_cast<double>(x.size(d) - 1), -1.0, -1.0, Dtype::Int64));
  }
  return y.is_same(x) ? x.clone() : y;  // always a new tensor, as torch.flip
}

Tensor roll(const Tensor& x, const std::vector<std::int64_t>& shifts, const Dims& dims) {
  XG_CHECK(x.defined(), "roll", "got an undefined tensor");
  if (dims.empty()) {
    XG_CHECK(shifts.size() == 1, "roll", "without dims, expects one shift (the flattened tensor's), got ", shifts.size());
    return reshape(roll(reshape(x, Shape{-1}), shifts, Dims{0}), x.shape());
  }
  XG_CHECK(shifts.size() == dims.size(), "roll", "got ", shifts.size(), " shifts for ", dims.size(), " dims ", dims);
  Tensor y = x;
  for (std::size_t i = 0; i < dims.size(); ++i) {
    const std::int64_t d = detail::wrap_dim(dims[i], x.dim(), "roll");
    const std::int64_t n = x.size(d);
    const std::int64_t s = n == 0 ? 0 : ((shifts[i] % n) + n) % n;  // Python's modulo: a negative shift rolls back
    if (s != 0) y = cat({narrow(y, d, n - s, s), narrow(y, d, 0, n - s)}, d);
  }
  return y.is_same(x) ? x.clone() : y;
}

Tensor roll(const Tensor& x, std::int64_t shift, std::int64_t dim) { return roll(x, std::vector<std::int64_t>{shift}, Dims{dim}); }

Tensor repeat(const Tensor& x, const Shape& repeats) {
  XG_CHECK(x.defined(), "repeat", "got an undefined tensor");
  const std::int64_t k = static_cast<std::int64_t>(repeats.size());
  XG_CHECK(k >= x.dim(), "repeat", "needs at least as many repeats as dims: got ", repeats, " for shape ", x.shape(),
           " (torch.tile pads missing repeats with 1)");
  // [s0, s1] → [1, s0, 1, s1] → expand to [r0, s0, r1, s1] → [r0·s0, r1·s1]
  Shape split_shape, expanded, out;
  for (std::int64_t i = 0; i < k; ++i) {
    const std::int64_t r = repeats[static_cast<std::size_t>(i)];
    XG_CHECK(r >= 0, "repeat", "repeats must be non-negative, got ", repeats);
    const std::int64_t s = i < k - x.dim() ? 1 : x.size(i - (k - x.dim()));
    split_shape.push_back(1);
    split_shape.push_back(s);
    expanded.push_back(r);
    expanded.push_back(s);
    out.push_back(r * s);
  }
  return reshape(expand(reshape(x, split_shape), expanded), out).contiguous();
}

Tensor tile(const Tensor& x, const Shape& repeats) {
  XG_CHECK(x.defined(), "tile", "got an undefined tensor");
  Shape padded = repeats;
  while (static_cast<std::int64_t>(padded.size()) < x.dim()) padded.insert(0, 1);
  return repeat(x, padded);
}


// ---------------------------------------------------------------- gradient-check samples
// This family's rows of the op registry (op_registry.hpp): every op above on
// several shapes, in float64. A row's name starts with the op it checks, so
// the coverage test can tell when an op in the public headers has none.
namespace detail {
std::vector<OpSample> samples_shape() {
  using L = const TensorList&;
  std::vector<OpSample> c;
  const Shape s23{2, 3}, s13{1, 3};
  c.push_back({"cat dim 1", [](L x) { return cat({x[0], x[1]}, 1); }, {s23, {2, 2}}});
  c.push_back({"cat dim 0", [](L x) { return cat({x[0], x[1], x[0]}, 0); }, {s13, s23}});
  c.push_back({"stack", [](L x) { return stack({x[0], x[1]}, 1); }, {s23, s23}});
  c.push_back({"split", [](L x) { auto p = split(x[0], 2, 1); return p[0] * 2.0 + p[1].sum(); }, {{2, 4}}});
  c.push_back({"chunk", [](L x) { auto p = chunk(x[0], 3, 0); return cat({p[2], p[0]}, 0); }, {{3, 2}}});
  c.push_back({"flip dims 0 2", [](L x) { return flip(x[0], {0, -1}); }, {{2, 3, 4}}});
  c.push_back({"flip dim 1", [](L x) { return flip(x[0].transpose(0, 1), {1}); }, {{3, 2}}});
  c.push_back({"roll", [](L x) { return roll(x[0], {1, -4}, {0, 2}); }, {{2, 3, 4}}});
  c.push_back({"roll flat", [](L x) { return roll(x[0], {5}); }, {{2, 3}}});
  c.push_back({"repeat", [](L x) { return repeat(x[0], {2, 1, 3}); }, {{2, 3}}});
  c.push_back({"repeat non-contiguous", [](L x) { return repeat(x[0].transpose(0, 1), {2, 2}); }, {{3, 2}}});
  c.push_back({"tile", [](L x) { return tile(x[0], {2}); }, {{2, 3}}});
  return c;
}
}  // namespace detail

}  // namespace xg
