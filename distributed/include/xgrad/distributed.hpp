#pragma once
// Data-parallel training across processes (and machines) over MPI, in the
// optional xgrad::distributed library (built when CMake finds MPI).
//
//   auto& pg = xg::dist::ProcessGroup::init(&argc, &argv);   // reads rank and size from mpirun
//   xg::dist::broadcast_parameters(model, pg);               // rank 0's initial weights everywhere
//   loader options: num_replicas = pg.size(), rank = pg.rank() (each rank a disjoint shard)
//   after loss.backward(): xg::dist::allreduce_gradients(model, pg);   // average, bucketed
//
// Every rank then takes the same optimizer step and keeps identical weights.
// DistributedDataParallel does the averaging during backward instead:
//
//   xg::dist::DistributedDataParallel ddp(model, pg);   // hooks on the parameters
//   loss.backward();          // buckets of gradients are allreduced as they become ready
//   ddp.synchronize();        // waits for what is still in flight; then opt.step()
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "xgrad/nn/layers.hpp"
#include "xgrad/nn/module.hpp"

namespace xg::dist {

class ProcessGroup {
 public:
  /// Initialises MPI once (finalised at exit) and returns the world group.
  static ProcessGroup& init(int* argc, char*** argv);
  /// True when this process was started by mpirun/mpiexec (Open MPI or PMI variables).
  static bool launched_by_mpi();
  int rank() const { return rank_; }
  int size() const { return size_; }
  /// Overwrites every rank's tensors with root's, in place.
  void broadcast(const TensorList& tensors, int root = 0) const;
  /// Averages the tensors over all ranks, in place: small tensors are packed
  /// into flat buffers of up to bucket_bytes, one MPI_Allreduce per bucket.
  void allreduce_mean(const TensorList& tensors, std::size_t bucket_bytes = std::size_t{25} << 20) const;
  void barrier() const;
  /// Stops the whole job (MPI_Abort) after printing "rank R: message" — a
  /// failing rank must not leave the others waiting in a collective forever.
  [[noreturn]] void abort(const std::string& message, int code = 1) const;

 private:
  int rank_ = 0, size_ = 1;
};

void broadcast_parameters(nn::Module& model, const ProcessGroup& pg, int root = 0);
/// Averages every parameter's .grad across ranks (parameters without a
/// gradient get zeros, so all ranks take part in the same collectives).
void allreduce_gradients(nn::Module& model, const ProcessGroup& pg, std::size_t bucket_bytes = std::size_t{25} << 20);

/// The sum of t over all ranks, differentiable: its gradient is the sum of
/// the ranks' gradients (every rank calls it in the same order, forward and
/// backward, as any collective).
Tensor all_reduce_sum(const Tensor& t);

/// Batch normalisation whose training statistics are those of the global
/// batch, all ranks' examples together (torch.nn.SyncBatchNorm): two
/// allreduces per forward (the sum, then the squared deviations from the
/// global mean: no cancellation) and their transposes in backward. Same
/// parameters, buffers and eval behaviour as BatchNorm, for [N, C, *] inputs;
/// on one process it equals BatchNorm.
class SyncBatchNorm : public nn::BatchNorm {
 public:
  SyncBatchNorm(std::int64_t num_features, const ProcessGroup& pg, double eps = 1e-5, double momentum = 0.1,
                bool affine = true);
  Tensor forward(const Tensor& x) override;

 private:
  const ProcessGroup& pg_;
};

struct DataParallelOptions {
  /// Gradients are allreduced in buckets of about this size (PyTorch DDP's
  /// bucket_cap_mb): smaller starts communicating earlier in backward,
  /// larger pays fewer latencies. 1 MiB: over TCP, 4 MiB left the 3.7 MB
  /// GPT-style block one bucket that could only start at the end of
  /// backward; 256 KiB buckets finished 23 % of its bytes (and 77 % of
  /// ResNet-20's) during backward (bench_distributed).
  std::size_t bucket_bytes = std::size_t{1} << 20;
  /// Allow parameters that get no gradient in a backward (they count as
  /// zero); the buckets then all go at synchronize(), not during backward,
  /// because which ones are complete can differ between ranks. Without it
  /// such a parameter stops the job with its name (a rank waiting for it
  /// would otherwise hang).
  bool find_unused_parameters = false;
  /// After every synchronize(), rank 0's buffers (BatchNorm's running
  /// statistics) overwrite the others', as PyTorch's broadcast_buffers does
  /// before each forward: every rank then evaluates and checkpoints the
  /// same model. (Each rank's running statistics still come from its own
  /// batches; SyncBatchNorm is what normalises with the global batch.)
  bool broadcast_buffers = true;
};

/// What the last synchronize() measured on this rank.
struct DataParallelStats {
  std::size_t buckets = 0;              ///< buckets allreduced in the step
  std::size_t started_in_backward = 0;  ///< of them, started before synchronize()
  /// Of the step's gradient bytes, the share whose allreduce had finished
  /// before synchronize() (MPI progressed during backward: the hooks poll).
  double finished_in_backward = 0;
  double wait_seconds = 0;              ///< time synchronize() waited for the network
};

/// Data parallelism as PyTorch's DistributedDataParallel does it: every
/// parameter gets a post-accumulate hook; when all gradients of a bucket
/// (buckets in reverse parameter order, the order backward produces them)
/// are ready, the bucket starts a non-blocking MPI_Iallreduce while backward
/// goes on, and each hook polls the requests in flight so MPI progresses.
/// synchronize() waits for the rest and writes the averages into .grad. The
/// buckets start in the same order on every rank (a bucket waits for the
/// ones before it), as MPI's non-blocking collectives require. The result
/// is allreduce_gradients' (float sums in the same order); against one
/// process with the combined batch it agrees to float rounding (the ctests
/// allow 1e-5 after 8 steps and see 6e-8). On one process it does nothing:
/// the gradients already are the mean.
class DistributedDataParallel {
 public:
  DistributedDataParallel(nn::Module& model, const ProcessGroup& pg, DataParallelOptions options = {});
  ~DistributedDataParallel();
  DistributedDataParallel(const DistributedDataParallel&) = delete;
  DistributedDataParallel& operator=(const DistributedDataParallel&) = delete;

  /// Waits for the step's allreduce and leaves every rank's .grad equal to
  /// the mean over ranks. Call it after backward, before the optimizer step.
  void synchronize();

  /// While a NoSync lives, backward only accumulates into .grad (gradient
  /// accumulation over micro-batches); the next backward outside it
  /// allreduces the accumulated sum.
  class NoSync {
   public:
    explicit NoSync(DistributedDataParallel& ddp);
    ~NoSync();
    NoSync(const NoSync&) = delete;
    NoSync& operator=(const NoSync&) = delete;

   private:
    DistributedDataParallel& ddp_;
  };
  NoSync no_sync() { return NoSync(*this); }

  const DataParallelStats& stats() const { return stats_; }

 private:
  struct State;
  std::unique_ptr<State> state_;
  DataParallelStats stats_;
};

}  // namespace xg::dist
