// Two-process data-parallel check (run by ctest through mpirun -np 2):
// after k SGD steps with per-rank batch B and averaged gradients, every
// rank's parameters equal those of a one-process run with batch 2B over the
// same data order, and all ranks hold the same parameters.
// With --fail-on-rank R, rank R throws mid-training: the job must stop with
// a message naming the rank instead of hanging in a collective.
#include <xgrad/distributed.hpp>
#include <xgrad/xgrad.hpp>

#include <mpi.h>

#include <cmath>
#include <cstdio>
#include <cstring>

namespace {

std::shared_ptr<xg::nn::Sequential> make_model() {
  xg::manual_seed(11);
  return std::make_shared<xg::nn::Sequential>(std::initializer_list<std::shared_ptr<xg::nn::Module>>{
      std::make_shared<xg::nn::Linear>(6, 16), std::make_shared<xg::nn::Tanh>(), std::make_shared<xg::nn::Linear>(16, 3)});
}

std::vector<float> flat(xg::nn::Module& m) {
  std::vector<float> out;
  for (const xg::Tensor& p : m.parameters())
    for (float v : p.to_vector<float>()) out.push_back(v);
  return out;
}

/// Trains for 2 epochs; with pg, on this rank's shard and averaged gradients.
void train(xg::nn::Module& model, const std::shared_ptr<xg::data::TensorDataset>& data, std::int64_t batch,
           const xg::dist::ProcessGroup* pg, int fail_on_rank) {
  xg::optim::SGDOptions o;
  o.lr = 0.1;
  o.momentum = 0.9;
  xg::optim::SGD opt(model.parameters(), o);
  xg::data::LoaderOptions lo{batch, true, 5, false};
  if (pg) {
    lo.num_replicas = pg->size();
    lo.rank = pg->rank();
  }
  xg::data::DataLoader loader(data, lo);
  for (std::int64_t epoch = 0; epoch < 2; ++epoch) {
    loader.set_epoch(epoch);
    for (std::int64_t b = 0; b < loader.num_batches(); ++b) {
      if (pg && pg->rank() == fail_on_rank && epoch == 1) throw xg::Error("injected failure");
      const xg::data::Example e = loader.batch(b);
      opt.zero_grad();
      xg::cross_entropy(model.forward(e.input), e.target).backward();
      if (pg) xg::dist::allreduce_gradients(model, *pg);
      opt.step();
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  auto& pg = xg::dist::ProcessGroup::init(&argc, &argv);
  const int fail_on_rank = argc > 2 && std::strcmp(argv[1], "--fail-on-rank") == 0 ? std::atoi(argv[2]) : -1;
  xg::manual_seed(3);
  const xg::Tensor x = xg::randn({64, 6}), y = xg::randint(0, 3, {64});
  auto data = std::make_shared<xg::data::TensorDataset>(x, y);
  const std::int64_t B = 8;

  auto model = make_model();
  try {
    xg::dist::broadcast_parameters(*model, pg);
    train(*model, data, B, &pg, fail_on_rank);
  } catch (const std::exception& e) {
    pg.abort(e.what());
  }
  auto reference = make_model();
  train(*reference, data, B * pg.size(), nullptr, -1);

  const auto mine = flat(*model), ref = flat(*reference);
  double worst = 0;
  for (std::size_t i = 0; i < mine.size(); ++i) worst = std::max(worst, std::abs(double(mine[i]) - ref[i]));
  // All ranks identical: compare with rank 0's copy.
  xg::Tensor rank0 = xg::from_vector(mine, {static_cast<std::int64_t>(mine.size())});
  pg.broadcast({rank0});
  const bool identical = rank0.to_vector<float>() == mine;
  int ok = worst < 1e-5 && identical;
  MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  std::printf("rank %d of %d: max |2-process - 1-process (batch %lld)| = %.3g, identical to rank 0: %s\n", pg.rank(),
              pg.size(), static_cast<long long>(B * pg.size()), worst, identical ? "yes" : "no");
  if (pg.rank() == 0) std::printf("%s\n", ok ? "distributed check passed" : "distributed check FAILED");
  return ok ? 0 : 1;
}
