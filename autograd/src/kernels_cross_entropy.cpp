// Cross-entropy with class targets, forward and backward, one pass per row
// of logits (Note [Fused cross_entropy] in ops_loss.cpp); the row math is
// the SIMD table's.
#include <algorithm>

#include "kernels.hpp"
#include "xgrad/parallel.hpp"

namespace xg::detail {
namespace {
/// W = Σ cw (C without class weights).
template <class T>
double weight_total(const T* cw, std::int64_t c) {
  if (!cw) return static_cast<double>(c);
  double w = 0;
  for (std::int64_t j = 0; j < c; ++j) w += static_cast<double>(cw[j]);
  return w;
}
}  // namespace

void cross_entropy_kernel(const Tensor& x_in, const CrossEntropyRows& rows, Tensor& loss, Tensor& lse) {
  const Tensor x = dense(x_in), cw = dense(rows.class_w);
  const std::int64_t n = x.size(0), c = x.size(1);
  loss = make_tensor(Shape{n}, x.dtype(), "cross_entropy");
  lse = make_tensor(Shape{n}, x.dtype(), "cross_entropy");
  dispatch_float(x.dtype(), "cross_entropy", [&](auto z) {
    using T = decltype(z);
    const simd::Kernels<T>& k = simd::kernels<T>();
    const T* px = x.data<T>();
    const T* pw = data_or_null<T>(cw);
    T* pl = loss.data<T>();
    T* pe = lse.data<T>();
    const double total_w = weight_total(pw, c);
    const double eps = rows.smoothing;
    parallel_for(n, items_grain(c), [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i) {
        const T* row = px + i * c;
        const auto ui = static_cast<std::size_t>(i);
        const T l = k.logsumexp_row(row, c);
        pe[i] = l;
        double value = rows.sample_w[ui] * (1.0 - eps) * (static_cast<double>(l) - static_cast<double>(row[rows.target[ui]]));
        if (eps > 0 && rows.kept[ui] != 0) {
          double weighted = 0;  // Σ_c cw_c x_c
          if (pw) {
            for (std::int64_t j = 0; j < c; ++j) weighted += static_cast<double>(pw[j]) * static_cast<double>(row[j]);
          } else {
            weighted = static_cast<double>(k.sum(row, c));
          }
          value += eps / static_cast<double>(c) * (total_w * static_cast<double>(l) - weighted);
        }
        pl[i] = static_cast<T>(value);
      }
    });
  });
}

Tensor cross_entropy_backward_kernel(const Tensor& g_in, const Tensor& x_in, const Tensor& lse_in,
                                     const CrossEntropyRows& rows) {
  const Tensor g = dense(g_in), x = dense(x_in), lse = dense(lse_in), cw = dense(rows.class_w);
  const std::int64_t n = x.size(0), c = x.size(1);
  Tensor dx = make_tensor(x.shape(), x.dtype(), "backward");
  dispatch_float(x.dtype(), "backward", [&](auto z) {
    using T = decltype(z);
    const simd::Kernels<T>& k = simd::kernels<T>();
    const T* px = x.data<T>();
    const T* pg = g.data<T>();
    const T* pe = lse.data<T>();
    const T* pw = data_or_null<T>(cw);
    T* out = dx.data<T>();
    const double total_w = weight_total(pw, c);
    const double eps = rows.smoothing;
    parallel_for(n, items_grain(c), [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i) {
        const auto ui = static_cast<std::size_t>(i);
        // dℓ/dx_j = a(p_j − δ_jt) + b(p_j·W − cw_j), a = g·w(1−ε), b = g·ε·k/C.
        const double a = static_cast<double>(pg[i]) * rows.sample_w[ui] * (1.0 - eps);
        const double b = static_cast<double>(pg[i]) * eps * rows.kept[ui] / static_cast<double>(c);
        T* row = out + i * c;
        k.cross_entropy_backward_row(px + i * c, pe[i], static_cast<T>(a + b * total_w), static_cast<T>(b), pw, row, c);
        row[rows.target[ui]] -= static_cast<T>(a);
      }
    });
  });
  return dx;
}

}  // namespace xg::detail
