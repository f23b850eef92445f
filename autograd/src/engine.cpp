// The backward sweep.
//
// Note [Engine]
// 1. Walk the graph from the roots once, iteratively, recording every node
//    reachable (post-order: a node after all its inputs' nodes).
// 2. For grad(), mark the nodes that lead to a requested input ("needed");
//    for backward() every node is needed.
// 3. Count, for each needed node, the edges that reach it from needed nodes.
// 4. Seed the roots' gradients, then repeatedly take a node whose count is
//    zero (all its incoming gradients are summed), run its backward, check
//    each returned gradient against the input it is for, add it into the next
//    node's buffer and decrement that node's count.
// No recursion anywhere, so depth is limited only by memory.
#include <algorithm>
#include <atomic>
#include <memory>

#include "internal.hpp"
#include "vmap.hpp"

namespace xg {

class Engine {
 public:
  /// Runs the sweep. With `targets`, returns the gradient arriving at each
  /// target edge and leaves every .grad alone; without, accumulates into leaves.
  static TensorList run(const std::vector<Edge>& roots, TensorList root_grads, bool retain_graph,
                        bool create_graph, const std::vector<Edge>* targets) {
    static std::atomic<std::uint64_t> mark_counter{0};
    const std::uint64_t mark = ++mark_counter;

    // Scratch vectors are reused across calls (one set per nesting level, as
    // a backward formula may itself call grad()).
    thread_local std::vector<std::unique_ptr<Scratch>> scratch_stack;
    thread_local std::size_t depth = 0;
    if (scratch_stack.size() <= depth) scratch_stack.push_back(std::make_unique<Scratch>());
    Scratch& scratch = *scratch_stack[depth];
    std::vector<Node*>& order = scratch.order;
    std::vector<Node*>& ready = scratch.ready;
    order.clear();
    ready.clear();
    collect(roots, mark, order, scratch.stack);
    // An edge into a node this run did not collect (see collect's `oldest`) is not followed.
    auto in_run = [mark](const Edge& e) { return e.fn && e.fn->visit_mark_ == mark && e.fn->needed_; };

    struct Cleanup {
      std::vector<Node*>& nodes;
      std::size_t& depth;
      ~Cleanup() {
        for (Node* n : nodes) {
          n->pending_ = 0;
          n->needed_ = false;
          n->input0_ = Tensor();
          n->more_inputs_.clear();
        }
        --depth;
      }
    } cleanup{order, depth};
    ++depth;

    for (Node* n : order) {
      bool needed = !targets;
      if (targets) {
        for (const Edge& t : *targets) needed = needed || t.fn.get() == n;
        for (const Edge& e : n->next_edges) needed = needed || in_run(e);
      }
      n->needed_ = needed;
    }
    for (Node* n : order) {
      if (!n->needed_) continue;
      for (const Edge& e : n->next_edges)
        if (in_run(e)) ++e.fn->pending_;
    }

    for (std::size_t i = 0; i < roots.size(); ++i) {
      Node* r = roots[i].fn.get();
      if (!r->needed_) continue;
      accumulate(*r, roots[i].input_nr, std::move(root_grads[i]), create_graph);
    }
    for (const Edge& r : roots) {
      Node* n = r.fn.get();
      if (n->needed_ && n->pending_ == 0) {
        n->pending_ = -1;  // queued once, even if it is several roots
        ready.push_back(n);
      }
    }

    TensorList captured(targets ? targets->size() : 0);
    while (!ready.empty()) {
      Node* n = ready.back();
      ready.pop_back();
      TensorList& grads = scratch.grads;  // reused: no allocation per node
      grads.clear();
      grads.resize(n->num_outputs());
      grads[0] = std::move(n->input0_);
      for (std::size_t k = 0; k < n->more_inputs_.size(); ++k) grads[k + 1] = std::move(n->more_inputs_[k]);
      n->more_inputs_.clear();
      if (!n->pre_hooks_.empty()) n->apply_pre_hooks(grads);

      bool execute = true;
      if (targets) {
        for (std::size_t k = 0; k < targets->size(); ++k)
          if ((*targets)[k].fn.get() == n) captured[k] = grads[(*targets)[k].input_nr];
        execute = !detail::is_accumulate_grad(n) &&
                  std::any_of(n->next_edges.begin(), n->next_edges.end(),
                              in_run);
      }
      execute = execute && std::any_of(grads.begin(), grads.end(), [](const Tensor& g) { return g.defined(); });

      TensorList outs;
      if (execute) {
        AutoGradMode mode(create_graph);
        outs = n->apply(std::move(grads));
        grads.clear();
        XG_CHECK(outs.size() == n->next_edges.size() || n->next_edges.empty(), n->name(), "backward returned ",
                 outs.size(), " gradients for ", n->next_edges.size(), " inputs");
        if (!retain_graph) n->release_saved();
      }
      for (std::size_t i = 0; i < n->next_edges.size(); ++i) {
        const Edge& e = n->next_edges[i];
        if (!in_run(e)) continue;
        if (i < outs.size() && outs[i].defined()) {
          check_gradient(*n, i, outs[i], e.fn->output_meta(e.input_nr));
          XG_CHECK(!AnomalyMode::is_enabled() || !detail::has_non_finite(outs[i]), "anomaly", "the backward of ",
                   n->name(), detail::where_created(*n), " returned NaN or Inf in the gradient for input ", i, " (",
                   outs[i].dtype(), outs[i].shape(), ")");
          accumulate(*e.fn, e.input_nr, std::move(outs[i]), create_graph);
        }
        if (--e.fn->pending_ == 0) ready.push_back(e.fn.get());
      }
    }
    return captured;
  }

