/* AVX2 micro-kernels of the optimized 8-bit conv paths (kernels/opt/q_conv.c), compiled for the
 * baseline ISA with per-function target attributes; their table is selected at load when the CPU has AVX2
 * (kernels/host_isa.c). Exact int32 arithmetic (vpmaddwd of int16 operands: offset form for uint8, raw int8
 * activations and int8 weights widened by vpmovsxbw for int8), so the results equal the portable loops'.
 * On other targets this file compiles to nothing. */
#include "edgerun/edgerun.h"
#include "edgerun/fixedpoint_conv.h"
#include "../opt/ukernels.h"

#if ER_HAVE_X86_UKERNELS
#include <immintrin.h>
#include <string.h>


#define ER_ATTR_AVX2 __attribute__((target("avx2")))

/* rows r0 .. r0+R-1 (R <= 4) times one or two panels */
#define MADD(acc, av, wv) acc = _mm256_add_epi32(acc, _mm256_madd_epi16(av, wv))

ER_ATTR_AVX2 static void rows4_panels2(const int16_t *a, int64_t kp, const int16_t *b0, const int16_t *b1,
                                       int32_t *c, int64_t ldc) {
  const int64_t kk = kp / 2;
  const int16_t *a0 = a, *a1 = a + kp, *a2 = a + 2 * kp, *a3 = a + 3 * kp;
  __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  for (int64_t k = 0; k < kk; ++k) {
    const __m256i w0 = _mm256_loadu_si256((const __m256i *)(b0 + 16 * k));
    const __m256i w1 = _mm256_loadu_si256((const __m256i *)(b1 + 16 * k));
    __m256i x = _mm256_set1_epi32(er_qc_ld_pair(a0 + 2 * k));
    MADD(c00, x, w0);
    MADD(c01, x, w1);
    x = _mm256_set1_epi32(er_qc_ld_pair(a1 + 2 * k));
    MADD(c10, x, w0);
    MADD(c11, x, w1);
    x = _mm256_set1_epi32(er_qc_ld_pair(a2 + 2 * k));
    MADD(c20, x, w0);
    MADD(c21, x, w1);
    x = _mm256_set1_epi32(er_qc_ld_pair(a3 + 2 * k));
    MADD(c30, x, w0);
    MADD(c31, x, w1);
  }
  _mm256_storeu_si256((__m256i *)(c), c00);
  _mm256_storeu_si256((__m256i *)(c + 8), c01);
  _mm256_storeu_si256((__m256i *)(c + ldc), c10);
  _mm256_storeu_si256((__m256i *)(c + ldc + 8), c11);
  _mm256_storeu_si256((__m256i *)(c + 2 * ldc), c20);
  _mm256_storeu_si256((__m256i *)(c + 2 * ldc + 8), c21);
  _mm256_storeu_si256((__m256i *)(c + 3 * ldc), c30);
  _mm256_storeu_si256((__m256i *)(c + 3 * ldc + 8), c31);
}

ER_ATTR_AVX2 static void rows4_panel1(const int16_t *a, int64_t kp, const int16_t *b0, int32_t *c, int64_t ldc) {
  const int64_t kk = kp / 2;
  const int16_t *a0 = a, *a1 = a + kp, *a2 = a + 2 * kp, *a3 = a + 3 * kp;
  __m256i c0 = _mm256_setzero_si256(), c1 = c0, c2 = c0, c3 = c0;
  for (int64_t k = 0; k < kk; ++k) {
    const __m256i w0 = _mm256_loadu_si256((const __m256i *)(b0 + 16 * k));
    MADD(c0, _mm256_set1_epi32(er_qc_ld_pair(a0 + 2 * k)), w0);
    MADD(c1, _mm256_set1_epi32(er_qc_ld_pair(a1 + 2 * k)), w0);
    MADD(c2, _mm256_set1_epi32(er_qc_ld_pair(a2 + 2 * k)), w0);
    MADD(c3, _mm256_set1_epi32(er_qc_ld_pair(a3 + 2 * k)), w0);
  }
  _mm256_storeu_si256((__m256i *)(c), c0);
  _mm256_storeu_si256((__m256i *)(c + ldc), c1);
  _mm256_storeu_si256((__m256i *)(c + 2 * ldc), c2);
  _mm256_storeu_si256((__m256i *)(c + 3 * ldc), c3);
}

