#pragma once
// The graph: nodes, edges, saved tensors, grad mode and the engine's entry points.
//
// Note [Graph ownership]
// A non-leaf tensor owns its grad_fn node; a node owns the nodes of its
// inputs through its edges, and the leaves' AccumulateGrad nodes own the
// leaves. Nothing points forward, so there are no cycles: a saved *output*
// is kept as a history-free alias and re-attached to its node on unpack.
// Node destruction is iterative (see Node::~Node), so dropping the last
// handle to a 10^6-node chain does not recurse.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "xgrad/tensor.hpp"

namespace xg {

// ---------------------------------------------------------------- grad mode

namespace detail {
inline thread_local bool grad_mode_enabled = true;
}

struct GradMode {
  static bool is_enabled() { return detail::grad_mode_enabled; }
  static void set_enabled(bool on) { detail::grad_mode_enabled = on; }
};

/// RAII: ops inside record no graph (like torch::NoGradGuard). Thread-local.
class NoGradGuard {
 public:
  NoGradGuard() : prev_(GradMode::is_enabled()) { GradMode::set_enabled(false); }
  ~NoGradGuard() { GradMode::set_enabled(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

/// RAII: sets grad mode to `enabled` for a scope.
class AutoGradMode {
 public:
  explicit AutoGradMode(bool enabled) : prev_(GradMode::is_enabled()) { GradMode::set_enabled(enabled); }
  ~AutoGradMode() { GradMode::set_enabled(prev_); }
  AutoGradMode(const AutoGradMode&) = delete;
  AutoGradMode& operator=(const AutoGradMode&) = delete;

 private:
  bool prev_;
};

// ---------------------------------------------------------------- anomaly detection

namespace detail {
inline thread_local bool anomaly_mode_enabled = false;
}

/// Opt-in checks (like torch.autograd.detect_anomaly): every recorded op's
/// output and every gradient backward computes is checked for NaN/Inf, and
/// an error names the op and the tag it was created under. Slow; for debugging.
struct AnomalyMode {
  static bool is_enabled() { return detail::anomaly_mode_enabled; }
  static void set_enabled(bool on) { detail::anomaly_mode_enabled = on; }
};

class DetectAnomalyGuard {
 public:
  DetectAnomalyGuard() : prev_(AnomalyMode::is_enabled()) { AnomalyMode::set_enabled(true); }
  ~DetectAnomalyGuard() { AnomalyMode::set_enabled(prev_); }
  DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
  DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;

 private:
  bool prev_;
};

/// Names the ops created while it lives ("encoder/layer2"), nested tags
/// joined by '/'. Anomaly errors quote it, so a NaN can be traced to code.
class AnomalyTag {
 public:
  explicit AnomalyTag(const std::string& tag);
  ~AnomalyTag();
  AnomalyTag(const AnomalyTag&) = delete;
  AnomalyTag& operator=(const AnomalyTag&) = delete;
  static std::string current();  ///< the joined tags in force on this thread ("" when none)
};

// ---------------------------------------------------------------- nodes

/// Where a gradient goes: input slot `input_nr` of node `fn`.
struct Edge {
  std::shared_ptr<Node> fn;
  std::uint32_t input_nr = 0;
  bool valid() const { return fn != nullptr; }
};

/// Shape and dtype of a node's output, so the engine can check every
/// gradient that flows into it.
struct TensorMeta {
  Shape shape;
  Dtype dtype = Dtype::Float32;
};

class Node : public std::enable_shared_from_this<Node> {
 public:
  explicit Node(const char* name, std::uint32_t num_outputs = 1);
  virtual ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const char* name() const { return name_; }
  std::uint32_t num_outputs() const { return num_outputs_; }
  std::uint64_t sequence_nr() const { return sequence_nr_; }
  /// True when input i needs a gradient (its edge leads somewhere).
  bool needs_input_grad(std::size_t i) const { return i < next_edges.size() && next_edges[i].valid(); }

  /// One gradient per output in (undefined where nothing flowed), one per
  /// next edge out (undefined means zero).
  virtual TensorList apply(TensorList&& grads) = 0;
  /// Frees what backward needed; called after the sweep unless retain_graph.
  virtual void release_saved() {}

  /// Hooks on the gradient arriving at output `nr` (Tensor::register_hook on a non-leaf).
  std::uint64_t add_pre_hook(std::uint32_t nr, GradHook hook);
  void remove_pre_hook(std::uint64_t id);
  /// Runs the pre-hooks on the gradients of this node's outputs.
  void apply_pre_hooks(TensorList& grads);
  /// Bytes held by tensors saved for backward (0 once released).
  std::size_t saved_bytes() const { return saved_bytes_; }
  void set_saved_bytes(std::size_t bytes) { saved_bytes_ = bytes; }
  /// Where the node was created (anomaly mode only; see AnomalyTag).
  const std::string& creation_tag() const { return creation_tag_; }
  void set_creation_tag(std::string tag) { creation_tag_ = std::move(tag); }

  const TensorMeta& output_meta(std::uint32_t nr) const { return nr == 0 ? meta0_ : more_meta_.at(nr - 1); }
  void set_output_meta(std::uint32_t nr, TensorMeta meta);

  std::vector<Edge> next_edges;

 private:
  friend class Engine;
  Tensor& input_slot(std::uint32_t nr);  ///< the gradient summed so far for output nr
  const char* name_;
  std::uint32_t num_outputs_;
  std::uint64_t sequence_nr_;
  TensorMeta meta0_;
  std::vector<TensorMeta> more_meta_;
  struct PreHook {
    std::uint64_t id;
    std::uint32_t output_nr;
    GradHook fn;
  };
  std::vector<PreHook> pre_hooks_;
  std::string creation_tag_;

 protected:
  std::size_t saved_bytes_ = 0;

 private:
  // Engine scratch; one backward at a time runs over a given graph. Output
  // 0's gradient has an inline slot: most nodes have one output.
  std::uint64_t visit_mark_ = 0;
  std::int32_t pending_ = 0;
  bool needed_ = false;
  Tensor input0_;
  TensorList more_inputs_;
};

/// A tensor kept for backward. Checks, when unpacked, that no in-place op
/// changed it in between (storage version), and re-attaches saved outputs
/// to their node so that backward-of-backward sees the dependency.
class SavedTensor {
 public:
  SavedTensor() = default;
  SavedTensor(const Tensor& t, bool is_output);
  Tensor unpack(Node& owner) const;
  bool defined() const { return data_.defined(); }

 private:
  Tensor data_;
  std::uint64_t version_ = 0;
  std::uint32_t output_nr_ = 0;
  bool is_output_ = false;
};

namespace detail {

[[noreturn]] void throw_released(const char* node_name);

/// A node whose backward is a closure `TensorList(const Tensor& grad, Node& self)`;
/// what the closure captures is the op's saved state, freed by release_saved.
template <class F>
class FunctionNode final : public Node {
 public:
  FunctionNode(const char* name, F&& fn) : Node(name), fn_(std::move(fn)) {}
  TensorList apply(TensorList&& grads) override {
    if (!fn_) throw_released(name());
    return (*fn_)(grads[0], *this);
  }
  void release_saved() override {
    fn_.reset();
    saved_bytes_ = 0;
  }

 private:
  std::optional<F> fn_;
};

Edge gradient_edge(const Tensor& t);  ///< where t's gradient goes (empty if none)

/// Bytes of the tensors saved (SavedTensor constructed) on this thread since
/// the last call; make_node charges them to the node it makes.
std::size_t take_pending_saved_bytes();

/// Hooks of a leaf: before and after its .grad is accumulated.
struct LeafHooks {
  std::vector<std::pair<std::uint64_t, GradHook>> pre;
  std::vector<std::pair<std::uint64_t, std::function<void(const Tensor&)>>> post;
};
void set_history(Tensor& out, std::shared_ptr<Node> node, std::uint32_t output_nr = 0);

/// Throws when view t was made from its base before an in-place op gave the
/// base new history (Note [In-place on views]); returns false otherwise.
bool stale_view(const Tensor& t);
/// Whether an op on t records a node for reverse mode.
inline bool records(const Tensor& t) {
  return GradMode::is_enabled() && (t.requires_grad() || (t.is_view() && stale_view(t)));
}
bool records(const TensorList& ts);

// Forward mode (Note [Forward mode] in forward_ad.cpp). The open dual level,
// 0 when none is; every check below is one load when forward mode is off.
inline thread_local std::uint64_t forward_level = 0;
bool has_tangent_at_level(const Tensor& t);
/// t is a dual tensor of the open level.
inline bool has_tangent(const Tensor& t) { return forward_level != 0 && has_tangent_at_level(t); }
bool has_tangent(const TensorList& ts);
/// t's tangent at the open level (undefined when it has none: a zero tangent).
Tensor tangent_of(const Tensor& t);

/// Whether an op must make a node: to record it for reverse mode, or to
/// carry its inputs' tangents forward.
inline bool needs_grad(const Tensor& t) { return records(t) || has_tangent(t); }
inline bool needs_grad(const Tensor& a, const Tensor& b) { return needs_grad(a) || needs_grad(b); }
bool needs_grad(const TensorList& ts);
/// A backward may take its fused (not differentiable) path: no graph is being
/// built and none of the tensors it reads carries a tangent.
template <class... T>
bool plain_backward(const T&... ts) {
  return !GradMode::is_enabled() && !(has_tangent(ts) || ...);
}

/// Pauses the open dual level: ops inside carry no tangents (rules, derivations).
class ForwardPause {
 public:
  ForwardPause();
  ~ForwardPause();
  ForwardPause(const ForwardPause&) = delete;
  ForwardPause& operator=(const ForwardPause&) = delete;

 private:
  std::uint64_t level_;
};
/// Gives out `tangent` at `level` (shape and dtype checked).
void set_tangent(const Tensor& out, const Tensor& tangent, std::uint64_t level);
/// An op's own forward-mode rule: out's tangent is rule(), computed in
/// no-grad mode with the level paused. Read the inputs' tangents (tangent_of)
/// before, outside rule.
template <class Rule>
void set_tangent_by(const Tensor& out, Rule&& rule) {
  const std::uint64_t level = forward_level;
  if (level == 0) return;
  Tensor t;
  {
    ForwardPause pause;
    NoGradGuard no_grad;
    t = rule();
  }
  set_tangent(out, t, level);
}

/// The rule of an op that is linear in x: its tangent is the op applied to x's tangent.
template <class Op>
void linear_tangent(const Tensor& out, const Tensor& x, Op&& op) {
  if (!has_tangent(x)) return;
  const Tensor t = tangent_of(x);
  set_tangent_by(out, [&] { return op(t); });
}

/// Nodes made before this sequence number are left out of a backward run on
/// this thread: set while a tangent is derived (Note [Forward mode]), whose
/// graph starts after it and may not touch the nodes of a backward in progress.
/// Sequence numbers count per thread, so this assumes the graph being swept
/// was built on this thread (as every graph xgrad builds is).
inline thread_local std::uint64_t oldest_node_in_run = 0;
/// The sequence number the next node made on this thread gets.
std::uint64_t next_node_sequence_nr();

/// Derives the outputs' tangents from node's backward, which is linear in
/// its gradient (Note [Forward mode]): unless an op's own rule has set them.
void derive_tangents(Node& node, TensorList outputs, const TensorList& inputs);
template <class... Inputs>
void derive_tangent(Node& node, const Tensor& out, const Inputs&... inputs) {
  if (forward_level != 0 && (has_tangent(inputs) || ...)) derive_tangents(node, {out}, TensorList{inputs...});
}

/// A node with several outputs whose backward is `TensorList(TensorList&& grads, Node& self)`.
template <class F>
class MultiOutputNode final : public Node {
 public:
  MultiOutputNode(const char* name, std::uint32_t outputs, F&& fn) : Node(name, outputs), fn_(std::move(fn)) {}
  TensorList apply(TensorList&& grads) override {
    if (!fn_) throw_released(name());
    return (*fn_)(std::move(grads), *this);
  }
  void release_saved() override {
    fn_.reset();
    saved_bytes_ = 0;
  }

 private:
  std::optional<F> fn_;
};

/// A new handle on the same storage with its own (empty) history.
Tensor alias(const Tensor& t);

}  // namespace detail

// ---------------------------------------------------------------- writing an op
//
// Note [Writing an op]
// Every op, the library's own and a user's, is written the same way:
// validate, compute the result without a graph, then, when an input needs a
// gradient, make_node: the node's backward is a closure over exactly what it
// needs (its saved state), written in xgrad ops so that it is differentiable
// again (create_graph, gradgradcheck). `exp` in autograd/src/ops_elementwise.cpp
// and tutorial 4 show it; xg::Function<T> (function.hpp) is the same thing in
// libtorch's spelling and is built on make_node.
//
//   xg::Tensor my_exp(const xg::Tensor& x) {
//     xg::Tensor y;
//     { xg::NoGradGuard g; y = xg::exp(x); }
//     if (xg::GradMode::is_enabled() && x.requires_grad())
//       xg::make_node(y, "MyExpBackward", [sy = xg::SavedTensor(y, true)](const xg::Tensor& grad, xg::Node& self) {
//         return xg::TensorList{grad * sy.unpack(self)};   // one gradient per input
//       }, x);
//     return y;
//   }

/// Makes `out` the result of a node named `name` over `inputs`. `backward` is
/// `TensorList(const Tensor& grad, Node& self)`: one gradient per input, in
/// order (undefined for none). Tensors it needs go in its captures, as
/// SavedTensor (checked against in-place changes on unpack, with `self`).
template <class F, class... Inputs>
void make_node(Tensor& out, const char* name, F&& backward, const Inputs&... inputs) {
  auto node = std::make_shared<detail::FunctionNode<std::decay_t<F>>>(name, std::forward<F>(backward));
  const std::size_t saved = detail::take_pending_saved_bytes();
  if (detail::forward_level != 0) {  // one load when forward mode is off
    detail::derive_tangent(*node, out, inputs...);
    if (!(detail::records(inputs) || ...)) return;  // forward mode only
  }
  node->next_edges.reserve(sizeof...(Inputs));
  (node->next_edges.push_back(detail::gradient_edge(inputs)), ...);
  node->set_saved_bytes(saved);
  detail::set_history(out, std::move(node));
}

namespace detail {
/// The old internal spellings of make_node, kept one release so existing code still compiles.
template <class F, class... Inputs>
[[deprecated("use xg::make_node (Note [Writing an op])")]] void record(Tensor& out, const char* name, F&& fn,
                                                                     const Inputs&... inputs) {
  make_node(out, name, std::forward<F>(fn), inputs...);
}
}  // namespace detail

/// make_node over a list of inputs (cat, stack, ops with a variable number of inputs).
template <class F>
void make_node(Tensor& out, const char* name, F&& backward, const TensorList& inputs) {
  auto node = std::make_shared<detail::FunctionNode<std::decay_t<F>>>(name, std::forward<F>(backward));
  const std::size_t saved = detail::take_pending_saved_bytes();
  if (detail::has_tangent(inputs)) {
    detail::derive_tangents(*node, {out}, inputs);
    if (!detail::records(inputs)) return;  // forward mode only
  }
  node->next_edges.reserve(inputs.size());
  for (const Tensor& t : inputs) node->next_edges.push_back(t.defined() ? detail::gradient_edge(t) : Edge{});
  node->set_saved_bytes(saved);
  detail::set_history(out, std::move(node));
}

/// make_node for several outputs: `backward` is `TensorList(TensorList&& grads,
/// Node& self)` with one gradient per output (undefined where none flowed).
/// Outputs that are not float (indices) get no history.
template <class F>
void make_node(TensorList& outputs, const char* name, F&& backward, const TensorList& inputs) {
  auto node = std::make_shared<detail::MultiOutputNode<std::decay_t<F>>>(
      name, static_cast<std::uint32_t>(outputs.size()), std::forward<F>(backward));
  const std::size_t saved = detail::take_pending_saved_bytes();
  if (detail::has_tangent(inputs)) {
    detail::derive_tangents(*node, outputs, inputs);
    if (!detail::records(inputs)) return;  // forward mode only
  }
  node->next_edges.reserve(inputs.size());
  for (const Tensor& t : inputs) node->next_edges.push_back(t.defined() ? detail::gradient_edge(t) : Edge{});
  for (std::uint32_t k = 0; k < outputs.size(); ++k) {
    if (is_floating(outputs[k].dtype())) {
      detail::set_history(outputs[k], node, k);
    } else {
      node->set_output_meta(k, {outputs[k].shape(), outputs[k].dtype()});
    }
  }
  node->set_saved_bytes(saved);
}

// ---------------------------------------------------------------- engine

/// Accumulates d(sum of tensors · grad_tensors)/d(leaf) into every leaf's .grad.
void backward(const TensorList& tensors, const TensorList& grad_tensors = {},
              bool retain_graph = false, bool create_graph = false);

/// Like torch.autograd.grad: returns d(outputs · grad_outputs)/d(inputs)
/// without touching any .grad. retain_graph defaults to create_graph.
TensorList grad(const TensorList& outputs, const TensorList& inputs,
                const TensorList& grad_outputs = {}, std::optional<bool> retain_graph = std::nullopt,
                bool create_graph = false, bool allow_unused = false);

/// grad's options by name, so second order reads
/// `xg::grad({y}, {x}, xg::GradOptions().create_graph(true))`.
class GradOptions {
 public:
  GradOptions() {}  // not an aggregate: a braced tensor list stays grad_outputs
  GradOptions& grad_outputs(TensorList g) { grad_outputs_ = std::move(g); return *this; }
  GradOptions& retain_graph(bool on) { retain_graph_ = on; return *this; }
  GradOptions& create_graph(bool on) { create_graph_ = on; return *this; }
  GradOptions& allow_unused(bool on) { allow_unused_ = on; return *this; }
  const TensorList& grad_outputs() const { return grad_outputs_; }
  std::optional<bool> retain_graph() const { return retain_graph_; }
  bool create_graph() const { return create_graph_; }
  bool allow_unused() const { return allow_unused_; }

 private:
  TensorList grad_outputs_;
  std::optional<bool> retain_graph_;
  bool create_graph_ = false;
  bool allow_unused_ = false;
};

inline TensorList grad(const TensorList& outputs, const TensorList& inputs, const GradOptions& options) {
  return grad(outputs, inputs, options.grad_outputs(), options.retain_graph(), options.create_graph(),
              options.allow_unused());
}

}  // namespace xg
