// Forward mode: dual tensors, rules and derived tangents, in-place ops,
// forward over reverse, custom functions, errors; the functional tools on it.
#include <cmath>

#include "helpers.hpp"
#include "xgrad/forward_ad.hpp"
#include "xgrad/functional.hpp"
#include "xgrad/nn.hpp"

using namespace xg;
using test::check_values;
using test::contains;
using test::error_of;

namespace {

struct Square : Function<Square> {
  static constexpr const char* name = "SquareBackward";
  static TensorList forward(AutogradContext& ctx, const TensorList& in) {
    ctx.save_for_backward({in[0]});
    return {in[0] * in[0]};
  }
  static TensorList backward(AutogradContext& ctx, const TensorList& g) {
    return {g[0] * 2.0 * ctx.get_saved_variables()[0]};
  }
  static TensorList jvp(AutogradContext&, const TensorList& in, const TensorList& t) { return {t[0] * 2.0 * in[0]}; }
};

struct NoJvp : Function<NoJvp> {
  static constexpr const char* name = "NoJvpBackward";
  static TensorList forward(AutogradContext&, const TensorList& in) { return {in[0] * 3.0}; }
  static TensorList backward(AutogradContext&, const TensorList& g) { return {g[0] * 3.0}; }
};

Tensor max_abs_diff(const Tensor& a, const Tensor& b) { return max(abs(a - b)); }

/// Cross-entropy of each example (reduction None).
Tensor per_example_ce(const Tensor& logits, const Tensor& labels) {
  CrossEntropyOptions opts;
  opts.reduction = Reduction::None;
  return cross_entropy(logits, labels, opts);
}

}  // namespace