ER_ATTR_AVX2 static void row1_panel1(const int16_t *a, int64_t kp, const int16_t *b0, int32_t *c) {
  const int64_t kk = kp / 2;
  __m256i c0 = _mm256_setzero_si256(), c1 = c0;
  int64_t k = 0;
  for (; k + 2 <= kk; k += 2) {
    MADD(c0, _mm256_set1_epi32(er_qc_ld_pair(a + 2 * k)), _mm256_loadu_si256((const __m256i *)(b0 + 16 * k)));
    MADD(c1, _mm256_set1_epi32(er_qc_ld_pair(a + 2 * k + 2)), _mm256_loadu_si256((const __m256i *)(b0 + 16 * k + 16)));
  }
  if (k < kk) MADD(c0, _mm256_set1_epi32(er_qc_ld_pair(a + 2 * k)), _mm256_loadu_si256((const __m256i *)(b0 + 16 * k)));
  _mm256_storeu_si256((__m256i *)c, _mm256_add_epi32(c0, c1));
}

ER_ATTR_AVX2 static void er_qc_gemm_avx2(const int16_t *a, int64_t np, int64_t kp, const int16_t *b, int64_t ocp,
                                  int32_t *c) {
  int64_t j = 0;
  for (; j + 16 <= ocp; j += 16) {
    const int16_t *b0 = b + j * kp, *b1 = b0 + 8 * kp;
    int64_t i = 0;
    for (; i + 4 <= np; i += 4) rows4_panels2(a + i * kp, kp, b0, b1, c + i * ocp + j, ocp);
    for (; i < np; ++i) {
      row1_panel1(a + i * kp, kp, b0, c + i * ocp + j);
      row1_panel1(a + i * kp, kp, b1, c + i * ocp + j + 8);
    }
  }
  for (; j < ocp; j += 8) {
    const int16_t *b0 = b + j * kp;
    int64_t i = 0;
    for (; i + 4 <= np; i += 4) rows4_panel1(a + i * kp, kp, b0, c + i * ocp + j, ocp);
    for (; i < np; ++i) row1_panel1(a + i * kp, kp, b0, c + i * ocp + j);
  }
}

/* n 8-bit values to int16 offset form (v + off) */
ER_ATTR_AVX2 static void er_qc_load8_avx2(const void *src, int is_u8, int64_t n, int32_t off, int16_t *dst) {
  const __m256i voff = _mm256_set1_epi16((int16_t)off);
  const uint8_t *s = (const uint8_t *)src;
  int64_t i = 0;
  if (is_u8) {
    for (; i + 16 <= n; i += 16)
      _mm256_storeu_si256((__m256i *)(dst + i),
                          _mm256_add_epi16(_mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(s + i))), voff));
    for (; i < n; ++i) dst[i] = (int16_t)(s[i] + off);
  } else {
    for (; i + 16 <= n; i += 16)
      _mm256_storeu_si256((__m256i *)(dst + i),
                          _mm256_add_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(s + i))), voff));
    for (; i < n; ++i) dst[i] = (int16_t)((int8_t)s[i] + off);
  }
}

/* 8 channels of two taps, widened to int16 offset form and interleaved into (tap a, tap b) pairs */
ER_ATTR_AVX2 static inline __m256i tap_pairs(const void *pa, const void *pb, int is_u8, __m128i voff) {
  __m128i xa = _mm_loadl_epi64((const __m128i *)pa), xb = _mm_loadl_epi64((const __m128i *)pb);
  if (is_u8) {
    xa = _mm_cvtepu8_epi16(xa);
    xb = _mm_cvtepu8_epi16(xb);
  } else {
    xa = _mm_cvtepi8_epi16(xa);
    xb = _mm_cvtepi8_epi16(xb);
  }
  xa = _mm_add_epi16(xa, voff);
  xb = _mm_add_epi16(xb, voff);
  return _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_unpacklo_epi16(xa, xb)), _mm_unpackhi_epi16(xa, xb), 1);
}

