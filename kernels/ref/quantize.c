/* QUANTIZE and DEQUANTIZE with TFLite's arithmetic:
 *   dequantize  int8/uint8: q * scale + (-zero_point) * scale in float by blocks of 8 (LiteRT's 8-bit path), the
 *               tail and int16/int32 as *               (float)(scale * (q - zero_point)) in double; per channel
 *               (q - zp[c]) * scale[c] in float (per channel); float16 -> float32 exactly;
 *   quantize    per channel q = clamp(round_half_away(x / scale) + zero_point); per tensor as LiteRT (round_even = 1:
 *               quantize_lite) or that same formula (0);
 *   requantize  q' = clamp(MultiplyByQuantizedMultiplier(q - in_zp, m, s) + out_zp) for int8/uint8/int16. */
#include <math.h>
#include <string.h>

#include "edgerun/edgerun.h"
#include "edgerun/fixedpoint.h"
#include "half.h"

static int64_t load_int(const er_tensor *t, int64_t i) {
  switch (t->type) {
    case ER_INT8: return ((const int8_t *)t->data)[i];
    case ER_UINT8: return ((const uint8_t *)t->data)[i];
    case ER_INT16: return ((const int16_t *)t->data)[i];
    case ER_INT32: return ((const int32_t *)t->data)[i];
    default: return 0;
  }
}

static int store_int(er_tensor *t, int64_t i, int32_t v) {
  switch (t->type) {
    case ER_INT8: ((int8_t *)t->data)[i] = (int8_t)v; return ER_OK;
    case ER_UINT8: ((uint8_t *)t->data)[i] = (uint8_t)v; return ER_OK;
    case ER_INT16: ((int16_t *)t->data)[i] = (int16_t)v; return ER_OK;
    case ER_INT32: ((int32_t *)t->data)[i] = v; return ER_OK;
    default: return ER_ERR_UNSUPPORTED;
  }
}

int er_any_dequantize(const er_op *op) {
  const er_quant_params *p = (const er_quant_params *)op->params;
  const er_tensor *x = op->in[0];
  er_tensor *y = op->out[0];
  float *yd = (float *)y->data;
  const int64_t n = x->count;
  if (y->type != ER_FLOAT32 || y->count != n) return ER_ERR_SHAPE;
  if (x->type == ER_FLOAT16) {
    const uint16_t *xd = (const uint16_t *)x->data;
    for (int64_t i = 0; i < n; ++i) yd[i] = er_f16_to_f32(xd[i]);
    return ER_OK;
  }
  if (x->type != ER_INT8 && x->type != ER_UINT8 && x->type != ER_INT16 && x->type != ER_INT32)
    return ER_ERR_UNSUPPORTED;
  if (p->channels > 0) {
    if (p->inner <= 0) return ER_ERR_SHAPE;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t c = (i / p->inner) % p->channels;
      yd[i] = (float)(load_int(x, i) - p->zero_points[c]) * p->scales[c];
    }
  } else if (x->type == ER_INT8 || x->type == ER_UINT8) {
    /* LiteRT's 8-bit path: blocks of 8 in float as q * scale + (-zero_point) * scale, the tail as the
     * reference formula in double. */
    const float s = (float)p->scale, bias = (float)(-p->zero_point) * s;
    const int64_t vec = n - n % 8;
    for (int64_t i = 0; i < vec; ++i) {
      const float qs = (float)load_int(x, i) * s;
      yd[i] = qs + bias;
    }
    for (int64_t i = vec; i < n; ++i) yd[i] = (float)(p->scale * (double)(load_int(x, i) - p->zero_point));
  } else {
    for (int64_t i = 0; i < n; ++i) yd[i] = (float)(p->scale * (double)(load_int(x, i) - p->zero_point));
  }
  return ER_OK;
}

/* r (already rounded) + zp clamped; out-of-range and NaN values saturate instead of overflowing the int
 * conversion. */
static int32_t saturate(double r, int32_t zp, int32_t qmin, int32_t qmax) {
  if (!(r > -2147483648.0)) return qmin;
  if (r >= 2147483647.0) return qmax;
  int64_t q = (int64_t)r + zp;
  if (q < qmin) q = qmin;
  if (q > qmax) q = qmax;
  return (int32_t)q;
}

static int32_t quantize_one(float x, float scale, int32_t zp, int32_t qmin, int32_t qmax) {
  return saturate(roundf(x / scale), zp, qmin, qmax);
}

/* LiteRT's per-tensor float -> int8/uint8/int16 QUANTIZE (round_even = 1), measured value by value on near-ties
 * (tests/runtime/test_quantize_isa.py): the blocks of 8 counted from the start as x * (1 / scale) in float,
 * rounded half to even; the last n % 8 values as x / scale in double, rounded half away from zero. */
static int32_t quantize_lite(const float *x, int64_t i, int64_t n, float scale, float inv, int32_t zp, int32_t qmin,
                             int32_t qmax) {
  if (i < n - n % 8) return saturate(nearbyintf(x[i] * inv), zp, qmin, qmax);
  return saturate(round((double)x[i] / (double)scale), zp, qmin, qmax);
}

/* value i of n of a per-tensor QUANTIZE in the rounding its params name (the vector forms' tails call it) */
int32_t er_quantize_value(const float *x, int64_t i, int64_t n, float scale, float inv, int32_t zp, int32_t qmin,
                          int32_t qmax, int round_even) {
  return round_even ? quantize_lite(x, i, n, scale, inv, zp, qmin, qmax) : quantize_one(x[i], scale, zp, qmin, qmax);
}

int er_any_quantize(const er_op *op) {
  const er_quant_params *p = (const er_quant_params *)op->params;
  const er_tensor *x = op->in[0];
  er_tensor *y = op->out[0];
  const int64_t n = x->count;
  if (x->type != ER_FLOAT32 || y->count != n) return ER_ERR_SHAPE;
  const float *xd = (const float *)x->data;
  int status = ER_OK;
  if (p->channels > 0) {
    if (p->inner <= 0) return ER_ERR_SHAPE;
    for (int64_t i = 0; i < n && status == ER_OK; ++i) {
      const int64_t c = (i / p->inner) % p->channels;
      status = store_int(y, i, quantize_one(xd[i], p->scales[c], p->zero_points[c], p->qmin, p->qmax));
    }
  } else {
    const float inv = 1.0f / p->fscale;
    for (int64_t i = 0; i < n && status == ER_OK; ++i)
      status = store_int(y, i, er_quantize_value(xd, i, n, p->fscale, inv, p->zero_point, p->qmin, p->qmax,
                                                 p->round_even));
  }
  return status;
}

int er_any_requantize(const er_op *op) {
  const er_quant_params *p = (const er_quant_params *)op->params;
  const er_tensor *x = op->in[0];
  er_tensor *y = op->out[0];
  const int64_t n = x->count;
  if (y->count != n) return ER_ERR_SHAPE;
  int status = ER_OK;
  for (int64_t i = 0; i < n && status == ER_OK; ++i) {
    const int32_t v = (int32_t)(load_int(x, i) - p->input_zp);
    int64_t q = (int64_t)er_mul_by_quantized_multiplier(v, p->multiplier, p->shift) + p->zero_point;
    if (q < p->qmin) q = p->qmin;
    if (q > p->qmax) q = p->qmax;
    status = store_int(y, i, (int32_t)q);
  }
  return status;
}
