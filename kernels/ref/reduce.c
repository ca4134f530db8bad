/* Reductions (SUM, MEAN, REDUCE_MAX, REDUCE_MIN, REDUCE_PROD, REDUCE_ANY/ALL) over a strided view
 * (er_reduce_params): output i reduces its n_red input elements in input order, as TFLite does. */
#include <float.h>
#include <math.h>
#include <stdbool.h>

#include "edgerun/edgerun.h"
#include "reduce_view.h"

/* The outputs whose innermost output axis is contiguous in the input (MEAN over H, W of NHWC, ...): the loop
 * over the reduced elements outside, over a row of C outputs inside (contiguous, vectorized by the compiler),
 * accumulating in the output row. Each output still takes its elements in input order with the same
 * operation, so results equal the one-output-at-a-time loop bit for bit. */
static int f32_reduce_rows(const er_reduce_params *p, const float *x, float *y) {
  const int64_t C = p->out_dims[p->n_out_dims - 1];
  er_odometer o, r;
  er_odo_init(&o, p->n_out_dims - 1, p->out_dims, p->out_strides);
  er_odo_init(&r, p->n_red_dims, p->red_dims, p->red_strides);
  const float init = p->op == ER_RED_MAX ? -FLT_MAX : p->op == ER_RED_MIN ? FLT_MAX : p->op == ER_RED_PROD ? 1.0f : 0.0f;
  for (int64_t i = 0; i < p->n_out; i += C, er_odo_next(&o)) {
    float *restrict yr = y + i;
    for (int64_t c = 0; c < C; ++c) yr[c] = init;
    for (int64_t j = 0; j < p->n_red; ++j, er_odo_next(&r)) {
      const float *restrict xb = x + o.off + r.off;
      switch (p->op) {
        case ER_RED_SUM:
        case ER_RED_MEAN:
          for (int64_t c = 0; c < C; ++c) yr[c] += xb[c];
          break;
        case ER_RED_MAX:
          for (int64_t c = 0; c < C; ++c) yr[c] = xb[c] > yr[c] ? xb[c] : yr[c];
          break;
        case ER_RED_MIN:
          for (int64_t c = 0; c < C; ++c) yr[c] = xb[c] < yr[c] ? xb[c] : yr[c];
          break;
        default: /* ER_RED_PROD */
          for (int64_t c = 0; c < C; ++c) yr[c] *= xb[c];
          break;
      }
    }
    if (p->op == ER_RED_MEAN)
      for (int64_t c = 0; c < C; ++c) yr[c] = p->n_red ? yr[c] / (float)p->n_red : NAN;
  }
  return ER_OK;
}

int er_f32_reduce(const er_op *op) {
  const er_reduce_params *p = (const er_reduce_params *)op->params;
  const float *x = (const float *)op->in[0]->data;
  float *y = (float *)op->out[0]->data;
  if (op->out[0]->count != p->n_out || !ER_REDUCE_VIEW_OK(p, op->in[0]->count)) return ER_ERR_SHAPE;
  if (p->op >= ER_RED_SUM && p->op <= ER_RED_PROD && p->n_out_dims >= 1 &&
      p->out_strides[p->n_out_dims - 1] == 1 && p->out_dims[p->n_out_dims - 1] >= 4) {
    /* the output row must not overlap the input (it is written before the input is read through) */
    const uintptr_t xa = (uintptr_t)x, xe = xa + (uintptr_t)op->in[0]->count * sizeof(float);
    const uintptr_t ya = (uintptr_t)y, ye = ya + (uintptr_t)p->n_out * sizeof(float);
    if (ye <= xa || xe <= ya) return f32_reduce_rows(p, x, y);
  }
  er_odometer o, r;
  er_odo_init(&o, p->n_out_dims, p->out_dims, p->out_strides);
  er_odo_init(&r, p->n_red_dims, p->red_dims, p->red_strides);
  for (int64_t i = 0; i < p->n_out; ++i, er_odo_next(&o)) {
    const float *xb = x + o.off;
    float acc;
    switch (p->op) {
      case ER_RED_SUM:
      case ER_RED_MEAN:
        acc = 0.0f;
        for (int64_t j = 0; j < p->n_red; ++j, er_odo_next(&r)) acc += xb[r.off];
        if (p->op == ER_RED_MEAN) acc = p->n_red ? acc / (float)p->n_red : NAN;
        break;
      case ER_RED_MAX:
        acc = -FLT_MAX; /* as TFLite: an empty or all -inf reduction gives the lowest float */
        for (int64_t j = 0; j < p->n_red; ++j, er_odo_next(&r)) acc = xb[r.off] > acc ? xb[r.off] : acc;
        break;
      case ER_RED_MIN:
        acc = FLT_MAX;
        for (int64_t j = 0; j < p->n_red; ++j, er_odo_next(&r)) acc = xb[r.off] < acc ? xb[r.off] : acc;
        break;
      case ER_RED_PROD:
        acc = 1.0f;
        for (int64_t j = 0; j < p->n_red; ++j, er_odo_next(&r)) acc *= xb[r.off];
        break;
      default: return ER_ERR_UNSUPPORTED;
    }
    y[i] = acc;
  }
  return ER_OK;
}

