// Note [Convolution through oneDNN]
// libtorch runs CPU convolutions through oneDNN's JIT direct kernels, which
// work on blocked layouts (nChw16c) and reach several times the speed of
// im2col + GEMM at the small K of a 3x3 layer. xgrad does the same when
// built with Debian's libdnnl-dev: tensors stay NCHW, and each call reorders
// its inputs into the layouts the primitive chose and its output back.
// Three things keep that cheap on a small machine:
// - Threads. Debian's oneDNN runs on OpenMP, whose team would spin on the
//   core xgrad's pool is working on. So oneDNN gets one OpenMP thread per
//   call (set around the call and restored after, so a libtorch in the same
//   process keeps its own setting) and xgrad's pool splits the images: one
//   call per thread.
// - Memory. The blocked copies and oneDNN's scratchpad live in per-thread
//   buffers kept between calls: a fresh page costs ~10 µs on a VM, and a
//   reorder into freshly mapped memory took 7 ms where it takes 0.3.
// - Primitives. Built once per problem and thread and kept (a bounded
//   cache); the scratchpad is the caller's, so threads never share one.
// Problems oneDNN serves only with its reference or gemm-based kernels (large
// dilations, few channels), or whose blocked layout would be mostly padding
// (a first layer's single channel padded to 16), stay on xgrad's own
// im2col kernels, which are faster there.
#include "conv_onednn.hpp"

#include <atomic>

#ifdef XGRAD_WITH_ONEDNN
#include <array>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>

#include <dnnl.hpp>

// Debian's oneDNN is built on libgomp; declared here so no omp.h is needed.
extern "C" int omp_get_max_threads(void);
extern "C" void omp_set_num_threads(int);
#endif

namespace xg {
namespace {
std::atomic<bool> onednn_switch{true};
}
bool onednn_available() {
#ifdef XGRAD_WITH_ONEDNN
  return true;
#else
  return false;
#endif
}
void set_onednn_enabled(bool enabled) { onednn_switch = enabled; }
bool onednn_enabled() { return onednn_available() && onednn_switch; }
}  // namespace xg

namespace xg::detail::onednn {

#ifdef XGRAD_WITH_ONEDNN
namespace {

using dnnl::memory;
using Tag = memory::format_tag;
enum class Pass { forward, backward_data, backward_weights };

const dnnl::engine& cpu() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

/// oneDNN on the calling thread alone for the duration.
struct OneOpenMPThread {
  int saved = omp_get_max_threads();
  OneOpenMPThread() {
    if (saved != 1) omp_set_num_threads(1);
  }
  ~OneOpenMPThread() {
    if (saved != 1) omp_set_num_threads(saved);
  }
};

/// A per-thread, 64-byte aligned buffer that only grows.
class Buffer {
 public:
  void* get(std::size_t bytes) {
    if (bytes > size_) {
      void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
      if (!p) throw std::bad_alloc();
      data_.reset(p);
      size_ = bytes;
    }
    return data_.get();
  }

