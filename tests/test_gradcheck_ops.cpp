// The gradient sweep: every differentiable op, on several shapes including
// broadcasting and keepdim, through gradcheck (first order) and
// gradgradcheck (second order) in float64. One row per op and shape set.
#include <algorithm>
#include <cmath>
#include <fstream>
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
}

TEST_CASE("gradcheck and gradgradcheck pass for every op in the registry on non-contiguous inputs") {
  // The same rows with inputs that are views: stride 2 (1-d) or the last two
  // dims transposed in memory, at a storage offset (non_contiguous_copies).
  std::uint64_t seed = 1234;
  for (const OpSample& op : op_samples()) {
    ++seed;
    SUBCASE(op.name.c_str()) {
      const TensorList contiguous = sample_inputs(op, seed);
      const TensorList inputs = non_contiguous_copies(contiguous);
      for (std::size_t i = 0; i < inputs.size(); ++i) {
        CHECK(inputs[i].to_vector<double>() == contiguous[i].to_vector<double>());
        if (inputs[i].numel() > 1) CHECK_FALSE(inputs[i].is_contiguous());
      }
      const GradcheckResult first = gradcheck(op.fn, inputs);
      CHECK_MESSAGE(first.ok, op.name << ": " << first.report);
      const GradcheckResult second = gradgradcheck(op.fn, inputs);
      CHECK_MESSAGE(second.ok, op.name << ": " << second.report);
      // Same values in, same values out, whatever the layout — to the last few
      // bits: a reduction adds in memory order (as libtorch does), so a
      // transposed input sums in another order.
      NoGradGuard no_grad;
      const std::vector<double> strided = op.fn(inputs).to_vector<double>(), plain = op.fn(contiguous).to_vector<double>();
      REQUIRE(strided.size() == plain.size());
      for (std::size_t i = 0; i < plain.size(); ++i) {
        CAPTURE(i);
        CHECK((strided[i] == plain[i] || std::abs(strided[i] - plain[i]) <= 1e-13 * std::max(1.0, std::abs(plain[i]))));
      }
    }
  }
}

