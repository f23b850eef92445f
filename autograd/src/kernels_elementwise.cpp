// Elementwise kernels: loops on raw pointers that the compiler vectorises.
//
// Note [Broadcast loops]
// A binary op walks its output and both inputs with one strided plan
// (Note [Strided loops]): a broadcast input has stride 0 where it repeats and
// a view its own strides, so no input is copied to be read. The inner loop is
// specialised for the strides the common cases give (same shape: 1 and 1;
// scalar or bias row: 1 and 0) so the compiler vectorises it.
#include <algorithm>
#include <cmath>
#include <optional>
#include <type_traits>
#include <vector>

#include "kernels.hpp"
#include "strided_loop.hpp"

namespace xg::detail {
namespace {

template <class TI, class TO, class F>
void inner_loop(const TI* a, const TI* b, TO* out, std::int64_t n, std::int64_t sa, std::int64_t sb, F f) {
  if (sa == 1 && sb == 1) {
    for (std::int64_t i = 0; i < n; ++i) out[i] = static_cast<TO>(f(a[i], b[i]));
  } else if (sa == 1 && sb == 0) {
    const TI bv = *b;
    for (std::int64_t i = 0; i < n; ++i) out[i] = static_cast<TO>(f(a[i], bv));
  } else if (sa == 0 && sb == 1) {
    const TI av = *a;
    for (std::int64_t i = 0; i < n; ++i) out[i] = static_cast<TO>(f(av, b[i]));
  } else if (sa == 0 && sb == 0) {
    const TO v = static_cast<TO>(f(*a, *b));
    for (std::int64_t i = 0; i < n; ++i) out[i] = v;
  } else {
    for (std::int64_t i = 0; i < n; ++i) out[i] = static_cast<TO>(f(a[i * sa], b[i * sb]));
  }
}

/// Runs shorter than this take the plain loop: for a few dozen values the
/// SIMD call's padded batch costs more than it saves (tiny ops are
/// per-op-overhead bound), and add/sub/mul/div/max/min/pow give the same bits
/// either way (exactly rounded, or libm's pow in both).
constexpr std::int64_t kSimdMinRun = 32;

/// The SIMD kernel for a float arithmetic op, Add..Min (Note [SIMD dispatch]), or null.
template <class T>
typename simd::Kernels<T>::BinaryFn simd_binary(BinaryOp op) {
  if constexpr (std::is_floating_point_v<T>) {
    if (op <= BinaryOp::Min) return simd::kernels<T>().binary[static_cast<int>(simd_binary_of(op))];
  }
  return nullptr;
}

/// out = f(a, b) over out's shape; a and b (of type TI) broadcast to it. out
/// (of type TO) may be a itself (in place) when a's layout is out's. Runs
/// where out is unit-stride and each input unit-stride or repeated go to
/// `fast` when given (the SIMD kernel of the same op).
template <class TI, class TO, class F>
void binary_loop(const Tensor& out, const Tensor& a, const Tensor& b, const char* name, F f,
                 typename simd::Kernels<TI>::BinaryFn fast = nullptr, std::int64_t grain = kParallelGrainMemory) {
  const Shape& shape = out.shape();
  if (out.numel() == 0) return;
  auto run = [&](const TI* pa, const TI* pb, TO* po, std::int64_t n, std::int64_t sa, std::int64_t sb) {
    if constexpr (std::is_same_v<TI, TO>) {
      if (fast && n >= kSimdMinRun && (sa == 0 || sa == 1) && (sb == 0 || sb == 1)) return fast(pa, sa, pb, sb, po, n);
    }
    inner_loop(pa, pb, po, n, sa, sb, f);
  };
  if (a.shape() == shape && b.shape() == shape && out.is_contiguous() && a.is_contiguous() && b.is_contiguous()) {
    const TI* pa = first_element<TI>(a);
    const TI* pb = first_element<TI>(b);
    TO* po = first_element<TO>(out);
    parallel_for(out.numel(), grain, [&](std::int64_t i, std::int64_t e) { run(pa + i, pb + i, po + i, e - i, 1, 1); });
    return;
  }
  const Shape sa = broadcast_strides(a, shape), sb = broadcast_strides(b, shape);
  const auto plan = plan_strided<3>(shape, {impl_of(out)->strides.data(), sa.data(), sb.data()}, name);
  TO* po = first_element<TO>(out);
  const TI* pa = first_element<TI>(a);
  const TI* pb = first_element<TI>(b);
  parallel_for_each_run(plan, grain, [&](const auto& off, std::int64_t n, const auto& st) {
    TO* o = po + off[0];
    if (st[0] == 1) {
      run(pa + off[1], pb + off[2], o, n, st[1], st[2]);
    } else {
      for (std::int64_t i = 0; i < n; ++i) o[i * st[0]] = static_cast<TO>(f(pa[off[1] + i * st[1]], pb[off[2] + i * st[2]]));
    }
  });
}

/// Integer division and remainder rounding toward −∞, like Python and
/// libtorch's floor_divide / remainder; callers have checked b ≠ 0.
template <class T>
T floor_div(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<T>;  // INT_MIN / −1 would trap: negate in unsigned, wrapping like libtorch
    if (b == -1) return static_cast<T>(static_cast<U>(0) - static_cast<U>(a));
    const T q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
  } else {
    return std::floor(a / b);
  }
}
template <class T>
T floor_mod(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    if (b == -1) return 0;
    const T r = a % b;
    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
  } else {
    const T r = std::fmod(a, b);
    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
  }
}

