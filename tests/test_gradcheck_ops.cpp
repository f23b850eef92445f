// The gradient sweep: every differentiable op, on several shapes including
// broadcasting and keepdim, through gradcheck (first order) and
// gradgradcheck (second order) in float64. One row per op and shape set.
#include <functional>

#include <xgrad/op_registry.hpp>

#include "helpers.hpp"

using namespace xg;

TEST_CASE("gradcheck and gradgradcheck pass for every op in the registry") {
  // One subcase per op and shape set (autograd/src/op_registry.cpp), so a
  // failure names the op.
  std::uint64_t seed = 1234;
  for (const OpSample& op : op_samples()) {
    ++seed;
    SUBCASE(op.name.c_str()) {
      const TensorList inputs = sample_inputs(op, seed);
      const GradcheckResult first = gradcheck(op.fn, inputs);
      CHECK_MESSAGE(first.ok, op.name << ": " << first.report);
      const GradcheckResult second = gradgradcheck(op.fn, inputs);
      CHECK_MESSAGE(second.ok, op.name << ": " << second.report);
    }
  }
  CHECK(op_samples().size() > 150);
}

TEST_CASE("the sweep: fast mode, repeatability, a table, and a user's own op") {
  SweepOptions o;
  o.filter = "matmul";
  o.fast = true;
  const auto rows = gradcheck_sweep(op_samples(), o);
  CHECK(rows.size() >= 10);
  for (const SweepRow& r : rows) CHECK_MESSAGE(r.ok(), r.name << ": " << r.report);
  const std::string table = sweep_table(rows);
  CHECK(test::contains(table, "| matmul 2d | ok | ok | ok |"));
  CHECK(test::contains(table, " passed, 0 failed"));
  // A user-defined op with a wrong gradient fails, in fast mode too.
  std::vector<OpSample> mine = {{"my_exp (wrong)", [](const TensorList& x) {
                                   Tensor y = exp(x[0].detach());
                                   detail::record(y, "MyExpBackward", [](const Tensor& g, Node&) -> TensorList { return {g}; }, x[0]);
                                   return y;
                                 }, {{3}}}};
  SweepOptions fast;
  fast.fast = true;
  fast.second_order = false;
  const auto bad = gradcheck_sweep(mine, fast);
  REQUIRE(bad.size() == 1);
  CHECK_FALSE(bad[0].first_order);
  CHECK(test::contains(bad[0].report, "fast mode"));
}

TEST_CASE("gradcheck catches a wrong backward and says where") {
  auto wrong = [](const TensorList& x) {
    Tensor y = exp(x[0].detach());
    detail::record(y, "WrongExpBackward", [](const Tensor& g, Node&) -> TensorList { return {g * 2.0}; }, x[0]);
    return y;
  };
  Tensor x = tensor({0.1, 0.2}, TensorOptions(float64).requires_grad(true));
  const GradcheckResult r = gradcheck(wrong, {x});
  CHECK_FALSE(r.ok);
  CHECK(test::contains(r.report, "Jacobian mismatch for output 0 [2] with respect to input 0 [2]"));
  CHECK(test::contains(r.report, "analytic 2, numeric 1.10517"));
  CHECK(test::contains(test::error_of([] { gradcheck([](const TensorList& x) { return x[0] * 2.0; },
                                                     {ones({2}, TensorOptions().requires_grad(true))}); }),
                       "gradcheck needs float64 inputs"));
}
