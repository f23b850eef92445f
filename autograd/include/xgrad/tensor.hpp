#pragma once
// xg::Tensor: a cheap, shared handle to an n-d array that records the ops
// applied to it, so that backward() can fill gradients.
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "xgrad/detail/tensor_impl.hpp"
#include "xgrad/dtype.hpp"
#include "xgrad/error.hpp"
#include "xgrad/shape.hpp"

namespace xg {

class Tensor;
using TensorList = std::vector<Tensor>;

/// Enables an overload for integer arguments only (so a braced list picks the Dims one).
template <class I>
using IfInteger = std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>, int>;

namespace detail {
struct TensorAccess;  // autograd's own code reaches a tensor's TensorImpl through it (internal.hpp)
}

/// Runs on a gradient as it flows through a tensor; return a tensor to
/// replace the gradient, or an undefined Tensor to leave it as it is.
using GradHook = std::function<Tensor(const Tensor& grad)>;

/// Removes the hook it was returned for (once; later calls do nothing).
class HookHandle {
 public:
  HookHandle() = default;
  explicit HookHandle(std::function<void()> remover) : remover_(std::move(remover)) {}
  void remove() {
    if (remover_) remover_();
    remover_ = nullptr;
  }

 private:
  std::function<void()> remover_;
};

/// Like torch::TensorOptions: `TensorOptions(float64).requires_grad(true)`.
class TensorOptions {
 public:
  TensorOptions() = default;
  TensorOptions(Dtype d) : dtype_(d) {}  // NOLINT: implicit, so a Dtype can stand for options
  TensorOptions dtype(Dtype d) const { auto o = *this; o.dtype_ = d; return o; }
  TensorOptions requires_grad(bool r) const { auto o = *this; o.requires_grad_ = r; return o; }
  Dtype dtype() const { return dtype_; }
  bool requires_grad() const { return requires_grad_; }

 private:
  Dtype dtype_ = Dtype::Float32;
  bool requires_grad_ = false;
};

class Tensor {
 public:
  Tensor() = default;  ///< undefined tensor (no data), like a default torch::Tensor
  explicit Tensor(std::shared_ptr<detail::TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- metadata
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl()->shape; }
  std::int64_t dim() const { return static_cast<std::int64_t>(impl()->shape.size()); }
  std::int64_t size(std::int64_t dim) const;  ///< negative dims count from the end
  std::int64_t numel() const { return impl()->numel; }
  Dtype dtype() const { return impl()->dtype; }
  /// Elements to step in storage per step along each dim (Note [Views]):
  /// row-major for a fresh tensor, anything for a view.
  const Shape& strides() const;
  std::int64_t stride(std::int64_t dim) const;  ///< negative dims count from the end
  std::int64_t storage_offset() const;          ///< the first element's index in the storage
  /// Row-major with no gaps (size-1 dims may have any stride), as in libtorch.
  bool is_contiguous() const { return impl()->contiguous; }
  /// Made by a view op (transpose, narrow, ...): shares its base's storage.
  bool is_view() const { return impl()->view_base != nullptr; }
  /// This tensor when already contiguous, else a differentiable contiguous copy.
  Tensor contiguous() const;

  // ---- data access: the flat row-major buffer of a contiguous tensor (a
  // non-contiguous one is an error: call contiguous() first); T must match dtype()
  template <class T> T* data();
  template <class T> const T* data() const;
  /// data<T>() for writing: also bumps the storage's version counter, so a
  /// backward that saved this tensor notices the change. Every write outside
  /// the ops goes through it (Note [Version counter] in tensor.cpp).
  template <class T> T* mutable_data();
  double item() const;  ///< the single value of a one-element tensor
  /// item<std::int64_t>() reads an int64 tensor exactly (not through double);
  /// other types convert from the stored value.
  template <class T> T item() const;
  template <class T> std::vector<T> to_vector() const;  ///< converts from any dtype
  std::string str() const;  ///< what operator<< prints

