/* Integer (int8 / uint8 / int16) unary elementwise kernels, bit-exact with TFLite's builtin kernels:
 * requantizing ReLU family, LEAKY_RELU, HARD_SWISH (16-bit fixed point), ABS, int8 RSQRT (Newton-Raphson
 * inverse square root), NEG on raw values, 8-bit lookup tables, 16-bit interpolated lookup tables, and the
 * int16 LOGISTIC/TANH of TFLite's reference integer kernels (sigmoid table with interpolation).
 * Also the prepare-time table builders (TFLite's LUTPopulate for 8 and 16 bits), called from Python. */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "edgerun/edgerun.h"
#include "edgerun/fixedpoint_elementwise.h"

/* ---------------------------------------------------------------------------------------------------
 * Prepare-time table builders */

#define ER_SQRT1_2 0.70710678118654752440   /* M_SQRT1_2 */
#define ER_2_SQRTPI 1.12837916709551257390  /* M_2_SQRTPI */

static float lut_transform(int32_t fn, float param, float v) {
  switch (fn) {
    case ER_QF_LOGISTIC: return 1.0f / (1.0f + expf(-v));
    case ER_QF_TANH: return tanhf(v);
    case ER_QF_ELU: return v < 0.0f ? expm1f(v) : v;
    case ER_QF_GELU: return 0.5f * v * erfcf(v * (float)(-ER_SQRT1_2));
    case ER_QF_GELU_TANH: {
      const float k = (float)(ER_2_SQRTPI * ER_SQRT1_2); /* sqrt(2 / pi) */
      return 0.5f * v * (1.0f + tanhf(k * (v + 0.044715f * v * v * v)));
    }
    case ER_QF_EXP: return expf(v);
    case ER_QF_LOG: return v <= 0.0f ? param : logf(v);
    case ER_QF_SQRT: return v <= 0.0f ? 0.0f : sqrtf(v);
    case ER_QF_RSQRT: return v <= 0.0f ? param : 1.0f / sqrtf(v);
    default: return 0.0f;
  }
}

/* static_cast<int32_t>(float) as x86 does it (cvttss2si): NaN and out-of-range values give INT32_MIN. */
static int32_t f2i_x86(float f) {
  if (!(f == f) || f >= 2147483648.0f || f < -2147483648.0f) return INT32_MIN;
  return (int32_t)f;
}

int er_q_lut8_populate(int32_t fn, float param, float in_scale, int32_t in_zero_point, float out_scale,
                       int32_t out_zero_point, int32_t is_signed, uint8_t *lut8) {
  if (fn < ER_QF_LOGISTIC || fn > ER_QF_RSQRT || !lut8) return -1;
  const float inverse_scale = 1 / out_scale;
  const int32_t minval = is_signed ? -128 : 0, maxval = is_signed ? 127 : 255;
  for (int32_t val = minval; val <= maxval; ++val) {
    const float dequantized = in_scale * (float)(val - in_zero_point);
    const float transformed = lut_transform(fn, param, dequantized);
    const float rescaled = roundf(transformed * inverse_scale);
    int32_t q = f2i_x86(rescaled + (float)out_zero_point);
    q = q > maxval ? maxval : (q < minval ? minval : q);
    lut8[(uint8_t)(val & 0xff)] = (uint8_t)(q & 0xff);
  }
  return 0;
}

