// Forward mode: dual levels, dual tensors, and the rule every op gets.
//
// Note [Forward mode]
// A dual tensor carries a tangent in its TensorImpl's forward_grad block,
// stamped with the level it was made in; only the open level's tangents
// count, so closing a level drops them all at once. Ops carry tangents in
// make_node, where every op already passes (Note [Writing an op]):
// needs_grad is true for a dual input, so the op builds its node, and then
//  - an op with its own rule has already set its output's tangent
//    (set_tangent_by: elementwise primitives reuse their gradient formula,
//    which is diagonal; views, reductions and matmul apply themselves to
//    the tangent); the elementwise table, matmul and the views have one;
//  - any other op's tangent is derived from its backward: the backward is
//    vᵀJ, linear in v and differentiable (every op passes gradgradcheck), so
//    J·t = ∂/∂u ⟨backward(u), t⟩. That costs a backward and a double
//    backward of the one op; check_jvp verifies it as it verifies a rule.
//  - a custom xg::Function must define jvp (an error names it otherwise).
// Rules run in no-grad mode with the level paused, so they are first order
// and make no tangents of tangents; the level is paused the same way while a
// derivation runs. A saved output shares its tensor's block, so backward
// over dual tensors (forward over reverse) sees tangents set after the node
// was made. Fused backward kernels are taken only when nothing they read is
// dual (plain_backward); otherwise the backward's formula runs in ops and
// carries tangents.
#include "xgrad/forward_ad.hpp"

#include <atomic>

#include "internal.hpp"

