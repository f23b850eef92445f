// Reductions (ops_reduce.cpp): values, dims and keepdim; empty and degenerate inputs
// as PyTorch handles them.
// Golden values are PyTorch 1.13's (torch.nn.functional, float64) on the same inputs,
// printed by tests/pytorch_golden.py (/usr/bin/python3 tests/pytorch_golden.py).
#include <cmath>
#include <functional>

#include "helpers.hpp"

using namespace xg;
using namespace test;

TEST_CASE("reductions over all elements and over dims, with keepdim") {
  Tensor a = tensor({1, 2, 3, 4, 5, 6}, {2, 3}, float64);
  CHECK(a.sum().item() == 21);
  CHECK(a.sum().dim() == 0);
  check_values(a.sum({0}), {5, 7, 9});
  check_values(a.sum({1}), {6, 15});
  CHECK(a.sum({1}, true).shape() == Shape{2, 1});
  CHECK(a.sum({-1, 0}).item() == 21);
  check_values(a.mean({0}), {2.5, 3.5, 4.5});
  CHECK(a.mean().item() == 3.5);
  check_values(max(a, {1}), {3, 6});
  check_values(min(a, {0}), {1, 2, 3});
  CHECK(a.max().item() == 6);
  CHECK(a.min().item() == 1);
  check_values(var(a, {1}), {1, 1});
  check_values(var(a, {1}, false, 0), {2.0 / 3, 2.0 / 3});
  CHECK(xg::std_dev(a).item() == doctest::Approx(std::sqrt(3.5)));
  Tensor m = tensor({3, 9, 2, 7, 1, 8}, {2, 3});
  CHECK(argmax(m).item() == 1);
  CHECK(argmin(m).item() == 4);
  CHECK(argmax(m, 1).to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 2});
  CHECK(argmin(m, 0, true).shape() == Shape{1, 3});
  CHECK(argmax(m).dtype() == int64);
  // Reductions over several non-adjacent dims of a 4-d tensor.
  Tensor x = arange(120.0, float64).reshape({2, 3, 4, 5});
  Tensor r = x.sum({0, 2});
  CHECK(r.shape() == Shape{3, 5});
  double expect = 0;
  for (int i = 0; i < 2; ++i)
    for (int k = 0; k < 4; ++k) expect += i * 60 + 1 * 20 + k * 5 + 3;
  CHECK(r.to_vector<double>()[1 * 5 + 3] == expect);
  check_values(sum_to(ones({2, 3, 4}), {3, 1}), {8, 8, 8});
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
  CHECK(std::isnan(xg::std_dev(zeros({0}, float64)).item()));
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

