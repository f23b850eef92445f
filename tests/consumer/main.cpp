// A program outside the xgrad tree: find_package(xgrad), one include, one link.
#include <xgrad/xgrad.hpp>

#include <iostream>

int main() {
  auto x = xg::tensor({1.0, 2.0, 3.0}, xg::TensorOptions(xg::float64).requires_grad(true));
  auto y = (x * x).sum();
  y.backward();
  const auto g = x.grad().to_vector<double>();
  std::cout << "grad " << x.grad() << "\n";
  return (g[0] == 2.0 && g[1] == 4.0 && g[2] == 6.0) ? 0 : 1;
}
