// Data-parallel step time: run under `mpirun -np 1` and `-np 2` (add
// `--mca btl tcp,self` for Open MPI's TCP transport). Each rank trains one
// model on its own batch with one thread:
//   --model mlp      784-256-128-10 MLP, batch 128
//   --model decoder  a pre-norm GPT-style block (d 256, 4 heads, ff 1024,
//                    causal) and an LM head over 512 tokens, batch 16 × 64
//   --model resnet   ResNet-20 (CIFAR), batch 32 of 3×32×32
// --mode allreduce averages after backward (allreduce_gradients); --mode ddp
// overlaps it with backward (DistributedDataParallel); --mode none is the
// plain step (what the wrapper costs when alone); --mode sweep times one
// allreduce at sizes from 4 B to 16 MiB and fits latency and bandwidth.
// Otherwise rank 0 prints the
// step time, the allreduce's own time (the same gradients through a
// blocking allreduce, timed apart), the time the step waited for it, the
// share of it hidden behind backward, and the examples/s of all ranks.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <xgrad/distributed.hpp>

#include "xgrad_workloads.hpp"

namespace {

/// --mode sweep: the time of one allreduce of S bytes (median of repeats)
/// for S from 4 B to 16 MiB, and the fit t = a + S·b by least squares (the
/// latency-bandwidth model bench/README.md scales with).
void allreduce_sweep(const xg::dist::ProcessGroup& pg) {
  std::vector<double> sizes, times;
  for (std::int64_t n = 1; n <= (std::int64_t{4} << 20); n *= 4) {
    const xg::Tensor t = xg::ones({n});
    const int repeats = n < (1 << 16) ? 200 : n < (1 << 22) ? 30 : 8;
    std::vector<double> samples;
    for (int r = 0; r < repeats + 2; ++r) {
      pg.barrier();
      const auto t0 = std::chrono::steady_clock::now();
      pg.allreduce_mean({t}, std::size_t{64} << 20);
      const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (r >= 2) samples.push_back(dt);
    }
    std::sort(samples.begin(), samples.end());
    sizes.push_back(4.0 * static_cast<double>(n));
    times.push_back(samples[samples.size() / 2]);
    if (pg.rank() == 0) std::printf("allreduce %10.0f bytes: %10.1f us\n", sizes.back(), 1e6 * times.back());
  }
  // Least squares for t = a + b·S (every size weighted by 1/t, so small sizes count as much as large).
  double sw = 0, ss = 0, st = 0, sss = 0, sst = 0;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    const double w = 1.0 / (times[i] * times[i]);
    sw += w, ss += w * sizes[i], st += w * times[i], sss += w * sizes[i] * sizes[i], sst += w * sizes[i] * times[i];
  }
  const double b = (sw * sst - ss * st) / (sw * sss - ss * ss), a = (st - b * ss) / sw;
  if (pg.rank() == 0)
    std::printf("fit, %d processes: t = %.1f us + S / (%.2f GB/s)\n", pg.size(), 1e6 * a, 1e-9 / b);
}

struct Workload {
  std::shared_ptr<xg::nn::Module> model;
  std::function<xg::Tensor()> loss;  // forward and loss on this rank's batch
  std::int64_t examples = 0;
};

Workload make(const std::string& name) {
  Workload w;
  if (name == "mlp") {
    auto m = xg::nn::models::mlp();
    const xg::Tensor x = xg::randn({128, 784}), y = xg::randint(0, 10, {128});
    w.model = m;
    w.loss = [m, x, y] { return xg::cross_entropy(m->forward(x), y); };
    w.examples = 128;
  } else if (name == "decoder") {
    xg::nn::TransformerLayerOptions o(256, 4);
    o.dim_feedforward = 1024;
    o.dropout = 0.0;
    o.activation = "gelu";
    o.batch_first = true;
    o.norm_first = true;
    auto block = std::make_shared<xg::nn::TransformerEncoderLayer>(o);
    auto head = std::make_shared<xg::nn::Linear>(256, 512);
    auto m = std::make_shared<xg::nn::Sequential>(block, head);
    const xg::Tensor x = xg::randn({16, 64, 256}), y = xg::randint(0, 512, {16 * 64});
    w.model = m;
    w.loss = [block, head, x, y] {
      const xg::Tensor h = block->forward(x, {}, {}, /*is_causal=*/true);
      return xg::cross_entropy(head->forward(h).reshape({16 * 64, 512}), y);
    };
    w.examples = 16;
  } else if (name == "resnet") {
    auto m = xg::nn::models::resnet20(10);
    const xg::Tensor x = xg::randn({32, 3, 32, 32}), y = xg::randint(0, 10, {32});
    w.model = m;
    w.loss = [m, x, y] { return xg::cross_entropy(m->forward(x), y); };
    w.examples = 32;
  } else {
    std::fprintf(stderr, "bench_distributed: --model is mlp, decoder or resnet, got '%s'\n", name.c_str());
    std::exit(2);
  }
  return w;
}

}  // namespace

