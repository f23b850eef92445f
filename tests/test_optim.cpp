// optim: update rules against PyTorch, convergence, schedulers, clipping,
// resumable state, and a user-defined optimizer.
#include <cmath>
#include <cstdio>

#include "helpers.hpp"

using namespace xg;
using test::check_values;
using test::contains;
using test::error_of;

namespace {

/// Three steps on L = Σ w (p − t)² from p = [1, −2, 3], as in the Python
/// script that produced the golden values (PyTorch 1.13, float64):
/// tests/pytorch_golden_optim.py, which also prints the scheduler sequences.
template <class Make>
std::vector<double> three_steps(Make make) {
  Tensor p = tensor({1.0, -2.0, 3.0}, TensorOptions(float64).requires_grad(true));
  const Tensor t = tensor({0.5, 0.5, -1.0}, float64), w = tensor({1.0, 2.0, 0.5}, float64);
  auto opt = make(TensorList{p});
  for (int i = 0; i < 3; ++i) {
    opt.zero_grad();
    (square(p - t) * w).sum().backward();
    opt.step();
  }
  return p.to_vector<double>();
}

void check_close(const std::vector<double>& got, const std::vector<double>& want) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-12));
}

/// Minimises f from x0 for `steps` steps and returns the final point.
template <class Make>
std::vector<double> minimise(Make make, std::function<Tensor(const Tensor&)> f, std::vector<double> x0, int steps) {
  Tensor x = from_vector(x0, {static_cast<std::int64_t>(x0.size())}, TensorOptions(float64).requires_grad(true));
  auto opt = make(TensorList{x});
  for (int i = 0; i < steps; ++i) {
    opt.zero_grad();
    f(x).backward();
    opt.step();
  }
  return x.to_vector<double>();
}

Tensor quadratic(const Tensor& x) { return (square(x - tensor({3.0, -1.0}, float64)) * tensor({1.0, 4.0}, float64)).sum(); }
Tensor rosenbrock(const Tensor& x) {
  const Tensor a = x.select(0, 0), b = x.select(0, 1);
  return square(1.0 - a) + square(b - square(a)) * 100.0;
}

}  // namespace

TEST_CASE("first steps match PyTorch for every optimizer") {
  using namespace optim;
  check_close(three_steps([](TensorList p) { return SGD(p, {0.1}); }), {0.756, -0.04, 1.916});
  SGDOptions nest;
  nest.lr = 0.1;
  nest.momentum = 0.9;
  nest.nesterov = true;
  nest.weight_decay = 0.01;
  check_close(three_steps([&](TensorList p) { return SGD(p, nest); }), {0.441409151641, 1.5819757111180002, 0.2941529544229996});
  SGDOptions damp;
  damp.lr = 0.05;
  damp.momentum = 0.8;
  damp.dampening = 0.3;
  check_close(three_steps([&](TensorList p) { return SGD(p, damp); }), {0.794805, -0.0912, 2.149855});
  AdamOptions adam;
  adam.lr = 0.1;
  check_close(three_steps([&](TensorList p) { return Adam(p, adam); }),
              {0.7048712525602996, -1.7004739335578973, 2.7002738447222034});
  AdamOptions ams = adam;
  ams.amsgrad = true;
  ams.weight_decay = 0.1;
  check_close(three_steps([&](TensorList p) { return Adam(p, ams); }),
              {0.7044825624693172, -1.7004767377672079, 2.700281080757912});
  AdamWOptions adamw;
  adamw.lr = 0.1;
  check_close(three_steps([&](TensorList p) { return AdamW(p, adamw); }),
              {0.7022582873540917, -1.6947909632997784, 2.6915918914731742});
  check_close(three_steps([](TensorList p) { return RMSprop(p, {}); }),
              {0.7904332263210434, -1.774468029486376, 2.7731733151134486});
  RMSpropOptions centred;
  centred.centered = true;
  centred.momentum = 0.9;
  centred.weight_decay = 0.1;
  check_close(three_steps([&](TensorList p) { return RMSprop(p, centred); }),
              {0.5687488420865764, -1.5390362276164917, 2.5366567831316438});
  AdagradOptions ada;
  ada.lr = 0.1;
  ada.lr_decay = 0.01;
  ada.initial_accumulator_value = 0.1;
  check_close(three_steps([&](TensorList p) { return Adagrad(p, ada); }),
              {0.7989647007626872, -1.7767843659200777, 2.775912808310198});
  // Lion against the published rule, written out here independently.
  LionOptions lion;
  lion.lr = 0.1;
  lion.weight_decay = 0.5;
  std::vector<double> p{1.0, -2.0, 3.0}, m(3, 0.0);
  const double t[3] = {0.5, 0.5, -1.0}, w[3] = {1.0, 2.0, 0.5};
  for (int s = 0; s < 3; ++s)
    for (int i = 0; i < 3; ++i) {
      const double g = 2 * w[i] * (p[i] - t[i]);
      const double c = 0.9 * m[i] + 0.1 * g;
      p[i] = p[i] * (1 - 0.1 * 0.5) - 0.1 * ((c > 0) - (c < 0));
      m[i] = 0.99 * m[i] + 0.01 * g;
    }
  check_close(three_steps([&](TensorList q) { return Lion(q, lion); }), p);
}

