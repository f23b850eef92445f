#pragma once
// Residual networks with torchvision's structure and parameter names
// (conv1, bn1, layer1.0.conv1, layer2.0.downsample.0, fc, ...), so a
// torchvision resnet18/34 state_dict saved as safetensors loads directly.
#include <memory>
#include <vector>

#include "xgrad/nn/layers.hpp"

namespace xg::nn {

/// conv3x3-bn-relu-conv3x3-bn, plus the input (or its 1x1 projection when the
/// shape changes: `downsample`, conv1x1 + BN), then ReLU. torchvision's BasicBlock.
class BasicBlock : public Module {
 public:
  BasicBlock(std::int64_t in_channels, std::int64_t channels, std::int64_t stride);
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<Conv2d> conv1, conv2;
  std::shared_ptr<BatchNorm2d> bn1, bn2;
  std::shared_ptr<Sequential> downsample;  ///< null when the input adds as it is
};

struct ResNetOptions {
  std::vector<std::int64_t> blocks;    ///< basic blocks per stage
  std::vector<std::int64_t> channels;  ///< channels per stage; stages after the first halve the size
  std::int64_t in_channels = 3;
  std::int64_t num_classes = 1000;
  bool imagenet_stem = true;  ///< 7x7/2 conv + 3x3/2 max-pool (else a 3x3/1 conv, CIFAR style)
};

class ResNet : public Module {
 public:
  explicit ResNet(const ResNetOptions& options);
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<Conv2d> conv1;
  std::shared_ptr<BatchNorm2d> bn1;
  std::vector<std::shared_ptr<Sequential>> layers;  ///< layer1, layer2, ...
  std::shared_ptr<Linear> fc;
  ResNetOptions options;
};

namespace models {
/// torchvision's resnet18 / resnet34 (ImageNet form), or with cifar_stem the
/// common CIFAR form (3x3 stride-1 stem, no max-pool), same parameter names.
std::shared_ptr<ResNet> resnet18(std::int64_t num_classes = 1000, bool cifar_stem = false, std::int64_t in_channels = 3);
std::shared_ptr<ResNet> resnet34(std::int64_t num_classes = 1000, bool cifar_stem = false, std::int64_t in_channels = 3);
/// He et al.'s CIFAR ResNet-20: 16/32/64 channels, three stages of three basic blocks
/// (projection shortcuts where the shape changes).
std::shared_ptr<ResNet> resnet20(std::int64_t num_classes = 10, std::int64_t in_channels = 3);
}  // namespace models

}  // namespace xg::nn
