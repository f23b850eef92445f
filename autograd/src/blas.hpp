#pragma once
// OpenBLAS as xgrad's kernels call it: on one thread, xgrad's pool splitting
// the work (Note [Threads in matrix products] in kernels_shape.cpp).
#include <cblas.h>

#include <cstdint>
#include <type_traits>

#include "xgrad/tensor.hpp"

namespace xg::detail {

/// OpenBLAS on one thread for the scope (its setting restored after).
struct SingleThreadedBlas {
  int threads = get_num_threads();
  SingleThreadedBlas() {
    if (threads > 1) openblas_set_num_threads(1);
  }
  ~SingleThreadedBlas() {
    if (threads > 1) openblas_set_num_threads(threads);
  }
  SingleThreadedBlas(const SingleThreadedBlas&) = delete;
  SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;
};

/// C[m, n] = op(A)·op(B) + beta·C, row-major.
template <class T>
void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, const T* a, std::int64_t lda,
          const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc) {
  const auto ta = trans_a ? CblasTrans : CblasNoTrans, tb = trans_b ? CblasTrans : CblasNoTrans;
  const auto M = static_cast<blasint>(m), N = static_cast<blasint>(n), K = static_cast<blasint>(k);
  const auto LDA = static_cast<blasint>(lda), LDB = static_cast<blasint>(ldb), LDC = static_cast<blasint>(ldc);
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, 1.0f, a, LDA, b, LDB, beta, c, LDC);
  else
    cblas_dgemm(CblasRowMajor, ta, tb, M, N, K, 1.0, a, LDA, b, LDB, beta, c, LDC);
}

}  // namespace xg::detail