 private:
  struct Scratch {
    std::vector<Node*> order, ready;
    TensorList grads;
    std::vector<std::pair<Node*, std::size_t>> stack;
  };

  static void collect(const std::vector<Edge>& roots, std::uint64_t mark, std::vector<Node*>& order,
                      std::vector<std::pair<Node*, std::size_t>>& stack) {
    stack.clear();
    for (const Edge& r : roots) {
      if (r.fn->visit_mark_ == mark) continue;
      r.fn->visit_mark_ = mark;
      stack.emplace_back(r.fn.get(), 0);
      while (!stack.empty()) {
        Node* n = stack.back().first;
        const std::size_t i = stack.back().second++;
        if (i < n->next_edges.size()) {
          Node* c = n->next_edges[i].fn.get();
          if (c && c->visit_mark_ != mark && c->sequence_nr() >= detail::oldest_node_in_run) {
            c->visit_mark_ = mark;
            stack.emplace_back(c, 0);
          }
        } else {
          order.push_back(n);
          stack.pop_back();
        }
      }
    }
  }

  static void accumulate(Node& n, std::uint32_t slot_nr, Tensor g, bool create_graph) {
    if (!g.defined()) return;
    Tensor& slot = n.input_slot(slot_nr);
    if (!slot.defined()) {
      slot = std::move(g);
    } else {
      AutoGradMode mode(create_graph);
      slot = add(slot, g);
    }
  }

  static void check_gradient(const Node& n, std::size_t i, const Tensor& g, const TensorMeta& want) {
    XG_CHECK(g.shape() == want.shape && g.dtype() == want.dtype, n.name(), "backward returned a gradient of ",
             g.dtype(), g.shape(), " for input ", i, ", which is ", want.dtype, want.shape);
  }
};

namespace {

/// The edge where output i's gradient starts; it must require grad.
Edge root_edge(const Tensor& t, std::size_t i, const char* op) {
  detail::check_defined(t, op);
  XG_CHECK(t.requires_grad(), op, "element ", i, " of the outputs (", t.dtype(), t.shape(),
           ") does not require grad and has no grad_fn");
  return detail::gradient_edge(t);
}

/// Output i's starting gradient: the one given (checked), or ones for a one-element output.
Tensor root_gradient(const Tensor& t, const Tensor& given, std::size_t i, const char* op) {
  if (!given.defined()) {
    XG_CHECK(t.numel() == 1, op, "a gradient can be implied only for one-element outputs; output ", i,
             " has shape ", t.shape(), ", so pass a gradient of that shape");
    return ones_like(t);
  }
  XG_CHECK(given.shape() == t.shape() && given.dtype() == t.dtype(), op, "gradient ", i, " is ", given.dtype(),
           given.shape(), " but output ", i, " is ", t.dtype(), t.shape());
  return given;
}

std::vector<Edge> root_edges(const TensorList& tensors, const char* op) {
  std::vector<Edge> roots;
  roots.reserve(tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i) roots.push_back(root_edge(tensors[i], i, op));
  return roots;
}

TensorList root_gradients(const TensorList& tensors, const TensorList& grads, const char* op) {
  XG_CHECK(grads.empty() || grads.size() == tensors.size(), op, "got ", grads.size(), " gradients for ",
           tensors.size(), " outputs");
  TensorList out;
  out.reserve(tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i) out.push_back(root_gradient(tensors[i], grads.empty() ? Tensor() : grads[i], i, op));
  return out;
}

}  // namespace

namespace detail {
void backward_one(const Tensor& t, const Tensor& gradient, bool retain_graph, bool create_graph) {
  // Tensor::backward: backward() for one output, without building the lists first.
  Edge root = root_edge(t, 0, "backward");
  TensorList grads{root_gradient(t, gradient, 0, "backward")};
  Engine::run({std::move(root)}, std::move(grads), retain_graph || create_graph, create_graph, nullptr);
}
}  // namespace detail

void backward(const TensorList& tensors, const TensorList& grad_tensors, bool retain_graph, bool create_graph) {
  auto roots = root_edges(tensors, "backward");
  auto grads = root_gradients(tensors, grad_tensors, "backward");
  Engine::run(roots, std::move(grads), retain_graph || create_graph, create_graph, nullptr);
}

TensorList grad(const TensorList& outputs, const TensorList& inputs, const TensorList& grad_outputs,
                std::optional<bool> retain_graph, bool create_graph, bool allow_unused) {
  if (detail::vmapping())
    if (auto per_example = detail::batched_grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused))
      return *per_example;
  auto roots = root_edges(outputs, "grad");
  auto grads = root_gradients(outputs, grad_outputs, "grad");
  std::vector<Edge> targets;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    detail::check_defined(inputs[i], "grad");
    XG_CHECK(inputs[i].requires_grad(), "grad", "input ", i, " (", inputs[i].dtype(), inputs[i].shape(),
             ") does not require grad");
    targets.push_back(detail::gradient_edge(inputs[i]));
  }
  TensorList result = Engine::run(roots, std::move(grads), retain_graph.value_or(create_graph), create_graph, &targets);
  for (std::size_t i = 0; i < result.size(); ++i) {
    XG_CHECK(result[i].defined() || allow_unused, "grad", "input ", i, " (", inputs[i].dtype(), inputs[i].shape(),
             ") was not used to compute the outputs; pass allow_unused=true to get an undefined gradient");
  }
  return result;
}

}  // namespace xg
