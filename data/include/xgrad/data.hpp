#pragma once
// xg::data: datasets, loaders, readers and the training loop.
#include "xgrad/data/dataset.hpp"
#include "xgrad/data/augment.hpp"
#include "xgrad/data/loader.hpp"
#include "xgrad/data/readers.hpp"
#include "xgrad/data/trainer.hpp"
