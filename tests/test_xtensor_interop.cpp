// xt::xarray <-> xg::Tensor, with xtensor as the reference for a few ops.
#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

#include "helpers.hpp"
#include "xgrad/xtensor.hpp"

using namespace xg;

TEST_CASE("from_xarray and to_xarray round-trip values and shapes") {
  xt::xarray<double> a = {{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}};
  const Tensor t = from_xarray(a);
  CHECK(t.shape() == Shape{2, 3});
  CHECK(t.dtype() == float64);
  test::check_values(t, {1, 2, 3, 4, 5, 6});
  const xt::xarray<double> back = to_xarray<double>(t * 2.0);
  CHECK(back.shape() == std::vector<std::size_t>{2, 3});
  CHECK(back(1, 2) == 12.0);
  const Tensor f = from_xarray(a, TensorOptions(float32).requires_grad(true));
  CHECK(f.dtype() == float32);
  CHECK(f.requires_grad());
  // xtensor as a reference: a broadcast product and an axis sum agree.
  xt::xarray<double> row = {10.0, 20.0, 30.0};
  const xt::xarray<double> expect = xt::sum(a * row, {0});
  const xt::xarray<double> got = to_xarray<double>(sum(from_xarray(a) * from_xarray(row), {0}));
  CHECK(got == expect);
  // A column-major (transposed) view converts in row-major order.
  const xt::xarray<double> at = xt::transpose(a);
  test::check_values(from_xarray(at), {1, 4, 2, 5, 3, 6});
}
