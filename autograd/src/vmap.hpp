#pragma once
// Batching rules for vmap (Note [Batching] in vmap.cpp). An op with a rule
// starts with
//   if (detail::vmapping())
//     if (auto r = detail::batch_rule("op", {inputs...}, rule)) return *r;
// An op without one meets a batched tensor in check_defined or at its data
// and throws NoBatchingRule; vmap then runs f once per example instead.
#include <algorithm>
#include <optional>
#include <type_traits>
#include <vector>

#include "internal.hpp"

namespace xg::detail {

/// How many vmaps are running batched on this thread; 0 (no batched tensor
/// exists) outside vmap, which keeps every op's check one load.
extern thread_local int g_vmap_depth;
inline bool vmapping() { return g_vmap_depth > 0; }

/// Opens the next vmap level, of `size` examples, for its lifetime.
class VmapLevel {
 public:
  explicit VmapLevel(std::int64_t size);
  ~VmapLevel();
  VmapLevel(const VmapLevel&) = delete;
  VmapLevel& operator=(const VmapLevel&) = delete;
  std::int64_t level() const { return level_; }

 private:
  std::int64_t level_;
};

inline bool is_batched(const Tensor& t) { return t.defined() && impl_of(t)->batched != nullptr; }
/// The vmap level t is batched at (its outermost one), or 0.
inline std::int64_t batch_level(const Tensor& t) { return is_batched(t) ? impl_of(t)->batched->level : 0; }
/// The examples of t's level stacked along dim 0 (t must be batched).
Tensor physical(const Tensor& t);
/// The batched tensor (at `level`) whose examples are p's slices along dim 0.
Tensor make_batched(const Tensor& p, std::int64_t level);
/// The number of examples at a running level.
std::int64_t level_size(std::int64_t level);

/// A rule's inputs at one level: batched ones with their examples along dim
/// 0, the others as they were.
struct BatchArgs {
  TensorList x;
  std::vector<bool> batched;
  std::int64_t size = 0;  ///< examples

