// Pooling, NCHW: max and average over windows (stride, padding, dilation,
// ceil_mode, count_include_pad as in PyTorch) and their adaptive forms.
//
// Note [Pooling]
// Max pooling finds each window's first maximum (NaN wins, as in PyTorch)
// and gathers it with take(), whose backward sends each gradient to that
// element; second derivatives come with take. Average pooling is a direct
// loop over windows and its adjoint (each cell's gradient spread evenly
// over its window), each the other's gradient, so higher derivatives come
// for free too; a NaN stays in the windows that read it. Planes (n, c) split
// across threads: their outputs and (for the adjoint) inputs are their own.
#include <cmath>
#include <limits>
#include <vector>

#include "conv_geometry.hpp"
#include "op_samples.hpp"
#include "vmap.hpp"

namespace xg {

using detail::needs_grad;
using detail::Pair;

namespace {

/// A pooling's shape: planes of h×w in, oh×ow out, windows of kh×kw.
struct PoolShape {
  std::int64_t planes, h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow;
  bool ceil_mode;
};

/// PyTorch's output size: the last window must start inside the input or its left padding.
std::int64_t pooled_size(std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t p, std::int64_t d, bool ceil) {
  const std::int64_t span = in + 2 * p - d * (k - 1) - 1;
  if (span < 0) return 0;
  std::int64_t out = (span + (ceil ? s - 1 : 0)) / s + 1;
  if (ceil && (out - 1) * s >= in + p) --out;
  return out;
}

PoolShape pool_shape(const Tensor& x, Pair kernel, const Pool2dOptions& o, const char* op) {
  detail::check_defined(x, op);
  detail::check_float(x, op);
  XG_CHECK(x.dim() == 4, op, "expects an input [N, C, H, W], got ", x.shape());
  const Pair stride = o.stride.value_or(kernel);
  PoolShape p{x.size(0) * x.size(1), x.size(2), x.size(3), kernel.first, kernel.second, stride.first, stride.second,
              o.padding.first, o.padding.second, o.dilation.first, o.dilation.second, 0, 0, o.ceil_mode};
  XG_CHECK(p.kh > 0 && p.kw > 0 && p.sh > 0 && p.sw > 0 && p.dh > 0 && p.dw > 0 && p.ph >= 0 && p.pw >= 0, op,
           "kernel, stride and dilation must be positive and padding non-negative, got kernel ", p.kh, "x", p.kw,
           ", stride ", p.sh, "x", p.sw, ", padding ", p.ph, "x", p.pw, ", dilation ", p.dh, "x", p.dw);
  constexpr std::int64_t kMax = std::int64_t{1} << 31;
  XG_CHECK(p.kh < kMax && p.kw < kMax && p.sh < kMax && p.sw < kMax && p.ph < kMax && p.pw < kMax && p.dh < kMax &&
               p.dw < kMax,
           op, "kernel, stride, padding and dilation must each be below 2^31");
  // As in PyTorch: padding at most half the (dilated) kernel, so no window is all padding.
  XG_CHECK(2 * p.ph <= p.dh * (p.kh - 1) + 1 && 2 * p.pw <= p.dw * (p.kw - 1) + 1, op, "padding ", p.ph, "x", p.pw,
           " must be at most half the kernel ", p.kh, "x", p.kw, (p.dh > 1 || p.dw > 1 ? " (dilated)" : ""));
  p.oh = pooled_size(p.h, p.kh, p.sh, p.ph, p.dh, p.ceil_mode);
  p.ow = pooled_size(p.w, p.kw, p.sw, p.pw, p.dw, p.ceil_mode);
  XG_CHECK(p.oh > 0 && p.ow > 0, op, "input ", x.shape(), " is too small for a ", p.kh, "x", p.kw, " kernel (padding ",
           p.ph, "x", p.pw, ", dilation ", p.dh, "x", p.dw, ")");
  return p;
}

Shape pooled_shape(const Tensor& x, std::int64_t oh, std::int64_t ow) { return {x.size(0), x.size(1), oh, ow}; }

/// The common 2×2/2 window without NaN, branch-free so it vectorises along a
/// row (after ReLU the comparisons are coin flips). Ties go to the first in
/// row-major order, like torch.
template <class T>
Tensor max_pool_2x2(const T* p, const PoolShape& s) {
  Tensor index = detail::make_tensor(Shape{s.planes * s.oh * s.ow}, Dtype::Int64);
  std::int64_t* idx = index.data<std::int64_t>();
  parallel_for(s.planes, items_grain(s.h * s.w, kParallelGrainMemory), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t plane = begin; plane < end; ++plane)
      for (std::int64_t oy = 0; oy < s.oh; ++oy) {
        const std::int64_t r0 = plane * s.h * s.w + 2 * oy * s.w, r1 = r0 + s.w;
        std::int64_t* out = idx + (plane * s.oh + oy) * s.ow;
        for (std::int64_t ox = 0; ox < s.ow; ++ox) {
          const std::int64_t ia = r0 + 2 * ox, ic = r1 + 2 * ox;
          const T a = p[ia], b = p[ia + 1], c = p[ic], d = p[ic + 1];
          const std::int64_t i1 = ia + static_cast<std::int64_t>(b > a);
          const std::int64_t i2 = ic + static_cast<std::int64_t>(d > c);
          out[ox] = i1 + (i2 - i1) * static_cast<std::int64_t>(std::max(c, d) > std::max(a, b));
        }
      }
  });
  return index;
}

