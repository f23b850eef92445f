// The SIMD kernels, written once on xsimd batches and compiled once per
// instruction set: simd_sse2.cpp, simd_avx2.cpp and simd_avx512.cpp each
// define XG_SIMD_ARCH (an xsimd architecture) and XG_SIMD_TABLE (the name of
// the function returning that set's table) and include this file.
//
// Note [SIMD dispatch]
// One binary runs everywhere at full speed: each instruction set gets its own
// object file, built with that set's compiler flags, and simd_dispatch.cpp
// picks the best table the CPU (and OS) supports once, at first use. Code
// built for AVX-512 must never run on a CPU without it, so everything here
// lives in an anonymous namespace and calls only xsimd functions templated on
// the architecture (distinct symbols per set): an inline function shared with
// other files (std::min, a scalar helper) could be merged by the linker into
// its AVX-512 copy. Runs are processed a batch at a time; the last partial
// batch goes through a padded buffer, so every element, first or last, is
// computed by the same code and gets the same bits.
//
// Accuracy: xsimd's exp, log, log1p, expm1, sin, cos, tanh and erf are
// Boost.SIMD's (Cephes-derived) algorithms, within 0.5-2.5 ulp of the exact
// result (the bound per function and dtype is asserted in tests/test_simd.cpp
// against every table this CPU runs; float64 erf and pow are libm's, see below).
// Results below the normal range (e^x under 1.2e-38 in float32) flush to 0.
#include <cstdint>
#include <limits>

#include <xsimd/xsimd.hpp>

#include "simd.hpp"

