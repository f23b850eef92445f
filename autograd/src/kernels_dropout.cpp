// Dropout's one pass each way (Note [Fused dropout] in ops_norm.cpp).
#include <cmath>

#include "kernels.hpp"
#include "xgrad/parallel.hpp"

namespace xg::detail {
namespace {
/// SplitMix64's finaliser: a counter in, 64 well-mixed bits out. Element i's
/// draw depends only on (seed, i), so any split of the work gives the same mask.
inline std::uint64_t mix(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
}  // namespace

void dropout_kernel(const Tensor& x_in, double p, std::uint64_t seed, Tensor& y, Tensor& keep) {
  const Tensor x = dense(x_in);
  const std::int64_t n = x.numel();
  y = make_tensor(x.shape(), x.dtype(), "dropout");
  keep = make_tensor(x.shape(), Dtype::Bool, "dropout");
  // Kept when a 32-bit draw is at or above p·2³²: probability 1 − p to 2⁻³².
  const auto threshold = static_cast<std::uint64_t>(std::ldexp(p, 32));
  dispatch_float(x.dtype(), "dropout", [&](auto z) {
    using T = decltype(z);
    const T* px = x.data<T>();
    T* py = y.data<T>();
    bool* pk = keep.data<bool>();
    const T scale = static_cast<T>(1.0 / (1.0 - p));
    // Two elements per 64-bit draw: pairs (2j, 2j + 1) from counter j.
    parallel_for((n + 1) / 2, kParallelGrain / 2, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t j = begin; j < end; ++j) {
        const std::uint64_t bits = mix(seed + static_cast<std::uint64_t>(j));
        for (std::int64_t i = 2 * j; i < std::min(2 * j + 2, n); ++i) {
          const bool kept = ((i & 1 ? bits >> 32 : bits) & 0xffffffffu) >= threshold;
          pk[i] = kept;
          py[i] = px[i] * (kept ? scale : T(0));  // x · 0 keeps a dropped NaN NaN, as in PyTorch
        }
      }
    });
  });
}

Tensor dropout_backward_kernel(const Tensor& g_in, const Tensor& keep, double p) {
  const Tensor g = dense(g_in);
  Tensor dx = make_tensor(g.shape(), g.dtype(), "backward");
  dispatch_float(g.dtype(), "backward", [&](auto z) {
    using T = decltype(z);
    const T* pg = g.data<T>();
    const bool* pk = keep.data<bool>();
    T* out = dx.data<T>();
    const T scale = static_cast<T>(1.0 / (1.0 - p));
    parallel_for(g.numel(), kParallelGrainMemory, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i) out[i] = pg[i] * (pk[i] ? scale : T(0));
    });
  });
  return dx;
}

}  // namespace xg::detail