static float clampf_(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

/* TFLite's LUTPopulateInt16<float>: 512 samples of the transform over the input range, with the midpoint
 * interpolation error halved into each sample, plus the end point. */
int er_q_lut16_populate(int32_t fn, float param, float in_scale, int32_t in_zero_point, float out_scale,
                        int32_t out_zero_point, int16_t *lut16) {
  if (fn < ER_QF_LOGISTIC || fn > ER_QF_RSQRT || !lut16) return -1;
  const float input_min = in_scale * (float)(-32768 - in_zero_point);
  const float input_max = in_scale * (float)(32767 - in_zero_point);
  const float output_min = out_scale * (float)(-32768 - out_zero_point);
  const float output_max = out_scale * (float)(32767 - out_zero_point);
  const int nb_steps = 512;
  const float step = (input_max - input_min) / (float)nb_steps;
  const float half_step = step / 2;
  const float output_scaling_inv = 65536.0f / (output_max - output_min);
  const float table_min = -32768.0f, table_max = 32767.0f;
  for (int i = 0; i < nb_steps; ++i) {
    const float x0 = input_min + (float)i * step;
    const float val = lut_transform(fn, param, x0);
    const float val_midpoint = lut_transform(fn, param, x0 + half_step);
    const float val_next = lut_transform(fn, param, input_min + (float)(i + 1) * step);
    const float sample_val = roundf(val * output_scaling_inv);
    const float midpoint_interp_val = roundf((val_next * output_scaling_inv + roundf(val * output_scaling_inv)) / 2);
    const float midpoint_val = roundf(val_midpoint * output_scaling_inv);
    const float midpoint_err = midpoint_interp_val - midpoint_val;
    const float bias = roundf(midpoint_err / 2);
    lut16[i] = (int16_t)clampf_(sample_val - bias, table_min, table_max);
  }
  lut16[nb_steps] =
      (int16_t)clampf_(roundf(lut_transform(fn, param, input_max) * output_scaling_inv), table_min, table_max);
  return 0;
}

/* ---------------------------------------------------------------------------------------------------
 * Kernels */

static inline int32_t load_q(const void *p, int32_t type, int64_t i) {
  switch (type) {
    case ER_INT8: return ((const int8_t *)p)[i];
    case ER_UINT8: return ((const uint8_t *)p)[i];
    default: return ((const int16_t *)p)[i];
  }
}

static inline void store_q(void *p, int32_t type, int64_t i, int32_t v) {
  switch (type) {
    case ER_INT8: ((int8_t *)p)[i] = (int8_t)v; break; /* callers clamp v into the type's range */
    case ER_UINT8: ((uint8_t *)p)[i] = (uint8_t)v; break;
    default: ((int16_t *)p)[i] = (int16_t)v; break;
  }
}

/* TFLite's HardSwish for 8-bit types (reference_ops::HardSwish with HardSwishParams). */
static inline int32_t hard_swish_q(int32_t x, const er_q_unary_params *p, int32_t qmin, int32_t qmax) {
  const int16_t out_mult16 = (int16_t)p->mult, relu_mult16 = (int16_t)p->mult2;
  const int out_exp = p->shift, relu_exp = p->shift2;
  const int16_t input_value = (int16_t)(x - p->in_zero_point);
  const int16_t hires = (int16_t)(input_value * (1 << 7));
  const int16_t preshift_out = er_sat_rounding_doubling_high_mul16(hires, out_mult16);
  int16_t reluish = hires;
  if (relu_exp > 0) reluish = er_sat_left_shift16(reluish, relu_exp - 1);
  reluish = er_sat_rounding_doubling_high_mul16(reluish, relu_mult16);
  if (relu_exp > 0) reluish = er_sat_left_shift16(reluish, 1);
  if (relu_exp < 0) reluish = (int16_t)er_rounding_divide_by_pot(reluish, -relu_exp);
  reluish = (int16_t)(((int32_t)reluish + (1 << 15)) >> 1);
  const int16_t preshift = er_sat_doubling_high_mul16(reluish, preshift_out);
  int32_t out = er_rounding_divide_by_pot(preshift, -out_exp);
  out = (int16_t)(out + p->out_zero_point);
  return out > qmax ? qmax : (out < qmin ? qmin : out);
}

static inline int32_t rsqrt_q(int32_t x, const er_q_unary_params *p, int32_t qmin, int32_t qmax) {
  const int32_t value = x - p->in_zero_point;
  const int kShift = 20;
  if (value == 0) return qmax;
  int32_t inv_mult;
  int inv_shift;
  er_inv_sqrt_multiplier(value, &inv_mult, &inv_shift);
  const int32_t data = er_mul_by_quantized_multiplier(1, inv_mult, inv_shift + kShift);
  const int32_t out = er_mul_by_quantized_multiplier(data, p->mult, p->shift - kShift) + p->out_zero_point;
  return out > qmax ? qmax : (out < qmin ? qmin : out);
}

static inline int16_t lut16_lookup(int16_t value, const int16_t *lut) {
  const int index = 256 + (value >> 7); /* arithmetic shift of a negative int16: floor */
  const int32_t offset = value & 0x7f;
  const int32_t base = lut[index];
  const int16_t slope = (int16_t)(lut[index + 1] - lut[index]);
  const int32_t delta = (slope * offset + 64) >> 7;
  return (int16_t)(base + delta);
}

static inline int16_t logistic16(int16_t x, int32_t mult, int shift, const uint16_t *tab) {
  if (mult == 0) {
    mult = 3 << shift;
    shift = 0;
  }
  const int32_t round = shift > 0 ? 1 << (shift - 1) : 0;
  const int32_t in = (x * mult + round) >> shift;
  const uint32_t abs_in = (uint32_t)(in < 0 ? -in : in);
  const uint32_t uh = abs_in >> 9;
  uint32_t result;
  if (uh >= 255) {
    result = 0x7FFFu << 10;
  } else {
    const uint32_t ua = tab[uh], ub = tab[uh + 1], ut = abs_in & 0x1ff;
    result = (ua << 9) + ut * (ub - ua);
  }
  result = in >= 0 ? (result + (1u << 9)) : ((1u << 25) - result + (1u << 9) - 1u);
  result >>= 10;
  return (int16_t)result;
}

static inline int16_t tanh16(int16_t x, int32_t mult, int shift, const uint16_t *tab) {
  if (mult == 0) {
    mult = 3 << shift;
    shift = 0;
  }
  const int32_t round = shift > 0 ? 1 << (shift - 1) : 0;
  const int32_t in = (x * mult + round) >> shift;
  const uint32_t abs_in = (uint32_t)(in < 0 ? -in : in);
  const uint32_t uh = abs_in >> 8;
  int32_t result;
  if (uh >= 255) {
    result = 0xFFFF << 8;
  } else {
    const uint32_t ua = tab[uh], ub = tab[uh + 1];
    const uint32_t ut = abs_in & 0xFF;
    result = (int32_t)((ua << 8) + ut * (ub - ua));
  }
  result = in >= 0 ? (result - (1 << 23) + (1 << 7)) : (-result + (1 << 23) + (1 << 7) - 1);
  result >>= 8;
  return (int16_t)result;
}

int er_q_unary(const er_op *op) {
  const er_q_unary_params *p = (const er_q_unary_params *)op->params;
  const er_tensor *xt = op->in[0];
  er_tensor *yt = op->out[0];
  if (!p) return ER_ERR_PARAMS;
  const int32_t t = xt->type;
  if (t != yt->type || (t != ER_INT8 && t != ER_UINT8 && t != ER_INT16)) return ER_ERR_UNSUPPORTED;
  const int64_t n = yt->count;
  if (xt->count != n) return ER_ERR_SHAPE;
  const int32_t qmin = t == ER_INT8 ? -128 : (t == ER_UINT8 ? 0 : -32768);
  const int32_t qmax = t == ER_INT8 ? 127 : (t == ER_UINT8 ? 255 : 32767);
  const void *x = xt->data;
  void *y = yt->data;
  int64_t i;
  switch (p->op) {
    case ER_QU_RELU:
      for (i = 0; i < n; ++i) {
        const int32_t v = p->out_zero_point +
                          er_mul_by_quantized_multiplier(load_q(x, t, i) - p->in_zero_point, p->mult, p->shift);
        store_q(y, t, i, er_clamp_i32(v, p->act_min, p->act_max));
      }
      return ER_OK;
    case ER_QU_LEAKY_RELU:
      for (i = 0; i < n; ++i) {
        const int32_t v = load_q(x, t, i) - p->in_zero_point;
        int32_t out = p->out_zero_point;
        if (v >= 0) {
          out += er_mul_by_quantized_multiplier(v, p->mult, p->shift);
        } else {
          const int32_t s = er_mul_by_quantized_multiplier(v, p->mult2, p->shift2);
          out += p->flag ? -s : s;
        }
        store_q(y, t, i, er_clamp_i32(out, qmin, qmax));
      }
      return ER_OK;
    case ER_QU_HARD_SWISH:
      if (t == ER_INT16) return ER_ERR_UNSUPPORTED;
      for (i = 0; i < n; ++i) store_q(y, t, i, hard_swish_q(load_q(x, t, i), p, qmin, qmax));
      return ER_OK;
    case ER_QU_ABS:
      if (p->flag == 2) { /* unquantized int16: |x| wrapping as TFLite's static_cast (|-32768| -> -32768) */
        if (t != ER_INT16) return ER_ERR_UNSUPPORTED;
        for (i = 0; i < n; ++i) {
          const int32_t v = ((const int16_t *)x)[i];
          ((int16_t *)y)[i] = (int16_t)(v == -32768 ? -32768 : (v < 0 ? -v : v));
        }
        return ER_OK;
      }
      for (i = 0; i < n; ++i) {
        int32_t v = load_q(x, t, i) - p->in_zero_point;
        v = v < 0 ? -v : v;
        const int32_t out =
            p->flag ? er_mul_by_quantized_multiplier(v, p->mult, p->shift) + p->out_zero_point : v + p->out_zero_point;
        store_q(y, t, i, er_clamp_i32(out, qmin, qmax));
      }
      return ER_OK;
    case ER_QU_RSQRT:
      if (t != ER_INT8) return ER_ERR_UNSUPPORTED;
      for (i = 0; i < n; ++i) {
        if (load_q(x, t, i) < p->in_zero_point) return ER_ERR_ARITH; /* TFLite: defined for positive values only */
      }
      for (i = 0; i < n; ++i) store_q(y, t, i, rsqrt_q(load_q(x, t, i), p, qmin, qmax));
      return ER_OK;
    case ER_QU_NEG:
      for (i = 0; i < n; ++i) {
        const int32_t v = -load_q(x, t, i);
        /* wraps as the C++ cast does: -(-128) -> -128, -(-32768) -> -32768 */
        if (t == ER_INT8) ((int8_t *)y)[i] = (int8_t)(v == 128 ? -128 : v);
        else if (t == ER_INT16) ((int16_t *)y)[i] = (int16_t)(v == 32768 ? -32768 : v);
        else ((uint8_t *)y)[i] = (uint8_t)(v & 0xff);
      }
      return ER_OK;
    case ER_QU_LUT8: {
      if (t == ER_INT16 || !p->table) return ER_ERR_PARAMS;
      const uint8_t *lut = (const uint8_t *)p->table, *xb = (const uint8_t *)x;
      uint8_t *yb = (uint8_t *)y;
      for (i = 0; i < n; ++i) yb[i] = lut[xb[i]];
      return ER_OK;
    }
    case ER_QU_LUT16: {
      if (t != ER_INT16 || !p->table) return ER_ERR_PARAMS;
      const int16_t *lut = (const int16_t *)p->table, *xs = (const int16_t *)x;
      int16_t *ys = (int16_t *)y;
      if (p->flag) { /* RSQRT int16: TFLite rejects inputs below the zero point */
        for (i = 0; i < n; ++i)
          if (xs[i] < p->in_zero_point) return ER_ERR_ARITH;
      }
      for (i = 0; i < n; ++i) ys[i] = lut16_lookup(xs[i], lut);
      return ER_OK;
    }
    case ER_QU_LOGISTIC16:
    case ER_QU_TANH16: {
      if (t != ER_INT16 || !p->table) return ER_ERR_PARAMS;
      const uint16_t *tab = (const uint16_t *)p->table;
      const int16_t *xs = (const int16_t *)x;
      int16_t *ys = (int16_t *)y;
      if (p->op == ER_QU_LOGISTIC16)
        for (i = 0; i < n; ++i) ys[i] = logistic16(xs[i], p->mult, p->shift, tab);
      else
        for (i = 0; i < n; ++i) ys[i] = tanh16(xs[i], p->mult, p->shift, tab);
      return ER_OK;
    }
    case ER_QU_LOGISTIC16_FX:
    case ER_QU_TANH16_FX: {
      if (t != ER_INT16) return ER_ERR_UNSUPPORTED;
      const int16_t *xs = (const int16_t *)x;
      int16_t *ys = (int16_t *)y;
      if (p->op == ER_QU_LOGISTIC16_FX)
        for (i = 0; i < n; ++i) ys[i] = fx16_logistic(xs[i]);
      else
        for (i = 0; i < n; ++i) ys[i] = fx16_tanh(p->shift == 1 ? fx16_mul_pot(xs[i], 1) : xs[i]);
      return ER_OK;
    }
    case ER_QU_SQRT:
      for (i = 0; i < n; ++i) {
        if (load_q(x, t, i) < p->in_zero_point) return ER_ERR_ARITH; /* TFLite: non-negative values only */
      }
      for (i = 0; i < n; ++i) {
        const float r = sqrtf(p->in_scale * (float)(load_q(x, t, i) - p->in_zero_point)) / p->out_scale;
        const int64_t q = r >= 2147483647.0f ? INT32_MAX : (int64_t)r; /* truncation, r >= 0 */
        const int64_t v = q + p->out_zero_point;
        store_q(y, t, i, (int32_t)(v > qmax ? qmax : (v < qmin ? qmin : v)));
      }
      return ER_OK;
    default: return ER_ERR_UNSUPPORTED;
  }
}
