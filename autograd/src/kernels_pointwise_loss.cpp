// mse / l1 / smooth_l1 / huber losses, forward and backward, one pass each
// (Note [Fused pointwise losses] in ops_loss.cpp).
#include <cmath>
#include <vector>

#include "kernels.hpp"
#include "xgrad/parallel.hpp"

namespace xg::detail {
namespace {

/// Calls f(value, slope) with the loss of a difference d and its derivative.
template <class T, class F>
void with_loss(PointwiseLoss kind, T p, F f) {
  const auto sign = [](T d) { return T((d > T(0)) - (d < T(0))); };
  switch (kind) {
    case PointwiseLoss::Squared:
      return f([](T d) { return d * d; }, [](T d) { return T(2) * d; });
    case PointwiseLoss::Absolute:
      return f([](T d) { return std::abs(d); }, sign);
    case PointwiseLoss::SmoothL1:  // p = β > 0
      return f([p](T d) { return std::abs(d) < p ? T(0.5) * d * d / p : std::abs(d) - T(0.5) * p; },
               [p, sign](T d) { return std::abs(d) < p ? d / p : sign(d); });
    case PointwiseLoss::Huber:  // p = δ > 0
      return f([p](T d) { return std::abs(d) < p ? T(0.5) * d * d : p * (std::abs(d) - T(0.5) * p); },
               [p, sign](T d) { return std::abs(d) < p ? d : p * sign(d); });
  }
}

}  // namespace

Tensor pointwise_loss_kernel(PointwiseLoss kind, double param, const Tensor& x_in, const Tensor& t_in, bool sum) {
  const Tensor x = dense(x_in), t = dense(t_in);
  Tensor out = make_tensor(sum ? Shape{} : x.shape(), x.dtype(), "loss");
  dispatch_float(x.dtype(), "loss", [&](auto z) {
    using T = decltype(z);
    const T* px = x.data<T>();
    const T* pt = t.data<T>();
    T* po = out.data<T>();
    with_loss<T>(kind, static_cast<T>(param), [&](auto value, auto) {
      if (!sum) {
        parallel_for(x.numel(), kParallelGrainMemory, [&](std::int64_t b, std::int64_t e) {
          for (std::int64_t i = b; i < e; ++i) po[i] = value(px[i] - pt[i]);
        });
        return;
      }
      // Chunk sums in double, added in chunk order (same bits per thread count).
      *po = static_cast<T>(parallel_reduce<double>(
          x.numel(), kParallelGrainMemory, 0.0,
          [&](std::int64_t b, std::int64_t e) {
            double s = 0;
            for (std::int64_t i = b; i < e; ++i) s += static_cast<double>(value(px[i] - pt[i]));
            return s;
          },
          [](double a, double c) { return a + c; }));
    });
  });
  return out;
}

Tensor pointwise_loss_backward_kernel(PointwiseLoss kind, double param, const Tensor& x_in, const Tensor& t_in,
                                      const Tensor& g_in, double scale) {
  const Tensor x = dense(x_in), t = dense(t_in), g = dense(g_in);
  Tensor dx = make_tensor(x.shape(), x.dtype(), "backward");
  const bool one_g = g.numel() == 1;  // a reduced loss: one gradient for every element
  dispatch_float(x.dtype(), "backward", [&](auto z) {
    using T = decltype(z);
    const T* px = x.data<T>();
    const T* pt = t.data<T>();
    const T* pg = g.data<T>();
    T* po = dx.data<T>();
    const T s = static_cast<T>(scale);
    with_loss<T>(kind, static_cast<T>(param), [&](auto, auto slope) {
      parallel_for(x.numel(), kParallelGrainMemory, [&](std::int64_t b, std::int64_t e) {
        if (one_g) {
          const T gs = pg[0] * s;
          for (std::int64_t i = b; i < e; ++i) po[i] = slope(px[i] - pt[i]) * gs;
        } else {
          for (std::int64_t i = b; i < e; ++i) po[i] = slope(px[i] - pt[i]) * (pg[i] * s);
        }
      });
    });
  });
  return dx;
}

}  // namespace xg::detail
