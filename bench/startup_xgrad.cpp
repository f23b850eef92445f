// Whole-process start-up: one op and its backward, then exit.
#include <xgrad/xgrad.hpp>

int main() {
  auto x = xg::ones({1}, xg::TensorOptions().requires_grad(true));
  (x * 2.0).sum().backward();
  return x.grad().item() == 2.0 ? 0 : 1;
}