/// x op y; integers wrap around on overflow like libtorch's (in unsigned
/// arithmetic, where C++ defines it), floats and bools compute directly.
template <class T, class Op>
T wrapping(T x, T y, Op op) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(op(static_cast<U>(x), static_cast<U>(y))));
  } else {
    return static_cast<T>(op(x, y));
  }
}

/// Calls f with the scalar function for op, so each loop is instantiated
/// with a concrete lambda. Arithmetic ops give T; comparisons give bool.
template <class T, class F>
void with_binary(BinaryOp op, F&& f) {
  switch (op) {
    case BinaryOp::Add: return f([](T x, T y) { return wrapping<T>(x, y, [](auto u, auto v) { return u + v; }); });
    case BinaryOp::Sub: return f([](T x, T y) { return wrapping<T>(x, y, [](auto u, auto v) { return u - v; }); });
    case BinaryOp::Mul: return f([](T x, T y) { return wrapping<T>(x, y, [](auto u, auto v) { return u * v; }); });
    case BinaryOp::Div: return f([](T x, T y) { return static_cast<T>(x / y); });
    case BinaryOp::Pow: return f([](T x, T y) { return cast_value<T>(std::pow(x, y)); });
    case BinaryOp::Max: return f([](T x, T y) { return (x > y || x != x) ? x : y; });
    case BinaryOp::Min: return f([](T x, T y) { return (x < y || x != x) ? x : y; });
    default: break;
  }
  if constexpr (!std::is_same_v<T, bool>) {  // refused for bool by check_bool_arithmetic
    if (op == BinaryOp::FloorDiv) return f([](T x, T y) { return floor_div(x, y); });
    if (op == BinaryOp::Remainder) return f([](T x, T y) { return floor_mod(x, y); });
    if (op == BinaryOp::Atan2) return f([](T x, T y) { return static_cast<T>(std::atan2(x, y)); });
  }
}
template <class T, class F>
void with_comparison(BinaryOp op, F&& f) {
  switch (op) {
    case BinaryOp::Eq: return f([](T x, T y) { return x == y; });
    case BinaryOp::Ne: return f([](T x, T y) { return x != y; });
    case BinaryOp::Lt: return f([](T x, T y) { return x < y; });
    case BinaryOp::Le: return f([](T x, T y) { return x <= y; });
    case BinaryOp::Gt: return f([](T x, T y) { return x > y; });
    case BinaryOp::Ge: return f([](T x, T y) { return x >= y; });
    default: break;
  }
}

template <class T, class F>
void unary_loop(const T* x, T* y, std::int64_t n, F f) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
}

}  // namespace

