// Tensor handle: metadata, data access, autograd fields, method spellings.
#include "xgrad/tensor.hpp"

#include <cstring>

#include "kernels.hpp"
#include "vmap.hpp"

namespace xg {

namespace detail {

Tensor make_tensor(const Shape& shape, Dtype dtype, const char* op) {
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape;
  impl->numel = checked_numel(shape, op, dtype_size(dtype));
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  impl->storage = std::make_shared<Storage>(static_cast<std::size_t>(impl->numel) * dtype_size(dtype));
  return Tensor(std::move(impl));
}

namespace {
/// dst shows src's elements: the same storage, layout and dtype.
void copy_layout(TensorImpl& dst, const TensorImpl& src) {
  check_has_storage(&src, "alias");
  dst.storage = src.storage;
  dst.shape = src.shape;
  dst.strides = src.strides;
  dst.contiguous = src.contiguous;
  dst.offset = src.offset;
  dst.numel = src.numel;
  dst.dtype = src.dtype;
}
}  // namespace

Tensor alias(const Tensor& t) {
  auto impl = std::make_shared<TensorImpl>();
  copy_layout(*impl, *impl_of(t));
  return Tensor(std::move(impl));
}

}  // namespace detail

void Tensor::throw_undefined() {
  detail::fail("Tensor", "this tensor is undefined (default-constructed, or a gradient that was never computed)");
}

const Shape& Tensor::strides() const { return impl()->strides; }

std::int64_t Tensor::stride(std::int64_t d) const {
  return strides()[static_cast<std::size_t>(detail::wrap_dim(d, dim(), "stride"))];
}

std::int64_t Tensor::storage_offset() const { return impl()->offset; }

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  Tensor out = detail::dense(*this);
  detail::linear_tangent(out, *this, [](const Tensor& t) { return t.contiguous(); });
  if (detail::needs_grad(*this))
    make_node(out, "ContiguousBackward", [](const Tensor& g, Node&) -> TensorList { return {g}; }, *this);
  return out;
}

namespace {
[[noreturn]] void throw_not_contiguous(const Tensor& t, const char* call) {
  detail::fail(call, "the tensor is not contiguous (shape ", t.shape(), ", strides ", t.strides(), ", storage offset ",
               t.storage_offset(), "); call .contiguous() first, or read it element by element through its strides");
}
}  // namespace

std::int64_t Tensor::size(std::int64_t d) const {
  return shape()[static_cast<std::size_t>(detail::wrap_dim(d, dim(), "size"))];
}

template <class T>
T* Tensor::data() {
  return const_cast<T*>(static_cast<const Tensor&>(*this).data<T>());
}

template <class T>
const T* Tensor::data() const {
  XG_CHECK(dtype() == dtype_of<T>::value, "data", "tensor has dtype ", dtype(), ", asked for ",
           dtype_of<T>::value);
  if (!is_contiguous()) throw_not_contiguous(*this, "data");
  detail::check_has_storage(impl(), "data");
  return static_cast<const T*>(impl()->storage->data) + impl()->offset;
}

// Note [Storage API]
// Layers above autograd never touch TensorImpl (Tensor::impl() is private):
// they read through data<T>() / data_ptr(), write through mutable_data<T>() /
// mutable_data_ptr() (which count the write, Note [Version counter]), key maps
// by id(), and swap a parameter's data with set_data(). Inside autograd,
// detail::impl_of(t) (internal.hpp) is the one way in.
//
// A tensor's element i... sits at storage element offset + Σ i_d·stride(d).
// data<T>() is the flat, row-major buffer of a contiguous tensor and throws
// on any other, because code that indexes it as [0, numel) would read the
// wrong elements of a view; data_ptr() is the first element's address for
// any layout (as libtorch's data_ptr()), for code that walks the strides.
const void* Tensor::data_ptr() const {
  detail::check_has_storage(impl(), "data_ptr");
  return static_cast<const char*>(impl()->storage->data) + impl()->offset * static_cast<std::int64_t>(dtype_size(dtype()));
}

void* Tensor::mutable_data_ptr() {
  detail::bump_version(*this);
  return const_cast<void*>(data_ptr());
}

void Tensor::set_data(const Tensor& other) {
  XG_CHECK(other.defined(), "set_data", "the new data is an undefined tensor");
  XG_CHECK(grad_fn() == nullptr, "set_data", "only a leaf's data can be replaced; this tensor has history (",
           grad_fn()->name(), ")");
  XG_CHECK(!requires_grad() || is_floating(other.dtype()), "set_data", "a tensor that requires grad needs float data, got ",
           other.dtype());
  auto* self = impl();
  detail::copy_layout(*self, *other.impl());
  self->view_base.reset();  // a leaf with new data views nothing autograd tracks
  self->grad.reset();
}

