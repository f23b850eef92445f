#include "xgrad/functional.hpp"

#include <atomic>

#include "internal.hpp"
#include "vmap.hpp"
#include "xgrad/forward_ad.hpp"

namespace xg::functional {
namespace {

/// Fresh leaves that require grad, holding the inputs' values.
TensorList as_leaves(const TensorList& inputs, bool create_graph) {
  TensorList out;
  for (const Tensor& t : inputs) {
    XG_CHECK(t.defined(), "functional", "got an undefined input");
    // With create_graph the caller may differentiate through the result
    // w.r.t. the original inputs, so keep their history.
    out.push_back(create_graph && t.requires_grad() ? t : detail::per_example_leaf(t));
  }
  return out;
}

/// Zeros shaped like `like` with a 1 at flat index k: a basis direction.
Tensor unit_vector(const Tensor& like, std::int64_t k, const char* op) {
  Tensor unit = zeros(like.shape(), like.dtype());
  detail::dispatch_float(unit.dtype(), op, [&](auto z) { unit.data<decltype(z)>()[k] = 1; });
  return unit;
}

TensorList zeros_where_undefined(TensorList grads, const TensorList& like) {
  for (std::size_t i = 0; i < grads.size(); ++i)
    if (!grads[i].defined()) grads[i] = zeros_like(like[i]);
  return grads;
}

}  // namespace

VjpResult vjp(const Fn& f, const TensorList& inputs, const TensorList& v, bool create_graph) {
  AutoGradMode on(true);
  const TensorList x = as_leaves(inputs, create_graph);
  TensorList y = f(x);
  XG_CHECK(v.size() == y.size(), "vjp", "got ", v.size(), " vectors for ", y.size(), " outputs");
  TensorList ys, vs;
  for (std::size_t i = 0; i < y.size(); ++i) {
    XG_CHECK(v[i].shape() == y[i].shape(), "vjp", "vector ", i, " is ", v[i].shape(), " but output ", i, " is ",
             y[i].shape());
    if (y[i].requires_grad()) {
      ys.push_back(y[i]);
      vs.push_back(v[i]);
    }
  }
  TensorList g = ys.empty() ? TensorList(x.size()) : grad(ys, x, vs, create_graph, create_graph, true);
  if (!create_graph)
    for (Tensor& t : y) t = t.detach();
  return {y, zeros_where_undefined(g, x)};
}

namespace {

/// Checks the tangents against the inputs: one each, same shape and dtype.
void check_tangents(const TensorList& inputs, const TensorList& v, const char* op) {
  XG_CHECK(v.size() == inputs.size(), op, "got ", v.size(), " tangents for ", inputs.size(), " inputs");
  for (std::size_t i = 0; i < v.size(); ++i) {
    detail::check_defined(inputs[i], op);
    detail::check_defined(v[i], op);
    XG_CHECK(v[i].shape() == inputs[i].shape() && v[i].dtype() == inputs[i].dtype(), op, "tangent ", i, " is ",
             v[i].dtype(), v[i].shape(), " but input ", i, " is ", inputs[i].dtype(), inputs[i].shape());
  }
}

/// f at dual inputs (input i carrying tangent v[i] where v[i] is defined):
/// the outputs' values and tangents (zeros where an output has none).
VjpResult forward_mode(const Fn& f, const TensorList& inputs, const TensorList& v) {
  fwad::DualLevel level;
  TensorList duals;
  for (std::size_t i = 0; i < inputs.size(); ++i)
    duals.push_back(v[i].defined() ? fwad::make_dual(inputs[i].detach(), v[i]) : inputs[i].detach());
  VjpResult out;
  for (const Tensor& y : f(duals)) {
    const fwad::UnpackedDual d = fwad::unpack_dual(y);
    out.outputs.push_back(d.primal.detach());
    out.vjp.push_back(d.tangent.defined() ? d.tangent.detach() : zeros_like(y));
  }
  return out;
}

/// The double-vjp trick: J v = ∂/∂u (uᵀJ · v), two reverse passes.
VjpResult jvp_by_double_vjp(const Fn& f, const TensorList& inputs, const TensorList& v, bool create_graph) {
  AutoGradMode on(true);
  const TensorList x = as_leaves(inputs, true);
  const TensorList y = f(x);
  // u is a dummy cotangent; uᵀJ is linear in u, so ∂(uᵀJ·v)/∂u = J v.
  TensorList u, ys;
  for (const Tensor& t : y) {
    u.push_back(zeros(t.shape(), TensorOptions(t.dtype()).requires_grad(true)));
    ys.push_back(t);
  }
  TensorList ujt = zeros_where_undefined(grad(ys, x, u, true, true, true), x);
  Tensor dot;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const Tensor term = sum(ujt[i] * v[i]);
    dot = dot.defined() ? dot + term : term;
  }
  TensorList jv = dot.requires_grad() ? grad({dot}, u, {}, create_graph, create_graph, true) : TensorList(u.size());
  TensorList out_y = y;
  if (!create_graph)
    for (Tensor& t : out_y) t = t.detach();
  return {out_y, zeros_where_undefined(jv, u)};
}

}  // namespace

