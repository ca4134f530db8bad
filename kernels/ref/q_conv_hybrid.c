/* Hybrid (dynamic-range) kernels as TFLite defines them: float activations quantized to int8 on the fly,
 * int8 constant weights with per-tensor or per-channel scales, float bias and output.
 *   FULLY_CONNECTED: each input row quantized (symmetric, or asymmetric when the option says so);
 *                    out = bias + acc * (row_scale * weight_scale[c]).
 *   CONV_2D:         each batch image quantized (asymmetric for per-channel weights, symmetric for per-tensor);
 *                    out = acc * (image_scale * weight_scale[c]) + bias.
 *   DEPTHWISE_CONV_2D: each batch image quantized asymmetrically; same output formula.
 *   TRANSPOSE_CONV:  each batch image quantized (asymmetric for per-channel weights); out as CONV_2D.
 *   BATCH_MATMUL:    each lhs row quantized (option); out = (row_scale * rhs_scale) * acc.
 * acc is the exact int32 dot product of (q - zero point) with the weights (TFLite's integer row-sum
 * correction gives the same integer), converted to float; then fused activation clamp. */
#include <string.h>

#include "edgerun/edgerun.h"
#include "edgerun/fixedpoint_conv.h"

static float clampf(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

int er_h_fc(const er_op *op) {
  const er_qconv_params *p = (const er_qconv_params *)op->params;
  const er_tensor *x = op->in[0], *w = op->in[1];
  const er_tensor *b = op->n_in > 2 ? op->in[2] : NULL;
  er_tensor *y = op->out[0];
  if (x->type != ER_FLOAT32 || w->type != ER_INT8 || y->type != ER_FLOAT32) return ER_ERR_UNSUPPORTED;
  const int64_t N = w->dims[0], K = w->dims[1];
  if (K == 0 || x->count % K != 0) return ER_ERR_SHAPE;
  const int64_t M = x->count / K;
  if (y->count != M * N) return ER_ERR_SHAPE;
  if (op->scratch_bytes < (int64_t)sizeof(int16_t) * K + K) return ER_ERR_PARAMS;
  int16_t *row = (int16_t *)op->scratch;
  int8_t *q = (int8_t *)(row + K);
  const float *xd = (const float *)x->data, *bias = b ? (const float *)b->data : NULL;
  const int8_t *wd = (const int8_t *)w->data;
  float *yd = (float *)y->data;
  for (int64_t m = 0; m < M; ++m) {
    float s;
    int32_t z;
    er_qc_quantize(p->hq_mode, xd + m * K, K, q, &s, &z);
    er_qc_load(q, ER_INT8, 0, 1, K, -z, row);
    for (int64_t n = 0; n < N; ++n) {
      const int32_t acc = er_qc_wrap32(er_qc_dot_s16_s8(row, wd + n * K, K, ER_QC_CHUNK8));
      const float scale = s * p->channel_scales[n];
      const float v = (bias ? bias[n] : 0.0f) + (float)acc * scale;
      yd[m * N + n] = clampf(v, p->f_min, p->f_max);
    }
  }
  return ER_OK;
}

int er_h_conv2d(const er_op *op) {
  const er_qconv_params *p = (const er_qconv_params *)op->params;
  const er_tensor *x = op->in[0], *w = op->in[1];
  const er_tensor *b = op->n_in > 2 ? op->in[2] : NULL;
  er_tensor *y = op->out[0];
  if (x->type != ER_FLOAT32 || w->type != ER_INT8 || y->type != ER_FLOAT32) return ER_ERR_UNSUPPORTED;
  const int64_t B = x->dims[0], H = x->dims[1], W = x->dims[2], C = x->dims[3];
  const int64_t OC = w->dims[0], KH = w->dims[1], KW = w->dims[2], IC = w->dims[3];
  const int64_t OH = y->dims[1], OW = y->dims[2];
  const int64_t G = p->groups, OCg = G > 0 ? OC / G : 0, K = KH * KW * IC;
  if (G < 1 || IC * G != C || OCg * G != OC || y->dims[3] != OC || y->dims[0] != B) return ER_ERR_SHAPE;
  const int64_t image = H * W * C;
  if (op->scratch_bytes < (int64_t)sizeof(int16_t) * K + image) return ER_ERR_PARAMS;
  int16_t *row = (int16_t *)op->scratch;
  int8_t *q = (int8_t *)(row + K);
  const float *xd = (const float *)x->data, *bias = b ? (const float *)b->data : NULL;
  const int8_t *wd = (const int8_t *)w->data;
  float *yd = (float *)y->data;
  for (int64_t n = 0; n < B; ++n) {
    float s;
    int32_t z;
    er_qc_quantize(p->hq_mode, xd + n * image, image, q, &s, &z);
    for (int64_t oh = 0; oh < OH; ++oh) {
      for (int64_t ow = 0; ow < OW; ++ow) {
        for (int64_t g = 0; g < G; ++g) {
          for (int64_t kh = 0; kh < KH; ++kh) {
            const int64_t ih = oh * p->stride_h - p->pad_top + kh * p->dil_h;
            for (int64_t kw = 0; kw < KW; ++kw) {
              const int64_t iw = ow * p->stride_w - p->pad_left + kw * p->dil_w;
              int16_t *dst = row + (kh * KW + kw) * IC;
              if (ih < 0 || ih >= H || iw < 0 || iw >= W)
                memset(dst, 0, sizeof(int16_t) * (size_t)IC);
              else
                er_qc_load(q, ER_INT8, (ih * W + iw) * C + g * IC, 1, IC, -z, dst);
            }
          }
          float *yo = yd + ((n * OH + oh) * OW + ow) * OC + g * OCg;
          for (int64_t oc = 0; oc < OCg; ++oc) {
            const int64_t c = g * OCg + oc;
            const int32_t acc = er_qc_wrap32(er_qc_dot_s16_s8(row, wd + c * K, K, ER_QC_CHUNK8));
            float v = (float)acc * (s * p->channel_scales[c]);
            if (bias) v += bias[c];
            yo[oc] = clampf(v, p->f_min, p->f_max);
          }
        }
      }
    }
  }
  return ER_OK;
}

int er_h_dwconv2d(const er_op *op) {
  const er_qconv_params *p = (const er_qconv_params *)op->params;
  const er_tensor *x = op->in[0], *w = op->in[1];
  const er_tensor *b = op->n_in > 2 ? op->in[2] : NULL;
  er_tensor *y = op->out[0];
  if (x->type != ER_FLOAT32 || w->type != ER_INT8 || y->type != ER_FLOAT32) return ER_ERR_UNSUPPORTED;
  const int64_t B = x->dims[0], H = x->dims[1], W = x->dims[2], C = x->dims[3];
  const int64_t KH = w->dims[1], KW = w->dims[2], OC = w->dims[3];
  const int64_t OH = y->dims[1], OW = y->dims[2], M = p->depth_multiplier;
  if (C * M != OC || y->dims[3] != OC || y->dims[0] != B) return ER_ERR_SHAPE;
  const int64_t image = H * W * C;
  if (op->scratch_bytes < (int64_t)sizeof(int64_t) * OC + image) return ER_ERR_PARAMS;
  int64_t *acc = (int64_t *)op->scratch;
  int8_t *q = (int8_t *)(acc + OC);
  const float *xd = (const float *)x->data, *bias = b ? (const float *)b->data : NULL;
  const int8_t *wd = (const int8_t *)w->data;
  float *yd = (float *)y->data;
  for (int64_t n = 0; n < B; ++n) {
    float s;
    int32_t z;
    er_qc_quantize(p->hq_mode, xd + n * image, image, q, &s, &z);
    for (int64_t oh = 0; oh < OH; ++oh) {
      for (int64_t ow = 0; ow < OW; ++ow) {
        memset(acc, 0, sizeof(int64_t) * (size_t)OC);
        for (int64_t kh = 0; kh < KH; ++kh) {
          const int64_t ih = oh * p->stride_h - p->pad_top + kh * p->dil_h;
          if (ih < 0 || ih >= H) continue;
          for (int64_t kw = 0; kw < KW; ++kw) {
            const int64_t iw = ow * p->stride_w - p->pad_left + kw * p->dil_w;
            if (iw < 0 || iw >= W) continue;
            const int8_t *xi = q + (ih * W + iw) * C;
            const int8_t *wk = wd + (kh * KW + kw) * OC;
            for (int64_t c = 0; c < C; ++c) {
              const int64_t v = (int64_t)xi[c] - z;
              for (int64_t m = 0; m < M; ++m) acc[c * M + m] += v * wk[c * M + m];
            }
          }
        }
        float *yo = yd + ((n * OH + oh) * OW + ow) * OC;
        for (int64_t c = 0; c < OC; ++c) {
          float v = (float)er_qc_wrap32(acc[c]);
          v *= p->channel_scales[c] * s;
          if (bias) v += bias[c];
          yo[c] = clampf(v, p->f_min, p->f_max);
        }
      }
    }
  }
  return ER_OK;
}

/* TRANSPOSE_CONV (output_shape, weights OHWI, input, [bias]): each batch image quantized (asymmetric with
 * per-channel weights), exact integer scatter into int64 accumulators, then acc * (scale * weight_scale[c]). */
int er_h_tconv2d(const er_op *op) {
  const er_qconv_params *p = (const er_qconv_params *)op->params;
  const er_tensor *w = op->in[1], *x = op->in[2];
  const er_tensor *b = op->n_in > 3 ? op->in[3] : NULL;
  er_tensor *y = op->out[0];
  if (x->type != ER_FLOAT32 || w->type != ER_INT8 || y->type != ER_FLOAT32) return ER_ERR_UNSUPPORTED;
  const int64_t B = x->dims[0], H = x->dims[1], W = x->dims[2], C = x->dims[3];
  const int64_t OC = w->dims[0], KH = w->dims[1], KW = w->dims[2];
  const int64_t OH = y->dims[1], OW = y->dims[2];
  if (w->dims[3] != C || y->dims[3] != OC || y->dims[0] != B) return ER_ERR_SHAPE;
  const int64_t image = H * W * C, out_image = OH * OW * OC;
  if (op->scratch_bytes < (int64_t)sizeof(int64_t) * out_image + (int64_t)sizeof(int16_t) * C + image)
    return ER_ERR_PARAMS;
  int64_t *acc = (int64_t *)op->scratch;
  int16_t *xi = (int16_t *)(acc + out_image);
  int8_t *q = (int8_t *)(xi + C);
  const float *xd = (const float *)x->data, *bias = b ? (const float *)b->data : NULL;
  const int8_t *wd = (const int8_t *)w->data;
  float *yd = (float *)y->data;
  for (int64_t n = 0; n < B; ++n) {
    float s;
    int32_t z;
    er_qc_quantize(p->hq_mode, xd + n * image, image, q, &s, &z);
    memset(acc, 0, sizeof(int64_t) * (size_t)out_image);
    for (int64_t ih = 0; ih < H; ++ih) {
      for (int64_t iw = 0; iw < W; ++iw) {
        er_qc_load(q, ER_INT8, (ih * W + iw) * C, 1, C, -z, xi);
        for (int64_t kh = 0; kh < KH; ++kh) {
          const int64_t oh = ih * p->stride_h - p->pad_top + kh;
          if (oh < 0 || oh >= OH) continue;
          for (int64_t kw = 0; kw < KW; ++kw) {
            const int64_t ow = iw * p->stride_w - p->pad_left + kw;
            if (ow < 0 || ow >= OW) continue;
            int64_t *ao = acc + (oh * OW + ow) * OC;
            for (int64_t oc = 0; oc < OC; ++oc)
              ao[oc] += er_qc_dot_s16_s8(xi, wd + ((oc * KH + kh) * KW + kw) * C, C, ER_QC_CHUNK8);
          }
        }
      }
    }
    float *yo = yd + n * out_image;
    for (int64_t i = 0; i < out_image; ++i) {
      const int64_t c = i % OC;
      float v = (float)er_qc_wrap32(acc[i]) * (s * p->channel_scales[c]);
      if (bias) v += bias[c];
      yo[i] = clampf(v, p->f_min, p->f_max);
    }
  }
  return ER_OK;
}

/* BATCH_MATMUL, float lhs x constant int8 rhs (packed N x K per rhs batch at prepare). TFLite corrects the
 * asymmetric zero point in float: total -= row_sum * (float)zero_point, then truncates back to int32. */
int er_h_bmm(const er_op *op) {
  const er_qbmm_params *p = (const er_qbmm_params *)op->params;
  const er_tensor *a = op->in[0];
  er_tensor *y = op->out[0];
  if (a->type != ER_FLOAT32 || y->type != ER_FLOAT32) return ER_ERR_UNSUPPORTED;
  const int64_t M = p->m, N = p->n, K = p->k;
  if (y->count != p->batches * M * N) return ER_ERR_SHAPE;
  if (op->scratch_bytes < (int64_t)sizeof(float) * K + (int64_t)sizeof(int16_t) * K + K) return ER_ERR_PARAMS;
  float *rowf = (float *)op->scratch;
  int16_t *row = (int16_t *)(rowf + K);
  int8_t *q = (int8_t *)(row + K);
  const float *ad = (const float *)a->data;
  float *yd = (float *)y->data;
  for (int64_t i = 0; i < p->batches; ++i) {
    const int64_t ao = p->a_offsets[i], bo = p->b_offsets[i];
    const int8_t *bp = p->b_packed + bo;
    const int32_t *rs = p->b_row_sums + bo / (K > 0 ? K : 1);
    for (int64_t m = 0; m < M; ++m) {
      if (p->adj_x) {
        for (int64_t k = 0; k < K; ++k) rowf[k] = ad[ao + k * M + m];
      } else {
        memcpy(rowf, ad + ao + m * K, sizeof(float) * (size_t)K);
      }
      float s;
      int32_t z;
      er_qc_quantize(p->hq_mode, rowf, K, q, &s, &z);
      er_qc_load(q, ER_INT8, 0, 1, K, 0, row);
      float *yo = yd + (i * M + m) * N;
      for (int64_t n = 0; n < N; ++n) {
        int32_t total = er_qc_wrap32(er_qc_dot_s16_s8(row, bp + n * K, K, ER_QC_CHUNK8));
        if (z != 0) {
          const float t = (float)total - (float)rs[n] * (float)z;
          total = er_qc_f2i(t, INT32_MIN, INT32_MAX);
        }
        const float scale = p->b_per_channel ? s * p->b_scales[n] : s * p->b_scales[0];
        yo[n] = scale * (float)total;
      }
    }
  }
  return ER_OK;
}
