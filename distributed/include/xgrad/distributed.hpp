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
#include <cstddef>
#include <string>

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

}  // namespace xg::dist