Tensor unary_kernel(UnaryOp op, const Tensor& x, const char* name) {
  check_defined(x, name);
  Tensor y = make_tensor(x.shape(), x.dtype(), name);
  dispatch_float(x.dtype(), name, [&](auto z) {
    using T = decltype(z);
    const auto run = simd::kernels<T>().unary[static_cast<int>(op)];
    if (x.is_contiguous()) {
      const T* px = x.data<T>();
      T* py = y.data<T>();
      return parallel_for(x.numel(), kParallelGrain, [&](std::int64_t b, std::int64_t e) { run(px + b, py + b, e - b); });
    }
    if (y.numel() == 0) return;
    // A view: walk its runs; a strided run is gathered in blocks first, so
    // the math always sees unit stride.
    const auto plan = plan_strided<2>(x.shape(), {impl_of(y)->strides.data(), impl_of(x)->strides.data()}, name);
    const T* px = first_element<T>(x);
    T* py = y.data<T>();
    parallel_for_each_run(plan, kParallelGrain, [&](const auto& off, std::int64_t n, const auto& st) {
      if (st[1] == 1) return run(px + off[1], py + off[0], n);
      constexpr std::int64_t kBlock = 256;
      T gathered[kBlock];
      for (std::int64_t b = 0; b < n; b += kBlock) {
        const std::int64_t m = std::min(kBlock, n - b);
        for (std::int64_t i = 0; i < m; ++i) gathered[i] = px[off[1] + (b + i) * st[1]];
        run(gathered, py + off[0] + b, m);
      }
    });
  });
  return y;
}

Tensor fused_unary_backward(UnaryOp op, const Tensor& g_in, const Tensor& y_in) {
  const Tensor g = dense(g_in), y = dense(y_in);
  Tensor dx = make_tensor(y.shape(), y.dtype());
  dispatch_float(y.dtype(), "backward", [&](auto z) {
    using T = decltype(z);
    const simd::Kernels<T>& k = simd::kernels<T>();
    const auto kernel = op == UnaryOp::Tanh ? k.tanh_backward
                      : op == UnaryOp::Sigmoid ? k.sigmoid_backward
                      : op == UnaryOp::Silu ? k.silu_backward
                                            : k.relu_backward;
    const T* pg = g.data<T>();
    const T* py = y.data<T>();
    T* out = dx.data<T>();
    parallel_for(y.numel(), kParallelGrain, [&](std::int64_t b, std::int64_t e) { kernel(pg + b, py + b, out + b, e - b); });
  });
  return dx;
}

namespace {

/// The dtype the operands are computed in (a comparison computes in the
/// common dtype and gives bool; integers divide truly, in float32).
Dtype compute_dtype(BinaryOp op, Dtype a, Dtype b) {
  const Dtype common = promote_types(a, b);
  if (op == BinaryOp::Div && !is_floating(common)) return Dtype::Float32;
  return common;
}

}  // namespace

Dtype result_dtype(BinaryOp op, const Tensor& a, const Tensor& b, const char* name) {
  check_defined(a, name);
  check_defined(b, name);
  if (is_floating(a.dtype()) && is_floating(b.dtype())) check_same_dtype(a, b, name);  // Note [Type promotion]
  return is_comparison(op) ? Dtype::Bool : compute_dtype(op, a.dtype(), b.dtype());
}

namespace {

/// Integer floor division and remainder by zero have no value: an error, as in libtorch.
void check_no_integer_zero(BinaryOp op, const Tensor& divisor, const char* name) {
  if ((op != BinaryOp::FloorDiv && op != BinaryOp::Remainder) || is_floating(divisor.dtype())) return;
  const Tensor d = dense(divisor);
  dispatch_all(d.dtype(), [&](auto z) {
    using T = decltype(z);
    const T* p = d.data<T>();
    for (std::int64_t i = 0; i < d.numel(); ++i)
      XG_CHECK(p[i] != T(0), name, "integer division by zero (divisor ", d.dtype(), d.shape(), ", element ", i, ")");
  });
}

void check_bool_arithmetic(BinaryOp op, Dtype t, const char* name) {
  XG_CHECK(t != Dtype::Bool || op == BinaryOp::Add || op == BinaryOp::Mul || op == BinaryOp::Max || op == BinaryOp::Min,
           name, "is not defined for bool tensors (add/mul/maximum/minimum act as logical or/and; convert with .to(xg::int64))");
}

void run_binary(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b, const char* name) {
  const Dtype t = a.dtype();
  if (is_comparison(op)) {
    dispatch_all(t, [&](auto z) {
      using T = decltype(z);
      with_comparison<T>(op, [&](auto f) { binary_loop<T, bool>(out, a, b, name, f); });
    });
    return;
  }
  check_bool_arithmetic(op, t, name);
  dispatch_all(t, [&](auto z) {
    using T = decltype(z);
    // Everything but pow is one memory-bound operation per value.
    const std::int64_t grain = op == BinaryOp::Pow ? kParallelGrain : kParallelGrainMemory;
    with_binary<T>(op, [&](auto f) { binary_loop<T, T>(out, a, b, name, f, simd_binary<T>(op), grain); });
  });
}

}  // namespace

