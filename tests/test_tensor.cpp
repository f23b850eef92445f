// Tensor: factories, dtypes, metadata, printing, random, errors.
#include <cmath>
#include <limits>
#include <type_traits>

#include "helpers.hpp"

using namespace xg;
using test::check_values;
using test::contains;
using test::error_of;
using test::f64_grad;

TEST_CASE("factories make the shapes, dtypes and values asked for") {
  Tensor z = zeros({2, 3});
  CHECK(z.shape() == Shape{2, 3});
  CHECK(z.dtype() == float32);
  CHECK(z.numel() == 6);
  CHECK(z.dim() == 2);
  check_values(z, {0, 0, 0, 0, 0, 0});
  check_values(ones({2}, float64), {1, 1});
  check_values(full({3}, 2.5), {2.5, 2.5, 2.5});
  check_values(arange(0, 5, 2), {0, 2, 4});
  check_values(arange(4.0), {0, 1, 2, 3});
  check_values(linspace(0, 1, 5), {0, 0.25, 0.5, 0.75, 1});
  check_values(eye(2, float64), {1, 0, 0, 1});
  check_values(eye(2, 3), {1, 0, 0, 0, 1, 0});
  Tensor t = tensor({1, 2, 3, 4, 5, 6}, {2, 3}, float64);
  CHECK(t.size(0) == 2);
  CHECK(t.size(-1) == 3);
  CHECK(t.dtype() == float64);
  check_values(t, {1, 2, 3, 4, 5, 6});
  CHECK(scalar_tensor(7).dim() == 0);
  CHECK(scalar_tensor(7).item() == 7.0);
  Tensor v = from_vector<float>({1.f, 2.f}, {2});
  CHECK(v.dtype() == float32);
  CHECK(v.data<float>()[1] == 2.f);
}

TEST_CASE("requires_grad options, leaves and detach") {
  Tensor a = randn({3}, TensorOptions(float64).requires_grad(true));
  CHECK(a.requires_grad());
  CHECK(a.is_leaf());
  CHECK_FALSE(a.grad().defined());
  Tensor b = a * 2.0;
  CHECK(b.requires_grad());
  CHECK_FALSE(b.is_leaf());
  CHECK(std::string(b.grad_fn()->name()) == "MulScalarBackward");
  Tensor d = b.detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.is_leaf());
  CHECK(d.data<double>() == b.data<double>());  // detach shares storage
  CHECK(contains(error_of([&] { b.requires_grad_(true); }), "only leaves can change requires_grad"));
  CHECK(contains(error_of([] { arange(3.0, int64).requires_grad_(true); }), "only float tensors"));
}

TEST_CASE("manual_seed makes rand and randn reproducible") {
  manual_seed(42);
  const auto a = randn({5}).to_vector<float>();
  const auto u = rand({5}, float64).to_vector<double>();
  manual_seed(42);
  CHECK(randn({5}).to_vector<float>() == a);
  CHECK(rand({5}, float64).to_vector<double>() == u);
  for (double x : u) CHECK((x >= 0.0 && x < 1.0));
  manual_seed(1);
  Tensor big = randn({20000}, float64);
  CHECK(big.mean().item() == doctest::Approx(0.0).epsilon(0.03));
  CHECK(xg::std_dev(big).item() == doctest::Approx(1.0).epsilon(0.03));
  Tensor r = randint(3, 7, {1000});
  CHECK(r.dtype() == int64);
  for (auto x : r.to_vector<std::int64_t>()) CHECK((x >= 3 && x < 7));
}

TEST_CASE("to(dtype) converts and keeps gradients flowing") {
  Tensor a = tensor({1.5, -2.25}, TensorOptions(float32).requires_grad(true));
  Tensor b = a.to(float64);
  CHECK(b.dtype() == float64);
  check_values(b, {1.5, -2.25});
  (b * b).sum().backward();
  CHECK(a.grad().dtype() == float32);
  check_values(a.grad(), {3.0, -4.5});
  Tensor i = tensor({1.7, -2.2}).to(int64);
  CHECK(i.to_vector<std::int64_t>() == std::vector<std::int64_t>{1, -2});
}

