/* AVX-512 depthwise of the int8 "madd" layout (s8_dwconv2d_madd, kernels/opt/q_conv.c: int8 weights as tap pairs
 * [ntp][Cp][2], the input zero point folded into the bias), selected at load for the avx512vnni ISA
 * (er_qm_ukernels_avx512vnni: its own row loop, dw_rows; plans are the same as avx2's).
 *
 * The two taps of a pair are interleaved byte-wise (vpunpcklbw / vpunpckhbw, in-lane), sign-extended to int16
 * (vpmovsxbw ymm -> zmm) and multiplied-accumulated into int32 lanes by VPDPWSSD (two int16 products added to a
 * lane, wrapping). A "full" block is 32 channels of one pixel: the in-lane unpacks give its two accumulators the
 * channels [0-7, 16-23] and [8-15, 24-31]. A "half" block is 16 channels of two pixels (the two 128-bit halves of
 * the loads): accumulators [pixel a 0-7, pixel b 0-7] and [a 8-15, b 8-15], so 16-channel layers (and the last
 * 1-16 channels of others) fill whole vectors. Weights (sign-extended), bias and requantization constants are
 * laid out once per task in those lane orders (on the stack, up to DWV_CHUNK channels at a time) and read by
 * every pixel of the task's rows.
 *
 * Exact int32 sums (wrapping adds, as the reference's accumulators), the "upward" requantization in one step
 * (ukernels.h, r = -shift >= 1) in registers; blocks with channels of TFLite's rounding (UPWARD8's last C % 8,
 * TFLITE) in registers too, lane by lane beside the "upward" ones (dwv_requant_tfl; in single-rounding mode the
 * one step with their own constants); blocks with a shift >= 0 or below -31 (on TFLite's channels) or a
 * multiplier of INT32_MIN go through er_qm_requant1, the scalar definition. Channels past C are masked (no read past
 * a pixel, no write past it). Out-of-image taps read the driver's zero-point row, whose products the folded bias
 * cancels. On other targets this file compiles to nothing. */
#include <string.h>

#include "edgerun/edgerun.h"
#include "../opt/ukernels.h"

#if ER_HAVE_X86_UKERNELS
#include <immintrin.h>

#define ER_DWV_TARGET "avx2,avx512f,avx512vl,avx512bw,avx512vnni"
#define ER_ATTR_DWV __attribute__((target(ER_DWV_TARGET)))
#define ER_INLINE_DWV static inline __attribute__((always_inline, target(ER_DWV_TARGET)))

#define DWV_MAX_NTP 16 /* tap pairs (up to 5x5 and 6x5 kernels); more: the driver's rows on AVX2's micro-kernel */
#define DWV_CHUNK 128  /* channels whose constants a task lays out at a time (4 full blocks) */
#define DWV_BLOCKS (DWV_CHUNK / 32 + 1)

/* mask of the first n (clamped to 0..bits) elements */
static inline uint32_t dwv_mask(int64_t n, int bits) {
  return n <= 0 ? 0u : n >= bits ? (bits == 32 ? 0xFFFFFFFFu : (1u << bits) - 1) : (1u << n) - 1;
}

/* [src[i0 .. i0+7] | src[i1 .. i1+7]], elements at or past n replaced by fill */
ER_INLINE_DWV __m512i dwv_load2(const int32_t *src, int64_t i0, int64_t i1, int64_t n, int32_t fill) {
  const __m256i f = _mm256_set1_epi32(fill);
  const __mmask8 m0 = (__mmask8)dwv_mask(n - i0, 8), m1 = (__mmask8)dwv_mask(n - i1, 8);
  const __m256i lo = _mm256_mask_loadu_epi32(f, m0, src + (m0 ? i0 : 0));
  const __m256i hi = _mm256_mask_loadu_epi32(f, m1, src + (m1 ? i1 : 0));
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

/* the tap-pair weights (int8 [Cp][2] at p) of channels i0 .. i0+7 and i1 .. i1+7 (past n: 0), sign-extended */
ER_INLINE_DWV __m512i dwv_wload2(const int8_t *p, int64_t i0, int64_t i1, int64_t n) {
  const __mmask16 m0 = (__mmask16)dwv_mask(2 * (n - i0), 16), m1 = (__mmask16)dwv_mask(2 * (n - i1), 16);
  const __m128i lo = _mm_maskz_loadu_epi8(m0, p + (m0 ? 2 * i0 : 0));
  const __m128i hi = _mm_maskz_loadu_epi8(m1, p + (m1 ? 2 * i1 : 0));
  return _mm512_cvtepi8_epi16(_mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1));
}

