/* Shared pieces of the Cortex-M int8 conv family (kernels/cortexm/q_conv.c, q_conv_fc.c): the reference
 * bodies they fall back to, unaligned word access, per-channel requantization (the reference helpers of
 * edgerun/fixedpoint_conv.h applied to one int32 accumulator) and the int8 GEMM that CONV_2D and
 * FULLY_CONNECTED share. Internal; compiled only where edgerun/isa.h selects a Cortex-M ISA.
 *
 * Accumulators: the reference sums exactly in int64 and wraps to int32 before requantizing
 * (er_qc_wrap32); summing in wrapping int32 (SMLAD, MVE lanes, uint32 in C) gives the same value. */
#ifndef EDGERUN_CORTEXM_Q_CONV_H
#define EDGERUN_CORTEXM_Q_CONV_H

#include <stdint.h>
#include <string.h>

#include "edgerun/edgerun.h"
#include "edgerun/fixedpoint_conv.h"
#include "edgerun/isa.h"

#if ER_ISA_ARM_MVE
#include <arm_mve.h>
#endif
#if ER_ISA_ARM_DSP
#include <arm_acle.h>
#endif

/* the public kernels (kernels/list/q_conv.inc) and their reference bodies (kernels/ref/q_conv.c, q_conv_fc.c) */
int er_s8_conv2d(const er_op *op);
int er_s8_dwconv2d(const er_op *op);
int er_s8_fc(const er_op *op);
int er_ref_s8_conv2d(const er_op *op);
int er_ref_s8_dwconv2d(const er_op *op);
int er_ref_s8_fc(const er_op *op);

/* Unaligned 32-bit load/store (one LDR/STR on v7E-M and v8-M Mainline, which allow unaligned words). */
static inline int32_t er_cm_ld32(const void *p) {
  int32_t v;
  memcpy(&v, p, sizeof v);
  return v;
}
static inline void er_cm_st32(void *p, int32_t v) { memcpy(p, &v, sizeof v); }

static inline int32_t er_cm_wadd(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }

/* Bias of channel c as the int32 the reference adds before wrapping (int64 biases wrap the same way). */
static inline int32_t er_cm_bias(const er_tensor *b, int32_t c) {
  if (!b) return 0;
  if (b->type == ER_INT64) return er_qc_wrap32(((const int64_t *)b->data)[c]);
  return ((const int32_t *)b->data)[c];
}

/* What requantizing channel c needs: the op's constants plus where "upward" rounding stops (er_qc_requant). */
typedef struct er_cm_rq {
  const int32_t *mult;
  const int32_t *shift;
  const er_tensor *bias;
  int32_t upward_end; /* channels below it round upward */
  int32_t out_offset;
  int32_t lo;
  int32_t hi;
} er_cm_rq;

static inline er_cm_rq er_cm_rq_make(const er_qconv_params *p, const er_tensor *bias, int32_t n_channels) {
  er_cm_rq r;
  r.mult = p->multipliers;
  r.shift = p->shifts;
  r.bias = bias;
  r.upward_end = p->rounding == ER_QC_RND_UPWARD    ? n_channels
                 : p->rounding == ER_QC_RND_UPWARD8 ? (n_channels / 8) * 8
                                                    : 0;
  r.out_offset = p->output_offset;
  r.lo = p->out_min;
  r.hi = p->out_max;
  return r;
}

/* er_qc_requant's 8-bit branch for one accumulator of channel c (bias not yet added). */
static inline int8_t er_cm_requant(const er_cm_rq *r, int32_t acc, int32_t c) {
  acc = er_cm_wadd(acc, er_cm_bias(r->bias, c));
  const int64_t v = (int64_t)(c < r->upward_end ? er_qc_mul_upward(acc, r->mult[c], r->shift[c])
                                                : er_mul_by_quantized_multiplier(acc, r->mult[c], r->shift[c])) +
                    r->out_offset;
  const int32_t q = v < r->lo ? r->lo : (v > r->hi ? r->hi : (int32_t)v);
  return (int8_t)q;
}

/* True when every index of the tensor fits int32 (always on a microcontroller); the kernels index in int32. */
static inline int er_cm_small(const er_tensor *t) { return t->count >= 0 && t->count <= INT32_MAX; }

/* The GEMM of CONV_2D and FULLY_CONNECTED, ncols (1 or 2) input columns against N weight rows:
 * y_j[o] = requant(dot(col_j, w[o]) + bias[c0 + o]) for o < N, channel c0 + o, w rows of K int8.
 * Columns are in the ISA's layout, made by er_cm_pack_col:
 *   DSP: int16 offset form (x + input_offset), each whole block of 4 stored as (0, 2, 1, 3) so that one
 *        word pairs with SXTB16 of a weight word and the other with SXTB16 of it rotated by 8;
 *   MVE: the int8 values as they are; the input offset enters as input_offset * sum(w[o]). */
#if ER_ISA_ARM_MVE
typedef int8_t er_cm_col_t;
#else
typedef int16_t er_cm_col_t;
#endif

void er_cm_s8_gemm(const er_cm_col_t *cols, int32_t ncols, int32_t K, int32_t input_offset, const int8_t *w,
                   int32_t N, int32_t c0, const er_cm_rq *rq, int8_t *y0, int8_t *y1);

/* n int8 values at src to column positions [k, k + n) of a K-long column (layout above). */
void er_cm_pack_col(const int8_t *src, int32_t n, int32_t k, int32_t K, int32_t input_offset, er_cm_col_t *col);
/* n padding values (the zero point: 0 in offset form, -input_offset as stored int8 for MVE) */
void er_cm_pad_col(int32_t n, int32_t k, int32_t K, int32_t input_offset, er_cm_col_t *col);

#endif
