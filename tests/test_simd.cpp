// The SIMD tables (autograd/src/simd) against libm, on every instruction set
// this CPU runs: accuracy in ulp per function, special values, and runs of
// every length (the padded last batch computes exactly like a full one).
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "simd/simd.hpp"

namespace simd = xg::detail::simd;

namespace {

/// Distance in units in the last place of T between got and a reference
/// computed in higher precision (0 when both are the same NaN or infinity).
template <class T>
double ulp_error(T got, long double ref) {
  if (std::isnan(ref)) return std::isnan(got) ? 0.0 : 1e30;
  if (std::isinf(ref)) return got == static_cast<T>(ref) ? 0.0 : 1e30;
  const T r = static_cast<T>(ref);
  const T step = std::isinf(r) ? std::numeric_limits<T>::max() : std::nextafter(std::fabs(r), std::numeric_limits<T>::infinity()) - std::fabs(r);
  // Below the normal range the kernels may flush to zero (simd_kernels.inl):
  // count those errors in units of the smallest normal number.
  const T unit = std::fabs(r) < std::numeric_limits<T>::min() ? std::numeric_limits<T>::min() : step;
  return static_cast<double>(std::fabs(static_cast<long double>(got) - ref) / unit);
}

struct UnaryCase {
  simd::Unary op;
  const char* name;
  std::function<long double(long double)> reference;
  double lo, hi;                    // the tested range
  double max_ulp_f32, max_ulp_f64;  // the stated accuracy
};

long double sigmoid_ref(long double x) { return 1.0L / (1.0L + std::exp(-x)); }

std::vector<UnaryCase> unary_cases() {
  using L = long double;
  return {
      {simd::Unary::Exp, "exp", [](L x) { return std::exp(x); }, -80, 80, 1.5, 1},
      {simd::Unary::Log, "log", [](L x) { return std::log(x); }, 1e-30, 1e30, 1, 1},
      {simd::Unary::Log1p, "log1p", [](L x) { return std::log1p(x); }, -0.999, 1e6, 1, 1},
      {simd::Unary::Expm1, "expm1", [](L x) { return std::expm1(x); }, -20, 80, 2, 1},
      {simd::Unary::Sqrt, "sqrt", [](L x) { return std::sqrt(x); }, 0, 1e30, 0.5, 0.5},
      {simd::Unary::Rsqrt, "rsqrt", [](L x) { return 1.0L / std::sqrt(x); }, 1e-30, 1e30, 1.5, 1.5},
      {simd::Unary::Sin, "sin", [](L x) { return std::sin(x); }, -100, 100, 1.5, 1.5},
      {simd::Unary::Cos, "cos", [](L x) { return std::cos(x); }, -100, 100, 1.5, 1.5},
      {simd::Unary::Tanh, "tanh", [](L x) { return std::tanh(x); }, -20, 20, 1.5, 1.5},
      {simd::Unary::Sigmoid, "sigmoid", sigmoid_ref, -120, 120, 2.5, 2.5},
      // Below x = −87.3, σ(x) leaves float32's normal range and flushes, so x·σ(x) does too.
      {simd::Unary::Silu, "silu", [](L x) { return x * sigmoid_ref(x); }, -87, 120, 3, 3},
      {simd::Unary::Erf, "erf", [](L x) { return std::erf(x); }, -6, 6, 2.5, 1},
      {simd::Unary::Abs, "abs", [](L x) { return std::fabs(x); }, -1e30, 1e30, 0, 0},
      {simd::Unary::Neg, "neg", [](L x) { return -x; }, -1e30, 1e30, 0, 0},
      {simd::Unary::Square, "square", [](L x) { return x * x; }, -1e15, 1e15, 0.5, 0.5},
      {simd::Unary::Reciprocal, "reciprocal", [](L x) { return 1.0L / x; }, 1e-30, 1e30, 0.5, 0.5},
      {simd::Unary::Relu, "relu", [](L x) { return x > 0 ? x : 0.0L; }, -1e30, 1e30, 0, 0},
      {simd::Unary::Sign, "sign", [](L x) { return L((x > 0) - (x < 0)); }, -1e30, 1e30, 0, 0},
      {simd::Unary::Tan, "tan", [](L x) { return std::tan(x); }, -1.5, 1.5, 3, 3},
      {simd::Unary::Asin, "asin", [](L x) { return std::asin(x); }, -1, 1, 3, 3},
      {simd::Unary::Acos, "acos", [](L x) { return std::acos(x); }, -1, 1, 3, 3},
      {simd::Unary::Atan, "atan", [](L x) { return std::atan(x); }, -1e6, 1e6, 3, 3},
      {simd::Unary::Sinh, "sinh", [](L x) { return std::sinh(x); }, -80, 80, 3, 3},
      {simd::Unary::Cosh, "cosh", [](L x) { return std::cosh(x); }, -80, 80, 3, 3},
      {simd::Unary::Floor, "floor", [](L x) { return std::floor(x); }, -1e30, 1e30, 0, 0},
      {simd::Unary::Ceil, "ceil", [](L x) { return std::ceil(x); }, -1e30, 1e30, 0, 0},
      {simd::Unary::Round, "round", [](L x) { return std::nearbyint(x); }, -1e30, 1e30, 0, 0},
      {simd::Unary::Trunc, "trunc", [](L x) { return std::trunc(x); }, -1e30, 1e30, 0, 0},
  };
}

/// Points spread over [lo, hi]: uniform, plus a logarithmic sweep near zero
/// when the range crosses or touches it.
template <class T>
std::vector<T> grid(double lo, double hi) {
  std::vector<T> v;
  const int n = 20011;
  for (int i = 0; i <= n; ++i) v.push_back(static_cast<T>(lo + (hi - lo) * i / n));
  for (double m = 1e-30; m < 1e30; m *= 1.37) {
    if (m >= lo && m <= hi) v.push_back(static_cast<T>(m));
    if (-m >= lo && -m <= hi) v.push_back(static_cast<T>(-m));
  }
  return v;
}

template <class T>
void check_unary_accuracy(const simd::Table& table) {
  for (const UnaryCase& c : unary_cases()) {
    const std::vector<T> x = grid<T>(c.lo, c.hi);
    std::vector<T> y(x.size());
    table.get<T>().unary[static_cast<int>(c.op)](x.data(), y.data(), static_cast<std::int64_t>(x.size()));
    double worst = 0;
    T worst_x = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double e = ulp_error<T>(y[i], c.reference(static_cast<long double>(x[i])));
      if (e > worst) {
        worst = e;
        worst_x = x[i];
      }
    }
    const double bound = sizeof(T) == 4 ? c.max_ulp_f32 : c.max_ulp_f64;
    INFO(std::string(table.name), sizeof(T) == 4 ? " float32 " : " float64 ", std::string(c.name), ": worst ", worst, " ulp at x = ", worst_x);
    CHECK(worst <= bound);
  }
}

}  // namespace

