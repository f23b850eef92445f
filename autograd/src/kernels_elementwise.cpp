// Elementwise kernels: loops on raw pointers that the compiler vectorises.
//
// Note [Broadcast loops]
// A binary op walks its output and both inputs with one strided plan
// (Note [Strided loops]): a broadcast input has stride 0 where it repeats and
// a view its own strides, so no input is copied to be read. The inner loop is
// specialised for the strides the common cases give (same shape: 1 and 1;
// scalar or bias row: 1 and 0) so the compiler vectorises it.
#include <cmath>

#include "kernels.hpp"
#include "strided_loop.hpp"

namespace xg::detail {
namespace {

template <class T, class F>
void inner_loop(const T* a, const T* b, T* out, std::int64_t n, std::int64_t sa, std::int64_t sb, F f) {
  if (sa == 1 && sb == 1) {
    for (std::int64_t i = 0; i < n; ++i) out[i] = f(a[i], b[i]);
  } else if (sa == 1 && sb == 0) {
    const T bv = *b;
    for (std::int64_t i = 0; i < n; ++i) out[i] = f(a[i], bv);
  } else if (sa == 0 && sb == 1) {
    const T av = *a;
    for (std::int64_t i = 0; i < n; ++i) out[i] = f(av, b[i]);
  } else if (sa == 0 && sb == 0) {
    const T v = f(*a, *b);
    for (std::int64_t i = 0; i < n; ++i) out[i] = v;
  } else {
    for (std::int64_t i = 0; i < n; ++i) out[i] = f(a[i * sa], b[i * sb]);
  }
}

/// out = f(a, b) over out's shape; a and b broadcast to it. out may be a
/// (in place) when a's layout is out's.
template <class T, class F>
void binary_loop(const Tensor& out, const Tensor& a, const Tensor& b, const char* name, F f) {
  const Shape& shape = out.shape();
  if (out.numel() == 0) return;
  const Shape sa = broadcast_strides(a, shape), sb = broadcast_strides(b, shape);
  const auto plan = plan_strided<3>(shape, {impl_of(out)->strides.data(), sa.data(), sb.data()}, name);
  T* po = first_element<T>(out);
  const T* pa = first_element<T>(a);
  const T* pb = first_element<T>(b);
  for_each_run(plan, [&](std::int64_t, const auto& off, std::int64_t n, const auto& st) {
    T* o = po + off[0];
    if (st[0] == 1) {
      inner_loop(pa + off[1], pb + off[2], o, n, st[1], st[2], f);
    } else {
      for (std::int64_t i = 0; i < n; ++i) o[i * st[0]] = f(pa[off[1] + i * st[1]], pb[off[2] + i * st[2]]);
    }
  });
}

template <class T>
T stable_sigmoid(T x) {
  if (x >= 0) return T(1) / (T(1) + std::exp(-x));
  const T e = std::exp(x);
  return e / (T(1) + e);
}

/// Calls f with the scalar function for op, so each loop is instantiated
/// with a concrete lambda.
template <class T, class F>
void with_binary(BinaryOp op, F&& f) {
  switch (op) {
    case BinaryOp::Add: return f([](T x, T y) { return x + y; });
    case BinaryOp::Sub: return f([](T x, T y) { return x - y; });
    case BinaryOp::Mul: return f([](T x, T y) { return x * y; });
    case BinaryOp::Div: return f([](T x, T y) { return x / y; });
    case BinaryOp::Pow: return f([](T x, T y) { return std::pow(x, y); });
    case BinaryOp::Max: return f([](T x, T y) { return (x > y || x != x) ? x : y; });
    case BinaryOp::Min: return f([](T x, T y) { return (x < y || x != x) ? x : y; });
    case BinaryOp::Eq: return f([](T x, T y) { return T(x == y); });
    case BinaryOp::Ne: return f([](T x, T y) { return T(x != y); });
    case BinaryOp::Lt: return f([](T x, T y) { return T(x < y); });
    case BinaryOp::Le: return f([](T x, T y) { return T(x <= y); });
    case BinaryOp::Gt: return f([](T x, T y) { return T(x > y); });
    case BinaryOp::Ge: return f([](T x, T y) { return T(x >= y); });
  }
}

template <class T, class F>
void unary_loop(const T* x, T* y, std::int64_t n, F f) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
}

template <class T>
void unary_typed(UnaryOp op, const T* x, T* y, std::int64_t n) {
  switch (op) {
    case UnaryOp::Neg: return unary_loop(x, y, n, [](T v) { return -v; });
    case UnaryOp::Exp: return unary_loop(x, y, n, [](T v) { return std::exp(v); });
    case UnaryOp::Log: return unary_loop(x, y, n, [](T v) { return std::log(v); });
    case UnaryOp::Sqrt: return unary_loop(x, y, n, [](T v) { return std::sqrt(v); });
    case UnaryOp::Abs: return unary_loop(x, y, n, [](T v) { return std::abs(v); });
    case UnaryOp::Sin: return unary_loop(x, y, n, [](T v) { return std::sin(v); });
    case UnaryOp::Cos: return unary_loop(x, y, n, [](T v) { return std::cos(v); });
    case UnaryOp::Tanh: return unary_loop(x, y, n, [](T v) { return std::tanh(v); });
    case UnaryOp::Sigmoid: return unary_loop(x, y, n, [](T v) { return stable_sigmoid(v); });
    case UnaryOp::Relu: return unary_loop(x, y, n, [](T v) { return v <= T(0) ? T(0) : v; });  // NaN stays NaN, as in torch
    case UnaryOp::Sign: return unary_loop(x, y, n, [](T v) { return T((v > T(0)) - (v < T(0))); });
    case UnaryOp::Square: return unary_loop(x, y, n, [](T v) { return v * v; });
    case UnaryOp::Reciprocal: return unary_loop(x, y, n, [](T v) { return T(1) / v; });
    case UnaryOp::Erf: return unary_loop(x, y, n, [](T v) { return std::erf(v); });
  }
}

}  // namespace