ER_ATTR_AVX2 static inline void dw_body(const void *const *taps, int64_t ntp, int is_u8, int32_t off,
                                        const int16_t *w, int64_t C, int64_t Cp, int32_t *acc) {
  const __m128i voff = _mm_set1_epi16((int16_t)off);
  int64_t c = 0;
  for (; c + 16 <= C; c += 16) {
    __m256i s0 = _mm256_setzero_si256(), s1 = s0;
    for (int64_t t = 0; t < ntp; ++t) {
      const uint8_t *pa = (const uint8_t *)taps[2 * t] + c, *pb = (const uint8_t *)taps[2 * t + 1] + c;
      const int16_t *wt = w + (t * Cp + c) * 2;
      MADD(s0, tap_pairs(pa, pb, is_u8, voff), _mm256_loadu_si256((const __m256i *)wt));
      MADD(s1, tap_pairs(pa + 8, pb + 8, is_u8, voff), _mm256_loadu_si256((const __m256i *)(wt + 16)));
    }
    _mm256_storeu_si256((__m256i *)(acc + c), s0);
    _mm256_storeu_si256((__m256i *)(acc + c + 8), s1);
  }
  for (; c + 8 <= C; c += 8) {
    __m256i s0 = _mm256_setzero_si256();
    for (int64_t t = 0; t < ntp; ++t) {
      const uint8_t *pa = (const uint8_t *)taps[2 * t] + c, *pb = (const uint8_t *)taps[2 * t + 1] + c;
      MADD(s0, tap_pairs(pa, pb, is_u8, voff), _mm256_loadu_si256((const __m256i *)(w + (t * Cp + c) * 2)));
    }
    _mm256_storeu_si256((__m256i *)(acc + c), s0);
  }
  for (; c < C; ++c) {
    int32_t s = 0;
    for (int64_t t = 0; t < ntp; ++t) {
      const int16_t *wt = w + (t * Cp + c) * 2;
      int32_t xa, xb;
      if (is_u8) {
        xa = ((const uint8_t *)taps[2 * t])[c];
        xb = ((const uint8_t *)taps[2 * t + 1])[c];
      } else {
        xa = ((const int8_t *)taps[2 * t])[c];
        xb = ((const int8_t *)taps[2 * t + 1])[c];
      }
      s += (xa + off) * wt[0] + (xb + off) * wt[1];
    }
    acc[c] = s;
  }
}

ER_ATTR_AVX2 static void er_qc_dw_avx2(const void *const *taps, int64_t ntp, int is_u8, int32_t off, const int16_t *w,
                                int64_t C, int64_t Cp, int32_t *acc) {
  if (is_u8)
    dw_body(taps, ntp, 1, off, w, C, Cp, acc);
  else
    dw_body(taps, ntp, 0, off, w, C, Cp, acc);
}


/* Requantization of 8-bit outputs with the "upward" rounding (er_qc_mul_upward), 8 channels at a time, for
 * the first n8 (a multiple of 8) channels of `rows` pixels (accumulators ldacc apart, outputs lddst apart):
 * acc (+ bias, wrapping), left shift (wrapping), rounding doubling high multiply, rounding right shift with
 * ties upward, + out_offset, clamp to [lo, hi]. Returns the number of channels done (a block holding a
 * multiplier of INT32_MIN, which would need saturation, is left to the caller's scalar code from there on). */
