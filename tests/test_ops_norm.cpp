// Normalisation and dropout (ops_norm.cpp).
#include <cmath>
#include <functional>

#include "helpers.hpp"

using namespace xg;
using namespace test;

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

TEST_CASE("rms_norm: x / sqrt(mean(x^2) + eps) * w, values and gradients against the composed formula, float32 and float64") {
  // By hand: x = [3, 4], mean(x²) = 12.5, rms = √12.5 → y = [0.848528137423857, 1.131370849898476].
  check_values(xg::rms_norm(xg::tensor({3.0, 4.0}, xg::float64), {2}, {}, 0.0), {0.848528137423857, 1.131370849898476}, 1e-14);
  xg::manual_seed(11);
  for (xg::Dtype dt : {xg::float32, xg::float64}) {
    for (std::int64_t n : {5, 64, 1000}) {
      xg::Tensor x = xg::randn({7, n}).to(dt).requires_grad_(true);
      xg::Tensor w = (xg::rand({n}) + 0.5).to(dt).requires_grad_(true);
      const xg::Tensor up = xg::randn({7, n}).to(dt);
      const double eps = 1e-6;
      const xg::Tensor y = xg::rms_norm(x, {n}, w, eps);
      const auto g = xg::grad({(y * up).sum()}, {x, w});
      const xg::Tensor ref = x * xg::pow(xg::mean(x * x, {1}, true) + eps, -0.5) * w;
      const auto gr = xg::grad({(ref * up).sum()}, {x, w});
      const double tol = dt == xg::float32 ? 2e-5 : 1e-12;
      CAPTURE(n);
      check_values(y, values(ref), tol);
      check_values(g[0], values(gr[0]), dt == xg::float32 ? 1e-3 : 1e-10);
      check_values(g[1], values(gr[1]), dt == xg::float32 ? 1e-3 : 1e-10);
    }
  }
  // torch's default eps is the dtype's machine epsilon; a wrong shape is named.
  CHECK(contains(error_of([] { xg::rms_norm(xg::ones({2, 3}), {2}); }), "rms_norm: normalized_shape [2] must match"));
}

TEST_CASE("fused dropout: one mask per seed on any thread count, x·keep/(1-p) forward and g·keep/(1-p) backward, views and float64") {
  const Tensor x = randn({700, 300}, TensorOptions(float32).requires_grad(true));
  auto run = [&](int threads) {
    const int saved = get_num_threads();
    set_num_threads(threads);
    manual_seed(21);
    Tensor y = dropout(x, 0.25, true);
    set_num_threads(saved);
    return y;
  };
  const Tensor y1 = run(1), y2 = run(2);
  CHECK(y1.to_vector<float>() == y2.to_vector<float>());
  // Each element is x/(1-p) or 0, about a quarter of them 0, and the gradient
  // is the same mask times 1/(1-p).
  const auto xv = x.to_vector<float>(), yv = y1.to_vector<float>();
  const Tensor g = randn({700, 300});
  const auto dv = grad({y1}, {x}, {g})[0].to_vector<float>(), gv = g.to_vector<float>();
  std::size_t dropped = 0;
  for (std::size_t i = 0; i < xv.size(); ++i) {
    const bool kept = yv[i] != 0.f;
    dropped += !kept;
    CHECK(yv[i] == (kept ? xv[i] * (1.f / 0.75f) : 0.f));
    CHECK(dv[i] == (kept ? gv[i] * (1.f / 0.75f) : 0.f));
  }
  CHECK(static_cast<double>(dropped) / static_cast<double>(xv.size()) == doctest::Approx(0.25).epsilon(0.02));
  // A transposed view and float64: the same rule, p = 0.9.
  const Tensor v = randn({40, 50}, float64).t();
  manual_seed(4);
  const auto dvv = dropout(v, 0.9, true).to_vector<double>(), vv = v.to_vector<double>();
  std::size_t kept = 0;
  for (std::size_t i = 0; i < vv.size(); ++i) {
    if (dvv[i] != 0) CHECK(dvv[i] == doctest::Approx(vv[i] * 10.0).epsilon(1e-15));
    kept += dvv[i] != 0;
  }
  CHECK(static_cast<double>(kept) / 2000.0 == doctest::Approx(0.1).epsilon(0.25));
  CHECK(contains(error_of([] { dropout(ones({2}, int64), 0.5, true); }), "dropout"));
}

