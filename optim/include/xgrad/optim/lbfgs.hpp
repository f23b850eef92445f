#pragma once
// L-BFGS (torch.optim.LBFGS): a quasi-Newton method that keeps the last
// `history_size` steps and gradient changes and applies the inverse Hessian
// they imply by the two-loop recursion. One step() runs up to max_iter
// iterations, re-evaluating the loss through a closure; with
// line_search_fn = "strong_wolfe" each iteration searches for a step length
// meeting the strong Wolfe conditions (cubic interpolation, bracketing, zoom).
//
// The iterates are torch's: same initial step (min(1, 1/|g|₁)·lr on the first
// iteration), same curvature test (yᵀs > 1e-10), same stopping rules, same
// line search. All of it runs on flat float64 copies of the parameters, so
// float64 runs match torch's to rounding; float32 runs are slightly more
// accurate than torch's (which does the same arithmetic in float32).
#include <functional>
#include <string>
#include <vector>

#include "xgrad/optim/optimizer.hpp"

namespace xg::optim {

struct LBFGSOptions {
  double lr = 1;
  std::int64_t max_iter = 20;
  std::int64_t max_eval = -1;  ///< -1: max_iter * 5 / 4, as torch
  double tolerance_grad = 1e-7;
  double tolerance_change = 1e-9;
  std::int64_t history_size = 100;
  std::string line_search_fn;  ///< "" (fixed step lr) or "strong_wolfe"
};

class LBFGS : public Optimizer {
 public:
  /// Zeroes the gradients, computes the loss, calls backward, returns the loss.
  using Closure = std::function<Tensor()>;

  explicit LBFGS(const TensorList& params, LBFGSOptions options = {});
  /// Runs the iterations; returns the loss the closure gave at the start.
  Tensor step(const Closure& closure);
  /// L-BFGS re-evaluates the loss: this throws, pointing at step(closure).
  void step() override;

  const LBFGSOptions& options() const { return options_; }
  std::int64_t func_evals() const { return func_evals_; }  ///< closure calls over all steps
  std::int64_t n_iter() const { return n_iter_; }          ///< iterations over all steps

  std::size_t num_param_groups() const override { return 1; }
  const TensorList& params(std::size_t group) const override;
  double lr(std::size_t group) const override;
  void set_lr(std::size_t group, double lr) override;
  nn::StateDict state_dict() override;
  void load_state_dict(const nn::StateDict& dict) override;

 private:
  using Flat = std::vector<double>;
  Tensor evaluate(const Closure& closure, Flat& grad);  // the loss, and the gradient gathered flat
  Flat gather_params() const;
  void write_params(const Flat& x);
  Flat direction(const Flat& grad);                          // -H·grad by the two-loop recursion
  struct LineSearchResult {
    double loss, t;
    Flat grad;
    std::int64_t evals;
  };
  LineSearchResult strong_wolfe(const Closure& closure, const Flat& x, double t, const Flat& d, double loss,
                                const Flat& grad, double gtd);

  TensorList params_;
  LBFGSOptions options_;
  std::int64_t numel_ = 0;

  // State carried from one step() to the next, as torch keeps it.
  std::int64_t func_evals_ = 0, n_iter_ = 0;
  Flat d_, prev_grad_;
  double t_ = 0, h_diag_ = 1, prev_loss_ = 0;
  std::vector<Flat> old_dirs_, old_steps_;  // y = Δgrad and s = Δx of the kept iterations
  std::vector<double> rho_;                 // 1 / yᵀs
};

}  // namespace xg::optim