TEST_CASE("printing shows values, dtype and shape") {
  Tensor t = tensor({1, 2, 3, 4}, {2, 2});
  const std::string s = t.str();
  CHECK(contains(s, "dtype=float32"));
  CHECK(contains(s, "shape=[2, 2]"));
  CHECK(contains(s, "3"));
  Tensor g = tensor({1.0}, TensorOptions(float64).requires_grad(true)) * 2.0;
  CHECK(contains(g.str(), "grad_fn=MulScalarBackward"));
  CHECK(Tensor().str() == "tensor(undefined)");
}

TEST_CASE("bad input raises errors that name the op, shapes and dtypes") {
  Tensor a = ones({2, 3}), b = ones({4, 5});
  CHECK(error_of([&] { matmul(a, b); }) == "matmul: shapes [2, 3] and [4, 5] cannot be multiplied (3 != 4)");
  CHECK(error_of([&] { add(ones({2, 3}), ones({4})); }) ==
        "add: shapes [2, 3] and [4] cannot be broadcast together (dim 1: 3 vs 4)");
  const std::string mixed = error_of([&] { mul(ones({2}), ones({2}, float64)); });
  CHECK(contains(mixed, "mul: dtypes differ: float32[2] and float64[2]"));
  CHECK(contains(error_of([&] { a.sum({2}); }), "sum: dim 2 is out of range for a tensor of rank 2"));
  CHECK(contains(error_of([&] { a.reshape({4, 2}); }), "reshape: shape [4, 2] is invalid for input of shape [2, 3]"));
  CHECK(contains(error_of([&] { a.item(); }), "item: expected a tensor with one element, got shape [2, 3]"));
  CHECK(contains(error_of([&] { exp(arange(3.0, int64)); }), "exp: expected a float32 or float64 tensor, got int64"));
  CHECK(contains(error_of([&] { a.narrow(1, 2, 2); }), "narrow: start 2 + length 2 is out of range"));
  CHECK(contains(error_of([&] { a.select(0, 5); }), "select: index 5 is out of range for dim 0 of size 2"));
  CHECK(contains(error_of([&] { cat({ones({2, 3}), ones({2, 4})}, 0); }), "cat: tensor 1 has shape [2, 4]"));
  CHECK(contains(error_of([&] { Tensor().shape(); }), "undefined"));
  CHECK(contains(error_of([&] { a.data<double>(); }), "data: tensor has dtype float32, asked for float64"));
  CHECK(contains(error_of([&] { a.permute({0, 0}); }), "permute: dim 0 repeats"));
  CHECK(contains(error_of([&] { ones({2, 3}).expand({4, 3, 2}); }), "expand: cannot expand shape [2, 3]"));
}

TEST_CASE("in-place ops bump the version and refuse tensors that require grad") {
  Tensor w = ones({3}, TensorOptions(float64).requires_grad(true));
  CHECK(contains(error_of([&] { w.add_(ones({3}, float64)); }), "add_: a leaf tensor that requires grad (float64[3]) cannot be modified in place"));
  {
    NoGradGuard guard;
    w.sub_(full({3}, 0.5, float64));
    w.mul_(4.0);
  }
  check_values(w, {2, 2, 2});
  Tensor p = zeros({2, 2});
  p += ones({2});  // broadcast into the target
  p *= 3.0;
  check_values(p, {3, 3, 3, 3});
  p.fill_(-1).clamp_(-0.5, 0.5);
  check_values(p, {-0.5, -0.5, -0.5, -0.5});
  p.copy_(tensor({1, 2}));
  check_values(p, {1, 2, 1, 2});
  p.zero_();
  check_values(p, {0, 0, 0, 0});
  CHECK(contains(error_of([&] { p.add_(ones({3})); }), "add_: shapes [2, 2] and [3] cannot be broadcast"));
}

TEST_CASE("reshape shares storage, views see in-place writes") {
  Tensor a = arange(6.0);
  Tensor b = a.reshape({2, 3});
  b.add_(1.0);
  check_values(a, {1, 2, 3, 4, 5, 6});
  CHECK(a.reshape({-1, 2}).shape() == Shape{3, 2});
  CHECK(a.flatten().shape() == Shape{6});
  CHECK(b.unsqueeze(0).shape() == Shape{1, 2, 3});
  CHECK(b.unsqueeze(-1).shape() == Shape{2, 3, 1});
  CHECK(ones({1, 3, 1}).squeeze().shape() == Shape{3});
  CHECK(ones({1, 3, 1}).squeeze(0).shape() == Shape{3, 1});
}

