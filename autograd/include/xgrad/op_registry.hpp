#pragma once
// The op registry: each differentiable op with sample inputs, driving the
// gradient tests and the xgrad-gradcheck tool. Users sweep their own ops by
// building OpSamples and calling gradcheck_sweep.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "xgrad/gradcheck.hpp"

namespace xg {

struct OpSample {
  enum class Domain { Any, Positive, AwayFromZero };  ///< where inputs are drawn (log needs > 0; relu, abs avoid 0)
  std::string name;
  std::function<Tensor(const TensorList&)> fn;
  std::vector<Shape> shapes;  ///< one per input; broadcasting cases use different shapes
  Domain domain = Domain::Any;
  std::string family = {};  ///< set by the registry ("elementwise", "losses", ...); free for user rows
  std::string no_vmap = {};  ///< why vmap does not apply to this row (the vmap check is skipped); empty: it does
};

/// The public ops a row checks: its name's first word, split at '/'
/// ("squeeze/unsqueeze 2-d" checks squeeze and unsqueeze); none for a row
/// named "composite ..." (a small model of several ops).
std::vector<std::string> ops_checked_by(const std::string& row_name);

/// Every built-in differentiable op, on several shapes.
const std::vector<OpSample>& op_samples();
/// The public ops with no gradient to check (comparisons, sign, argmax, one_hot).
const std::vector<std::string>& non_differentiable_ops();
/// float64 inputs requiring grad, drawn from the op's domain with `seed`.
TensorList sample_inputs(const OpSample& op, std::uint64_t seed);

/// The same values in non-contiguous layouts at a storage offset: the last two
/// dims longer than 1 swapped in memory, or stride 2 when only one dim is
/// longer than 1; requires_grad kept (a one-element input is returned as is).
TensorList non_contiguous_copies(const TensorList& inputs);

struct SweepOptions {
  std::string filter;          ///< only ops whose name contains this
  bool fast = false;           ///< random-projection gradcheck (GradcheckOptions::fast_mode)
  bool second_order = true;    ///< also gradgradcheck
  bool forward_mode = true;    ///< also check_jvp (forward-mode tangents)
  bool vmap = true;            ///< also check_vmap (batching rules against a loop)
  bool repeatability = true;   ///< two backward passes must agree bit for bit
  bool non_contiguous = true;  ///< every check again on non_contiguous_copies of the inputs
  std::uint64_t seed = 0;
  GradcheckOptions tolerances;
};

struct SweepRow {
  std::string name, family;
  bool first_order = true, second_order = true, forward_mode = true, vmap = true, repeatable = true;
  bool batched = true;      ///< vmap ran on the whole batch (no fallback loop)
  std::string report;       ///< the first failure's report
  std::string loop_reason;  ///< why vmap looped, when it did
  double seconds = 0;
  bool ok() const { return first_order && second_order && forward_mode && vmap && repeatable; }
};

std::vector<SweepRow> gradcheck_sweep(const std::vector<OpSample>& ops, const SweepOptions& options = {});
/// A Markdown table of the rows, failures with their reports, and a count line.
std::string sweep_table(const std::vector<SweepRow>& rows);
/// The README's op table: one line per family (in the rows' order) with its
/// ops, its number of rows, whether all of them passed, and how many of its
/// rows vmap ran batched.
std::string family_table(const std::vector<SweepRow>& rows);

}  // namespace xg
