#pragma once
// Ops that models are made of: activations, softmax family, losses, indexing,
// convolution and pooling, normalisation, dropout. Shapes follow libtorch
// (NCHW). Most are composed of the differentiable primitives in ops.hpp and
// so get first and second derivatives for free; the few with their own
// backward say so.
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "xgrad/tensor.hpp"

namespace xg {

enum class Reduction { None, Mean, Sum };

// ---- activations (ops_activation.cpp)
Tensor erf(const Tensor& x);                                   ///< own node; dx = g · 2/√π · e^(−x²)
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
Tensor elu(const Tensor& x, double alpha = 1.0);
Tensor gelu(const Tensor& x, bool tanh_approximation = false);  ///< exact (erf) or tanh form
Tensor silu(const Tensor& x);                                   ///< x · sigmoid(x)
Tensor softplus(const Tensor& x, double beta = 1.0, double threshold = 20.0);
/// Stable (max-subtracted); own nodes. softmax: dx = y ⊙ (g − Σ g⊙y); log_softmax: dx = g − eʸ Σ g
Tensor softmax(const Tensor& x, std::int64_t dim);
Tensor log_softmax(const Tensor& x, std::int64_t dim);
/// log Σ eˣ over dims, max-subtracted; own node; dx = g · e^(x − y)
Tensor logsumexp(const Tensor& x, const Dims& dims, bool keepdim = false);
Tensor cumsum(const Tensor& x, std::int64_t dim);  ///< own node; dx = reverse cumsum of g
/// Own node; dx = reverse cumsum of g·y, divided by x (exact, without division, where x has zeros).
Tensor cumprod(const Tensor& x, std::int64_t dim);

// ---- losses (ops_loss.cpp); input first, target second, like torch
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction r = Reduction::Mean);
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction r = Reduction::Mean);
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, Reduction r = Reduction::Mean, double beta = 1.0);
Tensor huber_loss(const Tensor& input, const Tensor& target, Reduction r = Reduction::Mean, double delta = 1.0);

struct CrossEntropyOptions {
  Reduction reduction = Reduction::Mean;
  Tensor weight;                 ///< optional per-class weights [C]
  double label_smoothing = 0.0;  ///< in [0, 1]
  std::int64_t ignore_index = -100;
};
/// logits [N, C] (or [C]) and int64 class targets [N] (or []); or logits
/// [N, C, d1, ...] and targets [N, d1, ...] (sequences, images), as in PyTorch.
/// Float targets are probabilities shaped like the logits.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyOptions& opts = {});
/// log-probabilities [N, C] (or [C], or [N, C, d1, ...]) and int64 targets [N] ([], [N, d1, ...]).
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, const CrossEntropyOptions& opts = {});
/// x1·x2 / (max(‖x1‖, eps)·max(‖x2‖, eps)) along dim, after broadcasting x1 with x2 (torch's form).
Tensor cosine_similarity(const Tensor& x1, const Tensor& x2, std::int64_t dim = 1, double eps = 1e-8);
/// torch's reductions for kl_div: BatchMean (the sum over the batch size) is the mathematically correct mean.
enum class KLDivReduction { None, Mean, Sum, BatchMean };
/// Σ target·(log target − input) with input log-probabilities (and target log-probabilities if log_target).
Tensor kl_div(const Tensor& input, const Tensor& target, KLDivReduction r = KLDivReduction::Mean,
              bool log_target = false);
/// probabilities in [0, 1]; log clamped at −100 like torch.
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, Reduction r = Reduction::Mean,
                            const Tensor& weight = {});
/// stable: max(x, 0) − x·y + log(1 + e^(−|x|)); pos_weight scales the positive term.
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target, Reduction r = Reduction::Mean,
                                        const Tensor& weight = {}, const Tensor& pos_weight = {});

