// Strided copies and GEMM.

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <type_traits>

#include "blas.hpp"
#include "kernels.hpp"
#include "strided_loop.hpp"

namespace xg::detail {

Shape contiguous_strides(const Shape& shape) {
  Shape s(shape.size(), 1);
  std::int64_t acc = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    s[i] = acc;
    // Only a tensor with no elements can have extents whose product
    // overflows (checked_numel refuses the rest); its strides are never used.
    if (__builtin_mul_overflow(acc, std::max<std::int64_t>(shape[i], 1), &acc)) acc = std::numeric_limits<std::int64_t>::max();
  }
  return s;
}

bool is_contiguous_layout(const Shape& shape, const Shape& strides) {
  std::int64_t expected = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    if (shape[i] == 1) continue;
    if (shape[i] == 0) return true;
    if (strides[i] != expected) return false;
    expected *= shape[i];
  }
  return true;
}

void copy_strided(const Tensor& dst, const Tensor& src) {
  const Shape& shape = dst.shape();
  if (dst.numel() == 0) return;
  if (dst.dtype() == src.dtype() && src.shape() == shape && dst.is_contiguous() && src.is_contiguous()) {
    std::memcpy(const_cast<void*>(dst.data_ptr()), src.data_ptr(), dst.nbytes());  // the common case: a plain copy
    return;
  }
  const Shape ss = broadcast_strides(src, shape);
  const auto plan = plan_strided<2>(shape, {impl_of(dst)->strides.data(), ss.data()}, "copy");
  dispatch_all(dst.dtype(), [&](auto dz) {
    using D = decltype(dz);
    dispatch_all(src.dtype(), [&](auto sz) {
      using S = decltype(sz);
      D* pd = first_element<D>(dst);
      const S* ps = first_element<S>(src);
      auto copy_run = [&](const auto& off, std::int64_t n, const auto& st) {
        D* d = pd + off[0];
        const S* s = ps + off[1];
        if (st[0] == 1 && st[1] == 1) {
          for (std::int64_t i = 0; i < n; ++i) d[i] = cast_value<D>(s[i]);
        } else if (st[0] == 1) {
          for (std::int64_t i = 0; i < n; ++i) d[i] = cast_value<D>(s[i * st[1]]);
        } else {
          for (std::int64_t i = 0; i < n; ++i) d[i * st[0]] = cast_value<D>(s[i * st[1]]);
        }
      };
      // Split across threads only when dst cannot overlap itself (a fresh
      // contiguous tensor: contiguous(), dense()); a view target keeps one walk.
      if (dst.is_contiguous()) {
        parallel_for_each_run(plan, kParallelGrainMemory, copy_run);
      } else {
        for_each_run(plan, copy_run);
      }
    });
  });
}

void add_strided(const Tensor& dst, const Tensor& src) {
  const Shape& shape = dst.shape();
  if (dst.numel() == 0) return;
  const Shape ss = broadcast_strides(src, shape);
  const auto plan = plan_strided<2>(shape, {impl_of(dst)->strides.data(), ss.data()}, "add");
  dispatch_all(dst.dtype(), [&](auto z) {
    using T = decltype(z);
    T* pd = first_element<T>(dst);
    const T* ps = first_element<T>(src);
    for_each_run(plan, [&](const auto& off, std::int64_t n, const auto& st) {
      for (std::int64_t i = 0; i < n; ++i) pd[off[0] + i * st[0]] += ps[off[1] + i * st[1]];
    });
  });
}

Tensor dense(const Tensor& t) {
  if (!t.defined() || t.is_contiguous()) return t;  // an undefined one is the caller's to report
  Tensor out = make_tensor(t.shape(), t.dtype());
  copy_strided(out, t);
  return out;
}

namespace {

/// How BLAS reads one operand of a (batched) product: a row-major matrix
/// with leading dim ld (trans set when the view is a transposed row-major
/// matrix), batch_stride apart. A view BLAS cannot read is copied first.
struct BlasOperand {
  Tensor keep;  // the tensor whose memory BLAS reads
  bool trans;
  std::int64_t ld, batch_stride;
};

BlasOperand blas_operand(const Tensor& x, bool trans) {
  const Shape& shape = x.shape();
  const Shape& strides = x.strides();
  const std::size_t nd = shape.size();  // 2 or 3 (checked by matmul)
  const std::int64_t rows = shape[nd - 2], cols = shape[nd - 1];
  const std::int64_t rs = strides[nd - 2], cs = strides[nd - 1];
  const std::int64_t batch_stride = nd == 3 && shape[0] > 1 ? strides[0] : 0;
  if ((cols <= 1 || cs == 1) && (rows <= 1 || rs >= std::max<std::int64_t>(1, cols)))
    return {x, trans, rows <= 1 ? std::max<std::int64_t>(1, cols) : rs, batch_stride};
  if ((rows <= 1 || rs == 1) && (cols <= 1 || cs >= std::max<std::int64_t>(1, rows)))
    return {x, !trans, cols <= 1 ? std::max<std::int64_t>(1, rows) : cs, batch_stride};
  Tensor c = dense(x);
  return {c, trans, std::max<std::int64_t>(1, cols), nd == 3 && shape[0] > 1 ? rows * cols : 0};
}

}  // namespace

