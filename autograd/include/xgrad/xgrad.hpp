#pragma once
// The one header users include: #include <xgrad/xgrad.hpp>
#include "xgrad/autograd.hpp"
#include "xgrad/dtype.hpp"
#include "xgrad/error.hpp"
#include "xgrad/gradcheck.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/ops_nn.hpp"
#include "xgrad/shape.hpp"
#include "xgrad/tensor.hpp"
#include "xgrad/nn.hpp"
#include "xgrad/optim.hpp"
#include "xgrad/data.hpp"