ER_ATTR_AVX2 static int64_t er_qc_requant_upward_avx2(const int32_t *acc, int64_t rows, int64_t ldacc, int64_t n8,
                                               const int32_t *bias, const int32_t *mult, const int32_t *shift,
                                               int32_t out_offset, int32_t lo, int32_t hi, int is_u8, void *dst,
                                               int64_t lddst) {
  const __m256i zero = _mm256_setzero_si256(), one = _mm256_set1_epi32(1);
  const __m256i nudge = _mm256_set1_epi64x((int64_t)1 << 30), imin = _mm256_set1_epi32(INT32_MIN);
  const __m256i vlo = _mm256_set1_epi32(lo - out_offset), vhi = _mm256_set1_epi32(hi - out_offset);
  const __m256i voff = _mm256_set1_epi32(out_offset);
  int64_t c = 0;
  for (; c + 8 <= n8; c += 8) {
    const __m256i m = _mm256_loadu_si256((const __m256i *)(mult + c));
    if (_mm256_movemask_epi8(_mm256_cmpeq_epi32(m, imin))) break;
    const __m256i m_odd = _mm256_srli_epi64(m, 32);
    const __m256i s = _mm256_loadu_si256((const __m256i *)(shift + c));
    const __m256i vb = bias ? _mm256_loadu_si256((const __m256i *)(bias + c)) : zero;
    const __m256i lsh = _mm256_max_epi32(s, zero), rsh = _mm256_max_epi32(_mm256_sub_epi32(zero, s), zero);
    const __m256i rsh1 = _mm256_max_epi32(_mm256_sub_epi32(rsh, one), zero);
    const __m256i rmask = _mm256_and_si256(one, _mm256_cmpgt_epi32(rsh, zero));
    for (int64_t r = 0; r < rows; ++r) {
      __m256i x = _mm256_add_epi32(_mm256_loadu_si256((const __m256i *)(acc + r * ldacc + c)), vb);
      x = _mm256_sllv_epi32(x, lsh);
      /* SRDHM without saturation = floor((x * m + 2^30) / 2^31) */
      const __m256i pe = _mm256_add_epi64(_mm256_mul_epi32(x, m), nudge);
      const __m256i po = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), m_odd), nudge);
      const __m256i h = _mm256_blend_epi32(_mm256_srli_epi64(pe, 31), _mm256_slli_epi64(_mm256_srli_epi64(po, 31), 32),
                                           0xAA);
      /* floor((h + 2^(r-1)) / 2^r) = (h >> r) + bit r-1 of h; r = 0 keeps h */
      const __m256i rbit = _mm256_and_si256(_mm256_srav_epi32(h, rsh1), rmask);
      __m256i v = _mm256_add_epi32(_mm256_srav_epi32(h, rsh), rbit);
      v = _mm256_add_epi32(_mm256_min_epi32(_mm256_max_epi32(v, vlo), vhi), voff);
      const __m128i w16 = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
      const __m128i w8 = is_u8 ? _mm_packus_epi16(w16, w16) : _mm_packs_epi16(w16, w16);
      _mm_storel_epi64((__m128i *)((uint8_t *)dst + r * lddst + c), w8);
    }
  }
  return c;
}
/* ---- int8 "madd" layout (kernels/opt/q_conv.c): int8 weights widened by vpmovsxbw as they are loaded, raw
 * int8 activations (int16 in the GEMM's gathered rows), accumulators starting at the folded bias (vpaddd
 * wraps as TFLite's int32 adds), requantized in registers. */

#define ER_INLINE_AVX2 __attribute__((target("avx2"), always_inline)) static inline

/* 8 accumulators of channels c .. c+7 -> "upward" requantized int32 (before the output offset) */
ER_INLINE_AVX2 __m256i qm_upward8(__m256i x, int64_t c, const er_qm_out *q) {
  if (q->rq) { /* one step: high word of x * m + rc, arithmetic shift by r - 1 (ukernels.h) */
    const int32_t *k = q->rq + c / 8 * ER_QM_RQ_WORDS;
    const __m256i pe = _mm256_add_epi64(_mm256_mul_epi32(x, _mm256_loadu_si256((const __m256i *)k)),
                                        _mm256_loadu_si256((const __m256i *)(k + 16)));
    const __m256i po = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32),
                                                         _mm256_loadu_si256((const __m256i *)(k + 8))),
                                        _mm256_loadu_si256((const __m256i *)(k + 24)));
    const __m256i h = _mm256_blend_epi32(_mm256_srli_epi64(pe, 32), po, 0xAA);
    return _mm256_srav_epi32(h, _mm256_loadu_si256((const __m256i *)(k + 32)));
  }
  /* general: left shift (wrapping), doubling high multiply as floor((x * m + 2^30) / 2^31), rounding right
   * shift with ties upward (as er_qc_requant_upward_avx2 above) */
  const __m256i zero = _mm256_setzero_si256(), one = _mm256_set1_epi32(1);
  const __m256i nudge = _mm256_set1_epi64x((int64_t)1 << 30);
  const __m256i m = _mm256_loadu_si256((const __m256i *)(q->mult + c));
  const __m256i s = _mm256_loadu_si256((const __m256i *)(q->shift + c));
  const __m256i lsh = _mm256_max_epi32(s, zero), rsh = _mm256_max_epi32(_mm256_sub_epi32(zero, s), zero);
  const __m256i rsh1 = _mm256_max_epi32(_mm256_sub_epi32(rsh, one), zero);
  const __m256i rmask = _mm256_and_si256(one, _mm256_cmpgt_epi32(rsh, zero));
  x = _mm256_sllv_epi32(x, lsh);
  const __m256i pe = _mm256_add_epi64(_mm256_mul_epi32(x, m), nudge);
  const __m256i po = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), _mm256_srli_epi64(m, 32)), nudge);
  const __m256i h = _mm256_blend_epi32(_mm256_srli_epi64(pe, 31), _mm256_slli_epi64(_mm256_srli_epi64(po, 31), 32), 0xAA);
  const __m256i rbit = _mm256_and_si256(_mm256_srav_epi32(h, rsh1), rmask);
  return _mm256_add_epi32(_mm256_srav_epi32(h, rsh), rbit);
}