namespace xg {
namespace detail {
namespace {

/// An edge target that marks "this input has a tangent" while a backward
/// runs for a derivation; never reached by the engine.
class TangentMark final : public Node {
 public:
  TangentMark() : Node("TangentMark") {}
  TensorList apply(TensorList&&) override { return {}; }
};

const std::shared_ptr<Node>& tangent_mark() {
  static const std::shared_ptr<Node> mark = std::make_shared<TangentMark>();
  return mark;
}

}  // namespace

bool has_tangent_at_level(const Tensor& t) {
  if (!t.defined()) return false;
  const auto& block = impl_of(t)->forward_grad;
  return block && block->level == forward_level && block->tangent;
}

bool has_tangent(const TensorList& ts) {
  if (forward_level == 0) return false;
  for (const Tensor& t : ts)
    if (has_tangent_at_level(t)) return true;
  return false;
}

Tensor tangent_of(const Tensor& t) {
  if (!has_tangent(t)) return Tensor();
  const TensorImpl* impl = impl_of(t);
  check_has_storage(impl, "forward AD");
  XG_CHECK(impl->forward_grad->version == impl->storage->version, "forward AD",
           "a dual tensor (", impl->dtype, impl->shape, ") was changed in place through another view of its memory "
           "after its tangent was made, so the tangent no longer matches its values; make the view again after the "
           "in-place op, or change the tensor through this handle");
  return Tensor(impl->forward_grad->tangent);
}

void set_tangent(const Tensor& out, const Tensor& tangent, std::uint64_t level) {
  if (!tangent.defined()) return;
  XG_CHECK(tangent.shape() == out.shape() && tangent.dtype() == out.dtype(), "forward AD",
           "a tangent rule gave ", tangent.dtype(), tangent.shape(), " for an output of ", out.dtype(), out.shape());
  check_has_storage(impl_of(out), "forward AD");
  auto& block = impl_of(out)->forward_grad;
  if (!block) block = std::make_shared<ForwardGrad>();
  block->tangent = impl_ptr_of(tangent);
  block->level = level;
  block->version = impl_of(out)->storage->version;
}

ForwardPause::ForwardPause() : level_(forward_level) { forward_level = 0; }
ForwardPause::~ForwardPause() { forward_level = level_; }

void derive_tangents(Node& node, TensorList outputs, const TensorList& inputs) {
  for (const Tensor& o : outputs)
    if (has_tangent(o)) return;  // the op's own rule ran
  TensorList tangents;
  for (const Tensor& t : inputs) tangents.push_back(tangent_of(t));
  const std::uint64_t level = forward_level;
  TensorList jv(outputs.size());
  {
    ForwardPause pause;
    // The derivation's graph is new; it must not reach into (and reset the
    // scratch of) a graph a backward may be sweeping (forward over reverse).
    struct OldestNode {
      std::uint64_t saved = oldest_node_in_run;
      OldestNode() { oldest_node_in_run = next_node_sequence_nr(); }
      ~OldestNode() { oldest_node_in_run = saved; }
    } oldest;
    AutoGradMode on(true);
    TensorList seeds, grads_out;
    std::vector<bool> differentiable;
    for (const Tensor& o : outputs) {
      differentiable.push_back(o.defined() && is_floating(o.dtype()));
      Tensor u = differentiable.back() ? zeros(o.shape(), o.dtype()).requires_grad_(true) : Tensor();
      grads_out.push_back(u);
      if (differentiable.back()) seeds.push_back(u);
    }
    node.next_edges.clear();
    for (const Tensor& t : tangents) node.next_edges.push_back(t.defined() ? Edge{tangent_mark(), 0} : Edge{});
    TensorList vjp;
    try {
      vjp = node.apply(std::move(grads_out));
    } catch (...) {
      node.next_edges.clear();
      throw;
    }
    node.next_edges.clear();
    Tensor dot;
    for (std::size_t i = 0; i < inputs.size() && i < vjp.size(); ++i) {
      if (!tangents[i].defined() || !vjp[i].defined()) continue;
      const Tensor term = sum(vjp[i] * tangents[i]);
      dot = dot.defined() ? dot + term : term;
    }
    TensorList d = dot.defined() && dot.requires_grad() ? grad({dot}, seeds, {}, false, false, true) : TensorList(seeds.size());
    NoGradGuard no_grad;
    std::size_t k = 0;
    for (std::size_t o = 0; o < outputs.size(); ++o) {
      if (!differentiable[o]) continue;
      const Tensor& t = d[k++];
      jv[o] = t.defined() ? t.detach() : zeros_like(outputs[o]);
    }
  }
  for (std::size_t o = 0; o < outputs.size(); ++o)
    if (jv[o].defined()) set_tangent(outputs[o], jv[o], level);
}

}  // namespace detail

namespace fwad {
namespace {
std::atomic<std::uint64_t> next_level{0};
}

DualLevel::DualLevel() {
  XG_CHECK(detail::forward_level == 0, "DualLevel",
           "a dual level is already open on this thread; nested forward-mode levels are not supported (as in "
           "PyTorch): close the first one, or compute the inner derivative with reverse mode");
  detail::forward_level = ++next_level;
}

DualLevel::~DualLevel() { detail::forward_level = 0; }

bool is_active() { return detail::forward_level != 0; }

Tensor make_dual(const Tensor& primal, const Tensor& tangent) {
  XG_CHECK(is_active(), "make_dual", "no dual level is open: create an xg::fwad::DualLevel first");
  detail::check_defined(primal, "make_dual");
  detail::check_defined(tangent, "make_dual");
  detail::check_float(primal, "make_dual");
  XG_CHECK(tangent.shape() == primal.shape() && tangent.dtype() == primal.dtype(), "make_dual", "the tangent (",
           tangent.dtype(), tangent.shape(), ") must have the primal's shape and dtype (", primal.dtype(),
           primal.shape(), ")");
  Tensor out = detail::alias(primal);
  Tensor t;
  {
    detail::ForwardPause pause;
    t = tangent.detach();
  }
  detail::set_tangent(out, t, detail::forward_level);
  if (detail::records(primal))
    make_node(out, "MakeDualBackward", [](const Tensor& g, Node&) -> TensorList { return {g}; }, primal);
  return out;
}

UnpackedDual unpack_dual(const Tensor& t) {
  detail::check_defined(t, "unpack_dual");
  UnpackedDual out;
  out.tangent = detail::tangent_of(t);
  if (!out.tangent.defined()) {
    out.primal = t;
    return out;
  }
  detail::ForwardPause pause;  // the primal carries no tangent
  out.primal = detail::alias(t);
  if (detail::records(t))
    make_node(out.primal, "UnpackDualBackward", [](const Tensor& g, Node&) -> TensorList { return {g}; }, t);
  return out;
}

}  // namespace fwad
}  // namespace xg
