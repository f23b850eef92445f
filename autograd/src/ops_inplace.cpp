// In-place ops. They bump the storage version, so a tensor saved for
// backward that is changed afterwards is caught at backward time
// (SavedTensor::unpack). They are not recorded in the graph: in grad mode
// they refuse tensors that require grad (use them under NoGradGuard, as
// optimizers do, or on plain tensors).
#include <cstring>

#include "kernels.hpp"

namespace xg {
namespace {

void check_inplace(const Tensor& self, const Tensor* other, const char* op) {
  detail::check_defined(self, op);
  if (!GradMode::is_enabled()) return;
  XG_CHECK(!self.requires_grad(), op, "cannot modify a tensor that requires grad (", self.dtype(), self.shape(),
           self.is_leaf() ? ", a leaf" : ", computed by ", self.is_leaf() ? "" : self.grad_fn()->name(),
           ") in place while grad mode is on; wrap the update in xg::NoGradGuard or use the out-of-place op");
  XG_CHECK(other == nullptr || !other->requires_grad(), op, "in-place ops are not recorded by autograd, but the "
           "argument requires grad; use the out-of-place op");
}

bool broadcasts_to(const Shape& from, const Shape& to) {
  if (from.size() > to.size()) return false;
  const std::size_t lead = to.size() - from.size();
  for (std::size_t d = 0; d < from.size(); ++d)
    if (from[d] != 1 && from[d] != to[d + lead]) return false;
  return true;
}

void bump(Tensor& t) { ++t.impl()->storage->version; }

}  // namespace

Tensor& Tensor::add_(const Tensor& other, double alpha) {
  check_inplace(*this, &other, "add_");
  detail::add_inplace_kernel(*this, other, alpha, "add_");
  bump(*this);
  return *this;
}

Tensor& Tensor::sub_(const Tensor& other, double alpha) { return add_(other, -alpha); }

Tensor& Tensor::mul_(const Tensor& other) {
  check_inplace(*this, &other, "mul_");
  detail::mul_inplace_kernel(*this, other, "mul_");
  bump(*this);
  return *this;
}

Tensor& Tensor::div_(const Tensor& other) {
  check_inplace(*this, &other, "div_");
  detail::div_inplace_kernel(*this, other, "div_");
  bump(*this);
  return *this;
}

Tensor& Tensor::mul_(double s) {
  check_inplace(*this, nullptr, "mul_");
  detail::dispatch_float(dtype(), "mul_", [](auto) {});
  detail::scalar_inplace_kernel(*this, s, 0.0);
  bump(*this);
  return *this;
}

Tensor& Tensor::add_(double s) {
  check_inplace(*this, nullptr, "add_");
  detail::scalar_inplace_kernel(*this, 1.0, s);
  bump(*this);
  return *this;
}

Tensor& Tensor::zero_() { return fill_(0.0); }

Tensor& Tensor::fill_(double value) {
  check_inplace(*this, nullptr, "fill_");
  detail::scalar_inplace_kernel(*this, 0.0, value);
  bump(*this);
  return *this;
}

Tensor& Tensor::copy_(const Tensor& src) {
  check_inplace(*this, &src, "copy_");
  detail::check_defined(src, "copy_");
  Tensor s = src.detach().to(dtype());
  XG_CHECK(broadcasts_to(s.shape(), shape()), "copy_", "cannot copy shape ", src.shape(), " into shape ", shape());
  if (s.shape() != shape()) s = xg::expand(s, shape());
  if (s.impl()->storage != impl()->storage)
    std::memcpy(impl()->storage->data, s.impl()->storage->data, static_cast<std::size_t>(numel()) * dtype_size(dtype()));
  bump(*this);
  return *this;
}

Tensor& Tensor::clamp_(double lo, double hi) {
  check_inplace(*this, nullptr, "clamp_");
  Tensor c = detail::clamp_kernel(*this, lo, hi, "clamp_");
  std::memcpy(impl()->storage->data, c.impl()->storage->data, static_cast<std::size_t>(numel()) * dtype_size(dtype()));
  bump(*this);
  return *this;
}

}  // namespace xg
