// SyncBatchNorm and the differentiable allreduce it is built from
// (distributed.hpp): the global batch's mean and variance from per-rank sums,
// so autograd derives the backward (each allreduce's gradient is an allreduce).
#include <mpi.h>

#include "xgrad/autograd.hpp"
#include "xgrad/distributed.hpp"
#include "xgrad/function.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/ops_nn.hpp"

namespace xg::dist {
namespace {

struct AllReduceSum : Function<AllReduceSum> {
  static constexpr const char* name = "AllReduceSumBackward";
  static TensorList forward(AutogradContext&, const TensorList& in) {
    Tensor out = in[0].contiguous().clone();
    XG_CHECK(is_floating(out.dtype()), "all_reduce_sum", "expects a float tensor, got ", out.dtype());
    MPI_Allreduce(MPI_IN_PLACE, out.mutable_data_ptr(), static_cast<int>(out.numel()),
                  out.dtype() == Dtype::Float64 ? MPI_DOUBLE : MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    return {out};
  }
  static TensorList backward(AutogradContext&, const TensorList& g) { return {AllReduceSum::apply({g[0]})[0]}; }
};

}  // namespace

Tensor all_reduce_sum(const Tensor& t) { return AllReduceSum::apply({t})[0]; }

SyncBatchNorm::SyncBatchNorm(std::int64_t num_features, const ProcessGroup& pg, double eps, double momentum, bool affine)
    : nn::BatchNorm("SyncBatchNorm", 0, num_features, eps, momentum, affine), pg_(pg) {}

Tensor SyncBatchNorm::forward(const Tensor& x) {
  const std::int64_t channels = running_mean.numel();
  XG_CHECK(x.dim() >= 2 && x.size(1) == channels, "SyncBatchNorm", "expects input [N, ", channels, ", *], got ",
           x.shape());
  if (!is_training() || pg_.size() == 1) return nn::BatchNorm::forward(x);
  {
    NoGradGuard no_grad;
    num_batches_tracked.add_(1.0);
  }
  Dims reduce{0};
  Shape per_channel(static_cast<std::size_t>(x.dim()), 1);
  per_channel[1] = channels;
  for (std::int64_t d = 2; d < x.dim(); ++d) reduce.push_back(d);
  // Every rank's count, so ranks may hold batches of different sizes.
  const double count = all_reduce_sum(full({1}, static_cast<double>(x.numel() / channels), Dtype::Float64)).item<double>();
  XG_CHECK(count > 1, "SyncBatchNorm", "needs more than one value per channel over all ranks, got ", count);
  const Tensor mean = all_reduce_sum(sum(x, reduce)) / count;
  const Tensor centred = x - mean.reshape(per_channel);
  const Tensor var = all_reduce_sum(sum(centred * centred, reduce)) / count;  // biased, as normalisation uses
  Tensor y = centred * rsqrt(var + eps).reshape(per_channel);
  if (weight.defined()) y = y * weight.reshape(per_channel) + bias.reshape(per_channel);
  {
    NoGradGuard no_grad;  // the running variance is the unbiased one, as in BatchNorm
    running_mean.mul_(1.0 - momentum).add_(mean.detach() * momentum);
    running_var.mul_(1.0 - momentum).add_(var.detach() * (momentum * count / (count - 1)));
  }
  return y;
}

}  // namespace xg::dist