VjpResult jvp(const Fn& f, const TensorList& inputs, const TensorList& v, bool create_graph) {
  check_tangents(inputs, v, "jvp");
  if (create_graph || fwad::is_active()) return jvp_by_double_vjp(f, inputs, v, create_graph);
  return forward_mode(f, inputs, v);
}

TensorList jacrev(const ScalarFn& f, const TensorList& inputs, bool create_graph) {
  AutoGradMode on(true);
  const TensorList x = as_leaves(inputs, create_graph);
  const Tensor y = f(x);
  std::vector<TensorList> rows(x.size());
  for (std::int64_t k = 0; k < y.numel(); ++k) {
    TensorList g(x.size());
    if (y.requires_grad()) {
      g = grad({y}, x, {unit_vector(y, k, "jacobian")}, true, create_graph, true);
    }
    g = zeros_where_undefined(g, x);
    for (std::size_t i = 0; i < x.size(); ++i) rows[i].push_back(g[i]);
  }
  TensorList out;
  for (std::size_t i = 0; i < x.size(); ++i) {
    Shape s = y.shape();
    for (std::int64_t d : x[i].shape()) s.push_back(d);
    out.push_back(reshape(stack(rows[i]), s));
  }
  return out;
}

TensorList jacfwd(const ScalarFn& f, const TensorList& inputs) {
  for (const Tensor& t : inputs) {
    detail::check_defined(t, "jacfwd");
    detail::check_float(t, "jacfwd");
  }
  const Fn as_list = [&f](const TensorList& in) { return TensorList{f(in)}; };
  TensorList out;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    // Column k of J_i is the tangent of f along the k-th unit vector of input i.
    TensorList columns, directions(inputs.size());
    Tensor y;
    for (std::int64_t k = 0; k < inputs[i].numel(); ++k) {
      directions[i] = unit_vector(inputs[i], k, "jacfwd");
      const VjpResult r = forward_mode(as_list, inputs, directions);
      y = r.outputs[0];
      columns.push_back(reshape(r.vjp[0], Shape{-1}));
    }
    if (!y.defined()) y = f(inputs);  // an empty input: the shape of the output
    Shape s = y.shape();
    for (std::int64_t d : inputs[i].shape()) s.push_back(d);
    out.push_back(columns.empty() ? zeros(s, y.dtype()) : reshape(stack(columns, 1), s));
  }
  return out;
}

TensorList jacobian(const ScalarFn& f, const TensorList& inputs, bool create_graph) {
  if (create_graph || fwad::is_active()) return jacrev(f, inputs, create_graph);
  std::int64_t in = 0;
  for (const Tensor& t : inputs) in += t.defined() ? t.numel() : 0;
  Tensor y;
  {
    NoGradGuard no_grad;
    y = f(inputs);
  }
  return in < y.numel() ? jacfwd(f, inputs) : jacrev(f, inputs, false);
}

namespace {

/// f(x) must be one number; says so naming `op` otherwise.
Tensor scalar_of(const std::function<Tensor(const Tensor&)>& f, const Tensor& x, const char* op) {
  const Tensor y = f(x);
  XG_CHECK(y.defined() && y.numel() == 1, op, "f must return one number, got shape ",
           y.defined() ? y.shape() : Shape{});
  return y;
}

/// ∇f(x) with x dual along v: its tangent is H·v (forward over reverse).
Tensor hessian_times(const std::function<Tensor(const Tensor&)>& f, const Tensor& x, const Tensor& v, const char* op) {
  fwad::DualLevel level;
  AutoGradMode on(true);
  const Tensor leaf = x.detach().requires_grad_(true);
  const Tensor y = scalar_of(f, fwad::make_dual(leaf, v), op);
  const Tensor g = y.requires_grad() ? grad({y}, {leaf}, {}, false, false, true)[0] : Tensor();
  const Tensor hv = g.defined() ? fwad::unpack_dual(g).tangent : Tensor();
  return hv.defined() ? hv.detach() : zeros_like(x);
}

/// Every row eᵢᵀH of the Hessian in one batched pass (HessianMode::Vectorized).
Tensor hessian_vectorized(const std::function<Tensor(const Tensor&)>& f, const Tensor& x) {
  const std::int64_t n = x.numel();
  Shape basis_shape = x.shape();
  basis_shape.insert(0, n);
  const Tensor basis = reshape(eye(n, x.dtype()), basis_shape);
  const Fn row = [&f](const TensorList& in) {
    const Fn gradient = [&f](const TensorList& xs) {
      const Tensor g = grad({scalar_of(f, xs[0], "hessian")}, {xs[0]}, {}, true, true, true)[0];
      return TensorList{g.defined() ? g : xs[0] * 0.0};  // f does not depend on x: H = 0
    };
    return vjp(gradient, {in[0]}, {in[1]}).vjp;
  };
  Shape s = x.shape();
  for (std::int64_t d : x.shape()) s.push_back(d);
  return reshape(vmap(row, {std::nullopt, 0})({x.detach(), basis})[0], s);  // H is symmetric: rows are columns
}

}  // namespace

