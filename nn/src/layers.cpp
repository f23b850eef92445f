#include "xgrad/nn/layers.hpp"

#include <charconv>
#include <cmath>
#include <sstream>

#include "xgrad/nn/init.hpp"
#include "repr.hpp"

namespace xg::nn {

// As Python prints a float (1e-05, 0.1, 1.0), so reprs read like torch.nn's.
std::string py_float(double v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, r.ptr);
  if (s.find_first_of(".eni") == std::string::npos) s += ".0";
  return s;
}

namespace {

/// libtorch's default for Linear/Conv: kaiming_uniform(a=√5) on the weight,
/// which is U(−1/√fan_in, 1/√fan_in), and the same bound for the bias.
void default_init(Tensor& weight, Tensor& bias) {
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(init::fan_in_and_fan_out(weight).first));
    init::uniform_(bias, -bound, bound);
  }
}

template <class... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  return os.str();
}

std::string py_bool(bool b) { return b ? "True" : "False"; }

// A pair as torch prints a module's size argument: one number when both agree.
std::string py_pair(IntPair p) {
  return p.first == p.second ? std::to_string(p.first) : concat("(", p.first, ", ", p.second, ")");
}

std::string py_shape(const Shape& s) {
  std::string out = "(";
  for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + (s.size() == 1 ? ",)" : ")");
}

}  // namespace

Linear::Linear(std::int64_t in, std::int64_t out, bool with_bias)
    : Module("Linear"), in_features(in), out_features(out) {
  XG_CHECK(in > 0 && out > 0, "Linear", "features must be positive, got in=", in, ", out=", out);
  weight = register_parameter("weight", empty({out, in}));
  if (with_bias) bias = register_parameter("bias", empty({out}));
  reset_parameters();
}

void Linear::reset_parameters() { default_init(weight, bias); }

Tensor Linear::forward(const Tensor& x) {
  XG_CHECK(x.dim() >= 1 && x.size(-1) == in_features, "Linear", "expects inputs with last dim ", in_features,
           ", got shape ", x.shape());
  // x Wᵀ with the transpose as a GEMM flag; leading dims fold into rows.
  Tensor rows = x.dim() == 2 ? x : reshape(x, Shape{-1, in_features});
  Tensor y = matmul_transposed(rows, weight, false, true);
  if (bias.defined()) y = y + bias;
  if (x.dim() == 2) return y;
  Shape out = x.shape();
  out[out.size() - 1] = out_features;
  return reshape(y, out);
}

std::string Linear::extra_repr() const {
  return concat("in_features=", in_features, ", out_features=", out_features, ", bias=", bias.defined() ? "true" : "false");
}

Conv2d::Conv2d(std::int64_t in, std::int64_t out, IntPair k, Conv2dOptions opts, bool with_bias)
    : Module("Conv2d"), options(opts) {
  XG_CHECK(in > 0 && out > 0 && opts.groups > 0 && in % opts.groups == 0 && out % opts.groups == 0, "Conv2d",
           "channels in=", in, ", out=", out, " must be positive and divisible by groups=", opts.groups);
  weight = register_parameter("weight", empty({out, in / opts.groups, k.first, k.second}));
  if (with_bias) bias = register_parameter("bias", empty({out}));
  default_init(weight, bias);
}

Tensor Conv2d::forward(const Tensor& x) { return conv2d(x, weight, bias, options); }

std::string Conv2d::extra_repr() const {
  return concat(weight.size(1) * options.groups, ", ", weight.size(0), ", kernel_size=(", weight.size(2), ", ",
                weight.size(3), "), stride=(", options.stride.first, ", ", options.stride.second, "), padding=(",
                options.padding.first, ", ", options.padding.second, ")");
}

Conv1d::Conv1d(std::int64_t in, std::int64_t out, std::int64_t k, std::int64_t stride, std::int64_t padding,
               std::int64_t dilation, std::int64_t groups, bool with_bias)
    : Module("Conv1d"), stride(stride), padding(padding), dilation(dilation), groups(groups) {
  XG_CHECK(in > 0 && out > 0 && groups > 0 && in % groups == 0 && out % groups == 0, "Conv1d", "channels in=", in,
           ", out=", out, " must be positive and divisible by groups=", groups);
  weight = register_parameter("weight", empty({out, in / groups, k}));
  if (with_bias) bias = register_parameter("bias", empty({out}));
  default_init(weight, bias);
}

Tensor Conv1d::forward(const Tensor& x) { return conv1d(x, weight, bias, stride, padding, dilation, groups); }

std::string Conv1d::extra_repr() const {
  return concat(weight.size(1) * groups, ", ", weight.size(0), ", kernel_size=", weight.size(2), ", stride=", stride);
}

