/* AVX2 form of kernels/ref/q_elementwise.c's int8/uint8 ADD, SUB and MUL (TFLite's rescaled add: both inputs
 * offset, shifted left and multiplied by their own multipliers, summed, then requantized to the output), 32
 * elements per step on rows whose operands are contiguous or broadcast scalars (ADD/SUB in double rounding: the
 * inputs' rescale in 32-bit arithmetic where the parameters allow, qe_in32), bit-exact with the reference
 * in both rounding modes (fixedpoint_avx2.h). Every other op, type, stride or out-of-range parameter (shifts
 * outside [-31, 30], offsets beyond +-32768) goes to the reference kernel. Per-function target attributes, as
 * the other files of this folder; on other targets this file compiles to nothing. */
#include "edgerun/edgerun.h"
#include "edgerun/parallel.h"
#include "../opt/ukernels.h"

#if ER_HAVE_X86_UKERNELS
#include "../ref/broadcast.h"
#include <string.h>

#include "fixedpoint_avx2.h"

/* One input's rescale of ADD/SUB in 32-bit arithmetic (double rounding), exact: with v = x + offset,
 * |v| << L < 2^31 (the reference's left shift by L never wraps), M >= 0 the multiplier split as M = Mh * 2^16 + Ml
 * (0 <= Ml < 2^16) and 15 <= L <= 23, the doubling high multiply is
 *   floor((v * 2^L * M + 2^30) / 2^31) = v * Mh * 2^(L-15) + floor((v * Ml + 2^(30-L)) / 2^(31-L))
 * every term in int32 (|v * Ml| < 2^31); then gemmlowp's rounding divide by 2^r (ties away from zero). */
typedef struct qe_in32 {
  int32_t mh, ml, nudge, sh, r, mask; /* Mh * 2^(L-15), Ml, 2^(30-L), 31 - L, r, 2^r - 1 */
} qe_in32;

/* 0 when the input's parameters leave that form */
static int qe_in32_init(qe_in32 *k, int32_t offset, int32_t mult, int32_t shift, int left, int is_u8) {
  const int64_t lo = (is_u8 ? 0 : -128) + (int64_t)offset, hi = (is_u8 ? 255 : 127) + (int64_t)offset;
  const int64_t vmax = lo < 0 && -lo > hi ? -lo : hi < 0 ? -hi : hi;
  if (mult < 0 || left < 15 || left > 23 || shift < -31 || shift > 30 || (vmax << left) >= ((int64_t)1 << 31)) return 0;
  k->r = shift < 0 ? -shift : 0; /* lt1: a positive shift is not applied */
  k->mask = (int32_t)(((int64_t)1 << k->r) - 1);
  k->mh = (mult >> 16) << (left - 15);
  k->ml = mult & 0xFFFF;
  k->nudge = (int32_t)1 << (30 - left);
  k->sh = 31 - left;
  return 1;
}

typedef struct qe_consts {
  __m256i off1, off2, ca, cb, voff, vmin, vmax;
  qa_rq r1, r2, ro;
  int op, is_u8;
  int32_t left_shift;
  int in32; /* ADD/SUB in double rounding with both inputs in the 32-bit form: k1, k2 */
  qe_in32 k1, k2;
} qe_consts;

/* qe_in32's rescale of 8 lanes (v offset already) */
ER_ATTR_AVX2 static inline __m256i qe_rescale32(__m256i v, const qe_in32 *k) {
  const __m256i lo = _mm256_sra_epi32(_mm256_add_epi32(_mm256_mullo_epi32(v, _mm256_set1_epi32(k->ml)),
                                                       _mm256_set1_epi32(k->nudge)),
                                      _mm_cvtsi32_si128(k->sh));
  const __m256i h = _mm256_add_epi32(_mm256_mullo_epi32(v, _mm256_set1_epi32(k->mh)), lo);
  const __m256i thr = _mm256_sub_epi32(_mm256_set1_epi32(k->mask >> 1), _mm256_srai_epi32(h, 31));
  const __m256i up = _mm256_cmpgt_epi32(_mm256_and_si256(h, _mm256_set1_epi32(k->mask)), thr);
  return _mm256_sub_epi32(_mm256_sra_epi32(h, _mm_cvtsi32_si128(k->r)), up);
}

/* 8 lanes of an 8-bit row as int32, offset */
ER_ATTR_AVX2 static inline __m256i qe_load8(const uint8_t *p, int is_u8, __m256i off) {
  const __m128i v = _mm_loadl_epi64((const __m128i *)p);
  return _mm256_add_epi32(is_u8 ? _mm256_cvtepu8_epi32(v) : _mm256_cvtepi8_epi32(v), off);
}