TEST_CASE("dual tensors carry J·v through elementwise ops, matmul, views and reductions") {
  const Tensor x = tensor({0.5, -1.0, 2.0}, float64), v = tensor({1.0, 2.0, -1.0}, float64);
  const Tensor A = tensor({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, {2, 3}, float64);
  fwad::DualLevel level;
  const Tensor xd = fwad::make_dual(x, v);
  // d/dt [sin(x)·x] = (cos(x)·x + sin(x))·v
  const Tensor y = sin(xd) * xd;
  std::vector<double> want;
  for (int i = 0; i < 3; ++i) {
    const double xi = x.to_vector<double>()[i], vi = v.to_vector<double>()[i];
    want.push_back((std::cos(xi) * xi + std::sin(xi)) * vi);
  }
  check_values(fwad::unpack_dual(y).tangent, want, 1e-12);
  check_values(fwad::unpack_dual(matmul(A, xd)).tangent, {2, 8}, 1e-12);        // A v
  check_values(fwad::unpack_dual(sum(xd.reshape({3, 1}).t())).tangent, {2}, 1e-12);
  check_values(fwad::unpack_dual(y).primal, (sin(x) * x).to_vector<double>(), 1e-15);
  CHECK_FALSE(fwad::unpack_dual(y).primal.requires_grad());
  CHECK_FALSE(fwad::unpack_dual(x).tangent.defined());  // a plain tensor: zero tangent
  // A softmax has no rule of its own: its tangent is derived from its backward.
  const Tensor s = softmax(xd, 0);
  const Tensor p = softmax(x, 0);
  check_values(fwad::unpack_dual(s).tangent, (p * (v - sum(p * v))).to_vector<double>(), 1e-12);
}

TEST_CASE("closing a dual level drops its tangents and levels do not nest") {
  Tensor y;
  {
    fwad::DualLevel level;
    y = exp(fwad::make_dual(tensor({0.0}, float64), tensor({2.0}, float64)));
    CHECK(fwad::is_active());
    check_values(fwad::unpack_dual(y).tangent, {2}, 1e-12);
    CHECK(contains(error_of([] { fwad::DualLevel inner; }), "nested forward-mode levels are not supported"));
  }
  CHECK_FALSE(fwad::is_active());
  CHECK_FALSE(fwad::unpack_dual(y).tangent.defined());
  fwad::DualLevel again;
  CHECK_FALSE(fwad::unpack_dual(y).tangent.defined());  // a new level does not see the old tangents
}

TEST_CASE("make_dual rejects bad input with the shapes and dtypes") {
  const Tensor x = zeros({2, 3}, float64);
  CHECK(contains(error_of([&] { fwad::make_dual(x, x); }), "make_dual: no dual level is open"));
  fwad::DualLevel level;
  CHECK(contains(error_of([&] { fwad::make_dual(x, zeros({3, 2}, float64)); }),
                 "make_dual: the tangent (float64[3, 2]) must have the primal's shape and dtype (float64[2, 3])"));
  CHECK(contains(error_of([&] { fwad::make_dual(x, zeros({2, 3}, float32)); }), "float32[2, 3]"));
  CHECK(contains(error_of([&] { fwad::make_dual(zeros({2}, int64), zeros({2}, int64)); }), "make_dual: expected a float"));
}

TEST_CASE("custom functions: jvp when defined, an error naming them otherwise") {
  fwad::DualLevel level;
  const Tensor xd = fwad::make_dual(tensor({3.0}, float64), tensor({0.5}, float64));
  check_values(fwad::unpack_dual(Square::apply({xd})[0]).tangent, {3}, 1e-12);  // 2·3·0.5
  CHECK(contains(error_of([&] { NoJvp::apply({xd}); }),
                 "NoJvpBackward: was given a dual tensor but has no forward-mode rule"));
  check_values(NoJvp::apply({tensor({1.0}, float64)})[0], {3}, 0.0 + 1e-15);  // plain tensors are fine
}

TEST_CASE("in-place ops on dual tensors update the tangent and a stale view is an error") {
  fwad::DualLevel level;
  const Tensor x = tensor({1.0, 2.0, 3.0, 4.0}, float64);
  Tensor y = fwad::make_dual(x, ones({4}, float64)) * 1.0;
  y.mul_(2.0).add_(fwad::make_dual(x, x));  // y = 2x + x with tangent 2·1 + x
  check_values(fwad::unpack_dual(y).tangent, {3, 4, 5, 6}, 1e-12);
  // Through a view: the base's tangent follows.
  Tensor z = fwad::make_dual(x, zeros({4}, float64)) * 1.0;
  Tensor part = z.narrow(0, 1, 2);
  part.mul_(fwad::make_dual(tensor({10.0, 10.0}, float64), tensor({1.0, 1.0}, float64)));
  check_values(z, {1, 20, 30, 4}, 1e-12);
  check_values(fwad::unpack_dual(z).tangent, {0, 2, 3, 0}, 1e-12);
  check_values(fwad::unpack_dual(part).tangent, {2, 3}, 1e-12);
  // Another view made before the write no longer matches its tangent.
  Tensor w = fwad::make_dual(x, ones({4}, float64)) * 1.0;
  Tensor first = w.narrow(0, 0, 2), second = w.narrow(0, 2, 2);
  second.zero_();
  CHECK(contains(error_of([&] { exp(first); }), "was changed in place through another view"));
}

TEST_CASE("forward over reverse: a backward on dual tensors gives H·v") {
  manual_seed(3);
  nn::Sequential net(std::make_shared<nn::Linear>(4, 8), std::make_shared<nn::Tanh>(), std::make_shared<nn::Linear>(8, 1));
  net.to(float64);
  auto f = [&](const Tensor& x) { return sum(pow(net.forward(x.reshape({1, 4})), 2.0)) + sum(log_softmax(x, 0)); };
  const Tensor x = randn({4}, float64), v = randn({4}, float64);
  const Tensor h = functional::hessian_reverse(f, x);
  const Tensor hv_reverse = matmul(h, v);
  CHECK(max_abs_diff(functional::hvp(f, x, v), hv_reverse).item<double>() < 1e-12);
  CHECK(max_abs_diff(functional::hvp(f, x, v, /*create_graph=*/true), hv_reverse).item<double>() < 1e-12);
  CHECK(max_abs_diff(functional::hessian(f, x, functional::HessianMode::ForwardOverReverse), h).item<double>() < 1e-12);
  CHECK(max_abs_diff(functional::hessian(f, x), h).item<double>() < 1e-12);
  // All rows at once by vmap: the module's layers and log_softmax have batching rules.
  CHECK(max_abs_diff(functional::hessian(f, x, functional::HessianMode::Vectorized), h).item<double>() < 1e-12);
  CHECK(functional::last_vmap().batched);
}

TEST_CASE("jacfwd equals jacrev and jvp by forward mode equals the double-vjp trick") {
  manual_seed(4);
  const Tensor a = randn({3, 2}, float64), b = randn({2}, float64);
  auto f = [](const TensorList& in) { return tanh(matmul(in[0], in[1])) * sum(in[1]); };
  const TensorList fwd = functional::jacfwd(f, {a, b}), rev = functional::jacrev(f, {a, b});
  REQUIRE(fwd.size() == 2);
  CHECK(fwd[0].shape() == Shape{3, 3, 2});
  CHECK(fwd[1].shape() == Shape{3, 2});
  CHECK(max_abs_diff(fwd[0], rev[0]).item<double>() < 1e-12);
  CHECK(max_abs_diff(fwd[1], rev[1]).item<double>() < 1e-12);
  const TensorList auto_pick = functional::jacobian(f, {a, b});
  CHECK(max_abs_diff(auto_pick[0], rev[0]).item<double>() < 1e-12);
  const functional::Fn g = [&](const TensorList& in) { return TensorList{f(in)}; };
  const TensorList v = {randn({3, 2}, float64), randn({2}, float64)};
  const Tensor forward_mode = functional::jvp(g, {a, b}, v).vjp[0];
  const Tensor double_vjp = functional::jvp(g, {a, b}, v, /*create_graph=*/true).vjp[0];
  CHECK(max_abs_diff(forward_mode, double_vjp).item<double>() < 1e-12);
  CHECK(contains(error_of([&] { functional::jvp(g, {a, b}, {v[0]}); }), "jvp: got 1 tangents for 2 inputs"));
  CHECK(contains(error_of([&] { functional::jvp(g, {a, b}, {v[1], v[0]}); }),
                 "jvp: tangent 0 is float64[2] but input 0 is float64[3, 2]"));
}

TEST_CASE("per-sample gradients equal one backward per example") {
  manual_seed(7);
  // Linear, LayerNorm and Embedding have batched rules; Linear is used twice (weight sharing).
  struct Net : nn::Module {
    std::shared_ptr<nn::Embedding> emb = register_module("emb", std::make_shared<nn::Embedding>(6, 4, 0));
    std::shared_ptr<nn::Linear> fc = register_module("fc", std::make_shared<nn::Linear>(4, 4));
    std::shared_ptr<nn::LayerNorm> norm = register_module("norm", std::make_shared<nn::LayerNorm>(Shape{4}));
    std::shared_ptr<nn::Linear> head = register_module("head", std::make_shared<nn::Linear>(4, 3));
    Tensor forward(const Tensor& tokens) override {
      Tensor h = (*emb)(tokens);                 // [B, T, 4]
      h = (*norm)(tanh((*fc)(tanh((*fc)(h)))));  // fc twice
      return (*head)(mean(h, {1}));              // [B, 3]
    }
  } net;
  net.to(float64);
  const Tensor tokens = tensor({1, 2, 0, 3, 5, 5, 4, 0, 1, 2, 3, 4}, {4, 3}, int64);
  const Tensor labels = tensor({0, 2, 1, 2}, int64);
  const auto loss = per_example_ce;
  CHECK(functional::per_sample_grads_batched(net));
  const auto grads = functional::per_sample_grads(net, loss, tokens, labels);
  const auto params = net.named_parameters();
  REQUIRE(grads.size() == params.size());
  for (std::size_t k = 0; k < params.size(); ++k) {
    CHECK(grads[k].first == params[k].first);
    Shape want{4};
    for (std::int64_t d : params[k].second.shape()) want.push_back(d);
    CHECK(grads[k].second.shape() == want);
  }
  for (std::int64_t b = 0; b < 4; ++b) {
    const Tensor l = sum(loss(net(tokens.narrow(0, b, 1)), labels.narrow(0, b, 1)));
    TensorList wrt;
    for (const auto& [name, p] : params) wrt.push_back(p);
    const TensorList g = grad({l}, wrt, {}, false, false, true);
    for (std::size_t k = 0; k < params.size(); ++k) {
      const Tensor mine = grads[k].second.select(0, b);
      const Tensor want = g[k].defined() ? g[k] : zeros_like(mine);
      CHECK_MESSAGE(max_abs_diff(mine, want).item<double>() < 1e-12, params[k].first << " example " << b);
    }
  }
  for (const auto& [name, p] : params) CHECK_FALSE(p.grad().defined());  // .grad untouched
}

TEST_CASE("per-sample gradients of a model without batched rules loop over the examples") {
  manual_seed(8);
  nn::Sequential net(std::make_shared<nn::Conv2d>(1, 2, 3), std::make_shared<nn::Flatten>(), std::make_shared<nn::Linear>(8, 2));
  net.to(float64);
  CHECK_FALSE(functional::per_sample_grads_batched(net));
  const Tensor x = randn({3, 1, 4, 4}, float64), y = tensor({0, 1, 1}, int64);
  const auto loss = per_example_ce;
  const auto grads = functional::per_sample_grads(net, loss, x, y);
  const Tensor l = sum(loss(net(x.narrow(0, 1, 1)), y.narrow(0, 1, 1)));
  const TensorList g = grad({l}, net.parameters(), {}, false, false, true);
  for (std::size_t k = 0; k < g.size(); ++k) CHECK(max_abs_diff(grads[k].second.select(0, 1), g[k]).item<double>() < 1e-12);
  auto mean_loss = [](const Tensor& out, const Tensor& t) { return cross_entropy(out, t); };
  CHECK(contains(error_of([&] { functional::per_sample_grads(net, mean_loss, x, y); }),
                 "per_sample_grads: loss_fn must return one loss per example (shape [1]"));
  CHECK(contains(error_of([&] { functional::per_sample_grads(net, loss, x, tensor({0, 1}, int64)); }),
                 "per_sample_grads: targets [2] must have the batch of 3 examples as dim 0"));
}

TEST_CASE("forward mode through whole models equals the double-vjp trick") {
  manual_seed(9);
  // A transformer layer (fused attention with a causal mask, layer_norm,
  // gelu), a CNN (conv2d, batch_norm in training mode, max_pool2d) and a GRU:
  // rules and derived tangents together.
  nn::TransformerLayerOptions opts(8, 2);
  opts.dim_feedforward = 16;
  opts.dropout = 0.0;
  opts.activation = "gelu";
  opts.batch_first = true;
  auto layer = std::make_shared<nn::TransformerEncoderLayer>(opts);
  auto cnn = std::make_shared<nn::Sequential>(std::make_shared<nn::Conv2d>(2, 3, 3), std::make_shared<nn::BatchNorm2d>(3),
                                              std::make_shared<nn::Tanh>(), std::make_shared<nn::MaxPool2d>(2));
  auto gru = std::make_shared<nn::GRU>(3, 4);
  for (nn::Module* m : std::vector<nn::Module*>{layer.get(), cnn.get(), gru.get()}) m->to(float64);
  const std::vector<std::pair<functional::Fn, Tensor>> cases = {
      {[&](const TensorList& in) { return TensorList{layer->forward(in[0], Tensor(), Tensor(), true)}; },
       randn({2, 5, 8}, float64)},
      {[&](const TensorList& in) { return TensorList{cnn->forward(in[0])}; }, randn({2, 2, 6, 6}, float64)},
      {[&](const TensorList& in) { return TensorList{gru->forward(in[0])}; }, randn({4, 2, 3}, float64)},
  };
  for (const auto& [f, x] : cases) {
    const Tensor v = randn(x.shape(), float64);
    const Tensor forward_mode = functional::jvp(f, {x}, {v}).vjp[0];
    const Tensor double_vjp = functional::jvp(f, {x}, {v}, /*create_graph=*/true).vjp[0];
    CHECK(forward_mode.shape() == double_vjp.shape());
    CHECK(max_abs_diff(forward_mode, double_vjp).item<double>() < 1e-10);
  }
}

TEST_CASE("vmap maps over in_dims, stacks along out_dims, nests and composes with grad") {
  manual_seed(10);
  const Tensor a = randn({4, 2, 3}, float64), b = randn({3, 5}, float64), c = randn({3, 4, 5}, float64);
  // One matrix per example against a shared one, and against the examples of c along dim 1.
  const functional::Fn mm = [](const TensorList& in) { return TensorList{matmul(in[0], in[1])}; };
  const Tensor shared = functional::vmap(mm, {0, std::nullopt})({a, b})[0];
  CHECK(shared.shape() == Shape{4, 2, 5});
  CHECK(max_abs_diff(shared, matmul(a, b)).item<double>() < 1e-12);
  const Tensor mapped = functional::vmap(mm, {0, 1}, {2})({a, c})[0];  // example k: a[k] @ c[:, k, :], stacked at dim 2
  CHECK(mapped.shape() == Shape{2, 5, 4});
  CHECK(max_abs_diff(mapped.select(2, 3), matmul(a.select(0, 3), c.select(1, 3))).item<double>() < 1e-12);
  // vmap(vmap(dot)) is the matrix of all dot products.
  const functional::Fn dot = [](const TensorList& in) { return TensorList{sum(in[0] * in[1])}; };
  const Tensor u = randn({3, 6}, float64), w = randn({4, 6}, float64);
  const Tensor all = functional::vmap(functional::vmap(dot, {std::nullopt, 0}), {0, std::nullopt})({u, w})[0];
  CHECK(all.shape() == Shape{3, 4});
  CHECK(max_abs_diff(all, matmul(u, w.t())).item<double>() < 1e-12);
  // vmap(grad): per-example gradients of a loss in the weights, as per_sample_grads gives them.
  const Tensor weight = randn({2, 6}, float64);
  const Tensor x = randn({5, 6}, float64), y = tensor({0, 1, 1, 0, 1}, int64);
  const functional::Fn grad_of_loss = [](const TensorList& in) {
    const Tensor wl = in[0].detach().requires_grad_(true);
    const Tensor loss = cross_entropy(matmul(wl, in[1]).reshape({1, 2}), in[2].reshape({1}));
    return grad({loss}, {wl});
  };
  const Tensor per_example = functional::vmap(grad_of_loss, {std::nullopt, 0, 0})({weight, x, y})[0];
  CHECK(per_example.shape() == Shape{5, 2, 6});
  auto linear = std::make_shared<nn::Linear>(6, 2, false);
  linear->to(float64);
  {
    NoGradGuard no_grad;
    linear->weight.copy_(weight);
  }
  const auto reference = functional::per_sample_grads(*linear, per_example_ce, x, y);
  CHECK(max_abs_diff(per_example, reference[0].second).item<double>() < 1e-12);
  // Errors name vmap and say what disagrees.
  CHECK(contains(error_of([&] { functional::vmap(mm, {0, 0})({a, c}); }),
                 "vmap: input 1 (shape [3, 4, 5]) has 3 examples along dim 0 but an earlier input has 4"));
  CHECK(contains(error_of([&] { functional::vmap(mm, {0})({a, b}); }), "vmap: got 1 in_dims for 2 inputs"));
  CHECK(contains(error_of([&] { functional::vmap(mm, {std::nullopt, std::nullopt})({a, b}); }), "no input is mapped"));
}