// Note [Version counter]
// A storage's version counts the writes to it. SavedTensor records it when an
// op saves a tensor for backward and compares on unpack, so a write in between
// is an error instead of a silently wrong gradient. bump_version is the one
// place that counts a write: the in-place ops call it, and code outside
// autograd writes through Tensor::mutable_data<T>(), which calls it.
void detail::bump_version(const Tensor& t) {
  check_has_storage(impl_of(t), "in-place op");
  ++impl_of(t)->storage->version;
}

template <class T>
T* Tensor::mutable_data() {
  T* p = data<T>();
  detail::bump_version(*this);
  return p;
}
template float* Tensor::mutable_data<float>();
template double* Tensor::mutable_data<double>();
template std::int64_t* Tensor::mutable_data<std::int64_t>();
template std::int32_t* Tensor::mutable_data<std::int32_t>();
template bool* Tensor::mutable_data<bool>();

template float* Tensor::data<float>();
template double* Tensor::data<double>();
template std::int64_t* Tensor::data<std::int64_t>();
template std::int32_t* Tensor::data<std::int32_t>();
template bool* Tensor::data<bool>();
template const float* Tensor::data<float>() const;
template const double* Tensor::data<double>() const;
template const std::int64_t* Tensor::data<std::int64_t>() const;
template const std::int32_t* Tensor::data<std::int32_t>() const;
template const bool* Tensor::data<bool>() const;

double Tensor::item() const { return item<double>(); }

template <class T>
T Tensor::item() const {
  XG_CHECK(numel() == 1, "item", "expected a tensor with one element, got shape ", shape());
  return detail::dispatch_all(dtype(), [&](auto t) {
    return detail::cast_value<T>(*static_cast<const decltype(t)*>(data_ptr()));
  });
}
template float Tensor::item<float>() const;
template double Tensor::item<double>() const;
template std::int64_t Tensor::item<std::int64_t>() const;
template int Tensor::item<int>() const;
template bool Tensor::item<bool>() const;

template <class T>
std::vector<T> Tensor::to_vector() const {
  return detail::dispatch_all(dtype(), [&](auto t) {
    const Tensor flat = detail::dense(*this);
    const auto* p = static_cast<const decltype(t)*>(flat.data_ptr());
    return std::vector<T>(p, p + numel());
  });
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<std::int64_t> Tensor::to_vector<std::int64_t>() const;
template std::vector<std::int32_t> Tensor::to_vector<std::int32_t>() const;
template std::vector<bool> Tensor::to_vector<bool>() const;

Tensor& Tensor::requires_grad_(bool requires) {
  if (detail::is_batched(*this)) {  // the examples' leaf is the physical tensor (Note [Batching])
    detail::physical(*this).requires_grad_(requires);
    impl()->requires_grad = requires;
    return *this;
  }
  XG_CHECK(is_leaf(), "requires_grad_", "only leaves can change requires_grad; this tensor comes from ",
           grad_fn()->name(), " (use detach() to make a leaf)");
  XG_CHECK(!requires || is_floating(dtype()), "requires_grad_", "only float tensors can require grad, got ",
           dtype());
  impl()->requires_grad = requires;
  return *this;
}

Tensor Tensor::grad() const { return Tensor(impl()->grad); }

void Tensor::set_grad(const Tensor& g) {
  if (g.defined()) {
    XG_CHECK(g.shape() == shape() && g.dtype() == dtype(), "set_grad", "gradient ", g.dtype(), g.shape(),
             " does not match tensor ", dtype(), shape());
  }
  impl()->grad = detail::impl_ptr_of(g);
}

void Tensor::zero_grad(bool set_to_none) {
  auto& g = impl()->grad;
  if (!g) return;
  if (set_to_none) {
    g.reset();
  } else {
    Tensor(g).zero_();
  }
}

void Tensor::backward(const Tensor& gradient, bool retain_graph, bool create_graph) const {
  detail::backward_one(*this, gradient, retain_graph, create_graph);
}

Tensor Tensor::detach() const {
  XG_BATCHED_UNARY("detach", *this, p.detach())
  return detail::alias(*this);
}

Tensor Tensor::clone() const {
  XG_BATCHED_UNARY("clone", *this, p.clone())
  Tensor out = detail::make_tensor(shape(), dtype());
  detail::copy_strided(out, *this);
  detail::linear_tangent(out, *this, [](const Tensor& t) { return t.clone(); });
  if (detail::needs_grad(*this)) {
    make_node(out, "CloneBackward", [](const Tensor& g, Node&) -> TensorList { return {g}; }, *this);
  }
  return out;
}

Tensor Tensor::to(Dtype d) const {
  if (d == dtype()) return *this;
  XG_BATCHED_UNARY("to", *this, p.to(d))
  Tensor out = detail::make_tensor(shape(), d);
  detail::copy_strided(out, *this);
  if (is_floating(d) && detail::needs_grad(*this)) {
    const Dtype src = dtype();
    detail::linear_tangent(out, *this, [d](const Tensor& t) { return t.to(d); });
    make_node(out, "ToBackward", [src](const Tensor& g, Node&) -> TensorList { return {g.to(src)}; }, *this);
  }
  return out;
}

}  // namespace xg