Tensor binary_kernel(BinaryOp op, const Tensor& a, const Tensor& b, const char* name) {
  if (a.defined() && b.defined() && a.dtype() == b.dtype() && is_floating(a.dtype()) && a.shape() == b.shape() &&
      a.is_contiguous() && b.is_contiguous()) {  // the common case: no promotion, one flat loop
    Tensor out = make_tensor(a.shape(), is_comparison(op) ? Dtype::Bool : a.dtype(), name);
    run_binary(op, out, a, b, name);
    return out;
  }
  const Dtype out_dtype = result_dtype(op, a, b, name);
  const Dtype t = compute_dtype(op, a.dtype(), b.dtype());
  const Shape out_shape = a.shape() == b.shape() ? a.shape() : broadcast_shapes(a.shape(), b.shape(), name);
  const Tensor ac = a.dtype() == t ? a : a.detach().to(t), bc = b.dtype() == t ? b : b.detach().to(t);
  check_no_integer_zero(op, bc, name);
  Tensor out = make_tensor(out_shape, out_dtype, name);
  run_binary(op, out, ac, bc, name);
  return out;
}

Tensor scalar_kernel(BinaryOp op, const Tensor& a, double s, bool scalar_left, const char* name) {
  check_defined(a, name);
  if (is_floating(a.dtype()) && a.is_contiguous()) {  // the common case, with the scalar on the stack
    Tensor out = make_tensor(a.shape(), is_comparison(op) ? Dtype::Bool : a.dtype(), name);
    dispatch_float(a.dtype(), name, [&](auto z) {
      using T = decltype(z);
      const T v = static_cast<T>(s);
      const T* pa = a.data<T>();
      const std::int64_t n = a.numel();
      auto run = [&](auto f, auto* po) {
        parallel_for(n, op == BinaryOp::Pow ? kParallelGrain : kParallelGrainMemory, [&](std::int64_t b, std::int64_t e) {
          if constexpr (std::is_same_v<std::remove_pointer_t<decltype(po)>, T>) {
            if (const auto fast = e - b >= kSimdMinRun ? simd_binary<T>(op) : nullptr)
              return scalar_left ? fast(&v, 0, pa + b, 1, po + b, e - b) : fast(pa + b, 1, &v, 0, po + b, e - b);
          }
          if (scalar_left) {
            inner_loop(&v, pa + b, po + b, e - b, 0, 1, f);
          } else {
            inner_loop(pa + b, &v, po + b, e - b, 1, 0, f);
          }
        });
      };
      if (is_comparison(op)) {
        with_comparison<T>(op, [&](auto f) { run(f, out.data<bool>()); });
      } else {
        with_binary<T>(op, [&](auto f) { run(f, out.data<T>()); });
      }
    });
    return out;
  }
  Dtype t;  // the dtype the scalar and a meet in
  if (is_floating(a.dtype())) {
    t = a.dtype();
  } else {
    const bool whole = std::isfinite(s) && s == std::floor(s);
    const bool fits = whole && s >= -9.2e18 && s <= 9.2e18;  // an int64 holds it
    t = !fits ? (is_comparison(op) ? Dtype::Float64 : Dtype::Float32) : a.dtype() == Dtype::Bool ? Dtype::Int64 : a.dtype();
    if (op == BinaryOp::Div) t = Dtype::Float32;
    if (t == Dtype::Int32 && (s < -2147483648.0 || s > 2147483647.0)) t = Dtype::Int64;
  }
  const Tensor scalar = full(Shape{}, s, t);
  const Tensor ac = a.dtype() == t ? a : a.detach().to(t);
  check_no_integer_zero(op, scalar_left ? ac : scalar, name);
  const Dtype out_dtype = is_comparison(op) ? Dtype::Bool : t;
  Tensor out = make_tensor(a.shape(), out_dtype, name);
  if (scalar_left) {
    run_binary(op, out, scalar, ac, name);
  } else {
    run_binary(op, out, ac, scalar, name);
  }
  return out;
}