/// Window i along one axis: it starts at `start` (maybe in the padding) and
/// its kernel taps [k0, k1) land inside the input.
struct KernelSpan {
  std::int64_t start, k0, k1;
};
std::vector<KernelSpan> kernel_spans(std::int64_t out, std::int64_t stride, std::int64_t pad, std::int64_t dilation,
                                     std::int64_t k, std::int64_t in) {
  std::vector<KernelSpan> spans(static_cast<std::size_t>(out));
  for (std::int64_t i = 0; i < out; ++i) {
    const std::int64_t start = i * stride - pad;
    spans[static_cast<std::size_t>(i)] = {start, start < 0 ? (-start + dilation - 1) / dilation : 0,
                                          std::min(k, (in - start + dilation - 1) / dilation)};
  }
  return spans;
}

/// max_pool2d's flat index (into x) of each window's first maximum, NaN
/// winning, window by window. The taps of a window inside the image are
/// found from per-row and per-column tables made once per call (per window,
/// the divisions cost more than the compares), and a window's running
/// maximum stays in registers: a record changes ~2.8 times in 9 random
/// values, so a plain branch mispredicts less than a select chain costs.
template <class T>
Tensor max_pool_windows(const T* p, const PoolShape& s, bool finite) {
  Tensor index = detail::make_tensor(Shape{s.planes * s.oh * s.ow}, Dtype::Int64);
  std::int64_t* idx = index.data<std::int64_t>();
  const std::vector<KernelSpan> rows = kernel_spans(s.oh, s.sh, s.ph, s.dh, s.kh, s.h);
  const std::vector<KernelSpan> cols = kernel_spans(s.ow, s.sw, s.pw, s.dw, s.kw, s.w);
  const std::int64_t h = s.h, w = s.w, dh = s.dh, dw = s.dw, oh = s.oh, ow = s.ow;
  parallel_for(s.planes, items_grain(oh * ow * s.kh * s.kw, kParallelGrainMemory), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t plane = begin; plane < end; ++plane) {
      const T* image = p + plane * h * w;
      std::int64_t* out = idx + plane * oh * ow;
      for (std::int64_t oy = 0; oy < oh; ++oy) {
        const KernelSpan r = rows[static_cast<std::size_t>(oy)];
        for (std::int64_t ox = 0; ox < ow; ++ox) {
          const KernelSpan c = cols[static_cast<std::size_t>(ox)];
          std::int64_t best = (r.start + r.k0 * dh) * w + c.start + c.k0 * dw;
          if (finite) {
            // The maximum first (max instructions, no branch), then the
            // first tap holding it, scanning backwards with selects.
            T m = image[best];
            for (std::int64_t ki = r.k0; ki < r.k1; ++ki) {
              const T* row = image + (r.start + ki * dh) * w + c.start;
              for (std::int64_t kj = c.k0; kj < c.k1; ++kj) m = std::max(m, row[kj * dw]);
            }
            for (std::int64_t ki = r.k1 - 1; ki >= r.k0; --ki) {
              const std::int64_t row = (r.start + ki * dh) * w + c.start;
              for (std::int64_t kj = c.k1 - 1; kj >= c.k0; --kj) best = image[row + kj * dw] == m ? row + kj * dw : best;
            }
          } else {
            T bv = image[best];
            for (std::int64_t ki = r.k0; ki < r.k1; ++ki) {
              const std::int64_t row = (r.start + ki * dh) * w + c.start;
              for (std::int64_t kj = c.k0; kj < c.k1; ++kj) {
                const T v = image[row + kj * dw];
                // Ties keep the first; NaN wins (the last one), as PyTorch's loop.
                if (v > bv || v != v) {
                  bv = v;
                  best = row + kj * dw;
                }
              }
            }
          }
          out[oy * ow + ox] = plane * h * w + best;
        }
      }
    }
  });
  return index;
}

