// Vectorisable float32 exp, tanh, sigmoid and erf.
//
// Note [Fast transcendentals]
// libm's expf/tanhf are scalar calls (~30 ns per element for tanh here), so
// a 1024-element tanh spent its time in libm. These versions are plain
// arithmetic the compiler vectorises: Cephes' range reduction and
// polynomials (about 1-2 ulp against libm, checked in tests). GCC's
// target_clones builds each loop for AVX2 and for baseline x86-64 (SSE2) and
// picks one at load time, so the binary stays portable. float64 keeps libm:
// it is the gradcheck dtype and wants libm's accuracy.
#include <cmath>
#include <cstdint>
#include <cstring>

// GCC's function multiversioning; clang (the fuzz build) gets the baseline.
#if defined(__GNUC__) && !defined(__clang__)
#define XG_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define XG_CLONES
#endif

namespace xg::detail {
namespace {

inline float exp_approx(float x) {
  const float hi = 88.3762626647949f, lo = -87.3365447504019f;
  const float clamped = std::min(std::max(x, lo), hi);
  // x = n·ln2 + r with |r| <= ln2/2. Adding 1.5·2^23 rounds to an integer and
  // leaves it in the low mantissa bits: no float-to-int conversion needed.
  const float shifted = clamped * 1.44269504088896341f + 12582912.0f;
  const float n = shifted - 12582912.0f;
  std::uint32_t n_bits;  // unsigned: NaN inputs give arbitrary bits, and the shift below must not overflow
  std::memcpy(&n_bits, &shifted, sizeof n_bits);
  float r = clamped - n * 0.693359375f;
  r -= n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e = p * r * r + r + 1.0f;
  // Scale by 2^n through the exponent bits.
  const std::uint32_t bits = (n_bits - 0x4B400000u + 127u) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  float y = e * scale;
  y = x > hi ? HUGE_VALF : y;
  y = x < lo ? 0.0f : y;
  return x != x ? x : y;  // NaN in, NaN out
}

inline float tanh_approx(float x) {
  const float a = std::fabs(x);
  // Small |x|: odd polynomial (no cancellation); otherwise 1 − 2/(e^{2|x|} + 1).
  const float z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  const float small = p * z * x + x;
  const float big = 1.0f - 2.0f / (exp_approx(2.0f * a) + 1.0f);
  const float signed_big = x < 0 ? -big : big;
  return a < 0.625f ? small : signed_big;
}

inline float erf_approx(float x) {
  const float a = std::fabs(x);
  // |x| < 0.5: erf's Taylor series, (2/√π)·Σ (−1)ⁿ x²ⁿ⁺¹ / (n!(2n+1)), to x¹³.
  const float z = x * x;
  float p = 1.2055332982e-4f;
  p = p * z - 8.5483270235e-4f;
  p = p * z + 5.2239776254e-3f;
  p = p * z - 2.6866170645e-2f;
  p = p * z + 1.1283791671e-1f;
  p = p * z - 3.7612638903e-1f;
  p = p * z + 1.1283791671e+0f;
  const float small = p * x;
  // Otherwise Abramowitz & Stegun 7.1.26: 1 − t·P(t)·e^{−x²}, t = 1/(1 + 0.3275911|x|).
  const float t = 1.0f / (1.0f + 0.3275911f * a);
  float q = 1.061405429f;
  q = q * t - 1.453152027f;
  q = q * t + 1.421413741f;
  q = q * t - 0.284496736f;
  q = q * t + 0.254829592f;
  const float big = 1.0f - q * t * exp_approx(-z);
  const float signed_big = x < 0 ? -big : big;
  return a < 0.5f ? small : signed_big;
}

}  // namespace

XG_CLONES void erf_f32(const float* x, float* y, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = erf_approx(x[i]);
}

XG_CLONES void exp_f32(const float* x, float* y, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = exp_approx(x[i]);
}

XG_CLONES void tanh_f32(const float* x, float* y, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = tanh_approx(x[i]);
}

XG_CLONES void sigmoid_f32(const float* x, float* y, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = 1.0f / (1.0f + exp_approx(-x[i]));
}

}  // namespace xg::detail