/* accumulators of channels c .. c+15 (a1 unused when n <= 8) -> n <= 16 int8 outputs at dst. Saturating packs
 * then the clamp: exact, as the clamp range lies inside int8 */
ER_INLINE_AVX2 void qm_store16(__m256i a0, __m256i a1, int64_t c, int64_t n, const er_qm_out *q, int8_t *dst) {
  if (c + n > q->vec_end || (!q->rq && (n & 7))) {
    /* channels with TFLite's double rounding (UPWARD8's tail, TFLITE), or the general form's partial block
     * (its multipliers end at C): scalar */
    int32_t t[16];
    _mm256_storeu_si256((__m256i *)t, a0);
    _mm256_storeu_si256((__m256i *)(t + 8), a1);
    for (int64_t l = 0; l < n; ++l) dst[l] = er_qm_requant1(t[l], c + l, q);
    return;
  }
  const __m256i v0 = qm_upward8(a0, c, q), v1 = n > 8 ? qm_upward8(a1, c + 8, q) : v0;
  __m256i t = _mm256_adds_epi16(_mm256_packs_epi32(v0, v1), _mm256_set1_epi16((int16_t)q->out_offset));
  __m128i b = _mm_packs_epi16(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1));
  b = _mm_shuffle_epi32(b, 0xD8);
  b = _mm_min_epi8(_mm_max_epi8(b, _mm_set1_epi8((int8_t)q->lo)), _mm_set1_epi8((int8_t)q->hi));
  if (n == 16) {
    _mm_storeu_si128((__m128i *)dst, b);
  } else if (n == 8) {
    _mm_storel_epi64((__m128i *)dst, b);
  } else {
    int8_t t8[16];
    _mm_storeu_si128((__m128i *)t8, b);
    memcpy(dst, t8, (size_t)n);
  }
}

/* what the fast requantization of a GEMM call keeps in registers */
typedef struct qm_regs {
  __m256i off16;
  __m128i lo8, hi8;
} qm_regs;

/* 8 accumulators -> "upward" requantized int32 by the one-step constants k (ukernels.h) */
ER_INLINE_AVX2 __m256i qm_fast8(__m256i x, const int32_t *k) {
  const __m256i pe = _mm256_add_epi64(_mm256_mul_epi32(x, _mm256_loadu_si256((const __m256i *)k)),
                                      _mm256_loadu_si256((const __m256i *)(k + 16)));
  const __m256i po = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32),
                                                       _mm256_loadu_si256((const __m256i *)(k + 8))),
                                      _mm256_loadu_si256((const __m256i *)(k + 24)));
  const __m256i h = _mm256_blend_epi32(_mm256_srli_epi64(pe, 32), po, 0xAA);
  return _mm256_srav_epi32(h, _mm256_loadu_si256((const __m256i *)(k + 32)));
}

/* requantized int32 of channels c .. c+7 and c+8 .. c+15 -> 16 int8 (+ offset, clamp) in channel order */
ER_INLINE_AVX2 __m128i qm_pack16(__m256i v0, __m256i v1, const qm_regs *g) {
  const __m256i t = _mm256_adds_epi16(_mm256_packs_epi32(v0, v1), g->off16);
  const __m128i b = _mm_shuffle_epi32(_mm_packs_epi16(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1)), 0xD8);
  return _mm_min_epi8(_mm_max_epi8(b, g->lo8), g->hi8);
}

ER_INLINE_AVX2 void qm_put(__m128i b, int64_t n, int8_t *dst) {
  if (n == 16) {
    _mm_storeu_si128((__m128i *)dst, b);
  } else if (n == 8) {
    _mm_storel_epi64((__m128i *)dst, b);
  } else {
    int8_t t8[16];
    _mm_storeu_si128((__m128i *)t8, b);
    memcpy(dst, t8, (size_t)n);
  }
}

/* one row's accumulators of channels j .. j+n-1 (n <= 16) out: fast form when it covers them, else qm_store16 */
ER_INLINE_AVX2 void qm_out_row(__m256i a0, __m256i a1, int64_t j, int64_t n, int fast, const qm_regs *g,
                               const er_qm_out *q, int8_t *dst) {
  if (fast) {
    const int32_t *k = q->rq + j / 8 * ER_QM_RQ_WORDS;
    const __m256i v0 = qm_fast8(a0, k), v1 = n > 8 ? qm_fast8(a1, k + ER_QM_RQ_WORDS) : v0;
    qm_put(qm_pack16(v0, v1, g), n, dst);
  } else {
    qm_store16(a0, a1, j, n, q, dst);
  }
}

