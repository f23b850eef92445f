// The thread pool (Note [Thread pool]) and the kernels split across it:
// chunks cover the range once, results are the same bits run after run and
// (elementwise, per-row and kept-dim reductions) across thread counts,
// exceptions come back to the caller, nesting runs inline, and an idle pool
// uses no CPU.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <vector>

#include <sys/resource.h>

#include "helpers.hpp"
#include "xgrad/parallel.hpp"
#include "xgrad/xgrad.hpp"

namespace {

/// Restores the thread count a test changed.
struct ThreadCount {
  int saved = xg::get_num_threads();
  explicit ThreadCount(int n) { xg::set_num_threads(n); }
  ~ThreadCount() { xg::set_num_threads(saved); }
};

double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

/// f() on 1 thread, then twice on 2 threads.
struct Runs {
  std::vector<xg::Tensor> one, two, again;
};
template <class F>
Runs on_1_then_2_threads(const F& f) {
  Runs r;
  {
    ThreadCount t(1);
    r.one = f();
  }
  ThreadCount t(2);
  r.two = f();
  r.again = f();
  return r;
}

bool same_bits(const xg::Tensor& a, const xg::Tensor& b) {
  const xg::Tensor x = a.contiguous(), y = b.contiguous();
  return x.shape() == y.shape() && std::memcmp(x.data<float>(), y.data<float>(), sizeof(float) * x.numel()) == 0;
}

}  // namespace

TEST_CASE("parallel_for covers 0..n exactly once in fixed chunks, inline below the grain or when nested") {
  ThreadCount two(2);
  const std::int64_t n = 1000003;
  std::vector<std::atomic<int>> hits(static_cast<std::size_t>(n));
  std::atomic<int> calls{0};
  xg::parallel_for(n, 1000, [&](std::int64_t b, std::int64_t e) {
    ++calls;
    for (std::int64_t i = b; i < e; ++i) ++hits[static_cast<std::size_t>(i)];
  });
  CHECK(calls == xg::detail::parallel_chunks(n, 1000));
  CHECK(calls == 8);  // four per thread
  bool once = true;
  for (auto& h : hits) once = once && h == 1;
  CHECK(once);
  // Below 2·grain: one call on this thread.
  std::thread::id where;
  xg::parallel_for(100, 1000, [&](std::int64_t b, std::int64_t e) {
    CHECK(b == 0);
    CHECK(e == 100);
    where = std::this_thread::get_id();
  });
  CHECK(where == std::this_thread::get_id());
  // Nested: the inner loop runs inline in each outer chunk, still in its fixed chunks.
  std::atomic<std::int64_t> total{0};
  xg::parallel_for(4, 1, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t k = b; k < e; ++k)
      xg::parallel_for(100000, 1000, [&](std::int64_t ib, std::int64_t ie) { total += ie - ib; });
  });
  CHECK(total == 400000);
  CHECK(xg::detail::parallel_chunks(10, 1) == 8);
  CHECK(xg::detail::parallel_chunks(3000, 1000) == 3);
  CHECK(xg::detail::parallel_chunks(0, 1) == 1);
}

TEST_CASE("parallel_for rethrows a chunk's exception on the caller after every chunk finished, and the pool still works") {
  ThreadCount two(2);
  std::atomic<int> finished{0};
  CHECK_THROWS_WITH_AS(xg::parallel_for(100000, 100,
                                        [&](std::int64_t b, std::int64_t) {
                                          if (b > 0) throw std::runtime_error("chunk failed");
                                          ++finished;
                                        }),
                       "chunk failed", std::runtime_error);
  CHECK(finished == 1);
  std::atomic<std::int64_t> covered{0};
  xg::parallel_for(100000, 100, [&](std::int64_t b, std::int64_t e) { covered += e - b; });
  CHECK(covered == 100000);
}

TEST_CASE("parallel_for from two user threads at once: both complete (one runs inline)") {
  ThreadCount two(2);
  std::atomic<std::int64_t> a{0}, b{0};
  std::thread other([&] {
    for (int r = 0; r < 200; ++r) xg::parallel_for(100000, 1000, [&](std::int64_t s, std::int64_t e) { a += e - s; });
  });
  for (int r = 0; r < 200; ++r) xg::parallel_for(100000, 1000, [&](std::int64_t s, std::int64_t e) { b += e - s; });
  other.join();
  CHECK(a == 200 * 100000);
  CHECK(b == 200 * 100000);
}

TEST_CASE("an idle pool sleeps: no CPU used while waiting between jobs") {
  ThreadCount two(2);
  const xg::Tensor x = xg::randn({1 << 20});
  (void)xg::tanh(x);  // the workers exist and have run a job
  // OpenBLAS's own server thread yields in a loop for a while after start-up
  // (its THREAD_TIMEOUT); let that pass, then measure after one more job of ours.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  (void)xg::tanh(x);
  const double before = process_cpu_seconds();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const double used = process_cpu_seconds() - before;
  INFO("CPU seconds used while idle: ", used);
  CHECK(used < 0.05);  // a spinning worker would burn ~0.3 s here
}

