/* Integer SOFTMAX, LOG_SOFTMAX and L2_NORMALIZATION over the last dimension, as TFLite's builtin kernels:
 *  - int8/uint8 SOFTMAX and LOG_SOFTMAX: the float path of TFLite's optimized kernels. A 256-entry table
 *    exp(-input_scale * beta * d) (d = max - x, built with expf into scratch), a float sum per row, then
 *    probabilities rescaled by 1 / (sum * output_scale) and rounded (int8/int16 outputs: roundf + zero point;
 *    uint8: + 0.5 truncated, zero point ignored as TFLite's uint8 specialization does). LOG_SOFTMAX:
 *    (input_scale * x - (input_scale * max + log(sum))) / output_scale, rounded to nearest even.
 *  - int16 SOFTMAX: TFLite's LUT path (exp and 1/(1+x) tables of 513 entries built at prepare).
 *  - int8/uint8 L2_NORMALIZATION: sum of squares, inverse square root multiplier in fixed point, output in
 *    1/128 units. */
#include <math.h>

#include "edgerun/edgerun.h"
#include "edgerun/fixedpoint.h"
#include "edgerun/fixedpoint_reduce.h"

static inline int32_t load8(const void *data, int32_t type, int64_t k) {
  return type == ER_INT8 ? ((const int8_t *)data)[k] : ((const uint8_t *)data)[k];
}

static void exp_table(float *table, float input_scale, float beta) {
  const float scale = -input_scale * beta;
  for (int32_t v = 0; v <= 255; ++v) table[255 - v] = expf(scale * (float)v);
}

static int check_rows(const er_op *op, int64_t rows, int64_t depth) {
  if (rows * depth != op->in[0]->count || op->out[0]->count != op->in[0]->count) return ER_ERR_SHAPE;
  if (depth < 1 && rows > 0) return ER_ERR_SHAPE;
  return ER_OK;
}

int er_q_softmax(const er_op *op) {
  const er_q_softmax_params *p = (const er_q_softmax_params *)op->params;
  const er_tensor *x = op->in[0];
  er_tensor *y = op->out[0];
  int st = check_rows(op, p->rows, p->depth);
  if (st) return st;
  if (x->type != ER_INT8 && x->type != ER_UINT8) return ER_ERR_UNSUPPORTED;
  if (y->type != ER_INT8 && y->type != ER_UINT8 && y->type != ER_INT16) return ER_ERR_UNSUPPORTED;
  if (op->scratch_bytes < (int64_t)(256 * sizeof(float))) return ER_ERR_PARAMS;
  float *table = (float *)op->scratch;
  exp_table(table, p->input_scale, p->beta);
  const int64_t D = p->depth;
  const int32_t lo = y->type == ER_INT8 ? -128 : y->type == ER_UINT8 ? 0 : -32768;
  const int32_t hi = y->type == ER_INT8 ? 127 : y->type == ER_UINT8 ? 255 : 32767;
  for (int64_t r = 0; r < p->rows; ++r) {
    const int64_t o = r * D;
    int32_t mx = x->type == ER_INT8 ? -128 : 0;
    for (int64_t i = 0; i < D; ++i) {
      const int32_t v = load8(x->data, x->type, o + i);
      mx = v > mx ? v : mx;
    }
    const float *tab = table + (255 - mx);
    float sum = 0.0f;
    for (int64_t i = 0; i < D; ++i) sum += tab[load8(x->data, x->type, o + i)];
    const float inv = 1.0f / (sum * p->output_scale);
    for (int64_t i = 0; i < D; ++i) {
      const float prob = tab[load8(x->data, x->type, o + i)] * inv;
      int32_t q;
      if (y->type == ER_UINT8) q = (int32_t)(prob + 0.5f);
      else q = (int32_t)roundf(prob) + p->output_zp;
      q = er_clamp_i32(q, lo, hi);
      if (y->type == ER_INT8) ((int8_t *)y->data)[o + i] = (int8_t)q;
      else if (y->type == ER_UINT8) ((uint8_t *)y->data)[o + i] = (uint8_t)q;
      else ((int16_t *)y->data)[o + i] = (int16_t)q;
    }
  }
  return ER_OK;
}