/* one accumulator vector's constants: bias, then the one-step "upward" requantization (multipliers m, right
 * shifts r = -shift >= 1, r past 32 taken as 32, which gives the same 0 or -1) */
typedef struct dwv_acc {
  __m512i bias, m, m_odd, rc_even, rc_odd, rm1;
  __m512i r, mask, half; /* TFLite's double rounding (dwv_requant_tfl): r, 2^r - 1, 2^(r-1) - 1 */
  __mmask16 tfl;         /* lanes of channels at or past the "upward" end: TFLite's rounding */
} dwv_acc;

/* a block's constants and weights: two accumulator vectors (lo, hi), the tap pairs' sign-extended weights */
typedef struct dwv_block {
  dwv_acc k[2];
  __m512i w[2][DWV_MAX_NTP];
  int64_t c, nc; /* first channel, channels (full: 1..32, half: 1..16) */
  int vec;       /* dwv_vec: 1 the one-step form, 2 with TFLite's double rounding, 0 scalar */
} dwv_block;

ER_INLINE_DWV void dwv_acc_init(dwv_acc *a, const er_qm_out *q, int64_t i0, int64_t i1, int64_t end, int64_t cp) {
  a->bias = dwv_load2(q->bias, i0, i1, cp, 0);
  const __m512i m = dwv_load2(q->mult, i0, i1, end, 0);
  const __m512i r = _mm512_min_epi32(_mm512_sub_epi32(_mm512_setzero_si512(), dwv_load2(q->shift, i0, i1, end, -1)),
                                     _mm512_set1_epi32(32));
  unsigned tfl = 0;
  for (int k = 0; k < 8; ++k) tfl |= (i0 + k >= q->up_end ? 1u << k : 0u) | (i1 + k >= q->up_end ? 0x100u << k : 0u);
  a->tfl = (__mmask16)tfl;
  /* the one step's 2^30 (the doubling high multiply's nudge): every "upward" lane; in single-rounding mode
   * (er_rounding_mode 1) TFLite's lanes are (x * m + 2^(30+r)) >> (31 + r), the one step without it */
  const __m512i nud = _mm512_mask_mov_epi32(_mm512_set1_epi32(1), er_rounding_mode == 1 ? a->tfl : 0,
                                            _mm512_setzero_si512());
  const __m512i thirty = _mm512_set1_epi64(30), one = _mm512_set1_epi64(1);
  a->m = m;
  a->m_odd = _mm512_srli_epi64(m, 32);
  const __m512i r_even = _mm512_srli_epi64(_mm512_slli_epi64(r, 32), 32), r_odd = _mm512_srli_epi64(r, 32);
  const __m512i n_even = _mm512_srli_epi64(_mm512_slli_epi64(nud, 32), 32), n_odd = _mm512_srli_epi64(nud, 32);
  a->rc_even =
      _mm512_add_epi64(_mm512_slli_epi64(n_even, 30), _mm512_sllv_epi64(one, _mm512_add_epi64(r_even, thirty)));
  a->rc_odd = _mm512_add_epi64(_mm512_slli_epi64(n_odd, 30), _mm512_sllv_epi64(one, _mm512_add_epi64(r_odd, thirty)));
  a->rm1 = _mm512_sub_epi32(r, _mm512_set1_epi32(1));
  a->r = r;
  a->mask = _mm512_sub_epi32(_mm512_sllv_epi32(_mm512_set1_epi32(1), r), _mm512_set1_epi32(1));
  a->half = _mm512_srli_epi32(a->mask, 1);
}

