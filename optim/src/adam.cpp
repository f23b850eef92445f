#include "xgrad/optim/adam.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "update.hpp"

namespace xg::optim {

Adam::Adam(const TensorList& params, AdamOptions o) : Adam(params, o, "Adam", false) {}

Adam::Adam(const TensorList& params, AdamOptions o, const char* name, bool decoupled)
    : OptimizerWith(params, o, name), decoupled_(decoupled) {
  XG_CHECK(o.eps >= 0, name, "invalid epsilon value: ", o.eps);
  XG_CHECK(o.beta1 >= 0 && o.beta1 < 1, name, "invalid beta parameter at index 0: ", o.beta1);
  XG_CHECK(o.beta2 >= 0 && o.beta2 < 1, name, "invalid beta parameter at index 1: ", o.beta2);
  XG_CHECK(o.weight_decay >= 0, name, "invalid weight_decay value: ", o.weight_decay);
}

void Adam::step() {
  for_each_update([&](const AdamOptions& o, Tensor& p, const Tensor& g, AdamState& s) {
    if (!s.exp_avg.defined()) {
      s.exp_avg = detail::zeros_like_param(p);
      s.exp_avg_sq = detail::zeros_like_param(p);
      if (o.amsgrad) s.max_exp_avg_sq = detail::zeros_like_param(p);
    }
    s.step += 1;
    const double bias1 = 1 - std::pow(o.beta1, s.step), bias2_sqrt = std::sqrt(1 - std::pow(o.beta2, s.step));
    detail::dispatch(p, name_, [&](auto z) {
      using T = decltype(z);
      T* __restrict w = detail::writable<T>(p);
      const T* __restrict d = detail::readable<T>(g);
      T* __restrict m = detail::writable<T>(s.exp_avg);
      T* __restrict v = detail::writable<T>(s.exp_avg_sq);
      T* __restrict vmax = o.amsgrad ? detail::writable<T>(s.max_exp_avg_sq) : nullptr;
      const T b1 = T(o.beta1), b2 = T(o.beta2), eps = T(o.eps), wd = T(o.weight_decay);
      const T step_size = T(o.lr / bias1), decay = T(1 - o.lr * o.weight_decay), b2s = T(bias2_sqrt);
      // The variant is a template argument, so each loop is branch-free and vectorises.
      auto update = [&](auto decoupled, auto amsgrad) {
        detail::for_elements(p.numel(), [&](std::int64_t begin, std::int64_t end) {
          for (std::int64_t i = begin; i < end; ++i) {
            T grad = d[i];
            if constexpr (decltype(decoupled)::value) {
              w[i] *= decay;
            } else {
              grad += wd * w[i];
            }
            m[i] = b1 * m[i] + (1 - b1) * grad;
            v[i] = b2 * v[i] + (1 - b2) * grad * grad;
            T second = v[i];
            if constexpr (decltype(amsgrad)::value) second = vmax[i] = std::max(vmax[i], v[i]);
            w[i] -= step_size * m[i] / (std::sqrt(second) / b2s + eps);
          }
        });
      };
      using yes = std::true_type;
      using no = std::false_type;
      if (decoupled_) {
        o.amsgrad ? update(yes{}, yes{}) : update(yes{}, no{});
      } else {
        o.amsgrad ? update(no{}, yes{}) : update(no{}, no{});
      }
    });
  });
}

}  // namespace xg::optim
