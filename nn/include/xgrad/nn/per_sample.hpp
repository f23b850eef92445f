#pragma once
// Per-sample gradients: one gradient per example per parameter, what
// differentially private training (DP-SGD) clips and noises. libtorch's C++
// API has no vmap, so its users loop over examples; this is one forward and
// one backward for the batch.
//
//   xg::CrossEntropyOptions each;
//   each.reduction = xg::Reduction::None;             // one loss per example
//   auto grads = xg::functional::per_sample_grads(model,
//       [&](const xg::Tensor& out, const xg::Tensor& y) { return xg::cross_entropy(out, y, each); },
//       images, labels);
//   // grads[k] = {"0.weight", [B, 256, 784]}, ... in named_parameters() order
//
// How: forward hooks record every parameterised module's input and output,
// xg::grad gives the gradient of the summed per-example losses at each
// output, and the module's per-sample rule turns (input, output gradient)
// into one gradient per example: Linear gᵢᵀxᵢ and Σgᵢ, LayerNorm Σgᵢ·x̂ᵢ and
// Σgᵢ, Embedding gᵢ scattered to xᵢ's rows. A model with any other module
// that owns parameters (Conv2d, attention, recurrent layers, ...) is run one
// example at a time instead (correct, about B times slower). Parameters'
// .grad are not touched. A model written as a function of its parameters
// can instead use torch.func's recipe, vmap over examples of a vjp of one
// example's loss (functional.hpp; bench_functional's
// mlp_per_sample_grads_vmap), which batches every op with a batching rule.
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "xgrad/nn/module.hpp"

namespace xg::functional {

/// loss_fn(output, targets) returns one loss per example ([B]: reduction None).
using PerExampleLoss = std::function<Tensor(const Tensor& output, const Tensor& targets)>;

/// For each parameter that requires grad, in named_parameters() order, its
/// name and the gradients of each example's loss: shape [B, *param.shape].
/// inputs and targets have the batch as dim 0.
std::vector<std::pair<std::string, Tensor>> per_sample_grads(nn::Module& model, const PerExampleLoss& loss_fn,
                                                             const Tensor& inputs, const Tensor& targets);

/// Whether per_sample_grads handles every parameterised module of `model` in
/// one batched pass (else it loops over the examples).
bool per_sample_grads_batched(const nn::Module& model);

}  // namespace xg::functional
