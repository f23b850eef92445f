// LayerNorm forward and backward, one pass over each row of n normalised
// values (Note [Fused layer_norm] in ops_norm.cpp); the row math is the SIMD
// table's (simd_kernels.inl). Row statistics are kept in double.
#include <algorithm>
#include <vector>

#include "kernels.hpp"
#include "xgrad/parallel.hpp"

namespace xg::detail {

void layer_norm_kernel(const Tensor& x_in, const Tensor& w_in, const Tensor& b_in, std::int64_t n, double eps, bool centred,
                       Tensor& y, Tensor& mean, Tensor& rstd) {
  const Tensor x = dense(x_in), w = dense(w_in), b = dense(b_in);
  const std::int64_t rows = n == 0 ? 0 : x.numel() / n;
  y = make_tensor(x.shape(), x.dtype(), "layer_norm");
  mean = make_tensor(Shape{rows}, Dtype::Float64, "layer_norm");
  rstd = make_tensor(Shape{rows}, Dtype::Float64, "layer_norm");
  dispatch_float(x.dtype(), "layer_norm", [&](auto z) {
    using T = decltype(z);
    const auto row = simd::kernels<T>().layer_norm_row;
    const T* px = x.data<T>();
    const T* pw = data_or_null<T>(w);
    const T* pb = data_or_null<T>(b);
    T* py = y.data<T>();
    double* pm = mean.data<double>();
    double* pr = rstd.data<double>();
    parallel_for(rows, items_grain(n), [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t r = begin; r < end; ++r) row(px + r * n, pw, pb, py + r * n, n, eps, centred, pm + r, pr + r);
    });
  });
}

void layer_norm_backward_kernel(const Tensor& g_in, const Tensor& x_in, const Tensor& w_in, const Tensor& mean,
                                const Tensor& rstd, std::int64_t n, bool centred, Tensor* dx, Tensor* dw, Tensor* db) {
  const Tensor g = dense(g_in), x = dense(x_in), w = dense(w_in);
  const std::int64_t rows = n == 0 ? 0 : x.numel() / n;
  if (dx) *dx = make_tensor(x.shape(), x.dtype(), "backward");
  if (dw) *dw = zeros(Shape{n}, x.dtype());
  if (db) *db = zeros(Shape{n}, x.dtype());
  dispatch_float(x.dtype(), "backward", [&](auto z) {
    using T = decltype(z);
    const auto row = simd::kernels<T>().layer_norm_backward_row;
    const T* pg = g.data<T>();
    const T* px = x.data<T>();
    const T* pw = data_or_null<T>(w);
    const double* pm = mean.data<double>();
    const double* pr = rstd.data<double>();
    T* pdx = data_or_null<T>(dx);
    T* pdw = data_or_null<T>(dw);
    T* pdb = data_or_null<T>(db);
    if (!pdw && !pdb) {  // dx alone: rows are independent, split them freely
      if (!pdx) return;
      parallel_for(rows, items_grain(n), [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t r = begin; r < end; ++r)
          row(pg + r * n, px + r * n, pw, pm[r], pr[r], centred, pdx + r * n, nullptr, nullptr, n);
      });
      return;
    }
    // dw and db are column sums over the rows: each block of rows sums into
    // its own partial, and the partials are added in block order. The blocks
    // depend on the row count only, so the bits are the same on any thread
    // count, and the sums are blocked (more accurate than one long run).
    const std::int64_t blocks = std::min<std::int64_t>(256, (rows + 127) / 128);
    std::vector<T> partial(static_cast<std::size_t>(blocks > 1 ? 2 * (blocks - 1) * n : 0), T(0));
    const std::int64_t rows_per_block = blocks > 0 ? (rows + blocks - 1) / blocks : rows;
    parallel_for(blocks, items_grain(n * rows_per_block),
                 [&](std::int64_t begin, std::int64_t end) {
                   for (std::int64_t k = begin; k < end; ++k) {
                     // Block 0 writes dw/db directly; block k > 0 its own partial sums.
                     T* bdw = k == 0 ? pdw : partial.data() + 2 * (k - 1) * n;
                     T* bdb = k == 0 ? pdb : partial.data() + (2 * (k - 1) + 1) * n;
                     for (std::int64_t r = rows * k / blocks; r < rows * (k + 1) / blocks; ++r)
                       row(pg + r * n, px + r * n, pw, pm[r], pr[r], centred, pdx ? pdx + r * n : nullptr,
                           pdw ? bdw : nullptr, pdb ? bdb : nullptr, n);
                   }
                 });
    for (std::int64_t k = 1; k < blocks; ++k) {
      if (pdw) simd::kernels<T>().accumulate(pdw, partial.data() + 2 * (k - 1) * n, n);
      if (pdb) simd::kernels<T>().accumulate(pdb, partial.data() + (2 * (k - 1) + 1) * n, n);
    }
  });
}

}  // namespace xg::detail
