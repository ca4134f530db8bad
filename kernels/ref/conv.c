/* Float convolutions, NHWC activations: CONV_2D (filter OHWI, groups), DEPTHWISE_CONV_2D (filter 1HW(I*M)),
 * TRANSPOSE_CONV (filter OHWI, scatter form). Padding and output sizes were fixed at prepare. */
#include <string.h>

#include "edgerun/edgerun.h"
#include "gemm.h"

/* CONV_2D: im2col one output row at a time into scratch, then an inner-product GEMM per group. */
int er_f32_conv2d(const er_op *op) {
  const er_conv_params *p = (const er_conv_params *)op->params;
  const er_tensor *x = op->in[0], *w = op->in[1];
  const er_tensor *b = op->n_in > 2 ? op->in[2] : NULL;
  er_tensor *y = op->out[0];
  const int64_t B = x->dims[0], H = x->dims[1], W = x->dims[2], C = x->dims[3];
  const int64_t OC = w->dims[0], KH = w->dims[1], KW = w->dims[2], IC = w->dims[3];
  const int64_t OH = y->dims[1], OW = y->dims[2];
  const int64_t G = p->groups, OCg = OC / G, K = KH * KW * IC;
  if (IC * G != C || OCg * G != OC || y->dims[3] != OC || y->dims[0] != B) return ER_ERR_SHAPE;
  if (op->scratch_bytes < (int64_t)sizeof(float) * OW * K) return ER_ERR_PARAMS;
  const float *xd = (const float *)x->data, *wd = (const float *)w->data;
  const float *bias = b ? (const float *)b->data : NULL;
  float *yd = (float *)y->data, *col = (float *)op->scratch;
  for (int64_t n = 0; n < B; ++n) {
    for (int64_t oh = 0; oh < OH; ++oh) {
      for (int64_t g = 0; g < G; ++g) {
        for (int64_t ow = 0; ow < OW; ++ow) {
          float *row = col + ow * K;
          for (int64_t kh = 0; kh < KH; ++kh) {
            const int64_t ih = oh * p->stride_h - p->pad_top + kh * p->dil_h;
            for (int64_t kw = 0; kw < KW; ++kw) {
              const int64_t iw = ow * p->stride_w - p->pad_left + kw * p->dil_w;
              float *dst = row + (kh * KW + kw) * IC;
              if (ih < 0 || ih >= H || iw < 0 || iw >= W) {
                memset(dst, 0, sizeof(float) * IC);
              } else {
                memcpy(dst, xd + ((n * H + ih) * W + iw) * C + g * IC, sizeof(float) * IC);
              }
            }
          }
        }
        er_gemm_f32_nt(OW, OCg, K, col, K, wd + g * OCg * K, bias ? bias + g * OCg : NULL,
                       yd + ((n * OH + oh) * OW) * OC + g * OCg, OC, p->act_min, p->act_max);
      }
    }
  }
  return ER_OK;
}

/* DEPTHWISE_CONV_2D: output channel oc = ic * M + m reads input channel ic; accumulate over the window in
 * scratch (one output pixel's channels), vectorising over channels. */
