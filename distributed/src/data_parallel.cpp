// DistributedDataParallel: the gradients' allreduce overlapped with backward
// (distributed.hpp). One step: the hooks mark parameters ready as backward
// accumulates their .grad; a bucket whose parameters are all ready is
// packed and started (MPI_Iallreduce) once the buckets before it have
// started; synchronize() starts what is left, waits, and unpacks the means.
#include <mpi.h>

#include <chrono>
#include <cstring>
#include <sstream>

#include "xgrad/autograd.hpp"
#include "xgrad/distributed.hpp"
#include "xgrad/ops.hpp"

namespace xg::dist {
namespace {

MPI_Datatype mpi_float_type(Dtype d) { return d == Dtype::Float64 ? MPI_DOUBLE : MPI_FLOAT; }

}  // namespace

struct DistributedDataParallel::State {
  struct Bucket {
    std::vector<std::size_t> params;  // indices into State::params
    std::vector<char> buffer;
    Dtype dtype = Dtype::Float32;
    std::size_t waiting = 0;  // parameters not ready yet this step
    MPI_Request request = MPI_REQUEST_NULL;
    bool started = false;
    bool finished = false;  // its allreduce completed (seen by a hook's MPI_Test)
  };

  const ProcessGroup& pg;
  DataParallelOptions options;
  TensorList buffers;  // broadcast from rank 0 after each step's averaging
  std::vector<std::pair<std::string, Tensor>> params;  // the ones that require grad
  std::vector<std::size_t> bucket_of;
  std::vector<bool> ready;
  std::vector<Bucket> buckets;
  std::vector<HookHandle> hooks;
  std::size_t next_to_start = 0;
  int no_sync_depth = 0;

  State(const ProcessGroup& group, DataParallelOptions o) : pg(group), options(o) {}

  void start(Bucket& b) {
    std::size_t at = 0;
    for (const std::size_t i : b.params) {
      Tensor& p = params[i].second;
      if (!p.grad().defined()) p.set_grad(zeros(p.shape(), p.dtype()));
      const Tensor g = p.grad().contiguous();
      const std::size_t n = static_cast<std::size_t>(g.numel()) * dtype_size(g.dtype());
      std::memcpy(b.buffer.data() + at, g.data_ptr(), n);
      at += n;
    }
    MPI_Iallreduce(MPI_IN_PLACE, b.buffer.data(), static_cast<int>(at / dtype_size(b.dtype)), mpi_float_type(b.dtype),
                   MPI_SUM, MPI_COMM_WORLD, &b.request);
    b.started = true;
  }

  /// Starts the complete buckets whose predecessors have started (the same
  /// order on every rank), and lets MPI progress the ones in flight.
  void advance() {
    while (next_to_start < buckets.size() && buckets[next_to_start].waiting == 0) start(buckets[next_to_start++]);
    for (std::size_t k = 0; k < next_to_start; ++k) {
      int done = 0;
      if (buckets[k].request != MPI_REQUEST_NULL) MPI_Test(&buckets[k].request, &done, MPI_STATUS_IGNORE);
      if (done) buckets[k].finished = true;
    }
  }

  void on_ready(std::size_t i) {
    if (no_sync_depth > 0) return;
    if (ready[i])
      pg.abort("DistributedDataParallel: parameter '" + params[i].first +
               "' got a gradient twice in one step (two backward passes?); run all but the last inside no_sync()");
    ready[i] = true;
    --buckets[bucket_of[i]].waiting;
    if (!options.find_unused_parameters) advance();
  }