namespace {
/// The ops the public op headers declare: lines "Tensor name(", "TensorList
/// name(", "std::pair<Tensor, Tensor> name(" or "std::tuple<Tensor, Tensor> name(" in ops.hpp and ops_nn.hpp.
/// With `methods`, the Tensor methods of tensor.hpp instead ("  Tensor clone() const;").
std::vector<std::string> declared_ops(bool methods = false) {
  std::vector<std::string> out;
  const std::vector<std::string> headers = methods ? std::vector<std::string>{"tensor.hpp"}
                                                   : std::vector<std::string>{"ops.hpp", "ops_nn.hpp"};
  const std::string indent = methods ? "  " : "";
  for (const std::string& header : headers) {
    std::ifstream in(std::string(XGRAD_TEST_DIR) + "/../autograd/include/xgrad/" + header);
    REQUIRE_MESSAGE(in.good(), header);
    std::string line;
    while (std::getline(in, line)) {
      for (const std::string kind : {"Tensor ", "TensorList ", "std::pair<Tensor, Tensor> ", "std::tuple<Tensor, Tensor> "}) {
        const std::string prefix = indent + kind;
        if (line.rfind(prefix, 0) != 0) continue;
        const std::size_t open = line.find('(', prefix.size());
        const std::string name = line.substr(prefix.size(), open - prefix.size());
        if (open == std::string::npos || name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_0123456789") != std::string::npos)
          continue;
        if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
      }
    }
  }
  return out;
}
}  // namespace

TEST_CASE("every op declared in the public op headers has gradient-check rows in the registry") {
  const std::vector<std::string> declared = declared_ops();
  CHECK(declared.size() > 80);  // the parse found the headers' ops
  std::vector<std::string> checked;
  for (const OpSample& row : op_samples())
    for (const std::string& op : ops_checked_by(row.name)) checked.push_back(op);
  const auto& none = non_differentiable_ops();
  for (const std::string& op : declared) {
    const bool exempt = std::find(none.begin(), none.end(), op) != none.end();
    const bool has_rows = std::find(checked.begin(), checked.end(), op) != checked.end();
    CHECK_MESSAGE((exempt || has_rows), op << " is declared in ops.hpp/ops_nn.hpp but has no gradient-check row: add one to "
                                              "its family's samples_*() at the end of its ops_*.cpp (or, if it has no "
                                              "gradient, to non_differentiable_ops())");
    CHECK_MESSAGE(!(exempt && has_rows), op << " is listed as non-differentiable but has rows");
  }
  // Rows name real ops (or Tensor methods such as clone): a typo in a row's
  // name would check nothing new.
  const std::vector<std::string> methods = declared_ops(true);
  for (const std::string& op : checked)
    CHECK_MESSAGE((std::find(declared.begin(), declared.end(), op) != declared.end() ||
                   std::find(methods.begin(), methods.end(), op) != methods.end()),
                  "a registry row checks '" << op << "', which the public op headers do not declare");
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
                                   make_node(y, "MyExpBackward", [](const Tensor& g, Node&) -> TensorList { return {g}; }, x[0]);
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
    make_node(y, "WrongExpBackward", [](const Tensor& g, Node&) -> TensorList { return {g * 2.0}; }, x[0]);
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

namespace {

/// Output elements of `op` that read element `at` of input `which`: those that
/// change when that element is replaced by other finite values. PyTorch's rule
/// is that exactly these become NaN when the element is NaN.
std::vector<bool> reads(const OpSample& op, const TensorList& inputs, std::size_t which, std::int64_t at) {
  NoGradGuard no_grad;
  auto run = [&](double v) {
    TensorList in;
    for (const Tensor& t : inputs) in.push_back(t.detach().clone());
    in[which].data<double>()[at] = v;
    return op.fn(in).to_vector<double>();
  };
  const double original = inputs[which].detach().to_vector<double>()[static_cast<std::size_t>(at)];
  const std::vector<double> base = run(original);
  std::vector<bool> out(base.size(), false);
  for (double v : {1e3, -1e3, 0.37, -0.61, 2.5}) {
    const std::vector<double> y = run(v);
    for (std::size_t j = 0; j < y.size(); ++j)
      out[j] = out[j] || !(y[j] == base[j] || (std::isnan(y[j]) && std::isnan(base[j])));
  }
  return out;
}

}  // namespace

TEST_CASE("NaN in, NaN out: every registry op, NaN exactly where the output reads the NaN, as in PyTorch") {
  // Deliberate exceptions, as in PyTorch (tests/pytorch_golden.py: nan_patterns
  // checks the same cases with torch): where's condition selects a branch
  // (NaN > 0 is false) instead of propagating; dropout multiplies every element
  // by its mask, so a dropped NaN stays NaN (0 · NaN) though its value is not read;
  // binary_cross_entropy refuses a NaN probability (PyTorch: "all elements of
  // input should be between 0 and 1"). Attention computes softmax(·)·v: a
  // NaN score makes its row NaN even where the softmax has one visible
  // column (whose weight is 1 whatever the score), and a NaN value reaches
  // every query through the zero weights of masked keys, as in PyTorch. All
  // four are checked in the next case. sort and topk move values rather than
  // combine them: a NaN sorts as the largest value and stays one NaN, while
  // the values it displaces shift position (checked in the next case too).
  // interpolate's linear modes weigh both neighbours, one by 0 where a sample
  // falls on the input grid, and 0 · NaN is NaN, as in PyTorch (next case).
  const std::vector<std::string> exceptions = {"where",         "dropout (seeded)", "binary_cross_entropy", "sort",
                                               "sort descending", "topk",           "topk smallest"};
  std::uint64_t seed = 99;
  for (const OpSample& op : op_samples()) {
    ++seed;
    if (std::find(exceptions.begin(), exceptions.end(), op.name) != exceptions.end()) continue;
    if (op.name.rfind("scaled_dot_product_attention", 0) == 0) continue;
    if (op.name.rfind("interpolate", 0) == 0 && op.name.find("nearest") == std::string::npos) continue;
    SUBCASE(op.name.c_str()) {
      const TensorList inputs = sample_inputs(op, seed);
      for (std::size_t which = 0; which < inputs.size(); ++which) {
        // A convolution multiplies the zero padding by every weight, so a NaN
        // weight makes its whole output channel NaN, in PyTorch too (checked below).
        if (op.name.rfind("conv", 0) == 0 && which == 1) continue;
        for (std::int64_t at : {std::int64_t{0}, inputs[which].numel() / 2}) {
          const std::vector<bool> expected = reads(op, inputs, which, at);
          TensorList poisoned;
          for (const Tensor& t : inputs) poisoned.push_back(t.detach().clone());
          poisoned[which].data<double>()[at] = NAN;
          const std::vector<double> y = op.fn(poisoned).to_vector<double>();
          REQUIRE(y.size() == expected.size());
          for (std::size_t j = 0; j < y.size(); ++j)
            CHECK_MESSAGE(std::isnan(y[j]) == expected[j], op.name << ": NaN in input " << which << " element " << at
                                                              << ", output " << j << " = " << y[j]
                                                              << (expected[j] ? " (reads it: PyTorch gives NaN)"
                                                                              : " (does not read it)"));
        }
      }
    }
  }
}

TEST_CASE("NaN exceptions behave like PyTorch: where selects, dropout keeps a dropped NaN") {
  const Tensor x = tensor({NAN, 1.0, -2.0}, float64);
  const std::vector<double> w = where(gt(x, 0.0), x, full({3}, 5.0, float64)).to_vector<double>();
  CHECK(w == std::vector<double>{5.0, 1.0, 5.0});  // torch.where(x > 0, x, 5): NaN > 0 is false
  manual_seed(3);
  const std::vector<double> d = dropout(full({64}, NAN, float64), 0.5, true).to_vector<double>();
  for (double v : d) CHECK(std::isnan(v));  // torch: every element NaN, dropped or not
  CHECK(test::contains(test::error_of([&] { binary_cross_entropy(clamp(abs(x), 0, 1), full({3}, 0.5, float64)); }),
                       "binary_cross_entropy: input values must be in [0, 1]"));
  CHECK(std::isnan(binary_cross_entropy(full({3}, 0.5, float64), x).item()));  // a NaN target gives NaN
  // torch.nn.functional.interpolate(x, scale_factor=(1.5, 2, 0.5), mode="trilinear")
  // with x = arange(24) as [1, 1, 2, 3, 4] and x[12] = NaN: NaN exactly at these outputs.
  Tensor grid = arange(24.0, float64);
  grid.data<double>()[12] = NAN;
  InterpolateOptions tri;
  tri.mode = InterpolateMode::Trilinear;
  tri.scale_factor = {1.5, 2.0, 0.5};
  const std::vector<double> resized = interpolate(grid.reshape({1, 1, 2, 3, 4}), tri).to_vector<double>();
  std::vector<std::size_t> nan_at;
  for (std::size_t i = 0; i < resized.size(); ++i)
    if (std::isnan(resized[i])) nan_at.push_back(i);
  CHECK(nan_at == std::vector<std::size_t>{0, 2, 4, 12, 14, 16, 24, 26, 28});
  // torch.sort / torch.topk order NaN above every number and keep it one NaN.
  const std::vector<double> up = std::get<0>(sort(x)).to_vector<double>();
  CHECK(up[0] == -2.0);
  CHECK(up[1] == 1.0);
  CHECK(std::isnan(up[2]));
  const std::vector<double> top = std::get<0>(topk(x, 2)).to_vector<double>();
  CHECK(std::isnan(top[0]));
  CHECK(top[1] == 1.0);
  CHECK(std::get<0>(topk(x, 2, -1, false)).to_vector<double>() == std::vector<double>{-2.0, 1.0});
  // A NaN weight reaches every output of its channel through the zero padding.
  Conv2dOptions o;
  o.padding = {1, 1};
  Tensor weight = ones({2, 1, 3, 3}, float64);
  weight.data<double>()[0] = NAN;
  const Tensor out = conv2d(ones({1, 1, 4, 4}, float64), weight, {}, o);
  for (double v : out.select(1, 0).to_vector<double>()) CHECK(std::isnan(v));
  for (double v : out.select(1, 1).to_vector<double>()) CHECK_FALSE(std::isnan(v));
  // Attention, causal, one batch of L = S = 3 (PyTorch's math path gives the same NaNs):
  // a NaN query poisons its own row; a NaN key the rows that see it (j <= l); a
  // NaN value every row (0 · NaN for rows that do not see it).
  auto attention_nans = [](std::size_t which, std::int64_t at) {
    TensorList in{ones({1, 3, 2}, float64), ones({1, 3, 2}, float64), ones({1, 3, 2}, float64)};
    in[which].data<double>()[at] = NAN;
    std::vector<bool> rows;
    const std::vector<double> y = scaled_dot_product_attention(in[0], in[1], in[2], {}, true).to_vector<double>();
    for (std::size_t r = 0; r < 3; ++r) rows.push_back(std::isnan(y[2 * r]));  // column 0 (every NaN here is in column 0)
    return rows;
  };
  CHECK(attention_nans(0, 2) == std::vector<bool>{false, true, false});  // query 1
  CHECK(attention_nans(0, 0) == std::vector<bool>{true, false, false});  // query 0: one visible key, still NaN
  CHECK(attention_nans(1, 2) == std::vector<bool>{false, true, true});   // key 1: seen by queries 1 and 2
  CHECK(attention_nans(2, 4) == std::vector<bool>{true, true, true});    // value 2
}
