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

TEST_CASE("matmul on N-d operands broadcasts the batch dims as torch.matmul does") {
  // Every [i, j] slice of the product is the 2-d product of the broadcast slices.
  const Tensor q = sin(arange(48.0, float64)).reshape({2, 2, 3, 4});
  const Tensor k = cos(arange(48.0, float64)).reshape({2, 2, 3, 4});
  const Tensor scores = matmul(q, k.transpose(-2, -1));
  CHECK(scores.shape() == Shape{2, 2, 3, 3});
  for (std::int64_t i = 0; i < 2; ++i)
    for (std::int64_t j = 0; j < 2; ++j)
      CHECK(values(scores[i][j]) == values(matmul(q[i][j], k[i][j].t())));
  const Tensor w = cos(arange(24.0, float64)).reshape({3, 4, 2});
  const Tensor broadcast = matmul(q.narrow(1, 0, 1), w);  // [2, 1, 3, 4] @ [3, 4, 2] -> [2, 3, 3, 2]
  CHECK(broadcast.shape() == Shape{2, 3, 3, 2});
  for (std::int64_t i = 0; i < 2; ++i)
    for (std::int64_t j = 0; j < 3; ++j) check_values(broadcast[i][j], values(matmul(q[i][0], w[j])), 1e-15);
  CHECK(matmul(q, w[0]).shape() == Shape{2, 2, 3, 2});
  CHECK(matmul(tensor({1.0, 2.0, 3.0}, float64), q).shape() == Shape{2, 2, 4});
  CHECK(matmul(q, tensor({1.0, 2.0, 3.0, 4.0}, float64)).shape() == Shape{2, 2, 3});
}
