/* NEON form of kernels/ref/q_elementwise.c's int8/uint8 ADD, SUB and MUL (TFLite's rescaled add: both inputs
 * offset, shifted left and multiplied by their own multipliers, summed, then requantized to the output), 16
 * elements per step on rows whose operands are contiguous or broadcast scalars, bit-exact with the reference
 * in both rounding modes (fixedpoint_neon.h). Every other op, type or stride goes to the reference kernel.
 * Also the shared requantization of int32 accumulators to int8 (er_requant_s8__neon). */
#include "edgerun/edgerun.h"
#include "../opt/ukernels.h"

#if ER_HAVE_NEON_UKERNELS
#include "../ref/broadcast.h"
#include "fixedpoint_neon.h"

/* 8 lanes of an 8-bit row, offset, as two int32 vectors (x + off fits int16: |x + off| <= 255) */
static inline void qe_load8(const void *p, int is_u8, int16x8_t off, int32x4_t *lo, int32x4_t *hi) {
  const int16x8_t v = is_u8 ? vreinterpretq_s16_u16(vmovl_u8(vld1_u8((const uint8_t *)p)))
                            : vmovl_s8(vld1_s8((const int8_t *)p));
  const int16x8_t w = vaddq_s16(v, off);
  *lo = vmovl_s16(vget_low_s16(w));
  *hi = vmovl_s16(vget_high_s16(w));
}

/* 8 results (int32, before the output offset) to 8-bit with the offset and the clamp */
static inline void qe_store8(void *p, int is_u8, int32x4_t lo, int32x4_t hi, int32x4_t voff, int32x4_t vmin,
                             int32x4_t vmax) {
  lo = vminq_s32(vmaxq_s32(qn_wrap_add_s32(lo, voff), vmin), vmax);
  hi = vminq_s32(vmaxq_s32(qn_wrap_add_s32(hi, voff), vmin), vmax);
  /* narrowed by truncation, as the reference's cast of the clamped value */
  const int8x8_t n = vmovn_s16(vcombine_s16(vmovn_s32(lo), vmovn_s32(hi)));
  if (is_u8)
    vst1_u8((uint8_t *)p, vreinterpret_u8_s8(n));
  else
    vst1_s8((int8_t *)p, n);
}

/* one row of n outputs; sa, sb in {0, 1} (0: a broadcast scalar) */
static inline void qe_row(const er_q_binary_params *p, int is_u8, const uint8_t *a, int64_t sa, const uint8_t *b,
                          int64_t sb, uint8_t *y, int64_t n, const qn_rq *r1, const qn_rq *r2, const qn_rq *ro) {
  const int16x8_t off1 = vdupq_n_s16((int16_t)p->in1_offset), off2 = vdupq_n_s16((int16_t)p->in2_offset);
  const int32x4_t ls = vdupq_n_s32(p->left_shift), voff = vdupq_n_s32(p->out_offset);
  const int32x4_t vmin = vdupq_n_s32(p->act_min), vmax = vdupq_n_s32(p->act_max);
  const int op = p->op;
  /* a broadcast scalar, offset */
  const int32x4_t ca = vdupq_n_s32((is_u8 ? (int32_t)a[0] : (int32_t)(int8_t)a[0]) + p->in1_offset);
  const int32x4_t cb = vdupq_n_s32((is_u8 ? (int32_t)b[0] : (int32_t)(int8_t)b[0]) + p->in2_offset);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    int32x4_t a0 = ca, a1 = ca, b0 = cb, b1 = cb, s0, s1;
    if (sa) qe_load8(a + i, is_u8, off1, &a0, &a1);
    if (sb) qe_load8(b + i, is_u8, off2, &b0, &b1);
    if (op == ER_QB_MUL) {
      s0 = qn_rq_apply(vmulq_s32(a0, b0), ro);
      s1 = qn_rq_apply(vmulq_s32(a1, b1), ro);
    } else {
      a0 = qn_rq_apply(vshlq_s32(a0, ls), r1), a1 = qn_rq_apply(vshlq_s32(a1, ls), r1);
      b0 = qn_rq_apply(vshlq_s32(b0, ls), r2), b1 = qn_rq_apply(vshlq_s32(b1, ls), r2);
      s0 = op == ER_QB_ADD ? qn_wrap_add_s32(a0, b0) : qn_wrap_sub_s32(a0, b0); /* wrapping, as the reference */
      s1 = op == ER_QB_ADD ? qn_wrap_add_s32(a1, b1) : qn_wrap_sub_s32(a1, b1);
      s0 = qn_rq_apply(s0, ro), s1 = qn_rq_apply(s1, ro);
    }
    qe_store8(y + i, is_u8, s0, s1, voff, vmin, vmax);
  }
  if (i < n) { /* the tail through an 8-byte staging buffer: no read or write past the row */
    uint8_t ta[8] = {0}, tb[8] = {0}, ty[8];
    for (int64_t k = i; k < n; ++k) {
      ta[k - i] = a[k * sa];
      tb[k - i] = b[k * sb];
    }
    qe_row(p, is_u8, ta, 1, tb, 1, ty, 8, r1, r2, ro);
    for (int64_t k = i; k < n; ++k) y[k] = ty[k - i];
  }
}

