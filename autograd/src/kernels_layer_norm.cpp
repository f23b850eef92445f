// LayerNorm forward and backward, one pass over each row of n normalised
// values (Note [Fused layer_norm] in ops_norm.cpp). Row statistics and the
// weight/bias gradients accumulate in double.
#include <cmath>
#include <vector>

#include "kernels.hpp"

namespace xg::detail {

void layer_norm_kernel(const Tensor& x_in, const Tensor& w_in, const Tensor& b_in, std::int64_t n, double eps, Tensor& y,
                       Tensor& mean, Tensor& rstd) {
  const Tensor x = dense(x_in), w = dense(w_in), b = dense(b_in);
  const std::int64_t rows = n == 0 ? 0 : x.numel() / n;
  y = make_tensor(x.shape(), x.dtype(), "layer_norm");
  mean = make_tensor(Shape{rows}, Dtype::Float64, "layer_norm");
  rstd = make_tensor(Shape{rows}, Dtype::Float64, "layer_norm");
  dispatch_float(x.dtype(), "layer_norm", [&](auto z) {
    using T = decltype(z);
    const T* px = x.data<T>();
    const T* pw = w.defined() ? w.data<T>() : nullptr;
    const T* pb = b.defined() ? b.data<T>() : nullptr;
    T* py = y.data<T>();
    double* pm = mean.data<double>();
    double* pr = rstd.data<double>();
    for (std::int64_t r = 0; r < rows; ++r) {
      const T* row = px + r * n;
      T* out = py + r * n;
      double s = 0;
      for (std::int64_t i = 0; i < n; ++i) s += static_cast<double>(row[i]);
      const double mu = s / static_cast<double>(n);
      double ss = 0;
      for (std::int64_t i = 0; i < n; ++i) {
        const double c = static_cast<double>(row[i]) - mu;
        ss += c * c;
      }
      const double inv = 1.0 / std::sqrt(ss / static_cast<double>(n) + eps);
      pm[r] = mu;
      pr[r] = inv;
      const T m = static_cast<T>(mu), k = static_cast<T>(inv);
      for (std::int64_t i = 0; i < n; ++i) {
        T v = (row[i] - m) * k;
        if (pw) v *= pw[i];
        if (pb) v += pb[i];
        out[i] = v;
      }
    }
  });
}

void layer_norm_backward_kernel(const Tensor& g_in, const Tensor& x_in, const Tensor& w_in, const Tensor& mean,
                                const Tensor& rstd, std::int64_t n, Tensor* dx, Tensor* dw, Tensor* db) {
  const Tensor g = dense(g_in), x = dense(x_in), w = dense(w_in);
  const std::int64_t rows = n == 0 ? 0 : x.numel() / n;
  if (dx) *dx = make_tensor(x.shape(), x.dtype(), "backward");
  dispatch_float(x.dtype(), "backward", [&](auto z) {
    using T = decltype(z);
    const T* pg = g.data<T>();
    const T* px = x.data<T>();
    const T* pw = w.defined() ? w.data<T>() : nullptr;
    const double* pm = mean.data<double>();
    const double* pr = rstd.data<double>();
    T* pdx = dx ? dx->data<T>() : nullptr;
    std::vector<double> sum_w(dw ? static_cast<std::size_t>(n) : 0), sum_b(db ? static_cast<std::size_t>(n) : 0);
    for (std::int64_t r = 0; r < rows; ++r) {
      const T* gr = pg + r * n;
      const T* xr = px + r * n;
      const double mu = pm[r], k = pr[r];
      double a = 0, c = 0;  // Σ gy and Σ gy·x̂
      for (std::int64_t i = 0; i < n; ++i) {
        const double xhat = (static_cast<double>(xr[i]) - mu) * k;
        const double gy = static_cast<double>(gr[i]) * (pw ? static_cast<double>(pw[i]) : 1.0);
        a += gy;
        c += gy * xhat;
        if (dw) sum_w[static_cast<std::size_t>(i)] += static_cast<double>(gr[i]) * xhat;
        if (db) sum_b[static_cast<std::size_t>(i)] += static_cast<double>(gr[i]);
      }
      if (!pdx) continue;
      a /= static_cast<double>(n);
      c /= static_cast<double>(n);
      T* out = pdx + r * n;
      for (std::int64_t i = 0; i < n; ++i) {
        const double xhat = (static_cast<double>(xr[i]) - mu) * k;
        const double gy = static_cast<double>(gr[i]) * (pw ? static_cast<double>(pw[i]) : 1.0);
        out[i] = static_cast<T>(k * (gy - a - xhat * c));
      }
    }
    auto finish = [&](Tensor* t, const std::vector<double>& acc) {
      if (!t) return;
      *t = make_tensor(Shape{n}, x.dtype(), "backward");
      T* p = t->data<T>();
      for (std::int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(acc[static_cast<std::size_t>(i)]);
    };
    finish(dw, sum_w);
    finish(db, sum_b);
  });
}

}  // namespace xg::detail
