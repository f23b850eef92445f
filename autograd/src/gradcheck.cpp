// Finite-difference checks of the analytic gradients.
#include "xgrad/gradcheck.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "internal.hpp"

namespace xg::detail {
namespace {

/// Values of f's outputs, concatenated and flattened, computed without a graph.
std::vector<double> flat_outputs(const MultiFunction& f, const TensorList& inputs) {
  NoGradGuard guard;
  std::vector<double> out;
  for (const Tensor& t : f(inputs)) {
    if (!t.defined()) continue;
    auto v = t.to_vector<double>();
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

/// x's elements in row-major order, through its strides (x may be a view);
/// an input whose elements share memory cannot be perturbed one at a time.
std::vector<double*> element_pointers(const Tensor& x) {
  std::vector<double*> ptrs;
  ptrs.reserve(static_cast<std::size_t>(x.numel()));
  auto* base = static_cast<double*>(const_cast<void*>(x.data_ptr()));
  const std::size_t nd = static_cast<std::size_t>(x.dim());
  Shape idx(nd, 0);
  std::int64_t off = 0;
  for (std::int64_t k = 0; k < x.numel(); ++k) {
    ptrs.push_back(base + off);
    for (std::size_t d = nd; d-- > 0;) {
      off += x.strides()[d];
      if (++idx[d] < x.shape()[d]) break;
      off -= x.strides()[d] * x.shape()[d];
      idx[d] = 0;
    }
  }
  std::vector<double*> sorted = ptrs;
  std::sort(sorted.begin(), sorted.end());
  XG_CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end(), "gradcheck", "an input (shape ", x.shape(),
           ", strides ", x.strides(), ") has elements that share memory (an expanded view); pass a contiguous copy");
  return ptrs;
}

}  // namespace

GradcheckResult gradcheck_impl(const MultiFunction& f, const TensorList& inputs, const GradcheckOptions& opts) {
  std::vector<std::size_t> checked;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined() || !inputs[i].requires_grad()) continue;
    XG_CHECK(inputs[i].dtype() == Dtype::Float64, "gradcheck", "input ", i, " is ", inputs[i].dtype(),
             inputs[i].shape(), "; gradcheck needs float64 inputs (float32 finite differences are too coarse)");
    checked.push_back(i);
  }
  XG_CHECK(!checked.empty(), "gradcheck", "no input requires grad, so there is nothing to check");

  if (opts.fast_mode) {
    // uᵀ J v: analytic from one vector-Jacobian product, numeric from one
    // central difference along v, per input.
    const TensorList outputs = f(inputs);
    TensorList ys, us;
    std::vector<std::size_t> used;  // which outputs take part
    for (std::size_t o = 0; o < outputs.size(); ++o)
      if (outputs[o].defined() && outputs[o].requires_grad()) {
        ys.push_back(outputs[o]);
        us.push_back(randn(outputs[o].shape(), outputs[o].dtype()));
        used.push_back(o);
      }
    TensorList wrt;
    for (std::size_t i : checked) wrt.push_back(inputs[i]);
    const TensorList vjps = ys.empty() ? TensorList(wrt.size()) : grad(ys, wrt, us, true, false, true);
    for (std::size_t c = 0; c < checked.size(); ++c) {
      Tensor x = inputs[checked[c]];
      const Tensor v = randn(x.shape(), Dtype::Float64);
      const std::vector<double*> p = element_pointers(x);
      const double* pv = v.data<double>();
      std::vector<double> saved;
      for (double* e : p) saved.push_back(*e);
      auto projected = [&](double sign) {
        for (std::int64_t j = 0; j < x.numel(); ++j) *p[j] = saved[static_cast<std::size_t>(j)] + sign * opts.eps * pv[j];
        NoGradGuard guard;
        const TensorList out = f(inputs);
        double acc = 0;
        for (std::size_t k = 0; k < used.size(); ++k) {
          const auto yv = out[used[k]].to_vector<double>(), uv = us[k].to_vector<double>();
          for (std::size_t i = 0; i < yv.size(); ++i) acc += yv[i] * uv[i];
        }
        return acc;
      };
      const double numeric = (projected(1) - projected(-1)) / (2 * opts.eps);
      for (std::int64_t j = 0; j < x.numel(); ++j) *p[j] = saved[static_cast<std::size_t>(j)];
      double analytic = 0;
      if (vjps[c].defined()) {
        const auto g = vjps[c].to_vector<double>();
        for (std::size_t j = 0; j < g.size(); ++j) analytic += g[j] * pv[j];
      }
      if (std::abs(analytic - numeric) > opts.atol + opts.rtol * std::abs(numeric)) {
        std::ostringstream os;
        os << "gradcheck (fast mode): uᵀJv mismatch with respect to input " << checked[c] << " " << x.shape()
           << ": analytic " << analytic << ", numeric " << numeric << " (rerun without fast_mode to find the element)";
        return {false, os.str()};
      }
    }
    return {true, ""};
  }

