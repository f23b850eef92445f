// The SIMD kernels for x86-64's baseline, SSE2 (Note [SIMD dispatch]).
#define XG_SIMD_ARCH xsimd::sse2
#define XG_SIMD_NAME "sse2"
#define XG_SIMD_TABLE table_sse2
#include "simd_kernels.inl"
