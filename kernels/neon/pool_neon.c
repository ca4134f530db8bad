/* NEON form of kernels/ref/pool.c's float MAX_POOL_2D and AVERAGE_POOL_2D (L2 goes to the reference kernel):
 * 4 channels per lane group over the in-bounds window, each lane taking the reference's steps in its order
 * (the same comparisons, NaN kept out of the max as `x > m ? x : m` does; sums in window order, one division
 * by the count: VDIV on AArch64, the scalar division on ARMv7), so results equal the reference's bit for bit. */
#include "edgerun/edgerun.h"
#include "../opt/ukernels.h"

#if ER_HAVE_NEON_UKERNELS
#include <arm_neon.h>
#include <float.h>

#include "f32_neon.h"

#define FP_MAX 0
#define FP_AVG 1

/* v / d per lane, correctly rounded */
static inline float32x4_t fp_div(float32x4_t v, float d) {
#if defined(__aarch64__)
  return vdivq_f32(v, vdupq_n_f32(d));
#else
  float t[4];
  vst1q_f32(t, v);
  for (int i = 0; i < 4; ++i) t[i] /= d;
  return vld1q_f32(t);
#endif
}

static int fp_pool(const er_op *op, int kind) {
  const er_pool_params *p = (const er_pool_params *)op->params;
  const er_tensor *x = op->in[0];
  er_tensor *y = op->out[0];
  const int64_t B = x->dims[0], H = x->dims[1], W = x->dims[2], C = x->dims[3];
  const int64_t OH = y->dims[1], OW = y->dims[2];
  if (y->dims[0] != B || y->dims[3] != C) return ER_ERR_SHAPE;
  const float *xd = (const float *)x->data;
  float *yd = (float *)y->data;
  const float32x4_t vlo = vdupq_n_f32(p->act_min), vhi = vdupq_n_f32(p->act_max);
  for (int64_t n = 0; n < B; ++n)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        const int64_t h0 = oh * p->stride_h - p->pad_top, w0 = ow * p->stride_w - p->pad_left;
        const int64_t hs = h0 < 0 ? 0 : h0, ws = w0 < 0 ? 0 : w0;
        const int64_t he = h0 + p->filter_h > H ? H : h0 + p->filter_h;
        const int64_t we = w0 + p->filter_w > W ? W : w0 + p->filter_w;
        float *yo = yd + ((n * OH + oh) * OW + ow) * C;
        const float *xb = xd + n * H * W * C;
        const int64_t count = (he - hs) * (we - ws);
        /* pointer steps between taps (no 64-bit multiplies per tap: pairs of instructions on ARMv7) */
        const intptr_t nh = (intptr_t)(he - hs), nw = (intptr_t)(we - ws), cs = (intptr_t)C;
        const intptr_t row_step = (intptr_t)(W * C) - nw * cs;
        const float *x0 = xb + (hs * W + ws) * C;
        int64_t c = 0;
        for (; c + 8 <= C; c += 8) {
          float32x4_t a0 = vdupq_n_f32(kind == FP_MAX ? -FLT_MAX : 0.0f), a1 = a0;
          const float *xi = x0 + c;
          for (intptr_t ih = 0; ih < nh; ++ih, xi += row_step)
            for (intptr_t iw = 0; iw < nw; ++iw, xi += cs) {
              const float32x4_t v0 = vld1q_f32(xi), v1 = vld1q_f32(xi + 4);
              if (kind == FP_MAX) {
                a0 = qn_sel_gt_f32(v0, a0);
                a1 = qn_sel_gt_f32(v1, a1);
              } else {
                a0 = vaddq_f32(a0, v0);
                a1 = vaddq_f32(a1, v1);
              }
            }
          if (kind == FP_AVG) {
            a0 = count > 0 ? fp_div(a0, (float)count) : vdupq_n_f32(0.0f);
            a1 = count > 0 ? fp_div(a1, (float)count) : vdupq_n_f32(0.0f);
          }
          vst1q_f32(yo + c, qn_clamp_f32(a0, vlo, vhi));
          vst1q_f32(yo + c + 4, qn_clamp_f32(a1, vlo, vhi));
        }
        for (; c < C; ++c) { /* the reference's steps */
          float v = kind == FP_MAX ? -FLT_MAX : 0.0f;
          for (int64_t ih = hs; ih < he; ++ih)
            for (int64_t iw = ws; iw < we; ++iw) {
              const float xv = xb[(ih * W + iw) * C + c];
              v = kind == FP_MAX ? (xv > v ? xv : v) : v + xv;
            }
          if (kind == FP_AVG) v = count > 0 ? v / (float)count : 0.0f;
          yo[c] = v < p->act_min ? p->act_min : (v > p->act_max ? p->act_max : v);
        }
      }
  return ER_OK;
}

int er_f32_maxpool2d__neon(const er_op *op) { return fp_pool(op, FP_MAX); }
int er_f32_avgpool2d__neon(const er_op *op) { return fp_pool(op, FP_AVG); }
#else
typedef int er_pool_neon_unused;
#endif