TEST_CASE("every optimizer minimises a quadratic and the Rosenbrock function") {
  using namespace optim;
  const std::vector<double> qmin{3.0, -1.0}, rmin{1.0, 1.0};
  auto near = [](const std::vector<double>& x, const std::vector<double>& want, double tol) {
    for (std::size_t i = 0; i < x.size(); ++i) CHECK(std::abs(x[i] - want[i]) < tol);
  };
  SGDOptions sgd;
  sgd.lr = 0.05;
  sgd.momentum = 0.9;
  near(minimise([&](TensorList p) { return SGD(p, sgd); }, quadratic, {0, 0}, 300), qmin, 1e-6);
  SGDOptions sgd_r;
  sgd_r.lr = 1e-3;
  sgd_r.momentum = 0.9;
  near(minimise([&](TensorList p) { return SGD(p, sgd_r); }, rosenbrock, {-1.2, 1.0}, 20000), rmin, 1e-3);
  AdamOptions adam;
  adam.lr = 0.05;
  near(minimise([&](TensorList p) { return Adam(p, adam); }, quadratic, {0, 0}, 2000), qmin, 1e-4);
  AdamOptions adam_r;
  adam_r.lr = 0.01;
  near(minimise([&](TensorList p) { return Adam(p, adam_r); }, rosenbrock, {-1.2, 1.0}, 20000), rmin, 1e-3);
  AdamWOptions adamw;
  adamw.lr = 0.01;
  adamw.weight_decay = 0;
  near(minimise([&](TensorList p) { return AdamW(p, adamw); }, rosenbrock, {-1.2, 1.0}, 20000), rmin, 1e-3);
  RMSpropOptions rms;
  rms.lr = 0.01;
  rms.centered = true;
  near(minimise([&](TensorList p) { return RMSprop(p, rms); }, quadratic, {0, 0}, 2000), qmin, 1e-2);
  RMSpropOptions rms_r;
  rms_r.lr = 1e-3;
  near(minimise([&](TensorList p) { return RMSprop(p, rms_r); }, rosenbrock, {-1.2, 1.0}, 20000), rmin, 1e-2);
  AdagradOptions ada;
  ada.lr = 0.5;
  near(minimise([&](TensorList p) { return Adagrad(p, ada); }, quadratic, {0, 0}, 2000), qmin, 1e-4);
  near(minimise([&](TensorList p) { return Adagrad(p, ada); }, rosenbrock, {-1.2, 1.0}, 20000), rmin, 1e-2);
  LionOptions lion;
  lion.lr = 1e-3;
  near(minimise([&](TensorList p) { return Lion(p, lion); }, quadratic, {0, 0}, 5000), qmin, 1e-2);
  near(minimise([&](TensorList p) { return Lion(p, lion); }, rosenbrock, {-1.2, 1.0}, 10000), rmin, 2e-2);
}

