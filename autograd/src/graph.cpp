// Nodes, edges and saved tensors: how ops attach themselves to the graph.
#include <string>

#include "internal.hpp"

namespace xg {
namespace {
thread_local std::uint64_t next_sequence_nr = 0;
// Set while a Node destructor is draining the graph; see Node::~Node.
thread_local std::vector<std::shared_ptr<Node>>* nodes_to_free = nullptr;
}  // namespace

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
  // A saved output must not own its node (that would be a cycle), so keep
  // a history-free alias; a saved input is kept as it is.
  data_ = is_output ? detail::alias(t) : t;
  version_ = t.impl()->storage->version;
  output_nr_ = t.impl()->output_nr;
  is_output_ = is_output;
}

Tensor SavedTensor::unpack(Node& owner) const {
  if (!data_.defined()) return data_;
  const std::uint64_t now = data_.impl()->storage->version;
  XG_CHECK(now == version_, owner.name(),
           "a tensor saved for backward (", data_.dtype(), data_.shape(), ", ",
           is_output_ ? "output " : "input ", "of ", owner.name(), ") was modified by an in-place op: it is at version ",
           now, ", expected version ", version_,
           ". Clone it before changing it in place, or change it after backward.");
  if (!is_output_ || !GradMode::is_enabled()) return data_;
  // create_graph: re-attach the output to its node so that the gradient of
  // this backward formula flows through it.
  Tensor t = detail::alias(data_);
  t.impl()->requires_grad = true;
  t.impl()->grad_fn = owner.shared_from_this();
  t.impl()->output_nr = output_nr_;
  return t;
}

namespace detail {

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
    auto& slot = leaf_->grad;
    if (!slot) {
      // .grad is later accumulated in place, so it must own its buffer:
      // steal the incoming one only when nothing else can see it.
      const bool exclusive = g.impl_ptr().use_count() == 1 && g.impl()->storage.use_count() == 1;
      slot = (GradMode::is_enabled() || exclusive) ? g.impl_ptr() : g.clone().impl_ptr();
    } else if (GradMode::is_enabled() || slot->requires_grad) {
      slot = add(Tensor(slot), g).impl_ptr();  // create_graph: keep .grad differentiable
    } else {
      Tensor(slot).add_(g);
    }
    return {};
  }

  bool is_leaf_accumulator() const { return true; }

 private:
  std::shared_ptr<TensorImpl> leaf_;
};

Edge gradient_edge(const Tensor& t) {
  auto* impl = t.impl();
  Edge e;
  if (impl->grad_fn) {
    e.fn = impl->grad_fn;
    e.input_nr = impl->output_nr;
  } else if (impl->requires_grad) {
    std::shared_ptr<Node> acc = impl->grad_accumulator.lock();
    if (!acc) {
      acc = std::make_shared<AccumulateGrad>(t.impl_ptr());
      impl->grad_accumulator = acc;
    }
    e.fn = std::move(acc);
  }
  return e;
}

bool is_accumulate_grad(const Node* n) { return dynamic_cast<const AccumulateGrad*>(n) != nullptr; }

void set_history(Tensor& out, std::shared_ptr<Node> node, std::uint32_t output_nr) {
  auto* impl = out.impl();
  node->set_output_meta(output_nr, {impl->shape, impl->dtype});
  impl->grad_fn = std::move(node);
  impl->output_nr = output_nr;
  impl->requires_grad = true;
}

bool needs_grad(const TensorList& ts) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor& t : ts)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

}  // namespace detail
}  // namespace xg
