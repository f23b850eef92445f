// The engine's power tools: hooks, custom functions, functional derivatives,
// in-place ops with history, checkpointing, graph export.
#include <cmath>
#include <cstdio>

#include "helpers.hpp"

using namespace xg;
using test::check_values;
using test::contains;
using test::error_of;
using test::f64_grad;

namespace {

struct Cube : Function<Cube> {
  static constexpr const char* name = "CubeBackward";
  static TensorList forward(AutogradContext& ctx, const TensorList& in) {
    ctx.save_for_backward({in[0]});
    return {in[0] * in[0] * in[0]};
  }
  static TensorList backward(AutogradContext& ctx, const TensorList& g) {
    const Tensor x = ctx.get_saved_variables()[0];
    return {g[0] * 3.0 * x * x};
  }
};

/// Two inputs, two outputs (a·b, a + s·b), a constant in saved_data.
struct MulAdd : Function<MulAdd> {
  static TensorList forward(AutogradContext& ctx, const TensorList& in) {
    ctx.save_for_backward({in[0], in[1]});
    ctx.saved_data["s"] = 2.5;
    return {in[0] * in[1], in[0] + in[1] * 2.5};
  }
  static TensorList backward(AutogradContext& ctx, const TensorList& g) {
    const TensorList s = ctx.get_saved_variables();
    const double k = ctx.saved_data.at("s");
    return {g[0] * s[1] + g[1], g[0] * s[0] + g[1] * k};
  }
};

/// Returns values and (non-differentiable) argmax indices.
struct MaxWithIndex : Function<MaxWithIndex> {
  static TensorList forward(AutogradContext& ctx, const TensorList& in) {
    Tensor idx = argmax(in[0], 0, true);
    ctx.save_for_backward({in[0]});
    ctx.saved_data["n"] = static_cast<double>(in[0].size(0));
    Tensor values = max(in[0], {0}, true);
    ctx.mark_non_differentiable({idx});
    return {values, idx};
  }
  static TensorList backward(AutogradContext& ctx, const TensorList& g) {
    const Tensor x = ctx.get_saved_variables()[0];
    return {g[0] * eq(x, max(x, {0}, true))};
  }
};
}  // namespace

TEST_CASE("hooks observe and replace gradients, on non-leaves and leaves, and can be removed") {
  Tensor x = tensor({1.0, 2.0}, f64_grad());
  Tensor h = x * 3.0;
  Tensor seen;
  HookHandle observe = h.register_hook([&](const Tensor& g) {
    seen = g.clone();
    return Tensor();
  });
  HookHandle twice = h.register_hook([](const Tensor& g) { return g * 2.0; });
  (h * h).sum().backward();
  check_values(seen, {6, 12});               // dL/dh = 2h
  check_values(x.grad(), {2 * 6 * 3.0, 2 * 12 * 3.0});  // doubled, then × 3
  twice.remove();
  twice.remove();  // a second remove does nothing
  x.zero_grad();
  Tensor h2 = x * 3.0;
  (h2 * h2).sum().backward();
  check_values(x.grad(), {18, 36});  // hooks live on h's node, not on h2's

  Tensor leaf = tensor({1.0, 1.0}, f64_grad());
  int post_calls = 0;
  leaf.register_hook([](const Tensor& g) { return g * 10.0; });
  leaf.register_post_accumulate_grad_hook([&](const Tensor& l) {
    ++post_calls;
    CHECK(l.grad().defined());
  });
  (leaf * 2.0).sum().backward();
  check_values(leaf.grad(), {20, 20});
  CHECK(post_calls == 1);
  CHECK(contains(error_of([] { ones({1}).register_hook([](const Tensor& g) { return g; }); }), "does not require grad"));
  Tensor bad = x * 1.0;
  bad.register_hook([](const Tensor&) { return ones({3}, float64); });
  CHECK(contains(error_of([&] { bad.sum().backward(); }), "a hook on MulScalarBackward returned float64[3]"));
}

TEST_CASE("retain_grad keeps a non-leaf's gradient") {
  Tensor x = tensor({1.0, 2.0}, f64_grad());
  Tensor h = x * x;
  h.retain_grad();
  CHECK(h.retains_grad());
  (h * 3.0).sum().backward();
  check_values(h.grad(), {3, 3});
  check_values(x.grad(), {6, 12});
}