#define QM_ROW_MADD(c0, c1, row)                                                 \
  do {                                                                         \
    const __m256i x_ = _mm256_set1_epi32(er_qc_ld_pair((row) + 2 * k));        \
    c0 = _mm256_add_epi32(c0, _mm256_madd_epi16(x_, w0));                      \
    c1 = _mm256_add_epi32(c1, _mm256_madd_epi16(x_, w1));                      \
  } while (0)

/* 4 rows x 16 channels (two panels) */
ER_INLINE_AVX2 void qm_tile4x16(const int16_t *a, int64_t kp, const int8_t *b, int64_t j, int64_t n, int fast,
                                const qm_regs *g, const er_qm_out *q, int8_t *dst, int64_t ldd) {
  const int64_t kk = kp / 2;
  const int8_t *b0 = b + j * kp, *b1 = b0 + 8 * kp;
  const int16_t *a0 = a, *a1 = a + kp, *a2 = a + 2 * kp, *a3 = a + 3 * kp;
  __m256i c00 = _mm256_loadu_si256((const __m256i *)(q->bias + j));
  __m256i c01 = _mm256_loadu_si256((const __m256i *)(q->bias + j + 8));
  __m256i c10 = c00, c11 = c01, c20 = c00, c21 = c01, c30 = c00, c31 = c01;
  for (int64_t k = 0; k < kk; ++k) {
    const __m256i w0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b0 + 16 * k)));
    const __m256i w1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b1 + 16 * k)));
    QM_ROW_MADD(c00, c01, a0);
    QM_ROW_MADD(c10, c11, a1);
    QM_ROW_MADD(c20, c21, a2);
    QM_ROW_MADD(c30, c31, a3);
  }
  qm_out_row(c00, c01, j, n, fast, g, q, dst + j);
  qm_out_row(c10, c11, j, n, fast, g, q, dst + ldd + j);
  qm_out_row(c20, c21, j, n, fast, g, q, dst + 2 * ldd + j);
  qm_out_row(c30, c31, j, n, fast, g, q, dst + 3 * ldd + j);
}

/* 4 rows x 8 channels (the last panel of an odd count) */
ER_INLINE_AVX2 void qm_tile4x8(const int16_t *a, int64_t kp, const int8_t *b, int64_t j, int64_t n, int fast,
                               const qm_regs *g, const er_qm_out *q, int8_t *dst, int64_t ldd) {
  const int64_t kk = kp / 2;
  const int8_t *b0 = b + j * kp;
  const int16_t *a0 = a, *a1 = a + kp, *a2 = a + 2 * kp, *a3 = a + 3 * kp;
  __m256i c0 = _mm256_loadu_si256((const __m256i *)(q->bias + j)), c1 = c0, c2 = c0, c3 = c0;
  for (int64_t k = 0; k < kk; ++k) {
    const __m256i w0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b0 + 16 * k)));
    c0 = _mm256_add_epi32(c0, _mm256_madd_epi16(_mm256_set1_epi32(er_qc_ld_pair(a0 + 2 * k)), w0));
    c1 = _mm256_add_epi32(c1, _mm256_madd_epi16(_mm256_set1_epi32(er_qc_ld_pair(a1 + 2 * k)), w0));
    c2 = _mm256_add_epi32(c2, _mm256_madd_epi16(_mm256_set1_epi32(er_qc_ld_pair(a2 + 2 * k)), w0));
    c3 = _mm256_add_epi32(c3, _mm256_madd_epi16(_mm256_set1_epi32(er_qc_ld_pair(a3 + 2 * k)), w0));
  }
  qm_out_row(c0, c0, j, n, fast, g, q, dst + j);
  qm_out_row(c1, c1, j, n, fast, g, q, dst + ldd + j);
  qm_out_row(c2, c2, j, n, fast, g, q, dst + 2 * ldd + j);
  qm_out_row(c3, c3, j, n, fast, g, q, dst + 3 * ldd + j);
}