TEST_CASE("SIMD tables: every unary function within its stated ulp of libm, float32 and float64, on every instruction set") {
  const auto tables = simd::runnable_tables();
  REQUIRE(!tables.empty());
  for (const simd::Table* t : tables) {
    check_unary_accuracy<float>(*t);
    check_unary_accuracy<double>(*t);
  }
}

TEST_CASE("SIMD tables: special values (NaN, infinities, zeros) as libm and torch give them") {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  struct Special {
    simd::Unary op;
    float x, expected;
  };
  const std::vector<Special> cases = {
      {simd::Unary::Exp, -inf, 0.0f},     {simd::Unary::Exp, inf, inf},         {simd::Unary::Exp, 100.0f, inf},
      {simd::Unary::Log, 0.0f, -inf},     {simd::Unary::Log, inf, inf},         {simd::Unary::Log1p, -1.0f, -inf},
      {simd::Unary::Expm1, -inf, -1.0f},  {simd::Unary::Tanh, inf, 1.0f},       {simd::Unary::Tanh, -inf, -1.0f},
      {simd::Unary::Sigmoid, inf, 1.0f},  {simd::Unary::Sigmoid, -inf, 0.0f},   {simd::Unary::Erf, inf, 1.0f},
      {simd::Unary::Erf, -inf, -1.0f},    {simd::Unary::Sqrt, 0.0f, 0.0f},      {simd::Unary::Rsqrt, 0.0f, inf},
      {simd::Unary::Reciprocal, 0.0f, inf}, {simd::Unary::Relu, -inf, 0.0f},    {simd::Unary::Silu, inf, inf},
  };
  const std::vector<simd::Unary> nan_in_nan_out = {simd::Unary::Exp, simd::Unary::Log, simd::Unary::Log1p, simd::Unary::Expm1,
                                                   simd::Unary::Sqrt, simd::Unary::Sin, simd::Unary::Cos, simd::Unary::Tanh,
                                                   simd::Unary::Sigmoid, simd::Unary::Erf, simd::Unary::Relu, simd::Unary::Silu};
  for (const simd::Table* t : simd::runnable_tables()) {
    for (const Special& c : cases) {
      float y = 0;
      t->f32.unary[static_cast<int>(c.op)](&c.x, &y, 1);
      INFO(std::string(t->name), " op ", static_cast<int>(c.op), " at ", c.x);
      CHECK(y == c.expected);
    }
    for (simd::Unary op : nan_in_nan_out) {
      double y = 0;
      const double x = std::numeric_limits<double>::quiet_NaN();
      t->f64.unary[static_cast<int>(op)](&x, &y, 1);
      float yf = 0;
      t->f32.unary[static_cast<int>(op)](&nan, &yf, 1);
      INFO(std::string(t->name), " op ", static_cast<int>(op));
      CHECK(std::isnan(y));
      CHECK(std::isnan(yf));
    }
    for (int i = 0; i < static_cast<int>(simd::Unary::Count); ++i) CHECK(static_cast<bool>(t->f32.unary[i]));  // every entry filled
    for (int i = 0; i < static_cast<int>(simd::Binary::Count); ++i) CHECK(static_cast<bool>(t->f64.binary[i]));
  }
}