  // ---- autograd
  bool requires_grad() const { return impl()->requires_grad; }
  Tensor& requires_grad_(bool requires = true);  ///< only on leaves
  bool is_leaf() const { return impl()->grad_fn == nullptr; }
  const std::shared_ptr<Node>& grad_fn() const { return impl()->grad_fn; }
  Tensor grad() const;                   ///< accumulated gradient; undefined until backward
  void set_grad(const Tensor& g);        ///< replace .grad (shape and dtype must match)
  void zero_grad(bool set_to_none = true);
  /// Back-propagate from this tensor. `gradient` may be omitted for one-element tensors.
  void backward(const Tensor& gradient = {}, bool retain_graph = false,
                bool create_graph = false) const;
  Tensor detach() const;  ///< same data, no history, requires_grad false
  /// A hook on the gradient w.r.t. this tensor, run during backward before
  /// the gradient is used (for a leaf: before it is accumulated into .grad).
  HookHandle register_hook(GradHook hook);
  /// A hook run after a leaf's .grad has been updated; it receives the leaf.
  HookHandle register_post_accumulate_grad_hook(std::function<void(const Tensor& leaf)> hook);
  /// Keep .grad for this non-leaf tensor too (like torch's retain_grad).
  void retain_grad();
  bool retains_grad() const { return impl()->retains_grad; }

  // ---- conversion and copies
  Tensor to(Dtype d) const;  ///< differentiable between float dtypes
  Tensor clone() const;      ///< differentiable copy with its own storage

  // ---- method spellings of the free functions in ops.hpp
  Tensor sum() const;
  Tensor sum(const Dims& dims, bool keepdim = false) const;
  Tensor mean() const;
  Tensor mean(const Dims& dims, bool keepdim = false) const;
  Tensor max() const;
  Tensor min() const;
  // A single dim as an integer, as libtorch users write it: x.sum(1),
  // x.mean(-1, true). (Templates, so x.sum({}) still means every dim.)
  template <class I, IfInteger<I> = 0>
  Tensor sum(I dim, bool keepdim = false) const { return sum(Dims{static_cast<std::int64_t>(dim)}, keepdim); }
  template <class I, IfInteger<I> = 0>
  Tensor mean(I dim, bool keepdim = false) const { return mean(Dims{static_cast<std::int64_t>(dim)}, keepdim); }
  /// (values, int64 indices) of the largest along dim, like torch.max(x, dim):
  /// the gradient goes to the index taken (the first maximum; NaN wins).
  template <class I, IfInteger<I> = 0>
  std::tuple<Tensor, Tensor> max(I dim, bool keepdim = false) const { return max_along(dim, keepdim); }
  template <class I, IfInteger<I> = 0>
  std::tuple<Tensor, Tensor> min(I dim, bool keepdim = false) const { return min_along(dim, keepdim); }
  Tensor argmax() const;
  Tensor argmax(std::int64_t dim, bool keepdim = false) const;
  Tensor argmin() const;
  Tensor argmin(std::int64_t dim, bool keepdim = false) const;
  Tensor var(const Dims& dims = {}, bool keepdim = false, std::int64_t correction = 1) const;
  Tensor std(const Dims& dims = {}, bool keepdim = false, std::int64_t correction = 1) const;
  Tensor any() const;
  Tensor all() const;
  Tensor cumsum(std::int64_t dim) const;
  Tensor logsumexp(const Dims& dims, bool keepdim = false) const;
  Tensor softmax(std::int64_t dim) const;
  Tensor log_softmax(std::int64_t dim) const;
  const Shape& sizes() const { return shape(); }  ///< libtorch's name for shape()
  /// x[i] selects index i of dim 0 (a view), like libtorch's operator[].
  Tensor operator[](std::int64_t index) const { return select(0, index); }
  Tensor reshape(const Shape& shape) const;
  /// reshape that never copies: an error when x's strides cannot show the new shape.
  Tensor view(const Shape& shape) const;
  Tensor flatten(std::int64_t start_dim = 0, std::int64_t end_dim = -1) const;
  Tensor transpose(std::int64_t dim0, std::int64_t dim1) const;
  Tensor t() const;
  Tensor permute(const Dims& order) const;
  Tensor squeeze() const;
  Tensor squeeze(std::int64_t dim) const;
  Tensor unsqueeze(std::int64_t dim) const;
  Tensor expand(const Shape& shape) const;
  Tensor narrow(std::int64_t dim, std::int64_t start, std::int64_t length) const;
  Tensor select(std::int64_t dim, std::int64_t index) const;
  Tensor slice(std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step = 1) const;
  TensorList unbind(std::int64_t dim = 0) const;
  Tensor diagonal(std::int64_t offset = 0, std::int64_t dim1 = 0, std::int64_t dim2 = 1) const;
  Tensor unfold(std::int64_t dim, std::int64_t size, std::int64_t step) const;
  Tensor as_strided(const Shape& size, const Shape& stride, std::int64_t storage_offset = -1) const;
  Tensor matmul(const Tensor& other) const;
  Tensor mm(const Tensor& other) const;  ///< 2-d only, like torch.mm
  Tensor pow(double exponent) const;
  Tensor pow(const Tensor& exponent) const;
  Tensor exp() const;
  Tensor expm1() const;
  Tensor log() const;
  Tensor log1p() const;
  Tensor sqrt() const;
  Tensor rsqrt() const;
  Tensor square() const;
  Tensor abs() const;
  Tensor neg() const;
  Tensor sign() const;
  Tensor sin() const;
  Tensor cos() const;
  Tensor tan() const;
  Tensor asin() const;
  Tensor acos() const;
  Tensor atan() const;
  Tensor sinh() const;
  Tensor cosh() const;
  Tensor reciprocal() const;
  Tensor floor() const;
  Tensor ceil() const;
  Tensor round() const;
  Tensor trunc() const;
  Tensor atan2(const Tensor& other) const;
  Tensor flip(const Dims& dims) const;
  Tensor roll(std::int64_t shift, std::int64_t dim) const;
  Tensor repeat(const Shape& repeats) const;
  Tensor tile(const Shape& repeats) const;
  Tensor cumprod(std::int64_t dim) const;
  Tensor norm(double p = 2, const Dims& dims = {}, bool keepdim = false) const;
  std::tuple<Tensor, Tensor> sort(std::int64_t dim = -1, bool descending = false) const;
  Tensor argsort(std::int64_t dim = -1, bool descending = false) const;
  std::tuple<Tensor, Tensor> topk(std::int64_t k, std::int64_t dim = -1, bool largest = true, bool sorted = true) const;
  Tensor tanh() const;
  Tensor sigmoid() const;
  Tensor relu() const;
  Tensor clamp(double lo, double hi) const;
  Tensor clamp_min(double lo) const;
  Tensor clamp_max(double hi) const;
  Tensor where(const Tensor& condition, const Tensor& other) const;  ///< condition ? *this : other
  Tensor masked_fill(const Tensor& mask, double value) const;
  Tensor index_select(std::int64_t dim, const Tensor& index) const;
  Tensor gather(std::int64_t dim, const Tensor& index) const;
  Tensor triu(std::int64_t diagonal = 0) const;
  Tensor tril(std::int64_t diagonal = 0) const;
  Tensor eq(const Tensor& other) const;
  Tensor ne(const Tensor& other) const;
  Tensor lt(const Tensor& other) const;
  Tensor le(const Tensor& other) const;
  Tensor gt(const Tensor& other) const;
  Tensor ge(const Tensor& other) const;
  Tensor logical_not() const;
  Tensor logical_and(const Tensor& other) const;
  Tensor logical_or(const Tensor& other) const;

