// NN ops: values against PyTorch, stability at extreme inputs, errors, and
// gradcheck + gradgradcheck rows for every op.
#include <cmath>
#include <functional>

#include "helpers.hpp"

using namespace xg;
using test::check_values;
using test::contains;
using test::error_of;

namespace {
Tensor x24() { return tensor({1.0, -2.0, 0.5, 3.0, 0.1, 0.2, -0.3, 4.0}, {2, 4}, float64); }
Tensor img() { return arange(100.0, float64).reshape({2, 2, 5, 5}) / 10.0; }
Tensor idx(std::initializer_list<double> v, const Shape& s) { return tensor(v, s, int64); }
}  // namespace

// Golden values below were computed with PyTorch 1.13 (python3-torch,
// torch.nn.functional, float64) on the same inputs; tests/pytorch_golden.py
// prints every one of them (/usr/bin/python3 tests/pytorch_golden.py).
TEST_CASE("activations match PyTorch") {
  const Tensor x = x24();
  check_values(gelu(x), {0.841344746068543, -0.04550026389635842, 0.34573123063700656, 2.99595030590511,
                         0.053982783727702904, 0.11585194188782061, -0.1146265733433142, 3.9998733150326675}, 1e-12);
  check_values(gelu(x, true), {0.8411919906082768, -0.04540230591222494, 0.34571400982514394, 2.996362607918227,
                               0.053982751045435165, 0.11585142978210627, -0.11462907645724074, 3.9999297540518075}, 1e-12);
  check_values(elu(x), {1.0, -0.8646647167633873, 0.5, 3.0, 0.1, 0.2, -0.2591817793182821, 4.0}, 1e-12);
  check_values(softplus(x), {1.3132616875182228, 0.1269280110429725, 0.9740769841801067, 3.048587351573742,
                             0.744396660073571, 0.7981388693815918, 0.5543552444685271, 4.0181499279178094}, 1e-12);
  check_values(silu(x), {0.7310585786300049, -0.2384058440442351, 0.3112296656009273, 2.8577223804672998,
                         0.052497918747894, 0.1099667994624956, -0.1276672449565023, 3.928055160151634}, 1e-12);
  check_values(leaky_relu(x, 0.1), {1.0, -0.2, 0.5, 3.0, 0.1, 0.2, -0.03, 4.0}, 1e-12);
  check_values(logsumexp(x, {1}), {3.2022534476793516, 4.054659801536487}, 1e-12);
  check_values(softmax(x, 1).sum({1}), {1, 1}, 1e-12);
  check_values(exp(log_softmax(x, 0)), softmax(x, 0).to_vector<double>(), 1e-12);
  check_values(cumsum(tensor({1, 2, 3, 4}, {2, 2}), 0), {1, 2, 4, 6});
  check_values(cumsum(tensor({1, 2, 3, 4}, {2, 2}), 1), {1, 3, 3, 7});
}

TEST_CASE("softmax family and losses stay finite at logits of ±1e4") {
  const Tensor big = tensor({1e4, -1e4, 0.0, 1e4}, {1, 4}, float32);
  check_values(softmax(big, 1), {0.5, 0, 0, 0.5});
  check_values(log_softmax(big, 1), {-std::log(2.0), -2e4 - std::log(2.0), -1e4 - std::log(2.0), -std::log(2.0)}, 1e-5);
  CHECK(logsumexp(big, {1}).item() == doctest::Approx(1e4 + std::log(2.0)));
  Tensor logits = tensor({1e4, -1e4, -1e4}, {1, 3}, TensorOptions(float32).requires_grad(true));
  Tensor loss = cross_entropy(logits, idx({1}, {1}));
  CHECK(loss.item() == doctest::Approx(2e4));
  loss.backward();
  check_values(logits.grad(), {1, -1, 0});
  Tensor bl = binary_cross_entropy_with_logits(tensor({1e4, -1e4}), tensor({0, 1}));
  CHECK(bl.item() == doctest::Approx(1e4));
  CHECK(std::isfinite(binary_cross_entropy(tensor({0.0, 1.0}), tensor({1.0, 0.0})).item()));
  CHECK(logsumexp(full({3}, -INFINITY), {0}).item() == -INFINITY);
}

