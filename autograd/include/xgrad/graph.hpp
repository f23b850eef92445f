#pragma once
// What a step keeps alive: the graph behind a tensor as Graphviz DOT, and a
// short summary (node count, bytes saved for backward, nodes per op).
#include <map>
#include <string>

#include "xgrad/autograd.hpp"

namespace xg {

struct GraphSummary {
  std::size_t nodes = 0;        ///< backward nodes, leaves' accumulators included
  std::size_t leaves = 0;
  std::size_t saved_bytes = 0;  ///< held by tensors saved for backward
  std::map<std::string, std::size_t> nodes_per_op;
  std::string str() const;      ///< "23 nodes (4 leaves), 1.2 MiB saved; MatmulBackward×3, ..."
};

GraphSummary graph_summary(const Tensor& root);
/// Nodes labelled with op name, output shape and dtype, and saved bytes;
/// edges point from an input's node to the node that consumed it.
std::string to_dot(const Tensor& root);

}  // namespace xg
