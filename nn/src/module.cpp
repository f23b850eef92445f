#include "xgrad/nn/module.hpp"

#include <algorithm>
#include <set>
#include <sstream>

namespace xg::nn {
namespace {

void check_name(const std::string& name, const std::string& owner, const char* op) {
  XG_CHECK(!name.empty() && name.find('.') == std::string::npos, op, "invalid name '", name, "' in ", owner,
           " (names are non-empty and contain no '.')");
}

}  // namespace

Tensor Module::forward(const Tensor&) {
  detail::fail("forward", type_name_, " has no single-tensor forward; call its own forward overload");
}

Tensor Module::operator()(const Tensor& x) {
  if (hooks_->pre.empty() && hooks_->post.empty()) return forward(x);
  // Copies, so a hook may remove itself (or add another) while they run.
  const auto pre = hooks_->pre;
  Tensor input = x;
  for (const auto& [id, hook] : pre)
    if (Tensor replaced = hook(*this, input); replaced.defined()) input = std::move(replaced);
  Tensor output = forward(input);
  const auto post = hooks_->post;
  for (const auto& [id, hook] : post)
    if (Tensor replaced = hook(*this, input, output); replaced.defined()) output = std::move(replaced);
  return output;
}

namespace {
template <class List>
HookHandle add_hook(const std::shared_ptr<void>& owner, std::int64_t id, List* list, typename List::value_type::second_type hook,
                    const char* op) {
  XG_CHECK(static_cast<bool>(hook), op, "the hook is empty (a default-constructed std::function)");
  list->emplace_back(id, std::move(hook));
  std::weak_ptr<void> weak = owner;
  return HookHandle([weak, list, id] {
    if (weak.expired()) return;  // the module is gone, and its hooks with it
    auto it = std::find_if(list->begin(), list->end(), [id](const auto& e) { return e.first == id; });
    if (it != list->end()) list->erase(it);
  });
}
}  // namespace

HookHandle Module::register_forward_pre_hook(ForwardPreHook hook) {
  return add_hook(hooks_, hooks_->next_id++, &hooks_->pre, std::move(hook), "register_forward_pre_hook");
}

HookHandle Module::register_forward_hook(ForwardHook hook) {
  return add_hook(hooks_, hooks_->next_id++, &hooks_->post, std::move(hook), "register_forward_hook");
}

Tensor& Module::register_parameter(const std::string& name, Tensor t, bool requires_grad) {
  check_name(name, type_name_, "register_parameter");
  for (auto& [n, p] : params_) XG_CHECK(n != name, "register_parameter", "parameter '", name, "' already exists in ", type_name_);
  if (t.defined() && requires_grad && !t.requires_grad()) t.requires_grad_(true);
  params_.emplace_back(name, std::move(t));
  return params_.back().second;
}

Tensor& Module::register_buffer(const std::string& name, Tensor t) {
  check_name(name, type_name_, "register_buffer");
  for (auto& [n, b] : buffers_) XG_CHECK(n != name, "register_buffer", "buffer '", name, "' already exists in ", type_name_);
  buffers_.emplace_back(name, std::move(t));
  return buffers_.back().second;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> m) {
  check_name(name, type_name_, "register_module");
  XG_CHECK(m != nullptr, "register_module", "module '", name, "' is null");
  for (auto& [n, c] : children_) XG_CHECK(n != name, "register_module", "submodule '", name, "' already exists in ", type_name_);
  // A module may not contain itself: parameters(), printing and to() walk the
  // tree and would never end. Refuse if this module is m or lies inside m.
  std::vector<const Module*> todo{m.get()};
  while (!todo.empty()) {
    const Module* cur = todo.back();
    todo.pop_back();
    XG_CHECK(cur != this, "register_module", "registering ", m->type_name_, " as '", name, "' in ", type_name_,
             cur == m.get() ? " would make the module its own child" : " would make a cycle (it already contains this module)",
             "; a module tree cannot contain itself");
    for (const auto& [n, c] : cur->children_) todo.push_back(c.get());
  }
  children_.emplace_back(name, std::move(m));
}

void Module::collect(const std::string& prefix, bool params, bool recurse,
                     std::vector<std::pair<std::string, Tensor>>& out) const {
  for (const auto& [n, t] : params ? params_ : buffers_)
    if (t.defined()) out.emplace_back(prefix + n, t);
  if (!recurse) return;
  for (const auto& [n, c] : children_) c->collect(prefix + n + ".", params, true, out);
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters(bool recurse) const {
  std::vector<std::pair<std::string, Tensor>> out;
  collect("", true, recurse, out);
  // A tensor shared by two modules (tied weights) is listed once.
  std::set<const void*> seen;
  std::vector<std::pair<std::string, Tensor>> unique;
  for (auto& p : out)
    if (seen.insert(p.second.id()).second) unique.push_back(std::move(p));
  return unique;
}

TensorList Module::parameters(bool recurse) const {
  TensorList out;
  for (auto& [n, t] : named_parameters(recurse)) out.push_back(t);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers(bool recurse) const {
  std::vector<std::pair<std::string, Tensor>> out;
  collect("", false, recurse, out);
  return out;
}

TensorList Module::buffers(bool recurse) const {
  TensorList out;
  for (auto& [n, t] : named_buffers(recurse)) out.push_back(t);
  return out;
}

std::vector<std::shared_ptr<Module>> Module::children() const {
  std::vector<std::shared_ptr<Module>> out;
  for (auto& [n, c] : children_) out.push_back(c);
  return out;
}

std::int64_t Module::num_parameters() const {
  std::int64_t n = 0;
  for (const Tensor& p : parameters()) n += p.numel();
  return n;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [n, c] : children_) c->train(on);
}

void Module::zero_grad(bool set_to_none) {
  for (Tensor& p : parameters()) p.zero_grad(set_to_none);
}

void Module::to(Dtype dtype) {
  XG_CHECK(is_floating(dtype), "Module::to", "modules hold float tensors; cannot convert to ", dtype);
  NoGradGuard no_grad;
  auto convert = [dtype](Tensor t) {
    if (!is_floating(t.dtype()) || t.dtype() == dtype) return;
    t.set_data(t.to(dtype));  // the same handle, so optimizers and users holding it see the change
  };
  for (Tensor& p : parameters()) convert(p);
  for (Tensor& b : buffers()) convert(b);
}

StateDict Module::state_dict() const {
  StateDict d;
  for (auto& [n, t] : named_parameters()) d[n] = t;
  for (auto& [n, t] : named_buffers()) d[n] = t;
  return d;
}

LoadResult Module::load_state_dict(const StateDict& dict, bool strict) {
  const StateDict own = state_dict();
  LoadResult r;
  // A BatchNorm's num_batches_tracked may be absent (checkpoints from before
  // xgrad kept it): it keeps its value, as PyTorch's BatchNorm loads old ones.
  auto optional_key = [](const std::string& n) {
    const std::string tail = "num_batches_tracked";
    return n.size() >= tail.size() && n.compare(n.size() - tail.size(), tail.size(), tail) == 0;
  };
  for (auto& [n, t] : own)
    if (!dict.count(n) && !optional_key(n)) r.missing_keys.push_back(n);
  for (auto& [n, t] : dict)
    if (!own.count(n)) r.unexpected_keys.push_back(n);
  if (strict && (!r.missing_keys.empty() || !r.unexpected_keys.empty())) {
    std::ostringstream os;
    os << "load_state_dict: keys do not match " << type_name_ << ".";
    if (!r.missing_keys.empty()) {
      os << " Missing:";
      for (auto& k : r.missing_keys) os << " " << k;
      os << ".";
    }
    if (!r.unexpected_keys.empty()) {
      os << " Unexpected:";
      for (auto& k : r.unexpected_keys) os << " " << k;
      os << ".";
    }
    os << " (pass strict=false to load the keys that match)";
    throw Error(os.str());
  }
  // Check everything before touching anything, so a failed load changes nothing.
  for (auto& [n, t] : own) {
    auto it = dict.find(n);
    if (it == dict.end()) continue;
    XG_CHECK(it->second.defined(), "load_state_dict", "'", n, "' is undefined");
    XG_CHECK(it->second.shape() == t.shape() && it->second.dtype() == t.dtype(), "load_state_dict", "'", n, "' is ",
             it->second.dtype(), it->second.shape(), " in the state dict but ", t.dtype(), t.shape(), " in the module");
  }
  NoGradGuard no_grad;
  for (auto& [n, t] : own) {
    auto it = dict.find(n);
    if (it != dict.end()) Tensor(t).copy_(it->second);
  }
  return r;
}

void Module::print(std::ostream& os, const std::string& name, int indent) const {
  const std::string pad(static_cast<std::size_t>(indent) * 2, ' ');
  os << pad;
  if (!name.empty()) os << "(" << name << "): ";
  os << type_name_ << "(" << extra_repr() << ")";
  std::int64_t own = 0;
  for (auto& [n, t] : params_)
    if (t.defined()) own += t.numel();
  if (children_.empty()) {
    if (own) os << "  # " << own << " params";
    os << "\n";
    return;
  }
  os << "  # " << num_parameters() << " params\n";
  for (auto& [n, c] : children_) c->print(os, n, indent + 1);
}

std::string Module::str() const {
  std::ostringstream os;
  print(os, "", 0);
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Module& m) { return os << m.str(); }

}  // namespace xg::nn