/* how channels [c, end) are requantized: 1, the one step (dwv_requant) when they all lie below the "upward" end
 * and the prepared constants exist (every shift < 0, no INT32_MIN multiplier) or, without them, each channel
 * has such a shift and multiplier; when some lie past that end (TFLite's rounding: UPWARD8's last C % 8, TFLITE)
 * and every channel has a shift in [-31, -1] and no INT32_MIN multiplier: 2, dwv_requant_tfl (TFLite's double
 * rounding lane by lane), or 1 in single-rounding mode (its lanes' own one-step constants); else 0, the scalar
 * er_qm_requant1 */
static int dwv_vec(const er_qm_out *q, int64_t c, int64_t end) {
  if (end <= q->vec_end) {
    if (q->rq) return 1;
    for (int64_t o = c; o < end; ++o)
      if (q->mult[o] == INT32_MIN || q->shift[o] > -1) return 0;
    return 1;
  }
  for (int64_t o = c; o < end; ++o)
    if (q->mult[o] == INT32_MIN || q->shift[o] > -1 || q->shift[o] < -31) return 0;
  if (end <= q->up_end) return 1; /* past vec_end only as an INT32_MIN multiplier elsewhere in the op */
  return er_rounding_mode == 1 ? 1 : 2;
}

/* half 0: a full block of channels [c, c + 32) (lanes [c .. c+7, c+16 .. c+23] and [c+8 .. c+15, c+24 .. c+31]);
 * half 1: a half block of [c, c + 16) for two pixels (lanes [c .. c+7] twice, [c+8 .. c+15] twice) */
ER_INLINE_DWV void dwv_block_init(dwv_block *b, const er_qm_dw_job *j, int64_t c, int half) {
  const er_qm_out *q = j->q;
  const int64_t width = half ? 16 : 32;
  b->c = c;
  b->nc = j->C - c < width ? j->C - c : width;
  const int64_t end = c + b->nc, o1 = half ? 0 : 16;
  dwv_acc_init(&b->k[0], q, c, c + o1, end, j->Cp);
  dwv_acc_init(&b->k[1], q, c + 8, c + 8 + o1, end, j->Cp);
  for (int64_t t = 0; t < j->ntp; ++t) {
    const int8_t *wt = j->w + t * j->Cp * 2;
    b->w[0][t] = dwv_wload2(wt, c, c + o1, end);
    b->w[1][t] = dwv_wload2(wt, c + 8, c + 8 + o1, end);
  }
  b->vec = dwv_vec(q, c, end);
}

typedef struct dwv_out {
  __m512i voff, hi_words; /* the output offset; the high-word indices of the even and odd products */
  __m256i lo8, hi8;       /* the clamp, bytes */
} dwv_out;

/* requantized int8 of 16 lanes + the output offset, saturated to int8 (the clamp follows on bytes: the same, as
 * [lo, hi] lies inside int8; no wrap: |x * m| <= 2^62 and rc <= 2^30 + 2^62, so |v| <= |h| <= 2^30 + 1) */
ER_INLINE_DWV __m128i dwv_requant(__m512i x, const dwv_acc *k, const dwv_out *o) {
  const __m512i pe = _mm512_add_epi64(_mm512_mul_epi32(x, k->m), k->rc_even);
  const __m512i po = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(x, 32), k->m_odd), k->rc_odd);
  const __m512i h = _mm512_permutex2var_epi32(pe, o->hi_words, po);
  return _mm512_cvtsepi32_epi8(_mm512_add_epi32(_mm512_srav_epi32(h, k->rm1), o->voff));
}

/* dwv_requant for blocks with lanes of TFLite's double rounding (the others "upward"): h = the doubling high
 * multiply floor((x * m + 2^30) / 2^31) (bits 31..62 of the 64-bit sum; no saturation: no INT32_MIN multiplier),
 * then h >> r plus one when the remainder h & (2^r - 1) exceeds 2^(r-1) - 1, or 2^(r-1) on TFLite's lanes with
 * h < 0 (gemmlowp's rounding divide: ties away from zero; "upward": ties up); r in 1..31 */
