#pragma once
// xg::nn: modules, layers, initialisation, checkpoints.
#include "xgrad/nn/attention.hpp"
#include "xgrad/nn/init.hpp"
#include "xgrad/nn/layers.hpp"
#include "xgrad/nn/models.hpp"
#include "xgrad/nn/resnet.hpp"
#include "xgrad/nn/module.hpp"
#include "xgrad/nn/per_sample.hpp"
#include "xgrad/nn/recurrent.hpp"
#include "xgrad/nn/serialize.hpp"
#include "xgrad/nn/transformer.hpp"
