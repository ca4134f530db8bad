/* NEON form of kernels/ref/q_pool.c for int8 and uint8 (int16 goes to the reference kernel): 16 channels per
 * step over the in-bounds window. MAX_POOL_2D by SMAX/UMAX; AVERAGE_POOL_2D sums in 16-bit lanes (windows up
 * to 256 taps; larger ones in 32-bit lanes) and divides with the reference's rounding, half away from zero:
 * sign(s) * floor((|s| + count / 2) / count), the quotient estimated in float (|s| + count / 2 < 2^24) and
 * corrected by one step, so it is exact. Bit-exact with the reference, same status codes. */
#include "edgerun/edgerun.h"
#include "../opt/ukernels.h"

#if ER_HAVE_NEON_UKERNELS
#include <arm_neon.h>

#include "edgerun/fixedpoint.h"

#define QP_MAX 0
#define QP_AVG 1

/* floor(u / d) for 0 <= u < 2^24, d >= 1 (inv = 1.0f / d) */
static inline int32x4_t qp_div(int32x4_t u, int32x4_t d, float32x4_t inv) {
  int32x4_t q = vcvtq_s32_f32(vmulq_f32(vcvtq_f32_s32(u), inv));
  const int32x4_t r = vsubq_s32(u, vmulq_s32(q, d));
  q = vsubq_s32(q, vreinterpretq_s32_u32(vcgeq_s32(r, d)));                 /* r >= d: one more */
  return vaddq_s32(q, vreinterpretq_s32_u32(vcltq_s32(r, vdupq_n_s32(0)))); /* r < 0: one less */
}

/* the reference's rounding of 4 window sums */
static inline int32x4_t qp_avg(int32x4_t s, int32_t count, float inv) {
  const int32x4_t d = vdupq_n_s32(count);
  const int32x4_t q = qp_div(vaddq_s32(vabsq_s32(s), vdupq_n_s32(count / 2)), d, vdupq_n_f32(inv));
  return vbslq_s32(vcltq_s32(s, vdupq_n_s32(0)), vnegq_s32(q), q);
}

/* 16 channels of 8-bit values, read as int16 lanes */
static inline void qp_ld16(const uint8_t *p, int is_u8, int16x8_t *lo, int16x8_t *hi) {
  if (is_u8) {
    const uint8x16_t v = vld1q_u8(p);
    *lo = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(v)));
    *hi = vreinterpretq_s16_u16(vmovl_u8(vget_high_u8(v)));
  } else {
    const int8x16_t v = vld1q_s8((const int8_t *)p);
    *lo = vmovl_s8(vget_low_s8(v));
    *hi = vmovl_s8(vget_high_s8(v));
  }
}

/* 16 unsigned 16-bit lanes to 4 x 4 int32 */
static inline void qp_widen_u16(uint16x8_t l, uint16x8_t h, int32x4_t s[4]) {
  s[0] = vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(l)));
  s[1] = vreinterpretq_s32_u32(vmovl_u16(vget_high_u16(l)));
  s[2] = vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(h)));
  s[3] = vreinterpretq_s32_u32(vmovl_u16(vget_high_u16(h)));
}

