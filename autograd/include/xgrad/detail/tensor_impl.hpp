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
struct TensorImpl;

/// A tensor's forward-mode tangent and the dual level it belongs to (Note
/// [Forward mode] in forward_ad.cpp). A saved output shares its tensor's
/// block, so a tangent set after the node was made is seen by backward.
struct ForwardGrad {
  std::shared_ptr<TensorImpl> tangent;
  std::uint64_t level = 0;
  std::uint64_t version = 0;  // the storage's version the tangent belongs to
};

/// What a batched tensor inside vmap is (Note [Batching] in vmap.cpp): the
/// examples of vmap level `level` stacked along dim 0 of `physical`. The
/// batched tensor itself has the shape of one example and no storage.
struct Batched {
  std::shared_ptr<TensorImpl> physical;
  std::int64_t level = 0;
};

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

/// A tensor's elements are storage[offset + Σ i_d · strides[d]] (in
/// elements, not bytes). Views share the storage (Note [Views] in ops_view.cpp).
struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;
  std::int64_t offset = 0;
  bool contiguous = true;  // is_contiguous_layout(shape, strides), kept with them
  std::int64_t numel = 0;
  Dtype dtype = Dtype::Float32;
  bool requires_grad = false;
  std::uint32_t output_nr = 0;            // which output of grad_fn this is
  std::shared_ptr<Node> grad_fn;          // empty for leaves
  std::weak_ptr<Node> grad_accumulator;   // leaves: where .grad is accumulated
  std::shared_ptr<TensorImpl> grad;       // accumulated gradient (leaves, or retain_grad)
  std::shared_ptr<LeafHooks> hooks;       // leaves only
  bool retains_grad = false;
  // Views only: the tensor that owns the layout this one views (never itself
  // a view), the op that made it, and whether it was made in grad mode with
  // the base's history at that time (Note [In-place on views]).
  std::shared_ptr<TensorImpl> view_base;
  const char* view_op = nullptr;
  bool view_tracks_base = false;
  std::weak_ptr<Node> view_base_grad_fn;
  std::shared_ptr<ForwardGrad> forward_grad;  // dual tensors only
  std::shared_ptr<Batched> batched;           // batched tensors inside vmap only (storage is null)
};

}  // namespace detail
}  // namespace xg
