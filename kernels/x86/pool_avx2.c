/* AVX2 form of kernels/ref/pool.c's float MAX_POOL_2D and AVERAGE_POOL_2D (L2 goes to the reference kernel):
 * 16 (then 8) channels per step over the in-bounds window, each lane taking the reference's steps in its order
 * (vmaxps(x, m) is `x > m ? x : m`, NaN handled alike; sums in window order, one vdivps by the count; the clamp
 * vmaxps(lo, vminps(hi, v))), so results equal the reference's bit for bit. */
#include "edgerun/edgerun.h"
#include "../opt/ukernels.h"

#if ER_HAVE_X86_UKERNELS
#include <float.h>

#include "fixedpoint_avx2.h"

#define FP_MAX 0
#define FP_AVG 1

ER_ATTR_AVX2 static int fp_pool(const er_op *op, int kind) {
  const er_pool_params *p = (const er_pool_params *)op->params;
  const er_tensor *x = op->in[0];
  er_tensor *y = op->out[0];
  const int64_t B = x->dims[0], H = x->dims[1], W = x->dims[2], C = x->dims[3];
  const int64_t OH = y->dims[1], OW = y->dims[2];
  if (y->dims[0] != B || y->dims[3] != C) return ER_ERR_SHAPE;
  const float *xd = (const float *)x->data;
  float *yd = (float *)y->data;
  const __m256 vlo = _mm256_set1_ps(p->act_min), vhi = _mm256_set1_ps(p->act_max);
  const __m256 init = _mm256_set1_ps(kind == FP_MAX ? -FLT_MAX : 0.0f);
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
        const __m256 vcount = _mm256_set1_ps((float)count);
        const int64_t nh = he - hs, nw = we - ws, row_step = W * C - nw * C;
        const float *x0 = count > 0 ? xb + (hs * W + ws) * C : xb;
        int64_t c = 0;
        for (; c + 16 <= C; c += 16) {
          __m256 a0 = init, a1 = init;
          const float *xi = x0 + c;
          for (int64_t ih = 0; ih < nh; ++ih, xi += row_step)
            for (int64_t iw = 0; iw < nw; ++iw, xi += C) {
              const __m256 v0 = _mm256_loadu_ps(xi), v1 = _mm256_loadu_ps(xi + 8);
              if (kind == FP_MAX) {
                a0 = _mm256_max_ps(v0, a0);
                a1 = _mm256_max_ps(v1, a1);
              } else {
                a0 = _mm256_add_ps(a0, v0);
                a1 = _mm256_add_ps(a1, v1);
              }
            }
          if (kind == FP_AVG) {
            a0 = count > 0 ? _mm256_div_ps(a0, vcount) : _mm256_setzero_ps();
            a1 = count > 0 ? _mm256_div_ps(a1, vcount) : _mm256_setzero_ps();
          }
          _mm256_storeu_ps(yo + c, _mm256_max_ps(vlo, _mm256_min_ps(vhi, a0)));
          _mm256_storeu_ps(yo + c + 8, _mm256_max_ps(vlo, _mm256_min_ps(vhi, a1)));
        }
        for (; c + 8 <= C; c += 8) {
          __m256 a = init;
          const float *xi = x0 + c;
          for (int64_t ih = 0; ih < nh; ++ih, xi += row_step)
            for (int64_t iw = 0; iw < nw; ++iw, xi += C) {
              const __m256 v = _mm256_loadu_ps(xi);
              a = kind == FP_MAX ? _mm256_max_ps(v, a) : _mm256_add_ps(a, v);
            }
          if (kind == FP_AVG) a = count > 0 ? _mm256_div_ps(a, vcount) : _mm256_setzero_ps();
          _mm256_storeu_ps(yo + c, _mm256_max_ps(vlo, _mm256_min_ps(vhi, a)));
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

int er_f32_maxpool2d__avx2(const er_op *op) { return fp_pool(op, FP_MAX); }
int er_f32_avgpool2d__avx2(const er_op *op) { return fp_pool(op, FP_AVG); }
#else
typedef int er_pool_avx2_unused;
#endif