Tensor hessian(const std::function<Tensor(const Tensor&)>& f, const Tensor& x, HessianMode mode) {
  detail::check_defined(x, "hessian");
  detail::check_float(x, "hessian");
  if (mode == HessianMode::ReverseOverReverse || fwad::is_active()) return hessian_reverse(f, x);
  if (mode == HessianMode::Vectorized) return x.numel() == 0 ? hessian_reverse(f, x) : hessian_vectorized(f, x);
  TensorList columns;
  for (std::int64_t k = 0; k < x.numel(); ++k) {
    columns.push_back(reshape(hessian_times(f, x, unit_vector(x, k, "hessian"), "hessian"), Shape{-1}));
  }
  Shape s = x.shape();
  for (std::int64_t d : x.shape()) s.push_back(d);
  return columns.empty() ? zeros(s, x.dtype()) : reshape(stack(columns, 1), s);
}

Tensor hessian_reverse(const std::function<Tensor(const Tensor&)>& f, const Tensor& x, bool create_graph) {
  auto gradient = [&f](const TensorList& in) {
    const Tensor y = scalar_of(f, in[0], "hessian");
    return grad({y}, {in[0]}, {}, true, true, true)[0];
  };
  return jacrev(gradient, {x}, create_graph)[0];
}

Tensor hvp(const std::function<Tensor(const Tensor&)>& f, const Tensor& x, const Tensor& v, bool create_graph) {
  check_tangents({x}, {v}, "hvp");
  detail::check_float(x, "hvp");
  if (!create_graph && !fwad::is_active()) return hessian_times(f, x, v, "hvp");
  AutoGradMode on(true);
  const Tensor leaf = as_leaves({x}, create_graph)[0];
  const Tensor y = f(leaf);
  XG_CHECK(y.numel() == 1, "hvp", "f must return one number, got shape ", y.shape());
  const Tensor g = grad({y}, {leaf}, {}, true, true, true)[0];
  XG_CHECK(g.defined(), "hvp", "f does not depend on x");
  if (!g.requires_grad()) return zeros_like(x);  // f is linear in x
  const Tensor h = grad({sum(g * v)}, {leaf}, {}, create_graph, create_graph, true)[0];
  return h.defined() ? h : zeros_like(x);
}