ER_INLINE_DWV __m128i dwv_requant_tfl(__m512i x, const dwv_acc *k, const dwv_out *o) {
  const __m512i nudge = _mm512_set1_epi64((int64_t)1 << 30);
  const __m512i pe = _mm512_add_epi64(_mm512_mul_epi32(x, k->m), nudge);
  const __m512i po = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(x, 32), k->m_odd), nudge);
  const __m512i h = _mm512_permutex2var_epi32(_mm512_slli_epi64(pe, 1), o->hi_words, _mm512_slli_epi64(po, 1));
  const __m512i thr = _mm512_mask_add_epi32(k->half, k->tfl, k->half, _mm512_srli_epi32(h, 31));
  const __mmask16 up = _mm512_cmpgt_epi32_mask(_mm512_and_si512(h, k->mask), thr);
  const __m512i v = _mm512_srav_epi32(h, k->r);
  return _mm512_cvtsepi32_epi8(_mm512_add_epi32(_mm512_mask_sub_epi32(v, up, v, _mm512_set1_epi32(-1)), o->voff));
}

/* the accumulators of a block -> its outputs: full: channels at da + c; half: pixel a's at da + c, pixel b's at
 * db + c (db NULL: one pixel) */
ER_INLINE_DWV void dwv_put(__m512i a0, __m512i a1, const dwv_block *b, int half, const dwv_out *o,
                           const er_qm_out *q, int8_t *da, int8_t *db) {
  const int64_t c = b->c, nc = b->nc;
  if (!b->vec) {
    int32_t t[32];
    _mm512_storeu_si512(t, a0);
    _mm512_storeu_si512(t + 16, a1);
    for (int64_t l = 0; l < nc; ++l) {
      if (half) { /* lanes: a0 [a 0-7, b 0-7], a1 [a 8-15, b 8-15] */
        const int64_t lane = (l & 7) + (l & 8 ? 16 : 0);
        da[c + l] = er_qm_requant1(t[lane], c + l, q);
        if (db) db[c + l] = er_qm_requant1(t[lane + 8], c + l, q);
      } else { /* lanes: a0 [0-7, 16-23], a1 [8-15, 24-31] */
        const int64_t lane = (l & 7) + (l & 8 ? 16 : 0) + (l & 16 ? 8 : 0);
        da[c + l] = er_qm_requant1(t[lane], c + l, q);
      }
    }
    return;
  }
  __m128i r0, r1;
  const int one = half && nc <= 8; /* lanes of channels 8-15 unused */
  if (b->vec == 2) {
    r0 = dwv_requant_tfl(a0, &b->k[0], o);
    r1 = one ? r0 : dwv_requant_tfl(a1, &b->k[1], o);
  } else {
    r0 = dwv_requant(a0, &b->k[0], o);
    r1 = one ? r0 : dwv_requant(a1, &b->k[1], o);
  }
  const __m256i v = _mm256_min_epi8(
      _mm256_max_epi8(_mm256_inserti128_si256(_mm256_castsi128_si256(_mm_unpacklo_epi64(r0, r1)),
                                              _mm_unpackhi_epi64(r0, r1), 1),
                      o->lo8),
      o->hi8);
  if (half) {
    const __m128i lo = _mm256_castsi256_si128(v), hi = _mm256_extracti128_si256(v, 1);
    if (nc == 16) {
      _mm_storeu_si128((__m128i *)(da + c), lo);
      if (db) _mm_storeu_si128((__m128i *)(db + c), hi);
    } else {
      _mm_mask_storeu_epi8(da + c, (__mmask16)dwv_mask(nc, 16), lo);
      if (db) _mm_mask_storeu_epi8(db + c, (__mmask16)dwv_mask(nc, 16), hi);
    }
  } else {
    if (nc == 32)
      _mm256_storeu_si256((__m256i *)(da + c), v);
    else
      _mm256_mask_storeu_epi8(da + c, (__mmask32)dwv_mask(nc, 32), v);
  }
}