TEST_CASE("SIMD tables: a run's last partial batch computes exactly like a full one, for every length") {
  for (const simd::Table* t : simd::runnable_tables()) {
    std::vector<float> x(70), full(70);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::sin(static_cast<float>(i)) * 3.0f;
    const auto tanh_run = t->f32.unary[static_cast<int>(simd::Unary::Tanh)];
    tanh_run(x.data(), full.data(), 70);
    for (std::int64_t n = 0; n <= 70; ++n) {
      std::vector<float> y(71, -7.0f);  // one guard element past the run
      tanh_run(x.data(), y.data(), n);
      for (std::int64_t i = 0; i < n; ++i) CHECK(y[static_cast<std::size_t>(i)] == full[static_cast<std::size_t>(i)]);
      CHECK(y[static_cast<std::size_t>(n)] == -7.0f);
      // The sum of the first n values, against a plain loop.
      double expected = 0;
      for (std::int64_t i = 0; i < n; ++i) expected += x[static_cast<std::size_t>(i)];
      CHECK(t->f32.sum(x.data(), n) == doctest::Approx(expected).epsilon(1e-5));
    }
  }
}

TEST_CASE("SIMD tables: binary functions with each stride pattern, pow against libm, max/min and reductions propagate NaN") {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  for (const simd::Table* t : simd::runnable_tables()) {
    INFO(std::string(t->name));
    const auto& k = t->f64;
    std::vector<double> a, b;
    for (double u : {-3.0, -2.0, -0.5, 0.0, 0.5, 1.0, 2.5, 7.0, inf, -inf})
      for (double v : {-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0, 30.0})
        a.push_back(u), b.push_back(v);
    std::vector<double> y(a.size());
    k.binary[static_cast<int>(simd::Binary::Pow)](a.data(), 1, b.data(), 1, y.data(), static_cast<std::int64_t>(a.size()));
    for (std::size_t i = 0; i < a.size(); ++i) {
      const double ref = std::pow(a[i], b[i]);
      INFO("pow(", a[i], ", ", b[i], ") = ", y[i], ", libm ", ref);
      if (std::isnan(ref)) {
        CHECK(std::isnan(y[i]));
      } else {
        CHECK(y[i] == ref);  // libm's own pow, lane by lane
      }
    }
    // a ∘ scalar, scalar ∘ a, scalar ∘ scalar, in place.
    std::vector<double> x{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    const double two = 2;
    std::vector<double> out(x.size());
    k.binary[static_cast<int>(simd::Binary::Sub)](x.data(), 1, &two, 0, out.data(), 11);
    CHECK(out[10] == 9);
    k.binary[static_cast<int>(simd::Binary::Sub)](&two, 0, x.data(), 1, out.data(), 11);
    CHECK(out[10] == -9);
    k.binary[static_cast<int>(simd::Binary::Div)](&two, 0, &two, 0, out.data(), 11);
    CHECK(out[0] == 1);
    CHECK(out[10] == 1);
    k.binary[static_cast<int>(simd::Binary::Mul)](x.data(), 1, x.data(), 1, x.data(), 11);
    CHECK(x[10] == 121);
    // NaN wins in maximum/minimum and in max/min reductions, wherever it sits.
    std::vector<double> p{1, nan, 3}, q{2, 2, nan};
    k.binary[static_cast<int>(simd::Binary::Max)](p.data(), 1, q.data(), 1, out.data(), 3);
    CHECK(out[0] == 2);
    CHECK(std::isnan(out[1]));
    CHECK(std::isnan(out[2]));
    for (std::size_t at = 0; at < 19; ++at) {
      std::vector<double> r(19, 1.0);
      r[at] = nan;
      CHECK(std::isnan(k.max(r.data(), 19)));
      CHECK(std::isnan(k.min(r.data(), 19)));
      r[at] = -5;
      CHECK(k.min(r.data(), 19) == -5);
      CHECK(k.max(r.data(), 19) == 1);
    }
    CHECK(k.max(p.data(), 0) == -inf);
  }
}

TEST_CASE("SIMD tables: softmax and LayerNorm rows against a float64 reference, on every instruction set") {
  for (const simd::Table* t : simd::runnable_tables()) {
    INFO(std::string(t->name));
    for (std::int64_t n : {1, 3, 16, 37, 1000}) {
      std::vector<float> x(static_cast<std::size_t>(n)), y(x.size()), w(x.size()), b(x.size());
      for (std::int64_t i = 0; i < n; ++i) {
        x[static_cast<std::size_t>(i)] = std::cos(static_cast<float>(i) * 0.7f) * 5.0f + 3.0f;
        w[static_cast<std::size_t>(i)] = 1.0f + 0.01f * static_cast<float>(i % 7);
        b[static_cast<std::size_t>(i)] = -0.1f * static_cast<float>(i % 3);
      }
      double m = -1e300, s = 0;
      for (float v : x) m = std::max(m, static_cast<double>(v));
      for (float v : x) s += std::exp(v - m);
      t->f32.softmax_row(x.data(), y.data(), n, false);
      for (std::int64_t i = 0; i < n; ++i)
        CHECK(y[static_cast<std::size_t>(i)] == doctest::Approx(std::exp(x[static_cast<std::size_t>(i)] - m) / s).epsilon(1e-5));
      t->f32.softmax_row(x.data(), y.data(), n, true);
      for (std::int64_t i = 0; i < n; ++i)
        CHECK(y[static_cast<std::size_t>(i)] == doctest::Approx(x[static_cast<std::size_t>(i)] - m - std::log(s)).epsilon(1e-5));
      double mu = 0, var = 0;
      for (float v : x) mu += v;
      mu /= static_cast<double>(n);
      for (float v : x) var += (v - mu) * (v - mu);
      var /= static_cast<double>(n);
      double mean = 0, rstd = 0;
      t->f32.layer_norm_row(x.data(), w.data(), b.data(), y.data(), n, 1e-5, true, &mean, &rstd);
      CHECK(mean == doctest::Approx(mu).epsilon(1e-6));
      CHECK(rstd == doctest::Approx(1.0 / std::sqrt(var + 1e-5)).epsilon(1e-5));
      for (std::int64_t i = 0; i < n; ++i) {
        const auto k = static_cast<std::size_t>(i);
        CHECK(y[k] == doctest::Approx((x[k] - mu) / std::sqrt(var + 1e-5) * w[k] + b[k]).epsilon(1e-4));
      }
    }
  }
}