 private:
  struct Free {
    void operator()(void* p) const { std::free(p); }
  };
  std::unique_ptr<void, Free> data_;
  std::size_t size_ = 0;
};

/// The plain (NCHW, [G,] OIHW, X) memory descriptors of a problem, or the
/// same shapes with `any` layout for the primitive to choose.
struct Descs {
  memory::desc src, weights, dst, bias;
};
Descs descs_of(const ConvProblem& p, bool plain) {
  const Geometry& g = p.g;
  const auto f32 = memory::data_type::f32;
  const bool grouped = p.groups > 1;
  const memory::dims w = grouped ? memory::dims{p.groups, p.o / p.groups, g.c / p.groups, g.kh, g.kw}
                                 : memory::dims{p.o, g.c, g.kh, g.kw};
  return {memory::desc({g.n, g.c, g.h, g.w}, f32, plain ? Tag::nchw : Tag::any),
          memory::desc(w, f32, plain ? (grouped ? Tag::goihw : Tag::oihw) : Tag::any),
          memory::desc({g.n, p.o, g.oh, g.ow}, f32, plain ? Tag::nchw : Tag::any), memory::desc({p.o}, f32, Tag::x)};
}

/// One argument of a primitive: the plain layout xgrad holds, the layout the
/// primitive wants, and the reorder between them (none when they agree).
struct Arg {
  int id;
  bool output;
  memory::desc plain, chosen;
  std::optional<dnnl::reorder> reorder;
};
Arg arg(int id, bool output, const memory::desc& plain, const memory::desc& chosen) {
  Arg a{id, output, plain, chosen, std::nullopt};
  if (plain != chosen)
    a.reorder = dnnl::reorder(output ? dnnl::reorder::primitive_desc(cpu(), chosen, cpu(), plain)
                                     : dnnl::reorder::primitive_desc(cpu(), plain, cpu(), chosen));
  return a;
}

/// One pass of one problem, ready to run.
struct Step {
  dnnl::primitive primitive;
  std::vector<Arg> args;  // at most three need a blocked copy
  memory::desc scratchpad, bias;  // bias: forward's bias or backward_weights' diff_bias
  int bias_id = DNNL_ARG_BIAS;
};

/// Kernels xgrad's own do as well or better: oneDNN's reference loops, and its
/// gemm-based ones (the same im2col + GEMM).
bool not_worth_it(const char* impl) { return std::strstr(impl, "ref") != nullptr || std::strstr(impl, "gemm") != nullptr; }

/// Whether a blocked layout pads the channels to many times their number (one
/// input channel becomes 16): the copies and the kernel then do mostly zeros.
bool mostly_padding(const std::vector<Arg>& args) {
  for (const Arg& a : args)
    if (a.chosen.get_size() > 2 * a.plain.get_size()) return true;
  return false;
}

dnnl::primitive_attr user_scratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

/// Builds a pass's primitive, or nothing when oneDNN cannot serve it well
/// (not_worth_it, mostly_padding).
std::optional<Step> build(const ConvProblem& p, Pass pass, bool bias) {
  const Geometry& g = p.g;
  const Descs any = descs_of(p, false), plain = descs_of(p, true);
  const memory::dims strides{g.sh, g.sw}, dilates{g.dh - 1, g.dw - 1}, pad{g.ph, g.pw};
  const auto algo = dnnl::algorithm::convolution_direct;
  // PyTorch's output size rounds down; oneDNN accepts the same right padding
  // as left and rounds the same way.
  const dnnl::convolution_forward::desc fwd_desc =
      bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, algo, any.src, any.weights, any.bias,
                                             any.dst, strides, dilates, pad, pad)
           : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, algo, any.src, any.weights, any.dst,
                                             strides, dilates, pad, pad);
  const dnnl::primitive_attr attr = user_scratchpad();
  const dnnl::convolution_forward::primitive_desc fwd(fwd_desc, attr, cpu());
  Step s;
  s.bias = plain.bias;
  if (pass == Pass::backward_weights) s.bias_id = DNNL_ARG_DIFF_BIAS;
  if (pass == Pass::forward) {
    if (not_worth_it(fwd.impl_info_str())) return std::nullopt;
    s.primitive = dnnl::convolution_forward(fwd);
    s.args = {arg(DNNL_ARG_SRC, false, plain.src, fwd.src_desc()), arg(DNNL_ARG_WEIGHTS, false, plain.weights, fwd.weights_desc()),
              arg(DNNL_ARG_DST, true, plain.dst, fwd.dst_desc())};
    s.scratchpad = fwd.scratchpad_desc();
  } else if (pass == Pass::backward_data) {
    const dnnl::convolution_backward_data::primitive_desc bwd(
        dnnl::convolution_backward_data::desc(algo, any.src, any.weights, any.dst, strides, dilates, pad, pad), attr, cpu(), fwd);
    if (not_worth_it(bwd.impl_info_str())) return std::nullopt;
    s.primitive = dnnl::convolution_backward_data(bwd);
    s.args = {arg(DNNL_ARG_DIFF_DST, false, plain.dst, bwd.diff_dst_desc()),
              arg(DNNL_ARG_WEIGHTS, false, plain.weights, bwd.weights_desc()),
              arg(DNNL_ARG_DIFF_SRC, true, plain.src, bwd.diff_src_desc())};
    s.scratchpad = bwd.scratchpad_desc();
  } else {
    const auto desc = bias ? dnnl::convolution_backward_weights::desc(algo, any.src, any.weights, any.bias, any.dst, strides,
                                                                      dilates, pad, pad)
                           : dnnl::convolution_backward_weights::desc(algo, any.src, any.weights, any.dst, strides, dilates,
                                                                      pad, pad);
    const dnnl::convolution_backward_weights::primitive_desc bwd(desc, attr, cpu(), fwd);
    if (not_worth_it(bwd.impl_info_str())) return std::nullopt;
    s.primitive = dnnl::convolution_backward_weights(bwd);
    s.args = {arg(DNNL_ARG_SRC, false, plain.src, bwd.src_desc()), arg(DNNL_ARG_DIFF_DST, false, plain.dst, bwd.diff_dst_desc()),
              arg(DNNL_ARG_DIFF_WEIGHTS, true, plain.weights, bwd.diff_weights_desc())};
    s.scratchpad = bwd.scratchpad_desc();
  }
  if (mostly_padding(s.args)) return std::nullopt;
  return s;
}