int er_q_log_softmax(const er_op *op) {
  const er_q_softmax_params *p = (const er_q_softmax_params *)op->params;
  const er_tensor *x = op->in[0];
  er_tensor *y = op->out[0];
  int st = check_rows(op, p->rows, p->depth);
  if (st) return st;
  if ((x->type != ER_INT8 && x->type != ER_UINT8) || y->type != x->type) return ER_ERR_UNSUPPORTED;
  if (op->scratch_bytes < (int64_t)(256 * sizeof(float))) return ER_ERR_PARAMS;
  float *table = (float *)op->scratch;
  exp_table(table, p->input_scale, 1.0f);
  const int64_t D = p->depth;
  const int32_t lo = x->type == ER_INT8 ? -128 : 0, hi = x->type == ER_INT8 ? 127 : 255;
  for (int64_t r = 0; r < p->rows; ++r) {
    const int64_t o = r * D;
    int32_t mx = lo;
    for (int64_t i = 0; i < D; ++i) {
      const int32_t v = load8(x->data, x->type, o + i);
      mx = v > mx ? v : mx;
    }
    const float *tab = table + (255 - mx);
    float sum = 0.0f;
    for (int64_t i = 0; i < D; ++i) sum += tab[load8(x->data, x->type, o + i)];
    const float log_sum = logf(sum);
    const float scale = p->input_scale / p->output_scale;
    const float pre = (p->input_scale * (float)mx + log_sum) / p->output_scale;
    for (int64_t i = 0; i < D; ++i) {
      const float scaled = scale * (float)load8(x->data, x->type, o + i);
      const float lp = scaled - pre;
      const float qf = rintf(lp) + (float)p->output_zp;
      int32_t q = (qf >= -2147483648.0f && qf < 2147483648.0f) ? (int32_t)qf : INT32_MIN;
      q = er_clamp_i32(q, lo, hi);
      if (x->type == ER_INT8) ((int8_t *)y->data)[o + i] = (int8_t)q;
      else ((uint8_t *)y->data)[o + i] = (uint8_t)q;
    }
  }
  return ER_OK;
}

int er_s16_softmax(const er_op *op) {
  const er_q_softmax_params *p = (const er_q_softmax_params *)op->params;
  const er_tensor *x = op->in[0];
  er_tensor *y = op->out[0];
  int st = check_rows(op, p->rows, p->depth);
  if (st) return st;
  if (x->type != ER_INT16 || y->type != ER_INT16 || !p->exp_lut || !p->recip_lut) return ER_ERR_UNSUPPORTED;
  const int16_t *xd = (const int16_t *)x->data;
  int16_t *yd = (int16_t *)y->data;
  const int64_t D = p->depth;
  for (int64_t r = 0; r < p->rows; ++r) {
    const int16_t *xr = xd + r * D;
    int16_t *yr = yd + r * D; /* holds the exp values between the two passes, as TFLite */
    int16_t mx = INT16_MIN;
    for (int64_t i = 0; i < D; ++i) mx = xr[i] > mx ? xr[i] : mx;
    int32_t sum = 0;
    for (int64_t i = 0; i < D; ++i) {
      const int32_t diff = (int32_t)xr[i] - mx;
      const int32_t scaled = er_mul_by_quantized_multiplier(diff, p->input_multiplier, p->input_left_shift);
      const int32_t sym = er_clamp_i32(er_wrap_add32(scaled, 32767), -32768, 32767);
      yr[i] = er_lut16_lookup((int16_t)sym, p->exp_lut);
      sum = er_wrap_add32(sum, yr[i]);
    }
    const int headroom_plus_one = er_clz32((uint32_t)sum);
    if (headroom_plus_one < 1 || headroom_plus_one > 30) return ER_ERR_ARITH;
    const int32_t shifted_sum =
        (int32_t)((((int64_t)sum * ((int64_t)1 << (headroom_plus_one - 1))) + (1 << 13)) >> 14);
    const int32_t sym_sum = er_clamp_i32(shifted_sum - ((1 << 15) + (1 << 16)), -32768, 32767);
    const int16_t recip = er_lut16_lookup((int16_t)sym_sum, p->recip_lut);
    const int right_shift = 31 - headroom_plus_one;
    const int64_t round = (int64_t)1 << (right_shift - 1);
    for (int64_t i = 0; i < D; ++i) {
      const int64_t v = ((int64_t)yr[i] * recip + round) >> right_shift;
      yr[i] = (int16_t)(v < 0 ? 0 : (v > 32767 ? 32767 : v));
    }
  }
  return ER_OK;
}

int er_q_l2norm(const er_op *op) {
  const er_q_l2norm_params *p = (const er_q_l2norm_params *)op->params;
  const er_tensor *x = op->in[0];
  er_tensor *y = op->out[0];
  int st = check_rows(op, p->rows, p->depth);
  if (st) return st;
  if ((x->type != ER_INT8 && x->type != ER_UINT8) || y->type != x->type) return ER_ERR_UNSUPPORTED;
  const int64_t D = p->depth;
  for (int64_t r = 0; r < p->rows; ++r) {
    const int64_t o = r * D;
    int32_t acc = 0;
    for (int64_t i = 0; i < D; ++i) {
      const int32_t d = load8(x->data, x->type, o + i) - p->input_zp;
      acc = er_wrap_add32(acc, d * d);
    }
    int32_t mult;
    int shift;
    er_inv_sqrt_multiplier_exp(acc, -1, &mult, &shift);
    for (int64_t i = 0; i < D; ++i) {
      const int32_t d = load8(x->data, x->type, o + i) - p->input_zp;
      if (x->type == ER_INT8) {
        const int32_t q = er_mul_by_quantized_multiplier(d, mult, shift + 7);
        ((int8_t *)y->data)[o + i] = (int8_t)er_clamp_i32(q, -128, 127);
      } else {
        const int32_t q = er_mul_by_quantized_multiplier_lt1(128 * d, mult, shift);
        ((uint8_t *)y->data)[o + i] = (uint8_t)er_clamp_i32(128 + q, 0, 255);
      }
    }
  }
  return ER_OK;
}
