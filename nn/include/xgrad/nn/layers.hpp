#pragma once
// Layers. Default initialisation matches libtorch's, so results compare.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "xgrad/nn/module.hpp"
#include "xgrad/ops_nn.hpp"

namespace xg::nn {

using IntPair = std::pair<std::int64_t, std::int64_t>;

/// y = x Wᵀ + b; W [out, in] and b [out] ~ U(−1/√in, 1/√in) (libtorch's default).
class Linear : public Module {
 public:
  Linear(std::int64_t in_features, std::int64_t out_features, bool bias = true);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  void reset_parameters();
  Tensor weight, bias;
  std::int64_t in_features, out_features;
};

class Conv2d : public Module {
 public:
  Conv2d(std::int64_t in_channels, std::int64_t out_channels, IntPair kernel_size, Conv2dOptions options = {},
         bool bias = true);
  Conv2d(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size, Conv2dOptions options = {},
         bool bias = true)
      : Conv2d(in_channels, out_channels, {kernel_size, kernel_size}, options, bias) {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  Tensor weight, bias;
  Conv2dOptions options;
};

class Conv1d : public Module {
 public:
  Conv1d(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size, std::int64_t stride = 1,
         std::int64_t padding = 0, std::int64_t dilation = 1, std::int64_t groups = 1, bool bias = true);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  Tensor weight, bias;
  std::int64_t stride, padding, dilation, groups;
};

/// torch.nn.ConvTranspose2d: weight [in, out/groups, kh, kw], bias [out].
class ConvTranspose2d : public Module {
 public:
  ConvTranspose2d(std::int64_t in_channels, std::int64_t out_channels, IntPair kernel_size, Conv2dOptions options = {},
                  IntPair output_padding = {0, 0}, bool bias = true);
  ConvTranspose2d(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size,
                  Conv2dOptions options = {}, IntPair output_padding = {0, 0}, bool bias = true)
      : ConvTranspose2d(in_channels, out_channels, {kernel_size, kernel_size}, options, output_padding, bias) {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  Tensor weight, bias;
  Conv2dOptions options;
  IntPair output_padding;
};

/// torch.nn.ConvTranspose1d (PyTorch's argument order): weight [in, out/groups, k], bias [out].
class ConvTranspose1d : public Module {
 public:
  ConvTranspose1d(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size, std::int64_t stride = 1,
                  std::int64_t padding = 0, std::int64_t output_padding = 0, std::int64_t groups = 1, bool bias = true,
                  std::int64_t dilation = 1);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  Tensor weight, bias;
  std::int64_t stride, padding, output_padding, groups, dilation;
};

/// Pooling as a module: MaxPool2d and AvgPool2d differ only in the function.
class Pool2d : public Module {
 public:
  using Fn = Tensor (*)(const Tensor&, IntPair, const Pool2dOptions&);
  Pool2d(const char* type_name, Fn fn, IntPair kernel, Pool2dOptions options)
      : Module(type_name), kernel(kernel), options(options), fn_(fn) {}
  Tensor forward(const Tensor& x) override { return fn_(x, kernel, options); }
  std::string extra_repr() const override;
  IntPair kernel;
  Pool2dOptions options;