TEST_CASE("losses match PyTorch") {
  const Tensor x = x24();
  const Tensor t = idx({3, 1}, {2});
  CHECK(cross_entropy(x, t).item() == doctest::Approx(2.0284566246079194).epsilon(1e-12));
  CrossEntropyOptions o;
  o.weight = tensor({1.0, 2.0, 0.5, 1.5}, float64);
  o.label_smoothing = 0.1;
  CHECK(cross_entropy(x, t, o).item() == doctest::Approx(2.261726843795652).epsilon(1e-12));
  CrossEntropyOptions none;
  none.reduction = Reduction::None;
  check_values(cross_entropy(x, idx({3, -100}, {2}), none), {0.20225344767935172, 0.0}, 1e-12);
  CHECK(cross_entropy(x, idx({3, -100}, {2})).item() == doctest::Approx(0.20225344767935172).epsilon(1e-12));
  // Soft targets equal to one-hot give the same loss as class targets.
  CHECK(cross_entropy(x, one_hot(t, 4, float64)).item() == doctest::Approx(2.0284566246079194).epsilon(1e-12));
  const Tensor p = tensor({0.2, 0.9, 0.5, 1.0}, float64), y = tensor({0.0, 1.0, 1.0, 0.0}, float64);
  CHECK(binary_cross_entropy(p, y).item() == doctest::Approx(25.255412811882994).epsilon(1e-12));
  CHECK(binary_cross_entropy_with_logits(x.select(0, 0), y, Reduction::Mean, {}, full({4}, 2.0, float64)).item() ==
        doctest::Approx(2.390964757384531).epsilon(1e-12));
  CHECK(smooth_l1_loss(x.select(0, 0), x.select(0, 1), Reduction::Mean, 0.5).item() == doctest::Approx(0.975));
  CHECK(huber_loss(x.select(0, 0), x.select(0, 1), Reduction::Mean, 0.5).item() == doctest::Approx(0.4875));
  CHECK(mse_loss(tensor({1, 2}), tensor({3, 5}), Reduction::Sum).item() == 13);
  CHECK(l1_loss(tensor({1, 2}), tensor({3, 5})).item() == 2.5);
  CHECK(contains(error_of([&] { cross_entropy(x, idx({3, 4}, {2})); }),
                 "cross_entropy: target 4 at position 1 is out of range for 4 classes"));
  CHECK(contains(error_of([&] { cross_entropy(x, tensor({3, 1})); }), "class indices must be int64"));
  CHECK(contains(error_of([&] { mse_loss(ones({3, 1}), ones({3})); }), "mse_loss: input [3, 1] and target [3] differ in shape"));
  CHECK(contains(error_of([&] { binary_cross_entropy(tensor({1.5}), tensor({1.0})); }), "input values must be in [0, 1]"));
}

TEST_CASE("convolution and pooling match PyTorch") {
  const Tensor im = img();
  const Tensor w2 = linspace(-1, 1, 32, float64).reshape({4, 2, 2, 2});
  Conv2dOptions o;
  o.stride = {2, 2};
  o.padding = {1, 1};
  const Tensor c = conv2d(im, w2, {}, o);
  CHECK(c.shape() == Shape{2, 4, 3, 3});
  CHECK(c.sum().item() == doctest::Approx(102.83870967741933).epsilon(1e-12));
  check_values(c.select(0, 1).select(0, 3), {11.20967741935484, 22.12258064516129, 22.793548387096774, 23.29032258064516,
                                             45.71612903225807, 46.95483870967742, 26.516129032258064, 51.909677419354836,
                                             53.14838709677419}, 1e-12);
  Conv2dOptions g;
  g.dilation = {2, 2};
  g.groups = 2;
  const Tensor cg = conv2d(im, linspace(-1, 1, 16, float64).reshape({4, 1, 2, 2}), tensor({1, 2, 3, 4}, float64), g);
  check_values(cg.select(0, 1).select(0, 2), {11.933333333333334, 12.040000000000001, 12.146666666666668, 12.466666666666667,
                                              12.573333333333334, 12.680000000000001, 13.0, 13.106666666666667,
                                              13.213333333333335}, 1e-12);
  check_values(max_pool2d(im, {2, 2}, std::nullopt, {1, 1}).select(0, 0).select(0, 1), {2.5, 2.7, 2.9, 3.5, 3.7, 3.9, 4.5, 4.7, 4.9});
  check_values(avg_pool2d(im, {3, 3}, std::make_pair(2, 2), {1, 1}).select(0, 1).select(0, 0),
               {2.3555555555555556, 3.6333333333333337, 2.488888888888889, 4.033333333333334, 6.2, 4.233333333333333,
                3.0222222222222226, 4.633333333333334, 3.1555555555555554}, 1e-12);
  check_values(adaptive_avg_pool2d(im, {2, 3}).select(0, 1).select(0, 1), {8.05, 8.2, 8.35, 9.05, 9.2, 9.35}, 1e-12);
  CHECK(conv1d(ones({1, 2, 5}), ones({3, 2, 3}), {}, 1, 1).shape() == Shape{1, 3, 5});
  check_values(conv1d(ones({1, 1, 4}), ones({1, 1, 2})), {2, 2, 2});
  CHECK(contains(error_of([&] { conv2d(im, ones({4, 3, 2, 2}, float64)); }), "conv2d: input [2, 2, 5, 5] has 2 channels"));
  CHECK(contains(error_of([&] { conv2d(ones({1, 1, 2, 2}), ones({1, 1, 3, 3})); }), "is too small for a 3x3 kernel"));
  check_values(pad(tensor({1, 2}, {1, 2}), {1, 0, 0, 1}, -1.0), {-1, 1, 2, -1, -1, -1});
}

