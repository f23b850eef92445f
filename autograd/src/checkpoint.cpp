#include "xgrad/checkpoint.hpp"

#include "internal.hpp"
#include "xgrad/function.hpp"

namespace xg {

TensorList checkpoint_impl(const std::function<TensorList(const TensorList&)>& f, const TensorList& inputs) {
  const std::string rng_at_forward = get_rng_state();
  auto forward = [&f](AutogradContext& ctx, const TensorList& in) {
    ctx.save_for_backward(in);
    return f(in);
  };
  // The backward owns a copy of f: it runs after this call has returned.
  // Note [Checkpoint backward]: like torch's reentrant checkpoint, the
  // recomputed graph is back-propagated with an inner backward(), which
  // accumulates into the parameters f uses (they are not inputs of the
  // checkpoint) and into fresh leaves standing for the inputs, whose .grad
  // is then passed on. So it works with backward(), not with grad() or
  // create_graph.
  auto backward = [f, rng_at_forward](AutogradContext& ctx, const TensorList& grad_outputs) -> TensorList {
    XG_CHECK(!GradMode::is_enabled(), "checkpoint",
             "create_graph (second order) cannot go through a checkpoint; call f without checkpoint for that");
    const TensorList saved = ctx.get_saved_variables();
    TensorList x;
    for (std::size_t i = 0; i < saved.size(); ++i) {
      Tensor xi = saved[i].detach();
      if (ctx.needs_input_grad(i)) xi.requires_grad_(true);
      x.push_back(xi);
    }
    const std::string rng_now = get_rng_state();
    set_rng_state(rng_at_forward);
    TensorList y;
    {
      AutoGradMode on(true);
      y = f(x);
    }
    set_rng_state(rng_now);
    TensorList ys, gs;
    for (std::size_t k = 0; k < y.size(); ++k)
      if (y[k].requires_grad()) {
        ys.push_back(y[k]);
        gs.push_back(grad_outputs[k]);
      }
    if (!ys.empty()) xg::backward(ys, gs);
    TensorList result;
    for (const Tensor& xi : x) result.push_back(xi.requires_grad() ? xi.grad() : Tensor());
    return result;
  };
  return detail::apply_function("CheckpointBackward", forward, backward, inputs, /*always_record=*/true);
}

}  // namespace xg
