// LayerNorm forward and backward, one pass over each row of n normalised
// values (Note [Fused layer_norm] in ops_norm.cpp); the row math is the SIMD
// table's (simd_kernels.inl). Row statistics are kept in double.
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
    const auto row = simd::kernels<T>().layer_norm_row;
    const T* px = x.data<T>();
    const T* pw = w.defined() ? w.data<T>() : nullptr;
    const T* pb = b.defined() ? b.data<T>() : nullptr;
    T* py = y.data<T>();
    double* pm = mean.data<double>();
    double* pr = rstd.data<double>();
    for (std::int64_t r = 0; r < rows; ++r) row(px + r * n, pw, pb, py + r * n, n, eps, pm + r, pr + r);
  });
}

void layer_norm_backward_kernel(const Tensor& g_in, const Tensor& x_in, const Tensor& w_in, const Tensor& mean,
                                const Tensor& rstd, std::int64_t n, Tensor* dx, Tensor* dw, Tensor* db) {
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
    const T* pw = w.defined() ? w.data<T>() : nullptr;
    const double* pm = mean.data<double>();
    const double* pr = rstd.data<double>();
    T* pdx = dx ? dx->data<T>() : nullptr;
    T* pdw = dw ? dw->data<T>() : nullptr;
    T* pdb = db ? db->data<T>() : nullptr;
    for (std::int64_t r = 0; r < rows; ++r)
      row(pg + r * n, px + r * n, pw, pm[r], pr[r], pdx ? pdx + r * n : nullptr, pdw, pdb, n);
  });
}

}  // namespace xg::detail
