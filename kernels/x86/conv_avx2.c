/* AVX2+FMA instance of the fast float conv kernels (kernels/opt/gemm_f32_packed.h), 8-float vectors, 6x16
 * micro tiles, compiled for the baseline ISA under a target attribute. Selected at load when the CPU has
 * both (kernels/host_isa.c); on other targets this file compiles to nothing. */
#include "edgerun/edgerun.h"
#include "../opt/ukernels.h"

#if ER_HAVE_X86_UKERNELS
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
#include <immintrin.h>

#define ERPK_VL 8
#define ERPK_MR 6
#define ERPK_FN(name) er_pk8_##name
#define ERPK_FMA(acc, a, b) ((erpk_v)_mm256_fmadd_ps((__m256)(a), (__m256)(b), (__m256)(acc)))
#define ERPK_MAX(a, b) ((erpk_v)_mm256_max_ps((__m256)(a), (__m256)(b)))
#define ERPK_MIN(a, b) ((erpk_v)_mm256_min_ps((__m256)(a), (__m256)(b)))
#include "../opt/gemm_f32_packed.h"

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

const er_f32_conv_ukernels er_f32_conv_ukernels_avx2 = {
    er_pk8_conv2d, er_pk8_dwconv2d, er_pk8_fc, er_pk8_tconv2d, er_pk8_bmm};
#else
typedef int er_f32_conv_avx2_unused;
#endif
