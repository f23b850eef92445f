#pragma once
// Note [Elementwise primitives]
// A unary primitive is data: the name the user called, its kernel (an entry
// of the SIMD table, Note [SIMD dispatch]), which value its backward keeps
// (the input or the output, whichever the formula needs), and its gradient
// as a differentiable formula of (g, kept). unary<P> validates, runs the
// kernel and records the node; with `fused`, the backward runs one SIMD pass
// unless create_graph asks for the formula. A new primitive is one struct
// (XG_PRIMITIVE) and its grad; ops_elementwise.cpp and ops_activation.cpp
// hold them.
#include "kernels.hpp"

namespace xg::detail {

enum class Keep { Input, Output };

template <class P>
Tensor unary(const Tensor& x) {
  Tensor y = unary_kernel(P::kernel, x, P::name);
  if (needs_grad(x)) {
    constexpr bool keep_output = P::keep == Keep::Output;
    make_node(y, P::node, [kept = SavedTensor(keep_output ? y : x, keep_output)](const Tensor& g, Node& self) -> TensorList {
      const Tensor v = kept.unpack(self);
      if constexpr (P::fused) {
        if (!GradMode::is_enabled()) return {fused_unary_backward(P::kernel, g, v)};
      }
      return {P::grad(g, v)};
    }, x);
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
