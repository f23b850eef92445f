// bool, int32 and int64: arithmetic, comparisons, promotion, conversions and
// reductions. Values marked "PyTorch" come from tests/pytorch_golden.py dtypes.
#include <cstdio>
#include <limits>
#include <sstream>

#include "helpers.hpp"

using namespace xg;
using test::check_values;
using test::contains;
using test::error_of;

TEST_CASE("dtype names, sizes and promotion follow libtorch") {
  CHECK(std::string(dtype_name(boolean)) == "bool");
  CHECK(std::string(dtype_name(int32)) == "int32");
  CHECK(dtype_size(boolean) == 1);
  CHECK(dtype_size(int32) == 4);
  CHECK(promote_types(int32, int64) == int64);
  CHECK(promote_types(boolean, int32) == int32);
  CHECK(promote_types(int64, float32) == float32);
  CHECK(promote_types(boolean, float64) == float64);
  CHECK(!is_floating(boolean));
  CHECK(!is_floating(int32));
}

TEST_CASE("int64 arithmetic, floor division and remainder round like Python, as in PyTorch") {
  const Tensor a = tensor({7, -7, 7, -7, 0, 5}, int64), b = tensor({2, 2, -2, -2, 3, 5}, int64);
  CHECK((a + b).dtype() == int64);
  check_values(a + b, {9, -5, 5, -9, 3, 10});       // PyTorch
  check_values(a - b, {5, -9, 9, -5, -3, 0});       // PyTorch
  check_values(a * b, {14, -14, -14, 14, 0, 25});   // PyTorch
  check_values(floor_divide(a, b), {3, -4, -4, 3, 0, 1});  // PyTorch
  check_values(remainder(a, b), {1, 1, -1, -1, 0, 0});     // PyTorch
  CHECK((a / b).dtype() == float32);                        // true division
  check_values(a / b, {3.5, -3.5, -3.5, 3.5, 0, 1});       // PyTorch
  check_values(a < b, {0, 1, 0, 1, 1, 0});                  // PyTorch
  CHECK((a < b).dtype() == boolean);
  CHECK(a.sum().dtype() == int64);
  CHECK(a.sum().item<std::int64_t>() == 5);
  CHECK((a * 2.0).dtype() == int64);
  CHECK((a * 0.5).dtype() == float32);
  check_values(a * 0.5, {3.5, -3.5, 3.5, -3.5, 0, 2.5});  // PyTorch
  check_values(remainder(tensor({-7.5, 7.5}), 2.0), {0.5, 1.5});    // PyTorch
  check_values(remainder(tensor({-7.5, 7.5}), -2.0), {-1.5, -0.5}); // PyTorch
  check_values(a % 3.0, {1, 2, 1, 2, 0, 2});
  // Large values stay exact: int64 arithmetic never goes through double.
  const std::int64_t big = (std::int64_t{1} << 62) + 1;
  CHECK((from_vector<std::int64_t>({big}, {1}) + tensor({2}, int64)).item<std::int64_t>() == big + 2);
  CHECK(floor_divide(from_vector<std::int64_t>({std::numeric_limits<std::int64_t>::min()}, {1}), -1.0).item<std::int64_t>() ==
        std::numeric_limits<std::int64_t>::min());  // wraps like libtorch instead of trapping
  CHECK(contains(error_of([&] { (void)floor_divide(a, 0.0); }), "floor_divide: integer division by zero"));
  CHECK(contains(error_of([&] { (void)remainder(a, tensor({1, 0, 1, 1, 1, 1}, int64)); }),
                 "remainder: integer division by zero (divisor int64[6], element 1)"));
}

