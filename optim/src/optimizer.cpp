#include <cmath>

#if defined(__SSE2__)
#include <xmmintrin.h>
#endif
#include "xgrad/optim/optimizer.hpp"

namespace xg::optim {

void Optimizer::zero_grad(bool set_to_none) {
  for (std::size_t g = 0; g < num_param_groups(); ++g)
    for (Tensor p : params(g)) p.zero_grad(set_to_none);
}

namespace detail {

Tensor scalar_f64(double v) { return scalar_tensor(v, float64); }

double read_scalar(const nn::StateDict& d, const std::string& key, const char* op) {
  auto it = d.find(key);
  XG_CHECK(it != d.end(), op, "the state dict has no '", key, "'");
  XG_CHECK(it->second.numel() == 1, op, "'", key, "' should hold one number, got shape ", it->second.shape());
  return it->second.item();
}

#if defined(__SSE2__)
FlushDenormals::FlushDenormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | 0x8040u); }  // FTZ (bit 15) | DAZ (bit 6)
FlushDenormals::~FlushDenormals() { _mm_setcsr(saved_); }
#else
FlushDenormals::FlushDenormals() = default;  // other CPUs: denormals are left as they are
FlushDenormals::~FlushDenormals() = default;
#endif

double read_finite(const nn::StateDict& d, const std::string& key, const char* op) {
  const double v = read_scalar(d, key, op);
  XG_CHECK(std::isfinite(v), op, "'", key, "' must be finite, got ", v);
  return v;
}

double read_count(const nn::StateDict& d, const std::string& key, const char* op) {
  const double v = read_scalar(d, key, op);
  XG_CHECK(std::isfinite(v) && v >= 0 && v == std::floor(v) && v < 0x1p53, op, "'", key,
           "' must be a non-negative whole number, got ", v);
  return v;
}

// Zero is allowed: schedules such as cosine annealing end at exactly 0.
void check_options_lr(double lr, const char* op) {
  XG_CHECK(std::isfinite(lr) && lr >= 0, op, "invalid learning rate: ", lr);
}

}  // namespace detail
}  // namespace xg::optim
