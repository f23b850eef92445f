#include "xgrad/optim/lion.hpp"

#include "update.hpp"

namespace xg::optim {

Lion::Lion(const TensorList& params, LionOptions o) : OptimizerWith(params, o, "Lion") {
  XG_CHECK(o.beta1 >= 0 && o.beta1 < 1, "Lion", "invalid beta parameter at index 0: ", o.beta1);
  XG_CHECK(o.beta2 >= 0 && o.beta2 < 1, "Lion", "invalid beta parameter at index 1: ", o.beta2);
  XG_CHECK(o.weight_decay >= 0, "Lion", "invalid weight_decay value: ", o.weight_decay);
}

void Lion::step() {
  for_each_update([&](const LionOptions& o, Tensor& p, const Tensor& g, LionState& s) {
    if (!s.exp_avg.defined()) s.exp_avg = detail::zeros_like_param(p);
    s.step += 1;
    detail::dispatch(p, "Lion", [&](auto z) {
      using T = decltype(z);
      T* w = detail::writable<T>(p);
      const T* d = detail::readable<T>(g);
      T* m = detail::writable<T>(s.exp_avg);
      const T b1 = T(o.beta1), b2 = T(o.beta2), lr = T(o.lr), decay = T(1 - o.lr * o.weight_decay);
      for (std::int64_t i = 0; i < p.numel(); ++i) {
        const T c = b1 * m[i] + (1 - b1) * d[i];
        w[i] = w[i] * decay - lr * T((c > 0) - (c < 0));
        m[i] = b2 * m[i] + (1 - b2) * d[i];
      }
    });
  });
}

}  // namespace xg::optim