/* one output pixel: channels [0, C) over rows [hs, he) x columns [ws, we) of the image xi (W * C per row) */
static void qp_pixel(int kind, int is_u8, const uint8_t *xi, int64_t W, int64_t C, int64_t hs, int64_t he, int64_t ws,
                     int64_t we, int32_t lo, int32_t hi, uint8_t *yo) {
  const int32_t count = (int32_t)((he - hs) * (we - ws));
  const float inv = 1.0f / (float)count;
  const int32x4_t vlo = vdupq_n_s32(lo), vhi = vdupq_n_s32(hi);
  /* pointer steps between taps (no 64-bit multiplies per tap: pairs of instructions on ARMv7) */
  const intptr_t nh = (intptr_t)(he - hs), nw = (intptr_t)(we - ws), cs = (intptr_t)C;
  const intptr_t row_step = (intptr_t)(W * C) - nw * cs;
  const uint8_t *x0 = xi + (hs * W + ws) * C;
#define QP_TAPS(P, ...)                                         \
  do {                                                          \
    const uint8_t *P = x0 + c;                                  \
    for (intptr_t ih = 0; ih < nh; ++ih, P += row_step)         \
      for (intptr_t iw = 0; iw < nw; ++iw, P += cs) __VA_ARGS__; \
  } while (0)
  int64_t c = 0;
  for (; c + 16 <= C; c += 16) {
    int32x4_t s[4];
    if (kind == QP_MAX) {
      if (is_u8) {
        uint8x16_t m = vdupq_n_u8(0);
        QP_TAPS(t, m = vmaxq_u8(m, vld1q_u8(t)));
        const uint16x8_t l = vmovl_u8(vget_low_u8(m)), h = vmovl_u8(vget_high_u8(m));
        qp_widen_u16(l, h, s);
      } else {
        int8x16_t m = vdupq_n_s8(-128);
        QP_TAPS(t, m = vmaxq_s8(m, vld1q_s8((const int8_t *)t)));
        const int16x8_t l = vmovl_s8(vget_low_s8(m)), h = vmovl_s8(vget_high_s8(m));
        s[0] = vmovl_s16(vget_low_s16(l)), s[1] = vmovl_s16(vget_high_s16(l));
        s[2] = vmovl_s16(vget_low_s16(h)), s[3] = vmovl_s16(vget_high_s16(h));
      }
    } else if (count <= 256) { /* 16-bit sums: |s| <= 128 * 256, uint8 sums <= 255 * 256 (unsigned lanes) */
      int16x8_t a0 = vdupq_n_s16(0), a1 = a0;
      QP_TAPS(t, {
        int16x8_t l, h;
        qp_ld16(t, is_u8, &l, &h);
        /* wrapping adds (the unsigned form: uint8 sums pass INT16_MAX, read back as unsigned below) */
        a0 = vreinterpretq_s16_u16(vaddq_u16(vreinterpretq_u16_s16(a0), vreinterpretq_u16_s16(l)));
        a1 = vreinterpretq_s16_u16(vaddq_u16(vreinterpretq_u16_s16(a1), vreinterpretq_u16_s16(h)));
      });
      if (is_u8) {
        const uint16x8_t u0 = vreinterpretq_u16_s16(a0), u1 = vreinterpretq_u16_s16(a1);
        qp_widen_u16(u0, u1, s);
      } else {
        s[0] = vmovl_s16(vget_low_s16(a0)), s[1] = vmovl_s16(vget_high_s16(a0));
        s[2] = vmovl_s16(vget_low_s16(a1)), s[3] = vmovl_s16(vget_high_s16(a1));
      }
    } else {
      s[0] = s[1] = s[2] = s[3] = vdupq_n_s32(0);
      QP_TAPS(t, {
        int16x8_t l, h;
        qp_ld16(t, is_u8, &l, &h);
        s[0] = vaddw_s16(s[0], vget_low_s16(l)), s[1] = vaddw_s16(s[1], vget_high_s16(l));
        s[2] = vaddw_s16(s[2], vget_low_s16(h)), s[3] = vaddw_s16(s[3], vget_high_s16(h));
      });
    }
    for (int q = 0; q < 4; ++q) {
      if (kind == QP_AVG) s[q] = qp_avg(s[q], count, inv);
      s[q] = vminq_s32(vmaxq_s32(s[q], vlo), vhi);
    }
    /* narrowed by truncation, as the reference's cast */
    const int8x16_t n = vcombine_s8(vmovn_s16(vcombine_s16(vmovn_s32(s[0]), vmovn_s32(s[1]))),
                                    vmovn_s16(vcombine_s16(vmovn_s32(s[2]), vmovn_s32(s[3]))));
    vst1q_s8((int8_t *)yo + c, n);
  }
  for (; c < C; ++c) { /* the reference's loop */
    int32_t acc = kind == QP_MAX ? INT32_MIN : 0;
    for (int64_t ih = hs; ih < he; ++ih)
      for (int64_t iw = ws; iw < we; ++iw) {
        const uint8_t b = xi[(ih * W + iw) * C + c];
        const int32_t v = is_u8 ? (int32_t)b : (int32_t)(int8_t)b;
        if (kind == QP_MAX)
          acc = v > acc ? v : acc;
        else
          acc += v;
      }
    if (kind == QP_AVG) acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
    yo[c] = (uint8_t)er_clamp_i32(acc, lo, hi);
  }
#undef QP_TAPS
}

static int qp_pool(const er_op *op, int kind) {
  const er_pool_params *p = (const er_pool_params *)op->params;
  const er_tensor *x = op->in[0];
  er_tensor *y = op->out[0];
  if (x->type != ER_INT8 && x->type != ER_UINT8) return kind == QP_MAX ? er_q_maxpool2d(op) : er_q_avgpool2d(op);
  if (x->ndim != 4 || y->ndim != 4) return ER_ERR_SHAPE;
  const int64_t B = x->dims[0], H = x->dims[1], W = x->dims[2], C = x->dims[3];
  const int64_t OH = y->dims[1], OW = y->dims[2];
  if (y->dims[0] != B || y->dims[3] != C || x->type != y->type) return ER_ERR_SHAPE;
  if ((int64_t)p->filter_h * p->filter_w >= ((int64_t)1 << 16)) return ER_ERR_UNSUPPORTED;
  const int is_u8 = x->type == ER_UINT8;
  const uint8_t *xd = (const uint8_t *)x->data;
  uint8_t *yd = (uint8_t *)y->data;
  for (int64_t n = 0; n < B; ++n)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        const int64_t h0 = oh * p->stride_h - p->pad_top, w0 = ow * p->stride_w - p->pad_left;
        const int64_t hs = h0 < 0 ? 0 : h0, ws = w0 < 0 ? 0 : w0;
        const int64_t he = h0 + p->filter_h > H ? H : h0 + p->filter_h;
        const int64_t we = w0 + p->filter_w > W ? W : w0 + p->filter_w;
        if (he <= hs || we <= ws) return ER_ERR_SHAPE;
        qp_pixel(kind, is_u8, xd + n * H * W * C, W, C, hs, he, ws, we, p->out_min, p->out_max,
                 yd + ((n * OH + oh) * OW + ow) * C);
      }
  return ER_OK;
}

int er_q_maxpool2d__neon(const er_op *op) { return qp_pool(op, QP_MAX); }
int er_q_avgpool2d__neon(const er_op *op) { return qp_pool(op, QP_AVG); }
#else
typedef int er_q_pool_neon_unused;
#endif
