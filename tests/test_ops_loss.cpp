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

// PyTorch 1.13 in float64 on the same inputs: /usr/bin/python3 tests/pytorch_golden.py spatial_losses.
TEST_CASE("cross_entropy and nll_loss on [N, C, d1, ...] logits: values and gradients match PyTorch") {
  static const auto targets = [] { return tensor({2, 0, 1, 1, 2, 0, 2, 1}, Shape{2, 4}, int64); };
  const std::vector<GoldenCase> cases = {
      {"cross_entropy weighted ignore 0", [](const Tensor& x) {
         CrossEntropyOptions o;
         o.weight = tensor({0.5, 2.0, 1.0}, float64);
         o.ignore_index = 0;
         return cross_entropy(x, targets(), o);
       },
       {0.7982850406792976},
       {0.07361197442885813, 0.0, 0.039573589029166925, 0.023583640709672286, 0.014085756192588672, 0.0, -0.06549935396799175, -0.08733378682139345, -0.08769773062144678, 0.0, 0.025925764938824845, 0.06375014611172117, 0.06132588784717695, 0.0, 0.03692704325534253, 0.02777775153594448, 0.010121770799300892, 0.0, 0.06233503655383396, -0.06262904627717066, -0.07144765864647784, 0.0, -0.0992620798091765, 0.03485129474122618}},
      {"cross_entropy none smoothed", [](const Tensor& x) {
         CrossEntropyOptions o;
         o.reduction = Reduction::None;
         o.label_smoothing = 0.1;
         return cross_entropy(x, targets(), o);
       },
       {1.5359778120172114, 0.7540157303209383, 0.45505077159252927, 0.5823422267760996, 1.0610995189629158, 0.5196027911931586, 2.1450520647703644, 0.4400476276596422},
       {0.6291744365263898, -0.8705917368514592, 0.43424345189375363, 0.2911721994407679, 0.09343847239996472, 0.7039432994875117, -0.6842412785678886, -1.3053414961184155, -0.7226129089263544, 0.16664843736394774, 0.24999782667413548, 1.0141692966776477, 2.592998286456296, -1.7034837550447643, 2.0930703917532463, 0.7333323886273346, 0.2888130193018735, 0.9941955322373317, 3.6937739695582064, -1.7213123326448105, -2.88181130575817, 0.7092882228074331, -5.786844361311453, 0.9879799440174761}},
      {"cross_entropy soft targets", [](const Tensor& x) { return cross_entropy(x, softmax(sin(arange(24.0, float64)).reshape({2, 3, 4}), 1)); },
       {1.3264755895449696},
       {0.052755799723503305, -0.006571700360743192, -0.058992777799557236, -0.028476650220162637, 0.0017444927338919076, 0.0367906941646742, 0.06340591134859958, 0.005952408785325894, -0.05450029245739522, -0.030218993803930998, -0.004413133549042323, 0.022524241434836743, 0.04988834457785448, 0.03601539443199694, -0.0394513291546785, -0.05267384913090467, -0.013109492171600253, 0.013535038057519936, 0.05593342345427546, 0.04836283141572104, -0.036778852406254225, -0.049550432489516884, -0.016482094299596982, 0.004311017715183632}},
      {"nll_loss sum", [](const Tensor& x) {
         CrossEntropyOptions o;
         o.reduction = Reduction::Sum;
         return nll_loss(x, targets(), o);
       },
       {-3.4131474481088175},
       {0.0, -1.0, 0.0, 0.0, 0.0, 0.0, -1.0, -1.0, -1.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0, -1.0, 0.0, -1.0, 0.0}},
      {"cross_entropy [1, 3, 2, 4]", [](const Tensor& x) { return cross_entropy(x.reshape({1, 3, 2, 4}), targets().reshape({1, 2, 4})); },
       {1.5983804188055255},
       {0.08566024689617119, -0.05044736444595463, 0.027236603515042444, 0.0114296542097194, 0.014948855294557526, -0.0871375002528671, 0.07912583455531126, 0.08353999840482423, 0.02724551228220267, 0.017462798630295387, -0.10715653930346014, -0.09410391678511176, 0.06682867852014422, 0.07065054093600197, 0.03473008656507446, -0.10661131788764831, -0.11290575917837387, 0.032984565815659235, 0.07991993578841769, 0.08267426257539236, -0.08177753381470174, 0.016486959316865116, -0.11385592112038573, 0.023071319482824086}},
  };
  check_golden(cos(arange(24.0, float64)).reshape({2, 3, 4}).requires_grad_(true), cases, 1e-12, 1e-11);
  // A target shaped unlike [N, d1, ...] names both shapes.
  const std::string e = error_of([] { cross_entropy(zeros({2, 3, 4}), zeros({2, 3}, int64)); });
  CHECK(contains(e, "cross_entropy"));
  CHECK(contains(e, "[2, 3, 4]"));
  CHECK(contains(e, "needs class targets shaped [2, 4]"));
  CHECK(contains(error_of([] { nll_loss(zeros({2, 3, 4}), zeros({2, 3, 4})); }), "nll_loss: class targets must be int64"));
  CHECK(contains(error_of([] { cross_entropy(zeros({2, 3, 4}), zeros({2, 4})); }), "float targets are read as probabilities"));
}
