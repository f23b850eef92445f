#include "xgrad/optim/clip.hpp"

#include <cmath>
#include <limits>

#include "update.hpp"

namespace xg::optim {

double clip_grad_norm_(const TensorList& params, double max_norm, double norm_type, bool error_if_nonfinite) {
  XG_CHECK(max_norm >= 0, "clip_grad_norm_", "max_norm must be >= 0, got ", max_norm);
  XG_CHECK(norm_type > 0, "clip_grad_norm_", "norm_type must be positive, got ", norm_type);
  const bool inf_norm = std::isinf(norm_type);
  double acc = 0;
  for (const Tensor& p : params) {
    const Tensor g = p.grad();
    if (!g.defined()) continue;
    detail::dispatch(g, "clip_grad_norm_", [&](auto z) {
      using T = decltype(z);
      const T* d = detail::readable<T>(g);
      for (std::int64_t i = 0; i < g.numel(); ++i) {
        const double a = std::abs(static_cast<double>(d[i]));
        if (inf_norm) {
          acc = (a > acc || a != a) ? a : acc;
        } else {
          acc += std::pow(a, norm_type);
        }
      }
    });
  }
  const double total = inf_norm ? acc : std::pow(acc, 1.0 / norm_type);
  if (!std::isfinite(total)) {
    XG_CHECK(!error_if_nonfinite, "clip_grad_norm_", "the total norm of the gradients is ", total,
             ", so they cannot be clipped (pass error_if_nonfinite=false to skip this check)");
    return total;
  }
  const double coef = max_norm / (total + 1e-6);
  if (coef >= 1) return total;
  NoGradGuard no_grad;
  for (const Tensor& p : params) {
    Tensor g = p.grad();
    if (g.defined()) g.mul_(coef);
  }
  return total;
}

void clip_grad_value_(const TensorList& params, double clip_value) {
  XG_CHECK(clip_value >= 0, "clip_grad_value_", "clip_value must be >= 0, got ", clip_value);
  NoGradGuard no_grad;
  for (const Tensor& p : params) {
    Tensor g = p.grad();
    if (g.defined()) g.clamp_(-clip_value, clip_value);
  }
}

}  // namespace xg::optim
