// The gradient sweep: every differentiable op, on several shapes including
// broadcasting and keepdim, through gradcheck (first order) and
// gradgradcheck (second order) in float64. One row per op and shape set.
#include <functional>

#include "helpers.hpp"

using namespace xg;

namespace {

enum class Domain { Any, Positive, AwayFromZero };

struct OpCase {
  std::string name;
  std::function<Tensor(const TensorList&)> f;
  std::vector<Shape> shapes;
  Domain domain = Domain::Any;
};

Tensor sample(const Shape& s, Domain d) {
  Tensor r = randn(s, float64);
  NoGradGuard guard;
  if (d == Domain::Positive) r = abs(r) + 0.5;
  if (d == Domain::AwayFromZero) r = sign(r) * (abs(r) + 0.3);
  return r.detach().requires_grad_(true);
}

using L = const TensorList&;

std::vector<OpCase> cases() {
  const Shape s0{}, s3{3}, s23{2, 3}, s13{1, 3}, s21{2, 1}, s234{2, 3, 4}, s14{1, 4}, s31{3, 1};
  std::vector<OpCase> c;
  auto binary = [&](const std::string& name, std::function<Tensor(L)> f, Domain d = Domain::Any) {
    c.push_back({name + " same", f, {s23, s23}, d});
    c.push_back({name + " row-broadcast", f, {s23, s3}, d});
    c.push_back({name + " both-broadcast", f, {s21, s13}, d});
    c.push_back({name + " 3d+scalar", f, {s234, s0}, d});
    c.push_back({name + " 3d broadcast", f, {s31, s234}, d});
  };
  binary("add", [](L x) { return x[0] + x[1]; });
  binary("sub", [](L x) { return x[0] - x[1]; });
  binary("mul", [](L x) { return x[0] * x[1]; });
  binary("div", [](L x) { return x[0] / x[1]; }, Domain::Positive);
  binary("pow", [](L x) { return pow(x[0], x[1]); }, Domain::Positive);
  binary("maximum", [](L x) { return maximum(x[0], x[1]); });
  binary("minimum", [](L x) { return minimum(x[0], x[1]); });

  auto unary = [&](const std::string& name, std::function<Tensor(L)> f, Domain d = Domain::Any) {
    c.push_back({name + " 0-d", f, {s0}, d});
    c.push_back({name + " 1-d", f, {s3}, d});
    c.push_back({name + " 3-d", f, {s234}, d});
  };
  unary("neg", [](L x) { return -x[0]; });
  unary("exp", [](L x) { return exp(x[0]); });
  unary("log", [](L x) { return log(x[0]); }, Domain::Positive);
  unary("sqrt", [](L x) { return sqrt(x[0]); }, Domain::Positive);
  unary("abs", [](L x) { return abs(x[0]); }, Domain::AwayFromZero);
  unary("sin", [](L x) { return sin(x[0]); });
  unary("cos", [](L x) { return cos(x[0]); });
  unary("tanh", [](L x) { return tanh(x[0]); });
  unary("sigmoid", [](L x) { return sigmoid(x[0]); });
  unary("relu", [](L x) { return relu(x[0]); }, Domain::AwayFromZero);
  unary("square", [](L x) { return square(x[0]); });
  unary("clamp", [](L x) { return clamp(x[0], -0.8, 0.7); });
  unary("add scalar", [](L x) { return x[0] + 2.0; });
  unary("rsub scalar", [](L x) { return 2.0 - x[0]; });
  unary("mul scalar", [](L x) { return x[0] * -3.0; });
  unary("div scalar", [](L x) { return x[0] / 4.0; });
  unary("rdiv scalar", [](L x) { return 2.0 / x[0]; }, Domain::Positive);
  unary("pow 3", [](L x) { return pow(x[0], 3.0); });
  unary("pow 2", [](L x) { return pow(x[0], 2.0); });
  unary("pow -1.5", [](L x) { return pow(x[0], -1.5); }, Domain::Positive);
  unary("rpow", [](L x) { return pow(1.7, x[0]); });
  unary("clone", [](L x) { return x[0].clone(); });
  c.push_back({"where", [](L x) { return where(gt(x[0], 0.0), x[1], x[2]); }, {s23, s3, s21}});

  // reductions
  c.push_back({"sum all", [](L x) { return x[0].sum(); }, {s234}});
  c.push_back({"sum dim 1", [](L x) { return x[0].sum({1}); }, {s234}});
  c.push_back({"sum dims 0,2 keepdim", [](L x) { return x[0].sum({0, 2}, true); }, {s234}});
  c.push_back({"sum 0-d", [](L x) { return x[0].sum(); }, {s0}});
  c.push_back({"mean all", [](L x) { return x[0].mean(); }, {s23}});
  c.push_back({"mean dim -1 keepdim", [](L x) { return x[0].mean({-1}, true); }, {s234}});
  c.push_back({"max all", [](L x) { return max(x[0]); }, {s234}});
  c.push_back({"max dim 1", [](L x) { return max(x[0], {1}); }, {s234}});
  c.push_back({"max dim 0 keepdim", [](L x) { return max(x[0], {0}, true); }, {s23}});
  c.push_back({"min all", [](L x) { return min(x[0]); }, {s23}});
  c.push_back({"min dims 0,2", [](L x) { return min(x[0], {0, 2}); }, {s234}});
  c.push_back({"var all", [](L x) { return var(x[0]); }, {s23}});
  c.push_back({"var dim 1 keepdim", [](L x) { return var(x[0], {1}, true); }, {s234}});
  c.push_back({"std dim 0 biased", [](L x) { return xg::std(x[0], {0}, false, 0); }, {s234}});
  c.push_back({"sum_to", [](L x) { return sum_to(x[0], {3, 1}); }, {s234}});

  // linear algebra
  c.push_back({"matmul 2d", [](L x) { return matmul(x[0], x[1]); }, {s23, {3, 4}}});
  c.push_back({"matmul dot", [](L x) { return matmul(x[0], x[1]); }, {s3, s3}});
  c.push_back({"matmul 2d.1d", [](L x) { return matmul(x[0], x[1]); }, {s23, s3}});
  c.push_back({"matmul 1d.2d", [](L x) { return matmul(x[0], x[1]); }, {s3, {3, 2}}});
  c.push_back({"matmul 3d.3d", [](L x) { return matmul(x[0], x[1]); }, {s234, {2, 4, 2}}});
  c.push_back({"matmul 3d.2d", [](L x) { return matmul(x[0], x[1]); }, {s234, {4, 2}}});
  c.push_back({"matmul 2d.3d", [](L x) { return matmul(x[0], x[1]); }, {s23, {2, 3, 2}}});
  c.push_back({"matmul batch-1 broadcast", [](L x) { return matmul(x[0], x[1]); }, {{1, 2, 3}, {2, 3, 2}}});
  c.push_back({"matmul_t a^T b", [](L x) { return matmul_t(x[0], x[1], true, false); }, {{3, 2}, {3, 4}}});
  c.push_back({"matmul_t a b^T", [](L x) { return matmul_t(x[0], x[1], false, true); }, {s23, {4, 3}}});
  c.push_back({"matmul_t a^T b^T batched", [](L x) { return matmul_t(x[0], x[1], true, true); }, {{2, 3, 2}, {2, 4, 3}}});
  c.push_back({"outer", [](L x) { return outer(x[0], x[1]); }, {s3, {2}}});

  // shape
  c.push_back({"reshape", [](L x) { return x[0].reshape({4, -1}); }, {s234}});
  c.push_back({"flatten 1..2", [](L x) { return x[0].flatten(1); }, {s234}});
  c.push_back({"squeeze/unsqueeze", [](L x) { return x[0].unsqueeze(1).squeeze(); }, {s13}});
  c.push_back({"permute", [](L x) { return x[0].permute({2, 0, 1}); }, {s234}});
  c.push_back({"transpose", [](L x) { return x[0].transpose(0, 1); }, {s23}});
  c.push_back({"expand", [](L x) { return x[0].expand({2, 3, 4}); }, {s31}});
  c.push_back({"slice step 2", [](L x) { return slice(x[0], 2, 0, 4, 2); }, {s234}});
  c.push_back({"slice negative", [](L x) { return slice(x[0], -1, -2, 100); }, {s23}});
  c.push_back({"narrow", [](L x) { return x[0].narrow(1, 1, 2); }, {s234}});
  c.push_back({"select", [](L x) { return x[0].select(0, 1); }, {s234}});
  c.push_back({"cat dim 1", [](L x) { return cat({x[0], x[1]}, 1); }, {s23, {2, 2}}});
  c.push_back({"cat dim 0", [](L x) { return cat({x[0], x[1], x[0]}, 0); }, {s13, s23}});
  c.push_back({"stack", [](L x) { return stack({x[0], x[1]}, 1); }, {s23, s23}});
  c.push_back({"split", [](L x) { auto p = split(x[0], 2, 1); return p[0] * 2.0 + p[1].sum(); }, {{2, 4}}});
  c.push_back({"chunk", [](L x) { auto p = chunk(x[0], 3, 0); return cat({p[2], p[0]}, 0); }, {{3, 2}}});
  // a composite: a small MLP layer with a loss
  c.push_back({"mlp layer", [](L x) { return tanh(matmul(x[0], x[1]) + x[2]).pow(2.0).mean(); }, {{4, 3}, {3, 2}, {2}}});
  return c;
}

}  // namespace

TEST_CASE("gradcheck and gradgradcheck pass for every op") {
  manual_seed(1234);
  for (const OpCase& op : cases()) {
    SUBCASE(op.name.c_str()) {
      TensorList inputs;
      for (const Shape& s : op.shapes) inputs.push_back(sample(s, op.domain));
      const GradcheckResult first = gradcheck(op.f, inputs);
      CHECK_MESSAGE(first.ok, op.name << ": " << first.report);
      const GradcheckResult second = gradgradcheck(op.f, inputs);
      CHECK_MESSAGE(second.ok, op.name << ": " << second.report);
    }
  }
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