namespace {
/// t with dim `from` moved to `to`, the others in order (a view).
Tensor move_dim(const Tensor& t, std::int64_t from, std::int64_t to) {
  if (from == to) return t;
  std::vector<std::int64_t> order;
  for (std::int64_t d = 0; d < t.dim(); ++d)
    if (d != from) order.push_back(d);
  order.insert(order.begin() + to, from);
  return t.permute(order);
}

/// f once on the whole batch (Note [Batching] in vmap.cpp); throws
/// NoBatchingRule when it meets an op without a rule.
TensorList vmap_batched(const Fn& f, const TensorList& inputs, const std::vector<std::optional<std::int64_t>>& dims,
                        std::int64_t batch, const std::vector<std::int64_t>& out_dims) {
  detail::VmapLevel level(batch);
  TensorList batched;
  for (std::size_t i = 0; i < inputs.size(); ++i)
    batched.push_back(dims[i] ? detail::make_batched(move_dim(inputs[i], *dims[i], 0), level.level()) : inputs[i]);
  const TensorList outs = f(batched);
  XG_CHECK(out_dims.empty() || out_dims.size() == outs.size(), "vmap", "got ", out_dims.size(), " out_dims for ",
           outs.size(), " outputs");
  TensorList result;
  for (std::size_t k = 0; k < outs.size(); ++k) {
    XG_CHECK(outs[k].defined(), "vmap", "f returned an undefined output ", k);
    Tensor p;
    if (detail::batch_level(outs[k]) == level.level()) {
      p = detail::physical(outs[k]);
    } else {
      // The same for every example (or batched by an enclosing vmap only).
      if (!detail::is_batched(outs[k])) detail::check_has_storage(detail::impl_of(outs[k]), "vmap");
      Shape shape = outs[k].shape();
      shape.insert(0, batch);
      p = outs[k].unsqueeze(0).expand(shape).contiguous();
    }
    const std::int64_t d = out_dims.empty() ? 0 : out_dims[k];
    result.push_back(move_dim(p, 0, detail::wrap_dim(d, p.dim(), "vmap")));
  }
  return result;
}

/// f once per example, the outputs stacked: what vmap means, and its fallback.
TensorList vmap_loop(const Fn& f, const TensorList& inputs, const std::vector<std::optional<std::int64_t>>& dims,
                     std::int64_t batch, const std::vector<std::int64_t>& out_dims) {
  std::vector<TensorList> per_output;
  for (std::int64_t b = 0; b < batch; ++b) {
    TensorList example;
    for (std::size_t i = 0; i < inputs.size(); ++i) example.push_back(dims[i] ? inputs[i].select(*dims[i], b) : inputs[i]);
    const TensorList outs = f(example);
    if (per_output.empty()) per_output.resize(outs.size());
    XG_CHECK(outs.size() == per_output.size(), "vmap", "example ", b, " gave ", outs.size(), " outputs but example 0 gave ",
             per_output.size());
    for (std::size_t k = 0; k < outs.size(); ++k) {
      XG_CHECK(outs[k].defined(), "vmap", "f returned an undefined output ", k);
      XG_CHECK(per_output[k].empty() || (outs[k].shape() == per_output[k][0].shape() &&
                                         outs[k].dtype() == per_output[k][0].dtype()),
               "vmap", "example ", b, " gave output ", k, " of ", outs[k].dtype(), outs[k].shape(), " but example 0 gave ",
               per_output[k][0].dtype(), per_output[k][0].shape());
      per_output[k].push_back(outs[k]);
    }
  }
  XG_CHECK(out_dims.empty() || out_dims.size() == per_output.size(), "vmap", "got ", out_dims.size(),
           " out_dims for ", per_output.size(), " outputs");
  TensorList out;
  for (std::size_t k = 0; k < per_output.size(); ++k) {
    const std::int64_t d = out_dims.empty() ? 0 : out_dims[k];
    out.push_back(stack(per_output[k], detail::wrap_dim(d, per_output[k][0].dim() + 1, "vmap")));
  }
  return out;
}
}  // namespace

namespace {
thread_local VmapReport g_last_vmap;
}  // namespace

VmapReport last_vmap() { return g_last_vmap; }

Fn vmap(Fn f, InDims in_dims, std::vector<std::int64_t> out_dims) {
  auto loops = std::make_shared<std::atomic<bool>>(false);  // f met an op without a batching rule
  return [f = std::move(f), in_dims = std::move(in_dims), out_dims = std::move(out_dims), loops](const TensorList& inputs) {
    XG_CHECK(in_dims.empty() || in_dims.size() == inputs.size(), "vmap", "got ", in_dims.size(), " in_dims for ",
             inputs.size(), " inputs");
    // Which dim of each input is mapped, and the batch size they agree on.
    std::vector<std::optional<std::int64_t>> dims(inputs.size());
    std::optional<std::int64_t> batch;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      const std::optional<std::int64_t> d = in_dims.empty() ? std::optional<std::int64_t>(0) : in_dims[i];
      if (!d) continue;
      XG_CHECK(inputs[i].defined(), "vmap", "input ", i, " is undefined");
      XG_CHECK(inputs[i].dim() > 0, "vmap", "input ", i, " is 0-d (shape []), so it has no dim ", *d,
               " to map over; give it in_dim std::nullopt to share it across examples");
      dims[i] = detail::wrap_dim(*d, inputs[i].dim(), "vmap");
      const std::int64_t n = inputs[i].size(*dims[i]);
      XG_CHECK(!batch || *batch == n, "vmap", "input ", i, " (shape ", inputs[i].shape(), ") has ", n,
               " examples along dim ", *dims[i], " but an earlier input has ", *batch);
      batch = n;
    }
    XG_CHECK(batch.has_value(), "vmap", "no input is mapped (every in_dim is std::nullopt)");
    XG_CHECK(*batch > 0, "vmap", "the mapped inputs have 0 examples, so the outputs' shapes are unknown");
    VmapReport report{false, "an earlier call met an op without a batching rule"};
    if (!loops->load(std::memory_order_relaxed)) {
      try {
        TensorList out = vmap_batched(f, inputs, dims, *batch, out_dims);
        g_last_vmap = VmapReport{true, ""};
        return out;
      } catch (const detail::NoBatchingRule& e) {
        loops->store(true, std::memory_order_relaxed);
        report.loop_reason = e.what();
      } catch (const Error& e) {
        // A real mistake in f is reported by the loop, in one example's
        // shapes rather than the batch's.
        report.loop_reason = e.what();
      }
    }
    TensorList out = vmap_loop(f, inputs, dims, *batch, out_dims);
    g_last_vmap = report;
    return out;
  };
}

}  // namespace xg::functional
