// libFuzzer target: the bytes become a small random program of xgrad ops on
// small random shapes. Each run must either raise xg::Error cleanly (bad
// shapes are expected) or produce gradients that match finite differences.
// Anything else (a crash, a sanitizer report, another exception type, a
// wrong gradient) stops the fuzzer with the input that caused it.
#include <xgrad/xgrad.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

class Bytes {
 public:
  Bytes(const std::uint8_t* d, std::size_t n) : d_(d), n_(n) {}
  std::uint8_t next() { return i_ < n_ ? d_[i_++] : 0; }
  bool done() const { return i_ >= n_; }

 private:
  const std::uint8_t* d_;
  std::size_t n_, i_ = 0;
};

xg::Shape shape_from(Bytes& b) {
  xg::Shape s;
  const int dims = b.next() % 4;
  for (int d = 0; d < dims; ++d) s.push_back(1 + b.next() % 3);
  return s;
}

xg::Tensor tensor_from(Bytes& b, const xg::Shape& s) {
  std::vector<double> v(static_cast<std::size_t>(s.numel()));
  for (double& x : v) x = (static_cast<int>(b.next()) - 128) / 64.0;  // [-2, 2)
  return xg::from_vector(v, s, xg::TensorOptions(xg::float64).requires_grad(true));
}

/// One op applied to the running value `x`, with `other` as a second operand.
/// Only smooth ops: gradcheck must hold everywhere.
xg::Tensor apply(std::uint8_t op, std::uint8_t arg, const xg::Tensor& x, const xg::Tensor& other) {
  const std::int64_t dim = x.dim() ? static_cast<std::int64_t>(arg % x.dim()) : 0;
  switch (op % 39) {
    case 0: return xg::tanh(x);
    case 1: return xg::sigmoid(x);
    case 2: return xg::sin(x) * 1.5;
    case 3: return xg::square(x) * 0.25;
    case 4: return xg::exp(xg::tanh(x));
    case 5: return x + other;
    case 6: return x - other;
    case 7: return x * other;
    case 8: return x / (xg::sigmoid(other) + 0.5);
    case 9: return xg::sum(x, {dim}, arg & 1);
    case 10: return xg::mean(x, {dim}, arg & 2);
    case 11: return x.dim() >= 2 ? xg::transpose(x, 0, x.dim() - 1) : x;
    case 12: return xg::reshape(x, {-1});
    case 13: return x.dim() ? xg::slice(x, dim, arg % 2, 3, 1 + arg % 2) : x;
    case 14: return xg::cat({x, other}, dim);
    case 15: return xg::matmul(x, other);
    case 16: return xg::softmax(x, dim);
    case 17: return xg::log_softmax(x, dim);
    case 18: return xg::logsumexp(x, {dim}, arg & 1);
    case 19: return xg::pow(xg::sigmoid(x) + 0.5, other);
    case 20: return x.dim() ? xg::expand(x.unsqueeze(0), [&] { xg::Shape s = x.shape(); s.insert(0, 2); return s; }()) : x;
    case 21: return xg::stack({x, other}, 0);
    case 22: return xg::gelu(x, arg & 1);
    case 23: return xg::silu(x);
    case 24: return xg::softplus(x, 1.0 + (arg % 3));
    case 25: return xg::cumsum(x, dim);
    case 26: return x.dim() ? xg::pad(x, {arg % 2, (arg >> 1) % 2}, 0.5) : x;
    case 27: return xg::var(x, {dim}, arg & 1, 0) + 0.1;  // biased: defined for one element too
    // A large eps keeps nested norms of constant rows well conditioned for finite differences.
    case 28: return x.dim() ? xg::layer_norm(x, {x.size(-1)}, {}, {}, 0.5) : x;
    case 29: return x.dim() ? xg::index_select(x, dim, xg::tensor({0, 0}, xg::int64)) : x;
    case 30: return x.dim() ? xg::gather(x, dim, xg::zeros(x.shape(), xg::int64)) : x;
    case 31: return xg::mse_loss(x, other);
    case 32: return x.clone() * xg::where(xg::gt(other, 0.0), xg::exp(other), other + 1.0);  // C1 at 0
    // Views and in-place writes through them (recorded like PyTorch's CopySlices).
    case 33: return x.dim() >= 2 ? xg::diagonal(x, arg % 2, 0, x.dim() - 1) : x;
    case 34: return x.dim() ? xg::unfold(x, dim, 1 + arg % 2, 1 + (arg >> 1) % 2) : x;
    case 35: {
      if (!x.dim() || !x.size(dim)) return x;
      xg::Tensor b = x * 1.0;
      b.narrow(dim, 0, 1).mul_(1.5);
      return b;
    }
    case 36: {
      if (!x.dim() || !x.size(dim)) return x;
      xg::Tensor b = x * 1.0;
      b.select(dim, x.size(dim) - 1).add_(xg::tanh(xg::sum(other)));
      return b;
    }
    case 37: {
      xg::Dims order;
      for (std::int64_t d = x.dim(); d-- > 0;) order.push_back(d);
      return xg::permute(x, order) * 2.0;
    }
    default: return xg::squeeze(xg::unsqueeze(x, 0), 0) - xg::sum_to(other, {});
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Bytes b(data, size);
  const int ops = 1 + b.next() % 5;
  xg::Tensor a = tensor_from(b, shape_from(b));
  xg::Tensor c = tensor_from(b, shape_from(b));
  std::vector<std::pair<std::uint8_t, std::uint8_t>> program;
  for (int i = 0; i < ops; ++i) program.emplace_back(b.next(), b.next());
  auto f = [&program](const xg::TensorList& in) {
    xg::Tensor x = in[0];
    for (auto [op, arg] : program) x = apply(op, arg, x, in[1]);
    return x;
  };
  try {
    // NaN and ±inf are legitimate values (a mean over an empty slice is 0/0, a
    // logsumexp over one is −inf, as in torch), but finite differences mean
    // nothing through them: through an infinite intermediate the analytic
    // gradient is 0·inf = NaN in torch too. So every intermediate must be finite.
    {
      xg::NoGradGuard no_grad;
      xg::Tensor x = a;
      for (auto [op, arg] : program) {
        x = apply(op, arg, x, c);
        for (double v : x.to_vector<double>())
          if (!std::isfinite(v)) return 0;
      }
    }
    const xg::Tensor y = f({a, c});
    if (y.numel() == 0 || y.numel() > 64) return 0;
    xg::GradcheckOptions opts;
    opts.atol = 1e-4;
    opts.rtol = 1e-3;
    const xg::GradcheckResult r = xg::gradcheck(f, {a, c}, opts);
    if (!r.ok) {
      std::fprintf(stderr, "fuzz: gradient mismatch: %s\n", r.report.c_str());
      std::abort();
    }
  } catch (const xg::Error&) {
    // Bad shapes for some op: a clean, named error is the right answer.
  }
  return 0;
}
