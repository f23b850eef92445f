#pragma once
// Optimizer: parameter groups (each with its own options) and per-parameter
// state; a subclass implements only step(). Updates run in place under
// no-grad, allocate nothing after the first step, and skip parameters
// without a gradient.
#include <cstdint>
#include <map>
#include <type_traits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "xgrad/nn/module.hpp"

namespace xg::optim {

/// Named numbers of an optimizer's options or state, for state_dict().
using Fields = std::vector<std::pair<const char*, double*>>;
using TensorFields = std::vector<std::pair<const char*, Tensor*>>;

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual void step() = 0;
  /// Clears every parameter's gradient (to undefined, or to zeros).
  void zero_grad(bool set_to_none = true);

  virtual std::size_t num_param_groups() const = 0;
  virtual const TensorList& params(std::size_t group) const = 0;
  virtual double lr(std::size_t group) const = 0;
  virtual void set_lr(std::size_t group, double lr) = 0;

  /// Options of every group and the per-parameter state, as named tensors
  /// ("param_groups.0.lr", "state.3.exp_avg", ...) ready for safetensors.
  virtual nn::StateDict state_dict() = 0;
  /// Restores what state_dict() gave; checks group and parameter counts and shapes first.
  virtual void load_state_dict(const nn::StateDict& dict) = 0;
};

namespace detail {
/// Note [Denormals in optimizer state]
/// A parameter whose gradient stays 0 (a dead unit) has moments that decay
/// geometrically (0.9ⁿ, 0.999ⁿ) through the denormal range, where each
/// multiply takes a slow microcode path: an Adam step over such state ran up
/// to 40× slower (bench_training adam_step_decayed_state; bench/README.md) and
/// a whole training epoch 4× slower. While
/// it lives, this flushes denormal results and inputs to zero on this thread
/// (x86 MXCSR FTZ/DAZ), then restores the previous mode. Values that small
/// (< 1.2e-38 in float32) change an update by less than one part in 10³⁰.
class FlushDenormals {
 public:
  FlushDenormals();
  ~FlushDenormals();
  FlushDenormals(const FlushDenormals&) = delete;
  FlushDenormals& operator=(const FlushDenormals&) = delete;

 private:
  unsigned saved_ = 0;
};

Tensor scalar_f64(double v);
double read_scalar(const nn::StateDict& d, const std::string& key, const char* op);
/// read_scalar, and the value must be finite.
double read_finite(const nn::StateDict& d, const std::string& key, const char* op);
/// read_scalar, and the value must be a non-negative whole number (a step count).
double read_count(const nn::StateDict& d, const std::string& key, const char* op);
void check_options_lr(double lr, const char* op);
}  // namespace detail

/// Groups and typed per-parameter state. Options must offer `double lr` and
/// `Fields fields()`; State must offer `TensorFields tensors()`,
/// `Fields scalars()`, and may offer `static bool needs(key, options)`: whether
/// the update reads that state tensor under those options (a loaded state must
/// have it; without `needs`, every state tensor is required).
template <class Options, class State>
class OptimizerWith : public Optimizer {
 public:
  struct Group {
    TensorList params;
    Options options;
  };

  OptimizerWith(const TensorList& params, Options defaults, const char* name) : name_(name) {
    add_param_group(params, defaults);
  }

  void add_param_group(const TensorList& params, Options options) {
    detail::check_options_lr(options.lr, name_);
    for (const Tensor& p : params) {
      XG_CHECK(p.defined() && p.is_leaf() && p.requires_grad(), name_, "can only optimise leaf tensors that require grad");
      for (const Group& g : groups_)
        for (const Tensor& q : g.params)
          XG_CHECK(!q.is_same(p), name_, "a parameter appears in more than one group");
    }
    groups_.push_back({params, options});
  }

  std::vector<Group>& param_groups() { return groups_; }
  std::size_t num_param_groups() const override { return groups_.size(); }
  const TensorList& params(std::size_t g) const override { return groups_.at(g).params; }
  double lr(std::size_t g) const override { return groups_.at(g).options.lr; }
  void set_lr(std::size_t g, double lr) override { groups_.at(g).options.lr = lr; }

