// Errors (DESIGN.md, "Errors"): every op family raises an xg::Error naming the op
// the user called, the shapes, dtypes and arguments.
#include <cmath>
#include <functional>

#include "helpers.hpp"

using namespace xg;
using namespace test;

TEST_CASE("bad input: every op family raises an error naming the op and the shapes") {
  const Tensor a = ones({2, 3}), b = ones({4}), i = tensor({0, 5}, int64), e = zeros({0, 3});
  const std::vector<std::pair<std::function<void()>, std::string>> cases = {
      {[&] { add(a, b); }, "add: shapes [2, 3] and [4] cannot be broadcast"},
      {[&] { matmul(a, ones({2, 2})); }, "matmul: shapes [2, 3] and [2, 2] cannot be multiplied"},
      {[&] { matmul(ones({2, 3, 2, 2}), ones({4, 2, 2})); },
       "matmul: batch dims [2, 3] of [2, 3, 2, 2] and [4] of [4, 2, 2] cannot be broadcast"},
      {[&] { matmul(ones({2, 1, 2, 3}), ones({4, 2, 2})); }, "matmul: shapes [2, 1, 2, 3] and [4, 2, 2] cannot be multiplied"},
      {[&] { a.sum({-3}); }, "sum: dim -3 is out of range for a tensor of rank 2"},
      {[&] { a.mean({0, 0}); }, "mean: dim 0 appears more than once"},
      {[&] { max(e); }, "max: cannot reduce an empty tensor of shape [0, 3]"},
      {[&] { argmax(e); }, "argmax: cannot take the argmax of an empty tensor"},
      {[&] { a.transpose(0, 2); }, "transpose: dim 2 is out of range"},
      {[&] { a.unsqueeze(4); }, "unsqueeze: dim 4 is out of range for a tensor of rank 2 (shape [2, 3]; expected a dim in [-3, 2])"},
      {[&] { a.narrow(0, -5, 1); }, "narrow: start -3 + length 1 is out of range"},
      {[&] { slice(a, 1, 0, 2, 0); }, "slice: step must be positive, got 0"},
      {[&] { cat({a, ones({2, 3}, float64)}); }, "cat: dtypes differ: float32[2, 3] and float64[2, 3]"},
      {[&] { stack({a, b}); }, "stack: tensor 1 has shape [4] but tensor 0 has shape [2, 3]"},
      {[&] { split(a, std::vector<std::int64_t>{1, 1}, 1); }, "split: sizes add up to 2 but dim 1 of shape [2, 3] has 3"},
      {[&] { index_select(a, 1, i); }, "index_select: index 5 is out of range for dim 1 of size 3"},
      {[&] { gather(a, 1, tensor({1.0}, {1, 1})); }, "gather: indices must be int64, got float32[1, 1]"},
      {[&] { embedding(a, tensor({7}, {1}, int64)); }, "embedding: index 7 is out of range for 2 embeddings (weight [2, 3])"},
      {[&] { conv2d(a, ones({1, 1, 1, 1})); }, "conv2d: expects input [N, C, H, W] and weight [O, C/groups, kh, kw], got [2, 3] and [1, 1, 1, 1]"},
      {[&] { max_pool2d(ones({1, 1, 2, 2}), {3, 3}); }, "max_pool2d: input [1, 1, 2, 2] is too small for a 3x3 kernel"},
      {[&] { layer_norm(a, {4}); }, "layer_norm: normalized_shape [4] must match the last dims of the input [2, 3]"},
      {[&] { batch_norm(ones({1, 3}), {}, {}, {}, {}, true); }, "batch_norm: training needs more than one value per channel, got input [1, 3]"},
      {[&] { cross_entropy(a, tensor({0}, {1}, int64)); }, "cross_entropy: expected 2 class targets, got shape [1]"},
      {[&] { mse_loss(a, b); }, "mse_loss: input [2, 3] and target [4] differ in shape"},
      {[&] { dropout(a, 1.5); }, "dropout: probability must be in [0, 1], got 1.5"},
      {[&] { reshape(a, {-1, -1}); }, "reshape: only one dim can be -1, got [-1, -1]"},
      {[&] { arange(0, 5, 0); }, "arange: step must be nonzero"},
      {[&] { tensor({1, 2, 3}, {2, 2}); }, "tensor: 3 values do not fill shape [2, 2] (4 elements)"},
      {[&] { exp(i); }, "exp: expected a float32 or float64 tensor, got int64"},
      {[&] { mean(i); }, "mean: expected a float32 or float64 tensor, got int64"},
      {[&] { max(gt(a, 0.0)); }, "max: expected a number tensor, got bool"},
      {[&] { sub(gt(a, 0.0), gt(a, 1.0)); }, "sub: is not defined for bool tensors"},
      {[&] { floor_divide(i, zeros({2}, int64)); }, "floor_divide: integer division by zero (divisor int64[2], element 0)"},
      {[&] { Tensor j = i.clone(); j.add_(ones({2})); }, "add_: the result would be float32, which cannot be written into the int64[2] target"},
      {[&] { pow(a, ones({2, 3}, float64)); }, "pow: dtypes differ: float32[2, 3] and float64[2, 3]"},
      {[&] { clamp(a, 1.0, 0.0); }, "clamp: min 1 is greater than max 0"},
      {[&] { (a * 2.0).backward(); }, "does not require grad"},
      {[&] { (ones({2}, TensorOptions().requires_grad(true)) * 2.0).backward(); }, "a gradient can be implied only for one-element outputs; output 0 has shape [2]"},
      // Composite ops name themselves, not the ops they are built from.
      {[&] { softmax(i, 0); }, "softmax: expected a float32 or float64 tensor, got int64"},
      {[&] { log_softmax(i, 0); }, "log_softmax: expected a float32 or float64 tensor, got int64"},
      {[&] { logsumexp(i, {0}); }, "logsumexp: expected a float32 or float64 tensor, got int64"},
      {[&] { xg::std_dev(i); }, "std: expected a float32 or float64 tensor, got int64"},
      {[&] { cross_entropy(i.reshape({1, 2}), tensor({0}, int64)); }, "cross_entropy: expected a float32 or float64 tensor, got int64"},
      {[&] { conv1d(ones({1, 2, 5}), ones({1, 3, 3})); }, "conv1d: input [1, 2, 5] has 2 channels but weight [1, 3, 3] with groups=1 expects 3"},
      {[&] { conv1d(ones({1, 1, 2}), ones({1, 1, 3})); }, "conv1d: input [1, 1, 2] is too small for a kernel of size 3 (padding 0, dilation 1)"},
      {[&] { conv1d(ones({1, 1, 5}), ones({1, 1, 3}), {}, 1, -1); }, "conv1d: stride and dilation must be positive and padding non-negative, got stride 1, padding -1, dilation 1"},
      {[&] { masked_fill(a, ones({4}), 1.0); }, "masked_fill: shapes [4] and [2, 3] cannot be broadcast together"},
      {[&] { masked_fill(ones({3}), ones({2, 3}), 1.0); }, "masked_fill: mask [2, 3] must broadcast to the input's shape [3]"},
      {[&] { take(a, tensor({9}, int64)); }, "take: index 9 is out of range for a tensor of 6 elements (shape [2, 3])"},
      {[&] { nn::LSTM lstm(3, 4); lstm.forward(zeros({0, 2, 3})); }, "LSTM: the sequence length must be at least 1, got input [0, 2, 3]"},
      {[&] { avg_pool2d(ones({1, 1, 4, 4}), {2, 2}, std::nullopt, {-1, 0}); }, "avg_pool2d: kernel, stride and dilation must be positive and padding non-negative, got kernel 2x2, stride 2x2, padding -1x0"},
      {[&] { avg_pool2d(ones({1, 1, 1, 1}), {2, 2}); }, "avg_pool2d: input [1, 1, 1, 1] is too small for a 2x2 kernel"},
      {[&] { binary_cross_entropy_with_logits(a, a, Reduction::Mean, {}, ones({4})); }, "binary_cross_entropy_with_logits: shapes [4] and [2, 3] cannot be broadcast"},
      {[&] { binary_cross_entropy_with_logits(a, a, Reduction::Mean, {}, ones({3}, float64)); }, "binary_cross_entropy_with_logits: dtypes differ: float32[2, 3] and float64[3]"},
      {[&] { binary_cross_entropy(a * 0.5, a * 0.5, Reduction::Mean, ones({4})); }, "binary_cross_entropy: shapes [4] and [2, 3] cannot be broadcast"},
      {[&] { CrossEntropyOptions o; o.label_smoothing = 2; nll_loss(a, tensor({0, 1}, int64), o); }, "nll_loss: label_smoothing must be in [0, 1], got 2"},
      {[&] { CrossEntropyOptions o; o.label_smoothing = -0.5; cross_entropy(a, tensor({0, 1}, int64), o); }, "cross_entropy: label_smoothing must be in [0, 1], got -0.5"},
      {[&] { CrossEntropyOptions o; o.weight = ones({3}, float64); cross_entropy(a, tensor({0, 1}, int64), o); }, "cross_entropy: class weight is float64[3] but the input is float32[2, 3]; mixing dtypes is an error"},
      {[&] { CrossEntropyOptions o; o.weight = ones({3}, float64); cross_entropy(a, a, o); }, "cross_entropy: class weight is float64[3] but the input is float32[2, 3]"},
      {[&] { CrossEntropyOptions o; o.weight = ones({4}); nll_loss(a, tensor({0, 1}, int64), o); }, "nll_loss: weight has shape [4] but there are 3 classes"},
  };
  for (const auto& [call, message] : cases) {
    CAPTURE(message);
    CHECK(contains(error_of(call), message));
  }
  // Empty tensors that make sense work.
  CHECK(e.sum().item() == 0);
  CHECK(matmul(e, ones({3, 2})).shape() == Shape{0, 2});
  CHECK(cat({e, a}).shape() == Shape{2, 3});
}