TEST_CASE("parameter groups, skipped parameters, zero_grad, bad options") {
  using namespace optim;
  Tensor a = ones({2}, TensorOptions(float64).requires_grad(true)), b = ones({2}, TensorOptions(float64).requires_grad(true));
  Tensor c = ones({1}, TensorOptions(float64).requires_grad(true));
  SGD opt({a}, {0.1});
  opt.add_param_group({b, c}, {1.0});
  (a.sum() + b.sum()).backward();  // c gets no gradient
  opt.step();
  check_values(a, {0.9, 0.9});
  check_values(b, {0.0, 0.0});
  check_values(c, {1.0});
  opt.zero_grad();
  CHECK_FALSE(a.grad().defined());
  CHECK(error_of([&] { SGD({a}, {-0.1}); }) == "SGD: invalid learning rate: -0.1");
  AdamOptions bad;
  bad.beta1 = 1.5;
  CHECK(contains(error_of([&] { Adam({a}, bad); }), "invalid beta parameter at index 0: 1.5"));
  CHECK(contains(error_of([&] { SGD({a * 2.0}, {0.1}); }), "can only optimise leaf tensors"));
  CHECK(contains(error_of([&] { opt.add_param_group({a}, {0.1}); }), "appears in more than one group"));
}

TEST_CASE("updates reuse their state buffers: no allocation per step after the first") {
  Tensor p = randn({64}, TensorOptions().requires_grad(true));
  optim::Adam opt({p}, {});
  auto step = [&] {
    opt.zero_grad(false);
    if (!p.grad().defined()) (p * p).sum().backward();
    opt.step();
  };
  p.sum().backward();
  opt.step();
  const nn::StateDict first = opt.state_dict();
  const void* m_before = opt.param_groups()[0].params[0].data_ptr();
  step();
  step();
  CHECK(opt.param_groups()[0].params[0].data_ptr() == m_before);
  CHECK(first.count("state.0.exp_avg"));
}

TEST_CASE("a new optimizer is a few lines: subclass, state type, step()") {
  // Sign-SGD with a step counter, defined entirely here.
  struct SignOptions {
    double lr = 0.1;
    optim::Fields fields() { return {{"lr", &lr}}; }
  };
  struct SignState {
    double step = 0;
    optim::Fields scalars() { return {{"step", &step}}; }
    optim::TensorFields tensors() { return {}; }
  };
  struct SignSGD : optim::OptimizerWith<SignOptions, SignState> {
    SignSGD(const TensorList& p, SignOptions o) : OptimizerWith(p, o, "SignSGD") {}
    void step() override {
      for_each_update([](const SignOptions& o, Tensor& p, const Tensor& g, SignState& s) {
        s.step += 1;
        p.sub_(sign(g), o.lr);
      });
    }
  };
  const auto x = minimise([](TensorList p) { return SignSGD(p, {0.01}); }, quadratic, {0, 0}, 400);
  CHECK(x[0] == doctest::Approx(3.0).epsilon(0.01));
  CHECK(x[1] == doctest::Approx(-1.0).epsilon(0.01));
}

TEST_CASE("learning-rate schedulers match PyTorch") {
  using namespace optim;
  auto run = [](auto make, int n) {
    Tensor p = zeros({1}, TensorOptions().requires_grad(true));
    SGD opt({p}, {0.1});
    auto s = make(opt);
    std::vector<double> lrs{opt.lr(0)};
    for (int i = 0; i < n; ++i) {
      opt.step();
      s.step();
      lrs.push_back(opt.lr(0));
    }
    return lrs;
  };
  // Sequences printed by torch.optim.lr_scheduler (PyTorch 1.13), lr = 0.1.
  check_close(run([](Optimizer& o) { return StepLR(o, 3, 0.5); }, 8), {0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025});
  check_close(run([](Optimizer& o) { return MultiStepLR(o, {2, 5}, 0.1); }, 8),
              {0.1, 0.1, 0.01, 0.01, 0.01, 0.001, 0.001, 0.001, 0.001});
  check_close(run([](Optimizer& o) { return ExponentialLR(o, 0.9); }, 4), {0.1, 0.09, 0.081, 0.0729, 0.06561});
  check_close(run([](Optimizer& o) { return CosineAnnealingLR(o, 4, 0.01); }, 4),
              {0.1, 0.08681980515339464, 0.055, 0.023180194846605363, 0.01});
  check_close(run([](Optimizer& o) { return LinearLR(o, 0.25, 1.0, 4); }, 6),
              {0.025, 0.04375, 0.0625, 0.08125, 0.1, 0.1, 0.1});
  check_close(run([](Optimizer& o) { return OneCycleLR(o, 1.0, 10); }, 9),
              {0.04, 0.52, 1.0, 0.9504846320134737, 0.8117456539497631, 0.6112620219362893, 0.38874197806371075,
               0.18825834605023697, 0.049519367986526286, 4e-06});
  Tensor p = zeros({1}, TensorOptions().requires_grad(true));
  SGD opt({p}, {1.0});
  ReduceLROnPlateau plateau(opt, ReduceLROnPlateau::Mode::Min, 0.5, 2, 1e-4, 1);
  std::vector<double> lrs;
  for (double m : {5, 4, 4, 4, 4, 4, 4, 4, 3, 3}) {
    plateau.step(m);
    lrs.push_back(opt.lr(0));
  }
  check_close(lrs, {1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5});
}