/* one full block of one pixel: tap t of the pixel at ta[t] + oa */
ER_INLINE_DWV void dwv_full(const dwv_block *b, int64_t ntp, const int8_t *const *ta, int64_t oa, const dwv_out *o,
                            const er_qm_out *q, int8_t *da) {
  __m512i a0 = b->k[0].bias, a1 = b->k[1].bias;
  const int64_t off = oa + b->c;
  const __mmask32 lm = (__mmask32)dwv_mask(b->nc, 32);
  for (int64_t t = 0; t < ntp; ++t) {
    __m256i xa, xb;
    if (b->nc == 32) {
      xa = _mm256_loadu_si256((const __m256i *)(ta[2 * t] + off));
      xb = _mm256_loadu_si256((const __m256i *)(ta[2 * t + 1] + off));
    } else {
      xa = _mm256_maskz_loadu_epi8(lm, ta[2 * t] + off);
      xb = _mm256_maskz_loadu_epi8(lm, ta[2 * t + 1] + off);
    }
    a0 = _mm512_dpwssd_epi32(a0, _mm512_cvtepi8_epi16(_mm256_unpacklo_epi8(xa, xb)), b->w[0][t]);
    a1 = _mm512_dpwssd_epi32(a1, _mm512_cvtepi8_epi16(_mm256_unpackhi_epi8(xa, xb)), b->w[1][t]);
  }
  dwv_put(a0, a1, b, 0, o, q, da, NULL);
}

/* one half block of two pixels (tb NULL: pixel a alone); adj: pixel b's taps are pixel a's + 16 bytes (16 channels,
 * stride 1, both inside), so one 32-byte load takes both */
ER_INLINE_DWV void dwv_half(const dwv_block *b, int64_t ntp, const int8_t *const *ta, int64_t oa,
                            const int8_t *const *tb, int64_t ob, int adj, const dwv_out *o, const er_qm_out *q,
                            int8_t *da, int8_t *db) {
  __m512i a0 = b->k[0].bias, a1 = b->k[1].bias;
  const __mmask16 lm = (__mmask16)dwv_mask(b->nc, 16);
  if (!tb) {
    tb = ta;
    ob = oa;
  }
  oa += b->c;
  ob += b->c;
  if (adj) {
    for (int64_t t = 0; t < ntp; ++t) {
      const __m256i xa = _mm256_loadu_si256((const __m256i *)(ta[2 * t] + oa));
      const __m256i xb = _mm256_loadu_si256((const __m256i *)(ta[2 * t + 1] + oa));
      a0 = _mm512_dpwssd_epi32(a0, _mm512_cvtepi8_epi16(_mm256_unpacklo_epi8(xa, xb)), b->w[0][t]);
      a1 = _mm512_dpwssd_epi32(a1, _mm512_cvtepi8_epi16(_mm256_unpackhi_epi8(xa, xb)), b->w[1][t]);
    }
    dwv_put(a0, a1, b, 1, o, q, da, db);
    return;
  }
  if (b->nc <= 8) { /* 8 channels or fewer: the second accumulator (channels 8-15) has nothing to do */
    for (int64_t t = 0; t < ntp; ++t) {
      const __m128i pa = _mm_maskz_loadu_epi8(lm, ta[2 * t] + oa), pb = _mm_maskz_loadu_epi8(lm, ta[2 * t + 1] + oa);
      const __m128i qa = _mm_maskz_loadu_epi8(lm, tb[2 * t] + ob), qb = _mm_maskz_loadu_epi8(lm, tb[2 * t + 1] + ob);
      const __m256i x = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_unpacklo_epi8(pa, pb)),
                                                _mm_unpacklo_epi8(qa, qb), 1);
      a0 = _mm512_dpwssd_epi32(a0, _mm512_cvtepi8_epi16(x), b->w[0][t]);
    }
    dwv_put(a0, a0, b, 1, o, q, da, db);
    return;
  }
  for (int64_t t = 0; t < ntp; ++t) {
    __m128i pa, pb, qa, qb;
    if (b->nc == 16) {
      pa = _mm_loadu_si128((const __m128i *)(ta[2 * t] + oa));
      pb = _mm_loadu_si128((const __m128i *)(ta[2 * t + 1] + oa));
      qa = _mm_loadu_si128((const __m128i *)(tb[2 * t] + ob));
      qb = _mm_loadu_si128((const __m128i *)(tb[2 * t + 1] + ob));
    } else {
      pa = _mm_maskz_loadu_epi8(lm, ta[2 * t] + oa);
      pb = _mm_maskz_loadu_epi8(lm, ta[2 * t + 1] + oa);
      qa = _mm_maskz_loadu_epi8(lm, tb[2 * t] + ob);
      qb = _mm_maskz_loadu_epi8(lm, tb[2 * t + 1] + ob);
    }
    const __m256i xa = _mm256_inserti128_si256(_mm256_castsi128_si256(pa), qa, 1);
    const __m256i xb = _mm256_inserti128_si256(_mm256_castsi128_si256(pb), qb, 1);
    a0 = _mm512_dpwssd_epi32(a0, _mm512_cvtepi8_epi16(_mm256_unpacklo_epi8(xa, xb)), b->w[0][t]);
    a1 = _mm512_dpwssd_epi32(a1, _mm512_cvtepi8_epi16(_mm256_unpackhi_epi8(xa, xb)), b->w[1][t]);
  }
  dwv_put(a0, a1, b, 1, o, q, da, db ? db : NULL);
}

