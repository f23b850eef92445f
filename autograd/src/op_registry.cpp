// The op registry: every differentiable op with sample inputs (shapes,
// broadcasting and keepdim cases, value domains). It drives the gradient
// tests and the xgrad-gradcheck tool.
#include "xgrad/op_registry.hpp"

#include <chrono>
#include <sstream>

#include "xgrad/autograd.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/ops_nn.hpp"

namespace xg {
namespace {

using L = const TensorList&;
using Domain = OpSample::Domain;

std::vector<OpSample> build() {
  std::vector<OpSample> c;
  const Shape s0{}, s3{3}, s23{2, 3}, s13{1, 3}, s21{2, 1}, s234{2, 3, 4}, s14{1, 4}, s31{3, 1};
    auto binary = [&](const std::string& name, std::function<Tensor(L)> f, Domain d = Domain::Any) {
    c.push_back({name + " same", f, {s23, s23}, d});
    c.push_back({name + " row-broadcast", f, {s23, s3}, d});
    c.push_back({name + " both-broadcast", f, {s21, s13}, d});
    c.push_back({name + " 3d+scalar", f, {s234, s0}, d});
    c.push_back({name + " 3d broadcast", f, {s31, s234}, d});
  };
  binary("add", [](L x) { return x[0] + x[1]; });
  binary("sub", [](L x) { return x[0] - x[1]; });
  binary("mul", [](L x) { return x[0] * x[1]; });
  binary("div", [](L x) { return x[0] / x[1]; }, Domain::Positive);
  binary("pow", [](L x) { return pow(x[0], x[1]); }, Domain::Positive);
  binary("maximum", [](L x) { return maximum(x[0], x[1]); });
  binary("minimum", [](L x) { return minimum(x[0], x[1]); });

  auto unary = [&](const std::string& name, std::function<Tensor(L)> f, Domain d = Domain::Any) {
    c.push_back({name + " 0-d", f, {s0}, d});
    c.push_back({name + " 1-d", f, {s3}, d});
    c.push_back({name + " 3-d", f, {s234}, d});
  };
  unary("neg", [](L x) { return -x[0]; });
  unary("exp", [](L x) { return exp(x[0]); });
  unary("log", [](L x) { return log(x[0]); }, Domain::Positive);
  unary("sqrt", [](L x) { return sqrt(x[0]); }, Domain::Positive);
  unary("abs", [](L x) { return abs(x[0]); }, Domain::AwayFromZero);
  unary("sin", [](L x) { return sin(x[0]); });
  unary("cos", [](L x) { return cos(x[0]); });
  unary("tanh", [](L x) { return tanh(x[0]); });
  unary("sigmoid", [](L x) { return sigmoid(x[0]); });
  unary("relu", [](L x) { return relu(x[0]); }, Domain::AwayFromZero);
  unary("square", [](L x) { return square(x[0]); });
  unary("clamp", [](L x) { return clamp(x[0], -0.8, 0.7); });
  unary("add scalar", [](L x) { return x[0] + 2.0; });
  unary("rsub scalar", [](L x) { return 2.0 - x[0]; });
  unary("mul scalar", [](L x) { return x[0] * -3.0; });
  unary("div scalar", [](L x) { return x[0] / 4.0; });
  unary("rdiv scalar", [](L x) { return 2.0 / x[0]; }, Domain::Positive);
  unary("pow 3", [](L x) { return pow(x[0], 3.0); });
  unary("pow 2", [](L x) { return pow(x[0], 2.0); });
  unary("pow -1.5", [](L x) { return pow(x[0], -1.5); }, Domain::Positive);
  unary("rpow", [](L x) { return pow(1.7, x[0]); });
  unary("clone", [](L x) { return x[0].clone(); });
  c.push_back({"where", [](L x) { return where(gt(x[0], 0.0), x[1], x[2]); }, {s23, s3, s21}});

  // reductions
  c.push_back({"sum all", [](L x) { return x[0].sum(); }, {s234}});
  c.push_back({"sum dim 1", [](L x) { return x[0].sum({1}); }, {s234}});
  c.push_back({"sum dims 0,2 keepdim", [](L x) { return x[0].sum({0, 2}, true); }, {s234}});
  c.push_back({"sum 0-d", [](L x) { return x[0].sum(); }, {s0}});
  c.push_back({"mean all", [](L x) { return x[0].mean(); }, {s23}});
  c.push_back({"mean dim -1 keepdim", [](L x) { return x[0].mean({-1}, true); }, {s234}});
  c.push_back({"max all", [](L x) { return max(x[0]); }, {s234}});
  c.push_back({"max dim 1", [](L x) { return max(x[0], {1}); }, {s234}});
  c.push_back({"max dim 0 keepdim", [](L x) { return max(x[0], {0}, true); }, {s23}});
  c.push_back({"min all", [](L x) { return min(x[0]); }, {s23}});
  c.push_back({"min dims 0,2", [](L x) { return min(x[0], {0, 2}); }, {s234}});
  c.push_back({"var all", [](L x) { return var(x[0]); }, {s23}});
  c.push_back({"var dim 1 keepdim", [](L x) { return var(x[0], {1}, true); }, {s234}});
  c.push_back({"std dim 0 biased", [](L x) { return xg::std(x[0], {0}, false, 0); }, {s234}});
  c.push_back({"sum_to", [](L x) { return sum_to(x[0], {3, 1}); }, {s234}});

  // linear algebra
  c.push_back({"matmul 2d", [](L x) { return matmul(x[0], x[1]); }, {s23, {3, 4}}});
  c.push_back({"matmul dot", [](L x) { return matmul(x[0], x[1]); }, {s3, s3}});
  c.push_back({"matmul 2d.1d", [](L x) { return matmul(x[0], x[1]); }, {s23, s3}});
  c.push_back({"matmul 1d.2d", [](L x) { return matmul(x[0], x[1]); }, {s3, {3, 2}}});
  c.push_back({"matmul 3d.3d", [](L x) { return matmul(x[0], x[1]); }, {s234, {2, 4, 2}}});
  c.push_back({"matmul 3d.2d", [](L x) { return matmul(x[0], x[1]); }, {s234, {4, 2}}});
  c.push_back({"matmul 2d.3d", [](L x) { return matmul(x[0], x[1]); }, {s23, {2, 3, 2}}});
  c.push_back({"matmul batch-1 broadcast", [](L x) { return matmul(x[0], x[1]); }, {{1, 2, 3}, {2, 3, 2}}});
  c.push_back({"matmul_t a^T b", [](L x) { return matmul_t(x[0], x[1], true, false); }, {{3, 2}, {3, 4}}});
  c.push_back({"matmul_t a b^T", [](L x) { return matmul_t(x[0], x[1], false, true); }, {s23, {4, 3}}});
  c.push_back({"matmul_t a^T b^T batched", [](L x) { return matmul_t(x[0], x[1], true, true); }, {{2, 3, 2}, {2, 4, 3}}});
  c.push_back({"outer", [](L x) { return outer(x[0], x[1]); }, {s3, {2}}});

  // shape
  c.push_back({"reshape", [](L x) { return x[0].reshape({4, -1}); }, {s234}});
  c.push_back({"flatten 1..2", [](L x) { return x[0].flatten(1); }, {s234}});
  c.push_back({"squeeze/unsqueeze", [](L x) { return x[0].unsqueeze(1).squeeze(); }, {s13}});
  c.push_back({"permute", [](L x) { return x[0].permute({2, 0, 1}); }, {s234}});
  c.push_back({"transpose", [](L x) { return x[0].transpose(0, 1); }, {s23}});
  c.push_back({"expand", [](L x) { return x[0].expand({2, 3, 4}); }, {s31}});
  c.push_back({"slice step 2", [](L x) { return slice(x[0], 2, 0, 4, 2); }, {s234}});
  c.push_back({"slice negative", [](L x) { return slice(x[0], -1, -2, 100); }, {s23}});
  c.push_back({"narrow", [](L x) { return x[0].narrow(1, 1, 2); }, {s234}});
  c.push_back({"select", [](L x) { return x[0].select(0, 1); }, {s234}});
  c.push_back({"cat dim 1", [](L x) { return cat({x[0], x[1]}, 1); }, {s23, {2, 2}}});
  c.push_back({"cat dim 0", [](L x) { return cat({x[0], x[1], x[0]}, 0); }, {s13, s23}});
  c.push_back({"stack", [](L x) { return stack({x[0], x[1]}, 1); }, {s23, s23}});
  c.push_back({"split", [](L x) { auto p = split(x[0], 2, 1); return p[0] * 2.0 + p[1].sum(); }, {{2, 4}}});
  c.push_back({"chunk", [](L x) { auto p = chunk(x[0], 3, 0); return cat({p[2], p[0]}, 0); }, {{3, 2}}});
  // a composite: a small MLP layer with a loss
  c.push_back({"mlp layer", [](L x) { return tanh(matmul(x[0], x[1]) + x[2]).pow(2.0).mean(); }, {{4, 3}, {3, 2}, {2}}});

  // NN ops (ops_nn.hpp)
  const Shape s23b{2, 3}, s234b{2, 3, 4};
  auto soft = [](L x) { return softmax(x[1], 1); };  // probability targets
  const std::vector<OpSample> nn_rows = {
      {"erf", [](L x) { return erf(x[0]); }, {s234b}},
      {"leaky_relu", [](L x) { return leaky_relu(x[0], 0.2); }, {s234b}},
      {"elu", [](L x) { return elu(x[0], 1.5); }, {s234b}},
      {"gelu", [](L x) { return gelu(x[0]); }, {s23b}},
      {"gelu tanh", [](L x) { return gelu(x[0], true); }, {s23b}},
      {"silu", [](L x) { return silu(x[0]); }, {s23b}},
      {"softplus", [](L x) { return softplus(x[0], 2.0, 3.0); }, {s234b}},
      {"softmax dim 1", [](L x) { return softmax(x[0], 1); }, {s234b}},
      {"softmax dim -1", [](L x) { return softmax(x[0], -1); }, {s23b}},
      {"log_softmax dim 0", [](L x) { return log_softmax(x[0], 0); }, {s234b}},
      {"logsumexp dims", [](L x) { return logsumexp(x[0], {0, 2}); }, {s234b}},
      {"logsumexp keepdim", [](L x) { return logsumexp(x[0], {1}, true); }, {s23b}},
      {"cumsum", [](L x) { return cumsum(x[0], 1); }, {s234b}},
      {"mse_loss", [](L x) { return mse_loss(x[0], x[1]); }, {s23b, s23b}},
      {"l1_loss sum", [](L x) { return l1_loss(x[0], x[1], Reduction::Sum); }, {s23b, s23b}},
      {"smooth_l1 none", [](L x) { return smooth_l1_loss(x[0], x[1], Reduction::None, 0.5); }, {s23b, s23b}},
      {"huber", [](L x) { return huber_loss(x[0], x[1], Reduction::Mean, 0.7); }, {s23b, s23b}},
      {"cross_entropy", [](L x) { return cross_entropy(x[0], tensor({2, 0}, int64)); }, {s23b}},
      {"cross_entropy weighted smoothed", [](L x) {
         CrossEntropyOptions o;
         o.weight = tensor({0.5, 2.0, 1.0}, float64);
         o.label_smoothing = 0.2;
         return cross_entropy(x[0], tensor({2, 1}, int64), o);
       }, {s23b}},
      {"cross_entropy soft targets", [soft](L x) { return cross_entropy(x[0], soft(x)); }, {s23b, s23b}},
      {"nll_loss none", [](L x) {
         CrossEntropyOptions o;
         o.reduction = Reduction::None;
         return nll_loss(x[0], tensor({1, 2}, int64), o);
       }, {s23b}},
      {"binary_cross_entropy", [](L x) { return binary_cross_entropy(sigmoid(x[0]), sigmoid(x[1])); }, {s23b, s23b}},
      {"bce_with_logits pos_weight", [](L x) {
         return binary_cross_entropy_with_logits(x[0], sigmoid(x[1]), Reduction::Sum, {}, full({3}, 1.5, float64));
       }, {s23b, s23b}},
      {"index_select", [](L x) { return index_select(x[0], 1, tensor({2, 0, 2}, int64)); }, {s234b}},
      {"index_add", [](L x) { return index_add(x[0], 0, tensor({1, 1, 0}, int64), x[1]); }, {s23b, {3, 3}}},
      {"gather", [](L x) { return gather(x[0], 1, tensor({0, 2, 1, 1}, {2, 2}, int64)); }, {s23b}},
      {"scatter_add", [](L x) { return scatter_add(x[0], 1, tensor({0, 2, 1, 1}, {2, 2}, int64), x[1]); }, {s23b, {2, 2}}},
      {"embedding", [](L x) { return embedding(x[0], tensor({3, 0, 3}, int64)); }, {{4, 2}}},
      {"masked_fill", [](L x) { return masked_fill(x[0], tensor({1, 0, 0, 1, 0, 1}, {2, 3}, float64), 2.0); }, {s23b}},
      {"take", [](L x) { return take(x[0], tensor({5, 0, 5}, int64)); }, {s23b}},
      {"pad", [](L x) { return pad(x[0], {1, 2, 0, 1}, 0.5); }, {s23b}},
      {"conv2d bias", [](L x) { return conv2d(x[0], x[1], x[2]); }, {{2, 2, 4, 4}, {3, 2, 2, 2}, {3}}},
      {"conv2d stride pad dilation", [](L x) {
         Conv2dOptions o;
         o.stride = {2, 1};
         o.padding = {1, 1};
         o.dilation = {1, 2};
         return conv2d(x[0], x[1], {}, o);
       }, {{1, 2, 5, 4}, {2, 2, 3, 2}}},
      {"conv2d groups", [](L x) {
         Conv2dOptions o;
         o.groups = 2;
         return conv2d(x[0], x[1], x[2], o);
       }, {{1, 4, 3, 3}, {2, 2, 2, 2}, {2}}},
      {"conv1d", [](L x) { return conv1d(x[0], x[1], x[2], 2, 1); }, {{2, 2, 5}, {3, 2, 3}, {3}}},
      {"max_pool2d", [](L x) { return max_pool2d(x[0], {2, 2}, std::make_pair(1, 2), {1, 1}); }, {{1, 2, 4, 4}}},
      {"avg_pool2d", [](L x) { return avg_pool2d(x[0], {3, 3}, std::make_pair(2, 2), {1, 1}); }, {{1, 2, 5, 4}}},
      {"adaptive_avg_pool2d", [](L x) { return adaptive_avg_pool2d(x[0], {2, 3}); }, {{1, 2, 5, 4}}},
      {"layer_norm affine", [](L x) { return layer_norm(x[0], {3, 4}, x[1], x[2]); }, {s234b, {3, 4}, {3, 4}}},
      {"batch_norm train", [](L x) { return batch_norm(x[0], {}, {}, x[1], x[2], true); }, {s234b, {3}, {3}}},
      {"batch_norm eval", [](L x) {
         return batch_norm(x[0], full({3}, 0.2, float64), full({3}, 1.5, float64), x[1], x[2], false);
       }, {s234b, {3}, {3}}},
      {"group_norm", [](L x) { return group_norm(x[0], 2, x[1], x[2]); }, {{2, 4, 3}, {4}, {4}}},
      {"dropout (seeded)", [](L x) {
         manual_seed(11);
         return dropout(x[0], 0.4, true);
       }, {s234b}},
  };
  c.insert(c.end(), nn_rows.begin(), nn_rows.end());
  return c;
}

}  // namespace

const std::vector<OpSample>& op_samples() {
  static const std::vector<OpSample> all = build();
  return all;
}

TensorList sample_inputs(const OpSample& op, std::uint64_t seed) {
  manual_seed(seed);
  TensorList inputs;
  for (const Shape& s : op.shapes) {
    Tensor r = randn(s, float64);
    if (op.domain == Domain::Positive) r = abs(r) + 0.5;
    if (op.domain == Domain::AwayFromZero) r = sign(r) * (abs(r) + 0.3);
    inputs.push_back(r.detach().requires_grad_(true));
  }
  return inputs;
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
    const TensorList inputs = sample_inputs(op, options.seed + k);
    GradcheckOptions tol = options.tolerances;
    tol.fast_mode = options.fast;
    try {
      const GradcheckResult first = gradcheck(op.fn, inputs, tol);
      row.first_order = first.ok;
      row.report = first.report;
      if (options.second_order) {
        const GradcheckResult second = gradgradcheck(op.fn, inputs, tol);
        row.second_order = second.ok;
        if (row.report.empty()) row.report = second.report;
      }
      if (options.repeatability) {
        // Two fresh forward+backward passes must give bit-identical gradients.
        auto grads = [&] {
          TensorList fresh;
          for (const Tensor& t : inputs) fresh.push_back(t.detach().requires_grad_(true));
          const Tensor y = op.fn(fresh);
          TensorList g = grad({y}, fresh, {ones_like(y)}, false, false, true);
          std::vector<std::vector<double>> out;
          for (const Tensor& t : g) out.push_back(t.defined() ? t.to_vector<double>() : std::vector<double>{});
          return out;
        };
        row.repeatable = grads() == grads();
        if (!row.repeatable && row.report.empty()) row.report = "two backward passes gave different gradients";
      }
    } catch (const std::exception& e) {
      row.first_order = row.second_order = row.repeatable = false;
      row.report = std::string("threw: ") + e.what();
    }
    row.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rows.push_back(row);
  }
  return rows;
}

std::string sweep_table(const std::vector<SweepRow>& rows) {
  std::ostringstream os;
  os << "| op | gradcheck | gradgradcheck | repeatable | ms |\n|---|---|---|---|---|\n";
  std::size_t failed = 0;
  for (const SweepRow& r : rows) {
    os << "| " << r.name << " | " << (r.first_order ? "ok" : "FAIL") << " | " << (r.second_order ? "ok" : "FAIL")
       << " | " << (r.repeatable ? "ok" : "FAIL") << " | " << static_cast<int>(r.seconds * 1000) << " |\n";
    if (!r.ok()) {
      ++failed;
      os << "|   ↳ " << r.report << " | | | | |\n";
    }
  }
  os << "\n" << rows.size() - failed << " passed, " << failed << " failed\n";
  return os.str();
}

}  // namespace xg