 private:
  Fn fn_;
};

class MaxPool2d : public Pool2d {
 public:
  MaxPool2d(IntPair kernel, Pool2dOptions options) : Pool2d("MaxPool2d", max_pool2d, kernel, options) {}
  explicit MaxPool2d(IntPair kernel, std::optional<IntPair> stride = std::nullopt, IntPair padding = {0, 0})
      : MaxPool2d(kernel, Pool2dOptions{stride, padding}) {}
  explicit MaxPool2d(std::int64_t k) : MaxPool2d(IntPair{k, k}) {}
};

class AvgPool2d : public Pool2d {
 public:
  AvgPool2d(IntPair kernel, Pool2dOptions options) : Pool2d("AvgPool2d", avg_pool2d, kernel, options) {}
  explicit AvgPool2d(IntPair kernel, std::optional<IntPair> stride = std::nullopt, IntPair padding = {0, 0})
      : AvgPool2d(kernel, Pool2dOptions{stride, padding}) {}
  explicit AvgPool2d(std::int64_t k) : AvgPool2d(IntPair{k, k}) {}
};

class AdaptiveAvgPool2d : public Module {
 public:
  explicit AdaptiveAvgPool2d(IntPair output_size) : Module("AdaptiveAvgPool2d"), output_size(output_size) {}
  Tensor forward(const Tensor& x) override { return adaptive_avg_pool2d(x, output_size); }
  std::string extra_repr() const override;
  IntPair output_size;
};

class AdaptiveMaxPool2d : public Module {
 public:
  explicit AdaptiveMaxPool2d(IntPair output_size) : Module("AdaptiveMaxPool2d"), output_size(output_size) {}
  Tensor forward(const Tensor& x) override { return adaptive_max_pool2d(x, output_size); }
  std::string extra_repr() const override;
  IntPair output_size;
};

class Flatten : public Module {
 public:
  explicit Flatten(std::int64_t start_dim = 1, std::int64_t end_dim = -1)
      : Module("Flatten"), start_dim(start_dim), end_dim(end_dim) {}
  Tensor forward(const Tensor& x) override { return flatten(x, start_dim, end_dim); }
  std::string extra_repr() const override;
  std::int64_t start_dim, end_dim;
};

/// Inverted dropout in training, identity in eval (follows train()/eval()).
class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5);
  Tensor forward(const Tensor& x) override { return dropout(x, p, is_training()); }
  std::string extra_repr() const override;
  double p;
};

class LayerNorm : public Module {
 public:
  explicit LayerNorm(Shape normalized_shape, double eps = 1e-5, bool elementwise_affine = true);
  Tensor forward(const Tensor& x) override { return layer_norm(x, normalized_shape, weight, bias, eps); }
  std::string extra_repr() const override;
  Shape normalized_shape;
  double eps;
  Tensor weight, bias;
};

/// GroupNorm (torch.nn.GroupNorm): x [N, C, ...] normalised over each group
/// of C / num_groups channels (and all positions) per example, then a
/// per-channel weight and bias (ones and zeros at first).
class GroupNorm : public Module {
 public:
  GroupNorm(std::int64_t num_groups, std::int64_t num_channels, double eps = 1e-5, bool affine = true);
  Tensor forward(const Tensor& x) override { return group_norm(x, num_groups, weight, bias, eps); }
  std::string extra_repr() const override;
  std::int64_t num_groups, num_channels;
  double eps;
  Tensor weight, bias;
};

/// RMSNorm (torch.nn.RMSNorm): x / √(mean(x²) + eps) · weight over the last
/// dims; eps unset means the input dtype's machine epsilon.
class RMSNorm : public Module {
 public:
  explicit RMSNorm(Shape normalized_shape, std::optional<double> eps = std::nullopt, bool elementwise_affine = true);
  Tensor forward(const Tensor& x) override { return rms_norm(x, normalized_shape, weight, eps); }
  std::string extra_repr() const override;
  Shape normalized_shape;
  std::optional<double> eps;
  Tensor weight;
};

/// Batch normalisation over [N, C] or [N, C, L] (BatchNorm1d) and [N, C, H, W]
/// (BatchNorm2d): batch statistics in training (updating running_mean/var
/// buffers), running statistics in eval.
class BatchNorm : public Module {
 public:
  BatchNorm(const char* type_name, std::int64_t expected_dims, std::int64_t num_features, double eps, double momentum,
            bool affine);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  Tensor weight, bias, running_mean, running_var;
  Tensor num_batches_tracked;  ///< int64, counts training batches (torch's buffer of that name)
  double eps, momentum;