ConvTranspose2d::ConvTranspose2d(std::int64_t in, std::int64_t out, IntPair k, Conv2dOptions opts, IntPair out_pad,
                                 bool with_bias)
    : Module("ConvTranspose2d"), options(opts), output_padding(out_pad) {
  XG_CHECK(in > 0 && out > 0 && opts.groups > 0 && in % opts.groups == 0 && out % opts.groups == 0, "ConvTranspose2d",
           "channels in=", in, ", out=", out, " must be positive and divisible by groups=", opts.groups);
  weight = register_parameter("weight", empty({in, out / opts.groups, k.first, k.second}));
  if (with_bias) bias = register_parameter("bias", empty({out}));
  default_init(weight, bias);
}

Tensor ConvTranspose2d::forward(const Tensor& x) { return conv_transpose2d(x, weight, bias, options, output_padding); }

std::string ConvTranspose2d::extra_repr() const {
  return concat(weight.size(0), ", ", weight.size(1) * options.groups, ", kernel_size=(", weight.size(2), ", ",
                weight.size(3), "), stride=(", options.stride.first, ", ", options.stride.second, ")");
}

ConvTranspose1d::ConvTranspose1d(std::int64_t in, std::int64_t out, std::int64_t k, std::int64_t stride,
                                 std::int64_t padding, std::int64_t output_padding, std::int64_t groups, bool with_bias,
                                 std::int64_t dilation)
    : Module("ConvTranspose1d"), stride(stride), padding(padding), output_padding(output_padding), groups(groups),
      dilation(dilation) {
  XG_CHECK(in > 0 && out > 0 && groups > 0 && in % groups == 0 && out % groups == 0, "ConvTranspose1d", "channels in=",
           in, ", out=", out, " must be positive and divisible by groups=", groups);
  weight = register_parameter("weight", empty({in, out / groups, k}));
  if (with_bias) bias = register_parameter("bias", empty({out}));
  default_init(weight, bias);
}

Tensor ConvTranspose1d::forward(const Tensor& x) {
  return conv_transpose1d(x, weight, bias, stride, padding, output_padding, groups, dilation);
}

std::string ConvTranspose1d::extra_repr() const {
  return concat(weight.size(0), ", ", weight.size(1) * groups, ", kernel_size=", weight.size(2), ", stride=", stride);
}

Dropout::Dropout(double p) : Module("Dropout"), p(p) {
  XG_CHECK(p >= 0 && p <= 1, "Dropout", "probability must be in [0, 1], got ", p);
}

std::string Dropout::extra_repr() const { return concat("p=", py_float(p), ", inplace=False"); }

LayerNorm::LayerNorm(Shape shape, double eps, bool affine) : Module("LayerNorm"), normalized_shape(shape), eps(eps) {
  if (affine) {
    weight = register_parameter("weight", ones(shape));
    bias = register_parameter("bias", zeros(shape));
  }
}

GroupNorm::GroupNorm(std::int64_t groups, std::int64_t channels, double eps, bool affine)
    : Module("GroupNorm"), num_groups(groups), num_channels(channels), eps(eps) {
  XG_CHECK(groups > 0 && channels > 0 && channels % groups == 0, "GroupNorm", "num_channels ", channels,
           " must be positive and divisible by num_groups ", groups);
  if (affine) {
    weight = register_parameter("weight", ones({channels}));
    bias = register_parameter("bias", zeros({channels}));
  }
}

RMSNorm::RMSNorm(Shape shape, std::optional<double> eps, bool affine)
    : Module("RMSNorm"), normalized_shape(shape), eps(eps) {
  if (affine) weight = register_parameter("weight", ones(shape));
}

BatchNorm::BatchNorm(const char* type_name, std::int64_t expected_dims, std::int64_t num_features, double eps,
                     double momentum, bool affine)
    : Module(type_name), eps(eps), momentum(momentum), expected_dims_(expected_dims) {
  XG_CHECK(num_features > 0, type_name, "num_features must be positive, got ", num_features);
  if (affine) {
    weight = register_parameter("weight", ones({num_features}));
    bias = register_parameter("bias", zeros({num_features}));
  }
  running_mean = register_buffer("running_mean", zeros({num_features}));
  running_var = register_buffer("running_var", ones({num_features}));
  num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, int64));
}

Tensor BatchNorm::forward(const Tensor& x) {
  const bool ok = expected_dims_ == 0 ? (x.dim() == 2 || x.dim() == 3) : x.dim() == expected_dims_;
  XG_CHECK(ok, type_name().c_str(), "unexpected input shape ", x.shape(),
           expected_dims_ == 0 ? " (expected [N, C] or [N, C, L])" : " (expected [N, C, H, W])");
  if (is_training()) {
    NoGradGuard no_grad;
    num_batches_tracked.add_(1.0);  // as torch.nn.BatchNorm (its momentum=None average uses it)
  }
  return batch_norm(x, running_mean, running_var, weight, bias, is_training(), momentum, eps);
}

