// operator<<: values (xtensor's printer, which elides the middle of large
// tensors), then dtype and shape, and grad_fn when there is one.
#include <ostream>
#include <sstream>
#include <xtensor/xadapt.hpp>
#include <xtensor/xio.hpp>

#include "kernels.hpp"

namespace xg {

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "tensor(undefined)";
  std::vector<std::size_t> shape(t.shape().begin(), t.shape().end());
  os << "tensor(";
  detail::dispatch_all(t.dtype(), [&](auto z) {
    using T = decltype(z);
    const Tensor flat = detail::dense(t);  // a view prints its elements in row-major order
    const T* p = flat.data<T>();
    auto view = xt::adapt(p, static_cast<std::size_t>(t.numel()), xt::no_ownership(), shape);
    os << view;
  });
  os << ", dtype=" << t.dtype() << ", shape=" << t.shape();
  if (t.grad_fn()) os << ", grad_fn=" << t.grad_fn()->name();
  else if (t.requires_grad()) os << ", requires_grad=true";
  return os << ")";
}

std::string Tensor::str() const {
  std::ostringstream os;
  os << *this;
  return os.str();
}

}  // namespace xg
