#pragma once
// Gradient clipping, in place on .grad (like torch.nn.utils).
#include "xgrad/tensor.hpp"

namespace xg::optim {

/// Scales all gradients so their joint norm is at most max_norm; returns the
/// norm before clipping. norm_type may be infinity. A NaN or infinite norm
/// throws when error_if_nonfinite, and otherwise leaves the gradients as they are.
double clip_grad_norm_(const TensorList& params, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);
/// Clamps every gradient element to [−clip_value, clip_value].
void clip_grad_value_(const TensorList& params, double clip_value);

}  // namespace xg::optim