TEST_CASE("normalisation matches PyTorch, batch_norm keeps running statistics") {
  check_values(layer_norm(x24(), {4}), {0.21055838998863707, -1.4739087299204596, -0.07018612999621238, 1.3335364699280348,
                                        -0.5166095690513587, -0.4592085058234299, -0.7462138219630736, 1.722031896837862}, 1e-9);
  check_values(group_norm(img(), 2).select(0, 1).select(0, 1).select(0, 0),
               {-1.664084587939266, -1.525410872277661, -1.3867371566160545, -1.2480634409544495, -1.109389725292843}, 1e-9);
  Tensor x = tensor({1, 2, 3, 4, 5, 6}, {3, 2}, float64);
  Tensor rm = zeros({2}, float64), rv = ones({2}, float64);
  Tensor y = batch_norm(x, rm, rv, {}, {}, true, 0.1);
  check_values(y.mean({0}), {0, 0}, 1e-9);
  check_values(rm, {0.3, 0.4});            // 0.9·0 + 0.1·mean
  check_values(rv, {0.9 + 0.4, 0.9 + 0.4});  // 0.9·1 + 0.1·unbiased var (4)
  Tensor e = batch_norm(x, rm, rv, {}, {}, false);
  CHECK(e.to_vector<double>()[0] == doctest::Approx((1 - 0.3) / std::sqrt(1.3 + 1e-5)));
}

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

TEST_CASE("dropout: inverted, seeded, identity in eval") {
  const Tensor x = ones({10000});
  manual_seed(3);
  const Tensor a = dropout(x, 0.3, true);
  manual_seed(3);
  CHECK(dropout(x, 0.3, true).to_vector<float>() == a.to_vector<float>());
  const auto v = a.to_vector<float>();
  std::size_t zeros_n = 0;
  for (float f : v) {
    CHECK((f == 0.f || std::abs(f - 1.f / 0.7f) < 1e-6f));
    zeros_n += f == 0.f;
  }
  CHECK(static_cast<double>(zeros_n) / 10000 == doctest::Approx(0.3).epsilon(0.1));
  CHECK(dropout(x, 0.3, false).is_same(x));
}

// The NN ops' gradcheck rows live in the op registry (test_gradcheck_ops.cpp runs them).

TEST_CASE("batched im2col is the per-image layout with images side by side, gradients check") {
  manual_seed(6);
  Conv2dOptions o;
  o.padding = {1, 0};
  o.stride = {1, 2};
  const Tensor x = randn({2, 3, 4, 5}, float64);
  const Tensor per_image = im2col(x, {2, 3}, o);            // [N, CK, L]
  const Tensor batched = im2col(x, {2, 3}, o, true);        // [CK, N·L]
  CHECK(batched.to_vector<double>() ==
        reshape(permute(per_image, {1, 0, 2}), {per_image.size(1), -1}).to_vector<double>());
  auto f = [o](const TensorList& in) { return im2col(in[0], {2, 2}, o, true); };
  const TensorList inputs{randn({2, 2, 3, 4}, TensorOptions(float64).requires_grad(true))};
  const GradcheckResult r1 = gradcheck(f, inputs);
  CHECK_MESSAGE(r1.ok, r1.report);
  const GradcheckResult r2 = gradgradcheck(f, inputs);
  CHECK_MESSAGE(r2.ok, r2.report);
}

