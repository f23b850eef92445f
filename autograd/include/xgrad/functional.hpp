#pragma once
// Derivatives of functions of tensors (torch.autograd.functional): vjp, jvp,
// jacobian, hessian, hvp. Each evaluates f itself; inputs need not require
// grad. With create_graph the results are differentiable again.
#include <functional>
#include <optional>
#include <string>

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

/// How hessian builds H (torch.autograd.functional.hessian's outer_jacobian_strategy).
enum class HessianMode {
  /// Reverse over reverse: the gradient's graph once, then one backward
  /// through it per element of x. 2x faster than forward over reverse at
  /// n = 100 (bench_functional): forward mode pushes one direction a pass.
  ReverseOverReverse,
  /// Forward over reverse: per element of x, one pass of f and its backward
  /// on dual tensors gives the column H·eᵢ; keeps no graph of the gradient.
  ForwardOverReverse,
  /// Reverse over reverse for every row at once: vmap over the basis
  /// vectors eᵢ of eᵢᵀ·∂(∇f)/∂x (torch.func's vmap(vjp) recipe), so f and
  /// both backward passes run once on a batch of n copies of x — matrix
  /// products instead of matrix-vector ones. The default: 5.7x faster than
  /// reverse over reverse at n = 100 (bench_functional). It holds n copies
  /// of f's intermediates at once, so for large n (or an f whose ops have
  /// no batching rule, when vmap loops) pick ReverseOverReverse.
  Vectorized,
};
/// Hessian of a scalar function of one tensor x: shape x.shape + x.shape.
Tensor hessian(const std::function<Tensor(const Tensor&)>& f, const Tensor& x,
               HessianMode mode = HessianMode::Vectorized);
/// Reverse over reverse with create_graph: a Hessian that is differentiable again.
Tensor hessian_reverse(const std::function<Tensor(const Tensor&)>& f, const Tensor& x, bool create_graph = false);
/// H·v of a scalar function of one tensor, without forming H: forward over
/// reverse (one pass of f and its backward on dual tensors, no graph kept;
/// as fast as reverse over reverse or faster, bench_functional); with
/// create_graph, reverse over reverse (differentiable again).
Tensor hvp(const std::function<Tensor(const Tensor&)>& f, const Tensor& x, const Tensor& v, bool create_graph = false);

/// For each input of a vmapped function, the dim it is mapped over, or
/// std::nullopt for an input every example shares.
using InDims = std::vector<std::optional<std::int64_t>>;

/// vmap(f, in_dims, out_dims): f applied to each example of its inputs (the
/// slices along in_dims, all of one size B), each output stacked along its
/// out_dim (0 by default), like torch.func.vmap. Empty in_dims maps every
/// input over dim 0. f runs once on the whole batch: its ops see batched
/// tensors (one example's shape) and their batching rules compute all
/// examples at once. If f meets an op without a rule, vmap runs f once per
/// example instead (f must be free of side effects it cannot repeat) and
/// keeps doing so for that f; last_vmap() says which happened. Either way
/// the result is the loop's, and differentiable. It nests (vmap(vmap(f)))
/// and composes with gradients: vjp, jacrev and friends inside f take
/// per-example gradients in one backward of the batch (xg::grad with
/// respect to a tensor every example shares needs the loop).
Fn vmap(Fn f, InDims in_dims = {}, std::vector<std::int64_t> out_dims = {});

/// How the last vmap call on this thread ran f.
struct VmapReport {
  bool batched = false;      ///< once on the whole batch, or once per example
  std::string loop_reason;   ///< why it looped: the op without a batching rule
};
VmapReport last_vmap();

}  // namespace xg::functional
