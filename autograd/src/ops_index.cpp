// Indexing: index_select / index_add and gather / scatter_add are adjoint
// pairs, each the other's backward, so any order of derivative works.
// Index tensors are int64; every index is range-checked before use.
#include "kernels.hpp"
#include "xgrad/ops_nn.hpp"
#include "op_samples.hpp"
#include "vmap.hpp"

namespace xg {

using detail::needs_grad;

namespace {

void check_index(const Tensor& index, const char* op) {
  detail::check_defined(index, op);
  XG_CHECK(index.dtype() == Dtype::Int64, op, "indices must be int64, got ", index.dtype(), index.shape());
}

/// Throws, naming op, at the first index outside [0, size); the message ends
/// with what the range is, `what...` ("dim 1 of size 3" by default).
template <class... What>
void check_range_of(const Tensor& index_in, std::int64_t size, const char* op, const What&... what) {
  const Tensor index = detail::dense(index_in);
  const std::int64_t* p = index.data<std::int64_t>();
  for (std::int64_t i = 0; i < index.numel(); ++i)
    XG_CHECK(p[i] >= 0 && p[i] < size, op, "index ", p[i], " is out of range for ", what...);
}

void check_range(const Tensor& index, std::int64_t size, std::int64_t dim, const char* op) {
  check_range_of(index, size, op, "dim ", dim, " of size ", size);
}

/// Calls f(x_offset, other_offset) for every element of `over` (row-major), where
/// x_offset addresses x at the same position but with dim replaced by index[pos].
template <class F>
void for_each_indexed(const Shape& over, const Shape& x_shape, std::int64_t dim, const std::int64_t* index, F f) {
  const Shape xs = detail::contiguous_strides(x_shape);
  const std::size_t nd = over.size();
  Shape pos(nd, 0);
  std::int64_t base = 0;  // x offset without the dim term
  for (std::int64_t k = 0; k < over.numel(); ++k) {
    f(base + index[k] * xs[static_cast<std::size_t>(dim)], k);
    for (std::size_t d = nd; d-- > 0;) {
      if (static_cast<std::int64_t>(d) != dim) base += xs[d];
      if (++pos[d] < over[d]) break;
      if (static_cast<std::int64_t>(d) != dim) base -= xs[d] * over[d];
      pos[d] = 0;
    }
  }
}

void check_gather_shapes(const Tensor& x, std::int64_t dim, const Tensor& index, const char* op) {
  XG_CHECK(index.dim() == x.dim(), op, "index ", index.shape(), " must have as many dims as the input ", x.shape());
  for (std::int64_t d = 0; d < x.dim(); ++d)
    XG_CHECK(d == dim || index.size(d) <= x.size(d), op, "index ", index.shape(), " is larger than the input ",
             x.shape(), " in dim ", d);
}

}  // namespace

Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& index_in) {
  if (detail::vmapping()) {
    if (auto r = detail::batch_rule("index_select", {x, index_in}, [&](const detail::BatchArgs& a) {
          if (a.batched[1]) return detail::per_example([&](const TensorList& e) { return index_select(e[0], dim, e[1]); })(a);
          return index_select(a.x[0], a.dim(0, dim, "index_select"), a.x[1]);
        }))
      return *r;
  }
  const Tensor index = detail::dense(index_in);
  detail::check_defined(x, "index_select");
  check_index(index, "index_select");
  XG_CHECK(index.dim() <= 1, "index_select", "index must be 1-d, got ", index.shape());
  const std::int64_t d = detail::wrap_dim(dim, x.dim(), "index_select");
  std::int64_t outer, n, inner;
  detail::split_around(x.shape(), d, outer, n, inner);
  check_range(index, n, d, "index_select");
  Shape out_shape = x.shape();
  if (x.dim() > 0) out_shape[static_cast<std::size_t>(d)] = index.numel();
  Tensor y = detail::make_tensor(out_shape, x.dtype());
  const std::int64_t* idx = index.data<std::int64_t>();
  const std::int64_t m = index.numel();
  detail::dispatch_all(x.dtype(), [&](auto z) {
    using T = decltype(z);
    const Tensor xd = detail::dense(x);
    const T* src = xd.data<T>();
    T* dst = y.data<T>();
    for (std::int64_t o = 0; o < outer; ++o)
      for (std::int64_t i = 0; i < m; ++i) {
        const T* from = src + (o * n + idx[i]) * inner;
        T* to = dst + (o * m + i) * inner;
        for (std::int64_t k = 0; k < inner; ++k) to[k] = from[k];
      }
  });
  if (needs_grad(x)) {
    detail::linear_tangent(y, x, [&](const Tensor& t) { return index_select(t, d, index); });
    make_node(y, "IndexSelectBackward", [d, index, in = x.shape()](const Tensor& g, Node&) -> TensorList {
      return {index_add(zeros(in, g.dtype()), d, index, g)};
    }, x);
  }
  return y;
}

