// A user's file: the umbrella header and a few lines. bench/run.sh times its compilation.
#include <xgrad/xgrad.hpp>

int main() {
  auto w = xg::randn({3, 2}, xg::TensorOptions().requires_grad(true));
  auto loss = xg::tanh(xg::matmul(xg::ones({4, 3}), w)).sum();
  loss.backward();
  return w.grad().defined() ? 0 : 1;
}
