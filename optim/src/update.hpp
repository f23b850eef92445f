#pragma once
// What every update rule needs: a loop over (parameter, gradient, state)
// with raw, typed pointers, in place, no temporaries.
#include "internal.hpp"
#include "xgrad/optim/optimizer.hpp"

namespace xg::optim::detail {

/// The data of t as T*, for in-place updates; bumps the version counter.
template <class T>
T* writable(Tensor& t) {
  ++t.impl()->storage->version;
  return static_cast<T*>(t.impl()->storage->data);
}

template <class T>
const T* readable(const Tensor& t) {
  return static_cast<const T*>(t.impl()->storage->data);
}

/// A zero tensor like p, for lazily created state.
inline Tensor zeros_like_param(const Tensor& p) { return zeros(p.shape(), p.dtype()); }

/// Calls f(T{}) with the parameter's element type.
template <class F>
void dispatch(const Tensor& p, const char* op, F&& f) {
  xg::detail::dispatch_float(p.dtype(), op, std::forward<F>(f));
}

}  // namespace xg::optim::detail