int er_f32_dwconv2d(const er_op *op) {
  const er_conv_params *p = (const er_conv_params *)op->params;
  const er_tensor *x = op->in[0], *w = op->in[1];
  const er_tensor *b = op->n_in > 2 ? op->in[2] : NULL;
  er_tensor *y = op->out[0];
  const int64_t B = x->dims[0], H = x->dims[1], W = x->dims[2], C = x->dims[3];
  const int64_t KH = w->dims[1], KW = w->dims[2], OC = w->dims[3];
  const int64_t OH = y->dims[1], OW = y->dims[2], M = p->depth_multiplier;
  if (C * M != OC || y->dims[3] != OC) return ER_ERR_SHAPE;
  if (op->scratch_bytes < (int64_t)sizeof(float) * OC) return ER_ERR_PARAMS;
  const float *xd = (const float *)x->data, *wd = (const float *)w->data;
  const float *bias = b ? (const float *)b->data : NULL;
  float *yd = (float *)y->data, *acc = (float *)op->scratch;
  for (int64_t n = 0; n < B; ++n) {
    for (int64_t oh = 0; oh < OH; ++oh) {
      for (int64_t ow = 0; ow < OW; ++ow) {
        for (int64_t c = 0; c < OC; ++c) acc[c] = bias ? bias[c] : 0.0f;
        for (int64_t kh = 0; kh < KH; ++kh) {
          const int64_t ih = oh * p->stride_h - p->pad_top + kh * p->dil_h;
          if (ih < 0 || ih >= H) continue;
          for (int64_t kw = 0; kw < KW; ++kw) {
            const int64_t iw = ow * p->stride_w - p->pad_left + kw * p->dil_w;
            if (iw < 0 || iw >= W) continue;
            const float *xi = xd + ((n * H + ih) * W + iw) * C;
            const float *wk = wd + (kh * KW + kw) * OC;
            if (M == 1) {
              for (int64_t c = 0; c < OC; ++c) acc[c] += xi[c] * wk[c];
            } else {
              for (int64_t c = 0; c < C; ++c)
                for (int64_t m = 0; m < M; ++m) acc[c * M + m] += xi[c] * wk[c * M + m];
            }
          }
        }
        float *yo = yd + ((n * OH + oh) * OW + ow) * OC;
        for (int64_t c = 0; c < OC; ++c) yo[c] = er_clampf(acc[c], p->act_min, p->act_max);
      }
    }
  }
  return ER_OK;
}

/* TRANSPOSE_CONV: inputs (output_shape, weights OHWI, input, [bias]). Each input pixel scatters its
 * contribution; the output is zeroed first, then bias and activation applied. */
int er_f32_tconv2d(const er_op *op) {
  const er_conv_params *p = (const er_conv_params *)op->params;
  const er_tensor *w = op->in[1], *x = op->in[2];
  const er_tensor *b = op->n_in > 3 ? op->in[3] : NULL;
  er_tensor *y = op->out[0];
  const int64_t B = x->dims[0], H = x->dims[1], W = x->dims[2], C = x->dims[3];
  const int64_t OC = w->dims[0], KH = w->dims[1], KW = w->dims[2];
  const int64_t OH = y->dims[1], OW = y->dims[2];
  if (w->dims[3] != C || y->dims[3] != OC || y->dims[0] != B) return ER_ERR_SHAPE;
  const float *xd = (const float *)x->data, *wd = (const float *)w->data;
  const float *bias = b ? (const float *)b->data : NULL;
  float *yd = (float *)y->data;
  memset(yd, 0, sizeof(float) * (size_t)y->count);
  for (int64_t n = 0; n < B; ++n) {
    for (int64_t ih = 0; ih < H; ++ih) {
      for (int64_t iw = 0; iw < W; ++iw) {
        const float *xi = xd + ((n * H + ih) * W + iw) * C;
        for (int64_t kh = 0; kh < KH; ++kh) {
          const int64_t oh = ih * p->stride_h - p->pad_top + kh;
          if (oh < 0 || oh >= OH) continue;
          for (int64_t kw = 0; kw < KW; ++kw) {
            const int64_t ow = iw * p->stride_w - p->pad_left + kw;
            if (ow < 0 || ow >= OW) continue;
            float *yo = yd + ((n * OH + oh) * OW + ow) * OC;
            for (int64_t oc = 0; oc < OC; ++oc) {
              const float *wr = wd + ((oc * KH + kh) * KW + kw) * C;
              float s = 0;
              for (int64_t c = 0; c < C; ++c) s += xi[c] * wr[c];
              yo[oc] += s;
            }
          }
        }
      }
    }
  }
  for (int64_t i = 0; i < y->count; ++i) {
    float v = yd[i] + (bias ? bias[i % OC] : 0.0f);
    yd[i] = er_clampf(v, p->act_min, p->act_max);
  }
  return ER_OK;
}
