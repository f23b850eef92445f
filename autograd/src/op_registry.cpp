// The op registry: every differentiable op with sample inputs (shapes,
// broadcasting and keepdim cases, value domains). It drives the gradient
// tests and the xgrad-gradcheck tool.
#include "xgrad/op_registry.hpp"

#include <algorithm>
#include <chrono>
#include <sstream>

#include "op_samples.hpp"
#include "xgrad/autograd.hpp"

namespace xg {
namespace {

/// Every family's rows, each tagged with its family (the README table groups by it).
std::vector<OpSample> build() {
  const std::pair<const char*, std::vector<OpSample> (*)()> families[] = {
      {"elementwise", detail::samples_elementwise}, {"reductions", detail::samples_reduce},
      {"linear algebra", detail::samples_linalg},   {"linear algebra", detail::samples_einsum},
      {"shape", detail::samples_shape}, {"view", detail::samples_view},
      {"activations", detail::samples_activation},  {"losses", detail::samples_loss},
      {"indexing", detail::samples_index},          {"convolution, pooling", detail::samples_conv},
      {"convolution, pooling", detail::samples_pool},
      {"normalisation", detail::samples_norm},       {"attention", detail::samples_attention},
      {"sorting", detail::samples_sort},           {"resizing", detail::samples_interpolate},
  };
  std::vector<OpSample> all;
  for (const auto& [family, samples] : families)
    for (OpSample& s : samples()) {
      s.family = family;
      all.push_back(std::move(s));
    }
  return all;
}

}  // namespace

std::vector<std::string> ops_checked_by(const std::string& row_name) {
  const std::string first = row_name.substr(0, row_name.find(' '));
  std::vector<std::string> out;
  if (first == "composite") return out;  // a small model made of several ops
  std::size_t at = 0;
  while (at <= first.size()) {
    const std::size_t slash = first.find('/', at);
    out.push_back(first.substr(at, slash == std::string::npos ? std::string::npos : slash - at));
    if (slash == std::string::npos) break;
    at = slash + 1;
  }
  return out;
}

const std::vector<std::string>& non_differentiable_ops() {
  static const std::vector<std::string> ops = {"eq",           "ne",          "lt",          "le",         "gt",
                                               "ge",           "sign",        "argmax",      "argmin",     "one_hot",
                                               "floor_divide", "logical_not", "logical_and", "logical_or", "logical_xor",
                                               "any",          "all",         "floor",       "ceil",       "round",
                                               "trunc",        "argsort",     "multinomial"};
  return ops;
}

const std::vector<OpSample>& op_samples() {
  static const std::vector<OpSample> all = build();
  return all;
}

TensorList sample_inputs(const OpSample& op, std::uint64_t seed) {
  manual_seed(seed);
  TensorList inputs;
  for (const Shape& s : op.shapes) {
    Tensor r = randn(s, float64);
    if (op.domain == OpSample::Domain::Positive) r = abs(r) + 0.5;
    if (op.domain == OpSample::Domain::AwayFromZero) r = sign(r) * (abs(r) + 0.3);
    inputs.push_back(r.detach().requires_grad_(true));
  }
  return inputs;
}

TensorList non_contiguous_copies(const TensorList& inputs) {
  TensorList out;
  for (const Tensor& x : inputs) {
    if (x.numel() <= 1) {
      out.push_back(x);
      continue;
    }
    std::vector<std::int64_t> big;  // the dims longer than 1
    for (std::int64_t d = 0; d < x.dim(); ++d)
      if (x.size(d) > 1) big.push_back(d);
    Tensor view;
    {
      NoGradGuard no_grad;
      if (big.size() == 1) {  // stride 2 along the one long dim, offset 1
        const std::int64_t d = big[0], n = x.size(d);
        Shape wide = x.shape();
        wide[static_cast<std::size_t>(d)] = 2 * n;
        view = slice(zeros(wide, x.dtype()), d, 1, 2 * n, 2);
      } else {  // the last two long dims swapped in memory, offset 1
        const std::int64_t a = big[big.size() - 2], b = big.back();
        Dims order(static_cast<std::size_t>(x.dim()));
        for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<std::int64_t>(i);
        std::swap(order[static_cast<std::size_t>(a)], order[static_cast<std::size_t>(b)]);
        Shape swapped = x.shape();
        std::swap(swapped[static_cast<std::size_t>(a)], swapped[static_cast<std::size_t>(b)]);
        view = zeros({x.numel() + 1}, x.dtype()).narrow(0, 1, x.numel()).reshape(swapped).permute(order);
      }
      view.copy_(x);
    }
    out.push_back(view.requires_grad_(x.requires_grad()));
  }
  return out;
}

std::vector<SweepRow> gradcheck_sweep(const std::vector<OpSample>& ops, const SweepOptions& options) {
  std::vector<SweepRow> rows;
  std::uint64_t k = 0;
  for (const OpSample& op : ops) {
    ++k;
    if (!options.filter.empty() && op.name.find(options.filter) == std::string::npos) continue;
    const auto t0 = std::chrono::steady_clock::now();
    SweepRow row;
    row.name = op.name;
    row.family = op.family;
    const TensorList contiguous = sample_inputs(op, options.seed + k);
    GradcheckOptions tol = options.tolerances;
    tol.fast_mode = options.fast;
    // The same values in each layout the sweep covers; the first failure is reported.
    std::vector<std::pair<const char*, TensorList>> layouts = {{"", contiguous}};
    if (options.non_contiguous) layouts.push_back({"non-contiguous inputs: ", non_contiguous_copies(contiguous)});
    for (const auto& [label, inputs] : layouts) {
      auto report = [&, label = label](const std::string& text) {
        if (row.report.empty() && !text.empty()) row.report = label + text;
      };
      try {
        const GradcheckResult first = gradcheck(op.fn, inputs, tol);
        row.first_order = row.first_order && first.ok;
        report(first.report);
        if (options.second_order) {
          const GradcheckResult second = gradgradcheck(op.fn, inputs, tol);
          row.second_order = row.second_order && second.ok;
          report(second.report);
        }
        if (options.forward_mode) {
          const GradcheckResult jvp = check_jvp(op.fn, inputs, tol);
          row.forward_mode = row.forward_mode && jvp.ok;
          report(jvp.report);
        }
        if (options.vmap && label[0] == '\0' && !op.no_vmap.empty()) {
          row.batched = false;
          row.loop_reason = "vmap does not apply: " + op.no_vmap;
        } else if (options.vmap && label[0] == '\0') {  // the examples are stacked copies: their layout is vmap's own
          const VmapCheckResult v = check_vmap(op.fn, inputs);
          row.vmap = v.ok;
          row.batched = v.batched;
          if (v.ok && !v.batched) row.loop_reason = v.report;
          if (!v.ok) report(v.report);
        }
        if (options.repeatability) {
          // Two fresh forward+backward passes must give bit-identical gradients.
          auto grads = [&, &inputs = inputs] {
            TensorList fresh;
            for (const Tensor& t : inputs) fresh.push_back(t.detach().requires_grad_(true));
            const Tensor y = op.fn(fresh);
            TensorList g = grad({y}, fresh, {ones_like(y)}, false, false, true);
            std::vector<std::vector<double>> out;
            for (const Tensor& t : g) out.push_back(t.defined() ? t.to_vector<double>() : std::vector<double>{});
            return out;
          };
          const bool same = grads() == grads();
          row.repeatable = row.repeatable && same;
          if (!same) report("two backward passes gave different gradients");
        }
      } catch (const std::exception& e) {
        row.first_order = row.second_order = row.forward_mode = row.vmap = row.repeatable = false;
        report(std::string("threw: ") + e.what());
      }
    }
    row.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rows.push_back(row);
  }
  return rows;
}

std::string sweep_table(const std::vector<SweepRow>& rows) {
  std::ostringstream os;
  os << "| op | gradcheck | gradgradcheck | jvp | vmap | repeatable | ms |\n|---|---|---|---|---|---|---|\n";
  std::size_t failed = 0;
  for (const SweepRow& r : rows) {
    os << "| " << r.name << " | " << (r.first_order ? "ok" : "FAIL") << " | " << (r.second_order ? "ok" : "FAIL")
       << " | " << (r.forward_mode ? "ok" : "FAIL") << " | " << (!r.vmap ? "FAIL" : r.batched ? "ok" : r.loop_reason.rfind("vmap does not apply", 0) == 0 ? "n/a" : "ok (loop)")
       << " | " << (r.repeatable ? "ok" : "FAIL") << " | " << static_cast<int>(r.seconds * 1000) << " |\n";
    if (!r.ok()) {
      ++failed;
      os << "|   ↳ " << r.report << " | | | | | | |\n";
    } else if (!r.batched) {
      os << "|   ↳ " << r.loop_reason << " | | | | | | |\n";
    }
  }
  os << "\n" << rows.size() - failed << " passed, " << failed << " failed\n";
  return os.str();
}

std::string family_table(const std::vector<SweepRow>& rows) {
  struct Family {
    std::string name;
    std::vector<std::string> ops;
    std::size_t rows = 0, batched = 0;
    bool first = true, second = true, forward = true, vmap = true;
  };
  std::vector<Family> families;
  for (const SweepRow& row : rows) {
    if (families.empty() || families.back().name != row.family) families.push_back({row.family, {}, 0, 0, true, true, true, true});
    Family& f = families.back();
    for (const std::string& op : ops_checked_by(row.name))
      if (std::find(f.ops.begin(), f.ops.end(), op) == f.ops.end()) f.ops.push_back(op);
    ++f.rows;
    f.first = f.first && row.first_order;
    f.second = f.second && row.second_order;
    f.forward = f.forward && row.forward_mode;
    f.vmap = f.vmap && row.vmap;
    f.batched += row.batched ? 1 : 0;
  }
  std::ostringstream os;
  os << "| family | ops | rows | gradcheck | gradgradcheck | jvp | vmap (rows batched) |\n|---|---|---|---|---|---|---|\n";
  for (const Family& f : families) {
    os << "| " << f.name << " |";
    for (std::size_t k = 0; k < f.ops.size(); ++k) os << (k ? ", " : " ") << f.ops[k];
    os << " | " << f.rows << " | " << (f.first ? "✓" : "✗") << " | " << (f.second ? "✓" : "✗") << " | "
       << (f.forward ? "✓" : "✗") << " | " << (f.vmap ? "✓" : "✗") << " (" << f.batched << "/" << f.rows << ") |\n";
  }
  os << "| not differentiable |";
  const auto& none = non_differentiable_ops();
  for (std::size_t k = 0; k < none.size(); ++k) os << (k ? ", " : " ") << none[k];
  os << " | – | – | – | – | – |\n\n" << rows.size() << " op/shape rows in float64 (generated by `xgrad-gradcheck --markdown`).\n";
  return os.str();
}

}  // namespace xg
