#include "xgrad/nn/resnet.hpp"

#include <string>

#include "xgrad/nn/init.hpp"

namespace xg::nn {
namespace {

Conv2dOptions conv_options(std::int64_t stride, std::int64_t padding) {
  Conv2dOptions o;
  o.stride = {stride, stride};
  o.padding = {padding, padding};
  return o;
}

/// torchvision's initialisation: convolutions kaiming-normal (fan_out, ReLU), BN weight 1, bias 0.
std::shared_ptr<Conv2d> conv(std::int64_t in, std::int64_t out, std::int64_t k, std::int64_t stride, std::int64_t pad) {
  auto c = std::make_shared<Conv2d>(in, out, k, conv_options(stride, pad), /*bias=*/false);
  init::kaiming_normal_(c->weight, 0.0, init::FanMode::FanOut, init::Nonlinearity::ReLU);
  return c;
}

}  // namespace

BasicBlock::BasicBlock(std::int64_t in, std::int64_t channels, std::int64_t stride) : Module("BasicBlock") {
  XG_CHECK(in > 0 && channels > 0 && stride > 0, "BasicBlock", "channels and stride must be positive, got in=", in,
           ", channels=", channels, ", stride=", stride);
  conv1 = register_module("conv1", conv(in, channels, 3, stride, 1));
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(channels));
  conv2 = register_module("conv2", conv(channels, channels, 3, 1, 1));
  bn2 = register_module("bn2", std::make_shared<BatchNorm2d>(channels));
  if (stride != 1 || in != channels) {
    downsample = register_module("downsample", std::make_shared<Sequential>());
    downsample->push_back(conv(in, channels, 1, stride, 0));
    downsample->push_back(std::make_shared<BatchNorm2d>(channels));
  }
}

Tensor BasicBlock::forward(const Tensor& x) {
  const Tensor h = relu((*bn1)((*conv1)(x)));
  const Tensor out = (*bn2)((*conv2)(h));
  return relu(out + (downsample ? (*downsample)(x) : x));
}

ResNet::ResNet(const ResNetOptions& o) : Module("ResNet"), options(o) {
  XG_CHECK(!o.blocks.empty() && o.blocks.size() == o.channels.size() && o.in_channels > 0 && o.num_classes > 0, "ResNet",
           "needs as many stages in blocks (", o.blocks.size(), ") as in channels (", o.channels.size(),
           ") and positive in_channels and num_classes");
  const std::int64_t stem = o.channels[0];
  conv1 = register_module("conv1", o.imagenet_stem ? conv(o.in_channels, stem, 7, 2, 3) : conv(o.in_channels, stem, 3, 1, 1));
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(stem));
  std::int64_t in = stem;
  for (std::size_t s = 0; s < o.blocks.size(); ++s) {
    XG_CHECK(o.blocks[s] > 0 && o.channels[s] > 0, "ResNet", "stage ", s + 1, " needs positive blocks and channels");
    auto stage = std::make_shared<Sequential>();
    for (std::int64_t b = 0; b < o.blocks[s]; ++b) {
      stage->push_back(std::make_shared<BasicBlock>(in, o.channels[s], b == 0 && s > 0 ? 2 : 1));
      in = o.channels[s];
    }
    layers.push_back(register_module("layer" + std::to_string(s + 1), stage));
  }
  fc = register_module("fc", std::make_shared<Linear>(in, o.num_classes));
}

Tensor ResNet::forward(const Tensor& x) {
  Tensor h = relu((*bn1)((*conv1)(x)));
  if (options.imagenet_stem) h = max_pool2d(h, {3, 3}, std::make_pair<std::int64_t, std::int64_t>(2, 2), {1, 1});
  for (const auto& stage : layers) h = (*stage)(h);
  h = h.mean(std::vector<std::int64_t>{2, 3});  // global average pool to [N, C]
  return (*fc)(h);
}

namespace models {

std::shared_ptr<ResNet> resnet18(std::int64_t num_classes, bool cifar_stem, std::int64_t in_channels) {
  return std::make_shared<ResNet>(ResNetOptions{{2, 2, 2, 2}, {64, 128, 256, 512}, in_channels, num_classes, !cifar_stem});
}

std::shared_ptr<ResNet> resnet34(std::int64_t num_classes, bool cifar_stem, std::int64_t in_channels) {
  return std::make_shared<ResNet>(ResNetOptions{{3, 4, 6, 3}, {64, 128, 256, 512}, in_channels, num_classes, !cifar_stem});
}

std::shared_ptr<ResNet> resnet20(std::int64_t num_classes, std::int64_t in_channels) {
  return std::make_shared<ResNet>(ResNetOptions{{3, 3, 3}, {16, 32, 64}, in_channels, num_classes, false});
}

}  // namespace models
}  // namespace xg::nn
