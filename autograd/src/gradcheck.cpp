// Finite-difference checks of the analytic gradients.
#include "xgrad/gradcheck.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "internal.hpp"
#include "xgrad/forward_ad.hpp"
#include "xgrad/functional.hpp"

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

GradcheckResult check_jvp_impl(const MultiFunction& f, const TensorList& inputs, const GradcheckOptions& opts) {
  // One random direction over all float inputs (those that require grad).
  TensorList primals, directions;
  bool any = false;
  for (const Tensor& x : inputs) {
    primals.push_back(x.defined() ? x.detach() : x);
    const bool wrt = x.defined() && x.requires_grad();
    if (wrt)
      XG_CHECK(x.dtype() == Dtype::Float64, "check_jvp", "input ", directions.size(), " is ", x.dtype(), x.shape(),
               "; check_jvp needs float64 inputs");
    directions.push_back(wrt ? randn(x.shape(), float64) : Tensor());
    any = any || wrt;
  }
  XG_CHECK(any, "check_jvp", "no input requires grad, so there is no direction to check");

  // Forward mode: the tangents of f at (x, v).
  TensorList values, tangents;
  {
    fwad::DualLevel level;
    TensorList duals;
    for (std::size_t i = 0; i < inputs.size(); ++i)
      duals.push_back(directions[i].defined() ? fwad::make_dual(primals[i], directions[i]) : primals[i]);
    NoGradGuard no_grad;
    for (const Tensor& y : f(duals)) {
      const fwad::UnpackedDual d = y.defined() ? fwad::unpack_dual(y) : fwad::UnpackedDual{};
      values.push_back(d.primal.defined() ? d.primal.detach() : Tensor());
      const bool differentiable = y.defined() && is_floating(y.dtype());
      tangents.push_back(!differentiable ? Tensor() : d.tangent.defined() ? d.tangent.detach() : zeros_like(y));
    }
  }
  std::ostringstream report;
  auto fail_with = [&](const std::string& text) { return GradcheckResult{false, text}; };

  // Against central differences along v.
  auto shifted = [&](double step) {
    TensorList moved;
    NoGradGuard no_grad;
    for (std::size_t i = 0; i < inputs.size(); ++i)
      moved.push_back(directions[i].defined() ? primals[i] + directions[i] * step : primals[i]);
    return f(moved);
  };
  const TensorList plus = shifted(opts.eps), minus = shifted(-opts.eps);
  const TensorList plain = [&] {
    NoGradGuard no_grad;
    return f(primals);
  }();
  for (std::size_t o = 0; o < tangents.size(); ++o) {
    if (!tangents[o].defined()) continue;
    const std::vector<double> t = tangents[o].to_vector<double>(), p = plus[o].to_vector<double>(),
                              m = minus[o].to_vector<double>(), y0 = plain[o].to_vector<double>(),
                              y1 = values[o].to_vector<double>();
    for (std::size_t k = 0; k < t.size(); ++k) {
      if (!(y0[k] == y1[k] || (std::isnan(y0[k]) && std::isnan(y1[k]))))
        return fail_with((report << "output " << o << " element " << k << ": f on dual inputs gave " << y1[k]
                                 << " but f gave " << y0[k], report.str()));
      const double numeric = (p[k] - m[k]) / (2 * opts.eps);
      if (!(std::abs(t[k] - numeric) <= opts.atol + opts.rtol * std::abs(numeric)))
        return fail_with((report << "jvp of output " << o << " (shape " << tangents[o].shape() << ") element " << k
                                 << ": forward mode " << t[k] << ", finite differences " << numeric, report.str()));
    }
  }

  // <u, J v> by forward mode equals <Jᵀu, v> by reverse mode.
  TensorList leaves, outs, cotangents;
  for (std::size_t i = 0; i < inputs.size(); ++i)
    leaves.push_back(directions[i].defined() ? primals[i].detach().requires_grad_(true) : primals[i]);
  const TensorList ys = f(leaves);
  double forward_dot = 0, reverse_dot = 0, scale = 0;
  for (std::size_t o = 0; o < ys.size(); ++o) {
    if (!tangents[o].defined() || !ys[o].requires_grad()) continue;  // constant: a zero tangent, checked above
    const Tensor u = randn(ys[o].shape(), float64);
    outs.push_back(ys[o]);
    cotangents.push_back(u);
    forward_dot += sum(u * tangents[o]).item<double>();
  }
  TensorList wrt;
  for (std::size_t i = 0; i < leaves.size(); ++i)
    if (directions[i].defined()) wrt.push_back(leaves[i]);
  if (!outs.empty()) {
    const TensorList g = grad(outs, wrt, cotangents, false, false, true);
    std::size_t j = 0;
    for (std::size_t i = 0; i < leaves.size(); ++i) {
      if (!directions[i].defined()) continue;
      if (g[j].defined()) {
        reverse_dot += sum(g[j] * directions[i]).item<double>();
        scale += sum(abs(g[j] * directions[i])).item<double>();
      }
      ++j;
    }
  }
  if (!(std::abs(forward_dot - reverse_dot) <= 1e-9 * (1 + scale)))
    return fail_with((report << "<u, J v> by forward mode is " << forward_dot << " but <Jᵀu, v> by reverse mode is "
                             << reverse_dot, report.str()));
  return {};
}

