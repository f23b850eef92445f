// Per-sample gradients from one batched backward (per_sample.hpp).
#include "xgrad/nn/per_sample.hpp"

#include <map>

#include "xgrad/nn/layers.hpp"

namespace xg::functional {
namespace {

constexpr const char* kOp = "per_sample_grads";

/// A module that owns parameters, with its dotted prefix.
struct Owner {
  std::string prefix;
  nn::Module* module;
};

void find_owners(nn::Module& m, const std::string& prefix, std::vector<Owner>& out) {
  if (!m.named_parameters(false).empty()) out.push_back({prefix, &m});
  for (const auto& [name, child] : m.named_children()) find_owners(*child, prefix.empty() ? name : prefix + "." + name, out);
}

bool has_rule(const nn::Module* m) {
  return dynamic_cast<const nn::Linear*>(m) || dynamic_cast<const nn::LayerNorm*>(m) ||
         dynamic_cast<const nn::Embedding*>(m);
}

/// One call of a module during the forward: its input, and its output's gradient.
struct Call {
  Tensor input, output, grad_output;
};

void check_batch(const Tensor& t, std::int64_t batch, const nn::Module& m) {
  XG_CHECK(t.dim() >= 1 && t.size(0) == batch, kOp, "a ", m.type_name(), " was called on ", t.dtype(), t.shape(),
           ", whose dim 0 is not the batch of ", batch, " examples; per-sample rules need the batch first");
}

/// (local parameter name, [B, *shape]) for one call of a module with a rule.
std::vector<std::pair<std::string, Tensor>> per_sample_rule(const nn::Module& m, const Call& c, std::int64_t batch) {
  const Tensor& g = c.grad_output;
  check_batch(c.input, batch, m);
  if (const auto* linear = dynamic_cast<const nn::Linear*>(&m)) {
    const Tensor x = reshape(c.input, {batch, -1, linear->in_features});
    const Tensor gy = reshape(g, {batch, -1, linear->out_features});
    std::vector<std::pair<std::string, Tensor>> out{{"weight", matmul(gy.transpose(1, 2), x)}};  // Σ_pos gᵢᵀxᵢ
    if (linear->bias.defined()) out.emplace_back("bias", sum(gy, {1}));
    return out;
  }
  if (const auto* norm = dynamic_cast<const nn::LayerNorm*>(&m)) {
    const std::int64_t n = norm->normalized_shape.numel();
    const Tensor x_hat = layer_norm(c.input, norm->normalized_shape, Tensor(), Tensor(), norm->eps);
    Shape per_example{batch};
    for (std::int64_t d : norm->normalized_shape) per_example.push_back(d);
    std::vector<std::pair<std::string, Tensor>> out;
    if (norm->weight.defined()) out.emplace_back("weight", reshape(sum(reshape(g * x_hat, {batch, -1, n}), {1}), per_example));
    if (norm->bias.defined()) out.emplace_back("bias", reshape(sum(reshape(g, {batch, -1, n}), {1}), per_example));
    return out;
  }
  const auto& emb = dynamic_cast<const nn::Embedding&>(m);
  const std::int64_t rows = emb.weight.size(0), dim = emb.weight.size(1);
  // Example b's rows live at b·rows + index in a [B·rows, dim] table.
  const Tensor index = reshape(c.input, {batch, -1});
  const Tensor shifted = reshape(index + reshape(arange(static_cast<double>(batch), TensorOptions(int64)) *
                                                     static_cast<double>(rows), {batch, 1}), Shape{-1});
  Tensor gy = reshape(g, {-1, dim});
  if (emb.padding_idx) gy = gy * reshape(ne(reshape(index, Shape{-1}), static_cast<double>(*emb.padding_idx)).to(gy.dtype()), {-1, 1});
  const Tensor table = index_add(zeros({batch * rows, dim}, gy.dtype()), 0, shifted, gy);
  return {{"weight", reshape(table, {batch, rows, dim})}};
}

std::vector<std::pair<std::string, Tensor>> named_trainable(const nn::Module& model) {
  std::vector<std::pair<std::string, Tensor>> out;
  for (auto& [name, p] : model.named_parameters())
    if (p.requires_grad()) out.emplace_back(name, p);
  return out;
}

Tensor checked_losses(const Tensor& losses, std::int64_t batch) {
  XG_CHECK(losses.defined() && losses.dim() == 1 && losses.size(0) == batch, kOp,
           "loss_fn must return one loss per example (shape [", batch, "]: a loss with reduction None), got ",
           losses.defined() ? losses.shape() : Shape{});
  return losses;
}

/// The fallback: one forward and backward per example.
std::vector<std::pair<std::string, Tensor>> one_at_a_time(nn::Module& model, const PerExampleLoss& loss_fn,
                                                          const Tensor& inputs, const Tensor& targets) {
  const auto params = named_trainable(model);
  TensorList wrt;
  for (const auto& [name, p] : params) wrt.push_back(p);
  std::vector<TensorList> per_param(params.size());
  for (std::int64_t b = 0; b < inputs.size(0); ++b) {
    const Tensor loss = checked_losses(loss_fn(model(inputs.narrow(0, b, 1)),
                                               targets.defined() ? targets.narrow(0, b, 1) : targets), 1);
    const TensorList g = grad({sum(loss)}, wrt, {}, false, false, true);
    for (std::size_t k = 0; k < params.size(); ++k)
      per_param[k].push_back(g[k].defined() ? g[k] : zeros_like(params[k].second));
  }
  std::vector<std::pair<std::string, Tensor>> out;
  for (std::size_t k = 0; k < params.size(); ++k) out.emplace_back(params[k].first, stack(per_param[k]));
  return out;
}

}  // namespace

namespace {
bool all_have_rules(const std::vector<Owner>& owners) {
  for (const Owner& o : owners)
    if (!has_rule(o.module)) return false;
  return true;
}
}  // namespace

bool per_sample_grads_batched(const nn::Module& model) {
  std::vector<Owner> owners;
  find_owners(const_cast<nn::Module&>(model), "", owners);  // only read here
  return all_have_rules(owners);
}

std::vector<std::pair<std::string, Tensor>> per_sample_grads(nn::Module& model, const PerExampleLoss& loss_fn,
                                                             const Tensor& inputs, const Tensor& targets) {
  XG_CHECK(inputs.defined() && inputs.dim() >= 1, kOp, "inputs must have the batch as dim 0, got ",
           inputs.defined() ? inputs.shape() : Shape{});
  const std::int64_t batch = inputs.size(0);
  XG_CHECK(!targets.defined() || (targets.dim() >= 1 && targets.size(0) == batch), kOp, "targets ", targets.shape(),
           " must have the batch of ", batch, " examples as dim 0 (inputs ", inputs.shape(), ")");
  AutoGradMode on(true);
  std::vector<Owner> owners;
  find_owners(model, "", owners);
  if (!all_have_rules(owners)) return one_at_a_time(model, loss_fn, inputs, targets);

  std::map<const nn::Module*, std::vector<Call>> calls;
  std::vector<HookHandle> hooks;
  struct RemoveHooks {
    std::vector<HookHandle>& hooks;
    ~RemoveHooks() {
      for (HookHandle& h : hooks) h.remove();
    }
  } remove{hooks};
  for (const Owner& o : owners)
    hooks.push_back(o.module->register_forward_hook([&calls](nn::Module& m, const Tensor& in, const Tensor& out) {
      calls[&m].push_back({in.detach(), out, Tensor()});
      return Tensor();
    }));
  const Tensor losses = checked_losses(loss_fn(model(inputs), targets), batch);

  TensorList outputs;  // in the order the gradients are read back below
  for (const Owner& o : owners)
    for (const Call& c : calls[o.module])
      if (c.output.requires_grad()) outputs.push_back(c.output);
  const TensorList grads = outputs.empty() ? TensorList{} : grad({sum(losses)}, outputs, {}, false, false, true);
  std::map<std::string, Tensor> by_name;
  {
    NoGradGuard no_grad;
    std::size_t k = 0;
    for (const Owner& o : owners) {
      for (Call& c : calls[o.module]) {
        if (!c.output.requires_grad()) continue;
        c.grad_output = grads[k++];
        if (!c.grad_output.defined()) continue;
        for (auto& [local, g] : per_sample_rule(*o.module, c, batch)) {
          Tensor& slot = by_name[o.prefix.empty() ? local : o.prefix + "." + local];
          slot = slot.defined() ? slot + g : g;
        }
      }
    }
  }
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& [name, p] : named_trainable(model)) {
    Shape s{batch};
    for (std::int64_t d : p.shape()) s.push_back(d);
    const auto it = by_name.find(name);
    out.emplace_back(name, it != by_name.end() ? it->second : zeros(s, p.dtype()));
  }
  return out;
}

}  // namespace xg::functional