int er_i32_reduce(const er_op *op) {
  const er_reduce_params *p = (const er_reduce_params *)op->params;
  if (op->out[0]->count != p->n_out || !ER_REDUCE_VIEW_OK(p, op->in[0]->count)) return ER_ERR_SHAPE;
  const int is64 = op->in[0]->type == ER_INT64;
  er_odometer o, r;
  er_odo_init(&o, p->n_out_dims, p->out_dims, p->out_strides);
  er_odo_init(&r, p->n_red_dims, p->red_dims, p->red_strides);
  for (int64_t i = 0; i < p->n_out; ++i, er_odo_next(&o)) {
    int64_t acc = p->op == ER_RED_MAX ? INT64_MIN : p->op == ER_RED_MIN ? INT64_MAX : p->op == ER_RED_PROD;
    uint64_t uacc = (uint64_t)acc;
    for (int64_t j = 0; j < p->n_red; ++j, er_odo_next(&r)) {
      const int64_t k = o.off + r.off;
      int64_t v = is64 ? ((const int64_t *)op->in[0]->data)[k] : ((const int32_t *)op->in[0]->data)[k];
      switch (p->op) {
        case ER_RED_SUM: case ER_RED_MEAN: uacc += (uint64_t)v; break;
        case ER_RED_PROD: uacc *= (uint64_t)v; break;
        case ER_RED_MAX: if (v > (int64_t)uacc) uacc = (uint64_t)v; break;
        case ER_RED_MIN: if (v < (int64_t)uacc) uacc = (uint64_t)v; break;
        default: return ER_ERR_UNSUPPORTED;
      }
    }
    acc = (int64_t)uacc;
    if (p->op == ER_RED_MEAN) acc = p->n_red ? acc / p->n_red : 0;
    if (is64) ((int64_t *)op->out[0]->data)[i] = acc;
    else ((int32_t *)op->out[0]->data)[i] = (int32_t)(uint32_t)(uint64_t)acc;
  }
  return ER_OK;
}

int er_b8_reduce(const er_op *op) {
  const er_reduce_params *p = (const er_reduce_params *)op->params;
  const uint8_t *x = (const uint8_t *)op->in[0]->data; /* BOOL bytes, any value: != 0 is true */
  bool *y = (bool *)op->out[0]->data;
  if (op->out[0]->count != p->n_out || !ER_REDUCE_VIEW_OK(p, op->in[0]->count)) return ER_ERR_SHAPE;
  er_odometer o, r;
  er_odo_init(&o, p->n_out_dims, p->out_dims, p->out_strides);
  er_odo_init(&r, p->n_red_dims, p->red_dims, p->red_strides);
  for (int64_t i = 0; i < p->n_out; ++i, er_odo_next(&o)) {
    bool acc = p->op == ER_RED_ALL;
    for (int64_t j = 0; j < p->n_red; ++j, er_odo_next(&r)) {
      bool v = x[o.off + r.off] != 0;
      acc = p->op == ER_RED_ALL ? (acc && v) : (acc || v);
    }
    y[i] = acc;
  }
  return ER_OK;
}