/* the input row of each kernel row for output row (n, oh): NULL outside the image (once per output row) */
static void dwv_rowptrs(const er_qm_dw_job *j, int64_t n, int64_t oh, const int8_t **rows) {
  const int64_t H = j->H, ih0 = oh * j->stride_h - j->pad_top, dh = j->dil_h, rowb = j->W * j->C;
  for (int64_t kh = 0; kh < j->KH; ++kh) {
    const int64_t ih = ih0 + kh * dh;
    rows[kh] = ih >= 0 && ih < H ? j->x + (n * H + ih) * rowb : NULL;
  }
}

/* the tap pointers of output pixel ow of the row whose input rows are `rows`: inside the image its input pixel,
 * else the zero-point row (the geometry in locals: the pointer stores could alias the job's fields) */
static void dwv_taps(const er_qm_dw_job *j, const int8_t *const *rows, int64_t ow, const int8_t **taps) {
  const int64_t KH = j->KH, KW = j->KW, W = j->W, C = j->C, dw = j->dil_w, iw0 = ow * j->stride_w - j->pad_left;
  const int8_t *zrow = j->zrow;
  int64_t t = 0;
  for (int64_t kh = 0; kh < KH; ++kh) {
    const int8_t *r = rows[kh];
    for (int64_t kw = 0, iw = iw0; kw < KW; ++kw, ++t, iw += dw) taps[t] = r && iw >= 0 && iw < W ? r + iw * C : zrow;
  }
  for (const int64_t nt = 2 * j->ntp; t < nt; ++t) taps[t] = zrow; /* the odd tap out: weight 0 */
}

/* channels [c0, c1) of output rows [b, e): full blocks of 32 (the last may be partial) while 17 or more channels
 * remain, then a half block for the last 1-16, two pixels at a time */
ER_INLINE_DWV void dwv_rows(const er_qm_dw_job *j, int64_t ntp, int64_t b, int64_t e, int64_t c0, int64_t c1,
                            dwv_block *blk) {
  const er_qm_out *q = j->q;
  int nfull = 0, has_half = 0;
  int64_t c = c0;
  for (; c < c1 && c1 - c > 16; c += 32) dwv_block_init(&blk[nfull++], j, c, 0);
  if (c < c1) {
    dwv_block_init(&blk[nfull], j, c, 1);
    has_half = 1;
  }
  const dwv_out o = {_mm512_set1_epi32(q->out_offset),
                     _mm512_setr_epi32(1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31),
                     _mm256_set1_epi8((char)q->lo), _mm256_set1_epi8((char)q->hi)};
  const int64_t C = j->C, OW = j->OW, step = j->stride_w * C;
  const int8_t *ti[2 * DWV_MAX_NTP], *tp[2][2 * DWV_MAX_NTP], *rows[2 * DWV_MAX_NTP];
  for (int64_t r = b; r < e; ++r) {
    const int64_t n = r / j->OH, oh = r % j->OH;
    int8_t *out = j->y + (n * j->OH + oh) * OW * C;
    dwv_rowptrs(j, n, oh, rows);
    if (j->ow_lo < j->ow_hi) dwv_taps(j, rows, j->ow_lo, ti); /* interior pixel ow: ti[t] + (ow - ow_lo) * step */
    for (int64_t ow = 0; ow < OW; ow += 2) {
      const int two = ow + 1 < OW;
      const int8_t *const *tt[2];
      int64_t oo[2];
      for (int i = 0; i < 1 + two; ++i) {
        const int64_t w = ow + i;
        if (w >= j->ow_lo && w < j->ow_hi) {
          tt[i] = ti;
          oo[i] = (w - j->ow_lo) * step;
        } else {
          dwv_taps(j, rows, w, tp[i]);
          tt[i] = tp[i];
          oo[i] = 0;
        }
      }
      for (int k = 0; k < nfull; ++k) {
        dwv_full(&blk[k], ntp, tt[0], oo[0], &o, q, out + ow * C);
        if (two) dwv_full(&blk[k], ntp, tt[1], oo[1], &o, q, out + (ow + 1) * C);
      }
      if (has_half) {
        const int adj = two && C == 16 && tt[1] == tt[0] && oo[1] == oo[0] + 16;
        dwv_half(&blk[nfull], ntp, tt[0], oo[0], two ? tt[1] : NULL, two ? oo[1] : 0, adj, &o, q, out + ow * C,
                 two ? out + (ow + 1) * C : NULL);
      }
    }
  }
}

