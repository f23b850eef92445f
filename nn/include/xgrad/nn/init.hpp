#pragma once
// Initialisation in place, like torch::nn::init, drawing from the one global
// generator (xg::manual_seed): same seed, same weights.
#include <string>

#include "xgrad/tensor.hpp"

namespace xg::nn::init {

enum class Nonlinearity { Linear, Sigmoid, Tanh, ReLU, LeakyReLU };
enum class FanMode { FanIn, FanOut };

/// The recommended gain for a non-linearity (torch.nn.init.calculate_gain).
double calculate_gain(Nonlinearity nonlinearity, double param = 0.01);
/// fan_in, fan_out of a weight [out, in, k...].
std::pair<std::int64_t, std::int64_t> fan_in_and_fan_out(const Tensor& t);

Tensor& normal_(Tensor& t, double mean = 0.0, double std = 0.01);  ///< σ = 0.01: the textbook default
Tensor& uniform_(Tensor& t, double low = 0.0, double high = 1.0);
Tensor& zeros_(Tensor& t);
Tensor& ones_(Tensor& t);
Tensor& constant_(Tensor& t, double value);
Tensor& xavier_uniform_(Tensor& t, double gain = 1.0);
Tensor& xavier_normal_(Tensor& t, double gain = 1.0);
/// a: negative slope for LeakyReLU (libtorch's Linear default is a = √5).
Tensor& kaiming_uniform_(Tensor& t, double a = 0.0, FanMode mode = FanMode::FanIn,
                         Nonlinearity nonlinearity = Nonlinearity::LeakyReLU);
Tensor& kaiming_normal_(Tensor& t, double a = 0.0, FanMode mode = FanMode::FanIn,
                        Nonlinearity nonlinearity = Nonlinearity::LeakyReLU);

}  // namespace xg::nn::init
