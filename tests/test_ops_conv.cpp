// Convolution against a direct (naive loop) convolution: forward and the
// gradients of input, weight and bias, over a sweep of small geometries.
#include <cmath>
#include <functional>

#include "helpers.hpp"

using namespace xg;
using test::check_values;
using test::contains;
using test::error_of;
using test::f64_grad;
using test::img;

namespace {

struct Geom {
  std::int64_t n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw, groups;
};

/// Output extent, or 0 when the (dilated) kernel does not fit the padded input.
std::int64_t out_size(std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t p, std::int64_t d) {
  const std::int64_t span = in + 2 * p - d * (k - 1) - 1;
  return span < 0 ? 0 : span / s + 1;
}

/// Direct convolution and its adjoints, written from the definition:
/// y[n,o,i,j] = b[o] + Σ x[n, g·cg + c, i·sh − ph + ki·dh, j·sw − pw + kj·dw] · w[o, c, ki, kj].
struct Reference {
  std::vector<double> y, dx, dw, db;
};

Reference reference(const Geom& g, const std::vector<double>& x, const std::vector<double>& w,
                    const std::vector<double>& b, const std::vector<double>& gy) {
  const std::int64_t oh = out_size(g.h, g.kh, g.sh, g.ph, g.dh), ow = out_size(g.w, g.kw, g.sw, g.pw, g.dw);
  const std::int64_t cg = g.c / g.groups, og = g.o / g.groups;
  Reference r;
  r.y.assign(static_cast<std::size_t>(g.n * g.o * oh * ow), 0.0);
  r.dx.assign(x.size(), 0.0);
  r.dw.assign(w.size(), 0.0);
  r.db.assign(static_cast<std::size_t>(g.o), 0.0);
  for (std::int64_t n = 0; n < g.n; ++n)
    for (std::int64_t o = 0; o < g.o; ++o)
      for (std::int64_t i = 0; i < oh; ++i)
        for (std::int64_t j = 0; j < ow; ++j) {
          const auto yi = static_cast<std::size_t>(((n * g.o + o) * oh + i) * ow + j);
          double acc = b[static_cast<std::size_t>(o)];
          r.db[static_cast<std::size_t>(o)] += gy[yi];
          for (std::int64_t c = 0; c < cg; ++c)
            for (std::int64_t ki = 0; ki < g.kh; ++ki)
              for (std::int64_t kj = 0; kj < g.kw; ++kj) {
                const std::int64_t iy = i * g.sh - g.ph + ki * g.dh, ix = j * g.sw - g.pw + kj * g.dw;
                if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
                const std::int64_t ci = (o / og) * cg + c;
                const auto xi = static_cast<std::size_t>(((n * g.c + ci) * g.h + iy) * g.w + ix);
                const auto wi = static_cast<std::size_t>(((o * cg + c) * g.kh + ki) * g.kw + kj);
                acc += x[xi] * w[wi];
                r.dx[xi] += gy[yi] * w[wi];
                r.dw[wi] += gy[yi] * x[xi];
              }
          r.y[yi] = acc;
        }
  return r;
}

/// y = conv(x, w, b) against the reference: the value, and the three gradients
/// of a random projection of y.
void check_output_and_gradients(const Geom& g, const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& y) {
  const Tensor gy = randn(y.shape(), float64);
  (y * gy).sum().backward();
  const Reference r = reference(g, x.to_vector<double>(), w.to_vector<double>(), b.to_vector<double>(),
                                gy.to_vector<double>());
  check_values(y, r.y, 1e-10);
  check_values(x.grad(), r.dx, 1e-10);
  check_values(w.grad(), r.dw, 1e-10);
  check_values(b.grad(), r.db, 1e-10);
}

void check_against_reference(const Geom& g) {
  CAPTURE(g.n);
  CAPTURE(g.c);
  CAPTURE(g.h);
  CAPTURE(g.w);
  CAPTURE(g.o);
  CAPTURE(g.kh);
  CAPTURE(g.kw);
  CAPTURE(g.sh);
  CAPTURE(g.sw);
  CAPTURE(g.ph);
  CAPTURE(g.pw);
  CAPTURE(g.dh);
  CAPTURE(g.dw);
  CAPTURE(g.groups);
  const auto opts = test::f64_grad();
  Tensor x = randn({g.n, g.c, g.h, g.w}, opts);
  Tensor w = randn({g.o, g.c / g.groups, g.kh, g.kw}, opts);
  Tensor b = randn({g.o}, opts);
  Conv2dOptions o;
  o.stride = {g.sh, g.sw};
  o.padding = {g.ph, g.pw};
  o.dilation = {g.dh, g.dw};
  o.groups = g.groups;
  check_output_and_gradients(g, x, w, b, conv2d(x, w, b, o));
}

}  // namespace

