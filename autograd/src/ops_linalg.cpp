// Matrix products through OpenBLAS. Transposes are flags and leading
// dimensions, never copies; the backward of matmul_transposed is matmul_transposed again with
// other flags, so it is differentiable to any order.
#include "kernels.hpp"
#include "op_samples.hpp"
#include "vmap.hpp"

namespace xg {

using detail::needs_grad;

namespace {

// Note [Gradients in the input's layout]
// When an operand of matmul is a transposed view (x.t(), k.transpose(1, 2)),
// its gradient is computed transposed — (op(X)·op(Y))ᵀ = op(Y)ᵀ·op(X)ᵀ, one
// GEMM either way — and returned as a transposed view, so it lies in memory
// like the tensor the view came from: the view's backward (a transpose back)
// then hands the base a contiguous gradient, with no transposing copy.

/// Whether t's last two dims are a transposed row-major matrix.
bool transposed_layout(const Tensor& t) {
  const Shape& shape = t.shape();
  const Shape& strides = t.strides();
  const std::size_t nd = shape.size();
  return nd >= 2 && shape[nd - 2] > 1 && shape[nd - 1] > 1 && strides[nd - 2] == 1 && strides[nd - 1] >= shape[nd - 2];
}

/// op(x) @ op(y), laid out transposed in memory when `transposed`.
Tensor product(const Tensor& x, const Tensor& y, bool tx, bool ty, bool transposed) {
  return transposed ? matmul_transposed(y, x, !ty, !tx).transpose(-1, -2) : matmul_transposed(x, y, tx, ty);
}

/// x [..., r, c] broadcast to `batch` + [r, c] and flattened to [B, r, c] (a
/// view when x is contiguous), or, when x's last two dims are a transposed
/// view (k.transpose(-2, -1) in attention), its untransposed [B, c, r] and
/// `true`, so the GEMM reads the memory as it lies instead of copying it.
std::pair<Tensor, bool> batched_3d(const Tensor& x, const Shape& batch) {
  Shape full = batch;
  full.push_back(x.size(-2));
  full.push_back(x.size(-1));
  std::int64_t b = 1;
  for (std::int64_t d : batch) b *= d;
  const Tensor e = broadcast_to(x, full);
  const Tensor t = e.transpose(-1, -2);
  if (!e.is_contiguous() && t.is_contiguous()) return {reshape(t, Shape{b, x.size(-1), x.size(-2)}), true};
  return {reshape(e, Shape{b, x.size(-2), x.size(-1)}), false};
}

/// matmul of operands with more than 3 dims: the batch dims broadcast as in
/// PyTorch ([B, H, T, d] @ [B, H, d, T] for attention) and flatten to one.
Tensor matmul_nd(const Tensor& a, const Tensor& b) {
  if (b.dim() == 2) {
    // One big GEMM over every row of every batch.
    Shape out = a.shape();
    out[out.size() - 1] = b.size(1);
    return reshape(matmul(reshape(a, Shape{-1, a.size(-1)}), b), out);
  }
  const Shape batch_a(a.shape().begin(), a.shape().end() - 2), batch_b(b.shape().begin(), b.shape().end() - 2);
  for (std::size_t i = 1; i <= std::min(batch_a.size(), batch_b.size()); ++i) {
    const std::int64_t x = batch_a[batch_a.size() - i], y = batch_b[batch_b.size() - i];
    XG_CHECK(x == y || x == 1 || y == 1, "matmul", "batch dims ", batch_a, " of ", a.shape(), " and ", batch_b, " of ",
             b.shape(), " cannot be broadcast");
  }
  Shape out = detail::broadcast_shapes(batch_a, batch_b, "matmul");
  const auto [a3, ta] = batched_3d(a, out);
  const auto [b3, tb] = batched_3d(b, out);
  out.push_back(a.size(-2));
  out.push_back(b.size(-1));
  return reshape(matmul_transposed(a3, b3, ta, tb), out);
}

}  // namespace

Tensor matmul_transposed(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  if (detail::vmapping() && (detail::is_batched(a) || detail::is_batched(b))) {
    // The transposes are views and matmul has a rule.
    XG_CHECK((a.dim() == 2 || a.dim() == 3) && (b.dim() == 2 || b.dim() == 3), "matmul",
             "matmul_transposed takes 2-d or 3-d operands, got shapes ", a.shape(), " and ", b.shape());
    return matmul(ta ? a.transpose(-2, -1) : a, tb ? b.transpose(-2, -1) : b);
  }
  detail::check_same_dtype(a, b, "matmul");
  detail::check_float(a, "matmul");
  XG_CHECK((a.dim() == 2 || a.dim() == 3) && (b.dim() == 2 || b.dim() == 3), "matmul",
           "matmul_transposed takes 2-d or 3-d operands, got shapes ", a.shape(), " and ", b.shape());
  const std::int64_t ra = a.size(-2), ca = a.size(-1), rb = b.size(-2), cb = b.size(-1);
  const std::int64_t m = ta ? ca : ra, k = ta ? ra : ca, kb = tb ? cb : rb, n = tb ? rb : cb;
  XG_CHECK(k == kb, "matmul", "shapes ", a.shape(), (ta ? "ᵀ" : ""), " and ", b.shape(), (tb ? "ᵀ" : ""),
           " cannot be multiplied (", k, " != ", kb, ")");
  const std::int64_t ba = a.dim() == 3 ? a.size(0) : 1, bb = b.dim() == 3 ? b.size(0) : 1;
  XG_CHECK(ba == bb || ba == 1 || bb == 1, "matmul", "batch sizes of ", a.shape(), " and ", b.shape(),
           " do not broadcast (", ba, " vs ", bb, ")");
  // A sum over one term is an outer product (per-example weight gradients):
  // one broadcasting pass, where the GEMM would clear, pack and multiply.
  if (k == 1) return mul(ta ? a.transpose(-1, -2) : a, tb ? b.transpose(-1, -2) : b);
  const std::int64_t batch = std::max(ba, bb);
  const bool batched = a.dim() == 3 || b.dim() == 3;
  Tensor y = detail::make_tensor(batched ? Shape{batch, m, n} : Shape{m, n}, a.dtype());
  detail::gemm_batched(a, b, y, batch, m, n, k, ta, tb);
  if (detail::has_tangent(a) || detail::has_tangent(b)) {
    const Tensor dot_a = detail::tangent_of(a), dot_b = detail::tangent_of(b);  // product rule
    detail::set_tangent_by(y, [&] {
      Tensor t = dot_a.defined() ? matmul_transposed(dot_a, b, ta, tb) : Tensor();
      if (dot_b.defined()) t = t.defined() ? t + matmul_transposed(a, dot_b, ta, tb) : matmul_transposed(a, dot_b, ta, tb);
      return t.shape() == y.shape() ? t : t.expand(y.shape());
    });
  }
  if (needs_grad(a, b)) {
    SavedTensor saved_a(needs_grad(b) ? a : Tensor(), false);
    SavedTensor saved_b(needs_grad(a) ? b : Tensor(), false);
    // A gradient is made in its input's memory order (Note [Gradients in the input's layout]).
    make_node(y, "MatmulBackward", [ta, tb, sa = a.shape(), sb = b.shape(), a_t = transposed_layout(a), b_t = transposed_layout(b),
                                 saved_a = std::move(saved_a), saved_b = std::move(saved_b)](const Tensor& g, Node& self) -> TensorList {
      Tensor da, db;
      if (self.needs_input_grad(0)) {
        const Tensor b_ = saved_b.unpack(self);
        da = sum_to(ta ? product(b_, g, tb, true, a_t) : product(g, b_, false, !tb, a_t), sa);
      }
      if (self.needs_input_grad(1)) {
        const Tensor a_ = saved_a.unpack(self);
        db = sum_to(tb ? product(g, a_, true, ta, b_t) : product(a_, g, !ta, false, b_t), sb);
      }
      return {da, db};
    }, a, b);
  }
  return y;
}

namespace {
/// matmul of a batch (Note [Batching]): an example's vector operand becomes
/// a one-row (or one-column) matrix and the examples a leading batch dim,
/// which matmul broadcasts against the other operand's.
Tensor batched_matmul(const detail::BatchArgs& args) {
  Tensor x = args.x[0], y = args.x[1];
  // A shared matrix times each example's vector (a layer applied per
  // example): one GEMM of the examples' rows, not one GEMV per example.
  if (!args.batched[0] && x.dim() == 2 && args.example_rank(1) == 1) return matmul(y, x.transpose(0, 1));
  const bool y_vector = args.example_rank(1) == 1;  // then matmul leaves no column dim
  const bool row = args.batched[0] && args.example_rank(0) == 1, column = args.batched[1] && args.example_rank(1) == 1;
  if (row) x = x.unsqueeze(1);
  if (column) y = y.unsqueeze(2);
  const auto rank = [&](const Tensor& t, bool batched) { return t.dim() - (batched ? 1 : 0); };
  const std::int64_t r = std::max(rank(x, args.batched[0]), rank(y, args.batched[1]));
  const auto lined_up = [&](Tensor t, bool batched) {
    while (batched && rank(t, true) < r) t = t.unsqueeze(1);
    return t;
  };
  Tensor out = matmul(lined_up(x, args.batched[0]), lined_up(y, args.batched[1]));
  if (column) out = out.squeeze(-1);
  if (row) out = out.squeeze(y_vector ? -1 : -2);
  return out;
}
}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  if (detail::vmapping())
    if (auto r = detail::batch_rule("matmul", {a, b}, batched_matmul)) return *r;
  detail::check_same_dtype(a, b, "matmul");
  const std::int64_t da = a.dim(), db = b.dim();
  XG_CHECK(da >= 1 && db >= 1, "matmul", "needs operands of at least 1 dim, got shapes ", a.shape(), " and ", b.shape());
  XG_CHECK(a.size(-1) == b.size(db == 1 ? 0 : -2), "matmul", "shapes ", a.shape(), " and ", b.shape(),
           " cannot be multiplied (", a.size(-1), " != ", b.size(db == 1 ? 0 : -2), ")");
  if (da == 1 && db == 1) return reshape(matmul_transposed(unsqueeze(a, 0), unsqueeze(b, 1), false, false), Shape{});
  if (da == 1) return squeeze(matmul(unsqueeze(a, 0), b), -2);
  if (db == 1) return squeeze(matmul(a, unsqueeze(b, 1)), -1);
  if (da > 3 || db > 3) return matmul_nd(a, b);
  if (da == 3 && db == 2) {
    // One big GEMM instead of a batch of small ones.
    const std::int64_t batch = a.size(0), m = a.size(1);
    return reshape(matmul_transposed(reshape(a, Shape{batch * m, a.size(2)}), b, false, false), Shape{batch, m, b.size(1)});
  }
  return matmul_transposed(a, b, false, false);
}