/* 1 row x 16 channels (n <= 8: one panel), two k-pairs per step */
ER_INLINE_AVX2 void qm_tile1(const int16_t *a, int64_t kp, const int8_t *b, int64_t j, int64_t n, int fast,
                             const qm_regs *g, const er_qm_out *q, int8_t *dst) {
  const int64_t kk = kp / 2;
  const int8_t *b0 = b + j * kp, *b1 = b0 + 8 * kp;
  __m256i c0 = _mm256_loadu_si256((const __m256i *)(q->bias + j)), e0 = _mm256_setzero_si256();
  if (n > 8) {
    __m256i c1 = _mm256_loadu_si256((const __m256i *)(q->bias + j + 8)), e1 = e0;
    int64_t k = 0;
    for (; k + 2 <= kk; k += 2) {
      const __m256i x0 = _mm256_set1_epi32(er_qc_ld_pair(a + 2 * k)), x1 = _mm256_set1_epi32(er_qc_ld_pair(a + 2 * k + 2));
      c0 = _mm256_add_epi32(c0, _mm256_madd_epi16(x0, _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b0 + 16 * k)))));
      c1 = _mm256_add_epi32(c1, _mm256_madd_epi16(x0, _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b1 + 16 * k)))));
      e0 = _mm256_add_epi32(e0, _mm256_madd_epi16(x1, _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b0 + 16 * k + 16)))));
      e1 = _mm256_add_epi32(e1, _mm256_madd_epi16(x1, _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b1 + 16 * k + 16)))));
    }
    if (k < kk) {
      const __m256i x0 = _mm256_set1_epi32(er_qc_ld_pair(a + 2 * k));
      c0 = _mm256_add_epi32(c0, _mm256_madd_epi16(x0, _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b0 + 16 * k)))));
      c1 = _mm256_add_epi32(c1, _mm256_madd_epi16(x0, _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b1 + 16 * k)))));
    }
    qm_out_row(_mm256_add_epi32(c0, e0), _mm256_add_epi32(c1, e1), j, n, fast, g, q, dst + j);
    return;
  }
  int64_t k = 0;
  for (; k + 2 <= kk; k += 2) {
    c0 = _mm256_add_epi32(c0, _mm256_madd_epi16(_mm256_set1_epi32(er_qc_ld_pair(a + 2 * k)),
                                                _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b0 + 16 * k)))));
    e0 = _mm256_add_epi32(e0, _mm256_madd_epi16(_mm256_set1_epi32(er_qc_ld_pair(a + 2 * k + 2)),
                                                _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b0 + 16 * k + 16)))));
  }
  if (k < kk)
    c0 = _mm256_add_epi32(c0, _mm256_madd_epi16(_mm256_set1_epi32(er_qc_ld_pair(a + 2 * k)),
                                                _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b0 + 16 * k)))));
  c0 = _mm256_add_epi32(c0, e0);
  qm_out_row(c0, c0, j, n, fast, g, q, dst + j);
}

ER_ATTR_AVX2 static void er_qm_gemm_s8_avx2(const int16_t *a, int64_t np, int64_t kp, const int8_t *b, int64_t oc,
                                            const er_qm_out *q, int8_t *dst, int64_t ldd) {
  const qm_regs g = {_mm256_set1_epi16((int16_t)q->out_offset), _mm_set1_epi8((int8_t)q->lo),
                     _mm_set1_epi8((int8_t)q->hi)};
  const int64_t fast_end = q->rq ? q->vec_end : 0; /* channels below it take the fast form */
  int64_t j = 0;
  for (; j + 8 < oc; j += 16) {
    const int64_t n = oc - j < 16 ? oc - j : 16;
    const int fast = j + n <= fast_end;
    int64_t i = 0;
    for (; i + 4 <= np; i += 4) qm_tile4x16(a + i * kp, kp, b, j, n, fast, &g, q, dst + i * ldd, ldd);
    for (; i < np; ++i) qm_tile1(a + i * kp, kp, b, j, n, fast, &g, q, dst + i * ldd);
  }
  if (j < oc) {
    const int64_t n = oc - j;
    const int fast = j + n <= fast_end;
    int64_t i = 0;
    for (; i + 4 <= np; i += 4) qm_tile4x8(a + i * kp, kp, b, j, n, fast, &g, q, dst + i * ldd, ldd);
    for (; i < np; ++i) qm_tile1(a + i * kp, kp, b, j, n, fast, &g, q, dst + i * ldd);
  }
}

/* depthwise: npix output pixels, pixel p's taps at taps[t] + p * step; 16 channels per step, then 8, then the
 * last 1-7: the pixel's last 8 bytes shifted down (C >= 8), else zero-extended copies (never reading past a
 * pixel) */
