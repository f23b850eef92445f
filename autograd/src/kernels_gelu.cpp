// GELU forward and backward, each one pass (the composed form took five ops
// forward and more backward; Note [Fused GELU] in ops_activation.cpp). The
// math is the SIMD table's (simd_kernels.inl).
#include "kernels.hpp"

namespace xg::detail {

Tensor gelu_kernel(const Tensor& x_in, bool tanh_form) {
  const Tensor x = dense(x_in);
  Tensor y = make_tensor(x.shape(), x.dtype(), "gelu");
  dispatch_float(x.dtype(), "gelu", [&](auto z) {
    using T = decltype(z);
    simd::kernels<T>().gelu(x.data<T>(), y.data<T>(), x.numel(), tanh_form);
  });
  return y;
}

Tensor gelu_backward_kernel(const Tensor& g_in, const Tensor& x_in, bool tanh_form) {
  const Tensor g = dense(g_in), x = dense(x_in);
  Tensor dx = make_tensor(x.shape(), x.dtype(), "backward");
  dispatch_float(x.dtype(), "backward", [&](auto z) {
    using T = decltype(z);
    simd::kernels<T>().gelu_backward(g.data<T>(), x.data<T>(), dx.data<T>(), x.numel(), tanh_form);
  });
  return dx;
}

}  // namespace xg::detail
