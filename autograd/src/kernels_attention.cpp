// The row passes of the fused attention core (Note [Fused attention] in
// ops_attention.cpp): scores → probabilities in place, and the probabilities'
// gradient → the scores' gradient in place, each one pass per row while the
// row is in cache. The matrix products around them are gemm_batched calls.
#include <algorithm>
#include <limits>

#include "kernels.hpp"
#include "xgrad/parallel.hpp"

namespace xg::detail {
namespace {
/// Columns row l of an [L, S] block may attend to: with is_causal j <= l
/// (the top-left-aligned lower triangle, as in PyTorch), else all S.
std::int64_t visible(std::int64_t l, std::int64_t s, bool causal) { return causal ? std::min(s, l + 1) : s; }
}  // namespace

void attention_probs_kernel(Tensor& scores, std::int64_t L, double scale, const Tensor& mask,
                            const std::vector<std::int64_t>& mask_rows, bool causal) {
  const std::int64_t S = scores.size(-1), rows = scores.numel() / std::max<std::int64_t>(S, 1);
  if (S == 0) return;
  dispatch_float(scores.dtype(), "scaled_dot_product_attention", [&](auto z) {
    using T = decltype(z);
    T* ps = scores.data<T>();
    const T* pm = mask.defined() ? static_cast<const T*>(mask.data_ptr()) : nullptr;
    const std::int64_t mask_col = mask.defined() ? mask.stride(-1) : 0;
    const T sc = static_cast<T>(scale);
    const simd::Kernels<T>& k = simd::kernels<T>();
    parallel_for(rows, items_grain(4 * S), [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t r = begin; r < end; ++r) {
        T* row = ps + r * S;
        const std::int64_t n = visible(r % L, S, causal);
        if (pm) {
          const T* m = pm + mask_rows[static_cast<std::size_t>(r)];
          for (std::int64_t j = 0; j < n; ++j) row[j] = row[j] * sc + m[j * mask_col];
        } else {
          for (std::int64_t j = 0; j < n; ++j) row[j] *= sc;
        }
        k.softmax_row(row, row, n, false);
        std::fill(row + n, row + S, T(0));
      }
    });
  });
}

void attention_probs_backward_kernel(Tensor& dprobs, const Tensor& probs, std::int64_t L, bool causal) {
  const std::int64_t S = probs.size(-1), rows = probs.numel() / std::max<std::int64_t>(S, 1);
  if (S == 0) return;
  dispatch_float(probs.dtype(), "scaled_dot_product_attention", [&](auto z) {
    using T = decltype(z);
    T* pd = dprobs.data<T>();
    const T* pp = probs.data<T>();
    const simd::Kernels<T>& k = simd::kernels<T>();
    parallel_for(rows, items_grain(2 * S), [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t r = begin; r < end; ++r) {
        const std::int64_t n = visible(r % L, S, causal);
        k.softmax_backward_row(pd + r * S, pp + r * S, pd + r * S, n, false);
        std::fill(pd + r * S + n, pd + (r + 1) * S, T(0));
      }
    });
  });
}

}  // namespace xg::detail