/// Flat index (into x) of each window's first maximum, NaN winning.
template <class T, class Window>
Tensor argmax_windows(const T* p, std::int64_t planes, std::int64_t h, std::int64_t w, std::int64_t oh, std::int64_t ow,
                      std::int64_t window_values, Window window) {
  Tensor index = detail::make_tensor(Shape{planes * oh * ow}, Dtype::Int64);
  std::int64_t* idx = index.data<std::int64_t>();
  parallel_for(planes, items_grain(oh * ow * window_values, kParallelGrainMemory), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t plane = begin; plane < end; ++plane) {
      const std::int64_t base = plane * h * w;
      for (std::int64_t oy = 0; oy < oh; ++oy)
        for (std::int64_t ox = 0; ox < ow; ++ox) {
          std::int64_t best = -1;
          T bv = T(0);
          window(oy, ox, [&](std::int64_t at) {
            // Ties keep the first; NaN wins (the last one), as PyTorch's loop. Branch-free:
            // on real activations which element wins is a coin flip.
            const T v = p[base + at];
            const bool wins = (best < 0) | (v > bv) | (v != v);
            best = wins ? base + at : best;
            bv = wins ? v : bv;
          });
          idx[(plane * oh + oy) * ow + ox] = best;
        }
    }
  });
  return index;
}

/// Average pooling's divisor and clipped window of output cell (oy, ox), as PyTorch's avg_pool2d.
struct AvgWindow {
  std::int64_t y0, y1, x0, x1, divisor;
};
AvgWindow avg_window(const PoolShape& s, bool count_include_pad, std::int64_t oy, std::int64_t ox) {
  std::int64_t y0 = oy * s.sh - s.ph, x0 = ox * s.sw - s.pw;
  std::int64_t y1 = std::min(y0 + s.kh, s.h + s.ph), x1 = std::min(x0 + s.kw, s.w + s.pw);
  const std::int64_t padded = (y1 - y0) * (x1 - x0);
  y0 = std::max<std::int64_t>(y0, 0), x0 = std::max<std::int64_t>(x0, 0);
  y1 = std::min(y1, s.h), x1 = std::min(x1, s.w);
  return {y0, y1, x0, x1, count_include_pad ? padded : (y1 - y0) * (x1 - x0)};
}

