// softmax and log_softmax along one dim, forward and backward, each in one
// pass per row instead of five whole-tensor ops (max, sub, exp, sum, div).
//
// Note [Fused softmax]
// The input is read as [outer, n, inner] (dim in the middle). For each of the
// outer·inner rows of n: m = max (NaN wins, as in the composed version, so a
// NaN anywhere in a row gives a NaN row and an all −inf row gives NaN, both as
// in PyTorch); e = exp(x − m), written straight into the output; s = Σ e;
// then y = e / s, or y = (x − m) − log s (simd_kernels.inl, on SIMD lanes). The backward is one pass too:
// softmax dx = y ⊙ (g − Σ g⊙y), log_softmax dx = g − eʸ Σ g. Both keep the
// composed formulas' results to rounding; with create_graph the op's node
// uses those formulas instead, so higher derivatives still work.
#include <algorithm>
#include <vector>

#include "kernels.hpp"
#include "xgrad/parallel.hpp"

namespace xg::detail {
namespace {
/// Calls f(row start, gathered buffers) for each of the outer·inner rows of
/// n values (row r starts at (r / inner)·n·inner + r % inner, stride inner),
/// split across threads; `buffers` scratch rows of n are per chunk.
template <class T, class F>
void for_each_row(std::int64_t outer, std::int64_t n, std::int64_t inner, int buffers, F f) {
  parallel_for(outer * inner, items_grain(n), [&](std::int64_t begin, std::int64_t end) {
    std::vector<T> scratch(inner == 1 ? 0 : static_cast<std::size_t>(buffers * n));
    for (std::int64_t r = begin; r < end; ++r) f((r / inner) * n * inner + r % inner, scratch.data());
  });
}
}  // namespace

Tensor softmax_kernel(const Tensor& x_in, std::int64_t dim, bool log) {
  const Tensor x = dense(x_in);
  Tensor y = make_tensor(x.shape(), x.dtype(), log ? "log_softmax" : "softmax");
  std::int64_t outer, n, inner;
  split_around(x.shape(), dim, outer, n, inner);
  dispatch_float(x.dtype(), log ? "log_softmax" : "softmax", [&](auto z) {
    using T = decltype(z);
    const T* px = x.data<T>();
    T* py = y.data<T>();
    const simd::Kernels<T>& k = simd::kernels<T>();
    for_each_row<T>(outer, n, inner, 2, [&](std::int64_t base, T* scratch) {
      if (inner == 1) return k.softmax_row(px + base, py + base, n, log);
      T* in_row = scratch;  // a strided row, gathered
      T* out_row = scratch + n;
      for (std::int64_t i = 0; i < n; ++i) in_row[i] = px[base + i * inner];
      k.softmax_row(in_row, out_row, n, log);
      for (std::int64_t i = 0; i < n; ++i) py[base + i * inner] = out_row[i];
    });
  });
  return y;
}

Tensor softmax_backward_kernel(const Tensor& g_in, const Tensor& y_in, std::int64_t dim, bool log) {
  const Tensor g = dense(g_in), y = dense(y_in);
  Tensor dx = make_tensor(y.shape(), y.dtype(), "backward");
  std::int64_t outer, n, inner;
  split_around(y.shape(), dim, outer, n, inner);
  dispatch_float(y.dtype(), "backward", [&](auto z) {
    using T = decltype(z);
    const simd::Kernels<T>& k = simd::kernels<T>();
    const T* pg = g.data<T>();
    const T* py = y.data<T>();
    T* out = dx.data<T>();
    for_each_row<T>(outer, n, inner, 3, [&](std::int64_t base, T* scratch) {
      if (inner == 1) return k.softmax_backward_row(pg + base, py + base, out + base, n, log);
      T* g_row = scratch;
      T* y_row = scratch + n;
      T* dx_row = scratch + 2 * n;
      for (std::int64_t i = 0; i < n; ++i) {
        g_row[i] = pg[base + i * inner];
        y_row[i] = py[base + i * inner];
      }
      k.softmax_backward_row(g_row, y_row, dx_row, n, log);
      for (std::int64_t i = 0; i < n; ++i) out[base + i * inner] = dx_row[i];
    });
  });
  return dx;
}

}  // namespace xg::detail
