// xgrad against libtorch, in one process, alternating rounds of the same
// workloads, at 1 and 2 threads. Prints a Markdown table of times and
// xgrad/libtorch ratios (below 1: xgrad is faster) and writes it, with the
// raw figures as JSON, to the paths given.
//
//   bench_vs_libtorch [--quick] [--json out.json] [--markdown out.md]
//   bench_vs_libtorch --memory xgrad|torch     (peak RSS over 1000 MLP steps)
#include <cblas.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "torch_workloads.hpp"
#include "xgrad_workloads.hpp"

namespace {

/// Adam over n parameters whose gradient became exactly 0 after one real step,
/// then `decayed` more steps: the moments decay toward (and, by ~850 steps,
/// into) the float32 denormal range. Each call is one more step.
struct XgAdam {
  xg::Tensor p;
  std::unique_ptr<xg::optim::Adam> opt;
  XgAdam(std::int64_t n, int decayed) : p(xg::randn({n}, xg::TensorOptions().requires_grad(true))) {
    opt = std::make_unique<xg::optim::Adam>(xg::TensorList{p}, xg::optim::AdamOptions{1e-3});
    p.sum().backward();
    opt->step();
    p.grad().zero_();
    for (int i = 0; i < decayed; ++i) opt->step();
  }
  void step() { opt->step(); }
};

struct TorchAdam {
  torch::Tensor p;
  std::unique_ptr<torch::optim::Adam> opt;
  TorchAdam(std::int64_t n, int decayed) : p(torch::randn({n}).requires_grad_(true)) {
    opt = std::make_unique<torch::optim::Adam>(std::vector<torch::Tensor>{p}, torch::optim::AdamOptions(1e-3));
    p.sum().backward();
    opt->step();
    p.mutable_grad().zero_();
    for (int i = 0; i < decayed; ++i) opt->step();
  }
  void step() { opt->step(); }
};

double seconds_per_call(const std::function<void()>& f, double min_seconds) {
  if (min_seconds <= 0) {  // one timed call, no warm-up: for runs of many seconds
    const auto t0 = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  f();
  f();  // warm up: pools, caches, lazy init
  std::int64_t n = 0;
  const auto t0 = std::chrono::steady_clock::now();
  double elapsed = 0;
  do {
    f();
    ++n;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  } while (elapsed < min_seconds || n < 3);
  return elapsed / static_cast<double>(n);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void set_threads(int n) {
  xg::set_num_threads(n);         // also sets OpenBLAS
  torch::set_num_threads(n);      // libtorch's OpenMP pool; does not reach OpenBLAS
  openblas_set_num_threads(n);
}

struct Row {
  std::string workload;
  int threads;
  double xgrad_s, torch_s;
  std::string target;
};

long peak_rss_kib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

long current_rss_kib() {
  std::ifstream f("/proc/self/statm");
  long pages = 0, resident = 0;
  f >> pages >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

int memory_mode(const std::string& side) {
  set_threads(1);
  std::function<void()> step;
  std::shared_ptr<void> keep;
  if (side == "xgrad") {
    auto w = std::make_shared<bench::XgStep>(bench::mlp_step());
    step = [w] { w->step(); };
    keep = w;
  } else {
    auto w = std::make_shared<bench::TorchStep>(bench::torch_mlp(), std::vector<int64_t>{128, 784});
    step = [w] { w->step(); };
    keep = w;
  }
  long rss10 = 0;
  for (int i = 1; i <= 1000; ++i) {
    step();
    if (i == 10) rss10 = current_rss_kib();
  }
  std::printf("{\"side\": \"%s\", \"rss_after_10_steps_kib\": %ld, \"rss_after_1000_steps_kib\": %ld, \"peak_rss_kib\": %ld}\n",
              side.c_str(), rss10, current_rss_kib(), peak_rss_kib());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  std::string json_path, md_path, only;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") quick = true;
    else if (a == "--json" && i + 1 < argc) json_path = argv[++i];
    else if (a == "--markdown" && i + 1 < argc) md_path = argv[++i];
    else if (a == "--memory" && i + 1 < argc) return memory_mode(argv[++i]);
    else if (a == "--only" && i + 1 < argc) only = argv[++i];
    else {
      std::fprintf(stderr, "usage: %s [--quick] [--only TEXT] [--json F] [--markdown F] | --memory xgrad|torch\n", argv[0]);
      return 2;
    }
  }
  const double window = quick ? 0.01 : 0.25;
  const int rounds = quick ? 1 : 5;
  std::vector<Row> rows;
  // single: one timed call per side and round (the 10^6 chain takes seconds).
  auto race = [&](const std::string& name, int threads, const std::function<void()>& xf, const std::function<void()>& tf,
                  const std::string& target, bool single = false) {
    if (!only.empty() && name.find(only) == std::string::npos) return;
    set_threads(threads);
    std::vector<double> xs, ts;
    for (int r = 0; r < (single ? 1 : rounds); ++r) {  // alternate, so drift hits both sides alike
      xs.push_back(seconds_per_call(xf, single ? 0 : window));
      ts.push_back(seconds_per_call(tf, single ? 0 : window));
    }
    rows.push_back({name, threads, median(xs), median(ts), target});
    std::fprintf(stderr, "  %-34s %d thr  xgrad %10.3f us  libtorch %10.3f us  ratio %.3f\n", name.c_str(), threads,
                 rows.back().xgrad_s * 1e6, rows.back().torch_s * 1e6, rows.back().xgrad_s / rows.back().torch_s);
  };

  for (auto op : {bench::TinyOp::Add, bench::TinyOp::Mul, bench::TinyOp::Tanh, bench::TinyOp::Matmul}) {
    for (std::int64_t n : {1, 16, 1024}) {
      auto x = std::make_shared<bench::XgTiny>(op, n);
      auto t = std::make_shared<bench::TorchTiny>(static_cast<int>(op), n);
      race(std::string("op fwd+bwd ") + bench::name(op) + " n=" + std::to_string(n), 1, [x] { x->forward_backward(); },
           [t] { t->forward_backward(); }, n <= 16 ? "<= 0.1" : "");
    }
  }
  for (auto [c, hw, out] : {std::array<std::int64_t, 3>{1, 28, 8}, std::array<std::int64_t, 3>{8, 14, 16}}) {
    auto x = std::make_shared<bench::XgConv>(64, c, hw, out);
    auto t = std::make_shared<bench::TorchConv>(64, c, hw, out);
    race("conv2d fwd+bwd 64x" + std::to_string(c) + "x" + std::to_string(hw) + "x" + std::to_string(hw) + ", " +
             std::to_string(out) + " 3x3 filters",
         1, [x] { x->step(); }, [t] { t->step(); }, "");
  }
  for (int threads : {1, 2}) {
    auto xm = std::make_shared<bench::XgStep>(bench::mlp_step());
    auto tm = std::make_shared<bench::TorchStep>(bench::torch_mlp(), std::vector<int64_t>{128, 784});
    race("MLP step 784-256-128-10, batch 128", threads, [xm] { xm->step(); }, [tm] { tm->step(); }, "<= 0.8");
    auto xc = std::make_shared<bench::XgStep>(bench::cnn_step());
    auto tc = std::make_shared<bench::TorchStep>(bench::torch_cnn(), std::vector<int64_t>{64, 1, 28, 28});
    race("small CNN step, batch 64", threads, [xc] { xc->step(); }, [tc] { tc->step(); }, "<= 0.8");
  }
  // Per-sample gradients of the MLP (issue 20): xgrad's one batched pass
  // (functional::per_sample_grads) against the only way libtorch's C++ API
  // offers, a loop of one forward and backward per example. And J·v of the
  // MLP along the input: xgrad's forward mode against the double-vjp trick
  // (libtorch's C++ API has no forward mode for its modules).
  for (std::int64_t batch : {32, 128}) {
    xg::manual_seed(0);
    torch::manual_seed(0);
    auto xnet = xg::nn::models::mlp();
    auto tnet = bench::torch_mlp();
    const xg::Tensor xx = xg::randn({batch, 784}), xy = xg::randint(0, 10, {batch});
    const torch::Tensor tx = torch::randn({batch, 784}), ty = torch::randint(0, 10, {batch});
    xg::CrossEntropyOptions each;
    each.reduction = xg::Reduction::None;
    auto xloss = [each](const xg::Tensor& out, const xg::Tensor& y) { return xg::cross_entropy(out, y, each); };
    const std::vector<torch::Tensor> tparams = tnet->parameters();
    race("per-sample grads MLP, batch " + std::to_string(batch) + " (libtorch: loop over examples)", 1,
         [=] { xg::functional::per_sample_grads(*xnet, xloss, xx, xy); },
         [=]() mutable {
           std::vector<std::vector<torch::Tensor>> grads;
           for (std::int64_t b = 0; b < batch; ++b) {
             const torch::Tensor loss = torch::nn::functional::cross_entropy(tnet->forward(tx.narrow(0, b, 1)), ty.narrow(0, b, 1));
             grads.push_back(torch::autograd::grad({loss}, tparams));
           }
           std::vector<torch::Tensor> stacked;  // [B, *shape] per parameter, as xgrad returns
           for (std::size_t k = 0; k < tparams.size(); ++k) {
             std::vector<torch::Tensor> per;
             for (const auto& g : grads) per.push_back(g[k]);
             stacked.push_back(torch::stack(per));
           }
         },
         "");
    const xg::Tensor xv = xg::randn({batch, 784});
    const torch::Tensor tv = torch::randn({batch, 784});
    const xg::functional::Fn xf = [xnet](const xg::TensorList& in) { return xg::TensorList{xnet->forward(in[0])}; };
    race("jvp of the MLP, batch " + std::to_string(batch) + " (libtorch: double vjp)", 1,
         [=] {
           xg::NoGradGuard no_grad;
           xg::functional::jvp(xf, {xx}, {xv});
         },
         [=]() mutable {
           const torch::Tensor x = tx.detach().requires_grad_(true);
           const torch::Tensor y = tnet->forward(x);
           const torch::Tensor u = torch::zeros_like(y).requires_grad_(true);
           const torch::Tensor ujt = torch::autograd::grad({y}, {x}, {u}, true, true)[0];
           torch::autograd::grad({ujt}, {u}, {tv});
         },
         "");
  }
  // GPT-style decoder block training steps (issue 17) at three shapes.
  for (int threads : {1, 2})
    for (const bench::GptShape& g : {bench::GptShape{16, 64, 128, 4, 512}, bench::GptShape{8, 128, 256, 8, 1024},
                                     bench::GptShape{4, 256, 384, 6, 2048}}) {
      const std::string name = "GPT block step " + g.name();
      if (!only.empty() && name.find(only) == std::string::npos) continue;
      auto xg_gpt = std::make_shared<bench::XgGpt>(g);
      auto t_gpt = std::make_shared<bench::TorchGpt>(g.batch, g.seq, g.width, g.heads, g.vocab);
      race(name, threads, [xg_gpt] { xg_gpt->step(); }, [t_gpt] { t_gpt->step(); }, "<= 0.8");
    }
  // Adam steps: fresh moments, and moments of dead units decayed for 780 steps
  // (Note [Denormals in optimizer state]), at two sizes and 1 and 2 threads.
  for (int threads : {1, 2})
    for (std::int64_t n : {std::int64_t{1} << 16, std::int64_t{1} << 20})
      for (int decayed : {0, 780}) {
        const std::string name = "Adam step, " + std::to_string(n) + " params, state decayed " + std::to_string(decayed) + " steps";
        if (!only.empty() && name.find(only) == std::string::npos) continue;  // set-up takes seconds
        auto xa = std::make_shared<XgAdam>(n, decayed);
        auto ta = std::make_shared<TorchAdam>(n, decayed);
        race(name, threads, [xa] { xa->step(); }, [ta] { ta->step(); }, "");
      }
  {
    auto xm = std::make_shared<bench::XgMatmul>(1024);
    auto tm = std::make_shared<bench::TorchMatmul>(1024);
    race("matmul 1024^2 fwd+bwd", 1, [xm] { xm->step(); }, [tm] { tm->step(); }, "");
  }
  // Views (strided tensors): a transpose feeding an elementwise op and a
  // matmul, a strided slice, and attention's head split, forward+backward.
  for (auto [r, c] : {std::array<std::int64_t, 2>{4096, 256}, std::array<std::int64_t, 2>{1024, 1024},
                      std::array<std::int64_t, 2>{256, 4096}}) {
    const std::string size = std::to_string(r) + "x" + std::to_string(c);
    auto xx = xg::randn({r, c}, xg::TensorOptions().requires_grad(true));
    auto xb = xg::randn({c, r});
    auto tx = torch::randn({r, c}).requires_grad_(true);
    auto tb = torch::randn({c, r});
    race("x.t() + y fwd+bwd " + size, 1, [=] { (xx.t() + xb).sum().backward(); },
         [=] { (tx.t() + tb).sum().backward(); }, "");
    auto xw = xg::randn({r, 64});
    auto tw = torch::randn({r, 64});
    race("matmul(x.t(), w) fwd+bwd " + size + ", w " + std::to_string(r) + "x64", 1,
         [=] { xg::matmul(xx.t(), xw).sum().backward(); }, [=] { torch::matmul(tx.t(), tw).sum().backward(); }, "");
    race("x[:, ::2] * 2 fwd+bwd " + size, 1, [=] { (xg::slice(xx, 1, 0, c, 2) * 2.0).sum().backward(); },
         [=] { (tx.slice(1, 0, c, 2) * 2.0).sum().backward(); }, "");
  }
  // Kernel rows (issue 17): each op forward, then backward from a fixed
  // random gradient, at 10^5 and 10^6 elements, 1 and 2 threads.
  for (int threads : {1, 2})
    for (auto [r, c] : {std::array<std::int64_t, 2>{100, 1000}, std::array<std::int64_t, 2>{1000, 1000},
                        std::array<std::int64_t, 2>{4096, 256}}) {
      const std::string size = " " + std::to_string(r) + "x" + std::to_string(c);
      const auto xo = xg::TensorOptions().requires_grad(true);
      auto xx = xg::randn({r, c}, xo), xw = xg::randn({c}, xo), xb = xg::randn({c}, xo), xcol = xg::randn({r, 1}, xo);
      auto xg_up = xg::randn({r, c}), xg_row = xg::randn({c}), xg_rows = xg::randn({r});
      auto xt = xg::randint(0, c, {r});
      auto tx = torch::randn({r, c}).requires_grad_(true), tw = torch::randn({c}).requires_grad_(true),
           tb = torch::randn({c}).requires_grad_(true), tcol = torch::randn({r, 1}).requires_grad_(true);
      auto t_up = torch::randn({r, c}), t_row = torch::randn({c}), t_rows = torch::randn({r});
      auto tt = torch::randint(0, c, {r});
      auto row = [&](const std::string& name, std::function<void()> xf, std::function<void()> tf) {
        race(name + " fwd+bwd" + size, threads, std::move(xf), std::move(tf), "<= 1.0");
      };
      row("gelu", [=] { xg::gelu(xx).backward(xg_up); }, [=] { torch::gelu(tx).backward(t_up); });
      row("silu", [=] { xg::silu(xx).backward(xg_up); }, [=] { torch::silu(tx).backward(t_up); });
      row("layer_norm", [=] { xg::layer_norm(xx, {c}, xw, xb).backward(xg_up); },
          [=] { torch::layer_norm(tx, {c}, tw, tb).backward(t_up); });
      // libtorch 1.13 has no rms_norm: the composed form its users write.
      row("rms_norm", [=] { xg::rms_norm(xx, {c}, xw, 1e-6).backward(xg_up); },
          [=] { (tx * torch::rsqrt(tx.pow(2).mean(-1, true) + 1e-6) * tw).backward(t_up); });
      row("softmax", [=] { xg::softmax(xx, -1).backward(xg_up); }, [=] { torch::softmax(tx, -1).backward(t_up); });
      row("log_softmax", [=] { xg::log_softmax(xx, -1).backward(xg_up); },
          [=] { torch::log_softmax(tx, -1).backward(t_up); });
      row("cross_entropy", [=] { xg::cross_entropy(xx, xt).backward(); },
          [=] { torch::nn::functional::cross_entropy(tx, tt).backward(); });
      row("add row-broadcast", [=] { (xx + xb).backward(xg_up); }, [=] { (tx + tb).backward(t_up); });
      row("mul column-broadcast", [=] { (xx * xcol).backward(xg_up); }, [=] { (tx * tcol).backward(t_up); });
      row("sum dim 0", [=] { xx.sum({0}).backward(xg_row); }, [=] { tx.sum(0).backward(t_row); });
      row("sum dim 1", [=] { xx.sum({1}).backward(xg_rows); }, [=] { tx.sum(1).backward(t_rows); });
      row("mean dim 0", [=] { xx.mean({0}).backward(xg_row); }, [=] { tx.mean(0).backward(t_row); });
      row("mean dim 1", [=] { xx.mean({1}).backward(xg_rows); }, [=] { tx.mean(1).backward(t_rows); });
    }
  // An LSTM training step: 1 layer, sequence 32, batch 32, 64 -> 128, Adam.
  for (int threads : {1, 2}) {
    auto xl = std::make_shared<bench::XgLstm>(32, 32, 64, 128);
    auto tl = std::make_shared<bench::TorchLstm>(32, 32, 64, 128);
    race("LSTM step T32 N32 64->128", threads, [xl] { xl->step(); }, [tl] { tl->step(); }, "<= 0.8");
  }
  // batch_norm (training, affine, running statistics) fwd+bwd on ResNet-sized activations.
  for (int threads : {1, 2})
    for (auto [n, c, hw] : {std::array<std::int64_t, 3>{32, 16, 32}, std::array<std::int64_t, 3>{32, 64, 16},
                            std::array<std::int64_t, 3>{32, 256, 4}}) {
      const std::string name = "batch_norm fwd+bwd " + std::to_string(n) + "x" + std::to_string(c) + "x" +
                               std::to_string(hw) + "x" + std::to_string(hw);
      const auto xo = xg::TensorOptions().requires_grad(true);
      auto xx = xg::randn({n, c, hw, hw}, xo), xw = xg::randn({c}, xo), xb = xg::randn({c}, xo);
      auto xrm = xg::zeros({c}), xrv = xg::ones({c}), xg_up = xg::randn({n, c, hw, hw});
      auto tx = torch::randn({n, c, hw, hw}).requires_grad_(true), tw = torch::randn({c}).requires_grad_(true),
           tb = torch::randn({c}).requires_grad_(true), trm = torch::zeros({c}), trv = torch::ones({c});
      auto t_up = torch::randn({n, c, hw, hw});
      race(name, threads, [=] { xg::batch_norm(xx, xrm, xrv, xw, xb, true).backward(xg_up); },
           [=] { torch::batch_norm(tx, tw, tb, trm, trv, true, 0.1, 1e-5, false).backward(t_up); }, "<= 1.0");
    }
  // ResNet-18 (CIFAR form) layer shapes, batch 8: 3x3 at 64/128/256 channels
  // on 32/16/8, a stride-2 3x3, the 1x1 stride-2 downsample, a depthwise 3x3.
  struct ConvRow {
    std::int64_t c, hw, out, k, stride, groups;
  };
  for (int threads : {1, 2})
    for (const ConvRow& r : {ConvRow{64, 32, 64, 3, 1, 1}, ConvRow{128, 16, 128, 3, 1, 1}, ConvRow{256, 8, 256, 3, 1, 1},
                             ConvRow{64, 32, 128, 3, 2, 1}, ConvRow{64, 32, 128, 1, 2, 1}, ConvRow{128, 16, 128, 3, 1, 128}}) {
      const std::string name = "conv2d fwd+bwd 8x" + std::to_string(r.c) + "x" + std::to_string(r.hw) + "x" +
                               std::to_string(r.hw) + " -> " + std::to_string(r.out) + ", " + std::to_string(r.k) + "x" +
                               std::to_string(r.k) + " stride " + std::to_string(r.stride) +
                               (r.groups > 1 ? " depthwise" : "");
      if (!only.empty() && name.find(only) == std::string::npos) continue;
      auto x = std::make_shared<bench::XgConv>(8, r.c, r.hw, r.out, r.k, r.stride, r.groups);
      auto t = std::make_shared<bench::TorchConv>(8, r.c, r.hw, r.out, r.k, r.stride, r.groups);
      race(name, threads, [x] { x->step(); }, [t] { t->step(); }, "<= 1.0");
    }
  // max_pool2d 3x3 stride 2 padding 1 (the ImageNet stem's) and 2x2, fwd+bwd.
  for (int threads : {1, 2})
    for (std::int64_t k : {2, 3}) {
      const auto xo = xg::TensorOptions().requires_grad(true);
      auto xx = xg::randn({32, 64, 32, 32}, xo);
      auto tx = torch::randn({32, 64, 32, 32}).requires_grad_(true);
      const std::int64_t pad = k == 3 ? 1 : 0;
      race("max_pool2d fwd+bwd 32x64x32x32, " + std::to_string(k) + "x" + std::to_string(k) + " stride 2", threads,
           [=] { xg::max_pool2d(xx, {k, k}, std::make_pair<std::int64_t, std::int64_t>(2, 2), {pad, pad}).sum().backward(); },
           [=] { torch::max_pool2d(tx, {k, k}, {2, 2}, {pad, pad}).sum().backward(); }, "<= 1.0");
    }
  // ResNet basic-block training steps (the convolution issue's row).
  for (int threads : {1, 2})
    for (auto [n, c, hw] : {std::array<std::int64_t, 3>{32, 16, 32}, std::array<std::int64_t, 3>{32, 64, 16}}) {
      const std::string name = "ResNet basic block step N" + std::to_string(n) + " C" + std::to_string(c) + " " +
                               std::to_string(hw) + "x" + std::to_string(hw);
      if (!only.empty() && name.find(only) == std::string::npos) continue;
      auto xr = std::make_shared<bench::XgResBlock>(n, c, hw);
      auto tr = std::make_shared<bench::TorchResBlock>(n, c, hw);
      race(name, threads, [xr] { xr->step(); }, [tr] { tr->step(); }, "<= 0.8");
    }
  // A whole ResNet-18 (CIFAR form) training step, batch 32.
  for (int threads : {1, 2}) {
    const std::string name = "ResNet-18 (CIFAR form) step, batch 32";
    if (!only.empty() && name.find(only) == std::string::npos) continue;
    auto xr = std::make_shared<bench::XgResNet18>(32);
    auto tr = std::make_shared<bench::TorchResNet18>(32);
    race(name, threads, [xr] { xr->step(); }, [tr] { tr->step(); }, "<= 0.8");
  }
  // The causal attention core alone, fwd+bwd: each library's own SDPA.
  for (int threads : {1, 2})
    for (auto [bh, t, d] : {std::array<std::int64_t, 3>{64, 64, 32}, std::array<std::int64_t, 3>{64, 128, 32},
                            std::array<std::int64_t, 3>{24, 256, 64}, std::array<std::int64_t, 3>{12, 512, 64}}) {
      auto xa = std::make_shared<bench::XgAttention>(bh, t, d);
      auto ta = std::make_shared<bench::TorchAttention>(bh, t, d);
      race("causal attention fwd+bwd BH" + std::to_string(bh) + " T" + std::to_string(t) + " d" + std::to_string(d),
           threads, [xa] { xa->step(); }, [ta] { ta->step(); }, "<= 1.0");
    }
  for (std::int64_t t : {64, 256}) {
    // q, k, v = x.split(3 heads' worth) -> [B, H, T, d] -> scores -> context, like attention's reshapes.
    const std::int64_t b = 16, h = 4, d = 32;
    auto xq = xg::randn({b, t, 3 * h * d}, xg::TensorOptions().requires_grad(true));
    auto tq = torch::randn({b, t, 3 * h * d}).requires_grad_(true);
    auto xf = [=] {
      auto parts = xg::split(xq, h * d, 2);
      auto heads = [&](const xg::Tensor& p) { return p.reshape({b, t, h, d}).permute({0, 2, 1, 3}).reshape({b * h, t, d}); };
      auto q = heads(parts[0]), k = heads(parts[1]), v = heads(parts[2]);
      auto ctx = xg::matmul(xg::softmax(xg::matmul(q, k.transpose(1, 2)) * 0.17, -1), v);
      ctx.reshape({b, h, t, d}).permute({0, 2, 1, 3}).reshape({b, t, h * d}).sum().backward();
    };
    auto tf = [=] {
      auto parts = tq.split(h * d, 2);
      auto heads = [&](const torch::Tensor& p) { return p.reshape({b, t, h, d}).permute({0, 2, 1, 3}).reshape({b * h, t, d}); };
      auto q = heads(parts[0]), k = heads(parts[1]), v = heads(parts[2]);
      auto ctx = torch::matmul(torch::softmax(torch::matmul(q, k.transpose(1, 2)) * 0.17, -1), v);
      ctx.reshape({b, h, t, d}).permute({0, 2, 1, 3}).reshape({b, t, h * d}).sum().backward();
    };
    race("attention head split/merge fwd+bwd, B16 H4 d32 T" + std::to_string(t), 1, xf, tf, "");
  }
  for (std::int64_t depth : {10000, 100000}) {
    race("chain of " + std::to_string(depth) + " ops (build+bwd+free)", 1, [depth] { bench::xg_chain(depth); },
         [depth] { bench::torch_chain(depth); }, "<= 0.1");
  }
  if (!quick) {
    race("chain of 1000000 ops (build+bwd+free)", 1, [] { bench::xg_chain(1000000); },
         [] { bench::torch_chain(1000000); }, "<= 0.1", true);
  }
  // xgrad-only rows: against the roofline and against hand-written gradients.
  std::vector<std::pair<std::string, double>> internal;
  set_threads(1);
  {
    bench::XgMatmul xm(1024);
    bench::RawSgemm raw(1024);
    std::vector<double> a, b;
    for (int r = 0; r < rounds; ++r) {
      a.push_back(seconds_per_call([&] { xm.step(); }, window));
      b.push_back(seconds_per_call([&] { raw.step(); }, window));
    }
    internal.emplace_back("matmul 1024^2 fwd+bwd / three raw sgemm (target <= 1.05)", median(a) / median(b));
  }
  for (int threads : {1, 2}) {
    set_threads(threads);
    auto engine = bench::mlp_step();
    bench::HandMlp hand;
    std::vector<double> a, b;
    for (int r = 0; r < rounds; ++r) {
      a.push_back(seconds_per_call([&] { engine.step(); }, window));
      b.push_back(seconds_per_call([&] { hand.step(); }, window));
    }
    internal.emplace_back("MLP step: engine / hand-written gradients, " + std::to_string(threads) +
                              " thread(s) (target <= 1.10)",
                          median(a) / median(b));
  }

  std::ostringstream md;
  md << "| workload | threads | xgrad | libtorch | xgrad/libtorch | target |\n|---|---|---|---|---|---|\n";
  auto fmt = [](double s) {
    char buf[32];
    if (s < 1e-3) std::snprintf(buf, sizeof buf, "%.2f µs", s * 1e6);
    else if (s < 1) std::snprintf(buf, sizeof buf, "%.2f ms", s * 1e3);
    else std::snprintf(buf, sizeof buf, "%.2f s", s);
    return std::string(buf);
  };
  nlohmann::json j = {{"rows", nlohmann::json::array()}, {"internal", nlohmann::json::array()}};
  for (const Row& r : rows) {
    char ratio[16];
    std::snprintf(ratio, sizeof ratio, "%.3f", r.xgrad_s / r.torch_s);
    md << "| " << r.workload << " | " << r.threads << " | " << fmt(r.xgrad_s) << " | " << fmt(r.torch_s) << " | " << ratio
       << " | " << (r.target.empty() ? "–" : r.target) << " |\n";
    j["rows"].push_back({{"workload", r.workload}, {"threads", r.threads}, {"xgrad_seconds", r.xgrad_s},
                         {"libtorch_seconds", r.torch_s}, {"ratio", r.xgrad_s / r.torch_s}, {"target", r.target}});
  }
  md << "\n| xgrad against itself | ratio |\n|---|---|\n";
  for (auto& [name, ratio] : internal) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%.3f", ratio);
    md << "| " << name << " | " << buf << " |\n";
    j["internal"].push_back({{"measure", name}, {"ratio", ratio}});
  }
  std::printf("%s", md.str().c_str());
  if (!md_path.empty()) std::ofstream(md_path) << md.str();
  if (!json_path.empty()) std::ofstream(json_path) << j.dump(2) << "\n";
  return 0;
}