int er_q_binary__neon(const er_op *op) {
  const er_q_binary_params *p = (const er_q_binary_params *)op->params;
  const er_tensor *ts[2] = {op->in[0], op->in[1]};
  er_tensor *y = op->out[0];
  const int32_t t = y->type;
  if (!p || (p->op != ER_QB_ADD && p->op != ER_QB_SUB && p->op != ER_QB_MUL) || (t != ER_INT8 && t != ER_UINT8) ||
      ts[0]->type != t || ts[1]->type != t || p->left_shift < 0 || p->left_shift > 31)
    return er_q_binary(op);
  er_bcast bc;
  if (er_bcast_init(&bc, y, ts, 2)) return ER_ERR_SHAPE;
  const int64_t sa = bc.st[0][bc.n - 1], sb = bc.st[1][bc.n - 1];
  if (sa > 1 || sb > 1) return er_q_binary(op);
  const int is_u8 = t == ER_UINT8;
  const qn_rq r1 = qn_rq_init(p->in1_mult, p->in1_shift, 1), r2 = qn_rq_init(p->in2_mult, p->in2_shift, 1);
  const qn_rq ro = qn_rq_init(p->out_mult, p->out_shift, p->op != ER_QB_MUL);
  int64_t idx[ER_MAX_DIMS] = {0}, off[2] = {0, 0};
  const uint8_t *ad = (const uint8_t *)ts[0]->data, *bd = (const uint8_t *)ts[1]->data;
  uint8_t *yd = (uint8_t *)y->data;
  if (sa == 1 && sb == 1 && ts[0]->count == y->count && ts[1]->count == y->count) { /* one long row */
    qe_row(p, is_u8, ad, 1, bd, 1, yd, y->count, &r1, &r2, &ro);
    return ER_OK;
  }
  for (int64_t o = 0; o < bc.outer; ++o) {
    qe_row(p, is_u8, ad + off[0], sa, bd + off[1], sb, yd + o * bc.inner, bc.inner, &r1, &r2, &ro);
    er_bcast_next(&bc, idx, off, 2);
  }
  return ER_OK;
}

/* dst[i] = clamp(er_mul_by_quantized_multiplier(acc[i], mult, shift) + out_offset, lo, hi), i < n: the
 * requantization of int32 accumulators to int8 (per tensor), both rounding modes */
void er_requant_s8__neon(const int32_t *acc, int64_t n, int32_t mult, int32_t shift, int32_t out_offset, int32_t lo,
                         int32_t hi, int8_t *dst) {
  const qn_rq q = qn_rq_init(mult, shift, 0);
  const int32x4_t voff = vdupq_n_s32(out_offset), vlo = vdupq_n_s32(lo), vhi = vdupq_n_s32(hi);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    /* the offset added with saturation: the scalar form adds in int64 before the clamp */
    int32x4_t v0 = vqaddq_s32(qn_rq_apply(vld1q_s32(acc + i), &q), voff);
    int32x4_t v1 = vqaddq_s32(qn_rq_apply(vld1q_s32(acc + i + 4), &q), voff);
    v0 = vminq_s32(vmaxq_s32(v0, vlo), vhi);
    v1 = vminq_s32(vmaxq_s32(v1, vlo), vhi);
    vst1_s8(dst + i, vqmovn_s16(vcombine_s16(vqmovn_s32(v0), vqmovn_s32(v1))));
  }
  for (; i < n; ++i) {
    const int64_t v = (int64_t)er_mul_by_quantized_multiplier(acc[i], mult, shift) + out_offset;
    dst[i] = (int8_t)(v < lo ? lo : v > hi ? hi : v);
  }
}
#else
typedef int er_q_elementwise_neon_unused;
#endif