// PyTorch 1.13 in float64 on the same inputs: /usr/bin/python3 tests/pytorch_golden.py reductions_extra.
TEST_CASE("norm, cumprod, cosine_similarity and kl_div: values and gradients match PyTorch") {
  const std::vector<GoldenCase> cases = {
      {"norm", [](const Tensor& x) { return norm(x); },
       {2.449201697148922},
       {0.4082963037156493, 0.22060343437500363, -0.16991121516515872, -0.40421027706818935, -0.26688027434592604, 0.11581822182853826, 0.39203397897693987, 0.3078155038112666, -0.05940712599455891, -0.37201111813098514, -0.34258980387495347, 0.0018069961298829214}},
      {"norm 3 dim 1", [](const Tensor& x) { return norm(x, 3, {1}); },
       {1.300605851514646, 1.1734432753074577, 1.1052649919369866},
       {0.5911648354561261, 0.17257672965157367, -0.10237685594067125, -0.5793918724868256, -0.6205658162946445, 0.1168715177003911, 1.3390670360455708, 0.8255357374369411, -0.05198937713141533, -2.0386814371143718, -1.728965773276244, 4.810076395761588e-05}},
      {"norm inf dim 0", [](const Tensor& x) { return norm(x, INFINITY, {0}); },
       {1.0, 0.9111302618846769, 0.960170286650366, 0.9899924966004454},
       {1.0, 0.0, -0.0, -4.0, -0.0, 0.0, 3.0, 0.0, -0.0, -2.0, -0.0, 0.0}},
      {"norm 0.5 dim 1 keepdim", [](const Tensor& x) { return norm(x, 0.5, {1}, true); },
       {11.391507199325813, 10.171251752552065, 5.3754909328118},
       {3.375130693665923, 4.591686027222204, -5.231994703831968, -3.3921468334658367, -7.8894491986546464, 11.976129274713744, 6.509431579218508, 7.346148049783406, -18.234706373311585, -7.286854298930104, -7.593304728566007, 104.55370674563697}},
      {"cumprod dim 1", [](const Tensor& x) { return cumprod(x, 1); },
       {1.0, 0.5403023058681398, -0.2248450953661529, 0.22259495730990295, -0.6536436208636119, -0.18541397800826864, -0.17802899241318396, -0.13421645871876645, -0.14550003380861354, 0.1325694839082714, -0.11123527957178943, -0.0004922937530011351},
       {2.2964491548774326, 2.3994884730213046, -0.5186739972170894, -0.8993803814646116, 10.251207806720465, -12.10037382701124, -2.4161699741154297, -1.4242319393054717, 8.338837000659709, -0.10558231109350706, 1.4653048729695026, -1.3348233548614732}},
      {"cosine_similarity dim 1", [](const Tensor& x) { return cosine_similarity(x, sin(arange(12.0, float64)).reshape({3, 4})); },
       {-0.03254670551323871, 0.2248430046788241, -0.03456404875579326},
       {0.013310502108094653, 0.43875466474446717, 0.46080981203558175, 0.05919854327451054, -0.6096892820890327, -1.0227677374614248, -0.49551825174686304, 0.4873084294242659, 1.5124254257580458, 0.5733015978923911, -0.8929130751597499, -1.53818758478964}},
      {"kl_div batchmean", [](const Tensor& x) { return kl_div(log_softmax(x, 1), softmax(sin(arange(12.0, float64)).reshape({3, 4}), 1), KLDivReduction::BatchMean); },
       {0.2766967948634477},
       {0.11783539262321581, -0.006518069070554116, -0.078777776922187, -0.03253954663047466, -0.017878871805416897, 0.031100512262819832, 0.060961127970157396, -0.0741827684275603, -0.06753922616459707, -0.04819766098500062, 0.015700904278372837, 0.10003598287122482}},
      {"kl_div log_target sum", [](const Tensor& x) { return kl_div(log_softmax(x, 1), log_softmax(sin(arange(12.0, float64)).reshape({3, 4}), 1), KLDivReduction::Sum, true); },
       {0.8300903845903432},
       {0.3535061778696475, -0.019554207211662344, -0.236333330766561, -0.097618639891424, -0.053636615416250685, 0.0933015367884595, 0.18288338391047218, -0.22254830528268094, -0.20261767849379125, -0.1445929829550019, 0.04710271283511852, 0.30010794861367457}},
      {"kl_div zero targets none", [](const Tensor& x) { return kl_div(log_softmax(x, 1), tensor({0.0, 0.5, 0.5, 0.0}, float64).expand({3, 4}), KLDivReduction::None); },
       {0.0, 0.23254609467275672, 0.7107706658803978, 0.0, 0.0, 0.45403423078866695, 0.11578018019509717, 0.0, 0.0, 0.6062108582363452, 0.570181491832233, 0.0},
       {1.243275036183846, -0.21490349938182698, -1.1983228220265825, 0.16995128522456354, 0.5133901114888836, -1.6892669842033539, -0.9217918659606053, 2.0976687386750763, 3.3583056911473785, -3.4382509796240917, -3.8215594925370326, 3.9015047810137458}},
  };
  check_golden(cos(arange(12.0, float64)).reshape({3, 4}).requires_grad_(true), cases, 1e-12, 1e-11);
  // cumprod through zeros: the exact form (no division), torch's numbers.
  const Tensor z = tensor({2.0, 0.0, 3.0, 0.0, 5.0}, {5}, f64_grad());
  check_values(grad({(cumprod(z, 0) * arange(1.0, 6.0, 1.0, float64)).sum()}, {z})[0], {1.0, 22.0, 0.0, 0.0, 0.0}, 1e-14);
}

TEST_CASE("norm and cosine_similarity of zero vectors: torch's finite values and gradients, not NaN") {
  const Tensor z = zeros({2, 3}, f64_grad());
  const Tensor n = norm(z, 2, {1});
  CHECK(values(n) == std::vector<double>{0, 0});
  CHECK(values(grad({n.sum()}, {z})[0]) == std::vector<double>(6, 0.0));
  CHECK(values(norm(tensor({0.0, 2.0, -3.0}, {3}, float64), 0)) == std::vector<double>{2});
  // torch: a zero vector's similarity is 0 and its gradient is the other vector / eps.
  const Tensor a = zeros({1, 2}, f64_grad());
  const Tensor s = cosine_similarity(a, tensor({1.0, 0.0}, {1, 2}, float64));
  CHECK(values(s) == std::vector<double>{0});
  check_values(grad({s.sum()}, {a})[0], {1e8, 0}, 1e-12);
  check_values(cosine_similarity(tensor({1e-5, 0.0}, {1, 2}, float64), tensor({1e-5, 0.0}, {1, 2}, float64)), {1.0}, 1e-12);
  CHECK(contains(error_of([] { cosine_similarity(zeros({2, 3}), zeros({2, 4})); }), "cosine_similarity"));
  CHECK(contains(error_of([] { norm(zeros({2}, int64)); }), "norm: expected a float32 or float64 tensor"));
}
