/* AVX2 requantization with TFLite's double rounding for the grouped 8-bit CONV_2D (kernels/opt/q_conv_group.c;
 * declared in kernels/opt/q_group.h). Bit-exact with er_mul_by_quantized_multiplier in rounding mode 0:
 *   SaturatingRoundingDoublingHighMul(a, m) = floor((a * m + 2^30) / 2^31) (TFLite's nudge of 1 - 2^30 for
 *   negative products with a truncating division is the same floor; a = m = INT32_MIN, the one saturating
 *   case, is left to the scalar code), then RoundingDivideByPOT (ties away from zero) as TFLite writes it:
 *   (h >> r) + ((h & mask) > (mask >> 1) + (h < 0)). On other targets this file compiles to nothing. */
#include "edgerun/edgerun.h"
#include "edgerun/fixedpoint_conv.h"
#include "../opt/q_group.h"

#if ER_HAVE_X86_UKERNELS
#include <immintrin.h>

__attribute__((target("avx2"))) int64_t er_qg_requant_tflite_avx2(const int32_t *acc, int64_t rows, int64_t ldacc,
                                                                  int64_t n, const int32_t *bias, const int32_t *mult,
                                                                  const int32_t *shift, int32_t out_offset, int32_t lo,
                                                                  int32_t hi, int is_u8, void *dst, int64_t lddst) {
  const int64_t n8 = n / 8 * 8;
  for (int64_t c = 0; c < n8; ++c)
    if (mult[c] == INT32_MIN || shift[c] > 31 || shift[c] < -31) return 0;
  const __m256i zero = _mm256_setzero_si256(), one = _mm256_set1_epi32(1);
  const __m256i nudge = _mm256_set1_epi64x((int64_t)1 << 30);
  /* clamp before adding the offset: v + out_offset may leave int32, the clamped value may not */
  const __m256i vlo = _mm256_set1_epi32(lo - out_offset), vhi = _mm256_set1_epi32(hi - out_offset);
  const __m256i voff = _mm256_set1_epi32(out_offset);
  for (int64_t c = 0; c < n8; c += 8) {
    const __m256i m = _mm256_loadu_si256((const __m256i *)(mult + c));
    const __m256i m_odd = _mm256_srli_epi64(m, 32);
    const __m256i s = _mm256_loadu_si256((const __m256i *)(shift + c));
    const __m256i vb = bias ? _mm256_loadu_si256((const __m256i *)(bias + c)) : zero;
    const __m256i lsh = _mm256_max_epi32(s, zero), rsh = _mm256_max_epi32(_mm256_sub_epi32(zero, s), zero);
    const __m256i mask = _mm256_sub_epi32(_mm256_sllv_epi32(one, rsh), one);
    const __m256i half = _mm256_srli_epi32(mask, 1);
    for (int64_t r = 0; r < rows; ++r) {
      __m256i x = _mm256_add_epi32(_mm256_loadu_si256((const __m256i *)(acc + r * ldacc + c)), vb);
      x = _mm256_sllv_epi32(x, lsh);
      const __m256i pe = _mm256_add_epi64(_mm256_mul_epi32(x, m), nudge);
      const __m256i po = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), m_odd), nudge);
      const __m256i h = _mm256_blend_epi32(_mm256_srli_epi64(pe, 31), _mm256_slli_epi64(_mm256_srli_epi64(po, 31), 32),
                                           0xAA);
      const __m256i rem = _mm256_and_si256(h, mask);
      const __m256i thr = _mm256_sub_epi32(half, _mm256_cmpgt_epi32(zero, h)); /* + 1 where h < 0 */
      __m256i v = _mm256_sub_epi32(_mm256_srav_epi32(h, rsh), _mm256_cmpgt_epi32(rem, thr));
      v = _mm256_add_epi32(_mm256_min_epi32(_mm256_max_epi32(v, vlo), vhi), voff);
      const __m128i w16 = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
      const __m128i w8 = is_u8 ? _mm_packus_epi16(w16, w16) : _mm_packs_epi16(w16, w16);
      _mm_storel_epi64((__m128i *)((uint8_t *)dst + r * lddst + c), w8);
    }
  }
  return n8;
}

/* rows r < R (R <= 4) of one block of 8 (n16 = 0) or 16 output channels, taps at their offsets into x */
#define QG_MADD(acc, x, w) acc = _mm256_add_epi32(acc, _mm256_madd_epi16(x, w))
__attribute__((target("avx2"), always_inline)) static inline void qg_tile(const int16_t *x, const int64_t *off, int64_t R,
                                                                         int64_t T, int64_t icp, const int16_t *b0,
                                                                         const int16_t *b1, int n16, int32_t *c,
                                                                         int64_t ocp) {
  __m256i a[4][2];
  for (int r = 0; r < 4; ++r) a[r][0] = a[r][1] = _mm256_setzero_si256();
  const int64_t kk = icp / 2;
  for (int64_t t = 0; t < T; ++t) {
    const int16_t *p0 = x + off[t], *p1 = x + off[(R > 1) * T + t], *p2 = x + off[(R > 2) * 2 * T + t];
    const int16_t *p3 = x + off[(R > 3) * 3 * T + t];
    const int16_t *w0 = b0 + t * kk * 16, *w1 = b1 + t * kk * 16;
    for (int64_t k = 0; k < kk; ++k) {
      const __m256i v0 = _mm256_loadu_si256((const __m256i *)(w0 + 16 * k));
      const __m256i x0 = _mm256_set1_epi32(er_qc_ld_pair(p0 + 2 * k)), x1 = _mm256_set1_epi32(er_qc_ld_pair(p1 + 2 * k));
      const __m256i x2 = _mm256_set1_epi32(er_qc_ld_pair(p2 + 2 * k)), x3 = _mm256_set1_epi32(er_qc_ld_pair(p3 + 2 * k));
      QG_MADD(a[0][0], x0, v0);
      QG_MADD(a[1][0], x1, v0);
      QG_MADD(a[2][0], x2, v0);
      QG_MADD(a[3][0], x3, v0);
      if (n16) {
        const __m256i v1 = _mm256_loadu_si256((const __m256i *)(w1 + 16 * k));
        QG_MADD(a[0][1], x0, v1);
        QG_MADD(a[1][1], x1, v1);
        QG_MADD(a[2][1], x2, v1);
        QG_MADD(a[3][1], x3, v1);
      }
    }
  }
  /* vpmaddwd of the broadcast pair with the panel's 8 (channel, k pair) pairs: lane l is channel l */
  for (int64_t r = 0; r < R; ++r) {
    _mm256_storeu_si256((__m256i *)(c + r * ocp), a[r][0]);
    if (n16) _mm256_storeu_si256((__m256i *)(c + r * ocp + 8), a[r][1]);
  }
}

__attribute__((target("avx2"))) void er_qg_igemm_avx2(const int16_t *x, const int64_t *off, int64_t np, int64_t T,
                                                      int64_t icp, const int16_t *b, int64_t ocp, int32_t *c) {
  const int64_t kp = T * icp;
  for (int64_t j = 0; j < ocp; j += 16) {
    const int n16 = j + 16 <= ocp;
    const int16_t *b0 = b + j * kp, *b1 = n16 ? b0 + 8 * kp : b0;
    for (int64_t i = 0; i < np; i += 4)
      qg_tile(x, off + i * T, np - i < 4 ? np - i : 4, T, icp, b0, b1, n16, c + i * ocp + j, ocp);
  }
}
#else
typedef int er_q_group_avx2_unused;
#endif
