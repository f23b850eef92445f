#pragma once
// Forward-mode automatic differentiation with dual tensors, like
// torch.autograd.forward_ad:
//
//   xg::fwad::DualLevel level;                      // tangents live while it does
//   xg::Tensor x = xg::fwad::make_dual(primal, v);  // x carries the direction v
//   xg::Tensor y = f(x);                            // every op carries tangents forward
//   xg::Tensor jv = xg::fwad::unpack_dual(y).tangent;  // J·v, in one pass
//
// One level at a time (as in PyTorch); tangents are first order and are not
// themselves recorded for reverse mode. Forward over reverse works: a
// backward run on dual tensors gives dual gradients (H·v). In-place ops on a
// dual tensor are an error. Note [Forward mode] in forward_ad.cpp says how
// every op gets its rule.
#include "xgrad/autograd.hpp"

namespace xg::fwad {

/// Opens a dual level for its lifetime; closing it drops every tangent made in it.
class DualLevel {
 public:
  DualLevel();
  ~DualLevel();
  DualLevel(const DualLevel&) = delete;
  DualLevel& operator=(const DualLevel&) = delete;
};

/// A tensor with primal's values (and its history) carrying `tangent`, which
/// must have primal's shape and dtype. Needs an open DualLevel.
Tensor make_dual(const Tensor& primal, const Tensor& tangent);

struct UnpackedDual {
  Tensor primal;   ///< the values, without the tangent
  Tensor tangent;  ///< undefined when t carries none (a zero tangent)
};
UnpackedDual unpack_dual(const Tensor& t);

/// Whether a DualLevel is open on this thread.
bool is_active();

}  // namespace xg::fwad
