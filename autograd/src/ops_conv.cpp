// Convolution, NCHW (pooling: ops_pool.cpp).
//
// Note [Fused conv2d]
// conv2d is one node. Lowered to GEMM like im2col + matmul, but one image at
// a time: the image's patches [C·kh·kw, L] go to a per-thread buffer that
// stays in cache (the whole batch's columns were N times larger and streamed
// through memory), one GEMM per group writes straight into the image's
// [O, L] output (no [O, N, L] → [N, O, L] permute), and images split across
// threads. Backward, per image: dcols = Wᵀ·g added back into the image
// (col2im), and dW = Σₙ g·colsᵀ with the patches made again, each chunk of
// images summing into its own partial (added in chunk order: the same bits
// on a given thread count); db = Σ g. With create_graph the node writes the
// same products in differentiable ops (im2col, matmul, col2im), so second
// derivatives still work. im2col and col2im stay public ops, each the
// other's gradient.
#include "conv_geometry.hpp"
#include "op_samples.hpp"
#include "vmap.hpp"

namespace xg {

using detail::needs_grad;
using detail::for_each_patch_row;
using detail::Geometry;
using detail::geometry;
using detail::Pair;

Tensor im2col(const Tensor& x, Pair kernel, const Conv2dOptions& opts, bool batched) {
  if (detail::vmapping()) {
    if (auto r = detail::batch_rule("im2col", {x}, detail::batch_of_rows(batched ? 99 : 4, [&](const TensorList& in) {
          return im2col(in[0], kernel, opts, batched);
        })))
      return *r;
  }
  const Tensor xd = detail::dense(x);  // read flat; x keeps the history
  detail::check_defined(x, "im2col");
  const Geometry g = geometry(x.shape(), kernel, opts, "im2col");
  const Shape shape = batched ? Shape{g.c * g.kh * g.kw, g.n * g.oh * g.ow} : Shape{g.n, g.c * g.kh * g.kw, g.oh * g.ow};
  Tensor cols = detail::make_tensor(shape, x.dtype());
  detail::dispatch_float(x.dtype(), "im2col", [&](auto z) {
    using T = decltype(z);
    const T* src = xd.data<T>();
    T* dst = cols.data<T>();
    for_each_patch_row(g, batched, [&](std::int64_t col, std::int64_t img, std::int64_t lo, std::int64_t hi, std::int64_t ix0) {
      detail::copy_patch_row(src, dst + col, img, lo, hi, ix0, g.sw, g.ow);
    });
  });
  if (needs_grad(x)) {
    make_node(cols, "Im2colBackward", [kernel, opts, batched, in = x.shape()](const Tensor& gr, Node&) -> TensorList {
      return {col2im(gr, in, kernel, opts, batched)};
    }, x);
  }
  return cols;
}

Tensor col2im(const Tensor& cols, const Shape& image_shape, Pair kernel, const Conv2dOptions& opts, bool batched) {
  if (detail::vmapping()) {
    if (auto r = detail::batch_rule("col2im", {cols}, [&](const detail::BatchArgs& a) {
          if (batched || a.example_rank(0) != 3 || image_shape.size() != 4)
            return detail::per_example([&](const TensorList& e) { return col2im(e[0], image_shape, kernel, opts, batched); })(a);
          Shape image = image_shape;
          image[0] *= a.size;
          return detail::unfold_batch(col2im(detail::fold_batch(a.x[0]), image, kernel, opts, false), a.size, image_shape[0]);
        }))
      return *r;
  }
  const Tensor colsd = detail::dense(cols);  // read flat; cols keeps the history
  detail::check_defined(cols, "col2im");
  const Geometry g = geometry(image_shape, kernel, opts, "col2im");
  const Shape want = batched ? Shape{g.c * g.kh * g.kw, g.n * g.oh * g.ow} : Shape{g.n, g.c * g.kh * g.kw, g.oh * g.ow};
  XG_CHECK(cols.shape() == want, "col2im", "columns ", cols.shape(), " do not match image ", image_shape, " (expected ",
           want, ")");
  Tensor img = zeros(image_shape, cols.dtype());
  detail::dispatch_float(cols.dtype(), "col2im", [&](auto z) {
    using T = decltype(z);
    const T* src = colsd.data<T>();
    T* dst = img.data<T>();
    for_each_patch_row(g, batched, [&](std::int64_t col, std::int64_t img, std::int64_t lo, std::int64_t hi, std::int64_t ix0) {
      detail::add_patch_row(src + col, dst, img, lo, hi, ix0, g.sw);
    });
  });
  if (needs_grad(cols)) {
    make_node(img, "Col2imBackward", [kernel, opts, batched](const Tensor& gr, Node&) -> TensorList {
      return {im2col(gr, kernel, opts, batched)};
    }, cols);
  }
  return img;
}

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& opts) {
  if (detail::vmapping()) {
    if (auto r = detail::batch_rule("conv2d", {x, weight, bias}, detail::batch_of_rows(4, [&](const TensorList& in) {
          return conv2d(in[0], in[1], in[2], opts);
        })))
      return *r;
  }
  detail::check_same_dtype(x, weight, "conv2d");
  XG_CHECK(x.dim() == 4 && weight.dim() == 4, "conv2d", "expects input [N, C, H, W] and weight [O, C/groups, kh, kw], got ",
           x.shape(), " and ", weight.shape());
  const std::int64_t groups = opts.groups, out_ch = weight.size(0);
  XG_CHECK(groups >= 1 && x.size(1) == weight.size(1) * groups && out_ch % groups == 0, "conv2d", "input ", x.shape(),
           " has ", x.size(1), " channels but weight ", weight.shape(), " with groups=", groups, " expects ",
           weight.size(1) * groups, " (and out channels divisible by groups)");
  if (bias.defined()) {
    detail::check_same_dtype(x, bias, "conv2d");
    XG_CHECK(bias.dim() == 1 && bias.size(0) == out_ch, "conv2d", "bias ", bias.shape(), " should be [", out_ch, "]");
  }
  const Geometry g = geometry(x.shape(), {weight.size(2), weight.size(3)}, opts, "conv2d");
  detail::check_float(x, "conv2d");
  Tensor y;
  {
    NoGradGuard no_grad;
    y = detail::conv2d_kernel(x, weight, bias, opts);
  }
  TensorList inputs{x, weight};
  if (bias.defined()) inputs.push_back(bias);
  if (detail::has_tangent(inputs)) {  // bilinear in (x, weight), plus the bias
    const Tensor tx = detail::tangent_of(x), tw = detail::tangent_of(weight), tb = detail::tangent_of(bias);
    detail::set_tangent_by(y, [&] {
      Tensor t = tx.defined() ? detail::conv2d_kernel(tx, weight, Tensor(), opts) : zeros_like(y);
      if (tw.defined()) t = t + detail::conv2d_kernel(x, tw, Tensor(), opts);
      if (tb.defined()) t = t + reshape(tb, Shape{1, out_ch, 1, 1});
      return t;
    });
  }
  if (!needs_grad(inputs)) return y;
  const bool has_bias = bias.defined();
  make_node(y, "Conv2dBackward", [opts, has_bias, g, sx = SavedTensor(x, false), sw = SavedTensor(weight, false)](
                                     const Tensor& gr, Node& self) -> TensorList {
    const Tensor x_ = sx.unpack(self), w_ = sw.unpack(self);
    const bool need_x = self.needs_input_grad(0), need_w = self.needs_input_grad(1),
               need_b = has_bias && self.needs_input_grad(2);
    Tensor dx, dw, db;
    if (detail::plain_backward(gr, x_, w_)) {
      detail::conv2d_backward_kernel(gr, x_, x_.shape(), w_, opts, need_x ? &dx : nullptr, need_w ? &dw : nullptr,
                                     need_b ? &db : nullptr);
    } else {  // create_graph: the same products in differentiable ops, group by group
      const std::int64_t out_ch = w_.size(0), og = out_ch / opts.groups, kg = w_.numel() / out_ch;
      const Tensor g3 = reshape(gr, Shape{g.n, out_ch, g.oh * g.ow});
      const Tensor w2 = reshape(w_, Shape{out_ch, kg});
      const Tensor cols = need_w ? im2col(x_, {g.kh, g.kw}, opts) : Tensor();  // [N, C·kh·kw, L]
      TensorList dcols, dws;
      for (std::int64_t gi = 0; gi < opts.groups; ++gi) {
        const Tensor wg = narrow(w2, 0, gi * og, og), gg = narrow(g3, 1, gi * og, og);
        if (need_x) dcols.push_back(matmul(wg.t(), gg));
        if (need_w) dws.push_back(sum(matmul(gg, narrow(cols, 1, gi * kg, kg).transpose(1, 2)), {0}));
      }
      if (need_x) dx = col2im(cat(dcols, 1), x_.shape(), {g.kh, g.kw}, opts);
      if (need_w) dw = reshape(cat(dws, 0), w_.shape());
      if (need_b) db = sum(g3, {0, 2});
    }
    TensorList grads{dx, dw};
    if (has_bias) grads.push_back(db);
    return grads;
  }, inputs);
  return y;
}

Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, std::int64_t stride, std::int64_t padding,
              std::int64_t dilation, std::int64_t groups) {
  if (detail::vmapping()) {
    if (auto r = detail::batch_rule("conv1d", {x, weight, bias}, detail::batch_of_rows(3, [&](const TensorList& in) {
          return conv1d(in[0], in[1], in[2], stride, padding, dilation, groups);
        })))
      return *r;
  }
  detail::check_defined(x, "conv1d");
  detail::check_defined(weight, "conv1d");
  detail::check_same_dtype(x, weight, "conv1d");
  XG_CHECK(x.dim() == 3 && weight.dim() == 3, "conv1d", "expects input [N, C, L] and weight [O, C/groups, k], got ",
           x.shape(), " and ", weight.shape());
  // Checked in conv1d's own terms before conv2d sees [N, C, 1, L].
  XG_CHECK(stride > 0 && dilation > 0 && padding >= 0, "conv1d", "stride and dilation must be positive and padding ",
           "non-negative, got stride ", stride, ", padding ", padding, ", dilation ", dilation);
  XG_CHECK(groups >= 1 && x.size(1) == weight.size(1) * groups && weight.size(0) % groups == 0, "conv1d", "input ",
           x.shape(), " has ", x.size(1), " channels but weight ", weight.shape(), " with groups=", groups, " expects ",
           weight.size(1) * groups, " (and out channels divisible by groups)");
  XG_CHECK(x.size(2) + 2 * padding >= dilation * (weight.size(2) - 1) + 1, "conv1d", "input ", x.shape(),
           " is too small for a kernel of size ", weight.size(2), " (padding ", padding, ", dilation ", dilation, ")");
  if (bias.defined()) {
    detail::check_same_dtype(x, bias, "conv1d");
    XG_CHECK(bias.dim() == 1 && bias.size(0) == weight.size(0), "conv1d", "bias ", bias.shape(), " should be [",
             weight.size(0), "]");
  }
  Conv2dOptions o;
  o.stride = {1, stride};
  o.padding = {0, padding};
  o.dilation = {1, dilation};
  o.groups = groups;
  const Tensor y = conv2d(unsqueeze(x, 2), unsqueeze(weight, 2), bias, o);
  return squeeze(y, 2);
}

