// Data-parallel step time: run under `mpirun -np 1` and `-np 2`. Each rank
// trains the 784-256-128-10 MLP on its own batch of 128 with one thread, and
// gradients are averaged with bucketed MPI_Allreduce. Prints the step time
// and the share spent in the allreduce (rank 0).
#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <xgrad/distributed.hpp>

#include "xgrad_workloads.hpp"

int main(int argc, char** argv) {
  auto& pg = xg::dist::ProcessGroup::init(&argc, &argv);
  xg::set_num_threads(1);
  xg::manual_seed(1);
  auto model = xg::nn::models::mlp();
  xg::dist::broadcast_parameters(*model, pg);
  xg::optim::SGD opt(model->parameters(), {0.01});
  xg::manual_seed(static_cast<std::uint64_t>(10 + pg.rank()));
  const xg::Tensor x = xg::randn({128, 784}), y = xg::randint(0, 10, {128});
  using clock = std::chrono::steady_clock;
  double total = 0, in_allreduce = 0;
  const int steps = 300;
  for (int i = -20; i < steps; ++i) {  // 20 warm-up steps
    const auto t0 = clock::now();
    opt.zero_grad();
    xg::cross_entropy(model->forward(x), y).backward();
    const auto t1 = clock::now();
    xg::dist::allreduce_gradients(*model, pg);
    const auto t2 = clock::now();
    opt.step();
    const auto t3 = clock::now();
    if (i >= 0) {
      total += std::chrono::duration<double>(t3 - t0).count();
      in_allreduce += std::chrono::duration<double>(t2 - t1).count();
    }
  }
  if (pg.rank() == 0)
    std::printf("processes %d: step %.3f ms (each rank a batch of 128), allreduce %.3f ms = %.1f%% of the step, "
                "%.0f examples/s in all\n",
                pg.size(), 1e3 * total / steps, 1e3 * in_allreduce / steps, 100 * in_allreduce / total,
                128.0 * pg.size() * steps / total);
  return 0;
}
