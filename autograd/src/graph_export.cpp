#include <sstream>
#include <unordered_map>

#include "internal.hpp"
#include "xgrad/graph.hpp"

namespace xg {
namespace {

/// Every node reachable from root's grad_fn, each once, without recursion.
template <class F>
void walk(const Tensor& root, F visit) {
  detail::check_defined(root, "graph");
  const Edge start = root.requires_grad() ? detail::gradient_edge(root) : Edge{};
  if (!start.fn) return;
  std::unordered_map<const Node*, bool> seen{{start.fn.get(), true}};
  std::vector<const Node*> stack{start.fn.get()};
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    visit(*n);
    for (const Edge& e : n->next_edges)
      if (e.fn && seen.emplace(e.fn.get(), true).second) stack.push_back(e.fn.get());
  }
}

std::string human_bytes(std::size_t b) {
  std::ostringstream os;
  os.precision(3);
  if (b < 1024) os << b << " B";
  else if (b < 1024 * 1024) os << b / 1024.0 << " KiB";
  else os << b / (1024.0 * 1024.0) << " MiB";
  return os.str();
}

}  // namespace

GraphSummary graph_summary(const Tensor& root) {
  GraphSummary s;
  walk(root, [&](const Node& n) {
    ++s.nodes;
    s.saved_bytes += n.saved_bytes();
    ++s.nodes_per_op[n.name()];
    if (detail::is_accumulate_grad(&n)) ++s.leaves;
  });
  return s;
}

std::string GraphSummary::str() const {
  std::ostringstream os;
  os << nodes << " nodes (" << leaves << " leaves), " << human_bytes(saved_bytes) << " saved for backward";
  const char* sep = "; ";
  for (auto& [op, count] : nodes_per_op) {
    os << sep << op << "×" << count;
    sep = ", ";
  }
  return os.str();
}

std::string to_dot(const Tensor& root) {
  std::ostringstream os;
  os << "digraph xgrad {\n  rankdir=BT;\n  node [shape=box, fontname=\"monospace\", fontsize=10];\n";
  std::unordered_map<const Node*, std::size_t> ids;
  auto id = [&](const Node* n) { return ids.emplace(n, ids.size()).first->second; };
  walk(root, [&](const Node& n) {
    const TensorMeta& m = n.output_meta(0);
    os << "  n" << id(&n) << " [label=\"" << n.name() << "\\n" << m.dtype << m.shape;
    if (n.saved_bytes()) os << "\\nsaved " << human_bytes(n.saved_bytes());
    os << "\"" << (detail::is_accumulate_grad(&n) ? ", style=filled, fillcolor=lightblue" : "") << "];\n";
    for (const Edge& e : n.next_edges)
      if (e.fn) os << "  n" << id(e.fn.get()) << " -> n" << id(&n) << ";\n";
  });
  os << "}\n";
  return os.str();
}

}  // namespace xg