namespace {
/// batch_norm written out in differentiable ops (what the fused node replaces).
Tensor composed_batch_norm(const Tensor& x, const Tensor& rm, const Tensor& rv, const Tensor& w, const Tensor& b,
                           bool training, double eps) {
  Shape param(static_cast<std::size_t>(x.dim()), 1);
  param[1] = x.size(1);
  std::vector<std::int64_t> dims{0};
  for (std::int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
  Tensor y;
  if (training) {
    const Tensor centred = x - mean(x, dims, true);
    y = centred / sqrt(mean(centred * centred, dims, true) + eps);
  } else {
    y = (x - rm.reshape(param)) / sqrt(rv.reshape(param) + eps);
  }
  if (w.defined()) y = y * w.reshape(param);
  if (b.defined()) y = y + b.reshape(param);
  return y;
}
}  // namespace

TEST_CASE("fused batch_norm agrees with the composed formula: values, running statistics, every gradient, train and eval") {
  for (Dtype dt : {float64, float32}) {
    const double tol = dt == float64 ? 1e-12 : 2e-5;
    for (const Shape& shape : {Shape{6, 3}, Shape{4, 3, 5}, Shape{3, 4, 5, 6}, Shape{2, 2, 33, 17}}) {
      for (bool training : {true, false}) {
        for (bool affine : {true, false}) {
          CAPTURE(dt);
          CAPTURE(shape);
          CAPTURE(training);
          CAPTURE(affine);
          manual_seed(17);
          const TensorOptions o = TensorOptions(dt).requires_grad(true);
          const std::int64_t c = shape[1];
          // A transposed view with a large mean: no cancellation in the variance either.
          Shape swapped = shape;
          std::swap(swapped[0], swapped[1]);
          const Tensor base = (randn(swapped, dt) * 3.0 + 50.0).requires_grad_(true);
          const Tensor x = base.transpose(0, 1);
          const Tensor w = affine ? randn({c}, o) : Tensor(), b = affine ? randn({c}, o) : Tensor();
          Tensor rm = randn({c}, dt), rv = rand({c}, dt) + 0.5;
          const Tensor rm0 = rm.clone(), rv0 = rv.clone();
          const Tensor y = batch_norm(x, rm, rv, w, b, training, 0.1, 1e-5);
          const Tensor ref = composed_batch_norm(x, rm0, rv0, w, b, training, 1e-5);
          check_values(y, values(ref), tol);
          if (training) {  // running stats: (1 − m)·old + m·batch (unbiased variance)
            std::vector<std::int64_t> dims{0};
            for (std::int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
            NoGradGuard no_grad;
            const Tensor mu = mean(x, dims), v = var(x, dims, false, 1);
            check_values(rm, values(rm0 * 0.9 + mu * 0.1), tol * 50);
            check_values(rv, values(rv0 * 0.9 + v * 0.1), tol * 50);
          } else {
            CHECK(values(rm) == values(rm0));  // eval leaves the buffers alone
          }
          const Tensor g = randn(shape, dt);
          TensorList inputs{base};
          if (affine) inputs.push_back(w), inputs.push_back(b);
          const TensorList got = grad({y}, inputs, {g}, /*retain_graph=*/true), want = grad({ref}, inputs, {g});
          for (std::size_t i = 0; i < inputs.size(); ++i) check_values(got[i], values(want[i]), dt == float64 ? 1e-10 : 2e-3);
        }
      }
    }
  }
}

TEST_CASE("fused batch_norm: second derivatives match the composed formula's, and bad parameters are refused by name") {
  manual_seed(2);
  const Tensor x = randn({4, 3, 5}, f64_grad()), w = randn({3}, f64_grad()), b = randn({3}, f64_grad());
  for (bool training : {true, false}) {
    const Tensor rm = randn({3}, float64), rv = rand({3}, float64) + 0.5;
    auto second = [&](const Tensor& y) {
      const TensorList d = grad({(y * y * y).sum()}, {x, w, b}, {}, std::nullopt, /*create_graph=*/true);
      return grad({(d[0] * d[0]).sum() + (d[1] * d[2]).sum()}, {x, w, b});
    };
    const TensorList a = second(batch_norm(x, rm.clone(), rv.clone(), w, b, training));
    const TensorList r = second(composed_batch_norm(x, rm, rv, w, b, training, 1e-5));
    for (std::size_t i = 0; i < 3; ++i) check_values(a[i], values(r[i]), 1e-9);
  }
  CHECK(contains(error_of([&] { batch_norm(x, {}, {}, randn({3}), b, true); }), "batch_norm"));
  CHECK(contains(error_of([&] { batch_norm(x, {}, {}, w, b, true, 0.1, -1.0); }), "batch_norm: eps must be finite"));
  CHECK(contains(error_of([&] { batch_norm(x.to(int64), {}, {}, {}, {}, true); }), "batch_norm"));
}

TEST_CASE("fused group_norm in float32 matches the float64 definition, values and gradients, even far from zero") {
  // x = 1000 + small spread: a kernel that folded the mean into the shift
  // (x·r − μ·r) would lose most of float32's digits here.
  manual_seed(5);
  const Tensor x64 = randn({3, 6, 4, 5}, float64) * 0.5 + 1000.0;
  const Tensor w64 = randn({6}, float64), b64 = randn({6}, float64), g64 = randn({3, 6, 4, 5}, float64);
  // The definition, in float64 composed ops: normalise each (image, group) row.
  const Tensor x_ref = x64.detach().requires_grad_(true), w_ref = w64.detach().requires_grad_(true),
               b_ref = b64.detach().requires_grad_(true);
  const Tensor rows = reshape(x_ref, Shape{3, 3, -1});
  const Tensor centred = rows - mean(rows, {2}, true);
  const Tensor normed = reshape(centred / sqrt(mean(centred * centred, {2}, true) + 1e-5), x64.shape());
  const Tensor y_ref = normed * reshape(w_ref, Shape{1, 6, 1, 1}) + reshape(b_ref, Shape{1, 6, 1, 1});
  const TensorList want = grad({y_ref}, {x_ref, w_ref, b_ref}, {g64});

  const Tensor x = x64.to(float32).detach().requires_grad_(true), w = w64.to(float32).detach().requires_grad_(true),
               b = b64.to(float32).detach().requires_grad_(true);
  const Tensor y = group_norm(x, 3, w, b);
  const TensorList got = grad({y}, {x, w, b}, {g64.to(float32)});
  // float32 x carries ~6e-5 absolute rounding at 1000, ~1e-4 of the spread.
  check_values(y, values(y_ref.detach()), 1e-3);
  check_values(got[0], values(want[0]), 5e-3);
  check_values(got[1], values(want[1]), 5e-3);
  check_values(got[2], values(want[2]), 1e-4);
}
