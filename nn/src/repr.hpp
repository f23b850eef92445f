#pragma once
// Pieces of module reprs shared by the nn sources, printed as torch.nn prints them.
#include <string>

namespace xg::nn {

/// As Python prints a float: 1e-05, 0.1, 1.0.
std::string py_float(double v);

}  // namespace xg::nn
