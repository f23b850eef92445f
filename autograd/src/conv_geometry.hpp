#pragma once
// The geometry of a 2-d convolution or pooling window and the walk over the
// rows of its column (im2col) matrix, shared by the im2col/col2im ops
// (ops_conv.cpp) and the fused convolution kernels (kernels_conv.cpp).
#include <algorithm>
#include <cstring>

#include "kernels.hpp"
#include "xgrad/ops_nn.hpp"
#include "xgrad/parallel.hpp"

namespace xg::detail {

using Pair = std::pair<std::int64_t, std::int64_t>;

struct Geometry {
  std::int64_t n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow;
};

inline Geometry geometry(const Shape& image, Pair kernel, const Conv2dOptions& o, const char* op) {
  XG_CHECK(image.size() == 4, op, "expects an input [N, C, H, W], got ", image);
  Geometry g{image[0], image[1], image[2], image[3], kernel.first, kernel.second, o.stride.first, o.stride.second,
             o.padding.first, o.padding.second, o.dilation.first, o.dilation.second, 0, 0};
  XG_CHECK(g.kh > 0 && g.kw > 0 && g.sh > 0 && g.sw > 0 && g.dh > 0 && g.dw > 0 && g.ph >= 0 && g.pw >= 0, op,
           "kernel, stride and dilation must be positive and padding non-negative, got kernel ", g.kh, "x", g.kw,
           ", stride ", g.sh, "x", g.sw, ", padding ", g.ph, "x", g.pw, ", dilation ", g.dh, "x", g.dw);
  // Checked before any arithmetic: kernel, padding, stride and dilation come from the user.
  constexpr std::int64_t kMaxGeometry = std::int64_t{1} << 31;
  XG_CHECK(g.kh < kMaxGeometry && g.kw < kMaxGeometry && g.sh < kMaxGeometry && g.sw < kMaxGeometry &&
               g.ph < kMaxGeometry && g.pw < kMaxGeometry && g.dh < kMaxGeometry && g.dw < kMaxGeometry,
           op, "kernel, stride, padding and dilation must each be below 2^31, got kernel ", g.kh, "x", g.kw, ", stride ",
           g.sh, "x", g.sw, ", padding ", g.ph, "x", g.pw, ", dilation ", g.dh, "x", g.dw);
  g.oh = (g.h + 2 * g.ph - g.dh * (g.kh - 1) - 1) / g.sh + 1;
  g.ow = (g.w + 2 * g.pw - g.dw * (g.kw - 1) - 1) / g.sw + 1;
  XG_CHECK(g.oh > 0 && g.ow > 0 && g.h + 2 * g.ph >= g.dh * (g.kh - 1) + 1 && g.w + 2 * g.pw >= g.dw * (g.kw - 1) + 1, op,
           "input ", image, " is too small for a ", g.kh, "x", g.kw, " kernel (padding ", g.ph, "x", g.pw, ", dilation ",
           g.dh, "x", g.dw, ")");
  return g;
}

/// One column row from an image row: out[0, lo) and out[hi, ow) are padding.
template <class T>
void copy_patch_row(const T* src, T* out, std::int64_t img, std::int64_t lo, std::int64_t hi, std::int64_t ix0,
                    std::int64_t sw, std::int64_t ow) {
  if (lo > 0) std::memset(out, 0, sizeof(T) * static_cast<std::size_t>(lo));
  const T* in = src + img + ix0;
  if (sw == 1) {
    if (hi > lo) std::memcpy(out + lo, in + lo, sizeof(T) * static_cast<std::size_t>(hi - lo));
  } else {
    for (std::int64_t ox = lo; ox < hi; ++ox) out[ox] = in[ox * sw];
  }
  if (ow > hi) std::memset(out + hi, 0, sizeof(T) * static_cast<std::size_t>(ow - hi));
}

/// Its adjoint: the row's valid columns added back into the image row.
template <class T>
void add_patch_row(const T* in, T* dst, std::int64_t img, std::int64_t lo, std::int64_t hi, std::int64_t ix0,
                   std::int64_t sw) {
  T* out = dst + img + ix0;
  if (sw == 1) {
    for (std::int64_t ox = lo; ox < hi; ++ox) out[ox] += in[ox];
  } else {
    for (std::int64_t ox = lo; ox < hi; ++ox) out[ox * sw] += in[ox];
  }
}

/// Walks the column rows of image n's channel c: for each (ki, kj, oy) calls
/// f(col, img, ox_lo, ox_hi, ix0), where columns ox in [ox_lo, ox_hi) read
/// image column ix0 + ox·sw of the flat image row starting at img (-1: the
/// whole row is padding) and the rest of the row is padding. col is where the
/// row starts in the column matrix: [C·kh·kw, N·L] with `batched` (all images
/// side by side), [N, C·kh·kw, L] without, or image n's own [C·kh·kw, L]
/// with `single_image`.
template <class F>
void for_each_patch_row_of_plane(const Geometry& g, std::int64_t n, std::int64_t c, bool batched, bool single_image, F&& f) {
  const std::int64_t L = g.oh * g.ow, rows = g.c * g.kh * g.kw;
  for (std::int64_t ki = 0; ki < g.kh; ++ki)
    for (std::int64_t kj = 0; kj < g.kw; ++kj) {
      const std::int64_t row = (c * g.kh + ki) * g.kw + kj;
      const std::int64_t ix0 = kj * g.dw - g.pw;  // image column of ox = 0
      // Valid ox: 0 <= ix0 + ox·sw < w, within [0, ow). Both ends are
      // clamped to ow: with wide padding and dilation a whole kernel
      // column can lie in the padding, and the row must not be overrun.
      const std::int64_t lo = std::min(g.ow, ix0 >= 0 ? 0 : (-ix0 + g.sw - 1) / g.sw);
      const std::int64_t hi = std::max(lo, std::min(g.ow, (g.w - ix0 + g.sw - 1) / g.sw));
      for (std::int64_t oy = 0; oy < g.oh; ++oy) {
        const std::int64_t iy = oy * g.sh - g.ph + ki * g.dh;
        const std::int64_t start = single_image ? row * L : batched ? row * g.n * L + n * L : (n * rows + row) * L;
        const std::int64_t img = iy >= 0 && iy < g.h ? ((n * g.c + c) * g.h + iy) * g.w : -1;
        f(start + oy * g.ow, img, img < 0 ? 0 : lo, img < 0 ? 0 : hi, ix0);
      }
    }
}

/// The same over every (n, c) plane, the planes split across threads: each
/// plane's column rows and image rows belong to it alone, so im2col's writes
/// and col2im's sums never meet, and each plane is summed in the same order
/// on any thread count.
template <class F>
void for_each_patch_row(const Geometry& g, bool batched, F f) {
  parallel_for(g.n * g.c, items_grain(g.kh * g.kw * g.oh * g.ow), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t plane = begin; plane < end; ++plane) for_each_patch_row_of_plane(g, plane / g.c, plane % g.c, batched, false, f);
  });
}

/// Copies image n's patches into cols [C·kh·kw, L] (zeros for padding), or,
/// adding, the adjoint: cols summed back into image n (col2im).
template <class T>
void patches_of_image(const Geometry& g, std::int64_t n, const T* image, T* cols) {
  for (std::int64_t c = 0; c < g.c; ++c)
    for_each_patch_row_of_plane(g, n, c, false, true, [&](std::int64_t col, std::int64_t img, std::int64_t lo, std::int64_t hi, std::int64_t ix0) {
      copy_patch_row(image, cols + col, img, lo, hi, ix0, g.sw, g.ow);
    });
}
template <class T>
void add_patches_into_image(const Geometry& g, std::int64_t n, const T* cols, T* image) {
  for (std::int64_t c = 0; c < g.c; ++c)
    for_each_patch_row_of_plane(g, n, c, false, true, [&](std::int64_t col, std::int64_t img, std::int64_t lo, std::int64_t hi, std::int64_t ix0) {
      add_patch_row(cols + col, image, img, lo, hi, ix0, g.sw);
    });
}

}  // namespace xg::detail
