#pragma once
// nn::Module: owns named parameters, buffers and submodules, like libtorch's
// torch::nn::Module but without the macros: modules are plain classes held by
// std::shared_ptr, parameters are named when registered.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "xgrad/autograd.hpp"
#include "xgrad/io.hpp"
#include "xgrad/ops.hpp"

namespace xg::nn {

/// Parameters and buffers by dotted name ("encoder.0.weight"), sorted (xgrad/io.hpp).
using StateDict = xg::StateDict;

/// What a non-strict load_state_dict did not match.
struct LoadResult {
  std::vector<std::string> missing_keys;     ///< in the module, not in the dict
  std::vector<std::string> unexpected_keys;  ///< in the dict, not in the module
};

class Module;

/// Runs before forward with the input; return a tensor to replace the input,
/// or an undefined Tensor to keep it (torch's register_forward_pre_hook).
using ForwardPreHook = std::function<Tensor(Module& module, const Tensor& input)>;
/// Runs after forward; return a tensor to replace the output, or an undefined
/// Tensor to keep it (torch's register_forward_hook). Capturing `output` here
/// and registering a hook on it gives the activation and its gradient (Grad-CAM).
using ForwardHook = std::function<Tensor(Module& module, const Tensor& input, const Tensor& output)>;

class Module {
 public:
  explicit Module(std::string type_name = "Module") : type_name_(std::move(type_name)) {}
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  /// The single-tensor forward; modules with other signatures add overloads.
  virtual Tensor forward(const Tensor& x);
  /// forward(x) with this module's forward pre-hooks and hooks around it.
  /// Containers call their children this way, so hooks fire inside models;
  /// calling forward() directly, or another forward overload, skips them.
  Tensor operator()(const Tensor& x);

  // ---- hooks (run in registration order; a handle removes its hook)
  HookHandle register_forward_pre_hook(ForwardPreHook hook);
  HookHandle register_forward_hook(ForwardHook hook);

  // ---- registration (names may not contain '.')
  Tensor& register_parameter(const std::string& name, Tensor t, bool requires_grad = true);
  Tensor& register_buffer(const std::string& name, Tensor t);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    add_child(name, m);
    return m;
  }

  // ---- traversal
  TensorList parameters(bool recurse = true) const;
  std::vector<std::pair<std::string, Tensor>> named_parameters(bool recurse = true) const;
  TensorList buffers(bool recurse = true) const;
  std::vector<std::pair<std::string, Tensor>> named_buffers(bool recurse = true) const;
  std::vector<std::shared_ptr<Module>> children() const;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const { return children_; }
  std::int64_t num_parameters() const;  ///< total elements of all parameters

  // ---- state
  virtual void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  void zero_grad(bool set_to_none = true);
  /// Converts every parameter and buffer in place (handles stay valid).
  void to(Dtype dtype);

  StateDict state_dict() const;
  /// Copies values in. Strict: keys must match exactly. Either way a shape
  /// or dtype mismatch is an error naming the key, and on any error nothing
  /// has been changed.
  LoadResult load_state_dict(const StateDict& dict, bool strict = true);

  const std::string& type_name() const { return type_name_; }
  /// One line describing this module's settings, e.g. "in_features=4, out_features=2".
  virtual std::string extra_repr() const { return ""; }
  /// The module tree with parameter counts.
  std::string str() const;

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> m);
  void collect(const std::string& prefix, bool params, bool recurse,
               std::vector<std::pair<std::string, Tensor>>& out) const;
  void print(std::ostream& os, const std::string& name, int indent) const;

  // Shared so a HookHandle can outlive the module (removing then does nothing).
  struct Hooks {
    std::int64_t next_id = 0;
    std::vector<std::pair<std::int64_t, ForwardPreHook>> pre;
    std::vector<std::pair<std::int64_t, ForwardHook>> post;
  };
  std::shared_ptr<Hooks> hooks_ = std::make_shared<Hooks>();

  std::string type_name_;
  bool training_ = true;
  std::vector<std::pair<std::string, Tensor>> params_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

std::ostream& operator<<(std::ostream& os, const Module& m);

}  // namespace xg::nn
