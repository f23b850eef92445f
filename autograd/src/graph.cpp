// Nodes, edges and saved tensors: how ops attach themselves to the graph.
#include <atomic>
#include <cmath>
#include <string>

#include "internal.hpp"
#include "kernels.hpp"

namespace xg {
namespace {
thread_local std::uint64_t next_sequence_nr = 0;
// Set while a Node destructor is draining the graph; see Node::~Node.
thread_local std::vector<std::shared_ptr<Node>>* nodes_to_free = nullptr;
thread_local std::size_t pending_saved_bytes = 0;
thread_local std::vector<std::string> anomaly_tags;
std::uint64_t next_hook_id() {
  static std::atomic<std::uint64_t> id{0};
  return ++id;
}
}  // namespace

AnomalyTag::AnomalyTag(const std::string& tag) { anomaly_tags.push_back(tag); }
AnomalyTag::~AnomalyTag() { anomaly_tags.pop_back(); }
std::string AnomalyTag::current() {
  std::string s;
  for (const std::string& t : anomaly_tags) s += (s.empty() ? "" : "/") + t;
  return s;
}

std::uint64_t Node::add_pre_hook(std::uint32_t nr, GradHook hook) {
  const std::uint64_t id = next_hook_id();
  pre_hooks_.push_back({id, nr, std::move(hook)});
  return id;
}

void Node::remove_pre_hook(std::uint64_t id) {
  for (auto it = pre_hooks_.begin(); it != pre_hooks_.end(); ++it)
    if (it->id == id) {
      pre_hooks_.erase(it);
      return;
    }
}

void Node::apply_pre_hooks(TensorList& grads) {
  for (const PreHook& h : pre_hooks_) {
    Tensor& g = grads[h.output_nr];
    if (!g.defined()) continue;
    Tensor replaced = h.fn(g);
    if (!replaced.defined()) continue;
    XG_CHECK(replaced.shape() == g.shape() && replaced.dtype() == g.dtype(), "hook", "a hook on ", name(),
             " returned ", replaced.dtype(), replaced.shape(), " for a gradient of ", g.dtype(), g.shape());
    g = std::move(replaced);
  }
}

Node::Node(const char* name, std::uint32_t num_outputs)
    : name_(name), num_outputs_(num_outputs), sequence_nr_(next_sequence_nr++) {}

void Node::set_output_meta(std::uint32_t nr, TensorMeta meta) {
  if (nr == 0) {
    meta0_ = std::move(meta);
    return;
  }
  if (more_meta_.size() < nr) more_meta_.resize(nr);
  more_meta_[nr - 1] = std::move(meta);
}

Tensor& Node::input_slot(std::uint32_t nr) {
  if (nr == 0) return input0_;
  if (more_inputs_.size() < nr) more_inputs_.resize(nr);
  return more_inputs_[nr - 1];
}

// Note [Iterative graph destruction]
// Dropping the last handle to a deep chain would destroy node after node
// recursively and overflow the stack. Instead the first destructor becomes
// a loop: it moves its edges to a list and releases them one at a time;
// destructors that run inside that loop only hand their edges to the list.
Node::~Node() {
  if (nodes_to_free) {
    for (auto& e : next_edges)
      if (e.fn) nodes_to_free->push_back(std::move(e.fn));
    return;
  }
  std::vector<std::shared_ptr<Node>> stack;
  for (auto& e : next_edges)
    if (e.fn) stack.push_back(std::move(e.fn));
  if (stack.empty()) return;
  nodes_to_free = &stack;
  while (!stack.empty()) {
    std::shared_ptr<Node> n = std::move(stack.back());
    stack.pop_back();
    n.reset();
  }
  nodes_to_free = nullptr;
}

SavedTensor::SavedTensor(const Tensor& t, bool is_output) {
  if (!t.defined()) return;
  pending_saved_bytes += static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype());
  // A saved output must not own its node (that would be a cycle), so keep
  // a history-free alias; a saved input is kept as it is.
  data_ = is_output ? detail::alias(t) : t;
  // A saved output sees the tangent forward mode gives t after this point
  // (make_node derives it once the closure holding this is built).
  if (is_output && detail::forward_level != 0) {
    auto& block = detail::impl_of(t)->forward_grad;
    if (!block) block = std::make_shared<detail::ForwardGrad>();
    detail::impl_of(data_)->forward_grad = block;
  }
  detail::check_has_storage(detail::impl_of(t), "autograd");
  version_ = detail::impl_of(t)->storage->version;
  output_nr_ = detail::impl_of(t)->output_nr;
  is_output_ = is_output;
}

