#pragma once
// Each op family's gradient-check samples: defined at the end of its own
// ops_*.cpp (next to the ops they check) and joined by op_registry.cpp.
#include <vector>

#include "xgrad/op_registry.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/ops_nn.hpp"

namespace xg::detail {

std::vector<OpSample> samples_elementwise();
std::vector<OpSample> samples_reduce();
std::vector<OpSample> samples_linalg();
std::vector<OpSample> samples_einsum();
std::vector<OpSample> samples_shape();
std::vector<OpSample> samples_view();
std::vector<OpSample> samples_activation();
std::vector<OpSample> samples_loss();
std::vector<OpSample> samples_index();
std::vector<OpSample> samples_conv();
std::vector<OpSample> samples_pool();
std::vector<OpSample> samples_norm();
std::vector<OpSample> samples_attention();
std::vector<OpSample> samples_sort();
std::vector<OpSample> samples_interpolate();

}  // namespace xg::detail