  /// What max(dim) and min(dim) call (not templates, so they live in the library).
  std::tuple<Tensor, Tensor> max_along(std::int64_t dim, bool keepdim) const;
  std::tuple<Tensor, Tensor> min_along(std::int64_t dim, bool keepdim) const;

  // ---- in-place (no autograd: use under NoGradGuard or on tensors without grad)
  Tensor& add_(const Tensor& other, double alpha = 1.0);
  Tensor& sub_(const Tensor& other, double alpha = 1.0);
  Tensor& mul_(const Tensor& other);
  Tensor& mul_(double s);
  Tensor& div_(const Tensor& other);
  Tensor& add_(double s);
  Tensor& zero_();
  Tensor& fill_(double value);
  Tensor& copy_(const Tensor& src);
  Tensor& clamp_(double lo, double hi);

  Tensor& operator+=(const Tensor& o) { return add_(o); }
  Tensor& operator-=(const Tensor& o) { return sub_(o); }
  Tensor& operator*=(const Tensor& o) { return mul_(o); }
  Tensor& operator/=(const Tensor& o) { return div_(o); }
  Tensor& operator+=(double s) { return add_(s); }
  Tensor& operator-=(double s) { return add_(-s); }
  Tensor& operator*=(double s) { return mul_(s); }
  Tensor& operator/=(double s) { return mul_(1.0 / s); }

