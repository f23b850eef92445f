#pragma once
// One walk over N strided operands of the same shape (broadcast inputs have
// stride 0 where they repeat). Kernels hand it the shape and each operand's
// strides and get back inner runs to loop over on raw pointers.
//
// Note [Strided loops]
// Dims of size 1 are dropped, and a dim is merged into the one before it
// when every operand steps across both as across one (stride_prev ==
// stride · size), so a contiguous operand, a scalar, a bias row or a
// transposed view that is contiguous in its last dim all become long inner
// runs. When an operand is transposed across the last two dims (its stride
// there is 1 along the outer one), the walk goes in 32×32 tiles, so both that
// operand and a row-major one read whole cache lines: a transposing copy or
// `x.t() + y` costs about what a plain one does.
#include <algorithm>
#include <array>
#include <cstdint>

#include "internal.hpp"
#include "xgrad/parallel.hpp"

namespace xg::detail {

constexpr std::size_t kMaxDims = 16;

template <std::size_t N>
struct StridedPlan {
  std::size_t ndim = 0;  // >= 1 after planning; the last dim is the inner run
  std::int64_t size[kMaxDims];
  std::int64_t stride[N][kMaxDims];
};

/// strides[k] points at shape.size() strides of operand k.
template <std::size_t N>
StridedPlan<N> plan_strided(const Shape& shape, const std::array<const std::int64_t*, N>& strides, const char* op) {
  XG_CHECK(shape.size() <= kMaxDims, op, "at most ", kMaxDims, " dims are supported, got shape ", shape);
  StridedPlan<N> p;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 1) continue;
    if (p.ndim > 0) {
      const std::size_t j = p.ndim - 1;
      bool merge = true;
      for (std::size_t k = 0; k < N; ++k) merge = merge && p.stride[k][j] == strides[k][i] * shape[i];
      if (merge) {
        p.size[j] *= shape[i];
        for (std::size_t k = 0; k < N; ++k) p.stride[k][j] = strides[k][i];
        continue;
      }
    }
    p.size[p.ndim] = shape[i];
    for (std::size_t k = 0; k < N; ++k) p.stride[k][p.ndim] = strides[k][i];
    ++p.ndim;
  }
  if (p.ndim == 0) {
    p.ndim = 1;
    p.size[0] = 1;
    for (std::size_t k = 0; k < N; ++k) p.stride[k][0] = 0;
  }
  return p;
}

/// Calls f(offsets, run length, inner strides) for each inner run, in an
/// order that keeps every operand's reads in cache; offsets and strides are
/// std::array<std::int64_t, N>, in elements.
template <std::size_t N, class F>
void for_each_run(const StridedPlan<N>& p, F f) {
  const std::size_t inner = p.ndim - 1;
  // Tiles (Note [Strided loops]): when one operand runs along the other dim
  // of the last two (a transpose), walk them in square blocks.
  constexpr std::int64_t kTile = 32;
  bool tiled = false;
  if (p.ndim >= 2 && p.size[inner] > kTile && p.size[inner - 1] > kTile)
    for (std::size_t k = 0; k < N; ++k) tiled = tiled || (p.stride[k][inner] > 1 && p.stride[k][inner - 1] == 1);
  const std::size_t outer_dims = tiled ? inner - 1 : inner;
  std::array<std::int64_t, N> off{}, inner_stride{};
  for (std::size_t k = 0; k < N; ++k) inner_stride[k] = p.stride[k][inner];
  std::int64_t idx[kMaxDims] = {};
  std::int64_t outer = 1;
  for (std::size_t d = 0; d < outer_dims; ++d) outer *= p.size[d];
  for (std::int64_t r = 0; r < outer; ++r) {
    if (!tiled) {
      f(off, p.size[inner], inner_stride);
    } else {
      const std::size_t row = inner - 1;
      for (std::int64_t i0 = 0; i0 < p.size[row]; i0 += kTile)
        for (std::int64_t j0 = 0; j0 < p.size[inner]; j0 += kTile) {
          const std::int64_t rows = std::min(kTile, p.size[row] - i0), n = std::min(kTile, p.size[inner] - j0);
          for (std::int64_t i = i0; i < i0 + rows; ++i) {
            std::array<std::int64_t, N> at;
            for (std::size_t k = 0; k < N; ++k) at[k] = off[k] + i * p.stride[k][row] + j0 * p.stride[k][inner];
            f(at, n, inner_stride);
          }
        }
    }
    for (std::size_t d = outer_dims; d-- > 0;) {  // odometer over the outer dims
      for (std::size_t k = 0; k < N; ++k) off[k] += p.stride[k][d];
      if (++idx[d] < p.size[d]) break;
      for (std::size_t k = 0; k < N; ++k) off[k] -= p.stride[k][d] * p.size[d];
      idx[d] = 0;
    }
  }
}

/// for_each_run with the runs split across threads (about `grain` values a
/// chunk) along the plan's outermost dim (or its only one, cut into pieces).
/// f is called concurrently on different runs, so the output must not
/// overlap itself.
template <std::size_t N, class F>
void parallel_for_each_run(const StridedPlan<N>& p, std::int64_t grain, F f) {
  if (p.ndim == 1) {
    parallel_for(p.size[0], grain, [&](std::int64_t b, std::int64_t e) {
      std::array<std::int64_t, N> off, st;
      for (std::size_t k = 0; k < N; ++k) off[k] = b * p.stride[k][0], st[k] = p.stride[k][0];
      f(off, e - b, st);
    });
    return;
  }
  std::int64_t per_index = 1;  // elements behind one index of the outermost dim
  for (std::size_t d = 1; d < p.ndim; ++d) per_index *= p.size[d];
  parallel_for(p.size[0], items_grain(per_index, grain), [&](std::int64_t b, std::int64_t e) {
    StridedPlan<N> part = p;
    part.size[0] = e - b;
    for_each_run(part, [&](std::array<std::int64_t, N> off, std::int64_t n, const std::array<std::int64_t, N>& st) {
      for (std::size_t k = 0; k < N; ++k) off[k] += b * p.stride[k][0];
      f(off, n, st);
    });
  });
}

/// t's strides as seen from `shape`, which t broadcasts to: 0 where t repeats.
inline Shape broadcast_strides(const Tensor& t, const Shape& shape) {
  const TensorImpl* impl = impl_of(t);
  const std::size_t n = shape.size(), lead = n - impl->shape.size();
  Shape s(n, 0);
  for (std::size_t i = lead; i < n; ++i) s[i] = impl->shape[i - lead] == 1 ? 0 : impl->strides[i - lead];
  return s;
}

/// The first element of t, typed (t's dtype must be T).
template <class T>
T* first_element(const Tensor& t) {
  const TensorImpl* impl = impl_of(t);
  check_has_storage(impl, "strided loop");
  return static_cast<T*>(impl->storage->data) + impl->offset;
}

}  // namespace xg::detail