/* 8 results (before the output offset): offset, clamp, and the low byte (the reference's cast) as int32 */
ER_ATTR_AVX2 static inline __m256i qe_out8(__m256i s, const qe_consts *c) {
  s = _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(s, c->voff), c->vmin), c->vmax);
  return _mm256_and_si256(s, _mm256_set1_epi32(0xFF));
}

ER_ATTR_AVX2 static inline __m256i qe_calc8(__m256i a, __m256i b, const qe_consts *c) {
  if (c->op == ER_QB_MUL) return qe_out8(qa_rq_apply(_mm256_mullo_epi32(a, b), &c->ro), c);
  if (c->in32) {
    a = qe_rescale32(a, &c->k1);
    b = qe_rescale32(b, &c->k2);
  } else {
    const __m128i ls = _mm_cvtsi32_si128(c->left_shift);
    a = qa_rq_apply(_mm256_sll_epi32(a, ls), &c->r1);
    b = qa_rq_apply(_mm256_sll_epi32(b, ls), &c->r2);
  }
  const __m256i s = c->op == ER_QB_ADD ? _mm256_add_epi32(a, b) : _mm256_sub_epi32(a, b); /* wrapping, as the ref */
  return qe_out8(qa_rq_apply(s, &c->ro), c);
}

/* one row of n outputs; sa, sb in {0, 1} (0: a broadcast scalar) */
ER_ATTR_AVX2 static void qe_row(const qe_consts *c, const uint8_t *a, int64_t sa, const uint8_t *b, int64_t sb,
                                uint8_t *y, int64_t n) {
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256i v[4];
    for (int k = 0; k < 4; ++k) {
      const __m256i x = sa ? qe_load8(a + i + 8 * k, c->is_u8, c->off1) : c->ca;
      const __m256i w = sb ? qe_load8(b + i + 8 * k, c->is_u8, c->off2) : c->cb;
      v[k] = qe_calc8(x, w, c);
    }
    /* bytes 0..255 in int32 lanes: the unsigned packs are exact; the lane interleave undone by vpermd */
    const __m256i p = _mm256_packus_epi16(_mm256_packus_epi32(v[0], v[1]), _mm256_packus_epi32(v[2], v[3]));
    _mm256_storeu_si256((__m256i *)(y + i), _mm256_permutevar8x32_epi32(p, order));
  }
  if (i < n) { /* the tail through a 32-byte staging buffer: no read or write past the row */
    uint8_t ta[32] = {0}, tb[32] = {0}, ty[32];
    for (int64_t k = i; k < n; ++k) {
      ta[k - i] = a[k * sa];
      tb[k - i] = b[k * sb];
    }
    qe_row(c, ta, 1, tb, 1, ty, 32);
    for (int64_t k = i; k < n; ++k) y[k] = ty[k - i];
  }
}

/* elements [b, e) of one long row (contiguous operands), for er_parallel_for: each element on its own, so any
 * split gives the bytes of the whole */
typedef struct qe_job {
  const qe_consts *c;
  const uint8_t *a, *b;
  uint8_t *y;
} qe_job;

static void qe_row_task(void *ctx, void *scratch, int64_t b, int64_t e) {
  (void)scratch;
  const qe_job *j = (const qe_job *)ctx;
  qe_row(j->c, j->a + b, 1, j->b + b, 1, j->y + b, e - b);
}

/* an element's cost in er_parallel_for's multiply-adds: an int8 ADD element takes about as long as 60 of an
 * int8 convolution's (avx512vnni); 32 splits rows of 2048 elements or more */
#define QE_ELEMENT_COST 32

static int shift_ok(int32_t s) { return s >= -31 && s <= 30; }
static int offset_ok(int32_t o) { return o >= -32768 && o <= 32768; }

