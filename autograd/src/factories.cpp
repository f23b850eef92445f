// Factories and the global random generator.

#include <cmath>
#include <cstring>
#include <mutex>
#include <random>
#include <sstream>

#include "internal.hpp"

namespace xg {
namespace {

Tensor filled(const Shape& shape, double value, TensorOptions opts, const char* op) {
  Tensor t = detail::make_tensor(shape, opts.dtype(), op);
  detail::dispatch_all(opts.dtype(), [&](auto z) {
    using T = decltype(z);
    T* p = t.data<T>();
    const T v = detail::cast_value<T>(value);
    for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = v;
  });
  if (opts.requires_grad()) t.requires_grad_(true);
  return t;
}

// Note [Reproducibility]
// One generator for the whole program: the same seed gives the same weights,
// batches and dropout masks, bit for bit, on any machine (the draws are our
// own arithmetic, not the standard library's distributions). Losses and
// gradients are bit-identical only on the same machine kind (the same CPU
// kernel path in OpenBLAS) with the same thread count: another SIMD path or
// another split of a sum over threads adds in a different order, and the last
// digits differ.
std::mt19937_64& generator() {
  static std::mt19937_64 gen(0x5eed);
  return gen;
}

// Threads share the one generator; each draw (or each tensor's worth of
// draws) holds the lock, so concurrent use is safe, if not reproducible.
std::recursive_mutex& generator_mutex() {
  static std::recursive_mutex m;
  return m;
}

template <class T, class Draw>
Tensor generated(const Shape& shape, TensorOptions opts, const char* op, Draw draw) {
  std::lock_guard<std::recursive_mutex> lock(generator_mutex());
  Tensor t = detail::make_tensor(shape, opts.dtype(), op);
  detail::dispatch_float(opts.dtype(), op, [&](auto z) {
    using U = decltype(z);
    U* p = t.data<U>();
    for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<U>(draw());
  });
  if (opts.requires_grad()) t.requires_grad_(true);
  return t;
}

}  // namespace

void manual_seed(std::uint64_t seed) {
  std::lock_guard<std::recursive_mutex> lock(generator_mutex());
  generator().seed(seed);
}
std::uint64_t random_u64() {
  std::lock_guard<std::recursive_mutex> lock(generator_mutex());
  return generator()();
}
double random_uniform() { return static_cast<double>(random_u64() >> 11) * 0x1.0p-53; }

std::string get_rng_state() {
  std::lock_guard<std::recursive_mutex> lock(generator_mutex());
  std::ostringstream os;
  os << generator();
  return os.str();
}

void set_rng_state(const std::string& state) {
  std::istringstream is(state);
  std::mt19937_64 g;
  is >> g;
  XG_CHECK(!is.fail(), "set_rng_state", "the text is not a generator state saved by get_rng_state");
  std::lock_guard<std::recursive_mutex> lock(generator_mutex());
  generator() = g;
}

static double random_normal() {
  // Box–Muller, written out so that the numbers do not depend on the
  // standard library's distribution implementation.
  double u1 = random_uniform();
  while (u1 <= 0.0) u1 = random_uniform();
  const double u2 = random_uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

Tensor empty(const Shape& shape, TensorOptions opts) {
  Tensor t = detail::make_tensor(shape, opts.dtype(), "empty");
  if (opts.requires_grad()) t.requires_grad_(true);
  return t;
}
Tensor zeros(const Shape& shape, TensorOptions opts) { return filled(shape, 0.0, opts, "zeros"); }
Tensor ones(const Shape& shape, TensorOptions opts) { return filled(shape, 1.0, opts, "ones"); }
Tensor full(const Shape& shape, double value, TensorOptions opts) { return filled(shape, value, opts, "full"); }
Tensor zeros_like(const Tensor& t) { return filled(t.shape(), 0.0, t.dtype(), "zeros_like"); }
Tensor ones_like(const Tensor& t) { return filled(t.shape(), 1.0, t.dtype(), "ones_like"); }
Tensor full_like(const Tensor& t, double value) { return filled(t.shape(), value, t.dtype(), "full_like"); }
Tensor scalar_tensor(double value, TensorOptions opts) { return filled(Shape{}, value, opts, "scalar_tensor"); }

Tensor arange(double start, double end, double step, TensorOptions opts) {
  XG_CHECK(std::isfinite(start) && std::isfinite(end) && std::isfinite(step), "arange",
           "start, end and step must be finite, got start ", start, ", end ", end, ", step ", step);
  XG_CHECK(step != 0.0, "arange", "step must be nonzero");
  XG_CHECK((end - start) / step >= 0, "arange", "the range [", start, ", ", end, ") with step ", step,
           " goes the wrong way");
  const double count = std::ceil((end - start) / step);
  // Checked before the conversion: a double beyond int64's range does not convert.
  XG_CHECK(count < 0x1p62, "arange", "the range [", start, ", ", end, ") with step ", step, " has ", count,
           " elements, too many to allocate");
  const auto n = static_cast<std::int64_t>(count);
  Tensor t = detail::make_tensor(Shape{n}, opts.dtype(), "arange");
  detail::dispatch_all(opts.dtype(), [&](auto z) {
    using T = decltype(z);
    T* p = t.data<T>();
    for (std::int64_t i = 0; i < n; ++i) p[i] = detail::cast_value<T>(start + static_cast<double>(i) * step);
  });
  if (opts.requires_grad()) t.requires_grad_(true);
  return t;
}
Tensor arange(double end, TensorOptions opts) { return arange(0.0, end, 1.0, opts); }

Tensor linspace(double start, double end, std::int64_t steps, TensorOptions opts) {
  XG_CHECK(steps >= 0, "linspace", "steps must be non-negative, got ", steps);
  Tensor t = detail::make_tensor(Shape{steps}, opts.dtype(), "linspace");
  const double h = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0.0;
  detail::dispatch_all(opts.dtype(), [&](auto z) {
    using T = decltype(z);
    T* p = t.data<T>();
    for (std::int64_t i = 0; i < steps; ++i) p[i] = detail::cast_value<T>(start + static_cast<double>(i) * h);
    if (steps > 1) p[steps - 1] = detail::cast_value<T>(end);
  });
  if (opts.requires_grad()) t.requires_grad_(true);
  return t;
}

Tensor eye(std::int64_t n, TensorOptions opts) { return eye(n, n, opts); }
Tensor eye(std::int64_t n, std::int64_t m, TensorOptions opts) {
  XG_CHECK(n >= 0 && m >= 0, "eye", "n and m must be non-negative, got n = ", n, ", m = ", m);
  Tensor t = filled(Shape{n, m}, 0.0, opts.requires_grad(false), "eye");
  detail::dispatch_all(opts.dtype(), [&](auto z) {
    using T = decltype(z);
    T* p = t.data<T>();
    for (std::int64_t i = 0; i < std::min(n, m); ++i) p[i * m + i] = T(1);
  });
  if (opts.requires_grad()) t.requires_grad_(true);
  return t;
}

Tensor rand(const Shape& shape, TensorOptions opts) {
  return generated<double>(shape, opts, "rand", [] { return random_uniform(); });
}
Tensor randn(const Shape& shape, TensorOptions opts) {
  return generated<double>(shape, opts, "randn", [] { return random_normal(); });
}
Tensor rand_like(const Tensor& t) { return rand(t.shape(), t.dtype()); }
Tensor randn_like(const Tensor& t) { return randn(t.shape(), t.dtype()); }

Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape, TensorOptions opts) {
  XG_CHECK(high > low, "randint", "empty range [", low, ", ", high, ")");
  // high − low in unsigned arithmetic: it fits even for [INT64_MIN, INT64_MAX).
  const std::uint64_t span = static_cast<std::uint64_t>(high) - static_cast<std::uint64_t>(low);
  std::lock_guard<std::recursive_mutex> lock(generator_mutex());
  Tensor t = detail::make_tensor(shape, opts.dtype(), "randint");
  detail::dispatch_all(opts.dtype(), [&](auto z) {
    using T = decltype(z);
    T* p = t.data<T>();
    for (std::int64_t i = 0; i < t.numel(); ++i)
      p[i] = static_cast<T>(static_cast<std::int64_t>(static_cast<std::uint64_t>(low) + random_u64() % span));
  });
  return t;
}

Tensor tensor(std::initializer_list<double> values, const Shape& shape, TensorOptions opts) {
  const std::int64_t n = checked_numel(shape, "tensor");
  XG_CHECK(static_cast<std::int64_t>(values.size()) == n, "tensor", values.size(), " values do not fill shape ", shape,
           " (", n, " elements)");
  Tensor t = detail::make_tensor(shape, opts.dtype(), "tensor");
  detail::dispatch_all(opts.dtype(), [&](auto z) {
    using T = decltype(z);
    T* p = t.data<T>();
    for (double v : values) *p++ = detail::cast_value<T>(v);
  });
  if (opts.requires_grad()) t.requires_grad_(true);
  return t;
}
Tensor tensor(std::initializer_list<double> values, TensorOptions opts) {
  return tensor(values, Shape{static_cast<std::int64_t>(values.size())}, opts);
}

Tensor tensor(std::initializer_list<std::initializer_list<double>> rows, TensorOptions opts) {
  const std::size_t width = rows.size() ? rows.begin()->size() : 0;
  std::vector<double> flat;
  for (const auto& row : rows) {
    XG_CHECK(row.size() == width, "tensor", "rows of different lengths (", width, " and ", row.size(),
             "): nested lists must be rectangular");
    flat.insert(flat.end(), row.begin(), row.end());
  }
  return from_vector(flat, {static_cast<std::int64_t>(rows.size()), static_cast<std::int64_t>(width)}, opts);
}

Tensor tensor(std::initializer_list<std::initializer_list<std::initializer_list<double>>> planes,
              TensorOptions opts) {
  const std::size_t rows = planes.size() ? planes.begin()->size() : 0;
  const std::size_t width = rows ? planes.begin()->begin()->size() : 0;
  std::vector<double> flat;
  for (const auto& plane : planes) {
    XG_CHECK(plane.size() == rows, "tensor", "planes with different numbers of rows (", rows, " and ", plane.size(),
             "): nested lists must be rectangular");
    for (const auto& row : plane) {
      XG_CHECK(row.size() == width, "tensor", "rows of different lengths (", width, " and ", row.size(),
               "): nested lists must be rectangular");
      flat.insert(flat.end(), row.begin(), row.end());
    }
  }
  return from_vector(flat,
                     {static_cast<std::int64_t>(planes.size()), static_cast<std::int64_t>(rows),
                      static_cast<std::int64_t>(width)},
                     opts);
}

template <class T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape, TensorOptions opts) {
  const std::int64_t n = checked_numel(shape, "from_vector");
  XG_CHECK(static_cast<std::int64_t>(values.size()) == n, "from_vector", values.size(), " values do not fill shape ",
           shape, " (", n, " elements)");
  Tensor t = detail::make_tensor(shape, opts.dtype(), "from_vector");
  detail::dispatch_all(opts.dtype(), [&](auto z) {
    using U = decltype(z);
    U* p = t.data<U>();
    for (std::size_t i = 0; i < values.size(); ++i) p[i] = detail::cast_value<U>(values[i]);
  });
  if (opts.requires_grad()) t.requires_grad_(true);
  return t;
}
template Tensor from_vector<float>(const std::vector<float>&, const Shape&, TensorOptions);
template Tensor from_vector<double>(const std::vector<double>&, const Shape&, TensorOptions);
template Tensor from_vector<std::int64_t>(const std::vector<std::int64_t>&, const Shape&, TensorOptions);
template Tensor from_vector<std::int32_t>(const std::vector<std::int32_t>&, const Shape&, TensorOptions);
template Tensor from_vector<bool>(const std::vector<bool>&, const Shape&, TensorOptions);

}  // namespace xg
