// The API a libtorch user types without thinking, written the way they write
// it (`using namespace xg;`, methods, operators, braces), each with its values.
#include <algorithm>
#include <cmath>
#include <sstream>
#include <tuple>

#include "helpers.hpp"

using namespace xg;  // as users do: nothing below may become ambiguous
using test::check_values;

TEST_CASE("reductions take one integer dim like libtorch") {
  const Tensor x = tensor({{1, 5, 2}, {7, 0, 7}}, float64);
  check_values(x.sum(1), {8, 14});
  check_values(x.sum(-1), {8, 14});
  CHECK(x.sum(0, true).shape() == Shape{1, 3});
  check_values(x.mean(-1, true), {8.0 / 3, 14.0 / 3});
  CHECK(x.mean(-1, true).shape() == Shape{2, 1});
  check_values(x.sum({}), {22});  // a braced list still means dims: {} is all of them
  check_values(x.sum({0, 1}), {22});
  check_values(x.argmax(1), {1, 0});  // the first of two equal maxima, as torch
  check_values(x.argmin(), {4});
  // mean 11/3; squared deviations (·9) 64, 16, 25, 100, 121, 100 → 426/9 over n − 1 = 5
  check_values(x.std(), {std::sqrt(426.0 / 45)}, 1e-12);
  check_values(std_dev(x, {1}), {std::sqrt(78.0 / 18), std::sqrt(294.0 / 18)}, 1e-12);
  check_values(x.var({1}, false, 0), {78.0 / 27, 294.0 / 27}, 1e-12);
}

TEST_CASE("max and min along a dim give values and indices, the gradient to the index") {
  const Tensor x = tensor({{1, 5, 5}, {7, 0, -1}}, test::f64_grad());
  auto [values, indices] = x.max(1);
  check_values(values, {5, 7});
  check_values(indices, {1, 0});
  CHECK(indices.dtype() == int64);
  values.sum().backward();
  check_values(x.grad(), {0, 1, 0, 1, 0, 0});  // torch: the first maximum only, not shared

  auto [lo, where_lo] = min(x, 0, true);
  CHECK(lo.shape() == Shape{1, 3});
  check_values(lo, {1, 0, -1});
  check_values(where_lo, {0, 1, 1});

  const Tensor nan_row = tensor({{1, NAN, 3}}, float64);
  auto [m, i] = nan_row.max(-1);
  CHECK(std::isnan(m.item()));
  check_values(i, {1});
  CHECK(test::contains(test::error_of([&] { x.max(2); }), "argmax"));
}

TEST_CASE("method spellings match the free functions") {
  const Tensor x = tensor({{0.5, -1.5}, {2.0, 0.25}}, float64);
  check_values(x.clamp(-1, 1), {0.5, -1, 1, 0.25});
  check_values(x.clamp_min(0), {0.5, 0, 2, 0.25});
  check_values(x.softmax(1), test::values(softmax(x, 1)));
  check_values(x.log_softmax(-1), test::values(log_softmax(x, -1)));
  check_values(x.sin() + x.cos() + x.square(), test::values(sin(x) + cos(x) + x * x));
  check_values(x.abs().pow(x), test::values(pow(abs(x), x)));
  check_values(x.mm(x.t()), test::values(matmul(x, transpose(x, 0, 1))));
  CHECK(test::contains(test::error_of([&] { x.mm(x[0]); }), "mm: expects two 2-d tensors, got shapes [2, 2] and [2]"));
  CHECK(x.t().contiguous().is_contiguous());
  CHECK(x.sizes() == Shape{2, 2});
  check_values(x[1], {2.0, 0.25});
  check_values(x[1][0], {2.0});
  check_values(x.exp().log(), test::values(x));
  check_values(x.neg().relu(), {0, 1.5, 0, 0});
  check_values(x.masked_fill(x < 0, 9), {0.5, 9, 2, 0.25});
  check_values(x.where(x > 0, zeros_like(x)), {0.5, 0, 2, 0.25});
  check_values(x.triu(), {0.5, -1.5, 0, 0.25});
}

TEST_CASE("comparison and logical operators give bool tensors") {
  const Tensor x = tensor({-1, 0.5, 2}, float64);
  const Tensor in_unit = (x > 0) && (x < 1);
  CHECK(in_unit.dtype() == boolean);
  check_values(in_unit, {0, 1, 0});
  check_values(!(x >= 0.5), {1, 0, 0});
  check_values((x <= 0) || (x == 2), {1, 0, 1});
  check_values(x != x, {0, 0, 0});
  check_values(x * (x > 0), {0, 0.5, 2});  // a bool mask multiplies a float tensor
}

