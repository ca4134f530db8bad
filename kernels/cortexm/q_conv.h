/* Shared pieces of the Cortex-M int8 conv family (kernels/cortexm/q_conv.c, q_conv_fc.c, q_conv_inplace.c):
 * the reference bodies they fall back to, unaligned word access, per-channel requantization (the reference
 * helpers of edgerun/fixedpoint_conv.h applied to one int32 accumulator), the int8 GEMM that CONV_2D,
 * FULLY_CONNECTED and the in-place 1x1 convolution share, and the depthwise pixel. Internal; compiled only where edgerun/isa.h selects a Cortex-M ISA.
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

/* What requantizing channel c needs: the op's constants, decided once per call (er_qc_requant). */
typedef struct er_cm_rq {
  const int32_t *mult;
  const int32_t *shift;
  const int32_t *bias32; /* int32 bias, or NULL */
  const int64_t *bias64; /* int64 bias (wraps to int32 as in the reference), or NULL */
  int32_t upward_end;    /* channels below it round upward */
  int32_t single;        /* er_rounding_mode is ER_ROUND_SINGLE */
  int32_t out_offset;
  int32_t lo;
  int32_t hi;
} er_cm_rq;

static inline er_cm_rq er_cm_rq_make(const er_qconv_params *p, const er_tensor *bias, int32_t n_channels) {
  er_cm_rq r;
  r.mult = p->multipliers;
  r.shift = p->shifts;
  r.bias32 = bias && bias->type != ER_INT64 ? (const int32_t *)bias->data : NULL;
  r.bias64 = bias && bias->type == ER_INT64 ? (const int64_t *)bias->data : NULL;
  r.single = er_rounding_mode == ER_ROUND_SINGLE;
  r.upward_end = p->rounding == ER_QC_RND_UPWARD    ? n_channels
                 : p->rounding == ER_QC_RND_UPWARD8 ? (n_channels / 8) * 8
                                                    : 0;
  r.out_offset = p->output_offset;
  r.lo = p->out_min;
  r.hi = p->out_max;
  return r;
}

/* er_qc_requant's 8-bit branch for one accumulator of channel c (bias not yet added). The reference helpers
 * define it; on the common path the doubling high multiply is floor((x * m + 2^30) / 2^31) (the identity of
 * er_qc_mul_upward_fast, exact unless x = m = INT32_MIN), which avoids the helper's int64 division, and the
 * output offset is a saturating int32 add, which the clamp to [lo, hi] makes exact when lo <= hi. */
static inline __attribute__((always_inline)) int8_t er_cm_requant(const er_cm_rq *r, int32_t acc, int32_t c) {
  if (r->bias32) acc = er_cm_wadd(acc, r->bias32[c]);
  if (r->bias64) acc = er_cm_wadd(acc, er_qc_wrap32(r->bias64[c]));
  const int32_t m = r->mult[c], s = r->shift[c];
  int32_t q;
  if (c < r->upward_end) {
    q = er_qc_mul_upward_fast(acc, m, s);
  } else if (m == INT32_MIN || r->single) {
    q = er_mul_by_quantized_multiplier(acc, m, s);
  } else {
    const int32_t x = er_wrapping_shl(acc, s > 0 ? s : 0);
    q = er_rounding_divide_by_pot((int32_t)(((int64_t)x * m + ((int64_t)1 << 30)) >> 31), s > 0 ? 0 : -s);
  }
#if ER_ISA_ARM_DSP
  if (r->lo <= r->hi) {
    const int32_t v = __qadd(q, r->out_offset);
    return (int8_t)(v < r->lo ? r->lo : (v > r->hi ? r->hi : v));
  }
#endif
  const int64_t v = (int64_t)q + r->out_offset;
  const int32_t y = v < r->lo ? r->lo : (v > r->hi ? r->hi : (int32_t)v);
  return (int8_t)y;
}

/* n accumulators of channels c .. c + n - 1 to y[0 .. n) */
void er_cm_requant_n(const er_cm_rq *r, const int32_t *acc, int32_t c, int32_t n, int8_t *y);

#if ER_ISA_ARM_MVE
/* The same for n <= 4 accumulators of channels c .. c + n - 1, stored to y[0 .. n). VQRDMULH is TFLite's
 * SaturatingRoundingDoublingHighMul exactly (both round (2ab + 2^31) / 2^32 down and saturate only
 * INT32_MIN * INT32_MIN); VRSHL by -e rounds half up without overflow, which is the upward shift, and
 * TFLite's RoundingDivideByPOT (ties away from zero) after subtracting 1 from negative values; the output
 * offset saturates, which the clamp makes exact. Blocks mixing upward and TFLite channels, single rounding,
 * int64 biases and empty clamps (lo > hi) go through er_cm_requant. */
