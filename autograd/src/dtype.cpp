#include "xgrad/dtype.hpp"

#include <ostream>

#include "internal.hpp"
#include "xgrad/shape.hpp"

namespace xg {

const char* dtype_name(Dtype d) {
  switch (d) {
    case Dtype::Float32: return "float32";
    case Dtype::Float64: return "float64";
    case Dtype::Int64: return "int64";
    case Dtype::Int32: return "int32";
    case Dtype::Bool: return "bool";
  }
  return "unknown";
}

std::size_t dtype_size(Dtype d) {
  switch (d) {
    case Dtype::Float32: case Dtype::Int32: return 4;
    case Dtype::Float64: case Dtype::Int64: return 8;
    case Dtype::Bool: return 1;
  }
  return 8;
}

namespace {
int promotion_rank(Dtype d) {
  switch (d) {
    case Dtype::Bool: return 0;
    case Dtype::Int32: return 1;
    case Dtype::Int64: return 2;
    case Dtype::Float32: return 3;
    case Dtype::Float64: return 4;
  }
  return 4;
}
}  // namespace

Dtype promote_types(Dtype a, Dtype b) { return promotion_rank(a) >= promotion_rank(b) ? a : b; }

std::ostream& operator<<(std::ostream& os, Dtype d) { return os << dtype_name(d); }

std::string Shape::str() const {
  std::string s = "[";
  for (std::size_t i = 0; i < size(); ++i) {
    if (i) s += ", ";
    s += std::to_string((*this)[i]);
  }
  return s + "]";
}

std::ostream& operator<<(std::ostream& os, const Shape& s) { return os << s.str(); }

std::int64_t checked_numel(const Shape& shape, const char* op, std::size_t item_size) {
  std::int64_t n = 1;
  bool overflow = false;
  for (std::int64_t d : shape) {
    XG_CHECK(d >= 0, op, "negative extent ", d, " in shape ", shape, " (extents must be >= 0)");
    overflow = overflow || __builtin_mul_overflow(n, d, &n);
  }
  std::int64_t bytes = 0;
  overflow = overflow || __builtin_mul_overflow(n, static_cast<std::int64_t>(item_size), &bytes);
  XG_CHECK(!overflow, op, "shape ", shape, " is too large: its storage size calculation overflowed (",
           "the element count times ", item_size, " bytes exceeds 2^63)");
  return n;
}

namespace detail {

std::int64_t wrap_dim(std::int64_t dim, std::int64_t ndim, const char* op) {
  const std::int64_t lo = ndim == 0 ? -1 : -ndim, hi = ndim == 0 ? 0 : ndim - 1;
  XG_CHECK(dim >= lo && dim <= hi, op, "dim ", dim, " is out of range for a tensor of rank ", ndim,
           " (expected a dim in [", lo, ", ", hi, "])");
  return dim < 0 ? dim + std::max<std::int64_t>(ndim, 1) : dim;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const std::size_t n = std::max(a.size(), b.size());
  Shape out(n, 1);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const std::int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    XG_CHECK(da == db || da == 1 || db == 1, op, "shapes ", a, " and ", b,
             " cannot be broadcast together (dim ", i, ": ", da, " vs ", db, ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

void check_broadcasts_to(const Tensor& t, const Tensor& target, const char* op, const char* what,
                         const char* target_name) {
  XG_CHECK(broadcast_shapes(t.shape(), target.shape(), op) == target.shape(), op, what, " ", t.shape(),
           " must broadcast to the ", target_name, " shape ", target.shape());
}

void check_defined(const Tensor& t, const char* op) {
  XG_CHECK(t.defined(), op, "got an undefined tensor");
  if (impl_of(t)->batched) throw_no_batching_rule(op);
}

void check_same_dtype(const Tensor& a, const Tensor& b, const char* op) {
  check_defined(a, op);
  check_defined(b, op);
  XG_CHECK(a.dtype() == b.dtype(), op, "dtypes differ: ", a.dtype(), a.shape(), " and ", b.dtype(),
           b.shape(), " (convert one with .to(...))");
}

}  // namespace detail
}  // namespace xg
