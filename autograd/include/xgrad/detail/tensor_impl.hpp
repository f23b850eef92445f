#pragma once
// What a Tensor handle points at. Plain data; the rules live in tensor.cpp.
#include <cstdint>
#include <memory>

#include "xgrad/dtype.hpp"
#include "xgrad/shape.hpp"

namespace xg {

class Node;

namespace detail {

struct LeafHooks;  // hooks on a leaf's gradient (autograd.hpp)

/// A 64-byte-aligned buffer from the pooled allocator, shared by views.
/// `version` counts in-place writes; saved tensors compare it at backward.
struct Storage {
  void* data = nullptr;
  std::size_t nbytes = 0;
  std::uint64_t version = 0;

  explicit Storage(std::size_t bytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;  // contiguous, row-major
  Shape shape;
  std::int64_t numel = 0;
  Dtype dtype = Dtype::Float32;
  bool requires_grad = false;
  std::uint32_t output_nr = 0;            // which output of grad_fn this is
  std::shared_ptr<Node> grad_fn;          // empty for leaves
  std::weak_ptr<Node> grad_accumulator;   // leaves: where .grad is accumulated
  std::shared_ptr<TensorImpl> grad;       // accumulated gradient (leaves, or retain_grad)
  std::shared_ptr<LeafHooks> hooks;       // leaves only
  bool retains_grad = false;
};

}  // namespace detail
}  // namespace xg