TEST_CASE("mixed dtypes promote as in PyTorch, float32 with float64 stays an error") {
  const Tensor i32 = tensor({1, 2, 3}, int32);
  CHECK((i32 + tensor({1, 1, 1}, int64)).dtype() == int64);   // PyTorch
  CHECK((i32 + 1.0).dtype() == int32);                          // PyTorch
  CHECK((i32 + ones({3})).dtype() == float32);                  // PyTorch
  const Tensor flags = tensor({1, 0, 1}, boolean);
  CHECK((flags + i32).dtype() == int32);                        // PyTorch
  CHECK((tensor({1, 0}, boolean) * 2.0).dtype() == int64);      // PyTorch
  CHECK(i32.sum().dtype() == int64);                            // PyTorch
  CHECK(flags.sum().item<std::int64_t>() == 2);                 // PyTorch
  check_values(tensor({1, 0, 0}, boolean) + tensor({1, 1, 0}, boolean), {1, 1, 0});  // PyTorch: logical or
  check_values(tensor({1, 0, 1}, boolean) * tensor({1, 1, 0}, boolean), {1, 0, 0});  // PyTorch: logical and
  const Tensor w = ones({3}, TensorOptions(float64).requires_grad(true));
  const Tensor y = w * i32;  // an integer operand passes no gradient, the float one does
  CHECK(y.dtype() == float64);
  y.sum().backward();
  check_values(w.grad(), {1, 2, 3});
  CHECK(contains(error_of([&] { (void)(ones({2}) + ones({2}, float64)); }), "add: dtypes differ: float32[2] and float64[2]"));
}

TEST_CASE("to() converts between every pair of dtypes, floats saturate into integers") {
  const Tensor f = tensor({1.7, -1.7, 0.0, 2.5, -0.2});
  check_values(f.to(int64), {1, -1, 0, 2, 0});   // PyTorch
  check_values(f.to(int32), {1, -1, 0, 2, 0});   // PyTorch
  check_values(f.to(boolean), {1, 1, 0, 1, 1});  // PyTorch
  const Dtype all[] = {float32, float64, int64, int32, boolean};
  for (Dtype from : all)
    for (Dtype to : all) {
      CAPTURE(dtype_name(from));
      CAPTURE(dtype_name(to));
      const Tensor x = tensor({0, 1, 1, 0}, {2, 2}, from);
      const Tensor y = x.to(to);
      CHECK(y.dtype() == to);
      check_values(y, {0, 1, 1, 0});
      check_values(x.t().to(to), {0, 1, 1, 0});  // a view converts through its strides
    }
  const double inf = std::numeric_limits<double>::infinity(), nan = std::numeric_limits<double>::quiet_NaN();
  const auto sat = tensor({inf, -inf, nan, 1e300}, float64).to(int32).to_vector<std::int64_t>();
  CHECK(sat == std::vector<std::int64_t>{2147483647, -2147483648LL, 0, 2147483647});
}

TEST_CASE("bool masks: comparisons, where, masked_fill, any, all and logical ops give PyTorch's values") {
  const Tensor m = tensor({1, 0, 0, 0}, {2, 2}, boolean);
  CHECK(any(m).item<bool>());
  CHECK_FALSE(all(m).item<bool>());
  check_values(any(m, 1), {1, 0});  // PyTorch
  check_values(all(m, 0), {0, 0});  // PyTorch
  CHECK(any(m, 1).dtype() == boolean);
  check_values(where(m, scalar_tensor(1.0), scalar_tensor(-1.0)), {1, -1, -1, -1});  // PyTorch
  check_values(masked_fill(zeros({2, 2}), m, 5.0), {5, 0, 0, 0});                      // PyTorch
  check_values(logical_and(m, m.t()), {1, 0, 0, 0});                                    // PyTorch
  check_values(m || m.t(), {1, 0, 0, 0});                                               // PyTorch
  check_values(logical_xor(tensor({1, 0, 2}, int64), tensor({1, 1, 0}, int64)), {0, 1, 1});  // PyTorch
  check_values(!tensor({0.0, 2.0}), {1, 0});                                            // PyTorch
  check_values(tensor({1, 2, 3}) > 1.5, {0, 1, 1});
  check_values(tensor({1, 2, 3}) == tensor({3, 2, 1}), {0, 1, 0});
  std::ostringstream os;
  os << tensor({1, 0}, boolean);
  CHECK(contains(os.str(), "true"));
}

TEST_CASE("the accuracy idiom: argmax(...) == target, summed and averaged") {
  const Tensor logits = tensor({0.1, 2.0, 0.3, 1.5, 0.2, 0.1, 0.0, 0.1, 3.0, 2.0, 1.0, 0.0}, {4, 3});
  const Tensor target = tensor({1, 0, 1, 0}, int64);
  const Tensor correct = argmax(logits, 1) == target;
  check_values(correct, {1, 1, 0, 1});                   // PyTorch
  CHECK(correct.sum().item<std::int64_t>() == 3);        // PyTorch
  CHECK(correct.to(float32).mean().item() == doctest::Approx(0.75));  // PyTorch
  check_values(argmax(tensor({3, 9, 2}, int32)), {1});   // argmax of integers
  check_values(max(tensor({3, -9, 2}, int64)), {3});
  check_values(min(tensor({3, -9, 2}, int32)), {-9});
}

