// Sorting and sampling. sort and topk find int64 indices and read the values
// with gather, so the values' gradient is gather's (a scatter_add of g) and
// every order of derivative works. NaN sorts as the largest value, as in torch.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "kernels.hpp"
#include "xgrad/ops_nn.hpp"
#include "op_samples.hpp"
#include "vmap.hpp"

namespace xg {

namespace {

/// For each slice along d, the indices of its first k elements in sorted
/// order (ascending, or descending); ties keep their original order.
Tensor sorted_indices(const Tensor& x_in, std::int64_t d, std::int64_t k, bool descending, const char* op) {
  XG_CHECK(x_in.dtype() != Dtype::Bool, op, "cannot sort a bool tensor ", x_in.shape(), " (convert with .to(xg::int64))");
  const Tensor x = detail::dense(x_in);
  Shape out_shape = x.shape();
  if (x.dim() > 0) out_shape[static_cast<std::size_t>(d)] = k;
  Tensor out = detail::make_tensor(out_shape, Dtype::Int64);
  if (out.numel() == 0) return out;
  std::int64_t outer = 1, n = 1, inner = 1;
  if (x.dim() > 0) detail::split_around(x.shape(), d, outer, n, inner);
  std::int64_t* q = out.data<std::int64_t>();
  detail::dispatch_numeric(x.dtype(), op, [&](auto z) {
    using T = decltype(z);
    const T* p = x.data<T>();
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    for (std::int64_t o = 0; o < outer; ++o) {
      for (std::int64_t i = 0; i < inner; ++i) {
        const T* col = p + o * n * inner + i;
        // "a before b": NaN counts as larger than every number.
        auto before = [&](std::int64_t a, std::int64_t b) {
          const T va = col[a * inner], vb = col[b * inner];
          const bool a_nan = va != va, b_nan = vb != vb;
          if (a_nan || b_nan) return descending ? a_nan && !b_nan : b_nan && !a_nan;
          return descending ? va > vb : va < vb;
        };
        std::iota(order.begin(), order.end(), std::int64_t{0});
        if (k == n)
          std::stable_sort(order.begin(), order.end(), before);
        else  // stable on ties too: the index breaks them
          std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](std::int64_t a, std::int64_t b) {
            return before(a, b) || (!before(b, a) && a < b);
          });
        std::int64_t* dst = q + o * k * inner + i;
        for (std::int64_t j = 0; j < k; ++j) dst[j * inner] = order[static_cast<std::size_t>(j)];
      }
    }
  });
  return out;
}

std::int64_t sort_dim(const Tensor& x, std::int64_t dim, const char* op) {
  detail::check_defined(x, op);
  return x.dim() == 0 ? 0 : detail::wrap_dim(dim, x.dim(), op);
}

/// gather along d, for a 0-d x too (where the only index is 0).
Tensor values_at(const Tensor& x, std::int64_t d, const Tensor& indices) {
  return x.dim() == 0 ? x.clone() : gather(x, d, indices);
}

}  // namespace

std::tuple<Tensor, Tensor> sort(const Tensor& x, std::int64_t dim, bool descending) {
  if (detail::vmapping()) {
    if (auto r = detail::batch_rule("sort", {x}, [&](const detail::BatchArgs& a) {
          auto [values, indices] = sort(a.x[0], a.dim(0, dim, "sort"), descending);
          return TensorList{values, indices};
        }))
      return {(*r)[0], (*r)[1]};
  }
  const std::int64_t d = sort_dim(x, dim, "sort");
  Tensor indices = sorted_indices(x, d, x.dim() == 0 ? 1 : x.size(d), descending, "sort");
  return {values_at(x, d, indices), indices};
}

Tensor argsort(const Tensor& x, std::int64_t dim, bool descending) {
  XG_BATCHED_UNARY("argsort", x, argsort(p, bdim(dim), descending))
  const std::int64_t d = sort_dim(x, dim, "argsort");
  return sorted_indices(x, d, x.dim() == 0 ? 1 : x.size(d), descending, "argsort");
}

