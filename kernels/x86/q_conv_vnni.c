/* AVX512-VNNI micro-kernel of the int8 GEMM on the "dot" layout (kernels/opt/q_conv_dot.c: weights in groups of
 * 4 consecutive k per channel, 8 channels per panel), selected at load for the avx512vnni ISA
 * (kernels/host_isa.c). VPDPBUSD multiplies unsigned by signed bytes, so each activation is made unsigned,
 * u = x ^ 0x80 = x + 128, and the surplus 128 * sum_k w[o][k] is taken off by starting the accumulators at
 * -VPDPBUSD(0x80808080, w) (gemm: computed once per call and panel group; gemm_q: folded into the combined bias
 * once per op by fold_bias):
 *   sum_k u_k * w_k - 128 * sum_k w_k = sum_k x_k * w_k
 * exact in int32 (|u * w| <= 255 * 128 per product, K * 255 * 128 < 2^31 by prepare's bound), wrapping adds
 * only, so the sums equal the portable loop's bit for bit. 256-bit vectors (AVX512VL encodings, 32 registers):
 * on AMD Zen 4 a zmm operation is two ymm operations, and 8 channels per vector match the panels; a tile is 6
 * rows x 4 panels (24 accumulators). gemm_q adds the bias and requantizes in registers (the "upward" rounding
 * vectorized as the unfused path's er_qc_requant_upward_avx2, TFLite's double rounding lane by lane), instead of
 * a round trip of int32 sums through memory. On other targets this file compiles to nothing. */
#include <string.h>

#include "edgerun/edgerun.h"
#include "../opt/ukernels.h"

#if ER_HAVE_X86_UKERNELS
#include <immintrin.h>

#define ER_VNNI_TARGET "avx2,avx512f,avx512vl,avx512bw,avx512vnni"
#define ER_ATTR_VNNI __attribute__((target(ER_VNNI_TARGET)))
#define ER_INLINE_VNNI static inline __attribute__((always_inline, target(ER_VNNI_TARGET)))

#define QV_MR 6 /* rows per tile */
#define QV_NP 4 /* panels (of 8 channels) per tile */

/* four activation bytes of a row, made unsigned, in every lane: a broadcast load and a vector xor (not a scalar
 * xor moved across, two more operations per row and k-step of the tiles) */
ER_INLINE_VNNI __m256i qv_bcast(const int8_t *p) {
  int32_t v;
  memcpy(&v, p, sizeof v);
  return _mm256_xor_si256(_mm256_set1_epi32(v), _mm256_set1_epi32((int32_t)0x80808080u));
}

/* the "upward" requantization of 8 accumulators (bias included) of channels with multipliers m (none INT32_MIN)
 * and shifts s, + out_offset, clamped: the operations of er_qc_requant_upward_avx2 (kernels/x86/q_conv_avx2.c),
 * which the unfused path applies, so both give the same bytes */
typedef struct qv_rq {
  __m256i m, m_odd, lsh, rsh, rsh1, rmask;
} qv_rq;

ER_INLINE_VNNI qv_rq qv_rq_init(__m256i m, __m256i s) {
  const __m256i zero = _mm256_setzero_si256(), one = _mm256_set1_epi32(1);
  qv_rq r;
  r.m = m;
  r.m_odd = _mm256_srli_epi64(m, 32);
  r.lsh = _mm256_max_epi32(s, zero);
  r.rsh = _mm256_max_epi32(_mm256_sub_epi32(zero, s), zero);
  r.rsh1 = _mm256_max_epi32(_mm256_sub_epi32(r.rsh, one), zero);
  r.rmask = _mm256_and_si256(one, _mm256_cmpgt_epi32(r.rsh, zero));
  return r;
}

/* + out_offset, clamped inside int8 (so vpmovdb's truncation is exact) */
ER_INLINE_VNNI __m128i qv_pack8(__m256i v, __m256i vlo, __m256i vhi, __m256i voff) {
  return _mm256_cvtepi32_epi8(_mm256_add_epi32(_mm256_min_epi32(_mm256_max_epi32(v, vlo), vhi), voff));
}

