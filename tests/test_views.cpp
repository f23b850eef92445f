// Strided tensors: views share storage, writes through a view change the
// base, and autograd either handles a write or refuses it by name. Values
// marked "PyTorch" come from tests/pytorch_golden.py views.
#include <limits>
#include <sstream>

#include "helpers.hpp"

using namespace xg;
using test::check_values;
using test::contains;
using test::error_of;

namespace {
Tensor iota(const Shape& shape) { return arange(static_cast<double>(shape.numel()), float64).reshape(shape); }
}  // namespace

TEST_CASE("views share storage and have PyTorch's strides and offsets") {
  const Tensor x = iota({2, 3, 4});
  const Tensor p = x.permute({2, 0, 1});
  CHECK(p.strides() == Shape{1, 12, 4});  // PyTorch
  CHECK(p.is_view());
  CHECK_FALSE(p.is_contiguous());
  CHECK(p.data_ptr() == x.data_ptr());
  const Tensor n = x.narrow(2, 1, 2);
  CHECK(n.storage_offset() == 1);
  CHECK(n.strides() == Shape{12, 4, 1});
  const Tensor s = x.select(1, 2);
  CHECK(s.storage_offset() == 8);
  CHECK(s.strides() == Shape{12, 1});
  const Tensor sl = x.slice(2, 1, 4, 2);
  CHECK(sl.storage_offset() == 1);
  CHECK(sl.strides() == Shape{12, 4, 2});
  check_values(sl, {1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23});
  CHECK(zeros({3, 1}).expand({2, 3, 4}).strides() == Shape{0, 1, 0});

  const Tensor m = iota({3, 4});
  check_values(m.diagonal(), {0, 5, 10});
  CHECK(m.diagonal().strides() == Shape{5});
  check_values(m.diagonal(1), {1, 6, 11});
  CHECK(m.diagonal(1).storage_offset() == 1);
  check_values(m.diagonal(-1), {4, 9});
  const Tensor u = arange(7.0, float64).unfold(0, 3, 2);
  CHECK(u.shape() == Shape{3, 3});
  CHECK(u.strides() == Shape{2, 1});
  check_values(u, {0, 1, 2, 2, 3, 4, 4, 5, 6});
  check_values(arange(8.0, float64).as_strided({3, 3}, {2, 1}, 1), {1, 2, 3, 3, 4, 5, 5, 6, 7});
  const TensorList rows = unbind(m, 0);
  REQUIRE(rows.size() == 3);
  check_values(rows[2], {8, 9, 10, 11});
  CHECK(rows[2].storage_offset() == 8);
}

TEST_CASE("reshape views when the strides allow it and copies otherwise, view refuses") {
  const Tensor x = iota({2, 3});
  const Tensor t = x.t();
  const Tensor r = t.reshape({6});
  check_values(r, {0, 3, 1, 4, 2, 5});  // PyTorch
  CHECK(r.data_ptr() != x.data_ptr());  // a copy
  const Tensor split = iota({2, 3, 4}).transpose(0, 1).reshape({3, 2, 2, 2});  // splits a dim: still a view
  CHECK(split.is_view());
  CHECK(split.strides() == Shape{4, 12, 2, 1});
  CHECK(contains(error_of([&] { (void)t.view({6}); }),
                 "view: shape [6] is not compatible with the input's layout (shape [3, 2], strides [1, 3])"));
  CHECK(contains(error_of([&] { (void)t.view({6}); }), "Use reshape()"));
  CHECK(t.contiguous().is_contiguous());
  CHECK(x.contiguous().is_same(x));
  check_values(t.contiguous(), {0, 3, 1, 4, 2, 5});
}

TEST_CASE("writing through a view changes its base, as in libtorch") {
  Tensor z = zeros({3, 4}, float64);
  z.narrow(1, 3, 1).fill_(100);
  check_values(z, {0, 0, 0, 100, 0, 0, 0, 100, 0, 0, 0, 100});  // PyTorch
  z = zeros({3, 4}, float64);
  z.select(0, 1).copy_(tensor({1, 2, 3, 4}, float64));
  check_values(z, {0, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0});  // PyTorch
  z = zeros({2, 2}, float64);
  z.t().add_(tensor({1, 2, 3, 4}, {2, 2}, float64));
  check_values(z, {1, 3, 2, 4});  // PyTorch
  z = iota({2, 3});
  z.slice(1, 0, 3, 2).mul_(10.0);
  check_values(z, {0, 1, 20, 30, 4, 50});  // PyTorch
  z = zeros({3}, float64);
  z.expand({3, 3}).fill_(1);  // one value to every location: allowed, as in libtorch
  check_values(z, {1, 1, 1});
  CHECK(contains(error_of([&] { z.expand({2, 3}).add_(1.0); }),
                 "add_: the target (shape [2, 3], strides [0, 1]) has more than one element at the same memory location"));
  // An argument that overlaps the target is read before anything is written.
  Tensor sq = iota({3, 3});
  sq.add_(sq.t());
  check_values(sq, {0, 4, 8, 4, 8, 12, 8, 12, 16});
}

