// Whole-process start-up: one op and its backward, then exit (libtorch).
#include <torch/torch.h>

int main() {
  auto x = torch::ones({1}, torch::requires_grad());
  (x * 2.0).sum().backward();
  return x.grad().item<float>() == 2.0f ? 0 : 1;
}
