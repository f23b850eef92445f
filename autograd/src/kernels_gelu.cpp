// GELU forward and backward, each one pass (the composed form took five ops
// forward and more backward; Note [Fused GELU] in ops_activation.cpp). The
// math is the SIMD table's (simd_kernels.inl).
#include "kernels.hpp"
#include "xgrad/parallel.hpp"

namespace xg::detail {

Tensor gelu_kernel(const Tensor& x_in, bool tanh_form) {
  const Tensor x = dense(x_in);
  Tensor y = make_tensor(x.shape(), x.dtype(), "gelu");
  dispatch_float(x.dtype(), "gelu", [&](auto z) {
    using T = decltype(z);
    const T* px = x.data<T>();
    T* py = y.data<T>();
    parallel_for(x.numel(), kParallelGrain,
                 [&](std::int64_t b, std::int64_t e) { simd::kernels<T>().gelu(px + b, py + b, e - b, tanh_form); });
  });
  return y;
}

Tensor gelu_backward_kernel(const Tensor& g_in, const Tensor& x_in, bool tanh_form) {
  const Tensor g = dense(g_in), x = dense(x_in);
  Tensor dx = make_tensor(x.shape(), x.dtype(), "backward");
  dispatch_float(x.dtype(), "backward", [&](auto z) {
    using T = decltype(z);
    const T* pg = g.data<T>();
    const T* px = x.data<T>();
    T* out = dx.data<T>();
    parallel_for(x.numel(), kParallelGrain, [&](std::int64_t b, std::int64_t e) {
      simd::kernels<T>().gelu_backward(pg + b, px + b, out + b, e - b, tanh_form);
    });
  });
  return dx;
}

}  // namespace xg::detail
