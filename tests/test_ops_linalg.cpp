// Matrix products (ops_linalg.cpp).
#include <cmath>
#include <functional>

#include "helpers.hpp"

using namespace xg;
using namespace test;

TEST_CASE("matmul in 1-d, 2-d and batched 3-d forms") {
  Tensor a = tensor({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = tensor({1, 0, 0, 1, 1, 1}, {3, 2});
  check_values(matmul(a, b), {4, 5, 10, 11});
  check_values(matmul(tensor({1, 2, 3}), tensor({4, 5, 6})), {32});
  check_values(matmul(a, tensor({1, 1, 1})), {6, 15});
  check_values(matmul(tensor({1, 1}), a), {5, 7, 9});
  check_values(matmul_transposed(a, a, false, true), {14, 32, 32, 77});
  check_values(matmul_transposed(a, a, true, false), {17, 22, 27, 22, 29, 36, 27, 36, 45});
  Tensor batch = stack({a, a * 2.0});
  Tensor c = matmul(batch, b);
  CHECK(c.shape() == Shape{2, 2, 2});
  check_values(c, {4, 5, 10, 11, 8, 10, 20, 22});
  Tensor d = matmul(batch, stack({b, b}));
  check_values(d, {4, 5, 10, 11, 8, 10, 20, 22});
  check_values(matmul(eye(2), stack({a, a})), {1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6});
  check_values(outer(tensor({1, 2}), tensor({3, 4, 5})), {3, 4, 5, 6, 8, 10});
}
