// Matrix products through OpenBLAS. Transposes are flags and leading
// dimensions, never copies; the backward of matmul_transposed is matmul_transposed again with
// other flags, so it is differentiable to any order.
#include "kernels.hpp"
#include "op_samples.hpp"

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

}  // namespace

Tensor matmul_transposed(const Tensor& a, const Tensor& b, bool ta, bool tb) {
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
  const std::int64_t batch = std::max(ba, bb);
  const bool batched = a.dim() == 3 || b.dim() == 3;
  Tensor y = detail::make_tensor(batched ? Shape{batch, m, n} : Shape{m, n}, a.dtype());
  detail::gemm_batched(a, b, y, batch, m, n, k, ta, tb);
  if (needs_grad(a, b)) {
    SavedTensor saved_a(b.requires_grad() ? a : Tensor(), false);
    SavedTensor saved_b(a.requires_grad() ? b : Tensor(), false);
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

Tensor matmul(const Tensor& a, const Tensor& b) {
  detail::check_same_dtype(a, b, "matmul");
  const std::int64_t da = a.dim(), db = b.dim();
  XG_CHECK(da >= 1 && da <= 3 && db >= 1 && db <= 3, "matmul", "supports 1-d, 2-d and 3-d operands, got shapes ",
           a.shape(), " and ", b.shape());
  XG_CHECK(a.size(-1) == b.size(db == 1 ? 0 : -2), "matmul", "shapes ", a.shape(), " and ", b.shape(),
           " cannot be multiplied (", a.size(-1), " != ", b.size(db == 1 ? 0 : -2), ")");
  if (da == 1 && db == 1) return reshape(matmul_transposed(unsqueeze(a, 0), unsqueeze(b, 1), false, false), Shape{});
  if (da == 1) return squeeze(matmul(unsqueeze(a, 0), b), -2);
  if (db == 1) return squeeze(matmul(a, unsqueeze(b, 1)), -1);
  if (da == 3 && db == 2) {
    // One big GEMM instead of a batch of small ones.
    const std::int64_t batch = a.size(0), m = a.size(1);
    return reshape(matmul_transposed(reshape(a, Shape{batch * m, a.size(2)}), b, false, false), Shape{batch, m, b.size(1)});
  }
  return matmul_transposed(a, b, false, false);
}

Tensor outer(const Tensor& a, const Tensor& b) {
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