  // Numeric Jacobian, one column per input element: central differences.
  const std::vector<double> base = flat_outputs(f, inputs);
  const std::size_t n_out = base.size();
  std::vector<std::vector<double>> numeric(checked.size());
  for (std::size_t c = 0; c < checked.size(); ++c) {
    Tensor x = inputs[checked[c]];
    const std::vector<double*> p = element_pointers(x);
    numeric[c].assign(n_out * static_cast<std::size_t>(x.numel()), 0.0);
    for (std::int64_t j = 0; j < x.numel(); ++j) {
      double& e = *p[static_cast<std::size_t>(j)];
      const double v = e;
      e = v + opts.eps;
      const auto plus = flat_outputs(f, inputs);
      e = v - opts.eps;
      const auto minus = flat_outputs(f, inputs);
      e = v;
      for (std::size_t k = 0; k < n_out; ++k)
        numeric[c][k * static_cast<std::size_t>(x.numel()) + static_cast<std::size_t>(j)] =
            (plus[k] - minus[k]) / (2 * opts.eps);
    }
  }

  // Analytic Jacobian, one row per output element: a vector-Jacobian product
  // with a one-hot vector.
  TensorList wrt;
  for (std::size_t i : checked) wrt.push_back(inputs[i]);
  const TensorList outputs = f(inputs);
  std::size_t row = 0;
  for (std::size_t o = 0; o < outputs.size(); ++o) {
    const Tensor& y = outputs[o];
    if (!y.defined()) continue;
    for (std::int64_t k = 0; k < y.numel(); ++k, ++row) {
      TensorList grads(wrt.size());
      if (y.requires_grad()) {
        Tensor onehot = zeros(y.shape(), y.dtype());
        dispatch_float(y.dtype(), "gradcheck", [&](auto z) { onehot.data<decltype(z)>()[k] = 1; });
        grads = grad({y}, wrt, {onehot}, /*retain_graph=*/true, /*create_graph=*/false, /*allow_unused=*/true);
      }
      for (std::size_t c = 0; c < wrt.size(); ++c) {
        const auto n_in = static_cast<std::size_t>(wrt[c].numel());
        std::vector<double> a = grads[c].defined() ? grads[c].to_vector<double>() : std::vector<double>(n_in, 0.0);
        for (std::size_t j = 0; j < n_in; ++j) {
          const double num = numeric[c][row * n_in + j];
          if (std::abs(a[j] - num) <= opts.atol + opts.rtol * std::abs(num)) continue;
          std::ostringstream os;
          os << "gradcheck: Jacobian mismatch for output " << o << " " << y.shape() << " with respect to input "
             << checked[c] << " " << wrt[c].shape() << " at output element " << k << ", input element " << j
             << ": analytic " << a[j] << ", numeric " << num << " (atol " << opts.atol << ", rtol " << opts.rtol << ")";
          return {false, os.str()};
        }
      }
    }
  }
  return {true, ""};
}

GradcheckResult gradgradcheck_impl(const MultiFunction& f, const TensorList& inputs, const GradcheckOptions& opts) {
  const TensorList outputs = f(inputs);
  TensorList grad_outputs;
  for (const Tensor& y : outputs) grad_outputs.push_back(randn(y.shape(), TensorOptions(y.dtype()).requires_grad(true)));
  const std::size_t n_in = inputs.size();
  MultiFunction vjp = [&f, n_in](const TensorList& all) -> TensorList {
    AutoGradMode grad_on(true);  // gradcheck evaluates f under no-grad; this f needs its graph
    TensorList xs(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n_in));
    TensorList vs(all.begin() + static_cast<std::ptrdiff_t>(n_in), all.end());
    TensorList ys = f(xs), ys_used, vs_used, wrt;
    for (std::size_t i = 0; i < ys.size(); ++i) {
      if (!ys[i].requires_grad()) continue;
      ys_used.push_back(ys[i]);
      vs_used.push_back(vs[i]);
    }
    for (const Tensor& x : xs)
      if (x.requires_grad()) wrt.push_back(x);
    TensorList g = ys_used.empty() ? TensorList(wrt.size())
                                   : grad(ys_used, wrt, vs_used, true, /*create_graph=*/true, /*allow_unused=*/true);
    for (std::size_t i = 0; i < g.size(); ++i)
      if (!g[i].defined()) g[i] = zeros_like(wrt[i]);
    return g;
  };
  TensorList all = inputs;
  all.insert(all.end(), grad_outputs.begin(), grad_outputs.end());
  GradcheckResult r = gradcheck_impl(vjp, all, opts);
  if (!r.ok) r.report = "gradgradcheck (second order): " + r.report;
  return r;
}

}  // namespace xg::detail