  // ---- identity and raw storage (Note [Storage API] in tensor.cpp)
  /// The same handle (not merely equal values).
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }
  /// A stable identity for this handle, for maps keyed by tensor (optimizer state).
  const void* id() const { return impl_.get(); }
  /// The first element's address, untyped, for any layout (element i... is at
  /// Σ i_d·stride(d) elements from it); for I/O and interop; read-only.
  const void* data_ptr() const;
  /// data_ptr() for writing: bumps the version counter, like mutable_data<T>().
  void* mutable_data_ptr();
  /// Bytes of this tensor's elements (numel · element size; a view's, not its storage's).
  std::size_t nbytes() const { return static_cast<std::size_t>(numel()) * dtype_size(dtype()); }
  /// Makes this handle hold `other`'s data, shape and dtype (shared, not
  /// copied), keeping its own identity, requires_grad and hooks; its .grad is
  /// cleared. What Module::to does to every parameter. Not on a tensor with history.
  void set_data(const Tensor& other);

 private:
  friend struct detail::TensorAccess;
  detail::TensorImpl* impl() const {  ///< throws on an undefined tensor
    if (!impl_) throw_undefined();
    return impl_.get();
  }
  const std::shared_ptr<detail::TensorImpl>& impl_ptr() const { return impl_; }
  [[noreturn]] static void throw_undefined();
  std::shared_ptr<detail::TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// ---- factories
Tensor empty(const Shape& shape, TensorOptions opts = {});
Tensor zeros(const Shape& shape, TensorOptions opts = {});
Tensor ones(const Shape& shape, TensorOptions opts = {});
Tensor full(const Shape& shape, double value, TensorOptions opts = {});
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor full_like(const Tensor& t, double value);
Tensor scalar_tensor(double value, TensorOptions opts = {});  ///< 0-d tensor
Tensor arange(double start, double end, double step = 1.0, TensorOptions opts = {});
Tensor arange(double end, TensorOptions opts = {});
Tensor linspace(double start, double end, std::int64_t steps, TensorOptions opts = {});
Tensor eye(std::int64_t n, TensorOptions opts = {});
Tensor eye(std::int64_t n, std::int64_t m, TensorOptions opts = {});
Tensor rand(const Shape& shape, TensorOptions opts = {});   ///< uniform [0, 1)
Tensor randn(const Shape& shape, TensorOptions opts = {});  ///< standard normal
Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape, TensorOptions opts = Dtype::Int64);
Tensor rand_like(const Tensor& t);
Tensor randn_like(const Tensor& t);
/// Values row-major into `shape`; `tensor({1, 2, 3, 4}, {2, 2})`.
Tensor tensor(std::initializer_list<double> values, const Shape& shape, TensorOptions opts = {});
Tensor tensor(std::initializer_list<double> values, TensorOptions opts = {});  ///< 1-d
/// Nested lists give the shape: `tensor({{1, 2}, {3, 4}})` is 2×2 (rows must agree).
Tensor tensor(std::initializer_list<std::initializer_list<double>> rows, TensorOptions opts = {});
Tensor tensor(std::initializer_list<std::initializer_list<std::initializer_list<double>>> planes,
              TensorOptions opts = {});
/// Any of float, double, int64_t, int32_t (int) or bool; the dtype follows T unless given.
template <class T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape, TensorOptions opts = dtype_of<T>::value);
template <class T>
Tensor from_vector(const std::vector<T>& values, TensorOptions opts = dtype_of<T>::value) {  ///< 1-d
  return from_vector(values, Shape{static_cast<std::int64_t>(values.size())}, opts);
}

/// Seeds the one global generator used by rand/randn/randint and later by
/// init, dropout and data shuffling: same seed, same numbers.
void manual_seed(std::uint64_t seed);
std::uint64_t random_u64();  ///< next raw draw of the global generator
double random_uniform();     ///< next draw in [0, 1)
/// The generator's full state as text, and back: checkpoints save it so a
/// resumed run draws the same dropout masks as an uninterrupted one.
std::string get_rng_state();
void set_rng_state(const std::string& state);

/// One thread count for OpenBLAS and xgrad's own kernels.
void set_num_threads(int n);
int get_num_threads();
/// Bytes of tensor storage alive now (the allocator's own cache of freed
/// blocks not included): a leak shows as growth here, in any build.
std::int64_t live_storage_bytes();

}  // namespace xg
