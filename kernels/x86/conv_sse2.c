/* SSE2 instance of the fast float conv kernels (kernels/opt/gemm_f32_packed.h): the portable instance's 4-float
 * vectors and 3x16 micro tiles, with the activation clamp on x86's max/min (NaN still passes through as in the
 * reference). A target attribute keeps 32-bit builds without -msse2 valid; selected at load
 * (kernels/host_isa.c); on other targets this file compiles to nothing. */
#include "edgerun/edgerun.h"
#include "../opt/ukernels.h"

#if ER_HAVE_X86_UKERNELS
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("sse2"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("sse2")
#endif
#include <xmmintrin.h>

#define ERPK_VL 4
#define ERPK_MR 3 /* 16 vector registers: 12 accumulators, weights read from memory */
#define ERPK_FN(name) er_pk4sse2_##name
#define ERPK_MAX(a, b) ((erpk_v)_mm_max_ps((__m128)(a), (__m128)(b)))
#define ERPK_MIN(a, b) ((erpk_v)_mm_min_ps((__m128)(a), (__m128)(b)))
#include "../opt/gemm_f32_packed.h"

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

const er_f32_conv_ukernels er_f32_conv_ukernels_sse2 = {
    er_pk4sse2_conv2d, er_pk4sse2_dwconv2d, er_pk4sse2_fc, er_pk4sse2_tconv2d, er_pk4sse2_bmm};
#else
typedef int er_f32_conv_sse2_unused;
#endif
