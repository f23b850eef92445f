// softmax and log_softmax along one dim, forward and backward, each in one
// pass per row instead of five whole-tensor ops (max, sub, exp, sum, div).
//
// Note [Fused softmax]
// The input is read as [outer, n, inner] (dim in the middle). For each of the
// outer·inner rows of n: m = max (NaN wins, as in the composed version, so a
// NaN anywhere in a row gives a NaN row and an all −inf row gives NaN, both as
// in PyTorch); e = exp(x − m), written straight into the output (float32
// through the vectorised exp_f32); s = Σ e, accumulated in double; then
// y = e / s, or y = (x − m) − log s. The backward is one pass too:
// softmax dx = y ⊙ (g − Σ g⊙y), log_softmax dx = g − eʸ Σ g. Both keep the
// composed formulas' results to rounding; with create_graph the op's node
// uses those formulas instead, so higher derivatives still work.
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "kernels.hpp"

namespace xg::detail {
namespace {

template <class T>
T row_max(const T* p, std::int64_t n, std::int64_t stride) {
  T m = -std::numeric_limits<T>::infinity();
  for (std::int64_t i = 0; i < n; ++i) {
    const T v = p[i * stride];
    m = (v > m || v != v) ? v : m;
    if (m != m) break;
  }
  return m;
}

/// One row of n values, unit stride, into out (unit stride).
template <class T>
void softmax_row(const T* x, T* out, std::int64_t n, bool log) {
  const T m = row_max(x, n, 1);
  for (std::int64_t i = 0; i < n; ++i) out[i] = x[i] - m;
  if constexpr (std::is_same_v<T, float>) {
    exp_f32(out, out, n);
  } else {
    for (std::int64_t i = 0; i < n; ++i) out[i] = std::exp(out[i]);
  }
  double s = 0;
  for (std::int64_t i = 0; i < n; ++i) s += static_cast<double>(out[i]);
  if (log) {
    const T ls = static_cast<T>(std::log(s));
    for (std::int64_t i = 0; i < n; ++i) out[i] = (x[i] - m) - ls;
  } else {
    const T inv = static_cast<T>(1.0 / s);
    for (std::int64_t i = 0; i < n; ++i) out[i] *= inv;
  }
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
    std::vector<T> in_row, out_row;  // a strided row, gathered
    for (std::int64_t o = 0; o < outer; ++o)
      for (std::int64_t c = 0; c < inner; ++c) {
        const T* row = px + o * n * inner + c;
        T* dst = py + o * n * inner + c;
        if (inner == 1) {
          softmax_row(row, dst, n, log);
          continue;
        }
        in_row.resize(static_cast<std::size_t>(n));
        out_row.resize(static_cast<std::size_t>(n));
        for (std::int64_t i = 0; i < n; ++i) in_row[static_cast<std::size_t>(i)] = row[i * inner];
        softmax_row(in_row.data(), out_row.data(), n, log);
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
    const T* pg = g.data<T>();
    const T* py = y.data<T>();
    T* out = dx.data<T>();
    for (std::int64_t o = 0; o < outer; ++o)
      for (std::int64_t c = 0; c < inner; ++c) {
        const std::int64_t base = o * n * inner + c;
        double s = 0;
        for (std::int64_t i = 0; i < n; ++i) {
          const std::int64_t k = base + i * inner;
          s += log ? static_cast<double>(pg[k]) : static_cast<double>(pg[k]) * static_cast<double>(py[k]);
        }
        const T st = static_cast<T>(s);
        for (std::int64_t i = 0; i < n; ++i) {
          const std::int64_t k = base + i * inner;
          out[k] = log ? pg[k] - std::exp(py[k]) * st : py[k] * (pg[k] - st);
        }
      }
  });
  return dx;
}

}  // namespace xg::detail
