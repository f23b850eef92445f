// Two-process data-parallel check (run by ctest through mpirun -np 2):
// after k SGD steps with per-rank batch B and averaged gradients, every
// rank's parameters equal those of a one-process run with batch 2B over the
// same data order, and all ranks hold the same parameters.
// With --fail-on-rank R, rank R throws mid-training: the job must stop with
// a message naming the rank instead of hanging in a collective.
// --mode picks how gradients are averaged: allreduce (allreduce_gradients
// after backward), ddp (DistributedDataParallel, overlapped with backward),
// ddp-no-sync (each step two half-batches, the first inside no_sync), or
// ddp-unused (parameters the loss never reaches: the job must stop naming
// them) or ddp-find-unused (the same with find_unused_parameters: they count
// as zero gradients), ddp-bn (a BatchNorm model: every rank ends with
// rank 0's running statistics), or ddp-syncbn (SyncBatchNorm on 2 processes
// equals BatchNorm on one with the combined batch, running statistics too).
#include <xgrad/distributed.hpp>
#include <xgrad/xgrad.hpp>

#include <mpi.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

namespace {

/// The MLP, or with batch_norm one with a BatchNorm1d (a SyncBatchNorm when sync is given).
std::shared_ptr<xg::nn::Sequential> make_model(bool batch_norm = false, const xg::dist::ProcessGroup* sync = nullptr) {
  xg::manual_seed(11);
  if (batch_norm) {
    std::shared_ptr<xg::nn::Module> norm = std::make_shared<xg::nn::BatchNorm1d>(16);
    if (sync) norm = std::make_shared<xg::dist::SyncBatchNorm>(16, *sync);
    return std::make_shared<xg::nn::Sequential>(std::initializer_list<std::shared_ptr<xg::nn::Module>>{
        std::make_shared<xg::nn::Linear>(6, 16), norm, std::make_shared<xg::nn::Tanh>(),
        std::make_shared<xg::nn::Linear>(16, 3)});
  }
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
           const xg::dist::ProcessGroup* pg, int fail_on_rank, const std::string& mode = "allreduce") {
  std::unique_ptr<xg::dist::DistributedDataParallel> ddp;
  if (pg && mode != "allreduce") {
    xg::dist::DataParallelOptions o;
    o.bucket_bytes = 256;  // several buckets even for this small model
    o.find_unused_parameters = mode == "ddp-find-unused";
    ddp = std::make_unique<xg::dist::DistributedDataParallel>(model, *pg, o);
  }
  std::size_t buckets = 0, started_in_backward = 0;
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
      if (mode == "ddp-no-sync" && ddp) {
        // Two micro-batches; the mean of their mean losses is the batch's mean loss.
        const std::int64_t half = e.input.size(0) / 2;
        {
          auto local = ddp->no_sync();
          (xg::cross_entropy(model.forward(e.input.narrow(0, 0, half)), e.target.narrow(0, 0, half)) * 0.5).backward();
        }
        (xg::cross_entropy(model.forward(e.input.narrow(0, half, half)), e.target.narrow(0, half, half)) * 0.5).backward();
      } else if (mode == "ddp-unused" || mode == "ddp-find-unused") {
        xg::cross_entropy(model.forward(e.input).detach() * model.parameters()[0].sum(), e.target).backward();
      } else {
        xg::cross_entropy(model.forward(e.input), e.target).backward();
      }
      if (ddp) {
        ddp->synchronize();
        buckets += ddp->stats().buckets;
        started_in_backward += ddp->stats().started_in_backward;
      } else if (pg) {
        xg::dist::allreduce_gradients(model, *pg);
      }
      opt.step();
    }
  }
  if (ddp && pg->rank() == 0)
    std::printf("%s: %zu of %zu buckets started during backward\n", mode.c_str(), started_in_backward, buckets);
}

}  // namespace

int main(int argc, char** argv) {
  auto& pg = xg::dist::ProcessGroup::init(&argc, &argv);
  int fail_on_rank = -1;
  std::string mode = "allreduce";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--fail-on-rank") == 0) fail_on_rank = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--mode") == 0) mode = argv[i + 1];
  }
  xg::manual_seed(3);
  const xg::Tensor x = xg::randn({64, 6}), y = xg::randint(0, 3, {64});
  auto data = std::make_shared<xg::data::TensorDataset>(x, y);
  const std::int64_t B = 8;

  const bool syncbn = mode == "ddp-syncbn";
  auto model = make_model(mode == "ddp-bn" || syncbn, syncbn ? &pg : nullptr);
  try {
    xg::dist::broadcast_parameters(*model, pg);
    train(*model, data, B, &pg, fail_on_rank, mode);
  } catch (const std::exception& e) {
    pg.abort(e.what());
  }
  if (mode == "ddp-bn") {
    // Each rank's batch statistics differ, so the parameters differ from one
    // process's; but broadcast_buffers leaves every rank rank 0's running statistics.
    bool same = true;
    for (const xg::Tensor& b : model->buffers()) {
      xg::Tensor mine_b = b.to(xg::float64).contiguous(), root = mine_b.clone();
      pg.broadcast({root});
      same = same && root.to_vector<double>() == mine_b.to_vector<double>();
    }
    int ok = same;
    MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (pg.rank() == 0) std::printf("%s\n", ok ? "buffers identical: distributed check passed" : "distributed check FAILED");
    return ok ? 0 : 1;
  }
  auto reference = make_model(syncbn);
  train(*reference, data, B * pg.size(), nullptr, -1, mode);

  auto mine = flat(*model), ref = flat(*reference);
  if (syncbn) {  // SyncBatchNorm's running statistics are the global batch's, as one process's BatchNorm
    for (const xg::Tensor& b : model->buffers())
      for (double v : b.to(xg::float64).to_vector<double>()) mine.push_back(static_cast<float>(v));
    for (const xg::Tensor& b : reference->buffers())
      for (double v : b.to(xg::float64).to_vector<double>()) ref.push_back(static_cast<float>(v));
  }
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
