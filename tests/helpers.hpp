#pragma once
#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <vector>
#include <xgrad/xgrad.hpp>

namespace test {

inline std::vector<double> values(const xg::Tensor& t) { return t.to_vector<double>(); }

inline void check_values(const xg::Tensor& t, const std::vector<double>& expected, double tol = 1e-6) {
  const auto v = values(t);
  REQUIRE(v.size() == expected.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    CAPTURE(i);
    CHECK(v[i] == doctest::Approx(expected[i]).epsilon(tol));
  }
}

/// Runs f and returns the xg::Error message it throws ("" if none).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const xg::Error& e) {
    return e.what();
  }
  return "";
}

inline xg::TensorOptions f64_grad() { return xg::TensorOptions(xg::float64).requires_grad(true); }

inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Small fixed inputs shared by the op tests (and by tests/pytorch_golden.py).
inline xg::Tensor x24() { return xg::tensor({1.0, -2.0, 0.5, 3.0, 0.1, 0.2, -0.3, 4.0}, {2, 4}, xg::float64); }
inline xg::Tensor img() { return xg::arange(100.0, xg::float64).reshape({2, 2, 5, 5}) / 10.0; }
inline xg::Tensor idx(std::initializer_list<double> v, const xg::Shape& s) { return xg::tensor(v, s, xg::int64); }

/// One op checked against PyTorch: its value at x, and the gradient of
/// sum(f(x) · w) for w = 1, 2, 3, ... in f(x)'s shape (tests/pytorch_golden.py:
/// weighted_grad), so every output element gets a distinct weight.
struct GoldenCase {
  const char* name;
  std::function<xg::Tensor(const xg::Tensor&)> f;
  std::vector<double> value, gradient;
};

inline void check_golden(const xg::Tensor& x, const std::vector<GoldenCase>& cases, double value_tol,
                         double grad_tol) {
  for (const GoldenCase& c : cases) {
    INFO(c.name);
    const xg::Tensor y = c.f(x);
    check_values(y, c.value, value_tol);
    const xg::Tensor w = (xg::arange(static_cast<double>(y.numel()), xg::float64) + 1.0).reshape(y.shape());
    check_values(xg::grad({(y * w).sum()}, {x})[0], c.gradient, grad_tol);
  }
}

}  // namespace test