std::tuple<Tensor, Tensor> topk(const Tensor& x, std::int64_t k, std::int64_t dim, bool largest, bool sorted) {
  if (detail::vmapping()) {
    if (auto r = detail::batch_rule("topk", {x}, [&](const detail::BatchArgs& a) {
          auto [values, indices] = topk(a.x[0], k, a.dim(0, dim, "topk"), largest, sorted);
          return TensorList{values, indices};
        }))
      return {(*r)[0], (*r)[1]};
  }
  const std::int64_t d = sort_dim(x, dim, "topk");
  const std::int64_t n = x.dim() == 0 ? 1 : x.size(d);
  XG_CHECK(k >= 0 && k <= n, "topk", "k = ", k, " is out of range for dim ", d, " of size ", n, " (shape ", x.shape(),
           ")");
  // Always sorted: torch leaves the order unspecified when sorted = false, so sorted is a valid answer.
  Tensor indices = sorted_indices(x, d, k, largest, "topk");
  return {values_at(x, d, indices), indices};
}

Tensor multinomial(const Tensor& probs, std::int64_t num_samples, bool replacement) {
  detail::check_defined(probs, "multinomial");
  detail::check_float(probs, "multinomial");
  XG_CHECK(probs.dim() == 1 || probs.dim() == 2, "multinomial", "expects 1-d or 2-d probabilities, got shape ",
           probs.shape());
  const std::int64_t categories = probs.size(-1), rows = probs.dim() == 2 ? probs.size(0) : 1;
  XG_CHECK(num_samples > 0, "multinomial", "num_samples must be positive, got ", num_samples);
  XG_CHECK(replacement || num_samples <= categories, "multinomial", "cannot draw ", num_samples,
           " samples without replacement from ", categories, " categories");
  const std::vector<double> w = probs.to_vector<double>();
  std::vector<std::int64_t> out(static_cast<std::size_t>(rows * num_samples));
  std::vector<double> row(static_cast<std::size_t>(categories)), cdf(static_cast<std::size_t>(categories));
  for (std::int64_t r = 0; r < rows; ++r) {
    std::int64_t positive = 0;
    for (std::int64_t c = 0; c < categories; ++c) {
      const double v = w[static_cast<std::size_t>(r * categories + c)];
      XG_CHECK(std::isfinite(v) && v >= 0, "multinomial", "probabilities must be finite and non-negative, got ", v,
               " at row ", r, ", category ", c);
      row[static_cast<std::size_t>(c)] = v;
      positive += v > 0;
    }
    XG_CHECK(positive > 0, "multinomial", "row ", r, " of probabilities ", probs.shape(), " sums to 0");
    XG_CHECK(replacement || positive >= num_samples, "multinomial", "row ", r, " has ", positive,
             " categories with nonzero probability, too few to draw ", num_samples, " without replacement");
    for (std::int64_t s = 0; s < num_samples; ++s) {
      std::partial_sum(row.begin(), row.end(), cdf.begin());
      const double u = random_uniform() * cdf.back();
      // The first category whose running total exceeds u; never one of weight 0.
      std::int64_t c = std::upper_bound(cdf.begin(), cdf.end(), u) - cdf.begin();
      c = std::min(c, categories - 1);
      while (row[static_cast<std::size_t>(c)] == 0) --c;  // u rounded onto the very end
      out[static_cast<std::size_t>(r * num_samples + s)] = c;
      if (!replacement) row[static_cast<std::size_t>(c)] = 0;
    }
  }
  Shape shape = probs.dim() == 2 ? Shape{rows, num_samples} : Shape{num_samples};
  return from_vector(out, shape);
}

// ---------------------------------------------------------------- gradient-check samples
// This family's rows of the op registry (op_registry.hpp). Random inputs have
// no ties, so the order (and so the gradient) is the same at x ± ε.
namespace detail {
std::vector<OpSample> samples_sort() {
  using L = const TensorList&;
  std::vector<OpSample> c;
  c.push_back({"sort", [](L x) { return std::get<0>(sort(x[0], 1)); }, {{2, 5, 3}}});
  c.push_back({"sort descending", [](L x) { return std::get<0>(sort(x[0].transpose(0, 1), -1, true)); }, {{4, 3}}});
  c.push_back({"topk", [](L x) { return std::get<0>(topk(x[0], 2, 0)); }, {{5, 3}}});
  c.push_back({"topk smallest", [](L x) { return std::get<0>(topk(x[0], 3, -1, false)); }, {{2, 6}}});
  return c;
}
}  // namespace detail

}  // namespace xg
