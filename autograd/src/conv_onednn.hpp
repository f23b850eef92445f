#pragma once
// conv2d's float32 kernels through oneDNN (Note [Convolution through oneDNN]
// in conv_onednn.cpp), when xgrad is built with it (XGRAD_WITH_ONEDNN).
#include <cstdint>

#include "conv_geometry.hpp"

namespace xg::detail::onednn {

/// What one call convolves: g.n images from the pointers given, o output
/// channels in `groups` groups.
struct ConvProblem {
  Geometry g;
  std::int64_t o, groups;
};

// Each runs on the calling thread alone (the callers split images across
// xgrad's pool) and overwrites its outputs; b and gb may be null. Each
// returns false, touching nothing, when xgrad is built without oneDNN, it
// is switched off (set_onednn_enabled), or oneDNN has no fast kernel for the
// problem: the caller's own kernels then do the work.
bool forward(const ConvProblem& p, const float* x, const float* w, const float* b, float* y);
bool backward_data(const ConvProblem& p, const float* gy, const float* w, float* gx);
bool backward_weights(const ConvProblem& p, const float* x, const float* gy, float* gw, float* gb);

}  // namespace xg::detail::onednn