Tensor index_add(const Tensor& x, std::int64_t dim, const Tensor& index_in, const Tensor& src) {
  if (detail::vmapping()) {
    if (auto r = detail::batch_rule("index_add", {x, index_in, src}, [&](const detail::BatchArgs& a) {
          if (a.batched[1])
            return detail::per_example([&](const TensorList& e) { return index_add(e[0], dim, e[1], e[2]); })(a);
          const std::int64_t d = detail::wrap_dim(dim, a.example_rank(0), "index_add") + 1;
          return index_add(a.expanded(0), d, a.x[1], a.expanded(2));
        }))
      return *r;
  }
  const Tensor index = detail::dense(index_in);
  detail::check_same_dtype(x, src, "index_add");
  check_index(index, "index_add");
  const std::int64_t d = detail::wrap_dim(dim, x.dim(), "index_add");
  std::int64_t outer, n, inner;
  detail::split_around(x.shape(), d, outer, n, inner);
  check_range(index, n, d, "index_add");
  Shape want = x.shape();
  if (x.dim() > 0) want[static_cast<std::size_t>(d)] = index.numel();
  XG_CHECK(src.shape() == want, "index_add", "source ", src.shape(), " should be ", want, " for input ", x.shape(),
           " and ", index.numel(), " indices");
  Tensor y = x.detach().clone();
  const std::int64_t* idx = index.data<std::int64_t>();
  const std::int64_t m = index.numel();
  detail::dispatch_float(x.dtype(), "index_add", [&](auto z) {
    using T = decltype(z);
    const Tensor sd = detail::dense(src);
    const T* s = sd.data<T>();
    T* dst = y.data<T>();
    for (std::int64_t o = 0; o < outer; ++o)
      for (std::int64_t i = 0; i < m; ++i) {
        const T* from = s + (o * m + i) * inner;
        T* to = dst + (o * n + idx[i]) * inner;
        for (std::int64_t k = 0; k < inner; ++k) to[k] += from[k];
      }
  });
  if (needs_grad(x, src)) {
    make_node(y, "IndexAddBackward", [d, index](const Tensor& g, Node& self) -> TensorList {
      return {self.needs_input_grad(0) ? g : Tensor(),
              self.needs_input_grad(1) ? index_select(g, d, index) : Tensor()};
    }, x, src);
  }
  return y;
}

namespace {
Tensor gather_backward(const Tensor& g, const Shape& in, std::int64_t d, const Tensor& index);
}

Tensor gather(const Tensor& x, std::int64_t dim, const Tensor& index_in) {
  if (detail::vmapping()) {
    if (auto r = detail::batch_rule("gather", {x, index_in}, [&](const detail::BatchArgs& a) {
          return gather(a.expanded(0), a.dim(0, dim, "gather") + (a.batched[0] ? 0 : 1), a.expanded(1));
        }))
      return *r;
  }
  const Tensor index = detail::dense(index_in);
  detail::check_defined(x, "gather");
  check_index(index, "gather");
  const std::int64_t d = detail::wrap_dim(dim, x.dim(), "gather");
  check_gather_shapes(x, d, index, "gather");
  check_range(index, x.dim() == 0 ? 1 : x.size(d), d, "gather");
  Tensor y = detail::make_tensor(index.shape(), x.dtype());
  detail::dispatch_all(x.dtype(), [&](auto z) {
    using T = decltype(z);
    const Tensor xd = detail::dense(x);
    const T* src = xd.data<T>();
    T* dst = y.data<T>();
    const std::int64_t* idx = index.data<std::int64_t>();
    if (x.dim() == 1) {  // flat (take, max-pool): a plain loop
      for (std::int64_t k = 0; k < index.numel(); ++k) dst[k] = src[idx[k]];
      return;
    }
    for_each_indexed(index.shape(), x.shape(), d, idx, [&](std::int64_t xo, std::int64_t k) { dst[k] = src[xo]; });
  });
  if (needs_grad(x)) {
    make_node(y, "GatherBackward", [d, index, in = x.shape()](const Tensor& g, Node&) -> TensorList {
      return {gather_backward(g, in, d, index)};
    }, x);
  }
  return y;
}

