/* NEON form of kernels/ref/softmax.c's float SOFTMAX (LOG_SOFTMAX goes to the reference kernel): the row
 * maximum by lanes (the reference's `x > m ? x : m`), exp((x - max) * beta) by a vector exp, the sum in the
 * reference's sequential order (a lane-wise sum of a long row differs from it by more than 1e-6: both round,
 * differently), one multiply by 1 / sum per lane. Not bit-exact (the vector exp is not expf): within 1e-6
 * relative of the reference (exp: range reduction by n = round(x / ln 2) with ln 2 in two parts, Cephes' degree-6
 * polynomial on |r| <= ln 2 / 2, 2^n built in the exponent bits, about 1 ulp; below -87.33 it is 0, where
 * expf gives a subnormal that the final probabilities cannot tell from 0 at that tolerance). */
#include "edgerun/edgerun.h"
#include "../opt/ukernels.h"

#if ER_HAVE_NEON_UKERNELS
#include <arm_neon.h>
#include <math.h>

#include "f32_neon.h"

/* exp(x) for x <= 0 (x - max of a row, times beta >= 0); NaN in, NaN out */
static inline float32x4_t fs_exp(float32x4_t x) {
  const float32x4_t log2e = vdupq_n_f32(1.44269504088896341f);
  const float32x4_t ln2_hi = vdupq_n_f32(0.693359375f), ln2_lo = vdupq_n_f32(-2.12194440e-4f);
  const uint32x4_t tiny = qn_cgt_f32(vdupq_n_f32(-87.3365f), x); /* below: result 0 */
  x = vmaxq_f32(x, vdupq_n_f32(-87.3365f));
  /* n = round to nearest of x / ln 2, by the magic-number addition (|x / ln 2| < 2^22) */
  const float32x4_t magic = vdupq_n_f32(12582912.0f); /* 1.5 * 2^23 */
  const float32x4_t nf = vsubq_f32(vaddq_f32(vmulq_f32(x, log2e), magic), magic);
  const int32x4_t n = vcvtq_s32_f32(nf);
  float32x4_t r = vsubq_f32(x, vmulq_f32(nf, ln2_hi));
  r = vsubq_f32(r, vmulq_f32(nf, ln2_lo));
  /* exp(r) = 1 + r + r^2 (1/2 + r (1/6 + r (1/24 + r (1/120 + r / 720)))) (Cephes expf coefficients) */
  float32x4_t p = vdupq_n_f32(1.9875691500e-4f);
  p = vmlaq_f32(vdupq_n_f32(1.3981999507e-3f), p, r);
  p = vmlaq_f32(vdupq_n_f32(8.3334519073e-3f), p, r);
  p = vmlaq_f32(vdupq_n_f32(4.1665795894e-2f), p, r);
  p = vmlaq_f32(vdupq_n_f32(1.6666665459e-1f), p, r);
  p = vmlaq_f32(vdupq_n_f32(5.0000001201e-1f), p, r);
  const float32x4_t r2 = vmulq_f32(r, r);
  p = vaddq_f32(vmlaq_f32(r, p, r2), vdupq_n_f32(1.0f));
  /* times 2^n (n >= -126 here: the exponent field stays normal) */
  const int32x4_t bits = vshlq_n_s32(vaddq_s32(n, vdupq_n_s32(127)), 23);
  const float32x4_t y = vmulq_f32(p, vreinterpretq_f32_s32(bits));
  return vbslq_f32(tiny, vdupq_n_f32(0.0f), y);
}

static inline float fs_hmax(float32x4_t v) {
#if defined(__aarch64__)
  return vmaxvq_f32(v);
#else
  float32x2_t m = vpmax_f32(vget_low_f32(v), vget_high_f32(v));
  m = vpmax_f32(m, m);
  return vget_lane_f32(m, 0);
#endif
}

int er_f32_softmax__neon(const er_op *op) {
  const er_softmax_params *p = (const er_softmax_params *)op->params;
  if (p->log) return er_f32_softmax(op);
  const float *x = (const float *)op->in[0]->data;
  float *y = (float *)op->out[0]->data;
  const int64_t D = p->depth;
  if (p->rows * D != op->out[0]->count) return ER_ERR_SHAPE;
  const float32x4_t beta = vdupq_n_f32(p->beta);
  for (int64_t r = 0; r < p->rows; ++r) {
    const float *xr = x + r * D;
    float *yr = y + r * D;
    /* the reference's `x > m ? x : m` per lane (a NaN never becomes the maximum) */
    float32x4_t m = vdupq_n_f32(-INFINITY);
    int64_t i = 0;
    for (; i + 4 <= D; i += 4) {
      const float32x4_t v = vld1q_f32(xr + i);
      m = qn_sel_gt_f32(v, m);
    }
    float mx = fs_hmax(m);
    for (; i < D; ++i) mx = xr[i] > mx ? xr[i] : mx;
    const float32x4_t vmx = vdupq_n_f32(mx);
    for (i = 0; i + 4 <= D; i += 4) vst1q_f32(yr + i, fs_exp(vmulq_f32(vsubq_f32(vld1q_f32(xr + i), vmx), beta)));
    for (; i < D; ++i) yr[i] = expf((xr[i] - mx) * p->beta);
    float sum = 0.0f;
    for (i = 0; i < D; ++i) sum += yr[i];
    const float32x4_t inv = vdupq_n_f32(1.0f / sum);
    for (i = 0; i + 4 <= D; i += 4) vst1q_f32(yr + i, vmulq_f32(vld1q_f32(yr + i), inv));
    for (; i < D; ++i) yr[i] *= 1.0f / sum;
  }
  return ER_OK;
}
#else
typedef int er_softmax_neon_unused;
#endif