// ---- indexing (ops_index.cpp); index tensors are int64, out-of-range indices throw
Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& index);  ///< dx = index_add of g
/// Adds src's slices into x along dim at index (out of place). dx = g, dsrc = index_select(g)
Tensor index_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src);
Tensor gather(const Tensor& x, std::int64_t dim, const Tensor& index);        ///< dx = scatter_add of g
/// out = x, then out[index[i][j]][j] += src[i][j] (dim 0; likewise other dims). dx = g, dsrc = gather(g)
Tensor scatter_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src);
/// Rows of weight; shape indices.shape + [D]. Positions holding padding_idx
/// (negative counts from the end) pass no gradient to the weight.
Tensor embedding(const Tensor& weight, const Tensor& indices, std::optional<std::int64_t> padding_idx = std::nullopt);
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);  ///< mask: nonzero = fill
Tensor one_hot(const Tensor& indices, std::int64_t num_classes, Dtype dtype = Dtype::Int64);

// ---- convolution and pooling (ops_conv.cpp), NCHW
struct Conv2dOptions {
  std::pair<std::int64_t, std::int64_t> stride{1, 1}, padding{0, 0}, dilation{1, 1};
  std::int64_t groups = 1;
};
/// x [N, C, H, W], weight [O, C/groups, kh, kw], bias [O] or undefined. In
/// float32 through oneDNN's kernels when xgrad is built with it (libdnnl-dev),
/// else (and in float64) lowered to GEMM via im2col, one image at a time.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {}, const Conv2dOptions& opts = {});
/// Whether this xgrad was built with oneDNN, and the switch (on by default)
/// that lets conv2d use it; off, conv2d runs xgrad's own kernels.
bool onednn_available();
void set_onednn_enabled(bool enabled);
bool onednn_enabled();
/// x [N, C, L], weight [O, C/groups, k]; stride/padding/dilation apply to L.
Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias = {}, std::int64_t stride = 1,
              std::int64_t padding = 0, std::int64_t dilation = 1, std::int64_t groups = 1);
/// The adjoint of conv2d in its input (PyTorch's conv_transpose2d): x [N, C_in, H, W],
/// weight [C_in, C_out/groups, kh, kw], bias [C_out]; output H_out = (H − 1)·stride −
/// 2·padding + dilation·(kh − 1) + output_padding + 1 (likewise W). Runs on
/// conv2d's kernels: y is conv2d's input gradient, dx = conv2d(g, weight),
/// dweight = Σ x·im2col(g)ᵀ.
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {}, const Conv2dOptions& opts = {},
                        std::pair<std::int64_t, std::int64_t> output_padding = {0, 0});
/// x [N, C_in, L], weight [C_in, C_out/groups, k]; PyTorch's argument order.
Tensor conv_transpose1d(const Tensor& x, const Tensor& weight, const Tensor& bias = {}, std::int64_t stride = 1,
                        std::int64_t padding = 0, std::int64_t output_padding = 0, std::int64_t groups = 1,
                        std::int64_t dilation = 1);
/// Patches: [N, C, H, W] -> [N, C·kh·kw, out_h·out_w] (zero padding), or with
/// batched [C·kh·kw, N·out_h·out_w] (images side by side); adjoint of col2im.
Tensor im2col(const Tensor& x, std::pair<std::int64_t, std::int64_t> kernel, const Conv2dOptions& opts,
              bool batched = false);
Tensor col2im(const Tensor& cols, const Shape& image_shape, std::pair<std::int64_t, std::int64_t> kernel,
              const Conv2dOptions& opts, bool batched = false);
/// Pooling windows, as torch.nn.functional's max_pool2d / avg_pool2d take them.
struct Pool2dOptions {
  std::optional<std::pair<std::int64_t, std::int64_t>> stride;  ///< default: the kernel
  std::pair<std::int64_t, std::int64_t> padding{0, 0};           ///< at most half the kernel
  std::pair<std::int64_t, std::int64_t> dilation{1, 1};          ///< max_pool2d only
  bool ceil_mode = false;          ///< round the output size up (a last, partial window)
  bool count_include_pad = true;   ///< avg_pool2d: divide by the window including padding
};
/// Max over windows (pooling: ops_pool.cpp); the gradient goes to the (first)
/// max of each window; a NaN wins its window.
Tensor max_pool2d(const Tensor& x, std::pair<std::int64_t, std::int64_t> kernel, const Pool2dOptions& opts);
Tensor max_pool2d(const Tensor& x, std::pair<std::int64_t, std::int64_t> kernel,
                  std::optional<std::pair<std::int64_t, std::int64_t>> stride = std::nullopt,
                  std::pair<std::int64_t, std::int64_t> padding = {0, 0});