TEST_CASE("custom functions: gradients, second order, several outputs, non-differentiable outputs") {
  Tensor x = tensor({0.5, -1.5, 2.0}, f64_grad());
  Tensor y = Cube::apply({x})[0];
  CHECK(std::string(y.grad_fn()->name()) == "CubeBackward");
  const auto f = [](const TensorList& in) { return Cube::apply(in)[0]; };
  GradcheckResult r1 = gradcheck(f, {x});
  CHECK_MESSAGE(r1.ok, r1.report);
  GradcheckResult r2 = gradgradcheck(f, {x});
  CHECK_MESSAGE(r2.ok, r2.report);

  Tensor a = tensor({1.0, 2.0}, f64_grad()), b = tensor({3.0, -1.0}, f64_grad());
  const auto g = [](const TensorList& in) { return MulAdd::apply(in); };
  GradcheckResult r3 = gradcheck(g, {a, b});
  CHECK_MESSAGE(r3.ok, r3.report);
  GradcheckResult r4 = gradgradcheck(g, {a, b});
  CHECK_MESSAGE(r4.ok, r4.report);
  // Only the first output used: the second's gradient arrives as zeros.
  MulAdd::apply({a, b})[0].sum().backward();
  check_values(a.grad(), {3, -1});

  Tensor m = tensor({1.0, 5.0, 3.0, 2.0}, {2, 2}, f64_grad());
  TensorList out = MaxWithIndex::apply({m});
  CHECK(out[0].requires_grad());
  CHECK_FALSE(out[1].requires_grad());
  CHECK(out[1].to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 0});
  out[0].sum().backward();
  check_values(m.grad(), {0, 1, 1, 0});
}

TEST_CASE("functional: vjp, jvp, jacobian, hessian, hvp against closed forms") {
  const Tensor A = tensor({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, {2, 3}, float64);
  const functional::Fn linear = [&](const TensorList& in) { return TensorList{matmul(A, in[0])}; };
  const Tensor x = tensor({1.0, -1.0, 2.0}, float64);
  auto v = functional::vjp(linear, {x}, {tensor({1.0, 2.0}, float64)});
  check_values(v.outputs[0], {5, 11});
  check_values(v.vjp[0], {9, 12, 15});  // Aᵀ [1, 2]
  auto j = functional::jvp(linear, {x}, {tensor({1.0, 0.0, 1.0}, float64)});
  check_values(j.vjp[0], {4, 10});      // A [1, 0, 1]
  const Tensor jac = functional::jacobian([&](const TensorList& in) { return square(in[0]); }, {x})[0];
  CHECK(jac.shape() == Shape{3, 3});
  check_values(jac, {2, 0, 0, 0, -2, 0, 0, 0, 4});
  // f(x) = Σ x³ + x₀x₁: H = diag(6x) + off-diagonal 1 at (0,1), (1,0).
  auto f = [](const Tensor& t) { return sum(pow(t, 3.0)) + t.select(0, 0) * t.select(0, 1); };
  check_values(functional::hessian(f, x), {6, 1, 0, 1, -6, 0, 0, 0, 12});
  check_values(functional::hvp(f, x, tensor({1.0, 1.0, 1.0}, float64)), {7, -5, 12});
  // xᵀ B x has Hessian B + Bᵀ.
  const Tensor B = tensor({1.0, 2.0, 0.0, 0.5}, {2, 2}, float64);
  auto quad = [&](const Tensor& t) { return matmul(t, matmul(B, t)); };
  check_values(functional::hessian(quad, tensor({0.3, -0.7}, float64)), {2, 2, 2, 1});
}

TEST_CASE("in-place ops on tensors with history are recorded, overwritten saved values are caught") {
  Tensor x = tensor({1.0, 2.0}, f64_grad());
  Tensor y = x * 2.0;
  y.add_(1.0).mul_(3.0);  // y = 3(2x + 1)
  check_values(y, {9, 15});
  CHECK(std::string(y.grad_fn()->name()) == "MulScalarBackward");
  y.sum().backward();
  check_values(x.grad(), {6, 6});
  // Adding a tensor that requires grad into a plain tensor puts it in the graph.
  Tensor acc = zeros({2}, float64);
  acc.add_(x * x);
  CHECK(acc.requires_grad());
  x.zero_grad();
  acc.sum().backward();
  check_values(x.grad(), {2, 4});
  // z's backward needs z's old value (d(z·z)/dz); overwriting it is reported.
  Tensor z = x * 1.0;
  Tensor w = z * z;
  z.add_(1.0);
  CHECK(contains(error_of([&] { w.sum().backward(); }), "was modified by an in-place op"));
  CHECK(contains(error_of([&] { x.mul_(2.0); }), "mul_: a leaf tensor that requires grad (float64[2]) cannot be modified in place"));
}

TEST_CASE("checkpointing gives identical gradients and keeps fewer bytes for backward") {
  manual_seed(5);
  auto block = std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::Linear>(16, 64), std::make_shared<nn::Tanh>(), std::make_shared<nn::Dropout>(0.3),
      std::make_shared<nn::Linear>(64, 64), std::make_shared<nn::Tanh>(), std::make_shared<nn::Linear>(64, 16)});
  block->to(float64);
  const Tensor x = randn({32, 16}, float64);
  auto run = [&](bool use_checkpoint) {
    block->zero_grad();
    manual_seed(9);  // same dropout mask in both runs
    Tensor h = x;
    for (int layer = 0; layer < 6; ++layer)
      h = use_checkpoint ? checkpoint([&](const TensorList& in) { return block->forward(in[0]); }, {h})[0] : block->forward(h);
    const Tensor loss = square(h).mean();
    const std::size_t saved = graph_summary(loss).saved_bytes;
    loss.backward();
    TensorList grads;
    for (auto& p : block->parameters()) grads.push_back(p.grad().clone());
    return std::make_pair(grads, saved);
  };
  auto [plain, plain_bytes] = run(false);
  auto [ckpt, ckpt_bytes] = run(true);
  for (std::size_t i = 0; i < plain.size(); ++i) check_values(ckpt[i], plain[i].to_vector<double>(), 1e-12);
  CHECK(ckpt_bytes * 4 < plain_bytes);
  MESSAGE("saved for backward: plain " << plain_bytes << " bytes, checkpointed " << ckpt_bytes << " bytes");
  // First order through a checkpoint w.r.t. its input checks against finite
  // differences; second order is refused with a message (Note [Checkpoint backward]).
  Tensor t = tensor({0.4, -0.2}, f64_grad());
  Tensor t2 = t;  // gradcheck differentiates w.r.t. t
  auto f = [](const TensorList& in) { return checkpoint([](const TensorList& a) { return tanh(a[0]) * a[0]; }, in)[0]; };
  Tensor out = f({t2});
  out.sum().backward();
  check_values(t.grad(), {std::tanh(0.4) + 0.4 * (1 - std::pow(std::tanh(0.4), 2)),
                          std::tanh(-0.2) - 0.2 * (1 - std::pow(std::tanh(-0.2), 2))}, 1e-12);
  Tensor again = f({t});
  CHECK(contains(error_of([&] { xg::grad({again.sum()}, {t}, {}, true, true); }), "cannot go through a checkpoint"));
}

