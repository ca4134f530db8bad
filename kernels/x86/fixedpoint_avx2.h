/* TFLite's requantization (edgerun/fixedpoint.h) eight int32 lanes at a time, bit for bit, for the AVX2 kernels
 * of this folder (compiled with target("avx2") attributes; include only where ER_HAVE_X86_UKERNELS).
 *   double rounding (er_rounding_mode 0, TFLite's default): wrapping left shift (vpsllvd), saturating rounding
 *     doubling high multiply = floor((a * b + 2^30) / 2^31) (gemmlowp's nudge-and-truncate is that floor; the
 *     one overflow, INT32_MIN * INT32_MIN, is patched to INT32_MAX) on the 64-bit products of the even and odd
 *     lanes (vpmuldq), then gemmlowp's rounding divide by 2^e (mask, remainder, threshold; e in 0..31).
 *   single rounding (mode 1): (x * m + 2^(30 - shift)) >> (31 - shift) on the 64-bit products, an arithmetic
 *     64-bit shift built from the logical one (x ^ s) >> k ^ s, s the sign), saturated to int32.
 * Shifts must lie in [-31, 30] (callers pass other values to the reference). qa_rq_init builds a step's
 * per-tensor constants once per call. */
#ifndef EDGERUN_X86_FIXEDPOINT_AVX2_H
#define EDGERUN_X86_FIXEDPOINT_AVX2_H
#include <immintrin.h>

#include "edgerun/fixedpoint.h"

#define ER_ATTR_AVX2 __attribute__((target("avx2")))

typedef struct qa_rq {
  int32_t mult;
  int32_t left;   /* double rounding: left shift (>= 0) */
  int32_t right;  /* double rounding: right shift exponent (0..31) */
  int32_t total;  /* single rounding: 31 - shift (1..62) */
  int single;
} qa_rq;

/* er_mul_by_quantized_multiplier (lt1 = 0) or er_mul_by_quantized_multiplier_lt1 (lt1 = 1: in double rounding
 * no left shift, a positive shift ignored, as the scalar form) */
static inline qa_rq qa_rq_init(int32_t mult, int32_t shift, int lt1) {
  qa_rq q;
  q.single = er_rounding_mode == 1;
  q.mult = mult;
  q.left = !lt1 && shift > 0 ? shift : 0;
  q.right = shift < 0 ? -shift : 0;
  q.total = 31 - shift;
  return q;
}

/* er_sat_rounding_doubling_high_mul lane by lane */
ER_ATTR_AVX2 static inline __m256i qa_srdhm(__m256i a, __m256i b) {
  const __m256i nudge = _mm256_set1_epi64x((int64_t)1 << 30);
  const __m256i pe = _mm256_add_epi64(_mm256_mul_epi32(a, b), nudge);
  const __m256i po = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(a, 32), _mm256_srli_epi64(b, 32)), nudge);
  /* bits 31..62 of each product: low dword of pe >> 31, high dword of po << 1 */
  const __m256i r = _mm256_blend_epi32(_mm256_srli_epi64(pe, 31), _mm256_slli_epi64(po, 1), 0xAA);
  const __m256i mn = _mm256_set1_epi32(INT32_MIN);
  const __m256i both = _mm256_and_si256(_mm256_cmpeq_epi32(a, mn), _mm256_cmpeq_epi32(b, mn));
  return _mm256_xor_si256(r, both); /* INT32_MIN -> INT32_MAX where a = b = INT32_MIN */
}

/* gemmlowp RoundingDivideByPOT, exponent e in 0..31 for every lane */
ER_ATTR_AVX2 static inline __m256i qa_rdivpot(__m256i x, int e) {
  const int32_t m = (int32_t)(((int64_t)1 << e) - 1);
  const __m256i mask = _mm256_set1_epi32(m);
  const __m256i rem = _mm256_and_si256(x, mask);
  const __m256i thr = _mm256_sub_epi32(_mm256_set1_epi32(m >> 1), _mm256_srai_epi32(x, 31));
  const __m256i q = _mm256_sra_epi32(x, _mm_cvtsi32_si128(e));
  return _mm256_sub_epi32(q, _mm256_cmpgt_epi32(rem, thr));
}

/* one 64-bit lane group: (p + round) >> k arithmetic, saturated to int32 (in the low dword) */
ER_ATTR_AVX2 static inline __m256i qa_single64(__m256i p, __m128i k, __m256i round) {
  const __m256i v = _mm256_add_epi64(p, round);
  const __m256i s = _mm256_cmpgt_epi64(_mm256_setzero_si256(), v);
  __m256i r = _mm256_xor_si256(_mm256_srl_epi64(_mm256_xor_si256(v, s), k), s);
  const __m256i hi = _mm256_set1_epi64x(INT32_MAX), lo = _mm256_set1_epi64x(INT32_MIN);
  r = _mm256_blendv_epi8(r, hi, _mm256_cmpgt_epi64(r, hi));
  return _mm256_blendv_epi8(r, lo, _mm256_cmpgt_epi64(lo, r));
}

ER_ATTR_AVX2 static inline __m256i qa_rq_apply(__m256i x, const qa_rq *q) {
  const __m256i m = _mm256_set1_epi32(q->mult);
  if (q->single) {
    const __m128i k = _mm_cvtsi32_si128(q->total);
    const __m256i round = _mm256_set1_epi64x((int64_t)1 << (q->total - 1));
    const __m256i e = qa_single64(_mm256_mul_epi32(x, m), k, round);
    const __m256i o = qa_single64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), m), k, round);
    return _mm256_blend_epi32(e, _mm256_slli_epi64(o, 32), 0xAA);
  }
  return qa_rdivpot(qa_srdhm(_mm256_sll_epi32(x, _mm_cvtsi32_si128(q->left)), m), q->right);
}

#endif
