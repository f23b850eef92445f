#include "xgrad/optim/rmsprop.hpp"

#include <cmath>

#include "update.hpp"

namespace xg::optim {

RMSprop::RMSprop(const TensorList& params, RMSpropOptions o) : OptimizerWith(params, o, "RMSprop") {
  XG_CHECK(o.alpha >= 0, "RMSprop", "invalid alpha value: ", o.alpha);
  XG_CHECK(o.eps >= 0, "RMSprop", "invalid epsilon value: ", o.eps);
  XG_CHECK(o.momentum >= 0, "RMSprop", "invalid momentum value: ", o.momentum);
  XG_CHECK(o.weight_decay >= 0, "RMSprop", "invalid weight_decay value: ", o.weight_decay);
}

void RMSprop::step() {
  for_each_update([&](const RMSpropOptions& o, Tensor& p, const Tensor& g, RMSpropState& s) {
    if (!s.square_avg.defined()) {
      s.square_avg = detail::zeros_like_param(p);
      if (o.centered) s.grad_avg = detail::zeros_like_param(p);
      if (o.momentum > 0) s.momentum_buffer = detail::zeros_like_param(p);
    }
    s.step += 1;
    detail::dispatch(p, "RMSprop", [&](auto z) {
      using T = decltype(z);
      T* w = detail::writable<T>(p);
      const T* d = detail::readable<T>(g);
      T* sq = detail::writable<T>(s.square_avg);
      T* ga = o.centered ? detail::writable<T>(s.grad_avg) : nullptr;
      T* buf = o.momentum > 0 ? detail::writable<T>(s.momentum_buffer) : nullptr;
      const T a = T(o.alpha), eps = T(o.eps), wd = T(o.weight_decay), mu = T(o.momentum), lr = T(o.lr);
      for (std::int64_t i = 0; i < p.numel(); ++i) {
        const T grad = d[i] + wd * w[i];
        sq[i] = a * sq[i] + (1 - a) * grad * grad;
        T avg;
        if (ga) {
          ga[i] = a * ga[i] + (1 - a) * grad;
          avg = std::sqrt(sq[i] - ga[i] * ga[i]) + eps;
        } else {
          avg = std::sqrt(sq[i]) + eps;
        }
        if (buf) {
          buf[i] = mu * buf[i] + grad / avg;
          w[i] -= lr * buf[i];
        } else {
          w[i] -= lr * grad / avg;
        }
      }
    });
  });
}

}  // namespace xg::optim
