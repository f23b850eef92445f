#include "xgrad/functional.hpp"

#include "internal.hpp"

namespace xg::functional {
namespace {

/// Fresh leaves that require grad, holding the inputs' values.
TensorList as_leaves(const TensorList& inputs, bool create_graph) {
  TensorList out;
  for (const Tensor& t : inputs) {
    detail::check_defined(t, "functional");
    // With create_graph the caller may differentiate through the result
    // w.r.t. the original inputs, so keep their history.
    out.push_back(create_graph && t.requires_grad() ? t : t.detach().requires_grad_(true));
  }
  return out;
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

VjpResult jvp(const Fn& f, const TensorList& inputs, const TensorList& v, bool create_graph) {
  AutoGradMode on(true);
  XG_CHECK(v.size() == inputs.size(), "jvp", "got ", v.size(), " tangents for ", inputs.size(), " inputs");
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

TensorList jacobian(const std::function<Tensor(const TensorList&)>& f, const TensorList& inputs, bool create_graph) {
  AutoGradMode on(true);
  const TensorList x = as_leaves(inputs, create_graph);
  const Tensor y = f(x);
  std::vector<TensorList> rows(x.size());
  for (std::int64_t k = 0; k < y.numel(); ++k) {
    TensorList g(x.size());
    if (y.requires_grad()) {
      Tensor onehot = zeros(y.shape(), y.dtype());
      detail::dispatch_float(y.dtype(), "jacobian", [&](auto z) { onehot.data<decltype(z)>()[k] = 1; });
      g = grad({y}, x, {onehot}, true, create_graph, true);
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

Tensor hessian(const std::function<Tensor(const Tensor&)>& f, const Tensor& x) {
  auto gradient = [&f](const TensorList& in) {
    const Tensor y = f(in[0]);
    XG_CHECK(y.numel() == 1, "hessian", "f must return one number, got shape ", y.shape());
    return grad({y}, {in[0]}, {}, true, true, true)[0];
  };
  return jacobian(gradient, {x})[0];
}

Tensor hvp(const std::function<Tensor(const Tensor&)>& f, const Tensor& x, const Tensor& v, bool create_graph) {
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

}  // namespace xg::functional