TEST_CASE("integer and bool tensors cannot require grad, ops that need floats say so") {
  CHECK(contains(error_of([&] { (void)ones({2}, int32).requires_grad_(); }), "only float tensors can require grad, got int32"));
  CHECK(contains(error_of([&] { (void)ones({2}, boolean).requires_grad_(); }), "only float tensors can require grad, got bool"));
  CHECK(contains(error_of([&] { (void)exp(ones({2}, int32)); }), "exp: expected a float32 or float64 tensor, got int32"));
  CHECK(contains(error_of([&] { (void)mean(ones({2}, boolean)); }), "mean: expected a float32 or float64 tensor, got bool"));
}

TEST_CASE("bool and int32 tensors round-trip through safetensors, a bool byte other than 0/1 is refused") {
  const std::string path = "xg_dtypes_test.safetensors";
  nn::save_safetensors(path, {{"mask", tensor({1, 0, 1}, boolean)}, {"ids", tensor({-5, 7}, int32)}});
  const nn::StateDict back = nn::load_safetensors(path);
  CHECK(back.at("mask").dtype() == boolean);
  check_values(back.at("mask"), {1, 0, 1});
  CHECK(back.at("ids").dtype() == int32);
  check_values(back.at("ids"), {-5, 7});
  // A hand-made file whose BOOL tensor holds the byte 2.
  const std::string header = R"({"m":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}})";
  std::string file(8, '\0');
  const std::uint64_t n = header.size();
  for (int k = 0; k < 8; ++k) file[static_cast<std::size_t>(k)] = static_cast<char>((n >> (8 * k)) & 0xff);
  file += header;
  file += std::string("\x01\x02", 2);
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    REQUIRE(f != nullptr);
    std::fwrite(file.data(), 1, file.size(), f);
    std::fclose(f);
  }
  CHECK(contains(error_of([&] { (void)nn::load_safetensors(path); }), "tensor 'm' is BOOL but byte 1 is 2 (only 0 and 1 are booleans)"));
  std::remove(path.c_str());
}

TEST_CASE("integer edge cases are defined: overflow wraps, out-of-range values saturate, neg and abs work") {
  const std::int64_t max = std::numeric_limits<std::int64_t>::max(), min = std::numeric_limits<std::int64_t>::min();
  CHECK((from_vector<std::int64_t>({max}, {1}) + 1.0).item<std::int64_t>() == min);  // wraps, as in libtorch
  CHECK((from_vector<std::int64_t>({min}, {1}) * tensor({-1}, int64)).item<std::int64_t>() == min);
  check_values(tensor({1e300, -1e300}, int32), {2147483647, -2147483648.0});
  CHECK(full({1}, std::numeric_limits<double>::quiet_NaN(), int64).item<std::int64_t>() == 0);
  check_values(-tensor({1, -2, 3}, int64), {-1, 2, -3});
  check_values(abs(tensor({1, -2, 3}, int32)), {1, 2, 3});
  CHECK(abs(tensor({1, -2, 3}, int32)).dtype() == int32);
  CHECK(contains(error_of([&] { (void)-tensor({1, 0}, boolean); }), "neg: is not defined for bool tensors"));
  CHECK(from_vector<std::int32_t>({4, -5}, {2}).dtype() == int32);
  Tensor acc = from_vector<std::int64_t>({max, 5}, {2});
  acc.add_(tensor({1, 1}, int64));
  CHECK(acc.to_vector<std::int64_t>() == std::vector<std::int64_t>{min, 6});
  acc.mul_(tensor({2, 2}, int64));
  CHECK(acc.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 12});
  CHECK(from_vector<std::int64_t>({max, 1}, {2}).sum().item<std::int64_t>() == min);
  Tensor scalar_acc = from_vector<std::int64_t>({max}, {1});
  scalar_acc.add_(1.0);  // the scalar in-place path wraps too
  CHECK(scalar_acc.item<std::int64_t>() == min);
  CHECK(contains(error_of([&] { acc.div_(tensor({2, 2}, int64)); }), "div_: the result would be float32"));
}
