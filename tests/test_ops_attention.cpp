// The fused attention core (ops_attention.cpp): values and gradients against
// the composed formula softmax(scale·q kᵀ + mask) v in float64 and float32,
// every mask form, causal with L != S, views, second order, and bad input.
#include <cmath>
#include <limits>

#include "helpers.hpp"

using namespace xg;
using namespace test;

namespace {

/// The formula written out in differentiable ops (what the op replaces).
Tensor composed(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& add_mask, bool causal, double scale) {
  Tensor s = matmul(q.reshape({-1, q.size(-2), q.size(-1)}), k.reshape({-1, k.size(-2), k.size(-1)}).transpose(1, 2)) * scale;
  Shape full(q.shape().begin(), q.shape().end() - 1);
  full.push_back(k.size(-2));
  s = s.reshape(full);
  if (add_mask.defined()) s = s + add_mask;
  if (causal) {
    const std::int64_t L = q.size(-2), S = k.size(-2);
    std::vector<double> m(static_cast<std::size_t>(L * S), 0.0);
    for (std::int64_t i = 0; i < L; ++i)
      for (std::int64_t j = i + 1; j < S; ++j) m[static_cast<std::size_t>(i * S + j)] = -INFINITY;
    s = s + from_vector(m, {L, S}, q.dtype());
  }
  const Tensor p = softmax(s, -1);
  Shape out(q.shape().begin(), q.shape().end() - 1);
  out.push_back(v.size(-1));
  return matmul(p.reshape({-1, q.size(-2), k.size(-2)}), v.reshape({-1, v.size(-2), v.size(-1)})).reshape(out);
}

/// x [1, n, d] with its rows in reverse order (torch's flip(1)).
Tensor flip_rows(const Tensor& x) {
  const std::int64_t n = x.size(1);
  std::vector<std::int64_t> order;
  for (std::int64_t i = n - 1; i >= 0; --i) order.push_back(i);
  return index_select(x, 1, from_vector(order, {n}));
}

struct Case {
  const char* name;
  Shape q, k, v, mask;
  bool bool_mask, causal;
  double scale;  // NaN: the default 1/√E
};

}  // namespace

TEST_CASE("scaled_dot_product_attention agrees with the composed formula, values and every gradient") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Case cases[] = {
      {"3-d", {2, 5, 8}, {2, 7, 8}, {2, 7, 3}, {}, false, false, nan},
      {"4-d causal, L = S", {2, 3, 6, 4}, {2, 3, 6, 4}, {2, 3, 6, 4}, {}, false, true, nan},
      {"causal, L < S", {2, 3, 4}, {2, 5, 4}, {2, 5, 2}, {}, false, true, 0.3},
      {"causal, L > S", {1, 6, 4}, {1, 3, 4}, {1, 3, 5}, {}, false, true, nan},
      {"float mask [L, S]", {3, 4, 5}, {3, 6, 5}, {3, 6, 2}, {4, 6}, false, false, nan},
      {"float mask [B, 1, 1, S] (key padding)", {2, 2, 3, 4}, {2, 2, 5, 4}, {2, 2, 5, 4}, {2, 1, 1, 5}, false, false, nan},
      {"bool mask [B, H, L, S]", {2, 2, 3, 4}, {2, 2, 5, 4}, {2, 2, 5, 4}, {2, 2, 3, 5}, true, false, 1.5},
      {"one long row", {1, 1, 300}, {1, 300, 300}, {1, 300, 7}, {}, false, false, nan},
  };
  for (Dtype dt : {float64, float32}) {
    const double tol = dt == float64 ? 1e-12 : 2e-5;
    for (const Case& c : cases) {
      CAPTURE(c.name);
      CAPTURE(dt);
      manual_seed(3);
      const TensorOptions o = TensorOptions(dt).requires_grad(true);
      const Tensor q = randn(c.q, o), k = randn(c.k, o), v = randn(c.v, o);
      Tensor mask, add_mask;
      if (!c.mask.empty()) {
        if (c.bool_mask) {
          mask = gt(rand(c.mask), 0.3);  // keep ~70 %; a row with nothing kept is NaN (next case)
          mask.select(-1, 0).fill_(1);
          add_mask = where(mask, zeros({}, dt), full({}, -INFINITY, dt));
        } else {
          mask = (randn(c.mask, dt) * 2.0).requires_grad_(true);
          add_mask = mask;
        }
      }
      const std::optional<double> scale = std::isnan(c.scale) ? std::nullopt : std::optional<double>(c.scale);
      const double s = scale ? *scale : 1.0 / std::sqrt(static_cast<double>(c.q.back()));
      const Tensor y = scaled_dot_product_attention(q, k, v, mask, c.causal, scale);
      const Tensor ref = composed(q, k, v, add_mask, c.causal, s);
      REQUIRE(y.shape() == ref.shape());
      check_values(y, values(ref), tol);
      const Tensor g = randn(y.shape(), dt);
      TensorList inputs{q, k, v};
      if (mask.defined() && mask.requires_grad()) inputs.push_back(mask);
      const TensorList got = grad({y}, inputs, {g});
      const TensorList want = grad({ref}, inputs, {g});
      for (std::size_t i = 0; i < inputs.size(); ++i) {
        CAPTURE(i);
        REQUIRE(got[i].shape() == inputs[i].shape());
        check_values(got[i], values(want[i]), dt == float64 ? 1e-11 : 1e-4);
      }
    }
  }
}