TEST_CASE("kernels split across threads give the same bits on 1 and 2 threads (column and full sums: the same bits run after run)") {
  xg::manual_seed(7);
  const xg::Tensor x = xg::randn({512, 1024}), y = xg::randn({512, 1024}), row = xg::randn({1024});
  const xg::Tensor w = xg::randn({1024}), b = xg::randn({1024});
  auto run = [&] {
    std::vector<xg::Tensor> r;
    r.push_back(xg::tanh(x));
    r.push_back(x + y);
    r.push_back(x * row);
    r.push_back(x.t() * 2.0);
    r.push_back(xg::exp(x.t()));
    r.push_back(xg::gelu(x));
    r.push_back(xg::softmax(x, 1));
    r.push_back(xg::softmax(x, 0));
    r.push_back(xg::layer_norm(x, {1024}, w, b));
    r.push_back(x.sum(std::vector<std::int64_t>{1}));
    r.push_back(xg::max(x, {0}));
    return r;
  };
  std::vector<xg::Tensor> one, two;
  {
    ThreadCount t(1);
    one = run();
  }
  {
    ThreadCount t(2);
    two = run();
  }
  REQUIRE(one.size() == two.size());
  for (std::size_t i = 0; i < one.size(); ++i) {
    INFO("result ", i);
    CHECK(same_bits(one[i], two[i]));
  }
  // Column sums and full sums add per-chunk partials: the same bits run after
  // run on one thread count, and the one-thread values to rounding.
  xg::Tensor col1;
  {
    ThreadCount t1(1);
    col1 = x.sum(std::vector<std::int64_t>{0});
  }
  ThreadCount t(2);
  const xg::Tensor col2 = x.sum(std::vector<std::int64_t>{0}), col2_again = x.sum(std::vector<std::int64_t>{0});
  CHECK(same_bits(col2, col2_again));
  test::check_values(col2, test::values(col1), 1e-4);
  const xg::Tensor s1 = x.sum(), s2 = x.sum();
  CHECK(same_bits(s1, s2));
  double expected = 0;
  const float* p = x.data<float>();
  for (std::int64_t i = 0; i < x.numel(); ++i) expected += p[i];
  CHECK(s1.item() == doctest::Approx(expected).epsilon(1e-5));
}

TEST_CASE("LayerNorm's weight and bias gradients, summed over fixed blocks of rows, are the same bits on 1 and 2 threads and close to float64") {
  xg::manual_seed(3);
  xg::Tensor x = xg::randn({4096, 64}).requires_grad_(true);
  xg::Tensor w = xg::randn({64}).requires_grad_(true), b = xg::randn({64}).requires_grad_(true);
  auto grads = [&] {
    for (xg::Tensor* t : {&x, &w, &b}) t->zero_grad();
    (xg::layer_norm(x, {64}, w, b) * xg::arange(64.0)).sum().backward();
    return std::vector<xg::Tensor>{x.grad().clone(), w.grad().clone(), b.grad().clone()};
  };
  const auto [one, two, again] = on_1_then_2_threads(grads);
  for (int i = 0; i < 3; ++i) {
    CHECK(same_bits(one[static_cast<std::size_t>(i)], two[static_cast<std::size_t>(i)]));
    CHECK(same_bits(two[static_cast<std::size_t>(i)], again[static_cast<std::size_t>(i)]));
  }
  // Against the same gradients in float64: each term's x̂ is rounded to
  // float32 and the 4096-row column sums cancel heavily, hence 1e-4.
  xg::Tensor x64 = x.detach().to(xg::float64).requires_grad_(true), w64 = w.detach().to(xg::float64).requires_grad_(true),
             b64 = b.detach().to(xg::float64).requires_grad_(true);
  (xg::layer_norm(x64, {64}, w64, b64) * xg::arange(64.0, xg::float64)).sum().backward();
  test::check_values(one[1], test::values(w64.grad()), 1e-4);
  test::check_values(one[2], test::values(b64.grad()), 1e-4);
}

TEST_CASE("matrix products on 2 threads (Note [Threads in matrix products]): the same bits run after run, the 1-thread values to rounding, every layout and batch") {
  xg::manual_seed(13);
  // Large products split by rows or columns, batches of small ones by member,
  // transposed operands, float64, and sizes that do not divide into panels.
  const xg::Tensor a = xg::randn({1000, 300}), b = xg::randn({300, 257}), wide = xg::randn({300, 3000});
  const xg::Tensor batch_a = xg::randn({40, 37, 24}), batch_b = xg::randn({40, 24, 45});
  const xg::Tensor a64 = xg::randn({513, 200}, xg::float64), b64 = xg::randn({200, 300}, xg::float64);
  auto run = [&] {
    return std::vector<xg::Tensor>{xg::matmul(a, b),           xg::matmul(a.t().contiguous().t(), b),
                                   xg::matmul(b.t(), a.t()),   xg::matmul(a.narrow(0, 0, 8), wide),
                                   xg::matmul(batch_a, batch_b), xg::matmul(batch_b.transpose(1, 2), batch_a.transpose(1, 2)),
                                   xg::matmul(a64, b64)};
  };
  const auto [one, two, again] = on_1_then_2_threads(run);
  for (std::size_t i = 0; i < one.size(); ++i) {
    INFO("product ", i);
    const bool f64 = one[i].dtype() == xg::float64;
    const xg::Tensor x = two[i].contiguous(), y = again[i].contiguous();
    CHECK(std::memcmp(x.data_ptr(), y.data_ptr(), x.nbytes()) == 0);
    test::check_values(two[i], test::values(one[i]), f64 ? 1e-12 : 1e-4);
  }
}