TEST_CASE("gradient clipping by norm and by value") {
  Tensor a = zeros({2}, TensorOptions(float64).requires_grad(true)), b = zeros({1}, TensorOptions(float64).requires_grad(true));
  (a * tensor({3.0, 0.0}, float64)).sum().backward();
  (b * 4.0).sum().backward();
  const double norm = optim::clip_grad_norm_({a, b}, 1.0);
  CHECK(norm == doctest::Approx(5.0));
  check_values(a.grad(), {0.6, 0}, 1e-5);
  check_values(b.grad(), {0.8}, 1e-5);
  CHECK(optim::clip_grad_norm_({a, b}, 1.0, INFINITY) == doctest::Approx(0.8).epsilon(1e-5));
  optim::clip_grad_value_({a, b}, 0.5);
  check_values(a.grad(), {0.5, 0}, 1e-5);
  b.set_grad(tensor({NAN}, float64));
  CHECK(contains(error_of([&] { optim::clip_grad_norm_({a, b}, 1.0, 2.0, true); }), "total norm of the gradients is nan"));
  CHECK(std::isnan(optim::clip_grad_norm_({a, b}, 1.0)));
}

TEST_CASE("interrupted training resumed from checkpoints gives bit-identical parameters") {
  auto make = [] {
    manual_seed(21);
    return std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
        std::make_shared<nn::Linear>(5, 8), std::make_shared<nn::Tanh>(), std::make_shared<nn::Linear>(8, 3)});
  };
  manual_seed(4);
  const Tensor x = randn({16, 5}), y = randint(0, 3, {16});
  auto train = [&](nn::Module& m, optim::Adam& opt, optim::StepLR& sched, int from, int to) {
    for (int i = from; i < to; ++i) {
      opt.zero_grad();
      cross_entropy(m.forward(x), y).backward();
      opt.step();
      sched.step();
    }
  };
  auto straight = make();
  optim::AdamOptions ao;
  ao.lr = 0.01;
  optim::Adam opt1(straight->parameters(), ao);
  optim::StepLR sched1(opt1, 4, 0.5);
  train(*straight, opt1, sched1, 0, 12);

  auto first = make();
  optim::Adam opt2(first->parameters(), ao);
  optim::StepLR sched2(opt2, 4, 0.5);
  train(*first, opt2, sched2, 0, 5);
  nn::save(*first, "xgrad_test_resume_model.safetensors");
  nn::save_safetensors("xgrad_test_resume_opt.safetensors", opt2.state_dict());
  nn::save_safetensors("xgrad_test_resume_sched.safetensors", sched2.state_dict());

  manual_seed(777);  // a different init: everything must come from the files
  auto resumed = std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::Linear>(5, 8), std::make_shared<nn::Tanh>(), std::make_shared<nn::Linear>(8, 3)});
  optim::Adam opt3(resumed->parameters(), ao);
  optim::StepLR sched3(opt3, 4, 0.5);
  nn::load(*resumed, "xgrad_test_resume_model.safetensors");
  opt3.load_state_dict(nn::load_safetensors("xgrad_test_resume_opt.safetensors"));
  sched3.load_state_dict(nn::load_safetensors("xgrad_test_resume_sched.safetensors"));
  CHECK(opt3.lr(0) == opt2.lr(0));
  train(*resumed, opt3, sched3, 5, 12);
  const auto a = straight->parameters(), b = resumed->parameters();
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i].to_vector<float>() == b[i].to_vector<float>());
  for (const char* f : {"xgrad_test_resume_model.safetensors", "xgrad_test_resume_opt.safetensors",
                        "xgrad_test_resume_sched.safetensors"})
    std::remove(f);
  // A state dict for a different model is refused before anything changes.
  Tensor lone = ones({2}, TensorOptions().requires_grad(true));
  optim::Adam other({lone}, ao);
  CHECK(contains(error_of([&] { other.load_state_dict(opt2.state_dict()); }), "state 'state.0.exp_avg' is float32[8, 5]"));
}