TEST_CASE("second derivatives exactly at a kink follow PyTorch's convention") {
  // torch.autograd.grad twice at the kink (tests/pytorch_golden.py: kinks):
  // elu(α = 1.5) at 0: y 0, dy 1.5, d²y 0; softplus(β = 2, threshold = 3) at
  // βx = 3: y 1.524293675786871, dy 0.9525741268224333, d²y 0.
  auto first_and_second = [](const std::function<Tensor(const Tensor&)>& f, double at) {
    Tensor x = tensor({at}, test::f64_grad());
    const Tensor y = f(x);
    const Tensor g = grad({y}, {x}, {}, std::nullopt, true)[0];
    const Tensor h = grad({g}, {x})[0];
    return std::vector<double>{y.item(), g.item(), h.item()};
  };
  const auto e = first_and_second([](const Tensor& x) { return elu(x, 1.5); }, 0.0);
  CHECK(e[0] == 0.0);
  CHECK(e[1] == doctest::Approx(1.5));
  CHECK(e[2] == 0.0);
  const auto s = first_and_second([](const Tensor& x) { return softplus(x, 2.0, 3.0); }, 1.5);
  CHECK(s[0] == doctest::Approx(1.524293675786871).epsilon(1e-14));
  CHECK(s[1] == doctest::Approx(0.9525741268224333).epsilon(1e-14));
  CHECK(s[2] == 0.0);
  // Away from the kinks the second derivatives are the smooth ones.
  CHECK(first_and_second([](const Tensor& x) { return elu(x, 1.5); }, -0.5)[2] == doctest::Approx(1.5 * std::exp(-0.5)));
  const double sg = 1.0 / (1.0 + std::exp(-2.0));
  CHECK(first_and_second([](const Tensor& x) { return softplus(x, 2.0, 3.0); }, 1.0)[2] ==
        doctest::Approx(2.0 * sg * (1.0 - sg)));
  CHECK(first_and_second([](const Tensor& x) { return softplus(x, 2.0, 3.0); }, 2.0)[1] == 1.0);
}

TEST_CASE("empty and degenerate inputs give PyTorch's values, not errors") {
  // torch 1.13 (tests/pytorch_golden.py: degenerate): var([1, 2], correction 3) = inf,
  // var([3, 3], correction 3) = nan, std([]) = nan, logsumexp(zeros(2, 0), 1) = [-inf, -inf],
  // softmax/log_softmax over a zero-size dim keep the shape, cross_entropy with N = 0 is nan
  // (mean) and 0 (sum), adaptive_avg_pool2d of a 0x0 image raises.
  const Tensor x = tensor({1, 2}, float64);
  CHECK(var(x, {0}, false, 3).item() == INFINITY);
  CHECK(var(x, {0}, false, 2).item() == INFINITY);
  CHECK(std::isnan(var(tensor({3, 3}, float64), {0}, false, 3).item()));
  CHECK(std::isnan(xg::std(zeros({0}, float64)).item()));
  CHECK(logsumexp(zeros({2, 0}), {1}).to_vector<double>() == std::vector<double>{-INFINITY, -INFINITY});
  CHECK(logsumexp(zeros({0, 3}), {1}).shape() == Shape{0});
  CHECK(softmax(zeros({2, 0}), 1).shape() == Shape{2, 0});
  CHECK(log_softmax(zeros({0, 3}), 1).shape() == Shape{0, 3});
  Tensor logits = zeros({0, 3}, test::f64_grad());
  const Tensor empty_targets = zeros({0}, int64);
  CHECK(std::isnan(cross_entropy(logits, empty_targets).item()));
  CrossEntropyOptions sum_opts;
  sum_opts.reduction = Reduction::Sum;
  const Tensor total = cross_entropy(logits, empty_targets, sum_opts);
  CHECK(total.item() == 0.0);
  total.backward();
  CHECK(logits.grad().shape() == Shape{0, 3});
  CHECK(test::contains(test::error_of([] { adaptive_avg_pool2d(zeros({1, 1, 0, 0}), {2, 2}); }),
                       "adaptive_avg_pool2d: expects an input with non-zero height and width, got [1, 1, 0, 0]"));
  // Attention over an empty sequence: [B, 0, d] in, [B, 0, d] out.
  const Tensor q = zeros({2, 0, 4});
  auto [out, weights] = nn::scaled_dot_product_attention(q, q, q);
  CHECK(out.shape() == Shape{2, 0, 4});
  CHECK(weights.shape() == Shape{2, 0, 0});
  nn::MultiheadAttention mha(4, 2, true, true);
  CHECK(mha.forward(q, q, q).first.shape() == Shape{2, 0, 4});
}