void gemm_batched(const Tensor& a_in, const Tensor& b_in, Tensor& c, std::int64_t batch, std::int64_t m,
                  std::int64_t n, std::int64_t k, bool trans_a, bool trans_b) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    c.zero_();
    return;
  }
  const BlasOperand a = blas_operand(a_in, trans_a), b = blas_operand(b_in, trans_b);
  const std::int64_t lda = a.ld, ldb = b.ld;
  if (m * n * k <= 512) {
    // Tiny products: a BLAS call costs more than the arithmetic.
    auto naive = [&](auto z) {
      using T = decltype(z);
      const T* pa = first_element<T>(a.keep);
      const T* pb = first_element<T>(b.keep);
      T* pc = c.data<T>();
      for (std::int64_t bi = 0; bi < batch; ++bi) {
        const T* A = pa + bi * a.batch_stride;
        const T* B = pb + bi * b.batch_stride;
        T* C = pc + bi * m * n;
        for (std::int64_t i = 0; i < m; ++i)
          for (std::int64_t j = 0; j < n; ++j) {
            T acc = 0;
            for (std::int64_t q = 0; q < k; ++q)
              acc += (a.trans ? A[q * lda + i] : A[i * lda + q]) * (b.trans ? B[j * ldb + q] : B[q * ldb + j]);
            C[i * n + j] = acc;
          }
      }
    };
    if (c.dtype() == Dtype::Float32) naive(float{});
    else naive(double{});
    return;
  }
  // Note [Threads in matrix products]
  // OpenBLAS's own threads are not used: for small products a second thread
  // costs more than it saves (the CNN's first conv, 8×9×50176, got slower),
  // a batch of small ones (attention's [B·H, T, d] products) woke them for
  // every member, and after each call they spin in sched_yield on the core
  // the rest of the step needs (a fifth of a 2-thread GPT-block step's CPU
  // time). Instead OpenBLAS runs on one thread and xgrad's pool splits the
  // work: a batch of small products by member, a large product into one
  // block of rows (or columns, when it is wider than tall) per thread. Each
  // element is still one single-threaded dot product over all of K, so the
  // bits depend only on the thread count. 2-thread GPT-block steps ran
  // 7–20 % faster than with OpenBLAS's threads.
  const int threads = get_num_threads();
  const std::int64_t per_product = m * n * k;
  const bool small = per_product < (std::int64_t{1} << 22);
  // One matrix times a batch of vectors (a layer applied per example under
  // vmap, whose weight is one expanded tensor): the vectors are the rows of
  // one GEMM, C = rows · op(A)ᵀ, instead of a matrix-vector product (and a
  // packing of A) each.
  const bool shared_matrix = batch > 1 && a.batch_stride == 0 && n == 1 && (b.trans || ldb == 1) && b.batch_stride >= k;
  SingleThreadedBlas one_blas_thread;
  auto run = [&](auto z) {
    using T = decltype(z);
    const T* pa = first_element<T>(a.keep);
    const T* pb = first_element<T>(b.keep);
    T* pc = c.data<T>();
    if (shared_matrix) {
      parallel_for(batch, items_grain(m * k, std::int64_t{1} << 20), [&](std::int64_t b0, std::int64_t b1) {
        gemm<T>(false, !a.trans, b1 - b0, m, k, pb + b0 * b.batch_stride, b.batch_stride, pa, lda, T(0), pc + b0 * m, m);
      });
      return;
    }
    // C[r0:r1, c0:c1] of member i.
    auto block = [&](std::int64_t i, std::int64_t r0, std::int64_t r1, std::int64_t c0, std::int64_t c1) {
      const T* A = pa + i * a.batch_stride + (a.trans ? r0 : r0 * lda);
      const T* B = pb + i * b.batch_stride + (b.trans ? c0 * ldb : c0);
      T* C = pc + i * m * n + r0 * n + c0;
      gemm<T>(a.trans, b.trans, r1 - r0, c1 - c0, k, A, lda, B, ldb, T(0), C, n);
    };
    if (small) {
      // About 10^6 multiply-adds a chunk: tens of microseconds, what a wake-up costs.
      parallel_for(batch, items_grain(per_product, std::int64_t{1} << 20), [&](std::int64_t b0, std::int64_t b1) {
        for (std::int64_t i = b0; i < b1; ++i) block(i, 0, m, 0, n);
      });
      return;
    }
    // Blocks of whole 16-row (or 16-column) panels, the width of the BLAS kernels.
    const bool by_rows = m >= n;
    const std::int64_t extent = by_rows ? m : n;
    const std::int64_t parts = std::min<std::int64_t>(threads, std::max<std::int64_t>(1, extent / 16));
    auto edge = [&](std::int64_t p) { return p == parts ? extent : extent * p / parts / 16 * 16; };
    for (std::int64_t i = 0; i < batch; ++i)
      parallel_for(parts, 1, [&](std::int64_t p0, std::int64_t p1) {
        for (std::int64_t p = p0; p < p1; ++p) {
          if (by_rows) block(i, edge(p), edge(p + 1), 0, n);
          else block(i, 0, m, edge(p), edge(p + 1));
        }
      });
  };
  if (c.dtype() == Dtype::Float32) run(float{});
  else run(double{});
}

}  // namespace xg::detail
