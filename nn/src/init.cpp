#include "xgrad/nn/init.hpp"

#include <cmath>

#include "xgrad/autograd.hpp"
#include "xgrad/ops.hpp"

namespace xg::nn::init {
namespace {

/// Writes `values` (same shape) into t without recording anything.
Tensor& assign(Tensor& t, const Tensor& values) {
  NoGradGuard no_grad;
  t.copy_(values);
  return t;
}

}  // namespace

double calculate_gain(Nonlinearity nonlinearity, double param) {
  switch (nonlinearity) {
    case Nonlinearity::Linear:
    case Nonlinearity::Sigmoid: return 1.0;
    case Nonlinearity::Tanh: return 5.0 / 3.0;
    case Nonlinearity::ReLU: return std::sqrt(2.0);
    case Nonlinearity::LeakyReLU: return std::sqrt(2.0 / (1.0 + param * param));
  }
  return 1.0;
}

std::pair<std::int64_t, std::int64_t> fan_in_and_fan_out(const Tensor& t) {
  XG_CHECK(t.dim() >= 2, "init", "fan in and fan out need a tensor with at least 2 dims, got ", t.shape());
  std::int64_t receptive = 1;
  for (std::int64_t d = 2; d < t.dim(); ++d) receptive *= t.size(d);
  return {t.size(1) * receptive, t.size(0) * receptive};
}

Tensor& normal_(Tensor& t, double mean, double std) { return assign(t, randn(t.shape(), t.dtype()) * std + mean); }
Tensor& uniform_(Tensor& t, double low, double high) {
  XG_CHECK(low <= high, "uniform_", "low ", low, " is greater than high ", high);
  return assign(t, rand(t.shape(), t.dtype()) * (high - low) + low);
}
Tensor& zeros_(Tensor& t) { return constant_(t, 0.0); }
Tensor& ones_(Tensor& t) { return constant_(t, 1.0); }
Tensor& constant_(Tensor& t, double value) {
  NoGradGuard no_grad;
  t.fill_(value);
  return t;
}

Tensor& xavier_uniform_(Tensor& t, double gain) {
  const auto [in, out] = fan_in_and_fan_out(t);
  const double a = gain * std::sqrt(6.0 / static_cast<double>(in + out));
  return uniform_(t, -a, a);
}

Tensor& xavier_normal_(Tensor& t, double gain) {
  const auto [in, out] = fan_in_and_fan_out(t);
  return normal_(t, 0.0, gain * std::sqrt(2.0 / static_cast<double>(in + out)));
}

namespace {
double kaiming_std(const Tensor& t, double a, FanMode mode, Nonlinearity nl) {
  const auto [in, out] = fan_in_and_fan_out(t);
  const double fan = static_cast<double>(mode == FanMode::FanIn ? in : out);
  return calculate_gain(nl, a) / std::sqrt(fan);
}
}  // namespace

Tensor& kaiming_uniform_(Tensor& t, double a, FanMode mode, Nonlinearity nl) {
  const double bound = std::sqrt(3.0) * kaiming_std(t, a, mode, nl);
  return uniform_(t, -bound, bound);
}

Tensor& kaiming_normal_(Tensor& t, double a, FanMode mode, Nonlinearity nl) {
  return normal_(t, 0.0, kaiming_std(t, a, mode, nl));
}

}  // namespace xg::nn::init