Tensor SavedTensor::unpack(Node& owner) const {
  if (!data_.defined()) return data_;
  const std::uint64_t now = detail::impl_of(data_)->storage->version;
  XG_CHECK(now == version_, owner.name(),
           "a tensor saved for backward (", data_.dtype(), data_.shape(), ", ",
           is_output_ ? "output " : "input ", "of ", owner.name(), ") was modified by an in-place op: it is at version ",
           now, ", expected version ", version_,
           ". Clone it before changing it in place, or change it after backward.");
  if (!is_output_ || !GradMode::is_enabled()) return data_;
  // create_graph: re-attach the output to its node so that the gradient of
  // this backward formula flows through it.
  Tensor t = detail::alias(data_);
  detail::impl_of(t)->forward_grad = detail::impl_of(data_)->forward_grad;
  detail::impl_of(t)->requires_grad = true;
  detail::impl_of(t)->grad_fn = owner.shared_from_this();
  detail::impl_of(t)->output_nr = output_nr_;
  return t;
}

namespace detail {

std::uint64_t next_node_sequence_nr() { return next_sequence_nr; }

void throw_released(const char* node_name) {
  fail(node_name,
       "trying to backward through the graph a second time: its saved tensors were freed after the first "
       "backward. Pass retain_graph=true to the first backward (or grad) call to go through it again.");
}

/// Accumulates into a leaf's .grad. Held by the graph; the leaf holds it weakly.
class AccumulateGrad final : public Node {
 public:
  explicit AccumulateGrad(std::shared_ptr<TensorImpl> leaf) : Node("AccumulateGrad"), leaf_(std::move(leaf)) {
    set_output_meta(0, {leaf_->shape, leaf_->dtype});
  }

  TensorList apply(TensorList&& grads) override {
    Tensor g = std::move(grads[0]);
    if (!g.defined()) return {};
    if (leaf_->hooks)
      for (auto& [id, hook] : leaf_->hooks->pre) {
        Tensor replaced = hook(g);
        if (!replaced.defined()) continue;
        XG_CHECK(replaced.shape() == g.shape() && replaced.dtype() == g.dtype(), "hook", "a hook on a leaf ",
                 g.dtype(), g.shape(), " returned ", replaced.dtype(), replaced.shape());
        g = std::move(replaced);
      }
    accumulate(std::move(g));
    if (leaf_->hooks)
      for (auto& [id, hook] : leaf_->hooks->post) hook(Tensor(leaf_));
    return {};
  }

 private:
  void accumulate(Tensor g) {
    auto& slot = leaf_->grad;
    if (!slot) {
      // .grad is later accumulated in place, so it must own its buffer:
      // steal the incoming one only when nothing else can see it.
      // It must also be contiguous: optimizers read .grad as a flat buffer.
      const bool exclusive = detail::impl_ptr_of(g).use_count() == 1 && detail::impl_of(g)->storage.use_count() == 1 &&
                             g.is_contiguous();
      if (GradMode::is_enabled()) {
        slot = detail::impl_ptr_of(g.contiguous());
      } else {
        slot = exclusive ? detail::impl_ptr_of(g) : detail::impl_ptr_of(g.clone());
      }
    } else if (GradMode::is_enabled() || slot->requires_grad) {
      slot = detail::impl_ptr_of(add(Tensor(slot), g));  // create_graph: keep .grad differentiable
    } else {
      Tensor(slot).add_(g);
    }
  }

  std::shared_ptr<TensorImpl> leaf_;
};

Edge gradient_edge(const Tensor& t) {
  auto* impl = detail::impl_of(t);
  if (impl->view_base) stale_view(t);
  Edge e;
  if (impl->grad_fn) {
    e.fn = impl->grad_fn;
    e.input_nr = impl->output_nr;
  } else if (impl->requires_grad) {
    std::shared_ptr<Node> acc = impl->grad_accumulator.lock();
    if (!acc) {
      acc = std::make_shared<AccumulateGrad>(detail::impl_ptr_of(t));
      impl->grad_accumulator = acc;
    }
    e.fn = std::move(acc);
  }
  return e;
}

std::size_t take_pending_saved_bytes() {
  const std::size_t b = pending_saved_bytes;
  pending_saved_bytes = 0;
  return b;
}

bool is_accumulate_grad(const Node* n) { return dynamic_cast<const AccumulateGrad*>(n) != nullptr; }

bool has_non_finite(const Tensor& t) {
  if (!t.defined() || !is_floating(t.dtype())) return false;
  return dispatch_float(t.dtype(), "anomaly", [&](auto z) {
    using T = decltype(z);
    const Tensor flat = detail::dense(t);
    const T* p = flat.data<T>();
    for (std::int64_t i = 0; i < t.numel(); ++i)
      if (!std::isfinite(p[i])) return true;
    return false;
  });
}

std::string where_created(const Node& n) {
  return n.creation_tag().empty() ? std::string(" (no AnomalyTag was set)") : " (created under tag '" + n.creation_tag() + "')";
}

void set_history(Tensor& out, std::shared_ptr<Node> node, std::uint32_t output_nr) {
  auto* impl = detail::impl_of(out);
  node->set_output_meta(output_nr, {impl->shape, impl->dtype});
  if (AnomalyMode::is_enabled()) {
    node->set_creation_tag(AnomalyTag::current());
    XG_CHECK(!has_non_finite(out), "anomaly", "the forward of the op recorded as ", node->name(), where_created(*node),
             " produced NaN or Inf in its output ", impl->dtype, impl->shape);
  }
  impl->grad_fn = std::move(node);
  impl->output_nr = output_nr;
  impl->requires_grad = true;
}

bool records(const TensorList& ts) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor& t : ts)
    if (t.defined() && records(t)) return true;
  return false;
}

