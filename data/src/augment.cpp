#include "xgrad/data/augment.hpp"

#include <algorithm>

#include "xgrad/error.hpp"
#include "xgrad/ops.hpp"

namespace xg::data {
namespace {

/// SplitMix64: a well-mixed 64-bit value from a counter.
std::uint64_t mix(std::uint64_t z) {
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

Tensor random_shift_flip(const Tensor& images, std::int64_t padding, bool flip, std::uint64_t seed) {
  XG_CHECK(images.defined() && images.dim() == 4, "random_shift_flip", "expects images [N, C, H, W], got ",
           images.defined() ? images.shape() : Shape{});
  XG_CHECK(images.dtype() == Dtype::Float32 || images.dtype() == Dtype::Float64, "random_shift_flip",
           "expects float32 or float64 images, got ", images.dtype());
  XG_CHECK(padding >= 0 && padding <= std::max(images.size(2), images.size(3)), "random_shift_flip", "padding ", padding,
           " must be in [0, the image's larger side] for images ", images.shape());
  const Tensor x = images.contiguous();
  const std::int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3), span = 2 * padding + 1;
  Tensor out = zeros(x.shape(), x.dtype());
  auto run = [&](auto z) {
    using T = decltype(z);
    const T* in = x.data<T>();
    T* o = out.data<T>();
    for (std::int64_t i = 0; i < n; ++i) {
      const std::uint64_t r = mix(seed ^ mix(static_cast<std::uint64_t>(i)));
      const std::int64_t dy = static_cast<std::int64_t>(r % static_cast<std::uint64_t>(span)) - padding;
      const std::int64_t dx = static_cast<std::int64_t>((r >> 20) % static_cast<std::uint64_t>(span)) - padding;
      const bool mirror = flip && ((r >> 40) & 1U);
      // out[y, x] = in[y + dy, x + dx] (zero outside), then mirrored.
      for (std::int64_t ch = 0; ch < c; ++ch) {
        const T* src = in + (i * c + ch) * h * w;
        T* dst = o + (i * c + ch) * h * w;
        for (std::int64_t y = std::max<std::int64_t>(0, -dy); y < std::min(h, h - dy); ++y)
          for (std::int64_t col = std::max<std::int64_t>(0, -dx); col < std::min(w, w - dx); ++col)
            dst[y * w + (mirror ? w - 1 - col : col)] = src[(y + dy) * w + col + dx];
      }
    }
  };
  if (x.dtype() == Dtype::Float32) run(float{});
  else run(double{});
  return out;
}

Augment shift_and_flip(std::int64_t padding, bool flip) {
  XG_CHECK(padding >= 0, "shift_and_flip", "padding must be non-negative, got ", padding);
  return [padding, flip](const Tensor& inputs, std::uint64_t seed) { return random_shift_flip(inputs, padding, flip, seed); };
}

}  // namespace xg::data
