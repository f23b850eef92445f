// Losses (ops_loss.cpp): values against PyTorch and their argument checks.
#include <cmath>
#include <functional>

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
