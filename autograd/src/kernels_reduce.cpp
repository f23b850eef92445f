// Reduction kernels.
//
// Note [Reduction loops]
// Adjacent dims that are all reduced or all kept are merged into groups, so
// any reduction becomes alternating kept/reduced groups. The outer groups
// are walked with an odometer; the innermost group is one contiguous loop:
// either a horizontal reduction (innermost group reduced) or an elementwise
// accumulation into a row of the output (innermost group kept). Both are
// unit-stride and vectorise.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "kernels.hpp"
#include "xgrad/parallel.hpp"

namespace xg::detail {
namespace {

template <class T>
struct SumOp {
  static T init() { return T(0); }
  static T combine(T a, T b) {
    if constexpr (std::is_integral_v<T>) {  // int64 sums wrap on overflow, as in libtorch
      using U = std::make_unsigned_t<T>;
      return static_cast<T>(static_cast<U>(a) + static_cast<U>(b));
    } else {
      return a + b;
    }
  }
  static T reduce(const T* p, std::int64_t n) {
    if constexpr (std::is_integral_v<T>) {
      T s = 0;
      for (std::int64_t i = 0; i < n; ++i) s = combine(s, p[i]);
      return s;
    } else {
      return simd::kernels<T>().sum(p, n);  // four accumulators of SIMD lanes
    }
  }
  static void accumulate(T* dst, const T* src, std::int64_t n) {
    if constexpr (std::is_integral_v<T>) {
      for (std::int64_t i = 0; i < n; ++i) dst[i] = combine(dst[i], src[i]);
    } else {
      simd::kernels<T>().accumulate(dst, src, n);
    }
  }
};

template <class T>
struct MaxOp {
  static T init() {
    if constexpr (std::numeric_limits<T>::has_infinity) return -std::numeric_limits<T>::infinity();
    return std::numeric_limits<T>::lowest();
  }
  static T combine(T a, T b) { return (b > a || b != b) ? b : a; }  // NaN propagates
  static T reduce(const T* p, std::int64_t n) {
    if constexpr (std::is_floating_point_v<T>) return simd::kernels<T>().max(p, n);
    T m = init();
    for (std::int64_t i = 0; i < n; ++i) m = combine(m, p[i]);
    return m;
  }
  static void accumulate(T* dst, const T* src, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) dst[i] = combine(dst[i], src[i]);
  }
};

template <class T>
struct MinOp {
  static T init() {
    if constexpr (std::numeric_limits<T>::has_infinity) return std::numeric_limits<T>::infinity();
    return std::numeric_limits<T>::max();
  }
  static T combine(T a, T b) { return (b < a || b != b) ? b : a; }
  static T reduce(const T* p, std::int64_t n) {
    if constexpr (std::is_floating_point_v<T>) return simd::kernels<T>().min(p, n);
    T m = init();
    for (std::int64_t i = 0; i < n; ++i) m = combine(m, p[i]);
    return m;
  }
  static void accumulate(T* dst, const T* src, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) dst[i] = combine(dst[i], src[i]);
  }
};

/// Reduces in[...] (groups of `sizes`, walked with in_stride) into out
/// (out_stride, 0 along reduced groups); out starts at Op::init().
template <class T, class Op>
void reduce_walk(const T* in, T* out, const std::vector<std::int64_t>& sizes, const std::vector<std::int64_t>& in_stride,
                 const std::vector<std::int64_t>& out_stride, const std::vector<bool>& reduced) {
  const std::size_t groups = sizes.size();
  const std::size_t inner = groups - 1;
  const std::int64_t n = sizes[inner];
  std::int64_t outer = 1;
  for (std::size_t g = 0; g < inner; ++g) outer *= sizes[g];
  std::vector<std::int64_t> idx(groups, 0);
  std::int64_t io = 0, oo = 0;
  for (std::int64_t o = 0; o < outer; ++o) {
    if (reduced[inner]) {
      out[oo] = Op::combine(out[oo], Op::reduce(in + io, n));
    } else {
      Op::accumulate(out + oo, in + io, n);
    }
    for (std::size_t g = inner; g-- > 0;) {
      io += in_stride[g];
      oo += out_stride[g];
      if (++idx[g] < sizes[g]) break;
      io -= in_stride[g] * sizes[g];
      oo -= out_stride[g] * sizes[g];
      idx[g] = 0;
    }
  }
}