TEST_CASE("a base and its views share one version counter") {
  const Tensor a = ones({2, 3}, test::f64_grad());
  Tensor b = a * 2.0;
  const Tensor v = b.t();
  const Tensor w = v * v;  // saves v
  {
    NoGradGuard no_grad;
    b.narrow(0, 0, 1).fill_(5);  // a write through another view
  }
  CHECK(contains(error_of([&] { w.sum().backward(); }), "was modified by an in-place op"));
}

TEST_CASE("in-place on views and autograd: recorded like PyTorch's CopySlices, or refused by name") {
  // Allowed: under NoGradGuard, through a view of a leaf (what initialisers do).
  Tensor w = ones({2, 3}, test::f64_grad());
  {
    NoGradGuard no_grad;
    w.narrow(0, 0, 1).zero_();
  }
  (w * iota({2, 3})).sum().backward();
  check_values(w, {0, 0, 0, 1, 1, 1});               // PyTorch
  check_values(w.grad(), {0, 1, 2, 3, 4, 5});        // PyTorch
  // Allowed: writes to a view of a tensor that needs no gradient, in grad mode.
  Tensor buf = zeros({2, 3}, float64);
  buf.select(0, 1).fill_(7);
  check_values(buf, {0, 0, 0, 7, 7, 7});

  // Recorded on the base (CopySlices), with PyTorch's gradients.
  {
    const Tensor a = ones({2, 3}, test::f64_grad());
    Tensor b = a * 2.0;
    b.narrow(0, 0, 1).fill_(0);
    CHECK(b.grad_fn()->name() == std::string("CopySlices"));
    b.sum().backward();
    check_values(b, {0, 0, 0, 2, 2, 2});
    check_values(a.grad(), {0, 0, 0, 2, 2, 2});  // PyTorch
  }
  {
    const Tensor a = ones({2, 3}, test::f64_grad());
    Tensor buf = zeros({2, 3}, float64);  // a buffer that needs no grad, filled from one that does
    buf.select(0, 0).copy_(a.select(0, 1) * 3.0);
    CHECK(buf.requires_grad());
    (buf * iota({2, 3})).sum().backward();
    check_values(buf, {3, 3, 3, 0, 0, 0});     // PyTorch
    check_values(a.grad(), {0, 0, 0, 0, 3, 6});  // PyTorch
  }
  {
    const Tensor a = iota({2, 3}).requires_grad_(true);
    Tensor b = a * 2.0;
    Tensor v = b.narrow(1, 1, 2);
    v.mul_(3.0);
    (b.sum() + (v * v).sum()).backward();  // the view itself is re-made from the new history
    check_values(b, {0, 6, 12, 6, 24, 30});           // PyTorch
    check_values(a.grad(), {2, 78, 150, 2, 294, 366});  // PyTorch
  }
  {
    const Tensor a = iota({2, 3}).requires_grad_(true);
    Tensor b = a * 1.0;
    b.t().add_(ones({3, 2}, float64) * 5.0);
    (b * b).sum().backward();
    check_values(a.grad(), {10, 12, 14, 16, 18, 20});  // PyTorch
  }
  // Refused: a view made under NoGradGuard of a tensor that requires grad, written in grad mode (as in PyTorch).
  const Tensor a = ones({2, 3}, test::f64_grad());
  Tensor b = a * 2.0;
  Tensor quiet;
  {
    NoGradGuard no_grad;
    quiet = b.t();
  }
  const std::string refused = error_of([&] { quiet.add_(1.0); });
  CHECK(contains(refused, "add_: the tensor changed in place is a view (transpose, shape [3, 2]) of a float64[2, 3] tensor "
                          "that requires grad, and the view was made under NoGradGuard"));
  check_values(b, {2, 2, 2, 2, 2, 2});  // nothing was written
  // Refused: a view of a base that is not contiguous.
  Tensor strided_base = (a * 1.0).t().detach();  // not a view, not contiguous
  CHECK(contains(error_of([&] { strided_base.narrow(0, 0, 1).copy_(a.narrow(1, 0, 1).t()); }),
                 "that is not contiguous, so autograd cannot record the write"));

  // A recorded in-place op on the base itself is allowed; a view made before it is stale.
  const Tensor a2 = ones({2, 3}, test::f64_grad());
  Tensor b2 = a2 * 2.0;
  const Tensor early = b2.select(0, 0);
  b2.mul_(3.0);
  CHECK(contains(error_of([&] { (void)(early * 2.0); }),
                 "select: this view (shape [3]) of a float64[2, 3] tensor was made before an in-place op"));
  b2.select(0, 0).sum().backward();  // made again after the write: PyTorch's gradient
  check_values(a2.grad(), {6, 6, 6, 0, 0, 0});
}

