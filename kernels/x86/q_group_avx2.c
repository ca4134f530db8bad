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
#else
typedef int er_q_group_avx2_unused;
#endif