namespace {

struct LbfgsStep {
  double loss, x0, x1;
  std::int64_t func_evals, n_iter;
};

/// Six step(closure) calls on Rosenbrock from (−1.5, 2), float64, checked
/// against torch.optim.LBFGS (tests/pytorch_golden_optim.py) to `tol`, relative.
void check_rosenbrock_run(optim::LBFGSOptions options, const std::vector<LbfgsStep>& expected, double tol = 1e-10) {
  Tensor x = tensor({-1.5, 2.0}, TensorOptions(float64).requires_grad(true));
  optim::LBFGS opt({x}, options);
  auto closure = [&] {
    opt.zero_grad();
    const Tensor loss = square(1.0 - x[0]) + 100.0 * square(x[1] - square(x[0]));
    loss.backward();
    return loss;
  };
  for (std::size_t s = 0; s < expected.size(); ++s) {
    CAPTURE(s);
    const double loss = opt.step(closure).item();
    const std::vector<double> got = x.to_vector<double>();
    const LbfgsStep& e = expected[s];
    CHECK(loss == doctest::Approx(e.loss).epsilon(tol));
    CHECK(std::abs(got[0] - e.x0) <= tol * std::max(1.0, std::abs(e.x0)));
    CHECK(std::abs(got[1] - e.x1) <= tol * std::max(1.0, std::abs(e.x1)));
    CHECK(opt.func_evals() == e.func_evals);
    CHECK(opt.n_iter() == e.n_iter);
  }
}

}  // namespace

TEST_CASE("LBFGS matches torch.optim.LBFGS iterates on Rosenbrock to 1e-10, with and without strong Wolfe") {
  optim::LBFGSOptions wolfe;
  wolfe.line_search_fn = "strong_wolfe";
  check_rosenbrock_run(wolfe, {{12.5, -0.085118555898602927, -0.028757058413769698, 25, 19},
                               {1.3070983150500495, 0.99958354725299048, 0.99915503195779432, 50, 38},
                               {1.8840481378377831e-07, 0.99999799431963976, 0.99999734389216366, 53, 41},
                               {1.8769270132829514e-10, 0.99999799431963976, 0.99999734389216366, 54, 42},
                               {1.8769270132829514e-10, 0.99999799431963976, 0.99999734389216366, 55, 43},
                               {1.8769270132829514e-10, 0.99999799431963976, 0.99999734389216366, 56, 44}});
  // No line search: a fixed step that diverges at step 4 (x ≈ 658, loss 2e13),
  // which amplifies rounding: torch's BLAS dot products and fused multiply-adds
  // round differently from ours, and by step 5 the iterates differ by 1.2e-10
  // relative. Steps 0–4 agree to 1e-10; the whole run is checked to 1e-9.
  optim::LBFGSOptions fixed;
  fixed.lr = 0.1, fixed.max_iter = 5, fixed.history_size = 3;
  const std::vector<LbfgsStep> fixed_steps = {{12.5, -1.4227043154090573, 2.0240328727856287, 5, 5},
                               {5.8694964990701708, -1.4193548584846347, 2.0199390269096718, 10, 10},
                               {5.8561624940777985, -1.3897658922850205, 1.9497342161596316, 15, 15},
                               {5.7444150722175751, -1.1670668619510456, 1.3783793217015783, 20, 20},
                               {4.722859593836616, 658.5099757806729, -1508.5779424882446, 25, 25},
                               {18935027559572.57, 558.88617619205081, -978.72678140811092, 30, 30}};
  check_rosenbrock_run(fixed, {fixed_steps.begin(), fixed_steps.begin() + 5});
  check_rosenbrock_run(fixed, fixed_steps, 1e-9);
  optim::LBFGSOptions short_history = wolfe;  // history shifts and max_eval cut iterations short
  short_history.max_iter = 4, short_history.history_size = 2;
  check_rosenbrock_run(short_history, {{12.5, -1.4201365045001701, 2.0237104251447131, 5, 3},
                                       {5.8618531246449894, -1.3079672704460197, 1.6657227146162434, 10, 7},
                                       {5.5297142247956694, -0.78569337354489011, 0.58777323354464384, 16, 10},
                                       {3.2759669689002804, -0.32824105780438567, 0.082123800792011939, 22, 14},
                                       {1.829854504592106, 0.05786201380047408, -0.012075477018205516, 27, 18},
                                       {0.91141238836700267, 0.49490778284761971, 0.23260038558688784, 32, 21}});
}