/// Note [Parallel reductions]
/// Work is split along the outermost kept group: each chunk owns a slice of
/// the output and reduces it in the same order a single thread would, so the
/// bits do not depend on the thread count. A full reduction (no kept group)
/// and a column reduction ([R, K] over R) sum fixed chunks of rows and combine
/// them in chunk order: the same bits for a given thread count.
template <class T, class Op>
void reduce_loop(const T* in, T* out, std::int64_t out_numel, const std::vector<std::int64_t>& sizes,
                 const std::vector<bool>& reduced) {
  const std::size_t groups = sizes.size();
  std::vector<std::int64_t> in_stride(groups), out_stride(groups);
  std::int64_t si = 1, so = 1;
  for (std::size_t g = groups; g-- > 0;) {
    in_stride[g] = si;
    si *= sizes[g];
    out_stride[g] = reduced[g] ? 0 : so;
    if (!reduced[g]) so *= sizes[g];
  }
  const std::int64_t total = si;
  std::size_t split = 0;  // the outermost kept group
  while (split < groups && reduced[split]) ++split;
  if (split == groups) {  // everything reduced: one group
    out[0] = parallel_reduce<T>(total, kParallelGrainMemory, Op::init(),
                                [&](std::int64_t b, std::int64_t e) { return Op::reduce(in + b, e - b); },
                                [](T a, T b) { return Op::combine(a, b); });
    return;
  }
  parallel_for(out_numel, kParallelGrainMemory, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; ++i) out[i] = Op::init();
  });
  if (total == 0) return;  // an empty input: every output stays at init
  if (groups == 2 && split == 1) {
    // Column reductions ([R, K] over R, e.g. a bias gradient): chunks of
    // whole rows, each into its own [K] partial, added in chunk order. (Cutting
    // K instead made both threads stream half-rows: slower than one thread.)
    const std::int64_t r = sizes[0], k = sizes[1];
    const int chunks = parallel_chunks(r, items_grain(k, kParallelGrainMemory));
    if (chunks > 1) {
      std::vector<T> partial(static_cast<std::size_t>((chunks - 1) * k), Op::init());
      parallel_for(chunks, 1, [&](std::int64_t cb, std::int64_t ce) {
        for (std::int64_t c = cb; c < ce; ++c) {
          T* dst = c == 0 ? out : partial.data() + (c - 1) * k;
          for (std::int64_t i = r * c / chunks; i < r * (c + 1) / chunks; ++i) Op::accumulate(dst, in + i * k, k);
        }
      });
      for (int c = 1; c < chunks; ++c) Op::accumulate(out, partial.data() + (c - 1) * k, k);
      return;
    }
  }
  // About kParallelGrainMemory input values a chunk: total / sizes[split] sit behind one index.
  parallel_for(sizes[split], items_grain(total / sizes[split], kParallelGrainMemory), [&](std::int64_t b, std::int64_t e) {
    std::vector<std::int64_t> part = sizes;
    part[split] = e - b;
    reduce_walk<T, Op>(in + b * in_stride[split], out + b * out_stride[split], part, in_stride, out_stride, reduced);
  });
}

}  // namespace

