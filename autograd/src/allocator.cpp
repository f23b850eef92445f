// A pooled, 64-byte-aligned allocator for tensor storage.
//
// Note [Storage pool]
// Tiny tensors are dominated by allocation: each op makes its result and, in
// backward, a gradient. Freed blocks go to a thread-local free list per
// power-of-two size class (up to 128 MiB: per-sample gradients of a 784-256 layer at batch 128 are 103 MB) and are handed out again, so a
// training step reuses last step's memory. Small classes keep a count of
// blocks; blocks of 1 MiB and more are kept while the thread's cache of them
// stays under kLargeBudget bytes, so memory stays bounded. Those large
// blocks matter as much as the small ones: memory the C library hands back
// to the system costs a page fault per 4 KiB when it is touched again, and a
// GPT-block step (4 MiB attention scores) spent over a tenth of its time in
// page faults with only four large blocks kept. Blocks freed on another
// thread simply join that thread's lists.
#include <sys/mman.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "internal.hpp"

namespace xg::detail {
namespace {

constexpr std::size_t kAlign = 64;
constexpr std::size_t kHugePage = std::size_t{2} << 20;
constexpr int kMinClass = 6;   // 64 bytes
constexpr int kMaxClass = 27;  // 128 MiB

int size_class(std::size_t bytes) {
  int c = kMinClass;
  while ((std::size_t{1} << c) < bytes) ++c;
  return c;
}

constexpr int kLargeClass = 20;                          // 1 MiB
constexpr std::size_t kLargeBudget = std::size_t{256} << 20;  // per thread

// Tensors that outlive the thread's pool (globals destroyed at exit) must
// still free safely: after the pool's destructor, blocks bypass it.
thread_local bool pool_destroyed = false;

struct Pool {
  std::vector<void*> free_lists[kMaxClass + 1];
  std::size_t large_bytes = 0;  // cached in classes above kLargeClass
  bool keep(int c) const {
    if (c <= kLargeClass) return free_lists[c].size() < (c <= 16 ? 256u : 16u);
    return large_bytes + (std::size_t{1} << c) <= kLargeBudget;
  }
  ~Pool() {
    for (auto& list : free_lists)
      for (void* p : list) std::free(p);
    pool_destroyed = true;
  }
};

Pool* pool() {
  if (pool_destroyed) return nullptr;
  thread_local Pool p;
  return &p;
}

}  // namespace

void* pool_alloc(std::size_t bytes) {
  if (bytes == 0) bytes = 1;
  const int c = size_class(bytes);
  Pool* cache = pool();
  if (c <= kMaxClass && cache) {
    auto& list = cache->free_lists[c];
    if (!list.empty()) {
      void* p = list.back();
      list.pop_back();
      if (c > kLargeClass) cache->large_bytes -= std::size_t{1} << c;
      return p;
    }
  }
  if (c <= kMaxClass) {
    bytes = std::size_t{1} << c;
  } else {
    bytes = (bytes + kAlign - 1) / kAlign * kAlign;
  }
  if (bytes >= kHugePage) {
    // Big blocks on 2 MiB pages where the kernel allows it (transparent huge
    // pages in madvise mode): touching fresh memory then faults once per
    // 2 MiB, not once per 4 KiB (Note [Storage pool]).
    bytes = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    void* p = std::aligned_alloc(kHugePage, bytes);
    if (!p) throw std::bad_alloc();
    madvise(p, bytes, MADV_HUGEPAGE);  // advice only: failure changes nothing
    return p;
  }
  void* p = std::aligned_alloc(kAlign, bytes);
  if (!p) throw std::bad_alloc();
  return p;
}

void pool_free(void* p, std::size_t bytes) {
  if (!p) return;
  if (bytes == 0) bytes = 1;
  const int c = size_class(bytes);
  Pool* cache = pool();
  if (c <= kMaxClass && cache) {
    if (cache->keep(c)) {
      cache->free_lists[c].push_back(p);
      if (c > kLargeClass) cache->large_bytes += std::size_t{1} << c;
      return;
    }
  }
  std::free(p);
}

namespace {
// Bytes held by live storages. One relaxed add per storage: the count needs no
// ordering, only to add up, and costs about a nanosecond.
std::atomic<std::int64_t> g_live_bytes{0};
}  // namespace

Storage::Storage(std::size_t bytes) : data(pool_alloc(bytes)), nbytes(bytes) {
  g_live_bytes.fetch_add(static_cast<std::int64_t>(bytes), std::memory_order_relaxed);
}
Storage::~Storage() {
  pool_free(data, nbytes);
  g_live_bytes.fetch_sub(static_cast<std::int64_t>(nbytes), std::memory_order_relaxed);
}

}  // namespace xg::detail

namespace xg {
std::int64_t live_storage_bytes() { return detail::g_live_bytes.load(std::memory_order_relaxed); }

}  // namespace xg::detail
