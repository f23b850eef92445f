// BatchNorm forward and backward over the channels of x [N, C, S...]
// (Note [Fused batch_norm] in ops_norm.cpp). A channel's values are N runs
// of S contiguous values; each run goes through the SIMD table, the runs'
// sums add up in double, and channels split across threads (each channel's
// sums in the same order on any thread count).
#include <cmath>

#include "kernels.hpp"
#include "xgrad/parallel.hpp"

namespace xg::detail {
namespace {
// Values per chunk: each pass is memory-bound (~0.1 ns a value) and the three
// kernels wake the pool once each, so a split pays only from about a million
// values a chunk (measured: a 0.5M-value fwd+bwd ran 255 us on one thread and
// 370 us on two with 64Ki-value chunks; 12.8M values run 2x faster on two).
constexpr std::int64_t kBatchNormGrain = 4 * kParallelGrainMemory;

struct Layout {
  std::int64_t n, c, s;  // images, channels, values per channel and image
};
Layout layout_of(const Tensor& x) {
  std::int64_t s = 1;
  for (std::int64_t d = 2; d < x.dim(); ++d) s *= x.size(d);
  return {x.size(0), x.size(1), s};
}
}  // namespace

void batch_norm_stats_kernel(const Tensor& x_in, Tensor& mean, Tensor& var) {
  const Tensor x = dense(x_in);
  const Layout l = layout_of(x);
  mean = make_tensor(Shape{l.c}, Dtype::Float64, "batch_norm");
  var = make_tensor(Shape{l.c}, Dtype::Float64, "batch_norm");
  const double count = static_cast<double>(l.n * l.s);
  dispatch_float(x.dtype(), "batch_norm", [&](auto z) {
    using T = decltype(z);
    const simd::Kernels<T>& k = simd::kernels<T>();
    const T* px = x.data<T>();
    double* pm = mean.data<double>();
    double* pv = var.data<double>();
    parallel_for(l.c, items_grain(2 * l.n * l.s, kBatchNormGrain), [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t c = begin; c < end; ++c) {
        // Two passes (mean, then Σ(x − μ)²): no cancellation, unlike E[x²] − E[x]².
        double total = 0;
        for (std::int64_t i = 0; i < l.n; ++i) total += static_cast<double>(k.sum(px + (i * l.c + c) * l.s, l.s));
        const double mu = total / count;
        double sq = 0;
        for (std::int64_t i = 0; i < l.n; ++i)
          sq += static_cast<double>(k.centred_square_sum(px + (i * l.c + c) * l.s, l.s, static_cast<T>(mu)));
        pm[c] = mu;
        pv[c] = sq / count;
      }
    });
  });
}

Tensor batch_norm_apply_kernel(const Tensor& x_in, const Tensor& mean, const Tensor& rstd, const Tensor& w_in,
                               const Tensor& b_in) {
  const Tensor x = dense(x_in), w = dense(w_in), b = dense(b_in);
  const Layout l = layout_of(x);
  Tensor y = make_tensor(x.shape(), x.dtype(), "batch_norm");
  dispatch_float(x.dtype(), "batch_norm", [&](auto z) {
    using T = decltype(z);
    const simd::Kernels<T>& k = simd::kernels<T>();
    const T* px = x.data<T>();
    const T* pw = data_or_null<T>(w);
    const T* pb = data_or_null<T>(b);
    const double* pm = mean.data<double>();
    const double* pr = rstd.data<double>();
    T* py = y.data<T>();
    parallel_for(l.c, items_grain(l.n * l.s, kBatchNormGrain), [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t c = begin; c < end; ++c) {
        // y = (x − μ)·(r·w) + b
        const T a = static_cast<T>(pr[c] * (pw ? static_cast<double>(pw[c]) : 1.0)), shift = pb ? pb[c] : T(0);
        for (std::int64_t i = 0; i < l.n; ++i) {
          const std::int64_t at = (i * l.c + c) * l.s;
          k.affine(px + at, py + at, l.s, static_cast<T>(pm[c]), a, shift);
        }
      }
    });
  });
  return y;
}

void batch_norm_backward_kernel(const Tensor& g_in, const Tensor& x_in, const Tensor& w_in, const Tensor& mean,
                                const Tensor& rstd, bool batch_stats, Tensor* dx, Tensor* dw, Tensor* db) {
  const Tensor g = dense(g_in), x = dense(x_in), w = dense(w_in);
  const Layout l = layout_of(x);
  if (dx) *dx = make_tensor(x.shape(), x.dtype(), "backward");
  if (dw) *dw = make_tensor(Shape{l.c}, x.dtype(), "backward");
  if (db) *db = make_tensor(Shape{l.c}, x.dtype(), "backward");
  const double count = static_cast<double>(l.n * l.s);
  dispatch_float(x.dtype(), "backward", [&](auto z) {
    using T = decltype(z);
    const simd::Kernels<T>& k = simd::kernels<T>();
    const T* pg = g.data<T>();
    const T* px = x.data<T>();
    const T* pw = data_or_null<T>(w);
    const double* pm = mean.data<double>();
    const double* pr = rstd.data<double>();
    T* pdx = data_or_null<T>(dx);
    T* pdw = data_or_null<T>(dw);
    T* pdb = data_or_null<T>(db);
    parallel_for(l.c, items_grain(3 * l.n * l.s, kBatchNormGrain), [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t c = begin; c < end; ++c) {
        const T mu = static_cast<T>(pm[c]);
        double sum_g = 0, sum_gx = 0;  // Σ g, Σ g·(x − μ)
        for (std::int64_t i = 0; i < l.n; ++i) {
          const std::int64_t at = (i * l.c + c) * l.s;
          sum_g += static_cast<double>(k.sum(pg + at, l.s));
          sum_gx += static_cast<double>(k.centred_dot(pg + at, px + at, l.s, mu));
        }
        const double r = pr[c], wc = pw ? static_cast<double>(pw[c]) : 1.0;
        if (pdw) pdw[c] = static_cast<T>(sum_gx * r);  // Σ g·x̂
        if (pdb) pdb[c] = static_cast<T>(sum_g);
        if (!pdx) continue;
        // dx = w·r·(g − mean(g) − x̂·mean(g·x̂)) with batch statistics, w·r·g with fixed ones.
        const double a = wc * r;
        const double b = batch_stats ? -a * r * r * sum_gx / count : 0.0;
        const double shift = batch_stats ? -a * sum_g / count : 0.0;
        for (std::int64_t i = 0; i < l.n; ++i) {
          const std::int64_t at = (i * l.c + c) * l.s;
          k.affine2(pg + at, px + at, pdx + at, l.s, mu, static_cast<T>(a), static_cast<T>(b), static_cast<T>(shift));
        }
      }
    });
  });
}

}  // namespace xg::detail