TEST_CASE("graph export: DOT and a summary of what a step keeps alive") {
  Tensor w = randn({3, 2}, f64_grad());
  Tensor x = randn({4, 3}, float64);
  Tensor loss = tanh(matmul(x, w)).sum();
  const GraphSummary s = graph_summary(loss);
  CHECK(s.nodes == 4);  // Sum, Tanh, Matmul, AccumulateGrad
  CHECK(s.leaves == 1);
  CHECK(s.nodes_per_op.at("TanhBackward") == 1);
  CHECK(s.saved_bytes == 4 * 2 * 8 + 4 * 3 * 8);  // tanh's output, matmul's x (w needs no save for itself)
  CHECK(contains(s.str(), "4 nodes (1 leaves)"));
  const std::string dot = to_dot(loss);
  CHECK(contains(dot, "digraph xgrad"));
  CHECK(contains(dot, "MatmulBackward\\nfloat64[4, 2]"));
  CHECK(contains(dot, "->"));
  loss.backward();
  CHECK(graph_summary(loss).saved_bytes == 0);  // released after backward
}

TEST_CASE("anomaly mode names the op and the tag where a NaN or Inf appeared") {
  Tensor x = tensor({1.0, -1.0}, f64_grad());
  {
    DetectAnomalyGuard anomaly;
    AnomalyTag outer("model");
    AnomalyTag inner("layer1");
    const std::string fwd = error_of([&] { log(x * 1.0); });
    CHECK(contains(fwd, "anomaly: the forward of the op recorded as LogBackward (created under tag 'model/layer1') produced NaN or Inf in its output float64[2]"));
    Tensor z = tensor({0.0, 4.0}, f64_grad());
    Tensor s = sqrt(z);  // finite forward, infinite gradient at 0
    const std::string bwd = error_of([&] { s.sum().backward(); });
    CHECK(contains(bwd, "the backward of SqrtBackward (created under tag 'model/layer1') returned NaN or Inf in the gradient for input 0"));
  }
  CHECK_FALSE(AnomalyMode::is_enabled());
  CHECK(std::isnan(log(x * 1.0).to_vector<double>()[1]));  // off: no checks, NaN flows as in torch
}

// The old spellings stay usable for one release (with a deprecation warning, silenced here).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
TEST_CASE("renamed names still work for one release: matmul_t, detail::record, nn::detail::write_file_atomic") {
  const Tensor a = ones({2, 3}), b = ones({4, 3});
  CHECK(matmul_t(a, b, false, true).to_vector<float>() == matmul_transposed(a, b, false, true).to_vector<float>());
  Tensor x = ones({2}, TensorOptions().requires_grad(true));
  Tensor y = x.detach() * 2.0;
  detail::record(y, "OldSpelling", [](const Tensor& g, Node&) { return TensorList{g * 2.0}; }, x);
  y.sum().backward();
  CHECK(x.grad().to_vector<float>() == std::vector<float>{2.0f, 2.0f});
  const std::string path = "xgrad_test_old_writer.txt";
  nn::detail::write_file_atomic(path, "ok");
  CHECK(read_file(path, "test") == "ok");
  std::remove(path.c_str());
}
#pragma GCC diagnostic pop
