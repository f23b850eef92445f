// interpolate: nearest and (bi/tri)linear resizing with PyTorch's sampling
// positions, built from index_select (whose gradient is index_add) and
// multiplications, so its gradients of every order come from those ops.
#include <cmath>
#include <string>
#include <vector>

#include "internal.hpp"
#include "op_samples.hpp"
#include "vmap.hpp"
#include "xgrad/ops_nn.hpp"

namespace xg {
namespace {

const char* mode_name(InterpolateMode m) {
  switch (m) {
    case InterpolateMode::Nearest: return "nearest";
    case InterpolateMode::Linear: return "linear";
    case InterpolateMode::Bilinear: return "bilinear";
    case InterpolateMode::Trilinear: return "trilinear";
  }
  return "?";
}

/// The input rank each mode reads; nearest takes any of them.
std::int64_t rank_of(InterpolateMode m) {
  switch (m) {
    case InterpolateMode::Linear: return 3;
    case InterpolateMode::Bilinear: return 4;
    case InterpolateMode::Trilinear: return 5;
    case InterpolateMode::Nearest: break;
  }
  return 0;
}

/// Where output sample j of one dim reads its input, in T's arithmetic as
/// torch computes it (float for float32, so boundaries round as they do there).
/// `scale` is in/out, or 1/scale_factor when the caller gave a factor.
template <class T>
void linear_sources(std::int64_t in, std::int64_t out, double scale, bool align_corners,
                    std::vector<std::int64_t>& lo, std::vector<std::int64_t>& hi, std::vector<double>& frac) {
  const T s = align_corners ? (out > 1 ? static_cast<T>(in - 1) / static_cast<T>(out - 1) : T(0)) : static_cast<T>(scale);
  for (std::int64_t j = 0; j < out; ++j) {
    T src = align_corners ? s * static_cast<T>(j) : s * (static_cast<T>(j) + T(0.5)) - T(0.5);
    if (src < T(0)) src = T(0);
    const auto i0 = static_cast<std::int64_t>(src);
    lo.push_back(i0);
    hi.push_back(i0 < in - 1 ? i0 + 1 : i0);
    frac.push_back(static_cast<double>(src - static_cast<T>(i0)));
  }
}

/// Resamples dim d of x to `out` samples.
Tensor resample(const Tensor& x, std::int64_t d, std::int64_t out, double scale, const InterpolateOptions& o) {
  const std::int64_t in = x.size(d);
  if (o.mode == InterpolateMode::Nearest) {
    // torch: floor(j · scale) in float, clamped to the last sample.
    std::vector<std::int64_t> src;
    const auto s = static_cast<float>(scale);
    for (std::int64_t j = 0; j < out; ++j)
      src.push_back(std::min(static_cast<std::int64_t>(std::floor(static_cast<float>(j) * s)), in - 1));
    return index_select(x, d, from_vector(src, Shape{out}));
  }
  std::vector<std::int64_t> lo, hi;
  std::vector<double> frac;
  const bool align = o.align_corners.value_or(false);
  if (x.dtype() == float32) linear_sources<float>(in, out, scale, align, lo, hi, frac);
  else linear_sources<double>(in, out, scale, align, lo, hi, frac);
  Shape along(static_cast<std::size_t>(x.dim()), 1);
  along[static_cast<std::size_t>(d)] = out;
  const Tensor lambda = from_vector(frac, along, x.dtype());
  return index_select(x, d, from_vector(lo, Shape{out})) * (1.0 - lambda) +
         index_select(x, d, from_vector(hi, Shape{out})) * lambda;
}

}  // namespace

Tensor interpolate(const Tensor& x, const InterpolateOptions& o) {
  if (detail::vmapping()) {
    if (auto r = detail::batch_rule("interpolate", {x}, detail::batch_of_rows(3, [&](const TensorList& in) { return interpolate(in[0], o); })))
      return *r;
  }
  const char* op = "interpolate";
  detail::check_defined(x, op);
  detail::check_float(x, op);
  const std::string mode = mode_name(o.mode);
  XG_CHECK(x.dim() >= 3 && x.dim() <= 5, op, "expects input [N, C, L], [N, C, H, W] or [N, C, D, H, W], got ", x.shape());
  XG_CHECK(rank_of(o.mode) == 0 || rank_of(o.mode) == x.dim(), op, "mode ", mode, " needs a ", rank_of(o.mode),
           "-d input, got ", x.shape());
  XG_CHECK(o.mode != InterpolateMode::Nearest || !o.align_corners.has_value(), op,
           "align_corners can only be set with the linear modes (linear, bilinear, trilinear), not nearest");
  XG_CHECK(o.size.empty() != o.scale_factor.empty(), op, "give exactly one of size and scale_factor, got ",
           o.size.empty() ? "neither" : "both");
  const auto spatial = static_cast<std::size_t>(x.dim() - 2);
  const std::vector<double>& factors = o.scale_factor;
  XG_CHECK(o.size.empty() || o.size.size() == spatial, op, "size ", o.size, " needs one value per spatial dim of ",
           x.shape(), " (", spatial, ")");
  XG_CHECK(factors.empty() || factors.size() == 1 || factors.size() == spatial, op, "scale_factor needs 1 or ", spatial,
           " values for input ", x.shape(), ", got ", factors.size());
  Tensor y = x;
  for (std::size_t k = 0; k < spatial; ++k) {
    const auto d = static_cast<std::int64_t>(k + 2);
    const std::int64_t in = x.size(d);
    XG_CHECK(in > 0, op, "cannot resample the empty dim ", d, " of ", x.shape());
    std::int64_t out;
    double scale;
    if (!o.size.empty()) {
      out = o.size[k];
      XG_CHECK(out > 0, op, "size ", o.size, " must be positive");
      scale = static_cast<double>(in) / static_cast<double>(out);
    } else {
      const double f = factors.size() == 1 ? factors[0] : factors[k];
      XG_CHECK(std::isfinite(f) && f > 0, op, "scale_factor must be positive and finite, got ", f);
      out = static_cast<std::int64_t>(std::floor(static_cast<double>(in) * f));
      XG_CHECK(out > 0, op, "scale_factor ", f, " leaves no samples of dim ", d, " (size ", in, ") of ", x.shape());
      scale = 1.0 / f;  // torch's default (recompute_scale_factor unset): the given factor, not in/out
    }
    if (out == in && scale == 1.0) continue;  // every output sample reads its own input sample
    y = resample(y, d, out, scale, o);
  }
  return y;
}

// ---------------------------------------------------------------- gradient-check samples
namespace detail {
std::vector<OpSample> samples_interpolate() {
  using L = const TensorList&;
  std::vector<OpSample> c;
  auto with = [](InterpolateMode m, Shape size, std::vector<double> factor, std::optional<bool> align) {
    InterpolateOptions o;
    o.mode = m;
    o.size = std::move(size);
    o.scale_factor = std::move(factor);
    o.align_corners = align;
    return o;
  };
  const InterpolateOptions nearest = with(InterpolateMode::Nearest, {5, 3}, {}, std::nullopt);
  const InterpolateOptions bilinear = with(InterpolateMode::Bilinear, {}, {2.0}, std::nullopt);
  const InterpolateOptions bilinear_aligned = with(InterpolateMode::Bilinear, {4, 7}, {}, true);
  const InterpolateOptions linear_down = with(InterpolateMode::Linear, {3}, {}, false);
  const InterpolateOptions trilinear = with(InterpolateMode::Trilinear, {}, {1.5, 2.0, 0.5}, std::nullopt);
  c.push_back({"interpolate nearest to size", [=](L x) { return interpolate(x[0], nearest); }, {Shape{1, 2, 3, 4}}});
  c.push_back({"interpolate bilinear x2", [=](L x) { return interpolate(x[0], bilinear); }, {Shape{2, 1, 3, 3}}});
  c.push_back({"interpolate bilinear align_corners", [=](L x) { return interpolate(x[0], bilinear_aligned); },
               {Shape{1, 2, 3, 4}}});
  c.push_back({"interpolate linear down", [=](L x) { return interpolate(x[0], linear_down); }, {Shape{2, 2, 7}}});
  c.push_back({"interpolate trilinear", [=](L x) { return interpolate(x[0], trilinear); }, {Shape{1, 1, 2, 3, 4}}});
  return c;
}
}  // namespace detail

}  // namespace xg
