/* CONV_3D in float32: a direct convolution over depth, height and width (NDHWC input, DHWIO filter). */
#include "edgerun/edgerun.h"

int er_f32_conv3d(const er_op *op) {
  const er_conv3d_params *p = (const er_conv3d_params *)op->params;
  if (op->n_in < 2 || op->n_out < 1 || !op->in[0] || !op->in[1] || !op->out[0]) return ER_ERR_PARAMS;
  const er_tensor *x = op->in[0], *w = op->in[1], *b = op->n_in > 2 ? op->in[2] : NULL;
  er_tensor *y = op->out[0];
  if (x->ndim != 5 || w->ndim != 5 || y->ndim != 5 || x->type != ER_FLOAT32 || w->type != ER_FLOAT32 ||
      y->type != ER_FLOAT32)
    return ER_ERR_SHAPE;
  const int64_t N = x->dims[0], C = x->dims[4], O = w->dims[4];
  const int64_t in[3] = {x->dims[1], x->dims[2], x->dims[3]}, k[3] = {w->dims[0], w->dims[1], w->dims[2]};
  const int64_t out[3] = {y->dims[1], y->dims[2], y->dims[3]};
  if (w->dims[3] != C || y->dims[0] != N || y->dims[4] != O || (b && (b->type != ER_FLOAT32 || b->count != O)))
    return ER_ERR_SHAPE;
  for (int i = 0; i < 3; ++i)
    if (p->stride[i] < 1 || p->dilation[i] < 1 || p->pad[i] < 0) return ER_ERR_PARAMS;
  const float *xd = (const float *)x->data, *wd = (const float *)w->data, *bd = b ? (const float *)b->data : NULL;
  float *yd = (float *)y->data;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t od = 0; od < out[0]; ++od)
      for (int64_t oh = 0; oh < out[1]; ++oh)
        for (int64_t ow = 0; ow < out[2]; ++ow) {
          float *yo = yd + (((n * out[0] + od) * out[1] + oh) * out[2] + ow) * O;
          for (int64_t o = 0; o < O; ++o) yo[o] = bd ? bd[o] : 0.0f;
          for (int64_t kd = 0; kd < k[0]; ++kd) {
            const int64_t id = od * p->stride[0] - p->pad[0] + kd * p->dilation[0];
            if (id < 0 || id >= in[0]) continue;
            for (int64_t kh = 0; kh < k[1]; ++kh) {
              const int64_t ih = oh * p->stride[1] - p->pad[1] + kh * p->dilation[1];
              if (ih < 0 || ih >= in[1]) continue;
              for (int64_t kw = 0; kw < k[2]; ++kw) {
                const int64_t iw = ow * p->stride[2] - p->pad[2] + kw * p->dilation[2];
                if (iw < 0 || iw >= in[2]) continue;
                const float *xi = xd + (((n * in[0] + id) * in[1] + ih) * in[2] + iw) * C;
                const float *wk = wd + ((kd * k[1] + kh) * k[2] + kw) * C * O;
                for (int64_t c = 0; c < C; ++c)
                  for (int64_t o = 0; o < O; ++o) yo[o] += xi[c] * wk[c * O + o];
              }
            }
          }
          for (int64_t o = 0; o < O; ++o) yo[o] = yo[o] < p->act_min ? p->act_min : (yo[o] > p->act_max ? p->act_max : yo[o]);
        }
  return ER_OK;
}

/* CONV_3D_TRANSPOSE: inputs output_shape, filter [KD, KH, KW, O, C], x [N, D, H, W, C], bias [O] (optional);
 * each input element scatters its products into the output window it maps to. */
int er_f32_conv3d_transpose(const er_op *op) {
  const er_conv3d_params *p = (const er_conv3d_params *)op->params;
  if (op->n_in < 3 || op->n_out < 1 || !op->in[1] || !op->in[2] || !op->out[0]) return ER_ERR_PARAMS;
  const er_tensor *w = op->in[1], *x = op->in[2], *b = op->n_in > 3 ? op->in[3] : NULL;
  er_tensor *y = op->out[0];
  if (x->ndim != 5 || w->ndim != 5 || y->ndim != 5 || x->type != ER_FLOAT32 || w->type != ER_FLOAT32 ||
      y->type != ER_FLOAT32)
    return ER_ERR_SHAPE;
  const int64_t N = x->dims[0], C = x->dims[4], O = w->dims[3];
  const int64_t in[3] = {x->dims[1], x->dims[2], x->dims[3]}, k[3] = {w->dims[0], w->dims[1], w->dims[2]};
  const int64_t out[3] = {y->dims[1], y->dims[2], y->dims[3]};
  if (w->dims[4] != C || y->dims[0] != N || y->dims[4] != O || (b && (b->type != ER_FLOAT32 || b->count != O)))
    return ER_ERR_SHAPE;
  for (int i = 0; i < 3; ++i)
    if (p->stride[i] < 1 || p->dilation[i] < 1 || p->pad[i] < 0) return ER_ERR_PARAMS;
  const float *xd = (const float *)x->data, *wd = (const float *)w->data, *bd = b ? (const float *)b->data : NULL;
  float *yd = (float *)y->data;
  for (int64_t i = 0; i < y->count; ++i) yd[i] = 0.0f;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t d = 0; d < in[0]; ++d)
      for (int64_t h = 0; h < in[1]; ++h)
        for (int64_t ww = 0; ww < in[2]; ++ww) {
          const float *xi = xd + (((n * in[0] + d) * in[1] + h) * in[2] + ww) * C;
          for (int64_t kd = 0; kd < k[0]; ++kd) {
            const int64_t od = d * p->stride[0] - p->pad[0] + kd * p->dilation[0];
            if (od < 0 || od >= out[0]) continue;
            for (int64_t kh = 0; kh < k[1]; ++kh) {
              const int64_t oh = h * p->stride[1] - p->pad[1] + kh * p->dilation[1];
              if (oh < 0 || oh >= out[1]) continue;
              for (int64_t kw = 0; kw < k[2]; ++kw) {
                const int64_t ow = ww * p->stride[2] - p->pad[2] + kw * p->dilation[2];
                if (ow < 0 || ow >= out[2]) continue;
                float *yo = yd + (((n * out[0] + od) * out[1] + oh) * out[2] + ow) * O;
                const float *wk = wd + ((kd * k[1] + kh) * k[2] + kw) * O * C;
                for (int64_t o = 0; o < O; ++o) {
                  float acc = 0.0f;
                  for (int64_t c = 0; c < C; ++c) acc += xi[c] * wk[o * C + c];
                  yo[o] += acc;
                }
              }
            }
          }
        }
  for (int64_t i = 0; i < y->count; ++i) {
    float v = yd[i] + (bd ? bd[i % O] : 0.0f);
    yd[i] = v < p->act_min ? p->act_min : (v > p->act_max ? p->act_max : v);
  }
  return ER_OK;
}