/// y[p, oy, ox] = Σ window / divisor (src [P, h, w]), or with `adjoint` its
/// transpose: each cell of src [P, oh, ow] spread back over its window.
Tensor avg_pool(const Tensor& src, const PoolShape& s, bool count_include_pad, bool adjoint) {
  const Tensor sd = detail::dense(src);
  Tensor dst = adjoint ? zeros(Shape{s.planes, s.h, s.w}, src.dtype()) : detail::make_tensor(Shape{s.planes, s.oh, s.ow}, src.dtype());
  detail::dispatch_float(src.dtype(), "avg_pool2d", [&](auto z) {
    using T = decltype(z);
    const T* in = sd.data<T>();
    T* out = dst.data<T>();
    parallel_for(s.planes, items_grain(s.oh * s.ow * s.kh * s.kw, kParallelGrainMemory), [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t p = begin; p < end; ++p)
        for (std::int64_t oy = 0; oy < s.oh; ++oy)
          for (std::int64_t ox = 0; ox < s.ow; ++ox) {
            const AvgWindow win = avg_window(s, count_include_pad, oy, ox);
            const std::int64_t cell = (p * s.oh + oy) * s.ow + ox;
            if (adjoint) {
              const T v = in[cell] / static_cast<T>(win.divisor);
              for (std::int64_t y = win.y0; y < win.y1; ++y)
                for (std::int64_t x = win.x0; x < win.x1; ++x) out[(p * s.h + y) * s.w + x] += v;
            } else {
              T acc = 0;
              for (std::int64_t y = win.y0; y < win.y1; ++y)
                for (std::int64_t x = win.x0; x < win.x1; ++x) acc += in[(p * s.h + y) * s.w + x];
              out[cell] = acc / static_cast<T>(win.divisor);
            }
          }
    });
  });
  if (needs_grad(src)) {
    make_node(dst, adjoint ? "AvgPool2dBackwardBackward" : "AvgPool2dBackward",
              [s, count_include_pad, adjoint](const Tensor& g, Node&) -> TensorList {
                return {avg_pool(g, s, count_include_pad, !adjoint)};
              }, src);
  }
  return dst;
}

/// Adaptive window i of `out` over `in` cells: [start, end), as in PyTorch.
std::pair<std::int64_t, std::int64_t> adaptive_window(std::int64_t i, std::int64_t in, std::int64_t out) {
  return {(i * in) / out, ((i + 1) * in + out - 1) / out};
}

/// With `adjoint` false: y[p, i, j] = mean of x[p] over window (i, j), x [P, h, w] -> y [P, oh, ow].
/// With `adjoint` true: the transpose, spreading y's cells evenly back over
/// their windows (the gradient of the mean). Each is the other's gradient.
Tensor adaptive_avg(const Tensor& src, std::int64_t h, std::int64_t w, std::int64_t oh, std::int64_t ow, bool adjoint) {
  const Tensor sd = detail::dense(src);
  const std::int64_t planes = src.size(0);
  Tensor dst = adjoint ? zeros(Shape{planes, h, w}, src.dtype()) : detail::make_tensor(Shape{planes, oh, ow}, src.dtype());
  detail::dispatch_float(src.dtype(), "adaptive_avg_pool2d", [&](auto z) {
    using T = decltype(z);
    const T* in = sd.data<T>();
    T* out = dst.data<T>();
    parallel_for(planes, items_grain(h * w, kParallelGrainMemory), [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t p = begin; p < end; ++p)
        for (std::int64_t i = 0; i < oh; ++i) {
          const auto [y0, y1] = adaptive_window(i, h, oh);
          for (std::int64_t j = 0; j < ow; ++j) {
            const auto [x0, x1] = adaptive_window(j, w, ow);
            const T scale = T(1) / static_cast<T>((y1 - y0) * (x1 - x0));
            const std::int64_t cell = (p * oh + i) * ow + j;
            if (adjoint) {
              const T v = in[cell] * scale;
              for (std::int64_t y = y0; y < y1; ++y)
                for (std::int64_t x = x0; x < x1; ++x) out[(p * h + y) * w + x] += v;
            } else {
              T acc = 0;
              for (std::int64_t y = y0; y < y1; ++y)
                for (std::int64_t x = x0; x < x1; ++x) acc += in[(p * h + y) * w + x];
              out[cell] = acc * scale;
            }
          }
        }
    });
  });
  if (needs_grad(src)) {
    make_node(dst, adjoint ? "AdaptiveAvgPool2dBackwardBackward" : "AdaptiveAvgPool2dBackward",
              [h, w, oh, ow, adjoint](const Tensor& g, Node&) -> TensorList {
                return {adaptive_avg(g, h, w, oh, ow, !adjoint)};
              }, src);
  }
  return dst;
}