TEST_CASE("shape arithmetic is checked: sizes that overflow int64 are errors, not wrapped tensors") {
  const std::int64_t big = std::numeric_limits<std::int64_t>::max();
  CHECK(contains(error_of([&] { empty({big, big}); }), "empty: shape [9223372036854775807, 9223372036854775807] is too large: its storage size calculation overflowed"));
  CHECK(contains(error_of([&] { zeros({std::int64_t{1} << 32, std::int64_t{1} << 32}); }), "zeros: shape [4294967296, 4294967296] is too large"));
  // Element count fits, bytes do not.
  CHECK(contains(error_of([&] { ones({std::int64_t{1} << 61}, float64); }), "ones: shape [2305843009213693952] is too large"));
  CHECK(contains(error_of([&] { full({3, -2}, 1.0); }), "full: negative extent -2 in shape [3, -2]"));
  CHECK(contains(error_of([&] { randn({std::int64_t{1} << 40, std::int64_t{1} << 40}); }), "randn: shape"));
  const Tensor x = zeros({4});
  CHECK(contains(error_of([&] { x.reshape({std::int64_t{1} << 32, std::int64_t{1} << 32, 0, -1}); }), "reshape: shape"));
  CHECK(contains(error_of([&] { x.reshape({std::int64_t{1} << 62, 4, 0}); }), "reshape: shape"));
  CHECK(contains(error_of([&] { zeros({1}).expand({std::int64_t{1} << 40, std::int64_t{1} << 40}); }), "expand: shape"));
  CHECK(contains(error_of([&] { zeros({3}).expand({-2, 3}); }), "expand: invalid extent -2 in [-2, 3]"));
  CHECK(contains(error_of([&] { zeros({1, 3}).expand({-2, 3}); }), "expand: invalid extent -2 in [-2, 3]"));
  CHECK(contains(error_of([&] { eye(-1); }), "eye: n and m must be non-negative, got n = -1"));
  CHECK(contains(error_of([&] { arange(0.0, INFINITY); }), "arange: start, end and step must be finite"));
  CHECK(contains(error_of([&] { arange(0.0, 1e300, 1.0); }), "arange: the range [0, 1e+300) with step 1 has"));
}

TEST_CASE("narrow and slice check their ranges without overflowing") {
  const std::int64_t big = std::numeric_limits<std::int64_t>::max();
  const Tensor x = arange(6.0).reshape({2, 3});
  CHECK(contains(error_of([&] { x.narrow(0, big, 1); }), "narrow: start 9223372036854775807 + length 1 is out of range for dim 0 of size 2"));
  CHECK(contains(error_of([&] { x.narrow(0, 1, big); }), "narrow: start 1 + length 9223372036854775807 is out of range"));
  CHECK(contains(error_of([&] { x.narrow(1, -1, 2); }), "narrow: start 2 + length 2 is out of range for dim 1 of size 3"));
  CHECK(x.narrow(1, 3, 0).numel() == 0);
  // A huge step takes the first element only, as in PyTorch.
  test::check_values(slice(x, 1, 0, 3, big), {0, 3});
  test::check_values(slice(x, 1, 1, big, big), {1, 4});
  test::check_values(slice(x, 1, -big, big, 2), {0, 2, 3, 5});
  Tensor g = arange(6.0, float64).reshape({2, 3}).requires_grad_(true);
  slice(g, 1, 1, big, big).sum().backward();
  test::check_values(g.grad(), {0, 1, 0, 0, 1, 0});
}

TEST_CASE("item<int64_t> is exact above 2^53") {
  const std::int64_t v = (std::int64_t{1} << 53) + 1;
  CHECK(from_vector(std::vector<std::int64_t>{v}, {1}, int64).item<std::int64_t>() == v);
  CHECK(from_vector(std::vector<std::int64_t>{std::numeric_limits<std::int64_t>::max()}, {}, int64).item<std::int64_t>() ==
        std::numeric_limits<std::int64_t>::max());
  CHECK(tensor({2.5}).item<float>() == 2.5f);
  CHECK(contains(error_of([] { zeros({2}).item<std::int64_t>(); }), "item: expected a tensor with one element, got shape [2]"));
}

