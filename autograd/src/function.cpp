// Custom functions: forward runs without a graph; one node with the user's
// backward connects the outputs to the inputs.
#include "xgrad/function.hpp"

#include "internal.hpp"

namespace xg {

TensorList AutogradContext::get_saved_variables() const {
  XG_CHECK(owner_ != nullptr || saved_.empty(), "get_saved_variables", "saved tensors are available in backward only");
  TensorList out;
  for (const SavedTensor& s : saved_) out.push_back(owner_ ? s.unpack(*owner_) : Tensor());
  return out;
}

namespace detail {

struct FunctionAccess {
  static void set_owner(AutogradContext& ctx, Node* node) { ctx.owner_ = node; }
  static std::vector<bool>& needs(AutogradContext& ctx) { return ctx.needs_; }
  static TensorList& to_save(AutogradContext& ctx) { return ctx.to_save_; }
  static const TensorList& non_differentiable(const AutogradContext& ctx) { return ctx.non_differentiable_; }
  static std::vector<SavedTensor>& saved(AutogradContext& ctx) { return ctx.saved_; }
};

TensorList apply_function(const char* name, const ContextFn& forward, ContextFn backward, const TensorList& inputs,
                          bool always_record, const JvpFn& jvp) {
  using A = FunctionAccess;
  auto ctx = std::make_shared<AutogradContext>();
  for (const Tensor& t : inputs) A::needs(*ctx).push_back(t.defined() && t.requires_grad());
  TensorList outputs;
  {
    NoGradGuard no_grad;
    TensorList detached;
    for (const Tensor& t : inputs) detached.push_back(t.defined() ? t.detach() : t);
    outputs = forward(*ctx, detached);
  }
  // The forward's results are fresh tensors; an output that is an input
  // (returned as is) is aliased so it can get its own history.
  for (Tensor& o : outputs)
    for (const Tensor& i : inputs)
      if (shares_storage(o, i)) o = alias(o);
  if (has_tangent(inputs)) {
    XG_CHECK(jvp != nullptr, name,
             "was given a dual tensor but has no forward-mode rule: define static xg::TensorList jvp(xg::AutogradContext&, "
             "const xg::TensorList& inputs, const xg::TensorList& tangents) returning J·t for each output");
    TensorList tangents, primals;
    for (const Tensor& t : inputs) {
      const Tensor dot = tangent_of(t);
      tangents.push_back(dot.defined() || !t.defined() || !is_floating(t.dtype()) ? dot : zeros_like(t));
      primals.push_back(t.defined() ? t.detach() : t);
    }
    const std::uint64_t level = forward_level;
    TensorList out_tangents;
    {
      ForwardPause pause;
      NoGradGuard no_grad;
      out_tangents = jvp(*ctx, primals, tangents);
    }
    XG_CHECK(out_tangents.size() == outputs.size(), name, "jvp returned ", out_tangents.size(), " tangents for ",
             outputs.size(), " outputs");
    for (std::size_t k = 0; k < outputs.size(); ++k)
      if (out_tangents[k].defined()) {
        XG_CHECK(out_tangents[k].shape() == outputs[k].shape() && out_tangents[k].dtype() == outputs[k].dtype(), name,
                 "jvp returned ", out_tangents[k].dtype(), out_tangents[k].shape(), " for output ", k, " of ",
                 outputs[k].dtype(), outputs[k].shape());
        set_tangent(outputs[k], out_tangents[k], level);
      }
  }
  // always_record: outputs may need gradients through state f reaches
  // other than its inputs (checkpoint's parameters).
  if (!needs_grad(inputs) && !(always_record && GradMode::is_enabled())) return outputs;
  for (std::size_t k = 0; k < outputs.size(); ++k) XG_CHECK(outputs[k].defined(), name, "forward returned an undefined output ", k);

  const std::size_t num_inputs = inputs.size();
  make_node(outputs, name, [ctx, backward = std::move(backward), name, num_inputs](TensorList&& grads, Node& self) -> TensorList {
    // Outputs that received nothing get zeros, so user code need not check.
    for (std::uint32_t i = 0; i < self.num_outputs(); ++i)
      if (!grads[i].defined()) grads[i] = zeros(self.output_meta(i).shape, self.output_meta(i).dtype);
    A::set_owner(*ctx, &self);
    TensorList out = backward(*ctx, grads);
    XG_CHECK(out.size() == num_inputs, name, "backward returned ", out.size(), " gradients for ", num_inputs, " inputs");
    for (std::size_t i = 0; i < out.size(); ++i)
      if (!self.needs_input_grad(i)) out[i] = Tensor();
    return out;
  }, inputs);
  // Outputs marked non-differentiable get no gradient: a history-free handle.
  for (Tensor& o : outputs)
    for (const Tensor& nd : A::non_differentiable(*ctx))
      if (shares_storage(nd, o)) o = o.detach();
  // Saved tensors: outputs are saved as outputs (no cycle), the rest as inputs.
  take_pending_saved_bytes();
  for (const Tensor& s : A::to_save(*ctx)) {
    bool is_output = false;
    for (const Tensor& o : outputs) is_output = is_output || shares_storage(o, s);
    Tensor original = s;
    for (std::size_t i = 0; i < inputs.size() && !is_output; ++i)
      if (shares_storage(inputs[i], s)) original = inputs[i];
    if (is_output)
      for (const Tensor& o : outputs)
        if (shares_storage(o, s) && o.grad_fn()) original = o;
    A::saved(*ctx).emplace_back(original, is_output && original.grad_fn() != nullptr);
  }
  A::to_save(*ctx).clear();
  for (const Tensor& o : outputs)
    if (o.grad_fn()) {
      o.grad_fn()->set_saved_bytes(take_pending_saved_bytes());
      break;
    }
  return outputs;
}

}  // namespace detail

}  // namespace xg
