// Elementwise ops: validate, compute, record the backward right beside it.
// Backward formulas are Tensor ops, so they are differentiable themselves
// (create_graph, gradgradcheck). Broadcast inputs get sum_to(grad, shape).
//
// Note [Type promotion]
// Operands of different dtypes meet in promote_types(a, b): bool < int32 <
// int64 < float32 < float64, the larger wins, so an integer or a bool mask
// meets a float in the float and int32 meets int64 in int64 (libtorch's
// rule). One exception: float32 with float64 is an error, as it always was
// in xgrad — a silent upcast of a float32 model to float64 halves its speed
// and is hard to find, so the user converts with to(). Integer division is
// true division (float32, libtorch's default float); floor_divide keeps
// integers. A scalar is a whole number or not: integers stay integral with a
// whole one and become float32 otherwise; a bool tensor with a whole one
// becomes int64. Comparisons give bool. An integer or bool operand never
// requires grad, so a mixed op's gradient flows to its float operand only.
#include <cmath>
#include <limits>

#include "kernels.hpp"
#include "elementwise_primitive.hpp"
#include "op_samples.hpp"
#include "vmap.hpp"

namespace xg {

using detail::BinaryOp;
using detail::needs_grad;
using detail::UnaryOp;

namespace {
/// The gradient for input i, or undefined when input i needs none.
template <class F>
Tensor if_needed(const Node& self, std::size_t i, F f) {
  return self.needs_input_grad(i) ? f() : Tensor();
}
}  // namespace

// ---------------------------------------------------------------- binary
// Binary primitives (Note [Elementwise primitives] in elementwise_primitive.hpp):
// the kernel, what the gradients read, and the gradients before sum_to.
namespace {
using detail::kReadsA;
using detail::kReadsB;
using detail::kReadsNone;
using detail::kReadsY;
using O = detail::Operands;

XG_BINARY_PRIMITIVE(AddPrim, "add", "AddBackward", Add, kReadsNone, kReadsNone)
inline Tensor AddPrim::da(const Tensor& g, const O&) { return g; }
inline Tensor AddPrim::db(const Tensor& g, const O&) { return g; }
XG_BINARY_PRIMITIVE(SubPrim, "sub", "SubBackward", Sub, kReadsNone, kReadsNone)
inline Tensor SubPrim::da(const Tensor& g, const O&) { return g; }
inline Tensor SubPrim::db(const Tensor& g, const O&) { return -g; }
XG_BINARY_PRIMITIVE(MulPrim, "mul", "MulBackward", Mul, kReadsB, kReadsA)
inline Tensor MulPrim::da(const Tensor& g, const O& o) { return g * o.b; }
inline Tensor MulPrim::db(const Tensor& g, const O& o) { return g * o.a; }
XG_BINARY_PRIMITIVE(DivPrim, "div", "DivBackward", Div, kReadsB, kReadsA | kReadsB)
inline Tensor DivPrim::da(const Tensor& g, const O& o) { return g / o.b; }
inline Tensor DivPrim::db(const Tensor& g, const O& o) { return -g * o.a / (o.b * o.b); }
XG_BINARY_PRIMITIVE(PowPrim, "pow", "PowBackward", Pow, kReadsA | kReadsB, kReadsA | kReadsB | kReadsY)
inline Tensor PowPrim::da(const Tensor& g, const O& o) { return g * o.b * pow(o.a, o.b - 1.0); }
inline Tensor PowPrim::db(const Tensor& g, const O& o) {
  // d(a^b)/db = a^b ln a, taken as 0 where a = 0 and b >= 0 (the limit), like torch.
  const Tensor at_zero = eq(o.a, 0.0) * ge(o.b, 0.0);
  return g * o.y * log(where(at_zero, ones_like(o.a), o.a));
}
/// max/min: the gradient goes to the winner, split evenly on ties.
Tensor a_wins(const O& o, const Tensor& g, bool is_max) {
  const Tensor a = o.a.detach(), b = o.b.detach();
  return (is_max ? gt(a, b) : lt(a, b)).to(g.dtype()) + eq(a, b).to(g.dtype()) * 0.5;
}
XG_BINARY_PRIMITIVE(MaximumPrim, "maximum", "MaximumBackward", Max, kReadsA | kReadsB, kReadsA | kReadsB)
inline Tensor MaximumPrim::da(const Tensor& g, const O& o) { return g * a_wins(o, g, true); }
inline Tensor MaximumPrim::db(const Tensor& g, const O& o) { return g * (1.0 - a_wins(o, g, true)); }
XG_BINARY_PRIMITIVE(MinimumPrim, "minimum", "MinimumBackward", Min, kReadsA | kReadsB, kReadsA | kReadsB)
inline Tensor MinimumPrim::da(const Tensor& g, const O& o) { return g * a_wins(o, g, false); }
inline Tensor MinimumPrim::db(const Tensor& g, const O& o) { return g * (1.0 - a_wins(o, g, false)); }
XG_BINARY_PRIMITIVE(RemainderPrim, "remainder", "RemainderBackward", Remainder, kReadsNone, kReadsA | kReadsB)
inline Tensor RemainderPrim::da(const Tensor& g, const O&) { return g; }
inline Tensor RemainderPrim::db(const Tensor& g, const O& o) { return -g * floor_divide(o.a.detach(), o.b.detach()); }
XG_BINARY_PRIMITIVE(Atan2Prim, "atan2", "Atan2Backward", Atan2, kReadsA | kReadsB, kReadsA | kReadsB)
inline Tensor Atan2Prim::da(const Tensor& g, const O& o) { return g * o.b / (o.a * o.a + o.b * o.b); }
inline Tensor Atan2Prim::db(const Tensor& g, const O& o) { return -g * o.a / (o.a * o.a + o.b * o.b); }
}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return detail::binary<AddPrim>(a, b); }
Tensor sub(const Tensor& a, const Tensor& b) { return detail::binary<SubPrim>(a, b); }
Tensor mul(const Tensor& a, const Tensor& b) { return detail::binary<MulPrim>(a, b); }
Tensor div(const Tensor& a, const Tensor& b) { return detail::binary<DivPrim>(a, b); }
Tensor pow(const Tensor& a, const Tensor& b) { return detail::binary<PowPrim>(a, b); }
Tensor maximum(const Tensor& a, const Tensor& b) { return detail::binary<MaximumPrim>(a, b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return detail::binary<MinimumPrim>(a, b); }
Tensor remainder(const Tensor& a, const Tensor& b) { return detail::binary<RemainderPrim>(a, b); }
Tensor atan2(const Tensor& a, const Tensor& b) {
  XG_BATCHED_BROADCAST("atan2", atan2(p[0], p[1]), a, b)
  detail::check_defined(a, "atan2");
  detail::check_defined(b, "atan2");
  // An angle is never an integer: integer operands go to float (torch does the same).
  const Dtype f = is_floating(a.dtype()) ? a.dtype() : is_floating(b.dtype()) ? b.dtype() : Dtype::Float32;
  return detail::binary<Atan2Prim>(is_floating(a.dtype()) ? a : a.to(f), is_floating(b.dtype()) ? b : b.to(f));
}

// ---------------------------------------------------------------- with a scalar

Tensor add(const Tensor& a, double s) {
  XG_BATCHED_UNARY("add", a, add(p, s))
  Tensor y = detail::scalar_kernel(BinaryOp::Add, a, s, false, "add");
  detail::linear_tangent(y, a, [](const Tensor& t) { return t; });
  if (needs_grad(a)) make_node(y, "AddScalarBackward", [](const Tensor& g, Node&) -> TensorList { return {g}; }, a);
  return y;
}

Tensor sub(const Tensor& a, double s) {
  XG_BATCHED_UNARY("sub", a, sub(p, s))
  Tensor y = detail::scalar_kernel(BinaryOp::Sub, a, s, false, "sub");
  detail::linear_tangent(y, a, [](const Tensor& t) { return t; });
  if (needs_grad(a)) make_node(y, "SubScalarBackward", [](const Tensor& g, Node&) -> TensorList { return {g}; }, a);
  return y;
}

Tensor sub(double s, const Tensor& a) {
  XG_BATCHED_UNARY("sub", a, sub(s, p))
  Tensor y = detail::scalar_kernel(BinaryOp::Sub, a, s, true, "sub");
  detail::linear_tangent(y, a, [](const Tensor& t) { return neg(t); });
  if (needs_grad(a)) make_node(y, "RsubScalarBackward", [](const Tensor& g, Node&) -> TensorList { return {-g}; }, a);
  return y;
}

Tensor mul(const Tensor& a, double s) {
  XG_BATCHED_UNARY("mul", a, mul(p, s))
  Tensor y = detail::scalar_kernel(BinaryOp::Mul, a, s, false, "mul");
  detail::linear_tangent(y, a, [s](const Tensor& t) { return t * s; });
  if (needs_grad(a)) make_node(y, "MulScalarBackward", [s](const Tensor& g, Node&) -> TensorList { return {g * s}; }, a);
  return y;
}

Tensor div(const Tensor& a, double s) {
  XG_BATCHED_UNARY("div", a, div(p, s))
  Tensor y = detail::scalar_kernel(BinaryOp::Div, a, s, false, "div");
  detail::linear_tangent(y, a, [s](const Tensor& t) { return t / s; });
  if (needs_grad(a)) make_node(y, "DivScalarBackward", [s](const Tensor& g, Node&) -> TensorList { return {g / s}; }, a);
  return y;
}

Tensor div(double s, const Tensor& a) {
  XG_BATCHED_UNARY("div", a, div(s, p))
  Tensor y = detail::scalar_kernel(BinaryOp::Div, a, s, true, "div");
  if (needs_grad(a)) {
    make_node(y, "RdivScalarBackward", [sa = SavedTensor(a, false), sy = SavedTensor(y, true)](const Tensor& g, Node& self) -> TensorList {
      return {-g * sy.unpack(self) / sa.unpack(self)};
    }, a);
  }
  return y;
}

Tensor pow(const Tensor& a, double exponent) {
  XG_BATCHED_UNARY("pow", a, pow(p, exponent))
  Tensor y = exponent == 2.0 ? detail::unary_kernel(UnaryOp::Square, a, "pow")
                             : detail::scalar_kernel(BinaryOp::Pow, a, exponent, false, "pow");
  if (needs_grad(a)) {
    make_node(y, "PowScalarBackward", [p = exponent, sa = SavedTensor(a, false)](const Tensor& g, Node& self) -> TensorList {
      if (p == 0.0) return {zeros_like(g)};
      const Tensor a_ = sa.unpack(self);
      return {p == 1.0 ? g : p == 2.0 ? g * a_ * 2.0 : g * pow(a_, p - 1.0) * p};
    }, a);
  }
  return y;
}

Tensor pow(double s, const Tensor& a) {
  XG_BATCHED_UNARY("pow", a, pow(s, p))
  Tensor y = detail::scalar_kernel(BinaryOp::Pow, a, s, true, "pow");
  if (needs_grad(a)) {
    make_node(y, "RpowScalarBackward", [s, sy = SavedTensor(y, true)](const Tensor& g, Node& self) -> TensorList {
      return {g * sy.unpack(self) * std::log(s)};
    }, a);
  }
  return y;
}

// ---------------------------------------------------------------- unary

Tensor neg(const Tensor& x) {
  XG_BATCHED_UNARY("neg", x, neg(p))
  detail::check_defined(x, "neg");
  XG_CHECK(x.dtype() != Dtype::Bool, "neg", "is not defined for bool tensors (use logical_not)");
  if (!is_floating(x.dtype())) return detail::scalar_kernel(BinaryOp::Sub, x, 0.0, true, "neg");  // integers: 0 − x
  Tensor y = detail::unary_kernel(UnaryOp::Neg, x, "neg");
  detail::linear_tangent(y, x, [](const Tensor& t) { return neg(t); });
  if (needs_grad(x)) make_node(y, "NegBackward", [](const Tensor& g, Node&) -> TensorList { return {-g}; }, x);
  return y;
}

// Unary primitives (Note [Elementwise primitives] in elementwise_primitive.hpp).
namespace {
XG_PRIMITIVE(ExpPrim, "exp", "ExpBackward", Exp, Output, false)
inline Tensor ExpPrim::grad(const Tensor& g, const Tensor& y) { return g * y; }
XG_PRIMITIVE(Expm1Prim, "expm1", "Expm1Backward", Expm1, Output, false)
inline Tensor Expm1Prim::grad(const Tensor& g, const Tensor& y) { return g * (y + 1.0); }
XG_PRIMITIVE(LogPrim, "log", "LogBackward", Log, Input, false)
inline Tensor LogPrim::grad(const Tensor& g, const Tensor& x) { return g / x; }
XG_PRIMITIVE(Log1pPrim, "log1p", "Log1pBackward", Log1p, Input, false)
inline Tensor Log1pPrim::grad(const Tensor& g, const Tensor& x) { return g / (x + 1.0); }
XG_PRIMITIVE(SqrtPrim, "sqrt", "SqrtBackward", Sqrt, Output, false)
inline Tensor SqrtPrim::grad(const Tensor& g, const Tensor& y) { return g / (y * 2.0); }
XG_PRIMITIVE(RsqrtPrim, "rsqrt", "RsqrtBackward", Rsqrt, Output, false)
inline Tensor RsqrtPrim::grad(const Tensor& g, const Tensor& y) { return g * y * y * y * -0.5; }
XG_PRIMITIVE(SinPrim, "sin", "SinBackward", Sin, Input, false)
inline Tensor SinPrim::grad(const Tensor& g, const Tensor& x) { return g * cos(x); }
XG_PRIMITIVE(CosPrim, "cos", "CosBackward", Cos, Input, false)
inline Tensor CosPrim::grad(const Tensor& g, const Tensor& x) { return -g * sin(x); }
XG_PRIMITIVE(TanPrim, "tan", "TanBackward", Tan, Output, false)
inline Tensor TanPrim::grad(const Tensor& g, const Tensor& y) { return g * (1.0 + y * y); }
XG_PRIMITIVE(AsinPrim, "asin", "AsinBackward", Asin, Input, false)
inline Tensor AsinPrim::grad(const Tensor& g, const Tensor& x) { return g * rsqrt(1.0 - x * x); }
XG_PRIMITIVE(AcosPrim, "acos", "AcosBackward", Acos, Input, false)
inline Tensor AcosPrim::grad(const Tensor& g, const Tensor& x) { return -g * rsqrt(1.0 - x * x); }
XG_PRIMITIVE(AtanPrim, "atan", "AtanBackward", Atan, Input, false)
inline Tensor AtanPrim::grad(const Tensor& g, const Tensor& x) { return g / (1.0 + x * x); }
XG_PRIMITIVE(SinhPrim, "sinh", "SinhBackward", Sinh, Input, false)
inline Tensor SinhPrim::grad(const Tensor& g, const Tensor& x) { return g * cosh(x); }
XG_PRIMITIVE(CoshPrim, "cosh", "CoshBackward", Cosh, Input, false)
inline Tensor CoshPrim::grad(const Tensor& g, const Tensor& x) { return g * sinh(x); }
XG_PRIMITIVE(ReciprocalPrim, "reciprocal", "ReciprocalBackward", Reciprocal, Output, false)
inline Tensor ReciprocalPrim::grad(const Tensor& g, const Tensor& y) { return -g * y * y; }
XG_PRIMITIVE(TanhPrim, "tanh", "TanhBackward", Tanh, Output, true)
inline Tensor TanhPrim::grad(const Tensor& g, const Tensor& y) { return g * (1.0 - y * y); }
XG_PRIMITIVE(SigmoidPrim, "sigmoid", "SigmoidBackward", Sigmoid, Output, true)
inline Tensor SigmoidPrim::grad(const Tensor& g, const Tensor& y) { return g * y * (1.0 - y); }
XG_PRIMITIVE(ReluPrim, "relu", "ReluBackward", Relu, Output, true)
inline Tensor ReluPrim::grad(const Tensor& g, const Tensor& y) { return g * gt(y.detach(), 0.0); }
}  // namespace

Tensor exp(const Tensor& x) { return detail::unary<ExpPrim>(x); }
Tensor expm1(const Tensor& x) { return detail::unary<Expm1Prim>(x); }
Tensor log(const Tensor& x) { return detail::unary<LogPrim>(x); }
Tensor log1p(const Tensor& x) { return detail::unary<Log1pPrim>(x); }
Tensor sqrt(const Tensor& x) { return detail::unary<SqrtPrim>(x); }
Tensor rsqrt(const Tensor& x) { return detail::unary<RsqrtPrim>(x); }
Tensor sin(const Tensor& x) { return detail::unary<SinPrim>(x); }
Tensor tan(const Tensor& x) { return detail::unary<TanPrim>(x); }
Tensor asin(const Tensor& x) { return detail::unary<AsinPrim>(x); }
Tensor acos(const Tensor& x) { return detail::unary<AcosPrim>(x); }
Tensor atan(const Tensor& x) { return detail::unary<AtanPrim>(x); }
Tensor sinh(const Tensor& x) { return detail::unary<SinhPrim>(x); }
Tensor cosh(const Tensor& x) { return detail::unary<CoshPrim>(x); }
Tensor reciprocal(const Tensor& x) { return detail::unary<ReciprocalPrim>(x); }
Tensor cos(const Tensor& x) { return detail::unary<CosPrim>(x); }
Tensor tanh(const Tensor& x) { return detail::unary<TanhPrim>(x); }
Tensor sigmoid(const Tensor& x) { return detail::unary<SigmoidPrim>(x); }
Tensor relu(const Tensor& x) { return detail::unary<ReluPrim>(x); }

Tensor abs(const Tensor& x) {
  XG_BATCHED_UNARY("abs", x, abs(p))
  detail::check_defined(x, "abs");
  if (!is_floating(x.dtype())) return where(lt(x, 0.0), neg(x), x);  // integers
  Tensor y = detail::unary_kernel(UnaryOp::Abs, x, "abs");
  if (needs_grad(x)) {
    make_node(y, "AbsBackward", [sx = SavedTensor(x, false)](const Tensor& g, Node& self) -> TensorList {
      return {g * sign(sx.unpack(self).detach())};
    }, x);
  }
  return y;
}

Tensor square(const Tensor& x) { return pow(x, 2.0); }

Tensor clamp(const Tensor& x, double lo, double hi) {
  XG_BATCHED_UNARY("clamp", x, clamp(p, lo, hi))
  XG_CHECK(!(lo > hi), "clamp", "min ", lo, " is greater than max ", hi);
  Tensor y = detail::clamp_kernel(x, lo, hi, "clamp");
  if (needs_grad(x)) {
    make_node(y, "ClampBackward", [lo, hi, sx = SavedTensor(x, false)](const Tensor& g, Node& self) -> TensorList {
      return {g * detail::in_range_mask(sx.unpack(self), lo, hi)};
    }, x);
  }
  return y;
}

Tensor clamp_min(const Tensor& x, double lo) { return clamp(x, lo, std::numeric_limits<double>::infinity()); }
Tensor clamp_max(const Tensor& x, double hi) { return clamp(x, -std::numeric_limits<double>::infinity(), hi); }

namespace {
// Step functions: the gradient is 0 almost everywhere (torch gives 0 too);
// integer tensors are already whole, so they come back as a copy.
Tensor step_function(const Tensor& x, UnaryOp op, const char* name, const char* node) {
  XG_BATCHED_UNARY(name, x, step_function(p, op, name, node))
  detail::check_defined(x, name);
  if (!is_floating(x.dtype()) && op != UnaryOp::Sign) return x.clone();
  Tensor y = detail::unary_kernel(op, x, name);
  if (needs_grad(x)) make_node(y, node, [](const Tensor& g, Node&) -> TensorList { return {zeros_like(g)}; }, x);
  return y;
}
}  // namespace

Tensor sign(const Tensor& x) { return step_function(x, UnaryOp::Sign, "sign", "SignBackward"); }
Tensor floor(const Tensor& x) { return step_function(x, UnaryOp::Floor, "floor", "FloorBackward"); }
Tensor ceil(const Tensor& x) { return step_function(x, UnaryOp::Ceil, "ceil", "CeilBackward"); }
Tensor round(const Tensor& x) { return step_function(x, UnaryOp::Round, "round", "RoundBackward"); }
Tensor trunc(const Tensor& x) { return step_function(x, UnaryOp::Trunc, "trunc", "TruncBackward"); }

// ---------------------------------------------------------------- integer division

Tensor floor_divide(const Tensor& a, const Tensor& b) {
  XG_BATCHED_BROADCAST("floor_divide", floor_divide(p[0], p[1]), a, b)
  return detail::binary_kernel(BinaryOp::FloorDiv, a, b, "floor_divide");
}
Tensor floor_divide(const Tensor& a, double s) {
  XG_BATCHED_UNARY("floor_divide", a, floor_divide(p, s))
  return detail::scalar_kernel(BinaryOp::FloorDiv, a, s, false, "floor_divide");
}

Tensor remainder(const Tensor& a, double s) {
  XG_BATCHED_UNARY("remainder", a, remainder(p, s))
  Tensor y = detail::scalar_kernel(BinaryOp::Remainder, a, s, false, "remainder");
  detail::linear_tangent(y, a, [](const Tensor& t) { return t; });
  if (needs_grad(a)) make_node(y, "RemainderScalarBackward", [](const Tensor& g, Node&) -> TensorList { return {g}; }, a);
  return y;
}

// ---------------------------------------------------------------- comparisons and logic (no gradient)

#define XG_COMPARISON(fn, OP)                                     \
  Tensor fn(const Tensor& a, const Tensor& b) {                   \
    XG_BATCHED_BROADCAST(#fn, fn(p[0], p[1]), a, b)               \
    return detail::binary_kernel(BinaryOp::OP, a, b, #fn);        \
  }                                                               \
  Tensor fn(const Tensor& a, double s) {                          \
    XG_BATCHED_UNARY(#fn, a, fn(p, s))                            \
    return detail::scalar_kernel(BinaryOp::OP, a, s, false, #fn); \
  }
XG_COMPARISON(eq, Eq)
XG_COMPARISON(ne, Ne)
XG_COMPARISON(lt, Lt)
XG_COMPARISON(le, Le)
XG_COMPARISON(gt, Gt)
XG_COMPARISON(ge, Ge)
#undef XG_COMPARISON

Tensor logical_not(const Tensor& x) { return eq(x, 0.0); }
Tensor logical_and(const Tensor& a, const Tensor& b) { return mul(ne(a, 0.0), ne(b, 0.0)); }
Tensor logical_or(const Tensor& a, const Tensor& b) { return add(ne(a, 0.0), ne(b, 0.0)); }
Tensor logical_xor(const Tensor& a, const Tensor& b) { return ne(ne(a, 0.0), ne(b, 0.0)); }

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  XG_BATCHED_BROADCAST("where", where(p[0], p[1], p[2]), cond, a, b)
  Tensor y = detail::where_kernel(cond, a, b, "where");
  if (needs_grad(a, b)) {
    make_node(y, "WhereBackward", [sc = SavedTensor(cond.detach(), false), sa = a.shape(), sb = b.shape()](
                                   const Tensor& g, Node& self) -> TensorList {
      const Tensor c = sc.unpack(self);
      const Tensor zero = zeros(Shape{}, g.dtype());
      return {if_needed(self, 0, [&] { return sum_to(where(c, g, zero), sa); }),
              if_needed(self, 1, [&] { return sum_to(where(c, zero, g), sb); })};
    }, a, b);
  }
  return y;
}


// ---------------------------------------------------------------- gradient-check samples
// This family's rows of the op registry (op_registry.hpp): every op above on
// several shapes, in float64. A row's name starts with the op it checks, so
// the coverage test can tell when an op in the public headers has none.
namespace detail {
std::vector<OpSample> samples_elementwise() {
  using L = const TensorList&;
  using Domain = OpSample::Domain;
  std::vector<OpSample> c;
  const Shape s0{}, s3{3}, s23{2, 3}, s13{1, 3}, s21{2, 1}, s234{2, 3, 4}, s31{3, 1};
  auto binary = [&](const std::string& name, std::function<Tensor(L)> f, Domain d = Domain::Any) {
    c.push_back({name + " same", f, {s23, s23}, d});
    c.push_back({name + " row-broadcast", f, {s23, s3}, d});
    c.push_back({name + " both-broadcast", f, {s21, s13}, d});
    c.push_back({name + " 3d+scalar", f, {s234, s0}, d});
    c.push_back({name + " 3d broadcast", f, {s31, s234}, d});
  };
  binary("add", [](L x) { return x[0] + x[1]; });
  // x / 0.7 keeps the quotients away from the integers where remainder jumps.
  c.push_back({"remainder", [](L x) { return remainder(x[0], x[1] * 0.7 + 3.0); }, {s23, s3}});
  c.push_back({"remainder scalar", [](L x) { return remainder(x[0] * 3.0, 1.3); }, {s234}});
  binary("sub", [](L x) { return x[0] - x[1]; });
  binary("mul", [](L x) { return x[0] * x[1]; });
  binary("div", [](L x) { return x[0] / x[1]; }, Domain::Positive);
  binary("pow", [](L x) { return pow(x[0], x[1]); }, Domain::Positive);
  binary("maximum", [](L x) { return maximum(x[0], x[1]); });
  binary("minimum", [](L x) { return minimum(x[0], x[1]); });
  binary("atan2", [](L x) { return atan2(x[0], x[1]); }, Domain::AwayFromZero);

  auto unary = [&](const std::string& name, std::function<Tensor(L)> f, Domain d = Domain::Any) {
    c.push_back({name + " 0-d", f, {s0}, d});
    c.push_back({name + " 1-d", f, {s3}, d});
    c.push_back({name + " 3-d", f, {s234}, d});
  };
  unary("neg", [](L x) { return -x[0]; });
  unary("exp", [](L x) { return exp(x[0]); });
  unary("expm1", [](L x) { return expm1(x[0]); });
  unary("log1p", [](L x) { return log1p(x[0]); }, Domain::Positive);
  unary("rsqrt", [](L x) { return rsqrt(x[0]); }, Domain::Positive);
  unary("log", [](L x) { return log(x[0]); }, Domain::Positive);
  unary("sqrt", [](L x) { return sqrt(x[0]); }, Domain::Positive);
  unary("abs", [](L x) { return abs(x[0]); }, Domain::AwayFromZero);
  unary("sin", [](L x) { return sin(x[0]); });
  unary("cos", [](L x) { return cos(x[0]); });
  unary("tanh", [](L x) { return tanh(x[0]); });
  // tanh(x)·k keeps the inputs inside the domain (|x| < 1, |x| < π/2) for any draw.
  unary("tan", [](L x) { return tan(tanh(x[0]) * 1.3); });
  unary("asin", [](L x) { return asin(tanh(x[0]) * 0.9); });
  unary("acos", [](L x) { return acos(tanh(x[0]) * 0.9); });
  unary("atan", [](L x) { return atan(x[0] * 2.0); });
  unary("sinh", [](L x) { return sinh(x[0]); });
  unary("cosh", [](L x) { return cosh(x[0]); });
  unary("reciprocal", [](L x) { return reciprocal(x[0]); }, Domain::AwayFromZero);
  unary("sigmoid", [](L x) { return sigmoid(x[0]); });
  unary("relu", [](L x) { return relu(x[0]); }, Domain::AwayFromZero);
  unary("square", [](L x) { return square(x[0]); });
  unary("clamp", [](L x) { return clamp(x[0], -0.8, 0.7); });
  unary("add scalar", [](L x) { return x[0] + 2.0; });
  unary("sub scalar-left", [](L x) { return 2.0 - x[0]; });
  unary("mul scalar", [](L x) { return x[0] * -3.0; });
  unary("div scalar", [](L x) { return x[0] / 4.0; });
  unary("div scalar-left", [](L x) { return 2.0 / x[0]; }, Domain::Positive);
  unary("pow 3", [](L x) { return pow(x[0], 3.0); });
  unary("pow 2", [](L x) { return pow(x[0], 2.0); });
  unary("pow -1.5", [](L x) { return pow(x[0], -1.5); }, Domain::Positive);
  unary("pow scalar-base", [](L x) { return pow(1.7, x[0]); });
  unary("clone", [](L x) { return x[0].clone(); });
  c.push_back({"where", [](L x) { return where(gt(x[0], 0.0), x[1], x[2]); }, {s23, s3, s21}});

  c.push_back({"clamp_min", [](L x) { return clamp_min(x[0], -0.3); }, {s234}, Domain::AwayFromZero});
  c.push_back({"clamp_max", [](L x) { return clamp_max(x[0], 0.4); }, {s234}, Domain::AwayFromZero});
  return c;
}
}  // namespace detail

}  // namespace xg
