#include "xgrad/optim/lbfgs.hpp"

#include <algorithm>
#include <cmath>
#include <set>

namespace xg::optim {
namespace {

using Flat = std::vector<double>;

double dot(const Flat& a, const Flat& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

double max_abs(const Flat& a) {
  double m = 0;
  for (double v : a) m = std::max(m, std::abs(v));
  return m;
}

/// x + t·d
Flat moved(const Flat& x, double t, const Flat& d) {
  Flat out(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) out[i] = x[i] + t * d[i];
  return out;
}

/// The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1
/// and g2, clamped to [lo, hi] (default: between x1 and x2); the middle of
/// that interval when the cubic has no minimum.
double cubic_minimum(double x1, double f1, double g1, double x2, double f2, double g2, const double* bounds = nullptr) {
  const double lo = bounds ? bounds[0] : std::min(x1, x2);
  const double hi = bounds ? bounds[1] : std::max(x1, x2);
  const double d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2);
  const double d2_square = d1 * d1 - g1 * g2;
  if (!(d2_square >= 0)) return (lo + hi) / 2;
  const double d2 = std::sqrt(d2_square);
  const double at = x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
                             : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
  return std::min(std::max(at, lo), hi);
}

Tensor flat_tensor(const Flat& v) { return from_vector(v, float64); }

Flat flat_from(const nn::StateDict& dict, const std::string& key, std::size_t size) {
  auto it = dict.find(key);
  XG_CHECK(it != dict.end(), "LBFGS", "the state dict has no '", key, "'");
  XG_CHECK(it->second.dim() == 1 && static_cast<std::size_t>(it->second.numel()) == size, "LBFGS", "'", key,
           "' should have shape [", size, "], got ", it->second.shape());
  Flat v = it->second.to_vector<double>();
  for (double x : v) XG_CHECK(std::isfinite(x), "LBFGS", "'", key, "' holds a non-finite value");
  return v;
}

}  // namespace

LBFGS::LBFGS(const TensorList& params, LBFGSOptions o) : params_(params), options_(std::move(o)) {
  XG_CHECK(!params_.empty(), "LBFGS", "got no parameters to optimise");
  detail::check_options_lr(options_.lr, "LBFGS");
  XG_CHECK(options_.max_iter > 0, "LBFGS", "max_iter must be positive, got ", options_.max_iter);
  if (options_.max_eval < 0) options_.max_eval = options_.max_iter * 5 / 4;
  XG_CHECK(options_.history_size > 0, "LBFGS", "history_size must be positive, got ", options_.history_size);
  XG_CHECK(std::isfinite(options_.tolerance_grad) && std::isfinite(options_.tolerance_change), "LBFGS",
           "tolerances must be finite, got tolerance_grad=", options_.tolerance_grad,
           " tolerance_change=", options_.tolerance_change);
  XG_CHECK(options_.line_search_fn.empty() || options_.line_search_fn == "strong_wolfe", "LBFGS",
           "line_search_fn must be \"\" or \"strong_wolfe\", got \"", options_.line_search_fn, "\"");
  std::set<const void*> seen;
  for (const Tensor& p : params_) {
    XG_CHECK(p.defined() && p.is_leaf() && p.requires_grad(), "LBFGS", "can only optimise leaf tensors that require grad");
    XG_CHECK(p.dtype() == float32 || p.dtype() == float64, "LBFGS", "parameters must be float32 or float64, got ",
             p.dtype(), p.shape());
    XG_CHECK(seen.insert(p.id()).second, "LBFGS", "a parameter appears twice");
    numel_ += p.numel();
  }
}

void LBFGS::step() {
  xg::detail::fail("LBFGS", "step() needs a closure that re-evaluates the loss: call step(closure), where the closure "
                        "zeroes the gradients, computes the loss, calls backward and returns the loss");
}

const TensorList& LBFGS::params(std::size_t group) const {
  XG_CHECK(group == 0, "LBFGS", "has one parameter group, asked for group ", group);
  return params_;
}

double LBFGS::lr(std::size_t group) const { return params(group), options_.lr; }

void LBFGS::set_lr(std::size_t group, double lr) {
  params(group);
  detail::check_options_lr(lr, "LBFGS");
  options_.lr = lr;
}

Tensor LBFGS::evaluate(const Closure& closure, Flat& grad) {
  Tensor loss;
  {
    AutoGradMode enable(true);  // the closure calls backward, whatever mode step() was called in
    loss = closure();
  }
  XG_CHECK(loss.defined() && loss.numel() == 1, "LBFGS", "the closure must return the loss as a one-element tensor, got ",
           loss.defined() ? loss.shape() : Shape{});
  grad.clear();
  grad.reserve(numel_);
  for (const Tensor& p : params_) {
    if (!p.grad().defined()) {  // a parameter the loss does not use: zero gradient
      grad.insert(grad.end(), p.numel(), 0.0);
      continue;
    }
    const Flat g = p.grad().to_vector<double>();
    grad.insert(grad.end(), g.begin(), g.end());
  }
  return loss;
}

LBFGS::Flat LBFGS::gather_params() const {
  Flat x;
  x.reserve(numel_);
  for (const Tensor& p : params_) {
    const Flat v = p.to_vector<double>();
    x.insert(x.end(), v.begin(), v.end());
  }
  return x;
}

void LBFGS::write_params(const Flat& x) {
  NoGradGuard no_grad;
  std::size_t offset = 0;
  for (Tensor& p : params_) {
    const Flat part(x.begin() + offset, x.begin() + offset + p.numel());
    p.copy_(from_vector(part, p.shape(), p.dtype()));
    offset += p.numel();
  }
}

LBFGS::Flat LBFGS::direction(const Flat& grad) {
  // The two-loop recursion: q = −g through the kept pairs newest first, scaled
  // by the initial inverse Hessian yᵀs / yᵀy, then back oldest first.
  const std::size_t kept = old_dirs_.size();
  std::vector<double> alpha(kept);
  Flat q(grad.size());
  for (std::size_t i = 0; i < q.size(); ++i) q[i] = -grad[i];
  for (std::size_t k = kept; k-- > 0;) {
    alpha[k] = dot(old_steps_[k], q) * rho_[k];
    for (std::size_t i = 0; i < q.size(); ++i) q[i] += -alpha[k] * old_dirs_[k][i];
  }
  for (double& v : q) v *= h_diag_;
  for (std::size_t k = 0; k < kept; ++k) {
    const double beta = dot(old_dirs_[k], q) * rho_[k];
    for (std::size_t i = 0; i < q.size(); ++i) q[i] += (alpha[k] - beta) * old_steps_[k][i];
  }
  return q;
}

Tensor LBFGS::step(const Closure& closure) {
  XG_CHECK(static_cast<bool>(closure), "LBFGS", "step(closure) got an empty closure");
  const LBFGSOptions& o = options_;
  Flat grad;
  const Tensor orig_loss = evaluate(closure, grad);
  double loss = orig_loss.item();
  std::int64_t current_evals = 1;
  func_evals_ += 1;
  if (max_abs(grad) <= o.tolerance_grad) return orig_loss;  // already optimal

  for (std::int64_t iter = 1; iter <= o.max_iter; ++iter) {
    n_iter_ += 1;
    if (n_iter_ == 1) {  // steepest descent to begin with
      d_.assign(grad.size(), 0.0);
      for (std::size_t i = 0; i < grad.size(); ++i) d_[i] = -grad[i];
      old_dirs_.clear();
      old_steps_.clear();
      rho_.clear();
      h_diag_ = 1;
    } else {
      Flat y(grad.size()), s(grad.size());
      for (std::size_t i = 0; i < grad.size(); ++i) {
        y[i] = grad[i] - prev_grad_[i];
        s[i] = d_[i] * t_;
      }
      const double ys = dot(y, s);
      if (ys > 1e-10) {  // keep the pair only where the curvature is positive
        if (static_cast<std::int64_t>(old_dirs_.size()) == o.history_size) {
          old_dirs_.erase(old_dirs_.begin());
          old_steps_.erase(old_steps_.begin());
          rho_.erase(rho_.begin());
        }
        h_diag_ = ys / dot(y, y);
        old_dirs_.push_back(std::move(y));
        old_steps_.push_back(std::move(s));
        rho_.push_back(1.0 / ys);
      }
      d_ = direction(grad);
    }
    prev_grad_ = grad;
    prev_loss_ = loss;

    double l1 = 0;
    for (double g : grad) l1 += std::abs(g);
    t_ = n_iter_ == 1 ? std::min(1.0, 1.0 / l1) * o.lr : o.lr;
    const double gtd = dot(grad, d_);
    if (gtd > -o.tolerance_change) break;  // not a descent direction any more

    std::int64_t evals = 0;
    if (o.line_search_fn == "strong_wolfe") {
      const Flat x = gather_params();
      LineSearchResult r = strong_wolfe(closure, x, t_, d_, loss, grad, gtd);
      loss = r.loss;
      grad = std::move(r.grad);
      t_ = r.t;
      evals = r.evals;
      write_params(moved(x, t_, d_));
    } else {
      write_params(moved(gather_params(), t_, d_));
      if (iter != o.max_iter) {  // the last iteration's loss is not needed
        loss = evaluate(closure, grad).item();
        evals = 1;
      }
    }
    current_evals += evals;
    func_evals_ += evals;

    if (iter == o.max_iter || current_evals >= o.max_eval) break;
    if (max_abs(grad) <= o.tolerance_grad) break;
    double moved_by = 0;
    for (double v : d_) moved_by = std::max(moved_by, std::abs(v * t_));
    if (moved_by <= o.tolerance_change) break;
    if (std::abs(loss - prev_loss_) < o.tolerance_change) break;
  }
  return orig_loss;
}

LBFGS::LineSearchResult LBFGS::strong_wolfe(const Closure& closure, const Flat& x, double t, const Flat& d, double f,
                                            const Flat& g, double gtd) {
  constexpr double c1 = 1e-4, c2 = 0.9;  // sufficient decrease, curvature
  constexpr int max_ls = 25;
  const double d_norm = max_abs(d);
  // The loss and gradient at x + t·d; the parameters are put back at x.
  auto at = [&](double step, Flat& grad_out) {
    write_params(moved(x, step, d));
    const double value = evaluate(closure, grad_out).item();
    write_params(x);
    return value;
  };

  Flat g_new;
  double f_new = at(t, g_new);
  std::int64_t evals = 1;
  double gtd_new = dot(g_new, d);

  // Bracketing: grow the step until an interval holds a point meeting the conditions.
  double t_prev = 0, f_prev = f, gtd_prev = gtd;
  Flat g_prev = g;
  bool done = false;
  int ls_iter = 0;
  double bracket[2] = {0, 0}, bracket_f[2] = {0, 0}, bracket_gtd[2] = {0, 0};
  Flat bracket_g[2];
  int bracket_size = 0;
  auto bracket_around = [&] {
    bracket_size = 2;
    bracket[0] = t_prev, bracket[1] = t;
    bracket_f[0] = f_prev, bracket_f[1] = f_new;
    bracket_g[0] = g_prev, bracket_g[1] = g_new;
    bracket_gtd[0] = gtd_prev, bracket_gtd[1] = gtd_new;
  };
  while (ls_iter < max_ls) {
    if (f_new > f + c1 * t * gtd || (ls_iter > 1 && f_new >= f_prev)) {  // too far: no sufficient decrease
      bracket_around();
      break;
    }
    if (std::abs(gtd_new) <= -c2 * gtd) {  // both conditions hold
      bracket_size = 1;
      bracket[0] = t, bracket_f[0] = f_new, bracket_g[0] = g_new;
      done = true;
      break;
    }
    if (gtd_new >= 0) {  // past the minimum along d
      bracket_around();
      break;
    }
    const double bounds[2] = {t + 0.01 * (t - t_prev), t * 10};
    const double next = cubic_minimum(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds);
    t_prev = t, f_prev = f_new, g_prev = g_new, gtd_prev = gtd_new;
    t = next;
    f_new = at(t, g_new);
    evals += 1;
    gtd_new = dot(g_new, d);
    ls_iter += 1;
  }
  if (ls_iter == max_ls) {
    bracket_size = 2;
    bracket[0] = 0, bracket[1] = t;
    bracket_f[0] = f, bracket_f[1] = f_new;
    bracket_g[0] = g, bracket_g[1] = g_new;
  }

  // Zoom: shrink the bracket until a point meets the strong Wolfe conditions.
  bool insufficient_progress = false;
  int low = bracket_f[0] <= bracket_f[bracket_size - 1] ? 0 : 1, high = 1 - low;
  while (!done && ls_iter < max_ls) {
    if (std::abs(bracket[1] - bracket[0]) * d_norm < options_.tolerance_change) break;
    t = cubic_minimum(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1]);
    // A trial point too near an end of the bracket makes little progress:
    // after it happens twice (or at the end itself), move it 10% inside.
    const double hi = std::max(bracket[0], bracket[1]), lo = std::min(bracket[0], bracket[1]);
    const double eps = 0.1 * (hi - lo);
    if (std::min(hi - t, t - lo) < eps) {
      if (insufficient_progress || t >= hi || t <= lo) {
        t = std::abs(t - hi) < std::abs(t - lo) ? hi - eps : lo + eps;
        insufficient_progress = false;
      } else {
        insufficient_progress = true;
      }
    } else {
      insufficient_progress = false;
    }
    f_new = at(t, g_new);
    evals += 1;
    gtd_new = dot(g_new, d);
    ls_iter += 1;
    if (f_new > f + c1 * t * gtd || f_new >= bracket_f[low]) {
      bracket[high] = t, bracket_f[high] = f_new, bracket_g[high] = g_new, bracket_gtd[high] = gtd_new;
      low = bracket_f[0] <= bracket_f[1] ? 0 : 1, high = 1 - low;
    } else {
      if (std::abs(gtd_new) <= -c2 * gtd) {
        done = true;
      } else if (gtd_new * (bracket[high] - bracket[low]) >= 0) {  // the old high end becomes the low end
        bracket[high] = bracket[low], bracket_f[high] = bracket_f[low];
        bracket_g[high] = bracket_g[low], bracket_gtd[high] = bracket_gtd[low];
      }
      bracket[low] = t, bracket_f[low] = f_new, bracket_g[low] = g_new, bracket_gtd[low] = gtd_new;
    }
  }
  return {bracket_f[low], bracket[low], std::move(bracket_g[low]), evals};
}