Tensor reduce_kernel(ReduceOp op, const Tensor& x_in, const std::vector<bool>& reduce, bool keepdim, const char* name) {
  // Integers and bools sum in int64, as in libtorch.
  if (op == ReduceOp::Sum && !is_floating(x_in.dtype()) && x_in.dtype() != Dtype::Int64)
    return reduce_kernel(op, x_in.to(Dtype::Int64), reduce, keepdim, name);
  if (!x_in.is_contiguous() && x_in.dim() > 1) {
    // A permuted dense tensor (transpose, permute) is reduced in its memory
    // order, with no copy of the input; only the (smaller) result is reordered.
    std::vector<std::int64_t> order(static_cast<std::size_t>(x_in.dim()));
    for (std::size_t d = 0; d < order.size(); ++d) order[d] = static_cast<std::int64_t>(d);
    std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) { return x_in.stride(a) > x_in.stride(b); });
    Shape shape, strides, inverse(order.size());
    std::vector<bool> reduce_in_order;
    for (std::size_t i = 0; i < order.size(); ++i) {
      const auto d = static_cast<std::size_t>(order[i]);
      shape.push_back(x_in.shape()[d]);
      strides.push_back(x_in.strides()[d]);
      reduce_in_order.push_back(reduce[d]);
      inverse[d] = static_cast<std::int64_t>(i);
    }
    if (is_contiguous_layout(shape, strides)) {
      const Tensor in_order = make_view(x_in, shape, strides, x_in.storage_offset(), "permute");
      const Tensor kept = reduce_kernel(op, in_order, reduce_in_order, true, name);
      Shape out_shape, out_strides;  // kept, viewed back in the caller's dim order
      for (std::size_t d = 0; d < order.size(); ++d) {
        if (!keepdim && reduce[d]) continue;
        out_shape.push_back(kept.shape()[static_cast<std::size_t>(inverse[d])]);
        out_strides.push_back(kept.strides()[static_cast<std::size_t>(inverse[d])]);
      }
      return dense(make_view(kept, out_shape, out_strides, 0, "permute"));
    }
  }
  const Tensor x = dense(x_in);
  const Shape& in = x.shape();
  Shape out_shape;
  std::vector<std::int64_t> sizes;
  std::vector<bool> reduced;
  for (std::size_t d = 0; d < in.size(); ++d) {
    if (keepdim || !reduce[d]) out_shape.push_back(reduce[d] ? 1 : in[d]);
    if (in[d] == 1) continue;
    if (!sizes.empty() && reduced.back() == reduce[d]) {
      sizes.back() *= in[d];
    } else {
      sizes.push_back(in[d]);
      reduced.push_back(reduce[d]);
    }
  }
  if (sizes.empty()) {
    sizes.push_back(1);
    reduced.push_back(true);
  }
  Tensor out = make_tensor(out_shape, x.dtype());
  dispatch_numeric(x.dtype(), name, [&](auto z) {
    using T = decltype(z);
    const T* pi = x.data<T>();
    T* po = out.data<T>();
    switch (op) {
      case ReduceOp::Sum: reduce_loop<T, SumOp<T>>(pi, po, out.numel(), sizes, reduced); break;
      case ReduceOp::Max: reduce_loop<T, MaxOp<T>>(pi, po, out.numel(), sizes, reduced); break;
      case ReduceOp::Min: reduce_loop<T, MinOp<T>>(pi, po, out.numel(), sizes, reduced); break;
    }
  });
  return out;
}

Tensor arg_reduce_kernel(bool is_max, const Tensor& x_in, std::int64_t dim, bool keepdim) {
  const Tensor x = dense(x_in);
  const Shape& in = x.shape();
  std::int64_t outer, n, inner;
  split_around(in, dim, outer, n, inner);
  Shape out_shape;
  for (std::size_t d = 0; d < in.size(); ++d) {
    if (static_cast<std::int64_t>(d) != dim) out_shape.push_back(in[d]);
    else if (keepdim) out_shape.push_back(1);
  }
  Tensor out = make_tensor(out_shape, Dtype::Int64);
  std::int64_t* po = out.data<std::int64_t>();
  dispatch_numeric(x.dtype(), is_max ? "argmax" : "argmin", [&](auto z) {
    using T = decltype(z);
    const T* p = x.data<T>();
    for (std::int64_t o = 0; o < outer; ++o) {
      for (std::int64_t i = 0; i < inner; ++i) {
        const T* col = p + o * n * inner + i;
        std::int64_t best = 0;
        T bv = col[0];
        for (std::int64_t k = 1; k < n && bv == bv; ++k) {
          const T v = col[k * inner];
          if ((is_max ? v > bv : v < bv) || v != v) {
            bv = v;
            best = k;
          }
        }
        po[o * inner + i] = best;
      }
    }
  });
  return out;
}

Tensor cumulative_kernel(const Tensor& x_in, std::int64_t dim, bool product) {
  const Tensor x = dense(x_in);
  Tensor out = make_tensor(x.shape(), x.dtype());
  if (x.numel() == 0) return out;  // an empty dim would make the first-row copy write past the end (found by fuzzing)
  std::int64_t outer, n, inner;
  split_around(x.shape(), dim, outer, n, inner);
  dispatch_float(x.dtype(), product ? "cumprod" : "cumsum", [&](auto z) {
    using T = decltype(z);
    const T* p = x.data<T>();
    T* q = out.data<T>();
    for (std::int64_t o = 0; o < outer; ++o) {
      const std::int64_t base = o * n * inner;
      for (std::int64_t i = 0; i < inner; ++i) q[base + i] = p[base + i];
      for (std::int64_t k = 1; k < n; ++k)
        for (std::int64_t i = 0; i < inner; ++i)
          q[base + k * inner + i] = product ? q[base + (k - 1) * inner + i] * p[base + k * inner + i]
                                            : q[base + (k - 1) * inner + i] + p[base + k * inner + i];
    }
  });
  return out;
}

}  // namespace xg::detail