/* the one-step form of ukernels.h (ER_QM_RQ_WORDS) for shifts -22..-1, its constants derived per panel, with the
 * output offset folded in (a multiple of 2^32 added before the high word, so exact: |x * m + rc| < 2^63 for
 * r <= 22):
 *   (high word of x * m + 2^30 + 2^(30+r) + off * 2^(31+r)) >> (r - 1)
 *     = floor((floor((x * m + 2^30) / 2^31) + 2^(r-1)) / 2^r) + off */
typedef struct qv_rq1 {
  __m256i m, m_odd, rc_even, rc_odd, rm1;
} qv_rq1;

ER_INLINE_VNNI qv_rq1 qv_rq1_init(__m256i m, __m256i s, int32_t out_offset) {
  const __m256i r = _mm256_sub_epi32(_mm256_setzero_si256(), s), one = _mm256_set1_epi64x(1);
  const __m256i nudge = _mm256_set1_epi64x((int64_t)1 << 30), thirty = _mm256_set1_epi64x(30);
  const __m256i off = _mm256_set1_epi64x(out_offset);
  qv_rq1 k;
  k.m = m;
  k.m_odd = _mm256_srli_epi64(m, 32);
  const __m256i r_even = _mm256_srli_epi64(_mm256_slli_epi64(r, 32), 32), r_odd = _mm256_srli_epi64(r, 32);
  k.rc_even = _mm256_add_epi64(_mm256_add_epi64(nudge, _mm256_sllv_epi64(one, _mm256_add_epi64(r_even, thirty))),
                               _mm256_sllv_epi64(off, _mm256_add_epi64(r_even, _mm256_add_epi64(thirty, one))));
  k.rc_odd = _mm256_add_epi64(_mm256_add_epi64(nudge, _mm256_sllv_epi64(one, _mm256_add_epi64(r_odd, thirty))),
                              _mm256_sllv_epi64(off, _mm256_add_epi64(r_odd, _mm256_add_epi64(thirty, one))));
  k.rm1 = _mm256_sub_epi32(r, _mm256_set1_epi32(1));
  return k;
}

/* requantized + output offset: the high words of the even and odd products picked by one vpermt2d */
ER_INLINE_VNNI __m256i qv_requant1(__m256i x, const qv_rq1 *k) {
  const __m256i pe = _mm256_add_epi64(_mm256_mul_epi32(x, k->m), k->rc_even);
  const __m256i po = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), k->m_odd), k->rc_odd);
  const __m256i hi_words = _mm256_setr_epi32(1, 9, 3, 11, 5, 13, 7, 15);
  return _mm256_srav_epi32(_mm256_permutex2var_epi32(pe, hi_words, po), k->rm1);
}

ER_INLINE_VNNI __m128i qv_requant8(__m256i x, const qv_rq *r, __m256i vlo, __m256i vhi, __m256i voff) {
  const __m256i nudge = _mm256_set1_epi64x((int64_t)1 << 30);
  x = _mm256_sllv_epi32(x, r->lsh);
  const __m256i pe = _mm256_add_epi64(_mm256_mul_epi32(x, r->m), nudge);
  const __m256i po = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), r->m_odd), nudge);
  const __m256i h = _mm256_blend_epi32(_mm256_srli_epi64(pe, 31), _mm256_slli_epi64(_mm256_srli_epi64(po, 31), 32),
                                       0xAA);
  const __m256i rbit = _mm256_and_si256(_mm256_srav_epi32(h, r->rsh1), r->rmask);
  return qv_pack8(_mm256_add_epi32(_mm256_srav_epi32(h, r->rsh), rbit), vlo, vhi, voff);
}

/* how one panel's channels are requantized, decided and derived once per call and panel group */
#define QV_ONE_STEP 0 /* upward, shifts -22..-1: qv_requant1 (output offset folded) */
#define QV_GENERAL 1  /* upward, some shift >= 0 (or < -22): qv_requant8 */
#define QV_SCALAR 2   /* TFLite's double rounding (UPWARD8's last channels, TFLITE), or a multiplier of INT32_MIN */
typedef struct qv_panel {
  qv_rq1 k;
  qv_rq g;
  int64_t c0, nv; /* first channel, channels below oc (1..8) */
  int mode;
} qv_panel;

