/* Float SOFTMAX / LOG_SOFTMAX over the last dimension (max-subtracted, as TFLite), L2_NORMALIZATION over the
 * last dimension, and ARG_MAX / ARG_MIN (first index on ties) for any numeric input. */
#include <math.h>
#include <stdbool.h>

#include "edgerun/edgerun.h"

int er_f32_softmax(const er_op *op) {
  const er_softmax_params *p = (const er_softmax_params *)op->params;
  const float *x = (const float *)op->in[0]->data;
  float *y = (float *)op->out[0]->data;
  const int64_t D = p->depth;
  if (p->rows * D != op->out[0]->count) return ER_ERR_SHAPE;
  for (int64_t r = 0; r < p->rows; ++r) {
    const float *xr = x + r * D;
    float *yr = y + r * D;
    float mx = -INFINITY;
    for (int64_t i = 0; i < D; ++i) mx = xr[i] > mx ? xr[i] : mx;
    if (p->log) {
      float sum = 0.0f;
      for (int64_t i = 0; i < D; ++i) sum += expf((xr[i] - mx) * p->beta);
      const float ls = logf(sum);
      for (int64_t i = 0; i < D; ++i) yr[i] = (xr[i] - mx) * p->beta - ls;
    } else {
      float sum = 0.0f;
      for (int64_t i = 0; i < D; ++i) {
        yr[i] = expf((xr[i] - mx) * p->beta);
        sum += yr[i];
      }
      const float inv = 1.0f / sum;
      for (int64_t i = 0; i < D; ++i) yr[i] *= inv;
    }
  }
  return ER_OK;
}

int er_f32_l2norm(const er_op *op) {
  const er_softmax_params *p = (const er_softmax_params *)op->params;
  const float *x = (const float *)op->in[0]->data;
  float *y = (float *)op->out[0]->data;
  const int64_t D = p->depth;
  if (p->rows * D != op->out[0]->count) return ER_ERR_SHAPE;
  for (int64_t r = 0; r < p->rows; ++r) {
    float ss = 0.0f;
    for (int64_t i = 0; i < D; ++i) ss += x[r * D + i] * x[r * D + i];
    float n = sqrtf(ss);
    if (n < 1e-6f) n = 1e-6f;
    for (int64_t i = 0; i < D; ++i) y[r * D + i] = x[r * D + i] / n;
  }
  return ER_OK;
}

#define ARG_LOOP(T)                                                                  \
  for (int64_t o = 0; o < p->outer; ++o)                                             \
    for (int64_t in = 0; in < p->inner; ++in) {                                      \
      const T *xb = (const T *)x->data + o * p->axis_size * p->inner + in;           \
      int64_t best = 0;                                                              \
      for (int64_t a = 1; a < p->axis_size; ++a) {                                   \
        T v = xb[a * p->inner], b = xb[best * p->inner];                             \
        if (p->is_min ? (v < b) : (v > b)) best = a;                                 \
      }                                                                              \
      const int64_t k = o * p->inner + in;                                           \
      if (y->type == ER_INT64) ((int64_t *)y->data)[k] = best;                      \
      else ((int32_t *)y->data)[k] = (int32_t)best;                                 \
    }

int er_any_argmax(const er_op *op) {
  const er_arg_params *p = (const er_arg_params *)op->params;
  const er_tensor *x = op->in[0];
  er_tensor *y = op->out[0];
  if (p->outer * p->inner != y->count || p->axis_size < 1) return ER_ERR_SHAPE;
  switch (x->type) {
    case ER_FLOAT32: ARG_LOOP(float) break;
    case ER_INT32: ARG_LOOP(int32_t) break;
    case ER_INT64: ARG_LOOP(int64_t) break;
    case ER_INT8: ARG_LOOP(int8_t) break;
    case ER_UINT8: ARG_LOOP(uint8_t) break;
    case ER_INT16: ARG_LOOP(int16_t) break;
    case ER_BOOL: ARG_LOOP(uint8_t) break; /* BOOL read as bytes */
    default: return ER_ERR_UNSUPPORTED;
  }
  return ER_OK;
}
