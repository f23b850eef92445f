#pragma once
// Conversions between xg::Tensor and xt::xarray. Opt-in: this header pulls
// in xtensor (heavy to compile), which <xgrad/xgrad.hpp> deliberately does not.
#include <cstdint>
#include <vector>
#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>

#include "xgrad/tensor.hpp"

namespace xg {

/// A new tensor with a copy of the array's values (T: float, double or int64).
template <class T>
Tensor from_xarray(const xt::xarray<T>& a, TensorOptions opts = dtype_of<T>::value) {
  Shape shape;
  for (std::size_t d : a.shape()) shape.push_back(static_cast<std::int64_t>(d));
  const std::vector<T> values(a.begin(), a.end());  // row-major, whatever a's layout
  return from_vector(values, shape, opts);
}

/// A new array with a copy of the tensor's values (converted to T).
template <class T>
xt::xarray<T> to_xarray(const Tensor& t) {
  std::vector<std::size_t> shape(t.shape().begin(), t.shape().end());
  const std::vector<T> values = t.to_vector<T>();
  xt::xarray<T> out = xt::adapt(values, shape);
  return out;
}

}  // namespace xg