  void reset() {
    std::fill(ready.begin(), ready.end(), false);
    for (Bucket& b : buckets) {
      b.waiting = b.params.size();
      b.started = false;
      b.finished = false;
      b.request = MPI_REQUEST_NULL;
    }
    next_to_start = 0;
  }
};

DistributedDataParallel::DistributedDataParallel(nn::Module& model, const ProcessGroup& pg, DataParallelOptions options)
    : state_(std::make_unique<State>(pg, options)) {
  XG_CHECK(options.bucket_bytes > 0, "DistributedDataParallel", "bucket_bytes must be positive");
  State& s = *state_;
  // Alone, the gradients already are the mean: no hooks, no buckets, no
  // copies, so the wrapper costs nothing (the plain step, measured).
  if (pg.size() == 1) return;
  if (options.broadcast_buffers)
    for (const auto& [name, b] : model.named_buffers()) {
      XG_CHECK(b.is_contiguous(), "DistributedDataParallel", "buffer '", name, "' is not contiguous");
      s.buffers.push_back(b);
    }
  for (auto& [name, p] : model.named_parameters())
    if (p.requires_grad()) {
      XG_CHECK(is_floating(p.dtype()), "DistributedDataParallel", "parameter '", name, "' is ", p.dtype(),
               "; only float parameters are averaged");
      s.params.emplace_back(name, p);
    }
  // Buckets in reverse order: backward produces the last layer's gradients first.
  s.bucket_of.assign(s.params.size(), 0);
  for (std::size_t k = s.params.size(); k-- > 0;) {
    const Tensor& p = s.params[k].second;
    const std::size_t bytes = static_cast<std::size_t>(p.numel()) * dtype_size(p.dtype());
    if (s.buckets.empty() || s.buckets.back().dtype != p.dtype() ||
        (s.buckets.back().buffer.size() + bytes > options.bucket_bytes && !s.buckets.back().params.empty())) {
      s.buckets.emplace_back();
      s.buckets.back().dtype = p.dtype();
    }
    State::Bucket& b = s.buckets.back();
    b.params.push_back(k);
    b.buffer.resize(b.buffer.size() + bytes);
    s.bucket_of[k] = s.buckets.size() - 1;
  }
  s.ready.assign(s.params.size(), false);
  s.reset();
  for (std::size_t i = 0; i < s.params.size(); ++i)
    s.hooks.push_back(s.params[i].second.register_post_accumulate_grad_hook([&s, i](const Tensor&) { s.on_ready(i); }));
}

DistributedDataParallel::~DistributedDataParallel() {
  for (HookHandle& h : state_->hooks) h.remove();
  for (auto& b : state_->buckets)
    if (b.request != MPI_REQUEST_NULL) MPI_Wait(&b.request, MPI_STATUS_IGNORE);  // a buffer MPI still writes
}

void DistributedDataParallel::synchronize() {
  State& s = *state_;
  if (s.no_sync_depth > 0 || s.pg.size() == 1) return;
  stats_ = DataParallelStats{};
  stats_.buckets = s.buckets.size();
  stats_.started_in_backward = s.next_to_start;
  double finished = 0, total = 0;
  for (const State::Bucket& b : s.buckets) {
    total += static_cast<double>(b.buffer.size());
    if (b.finished) finished += static_cast<double>(b.buffer.size());
  }
  stats_.finished_in_backward = total > 0 ? finished / total : 0;
  std::vector<std::string> unused;
  for (std::size_t i = 0; i < s.params.size(); ++i)
    if (!s.ready[i]) unused.push_back(s.params[i].first);
  if (!unused.empty() && !s.options.find_unused_parameters) {
    std::ostringstream os;
    os << "DistributedDataParallel: " << unused.size() << " parameter(s) got no gradient in this backward (";
    for (std::size_t k = 0; k < unused.size() && k < 5; ++k) os << (k ? ", " : "") << "'" << unused[k] << "'";
    os << (unused.size() > 5 ? ", ..." : "")
       << "); the other ranks would wait for them forever. Pass find_unused_parameters = true if the model leaves "
          "some parameters out of a step";
    s.pg.abort(os.str());
  }
  for (State::Bucket& b : s.buckets) b.waiting = 0;  // unused ones count as zero (start() fills them)
  const auto t0 = std::chrono::steady_clock::now();
  s.advance();
  for (State::Bucket& b : s.buckets) MPI_Wait(&b.request, MPI_STATUS_IGNORE);
  stats_.wait_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double scale = 1.0 / s.pg.size();
  NoGradGuard no_grad;
  for (State::Bucket& b : s.buckets) {
    std::size_t at = 0;
    for (const std::size_t i : b.params) {
      Tensor& p = s.params[i].second;
      if (!p.grad().is_contiguous()) p.set_grad(p.grad().contiguous());
      Tensor g = p.grad();
      const std::size_t n = static_cast<std::size_t>(g.numel()) * dtype_size(g.dtype());
      std::memcpy(g.mutable_data_ptr(), b.buffer.data() + at, n);
      at += n;
      g.mul_(scale);
    }
  }
  if (!s.buffers.empty()) s.pg.broadcast(s.buffers);
  s.reset();
}

DistributedDataParallel::NoSync::NoSync(DistributedDataParallel& ddp) : ddp_(ddp) { ++ddp_.state_->no_sync_depth; }
DistributedDataParallel::NoSync::~NoSync() { --ddp_.state_->no_sync_depth; }

}  // namespace xg::dist
