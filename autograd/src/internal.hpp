#pragma once
// Helpers shared by the .cpp files of autograd/. Not installed.
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>

#include "xgrad/autograd.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/tensor.hpp"

namespace xg::detail {

/// Autograd's own code (and only it: this header is private) reaches a
/// tensor's TensorImpl through these; every other layer uses Tensor's public
/// storage API (Note [Storage API] in tensor.cpp).
struct TensorAccess {
  static TensorImpl* impl(const Tensor& t) { return t.impl(); }
  static const std::shared_ptr<TensorImpl>& ptr(const Tensor& t) { return t.impl_ptr(); }
};
inline TensorImpl* impl_of(const Tensor& t) { return TensorAccess::impl(t); }
inline const std::shared_ptr<TensorImpl>& impl_ptr_of(const Tensor& t) { return TensorAccess::ptr(t); }
/// Both defined and backed by the same storage (one may be an alias of the other).
inline bool shares_storage(const Tensor& a, const Tensor& b) {
  return a.defined() && b.defined() && impl_of(a)->storage == impl_of(b)->storage;
}

void* pool_alloc(std::size_t bytes);  // 64-byte aligned
void pool_free(void* p, std::size_t bytes);

/// Counts a write to t's storage (Note [Version counter]).
void bump_version(const Tensor& t);

/// A view of x's storage with this layout (Note [Views] in ops_view.cpp); no history.
Tensor make_view(const Tensor& x, const Shape& shape, const Shape& strides, std::int64_t offset, const char* op);

/// Uninitialised contiguous tensor; a bad or overflowing shape is an error naming `op`.
Tensor make_tensor(const Shape& shape, Dtype dtype, const char* op = "empty");

/// static_cast, except that a float becoming an integer saturates at the
/// integer's range and NaN becomes 0, where a plain cast is undefined
/// behaviour; every conversion of a value into a tensor's dtype goes through it.
template <class D, class S>
D cast_value(S v) {
  if constexpr (std::is_floating_point_v<S> && std::is_integral_v<D> && !std::is_same_v<D, bool>) {
    if (v != v) return D(0);
    if (v <= static_cast<S>(std::numeric_limits<D>::lowest())) return std::numeric_limits<D>::lowest();
    if (v >= static_cast<S>(std::numeric_limits<D>::max())) return std::numeric_limits<D>::max();
  }
  return static_cast<D>(v);
}

/// Calls f(T{}) with T the C++ type of a float dtype; int64 is an error naming `op`.
template <class F>
decltype(auto) dispatch_float(Dtype d, const char* op, F&& f) {
  switch (d) {
    case Dtype::Float32: return f(float{});
    case Dtype::Float64: return f(double{});
    default: break;
  }
  fail(op, "expected a float32 or float64 tensor, got ", dtype_name(d),
       " (convert with .to(xg::float32))");
}

template <class F>
decltype(auto) dispatch_all(Dtype d, F&& f) {
  switch (d) {
    case Dtype::Float32: return f(float{});
    case Dtype::Float64: return f(double{});
    case Dtype::Int64: return f(std::int64_t{});
    case Dtype::Int32: return f(std::int32_t{});
    case Dtype::Bool: return f(bool{});
  }
  return f(float{});
}

/// Like dispatch_all without bool: the dtypes with arithmetic.
template <class F>
decltype(auto) dispatch_numeric(Dtype d, const char* op, F&& f) {
  switch (d) {
    case Dtype::Float32: return f(float{});
    case Dtype::Float64: return f(double{});
    case Dtype::Int64: return f(std::int64_t{});
    case Dtype::Int32: return f(std::int32_t{});
    case Dtype::Bool: break;
  }
  fail(op, "expected a number tensor, got bool (convert with .to(xg::int64) or .to(xg::float32))");
}

/// Wraps a negative dim; throws naming op, dim and the tensor's rank.
std::int64_t wrap_dim(std::int64_t dim, std::int64_t ndim, const char* op);
/// NumPy broadcast of two shapes; throws naming op and both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
/// Throws unless `t` broadcasts to `target`'s shape without growing it:
/// "<op>: <what> [..] must broadcast to the <target_name> shape [..]".
void check_broadcasts_to(const Tensor& t, const Tensor& target, const char* op, const char* what,
                         const char* target_name);
/// Throws unless a and b share a dtype (and are defined), naming op, shapes and dtypes.
void check_same_dtype(const Tensor& a, const Tensor& b, const char* op);
/// Throws unless t is defined; a tensor batched by vmap (vmap.hpp) reaching
/// it means op has no batching rule, which throws NoBatchingRule.
void check_defined(const Tensor& t, const char* op);

/// An op met a tensor batched by vmap and has no batching rule for it
/// (Note [Batching] in vmap.cpp); vmap catches it and loops over examples.
class NoBatchingRule : public Error {
 public:
  using Error::Error;
};
[[noreturn]] void throw_no_batching_rule(const char* op, const char* why = "it has no batching rule");
/// Throws NoBatchingRule when t has no storage (a batched tensor, or a view made of one).
inline void check_has_storage(const TensorImpl* impl, const char* op) {
  if (!impl->storage) throw_no_batching_rule(op);
}

/// Throws unless t is float32 or float64, naming op (as dispatch_float does).
inline void check_float(const Tensor& t, const char* op) { dispatch_float(t.dtype(), op, [](auto) {}); }

bool is_accumulate_grad(const Node* n);
/// Anomaly mode (graph.cpp): any NaN/Inf in t; where node n was created.
bool has_non_finite(const Tensor& t);
std::string where_created(const Node& n);
/// Tensor::backward without building lists (engine.cpp).
void backward_one(const Tensor& t, const Tensor& gradient, bool retain_graph, bool create_graph);

}  // namespace xg::detail
