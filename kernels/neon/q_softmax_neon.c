/* NEON form of kernels/ref/q_softmax.c's int8/uint8 SOFTMAX (other types and LOG_SOFTMAX go to the reference
 * kernel), bit-exact: the same 256-entry table (built by the reference's rule: expf of -input_scale * beta * d),
 * the row maximum by SMAX/UMAX lanes, the float sum of table entries in the reference's sequential order (float
 * addition is not associative: the order is part of the result), then 8 outputs per step: entry * (1 / (sum *
 * output_scale)), rounded as the reference (int8/int16: half away from zero, FRINTA on AArch64, truncation
 * plus a comparison of the fraction on ARMv7; uint8: + 0.5 truncated), + zero point, clamped. The table
 * entries are gathered by a scalar loop (NEON has no float gather). */
#include "edgerun/edgerun.h"
#include "../opt/ukernels.h"

#if ER_HAVE_NEON_UKERNELS
#include <arm_neon.h>
#include <math.h>

#include "edgerun/fixedpoint.h"
#include "f32_neon.h"

/* roundf for 0 <= v (probabilities times 1 / output_scale) below 2^31 */
static inline int32x4_t qs_round(float32x4_t v) {
#if defined(__aarch64__)
  return vcvtq_s32_f32(vrndaq_f32(v));
#else
  const int32x4_t t = vcvtq_s32_f32(v); /* truncation */
  const float32x4_t frac = vsubq_f32(v, vcvtq_f32_s32(t)); /* exact */
  const uint32x4_t up = vmvnq_u32(qn_cgt_f32(vdupq_n_f32(0.5f), frac)); /* frac >= 0.5 (no NaN here) */
  return vsubq_s32(t, vreinterpretq_s32_u32(up));
#endif
}

static inline int32_t qs_max_row(const uint8_t *x, int is_u8, int64_t D) {
  int64_t i = 0;
  int32_t mx;
  if (is_u8) {
    uint8x16_t m = vdupq_n_u8(0);
    for (; i + 16 <= D; i += 16) m = vmaxq_u8(m, vld1q_u8(x + i));
    uint8x8_t h = vpmax_u8(vget_low_u8(m), vget_high_u8(m));
    h = vpmax_u8(h, h), h = vpmax_u8(h, h), h = vpmax_u8(h, h);
    mx = vget_lane_u8(h, 0);
    for (; i < D; ++i) mx = x[i] > mx ? x[i] : mx;
  } else {
    const int8_t *s = (const int8_t *)x;
    int8x16_t m = vdupq_n_s8(-128);
    for (; i + 16 <= D; i += 16) m = vmaxq_s8(m, vld1q_s8(s + i));
    int8x8_t h = vpmax_s8(vget_low_s8(m), vget_high_s8(m));
    h = vpmax_s8(h, h), h = vpmax_s8(h, h), h = vpmax_s8(h, h);
    mx = vget_lane_s8(h, 0);
    for (; i < D; ++i) mx = s[i] > mx ? s[i] : mx;
  }
  return mx;
}

int er_q_softmax__neon(const er_op *op) {
  const er_q_softmax_params *p = (const er_q_softmax_params *)op->params;
  const er_tensor *x = op->in[0];
  er_tensor *y = op->out[0];
  if ((x->type != ER_INT8 && x->type != ER_UINT8) || (y->type != ER_INT8 && y->type != ER_UINT8) ||
      op->scratch_bytes < (int64_t)(256 * sizeof(float)) || p->rows * p->depth != x->count ||
      y->count != x->count || (p->depth < 1 && p->rows > 0))
    return er_q_softmax(op); /* its checks and codes, and the int16 output */
  float *table = (float *)op->scratch;
  const float scale = -p->input_scale * p->beta;
  for (int32_t v = 0; v <= 255; ++v) table[255 - v] = expf(scale * (float)v);
  const int64_t D = p->depth;
  const int is_u8 = x->type == ER_UINT8, out_u8 = y->type == ER_UINT8;
  const int32x4_t zp = vdupq_n_s32(out_u8 ? 0 : p->output_zp);
  const int32x4_t lo = vdupq_n_s32(out_u8 ? 0 : -128), hi = vdupq_n_s32(out_u8 ? 255 : 127);
  float g[8];
  for (int64_t r = 0; r < p->rows; ++r) {
    const uint8_t *xr = (const uint8_t *)x->data + r * D;
    uint8_t *yr = (uint8_t *)y->data + r * D;
    const int32_t mx = qs_max_row(xr, is_u8, D);
    const float *tab = table + (255 - mx);
    float sum = 0.0f;
    if (is_u8)
      for (int64_t i = 0; i < D; ++i) sum += tab[xr[i]];
    else
      for (int64_t i = 0; i < D; ++i) sum += tab[(int8_t)xr[i]];
    const float inv = 1.0f / (sum * p->output_scale);
    const float32x4_t vinv = vdupq_n_f32(inv);
    int64_t i = 0;
    for (; i + 8 <= D; i += 8) {
      for (int k = 0; k < 8; ++k) g[k] = is_u8 ? tab[xr[i + k]] : tab[(int8_t)xr[i + k]];
      const float32x4_t p0 = vmulq_f32(vld1q_f32(g), vinv), p1 = vmulq_f32(vld1q_f32(g + 4), vinv);
      int32x4_t q0, q1;
      if (out_u8) {
        q0 = vcvtq_s32_f32(vaddq_f32(p0, vdupq_n_f32(0.5f)));
        q1 = vcvtq_s32_f32(vaddq_f32(p1, vdupq_n_f32(0.5f)));
      } else {
        q0 = vaddq_s32(qs_round(p0), zp);
        q1 = vaddq_s32(qs_round(p1), zp);
      }
      q0 = vminq_s32(vmaxq_s32(q0, lo), hi);
      q1 = vminq_s32(vmaxq_s32(q1, lo), hi);
      const int8x8_t n = vmovn_s16(vcombine_s16(vmovn_s32(q0), vmovn_s32(q1)));
      vst1_s8((int8_t *)yr + i, n);
    }
    for (; i < D; ++i) { /* the reference's steps */
      const float prob = (is_u8 ? tab[xr[i]] : tab[(int8_t)xr[i]]) * inv;
      const int32_t q = out_u8 ? (int32_t)(prob + 0.5f) : (int32_t)roundf(prob) + p->output_zp;
      yr[i] = (uint8_t)er_clamp_i32(q, out_u8 ? 0 : -128, out_u8 ? 255 : 127);
    }
  }
  return ER_OK;
}
#else
typedef int er_q_softmax_neon_unused;
#endif
