// GroupNorm forward and backward (Note [Fused group_norm] in ops_norm.cpp):
// x [N, C, S...] is N·G rows, row (n, k) holding channels [k·cg, (k+1)·cg)
// of image n, cg·S values; statistics in double, rows split across threads.
#include <cmath>
#include <vector>

#include "kernels.hpp"
#include "xgrad/parallel.hpp"

namespace xg::detail {
namespace {
/// Values per channel and image: the product of the dims after C.
std::int64_t spatial_size(const Tensor& x) {
  std::int64_t s = 1;
  for (std::int64_t d = 2; d < x.dim(); ++d) s *= x.size(d);
  return s;
}
}  // namespace

void group_norm_kernel(const Tensor& x_in, const Tensor& w_in, const Tensor& b_in, std::int64_t groups, double eps,
                       Tensor& y, Tensor& mean, Tensor& rstd) {
  const Tensor x = dense(x_in), w = dense(w_in), b = dense(b_in);
  const std::int64_t n = x.size(0), c = x.size(1), cg = c / groups, s = spatial_size(x), m = cg * s;
  y = make_tensor(x.shape(), x.dtype(), "group_norm");
  mean = make_tensor(Shape{n * groups}, Dtype::Float64, "group_norm");
  rstd = make_tensor(Shape{n * groups}, Dtype::Float64, "group_norm");
  dispatch_float(x.dtype(), "group_norm", [&](auto z) {
    using T = decltype(z);
    const T* px = x.data<T>();
    const T* pw = data_or_null<T>(w);
    const T* pb = data_or_null<T>(b);
    T* py = y.data<T>();
    double* pm = mean.data<double>();
    double* pr = rstd.data<double>();
    parallel_for(n * groups, items_grain(m), [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t row = begin; row < end; ++row) {
        const T* xr = px + row * m;
        double total = 0;
        for (std::int64_t i = 0; i < m; ++i) total += static_cast<double>(xr[i]);
        const double mu = m > 0 ? total / static_cast<double>(m) : 0.0;
        double squares = 0;  // a second pass: Σ(x − μ)² does not cancel like Σx² − mΣμ²
        for (std::int64_t i = 0; i < m; ++i) {
          const double d = static_cast<double>(xr[i]) - mu;
          squares += d * d;
        }
        const double r = 1.0 / std::sqrt((m > 0 ? squares / static_cast<double>(m) : 0.0) + eps);
        pm[row] = mu;
        pr[row] = r;
        const std::int64_t c0 = (row % groups) * cg;
        // y = (x − μ)·scale + b per channel (centred first: folding μ into
        // the shift would cancel when |μ| is large against the spread).
        const T mu_t = static_cast<T>(mu);
        for (std::int64_t ch = 0; ch < cg; ++ch) {
          const T scale = static_cast<T>(r * (pw ? static_cast<double>(pw[c0 + ch]) : 1.0));
          const T shift = pb ? pb[c0 + ch] : T(0);
          const T* xc = xr + ch * s;
          T* yc = py + row * m + ch * s;
          for (std::int64_t i = 0; i < s; ++i) yc[i] = (xc[i] - mu_t) * scale + shift;
        }
      }
    });
  });
}

void group_norm_backward_kernel(const Tensor& g_in, const Tensor& x_in, const Tensor& w_in, const Tensor& mean,
                                const Tensor& rstd, std::int64_t groups, Tensor* dx, Tensor* dw, Tensor* db) {
  const Tensor g = dense(g_in), x = dense(x_in), w = dense(w_in);
  const std::int64_t n = x.size(0), c = x.size(1), cg = c / groups, s = spatial_size(x), m = cg * s;
  if (dx) *dx = make_tensor(x.shape(), x.dtype(), "backward");
  // Per (image, channel): Σ g and Σ g·(x − μ); dw and db sum them over the
  // images in order afterwards (the same bits on any thread count).
  std::vector<double> sum_g(static_cast<std::size_t>(n * c)), sum_gx(static_cast<std::size_t>(n * c));
  dispatch_float(x.dtype(), "backward", [&](auto z) {
    using T = decltype(z);
    const T* pg = g.data<T>();
    const T* px = x.data<T>();
    const T* pw = data_or_null<T>(w);
    const double* pm = mean.data<double>();
    const double* pr = rstd.data<double>();
    T* pdx = data_or_null<T>(dx);
    parallel_for(n * groups, items_grain(2 * m), [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t row = begin; row < end; ++row) {
        const std::int64_t c0 = (row % groups) * cg, image = row / groups;
        const double mu = pm[row], r = pr[row];
        double gy_total = 0, gy_xc_total = 0;  // Σ g·w and Σ g·w·(x − μ) over the row
        for (std::int64_t ch = 0; ch < cg; ++ch) {
          const T* gc = pg + row * m + ch * s;
          const T* xc = px + row * m + ch * s;
          double sg = 0, sgx = 0;
          for (std::int64_t i = 0; i < s; ++i) {
            sg += static_cast<double>(gc[i]);
            sgx += static_cast<double>(gc[i]) * (static_cast<double>(xc[i]) - mu);
          }
          const auto at = static_cast<std::size_t>(image * c + c0 + ch);
          sum_g[at] = sg;
          sum_gx[at] = sgx;
          const double wc = pw ? static_cast<double>(pw[c0 + ch]) : 1.0;
          gy_total += wc * sg;
          gy_xc_total += wc * sgx;
        }
        if (!pdx) continue;
        // dx = r·(gy − mean(gy) − x̂·mean(gy·x̂)), x̂ = (x − μ)·r, gy = g·w.
        const double inv_m = m > 0 ? 1.0 / static_cast<double>(m) : 0.0;
        const double a = gy_total * inv_m, bcoef = r * r * gy_xc_total * inv_m;
        const T mu_t = static_cast<T>(mu), q = static_cast<T>(-r * bcoef), t = static_cast<T>(-r * a);
        for (std::int64_t ch = 0; ch < cg; ++ch) {  // dx = k·g + q·(x − μ) + t per channel
          const T k = static_cast<T>(r * (pw ? static_cast<double>(pw[c0 + ch]) : 1.0));
          const T* gc = pg + row * m + ch * s;
          const T* xc = px + row * m + ch * s;
          T* dc = pdx + row * m + ch * s;
          for (std::int64_t i = 0; i < s; ++i) dc[i] = k * gc[i] + q * (xc[i] - mu_t) + t;
        }
      }
    });
    auto channel_sums = [&](const std::vector<double>& parts, const double* scale, Tensor* out) {
      *out = make_tensor(Shape{c}, x.dtype(), "backward");
      T* po = out->data<T>();
      for (std::int64_t ch = 0; ch < c; ++ch) {
        double total = 0;
        for (std::int64_t i = 0; i < n; ++i)
          total += parts[static_cast<std::size_t>(i * c + ch)] * (scale ? scale[i * groups + ch / cg] : 1.0);
        po[ch] = static_cast<T>(total);
      }
    };
    if (dw) channel_sums(sum_gx, pr, dw);  // dw = Σ g·x̂ = Σ g·(x − μ)·r
    if (db) channel_sums(sum_g, nullptr, db);
  });
}

}  // namespace xg::detail