ER_INLINE_VNNI void qv_panel_init(qv_panel *pn, const er_qm_out *q, int64_t c0, int64_t oc) {
  pn->c0 = c0;
  pn->nv = oc - c0 < 8 ? oc - c0 : 8;
  const __mmask8 mk = (__mmask8)((1u << pn->nv) - 1);
  const __m256i m = _mm256_maskz_loadu_epi32(mk, q->mult + c0);
  const __m256i sh = _mm256_mask_loadu_epi32(_mm256_set1_epi32(-1), mk, q->shift + c0); /* past oc: -1 */
  pn->k = qv_rq1_init(m, sh, q->out_offset); /* both forms' constants (a few operations per call and panel) */
  pn->g = qv_rq_init(m, sh);
  if (c0 + pn->nv > q->up_end || _mm256_cmpeq_epi32_mask(m, _mm256_set1_epi32(INT32_MIN)))
    pn->mode = QV_SCALAR;
  else if (!_mm256_cmpgt_epi32_mask(sh, _mm256_set1_epi32(-1)) && !_mm256_cmplt_epi32_mask(sh, _mm256_set1_epi32(-22)))
    pn->mode = QV_ONE_STEP;
  else
    pn->mode = QV_GENERAL;
}

ER_INLINE_VNNI void qv_put8(__m128i v, const qv_panel *pn, int8_t *dst) {
  if (pn->nv == 8)
    _mm_storel_epi64((__m128i *)(dst + pn->c0), v);
  else
    _mm_mask_storeu_epi8(dst + pn->c0, (__mmask16)((1u << pn->nv) - 1), v);
}

/* rows [0, mr) x panels [0, np) of one tile (mr, np, rq compile-time constants at each call, so the accumulators
 * stay in registers), accumulators starting at init[j]. rq 0: int32 sums to c[i * ldc + 8 * j + l]; 1:
 * requantized by q and pan[j] to dst[i * ldd + pan[j].c0 + l] */
ER_INLINE_VNNI void qv_tile(const int8_t *a, int64_t lda, int64_t k4, const int8_t *b, const __m256i *init, int mr,
                            int np, int rq, int32_t *c, int64_t ldc, const er_qm_out *q, const qv_panel *pan, int pk,
                            int8_t *dst, int64_t ldd) {
  __m256i acc[QV_MR][QV_NP];
  for (int i = 0; i < mr; ++i)
    for (int j = 0; j < np; ++j) acc[i][j] = init[j];
  for (int64_t k = 0; k < k4; k += 4) {
    __m256i w[QV_NP];
    for (int j = 0; j < np; ++j) w[j] = _mm256_loadu_si256((const __m256i *)(b + j * 8 * k4 + 8 * k));
    for (int i = 0; i < mr; ++i) {
      const __m256i x = qv_bcast(a + i * lda + k);
      for (int j = 0; j < np; ++j) acc[i][j] = _mm256_dpbusd_epi32(acc[i][j], x, w[j]);
    }
  }
  if (!rq) {
    for (int i = 0; i < mr; ++i)
      for (int j = 0; j < np; ++j) _mm256_storeu_si256((__m256i *)(c + i * ldc + 8 * j), acc[i][j]);
    return;
  }
  if (pk && (np == 4 || np == 2)) {
    /* every panel one-step with all 8 channels, clamp bounds inside int8: a row's 4 (2) panels packed together
     * by saturating packs (int32 -> int16 -> int8), the lane interleave undone by one vpermd, then clamped as
     * bytes (the same bytes as clamping the int32 values: saturation keeps the order and [lo, hi] lies inside
     * int8) */
    const __m256i lo8 = _mm256_set1_epi8((char)q->lo), hi8 = _mm256_set1_epi8((char)q->hi);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
#pragma GCC unroll 6
    for (int i = 0; i < mr; ++i) {
      const __m256i p01 = _mm256_packs_epi32(qv_requant1(acc[i][0], &pan[0].k), qv_requant1(acc[i][1], &pan[1].k));
      const __m256i p23 =
          np == 4 ? _mm256_packs_epi32(qv_requant1(acc[i][2], &pan[2].k), qv_requant1(acc[i][3], &pan[3].k)) : p01;
      const __m256i v = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(p01, p23), order);
      const __m256i r = _mm256_min_epi8(_mm256_max_epi8(v, lo8), hi8);
      if (np == 4)
        _mm256_storeu_si256((__m256i *)(dst + i * ldd + pan[0].c0), r);
      else
        _mm_storeu_si128((__m128i *)(dst + i * ldd + pan[0].c0), _mm256_castsi256_si128(r));
    }
    return;
  }
  const __m256i vlo = _mm256_set1_epi32(q->lo - q->out_offset), vhi = _mm256_set1_epi32(q->hi - q->out_offset);
  const __m256i voff = _mm256_set1_epi32(q->out_offset);
  const __m256i vlo1 = _mm256_set1_epi32(q->lo), vhi1 = _mm256_set1_epi32(q->hi); /* the offset already added */
  /* unrolled (as the loops above are by the constant bounds) so that acc[i][j] stays a register */
