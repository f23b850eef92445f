// Elementwise kernels: loops on raw pointers that the compiler vectorises.
//
// Note [Broadcast loops]
// A broadcast binary op walks the output in row-major order. Dims are first
// collapsed where both inputs are contiguous across them, so the common cases
// (same shape, scalar, bias row, column) become one inner loop with each
// input's stride 0 or 1, specialised so the compiler vectorises it.
#include <cmath>

#include "kernels.hpp"

namespace xg::detail {
namespace {

constexpr std::size_t kMaxDims = 16;

struct BroadcastPlan {
  std::size_t ndim = 0;  // collapsed outer dims + the inner one
  std::int64_t size[kMaxDims];
  std::int64_t stride_a[kMaxDims];
  std::int64_t stride_b[kMaxDims];
};

void input_strides(const Shape& in, const Shape& out, std::int64_t* strides) {
  const std::size_t n = out.size(), off = n - in.size();
  std::int64_t s = 1;
  for (std::size_t i = n; i-- > 0;) {
    const std::int64_t d = i < off ? 1 : in[i - off];
    strides[i] = d == 1 ? 0 : s;
    s *= d;
  }
}

BroadcastPlan plan_broadcast(const Shape& a, const Shape& b, const Shape& out, const char* name) {
  XG_CHECK(out.size() <= kMaxDims, name, "at most ", kMaxDims, " dims are supported, got ", out);
  std::int64_t sa[kMaxDims], sb[kMaxDims];
  input_strides(a, out, sa);
  input_strides(b, out, sb);
  BroadcastPlan p;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i] == 1) continue;  // size-1 dims carry nothing
    if (p.ndim > 0) {
      const std::size_t j = p.ndim - 1;
      if (p.stride_a[j] == sa[i] * out[i] && p.stride_b[j] == sb[i] * out[i]) {
        p.size[j] *= out[i];
        p.stride_a[j] = sa[i];
        p.stride_b[j] = sb[i];
        continue;
      }
    }
    p.size[p.ndim] = out[i];
    p.stride_a[p.ndim] = sa[i];
    p.stride_b[p.ndim] = sb[i];
    ++p.ndim;
  }
  if (p.ndim == 0) {
    p.ndim = 1;
    p.size[0] = 1;
    p.stride_a[0] = p.stride_b[0] = 0;
  }
  return p;
}

template <class T, class F>
void inner_loop(const T* a, const T* b, T* out, std::int64_t n, std::int64_t sa, std::int64_t sb, F f) {
  if (sa == 1 && sb == 1) {
    for (std::int64_t i = 0; i < n; ++i) out[i] = f(a[i], b[i]);
  } else if (sa == 1) {
    const T bv = *b;
    for (std::int64_t i = 0; i < n; ++i) out[i] = f(a[i], bv);
  } else if (sb == 1) {
    const T av = *a;
    for (std::int64_t i = 0; i < n; ++i) out[i] = f(av, b[i]);
  } else if (sa == 0 && sb == 0) {
    const T v = f(*a, *b);
    for (std::int64_t i = 0; i < n; ++i) out[i] = v;
  } else {
    for (std::int64_t i = 0; i < n; ++i) out[i] = f(a[i * sa], b[i * sb]);
  }
}

template <class T, class F>
void broadcast_loop(const T* a, const T* b, T* out, const BroadcastPlan& p, F f) {
  const std::size_t inner = p.ndim - 1;
  const std::int64_t n = p.size[inner];
  std::int64_t outer = 1;
  for (std::size_t d = 0; d < inner; ++d) outer *= p.size[d];
  std::int64_t idx[kMaxDims] = {};
  std::int64_t ia = 0, ib = 0;
  for (std::int64_t o = 0; o < outer; ++o) {
    inner_loop(a + ia, b + ib, out + o * n, n, p.stride_a[inner], p.stride_b[inner], f);
    for (std::size_t d = inner; d-- > 0;) {  // odometer over the outer dims
      ia += p.stride_a[d];
      ib += p.stride_b[d];
      if (++idx[d] < p.size[d]) break;
      ia -= p.stride_a[d] * p.size[d];
      ib -= p.stride_b[d] * p.size[d];
      idx[d] = 0;
    }
  }
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

Tensor unary_kernel(UnaryOp op, const Tensor& x, const char* name) {
  check_defined(x, name);
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

Tensor fused_unary_backward(UnaryOp op, const Tensor& g, const Tensor& y) {
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
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* po = out.data<T>();
    if (a.shape() == b.shape()) {
      with_binary<T>(op, [&](auto f) { inner_loop(pa, pb, po, out.numel(), 1, 1, f); });
    } else {
      const BroadcastPlan p = plan_broadcast(a.shape(), b.shape(), out_shape, name);
      with_binary<T>(op, [&](auto f) { broadcast_loop(pa, pb, po, p, f); });
    }
  });
  return out;
}

Tensor scalar_kernel(BinaryOp op, const Tensor& a, double s, bool scalar_left, const char* name) {
  check_defined(a, name);
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

Tensor clamp_kernel(const Tensor& x, double lo, double hi, const char* name) {
  check_defined(x, name);
  Tensor y = make_tensor(x.shape(), x.dtype());
  dispatch_float(x.dtype(), name, [&](auto z) {
    using T = decltype(z);
    const T l = static_cast<T>(lo), h = static_cast<T>(hi);
    unary_loop(x.data<T>(), y.data<T>(), x.numel(), [=](T v) { return v < l ? l : (v > h ? h : v); });
  });
  return y;
}

Tensor in_range_mask(const Tensor& x, double lo, double hi) {
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
  const Tensor ea = a.shape() == out_shape ? a : a.detach().expand(out_shape);
  const Tensor eb = b.shape() == out_shape ? b : b.detach().expand(out_shape);
  const Tensor ec = cond.shape() == out_shape ? cond : cond.detach().expand(out_shape);
  Tensor out = make_tensor(out_shape, a.dtype());
  dispatch_float(a.dtype(), name, [&](auto z) {
    using T = decltype(z);
    const T *pc = ec.data<T>(), *pa = ea.data<T>(), *pb = eb.data<T>();
    T* po = out.data<T>();
    for (std::int64_t i = 0; i < out.numel(); ++i) po[i] = pc[i] != T(0) ? pa[i] : pb[i];
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
    T* pa = a.data<T>();
    const T* pb = b.data<T>();
    auto g = [&](T x, T y) { return f(x, y); };
    if (a.shape() == b.shape()) {
      inner_loop(pa, pb, pa, a.numel(), 1, 1, g);
    } else {
      broadcast_loop(pa, pb, pa, plan_broadcast(a.shape(), b.shape(), a.shape(), name), g);
    }
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
  dispatch_all(a.dtype(), [&](auto z) {
    using T = decltype(z);
    T* p = a.data<T>();
    const T m = static_cast<T>(mul), c = static_cast<T>(add);
    if (mul == 0.0) {
      for (std::int64_t i = 0; i < a.numel(); ++i) p[i] = c;  // fill_/zero_ also clear NaNs
    } else {
      for (std::int64_t i = 0; i < a.numel(); ++i) p[i] = p[i] * m + c;
    }
  });
}

}  // namespace xg::detail
