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

class CustomFunctionNode final : public Node {
 public:
  CustomFunctionNode(const char* name, std::uint32_t outputs, std::shared_ptr<AutogradContext> ctx,
                     std::function<TensorList(AutogradContext&, const TensorList&)> backward)
      : Node(name, outputs), ctx_(std::move(ctx)), backward_(std::move(backward)) {}

  TensorList apply(TensorList&& grads) override {
    if (!ctx_) detail::throw_released(name());
    // Outputs that received nothing get zeros, so user code need not check.
    for (std::uint32_t i = 0; i < num_outputs(); ++i)
      if (!grads[i].defined()) grads[i] = zeros(output_meta(i).shape, output_meta(i).dtype);
    ctx_->owner_ = this;
    TensorList out = backward_(*ctx_, grads);
    XG_CHECK(out.size() == next_edges.size(), name(), "backward returned ", out.size(), " gradients for ",
             next_edges.size(), " inputs");
    for (std::size_t i = 0; i < out.size(); ++i)
      if (!needs_input_grad(i)) out[i] = Tensor();
    return out;
  }
  void release_saved() override {
    ctx_.reset();
    saved_bytes_ = 0;
  }

 private:
  std::shared_ptr<AutogradContext> ctx_;
  std::function<TensorList(AutogradContext&, const TensorList&)> backward_;
};

TensorList detail_apply_function(const char* name,
                                 const std::function<TensorList(AutogradContext&, const TensorList&)>& forward,
                                 std::function<TensorList(AutogradContext&, const TensorList&)> backward,
                                 const TensorList& inputs, bool always_record) {
  auto ctx = std::make_shared<AutogradContext>();
  for (const Tensor& t : inputs) ctx->needs_.push_back(t.defined() && t.requires_grad());
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
      if (o.defined() && i.defined() && o.impl()->storage == i.impl()->storage) o = detail::alias(o);
  // always_record: outputs may need gradients through state f reaches
  // other than its inputs (checkpoint's parameters).
  if (!detail::needs_grad(inputs) && !(always_record && GradMode::is_enabled())) return outputs;

  auto node = std::make_shared<CustomFunctionNode>(name, static_cast<std::uint32_t>(outputs.size()), ctx, std::move(backward));
  for (const Tensor& t : inputs) node->next_edges.push_back(t.defined() ? detail::gradient_edge(t) : Edge{});
  for (std::uint32_t k = 0; k < outputs.size(); ++k) {
    Tensor& o = outputs[k];
    XG_CHECK(o.defined(), name, "forward returned an undefined output ", k);
    bool differentiable = is_floating(o.dtype());
    for (const Tensor& nd : ctx->non_differentiable_) differentiable = differentiable && !nd.is_same(o);
    if (differentiable) {
      detail::set_history(o, node, k);
    } else {
      node->set_output_meta(k, {o.shape(), o.dtype()});
    }
  }
  // Saved tensors: outputs are saved as outputs (no cycle), the rest as inputs.
  detail::take_pending_saved_bytes();
  for (const Tensor& s : ctx->to_save_) {
    bool is_output = false;
    for (const Tensor& o : outputs) is_output = is_output || (s.defined() && o.impl()->storage == s.impl()->storage);
    Tensor original = s;
    for (std::size_t i = 0; i < inputs.size() && !is_output; ++i)
      if (s.defined() && inputs[i].defined() && inputs[i].impl()->storage == s.impl()->storage) original = inputs[i];
    if (is_output)
      for (const Tensor& o : outputs)
        if (o.impl()->storage == s.impl()->storage) original = o;
    ctx->saved_.emplace_back(original, is_output);
  }
  ctx->to_save_.clear();
  node->set_saved_bytes(detail::take_pending_saved_bytes());
  return outputs;
}

}  // namespace xg