/// Mean over windows; the gradient is spread evenly back over each window.
Tensor avg_pool2d(const Tensor& x, std::pair<std::int64_t, std::int64_t> kernel, const Pool2dOptions& opts);
Tensor avg_pool2d(const Tensor& x, std::pair<std::int64_t, std::int64_t> kernel,
                  std::optional<std::pair<std::int64_t, std::int64_t>> stride = std::nullopt,
                  std::pair<std::int64_t, std::int64_t> padding = {0, 0});
/// Mean / max over PyTorch's adaptive windows to the given output size.
Tensor adaptive_avg_pool2d(const Tensor& x, std::pair<std::int64_t, std::int64_t> output_size);
Tensor adaptive_max_pool2d(const Tensor& x, std::pair<std::int64_t, std::int64_t> output_size);
/// How interpolate fills in samples: torch's "nearest" (the sample at
/// floor(j·in/out)) and the linear family, "linear" for [N, C, L], "bilinear"
/// for [N, C, H, W], "trilinear" for [N, C, D, H, W].
enum class InterpolateMode { Nearest, Linear, Bilinear, Trilinear };
/// torch.nn.functional.interpolate's arguments: exactly one of size and
/// scale_factor (one value for every spatial dim, or one per dim);
/// align_corners only with the linear modes (default false, as in torch).
struct InterpolateOptions {
  Shape size;
  std::vector<double> scale_factor;
  InterpolateMode mode = InterpolateMode::Nearest;
  std::optional<bool> align_corners;
};
/// Resizes the spatial dims of x [N, C, ...] (ops_interpolate.cpp), one dim at
/// a time (the linear modes are separable); dx sums g back onto the samples read.
Tensor interpolate(const Tensor& x, const InterpolateOptions& opts);
/// Flat gather: y[i] = x.flatten()[index[i]]; shape of index. dx = put of g. (Used by max_pool2d.)
Tensor take(const Tensor& x, const Tensor& index);
/// Constant padding; pads = {left, right} for the last dim, then {top, bottom} for the one before, ...
Tensor pad(const Tensor& x, const std::vector<std::int64_t>& pads, double value = 0.0);

// ---- attention (ops_attention.cpp)
/// softmax(scale·q kᵀ + mask) v for q [..., L, E], k [..., S, E], v [..., S, Ev]
/// (same batch dims), one fused node (Note [Fused attention]); scale defaults
/// to 1/√E. attn_mask broadcasts to [..., L, S]: bool (true = attend) or
/// added to the scores; is_causal lets query l see keys j <= l. The weights
/// are not kept or returned (nn::scaled_dot_product_attention returns them).
/// P = softmax(·), dS = P ⊙ (g vᵀ − Σ g vᵀ ⊙ P):  dq = scale·dS k,  dk = scale·dSᵀ q,  dv = Pᵀ g,  dmask = sum_to(dS)
Tensor scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                    const Tensor& attn_mask = {}, bool is_causal = false,
                                    std::optional<double> scale = std::nullopt);

// ---- normalisation and dropout (ops_norm.cpp)
/// Normalises over the last normalized_shape.size() dims (biased variance).
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = {}, const Tensor& bias = {},
                  double eps = 1e-5);
/// x / √(mean(x²) + eps) · weight over the last normalized_shape.size() dims,
/// like torch.nn.functional.rms_norm (eps defaults to the dtype's machine epsilon).
Tensor rms_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = {},
                std::optional<double> eps = std::nullopt);
/// x [N, C, ...]. In training, batch statistics normalise and the running
/// buffers are updated in place (unbiased variance, like torch); in eval the
/// running statistics are used.
Tensor batch_norm(const Tensor& x, Tensor running_mean, Tensor running_var, const Tensor& weight, const Tensor& bias,
                  bool training, double momentum = 0.1, double eps = 1e-5);
Tensor group_norm(const Tensor& x, std::int64_t num_groups, const Tensor& weight = {}, const Tensor& bias = {},
                  double eps = 1e-5);
/// Inverted dropout: zeroes with probability p, scales the rest by 1/(1-p); identity when !training.
Tensor dropout(const Tensor& x, double p = 0.5, bool training = true);

}  // namespace xg
