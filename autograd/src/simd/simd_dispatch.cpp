// Picks the SIMD table once (Note [SIMD dispatch] in simd_kernels.inl).
#include <cstdlib>
#include <cstring>

#include "simd.hpp"

namespace xg::detail::simd {

#if defined(XG_SIMD_X86)
const Table& table_sse2();
const Table& table_avx2();
const Table& table_avx512();

namespace {
// __builtin_cpu_supports checks the CPU and that the OS saves the registers.
bool runs_avx2() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
bool runs_avx512() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw");
}
}  // namespace

std::vector<const Table*> runnable_tables() {
  std::vector<const Table*> t{&table_sse2()};
  if (runs_avx2()) t.push_back(&table_avx2());
  if (runs_avx2() && runs_avx512()) t.push_back(&table_avx512());
  return t;
}
#else
const Table& table_native();
std::vector<const Table*> runnable_tables() { return {&table_native()}; }
#endif

const Table& table() {
  // XGRAD_SIMD=sse2|avx2|avx512 picks a lower set (to compare, or to test
  // the baseline); one the CPU cannot run, or a name it does not know, is ignored.
  static const Table* const chosen = [] {
    const std::vector<const Table*> runnable = runnable_tables();
    if (const char* want = std::getenv("XGRAD_SIMD")) {
      for (const Table* t : runnable)
        if (std::strcmp(t->name, want) == 0) return t;
    }
    return runnable.back();
  }();
  return *chosen;
}

}  // namespace xg::detail::simd
