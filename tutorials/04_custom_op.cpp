// Tutorial 4: write your own op. A custom differentiable function with its
// forward and backward, verified by gradcheck and gradgradcheck; then a
// deliberately wrong backward, and the report gradcheck gives for it.
#include <xgrad/xgrad.hpp>

#include <cmath>
#include <cstdio>

#include "common.hpp"

// softplus(x) = log(1 + eˣ), written stably; d/dx = sigmoid(x).
struct Softplus : xg::Function<Softplus> {
  static constexpr const char* name = "SoftplusBackward";
  static xg::TensorList forward(xg::AutogradContext& ctx, const xg::TensorList& in) {
    ctx.save_for_backward({in[0]});
    return {xg::relu(in[0]) + xg::log(1.0 + xg::exp(-xg::abs(in[0])))};
  }
  static xg::TensorList backward(xg::AutogradContext& ctx, const xg::TensorList& grad) {
    const xg::Tensor x = ctx.get_saved_variables()[0];
    return {grad[0] * xg::sigmoid(x)};  // xgrad ops, so second derivatives work too
  }
};

// The same forward with a wrong backward: it forgets the sigmoid.
struct BrokenSoftplus : xg::Function<BrokenSoftplus> {
  static xg::TensorList forward(xg::AutogradContext&, const xg::TensorList& in) {
    return {xg::relu(in[0]) + xg::log(1.0 + xg::exp(-xg::abs(in[0])))};
  }
  static xg::TensorList backward(xg::AutogradContext&, const xg::TensorList& grad) { return {grad[0]}; }
};

int main(int, char**) {
  const xg::Tensor x = xg::tensor({-2.0, -0.5, 0.3, 4.0}, xg::TensorOptions(xg::float64).requires_grad(true));
  const xg::Tensor y = Softplus::apply({x})[0];
  std::printf("softplus(x) = %s\n", y.str().c_str());
  y.sum().backward();
  std::printf("d/dx        = %s\n", x.grad().str().c_str());

  auto softplus = [](const xg::TensorList& in) { return Softplus::apply(in)[0]; };
  const auto first = xg::gradcheck(softplus, {x});
  const auto second = xg::gradgradcheck(softplus, {x});
  std::printf("gradcheck: %s, gradgradcheck: %s\n", first.ok ? "passed" : "FAILED", second.ok ? "passed" : "FAILED");
  tutorial::expect(first.ok && second.ok, "the custom op's gradients are right");

  auto broken = [](const xg::TensorList& in) { return BrokenSoftplus::apply(in)[0]; };
  const auto report = xg::gradcheck(broken, {x});
  std::printf("the broken op: %s\n  %s\n", report.ok ? "passed" : "FAILED", report.report.c_str());
  tutorial::expect(!report.ok, "gradcheck catches the wrong backward");
  return 0;
}
