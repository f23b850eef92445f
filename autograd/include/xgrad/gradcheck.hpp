#pragma once
// gradcheck / gradgradcheck: compare the analytic Jacobian (built from
// vector-Jacobian products through the engine) with central finite
// differences, in float64, element by element.
#include <functional>
#include <string>
#include <type_traits>

#include "xgrad/autograd.hpp"

namespace xg {

struct GradcheckOptions {
  double eps = 1e-6;   ///< finite-difference step
  double atol = 1e-5;  ///< |analytic - numeric| <= atol + rtol * |numeric|
  double rtol = 1e-3;
  /// Compare uᵀJv for random u, v (one backward and two evaluations per
  /// input) instead of the full Jacobian: much faster, slightly weaker.
  bool fast_mode = false;
};

struct GradcheckResult {
  bool ok = true;
  std::string report;  ///< on failure: which output, input and element, analytic vs numeric
  explicit operator bool() const { return ok; }
};

using MultiFunction = std::function<TensorList(const TensorList&)>;
struct VmapCheckResult;

namespace detail {
GradcheckResult gradcheck_impl(const MultiFunction& f, const TensorList& inputs, const GradcheckOptions& opts);
GradcheckResult gradgradcheck_impl(const MultiFunction& f, const TensorList& inputs, const GradcheckOptions& opts);
GradcheckResult check_jvp_impl(const MultiFunction& f, const TensorList& inputs, const GradcheckOptions& opts);
VmapCheckResult check_vmap_impl(const MultiFunction& f, const TensorList& inputs, double tolerance);

template <class F>
MultiFunction as_multi(F&& f) {
  using R = std::invoke_result_t<F&, const TensorList&>;
  if constexpr (std::is_same_v<std::decay_t<R>, Tensor>) {
    return [f = std::forward<F>(f)](const TensorList& in) -> TensorList { return {f(in)}; };
  } else {
    return MultiFunction(std::forward<F>(f));
  }
}
}  // namespace detail

/// Checks first derivatives of f (returning a Tensor or a TensorList) at
/// `inputs` with respect to every input that requires grad. Inputs must be float64.
template <class F>
GradcheckResult gradcheck(F&& f, const TensorList& inputs, const GradcheckOptions& opts = {}) {
  return detail::gradcheck_impl(detail::as_multi(std::forward<F>(f)), inputs, opts);
}

/// Checks second derivatives: gradcheck of (inputs, v) -> vjp(f, inputs, v)
/// with random v, the backward built with create_graph.
template <class F>
GradcheckResult gradgradcheck(F&& f, const TensorList& inputs, const GradcheckOptions& opts = {}) {
  return detail::gradgradcheck_impl(detail::as_multi(std::forward<F>(f)), inputs, opts);
}

/// Checks forward mode (forward_ad.hpp): along a random direction v over the
/// inputs that require grad, the tangents f gives on dual inputs equal
/// central finite differences, f's values on dual inputs equal f's, and
/// <u, J v> computed by forward mode equals <Jᵀu, v> computed by reverse mode
/// for a random u. Inputs must be float64.
template <class F>
GradcheckResult check_jvp(F&& f, const TensorList& inputs, const GradcheckOptions& opts = {}) {
  return detail::check_jvp_impl(detail::as_multi(std::forward<F>(f)), inputs, opts);
}

struct VmapCheckResult {
  bool ok = true;       ///< vmap gave the loop's values (and per-example gradients)
  bool batched = true;  ///< every vmap ran f once on the batch (no fallback loop)
  std::string report;   ///< on failure: which case and element; else why vmap looped, if it did
  explicit operator bool() const { return ok; }
};

/// vmap(f) against a loop over examples (Note [Batching] in vmap.cpp), on
/// three examples made from the inputs: every input mapped over dim 0; the
/// first mapped over its last dim with the others shared by every example;
/// and per-example gradients (vmap of a vjp of f). Values agree to
/// `tolerance` (relative, summation order may differ); `batched` says
/// whether the batching rules carried all of it or vmap fell back to the loop.
template <class F>
VmapCheckResult check_vmap(F&& f, const TensorList& inputs, double tolerance = 1e-10) {
  return detail::check_vmap_impl(detail::as_multi(std::forward<F>(f)), inputs, tolerance);
}

}  // namespace xg