TEST_CASE("scaled_dot_product_attention reads views without copying them first and gives the same values") {
  manual_seed(5);
  // [B, T, H, d] permuted to [B, H, T, d]: the layout multi-head attention makes.
  const Tensor base = randn({2, 6, 3, 4}, f64_grad());
  const Tensor q = base.permute({0, 2, 1, 3}), q2 = base.permute({0, 2, 1, 3});
  const Tensor y = scaled_dot_product_attention(q, q, q, {}, true);
  const Tensor yc = scaled_dot_product_attention(q.contiguous(), q.contiguous(), q.contiguous(), {}, true);
  check_values(y, values(yc), 1e-14);
  const Tensor g = randn(y.shape(), float64);
  const Tensor d = grad({y}, {base}, {g})[0];
  const Tensor dc = grad({composed(q2, q2, q2, {}, true, 0.5)}, {base}, {g})[0];
  check_values(d, values(dc), 1e-12);
}

TEST_CASE("scaled_dot_product_attention: a row with every key masked is NaN, as in PyTorch, and an empty key set gives zeros") {
  const Tensor q = ones({1, 2, 2}, float64), k = ones({1, 3, 2}, float64), v = ones({1, 3, 2}, float64);
  const Tensor keep = tensor({1, 1, 0, 0, 0, 0}, {2, 3}).to(boolean);
  const auto y = values(scaled_dot_product_attention(q, k, v, keep));
  CHECK(y[0] == doctest::Approx(1.0));
  CHECK(std::isnan(y[2]));
  CHECK(std::isnan(y[3]));
  check_values(scaled_dot_product_attention(q, zeros({1, 0, 2}, float64), zeros({1, 0, 4}, float64)),
               std::vector<double>(8, 0.0));
}

TEST_CASE("scaled_dot_product_attention second derivatives match the composed formula's") {
  manual_seed(9);
  const Tensor q = randn({2, 3, 4}, f64_grad()), k = randn({2, 3, 4}, f64_grad()), v = randn({2, 3, 2}, f64_grad());
  const Tensor mask = randn({3, 3}, f64_grad());
  for (bool causal : {false, true}) {
    const Tensor m = causal ? Tensor() : mask;
    const Tensor y = scaled_dot_product_attention(q, k, v, m, causal);
    const Tensor r = composed(q, k, v, m, causal, 0.5);
    const TensorList inputs = causal ? TensorList{q, k, v} : TensorList{q, k, v, mask};
    auto second = [&](const Tensor& out) {
      const TensorList d = grad({(out * out).sum()}, inputs, {}, std::nullopt, /*create_graph=*/true);
      Tensor total = zeros({}, float64);
      for (const Tensor& t : d) total = total + (t * t).sum();
      return grad({total}, inputs);
    };
    const TensorList a = second(y), b = second(r);
    for (std::size_t i = 0; i < inputs.size(); ++i) check_values(a[i], values(b[i]), 1e-10);
  }
}