void check_adaptive(const Tensor& x, Pair output_size, const char* op) {
  detail::check_defined(x, op);
  detail::check_float(x, op);
  XG_CHECK(x.dim() == 4, op, "expects an input [N, C, H, W], got ", x.shape());
  XG_CHECK(output_size.first > 0 && output_size.second > 0, op, "output size must be positive, got ", output_size.first,
           "x", output_size.second);
  XG_CHECK(x.size(2) > 0 && x.size(3) > 0, op, "expects an input with non-zero height and width, got ", x.shape());
}

}  // namespace

Tensor max_pool2d(const Tensor& x, Pair kernel, const Pool2dOptions& opts) {
  if (detail::vmapping()) {
    if (auto r = detail::batch_rule("max_pool2d", {x}, detail::batch_of_rows(4, [&](const TensorList& in) { return max_pool2d(in[0], kernel, opts); })))
      return *r;
  }
  const PoolShape s = pool_shape(x, kernel, opts, "max_pool2d");
  Tensor index = detail::dispatch_float(x.dtype(), "max_pool2d", [&](auto z) {
    using T = decltype(z);
    const Tensor xd = detail::dense(x);  // indices are row-major positions, as take() reads them
    const T* p = xd.data<T>();
    const bool plain_2x2 = s.kh == 2 && s.kw == 2 && s.sh == 2 && s.sw == 2 && s.ph == 0 && s.pw == 0 && s.dh == 1 &&
                           s.dw == 1 && 2 * s.oh <= s.h && 2 * s.ow <= s.w;
    const bool finite = !detail::has_non_finite(xd);
    if (plain_2x2 && finite) return max_pool_2x2(p, s);
    return max_pool_windows(p, s, finite);
  });
  return take(x, index.reshape(pooled_shape(x, s.oh, s.ow)));
}

Tensor max_pool2d(const Tensor& x, Pair kernel, std::optional<Pair> stride, Pair padding) {
  Pool2dOptions o;
  o.stride = stride;
  o.padding = padding;
  return max_pool2d(x, kernel, o);
}

Tensor avg_pool2d(const Tensor& x, Pair kernel, const Pool2dOptions& opts) {
  if (detail::vmapping()) {
    if (auto r = detail::batch_rule("avg_pool2d", {x}, detail::batch_of_rows(4, [&](const TensorList& in) { return avg_pool2d(in[0], kernel, opts); })))
      return *r;
  }
  const PoolShape s = pool_shape(x, kernel, opts, "avg_pool2d");
  XG_CHECK(opts.dilation.first == 1 && opts.dilation.second == 1, "avg_pool2d",
           "has no dilation (as in PyTorch), got ", opts.dilation.first, "x", opts.dilation.second);
  const Tensor planes = reshape(x, Shape{s.planes, s.h, s.w});
  return reshape(avg_pool(planes, s, opts.count_include_pad, false), pooled_shape(x, s.oh, s.ow));
}

Tensor avg_pool2d(const Tensor& x, Pair kernel, std::optional<Pair> stride, Pair padding) {
  Pool2dOptions o;
  o.stride = stride;
  o.padding = padding;
  return avg_pool2d(x, kernel, o);
}

