#pragma once
// Custom differentiable functions, like torch::autograd::Function:
//
//   struct Cube : xg::Function<Cube> {
//     static xg::TensorList forward(xg::AutogradContext& ctx, const xg::TensorList& in) {
//       ctx.save_for_backward({in[0]});
//       return {in[0] * in[0] * in[0]};        // runs without recording a graph
//     }
//     static xg::TensorList backward(xg::AutogradContext& ctx, const xg::TensorList& grad_out) {
//       const xg::Tensor x = ctx.get_saved_variables()[0];
//       return {grad_out[0] * 3.0 * x * x};     // xgrad ops: second order works
//     }
//   };
//   xg::Tensor y = Cube::apply({x})[0];
//
// For forward mode (forward_ad.hpp) a type also defines
//     static xg::TensorList jvp(xg::AutogradContext& ctx, const xg::TensorList& inputs,
//                               const xg::TensorList& tangents);   // J·t, one per output
// (tangents: zeros for inputs without one); without it, applying the
// function to a dual tensor is an error naming it.
// Several inputs and outputs are fine; backward returns one gradient per
// input (undefined for none) and receives zeros for outputs that got no
// gradient. A type may name its node with `static constexpr const char* name`.
// Built on xg::make_node, the one way ops are recorded (Note [Writing an op]).
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <type_traits>

#include "xgrad/autograd.hpp"

namespace xg {

namespace detail {
struct FunctionAccess;
}

class AutogradContext {
 public:
  /// Tensors backward will need: inputs or outputs of forward.
  void save_for_backward(TensorList tensors) { to_save_ = std::move(tensors); }
  /// The saved tensors, checked against in-place changes since forward.
  TensorList get_saved_variables() const;
  /// Outputs that get no gradient (e.g. indices); they do not require grad.
  void mark_non_differentiable(const TensorList& outputs) { non_differentiable_ = outputs; }
  /// Whether input i needs a gradient (valid in forward and backward).
  bool needs_input_grad(std::size_t i) const { return i < needs_.size() && needs_[i]; }
  /// Non-tensor values for backward (sizes, flags, constants).
  std::map<std::string, double> saved_data;

 private:
  friend struct detail::FunctionAccess;
  TensorList to_save_, non_differentiable_;
  std::vector<SavedTensor> saved_;
  std::vector<bool> needs_;
  Node* owner_ = nullptr;
};

namespace detail {
using ContextFn = std::function<TensorList(AutogradContext&, const TensorList&)>;
/// Function<T>::apply: forward without a graph, then make_node with a backward
/// that calls T::backward (Note [Writing an op] in autograd.hpp).
/// T::jvp: (ctx, inputs, tangents) -> one tangent per output.
using JvpFn = std::function<TensorList(AutogradContext&, const TensorList&, const TensorList&)>;
TensorList apply_function(const char* name, const ContextFn& forward, ContextFn backward, const TensorList& inputs,
                          bool always_record = false, const JvpFn& jvp = {});
}  // namespace detail

template <class T>
struct Function {
  static TensorList apply(const TensorList& inputs) {
    if constexpr (has_jvp<T>::value) {
      return detail::apply_function(node_name(), &T::forward, &T::backward, inputs, false, &T::jvp);
    } else {
      return detail::apply_function(node_name(), &T::forward, &T::backward, inputs);
    }
  }

 private:
  template <class U, class = void>
  struct has_jvp : std::false_type {};
  template <class U>
  struct has_jvp<U, std::void_t<decltype(&U::jvp)>> : std::true_type {};
  template <class U, class = void>
  struct has_name : std::false_type {};
  template <class U>
  struct has_name<U, std::void_t<decltype(U::name)>> : std::true_type {};
  static const char* node_name() {
    if constexpr (has_name<T>::value) {
      return T::name;
    } else {
      return "CustomFunctionBackward";
    }
  }
};

}  // namespace xg