 private:
  std::int64_t expected_dims_;
};
class BatchNorm1d : public BatchNorm {
 public:
  explicit BatchNorm1d(std::int64_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = true)
      : BatchNorm("BatchNorm1d", 0, num_features, eps, momentum, affine) {}
};
class BatchNorm2d : public BatchNorm {
 public:
  explicit BatchNorm2d(std::int64_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = true)
      : BatchNorm("BatchNorm2d", 4, num_features, eps, momentum, affine) {}
};

/// Rows of a [num_embeddings, dim] table, initialised N(0, 1) like libtorch;
/// the padding_idx row starts at zero and gets no gradient (torch.nn.Embedding).
class Embedding : public Module {
 public:
  Embedding(std::int64_t num_embeddings, std::int64_t embedding_dim,
            std::optional<std::int64_t> padding_idx = std::nullopt);
  Tensor forward(const Tensor& indices) override { return embedding(weight, indices, padding_idx); }
  std::string extra_repr() const override;
  Tensor weight;
  std::optional<std::int64_t> padding_idx;  ///< in [0, num_embeddings) once constructed
};

/// torch.nn.Upsample: interpolate (ops_nn.hpp) with fixed options.
class Upsample : public Module {
 public:
  explicit Upsample(InterpolateOptions options);
  /// Upsample(2.0) doubles every spatial dim, as torch.nn.Upsample(scale_factor=2).
  explicit Upsample(double scale_factor, InterpolateMode mode = InterpolateMode::Nearest,
                    std::optional<bool> align_corners = std::nullopt);
  Tensor forward(const Tensor& x) override { return interpolate(x, options); }
  std::string extra_repr() const override;
  InterpolateOptions options;
};

/// A module around a tensor function: the activations below are these.
class Lambda : public Module {
 public:
  Lambda(std::string type_name, std::function<Tensor(const Tensor&)> fn)
      : Module(std::move(type_name)), fn_(std::move(fn)) {}
  Tensor forward(const Tensor& x) override { return fn_(x); }

 private:
  std::function<Tensor(const Tensor&)> fn_;
};

struct Identity : Lambda { Identity() : Lambda("Identity", [](const Tensor& x) { return x; }) {} };
struct ReLU : Lambda { ReLU() : Lambda("ReLU", [](const Tensor& x) { return relu(x); }) {} };
struct Tanh : Lambda { Tanh() : Lambda("Tanh", [](const Tensor& x) { return tanh(x); }) {} };
struct Sigmoid : Lambda { Sigmoid() : Lambda("Sigmoid", [](const Tensor& x) { return sigmoid(x); }) {} };
struct SiLU : Lambda { SiLU() : Lambda("SiLU", [](const Tensor& x) { return silu(x); }) {} };
struct GELU : Lambda {
  explicit GELU(bool tanh_approximation = false)
      : Lambda("GELU", [tanh_approximation](const Tensor& x) { return gelu(x, tanh_approximation); }) {}
};
struct LeakyReLU : Lambda {
  explicit LeakyReLU(double slope = 0.01) : Lambda("LeakyReLU", [slope](const Tensor& x) { return leaky_relu(x, slope); }) {}
};
struct Softmax : Lambda {
  explicit Softmax(std::int64_t dim) : Lambda("Softmax", [dim](const Tensor& x) { return softmax(x, dim); }) {}
};
struct LogSoftmax : Lambda {
  explicit LogSoftmax(std::int64_t dim) : Lambda("LogSoftmax", [dim](const Tensor& x) { return log_softmax(x, dim); }) {}
};

/// Runs its modules in order. Submodules are named "0", "1", ... unless named.
class Sequential : public Module {
 public:
  Sequential() : Module("Sequential") {}
  Sequential(std::initializer_list<std::shared_ptr<Module>> modules);
  /// std::make_shared<Sequential>(a, b, c) with modules of any types.
  template <class... M, class = std::enable_if_t<(std::is_base_of_v<Module, M> && ...)>>
  explicit Sequential(std::shared_ptr<M>... modules) : Sequential({std::shared_ptr<Module>(std::move(modules))...}) {}
  void push_back(std::shared_ptr<Module> m);
  void push_back(const std::string& name, std::shared_ptr<Module> m);
  Tensor forward(const Tensor& x) override;
  std::size_t size() const { return modules_.size(); }
  std::shared_ptr<Module> operator[](std::size_t i) const;
  std::shared_ptr<Module> operator[](const std::string& name) const;
  template <class M>
  std::shared_ptr<M> at(std::size_t i) const {
    auto m = std::dynamic_pointer_cast<M>((*this)[i]);
    XG_CHECK(m != nullptr, "Sequential::at", "module ", i, " is a ", (*this)[i]->type_name(), ", not the type asked for");
    return m;
  }

 private:
  std::vector<std::shared_ptr<Module>> modules_;
};

/// Holds modules (registered "0", "1", ...) without a forward of its own.
class ModuleList : public Module {
 public:
  ModuleList() : Module("ModuleList") {}
  void push_back(std::shared_ptr<Module> m);
  std::size_t size() const { return modules_.size(); }
  std::shared_ptr<Module> operator[](std::size_t i) const;
  auto begin() const { return modules_.begin(); }
  auto end() const { return modules_.end(); }

 private:
  std::vector<std::shared_ptr<Module>> modules_;
};

}  // namespace xg::nn