Tensor unary_kernel(UnaryOp op, const Tensor& x_in, const char* name) {
  check_defined(x_in, name);
  const Tensor x = dense(x_in);
  Tensor y = make_tensor(x.shape(), x.dtype());
  if (x.dtype() == Dtype::Float32 && (op == UnaryOp::Exp || op == UnaryOp::Tanh || op == UnaryOp::Sigmoid)) {
    auto* f = op == UnaryOp::Exp ? exp_f32 : op == UnaryOp::Tanh ? tanh_f32 : sigmoid_f32;  // Note [Fast transcendentals]
    f(x.data<float>(), y.data<float>(), x.numel());
    return y;
  }
  dispatch_float(x.dtype(), name, [&](auto z) {
    using T = decltype(z);
    unary_typed<T>(op, x.data<T>(), y.data<T>(), x.numel());
  });
  return y;
}

Tensor fused_unary_backward(UnaryOp op, const Tensor& g_in, const Tensor& y_in) {
  const Tensor g = dense(g_in), y = dense(y_in);
  Tensor dx = make_tensor(y.shape(), y.dtype());
  dispatch_float(y.dtype(), "backward", [&](auto z) {
    using T = decltype(z);
    const T* pg = g.data<T>();
    const T* py = y.data<T>();
    T* out = dx.data<T>();
    const std::int64_t n = y.numel();
    switch (op) {
      case UnaryOp::Tanh:
        for (std::int64_t i = 0; i < n; ++i) out[i] = pg[i] * (T(1) - py[i] * py[i]);
        break;
      case UnaryOp::Sigmoid:
        for (std::int64_t i = 0; i < n; ++i) out[i] = pg[i] * py[i] * (T(1) - py[i]);
        break;
      default:  // Relu; both loads unconditional, so the select vectorises
        for (std::int64_t i = 0; i < n; ++i) {
          const T gi = pg[i];
          out[i] = py[i] <= T(0) ? T(0) : gi;  // like torch's threshold_backward: a NaN result passes g
        }
        break;
    }
  });
  return dx;
}

Tensor binary_kernel(BinaryOp op, const Tensor& a, const Tensor& b, const char* name) {
  check_same_dtype(a, b, name);
  const Shape out_shape = a.shape() == b.shape() ? a.shape() : broadcast_shapes(a.shape(), b.shape(), name);
  Tensor out = make_tensor(out_shape, a.dtype());
  dispatch_float(a.dtype(), name, [&](auto z) {
    using T = decltype(z);
    if (a.shape() == b.shape() && a.is_contiguous() && b.is_contiguous()) {
      with_binary<T>(op, [&](auto f) { inner_loop(a.data<T>(), b.data<T>(), out.data<T>(), out.numel(), 1, 1, f); });
    } else {
      with_binary<T>(op, [&](auto f) { binary_loop<T>(out, a, b, name, f); });
    }
  });
  return out;
}

