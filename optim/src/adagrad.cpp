#include "xgrad/optim/adagrad.hpp"

#include <cmath>

#include "update.hpp"

namespace xg::optim {

Adagrad::Adagrad(const TensorList& params, AdagradOptions o) : OptimizerWith(params, o, "Adagrad") {
  XG_CHECK(o.lr_decay >= 0, "Adagrad", "invalid lr_decay value: ", o.lr_decay);
  XG_CHECK(o.weight_decay >= 0, "Adagrad", "invalid weight_decay value: ", o.weight_decay);
  XG_CHECK(o.initial_accumulator_value >= 0, "Adagrad", "invalid initial_accumulator_value value: ",
           o.initial_accumulator_value);
  XG_CHECK(o.eps >= 0, "Adagrad", "invalid epsilon value: ", o.eps);
}

void Adagrad::step() {
  for_each_update([&](const AdagradOptions& o, Tensor& p, const Tensor& g, AdagradState& s) {
    if (!s.sum.defined()) s.sum = full(p.shape(), o.initial_accumulator_value, p.dtype());
    s.step += 1;
    const double clr = o.lr / (1 + (s.step - 1) * o.lr_decay);
    detail::dispatch(p, "Adagrad", [&](auto z) {
      using T = decltype(z);
      T* w = detail::writable<T>(p);
      const T* d = detail::readable<T>(g);
      T* acc = detail::writable<T>(s.sum);
      const T lr = T(clr), wd = T(o.weight_decay), eps = T(o.eps);
      for (std::int64_t i = 0; i < p.numel(); ++i) {
        const T grad = d[i] + wd * w[i];
        acc[i] += grad * grad;
        w[i] -= lr * grad / (std::sqrt(acc[i]) + eps);
      }
    });
  });
}

}  // namespace xg::optim