namespace xg::detail::simd {
namespace {

using Arch = XG_SIMD_ARCH;
template <class T>
using B = xsimd::batch<T, Arch>;
using i64 = std::int64_t;

template <class T>
constexpr i64 width = static_cast<i64>(B<T>::size);

template <class T>
B<T> splat(T v) {
  return B<T>(v);
}

template <class T>
B<T> load(const T* p) {
  return B<T>::load_unaligned(p);
}

/// The first n (< width) values at p, the rest of the batch `pad`.
template <class T>
B<T> load_tail(const T* p, i64 n, T pad) {
  alignas(64) T buf[B<T>::size];
  for (i64 i = 0; i < width<T>; ++i) buf[i] = i < n ? p[i] : pad;
  return B<T>::load_aligned(buf);
}

template <class T>
void store_tail(T* p, const B<T>& v, i64 n) {
  alignas(64) T buf[B<T>::size];
  v.store_aligned(buf);
  for (i64 i = 0; i < n; ++i) p[i] = buf[i];
}

/// y[i] = f(in[i]...) for i < n. Each batch is loaded before it is stored, so
/// y may be one of the inputs.
template <class T, class F, class... P>
void map(T* y, i64 n, F f, const P*... in) {
  i64 i = 0;
  for (; i + width<T> <= n; i += width<T>) f(load(in + i)...).store_unaligned(y + i);
  if (i < n) store_tail(y + i, f(load_tail(in + i, n - i, T(0))...), n - i);
}

/// Σ f(in[i]...) for i < n in one batch accumulator, lanes not yet added
/// (horizontal_sum does that); the last batch is padded with `pad`, which
/// must make f contribute 0.
template <class T, class F, class... P>
B<T> fold(i64 n, T pad, F f, const P*... in) {
  B<T> acc = splat(T(0));
  i64 i = 0;
  for (; i + width<T> <= n; i += width<T>) acc += f(load(in + i)...);
  if (i < n) acc += f(load_tail(in + i, n - i, pad)...);
  return acc;
}

// ---------------------------------------------------------------- unary functions

template <class T>
B<T> sigmoid(const B<T>& x) {
  // e^{−|x|} never overflows: 1/(1+e) for x >= 0, e/(1+e) below.
  const B<T> e = xsimd::exp(-xsimd::abs(x));
  const B<T> r = splat(T(1)) / (splat(T(1)) + e);
  return xsimd::select(x >= splat(T(0)), r, e * r);
}

/// xsimd's float32 erf is within 2.5 ulp; its float64 one is off by up to
/// ~70 ulp near |x| = 2.2, so float64 takes libm's, lane by lane.
template <class T>
B<T> erf(const B<T>& x) {
  if constexpr (sizeof(T) == 4) {
    return xsimd::erf(x);
  } else {
    alignas(64) T lanes[B<T>::size];
    x.store_aligned(lanes);
    for (i64 i = 0; i < width<T>; ++i) lanes[i] = __builtin_erf(lanes[i]);
    return B<T>::load_aligned(lanes);
  }
}

#define XG_UNARY(NAME, EXPR)            \
  struct NAME {                         \
    template <class V>                  \
    V operator()(const V& x) const {    \
      using T = typename V::value_type; \
      (void)sizeof(T);                  \
      return EXPR;                      \
    }                                   \
  };
XG_UNARY(NegOp, -x)
XG_UNARY(ExpOp, xsimd::exp(x))
XG_UNARY(LogOp, xsimd::log(x))
XG_UNARY(Log1pOp, xsimd::log1p(x))
XG_UNARY(Expm1Op, xsimd::expm1(x))
XG_UNARY(SqrtOp, xsimd::sqrt(x))
XG_UNARY(RsqrtOp, splat(T(1)) / xsimd::sqrt(x))  // xsimd::rsqrt is the 12-bit estimate on x86
XG_UNARY(AbsOp, xsimd::abs(x))
XG_UNARY(SinOp, xsimd::sin(x))
XG_UNARY(CosOp, xsimd::cos(x))
XG_UNARY(TanhOp, xsimd::tanh(x))
XG_UNARY(SigmoidOp, sigmoid(x))
XG_UNARY(ReluOp, xsimd::select(x <= splat(T(0)), splat(T(0)), x))  // NaN stays NaN, as in torch
XG_UNARY(SignOp, xsimd::select(x > splat(T(0)), splat(T(1)), splat(T(0))) -
                     xsimd::select(x < splat(T(0)), splat(T(1)), splat(T(0))))
XG_UNARY(SquareOp, x* x)
XG_UNARY(ReciprocalOp, splat(T(1)) / x)
XG_UNARY(ErfOp, erf(x))
XG_UNARY(SiluOp, x* sigmoid(x))
XG_UNARY(TanOp, xsimd::tan(x))
XG_UNARY(AsinOp, xsimd::asin(x))
XG_UNARY(AcosOp, xsimd::acos(x))
XG_UNARY(AtanOp, xsimd::atan(x))
XG_UNARY(SinhOp, xsimd::sinh(x))
XG_UNARY(CoshOp, xsimd::cosh(x))
XG_UNARY(FloorOp, xsimd::floor(x))
XG_UNARY(CeilOp, xsimd::ceil(x))
XG_UNARY(RoundOp, xsimd::nearbyint(x))  // halves to even, as torch.round
XG_UNARY(TruncOp, xsimd::trunc(x))
#undef XG_UNARY

template <class T, class Op>
void unary_run(const T* x, T* y, i64 n) {
  map(y, n, Op{}, x);
}

// ---------------------------------------------------------------- binary functions

/// libm's pow, lane by lane: xsimd 8.1's gives pow(0, 0) = 0, pow(0, −1) = 0
/// and errors of tens of ulp (pow(7, 3) ≠ 343), where users expect exact
/// small integer powers and C's special cases.
template <class T>
B<T> pow(const B<T>& a, const B<T>& b) {
  alignas(64) T x[B<T>::size], y[B<T>::size];
  a.store_aligned(x);
  b.store_aligned(y);
  for (i64 i = 0; i < width<T>; ++i) {
    if constexpr (sizeof(T) == 4) {
      x[i] = __builtin_powf(x[i], y[i]);
    } else {
      x[i] = __builtin_pow(x[i], y[i]);
    }
  }
  return B<T>::load_aligned(x);
}

#define XG_BINARY(NAME, EXPR)                       \
  struct NAME {                                     \
    template <class V>                              \
    V operator()(const V& a, const V& b) const {    \
      return EXPR;                                  \
    }                                               \
  };
XG_BINARY(AddOp, a + b)
XG_BINARY(SubOp, a - b)
XG_BINARY(MulOp, a* b)
XG_BINARY(DivOp, a / b)
// NaN in either wins, as in torch. (xsimd::isnan, not a != a: xsimd 8.1's AVX
// != is the ordered compare, false for NaN.)
XG_BINARY(MaxOp, xsimd::select((a > b) || xsimd::isnan(a), a, b))
XG_BINARY(MinOp, xsimd::select((a < b) || xsimd::isnan(a), a, b))
XG_BINARY(PowOp, pow(a, b))
#undef XG_BINARY

template <class T, class Op>
void binary_run(const T* a, i64 sa, const T* b, i64 sb, T* y, i64 n) {
  const Op f;
  if (sa != 0 && sb != 0) return map(y, n, f, a, b);
  if (sb == 0 && sa != 0) {
    const B<T> bv = splat(*b);
    return map(y, n, [&](const B<T>& x) { return f(x, bv); }, a);
  }
  if (sa == 0 && sb != 0) {
    const B<T> av = splat(*a);
    return map(y, n, [&](const B<T>& x) { return f(av, x); }, b);
  }
  const B<T> v = f(splat(*a), splat(*b));  // both repeat: one value (read before y is written)
  i64 i = 0;
  for (; i + width<T> <= n; i += width<T>) v.store_unaligned(y + i);
  if (i < n) store_tail(y + i, v, n - i);
}

template <class T>
void axpy(T* y, const T* x, T alpha, i64 n) {
  const B<T> a = splat(alpha);
  map(y, n, [&](const B<T>& xv, const B<T>& yv) { return xsimd::fma(a, xv, yv); }, x, static_cast<const T*>(y));
}

// ---------------------------------------------------------------- backward of unary functions

template <class T>
void tanh_backward(const T* g, const T* y, T* dx, i64 n) {
  map(dx, n, [](const B<T>& gv, const B<T>& yv) { return gv * (splat(T(1)) - yv * yv); }, g, y);
}
template <class T>
void sigmoid_backward(const T* g, const T* y, T* dx, i64 n) {
  map(dx, n, [](const B<T>& gv, const B<T>& yv) { return gv * yv * (splat(T(1)) - yv); }, g, y);
}
template <class T>
void relu_backward(const T* g, const T* y, T* dx, i64 n) {
  // Like torch's threshold_backward: where y <= 0 nothing passes; a NaN output passes g.
  map(dx, n, [](const B<T>& gv, const B<T>& yv) { return xsimd::select(yv <= splat(T(0)), splat(T(0)), gv); }, g, y);
}
template <class T>
void silu_backward(const T* g, const T* x, T* dx, i64 n) {
  // d/dx x·σ(x) = σ(x)·(1 + x·(1 − σ(x)))
  map(dx, n, [](const B<T>& gv, const B<T>& xv) {
    const B<T> s = sigmoid(xv);
    return gv * s * (splat(T(1)) + xv * (splat(T(1)) - s));
  }, g, x);
}

// ---------------------------------------------------------------- reductions

template <class T>
T horizontal_sum(const B<T>& v) {
  return xsimd::hadd(v);
}

template <class T>
T sum(const T* x, i64 n) {
  // Four accumulators: independent add chains, and shorter ones (more accurate).
  B<T> s0 = splat(T(0)), s1 = s0, s2 = s0, s3 = s0;
  constexpr i64 w = width<T>;
  i64 i = 0;
  for (; i + 4 * w <= n; i += 4 * w) {
    s0 += load(x + i);
    s1 += load(x + i + w);
    s2 += load(x + i + 2 * w);
    s3 += load(x + i + 3 * w);
  }
  for (; i + w <= n; i += w) s0 += load(x + i);
  if (i < n) s1 += load_tail(x + i, n - i, T(0));
  return horizontal_sum<T>((s0 + s1) + (s2 + s3));
}

/// max (is_max) or min of a run; NaN wins.
template <class T, bool is_max>
T extremum(const T* x, i64 n) {
  const T start = is_max ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
  auto pick = [](const B<T>& m, const B<T>& v) {
    return xsimd::select((is_max ? v > m : v < m) || xsimd::isnan(v), v, m);
  };
  B<T> m = splat(start);
  i64 i = 0;
  for (; i + width<T> <= n; i += width<T>) m = pick(m, load(x + i));
  if (i < n) m = pick(m, load_tail(x + i, n - i, start));
  alignas(64) T lanes[B<T>::size];
  m.store_aligned(lanes);
  T r = lanes[0];
  for (i64 k = 1; k < width<T>; ++k) {
    const T v = lanes[k];
    if ((is_max ? v > r : v < r) || v != v) r = v;
  }
  return r;
}

template <class T>
void accumulate(T* dst, const T* src, i64 n) {
  map(dst, n, [](const B<T>& d, const B<T>& s) { return d + s; }, static_cast<const T*>(dst), src);
}

// ---------------------------------------------------------------- softmax

/// Σ exp(x − m) over a row (the padding is −inf: exp gives 0), also storing
/// each exp(x − m) into `e` when it is given.
template <class T>
T sum_exp_shifted(const T* x, i64 n, const B<T>& m, T* e) {
  B<T> s = splat(T(0));
  i64 i = 0;
  for (; i + width<T> <= n; i += width<T>) {
    const B<T> v = xsimd::exp(load(x + i) - m);
    s += v;
    if (e) v.store_unaligned(e + i);
  }
  if (i < n) {
    const B<T> v = xsimd::exp(load_tail(x + i, n - i, -std::numeric_limits<T>::infinity()) - m);
    s += v;
    if (e) store_tail(e + i, v, n - i);
  }
  return horizontal_sum<T>(s);
}

template <class T>
void softmax_row(const T* x, T* y, i64 n, bool log) {
  const B<T> mv = splat(extremum<T, true>(x, n));  // NaN anywhere: a NaN row; all −inf: NaN (x − m), both as in torch
  const T total = sum_exp_shifted(x, n, mv, log ? nullptr : y);
  if (log) {
    const B<T> log_total = xsimd::log(splat(total));  // (x − m) − log s: m + log s would round away log s
    map(y, n, [&](const B<T>& v) { return (v - mv) - log_total; }, x);
  } else {
    const B<T> inv = splat(T(1) / total);
    map(y, n, [&](const B<T>& v) { return v * inv; }, static_cast<const T*>(y));
  }
}

template <class T>
void softmax_backward_row(const T* g, const T* y, T* dx, i64 n, bool log) {
  // softmax: dx = y ⊙ (g − Σ g⊙y); log_softmax: dx = g − eʸ Σ g.
  const B<T> acc = log ? fold(n, T(0), [](const B<T>& gv) { return gv; }, g)
                       : fold(n, T(0), [](const B<T>& gv, const B<T>& yv) { return gv * yv; }, g, y);
  const B<T> s = splat(horizontal_sum<T>(acc));
  if (log) {
    map(dx, n, [&](const B<T>& gv, const B<T>& yv) { return gv - xsimd::exp(yv) * s; }, g, y);
  } else {
    map(dx, n, [&](const B<T>& gv, const B<T>& yv) { return yv * (gv - s); }, g, y);
  }
}

// ---------------------------------------------------------------- cross-entropy

template <class T>
T logsumexp_row(const T* x, i64 n) {
  const B<T> mv = splat(extremum<T, true>(x, n));
  alignas(64) T lanes[B<T>::size];
  (xsimd::log(splat(sum_exp_shifted<T>(x, n, mv, nullptr))) + mv).store_aligned(lanes);
  return lanes[0];
}

template <class T>
void cross_entropy_backward_row(const T* x, T lse, T coef, T sub, const T* cw, T* dx, i64 n) {
  const B<T> l = splat(lse), c = splat(coef), s = splat(sub);
  if (cw) {
    map(dx, n, [&](const B<T>& v, const B<T>& w) { return c * xsimd::exp(v - l) - s * w; }, x, cw);
  } else {
    map(dx, n, [&](const B<T>& v) { return c * xsimd::exp(v - l) - s; }, x);
  }
}

// ---------------------------------------------------------------- GELU

constexpr double kSqrt2OverPi = 0.79788456080286535588;  // √(2/π)
constexpr double kInvSqrt2 = 0.70710678118654752440;     // 1/√2
constexpr double kInvSqrt2Pi = 0.39894228040143267794;   // 1/√(2π)
constexpr double kCubic = 0.044715;

/// erf for GELU in float32: within 3.3e-7 absolute of erf (tests check GELU
/// and its gradient against float64), about twice as fast as xsimd::erf. A
/// Taylor series below |x| = 0.5 (relative accuracy near 0), Abramowitz &
/// Stegun 7.1.26 above, as libtorch's own vectorised erf. float64 keeps libm.
template <class T>
B<T> gelu_erf(const B<T>& x, B<T>* gauss = nullptr) {
  // erf(x), and e^(−x²) in *gauss when asked: the large-|x| branch needs it
  // anyway, and GELU's backward needs it for its density term.
  const B<T> z = x * x;
  if constexpr (sizeof(T) == 8) {
    if (gauss) *gauss = xsimd::exp(-z);
    return erf(x);
  } else {
    const B<T> a = xsimd::abs(x);
    B<T> p = splat(1.2055332982e-4f);
    for (float c : {-8.5483270235e-4f, 5.2239776254e-3f, -2.6866170645e-2f, 1.1283791671e-1f, -3.7612638903e-1f,
                    1.1283791671e+0f})
      p = xsimd::fma(p, z, splat(c));
    const B<T> small = p * x;
    const B<T> t = splat(1.0f) / xsimd::fma(splat(0.3275911f), a, splat(1.0f));
    B<T> q = splat(1.061405429f);
    for (float c : {-1.453152027f, 1.421413741f, -0.284496736f, 0.254829592f}) q = xsimd::fma(q, t, splat(c));
    const B<T> e = xsimd::exp(-z);
    if (gauss) *gauss = e;
    const B<T> big = splat(1.0f) - q * t * e;
    return xsimd::select(a < splat(0.5f), small, xsimd::select(x < splat(0.0f), -big, big));
  }
}

template <class T>
B<T> tanh_form_inner(const B<T>& x) {
  return splat(T(kSqrt2OverPi)) * (x + splat(T(kCubic)) * x * x * x);
}

template <class T>
void gelu(const T* x, T* y, i64 n, bool tanh_form) {
  const B<T> half = splat(T(0.5)), one = splat(T(1));
  if (tanh_form) {
    map(y, n, [&](const B<T>& v) { return half * v * (one + xsimd::tanh(tanh_form_inner(v))); }, x);
  } else {
    map(y, n, [&](const B<T>& v) { return half * v * (one + gelu_erf(v * splat(T(kInvSqrt2)))); }, x);
  }
}

template <class T>
void gelu_backward(const T* g, const T* x, T* dx, i64 n, bool tanh_form) {
  const B<T> half = splat(T(0.5)), one = splat(T(1));
  if (tanh_form) {  // ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²)
    map(dx, n, [&](const B<T>& gv, const B<T>& v) {
      const B<T> t = xsimd::tanh(tanh_form_inner(v));
      const B<T> slope = splat(T(kSqrt2OverPi)) * (one + splat(T(3 * kCubic)) * v * v);
      return gv * (half * (one + t) + half * v * (one - t * t) * slope);
    }, g, x);
  } else {  // Φ(x) + x·φ(x)
    map(dx, n, [&](const B<T>& gv, const B<T>& v) {
      B<T> gauss;  // e^(−x²/2), shared with erf's own
      const B<T> cdf = half * (one + gelu_erf(v * splat(T(kInvSqrt2)), &gauss));
      const B<T> pdf = splat(T(kInvSqrt2Pi)) * gauss;
      return gv * (cdf + v * pdf);
    }, g, x);
  }
}

// ---------------------------------------------------------------- BatchNorm runs

template <class T>
T centred_square_sum(const T* x, i64 n, T mu) {
  const B<T> mv = splat(mu);
  return horizontal_sum<T>(fold(n, mu, [&](const B<T>& v) { return (v - mv) * (v - mv); }, x));  // pad μ: adds 0
}

template <class T>
T centred_dot(const T* g, const T* x, i64 n, T mu) {
  const B<T> mv = splat(mu);
  return horizontal_sum<T>(fold(n, T(0), [&](const B<T>& gv, const B<T>& v) { return gv * (v - mv); }, g, x));
}

template <class T>
void affine(const T* x, T* y, i64 n, T m, T a, T c) {
  const B<T> mv = splat(m), av = splat(a), cv = splat(c);
  map(y, n, [&](const B<T>& v) { return xsimd::fma(v - mv, av, cv); }, x);
}

template <class T>
void affine2(const T* g, const T* x, T* y, i64 n, T m, T a, T b, T c) {
  const B<T> mv = splat(m), av = splat(a), bv = splat(b), cv = splat(c);
  map(y, n, [&](const B<T>& gv, const B<T>& v) { return xsimd::fma(gv, av, xsimd::fma(v - mv, bv, cv)); }, g, x);
}

// ---------------------------------------------------------------- LayerNorm

template <class T>
void layer_norm_row(const T* x, const T* w, const T* b, T* y, i64 n, double eps, bool centred, double* mean,
                    double* rstd) {
  // Two passes (mean, then Σ(x − mean)²): no cancellation, unlike E[x²] − E[x]².
  // RMSNorm (not centred) is the same with the mean taken as 0.
  const double mu = centred ? static_cast<double>(sum(x, n)) / static_cast<double>(n) : 0.0;
  const B<T> mv = splat(static_cast<T>(mu));
  const B<T> acc = fold(n, static_cast<T>(mu), [&](const B<T>& v) { return (v - mv) * (v - mv); }, x);  // pad μ: adds 0
  const double var = static_cast<double>(horizontal_sum<T>(acc)) / static_cast<double>(n);
  const double inv = 1.0 / __builtin_sqrt(var + eps);
  *mean = mu;
  *rstd = inv;
  const B<T> k = splat(static_cast<T>(inv));
  if (w && b) return map(y, n, [&](const B<T>& v, const B<T>& wv, const B<T>& bv) { return (v - mv) * k * wv + bv; }, x, w, b);
  if (w) return map(y, n, [&](const B<T>& v, const B<T>& wv) { return (v - mv) * k * wv; }, x, w);
  if (b) return map(y, n, [&](const B<T>& v, const B<T>& bv) { return (v - mv) * k + bv; }, x, b);
  map(y, n, [&](const B<T>& v) { return (v - mv) * k; }, x);
}

template <class T>
void layer_norm_backward_row(const T* g, const T* x, const T* w, double mean, double rstd, bool centred, T* dx, T* dw,
                             T* db, i64 n) {
  // x̂ = (x − μ)·r, gy = g·w: dx = r·(gy − mean(gy) − x̂·mean(gy·x̂)); dw += g·x̂; db += g.
  // Not centred (RMSNorm: μ = 0): dx = r·(gy − x̂·mean(gy·x̂)).
  const B<T> mv = splat(static_cast<T>(mean)), k = splat(static_cast<T>(rstd)), one = splat(T(1));
  B<T> sum_gy = splat(T(0)), sum_gyx = sum_gy;
  auto add_into = [](T* p, const B<T>& v, i64 count) {  // p[0..count) += v's first count lanes
    if (count == width<T>) return (load(p) + v).store_unaligned(p);
    store_tail(p, load_tail(p, count, T(0)) + v, count);
  };
  auto step = [&](T* dwp, T* dbp, const B<T>& gv, const B<T>& xv, const B<T>& wv, i64 i, i64 count) {
    const B<T> xhat = (xv - mv) * k;
    const B<T> gy = gv * wv;
    sum_gy += gy;
    sum_gyx += gy * xhat;
    if (dwp) add_into(dwp + i, gv * xhat, count);
    if (dbp) add_into(dbp + i, gv, count);
  };
  i64 i = 0;
  for (; i + width<T> <= n; i += width<T>) step(dw, db, load(g + i), load(x + i), w ? load(w + i) : one, i, width<T>);
  if (i < n) {
    const i64 r = n - i;  // padding: g = 0 adds nothing
    step(dw, db, load_tail(g + i, r, T(0)), load_tail(x + i, r, T(0)), w ? load_tail(w + i, r, T(0)) : one, i, r);
  }
  if (!dx) return;
  const B<T> a = splat(centred ? horizontal_sum<T>(sum_gy) / static_cast<T>(n) : T(0));
  const B<T> c = splat(horizontal_sum<T>(sum_gyx) / static_cast<T>(n));
  if (w) {
    map(dx, n, [&](const B<T>& gv, const B<T>& xv, const B<T>& wv) { return k * (gv * wv - a - (xv - mv) * k * c); }, g, x, w);
  } else {
    map(dx, n, [&](const B<T>& gv, const B<T>& xv) { return k * (gv - a - (xv - mv) * k * c); }, g, x);
  }
}

// ---------------------------------------------------------------- the table

template <class T>
Kernels<T> make_kernels() {
  Kernels<T> k{};
  auto set_unary = [&](Unary op, typename Kernels<T>::UnaryFn f) { k.unary[static_cast<int>(op)] = f; };
  set_unary(Unary::Neg, &unary_run<T, NegOp>);
  set_unary(Unary::Exp, &unary_run<T, ExpOp>);
  set_unary(Unary::Log, &unary_run<T, LogOp>);
  set_unary(Unary::Log1p, &unary_run<T, Log1pOp>);
  set_unary(Unary::Expm1, &unary_run<T, Expm1Op>);
  set_unary(Unary::Sqrt, &unary_run<T, SqrtOp>);
  set_unary(Unary::Rsqrt, &unary_run<T, RsqrtOp>);
  set_unary(Unary::Abs, &unary_run<T, AbsOp>);
  set_unary(Unary::Sin, &unary_run<T, SinOp>);
  set_unary(Unary::Cos, &unary_run<T, CosOp>);
  set_unary(Unary::Tanh, &unary_run<T, TanhOp>);
  set_unary(Unary::Sigmoid, &unary_run<T, SigmoidOp>);
  set_unary(Unary::Relu, &unary_run<T, ReluOp>);
  set_unary(Unary::Sign, &unary_run<T, SignOp>);
  set_unary(Unary::Square, &unary_run<T, SquareOp>);
  set_unary(Unary::Reciprocal, &unary_run<T, ReciprocalOp>);
  set_unary(Unary::Erf, &unary_run<T, ErfOp>);
  set_unary(Unary::Silu, &unary_run<T, SiluOp>);
  set_unary(Unary::Tan, &unary_run<T, TanOp>);
  set_unary(Unary::Asin, &unary_run<T, AsinOp>);
  set_unary(Unary::Acos, &unary_run<T, AcosOp>);
  set_unary(Unary::Atan, &unary_run<T, AtanOp>);
  set_unary(Unary::Sinh, &unary_run<T, SinhOp>);
  set_unary(Unary::Cosh, &unary_run<T, CoshOp>);
  set_unary(Unary::Floor, &unary_run<T, FloorOp>);
  set_unary(Unary::Ceil, &unary_run<T, CeilOp>);
  set_unary(Unary::Round, &unary_run<T, RoundOp>);
  set_unary(Unary::Trunc, &unary_run<T, TruncOp>);
  auto set_binary = [&](Binary op, typename Kernels<T>::BinaryFn f) { k.binary[static_cast<int>(op)] = f; };
  set_binary(Binary::Add, &binary_run<T, AddOp>);
  set_binary(Binary::Sub, &binary_run<T, SubOp>);
  set_binary(Binary::Mul, &binary_run<T, MulOp>);
  set_binary(Binary::Div, &binary_run<T, DivOp>);
  set_binary(Binary::Max, &binary_run<T, MaxOp>);
  set_binary(Binary::Min, &binary_run<T, MinOp>);
  set_binary(Binary::Pow, &binary_run<T, PowOp>);
  k.axpy = &axpy<T>;
  k.tanh_backward = &tanh_backward<T>;
  k.sigmoid_backward = &sigmoid_backward<T>;
  k.relu_backward = &relu_backward<T>;
  k.silu_backward = &silu_backward<T>;
  k.sum = &sum<T>;
  k.max = &extremum<T, true>;
  k.min = &extremum<T, false>;
  k.accumulate = &accumulate<T>;
  k.softmax_row = &softmax_row<T>;
  k.softmax_backward_row = &softmax_backward_row<T>;
  k.logsumexp_row = &logsumexp_row<T>;
  k.cross_entropy_backward_row = &cross_entropy_backward_row<T>;
  k.gelu = &gelu<T>;
  k.gelu_backward = &gelu_backward<T>;
  k.layer_norm_row = &layer_norm_row<T>;
  k.layer_norm_backward_row = &layer_norm_backward_row<T>;
  k.centred_square_sum = &centred_square_sum<T>;
  k.centred_dot = &centred_dot<T>;
  k.affine = &affine<T>;
  k.affine2 = &affine2<T>;
  return k;
}

}  // namespace

const Table& XG_SIMD_TABLE() {
  static const Table t{XG_SIMD_NAME, make_kernels<float>(), make_kernels<double>()};
  return t;
}

}  // namespace xg::detail::simd
