#pragma once
// Intra-op parallelism: xgrad's kernels (and any user kernel) split work over
// a small pool of threads (Note [Thread pool] in parallel.cpp).
#include <algorithm>
#include <cstdint>
#include <vector>

namespace xg {

/// Values of elementwise math (exp, tanh, GELU, a normalised row) below
/// which splitting costs more than it saves: waking a sleeping thread takes
/// tens of microseconds on a small VM (Note [Thread pool]).
constexpr std::int64_t kParallelGrain = 65536;
/// The same for memory-bound work (add, copy, sum: ~0.1 ns per value), whose
/// chunks must be bigger to pay for the wake-up.
constexpr std::int64_t kParallelGrainMemory = 4 * kParallelGrain;

/// The grain in items (rows, planes) when each item holds `values_per_item`
/// values: about `grain` values a chunk, at least one item.
inline std::int64_t items_grain(std::int64_t values_per_item, std::int64_t grain = kParallelGrain) {
  return values_per_item > 0 ? std::max<std::int64_t>(1, grain / values_per_item) : grain;
}

namespace detail {
void parallel_for_impl(std::int64_t n, std::int64_t grain, void (*call)(const void*, std::int64_t, std::int64_t),
                       const void* fn);
/// The chunks [0, n) is cut into: 1 on one thread, else min(4·threads, ⌈n / grain⌉).
int parallel_chunks(std::int64_t n, std::int64_t grain);
}  // namespace detail

/// Calls f(begin, end) on contiguous chunks that cover [0, n), spread over
/// get_num_threads() threads (the caller is one). Below 2·grain, on one
/// thread, or inside another parallel_for, f runs right here (over the same
/// chunks, in order, when there is more than one). The
/// chunks depend only on n, grain and the thread count, so a reduction that
/// combines per-chunk results in chunk order gives the same bits every run.
/// f must not throw across chunks it does not own: an exception is rethrown
/// here after every chunk has finished.
template <class F>
void parallel_for(std::int64_t n, std::int64_t grain, const F& f) {
  if (n <= 0) return;
  if (n < 2 * grain) return f(std::int64_t{0}, n);
  detail::parallel_for_impl(
      n, grain, [](const void* fn, std::int64_t b, std::int64_t e) { (*static_cast<const F*>(fn))(b, e); }, &f);
}

/// Σ partial(begin, end) over fixed chunks of [0, n), the partial results
/// combined in chunk order: the same bits on every run with the same thread
/// count (and grain).
template <class T, class Partial, class Combine>
T parallel_reduce(std::int64_t n, std::int64_t grain, T identity, const Partial& partial, const Combine& combine) {
  if (n <= 0) return identity;
  const int chunks = detail::parallel_chunks(n, grain);
  if (chunks == 1) return combine(identity, partial(std::int64_t{0}, n));
  std::vector<T> parts(static_cast<std::size_t>(chunks), identity);
  parallel_for(chunks, 1, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t k = b; k < e; ++k) parts[static_cast<std::size_t>(k)] = partial(n * k / chunks, n * (k + 1) / chunks);
  });
  T r = identity;
  for (const T& p : parts) r = combine(r, p);
  return r;
}

}  // namespace xg
