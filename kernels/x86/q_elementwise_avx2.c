/* AVX2 form of kernels/ref/q_elementwise.c's int8/uint8 ADD, SUB and MUL (TFLite's rescaled add: both inputs
 * offset, shifted left and multiplied by their own multipliers, summed, then requantized to the output), 32
 * elements per step on rows whose operands are contiguous or broadcast scalars, bit-exact with the reference
 * in both rounding modes (fixedpoint_avx2.h). Every other op, type, stride or out-of-range parameter (shifts
 * outside [-31, 30], offsets beyond +-32768) goes to the reference kernel. Per-function target attributes, as
 * the other files of this folder; on other targets this file compiles to nothing. */
#include "edgerun/edgerun.h"
#include "../opt/ukernels.h"

#if ER_HAVE_X86_UKERNELS
#include "../ref/broadcast.h"
#include <string.h>

#include "fixedpoint_avx2.h"

typedef struct qe_consts {
  __m256i off1, off2, ca, cb, voff, vmin, vmax;
  qa_rq r1, r2, ro;
  int op, is_u8;
  int32_t left_shift;
} qe_consts;

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
  const __m128i ls = _mm_cvtsi32_si128(c->left_shift);
  a = qa_rq_apply(_mm256_sll_epi32(a, ls), &c->r1);
  b = qa_rq_apply(_mm256_sll_epi32(b, ls), &c->r2);
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
  int64_t idx[ER_MAX_DIMS] = {0}, off[2] = {0, 0};
  if (sa == 1 && sb == 1 && ts[0]->count == y->count && ts[1]->count == y->count) { /* one long row */
    qe_row(&c, ad, 1, bd, 1, yd, y->count);
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
#else
typedef int er_q_elementwise_avx2_unused;
#endif
