/* SSE2 micro-kernels of the optimized 8-bit conv paths (kernels/opt/q_conv.c) for x86 CPUs without AVX2: the
 * GEMM on the same packed panels, 4 channels per vector (SSE2 is the x86-64 baseline; a target attribute keeps
 * 32-bit builds without -msse2 valid); the depthwise loops stay portable. Selected at load
 * (kernels/host_isa.c); on other targets this file compiles to nothing. */
#include "edgerun/edgerun.h"
#include "../opt/ukernels.h"

#if ER_HAVE_X86_UKERNELS
#include <emmintrin.h>

#define ER_ATTR_SSE2 __attribute__((target("sse2")))

#define MADD4(acc, av, wv) acc = _mm_add_epi32(acc, _mm_madd_epi16(av, wv))

ER_ATTR_SSE2 static void sse2_rows4(const int16_t *a, int64_t kp, const int16_t *b0, int32_t *c, int64_t ldc) {
  const int64_t kk = kp / 2;
  const int16_t *a0 = a, *a1 = a + kp, *a2 = a + 2 * kp, *a3 = a + 3 * kp;
  __m128i c00 = _mm_setzero_si128(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  for (int64_t k = 0; k < kk; ++k) {
    const __m128i w0 = _mm_loadu_si128((const __m128i *)(b0 + 16 * k));
    const __m128i w1 = _mm_loadu_si128((const __m128i *)(b0 + 16 * k + 8));
    __m128i x = _mm_set1_epi32(er_qc_ld_pair(a0 + 2 * k));
    MADD4(c00, x, w0);
    MADD4(c01, x, w1);
    x = _mm_set1_epi32(er_qc_ld_pair(a1 + 2 * k));
    MADD4(c10, x, w0);
    MADD4(c11, x, w1);
    x = _mm_set1_epi32(er_qc_ld_pair(a2 + 2 * k));
    MADD4(c20, x, w0);
    MADD4(c21, x, w1);
    x = _mm_set1_epi32(er_qc_ld_pair(a3 + 2 * k));
    MADD4(c30, x, w0);
    MADD4(c31, x, w1);
  }
  _mm_storeu_si128((__m128i *)(c), c00);
  _mm_storeu_si128((__m128i *)(c + 4), c01);
  _mm_storeu_si128((__m128i *)(c + ldc), c10);
  _mm_storeu_si128((__m128i *)(c + ldc + 4), c11);
  _mm_storeu_si128((__m128i *)(c + 2 * ldc), c20);
  _mm_storeu_si128((__m128i *)(c + 2 * ldc + 4), c21);
  _mm_storeu_si128((__m128i *)(c + 3 * ldc), c30);
  _mm_storeu_si128((__m128i *)(c + 3 * ldc + 4), c31);
}

ER_ATTR_SSE2 static void sse2_row1(const int16_t *a, int64_t kp, const int16_t *b0, int32_t *c) {
  const int64_t kk = kp / 2;
  __m128i c0 = _mm_setzero_si128(), c1 = c0;
  for (int64_t k = 0; k < kk; ++k) {
    const __m128i x = _mm_set1_epi32(er_qc_ld_pair(a + 2 * k));
    MADD4(c0, x, _mm_loadu_si128((const __m128i *)(b0 + 16 * k)));
    MADD4(c1, x, _mm_loadu_si128((const __m128i *)(b0 + 16 * k + 8)));
  }
  _mm_storeu_si128((__m128i *)c, c0);
  _mm_storeu_si128((__m128i *)(c + 4), c1);
}

ER_ATTR_SSE2 static void er_qc_gemm_sse2(const int16_t *a, int64_t np, int64_t kp, const int16_t *b, int64_t ocp, int32_t *c) {
  for (int64_t j = 0; j < ocp; j += 8) {
    const int16_t *b0 = b + j * kp;
    int64_t i = 0;
    for (; i + 4 <= np; i += 4) sse2_rows4(a + i * kp, kp, b0, c + i * ocp + j, ocp);
    for (; i < np; ++i) sse2_row1(a + i * kp, kp, b0, c + i * ocp + j);
  }
}

const er_qc_ukernels er_qc_ukernels_sse2 = {er_qc_gemm_sse2, NULL, er_qc_dw_portable, NULL};
#else
typedef int er_q_conv_sse2_unused;
#endif