ER_ATTR_AVX2 int er_q_binary__avx2(const er_op *op) {
  const er_q_binary_params *p = (const er_q_binary_params *)op->params;
  const er_tensor *ts[2] = {op->in[0], op->in[1]};
  er_tensor *y = op->out[0];
  const int32_t t = y->type;
  if (!p || (p->op != ER_QB_ADD && p->op != ER_QB_SUB && p->op != ER_QB_MUL) || (t != ER_INT8 && t != ER_UINT8) ||
      ts[0]->type != t || ts[1]->type != t || p->left_shift < 0 || p->left_shift > 31 || !shift_ok(p->out_shift) ||
      (p->op != ER_QB_MUL && (!shift_ok(p->in1_shift) || !shift_ok(p->in2_shift))) || !offset_ok(p->in1_offset) ||
      !offset_ok(p->in2_offset))
    return er_q_binary(op);
  er_bcast bc;
  if (er_bcast_init(&bc, y, ts, 2)) return ER_ERR_SHAPE;
  const int64_t sa = bc.st[0][bc.n - 1], sb = bc.st[1][bc.n - 1];
  if (sa > 1 || sb > 1) return er_q_binary(op);
  const uint8_t *ad = (const uint8_t *)ts[0]->data, *bd = (const uint8_t *)ts[1]->data;
  uint8_t *yd = (uint8_t *)y->data;
  if (y->count == 0) return ER_OK;
  qe_consts c;
  memset(&c, 0, sizeof c);
  c.op = p->op, c.is_u8 = t == ER_UINT8, c.left_shift = p->left_shift;
  c.off1 = _mm256_set1_epi32(p->in1_offset), c.off2 = _mm256_set1_epi32(p->in2_offset);
  c.voff = _mm256_set1_epi32(p->out_offset);
  c.vmin = _mm256_set1_epi32(p->act_min), c.vmax = _mm256_set1_epi32(p->act_max);
  c.r1 = qa_rq_init(p->in1_mult, p->in1_shift, 1), c.r2 = qa_rq_init(p->in2_mult, p->in2_shift, 1);
  c.ro = qa_rq_init(p->out_mult, p->out_shift, p->op != ER_QB_MUL);
  c.in32 = p->op != ER_QB_MUL && er_rounding_mode == 0 &&
           qe_in32_init(&c.k1, p->in1_offset, p->in1_mult, p->in1_shift, p->left_shift, c.is_u8) &&
           qe_in32_init(&c.k2, p->in2_offset, p->in2_mult, p->in2_shift, p->left_shift, c.is_u8);
  int64_t idx[ER_MAX_DIMS] = {0}, off[2] = {0, 0};
  if (sa == 1 && sb == 1 && ts[0]->count == y->count && ts[1]->count == y->count) { /* one long row, split */
    const qe_job j = {&c, ad, bd, yd};
    er_parallel_for(op, y->count, ER_PARALLEL_ELEMENT_GRAIN, er_work3(y->count, QE_ELEMENT_COST, 1),
                    qe_row_task, (void *)&j);
    return ER_OK;
  }
  for (int64_t o = 0; o < bc.outer; ++o) {
    /* a broadcast scalar of this row, offset */
    const uint8_t a0 = ad[off[0]], b0 = bd[off[1]];
    c.ca = _mm256_set1_epi32((c.is_u8 ? (int32_t)a0 : (int32_t)(int8_t)a0) + p->in1_offset);
    c.cb = _mm256_set1_epi32((c.is_u8 ? (int32_t)b0 : (int32_t)(int8_t)b0) + p->in2_offset);
    qe_row(&c, ad + off[0], sa, bd + off[1], sb, yd + o * bc.inner, bc.inner);
    er_bcast_next(&bc, idx, off, 2);
  }
  return ER_OK;
}

/* ---- AVX-512 ADD/SUB (the avx512vnni ISA's table): 16 int32 lanes, the inputs' rescale in 32-bit arithmetic
 * (qe_in32), the sum (wrapping, as the reference), the output's doubling high multiply on 64-bit products and its
 * rounding divide, offset, clamp, the low byte. TFLite's double rounding only; single-rounding mode, MUL and
 * parameters outside qe_in32's ranges: the AVX2 form above. */
#define ER_ATTR_QE512 __attribute__((target("avx2,avx512f,avx512vl,avx512bw")))
#define ER_INLINE_QE512 static inline __attribute__((always_inline, target("avx2,avx512f,avx512vl,avx512bw")))

typedef struct qe5_in {
  __m512i off, mh, ml, nudge, mask, half; /* offset, Mh * 2^(L-15), Ml, 2^(30-L), 2^r - 1, 2^(r-1) - 1 */
  __m128i sh, r;                          /* 31 - L; the rounding divide's exponent r */
} qe5_in;

typedef struct qe5_consts {
  qe5_in in[2];
  __m512i mo, omask, ohalf, voff, vmin, vmax, hi_words, ca, cb;
  __m128i ro;
  int sub, is_u8;
} qe5_consts;