TEST_CASE("conv2d matches a direct convolution, forward and all three gradients, over a sweep of geometries") {
  manual_seed(7);
  int checked = 0;
  for (std::int64_t n : {1, 2, 3})
    for (std::int64_t groups : {1, 2})
      for (std::int64_t k : {1, 2, 3})
        for (std::int64_t s : {1, 2})
          for (std::int64_t p : {0, 1, 3})
            for (std::int64_t d : {1, 2}) {
              // Odd, non-square images; the width gets the wide padding and
              // dilation that once made im2col overrun its rows.
              const Geom g{n, 2 * groups, 5, 4, 2 * groups, k, k + 1, s, s + 1, p / 2, p, d, d + 1, groups};
              if (out_size(g.h, g.kh, g.sh, g.ph, g.dh) < 1 || out_size(g.w, g.kw, g.sw, g.pw, g.dw) < 1) continue;
              check_against_reference(g);
              ++checked;
            }
  CHECK(checked > 100);
}

namespace {

/// The float32 path (oneDNN's kernels when built with them and switched on,
/// else xgrad's own) against the float64 reference: forward and the three
/// gradients, to float32 rounding of sums over up to C·kh·kw·N·L terms.
void check_float32_against_reference(const Geom& g, bool onednn) {
  CAPTURE(onednn);
  CAPTURE(g.n);
  CAPTURE(g.c);
  CAPTURE(g.h);
  CAPTURE(g.o);
  CAPTURE(g.kh);
  CAPTURE(g.sh);
  CAPTURE(g.ph);
  CAPTURE(g.dh);
  CAPTURE(g.groups);
  const TensorOptions f32 = TensorOptions(float32).requires_grad(true);
  Tensor x = randn({g.n, g.c, g.h, g.w}, f32), w = randn({g.o, g.c / g.groups, g.kh, g.kw}, f32), b = randn({g.o}, f32);
  Conv2dOptions o;
  o.stride = {g.sh, g.sw};
  o.padding = {g.ph, g.pw};
  o.dilation = {g.dh, g.dw};
  o.groups = g.groups;
  set_onednn_enabled(onednn);
  const Tensor y = conv2d(x, w, b, o);
  const Tensor gy = randn(y.shape());
  const TensorList grads = grad({y}, {x, w, b}, {gy});
  set_onednn_enabled(true);
  const Reference r = reference(g, x.to_vector<double>(), w.to_vector<double>(), b.to_vector<double>(), gy.to_vector<double>());
  const std::vector<const std::vector<double>*> want{&r.y, &r.dx, &r.dw, &r.db};
  const TensorList got{y, grads[0], grads[1], grads[2]};
  for (std::size_t i = 0; i < got.size(); ++i) {
    CAPTURE(i);
    double scale = 1;
    for (double v : *want[i]) scale = std::max(scale, std::abs(v));
    const std::vector<double> values = got[i].to_vector<double>();
    REQUIRE(values.size() == want[i]->size());
    double worst = 0;
    for (std::size_t k = 0; k < values.size(); ++k) worst = std::max(worst, std::abs(values[k] - (*want[i])[k]));
    CHECK(worst <= 1e-5 * scale);
  }
}

}  // namespace

