// Losses (ops_loss.cpp): values against PyTorch and their argument checks.
#include <cmath>
#include <functional>
#include <tuple>
#include <vector>

#include "helpers.hpp"

using namespace xg;
using namespace test;

TEST_CASE("losses match PyTorch") {
  const Tensor x = x24();
  const Tensor t = idx({3, 1}, {2});
  CHECK(cross_entropy(x, t).item() == doctest::Approx(2.0284566246079194).epsilon(1e-12));
  CrossEntropyOptions o;
  o.weight = tensor({1.0, 2.0, 0.5, 1.5}, float64);
  o.label_smoothing = 0.1;
  CHECK(cross_entropy(x, t, o).item() == doctest::Approx(2.261726843795652).epsilon(1e-12));
  CrossEntropyOptions none;
  none.reduction = Reduction::None;
  check_values(cross_entropy(x, idx({3, -100}, {2}), none), {0.20225344767935172, 0.0}, 1e-12);
  CHECK(cross_entropy(x, idx({3, -100}, {2})).item() == doctest::Approx(0.20225344767935172).epsilon(1e-12));
  // Soft targets equal to one-hot give the same loss as class targets.
  CHECK(cross_entropy(x, one_hot(t, 4, float64)).item() == doctest::Approx(2.0284566246079194).epsilon(1e-12));
  const Tensor p = tensor({0.2, 0.9, 0.5, 1.0}, float64), y = tensor({0.0, 1.0, 1.0, 0.0}, float64);
  CHECK(binary_cross_entropy(p, y).item() == doctest::Approx(25.255412811882994).epsilon(1e-12));
  CHECK(binary_cross_entropy_with_logits(x.select(0, 0), y, Reduction::Mean, {}, full({4}, 2.0, float64)).item() ==
        doctest::Approx(2.390964757384531).epsilon(1e-12));
  CHECK(smooth_l1_loss(x.select(0, 0), x.select(0, 1), Reduction::Mean, 0.5).item() == doctest::Approx(0.975));
  CHECK(huber_loss(x.select(0, 0), x.select(0, 1), Reduction::Mean, 0.5).item() == doctest::Approx(0.4875));
  CHECK(mse_loss(tensor({1, 2}), tensor({3, 5}), Reduction::Sum).item() == 13);
  CHECK(l1_loss(tensor({1, 2}), tensor({3, 5})).item() == 2.5);
  CHECK(contains(error_of([&] { cross_entropy(x, idx({3, 4}, {2})); }),
                 "cross_entropy: target 4 at position 1 is out of range for 4 classes"));
  CHECK(contains(error_of([&] { cross_entropy(x, tensor({3, 1})); }), "class indices must be int64"));
  CHECK(contains(error_of([&] { mse_loss(ones({3, 1}), ones({3})); }), "mse_loss: input [3, 1] and target [3] differ in shape"));
  CHECK(contains(error_of([&] { binary_cross_entropy(tensor({1.5}), tensor({1.0})); }), "input values must be in [0, 1]"));
}

TEST_CASE("fused cross_entropy agrees with log_softmax + nll_loss (weights, smoothing, ignore_index, every reduction) in float32 and float64, values and gradients") {
  xg::manual_seed(5);
  for (xg::Dtype dt : {xg::float32, xg::float64}) {
    for (std::int64_t c : {3, 37, 1000}) {
      const std::int64_t n = 19;
      xg::Tensor logits = (xg::randn({n, c}) * 4.0).to(dt).requires_grad_(true);
      std::vector<std::int64_t> t(static_cast<std::size_t>(n));
      for (std::int64_t i = 0; i < n; ++i) t[static_cast<std::size_t>(i)] = i % 5 == 0 ? -100 : (i * 7) % c;
      const xg::Tensor target = xg::from_vector(t, {n});
      for (xg::Reduction r : {xg::Reduction::Mean, xg::Reduction::Sum, xg::Reduction::None})
        for (double eps : {0.0, 0.15})
          for (bool weighted : {false, true}) {
            xg::CrossEntropyOptions o;
            o.reduction = r;
            o.label_smoothing = eps;
            if (weighted) o.weight = (xg::rand({c}) + 0.5).to(dt);
            CAPTURE(c);
            CAPTURE(eps);
            CAPTURE(weighted);
            const double tol = dt == xg::float32 ? 1e-5 : 1e-12;
            const xg::Tensor fused = xg::cross_entropy(logits, target, o);
            const xg::Tensor gf = xg::grad({fused.sum()}, {logits})[0];
            // The composed form: log_softmax, then nll_loss (+ the smoothing term).
            const xg::Tensor lp = xg::log_softmax(logits, 1);
            xg::Tensor composed = xg::nll_loss(lp, target, o);
            const xg::Tensor gc = xg::grad({composed.sum()}, {logits})[0];
            check_values(fused, values(composed), tol);
            check_values(gf, values(gc), dt == xg::float32 ? 1e-4 : 1e-10);
          }
    }
  }
}

