#pragma once
// Derivatives of functions of tensors (torch.autograd.functional): vjp, jvp,
// jacobian, hessian, hvp. Each evaluates f itself; inputs need not require
// grad. With create_graph the results are differentiable again.
#include <functional>

#include "xgrad/autograd.hpp"

namespace xg::functional {

using Fn = std::function<TensorList(const TensorList&)>;
using ScalarFn = std::function<Tensor(const TensorList&)>;

struct VjpResult {
  TensorList outputs;  ///< f(inputs)
  TensorList vjp;      ///< vᵀ J, one per input
};

/// vᵀ·J of f at inputs (v: one tensor per output).
VjpResult vjp(const Fn& f, const TensorList& inputs, const TensorList& v, bool create_graph = false);
/// J·v of f at inputs (v: one tensor per input), by the double-vjp trick:
/// J v = ∂/∂u (uᵀ J) · v.
VjpResult jvp(const Fn& f, const TensorList& inputs, const TensorList& v, bool create_graph = false);
/// The Jacobian of the single output of f with respect to each input:
/// shape output.shape + input.shape.
TensorList jacobian(const std::function<Tensor(const TensorList&)>& f, const TensorList& inputs,
                    bool create_graph = false);
/// Hessian of a scalar function of one tensor x: shape x.shape + x.shape.
Tensor hessian(const std::function<Tensor(const Tensor&)>& f, const Tensor& x);
/// H·v of a scalar function of one tensor, without forming H.
Tensor hvp(const std::function<Tensor(const Tensor&)>& f, const Tensor& x, const Tensor& v, bool create_graph = false);

}  // namespace xg::functional
