// Strided gather/scatter (permute, expand, slice, cat) and GEMM.
#include <cblas.h>

#include "kernels.hpp"

namespace xg::detail {

Shape contiguous_strides(const Shape& shape) {
  Shape s(shape.size(), 1);
  std::int64_t acc = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

namespace {

/// Merges dims that are contiguous with each other in the strided view and
/// drops size-1 dims, so the inner loop is as long as possible.
void collapse(const Shape& shape, const Shape& strides, Shape& sizes, Shape& strd) {
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 1) continue;
    if (!sizes.empty() && strd[strd.size() - 1] == strides[i] * shape[i]) {
      sizes[sizes.size() - 1] *= shape[i];
      strd[strd.size() - 1] = strides[i];
      continue;
    }
    sizes.push_back(shape[i]);
    strd.push_back(strides[i]);
  }
  if (sizes.empty()) {
    sizes.push_back(1);
    strd.push_back(0);
  }
}

/// Calls f(strided offset, contiguous offset, inner length, inner stride) for each inner run.
template <class F>
void for_each_run(const Shape& shape, const Shape& strides, F f) {
  Shape sizes, strd;
  collapse(shape, strides, sizes, strd);
  const std::size_t inner = sizes.size() - 1;
  const std::int64_t n = sizes[inner];
  std::int64_t outer = 1;
  for (std::size_t d = 0; d < inner; ++d) outer *= sizes[d];
  Shape idx(sizes.size(), 0);
  std::int64_t off = 0;
  for (std::int64_t o = 0; o < outer; ++o) {
    f(off, o * n, n, strd[inner]);
    for (std::size_t d = inner; d-- > 0;) {
      off += strd[d];
      if (++idx[d] < sizes[d]) break;
      off -= strd[d] * sizes[d];
      idx[d] = 0;
    }
  }
}

}  // namespace

Tensor gather_strided(const Tensor& src, std::int64_t offset, const Shape& strides, const Shape& out_shape) {
  Tensor out = make_tensor(out_shape, src.dtype());
  if (out.numel() == 0) return out;
  dispatch_all(src.dtype(), [&](auto z) {
    using T = decltype(z);
    const T* ps = src.data<T>() + offset;
    T* po = out.data<T>();
    for_each_run(out_shape, strides, [&](std::int64_t s, std::int64_t o, std::int64_t n, std::int64_t st) {
      if (st == 1) {
        for (std::int64_t i = 0; i < n; ++i) po[o + i] = ps[s + i];
      } else {
        for (std::int64_t i = 0; i < n; ++i) po[o + i] = ps[s + i * st];
      }
    });
  });
  return out;
}

void scatter_strided(Tensor& dst, std::int64_t offset, const Shape& strides, const Tensor& src) {
  if (src.numel() == 0) return;
  dispatch_all(src.dtype(), [&](auto z) {
    using T = decltype(z);
    T* pd = dst.data<T>() + offset;
    const T* ps = src.data<T>();
    for_each_run(src.shape(), strides, [&](std::int64_t d, std::int64_t s, std::int64_t n, std::int64_t st) {
      if (st == 1) {
        for (std::int64_t i = 0; i < n; ++i) pd[d + i] = ps[s + i];
      } else {
        for (std::int64_t i = 0; i < n; ++i) pd[d + i * st] = ps[s + i];
      }
    });
  });
}

void gemm_batched(const Tensor& a, const Tensor& b, Tensor& c, std::int64_t batch, std::int64_t m,
                  std::int64_t n, std::int64_t k, bool trans_a, bool trans_b, std::int64_t stride_a,
                  std::int64_t stride_b) {
  const auto ta = trans_a ? CblasTrans : CblasNoTrans;
  const auto tb = trans_b ? CblasTrans : CblasNoTrans;
  // Row-major leading dims: A is m×k (or k×m stored), B is k×n (or n×k stored).
  const auto lda = static_cast<blasint>(trans_a ? m : k);
  const auto ldb = static_cast<blasint>(trans_b ? k : n);
  const auto ldc = static_cast<blasint>(n);
  const auto M = static_cast<blasint>(m), N = static_cast<blasint>(n), K = static_cast<blasint>(k);
  if (m == 0 || n == 0) return;
  if (k == 0) {
    c.zero_();
    return;
  }
  if (m * n * k <= 512) {
    // Tiny products: a BLAS call costs more than the arithmetic.
    auto naive = [&](auto z) {
      using T = decltype(z);
      const T* pa = a.data<T>();
      const T* pb = b.data<T>();
      T* pc = c.data<T>();
      for (std::int64_t bi = 0; bi < batch; ++bi) {
        const T* A = pa + bi * stride_a;
        const T* B = pb + bi * stride_b;
        T* C = pc + bi * m * n;
        for (std::int64_t i = 0; i < m; ++i)
          for (std::int64_t j = 0; j < n; ++j) {
            T acc = 0;
            for (std::int64_t q = 0; q < k; ++q)
              acc += (trans_a ? A[q * lda + i] : A[i * lda + q]) * (trans_b ? B[j * ldb + q] : B[q * ldb + j]);
            C[i * n + j] = acc;
          }
      }
    };
    if (a.dtype() == Dtype::Float32) naive(float{});
    else naive(double{});
    return;
  }
  // A second OpenBLAS thread only pays for itself on large products
  // (measured: the CNN's first conv, 8×9×50176, got slower with two).
  const int threads = get_num_threads();
  const bool single = threads > 1 && batch * m * n * k < (std::int64_t{1} << 22);
  if (single) openblas_set_num_threads(1);
  struct Restore {
    bool on;
    int n;
    ~Restore() {
      if (on) openblas_set_num_threads(n);
    }
  } restore{single, threads};
  if (a.dtype() == Dtype::Float32) {
    const float* pa = a.data<float>();
    const float* pb = b.data<float>();
    float* pc = c.data<float>();
    for (std::int64_t i = 0; i < batch; ++i)
      cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, 1.0f, pa + i * stride_a, lda, pb + i * stride_b, ldb, 0.0f,
                  pc + i * m * n, ldc);
  } else {
    const double* pa = a.data<double>();
    const double* pb = b.data<double>();
    double* pc = c.data<double>();
    for (std::int64_t i = 0; i < batch; ++i)
      cblas_dgemm(CblasRowMajor, ta, tb, M, N, K, 1.0, pa + i * stride_a, lda, pb + i * stride_b, ldb, 0.0,
                  pc + i * m * n, ldc);
  }
}

}  // namespace xg::detail
