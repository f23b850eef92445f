#pragma once
// The SIMD kernels: one table of functions per instruction set, the best one
// this CPU runs chosen once at start-up (Note [SIMD dispatch]).
//
// Each function computes one contiguous run; callers handle layouts
// (Note [Strided loops]) and split runs across threads (parallel.hpp).
#include <cstdint>
#include <vector>

namespace xg::detail::simd {

/// Elementwise functions of one operand, float32 and float64.
enum class Unary : int {
  Neg, Exp, Log, Log1p, Expm1, Sqrt, Rsqrt, Abs, Sin, Cos, Tanh, Sigmoid, Relu, Sign, Square, Reciprocal, Erf, Silu,
  Tan, Asin, Acos, Atan, Sinh, Cosh, Floor, Ceil, Round, Trunc,
  Count
};
/// Elementwise functions of two operands.
enum class Binary : int { Add, Sub, Mul, Div, Max, Min, Pow, Count };

template <class T>
struct Kernels {
  /// y[i] = f(x[i]) for i < n; y may be x.
  using UnaryFn = void (*)(const T* x, T* y, std::int64_t n);
  UnaryFn unary[static_cast<int>(Unary::Count)];
  /// y[i] = a[i·sa] ∘ b[i·sb], each stride 0 (a repeated value) or 1; y may be a or b.
  using BinaryFn = void (*)(const T* a, std::int64_t sa, const T* b, std::int64_t sb, T* y, std::int64_t n);
  BinaryFn binary[static_cast<int>(Binary::Count)];
  /// y[i] += alpha·x[i] (add_ with alpha, the optimizers' updates).
  void (*axpy)(T* y, const T* x, T alpha, std::int64_t n);

  /// dx = g·f'(x) from the saved output y of tanh, sigmoid, relu.
  void (*tanh_backward)(const T* g, const T* y, T* dx, std::int64_t n);
  void (*sigmoid_backward)(const T* g, const T* y, T* dx, std::int64_t n);
  void (*relu_backward)(const T* g, const T* y, T* dx, std::int64_t n);
  /// dx = g·silu'(x) from the saved input.
  void (*silu_backward)(const T* g, const T* x, T* dx, std::int64_t n);

  /// Horizontal reductions of a run; max/min propagate NaN.
  T (*sum)(const T* x, std::int64_t n);
  T (*max)(const T* x, std::int64_t n);
  T (*min)(const T* x, std::int64_t n);
  /// dst[i] += src[i] (the kept-innermost reduction step).
  void (*accumulate)(T* dst, const T* src, std::int64_t n);

  /// softmax (or log_softmax) of one row (Note [Fused softmax]).
  void (*softmax_row)(const T* x, T* y, std::int64_t n, bool log);
  void (*softmax_backward_row)(const T* g, const T* y, T* dx, std::int64_t n, bool log);
  /// log Σ exp(x) of one row (max-shifted; NaN in, NaN out).
  T (*logsumexp_row)(const T* x, std::int64_t n);
  /// dx[j] = coef·exp(x[j] − lse) − sub·(cw ? cw[j] : 1): cross-entropy's
  /// gradient row before the target's −coef' (Note [Fused cross_entropy]).
  void (*cross_entropy_backward_row)(const T* x, T lse, T coef, T sub, const T* cw, T* dx, std::int64_t n);
  /// GELU, exact (erf) or tanh form, and g·GELU'(x).
  void (*gelu)(const T* x, T* y, std::int64_t n, bool tanh_form);
  void (*gelu_backward)(const T* g, const T* x, T* dx, std::int64_t n, bool tanh_form);
  /// One row of LayerNorm (w, b may be null): y, and the row's mean and
  /// 1/std. Not centred: RMSNorm (mean taken as 0, 1/rms).
  void (*layer_norm_row)(const T* x, const T* w, const T* b, T* y, std::int64_t n, double eps, bool centred,
                         double* mean, double* rstd);
  /// Its backward for one row: dx (may be null), and dw += g·x̂, db += g (each may be null).
  void (*layer_norm_backward_row)(const T* g, const T* x, const T* w, double mean, double rstd, bool centred, T* dx,
                                  T* dw, T* db, std::int64_t n);
  /// BatchNorm's runs (a channel's values in one image): Σ(x − μ)², Σ g·(x − μ),
  /// y = a·(x − m) + c, and y = a·g + b·(x − m) + c.
  T (*centred_square_sum)(const T* x, std::int64_t n, T mu);
  T (*centred_dot)(const T* g, const T* x, std::int64_t n, T mu);
  void (*affine)(const T* x, T* y, std::int64_t n, T m, T a, T c);
  void (*affine2)(const T* g, const T* x, T* y, std::int64_t n, T m, T a, T b, T c);
};

struct Table {
  const char* name;  ///< "sse2", "avx2" (with FMA) or "avx512"
  Kernels<float> f32;
  Kernels<double> f64;
  template <class T>
  const Kernels<T>& get() const {
    if constexpr (sizeof(T) == 4) {
      return f32;
    } else {
      return f64;
    }
  }
};

/// The table used: the best this CPU runs, or XGRAD_SIMD's choice (sse2,
/// avx2, avx512) when the CPU runs that one.
const Table& table();
/// Every table this CPU runs, baseline first (tests compare them).
std::vector<const Table*> runnable_tables();

template <class T>
const Kernels<T>& kernels() {
  return table().get<T>();
}

}  // namespace xg::detail::simd
