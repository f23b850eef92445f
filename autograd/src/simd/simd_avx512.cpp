// The SIMD kernels for AVX-512 (F, CD, DQ, BW), built with those flags (Note [SIMD dispatch]).
#define XG_SIMD_ARCH xsimd::avx512bw
#define XG_SIMD_NAME "avx512"
#define XG_SIMD_TABLE table_avx512
#include "simd_kernels.inl"
