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

// PyTorch 1.13 in float64 on the same inputs: /usr/bin/python3 tests/pytorch_golden.py rearrange_and_sort.
TEST_CASE("flip, roll, repeat, tile, sort and topk: values, gradients and indices match PyTorch") {
  const std::vector<GoldenCase> cases = {
      {"flip 0 1", [](const Tensor& x) { return flip(x, {0, 1}); },
       {0.004425697988050785, -0.8390715290764524, -0.9111302618846769, -0.14550003380861354, 0.7539022543433046, 0.960170286650366, 0.28366218546322625, -0.6536436208636119, -0.9899924966004454, -0.4161468365471424, 0.5403023058681398, 1.0},
       {12.0, 11.0, 10.0, 9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0}},
      {"roll (1, -1) on (0, 1)", [](const Tensor& x) { return roll(x, {1, -1}, {0, 1}); },
       {-0.9111302618846769, -0.8390715290764524, 0.004425697988050785, -0.14550003380861354, 0.5403023058681398, -0.4161468365471424, -0.9899924966004454, 1.0, 0.28366218546322625, 0.960170286650366, 0.7539022543433046, -0.6536436208636119},
       {8.0, 5.0, 6.0, 7.0, 12.0, 9.0, 10.0, 11.0, 4.0, 1.0, 2.0, 3.0}},
      {"roll flat 5", [](const Tensor& x) { return roll(x, {5}); },
       {0.7539022543433046, -0.14550003380861354, -0.9111302618846769, -0.8390715290764524, 0.004425697988050785, 1.0, 0.5403023058681398, -0.4161468365471424, -0.9899924966004454, -0.6536436208636119, 0.28366218546322625, 0.960170286650366},
       {6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 1.0, 2.0, 3.0, 4.0, 5.0}},
      {"repeat 2 1 2", [](const Tensor& x) { return repeat(x, {2, 1, 2}); },
       {1.0, 0.5403023058681398, -0.4161468365471424, -0.9899924966004454, 1.0, 0.5403023058681398, -0.4161468365471424, -0.9899924966004454, -0.6536436208636119, 0.28366218546322625, 0.960170286650366, 0.7539022543433046, -0.6536436208636119, 0.28366218546322625, 0.960170286650366, 0.7539022543433046, -0.14550003380861354, -0.9111302618846769, -0.8390715290764524, 0.004425697988050785, -0.14550003380861354, -0.9111302618846769, -0.8390715290764524, 0.004425697988050785, 1.0, 0.5403023058681398, -0.4161468365471424, -0.9899924966004454, 1.0, 0.5403023058681398, -0.4161468365471424, -0.9899924966004454, -0.6536436208636119, 0.28366218546322625, 0.960170286650366, 0.7539022543433046, -0.6536436208636119, 0.28366218546322625, 0.960170286650366, 0.7539022543433046, -0.14550003380861354, -0.9111302618846769, -0.8390715290764524, 0.004425697988050785, -0.14550003380861354, -0.9111302618846769, -0.8390715290764524, 0.004425697988050785},
       {60.0, 64.0, 68.0, 72.0, 92.0, 96.0, 100.0, 104.0, 124.0, 128.0, 132.0, 136.0}},
      {"tile 2", [](const Tensor& x) { return tile(x, {2}); },
       {1.0, 0.5403023058681398, -0.4161468365471424, -0.9899924966004454, 1.0, 0.5403023058681398, -0.4161468365471424, -0.9899924966004454, -0.6536436208636119, 0.28366218546322625, 0.960170286650366, 0.7539022543433046, -0.6536436208636119, 0.28366218546322625, 0.960170286650366, 0.7539022543433046, -0.14550003380861354, -0.9111302618846769, -0.8390715290764524, 0.004425697988050785, -0.14550003380861354, -0.9111302618846769, -0.8390715290764524, 0.004425697988050785},
       {6.0, 8.0, 10.0, 12.0, 22.0, 24.0, 26.0, 28.0, 38.0, 40.0, 42.0, 44.0}},
      {"sort dim 1 descending", [](const Tensor& x) { return std::get<0>(sort(x, 1, true)); },
       {1.0, 0.5403023058681398, -0.4161468365471424, -0.9899924966004454, 0.960170286650366, 0.7539022543433046, 0.28366218546322625, -0.6536436208636119, 0.004425697988050785, -0.14550003380861354, -0.8390715290764524, -0.9111302618846769},
       {1.0, 2.0, 3.0, 4.0, 8.0, 7.0, 5.0, 6.0, 10.0, 12.0, 11.0, 9.0}},
      {"topk 2 dim 0", [](const Tensor& x) { return std::get<0>(topk(x, 2, 0)); },
       {1.0, 0.5403023058681398, 0.960170286650366, 0.7539022543433046, -0.14550003380861354, 0.28366218546322625, -0.4161468365471424, 0.004425697988050785},
       {1.0, 2.0, 7.0, 0.0, 0.0, 6.0, 3.0, 4.0, 5.0, 0.0, 0.0, 8.0}},
  };
  check_golden(cos(arange(12.0, float64)).reshape({3, 4}).requires_grad_(true), cases, 1e-12, 1e-11);
  const Tensor x = cos(arange(12.0, float64)).reshape({3, 4});
  CHECK(values(std::get<1>(sort(x, 1, true))) == std::vector<double>{0, 1, 2, 3, 2, 3, 1, 0, 3, 0, 2, 1});
  CHECK(values(std::get<1>(topk(x, 2, 0))) == std::vector<double>{0, 0, 1, 1, 2, 1, 0, 2});
  CHECK(values(argsort(x, 0)) == std::vector<double>{1, 2, 2, 0, 2, 1, 0, 2, 0, 0, 1, 1});
  // The method spellings a libtorch user types.
  CHECK(values(x.argsort(0)) == values(argsort(x, 0)));
  auto [top, where_top] = x.topk(2, 0);
  CHECK(values(top) == values(std::get<0>(topk(x, 2, 0))));
  CHECK(values(std::get<0>(x.sort(1, true))) == values(std::get<0>(sort(x, 1, true))));
  CHECK(values(x.flip({0, 1})) == values(flip(x, {0, 1})));
  CHECK(values(x.roll(1, 0)) == values(roll(x, 1, 0)));
  CHECK(values(x.repeat({2, 1})) == values(repeat(x, {2, 1})));
  CHECK(values(x.tile({2})) == values(tile(x, {2})));
  CHECK(values(x.cumprod(1)) == values(cumprod(x, 1)));
  CHECK(values(x.norm(3, {1}, true)) == values(norm(x, 3, {1}, true)));
}