Tensor clamp_kernel(const Tensor& x_in, double lo, double hi, const char* name) {
  check_defined(x_in, name);
  const Tensor x = dense(x_in);
  Tensor y = make_tensor(x.shape(), x.dtype());
  dispatch_float(x.dtype(), name, [&](auto z) {
    using T = decltype(z);
    const T l = static_cast<T>(lo), h = static_cast<T>(hi);
    unary_loop(x.data<T>(), y.data<T>(), x.numel(), [=](T v) { return v < l ? l : (v > h ? h : v); });
  });
  return y;
}

Tensor in_range_mask(const Tensor& x_in, double lo, double hi) {
  const Tensor x = dense(x_in);
  Tensor y = make_tensor(x.shape(), x.dtype());
  dispatch_float(x.dtype(), "clamp", [&](auto z) {
    using T = decltype(z);
    const T l = static_cast<T>(lo), h = static_cast<T>(hi);
    unary_loop(x.data<T>(), y.data<T>(), x.numel(), [=](T v) { return T(v >= l && v <= h); });
  });
  return y;
}

Tensor where_kernel(const Tensor& cond, const Tensor& a_in, const Tensor& b_in, const char* name) {
  // where(c, a, b) = b + c' * (a - b) would lose precision and infinities;
  // do it as two broadcasts with a select. cond is any dtype (nonzero: true).
  const Dtype t = result_dtype(BinaryOp::Add, a_in, b_in, name);
  check_defined(cond, name);
  const Tensor a = a_in.dtype() == t ? a_in : a_in.detach().to(t), b = b_in.dtype() == t ? b_in : b_in.detach().to(t);
  const Shape ab = broadcast_shapes(a.shape(), b.shape(), name);
  const Shape out_shape = broadcast_shapes(cond.shape(), ab, name);
  Tensor out = make_tensor(out_shape, t, name);
  if (out.numel() == 0) return out;
  const Shape sc = broadcast_strides(cond, out_shape), sa = broadcast_strides(a, out_shape),
              sb = broadcast_strides(b, out_shape);
  const auto plan = plan_strided<4>(out_shape, {impl_of(out)->strides.data(), sc.data(), sa.data(), sb.data()}, name);
  dispatch_all(t, [&](auto z) {
    using T = decltype(z);
    dispatch_all(cond.dtype(), [&](auto zc) {
      using C = decltype(zc);
      T* po = first_element<T>(out);
      const C* pc = first_element<C>(cond);
      const T *pa = first_element<T>(a), *pb = first_element<T>(b);
      for_each_run(plan, [&](const auto& off, std::int64_t n, const auto& st) {
        for (std::int64_t i = 0; i < n; ++i)
          po[off[0] + i * st[0]] = pc[off[1] + i * st[1]] != C(0) ? pa[off[2] + i * st[2]] : pb[off[3] + i * st[3]];
      });
    });
  });
  return out;
}