Tensor scalar_kernel(BinaryOp op, const Tensor& a_in, double s, bool scalar_left, const char* name) {
  check_defined(a_in, name);
  const Tensor a = dense(a_in);
  Tensor out = make_tensor(a.shape(), a.dtype());
  dispatch_float(a.dtype(), name, [&](auto z) {
    using T = decltype(z);
    const T v = static_cast<T>(s);
    const T* pa = a.data<T>();
    T* po = out.data<T>();
    with_binary<T>(op, [&](auto f) {
      if (scalar_left) {
        inner_loop(&v, pa, po, a.numel(), 0, 1, f);
      } else {
        inner_loop(pa, &v, po, a.numel(), 1, 0, f);
      }
    });
  });
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

Tensor where_kernel(const Tensor& cond, const Tensor& a, const Tensor& b, const char* name) {
  // where(c, a, b) = b + c' * (a - b) would lose precision and infinities;
  // do it as two broadcasts with a select.
  check_same_dtype(a, b, name);
  check_same_dtype(cond, a, name);
  const Shape ab = broadcast_shapes(a.shape(), b.shape(), name);
  const Shape out_shape = broadcast_shapes(cond.shape(), ab, name);
  Tensor out = make_tensor(out_shape, a.dtype());
  if (out.numel() == 0) return out;
  const Shape sc = broadcast_strides(cond, out_shape), sa = broadcast_strides(a, out_shape),
              sb = broadcast_strides(b, out_shape);
  const auto plan = plan_strided<4>(out_shape, {impl_of(out)->strides.data(), sc.data(), sa.data(), sb.data()}, name);
  dispatch_float(a.dtype(), name, [&](auto z) {
    using T = decltype(z);
    T* po = first_element<T>(out);
    const T *pc = first_element<T>(cond), *pa = first_element<T>(a), *pb = first_element<T>(b);
    for_each_run(plan, [&](std::int64_t, const auto& off, std::int64_t n, const auto& st) {
      for (std::int64_t i = 0; i < n; ++i)
        po[off[0] + i * st[0]] = pc[off[1] + i * st[1]] != T(0) ? pa[off[2] + i * st[2]] : pb[off[3] + i * st[3]];
    });
  });
  return out;
}

namespace {
template <class F>
void inplace_binary(Tensor& a, const Tensor& b, const char* name, F f) {
  check_same_dtype(a, b, name);
  XG_CHECK(broadcast_shapes(a.shape(), b.shape(), name) == a.shape(), name, "cannot broadcast ", b.shape(),
           " into the in-place target ", a.shape());
  dispatch_float(a.dtype(), name, [&](auto z) {
    using T = decltype(z);
    binary_loop<T>(a, a, b, name, [&](T x, T y) { return f(x, y); });
  });
}
}  // namespace

void add_inplace_kernel(Tensor& a, const Tensor& b, double alpha, const char* name) {
  if (alpha == 1.0) {
    inplace_binary(a, b, name, [](auto x, auto y) { return x + y; });
  } else {
    inplace_binary(a, b, name, [alpha](auto x, auto y) { return x + static_cast<decltype(x)>(alpha) * y; });
  }
}
void mul_inplace_kernel(Tensor& a, const Tensor& b, const char* name) {
  inplace_binary(a, b, name, [](auto x, auto y) { return x * y; });
}
void div_inplace_kernel(Tensor& a, const Tensor& b, const char* name) {
  inplace_binary(a, b, name, [](auto x, auto y) { return x / y; });
}

void scalar_inplace_kernel(Tensor& a, double mul, double add) {
  if (a.numel() == 0) return;
  const auto plan = plan_strided<1>(a.shape(), {impl_of(a)->strides.data()}, "fill_");
  dispatch_all(a.dtype(), [&](auto z) {
    using T = decltype(z);
    T* base = first_element<T>(a);
    const T m = static_cast<T>(mul), c = static_cast<T>(add);
    for_each_run(plan, [&](std::int64_t, const auto& off, std::int64_t n, const auto& st) {
      T* p = base + off[0];
      const std::int64_t s = st[0];
      if (mul == 0.0) {
        for (std::int64_t i = 0; i < n; ++i) p[i * s] = c;  // fill_/zero_ also clear NaNs
      } else {
        for (std::int64_t i = 0; i < n; ++i) p[i * s] = p[i * s] * m + c;
      }
    });
  });
}

}  // namespace xg::detail
