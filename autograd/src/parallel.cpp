// The thread pool behind parallel_for, and the one thread setting.
//
// Note [Thread pool]
// On a 2-core machine a pool that spins while idle steals the core another
// process (or OpenBLAS) needs; libtorch's OpenMP default made an MLP step 17x
// slower next to a busy core. So workers sleep on a condition variable and
// are woken per job. The caller runs chunks too, taking whichever are left
// (up to four per thread, so a worker that wakes late costs little); while
// the last chunks run on workers it waits up to 50 µs without sleeping (on
// this VM a sleep and wake-up cost ~30 µs, which made a 2-chunk job slower
// than one thread), then sleeps. Kernels only split work above a grain
// (kParallelGrain elements).
// One job runs at a time: a parallel_for from inside a chunk, or from a
// second user thread while a job is in flight, runs inline. Chunks are a
// fixed function of (n, grain, threads) and chunk k always covers the same
// range, so results never depend on which thread ran what. After fork() the
// child has no workers: the pool is rebuilt there on first use.
#include "xgrad/parallel.hpp"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include <cblas.h>

#include "internal.hpp"

namespace xg {
namespace {

std::atomic<int> g_num_threads{0};  // 0: OpenBLAS's default (its environment variables, else the cores)

struct Job {
  void (*call)(const void*, std::int64_t, std::int64_t) = nullptr;
  const void* fn = nullptr;
  std::int64_t n = 0;
  int chunks = 0;
  void run_chunk(int k) const { call(fn, n * k / chunks, n * (k + 1) / chunks); }
};

class Pool {
 public:
  /// Runs the job's chunks on the caller and up to threads − 1 workers.
  void run(const Job& job, int threads) {
    ensure_workers(std::min(job.chunks, threads) - 1);
    std::uint32_t generation;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = job;
      pending_.store(job.chunks);
      error_ = nullptr;
      generation = ++generation_;
      ticket_.store(static_cast<std::uint64_t>(generation) << 32);
    }
    wake_.notify_all();
    work_on(job, generation);
    // The last chunks are running on workers: wait a little without sleeping
    // (a sleep and wake-up costs tens of microseconds here), then sleep.
    const auto start = std::chrono::steady_clock::now();
    while (pending_.load() != 0 && std::chrono::steady_clock::now() - start < std::chrono::microseconds(50)) {
    }
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return pending_.load() == 0; });
    if (error_) std::rethrow_exception(error_);
  }

  static bool& in_job() {
    thread_local bool inside = false;
    return inside;
  }
  std::mutex busy;  // held by the caller of the job in flight

 private:
  void ensure_workers(int count) {
    std::uint32_t seen;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      seen = generation_;
    }
    while (static_cast<int>(workers_.size()) < count) workers_.emplace_back([this, seen] { worker(seen); });
  }

  void worker(std::uint32_t seen) {
    for (;;) {
      Job job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return generation_ != seen; });
        seen = generation_;
        job = job_;
      }
      work_on(job, seen);
    }
  }

  /// Claims chunks of generation `generation` until none are left. The
  /// ticket holds (generation, next chunk), so a worker that wakes late can
  /// never claim a chunk of a later job; the last chunk done wakes the caller.
  void work_on(const Job& job, std::uint32_t generation) {
    in_job() = true;
    for (;;) {
      std::uint64_t t = ticket_.load();
      int k;
      do {
        k = static_cast<int>(t & 0xffffffffu);
        if (static_cast<std::uint32_t>(t >> 32) != generation || k >= job.chunks) {
          in_job() = false;
          return;
        }
      } while (!ticket_.compare_exchange_weak(t, t + 1));
      std::exception_ptr failed;
      try {
        job.run_chunk(k);
      } catch (...) {
        failed = std::current_exception();
      }
      if (failed) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!error_) error_ = failed;
      }
      if (pending_.fetch_sub(1) == 1) {  // the last chunk: wake the caller (under the lock, so it cannot miss it)
        std::lock_guard<std::mutex> lock(mutex_);
        done_.notify_all();
      }
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  Job job_;
  std::atomic<std::uint64_t> ticket_{0};
  std::atomic<int> pending_{0};
  std::uint32_t generation_ = 0;
  std::exception_ptr error_;
};

// Never destroyed: workers sleep in it until the process exits, and a
// forked child gets a fresh one (its workers did not survive the fork).
std::atomic<Pool*> g_pool{nullptr};
std::once_flag g_fork_handler;

Pool& pool() {
  std::call_once(g_fork_handler, [] { pthread_atfork(nullptr, nullptr, [] { g_pool.store(nullptr); }); });
  Pool* p = g_pool.load();
  if (p) return *p;
  // Two user threads may get here at once: one pool wins, the other (no workers yet) is dropped.
  Pool* fresh = new Pool();
  if (g_pool.compare_exchange_strong(p, fresh)) return *fresh;
  delete fresh;
  return *p;
}

}  // namespace

void set_num_threads(int n) {
  XG_CHECK(n >= 1, "set_num_threads", "thread count must be >= 1, got ", n);
  g_num_threads.store(n, std::memory_order_relaxed);
  openblas_set_num_threads(n);
}

int get_num_threads() {
  const int n = g_num_threads.load(std::memory_order_relaxed);
  return n > 0 ? n : std::max(1, openblas_get_num_threads());
}

namespace detail {

int parallel_chunks(std::int64_t n, std::int64_t grain) {
  // Up to four chunks per thread: whoever is running takes the next one, so
  // a worker that wakes late costs a quarter of its share, not all of it.
  constexpr std::int64_t kChunksPerThread = 4;
  const int threads = get_num_threads();
  if (threads == 1) return 1;
  const std::int64_t by_size = grain <= 0 ? n : (n + grain - 1) / grain;
  return static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(threads * kChunksPerThread, by_size)));
}

void parallel_for_impl(std::int64_t n, std::int64_t grain, void (*call)(const void*, std::int64_t, std::int64_t),
                       const void* fn) {
  const Job job{call, fn, n, parallel_chunks(n, grain)};
  // Inline, the same chunks in order: a kernel's per-chunk results are the same bits either way.
  auto inline_run = [&] {
    for (int k = 0; k < job.chunks; ++k) job.run_chunk(k);
  };
  if (job.chunks == 1 || Pool::in_job()) return inline_run();
  Pool& p = pool();
  std::unique_lock<std::mutex> busy(p.busy, std::try_to_lock);
  if (!busy.owns_lock()) return inline_run();  // another user thread's job is in flight
  p.run(job, get_num_threads());
}

}  // namespace detail
}  // namespace xg