static inline void er_cm_requant4(const er_cm_rq *r, int32x4_t acc, int32_t c, int32_t n, int8_t *y) {
  const int upward = c + n <= r->upward_end;
  if ((!upward && (c < r->upward_end || r->single)) || r->lo > r->hi || r->bias64) {
    int32_t a[4];
    vst1q_s32(a, acc);
    for (int32_t j = 0; j < n; ++j) y[j] = er_cm_requant(r, a[j], c + j);
    return;
  }
  const mve_pred16_t pr = vctp32q((uint32_t)n);
  if (r->bias32) acc = vaddq_s32(acc, vldrwq_z_s32(r->bias32 + c, pr));
  const int32x4_t s = vldrwq_z_s32(r->shift + c, pr);
  const int32x4_t rs = vminq_s32(s, vdupq_n_s32(0)); /* minus the right shift */
  int32x4_t h = vqrdmulhq_s32(vshlq_s32(acc, vmaxq_s32(s, vdupq_n_s32(0))), vldrwq_z_s32(r->mult + c, pr));
  if (!upward) {
    const mve_pred16_t neg = vcmpltq_n_s32(h, 0) & vcmpltq_n_s32(rs, 0);
    h = vqaddq_s32(h, vpselq_s32(vdupq_n_s32(-1), vdupq_n_s32(0), neg));
  }
  int32x4_t v = vqaddq_s32(vrshlq_s32(h, rs), vdupq_n_s32(r->out_offset));
  v = vminq_s32(vmaxq_s32(v, vdupq_n_s32(r->lo)), vdupq_n_s32(r->hi));
  vstrbq_p_s32(y, v, pr);
}
#endif

/* True when every index of the tensor fits int32 (always on a microcontroller); the kernels index in int32. */
static inline int er_cm_small(const er_tensor *t) { return t->count >= 0 && t->count <= INT32_MAX; }

/* Coordinates computed in int32 cannot overflow: strides, dilations, pads and extents below 2^15 (all
 * real layers; the reference computes in int64 and takes the rest). */
static inline int er_cm_geometry_ok(const er_qconv_params *p, const er_tensor *x, const er_tensor *w,
                                    const er_tensor *y) {
  const int32_t lim = 32767;
  if (!er_cm_small(x) || !er_cm_small(w) || !er_cm_small(y)) return 0;
  if (p->stride_h < 1 || p->stride_w < 1 || p->dil_h < 1 || p->dil_w < 1 || p->stride_h > lim ||
      p->stride_w > lim || p->dil_h > lim || p->dil_w > lim || p->pad_top < -lim || p->pad_top > lim ||
      p->pad_left < -lim || p->pad_left > lim)
    return 0;
  return x->dims[1] <= lim && x->dims[2] <= lim && y->dims[1] <= lim && y->dims[2] <= lim && w->dims[1] <= lim &&
         w->dims[2] <= lim;
}

/* [lo, hi): the taps t < n whose coordinate base + t * dil lies in [0, lim) (a run: dil >= 1) */
static inline void er_cm_tap_range(int32_t base, int32_t dil, int32_t n, int32_t lim, int32_t *lo, int32_t *hi) {
  int32_t a = 0, b = n;
  while (a < b && base + a * dil < 0) ++a;
  while (b > a && base + (b - 1) * dil >= lim) --b;
  *lo = a;
  *hi = b;
}

/* The depthwise (multiplier 1) output pixel of channels [0, C), shared by DEPTHWISE_CONV_2D (q_conv.c) and
 * its in-place form (q_conv_inplace.c): tap (i, j), i < nkh, j < nkw, of channel c is
 * rows[i][xoff + j * xcol + c] (the tap rows may lie anywhere: the image, or a ring of saved rows) times
 * wp[i * wrow + j * C + c]; int32 accumulators, requantized to yp[0 .. C). Kernels with more than
 * ER_CM_DW_ROWS rows go to the reference. */
#define ER_CM_DW_ROWS 32
void er_cm_dw_pixel(const int8_t *const *rows, int32_t xoff, const int8_t *wp, int32_t C, int32_t nkh, int32_t nkw,
                    int32_t xcol, int32_t wrow, int32_t off, const er_cm_rq *rq, int8_t *yp);

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