namespace {
/// y += src scattered along dim at index, in place on a fresh tensor y.
void scatter_add_into(Tensor& y, std::int64_t d, const Tensor& index_in, const Tensor& src_in) {
  const Tensor index = detail::dense(index_in);
  const Tensor src = detail::dense(src_in);
  detail::dispatch_float(y.dtype(), "scatter_add", [&](auto z) {
    using T = decltype(z);
    const T* s = src.data<T>();
    T* dst = y.data<T>();
    const std::int64_t* idx = index.data<std::int64_t>();
    if (y.dim() == 1) {  // flat (take/put, max-pool): a plain loop
      for (std::int64_t k = 0; k < index.numel(); ++k) dst[idx[k]] += s[k];
      return;
    }
    for_each_indexed(index.shape(), y.shape(), d, idx, [&](std::int64_t xo, std::int64_t k) { dst[xo] += s[k]; });
  });
}

/// The gradient of gather: g scattered into zeros of the input's shape. Its
/// own gradient (for second order) is gather again.
Tensor gather_backward(const Tensor& g, const Shape& in, std::int64_t d, const Tensor& index) {
  Tensor y = zeros(in, g.dtype());
  scatter_add_into(y, d, index, g);
  if (needs_grad(g)) {
    make_node(y, "GatherBackwardBackward", [d, index](const Tensor& gg, Node&) -> TensorList { return {gather(gg, d, index)}; }, g);
  }
  return y;
}
}  // namespace

Tensor scatter_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src) {
  if (detail::vmapping()) {
    if (auto r = detail::batch_rule("scatter_add", {x, index, src}, [&](const detail::BatchArgs& a) {
          const std::int64_t d = a.dim(0, dim, "scatter_add") + (a.batched[0] ? 0 : 1);
          return scatter_add(a.expanded(0), d, a.expanded(1), a.expanded(2));
        }))
      return *r;
  }
  detail::check_same_dtype(x, src, "scatter_add");
  check_index(index, "scatter_add");
  const std::int64_t d = detail::wrap_dim(dim, x.dim(), "scatter_add");
  check_gather_shapes(x, d, index, "scatter_add");
  XG_CHECK(src.shape() == index.shape(), "scatter_add", "source ", src.shape(), " must have the index's shape ",
           index.shape());
  check_range(index, x.dim() == 0 ? 1 : x.size(d), d, "scatter_add");
  Tensor y = x.detach().clone();
  scatter_add_into(y, d, index, src);
  if (needs_grad(x, src)) {
    make_node(y, "ScatterAddBackward", [d, index](const Tensor& g, Node& self) -> TensorList {
      return {self.needs_input_grad(0) ? g : Tensor(), self.needs_input_grad(1) ? gather(g, d, index) : Tensor()};
    }, x, src);
  }
  return y;
}

Tensor take(const Tensor& x, const Tensor& index) {
  XG_CHECK(x.defined(), "take", "got an undefined tensor");  // batched x goes through reshape and gather
  check_index(index, "take");
  check_range_of(index, x.numel(), "take", "a tensor of ", x.numel(), " elements (shape ", x.shape(), ")");
  return reshape(gather(reshape(x, Shape{-1}), 0, reshape(index, Shape{-1})), index.shape());
}

Tensor embedding(const Tensor& weight, const Tensor& indices, std::optional<std::int64_t> padding_idx) {
  if (detail::vmapping()) {
    if (auto r = detail::batch_rule("embedding", {weight, indices}, [&](const detail::BatchArgs& a) {
          if (a.batched[0])
            return detail::per_example([&](const TensorList& e) { return embedding(e[0], e[1], padding_idx); })(a);
          return embedding(a.x[0], a.x[1], padding_idx);  // the examples' indices are one batch of indices
        }))
      return *r;
  }
  detail::check_defined(weight, "embedding");
  check_index(indices, "embedding");
  XG_CHECK(weight.dim() == 2, "embedding", "weight must be [num_embeddings, dim], got ", weight.shape());
  check_range_of(indices, weight.size(0), "embedding", weight.size(0), " embeddings (weight ", weight.shape(), ")");
  const std::int64_t rows = weight.size(0);
  XG_CHECK(!padding_idx || (*padding_idx >= -rows && *padding_idx < rows), "embedding", "padding_idx ", *padding_idx,
           " is outside [", -rows, ", ", rows, ") for weight ", weight.shape());
  Shape out = indices.shape();
  out.push_back(weight.size(1));
  Tensor y = reshape(index_select(weight, 0, reshape(indices, Shape{-1})), out);
  if (!padding_idx || !needs_grad(weight)) return y;
  // Same values; the padding positions read a detached copy, so no gradient reaches that row.
  const std::int64_t pad = *padding_idx < 0 ? *padding_idx + rows : *padding_idx;
  return where(unsqueeze(eq(indices, static_cast<double>(pad)), -1), y.detach(), y);
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  if (detail::vmapping()) {
    if (auto r = detail::batch_rule("masked_fill", {x, mask}, [&](const detail::BatchArgs& a) {
          // The mask broadcasts to x, so x takes the batch dim whenever the mask has it.
          const std::int64_t rank = a.example_rank(0);
          return masked_fill(a.batched[1] ? a.lined_up(0, rank) : a.x[0], a.aligned(1, rank), value);
        }))
      return *r;
  }
  detail::check_defined(x, "masked_fill");
  detail::check_defined(mask, "masked_fill");
  detail::check_broadcasts_to(mask, x, "masked_fill", "mask", "input's");
  const Tensor m = mask.dtype() == x.dtype() ? mask.detach() : mask.detach().to(x.dtype());
  return where(m, full(Shape{}, value, x.dtype()), x);
}

