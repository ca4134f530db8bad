/* TFLite's requantization (edgerun/fixedpoint.h) four int32 lanes at a time, bit for bit, for the NEON kernels
 * of this folder (AArch64 and ARMv7; include only where ER_HAVE_NEON_UKERNELS).
 *   double rounding (er_rounding_mode 0, TFLite's default): wrapping left shift (SSHL), saturating rounding
 *     doubling high multiply (SQRDMULH: floor((a * b + 2^30) / 2^31), equal to gemmlowp's nudge-and-truncate,
 *     INT32_MIN * INT32_MIN saturating alike), then the rounding divide by 2^e with ties away from zero: SRSHL
 *     rounds ties upward, so a negative lane is first lowered by one (saturating add of (x & -e) >> 31, the
 *     gemmlowp fixup; exact for every x, INT32_MIN included, and e in 0..31).
 *   single rounding (mode 1): (x * m + 2^(30 - shift)) >> (31 - shift) on the 64-bit product (SMULL + SRSHL
 *     on 64-bit lanes), saturated to int32 by SQXTN.
 * A step holds its per-tensor constants, built once per call by qn_rq_init. */
#ifndef EDGERUN_NEON_FIXEDPOINT_NEON_H
#define EDGERUN_NEON_FIXEDPOINT_NEON_H
#include <arm_neon.h>

#include "edgerun/fixedpoint.h"

/* wrapping int32 lane arithmetic: GCC's arm_neon.h writes vaddq_s32 / vsubq_s32 as signed vector `+` / `-`,
 * whose overflow is undefined (UBSan reports it); the unsigned forms are the same instructions */
static inline int32x4_t qn_wrap_add_s32(int32x4_t a, int32x4_t b) {
  return vreinterpretq_s32_u32(vaddq_u32(vreinterpretq_u32_s32(a), vreinterpretq_u32_s32(b)));
}
static inline int32x4_t qn_wrap_sub_s32(int32x4_t a, int32x4_t b) {
  return vreinterpretq_s32_u32(vsubq_u32(vreinterpretq_u32_s32(a), vreinterpretq_u32_s32(b)));
}

typedef struct qn_rq {
  int32x4_t mult;  /* multiplier */
  int32x4_t left;  /* double rounding: left shift (>= 0) */
  int32x4_t right; /* double rounding: minus the right shift (<= 0); single: shift - 31 (64-bit lanes) */
  int64x2_t right64;
  int single;
} qn_rq;

/* er_mul_by_quantized_multiplier (lt1 = 0) or er_mul_by_quantized_multiplier_lt1 (lt1 = 1: no left shift in
 * double rounding; a positive shift is then ignored, as the scalar form does) */
static inline qn_rq qn_rq_init(int32_t mult, int32_t shift, int lt1) {
  qn_rq q;
  q.single = er_rounding_mode == 1;
  q.mult = vdupq_n_s32(mult);
  q.left = vdupq_n_s32(!lt1 && shift > 0 ? shift : 0);
  q.right = vdupq_n_s32(shift < 0 ? shift : 0);
  q.right64 = vdupq_n_s64((int64_t)shift - 31);
  return q;
}

/* the rounding divide by 2^-r (r = minus the exponent, in -31..0), ties away from zero */
static inline int32x4_t qn_rdivpot(int32x4_t x, int32x4_t r) {
  const int32x4_t fixup = vshrq_n_s32(vandq_s32(x, r), 31);
  return vrshlq_s32(vqaddq_s32(x, fixup), r);
}

static inline int32x4_t qn_rq_apply(int32x4_t x, const qn_rq *q) {
  if (q->single) {
    const int64x2_t lo = vrshlq_s64(vmull_s32(vget_low_s32(x), vget_low_s32(q->mult)), q->right64);
    const int64x2_t hi = vrshlq_s64(vmull_s32(vget_high_s32(x), vget_high_s32(q->mult)), q->right64);
    return vcombine_s32(vqmovn_s64(lo), vqmovn_s64(hi));
  }
  return qn_rdivpot(vqrdmulhq_s32(vshlq_s32(x, q->left), q->mult), q->right);
}

#endif