TEST_CASE("conv2d in float32 matches the direct convolution through oneDNN and through xgrad's own kernels: the sweep, and ResNet-like layers") {
  MESSAGE("built with oneDNN: ", onednn_available());
  manual_seed(11);
  std::vector<Geom> cases;
  for (std::int64_t n : {1, 3})
    for (std::int64_t groups : {1, 2})
      for (std::int64_t k : {1, 3})
        for (std::int64_t s : {1, 2})
          for (std::int64_t p : {0, 1, 3})
            for (std::int64_t d : {1, 2}) {
              const Geom g{n, 2 * groups, 5, 4, 2 * groups, k, k + 1, s, s + 1, p / 2, p, d, d + 1, groups};
              if (out_size(g.h, g.kh, g.sh, g.ph, g.dh) >= 1 && out_size(g.w, g.kw, g.sw, g.pw, g.dw) >= 1) cases.push_back(g);
            }
  // The layers of a ResNet and a MobileNet: 3x3 stride 1 and 2, 1x1 downsample,
  // a 7x7 stride-2 stem, depthwise, odd sizes the stride does not divide.
  cases.push_back({4, 16, 12, 12, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1});
  cases.push_back({3, 16, 13, 13, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1});
  cases.push_back({3, 16, 13, 11, 32, 1, 1, 2, 2, 0, 0, 1, 1, 1});
  cases.push_back({2, 3, 23, 21, 16, 7, 7, 2, 2, 3, 3, 1, 1, 1});
  cases.push_back({3, 32, 9, 9, 32, 3, 3, 1, 1, 1, 1, 1, 1, 32});
  cases.push_back({2, 32, 10, 10, 32, 3, 3, 2, 2, 1, 1, 1, 1, 32});
  cases.push_back({5, 24, 7, 7, 48, 3, 3, 1, 1, 2, 2, 2, 2, 4});
  cases.push_back({2, 32, 10, 9, 16, 3, 3, 2, 2, 0, 0, 1, 1, 1});  // the stride leaves a last row and column unread
  cases.push_back({2, 32, 9, 9, 32, 3, 3, 1, 1, 2, 2, 2, 2, 1});   // dilated
  cases.push_back({1, 64, 6, 6, 64, 3, 3, 1, 1, 1, 1, 1, 1, 2});   // two groups
  cases.push_back({3, 16, 8, 8, 24, 5, 5, 1, 1, 2, 2, 1, 1, 1});
  for (const Geom& g : cases) {
    check_float32_against_reference(g, true);
    check_float32_against_reference(g, false);
  }
}

TEST_CASE("conv2d with a whole kernel column in the left padding does not overwrite the previous image") {
  // The smallest case found by the differential test; PyTorch 1.13 gives
  // output (100, 200) and weight gradient (0, 3, 0) (tests/pytorch_golden.py: conv_left_padding).
  Tensor x = tensor({1, 2}, {2, 1, 1, 1}, float64);
  Tensor w = tensor({10, 100, 1000}, {1, 1, 1, 3}, test::f64_grad());
  Conv2dOptions o;
  o.padding = {0, 2};
  o.dilation = {1, 2};
  Tensor y = conv2d(x, w, {}, o);
  check_values(y, {100, 200});
  y.sum().backward();
  check_values(w.grad(), {0, 3, 0});
}