Tensor outer(const Tensor& a, const Tensor& b) {
  if (detail::vmapping()) {
    if (auto r = detail::batch_rule("outer", {a, b}, [](const detail::BatchArgs& args) {
          XG_CHECK(args.example_rank(0) == 1 && args.example_rank(1) == 1, "outer", "expects two 1-d tensors");
          const Tensor& x = args.x[0];
          const Tensor& y = args.x[1];
          return mul(x.unsqueeze(args.batched[0] ? 2 : 1), y.unsqueeze(args.batched[1] ? 1 : 0));
        }))
      return *r;
  }
  XG_CHECK(a.dim() == 1 && b.dim() == 1, "outer", "expects two 1-d tensors, got shapes ", a.shape(), " and ",
           b.shape());
  return matmul_transposed(unsqueeze(a, 1), unsqueeze(b, 0), false, false);
}


// ---------------------------------------------------------------- gradient-check samples
// This family's rows of the op registry (op_registry.hpp): every op above on
// several shapes, in float64. A row's name starts with the op it checks, so
// the coverage test can tell when an op in the public headers has none.
namespace detail {
std::vector<OpSample> samples_linalg() {
  using L = const TensorList&;
  std::vector<OpSample> c;
  const Shape s0{}, s3{3}, s23{2, 3}, s13{1, 3}, s21{2, 1}, s234{2, 3, 4}, s31{3, 1};
  c.push_back({"matmul 2d", [](L x) { return matmul(x[0], x[1]); }, {s23, {3, 4}}});
  c.push_back({"matmul dot", [](L x) { return matmul(x[0], x[1]); }, {s3, s3}});
  c.push_back({"matmul 2d.1d", [](L x) { return matmul(x[0], x[1]); }, {s23, s3}});
  c.push_back({"matmul 1d.2d", [](L x) { return matmul(x[0], x[1]); }, {s3, {3, 2}}});
  c.push_back({"matmul 3d.3d", [](L x) { return matmul(x[0], x[1]); }, {s234, {2, 4, 2}}});
  c.push_back({"matmul 3d.2d", [](L x) { return matmul(x[0], x[1]); }, {s234, {4, 2}}});
  c.push_back({"matmul 2d.3d", [](L x) { return matmul(x[0], x[1]); }, {s23, {2, 3, 2}}});
  c.push_back({"matmul 4d.4d attention scores", [](L x) { return matmul(x[0], x[1].transpose(-2, -1)); },
               {Shape{2, 2, 3, 4}, Shape{2, 2, 3, 4}}});
  c.push_back({"matmul 4d.3d broadcast batch", [](L x) { return matmul(x[0], x[1]); }, {Shape{2, 1, 3, 4}, Shape{3, 4, 2}}});
  c.push_back({"matmul 4d.2d", [](L x) { return matmul(x[0], x[1]); }, {Shape{2, 2, 1, 3}, Shape{3, 2}}});
  c.push_back({"matmul 1d.5d", [](L x) { return matmul(x[0], x[1]); }, {s3, Shape{2, 1, 2, 3, 2}}});
  c.push_back({"matmul batch-1 broadcast", [](L x) { return matmul(x[0], x[1]); }, {{1, 2, 3}, {2, 3, 2}}});
  c.push_back({"matmul_transposed a^T b", [](L x) { return matmul_transposed(x[0], x[1], true, false); }, {{3, 2}, {3, 4}}});
  c.push_back({"matmul_transposed a b^T", [](L x) { return matmul_transposed(x[0], x[1], false, true); }, {s23, {4, 3}}});
  c.push_back({"matmul_transposed a^T b^T batched", [](L x) { return matmul_transposed(x[0], x[1], true, true); }, {{2, 3, 2}, {2, 4, 3}}});
  c.push_back({"outer", [](L x) { return outer(x[0], x[1]); }, {s3, {2}}});

  // a composite: a small MLP layer with a loss
  c.push_back({"composite mlp layer", [](L x) { return tanh(matmul(x[0], x[1]) + x[2]).pow(2.0).mean(); }, {{4, 3}, {3, 2}, {2}}});
  return c;
}
}  // namespace detail

}  // namespace xg