#define DWV_FIXED(n)                                                                                              \
  ER_ATTR_DWV static void dwv_rows##n(const er_qm_dw_job *j, int64_t b, int64_t e, int64_t c0, int64_t c1,       \
                                      dwv_block *blk) {                                                           \
    dwv_rows(j, n, b, e, c0, c1, blk);                                                                            \
  }
DWV_FIXED(1)  /* 1x1, 2x1 */
DWV_FIXED(2)  /* 2x2, 3x1 */
DWV_FIXED(5)  /* 3x3 */
DWV_FIXED(13) /* 5x5 */
#undef DWV_FIXED

ER_ATTR_DWV static void dwv_rows_any(const er_qm_dw_job *j, int64_t b, int64_t e, int64_t c0, int64_t c1,
                                     dwv_block *blk) {
  dwv_rows(j, j->ntp, b, e, c0, c1, blk);
}

/* er_qm_ukernels.dw_rows: items [b, e) of the job (row i % rows of channel chunk i / rows), chunk by chunk */
static void er_qm_dw_rows_avx512vnni(void *ctx, void *scratch, int64_t b, int64_t e) {
  (void)scratch;
  const er_qm_dw_job *j = (const er_qm_dw_job *)ctx;
  dwv_block blk[DWV_BLOCKS];
  const int64_t R = j->rows;
  for (int64_t i = b, next; i < e; i = next) {
    const int64_t k = i / R, r0 = i % R, r1 = e - k * R < R ? e - k * R : R;
    next = k * R + r1;
    int64_t c0, c1;
    er_qm_dw_chunk(j->C, DWV_CHUNK, k, &c0, &c1);
    switch (j->ntp) {
      case 1: dwv_rows1(j, r0, r1, c0, c1, blk); break;
      case 2: dwv_rows2(j, r0, r1, c0, c1, blk); break;
      case 5: dwv_rows5(j, r0, r1, c0, c1, blk); break;
      case 13: dwv_rows13(j, r0, r1, c0, c1, blk); break;
      default: dwv_rows_any(j, r0, r1, c0, c1, blk); break;
    }
  }
}

/* the micro-kernels of a madd plan the row loop above does not take: AVX2's */
static void er_qm_gemm_s8_avx512vnni(const int16_t *a, int64_t np, int64_t kp, const int8_t *b, int64_t oc,
                                     const er_qm_out *q, int8_t *dst, int64_t ldd) {
  er_qm_ukernels_avx2.gemm_s8(a, np, kp, b, oc, q, dst, ldd);
}

static void er_qm_dw_s8_avx512vnni(const int8_t *const *taps, int64_t ntp, const int8_t *w, int64_t C, int64_t Cp,
                                   const er_qm_out *q, int8_t *dst, int64_t npix, int64_t step) {
  er_qm_ukernels_avx2.dw_s8(taps, ntp, w, C, Cp, q, dst, npix, step);
}

const er_qm_ukernels er_qm_ukernels_avx512vnni = {er_qm_gemm_s8_avx512vnni, er_qm_dw_s8_avx512vnni,
                                                   er_qm_dw_rows_avx512vnni, DWV_MAX_NTP, DWV_CHUNK};
#else
typedef int er_q_dw_vnni_unused;
#endif