TEST_CASE("conv1d matches a direct convolution, forward and gradients") {
  manual_seed(8);
  for (std::int64_t n : {1, 3})
    for (std::int64_t groups : {1, 3})
      for (std::int64_t stride : {1, 2})
        for (std::int64_t pad : {0, 2, 4})
          for (std::int64_t dil : {1, 3}) {
            const Geom g{n, 3, 1, 7, 3, 1, 3, 1, stride, 0, pad, 1, dil, groups};
            if (out_size(g.w, g.kw, g.sw, g.pw, g.dw) < 1) continue;
            CAPTURE(n);
            CAPTURE(groups);
            CAPTURE(stride);
            CAPTURE(pad);
            CAPTURE(dil);
            const auto opts = test::f64_grad();
            Tensor x = randn({g.n, g.c, g.w}, opts), w = randn({g.o, g.c / groups, g.kw}, opts), b = randn({g.o}, opts);
            check_output_and_gradients(g, x, w, b, conv1d(x, w, b, stride, pad, dil, groups));
          }
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

TEST_CASE("fused conv2d splits images across threads: the same bits run after run on 2 threads, the 1-thread values to rounding, groups and bias included") {
  manual_seed(31);
  const Tensor x = randn({9, 4, 11, 10}, TensorOptions(float32).requires_grad(true));
  const Tensor w = randn({6, 2, 3, 3}, TensorOptions(float32).requires_grad(true));
  const Tensor b = randn({6}, TensorOptions(float32).requires_grad(true));
  const Tensor up = randn({9, 6, 6, 5});
  Conv2dOptions o;
  o.stride = {2, 2};
  o.padding = {1, 1};
  o.groups = 2;
  auto run = [&](int threads) {
    const int saved = get_num_threads();
    set_num_threads(threads);
    const Tensor y = conv2d(x, w, b, o);
    TensorList r = grad({y}, {x, w, b}, {up});
    r.insert(r.begin(), y.detach());
    set_num_threads(saved);
    return r;
  };
  const TensorList one = run(1), two = run(2), again = run(2);
  for (std::size_t i = 0; i < one.size(); ++i) {
    CAPTURE(i);
    CHECK(two[i].to_vector<float>() == again[i].to_vector<float>());
    check_values(two[i], test::values(one[i]), 1e-5);
  }
}

TEST_CASE("conv_transpose2d in float32 (conv2d's kernels, oneDNN's where built with it) matches float64, values and gradients") {
  manual_seed(17);
  struct Case {
    std::int64_t n, cin, cout, h, k, stride, padding, output_padding, dilation, groups;
  };
  for (const Case& c : {Case{2, 32, 16, 7, 4, 2, 1, 0, 1, 1}, Case{3, 16, 32, 6, 3, 2, 1, 1, 1, 1},
                        Case{2, 32, 32, 5, 3, 1, 1, 0, 1, 2}, Case{2, 16, 16, 5, 3, 1, 0, 1, 2, 1}}) {
    CAPTURE(c.cin);
    CAPTURE(c.stride);
    CAPTURE(c.output_padding);
    CAPTURE(c.groups);
    Conv2dOptions o;
    o.stride = {c.stride, c.stride};
    o.padding = {c.padding, c.padding};
    o.dilation = {c.dilation, c.dilation};
    o.groups = c.groups;
    const std::pair<std::int64_t, std::int64_t> op{c.output_padding, c.output_padding};
    const Tensor x64 = randn({c.n, c.cin, c.h, c.h}, float64), w64 = randn({c.cin, c.cout / c.groups, c.k, c.k}, float64),
                 b64 = randn({c.cout}, float64);
    TensorList want, got;
    Tensor up;
    for (const Dtype dt : {float64, float32}) {
      const Tensor x = x64.to(dt).detach().requires_grad_(true), w = w64.to(dt).detach().requires_grad_(true),
                   b = b64.to(dt).detach().requires_grad_(true);
      const Tensor y = conv_transpose2d(x, w, b, o, op);
      if (!up.defined()) up = randn(y.shape(), float64);
      TensorList r = grad({y}, {x, w, b}, {up.to(dt)});
      r.insert(r.begin(), y.detach());
      (dt == float64 ? want : got) = r;
    }
    for (std::size_t i = 0; i < want.size(); ++i) {
      CAPTURE(i);
      check_values(got[i], test::values(want[i]), 1e-3);
    }
  }
}

// PyTorch 1.13, torch.nn.functional.conv_transpose2d in float64 on the same
// inputs: /usr/bin/python3 tests/pytorch_golden.py conv_transpose.
TEST_CASE("conv_transpose2d matches PyTorch: stride, padding, output_padding, dilation and bias, values and gradients") {
  const Tensor x = (arange(36.0, float64).reshape({2, 3, 3, 2}) / 7.0 - 1.0).requires_grad_(true);
  const Tensor w = (arange(36.0, float64).reshape({3, 2, 2, 3}) / 11.0 - 0.5).requires_grad_(true);
  const Tensor b = tensor({0.25, -0.5}, f64_grad());
  Conv2dOptions o;
  o.stride = {2, 1};
  o.padding = {1, 0};
  o.dilation = {1, 2};
  const Tensor y = conv_transpose2d(x, w, b, o, {1, 0});
  CHECK(y.shape() == Shape{2, 2, 5, 6});
  check_values(y.flatten().narrow(0, 0, 12),
               {1.7499999999999998, 2.1201298701298703, 1.7110389610389607, 2.1201298701298703, 1.6720779220779218,
                2.12012987012987, 2.373376623376623, 2.6266233766233764, 2.4123376623376624, 2.7045454545454546,
                2.4512987012987013, 2.7824675324675323},
               1e-14);
  CHECK(y.sum().item() == doctest::Approx(832.8701298701299).epsilon(1e-14));
  CHECK((y * y).sum().item() == doctest::Approx(8390.544990723562).epsilon(1e-14));
  const TensorList d = grad({(y * y).sum()}, {x, w, b});
  CHECK(d[0].sum().item() == doctest::Approx(5821.427390791027).epsilon(1e-13));
  CHECK(d[1].sum().item() == doctest::Approx(11869.497217068645).epsilon(1e-13));
  CHECK(d[2].sum().item() == doctest::Approx(1665.74025974026).epsilon(1e-13));
}

TEST_CASE("conv_transpose2d is the adjoint of conv2d: <conv2d(a, w), b> = <a, conv_transpose2d(b, w)> over many geometries") {
  manual_seed(8);
  int checked = 0;
  for (std::int64_t stride : {1, 2, 3})
    for (std::int64_t pad : {0, 1, 2})
      for (std::int64_t dil : {1, 2})
        for (std::int64_t groups : {1, 2})
          for (std::int64_t k : {1, 3}) {
            Conv2dOptions o;
            o.stride = {stride, stride == 3 ? 1 : stride};
            o.padding = {pad, pad == 2 ? 0 : pad};
            o.dilation = {dil, 1};
            o.groups = groups;
            const Tensor a = randn({2, 4, 9, 8}, float64), w = randn({6, 4 / groups, k, k + 1}, float64);
            if (9 + 2 * o.padding.first < dil * (k - 1) + 1) continue;
            const Tensor y = conv2d(a, w, {}, o);
            // The output_padding that gives back a's exact size.
            const std::int64_t oph = 9 - ((y.size(2) - 1) * o.stride.first - 2 * o.padding.first + dil * (k - 1) + 1);
            const std::int64_t opw = 8 - ((y.size(3) - 1) * o.stride.second - 2 * o.padding.second + (k + 1 - 1) + 1);
            if (oph < 0 || opw < 0 || oph >= std::max(o.stride.first, dil) || opw >= o.stride.second) continue;
            const Tensor b = randn(y.shape(), float64);
            const Tensor back = conv_transpose2d(b, w, {}, o, {oph, opw});
            REQUIRE(back.shape() == a.shape());
            CHECK((y * b).sum().item() == doctest::Approx((a * back).sum().item()).epsilon(1e-12));
            ++checked;
          }
  CHECK(checked > 40);
}

TEST_CASE("ConvTranspose1d/2d modules and conv_transpose errors name the op, the shapes and the arguments") {
  manual_seed(1);
  nn::ConvTranspose2d up(4, 6, 3, [] { Conv2dOptions o; o.stride = {2, 2}; o.padding = {1, 1}; o.groups = 2; return o; }(), {1, 1});
  CHECK(up.weight.shape() == Shape{4, 3, 3, 3});
  CHECK(up.forward(randn({2, 4, 5, 5})).shape() == Shape{2, 6, 10, 10});
  nn::ConvTranspose1d up1(3, 5, 4, 2, 1);
  CHECK(up1.forward(randn({2, 3, 7})).shape() == Shape{2, 5, 14});
  const Tensor x = randn({1, 4, 5, 5}), w = randn({4, 2, 3, 3});
  CHECK(contains(error_of([&] { conv_transpose2d(x, randn({3, 2, 3, 3})); }),
                 "conv_transpose2d: input [1, 4, 5, 5] has 4 channels but weight [3, 2, 3, 3] expects 3"));
  CHECK(contains(error_of([&] { conv_transpose2d(x, w, {}, {}, {1, 0}); }),
                 "conv_transpose2d: output_padding 1x0 must be smaller than either stride 1x1 or dilation 1x1"));
  CHECK(contains(error_of([&] { conv_transpose2d(x, w, randn({3})); }), "conv_transpose2d: bias [3] should be [2]"));
  CHECK(contains(error_of([&] { conv_transpose1d(randn({1, 4, 5}), randn({4, 2, 3}), {}, 0); }), "conv_transpose1d"));
  CHECK(contains(error_of([&] { nn::ConvTranspose2d(3, 4, 3, [] { Conv2dOptions o; o.groups = 2; return o; }()); }),
                 "ConvTranspose2d"));
}

// PyTorch 1.13 on the same input (float64): /usr/bin/python3 tests/pytorch_golden.py pooling_options.
TEST_CASE("pooling options match PyTorch: dilation, ceil_mode, count_include_pad = false, adaptive max") {
  const Tensor x = sin(arange(168.0, float64)).reshape({2, 2, 7, 6}).requires_grad_(true);
  struct Golden {
    const char* name;
    std::function<Tensor(const Tensor&)> f;
    Shape shape;
    double sum, squares, grad_squares;
  };
  Pool2dOptions dilated;
  dilated.stride = std::make_pair(2, 1);
  dilated.padding = {1, 1};
  dilated.dilation = {2, 2};
  dilated.ceil_mode = true;
  Pool2dOptions exclusive;
  exclusive.stride = std::make_pair(2, 2);
  exclusive.padding = {1, 1};
  exclusive.ceil_mode = true;
  exclusive.count_include_pad = false;
  Pool2dOptions inclusive = exclusive;
  inclusive.count_include_pad = true;
  const Golden cases[] = {
      {"max dilation 2, stride (2, 1), padding 1, ceil", [&](const Tensor& t) { return max_pool2d(t, {3, 2}, dilated); },
       {2, 2, 3, 6}, 44.12269349190761, 45.309339458526175, 394246.0},
      {"avg exclusive", [&](const Tensor& t) { return avg_pool2d(t, {3, 3}, exclusive); }, {2, 2, 4, 4},
       -1.5736798240696255, 21.020672253465186, 46820.444444444445},
      {"avg inclusive", [&](const Tensor& t) { return avg_pool2d(t, {3, 3}, inclusive); }, {2, 2, 4, 4},
       -0.044807583928557326, 8.435604931864807, 18142.419753086422},
      {"adaptive max (3, 4)", [](const Tensor& t) { return adaptive_max_pool2d(t, {3, 4}); }, {2, 2, 3, 4},
       24.17160130512969, 25.926090031838523, 41092.0},
  };
  for (const Golden& c : cases) {
    CAPTURE(c.name);
    const Tensor y = c.f(x);
    REQUIRE(y.shape() == c.shape);
    CHECK(y.sum().item() == doctest::Approx(c.sum).epsilon(1e-13));
    CHECK((y * y).sum().item() == doctest::Approx(c.squares).epsilon(1e-13));
    const Tensor g = grad({(y * arange(static_cast<double>(y.numel()), float64).reshape(y.shape())).sum()}, {x})[0];
    CHECK((g * g).sum().item() == doctest::Approx(c.grad_squares).epsilon(1e-13));
  }
  CHECK(contains(error_of([&] { avg_pool2d(x, {3, 3}, dilated); }), "avg_pool2d: has no dilation"));
  CHECK(contains(error_of([&] { max_pool2d(x, {2, 2}, Pool2dOptions{std::nullopt, {2, 2}}); }),
                 "max_pool2d: padding 2x2 must be at most half the kernel 2x2"));
  CHECK(contains(error_of([&] { adaptive_max_pool2d(x, {0, 2}); }), "adaptive_max_pool2d: output size must be positive"));
  nn::MaxPool2d pool({3, 2}, dilated);
  CHECK(pool.forward(x).shape() == Shape{2, 2, 3, 6});
  CHECK(nn::AdaptiveMaxPool2d({1, 1}).forward(x).shape() == Shape{2, 2, 1, 1});
}
