// Note [Batching]
// vmap(f) runs f once on the whole batch when it can. Each input becomes a
// batched tensor: a TensorImpl with one example's shape, no storage, and a
// Batched block pointing at the physical tensor (the examples stacked along
// dim 0) and the vmap level. An op with a batching rule (vmap.hpp shows the
// two lines at its top) calls ordinary ops on the physical tensors and wraps
// the result back. Nesting works level by level: the physical tensor of level 2 may
// itself be batched at level 1, and a rule peels only the innermost level.
//
// An op without a rule cannot compute on a tensor without storage: it meets
// it in check_defined, make_view, alias or at its data and throws
// NoBatchingRule, never reading garbage. vmap catches that and runs f once
// per example instead (so f must not have side effects it cannot repeat),
// and remembers to loop on the next call. Either way the values are those
// of the loop; the vmap column of xgrad-gradcheck checks it for every op.
//
// Autograd runs below batching: the rules call ordinary ops, so the graph is
// recorded on physical tensors and a vmapped function stays differentiable.
// xg::grad inside vmap is one backward of the physical tensors, which gives
// per-example gradients because example b's outputs depend on example b's
// inputs only — provided every input is batched at every level (a leaf
// shared by every example would get the sum over examples). functional's
// transforms therefore make their leaves with per_example_leaf, which gives
// each example its own copy; xg::grad with respect to a shared tensor falls
// back to the loop. Forward-mode tangents do not pass through rules (a dual
// input throws NoBatchingRule).
#include "vmap.hpp"

#include <string>

#include "kernels.hpp"