bool needs_grad(const TensorList& ts) { return records(ts) || has_tangent(ts); }

bool stale_view(const Tensor& t) {
  const TensorImpl* impl = impl_of(t);
  if (!impl->view_tracks_base || impl->view_base_grad_fn.lock() == impl->view_base->grad_fn) return false;
  fail(impl->view_op, "this view (shape ", impl->shape, ") of a ", impl->view_base->dtype, impl->view_base->shape,
       " tensor was made before an in-place op on that tensor (or on another view of it) was recorded by autograd, "
       "so it would send gradients to the tensor's old history (Note [In-place on views]). Make the view again "
       "after the in-place op");
}

}  // namespace detail

// ---------------------------------------------------------------- hooks on tensors

namespace {
/// A handle that erases entry `id` from the list `member` of a leaf's hooks.
template <class List>
HookHandle leaf_hook_handle(const std::shared_ptr<detail::LeafHooks>& hooks, List detail::LeafHooks::*member,
                            std::uint64_t id) {
  std::weak_ptr<detail::LeafHooks> weak = hooks;
  return HookHandle([weak, member, id] {
    if (auto h = weak.lock()) {
      List& list = (*h).*member;
      for (auto it = list.begin(); it != list.end(); ++it)
        if (it->first == id) {
          list.erase(it);
          return;
        }
    }
  });
}
}  // namespace

HookHandle Tensor::register_hook(GradHook hook) {
  auto* impl = this->impl();
  XG_CHECK(impl->requires_grad, "register_hook", "cannot register a hook on a tensor (", impl->dtype, impl->shape,
           ") that does not require grad");
  if (impl->grad_fn) {
    std::weak_ptr<Node> node = impl->grad_fn;
    const std::uint64_t id = impl->grad_fn->add_pre_hook(impl->output_nr, std::move(hook));
    return HookHandle([node, id] {
      if (auto n = node.lock()) n->remove_pre_hook(id);
    });
  }
  if (!impl->hooks) impl->hooks = std::make_shared<detail::LeafHooks>();
  const std::uint64_t id = next_hook_id();
  impl->hooks->pre.emplace_back(id, std::move(hook));
  return leaf_hook_handle(impl->hooks, &detail::LeafHooks::pre, id);
}

HookHandle Tensor::register_post_accumulate_grad_hook(std::function<void(const Tensor&)> hook) {
  auto* impl = this->impl();
  XG_CHECK(is_leaf() && impl->requires_grad, "register_post_accumulate_grad_hook",
           "only leaves that require grad accumulate a .grad");
  if (!impl->hooks) impl->hooks = std::make_shared<detail::LeafHooks>();
  const std::uint64_t id = next_hook_id();
  impl->hooks->post.emplace_back(id, std::move(hook));
  return leaf_hook_handle(impl->hooks, &detail::LeafHooks::post, id);
}

void Tensor::retain_grad() {
  auto* impl = this->impl();
  XG_CHECK(impl->requires_grad, "retain_grad", "cannot retain the gradient of a tensor that does not require grad");
  if (!impl->grad_fn || impl->retains_grad) return;  // leaves keep .grad anyway
  impl->retains_grad = true;
  std::weak_ptr<detail::TensorImpl> weak = impl_ptr();
  impl->grad_fn->add_pre_hook(impl->output_nr, [weak](const Tensor& g) -> Tensor {
    auto t = weak.lock();
    if (!t) return {};
    NoGradGuard no_grad;
    t->grad = t->grad ? detail::impl_ptr_of(add(Tensor(t->grad), g)) : detail::impl_ptr_of(g.clone());
    return {};
  });
}

}  // namespace xg