Tensor adaptive_avg_pool2d(const Tensor& x, Pair output_size) {
  if (detail::vmapping()) {
    if (auto r = detail::batch_rule("adaptive_avg_pool2d", {x}, detail::batch_of_rows(4, [&](const TensorList& in) { return adaptive_avg_pool2d(in[0], output_size); })))
      return *r;
  }
  check_adaptive(x, output_size, "adaptive_avg_pool2d");
  const std::int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const Tensor y = adaptive_avg(reshape(x, Shape{n * c, h, w}), h, w, output_size.first, output_size.second, false);
  return reshape(y, Shape{n, c, output_size.first, output_size.second});
}

Tensor adaptive_max_pool2d(const Tensor& x, Pair output_size) {
  if (detail::vmapping()) {
    if (auto r = detail::batch_rule("adaptive_max_pool2d", {x}, detail::batch_of_rows(4, [&](const TensorList& in) { return adaptive_max_pool2d(in[0], output_size); })))
      return *r;
  }
  check_adaptive(x, output_size, "adaptive_max_pool2d");
  const std::int64_t planes = x.size(0) * x.size(1), h = x.size(2), w = x.size(3);
  const std::int64_t oh = output_size.first, ow = output_size.second;
  Tensor index = detail::dispatch_float(x.dtype(), "adaptive_max_pool2d", [&](auto z) {
    using T = decltype(z);
    const Tensor xd = detail::dense(x);
    const std::int64_t window = ((h + oh - 1) / oh + 1) * ((w + ow - 1) / ow + 1);
    return argmax_windows<T>(xd.data<T>(), planes, h, w, oh, ow, window, [&](std::int64_t i, std::int64_t j, auto visit) {
      const auto [y0, y1] = adaptive_window(i, h, oh);
      const auto [x0, x1] = adaptive_window(j, w, ow);
      for (std::int64_t y = y0; y < y1; ++y)
        for (std::int64_t xx = x0; xx < x1; ++xx) visit(y * w + xx);
    });
  });
  return take(x, index.reshape(pooled_shape(x, oh, ow)));
}

// ---------------------------------------------------------------- gradient-check samples
namespace detail {
std::vector<OpSample> samples_pool() {
  using L = const TensorList&;
  std::vector<OpSample> c;
  c.push_back({"max_pool2d", [](L x) { return max_pool2d(x[0], {2, 2}, std::make_pair(1, 2), {1, 1}); }, {{1, 2, 4, 4}}});
  Pool2dOptions dilated;
  dilated.stride = std::make_pair(2, 1);
  dilated.padding = {1, 1};
  dilated.dilation = {2, 2};
  dilated.ceil_mode = true;
  c.push_back({"max_pool2d dilation ceil_mode", [dilated](L x) { return max_pool2d(x[0], {3, 2}, dilated); }, {{2, 2, 6, 5}}});
  c.push_back({"avg_pool2d", [](L x) { return avg_pool2d(x[0], {3, 3}, std::make_pair(2, 2), {1, 1}); }, {{1, 2, 5, 4}}});
  Pool2dOptions exclusive;
  exclusive.stride = std::make_pair(2, 2);
  exclusive.padding = {1, 1};
  exclusive.ceil_mode = true;
  exclusive.count_include_pad = false;
  c.push_back({"avg_pool2d ceil_mode, count_include_pad false", [exclusive](L x) { return avg_pool2d(x[0], {3, 3}, exclusive); },
               {{2, 2, 6, 5}}});
  c.push_back({"adaptive_avg_pool2d", [](L x) { return adaptive_avg_pool2d(x[0], {2, 3}); }, {{1, 2, 5, 4}}});
  c.push_back({"adaptive_max_pool2d", [](L x) { return adaptive_max_pool2d(x[0], {3, 2}); }, {{2, 2, 7, 5}}});
  return c;
}
}  // namespace detail

}  // namespace xg