nn::StateDict LBFGS::state_dict() {
  nn::StateDict dict;
  auto scalar = [&](const std::string& key, double v) { dict[key] = detail::scalar_f64(v); };
  scalar("param_groups.0.lr", options_.lr);
  scalar("param_groups.0.max_iter", static_cast<double>(options_.max_iter));
  scalar("param_groups.0.max_eval", static_cast<double>(options_.max_eval));
  scalar("param_groups.0.tolerance_grad", options_.tolerance_grad);
  scalar("param_groups.0.tolerance_change", options_.tolerance_change);
  scalar("param_groups.0.history_size", static_cast<double>(options_.history_size));
  scalar("state.func_evals", static_cast<double>(func_evals_));
  scalar("state.n_iter", static_cast<double>(n_iter_));
  if (n_iter_ == 0) return dict;
  scalar("state.t", t_);
  scalar("state.H_diag", h_diag_);
  scalar("state.prev_loss", prev_loss_);
  dict["state.d"] = flat_tensor(d_);
  dict["state.prev_flat_grad"] = flat_tensor(prev_grad_);
  dict["state.ro"] = flat_tensor(rho_);
  for (std::size_t k = 0; k < old_dirs_.size(); ++k) {
    dict["state.old_dirs." + std::to_string(k)] = flat_tensor(old_dirs_[k]);
    dict["state.old_stps." + std::to_string(k)] = flat_tensor(old_steps_[k]);
  }
  return dict;
}