TEST_CASE("matmul reads transposed views as BLAS transposes, without copying them") {
  manual_seed(3);
  const Tensor a = randn({64, 32}, float64), b = randn({64, 48}, float64);
  const Tensor expected = matmul(a.t().contiguous(), b);
  const std::int64_t before = live_storage_bytes();
  const Tensor y = matmul(a.t(), b);
  CHECK(live_storage_bytes() - before == 32 * 48 * 8);  // the output and nothing else
  check_values(y, test::values(expected), 1e-12);
  // Batched, with a transposed and a sliced operand.
  const Tensor p = randn({3, 8, 5}, float64), q = randn({3, 6, 8}, float64);
  check_values(matmul(p.transpose(1, 2), q.transpose(1, 2)),
               test::values(matmul(p.transpose(1, 2).contiguous(), q.transpose(1, 2).contiguous())), 1e-12);
  const Tensor r = randn({4, 10}, float64), c = randn({3, 5}, float64);
  check_values(matmul(r.slice(1, 0, 10, 2), c.t()), test::values(matmul(r.slice(1, 0, 10, 2).contiguous(), c.t().contiguous())),
               1e-12);
}

TEST_CASE("as_strided and unfold check their arguments") {
  const Tensor x = zeros({2, 4});
  CHECK(contains(error_of([&] { (void)x.as_strided({3, 3}, {3, 1}, 1); }),
                 "as_strided: size [3, 3], stride [3, 1] and storage offset 1 reach element 9 but the storage holds 8 elements"));
  CHECK(contains(error_of([&] { (void)x.as_strided({2}, {-1}); }), "negative strides are not supported"));
  CHECK(contains(error_of([&] { (void)x.as_strided({2}, {1}, -5); }), "as_strided: storage offset must be >= 0"));
  const std::int64_t big = std::numeric_limits<std::int64_t>::max();
  CHECK(x.diagonal(big).numel() == 0);
  CHECK(x.diagonal(-big - 1).numel() == 0);
  CHECK(contains(error_of([&] { (void)x.unfold(1, 2, 0); }), "unfold: step must be positive, got 0"));
  CHECK(contains(error_of([&] { (void)x.unfold(1, 5, 1); }), "unfold: size 5 must be in [0, 4] for dim 1"));
  CHECK(contains(error_of([&] { (void)x.diagonal(0, 1, -1); }), "diagonal: dim1 and dim2 must differ, both are 1"));
  const Tensor t = x.t();
  const Tensor tg = t.detach().requires_grad_(true);
  CHECK(contains(error_of([&] { (void)tg.as_strided({2}, {1}, 0); }), "the gradient of as_strided needs a contiguous input"));
  CHECK(contains(error_of([&] { (void)t.data<float>(); }), "data: the tensor is not contiguous (shape [4, 2], strides [1, 4]"));
}

TEST_CASE("a recorded mul_, div_ or clamp_ keeps the old value its backward needs, as PyTorch does") {
  const Tensor y = tensor({1, 2, 3}, test::f64_grad()), w = tensor({4, 5, 6}, test::f64_grad());
  Tensor c = y * 1.0;
  c.mul_(w);
  c.div_(w * 2.0);
  c.clamp_(0.6, 10.0);
  c.sum().backward();
  check_values(c, {0.6, 1, 1.5});
  check_values(y.grad(), {0, 0.5, 0.5});  // clamped at 0.6 where y / 2 < 0.6
  check_values(w.grad(), {0, 0, 0});      // w cancels: y·w / (2w)
}

TEST_CASE("reductions of a transposed or permuted tensor read it in place") {
  manual_seed(5);
  const Tensor x = randn({64, 48, 8}, float64);
  const Tensor p = x.permute({2, 0, 1});
  const std::int64_t before = live_storage_bytes();
  const Tensor s = sum(p, {1});
  CHECK(live_storage_bytes() - before <= 2 * 8 * 48 * 8);  // the result (and its reordering), not a copy of p
  check_values(s, test::values(sum(p.contiguous(), {1})), 1e-12);
  const Tensor m = x.select(2, 3).t();
  check_values(max(m, {0}), test::values(max(m.contiguous(), {0})), 1e-15);
  check_values(mean(p, {0, 2}, true), test::values(mean(p.contiguous(), {0, 2}, true)), 1e-12);
  CHECK(mean(p, {0, 2}, true).shape() == Shape{1, 64, 1});
}

TEST_CASE("a view prints its own elements") {
  std::ostringstream os;
  os << tensor({1, 2, 3, 4, 5, 6}, {2, 3}, int64).t();
  CHECK(os.str() == "tensor({{1, 4},\n {2, 5},\n {3, 6}}, dtype=int64, shape=[3, 2])");
}