Embedding::Embedding(std::int64_t num, std::int64_t dim, std::optional<std::int64_t> padding)
    : Module("Embedding"), padding_idx(padding) {
  XG_CHECK(num > 0 && dim > 0, "Embedding", "sizes must be positive, got num_embeddings=", num,
           ", embedding_dim=", dim);
  XG_CHECK(!padding || (*padding >= -num && *padding < num), "Embedding", "padding_idx ", *padding,
           " must be within num_embeddings (", num, ")");
  if (padding_idx && *padding_idx < 0) *padding_idx += num;
  weight = register_parameter("weight", randn({num, dim}));
  if (padding_idx) {
    NoGradGuard no_grad;
    weight.select(0, *padding_idx).zero_();
  }
}

std::string Embedding::extra_repr() const {
  return concat(weight.size(0), ", ", weight.size(1), padding_idx ? concat(", padding_idx=", *padding_idx) : "");
}

std::string Pool2d::extra_repr() const {
  const std::string common = concat("kernel_size=", py_pair(kernel), ", stride=", py_pair(options.stride.value_or(kernel)),
                                    ", padding=", py_pair(options.padding));
  if (type_name() == "MaxPool2d")
    return concat(common, ", dilation=", py_pair(options.dilation), ", ceil_mode=", py_bool(options.ceil_mode));
  return concat(common, ", ceil_mode=", py_bool(options.ceil_mode), ", count_include_pad=",
                py_bool(options.count_include_pad));
}

std::string AdaptiveAvgPool2d::extra_repr() const {
  return concat("output_size=(", output_size.first, ", ", output_size.second, ")");
}
std::string AdaptiveMaxPool2d::extra_repr() const {
  return concat("output_size=(", output_size.first, ", ", output_size.second, ")");
}
Upsample::Upsample(InterpolateOptions o) : Module("Upsample"), options(std::move(o)) {
  XG_CHECK(options.size.empty() != options.scale_factor.empty(), "Upsample", "give exactly one of size and scale_factor");
}

Upsample::Upsample(double scale_factor, InterpolateMode mode, std::optional<bool> align_corners)
    : Upsample(InterpolateOptions{{}, {scale_factor}, mode, align_corners}) {}

std::string Upsample::extra_repr() const {
  static const char* const modes[] = {"nearest", "linear", "bilinear", "trilinear"};
  std::string info;
  if (!options.scale_factor.empty()) {
    const auto& f = options.scale_factor;
    info = "scale_factor=" + (f.size() == 1 ? py_float(f[0]) : "(");
    for (std::size_t i = 0; f.size() > 1 && i < f.size(); ++i) info += (i ? ", " : "") + py_float(f[i]);
    if (f.size() > 1) info += ")";
  } else {
    info = "size=" + (options.size.size() == 1 ? std::to_string(options.size[0]) : py_shape(options.size));
  }
  return concat(info, ", mode=", modes[static_cast<int>(options.mode)]);
}

std::string Flatten::extra_repr() const { return concat("start_dim=", start_dim, ", end_dim=", end_dim); }

std::string LayerNorm::extra_repr() const {
  return concat(py_shape(normalized_shape), ", eps=", py_float(eps), ", elementwise_affine=", py_bool(weight.defined()));
}
std::string GroupNorm::extra_repr() const {
  return concat(num_groups, ", ", num_channels, ", eps=", py_float(eps), ", affine=", py_bool(weight.defined()));
}
std::string RMSNorm::extra_repr() const {
  return concat(py_shape(normalized_shape), ", eps=", eps ? py_float(*eps) : "None", ", elementwise_affine=",
                py_bool(weight.defined()));
}
std::string BatchNorm::extra_repr() const {
  return concat(running_mean.size(0), ", eps=", py_float(eps), ", momentum=", py_float(momentum),
                ", affine=", py_bool(weight.defined()), ", track_running_stats=True");
}

Sequential::Sequential(std::initializer_list<std::shared_ptr<Module>> modules) : Module("Sequential") {
  for (auto& m : modules) push_back(m);
}

void Sequential::push_back(std::shared_ptr<Module> m) { push_back(std::to_string(modules_.size()), std::move(m)); }

void Sequential::push_back(const std::string& name, std::shared_ptr<Module> m) {
  register_module(name, m);
  modules_.push_back(std::move(m));
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (auto& m : modules_) y = (*m)(y);
  return y;
}

std::shared_ptr<Module> Sequential::operator[](std::size_t i) const {
  XG_CHECK(i < modules_.size(), "Sequential", "index ", i, " is out of range for ", modules_.size(), " modules");
  return modules_[i];
}

std::shared_ptr<Module> Sequential::operator[](const std::string& name) const {
  for (auto& [n, c] : named_children())
    if (n == name) return c;
  detail::fail("Sequential", "no submodule named '", name, "'");
}

void ModuleList::push_back(std::shared_ptr<Module> m) {
  register_module(std::to_string(modules_.size()), m);
  modules_.push_back(std::move(m));
}

std::shared_ptr<Module> ModuleList::operator[](std::size_t i) const {
  XG_CHECK(i < modules_.size(), "ModuleList", "index ", i, " is out of range for ", modules_.size(), " modules");
  return modules_[i];
}

}  // namespace xg::nn