// Note [Fused conv_transpose2d]
// conv_transpose2d is the adjoint of conv2d in its input, so it runs on
// conv2d's kernels (oneDNN's where they serve): its forward is conv2d's
// input gradient with x in the place of the output gradient, its input
// gradient is conv2d(g, weight), and its weight gradient is conv2d's with the
// roles of image and output gradient swapped (Σ x·patches(g)ᵀ). One node;
// with create_graph it writes the same products in differentiable ops
// (conv2d, im2col, matmul), so second derivatives still work.
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& opts,
                        Pair output_padding) {
  if (detail::vmapping()) {
    if (auto r = detail::batch_rule("conv_transpose2d", {x, weight, bias}, detail::batch_of_rows(4, [&](const TensorList& in) {
          return conv_transpose2d(in[0], in[1], in[2], opts, output_padding);
        })))
      return *r;
  }
  const char* op = "conv_transpose2d";
  detail::check_defined(x, op);
  detail::check_defined(weight, op);
  detail::check_same_dtype(x, weight, op);
  detail::check_float(x, op);
  XG_CHECK(x.dim() == 4 && weight.dim() == 4, op, "expects input [N, C_in, H, W] and weight [C_in, C_out/groups, kh, kw], got ",
           x.shape(), " and ", weight.shape());
  const std::int64_t groups = opts.groups, in_ch = x.size(1);
  XG_CHECK(groups >= 1 && weight.size(0) == in_ch && in_ch % groups == 0, op, "input ", x.shape(), " has ", in_ch,
           " channels but weight ", weight.shape(), " expects ", weight.size(0), " (divisible by groups=", groups, ")");
  const std::int64_t out_ch = weight.size(1) * groups, kh = weight.size(2), kw = weight.size(3);
  if (bias.defined()) {
    detail::check_same_dtype(x, bias, op);
    XG_CHECK(bias.dim() == 1 && bias.size(0) == out_ch, op, "bias ", bias.shape(), " should be [", out_ch, "]");
  }
  const auto [sh, sw] = opts.stride;
  const auto [ph, pw] = opts.padding;
  const auto [dh, dw] = opts.dilation;
  const auto [oph, opw] = output_padding;
  XG_CHECK(sh > 0 && sw > 0 && dh > 0 && dw > 0 && ph >= 0 && pw >= 0 && kh > 0 && kw > 0, op,
           "stride and dilation must be positive and padding non-negative, got stride ", sh, "x", sw, ", padding ", ph,
           "x", pw, ", dilation ", dh, "x", dw);
  XG_CHECK(oph >= 0 && opw >= 0 && (oph < sh || oph < dh) && (opw < sw || opw < dw), op, "output_padding ", oph, "x",
           opw, " must be smaller than either stride ", sh, "x", sw, " or dilation ", dh, "x", dw, " (as in PyTorch)");
  constexpr std::int64_t kMaxGeometry = std::int64_t{1} << 31;
  XG_CHECK(sh < kMaxGeometry && sw < kMaxGeometry && ph < kMaxGeometry && pw < kMaxGeometry && dh < kMaxGeometry &&
               dw < kMaxGeometry && oph < kMaxGeometry && opw < kMaxGeometry && x.size(2) < kMaxGeometry &&
               x.size(3) < kMaxGeometry && kh < kMaxGeometry && kw < kMaxGeometry,
           op, "sizes, stride, padding and dilation must each be below 2^31");
  const std::int64_t h = x.size(2), w = x.size(3);
  const std::int64_t out_h = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1;
  const std::int64_t out_w = (w - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1;
  XG_CHECK(h > 0 && w > 0 && out_h > 0 && out_w > 0, op, "input ", x.shape(), " with kernel ", kh, "x", kw,
           ", stride ", sh, "x", sw, ", padding ", ph, "x", pw, " gives an empty output (", out_h, "x", out_w, ")");
  const Shape image{x.size(0), out_ch, out_h, out_w};
  checked_numel(image, op, dtype_size(x.dtype()));
  // An output_padding of a stride or more (allowed when the dilation is
  // larger) adds rows no window of the matching conv2d reads back into x:
  // conv2d of the output is x with ⌊output_padding / stride⌋ more rows
  // (columns) of zeros at the end. x is padded so, and its gradient cropped.
  const std::int64_t extra_h = oph / sh, extra_w = opw / sw;
  auto conv_sized = [extra_h, extra_w](const Tensor& t) {
    return extra_h == 0 && extra_w == 0 ? t : pad(t, {0, extra_w, 0, extra_h});
  };
  auto crop = [h, w](const Tensor& t) { return narrow(narrow(t, 2, 0, h), 3, 0, w); };
  Tensor y;
  {
    NoGradGuard no_grad;
    detail::conv2d_backward_kernel(conv_sized(x), Tensor(), image, weight, opts, &y, nullptr, nullptr);
    detail::ForwardPause plain;  // the node below carries the tangents
    if (bias.defined()) y.add_(reshape(bias, Shape{1, out_ch, 1, 1}));
  }
  TensorList inputs{x, weight};
  if (bias.defined()) inputs.push_back(bias);
  if (!needs_grad(inputs)) return y;
  const bool has_bias = bias.defined();
  make_node(y, "ConvTranspose2dBackward", [opts, has_bias, conv_sized, crop, sx = SavedTensor(x, false),
                                           sw_ = SavedTensor(weight, false)](const Tensor& gr, Node& self) -> TensorList {
    const Tensor x_ = conv_sized(sx.unpack(self)), w_ = sw_.unpack(self);
    const bool need_x = self.needs_input_grad(0), need_w = self.needs_input_grad(1),
               need_b = has_bias && self.needs_input_grad(2);
    Tensor dx, dw, db;
    if (detail::plain_backward(gr, x_, w_)) {
      if (need_x) dx = crop(detail::conv2d_kernel(gr, w_, Tensor(), opts));
      if (need_w) detail::conv2d_backward_kernel(x_, gr, gr.shape(), w_, opts, nullptr, &dw, nullptr);
    } else {  // create_graph: dW = Σₙ x·im2col(g)ᵀ per group, in differentiable ops
      if (need_x) dx = crop(conv2d(gr, w_, Tensor(), opts));
      if (need_w) {
        const std::int64_t n = x_.size(0), cin = x_.size(1), ig = cin / opts.groups, rows = w_.numel() / cin;
        const Tensor x3 = reshape(x_, Shape{n, cin, -1});
        const Tensor cols = im2col(gr, {w_.size(2), w_.size(3)}, opts);  // [N, C_out·kh·kw, H·W]
        TensorList dws;
        for (std::int64_t gi = 0; gi < opts.groups; ++gi)
          dws.push_back(sum(matmul(narrow(x3, 1, gi * ig, ig), narrow(cols, 1, gi * rows, rows).transpose(1, 2)), {0}));
        dw = reshape(opts.groups == 1 ? dws[0] : cat(dws, 0), w_.shape());
      }
    }
    if (need_b) db = sum(gr, {0, 2, 3});
    TensorList grads{dx, dw};
    if (has_bias) grads.push_back(db);
    return grads;
  }, inputs);
  return y;
}

Tensor conv_transpose1d(const Tensor& x, const Tensor& weight, const Tensor& bias, std::int64_t stride,
                        std::int64_t padding, std::int64_t output_padding, std::int64_t groups, std::int64_t dilation) {
  const char* op = "conv_transpose1d";
  if (detail::vmapping()) {
    if (auto r = detail::batch_rule(op, {x, weight, bias}, detail::batch_of_rows(3, [&](const TensorList& in) {
          return conv_transpose1d(in[0], in[1], in[2], stride, padding, output_padding, groups, dilation);
        })))
      return *r;
  }
  detail::check_defined(x, op);
  detail::check_defined(weight, op);
  XG_CHECK(x.dim() == 3 && weight.dim() == 3, op, "expects input [N, C_in, L] and weight [C_in, C_out/groups, k], got ",
           x.shape(), " and ", weight.shape());
  XG_CHECK(stride > 0 && dilation > 0 && padding >= 0 && output_padding >= 0 &&
               (output_padding < stride || output_padding < dilation),
           op, "stride and dilation must be positive, padding non-negative and output_padding smaller than stride or ",
           "dilation, got stride ", stride, ", padding ", padding, ", output_padding ", output_padding, ", dilation ",
           dilation);
  Conv2dOptions o;
  o.stride = {1, stride};
  o.padding = {0, padding};
  o.dilation = {1, dilation};
  o.groups = groups;
  return squeeze(conv_transpose2d(unsqueeze(x, 2), unsqueeze(weight, 2), bias, o, {0, output_padding}), 2);
}

Tensor pad(const Tensor& x, const std::vector<std::int64_t>& pads, double value) {
  if (detail::vmapping()) {  // pads apply to the trailing dims, never to the batch dim
    if (auto r = detail::batch_rule("pad", {x}, [&](const detail::BatchArgs& a) {
          XG_CHECK(static_cast<std::int64_t>(pads.size()) <= 2 * a.example_rank(0), "pad", "got ", pads.size(),
                   " pads for shape ", x.shape());
          return pad(a.x[0], pads, value);
        }))
      return *r;
  }
  detail::check_defined(x, "pad");
  XG_CHECK(pads.size() % 2 == 0 && static_cast<std::int64_t>(pads.size()) <= 2 * x.dim(), "pad", "expects pairs of pads, at most two per dim, got ",
           pads.size(), " values for shape ", x.shape());
  Shape out = x.shape();
  std::vector<std::int64_t> before(static_cast<std::size_t>(x.dim()), 0);
  for (std::size_t i = 0; i < pads.size(); i += 2) {
    XG_CHECK(pads[i] >= 0 && pads[i + 1] >= 0, "pad", "pads must be non-negative, got ", pads[i], " and ", pads[i + 1]);
    const std::size_t d = static_cast<std::size_t>(x.dim()) - 1 - i / 2;
    before[d] = pads[i];
    XG_CHECK(!__builtin_add_overflow(out[d], pads[i], &out[d]) && !__builtin_add_overflow(out[d], pads[i + 1], &out[d]),
             "pad", "pads ", pads[i], " and ", pads[i + 1], " make dim ", d, " of shape ", x.shape(), " overflow int64");
  }
  checked_numel(out, "pad", dtype_size(x.dtype()));
  Tensor y = full(out, value, x.dtype());
  {
    NoGradGuard no_grad;
    Tensor inside = y;  // the view of y that x fills
    for (std::size_t d = 0; d < before.size(); ++d)
      inside = narrow(inside, static_cast<std::int64_t>(d), before[d], x.shape()[d]);
    detail::copy_strided(inside, x);
  }
  if (needs_grad(x)) {
    make_node(y, "PadBackward", [pads, in = x.shape()](const Tensor& g, Node&) -> TensorList {
      Tensor crop = g;
      for (std::size_t i = 0; i < pads.size(); i += 2) {
        const auto d = static_cast<std::int64_t>(in.size()) - 1 - static_cast<std::int64_t>(i / 2);
        crop = narrow(crop, d, pads[i], in[static_cast<std::size_t>(d)]);
      }
      return {crop};
    }, x);
  }
  return y;
}


// ---------------------------------------------------------------- gradient-check samples
// This family's rows of the op registry (op_registry.hpp): every op above on
// several shapes, in float64. A row's name starts with the op it checks, so
// the coverage test can tell when an op in the public headers has none.
namespace detail {
std::vector<OpSample> samples_conv() {
  using L = const TensorList&;
  const Shape s23b{2, 3};
  std::vector<OpSample> c;
  Conv2dOptions up;
  up.stride = {2, 1};
  up.padding = {1, 0};
  up.dilation = {1, 2};
  c.push_back({"conv_transpose2d stride, padding, dilation, output_padding, bias",
               [up](L x) { return conv_transpose2d(x[0], x[1], x[2], up, {1, 0}); }, {{2, 3, 3, 2}, {3, 2, 2, 3}, {2}}});
  Conv2dOptions grouped;
  grouped.groups = 2;
  c.push_back({"conv_transpose2d groups", [grouped](L x) { return conv_transpose2d(x[0], x[1], {}, grouped); },
               {{1, 4, 2, 3}, {4, 1, 2, 2}}});
  Conv2dOptions dilated;
  dilated.dilation = {2, 3};
  dilated.padding = {1, 0};
  c.push_back({"conv_transpose2d output_padding past the stride (dilated)",
               [dilated](L x) { return conv_transpose2d(x[0], x[1], x[2], dilated, {1, 2}); }, {{2, 2, 3, 3}, {2, 3, 2, 2}, {3}}});
  c.push_back({"conv_transpose1d", [](L x) { return conv_transpose1d(x[0], x[1], x[2], 2, 1, 1); }, {{2, 2, 4}, {2, 3, 3}, {3}}});
  c.push_back({"pad", [](L x) { return pad(x[0], {1, 2, 0, 1}, 0.5); }, {s23b}});
  c.push_back({"conv2d bias", [](L x) { return conv2d(x[0], x[1], x[2]); }, {{2, 2, 4, 4}, {3, 2, 2, 2}, {3}}});
  c.push_back({"conv2d stride pad dilation", [](L x) {
         Conv2dOptions o;
         o.stride = {2, 1};
         o.padding = {1, 1};
         o.dilation = {1, 2};
         return conv2d(x[0], x[1], {}, o);
       }, {{1, 2, 5, 4}, {2, 2, 3, 2}}});
  c.push_back({"conv2d groups", [](L x) {
         Conv2dOptions o;
         o.groups = 2;
         return conv2d(x[0], x[1], x[2], o);
       }, {{1, 4, 3, 3}, {2, 2, 2, 2}, {2}}});
  c.push_back({"conv1d", [](L x) { return conv1d(x[0], x[1], x[2], 2, 1); }, {{2, 2, 5}, {3, 2, 3}, {3}}});
  c.push_back({"im2col", [](L x) {
     Conv2dOptions o;
     o.padding = {1, 0};
     o.stride = {1, 2};
     return im2col(x[0], {2, 3}, o);
   }, {{2, 2, 3, 4}}});
  c.push_back({"col2im batched", [](L x) { return col2im(x[0], {2, 1, 3, 3}, {2, 2}, {}, true); }, {{4, 8}}});
  return c;
}
}  // namespace detail

}  // namespace xg
