#pragma once
// What every update rule needs: a loop over (parameter, gradient, state)
// with raw, typed pointers, in place, no temporaries.
#include "xgrad/optim/optimizer.hpp"
#include "xgrad/parallel.hpp"

namespace xg::optim::detail {

/// The data of t as T*, for in-place updates (bumps the version counter).
template <class T>
T* writable(Tensor& t) {
  return t.mutable_data<T>();
}

template <class T>
const T* readable(const Tensor& t) {
  return t.data<T>();
}

/// A zero tensor like p, for lazily created state.
inline Tensor zeros_like_param(const Tensor& p) { return zeros(p.shape(), p.dtype()); }

/// Calls f(begin, end) over [0, n) split across threads: update rules are a
/// few flops per element, memory-bound, so they split above the usual grain.
template <class F>
void for_elements(std::int64_t n, const F& f) {
  parallel_for(n, kParallelGrain, [&](std::int64_t begin, std::int64_t end) {
    FlushDenormals flush;  // per thread: a worker has its own FP mode (Note [Denormals in optimizer state])
    f(begin, end);
  });
}

/// Calls f(T{}) with the parameter's element type.
template <class F>
void dispatch(const Tensor& p, const char* op, F&& f) {
  if (p.dtype() == Dtype::Float32) return f(float{});
  if (p.dtype() == Dtype::Float64) return f(double{});
  xg::detail::fail(op, "parameters must be float32 or float64, got ", p.dtype(), p.shape());
}

}  // namespace xg::optim::detail