namespace xg::detail {

thread_local int g_vmap_depth = 0;

namespace {
thread_local std::vector<std::int64_t> g_level_sizes;  // g_level_sizes[level - 1]

/// The levels t is batched at, outermost wrapper first.
std::vector<std::int64_t> levels_of(const Tensor& t) {
  std::vector<std::int64_t> levels;
  for (const TensorImpl* impl = impl_of(t); impl->batched; impl = impl->batched->physical.get())
    levels.push_back(impl->batched->level);
  return levels;
}

/// t with the examples of levels 1..upto along its first `upto` dims (level
/// 1 first), repeated (a view) at the levels t is not batched at.
Tensor all_levels(const Tensor& t, std::int64_t upto) {
  XG_CHECK(batch_level(t) <= upto, "vmap", "a batched tensor escaped its vmap (level ", batch_level(t), ")");
  if (upto == 0) return t;
  if (batch_level(t) == upto) return all_levels(physical(t), upto - 1);
  const Tensor r = all_levels(t, upto - 1);
  Shape shape = r.shape();
  shape.insert(static_cast<std::size_t>(upto - 1), level_size(upto));
  return r.unsqueeze(upto - 1).expand(shape);
}

/// The inverse of all_levels for a tensor batched at every level 1..upto.
Tensor rewrap(Tensor p, std::int64_t upto) {
  for (std::int64_t level = 1; level <= upto; ++level) p = make_batched(p, level);
  return p;
}
}  // namespace

void throw_no_batching_rule(const char* op, const char* why) {
  if (g_vmap_depth == 0)
    fail(op, "got a tensor batched by a vmap that has finished (kept from inside the vmapped function); use the "
             "vmap's outputs instead");
  throw NoBatchingRule(std::string(op) + ": " + why + " for tensors batched by vmap (vmap runs f once per example)");
}

VmapLevel::VmapLevel(std::int64_t size) : level_(++g_vmap_depth) { g_level_sizes.push_back(size); }
VmapLevel::~VmapLevel() {
  --g_vmap_depth;
  g_level_sizes.pop_back();
}

std::int64_t level_size(std::int64_t level) {
  XG_CHECK(level >= 1 && level <= static_cast<std::int64_t>(g_level_sizes.size()), "vmap",
           "a batched tensor escaped its vmap (level ", level, ", ", g_level_sizes.size(), " running)");
  return g_level_sizes[static_cast<std::size_t>(level - 1)];
}

Tensor physical(const Tensor& t) { return Tensor(impl_of(t)->batched->physical); }

Tensor make_batched(const Tensor& p, std::int64_t level) {
  XG_CHECK(p.dim() >= 1 && p.size(0) == level_size(level), "vmap", "a batching rule returned shape ", p.shape(),
           " for ", level_size(level), " examples");
  const TensorImpl* src = impl_of(p);
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = Shape(src->shape.begin() + 1, src->shape.end());
  impl->strides = contiguous_strides(impl->shape);
  impl->numel = 1;
  for (const std::int64_t n : impl->shape) impl->numel *= n;
  impl->dtype = src->dtype;
  impl->requires_grad = src->requires_grad;
  impl->batched = std::make_shared<Batched>(Batched{impl_ptr_of(p), level});
  return Tensor(std::move(impl));
}

Tensor BatchArgs::expanded(std::size_t i) const {
  if (batched[i]) return x[i];
  Shape shape = x[i].shape();
  shape.insert(0, size);
  return x[i].unsqueeze(0).expand(shape);
}

Tensor BatchArgs::aligned(std::size_t i, std::int64_t rank) const {
  if (!batched[i] || example_rank(i) >= rank) return x[i];
  Shape shape = x[i].shape();
  for (std::int64_t k = example_rank(i); k < rank; ++k) shape.insert(1, 1);
  return x[i].reshape(shape);
}

std::optional<std::int64_t> innermost_level(const TensorList& inputs, const char* op) {
  std::int64_t level = 0;
  bool dual = false;
  for (const Tensor& t : inputs) {
    if (!t.defined()) continue;
    const TensorImpl* impl = impl_of(t);
    dual = dual || impl->forward_grad != nullptr;
    if (impl->batched) level = std::max(level, impl->batched->level);
  }
  if (level == 0) return std::nullopt;
  if (dual) throw_no_batching_rule(op, "forward-mode tangents do not pass through batching rules");
  return level;
}

BatchArgs unwrap_level(const TensorList& inputs, std::int64_t level) {
  BatchArgs args;
  args.size = level_size(level);
  for (const Tensor& t : inputs) {
    const bool at_level = batch_level(t) == level;
    args.x.push_back(at_level ? physical(t) : t);
    args.batched.push_back(at_level);
  }
  return args;
}

std::optional<TensorList> batched_grad(const TensorList& outputs, const TensorList& inputs,
                                       const TensorList& grad_outputs, std::optional<bool> retain_graph,
                                       bool create_graph, bool allow_unused) {
  const auto batched = [](const TensorList& ts) { return std::any_of(ts.begin(), ts.end(), is_batched); };
  if (!batched(outputs) && !batched(inputs) && !batched(grad_outputs)) return std::nullopt;
  const std::int64_t depth = g_vmap_depth;
  std::vector<std::int64_t> every_level;
  for (std::int64_t level = depth; level >= 1; --level) every_level.push_back(level);
  TensorList phys_inputs, phys_outputs, seeds;
  for (const Tensor& x : inputs) {
    if (!x.defined() || levels_of(x) != every_level)
      throw_no_batching_rule("grad", "an input shared by every example would get the sum of their gradients");
    phys_inputs.push_back(all_levels(x, depth));
  }
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    XG_CHECK(outputs[i].defined(), "grad", "output ", i, " is undefined");
    phys_outputs.push_back(all_levels(outputs[i], depth));
    const Tensor g = i < grad_outputs.size() ? grad_outputs[i] : Tensor();
    if (g.defined()) {
      XG_CHECK(g.shape() == outputs[i].shape(), "grad", "grad_outputs[", i, "] has shape ", g.shape(), " but output ",
               i, " has shape ", outputs[i].shape());
      seeds.push_back(all_levels(g, depth).to(outputs[i].dtype()));
    } else {
      XG_CHECK(outputs[i].numel() == 1, "grad", "output ", i, " has shape ", outputs[i].shape(),
               "; a gradient can be implied only for a one-element output, so pass grad_outputs");
      seeds.push_back(ones(phys_outputs.back().shape(), outputs[i].dtype()));
    }
  }
  TensorList result = grad(phys_outputs, phys_inputs, seeds, retain_graph, create_graph, allow_unused);
  for (Tensor& r : result)
    if (r.defined()) r = rewrap(r, depth);
  return result;
}

Tensor per_example_leaf(const Tensor& t) {
  if (!vmapping()) return t.detach().requires_grad_(true);
  Tensor leaf = all_levels(t, g_vmap_depth).detach();
  leaf.requires_grad_(true);
  return rewrap(leaf, g_vmap_depth);
}

}  // namespace xg::detail
