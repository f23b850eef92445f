// The method spellings of the free ops (x.sum(1), x.softmax(-1), x[0], ...):
// each is one call into ops.hpp / ops_nn.hpp, so it is the same op, the same
// node and the same error message as the free function.
#include "xgrad/ops.hpp"
#include "xgrad/ops_nn.hpp"
#include "xgrad/tensor.hpp"

namespace xg {

Tensor Tensor::sum() const { return xg::sum(*this); }
Tensor Tensor::sum(const Dims& dims, bool keepdim) const { return xg::sum(*this, dims, keepdim); }
Tensor Tensor::mean() const { return xg::mean(*this); }
Tensor Tensor::mean(const Dims& dims, bool keepdim) const { return xg::mean(*this, dims, keepdim); }
Tensor Tensor::max() const { return xg::max(*this); }
Tensor Tensor::min() const { return xg::min(*this); }
Tensor Tensor::reshape(const Shape& s) const { return xg::reshape(*this, s); }
Tensor Tensor::flatten(std::int64_t s, std::int64_t e) const { return xg::flatten(*this, s, e); }
Tensor Tensor::transpose(std::int64_t a, std::int64_t b) const { return xg::transpose(*this, a, b); }
Tensor Tensor::t() const {
  XG_CHECK(dim() <= 2, "t", "expects a tensor with <= 2 dims, got shape ", shape());
  return dim() < 2 ? *this : xg::transpose(*this, 0, 1);
}
Tensor Tensor::permute(const Dims& o) const { return xg::permute(*this, o); }
Tensor Tensor::squeeze() const { return xg::squeeze(*this); }
Tensor Tensor::squeeze(std::int64_t d) const { return xg::squeeze(*this, d); }
Tensor Tensor::unsqueeze(std::int64_t d) const { return xg::unsqueeze(*this, d); }
Tensor Tensor::expand(const Shape& s) const { return xg::expand(*this, s); }
Tensor Tensor::narrow(std::int64_t d, std::int64_t s, std::int64_t l) const { return xg::narrow(*this, d, s, l); }
Tensor Tensor::select(std::int64_t d, std::int64_t i) const { return xg::select(*this, d, i); }
Tensor Tensor::matmul(const Tensor& o) const { return xg::matmul(*this, o); }
Tensor Tensor::pow(double p) const { return xg::pow(*this, p); }
Tensor Tensor::exp() const { return xg::exp(*this); }
Tensor Tensor::log() const { return xg::log(*this); }
Tensor Tensor::sqrt() const { return xg::sqrt(*this); }
Tensor Tensor::abs() const { return xg::abs(*this); }
Tensor Tensor::tanh() const { return xg::tanh(*this); }
Tensor Tensor::sigmoid() const { return xg::sigmoid(*this); }
Tensor Tensor::relu() const { return xg::relu(*this); }

Tensor Tensor::argmax() const { return xg::argmax(*this); }
Tensor Tensor::argmax(std::int64_t d, bool keepdim) const { return xg::argmax(*this, d, keepdim); }
Tensor Tensor::argmin() const { return xg::argmin(*this); }
Tensor Tensor::argmin(std::int64_t d, bool keepdim) const { return xg::argmin(*this, d, keepdim); }
Tensor Tensor::var(const Dims& d, bool k, std::int64_t c) const { return xg::var(*this, d, k, c); }
Tensor Tensor::std(const Dims& d, bool k, std::int64_t c) const { return xg::std_dev(*this, d, k, c); }
Tensor Tensor::any() const { return xg::any(*this); }
Tensor Tensor::all() const { return xg::all(*this); }
Tensor Tensor::cumsum(std::int64_t d) const { return xg::cumsum(*this, d); }
Tensor Tensor::logsumexp(const Dims& d, bool k) const { return xg::logsumexp(*this, d, k); }
Tensor Tensor::softmax(std::int64_t d) const { return xg::softmax(*this, d); }
Tensor Tensor::log_softmax(std::int64_t d) const { return xg::log_softmax(*this, d); }
Tensor Tensor::mm(const Tensor& o) const {
  XG_CHECK(dim() == 2 && o.dim() == 2, "mm", "expects two 2-d tensors, got shapes ", shape(), " and ", o.shape(),
           " (matmul takes other ranks)");
  return xg::matmul(*this, o);
}
Tensor Tensor::pow(const Tensor& e) const { return xg::pow(*this, e); }
Tensor Tensor::expm1() const { return xg::expm1(*this); }
Tensor Tensor::log1p() const { return xg::log1p(*this); }
Tensor Tensor::rsqrt() const { return xg::rsqrt(*this); }
Tensor Tensor::square() const { return xg::square(*this); }
Tensor Tensor::neg() const { return xg::neg(*this); }
Tensor Tensor::sign() const { return xg::sign(*this); }
Tensor Tensor::sin() const { return xg::sin(*this); }
Tensor Tensor::cos() const { return xg::cos(*this); }
Tensor Tensor::tan() const { return xg::tan(*this); }
Tensor Tensor::asin() const { return xg::asin(*this); }
Tensor Tensor::acos() const { return xg::acos(*this); }
Tensor Tensor::atan() const { return xg::atan(*this); }
Tensor Tensor::sinh() const { return xg::sinh(*this); }
Tensor Tensor::cosh() const { return xg::cosh(*this); }
Tensor Tensor::reciprocal() const { return xg::reciprocal(*this); }
Tensor Tensor::floor() const { return xg::floor(*this); }
Tensor Tensor::ceil() const { return xg::ceil(*this); }
Tensor Tensor::round() const { return xg::round(*this); }
Tensor Tensor::trunc() const { return xg::trunc(*this); }
Tensor Tensor::atan2(const Tensor& o) const { return xg::atan2(*this, o); }
Tensor Tensor::flip(const Dims& dims) const { return xg::flip(*this, dims); }
Tensor Tensor::roll(std::int64_t shift, std::int64_t dim) const { return xg::roll(*this, shift, dim); }
Tensor Tensor::repeat(const Shape& repeats) const { return xg::repeat(*this, repeats); }
Tensor Tensor::tile(const Shape& repeats) const { return xg::tile(*this, repeats); }
Tensor Tensor::cumprod(std::int64_t dim) const { return xg::cumprod(*this, dim); }
Tensor Tensor::norm(double p, const Dims& dims, bool keepdim) const { return xg::norm(*this, p, dims, keepdim); }
std::tuple<Tensor, Tensor> Tensor::sort(std::int64_t dim, bool descending) const { return xg::sort(*this, dim, descending); }
Tensor Tensor::argsort(std::int64_t dim, bool descending) const { return xg::argsort(*this, dim, descending); }
std::tuple<Tensor, Tensor> Tensor::topk(std::int64_t k, std::int64_t dim, bool largest, bool sorted) const {
  return xg::topk(*this, k, dim, largest, sorted);
}
Tensor Tensor::clamp(double lo, double hi) const { return xg::clamp(*this, lo, hi); }
Tensor Tensor::clamp_min(double lo) const { return xg::clamp_min(*this, lo); }
Tensor Tensor::clamp_max(double hi) const { return xg::clamp_max(*this, hi); }
Tensor Tensor::where(const Tensor& c, const Tensor& o) const { return xg::where(c, *this, o); }
Tensor Tensor::masked_fill(const Tensor& m, double v) const { return xg::masked_fill(*this, m, v); }
Tensor Tensor::index_select(std::int64_t d, const Tensor& i) const { return xg::index_select(*this, d, i); }
Tensor Tensor::gather(std::int64_t d, const Tensor& i) const { return xg::gather(*this, d, i); }
Tensor Tensor::triu(std::int64_t d) const { return xg::triu(*this, d); }
Tensor Tensor::tril(std::int64_t d) const { return xg::tril(*this, d); }
Tensor Tensor::eq(const Tensor& o) const { return xg::eq(*this, o); }
Tensor Tensor::ne(const Tensor& o) const { return xg::ne(*this, o); }
Tensor Tensor::lt(const Tensor& o) const { return xg::lt(*this, o); }
Tensor Tensor::le(const Tensor& o) const { return xg::le(*this, o); }
Tensor Tensor::gt(const Tensor& o) const { return xg::gt(*this, o); }
Tensor Tensor::ge(const Tensor& o) const { return xg::ge(*this, o); }
Tensor Tensor::logical_not() const { return xg::logical_not(*this); }
Tensor Tensor::logical_and(const Tensor& o) const { return xg::logical_and(*this, o); }
Tensor Tensor::logical_or(const Tensor& o) const { return xg::logical_or(*this, o); }

namespace {
// torch.max(x, dim): the index of the first extremum (NaN counts as one), and
// the value gathered at it, so the gradient goes to that one element.
std::tuple<Tensor, Tensor> extremum_along(const Tensor& x, std::int64_t dim, bool keepdim, bool is_max) {
  Tensor index = is_max ? xg::argmax(x, dim, true) : xg::argmin(x, dim, true);
  if (x.dim() == 0) return {x.clone(), index};
  Tensor value = xg::gather(x, dim, index);
  if (keepdim) return {value, index};
  return {xg::squeeze(value, dim), xg::squeeze(index, dim)};
}
}  // namespace

std::tuple<Tensor, Tensor> Tensor::max_along(std::int64_t d, bool k) const { return extremum_along(*this, d, k, true); }
std::tuple<Tensor, Tensor> Tensor::min_along(std::int64_t d, bool k) const { return extremum_along(*this, d, k, false); }

}  // namespace xg