namespace {
/// a = f(a, b) in place on a float target; simd_op, when given, names the
/// SIMD kernel that computes f on unit-stride runs.
template <class F>
void inplace_binary(Tensor& a, const Tensor& b_in, const char* name, std::optional<BinaryOp> simd_op, F f) {
  check_defined(a, name);
  check_defined(b_in, name);
  if (is_floating(a.dtype()) && is_floating(b_in.dtype())) check_same_dtype(a, b_in, name);
  XG_CHECK(promote_types(a.dtype(), b_in.dtype()) == a.dtype(), name, "the result would be ",
           promote_types(a.dtype(), b_in.dtype()), ", which cannot be written into the ", a.dtype(), a.shape(),
           " target (convert it first)");
  XG_CHECK(broadcast_shapes(a.shape(), b_in.shape(), name) == a.shape(), name, "cannot broadcast ", b_in.shape(),
           " into the in-place target ", a.shape());
  const Tensor b = b_in.dtype() == a.dtype() ? b_in : b_in.to(a.dtype());
  dispatch_float(a.dtype(), name, [&](auto z) {  // integer targets go through inplace_via
    using T = decltype(z);
    binary_loop<T, T>(a, a, b, name, [&](T x, T y) { return static_cast<T>(f(x, y)); },
                      simd_op ? simd_binary<T>(*simd_op) : nullptr);
  });
}

/// An integer or bool target: the out-of-place op (which wraps on overflow
/// and promotes), written back when its dtype is the target's.
void inplace_via(Tensor& a, const Tensor& result, const char* name) {
  XG_CHECK(result.dtype() == a.dtype(), name, "the result would be ", result.dtype(),
           ", which cannot be written into the ", a.dtype(), a.shape(), " target (convert it first)");
  XG_CHECK(result.shape() == a.shape(), name, "cannot broadcast into the in-place target ", a.shape(), " (the result is ",
           result.shape(), ")");
  copy_strided(a, result);
}
}  // namespace

void add_inplace_kernel(Tensor& a, const Tensor& b, double alpha, const char* name) {
  if (!is_floating(a.dtype()))
    return inplace_via(a, binary_kernel(BinaryOp::Add, a, alpha == 1.0 ? b : scalar_kernel(BinaryOp::Mul, b, alpha, false, name), name), name);
  if (alpha == 1.0) return inplace_binary(a, b, name, BinaryOp::Add, [](auto x, auto y) { return x + y; });
  if (a.dtype() == b.dtype() && a.shape() == b.shape() && a.is_contiguous() && b.is_contiguous() && !shares_storage(a, b)) {
    dispatch_float(a.dtype(), name, [&](auto z) {  // a += alpha·b: the SIMD axpy
      using T = decltype(z);
      T* pa = first_element<T>(a);
      const T* pb = first_element<T>(b);
      parallel_for(a.numel(), kParallelGrainMemory, [&](std::int64_t i, std::int64_t e) {
        simd::kernels<T>().axpy(pa + i, pb + i, static_cast<T>(alpha), e - i);
      });
    });
    return;
  }
  inplace_binary(a, b, name, std::nullopt, [alpha](auto x, auto y) { return x + static_cast<decltype(x)>(alpha) * y; });
}
void mul_inplace_kernel(Tensor& a, const Tensor& b, const char* name) {
  if (!is_floating(a.dtype())) return inplace_via(a, binary_kernel(BinaryOp::Mul, a, b, name), name);
  inplace_binary(a, b, name, BinaryOp::Mul, [](auto x, auto y) { return x * y; });
}
void div_inplace_kernel(Tensor& a, const Tensor& b, const char* name) {
  if (!is_floating(a.dtype())) return inplace_via(a, binary_kernel(BinaryOp::Div, a, b, name), name);
  inplace_binary(a, b, name, BinaryOp::Div, [](auto x, auto y) { return x / y; });
}

void scalar_inplace_kernel(Tensor& a, double mul, double add) {
  if (a.numel() == 0) return;
  const auto plan = plan_strided<1>(a.shape(), {impl_of(a)->strides.data()}, "fill_");
  dispatch_all(a.dtype(), [&](auto z) {
    using T = decltype(z);
    T* base = first_element<T>(a);
    const T m = cast_value<T>(mul), c = cast_value<T>(add);
    for_each_run(plan, [&](const auto& off, std::int64_t n, const auto& st) {
      T* p = base + off[0];
      const std::int64_t s = st[0];
      if (mul == 0.0) {
        for (std::int64_t i = 0; i < n; ++i) p[i * s] = c;  // fill_/zero_ also clear NaNs
      } else {
        for (std::int64_t i = 0; i < n; ++i) {
          if constexpr (std::is_integral_v<T>) {  // integers wrap on overflow, like every integer op
            p[i * s] = wrapping<T>(wrapping<T>(p[i * s], m, [](auto u, auto v) { return u * v; }), c,
                                   [](auto u, auto v) { return u + v; });
          } else {
            p[i * s] = p[i * s] * m + c;
          }
        }
      }
    });
  });
}

}  // namespace xg::detail