#pragma GCC unroll 4
  for (int j = 0; j < np; ++j) {
    const qv_panel *pn = &pan[j];
    if (pn->mode == QV_ONE_STEP) {
#pragma GCC unroll 6
      for (int i = 0; i < mr; ++i)
        qv_put8(_mm256_cvtepi32_epi8(_mm256_min_epi32(_mm256_max_epi32(qv_requant1(acc[i][j], &pn->k), vlo1), vhi1)),
                pn, dst + i * ldd);
    } else if (pn->mode == QV_GENERAL) {
#pragma GCC unroll 6
      for (int i = 0; i < mr; ++i) qv_put8(qv_requant8(acc[i][j], &pn->g, vlo, vhi, voff), pn, dst + i * ldd);
    } else {
#pragma GCC unroll 6
      for (int i = 0; i < mr; ++i) {
        int32_t t[8];
        _mm256_storeu_si256((__m256i *)t, acc[i][j]);
        for (int64_t l = 0; l < pn->nv; ++l) dst[i * ldd + pn->c0 + l] = er_qm_requant1(t[l], pn->c0 + l, q);
      }
    }
  }
}

/* every row of one panel group (channels j0 ..): full tiles of QV_MR rows, then the remaining 1..QV_MR-1 rows in
 * one tile. The accumulators start at -128 * the channel sums (+ the bias when requantizing). */
ER_INLINE_VNNI void qv_group(const int8_t *a, int64_t n_rows, int64_t lda, int64_t k4, const int8_t *b, int np,
                             int rq, int32_t *c, int64_t ldc, const er_qm_out *q, int64_t j0, int64_t oc, int8_t *dst,
                             int64_t ldd) {
  const __m256i bias = _mm256_set1_epi32((int32_t)0x80808080u);
  __m256i init[QV_NP];
  qv_panel pan[QV_NP];
  if (rq) { /* the folded bias of the channels below oc (er_qd_fold_bias_avx512vnni) */
    for (int j = 0; j < np; ++j) {
      qv_panel_init(&pan[j], q, j0 + 8 * j, oc);
      init[j] = _mm256_maskz_loadu_epi32((__mmask8)((1u << pan[j].nv) - 1), q->bias + pan[j].c0);
    }
  } else {
    for (int j = 0; j < np; ++j) init[j] = _mm256_setzero_si256();
    for (int64_t k = 0; k < k4; k += 4)
      for (int j = 0; j < np; ++j)
        init[j] = _mm256_dpbusd_epi32(init[j], bias, _mm256_loadu_si256((const __m256i *)(b + j * 8 * k4 + 8 * k)));
    for (int j = 0; j < np; ++j) init[j] = _mm256_sub_epi32(_mm256_setzero_si256(), init[j]);
  }
  /* the packed output of qv_tile: 4 or 2 panels, all one-step with 8 channels, clamp bounds inside int8 */
  int pk = rq && (np == 4 || np == 2) && q->lo >= -128 && q->hi <= 127 && q->lo <= q->hi;
  for (int j = 0; pk && j < np; ++j) pk = pan[j].mode == QV_ONE_STEP && pan[j].nv == 8;
  int64_t i = 0;
  for (; i + QV_MR <= n_rows; i += QV_MR)
    qv_tile(a + i * lda, lda, k4, b, init, QV_MR, np, rq, c + i * ldc, ldc, q, pan, pk, dst + i * ldd, ldd);
#define QV_REST(r)                                                                                                  \
  case r:                                                                                                           \
    qv_tile(a + i * lda, lda, k4, b, init, r, np, rq, c + i * ldc, ldc, q, pan, pk, dst + i * ldd, ldd);           \
    break;
  switch (n_rows - i) {
    QV_REST(5)
    QV_REST(4)
    QV_REST(3)
    QV_REST(2)
    QV_REST(1)
    default: break;
  }
#undef QV_REST
}