TEST_CASE("nested initializer lists and from_vector of any element type") {
  const Tensor m = tensor({{1, 2}, {3, 4}});
  CHECK(m.shape() == Shape{2, 2});
  CHECK(m.dtype() == float32);
  check_values(m, {1, 2, 3, 4});
  const Tensor cube = tensor({{{1, 2}, {3, 4}}, {{5, 6}, {7, 8}}}, float64);
  CHECK(cube.shape() == Shape{2, 2, 2});
  check_values(cube[1][0], {5, 6});
  CHECK(test::contains(test::error_of([] { tensor({{1, 2}, {3}}); }), "tensor: rows of different lengths (2 and 1)"));

  const Tensor ints = from_vector(std::vector<int>{1, 2, 3});
  CHECK(ints.dtype() == int32);
  CHECK(ints.shape() == Shape{3});
  const Tensor flags = from_vector(std::vector<bool>{true, false}, {2, 1});
  CHECK(flags.dtype() == boolean);
  check_values(flags, {1, 0});
  check_values(from_vector(std::vector<int>{1, 2}, float64) / 4, {0.25, 0.5});
}

TEST_CASE("optimizers, Sequential and the loader are built the libtorch way") {
  manual_seed(0);
  auto seq = std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(3, 4), std::make_shared<nn::ReLU>(),
                                              std::make_shared<nn::Linear>(4, 1));
  CHECK(seq->size() == 3);
  optim::AdamW adamw(seq->parameters(), {3e-3});
  CHECK(adamw.param_groups()[0].options.lr == doctest::Approx(3e-3));
  CHECK(adamw.param_groups()[0].options.weight_decay == doctest::Approx(0.01));  // AdamW's own default stays
  optim::Adam adam(seq->parameters(), {3e-3});
  optim::SGD sgd(seq->parameters(), {0.1});
  CHECK(sgd.param_groups()[0].options.lr == doctest::Approx(0.1));

  auto data = std::make_shared<data::TensorDataset>(arange(10.0).reshape({10, 1}), arange(10.0));
  data::LoaderOptions options;
  options.batch_size = 4;
  data::DataLoader loader(data, options);
  std::int64_t seen = 0;
  for (auto& batch : loader) seen += batch.input.size(0);
  CHECK(seen == 10);
}

TEST_CASE("grad takes named options, so second order needs no placeholders") {
  const Tensor x = tensor({1.0, 2.0}, test::f64_grad());
  const Tensor y = x.pow(3).sum();
  const Tensor dy = grad({y}, {x}, GradOptions().create_graph(true))[0];
  check_values(dy, {3, 12});
  const Tensor d2y = grad({dy.sum()}, {x})[0];
  check_values(d2y, {6, 12});
  const Tensor weighted = grad({x * x}, {x}, GradOptions().grad_outputs({tensor({1.0, 10.0}, float64)}))[0];
  check_values(weighted, {2, 40});
}

TEST_CASE("modules print their sizes as torch.nn does") {
  const auto repr = [](const nn::Module& m) {
    const std::string s = m.str();  // "Name(args)  # n params\n", or without the count
    return s.substr(0, std::min(s.find("  #"), s.find('\n')));
  };
  CHECK(repr(nn::Embedding(40, 16)) == "Embedding(40, 16)");
  CHECK(repr(nn::Embedding(40, 16, 0)) == "Embedding(40, 16, padding_idx=0)");
  CHECK(repr(nn::LayerNorm(Shape{16})) == "LayerNorm((16,), eps=1e-05, elementwise_affine=True)");
  CHECK(repr(nn::GroupNorm(2, 8)) == "GroupNorm(2, 8, eps=1e-05, affine=True)");
  CHECK(repr(nn::BatchNorm2d(16)) == "BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)");
  CHECK(repr(nn::MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)");
  CHECK(repr(nn::Dropout(0.1)) == "Dropout(p=0.1, inplace=False)");
  CHECK(repr(nn::LSTM(10, 20, 2)) == "LSTM(10, 20, num_layers=2)");
  CHECK(repr(nn::Flatten()) == "Flatten(start_dim=1, end_dim=-1)");
}

TEST_CASE("Embedding's padding_idx row starts at zero and gets no gradient") {
  manual_seed(1);
  nn::Embedding emb(5, 3, -1);  // the last row, as torch counts a negative index
  REQUIRE(emb.padding_idx.has_value());
  CHECK(*emb.padding_idx == 4);
  check_values(emb.weight[4], {0, 0, 0});
  const Tensor idx = tensor({4, 1, 4, 2}, int64);
  (emb.forward(idx) * 2).sum().backward();
  check_values(emb.weight.grad()[4], {0, 0, 0});
  check_values(emb.weight.grad()[1], {2, 2, 2});
  check_values(emb.weight.grad()[0], {0, 0, 0});
  CHECK(test::contains(test::error_of([] { nn::Embedding(5, 3, 5); }), "Embedding: padding_idx 5"));
}
