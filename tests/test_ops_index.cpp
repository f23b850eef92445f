// Indexing ops (ops_index.cpp) and their range checks.
#include <cmath>
#include <functional>

#include "helpers.hpp"

using namespace xg;
using namespace test;

TEST_CASE("indexing ops and their range checks") {
  const Tensor x = arange(12.0).reshape({3, 4});
  check_values(index_select(x, 0, idx({2, 0}, {2})), {8, 9, 10, 11, 0, 1, 2, 3});
  check_values(index_select(x, 1, idx({3}, {1})), {3, 7, 11});
  check_values(gather(x, 1, idx({0, 3, 1, 1, 2, 0}, {3, 2})), {0, 3, 5, 5, 10, 8});
  check_values(scatter_add(zeros({2, 3}), 1, idx({0, 0, 2, 1}, {2, 2}), ones({2, 2})), {2, 0, 0, 0, 1, 1});
  check_values(index_add(zeros({3}), 0, idx({1, 1}, {2}), tensor({2, 5})), {0, 7, 0});
  const Tensor emb = embedding(x, idx({1, 2, 1, 0}, {2, 2}));
  CHECK(emb.shape() == Shape{2, 2, 4});
  check_values(emb.select(0, 1).select(0, 1), {0, 1, 2, 3});
  check_values(masked_fill(tensor({1, 2, 3}), tensor({0, 1, 0}), -5.0), {1, -5, 3});
  check_values(one_hot(idx({2, 0}, {2}), 3), {0, 0, 1, 1, 0, 0});
  check_values(take(x, idx({11, 0}, {2})), {11, 0});
  CHECK(contains(error_of([&] { index_select(x, 0, idx({3}, {1})); }), "index_select: index 3 is out of range for dim 0 of size 3"));
  CHECK(contains(error_of([&] { gather(x, 1, idx({4}, {1, 1})); }), "gather: index 4 is out of range for dim 1 of size 4"));
  CHECK(contains(error_of([&] { embedding(x, tensor({1.0})); }), "embedding: indices must be int64"));
  CHECK(contains(error_of([&] { one_hot(idx({5}, {1}), 3); }), "one_hot: index 5 is out of range"));
}