TEST_CASE("user-supplied sizes elsewhere are checked too: pad, convolution geometry, randint's range") {
  const std::int64_t big = std::numeric_limits<std::int64_t>::max();
  CHECK(contains(error_of([&] { pad(zeros({2}), {big, big}); }), "pad: pads 9223372036854775807 and 9223372036854775807 make dim 0 of shape [2] overflow int64"));
  CHECK(contains(error_of([&] { pad(zeros({2, 2}), {std::int64_t{1} << 40, 0, std::int64_t{1} << 40, 0}); }), "pad: shape [1099511627778, 1099511627778] is too large"));
  Conv2dOptions o;
  o.padding = {big / 2, 0};
  CHECK(contains(error_of([&] { conv2d(zeros({1, 1, 3, 3}), zeros({1, 1, 1, 1}), {}, o); }),
                 "conv2d: kernel, stride, padding and dilation must each be below 2^31"));
  const std::int64_t lo = std::numeric_limits<std::int64_t>::min();
  const Tensor r = randint(lo, big, {1000}, int64);
  bool negative = false, positive = false;
  for (std::int64_t v : r.to_vector<std::int64_t>()) {
    negative = negative || v < 0;
    positive = positive || v > 0;
  }
  CHECK((negative && positive));  // the whole range, no overflow in high − low
}

namespace {
template <class T, class = void>
struct has_public_impl : std::false_type {};
template <class T>
struct has_public_impl<T, std::void_t<decltype(std::declval<const T&>().impl())>> : std::true_type {};
}  // namespace

TEST_CASE("the storage API: identity, raw data, writes that count, set_data, and no public impl()") {
  static_assert(!has_public_impl<Tensor>::value, "TensorImpl stays inside autograd (Note [Storage API])");
  Tensor a = arange(4.0, float64);
  const Tensor same = a, other = a.clone();
  CHECK(same.id() == a.id());
  CHECK(other.id() != a.id());
  CHECK(a.data_ptr() == static_cast<const void*>(a.data<double>()));
  CHECK(a.nbytes() == 32);
  // A write through mutable_data_ptr counts, so backward sees a changed saved tensor.
  Tensor w = tensor({1.0, 2.0}, f64_grad());
  Tensor x = tensor({3.0, 4.0}, float64);
  Tensor y = (w * x).sum();
  static_cast<double*>(x.mutable_data_ptr())[0] = 5.0;
  CHECK(contains(error_of([&] { y.backward(); }), "was modified by an in-place op"));
  // set_data: the same handle holds new data; what held the handle sees it.
  Tensor p = ones({2, 2}, TensorOptions().requires_grad(true));
  (p * 2.0).sum().backward();
  const void* id = p.id();
  p.set_data(zeros({3}, float64));
  CHECK(p.id() == id);
  CHECK(p.shape() == Shape{3});
  CHECK(p.dtype() == float64);
  CHECK(p.requires_grad());
  CHECK_FALSE(p.grad().defined());
  CHECK(contains(error_of([&] { Tensor q = p * 2.0; q.set_data(zeros({1})); }),
                 "set_data: only a leaf's data can be replaced; this tensor has history (MulScalarBackward)"));
  CHECK(contains(error_of([&] { p.set_data(zeros({1}, int64)); }), "set_data: a tensor that requires grad needs float data"));
}

TEST_CASE("strides, storage_offset, is_contiguous and contiguous, as libtorch code calls them") {
  const Tensor x = zeros({2, 3, 4});
  CHECK(x.strides() == Shape{12, 4, 1});
  CHECK(x.stride(0) == 12);
  CHECK(x.stride(-1) == 1);
  CHECK(x.storage_offset() == 0);
  CHECK(x.is_contiguous());
  CHECK(x.contiguous().is_same(x));  // no copy when already contiguous
  CHECK(zeros({}).strides().empty());
  CHECK(contains(error_of([&] { x.stride(3); }), "stride: dim 3 is out of range for a tensor of rank 3"));
}
