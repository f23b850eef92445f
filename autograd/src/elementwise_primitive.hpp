#pragma once
// Note [Elementwise primitives]
// An elementwise primitive is data: the name the user called, its kernel (an
// entry of the SIMD table, Note [SIMD dispatch]), which values its backward
// keeps, and its gradient as a differentiable formula. unary<P> and
// binary<P> validate (in the kernel, under P::name), compute and record the
// node; nothing else is written per op.
//
// Unary: P keeps the input or the output, whichever grad(g, kept) needs;
// with `fused`, the backward runs one SIMD pass unless create_graph asks for
// the formula. Binary: da(g, o) and db(g, o) read the operands o.a, o.b and
// the result o.y; P::da_reads / db_reads say which, so a node keeps only
// what the gradients it will compute read (mul keeps b for da only when a
// needs one). binary<P> sums each gradient back to its operand's shape
// (the gradient of a broadcast is a sum). A new primitive is one
// XG_PRIMITIVE / XG_BINARY_PRIMITIVE line and its formulas; the ops live in
// ops_elementwise.cpp and ops_activation.cpp.
#include "kernels.hpp"
#include "vmap.hpp"

namespace xg::detail {

enum class Keep { Input, Output };

template <class P>
Tensor unary(const Tensor& x) {
  if (vmapping())
    if (auto r = batch_rule(P::name, {x}, [](const BatchArgs& a) { return unary<P>(a.x[0]); })) return *r;
  Tensor y = unary_kernel(P::kernel, x, P::name);
  constexpr bool keep_output = P::keep == Keep::Output;
  if (has_tangent(x)) {
    // The Jacobian is diagonal, so J·t is the gradient formula applied to t.
    const Tensor t = tangent_of(x);
    set_tangent_by(y, [&] {
      const Tensor& v = keep_output ? y : x;
      if constexpr (P::fused) return fused_unary_backward(P::kernel, t, v);
      return P::grad(t, v);
    });
  }
  if (needs_grad(x)) {
    make_node(y, P::node, [kept = SavedTensor(keep_output ? y : x, keep_output)](const Tensor& g, Node& self) -> TensorList {
      const Tensor v = kept.unpack(self);
      if constexpr (P::fused) {
        if (plain_backward(g, v)) return {fused_unary_backward(P::kernel, g, v)};
      }
      return {P::grad(g, v)};
    }, x);
  }
  return y;
}

/// What a binary primitive's gradient formulas read (a bit set).
enum Reads : unsigned { kReadsNone = 0, kReadsA = 1, kReadsB = 2, kReadsY = 4 };
/// The kept operands and result (undefined where no formula that runs reads them).
struct Operands {
  Tensor a, b, y;
};

template <class P>
Tensor binary(const Tensor& a, const Tensor& b) {
  if (vmapping())
    if (auto r = batch_rule(P::name, {a, b}, broadcasting([](const TensorList& p) { return binary<P>(p[0], p[1]); })))
      return *r;
  Tensor y = binary_kernel(P::kernel, a, b, P::name);
  if (has_tangent(a) || has_tangent(b)) {
    // Each operand's Jacobian is diagonal (up to broadcasting): the gradient
    // formulas applied to the tangents.
    const Tensor ta = tangent_of(a), tb = tangent_of(b);
    set_tangent_by(y, [&] {
      const Operands o{a, b, y};
      Tensor t;
      if (ta.defined()) t = P::da(ta, o);
      if (tb.defined()) t = t.defined() ? t + P::db(tb, o) : P::db(tb, o);
      return t.shape() == y.shape() ? t : t.expand(y.shape());
    });
  }
  if (needs_grad(a, b)) {
    const unsigned reads = (a.requires_grad() || has_tangent(a) ? P::da_reads : 0u) |
                           (b.requires_grad() || has_tangent(b) ? P::db_reads : 0u);
    auto keep = [&](const Tensor& t, unsigned bit) { return SavedTensor(reads & bit ? t : Tensor(), bit == kReadsY); };
    make_node(y, P::node, [sa = a.shape(), sb = b.shape(), ka = keep(a, kReadsA), kb = keep(b, kReadsB),
                           ky = keep(y, kReadsY)](const Tensor& g, Node& self) -> TensorList {
      const Operands o{ka.unpack(self), kb.unpack(self), ky.unpack(self)};
      return {self.needs_input_grad(0) ? sum_to(P::da(g, o), sa) : Tensor(),
              self.needs_input_grad(1) ? sum_to(P::db(g, o), sb) : Tensor()};
    }, a, b);
  }
  return y;
}

}  // namespace xg::detail

#define XG_PRIMITIVE(STRUCT, NAME, NODE, KERNEL, KEEP, FUSED)      \
  struct STRUCT {                                                  \
    static constexpr const char* name = NAME;                      \
    static constexpr const char* node = NODE;                      \
    static constexpr detail::UnaryOp kernel = detail::UnaryOp::KERNEL; \
    static constexpr detail::Keep keep = detail::Keep::KEEP;       \
    static constexpr bool fused = FUSED;                           \
    static Tensor grad(const Tensor& g, const Tensor& v);          \
  };

#define XG_BINARY_PRIMITIVE(STRUCT, NAME, NODE, KERNEL, DA_READS, DB_READS)  \
  struct STRUCT {                                                            \
    static constexpr const char* name = NAME;                                \
    static constexpr const char* node = NODE;                                \
    static constexpr detail::BinaryOp kernel = detail::BinaryOp::KERNEL;     \
    static constexpr unsigned da_reads = DA_READS, db_reads = DB_READS;      \
    static Tensor da(const Tensor& g, const detail::Operands& o);            \
    static Tensor db(const Tensor& g, const detail::Operands& o);            \
  };
