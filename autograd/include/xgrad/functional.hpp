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
/// J·v of f at inputs (v: one tensor per input). By forward mode
/// (forward_ad.hpp): one pass of f on dual tensors, no graph kept. With
/// create_graph, or inside an open DualLevel, by the double-vjp trick
/// J v = ∂/∂u (uᵀ J) · v instead (forward-mode tangents are first order).
VjpResult jvp(const Fn& f, const TensorList& inputs, const TensorList& v, bool create_graph = false);

/// The Jacobian of the single output of f with respect to each input:
/// shape output.shape + input.shape. jacrev builds it a row at a time (one
/// backward per output element), jacfwd a column at a time (one forward-mode
/// pass per input element); jacobian picks whichever makes fewer passes
/// (jacfwd when the inputs have fewer elements than the output, unless
/// create_graph asks for a differentiable result, which only jacrev gives).
TensorList jacobian(const ScalarFn& f, const TensorList& inputs, bool create_graph = false);
TensorList jacrev(const ScalarFn& f, const TensorList& inputs, bool create_graph = false);
TensorList jacfwd(const ScalarFn& f, const TensorList& inputs);

/// Hessian of a scalar function of one tensor x: shape x.shape + x.shape.
/// Forward over reverse: one pass of f and its backward on dual tensors
/// per element of x gives a column H·eᵢ, no graph of the gradient kept.
Tensor hessian(const std::function<Tensor(const Tensor&)>& f, const Tensor& x);
/// The same by reverse over reverse (the gradient's graph, then one backward
/// through it per element of x); kept for comparison (bench_functional) and
/// for a differentiable Hessian.
Tensor hessian_reverse(const std::function<Tensor(const Tensor&)>& f, const Tensor& x, bool create_graph = false);
/// H·v of a scalar function of one tensor, without forming H: forward over
/// reverse (one pass of f and its backward on dual tensors); with
/// create_graph, reverse over reverse (differentiable again).
Tensor hvp(const std::function<Tensor(const Tensor&)>& f, const Tensor& x, const Tensor& v, bool create_graph = false);

}  // namespace xg::functional
