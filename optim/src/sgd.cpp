#include "xgrad/optim/sgd.hpp"

#include "update.hpp"

namespace xg::optim {

SGD::SGD(const TensorList& params, SGDOptions o) : OptimizerWith(params, o, "SGD") {
  XG_CHECK(o.momentum >= 0, "SGD", "invalid momentum value: ", o.momentum);
  XG_CHECK(o.weight_decay >= 0, "SGD", "invalid weight_decay value: ", o.weight_decay);
  XG_CHECK(!o.nesterov || (o.momentum > 0 && o.dampening == 0), "SGD", "nesterov momentum requires a momentum and zero dampening");
}

void SGD::step() {
  for_each_update([&](const SGDOptions& o, Tensor& p, const Tensor& g, SGDState& s) {
    if (o.momentum != 0 && !s.momentum_buffer.defined()) s.momentum_buffer = detail::zeros_like_param(p);
    const bool first = s.step == 0;
    s.step += 1;
    detail::dispatch(p, "SGD", [&](auto z) {
      using T = decltype(z);
      T* __restrict w = detail::writable<T>(p);
      const T* __restrict d = detail::readable<T>(g);
      const T lr = T(o.lr), wd = T(o.weight_decay), mu = T(o.momentum), damp = T(1 - o.dampening);
      const std::int64_t n = p.numel();
      if (o.momentum == 0) {  // the plain rule, kept branch-free so it vectorises
        detail::for_elements(n, [&](std::int64_t begin, std::int64_t end) {
          for (std::int64_t i = begin; i < end; ++i) w[i] -= lr * (d[i] + wd * w[i]);
        });
        return;
      }
      T* __restrict buf = detail::writable<T>(s.momentum_buffer);
      detail::for_elements(n, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t i = begin; i < end; ++i) {
          const T step_dir = d[i] + wd * w[i];
          buf[i] = first ? step_dir : mu * buf[i] + damp * step_dir;
          w[i] -= lr * (o.nesterov ? step_dir + mu * buf[i] : buf[i]);
        }
      });
    });
  });
}

}  // namespace xg::optim
