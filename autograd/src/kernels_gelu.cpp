// GELU forward and backward, each one pass (the composed form took five ops
// forward and more backward; Note [Fused GELU] in ops_activation.cpp).
#include <cmath>
#include <type_traits>
#include <vector>

#include "kernels.hpp"

namespace xg::detail {
namespace {
constexpr double kSqrt2OverPi = 0.79788456080286535588;  // √(2/π)
constexpr double kInvSqrt2 = 0.70710678118654752440;     // 1/√2
constexpr double kInvSqrt2Pi = 0.39894228040143267794;   // 1/√(2π)
constexpr double kCubic = 0.044715;
}  // namespace

Tensor gelu_kernel(const Tensor& x_in, bool tanh_form) {
  const Tensor x = dense(x_in);
  Tensor y = make_tensor(x.shape(), x.dtype(), "gelu");
  dispatch_float(x.dtype(), "gelu", [&](auto z) {
    using T = decltype(z);
    const T* px = x.data<T>();
    T* py = y.data<T>();
    const std::int64_t n = x.numel();
    if (!tanh_form) {
      if constexpr (std::is_same_v<T, float>) {  // the vectorised erf (kernels_math.cpp), via y as scratch
        for (std::int64_t i = 0; i < n; ++i) py[i] = px[i] * T(kInvSqrt2);
        erf_f32(py, py, n);
        for (std::int64_t i = 0; i < n; ++i) py[i] = T(0.5) * px[i] * (T(1) + py[i]);
      } else {
        for (std::int64_t i = 0; i < n; ++i) py[i] = T(0.5) * px[i] * (T(1) + std::erf(px[i] * T(kInvSqrt2)));
      }
      return;
    }
    for (std::int64_t i = 0; i < n; ++i) py[i] = T(kSqrt2OverPi) * (px[i] + T(kCubic) * px[i] * px[i] * px[i]);
    if constexpr (std::is_same_v<T, float>) {
      tanh_f32(py, py, n);
    } else {
      for (std::int64_t i = 0; i < n; ++i) py[i] = std::tanh(py[i]);
    }
    for (std::int64_t i = 0; i < n; ++i) py[i] = T(0.5) * px[i] * (T(1) + py[i]);
  });
  return y;
}

Tensor gelu_backward_kernel(const Tensor& g_in, const Tensor& x_in, bool tanh_form) {
  const Tensor g = dense(g_in), x = dense(x_in);
  Tensor dx = make_tensor(x.shape(), x.dtype(), "backward");
  dispatch_float(x.dtype(), "backward", [&](auto z) {
    using T = decltype(z);
    const T* pg = g.data<T>();
    const T* px = x.data<T>();
    T* out = dx.data<T>();
    const std::int64_t n = x.numel();
    if (!tanh_form) {  // Φ(x) + x φ(x)
      if constexpr (std::is_same_v<T, float>) {
        std::vector<float> cdf(static_cast<std::size_t>(n)), pdf(static_cast<std::size_t>(n));
        for (std::int64_t i = 0; i < n; ++i) {
          cdf[static_cast<std::size_t>(i)] = px[i] * T(kInvSqrt2);
          pdf[static_cast<std::size_t>(i)] = T(-0.5) * px[i] * px[i];
        }
        erf_f32(cdf.data(), cdf.data(), n);
        exp_f32(pdf.data(), pdf.data(), n);
        for (std::int64_t i = 0; i < n; ++i) {
          const auto k = static_cast<std::size_t>(i);
          out[i] = pg[i] * (T(0.5) * (T(1) + cdf[k]) + px[i] * T(kInvSqrt2Pi) * pdf[k]);
        }
      } else {
        for (std::int64_t i = 0; i < n; ++i) {
          const T v = px[i];
          const T cdf = T(0.5) * (T(1) + std::erf(v * T(kInvSqrt2)));
          out[i] = pg[i] * (cdf + v * T(kInvSqrt2Pi) * std::exp(T(-0.5) * v * v));
        }
      }
      return;
    }
    std::vector<T> t(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) t[static_cast<std::size_t>(i)] = T(kSqrt2OverPi) * (px[i] + T(kCubic) * px[i] * px[i] * px[i]);
    if constexpr (std::is_same_v<T, float>) {
      tanh_f32(t.data(), t.data(), n);
    } else {
      for (T& v : t) v = std::tanh(v);
    }
    for (std::int64_t i = 0; i < n; ++i) {  // ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²)
      const T v = px[i], th = t[static_cast<std::size_t>(i)];
      out[i] = pg[i] * (T(0.5) * (T(1) + th) + T(0.5) * v * (T(1) - th * th) * T(kSqrt2OverPi) * (T(1) + T(3 * kCubic) * v * v));
    }
  });
  return dx;
}

}  // namespace xg::detail