TEST_CASE("LBFGS: several parameters of both dtypes, state_dict resume, bad options and closures") {
  // A least-squares fit over a weight matrix and a bias converges to the exact solution.
  manual_seed(5);
  const Tensor a = randn({20, 3}, float64), w_true = tensor({{1.0, -2.0, 0.5}}, float64);
  const Tensor b = matmul(a, w_true.t()) + 0.25;
  Tensor w = zeros({1, 3}, TensorOptions(float64).requires_grad(true));
  Tensor bias = zeros({1}, TensorOptions(float64).requires_grad(true));
  optim::LBFGSOptions o;
  o.line_search_fn = "strong_wolfe";
  o.tolerance_change = 1e-14;  // the default 1e-9 stops (as torch does) once gᵀd > −1e-9, at |Δw| ≈ 3e-6
  optim::LBFGS opt({w, bias}, o);
  auto closure = [&] {
    opt.zero_grad();
    const Tensor loss = square(matmul(a, w.t()) + bias - b).mean();
    loss.backward();
    return loss;
  };
  for (int s = 0; s < 3; ++s) opt.step(closure);
  check_values(w, {1.0, -2.0, 0.5}, 1e-6);
  check_values(bias, {0.25}, 1e-6);

  // Resuming from state_dict continues exactly as the uninterrupted run.
  auto run = [](int split) {
    Tensor x = tensor({-1.5, 2.0}, TensorOptions(float64).requires_grad(true));
    optim::LBFGSOptions opts;
    opts.line_search_fn = "strong_wolfe", opts.max_iter = 3;
    auto make = [&] { return std::make_unique<optim::LBFGS>(TensorList{x}, opts); };
    auto opt = make();
    for (int s = 0; s < 4; ++s) {
      if (s == split) {
        const nn::StateDict saved = opt->state_dict();
        opt = make();
        opt->load_state_dict(saved);
      }
      opt->step([&] {
        opt->zero_grad();
        const Tensor loss = square(1.0 - x[0]) + 100.0 * square(x[1] - square(x[0]));
        loss.backward();
        return loss;
      });
    }
    return x.to_vector<double>();
  };
  CHECK(run(2) == run(-1));

  // float32 parameters are optimised too (the arithmetic runs in float64).
  Tensor x32 = tensor({-1.5f, 2.0f}, TensorOptions(float32).requires_grad(true));
  optim::LBFGS opt32({x32}, o);
  for (int s = 0; s < 5; ++s)
    opt32.step([&] {
      opt32.zero_grad();
      const Tensor loss = square(1.0 - x32[0]) + 100.0 * square(x32[1] - square(x32[0]));
      loss.backward();
      return loss;
    });
  check_values(x32, {1.0, 1.0}, 1e-3);

  CHECK(contains(error_of([&] { opt.step(); }), "step(closure)"));
  CHECK(contains(error_of([&] { opt.step([] { return Tensor(); }); }), "one-element tensor"));
  CHECK(contains(error_of([&] { opt.step([&] { return w * 2.0; }); }), "[1, 3]"));
  optim::LBFGSOptions bad;
  bad.line_search_fn = "backtracking";
  CHECK(contains(error_of([&] { optim::LBFGS({w}, bad); }), "strong_wolfe"));
  CHECK(contains(error_of([&] { optim::LBFGS({w, w}, {}); }), "twice"));
  nn::StateDict broken = opt.state_dict();
  broken["state.d"] = zeros({7}, float64);
  const std::vector<double> before = opt.state_dict()["state.d"].to_vector<double>();
  CHECK(contains(error_of([&] { opt.load_state_dict(broken); }), "state.d"));
  CHECK(opt.state_dict()["state.d"].to_vector<double>() == before);
}
