// Shape ops (ops_shape.cpp).
#include <cmath>
#include <functional>

#include "helpers.hpp"

using namespace xg;
using namespace test;

TEST_CASE("shape ops") {
  Tensor a = arange(6.0).reshape({2, 3});
  check_values(a.t(), {0, 3, 1, 4, 2, 5});
  Tensor x = arange(24.0).reshape({2, 3, 4});
  Tensor p = x.permute({2, 0, 1});
  CHECK(p.shape() == Shape{4, 2, 3});
  CHECK(p.to_vector<float>()[1] == 4);  // p[0][0][1] = x[0][1][0]
  check_values(tensor({1, 2}).expand({2, 2}), {1, 2, 1, 2});
  check_values(tensor({1, 2}, {2, 1}).expand({-1, 3}), {1, 1, 1, 2, 2, 2});
  check_values(slice(arange(10.0), 0, 1, 8, 3), {1, 4, 7});
  check_values(slice(arange(10.0), 0, -3, 100), {7, 8, 9});
  check_values(a.narrow(1, 1, 2), {1, 2, 4, 5});
  check_values(a.select(1, -1), {2, 5});
  check_values(cat({a, a * 10.0}, 1), {0, 1, 2, 0, 10, 20, 3, 4, 5, 30, 40, 50});
  Tensor s = stack({tensor({1, 2}), tensor({3, 4})}, 1);
  CHECK(s.shape() == Shape{2, 2});
  check_values(s, {1, 3, 2, 4});
  auto parts = split(arange(5.0), 2);
  REQUIRE(parts.size() == 3);
  check_values(parts[2], {4});
  auto chunks = chunk(arange(6.0).reshape({3, 2}), 2, 0);
  REQUIRE(chunks.size() == 2);
  CHECK(chunks[1].shape() == Shape{1, 2});
  auto sized = split(arange(6.0), std::vector<std::int64_t>{1, 5});
  CHECK(sized[1].numel() == 5);
}
