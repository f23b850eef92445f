// vmap's batching rules (Note [Batching] in vmap.cpp): f runs once on the
// whole batch, with the loop's values. The vmap column of xgrad-gradcheck
// checks every registry op; these cases check the machinery.
#include "helpers.hpp"
#include "xgrad/functional.hpp"
#include "xgrad/nn.hpp"

using namespace xg;
using test::contains;
using test::error_of;

namespace {
double max_diff(const Tensor& a, const Tensor& b) { return max(abs(a - b)).item<double>(); }

/// vmap(f) against the loop over examples, and which path vmap took.
bool runs_batched_like_the_loop(const functional::Fn& f, const TensorList& inputs, const functional::InDims& in_dims) {
  const TensorList batched = functional::vmap(f, in_dims)(inputs);
  const bool was_batched = functional::last_vmap().batched;
  if (!was_batched) MESSAGE("vmap looped: ", functional::last_vmap().loop_reason);
  const std::int64_t n = inputs[0].size(in_dims.empty() || !in_dims[0] ? 0 : *in_dims[0]);
  for (std::int64_t b = 0; b < n; ++b) {
    TensorList example;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      const bool mapped = in_dims.empty() || in_dims[i].has_value();
      example.push_back(mapped ? inputs[i].select(in_dims.empty() ? 0 : *in_dims[i], b) : inputs[i]);
    }
    const TensorList expected = f(example);
    for (std::size_t k = 0; k < expected.size(); ++k) {
      REQUIRE(batched[k].select(0, b).shape() == expected[k].shape());
      CHECK(max_diff(batched[k].select(0, b), expected[k]) < 1e-12);
    }
  }
  return was_batched;
}
}  // namespace

TEST_CASE("vmap runs elementwise ops once on the batch, broadcasting against shared inputs") {
  manual_seed(1);
  const Tensor x = randn({4, 3}, float64), y = randn({2, 3}, float64), s = randn({3}, float64);
  const functional::Fn f = [](const TensorList& in) { return TensorList{exp(in[0]) * in[1] + in[0] - 2.0}; };
  CHECK(runs_batched_like_the_loop(f, {x, y}, {0, std::nullopt}));
  CHECK(runs_batched_like_the_loop(f, {x, s}, {0, std::nullopt}));
  CHECK(runs_batched_like_the_loop(f, {x.t(), x}, {1, 0}));
}
