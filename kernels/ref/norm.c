/* LOCAL_RESPONSE_NORMALIZATION (float32, the only type TFLite has): each element divided by
 * (bias + alpha * sum of squares of its channel window)^beta, the window clipped at the depth's ends. */
#include <math.h>

#include "edgerun/edgerun.h"

int er_f32_lrn(const er_op *op) {
  const er_lrn_params *p = (const er_lrn_params *)op->params;
  if (op->n_in < 1 || op->n_out < 1 || !op->in[0] || !op->out[0]) return ER_ERR_PARAMS;
  const er_tensor *x = op->in[0];
  er_tensor *y = op->out[0];
  const int64_t d = p->depth;
  if (d < 1 || p->radius < 0 || x->count % d != 0 || y->count != x->count) return ER_ERR_SHAPE;
  const float *xd = (const float *)x->data;
  float *yd = (float *)y->data;
  for (int64_t o = 0; o < x->count / d; ++o) {
    const float *xr = xd + o * d;
    float *yr = yd + o * d;
    for (int64_t c = 0; c < d; ++c) {
      const int64_t lo = c - p->radius > 0 ? c - p->radius : 0, hi = c + p->radius + 1 < d ? c + p->radius + 1 : d;
      float acc = 0.0f;
      for (int64_t j = lo; j < hi; ++j) acc += xr[j] * xr[j];
      yr[c] = xr[c] * powf(p->bias + p->alpha * acc, -p->beta);
    }
  }
  return ER_OK;
}