namespace {
/// The largest |a − b| / max(1, |b|), NaN where exactly one of them is NaN.
double relative_gap(const Tensor& a, const Tensor& b) {
  const std::vector<double> x = a.to(Dtype::Float64).to_vector<double>(), y = b.to(Dtype::Float64).to_vector<double>();
  double worst = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i]) || std::isnan(y[i])) {
      if (std::isnan(x[i]) != std::isnan(y[i])) return std::nan("");
      continue;
    }
    if (x[i] == y[i]) continue;  // equal infinities too
    worst = std::max(worst, std::abs(x[i] - y[i]) / std::max(1.0, std::abs(y[i])));
  }
  return worst;
}
}  // namespace

VmapCheckResult check_vmap_impl(const MultiFunction& f, const TensorList& inputs, double tolerance) {
  constexpr std::int64_t kExamples = 3;
  VmapCheckResult result;
  // Example b scales the inputs by 1 + b/8: other values, same signs (so the same domain).
  const auto example_value = [&](std::size_t i, std::int64_t b) { return inputs[i].detach() * (1.0 + 0.125 * static_cast<double>(b)); };
  const functional::Fn values = [&f](const TensorList& in) { return f(in); };
  const functional::Fn gradients = [&f](const TensorList& in) {
    const TensorList y = f(in);
    TensorList v;
    for (const Tensor& t : y) v.push_back(ones_like(t));
    return functional::vjp(f, in, v).vjp;
  };
  struct Case {
    const char* name;
    functional::InDims in_dims;
    const functional::Fn* fn;
  };
  std::vector<Case> cases;
  cases.push_back({"every input mapped over dim 0", functional::InDims(inputs.size(), 0), &values});
  functional::InDims last(inputs.size(), std::nullopt);
  last[0] = inputs[0].dim();
  cases.push_back({"input 0 mapped over its last dim, the others shared", last, &values});
  cases.push_back({"per-example gradients (vmap of vjp)", functional::InDims(inputs.size(), 0), &gradients});
  for (const Case& c : cases) {
    TensorList batch;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      if (!c.in_dims[i]) {
        batch.push_back(inputs[i].detach());
        continue;
      }
      TensorList examples;
      for (std::int64_t b = 0; b < kExamples; ++b) examples.push_back(example_value(i, b));
      batch.push_back(stack(examples, *c.in_dims[i]));
    }
    const TensorList got = functional::vmap(*c.fn, c.in_dims)(batch);
    const functional::VmapReport how = functional::last_vmap();
    if (!how.batched && result.batched) {
      result.batched = false;
      if (result.report.empty()) result.report = std::string(c.name) + ": vmap looped: " + how.loop_reason;
    }
    for (std::int64_t b = 0; b < kExamples; ++b) {
      TensorList example;
      for (std::size_t i = 0; i < inputs.size(); ++i)
        example.push_back(c.in_dims[i] ? batch[i].select(*c.in_dims[i], b) : batch[i]);
      const TensorList expected = (*c.fn)(example);
      for (std::size_t k = 0; k < expected.size() && k < got.size(); ++k) {
        const Tensor g = got[k].select(0, b);
        const double gap = g.shape() == expected[k].shape() ? relative_gap(g, expected[k]) : std::nan("");
        if (!(gap <= tolerance)) {
          std::ostringstream os;
          os << c.name << ": example " << b << ", output " << k << ": vmap gave " << g.dtype() << g.shape()
             << " but the loop " << expected[k].dtype() << expected[k].shape() << " (largest relative gap " << gap << ")";
          result.ok = false;
          result.report = os.str();
          return result;
        }
      }
      if (expected.size() != got.size()) {
        result.ok = false;
        result.report = std::string(c.name) + ": vmap and the loop gave different numbers of outputs";
        return result;
      }
    }
  }
  return result;
}

}  // namespace xg::detail