void LBFGS::load_state_dict(const nn::StateDict& dict) {
  // Read and check everything, then assign: a bad dict changes nothing.
  LBFGSOptions o = options_;
  o.lr = detail::read_finite(dict, "param_groups.0.lr", "LBFGS");
  detail::check_options_lr(o.lr, "LBFGS");
  o.max_iter = static_cast<std::int64_t>(detail::read_count(dict, "param_groups.0.max_iter", "LBFGS"));
  o.max_eval = static_cast<std::int64_t>(detail::read_count(dict, "param_groups.0.max_eval", "LBFGS"));
  o.tolerance_grad = detail::read_finite(dict, "param_groups.0.tolerance_grad", "LBFGS");
  o.tolerance_change = detail::read_finite(dict, "param_groups.0.tolerance_change", "LBFGS");
  o.history_size = static_cast<std::int64_t>(detail::read_count(dict, "param_groups.0.history_size", "LBFGS"));
  XG_CHECK(o.max_iter > 0 && o.history_size > 0, "LBFGS", "max_iter and history_size must be positive, got ",
           o.max_iter, " and ", o.history_size);
  const auto func_evals = static_cast<std::int64_t>(detail::read_count(dict, "state.func_evals", "LBFGS"));
  const auto n_iter = static_cast<std::int64_t>(detail::read_count(dict, "state.n_iter", "LBFGS"));
  const auto n = static_cast<std::size_t>(numel_);
  Flat d, prev_grad, rho;
  std::vector<Flat> dirs, steps;
  double t = 0, h_diag = 1, prev_loss = 0;
  if (n_iter > 0) {
    t = detail::read_finite(dict, "state.t", "LBFGS");
    h_diag = detail::read_finite(dict, "state.H_diag", "LBFGS");
    prev_loss = detail::read_finite(dict, "state.prev_loss", "LBFGS");
    d = flat_from(dict, "state.d", n);
    prev_grad = flat_from(dict, "state.prev_flat_grad", n);
    auto it = dict.find("state.ro");
    XG_CHECK(it != dict.end() && it->second.dim() == 1, "LBFGS", "the state dict has no 1-d 'state.ro'");
    const auto kept = static_cast<std::size_t>(it->second.numel());
    XG_CHECK(static_cast<std::int64_t>(kept) <= o.history_size, "LBFGS", "'state.ro' keeps ", kept,
             " pairs, more than history_size ", o.history_size);
    rho = flat_from(dict, "state.ro", kept);
    for (std::size_t k = 0; k < kept; ++k) {
      dirs.push_back(flat_from(dict, "state.old_dirs." + std::to_string(k), n));
      steps.push_back(flat_from(dict, "state.old_stps." + std::to_string(k), n));
    }
  }
  options_ = o;
  func_evals_ = func_evals, n_iter_ = n_iter;
  t_ = t, h_diag_ = h_diag, prev_loss_ = prev_loss;
  d_ = std::move(d), prev_grad_ = std::move(prev_grad), rho_ = std::move(rho);
  old_dirs_ = std::move(dirs), old_steps_ = std::move(steps);
}

}  // namespace xg::optim
