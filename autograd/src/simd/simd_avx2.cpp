// The SIMD kernels for AVX2 with FMA, built with -mavx2 -mfma (Note [SIMD dispatch]).
#define XG_SIMD_ARCH xsimd::fma3<xsimd::avx2>
#define XG_SIMD_NAME "avx2"
#define XG_SIMD_TABLE table_avx2
#include "simd_kernels.inl"