TEST_CASE("scaled_dot_product_attention refuses bad input by name, with the shapes") {
  const Tensor q = zeros({2, 3, 4}), k = zeros({2, 5, 4}), v = zeros({2, 5, 6});
  CHECK(contains(error_of([&] { scaled_dot_product_attention(q, zeros({2, 5, 3}), v); }),
                 "scaled_dot_product_attention: key must be [..., S, 4]"));
  CHECK(contains(error_of([&] { scaled_dot_product_attention(q, k, zeros({2, 4, 6})); }), "value [2, 4, 6]"));
  CHECK(contains(error_of([&] { scaled_dot_product_attention(q, zeros({3, 5, 4}), zeros({3, 5, 6})); }),
                 "same batch dims"));
  CHECK(contains(error_of([&] { scaled_dot_product_attention(q, k.to(float64), v); }), "share a dtype"));
  CHECK(contains(error_of([&] { scaled_dot_product_attention(zeros({4}), zeros({4}), zeros({4})); }),
                 "scaled_dot_product_attention"));
  CHECK(contains(error_of([&] { scaled_dot_product_attention(q, k, v, zeros({3, 4})); }),
                 "scaled_dot_product_attention: shapes [3, 4] and [2, 3, 5] cannot be broadcast"));
  CHECK(contains(error_of([&] { scaled_dot_product_attention(q, k, v, zeros({1, 2, 3, 5})); }),
                 "attn_mask of shape [1, 2, 3, 5] does not broadcast to the scores' shape [2, 3, 5]"));
  CHECK(contains(error_of([&] { scaled_dot_product_attention(q, k, v, zeros({3, 5}, float64)); }),
                 "attn_mask must be bool"));
  CHECK(contains(error_of([&] { scaled_dot_product_attention(q, k, v, zeros({3, 5}), true); }), "not both"));
  CHECK(contains(error_of([&] { scaled_dot_product_attention(q, k, v, {}, false, INFINITY); }), "scale must be finite"));
  CHECK(contains(error_of([&] { scaled_dot_product_attention(idx({1}, {1, 1}), idx({1}, {1, 1}), idx({1}, {1, 1})); }),
                 "scaled_dot_product_attention"));
}

// PyTorch 1.13's torch.nn.functional._scaled_dot_product_attention (float64)
// on the same inputs: /usr/bin/python3 tests/pytorch_golden.py attention.
TEST_CASE("scaled_dot_product_attention matches PyTorch: causal and a bool mask, output and gradients") {
  const Tensor q = (arange(6.0, float64).reshape({1, 3, 2}) / 5.0 - 0.4).requires_grad_(true);
  const Tensor k = (flip_rows(arange(8.0, float64).reshape({1, 4, 2})) / 7.0).requires_grad_(true);
  const Tensor v = (arange(8.0, float64).reshape({1, 4, 2}) * 0.3 - 1.0).requires_grad_(true);
  const Tensor weights = arange(6.0, float64).reshape({1, 3, 2});
  const Tensor keep = tensor({1, 0, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1}, {3, 4}).to(boolean);
  struct Golden {
    bool causal;
    std::vector<double> y, dq, dk, dv;
  };
  const Golden golden[] = {
      {true,
       {-1.0, -0.7, -0.7060600907875998, -0.40606009078759986, -0.48026727806292263, -0.18026727806292264},
       {0.0, 0.0, -0.15146105243364766, -0.15146105243364774, -0.7126827664655954, -0.7126827664655954},
       {-0.5324738148871553, -0.904733459034286, 0.06719175672247692, 0.20681037178726852, 0.4652820581646784,
        0.6979230872470175, 0.0, 0.0},
       {2.630069843550903, 4.542637380094963, 2.2951758026096774, 3.1139196776057636, 1.0747543538394195,
        1.3434429422992744, 0.0, 0.0}},
      {false,
       {0.10927554587484012, 0.4092755458748403, -0.7060600907875998, -0.40606009078759986, 0.11973272193707732,
        0.41973272193707734},
       {-0.17478517587509237, -0.1747851758750924, -0.15146105243364766, -0.15146105243364774, -0.7126827664655955,
        -0.7126827664655955},
       {0.0845021746583907, -0.06377164937435786, -0.5324738148871554, -0.6926879856271798, 0.05838447897243419,
        0.09638399620869403, 0.3895871612563304, 0.6600756387928435},
       {1.0202003026253328, 1.7996296614021108, 2.5896692383002375, 3.4820364722189634, 1.3153761052350101,
        1.987439932693361, 1.0747543538394195, 1.7308939336855647}},
  };
  for (const Golden& g : golden) {
    CAPTURE(g.causal);
    const Tensor y = scaled_dot_product_attention(q, k, v, g.causal ? Tensor() : keep, g.causal);
    check_values(y, g.y, 1e-14);
    const TensorList d = grad({(y * weights).sum()}, {q, k, v});
    check_values(d[0], g.dq, 1e-14);
    check_values(d[1], g.dk, 1e-14);
    check_values(d[2], g.dv, 1e-14);
  }
}
