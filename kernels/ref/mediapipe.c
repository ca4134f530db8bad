/* Built-in implementations of the custom ops that MediaPipe's public vision models use:
 *   Convolution2DTransposeBias  inputs (x NHWC, w OHWI, bias O): transposed convolution plus bias;
 *   MaxPoolingWithArgmax2D      outputs (max, index) where index = y * filter_w + x inside the window,
 *                               stored as float (+0.1 so that truncation recovers it);
 *   MaxUnpooling2D              inputs (values, indices): scatters each value back to its window position
 *                               in a zero output, skipping positions outside the output.
 * Geometry (output sizes, padding) is computed at prepare (runtime/ops/custom.py) into er_pool_params. */
#include <float.h>
#include <string.h>

#include "edgerun/edgerun.h"

static float clampf(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

int er_f32_tconv_bias(const er_op *op) {
  const er_pool_params *p = (const er_pool_params *)op->params;
  const er_tensor *x = op->in[0], *w = op->in[1], *b = op->in[2];
  er_tensor *y = op->out[0];
  const int64_t N = x->dims[0], H = x->dims[1], W = x->dims[2], C = x->dims[3];
  const int64_t O = w->dims[0], KH = w->dims[1], KW = w->dims[2];
  const int64_t OH = y->dims[1], OW = y->dims[2];
  if (w->dims[3] != C || y->dims[3] != O || b->count != O || y->dims[0] != N) return ER_ERR_SHAPE;
  const float *xd = (const float *)x->data, *wd = (const float *)w->data, *bd = (const float *)b->data;
  float *yd = (float *)y->data;
  for (int64_t n = 0; n < N; ++n) {
    float *yn = yd + n * OH * OW * O;
    for (int64_t i = 0; i < OH * OW; ++i) memcpy(yn + i * O, bd, (size_t)O * sizeof(float));
    for (int64_t ih = 0; ih < H; ++ih)
      for (int64_t iw = 0; iw < W; ++iw) {
        const float *xi = xd + ((n * H + ih) * W + iw) * C;
        for (int64_t kh = 0; kh < KH; ++kh) {
          const int64_t oh = ih * p->stride_h - p->pad_top + kh;
          if (oh < 0 || oh >= OH) continue;
          for (int64_t kw = 0; kw < KW; ++kw) {
            const int64_t ow = iw * p->stride_w - p->pad_left + kw;
            if (ow < 0 || ow >= OW) continue;
            float *yo = yn + (oh * OW + ow) * O;
            for (int64_t o = 0; o < O; ++o) {
              const float *wo = wd + ((o * KH + kh) * KW + kw) * C;
              float acc = 0.0f;
              for (int64_t c = 0; c < C; ++c) acc += xi[c] * wo[c];
              yo[o] += acc;
            }
          }
        }
      }
  }
  return ER_OK;
}

int er_f32_maxpool_argmax(const er_op *op) {
  const er_pool_params *p = (const er_pool_params *)op->params;
  const er_tensor *x = op->in[0];
  er_tensor *y = op->out[0], *idx = op->out[1];
  const int64_t N = x->dims[0], H = x->dims[1], W = x->dims[2], C = x->dims[3];
  const int64_t OH = y->dims[1], OW = y->dims[2];
  if (y->dims[0] != N || y->dims[3] != C || idx->count != y->count) return ER_ERR_SHAPE;
  const float *xd = (const float *)x->data;
  float *yd = (float *)y->data, *id = (float *)idx->data;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        const int64_t y0 = oh * p->stride_h - p->pad_top, x0 = ow * p->stride_w - p->pad_left;
        const int64_t fy0 = y0 < 0 ? -y0 : 0, fx0 = x0 < 0 ? -x0 : 0;
        const int64_t fy1 = p->filter_h < H - y0 ? p->filter_h : H - y0;
        const int64_t fx1 = p->filter_w < W - x0 ? p->filter_w : W - x0;
        for (int64_t c = 0; c < C; ++c) {
          float best = -FLT_MAX;
          int64_t by = 0, bx = 0;
          for (int64_t fy = fy0; fy < fy1; ++fy)
            for (int64_t fx = fx0; fx < fx1; ++fx) {
              const float v = xd[((n * H + y0 + fy) * W + x0 + fx) * C + c];
              if (v > best) {
                best = v;
                by = fy;
                bx = fx;
              }
            }
          const int64_t o = ((n * OH + oh) * OW + ow) * C + c;
          yd[o] = clampf(best, p->act_min, p->act_max);
          id[o] = (float)(by * p->filter_w + bx) + 0.1f;
        }
      }
  return ER_OK;
}

int er_f32_max_unpool(const er_op *op) {
  const er_pool_params *p = (const er_pool_params *)op->params;
  const er_tensor *x = op->in[0], *idx = op->in[1];
  er_tensor *y = op->out[0];
  const int64_t N = x->dims[0], H = x->dims[1], W = x->dims[2], C = x->dims[3];
  const int64_t OH = y->dims[1], OW = y->dims[2];
  if (idx->count != x->count || y->dims[0] != N || y->dims[3] != C || p->filter_w <= 0) return ER_ERR_SHAPE;
  const float *xd = (const float *)x->data, *id = (const float *)idx->data;
  float *yd = (float *)y->data;
  memset(yd, 0, (size_t)y->count * sizeof(float));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t ih = 0; ih < H; ++ih)
      for (int64_t iw = 0; iw < W; ++iw)
        for (int64_t c = 0; c < C; ++c) {
          const int64_t i = ((n * H + ih) * W + iw) * C + c;
          const float f = id[i];
          if (!(f > -2147483648.0f && f < 2147483648.0f)) continue; /* NaN or not an int: no position */
          const int32_t k = (int32_t)f;                             /* truncation, as a C++ int cast */
          const int64_t ox = iw * p->stride_w - p->pad_left + k % p->filter_w;
          const int64_t oy = ih * p->stride_h - p->pad_top + k / p->filter_w;
          if (ox >= 0 && ox < OW && oy >= 0 && oy < OH) yd[((n * OH + oy) * OW + ox) * C + c] = xd[i];
        }
  return ER_OK;
}
