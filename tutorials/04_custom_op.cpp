// Tutorial 4: write your own op, the way xgrad's own ops are written
// (Note [Writing an op] in autograd.hpp): compute without a graph, then
// make_node with a backward written in xgrad ops. Verified by gradcheck and
// gradgradcheck; then the same op in libtorch's Function<T> spelling; then a
// deliberately wrong backward and the report gradcheck gives for it.
#include <xgrad/xgrad.hpp>

#include <cstdio>

#include "common.hpp"

// softplus(x) = log(1 + eˣ), written stably; d/dx = sigmoid(x).
xg::Tensor my_softplus(const xg::Tensor& x) {
  xg::Tensor y;
  {
    xg::NoGradGuard no_grad;  // the forward records nothing
    y = xg::relu(x) + xg::log(1.0 + xg::exp(-xg::abs(x)));
  }
  if (xg::GradMode::is_enabled() && x.requires_grad()) {
    // What the closure captures is the op's saved state; SavedTensor checks
    // on unpack that no in-place op changed it since.
    xg::make_node(y, "MySoftplusBackward", [sx = xg::SavedTensor(x, false)](const xg::Tensor& grad, xg::Node& self) {
      return xg::TensorList{grad * xg::sigmoid(sx.unpack(self))};  // xgrad ops: second order works too
    }, x);
  }
  return y;
}

// The same op in libtorch's spelling: xg::Function<T>, built on make_node.
struct Softplus : xg::Function<Softplus> {
  static constexpr const char* name = "SoftplusBackward";
  static xg::TensorList forward(xg::AutogradContext& ctx, const xg::TensorList& in) {
    ctx.save_for_backward({in[0]});
    return {xg::relu(in[0]) + xg::log(1.0 + xg::exp(-xg::abs(in[0])))};
  }
  static xg::TensorList backward(xg::AutogradContext& ctx, const xg::TensorList& grad) {
    return {grad[0] * xg::sigmoid(ctx.get_saved_variables()[0])};
  }
};

// The same forward with a wrong backward: it forgets the sigmoid.
xg::Tensor broken_softplus(const xg::Tensor& x) {
  xg::Tensor y;
  {
    xg::NoGradGuard no_grad;
    y = xg::relu(x) + xg::log(1.0 + xg::exp(-xg::abs(x)));
  }
  if (x.requires_grad())
    xg::make_node(y, "BrokenSoftplusBackward", [](const xg::Tensor& grad, xg::Node&) { return xg::TensorList{grad}; }, x);
  return y;
}

int main(int, char**) {
  const xg::Tensor x = xg::tensor({-2.0, -0.5, 0.3, 4.0}, xg::TensorOptions(xg::float64).requires_grad(true));
  const xg::Tensor y = my_softplus(x);
  std::printf("softplus(x) = %s\n", y.str().c_str());
  y.sum().backward();
  std::printf("d/dx        = %s\n", x.grad().str().c_str());

  auto softplus = [](const xg::TensorList& in) { return my_softplus(in[0]); };
  const auto first = xg::gradcheck(softplus, {x});
  const auto second = xg::gradgradcheck(softplus, {x});
  std::printf("gradcheck: %s, gradgradcheck: %s\n", first.ok ? "passed" : "FAILED", second.ok ? "passed" : "FAILED");
  tutorial::expect(first.ok && second.ok, "the custom op's gradients are right");

  auto function_form = [](const xg::TensorList& in) { return Softplus::apply(in)[0]; };
  const bool same = function_form({x}).to_vector<double>() == y.to_vector<double>() &&
                    xg::gradcheck(function_form, {x}).ok && xg::gradgradcheck(function_form, {x}).ok;
  std::printf("Function<T> spelling: same values, gradcheck and gradgradcheck %s\n", same ? "passed" : "FAILED");
  tutorial::expect(same, "the Function<T> spelling is the same op");

  auto broken = [](const xg::TensorList& in) { return broken_softplus(in[0]); };
  const auto report = xg::gradcheck(broken, {x});
  std::printf("the broken op: %s\n  %s\n", report.ok ? "passed" : "FAILED", report.report.c_str());
  tutorial::expect(!report.ok, "gradcheck catches the wrong backward");
  return 0;
}
