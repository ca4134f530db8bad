/* Float 2-D pooling over NHWC: MAX_POOL_2D, AVERAGE_POOL_2D (the mean of the in-bounds window only, as
 * TFLite), L2_POOL_2D. Window geometry and padding were fixed at prepare. */
#include <float.h>
#include <math.h>

#include "edgerun/edgerun.h"

#define POOL_MAX 0
#define POOL_AVG 1
#define POOL_L2 2

static int pool_f32(const er_op *op, int kind) {
  const er_pool_params *p = (const er_pool_params *)op->params;
  const er_tensor *x = op->in[0];
  er_tensor *y = op->out[0];
  const int64_t B = x->dims[0], H = x->dims[1], W = x->dims[2], C = x->dims[3];
  const int64_t OH = y->dims[1], OW = y->dims[2];
  if (y->dims[0] != B || y->dims[3] != C) return ER_ERR_SHAPE;
  const float *xd = (const float *)x->data;
  float *yd = (float *)y->data;
  for (int64_t n = 0; n < B; ++n)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        const int64_t h0 = oh * p->stride_h - p->pad_top, w0 = ow * p->stride_w - p->pad_left;
        const int64_t hs = h0 < 0 ? 0 : h0, ws = w0 < 0 ? 0 : w0;
        const int64_t he = h0 + p->filter_h > H ? H : h0 + p->filter_h;
        const int64_t we = w0 + p->filter_w > W ? W : w0 + p->filter_w;
        float *yo = yd + ((n * OH + oh) * OW + ow) * C;
        const int64_t count = (he - hs) * (we - ws);
        for (int64_t c = 0; c < C; ++c) yo[c] = kind == POOL_MAX ? -FLT_MAX : 0.0f; /* TFLite's lowest() */
        for (int64_t ih = hs; ih < he; ++ih)
          for (int64_t iw = ws; iw < we; ++iw) {
            const float *xi = xd + ((n * H + ih) * W + iw) * C;
            if (kind == POOL_MAX) {
              for (int64_t c = 0; c < C; ++c) yo[c] = xi[c] > yo[c] ? xi[c] : yo[c];
            } else if (kind == POOL_AVG) {
              for (int64_t c = 0; c < C; ++c) yo[c] += xi[c];
            } else {
              for (int64_t c = 0; c < C; ++c) yo[c] += xi[c] * xi[c];
            }
          }
        for (int64_t c = 0; c < C; ++c) {
          float v = yo[c];
          if (kind == POOL_AVG) v = count > 0 ? v / (float)count : 0.0f;
          if (kind == POOL_L2) v = count > 0 ? sqrtf(v / (float)count) : 0.0f;
          yo[c] = v < p->act_min ? p->act_min : (v > p->act_max ? p->act_max : v);
        }
      }
  return ER_OK;
}

int er_f32_maxpool2d(const er_op *op) { return pool_f32(op, POOL_MAX); }
int er_f32_avgpool2d(const er_op *op) { return pool_f32(op, POOL_AVG); }
int er_f32_l2pool2d(const er_op *op) { return pool_f32(op, POOL_L2); }
