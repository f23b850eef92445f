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
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "kernels.hpp"

namespace xg::detail {
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
    std::vector<T> in_row, out_row;  // a strided row, gathered
    for (std::int64_t o = 0; o < outer; ++o)
      for (std::int64_t c = 0; c < inner; ++c) {
        const T* row = px + o * n * inner + c;
        T* dst = py + o * n * inner + c;
        if (inner == 1) {
          k.softmax_row(row, dst, n, log);
          continue;
        }
        in_row.resize(static_cast<std::size_t>(n));
        out_row.resize(static_cast<std::size_t>(n));
        for (std::int64_t i = 0; i < n; ++i) in_row[static_cast<std::size_t>(i)] = row[i * inner];
        k.softmax_row(in_row.data(), out_row.data(), n, log);
        for (std::int64_t i = 0; i < n; ++i) dst[i * inner] = out_row[static_cast<std::size_t>(i)];
      }
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
    std::vector<T> g_row, y_row, dx_row;  // a strided row, gathered
    for (std::int64_t o = 0; o < outer; ++o)
      for (std::int64_t c = 0; c < inner; ++c) {
        const std::int64_t base = o * n * inner + c;
        if (inner == 1) {
          k.softmax_backward_row(pg + base, py + base, out + base, n, log);
          continue;
        }
        g_row.resize(static_cast<std::size_t>(n));
        y_row.resize(static_cast<std::size_t>(n));
        dx_row.resize(static_cast<std::size_t>(n));
        for (std::int64_t i = 0; i < n; ++i) {
          g_row[static_cast<std::size_t>(i)] = pg[base + i * inner];
          y_row[static_cast<std::size_t>(i)] = py[base + i * inner];
        }
        k.softmax_backward_row(g_row.data(), y_row.data(), dx_row.data(), n, log);
        for (std::int64_t i = 0; i < n; ++i) out[base + i * inner] = dx_row[static_cast<std::size_t>(i)];
      }
  });
  return dx;
}

}  // namespace xg::detail