  /// x[i]'s rank as one example sees it.
  std::int64_t example_rank(std::size_t i) const { return x[i].dim() - (batched[i] ? 1 : 0); }
  /// x[i] with its examples along dim 0, an unbatched one repeated (a view).
  Tensor expanded(std::size_t i) const;
  /// x[i] ready to broadcast against the others: a batched one gets size-1
  /// dims after the batch dim so an example has `rank` dims, an unbatched
  /// one is as is (broadcasting lines shapes up from the right).
  Tensor aligned(std::size_t i, std::int64_t rank) const;
  /// A dim of one example as a dim of x[i].
  /// x[i] with its examples along dim 0 (expanded) and lined up to `rank`.
  Tensor lined_up(std::size_t i, std::int64_t rank) const {
    BatchArgs one{{expanded(i)}, {true}, size};
    return one.aligned(0, rank);
  }
  /// A 0-d example has no dim to give: the rule declines (vmap loops).
  std::int64_t dim(std::size_t i, std::int64_t d, const char* op) const {
    const std::int64_t r = example_rank(i);
    if (r == 0) throw_no_batching_rule(op, "a 0-d example has no dims to map");
    return wrap_dim(d, r, op) + (batched[i] ? 1 : 0);
  }
  /// dims of one example as dims of x[i]; empty (every dim) stays every dim of an example.
  Dims dims(std::size_t i, const Dims& ds, const char* op) const {
    Dims out;
    if (ds.empty()) {
      for (std::int64_t d = 0; d < example_rank(i); ++d) out.push_back(d + (batched[i] ? 1 : 0));
      if (out.empty()) throw_no_batching_rule(op, "a 0-d example has no dims to map");
    }
    for (const std::int64_t d : ds) out.push_back(dim(i, d, op));
    return out;
  }
};

/// The innermost level any input is batched at, or nullopt. Throws
/// NoBatchingRule when an input carries a forward-mode tangent: the rules
/// run below forward mode, which would drop it.
std::optional<std::int64_t> innermost_level(const TensorList& inputs, const char* op);
BatchArgs unwrap_level(const TensorList& inputs, std::int64_t level);

inline Tensor wrap_level(const Tensor& p, std::int64_t level) { return make_batched(p, level); }
inline TensorList wrap_level(const TensorList& ps, std::int64_t level) {
  TensorList out;
  for (const Tensor& p : ps) out.push_back(p.defined() ? make_batched(p, level) : p);
  return out;
}

/// rule(const BatchArgs&) -> Tensor or TensorList (examples along dim 0),
/// run at the innermost level among the inputs; nullopt when none is batched.
template <class Rule>
auto batch_rule(const char* op, const TensorList& inputs, Rule&& rule)
    -> std::optional<std::decay_t<decltype(rule(std::declval<const BatchArgs&>()))>> {
  const std::optional<std::int64_t> level = innermost_level(inputs, op);
  if (!level) return std::nullopt;
  return wrap_level(rule(unwrap_level(inputs, *level)), *level);
}

/// The fallback rule: call(examples) once per example, the results stacked.
template <class Call>
auto per_example(Call call) {
  return [call](const BatchArgs& a) {
    TensorList results;
    for (std::int64_t b = 0; b < a.size; ++b) {
      TensorList example;
      for (std::size_t i = 0; i < a.x.size(); ++i) example.push_back(a.batched[i] ? a.x[i].select(0, b) : a.x[i]);
      results.push_back(call(example));
    }
    return stack(results, 0);
  };
}

/// The rule of an op that broadcasts its inputs elementwise: line them up
/// and call it once on the whole batch.
template <class Call>
auto broadcasting(Call call) {
  return [call](const BatchArgs& a) {
    std::int64_t rank = 0;
    for (std::size_t i = 0; i < a.x.size(); ++i) rank = std::max(rank, a.example_rank(i));
    TensorList lined_up;
    for (std::size_t i = 0; i < a.x.size(); ++i) lined_up.push_back(a.aligned(i, rank));
    return call(lined_up);
  };
}

/// The rule of an op of one tensor X that treats examples alike: CALL
/// computes it on the batch `p` (X's examples along dim 0), where bdim(d)
/// turns one example's dim d into p's and bdims(ds) does so for a list
/// (empty: every dim of an example).
#define XG_BATCHED_UNARY(OP, X, CALL)                                                                    \
  if (::xg::detail::vmapping()) {                                                                        \
    if (auto batched_result_ = ::xg::detail::batch_rule(OP, {X}, [&](const ::xg::detail::BatchArgs& a_) { \
          [[maybe_unused]] const Tensor& p = a_.x[0];                                                    \
          [[maybe_unused]] const auto bdim = [&](std::int64_t d_) { return a_.dim(0, d_, OP); };         \
          [[maybe_unused]] const auto bdims = [&](const Dims& ds_) { return a_.dims(0, ds_, OP); };      \
          return CALL;                                                                                   \
        }))                                                                                              \
      return *batched_result_;                                                                           \
  }

/// The rule of an op that broadcasts its inputs (...) elementwise: CALL
/// computes it on p, the inputs lined up (broadcasting()).
#define XG_BATCHED_BROADCAST(OP, CALL, ...)                                                         \
  if (::xg::detail::vmapping()) {                                                                   \
    if (auto batched_result_ = ::xg::detail::batch_rule(                                            \
            OP, {__VA_ARGS__}, ::xg::detail::broadcasting([&](const TensorList& p) { return CALL; }))) \
      return *batched_result_;                                                                      \
  }

/// For ops whose example is [N, ...] with N independent rows (convolution,
/// pooling, per-row losses): p [B, N, ...] as [B·N, ...], and back.
inline Tensor fold_batch(const Tensor& p) {
  Shape shape(p.shape().begin() + 1, p.shape().end());
  shape[0] *= p.size(0);
  return reshape(p, shape);
}
inline Tensor unfold_batch(const Tensor& y, std::int64_t examples, std::int64_t rows) {
  Shape shape(y.shape().begin() + 1, y.shape().end());
  shape.insert(0, rows);
  shape.insert(0, examples);
  return reshape(y, shape);
}

/// The rule of an op whose first input is [N, ...] rows it treats one by
/// one (N at dim 0 once the example has `rows_rank` dims; with fewer, the
/// batch itself is the rows) and whose other inputs are parameters: the
/// examples' rows side by side in one call. Parameters that differ per
/// example take the per-example loop.
template <class Call>
auto batch_of_rows(std::int64_t rows_rank, Call call) {
  return [rows_rank, call](const BatchArgs& a) {
    for (std::size_t i = 1; i < a.x.size(); ++i)
      if (a.batched[i] || !a.batched[0]) return per_example(call)(a);
    if (a.example_rank(0) < rows_rank) return call(a.x);
    TensorList in = a.x;
    in[0] = fold_batch(a.x[0]);
    return unfold_batch(call(in), a.size, a.x[0].size(1));
  };
}

/// xg::grad on batched tensors (engine.cpp calls it first): one backward of
/// the whole batch, since example b's outputs depend on example b's inputs
/// only. nullopt when nothing is batched.
std::optional<TensorList> batched_grad(const TensorList& outputs, const TensorList& inputs,
                                       const TensorList& grad_outputs, std::optional<bool> retain_graph,
                                       bool create_graph, bool allow_unused);
/// Inside vmap, a fresh leaf per example holding t's values (a batched
/// tensor at every running level), so gradients with respect to it come out
/// per example; outside, t.detach().requires_grad_(). functional's
/// transforms make their leaves with it.
Tensor per_example_leaf(const Tensor& t);

}  // namespace xg::detail
