#include "xgrad/distributed.hpp"

#include <malloc.h>
#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "xgrad/autograd.hpp"
#include "xgrad/ops.hpp"

namespace xg::dist {
namespace {

MPI_Datatype mpi_type(Dtype d) {
  switch (d) {
    case Dtype::Float32: return MPI_FLOAT;
    case Dtype::Float64: return MPI_DOUBLE;
    case Dtype::Int64: return MPI_INT64_T;
    case Dtype::Int32: return MPI_INT32_T;
    case Dtype::Bool: return MPI_C_BOOL;
  }
  return MPI_BYTE;
}

// Open MPI's allreduce (coll/libnbc's non-blocking one above all) and the
// bucket buffers malloc bucket-sized temporaries on every call. glibc
// serves those from fresh mmap'd pages and unmaps them on free, so every
// step paid a page fault per 4 KiB of every bucket: `perf` put 30 % of a
// 2-process MLP step in page faults under ompi_datatype_sndrcv (the DDP
// step took 3× the blocking allreduce's), and the decoder block's blocking
// allreduce of 3.7 MB took 28 ms instead of 1.3. Serving allocations below
// 32 MiB from the heap, and keeping up to 64 MiB of freed heap, lets them
// reuse warm memory (tensors come from xgrad's pool either way).
void keep_bucket_sized_allocations_warm() {
  static const bool done = [] {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    return true;
  }();
  (void)done;
}

void finalize_at_exit() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

}  // namespace

bool ProcessGroup::launched_by_mpi() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE") || std::getenv("PMIX_RANK");
}

ProcessGroup& ProcessGroup::init(int* argc, char*** argv) {
  static ProcessGroup pg;
  int ready = 0;
  MPI_Initialized(&ready);
  if (!ready) {
    keep_bucket_sized_allocations_warm();
    MPI_Init(argc, argv);
    std::atexit(finalize_at_exit);
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &pg.rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &pg.size_);
  return pg;
}

void ProcessGroup::broadcast(const TensorList& tensors, int root) const {
  for (const Tensor& t : tensors) {
    Tensor target = t;
    XG_CHECK(t.is_contiguous(), "broadcast", "tensor ", t.shape(), " with strides ", t.strides(),
             " is not contiguous; broadcast writes whole buffers (pass contiguous tensors, as parameters are)");
    MPI_Bcast(target.mutable_data_ptr(), static_cast<int>(t.numel()), mpi_type(t.dtype()), root, MPI_COMM_WORLD);
  }
}

void ProcessGroup::allreduce_mean(const TensorList& tensors, std::size_t bucket_bytes) const {
  // Note [Gradient buckets]: one MPI call per parameter costs a latency per
  // parameter; packing runs of same-dtype tensors into flat buffers costs a
  // copy in and out, which is cheap next to the network.
  for (const Tensor& t : tensors)
    XG_CHECK(t.is_contiguous(), "allreduce_mean", "tensor ", t.shape(), " with strides ", t.strides(),
             " is not contiguous; allreduce writes whole buffers (pass contiguous tensors, as gradients are)");
  std::size_t i = 0;
  std::vector<char> buffer;
  while (i < tensors.size()) {
    const Dtype dtype = tensors[i].dtype();
    const std::size_t elem = dtype_size(dtype);
    std::size_t j = i, bytes = 0;
    while (j < tensors.size() && tensors[j].dtype() == dtype &&
           (j == i || bytes + static_cast<std::size_t>(tensors[j].numel()) * elem <= bucket_bytes)) {
      bytes += static_cast<std::size_t>(tensors[j].numel()) * elem;
      ++j;
    }
    buffer.resize(bytes);
    std::size_t at = 0;
    for (std::size_t k = i; k < j; ++k) {
      const std::size_t n = static_cast<std::size_t>(tensors[k].numel()) * elem;
      std::memcpy(buffer.data() + at, tensors[k].data_ptr(), n);
      at += n;
    }
    MPI_Allreduce(MPI_IN_PLACE, buffer.data(), static_cast<int>(bytes / elem), mpi_type(dtype), MPI_SUM, MPI_COMM_WORLD);
    at = 0;
    for (std::size_t k = i; k < j; ++k) {
      Tensor t = tensors[k];
      const std::size_t n = static_cast<std::size_t>(t.numel()) * elem;
      std::memcpy(t.mutable_data_ptr(), buffer.data() + at, n);
      at += n;
      NoGradGuard no_grad;
      t.mul_(1.0 / size_);
    }
    i = j;
  }
}

void ProcessGroup::barrier() const { MPI_Barrier(MPI_COMM_WORLD); }

void ProcessGroup::abort(const std::string& message, int code) const {
  std::fprintf(stderr, "rank %d: %s\n", rank_, message.c_str());
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, code);
  std::abort();
}

void broadcast_parameters(nn::Module& model, const ProcessGroup& pg, int root) {
  pg.broadcast(model.parameters(), root);
  pg.broadcast(model.buffers(), root);
}

void allreduce_gradients(nn::Module& model, const ProcessGroup& pg, std::size_t bucket_bytes) {
  TensorList grads;
  for (Tensor& p : model.parameters()) {
    if (!p.grad().defined()) p.set_grad(zeros(p.shape(), p.dtype()));
    grads.push_back(p.grad());
  }
  pg.allreduce_mean(grads, bucket_bytes);
}

}  // namespace xg::dist