/* gemmlowp's RoundingDivideByPOT: h >> r, plus one when the remainder exceeds half (half + 1 for h < 0) */
ER_INLINE_QE512 __m512i qe5_rdivpot(__m512i h, __m128i r, __m512i mask, __m512i half) {
  const __m512i thr = _mm512_add_epi32(half, _mm512_srli_epi32(h, 31));
  const __mmask16 up = _mm512_cmpgt_epi32_mask(_mm512_and_si512(h, mask), thr);
  const __m512i q = _mm512_sra_epi32(h, r);
  return _mm512_mask_sub_epi32(q, up, q, _mm512_set1_epi32(-1));
}

/* one input's rescale of 16 lanes (v offset already) */
ER_INLINE_QE512 __m512i qe5_rescale(__m512i v, const qe5_in *k) {
  const __m512i lo = _mm512_sra_epi32(_mm512_add_epi32(_mm512_mullo_epi32(v, k->ml), k->nudge), k->sh);
  return qe5_rdivpot(_mm512_add_epi32(_mm512_mullo_epi32(v, k->mh), lo), k->r, k->mask, k->half);
}

/* 16 bytes of an 8-bit row (n < 16: the first n, no read past them) as offset int32 lanes */
ER_INLINE_QE512 __m512i qe5_load(const uint8_t *p, int64_t n, int is_u8, __m512i off) {
  const __m128i b = n >= 16 ? _mm_loadu_si128((const __m128i *)p) : _mm_maskz_loadu_epi8((__mmask16)((1u << n) - 1), p);
  return _mm512_add_epi32(is_u8 ? _mm512_cvtepu8_epi32(b) : _mm512_cvtepi8_epi32(b), off);
}

/* 16 outputs from the rescaled inputs: sum, the output's requantization, offset, clamp (int32 lanes) */
ER_INLINE_QE512 __m512i qe5_out(__m512i a, __m512i b, const qe5_consts *c) {
  const __m512i s = c->sub ? _mm512_sub_epi32(a, b) : _mm512_add_epi32(a, b);
  const __m512i nudge = _mm512_set1_epi64((int64_t)1 << 30);
  const __m512i pe = _mm512_add_epi64(_mm512_mul_epi32(s, c->mo), nudge);
  const __m512i po = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(s, 32), c->mo), nudge);
  /* bits 31..62 of each product (no saturation: the multiplier is not INT32_MIN) */
  const __m512i h = _mm512_permutex2var_epi32(_mm512_slli_epi64(pe, 1), c->hi_words, _mm512_slli_epi64(po, 1));
  const __m512i o = _mm512_add_epi32(qe5_rdivpot(h, c->ro, c->omask, c->ohalf), c->voff);
  return _mm512_min_epi32(_mm512_max_epi32(o, c->vmin), c->vmax);
}

/* one row of n outputs; sa, sb in {0, 1} (0: a broadcast scalar, its rescaled value in c->ca / c->cb) */
ER_ATTR_QE512 static void qe5_row(const qe5_consts *c, const uint8_t *a, int64_t sa, const uint8_t *b, int64_t sb,
                                  uint8_t *y, int64_t n) {
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    for (int k = 0; k < 4; ++k) {
      const int64_t at = i + 16 * k;
      const __m512i x = sa ? qe5_rescale(qe5_load(a + at, 16, c->is_u8, c->in[0].off), &c->in[0]) : c->ca;
      const __m512i w = sb ? qe5_rescale(qe5_load(b + at, 16, c->is_u8, c->in[1].off), &c->in[1]) : c->cb;
      _mm_storeu_si128((__m128i *)(y + at), _mm512_cvtepi32_epi8(qe5_out(x, w, c)));
    }
  }
  for (; i < n; i += 16) {
    const int64_t m = n - i < 16 ? n - i : 16;
    const __m512i x = sa ? qe5_rescale(qe5_load(a + i, m, c->is_u8, c->in[0].off), &c->in[0]) : c->ca;
    const __m512i w = sb ? qe5_rescale(qe5_load(b + i, m, c->is_u8, c->in[1].off), &c->in[1]) : c->cb;
    _mm512_mask_cvtepi32_storeu_epi8(y + i, (__mmask16)((1u << m) - 1), qe5_out(x, w, c));
  }
}

/* elements [b, e) of one long row, as qe_row_task */
typedef struct qe5_job {
  const qe5_consts *c;
  const uint8_t *a, *b;
  uint8_t *y;
} qe5_job;

static void qe5_row_task(void *ctx, void *scratch, int64_t b, int64_t e) {
  (void)scratch;
  const qe5_job *j = (const qe5_job *)ctx;
  qe5_row(j->c, j->a + b, 1, j->b + b, 1, j->y + b, e - b);
}

