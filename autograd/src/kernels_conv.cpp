// The fused convolution's kernels (Note [Fused conv2d] in ops_conv.cpp): the
// images split into one chunk per thread; a float32 chunk goes to oneDNN
// when it can serve it (Note [Convolution through oneDNN]), any other runs
// xgrad's own: one image at a time, its patches in a per-thread buffer that
// stays in cache, one GEMM per group writing straight into the image's
// [O, L] output.
#include <cstring>
#include <type_traits>
#include <vector>

#include "blas.hpp"
#include "conv_geometry.hpp"
#include "conv_onednn.hpp"

namespace xg::detail {
namespace {

struct Sizes {
  std::int64_t o, groups, og, kg, L;  // out channels, groups, per group: out channels, column rows; L = oh·ow
};
Sizes sizes_of(const Geometry& g, const Tensor& w, std::int64_t groups) {
  const std::int64_t o = w.size(0);
  return {o, groups, o / groups, (g.c / groups) * g.kh * g.kw, g.oh * g.ow};
}

/// A thread's column buffer `slot` (0: forward and dx, 1: dW), grown to at
/// least n values and kept for the thread's next call, so a chunk neither
/// allocates nor zeroes megabytes it is about to overwrite.
template <class T>
T* scratch(std::size_t n, int slot) {
  thread_local std::vector<T> buffers[2];
  std::vector<T>& b = buffers[slot];
  if (b.size() < n) b.resize(n);
  return b.data();
}

/// Chunks of images, at most one per thread (a weight-gradient partial per
/// chunk is the size of dW, and oneDNN runs one call per chunk), each about
/// 2^20 multiply-adds or more; chunk k holds images [n·k/chunks, n·(k+1)/chunks).
int image_chunks(const Geometry& g, const Sizes& s) {
  return std::min(parallel_chunks(g.n, items_grain(s.o * s.kg * s.L, std::int64_t{1} << 20)), get_num_threads());
}
std::int64_t chunk_begin(const Geometry& g, int chunks, std::int64_t k) { return g.n * k / chunks; }

/// The problem oneDNN sees for images [n0, n1).
onednn::ConvProblem problem_of(const Geometry& g, const Sizes& s, std::int64_t n0, std::int64_t n1) {
  Geometry part = g;
  part.n = n1 - n0;
  return {part, s.o, s.groups};
}

}  // namespace

Tensor conv2d_kernel(const Tensor& x_in, const Tensor& w_in, const Tensor& b_in, const Conv2dOptions& opts) {
  const Tensor x = dense(x_in), w = dense(w_in), b = dense(b_in);
  const Geometry g = geometry(x.shape(), {w.size(2), w.size(3)}, opts, "conv2d");
  const Sizes s = sizes_of(g, w, opts.groups);
  Tensor y = make_tensor({g.n, s.o, g.oh, g.ow}, x.dtype(), "conv2d");
  SingleThreadedBlas blas;
  dispatch_float(x.dtype(), "conv2d", [&](auto z) {
    using T = decltype(z);
    const T* px = x.data<T>();
    const T* pw = w.data<T>();
    const T* pb = data_or_null<T>(b);
    T* py = y.data<T>();
    const int chunks = image_chunks(g, s);
    parallel_for(chunks, 1, [&](std::int64_t c0, std::int64_t c1) {
      for (std::int64_t chunk = c0; chunk < c1; ++chunk) {
        const std::int64_t begin = chunk_begin(g, chunks, chunk), end = chunk_begin(g, chunks, chunk + 1);
        if constexpr (std::is_same_v<T, float>)
          if (onednn::forward(problem_of(g, s, begin, end), px + begin * g.c * g.h * g.w, pw, pb, py + begin * s.o * s.L))
            continue;
        T* cols = scratch<T>(static_cast<std::size_t>(s.groups * s.kg * s.L), 0);
        for (std::int64_t n = begin; n < end; ++n) {
          patches_of_image(g, n, px, cols);
          T* out = py + n * s.o * s.L;
          for (std::int64_t gi = 0; gi < s.groups; ++gi)
            gemm<T>(false, false, s.og, s.L, s.kg, pw + gi * s.og * s.kg, s.kg, cols + gi * s.kg * s.L, s.L, T(0),
                    out + gi * s.og * s.L, s.L);
          if (pb)
            for (std::int64_t oc = 0; oc < s.o; ++oc)
              for (std::int64_t l = 0; l < s.L; ++l) out[oc * s.L + l] += pb[oc];
        }
      }
    });
  });
  return y;
}

void conv2d_backward_kernel(const Tensor& g_in, const Tensor& x_in, const Shape& image, const Tensor& w_in,
                            const Conv2dOptions& opts, Tensor* dx, Tensor* dw, Tensor* db) {
  const Tensor gy = dense(g_in), x = dw ? dense(x_in) : Tensor(), w = dense(w_in);
  const Geometry g = geometry(image, {w.size(2), w.size(3)}, opts, "conv2d");
  const Sizes s = sizes_of(g, w, opts.groups);
  if (dx) *dx = make_tensor(image, w.dtype(), "backward");  // every chunk writes all of its images
  SingleThreadedBlas blas;
  dispatch_float(w.dtype(), "backward", [&](auto z) {
    using T = decltype(z);
    const T* pg = gy.data<T>();
    const T* px = data_or_null<T>(x);
    const T* pw = w.data<T>();
    const std::size_t col_values = static_cast<std::size_t>(s.groups * s.kg * s.L);
    const std::int64_t image_values = g.c * g.h * g.w;
    const int chunks = image_chunks(g, s);
    if (dx) {
      // dcols = Wᵀ·g per group, summed back into the image: images are independent.
      T* pdx = dx->data<T>();
      parallel_for(chunks, 1, [&](std::int64_t c0, std::int64_t c1) {
        for (std::int64_t chunk = c0; chunk < c1; ++chunk) {
          const std::int64_t begin = chunk_begin(g, chunks, chunk), end = chunk_begin(g, chunks, chunk + 1);
          if constexpr (std::is_same_v<T, float>)
            if (onednn::backward_data(problem_of(g, s, begin, end), pg + begin * s.o * s.L, pw, pdx + begin * image_values))
              continue;
          std::fill(pdx + begin * image_values, pdx + end * image_values, T(0));
          T* dcols = scratch<T>(col_values, 0);
          for (std::int64_t n = begin; n < end; ++n) {
            for (std::int64_t gi = 0; gi < s.groups; ++gi)
              gemm<T>(true, false, s.kg, s.L, s.og, pw + gi * s.og * s.kg, s.kg, pg + (n * s.o + gi * s.og) * s.L, s.L,
                      T(0), dcols + gi * s.kg * s.L, s.L);
            add_patches_into_image(g, n, dcols, pdx);
          }
        }
      });
    }
    if ((dw || db) && g.n == 0) {  // an empty batch: nothing to sum
      if (dw) *dw = zeros(w.shape(), w.dtype());
      if (db) *db = zeros({s.o}, w.dtype());
    } else if (dw || db) {
      // dW = Σₙ g·colsᵀ and db = Σ g: each chunk of images sums into its own
      // partial, the partials added in chunk order (the same bits on a given
      // thread count).
      // At most one partial per thread: a partial is the size of dW (9 MiB for a
      // 512-channel 3x3 layer), and more of them were fresh pages every step.
      const std::int64_t wsize = s.o * s.kg;
      Tensor partials = make_tensor(Shape{dw ? chunks * wsize : 0}, w.dtype(), "backward");  // pooled, reused
      T* partial_w = partials.data<T>();
      std::vector<double> partial_b(db ? static_cast<std::size_t>(chunks * s.o) : 0);
      parallel_for(chunks, 1, [&](std::int64_t c0, std::int64_t c1) {
        for (std::int64_t chunk = c0; chunk < c1; ++chunk) {
          const std::int64_t begin = chunk_begin(g, chunks, chunk), end = chunk_begin(g, chunks, chunk + 1);
          T* acc_w = dw ? partial_w + chunk * wsize : nullptr;
          double* acc_b = db ? partial_b.data() + chunk * s.o : nullptr;
          if constexpr (std::is_same_v<T, float>) {
            // oneDNN gives both or neither; a bias gradient alone is the own loop's.
            std::vector<float> bias(acc_b && acc_w ? static_cast<std::size_t>(s.o) : 0);
            if (acc_w && onednn::backward_weights(problem_of(g, s, begin, end), px + begin * image_values, pg + begin * s.o * s.L,
                                                  acc_w, acc_b ? bias.data() : nullptr)) {
              for (std::size_t oc = 0; oc < bias.size(); ++oc) acc_b[oc] = bias[oc];
              continue;
            }
          }
          T* cols = scratch<T>(dw ? col_values : 0, 1);
          for (std::int64_t n = begin; n < end; ++n) {
            const T* gn = pg + n * s.o * s.L;
            if (acc_w) {
              patches_of_image(g, n, px, cols);
              for (std::int64_t gi = 0; gi < s.groups; ++gi)
                gemm<T>(false, true, s.og, s.kg, s.L, gn + gi * s.og * s.L, s.L, cols + gi * s.kg * s.L, s.L,
                        T(n == begin ? 0 : 1), acc_w + gi * s.og * s.kg, s.kg);
            }
            if (acc_b)
              for (std::int64_t oc = 0; oc < s.o; ++oc) {
                double total = 0;
                for (std::int64_t l = 0; l < s.L; ++l) total += static_cast<double>(gn[oc * s.L + l]);
                acc_b[oc] += total;
              }
          }
        }
      });
      if (dw) {
        *dw = zeros(w.shape(), w.dtype());
        T* out = dw->data<T>();
        for (int chunk = 0; chunk < chunks; ++chunk)
          for (std::int64_t i = 0; i < wsize; ++i) out[i] += partial_w[chunk * wsize + i];
      }
      if (db) {
        *db = make_tensor({s.o}, w.dtype(), "backward");
        T* out = db->data<T>();
        for (std::int64_t oc = 0; oc < s.o; ++oc) {
          double total = 0;
          for (int chunk = 0; chunk < chunks; ++chunk) total += partial_b[static_cast<std::size_t>(chunk * s.o + oc)];
          out[oc] = static_cast<T>(total);
        }
      }
    }
  });
}

}  // namespace xg::detail