int main(int argc, char** argv) {
  auto& pg = xg::dist::ProcessGroup::init(&argc, &argv);
  std::string model_name = "mlp", mode = "ddp";
  int steps = 100;
  std::size_t bucket_kb = 1024;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--model") == 0) model_name = argv[i + 1];
    else if (std::strcmp(argv[i], "--mode") == 0) mode = argv[i + 1];
    else if (std::strcmp(argv[i], "--steps") == 0) steps = std::atoi(argv[i + 1]);
    else if (std::strcmp(argv[i], "--bucket-kb") == 0) bucket_kb = static_cast<std::size_t>(std::atol(argv[i + 1]));
  }
  xg::set_num_threads(1);
  if (mode == "sweep") {
    allreduce_sweep(pg);
    return 0;
  }
  xg::manual_seed(1);
  Workload w = make(model_name);
  xg::dist::broadcast_parameters(*w.model, pg);
  xg::manual_seed(static_cast<std::uint64_t>(10 + pg.rank()));
  xg::optim::SGD opt(w.model->parameters(), {0.01});
  std::unique_ptr<xg::dist::DistributedDataParallel> ddp;
  xg::dist::DataParallelOptions options;
  options.bucket_bytes = bucket_kb << 10;
  if (mode == "ddp") ddp = std::make_unique<xg::dist::DistributedDataParallel>(*w.model, pg, options);
  using clock = std::chrono::steady_clock;
  const auto seconds = [](clock::time_point a, clock::time_point b) { return std::chrono::duration<double>(b - a).count(); };
  double total = 0, waited = 0, allreduce = 0, backward = 0, finished_early = 0;
  const int warm_up = std::max(3, steps / 10);
  for (int i = -warm_up; i < steps; ++i) {
    const auto t0 = clock::now();
    opt.zero_grad();
    w.loss().backward();
    const auto t1 = clock::now();
    if (ddp) ddp->synchronize();
    else if (mode == "allreduce") xg::dist::allreduce_gradients(*w.model, pg);
    const auto t2 = clock::now();
    opt.step();
    const auto t3 = clock::now();
    // The allreduce's own cost: the same gradients through a blocking one, outside the step.
    xg::TensorList copies;
    for (const xg::Tensor& p : w.model->parameters()) copies.push_back(p.grad().clone());
    pg.barrier();
    const auto t4 = clock::now();
    pg.allreduce_mean(copies, std::size_t{4} << 20);
    const auto t5 = clock::now();
    if (i >= 0) {
      total += seconds(t0, t3);
      backward += seconds(t0, t1);
      waited += ddp ? ddp->stats().wait_seconds : seconds(t1, t2);
      if (ddp) finished_early += ddp->stats().finished_in_backward;
      allreduce += seconds(t4, t5);
    }
  }
  // Waiting includes waiting for a slower rank: show the slowest forward+backward too.
  double slowest = backward;
  MPI_Allreduce(MPI_IN_PLACE, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  if (pg.rank() == 0) {
    const double hidden = allreduce > 0 ? std::max(0.0, 1.0 - waited / allreduce) : 0.0;
    std::printf("%s, %s, %d process(es): step %.3f ms (forward+backward %.3f, slowest rank %.3f), allreduce %.3f ms, waited %.3f ms, hidden %.0f%%, "
                "%.0f%% of the gradient bytes reduced during backward, %.0f examples/s in all\n",
                model_name.c_str(), mode.c_str(), pg.size(), 1e3 * total / steps, 1e3 * backward / steps, 1e3 * slowest / steps,
                1e3 * allreduce / steps,
                1e3 * waited / steps, 100 * hidden, 100 * finished_early / steps,
                static_cast<double>(w.examples) * pg.size() * steps / total);
  }
  return 0;
}
