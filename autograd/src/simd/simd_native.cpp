// The SIMD kernels for a non-x86 CPU: xsimd's best set for the compiler's
// target (NEON on arm64), the only table there (Note [SIMD dispatch]).
#define XG_SIMD_ARCH xsimd::default_arch
#define XG_SIMD_NAME "native"
#define XG_SIMD_TABLE table_native
#include "simd_kernels.inl"