/* the constants of one input (qe_in32_init's, in vectors); 0 when its parameters leave the exact 32-bit form */
ER_ATTR_QE512 static int qe5_in_init(qe5_in *k, int32_t offset, int32_t mult, int32_t shift, int left, int is_u8) {
  qe_in32 s;
  if (!qe_in32_init(&s, offset, mult, shift, left, is_u8)) return 0;
  k->off = _mm512_set1_epi32(offset);
  k->mh = _mm512_set1_epi32(s.mh);
  k->ml = _mm512_set1_epi32(s.ml);
  k->nudge = _mm512_set1_epi32(s.nudge);
  k->sh = _mm_cvtsi32_si128(s.sh);
  k->r = _mm_cvtsi32_si128(s.r);
  k->mask = _mm512_set1_epi32(s.mask);
  k->half = _mm512_set1_epi32(s.mask >> 1);
  return 1;
}

ER_ATTR_QE512 int er_q_binary__avx512(const er_op *op) {
  const er_q_binary_params *p = (const er_q_binary_params *)op->params;
  const er_tensor *ts[2] = {op->in[0], op->in[1]};
  er_tensor *y = op->out[0];
  const int32_t t = y->type;
  qe5_consts c;
  memset(&c, 0, sizeof c);
  c.is_u8 = t == ER_UINT8;
  if (!p || er_rounding_mode != 0 || (p->op != ER_QB_ADD && p->op != ER_QB_SUB) || (t != ER_INT8 && t != ER_UINT8) ||
      ts[0]->type != t || ts[1]->type != t || p->out_mult < 0 || p->out_shift < -31 || p->out_shift > 30 ||
      !qe5_in_init(&c.in[0], p->in1_offset, p->in1_mult, p->in1_shift, p->left_shift, c.is_u8) ||
      !qe5_in_init(&c.in[1], p->in2_offset, p->in2_mult, p->in2_shift, p->left_shift, c.is_u8))
    return er_q_binary__avx2(op);
  er_bcast bc;
  if (er_bcast_init(&bc, y, ts, 2)) return ER_ERR_SHAPE;
  const int64_t sa = bc.st[0][bc.n - 1], sb = bc.st[1][bc.n - 1];
  if (sa > 1 || sb > 1) return er_q_binary(op);
  const uint8_t *ad = (const uint8_t *)ts[0]->data, *bd = (const uint8_t *)ts[1]->data;
  uint8_t *yd = (uint8_t *)y->data;
  if (y->count == 0) return ER_OK;
  const int ro = p->out_shift < 0 ? -p->out_shift : 0;
  const int32_t omask = (int32_t)(((int64_t)1 << ro) - 1);
  c.sub = p->op == ER_QB_SUB;
  c.mo = _mm512_set1_epi32(p->out_mult);
  c.ro = _mm_cvtsi32_si128(ro);
  c.omask = _mm512_set1_epi32(omask);
  c.ohalf = _mm512_set1_epi32(omask >> 1);
  c.voff = _mm512_set1_epi32(p->out_offset);
  c.vmin = _mm512_set1_epi32(p->act_min);
  c.vmax = _mm512_set1_epi32(p->act_max);
  c.hi_words = _mm512_setr_epi32(1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31);
  int64_t idx[ER_MAX_DIMS] = {0}, off[2] = {0, 0};
  if (sa == 1 && sb == 1 && ts[0]->count == y->count && ts[1]->count == y->count) { /* one long row, split */
    const qe5_job j = {&c, ad, bd, yd};
    er_parallel_for(op, y->count, ER_PARALLEL_ELEMENT_GRAIN, er_work3(y->count, QE_ELEMENT_COST, 1),
                    qe5_row_task, (void *)&j);
    return ER_OK;
  }
  for (int64_t o = 0; o < bc.outer; ++o) {
    /* a broadcast scalar of this row, rescaled */
    c.ca = qe5_rescale(qe5_load(ad + off[0], 1, c.is_u8, c.in[0].off), &c.in[0]);
    c.cb = qe5_rescale(qe5_load(bd + off[1], 1, c.is_u8, c.in[1].off), &c.in[1]);
    c.ca = _mm512_broadcastd_epi32(_mm512_castsi512_si128(c.ca));
    c.cb = _mm512_broadcastd_epi32(_mm512_castsi512_si128(c.cb));
    qe5_row(&c, ad + off[0], sa, bd + off[1], sb, yd + o * bc.inner, bc.inner);
    er_bcast_next(&bc, idx, off, 2);
  }
  return ER_OK;
}
#else
typedef int er_q_elementwise_avx2_unused;
#endif