ER_ATTR_AVX2 static void er_qm_dw_s8_avx2(const int8_t *const *taps, int64_t ntp, const int8_t *w, int64_t C,
                                          int64_t Cp, const er_qm_out *q, int8_t *dst, int64_t npix, int64_t step) {
  const qm_regs g = {_mm256_set1_epi16((int16_t)q->out_offset), _mm_set1_epi8((int8_t)q->lo),
                     _mm_set1_epi8((int8_t)q->hi)};
  const int64_t fast_end = q->rq ? q->vec_end : 0;
  const int32_t *bias = q->bias;
  /* the last C % 8 channels (C >= 8): byte i of the shuffle takes byte 8 - C % 8 + i, zero past them */
  const int64_t nt = C % 8;
  int8_t sh[16];
  for (int i = 0; i < 16; ++i) sh[i] = (int8_t)(i < nt ? 8 - nt + i : 0x80);
  const __m128i tail_shift = _mm_loadu_si128((const __m128i *)sh);
  for (int64_t px = 0; px < npix; ++px, dst += C) {
    const int64_t off = px * step;
    int64_t c = 0;
    for (; c + 16 <= C; c += 16) {
      __m256i s0 = _mm256_loadu_si256((const __m256i *)(bias + c));
      __m256i s1 = _mm256_loadu_si256((const __m256i *)(bias + c + 8));
      const int8_t *wt = w + c * 2;
      for (int64_t t = 0; t < ntp; ++t, wt += Cp * 2) {
        const __m128i xa = _mm_loadu_si128((const __m128i *)(taps[2 * t] + off + c));
        const __m128i xb = _mm_loadu_si128((const __m128i *)(taps[2 * t + 1] + off + c));
        s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_unpacklo_epi8(xa, xb)),
                                                     _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)wt))));
        s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_unpackhi_epi8(xa, xb)),
                                                     _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(wt + 16)))));
      }
      qm_out_row(s0, s1, c, 16, c + 16 <= fast_end, &g, q, dst + c);
    }
    if (c + 8 <= C) {
      __m256i s0 = _mm256_loadu_si256((const __m256i *)(bias + c));
      const int8_t *wt = w + c * 2;
      for (int64_t t = 0; t < ntp; ++t, wt += Cp * 2) {
        const __m128i xa = _mm_loadl_epi64((const __m128i *)(taps[2 * t] + off + c));
        const __m128i xb = _mm_loadl_epi64((const __m128i *)(taps[2 * t + 1] + off + c));
        s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_unpacklo_epi8(xa, xb)),
                                                     _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)wt))));
      }
      qm_out_row(s0, s0, c, 8, c + 8 <= fast_end, &g, q, dst + c);
      c += 8;
    }
    if (c < C) {
      const int64_t n = C - c;
      __m256i s0 = _mm256_loadu_si256((const __m256i *)(bias + c));
      for (int64_t t = 0; t < ntp; ++t) {
        __m128i va, vb;
        if (C >= 8) { /* the pixel's last 8 bytes, shifted down by 8 - n (vpshufb; the rest zero) */
          va = _mm_shuffle_epi8(_mm_loadl_epi64((const __m128i *)(taps[2 * t] + off + C - 8)), tail_shift);
          vb = _mm_shuffle_epi8(_mm_loadl_epi64((const __m128i *)(taps[2 * t + 1] + off + C - 8)), tail_shift);
        } else {
          int8_t xa[16] = {0}, xb[16] = {0};
          memcpy(xa, taps[2 * t] + off + c, (size_t)n);
          memcpy(xb, taps[2 * t + 1] + off + c, (size_t)n);
          va = _mm_loadl_epi64((const __m128i *)xa);
          vb = _mm_loadl_epi64((const __m128i *)xb);
        }
        const __m128i p = _mm_unpacklo_epi8(va, vb);
        s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(_mm256_cvtepi8_epi16(p),
                                                     _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w + (t * Cp + c) * 2)))));
      }
      qm_out_row(s0, s0, c, n, c + n <= fast_end, &g, q, dst + c);
    }
  }
}

const er_qc_ukernels er_qc_ukernels_avx2 = {er_qc_gemm_avx2, er_qc_load8_avx2, er_qc_dw_avx2,
                                             er_qc_requant_upward_avx2};
const er_qm_ukernels er_qm_ukernels_avx2 = {er_qm_gemm_s8_avx2, er_qm_dw_s8_avx2, NULL, 0, 0};
#else
typedef int er_q_conv_avx2_unused;
#endif