namespace {
/// where(keep, x, 0) with keep[i, j] = upper ? j − i >= diagonal : j − i <= diagonal.
Tensor triangle(const Tensor& x, std::int64_t diagonal, bool upper, const char* op) {
  XG_CHECK(x.defined(), op, "got an undefined tensor");  // batched x goes through where
  XG_CHECK(x.dim() >= 2, op, "expects at least 2 dims (rows and columns last), got ", x.shape());
  const std::int64_t rows = x.size(-2), cols = x.size(-1);
  Tensor keep = detail::make_tensor(Shape{rows, cols}, Dtype::Bool);
  bool* k = keep.data<bool>();
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t j = 0; j < cols; ++j) {
      // j − i in int64 cannot overflow: both are sizes of a tensor that exists.
      k[i * cols + j] = upper ? j - i >= diagonal : j - i <= diagonal;
    }
  return where(keep, x, zeros(Shape{}, x.dtype()));
}
}  // namespace

Tensor triu(const Tensor& x, std::int64_t diagonal) { return triangle(x, diagonal, true, "triu"); }
Tensor tril(const Tensor& x, std::int64_t diagonal) { return triangle(x, diagonal, false, "tril"); }

Tensor one_hot(const Tensor& indices_in, std::int64_t num_classes, Dtype dtype) {
  XG_BATCHED_UNARY("one_hot", indices_in, one_hot(p, num_classes, dtype))
  const Tensor indices = detail::dense(indices_in);
  check_index(indices, "one_hot");
  XG_CHECK(num_classes > 0, "one_hot", "num_classes must be positive, got ", num_classes);
  check_range(indices, num_classes, 0, "one_hot");
  Shape out = indices.shape();
  out.push_back(num_classes);
  Tensor y = zeros(out, dtype);
  const std::int64_t* p = indices.data<std::int64_t>();
  detail::dispatch_all(dtype, [&](auto z) {
    using T = decltype(z);
    T* q = y.data<T>();
    for (std::int64_t i = 0; i < indices.numel(); ++i) q[i * num_classes + p[i]] = T(1);
  });
  return y;
}


// ---------------------------------------------------------------- gradient-check samples
// This family's rows of the op registry (op_registry.hpp): every op above on
// several shapes, in float64. A row's name starts with the op it checks, so
// the coverage test can tell when an op in the public headers has none.
namespace detail {
std::vector<OpSample> samples_index() {
  using L = const TensorList&;
  std::vector<OpSample> c;
  const Shape s23b{2, 3}, s234b{2, 3, 4};
  c.push_back({"index_select", [](L x) { return index_select(x[0], 1, tensor({2, 0, 2}, int64)); }, {s234b}});
  c.push_back({"index_add", [](L x) { return index_add(x[0], 0, tensor({1, 1, 0}, int64), x[1]); }, {s23b, {3, 3}}});
  c.push_back({"gather", [](L x) { return gather(x[0], 1, tensor({0, 2, 1, 1}, {2, 2}, int64)); }, {s23b}});
  c.push_back({"scatter_add", [](L x) { return scatter_add(x[0], 1, tensor({0, 2, 1, 1}, {2, 2}, int64), x[1]); }, {s23b, {2, 2}}});
  c.push_back({"embedding", [](L x) { return embedding(x[0], tensor({3, 0, 3}, int64)); }, {{4, 2}}});
  c.push_back({"masked_fill", [](L x) { return masked_fill(x[0], tensor({1, 0, 0, 1, 0, 1}, {2, 3}, float64), 2.0); }, {s23b}});
  c.push_back({"take", [](L x) { return take(x[0], tensor({5, 0, 5}, int64)); }, {s23b}});
  c.push_back({"triu", [](L x) { return triu(x[0]); }, {s234b}});
  c.push_back({"triu diagonal above, batched", [](L x) { return triu(x[0], 1); }, {{2, 3, 3}}});
  c.push_back({"tril", [](L x) { return tril(x[0]); }, {{3, 4}}});
  c.push_back({"tril diagonal below", [](L x) { return tril(x[0], -1); }, {s234b}});
  return c;
}
}  // namespace detail

}  // namespace xg