TEST_CASE("fused cross_entropy on a non-contiguous logits view, and with create_graph (second order through the Tensor-op formula)") {
  const xg::Tensor base = xg::tensor({1.0, -2.0, 0.5, 3.0, 0.1, 0.2, -0.3, 4.0, 0.7, -1.1, 2.2, 0.0}, {3, 4}, f64_grad());
  const xg::Tensor logits = base.t();  // [4, 3], strided
  const xg::Tensor target = idx({2, 0, 1, 1}, {4});
  const xg::Tensor loss = xg::cross_entropy(logits, target);
  const xg::Tensor expected = xg::nll_loss(xg::log_softmax(base.t().contiguous(), 1), target);  // its own graph
  CHECK(loss.item() == doctest::Approx(expected.item()).epsilon(1e-12));
  const xg::Tensor g = xg::grad({loss}, {base}, {}, true, true)[0];
  const xg::Tensor g2 = xg::grad({(g * g).sum()}, {base})[0];
  const xg::Tensor ge = xg::grad({expected}, {base}, {}, true, true)[0];
  const xg::Tensor g2e = xg::grad({(ge * ge).sum()}, {base})[0];
  check_values(g, values(ge), 1e-12);
  check_values(g2, values(g2e), 1e-10);
}

TEST_CASE("fused mse/l1/smooth_l1/huber agree with their composed formulas, every reduction, float32 and float64, strided inputs, both gradients") {
  xg::manual_seed(9);
  for (xg::Dtype dt : {xg::float32, xg::float64}) {
    xg::Tensor xb = (xg::randn({40, 30}) * 2.0).to(dt).requires_grad_(true);
    xg::Tensor tb = (xg::randn({30, 40}) * 2.0).to(dt).requires_grad_(true);
    const xg::Tensor& x = xb;
    const double tol = dt == xg::float32 ? 1e-5 : 1e-12;
    using F = std::function<xg::Tensor(const xg::Tensor&, const xg::Tensor&, xg::Reduction)>;
    using C = std::function<xg::Tensor(const xg::Tensor&)>;  // the per-element loss of d = x − t, composed
    const std::vector<std::tuple<const char*, F, C>> losses = {
        {"mse", [](auto& a, auto& b, auto r) { return xg::mse_loss(a, b, r); }, [](const xg::Tensor& d) { return d * d; }},
        {"l1", [](auto& a, auto& b, auto r) { return xg::l1_loss(a, b, r); }, [](const xg::Tensor& d) { return xg::abs(d); }},
        {"smooth_l1", [](auto& a, auto& b, auto r) { return xg::smooth_l1_loss(a, b, r, 0.8); },
         [](const xg::Tensor& d) { return xg::where(xg::lt(xg::abs(d), 0.8), d * d * (0.5 / 0.8), xg::abs(d) - 0.4); }},
        {"huber", [](auto& a, auto& b, auto r) { return xg::huber_loss(a, b, r, 1.3); },
         [](const xg::Tensor& d) { return xg::where(xg::lt(xg::abs(d), 1.3), d * d * 0.5, (xg::abs(d) - 0.65) * 1.3); }},
    };
    for (const auto& [name, fused, composed] : losses)
      for (xg::Reduction r : {xg::Reduction::None, xg::Reduction::Sum, xg::Reduction::Mean}) {
        const std::string which = name;
        CAPTURE(which);
        const xg::Tensor y = fused(x, tb.t(), r);  // the target is a transposed view (one per graph)
        const xg::Tensor per = composed(x - tb.t());
        const xg::Tensor want = r == xg::Reduction::None ? per : r == xg::Reduction::Sum ? per.sum() : per.mean();
        check_values(y, values(want), tol);
        const xg::Tensor up = r == xg::Reduction::None ? xg::randn({40, 30}).to(dt) : xg::ones({}, dt);
        const auto g = xg::grad({(y * up).sum()}, {xb, tb});
        const auto gw = xg::grad({(want * up).sum()}, {xb, tb});
        check_values(g[0], values(gw[0]), tol);
        check_values(g[1], values(gw[1]), tol);
      }
  }
  CHECK(contains(error_of([] { xg::huber_loss(xg::ones({2}), xg::ones({2}), xg::Reduction::Mean, 0.0); }), "huber_loss: delta must be"));
}