TEST_CASE("sort, topk, roll, flip, repeat and multinomial: edge cases and errors as torch gives them") {
  const double nan = std::nan("");
  // NaN sorts as the largest; ties keep their order (stable); ints sort too.
  auto [v, i] = sort(tensor({3.0, nan, 1.0, 3.0, -2.0}, {5}, float64));
  const auto sorted = values(v);
  CHECK(sorted[0] == -2.0);
  CHECK(sorted[3] == 3.0);
  CHECK(std::isnan(sorted[4]));
  CHECK(values(i) == std::vector<double>{4, 2, 0, 3, 1});
  CHECK(values(std::get<1>(sort(tensor({3.0, nan, 1.0}, {3}, float64), 0, true))) == std::vector<double>{1, 0, 2});
  CHECK(values(std::get<0>(sort(tensor({5, -1, 3}, {3}, int64)))) == std::vector<double>{-1, 3, 5});
  CHECK(std::get<0>(sort(tensor({5, -1, 3}, {3}, int64))).dtype() == int64);
  CHECK(values(std::get<1>(topk(tensor({1.0, 4.0, 4.0, 2.0}, {4}, float64), 2))) == std::vector<double>{1, 2});
  CHECK(std::get<0>(topk(zeros({3, 0}), 0, 1)).shape() == Shape{3, 0});
  CHECK(contains(error_of([] { topk(zeros({2, 3}), 4, 1); }), "topk: k = 4 is out of range for dim 1 of size 3"));
  CHECK(contains(error_of([] { sort(zeros({2, 3}), 2); }), "sort"));
  CHECK(contains(error_of([] { sort(tensor({1, 0}, {2}, xg::boolean)); }), "cannot sort a bool tensor"));
  // roll: negative and oversized shifts wrap; flip of a size-1 dim is a copy.
  const Tensor r = arange(5.0);
  CHECK(values(roll(r, -1, 0)) == std::vector<double>{1, 2, 3, 4, 0});
  CHECK(values(roll(r, 12, 0)) == std::vector<double>{3, 4, 0, 1, 2});
  CHECK(values(roll(r, 0, 0)) == values(r));
  CHECK(!flip(r.reshape({1, 5}), {0}).is_same(r));
  CHECK(contains(error_of([&] { flip(r, {0, -1}); }), "flip: dim 0 appears more than once"));
  CHECK(contains(error_of([&] { roll(r, {1, 2}, {0}); }), "roll: got 2 shifts for 1 dims"));
  CHECK(contains(error_of([&] { repeat(zeros({2, 3}), {2}); }), "repeat: needs at least as many repeats as dims"));
  CHECK(repeat(zeros({2, 3}), {0, 2}).shape() == Shape{0, 6});
  CHECK(tile(zeros({2, 3}), {2, 1, 1}).shape() == Shape{2, 2, 3});
  // multinomial: frequencies follow the weights; without replacement every draw differs.
  manual_seed(7);
  const Tensor counts = one_hot(multinomial(tensor({1.0, 0.0, 3.0}, {3}, float64), 40000, true), 3).sum({0});
  const auto c = values(counts);
  CHECK(c[1] == 0);
  CHECK(c[0] / 40000 == doctest::Approx(0.25).epsilon(0.05));
  const Tensor perm = multinomial(ones({2, 6}), 6);
  CHECK(perm.shape() == Shape{2, 6});
  CHECK(values(std::get<0>(sort(perm, 1))) == std::vector<double>{0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5});
  CHECK(contains(error_of([] { multinomial(tensor({1.0, 0.0}, {2}), 2); }), "too few to draw 2 without replacement"));
  CHECK(contains(error_of([] { multinomial(tensor({1.0, -1.0}, {2}), 1); }), "finite and non-negative"));
  CHECK(contains(error_of([] { multinomial(zeros({2}), 1); }), "sums to 0"));
}