using Key = std::array<std::int64_t, 16>;
Key key_of(const ConvProblem& p, Pass pass, bool bias) {
  const Geometry& g = p.g;
  return {g.n, g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw, p.o, p.groups,
          static_cast<std::int64_t>(pass), bias};
}

/// This thread's step for (p, pass, bias), built on first use; null when
/// oneDNN cannot serve it well. The cache is per thread (a primitive and
/// its scratchpad are never shared) and forgets everything past 256 problems.
const Step* step(const ConvProblem& p, Pass pass, bool bias) {
  thread_local std::map<Key, std::optional<Step>> cache;
  const Key key = key_of(p, pass, bias);
  auto it = cache.find(key);
  if (it == cache.end()) {
    if (cache.size() >= 256) cache.clear();
    std::optional<Step> built;
    try {
      OneOpenMPThread one;  // JIT code generation reads the thread count too
      built = build(p, pass, bias);
    } catch (const dnnl::error&) {
      built = std::nullopt;  // no implementation: xgrad's own kernels serve it
    }
    it = cache.emplace(key, std::move(built)).first;
  }
  return it->second ? &*it->second : nullptr;
}

/// Runs a step on xgrad's plain buffers: data[i] is args[i]'s, bias the
/// bias's (or its gradient's; null: none).
void run(const Step& s, const std::array<void*, 3>& data, void* bias) {
  thread_local Buffer blocked[3], scratch;
  thread_local dnnl::stream stream(cpu());
  OneOpenMPThread one;
  std::unordered_map<int, memory> args;
  std::vector<std::pair<memory, memory>> outputs;  // chosen → plain, after the primitive
  for (std::size_t i = 0; i < s.args.size(); ++i) {
    const Arg& a = s.args[i];
    memory user(a.plain, cpu(), data[i]);
    if (!a.reorder) {
      args.emplace(a.id, user);
      continue;
    }
    memory copy(a.chosen, cpu(), blocked[i].get(a.chosen.get_size()));
    if (a.output) {
      outputs.emplace_back(copy, user);
    } else {
      a.reorder->execute(stream, user, copy);
    }
    args.emplace(a.id, copy);
  }
  if (bias) args.emplace(s.bias_id, memory(s.bias, cpu(), bias));
  args.emplace(DNNL_ARG_SCRATCHPAD, memory(s.scratchpad, cpu(), scratch.get(s.scratchpad.get_size())));
  s.primitive.execute(stream, args);
  for (std::size_t i = 0, k = 0; i < s.args.size(); ++i)
    if (s.args[i].output && s.args[i].reorder) {
      s.args[i].reorder->execute(stream, outputs[k].first, outputs[k].second);
      ++k;
    }
  stream.wait();
}

/// The step when oneDNN is switched on and the problem is not empty.
const Step* usable_step(const ConvProblem& p, Pass pass, bool bias) {
  return onednn_enabled() && p.g.n > 0 ? step(p, pass, bias) : nullptr;
}

}  // namespace

bool forward(const ConvProblem& p, const float* x, const float* w, const float* b, float* y) {
  const Step* s = usable_step(p, Pass::forward, b != nullptr);
  if (s) run(*s, {const_cast<float*>(x), const_cast<float*>(w), y}, const_cast<float*>(b));
  return s != nullptr;
}
bool backward_data(const ConvProblem& p, const float* gy, const float* w, float* gx) {
  const Step* s = usable_step(p, Pass::backward_data, false);
  if (s) run(*s, {const_cast<float*>(gy), const_cast<float*>(w), gx}, nullptr);
  return s != nullptr;
}
bool backward_weights(const ConvProblem& p, const float* x, const float* gy, float* gw, float* gb) {
  const Step* s = usable_step(p, Pass::backward_weights, gb != nullptr);
  if (s) run(*s, {const_cast<float*>(x), const_cast<float*>(gy), gw}, gb);
  return s != nullptr;
}

#else  // built without oneDNN: the callers' own kernels do all the work

bool forward(const ConvProblem&, const float*, const float*, const float*, float*) { return false; }
bool backward_data(const ConvProblem&, const float*, const float*, float*) { return false; }
bool backward_weights(const ConvProblem&, const float*, const float*, float*, float*) { return false; }

#endif

}  // namespace xg::detail::onednn