  nn::StateDict state_dict() override {
    nn::StateDict d;
    std::size_t index = 0;
    for (std::size_t g = 0; g < groups_.size(); ++g) {
      for (auto& [key, value] : groups_[g].options.fields())
        d["param_groups." + std::to_string(g) + "." + key] = detail::scalar_f64(*value);
      for (const Tensor& p : groups_[g].params) {
        auto it = state_.find(p.id());
        if (it != state_.end()) {
          const std::string prefix = "state." + std::to_string(index) + ".";
          for (auto& [key, value] : it->second.scalars()) d[prefix + key] = detail::scalar_f64(*value);
          for (auto& [key, t] : it->second.tensors())
            if (t->defined()) d[prefix + key] = t->clone();
        }
        ++index;
      }
    }
    return d;
  }

  void load_state_dict(const nn::StateDict& d) override {
    // Build everything first; assign only when all of it checked out.
    std::vector<Options> options;
    std::map<const void*, State> state;
    std::size_t index = 0;
    for (std::size_t g = 0; g < groups_.size(); ++g) {
      Options o = groups_[g].options;
      for (auto& [key, value] : o.fields())
        *value = detail::read_finite(d, "param_groups." + std::to_string(g) + "." + key, name_);
      detail::check_options_lr(o.lr, name_);
      options.push_back(o);
      for (const Tensor& p : groups_[g].params) {
        const std::string prefix = "state." + std::to_string(index++) + ".";
        if (!d.count(prefix + "step")) continue;  // no state yet for this parameter
        State s;
        // `step` is a count; other scalars a State may keep need only be finite.
        for (auto& [key, value] : s.scalars())
          *value = std::string(key) == "step" ? detail::read_count(d, prefix + key, name_)
                                              : detail::read_finite(d, prefix + key, name_);
        for (auto& [key, t] : s.tensors()) {
          auto it = d.find(prefix + key);
          // A state the update reads must be there: a missing one would silently restart it.
          XG_CHECK(it != d.end() || !state_needs(key, o), name_, "the state dict has '", prefix, "step' but no '",
                   prefix, key, "': the optimizer state is incomplete");
          if (it == d.end()) continue;
          XG_CHECK(it->second.shape() == p.shape() && it->second.dtype() == p.dtype(), name_, "state '", prefix + key,
                   "' is ", it->second.dtype(), it->second.shape(), " but the parameter is ", p.dtype(), p.shape());
          *t = it->second.clone();
        }
        state.emplace(p.id(), std::move(s));
      }
    }
    XG_CHECK(!d.count("param_groups." + std::to_string(groups_.size()) + ".lr"), name_,
             "the state dict has more parameter groups than this optimizer (", groups_.size(), ")");
    XG_CHECK(!d.count("state." + std::to_string(index) + ".step"), name_,
             "the state dict has state for more parameters than this optimizer has (", index, ")");
    for (std::size_t g = 0; g < groups_.size(); ++g) groups_[g].options = options[g];
    state_ = std::move(state);
  }

 protected:
  template <class S, class = void>
  struct HasNeeds : std::false_type {};
  template <class S>
  struct HasNeeds<S, std::void_t<decltype(S::needs(std::string(), std::declval<const Options&>()))>> : std::true_type {};
  static bool state_needs(const std::string& key, const Options& o) {
    if constexpr (HasNeeds<State>::value) {
      return State::needs(key, o);
    } else {
      return true;
    }
  }

  /// The loop every step() shares: under no-grad, for each parameter that
  /// has a gradient, f(options, parameter, gradient, state).
  template <class F>
  void for_each_update(F f) {
    NoGradGuard no_grad;
    detail::FlushDenormals flush;  // Note [Denormals in optimizer state]
    for (Group& group : groups_)
      for (Tensor& p : group.params) {
        const Tensor g = p.grad();
        if (!g.defined()) continue;
        XG_CHECK(g.shape() == p.shape() && g.dtype() == p.dtype(), name_, "gradient ", g.dtype(), g.shape(),
                 " does not match its parameter ", p.dtype(), p.shape());
        f(group.options, p, g, state_.try_emplace(p.id()).first->second);  // state made on first use
      }
  }

  const char* name_;
  std::vector<Group> groups_;
  std::map<const void*, State> state_;  // by parameter identity (Tensor::id)
};

}  // namespace xg::optim