/* one function per group width (the tiles' np), for the int32 form (rq 0) and the requantizing one */
#define QV_GROUP(np)                                                                                                \
  ER_ATTR_VNNI static void qv_group##np(const int8_t *a, int64_t n, int64_t lda, int64_t k4, const int8_t *b,       \
                                        int32_t *c, int64_t ldc) {                                                  \
    qv_group(a, n, lda, k4, b, np, 0, c, ldc, NULL, 0, 0, NULL, 0);                                                 \
  }                                                                                                                 \
  ER_ATTR_VNNI static void qv_group##np##_q(const int8_t *a, int64_t n, int64_t lda, int64_t k4, const int8_t *b,   \
                                            const er_qm_out *q, int64_t j0, int64_t oc, int8_t *dst, int64_t ldd) { \
    qv_group(a, n, lda, k4, b, np, 1, NULL, 0, q, j0, oc, dst, ldd);                                                \
  }
QV_GROUP(1)
QV_GROUP(2)
QV_GROUP(3)
QV_GROUP(4)
#undef QV_GROUP

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

/* er_qd_ukernels.gemm_q: the same sums plus q->bias (folded by er_qd_fold_bias_avx512vnni), requantized by q into
 * dst[i * ldd + o], o < oc */
ER_ATTR_VNNI static void er_qd_gemm_q_avx512vnni(const int8_t *a, int64_t np, int64_t lda, int64_t k4,
                                                 const int8_t *b, int64_t oc, const er_qm_out *q, int8_t *dst,
                                                 int64_t ldd) {
  const int64_t ocp = (oc + 7) / 8 * 8;
  int64_t j = 0;
  for (; j + 8 * QV_NP <= ocp; j += 8 * QV_NP) qv_group4_q(a, np, lda, k4, b + j * k4, q, j, oc, dst, ldd);
  switch ((ocp - j) / 8) {
    case 3: qv_group3_q(a, np, lda, k4, b + j * k4, q, j, oc, dst, ldd); break;
    case 2: qv_group2_q(a, np, lda, k4, b + j * k4, q, j, oc, dst, ldd); break;
    case 1: qv_group1_q(a, np, lda, k4, b + j * k4, q, j, oc, dst, ldd); break;
    default: break;
  }
}

/* er_qd_ukernels.fold_bias: cb[o] -= 128 * wsum[o] (wrapping), o < oc, once per op: gemm_q's accumulators start
 * at it (the surplus of the unsigned activations taken off up front; the sums were packed at prepare) */
static void er_qd_fold_bias_avx512vnni(const int32_t *wsum, int64_t oc, int32_t *cb) {
  for (int64_t o = 0; o < oc; ++o) cb[o] = (int32_t)((uint32_t)cb[o] - ((uint32_t)wsum[o] << 7));
}

const er_qd_ukernels er_qd_ukernels_avx512vnni = {er_qd_gemm_avx512vnni, er_qd_gemm_q_avx512vnni,
                                                   er_qd_fold_bias_avx512vnni};
#else
typedef int er_q_conv_vnni_unused;
#endif
