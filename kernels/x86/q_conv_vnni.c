/* AVX512-VNNI micro-kernel of the int8 GEMM on the "dot" layout (kernels/opt/q_conv_dot.c: weights in groups of
 * 4 consecutive k per channel, 8 channels per panel), selected at load for the avx512vnni ISA
 * (kernels/host_isa.c). VPDPBUSD multiplies unsigned by signed bytes, so each activation is made unsigned,
 * u = x ^ 0x80 = x + 128, and the surplus 128 * sum_k w[o][k] is taken off by starting the accumulators at
 * -VPDPBUSD(0x80808080, w) (computed once per call and panel group):
 *   sum_k u_k * w_k - 128 * sum_k w_k = sum_k x_k * w_k
 * exact in int32 (|u * w| <= 255 * 128 per product, K * 255 * 128 < 2^31 by prepare's bound), wrapping adds
 * only, so the sums equal the portable loop's bit for bit. 256-bit vectors (AVX512VL encodings, 32 registers):
 * on AMD Zen 4 a zmm operation is two ymm operations, and 8 channels per vector match the panels; a tile is 6
 * rows x 4 panels (24 accumulators). On other targets this file compiles to nothing. */
#include <string.h>

#include "edgerun/edgerun.h"
#include "../opt/ukernels.h"

#if ER_HAVE_X86_UKERNELS
#include <immintrin.h>

#define ER_ATTR_VNNI __attribute__((target("avx2,avx512f,avx512vl,avx512vnni")))
#define ER_INLINE_VNNI static inline __attribute__((always_inline, target("avx2,avx512f,avx512vl,avx512vnni")))

#define QV_MR 6 /* rows per tile */
#define QV_NP 4 /* panels (of 8 channels) per tile */

/* four activation bytes of a row, made unsigned, in every lane */
ER_INLINE_VNNI __m256i qv_bcast(const int8_t *p) {
  int32_t v;
  memcpy(&v, p, sizeof v);
  return _mm256_set1_epi32(v ^ (int32_t)0x80808080u);
}

/* rows [0, mr) x panels [0, np) of one tile: c[i * ldc + 8 * j + l] (mr, np compile-time constants at each call,
 * so the accumulators stay in registers); neg: -128 * the channel sums of the np panels */
ER_INLINE_VNNI void qv_tile(const int8_t *a, int64_t lda, int64_t k4, const int8_t *b, const __m256i *neg, int mr,
                            int np, int32_t *c, int64_t ldc) {
  __m256i acc[QV_MR][QV_NP];
  for (int i = 0; i < mr; ++i)
    for (int j = 0; j < np; ++j) acc[i][j] = neg[j];
  for (int64_t k = 0; k < k4; k += 4) {
    __m256i w[QV_NP];
    for (int j = 0; j < np; ++j) w[j] = _mm256_loadu_si256((const __m256i *)(b + j * 8 * k4 + 8 * k));
    for (int i = 0; i < mr; ++i) {
      const __m256i x = qv_bcast(a + i * lda + k);
      for (int j = 0; j < np; ++j) acc[i][j] = _mm256_dpbusd_epi32(acc[i][j], x, w[j]);
    }
  }
  for (int i = 0; i < mr; ++i)
    for (int j = 0; j < np; ++j) _mm256_storeu_si256((__m256i *)(c + i * ldc + 8 * j), acc[i][j]);
}

/* every row of one panel group: full tiles of QV_MR rows, then the remaining 1..QV_MR-1 rows in one tile */
ER_INLINE_VNNI void qv_group(const int8_t *a, int64_t n_rows, int64_t lda, int64_t k4, const int8_t *b, int np,
                             int32_t *c, int64_t ldc) {
  const __m256i bias = _mm256_set1_epi32((int32_t)0x80808080u);
  __m256i neg[QV_NP];
  for (int j = 0; j < np; ++j) neg[j] = _mm256_setzero_si256();
  for (int64_t k = 0; k < k4; k += 4)
    for (int j = 0; j < np; ++j)
      neg[j] = _mm256_dpbusd_epi32(neg[j], bias, _mm256_loadu_si256((const __m256i *)(b + j * 8 * k4 + 8 * k)));
  for (int j = 0; j < np; ++j) neg[j] = _mm256_sub_epi32(_mm256_setzero_si256(), neg[j]);
  int64_t i = 0;
  for (; i + QV_MR <= n_rows; i += QV_MR) qv_tile(a + i * lda, lda, k4, b, neg, QV_MR, np, c + i * ldc, ldc);
  switch (n_rows - i) {
    case 5: qv_tile(a + i * lda, lda, k4, b, neg, 5, np, c + i * ldc, ldc); break;
    case 4: qv_tile(a + i * lda, lda, k4, b, neg, 4, np, c + i * ldc, ldc); break;
    case 3: qv_tile(a + i * lda, lda, k4, b, neg, 3, np, c + i * ldc, ldc); break;
    case 2: qv_tile(a + i * lda, lda, k4, b, neg, 2, np, c + i * ldc, ldc); break;
    case 1: qv_tile(a + i * lda, lda, k4, b, neg, 1, np, c + i * ldc, ldc); break;
    default: break;
  }
}

ER_ATTR_VNNI static void qv_group4(const int8_t *a, int64_t n, int64_t lda, int64_t k4, const int8_t *b, int32_t *c,
                                   int64_t ldc) {
  qv_group(a, n, lda, k4, b, 4, c, ldc);
}
ER_ATTR_VNNI static void qv_group3(const int8_t *a, int64_t n, int64_t lda, int64_t k4, const int8_t *b, int32_t *c,
                                   int64_t ldc) {
  qv_group(a, n, lda, k4, b, 3, c, ldc);
}
ER_ATTR_VNNI static void qv_group2(const int8_t *a, int64_t n, int64_t lda, int64_t k4, const int8_t *b, int32_t *c,
                                   int64_t ldc) {
  qv_group(a, n, lda, k4, b, 2, c, ldc);
}
ER_ATTR_VNNI static void qv_group1(const int8_t *a, int64_t n, int64_t lda, int64_t k4, const int8_t *b, int32_t *c,
                                   int64_t ldc) {
  qv_group(a, n, lda, k4, b, 1, c, ldc);
}

/* er_qd_ukernels.gemm: c[i * ldc + o] = sum_{k < k4} a[i * lda + k] * B[o][k], i < np, o < ocp */
ER_ATTR_VNNI static void er_qd_gemm_avx512vnni(const int8_t *a, int64_t np, int64_t lda, int64_t k4, const int8_t *b,
                                               int64_t ocp, int32_t *c, int64_t ldc) {
  int64_t j = 0;
  for (; j + 8 * QV_NP <= ocp; j += 8 * QV_NP) qv_group4(a, np, lda, k4, b + j * k4, c + j, ldc);
  switch ((ocp - j) / 8) {
    case 3: qv_group3(a, np, lda, k4, b + j * k4, c + j, ldc); break;
    case 2: qv_group2(a, np, lda, k4, b + j * k4, c + j, ldc); break;
    case 1: qv_group1(a, np, lda, k4, b + j * k4, c + j, ldc); break;
    default: break;
  }
}

const er_qd_ukernels er_qd_ukernels_avx512vnni = {er_qd_gemm_avx512vnni};
#else
typedef int er_q_conv_vnni_unused;
#endif
