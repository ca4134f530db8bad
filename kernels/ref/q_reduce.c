/* Integer reductions (int8, uint8, int16) over a strided view, one mode per TFLite integer path (see ER_QRED_*
 * in ops_q_reduce.h). Output i reduces its n_red input elements (reduce_view.h) in input order. */
#include <math.h>

#include "edgerun/edgerun.h"
#include "edgerun/fixedpoint.h"
#include "edgerun/fixedpoint_reduce.h"
#include "reduce_view.h"

static inline int32_t load_q(const void *data, int32_t type, int64_t k) {
  switch (type) {
    case ER_INT8: return ((const int8_t *)data)[k];
    case ER_UINT8: return ((const uint8_t *)data)[k];
    default: return ((const int16_t *)data)[k];
  }
}

static inline void store_q(void *data, int32_t type, int64_t k, int32_t v) {
  switch (type) {
    case ER_INT8: ((int8_t *)data)[k] = (int8_t)er_clamp_i32(v, -128, 127); break;
    case ER_UINT8: ((uint8_t *)data)[k] = (uint8_t)er_clamp_i32(v, 0, 255); break;
    default: ((int16_t *)data)[k] = (int16_t)er_clamp_i32(v, -32768, 32767); break;
  }
}

/* float -> int32 as x86's cvttss2si (what TFLite's static_cast compiles to): out of range gives INT32_MIN. */
static inline int32_t f2i_x86(float v) {
  if (!(v >= -2147483648.0f && v < 2147483648.0f)) return INT32_MIN;
  return (int32_t)v;
}

/* MEAN / MEAN_4D / SUM: output i from its int32 (wrapped) sum */
static inline int32_t finish_sum(const er_q_reduce_params *p, int64_t i, int32_t sum) {
  if (p->mode == ER_QRED_MEAN) {
    const int32_t shifted = er_wrap_i64_to_i32((int64_t)sum - (int64_t)p->input_zp * p->n_red);
    return er_wrap_add32(er_mul_by_quantized_multiplier(shifted, p->multiplier, p->shift), p->output_zp);
  }
  if (p->mode == ER_QRED_MEAN_4D) {
    const int vec = p->depth > 0 && i % p->depth < p->vec_channels;
    const int32_t scaled = vec ? er_mul_by_quantized_multiplier_4rows(sum, p->multiplier, p->shift)
                               : er_mul_by_quantized_multiplier(sum, p->multiplier, p->shift);
    return er_wrap_add32(scaled, p->bias);
  }
  const float scaled = (float)sum * p->scale;
  const float v = scaled + p->fbias;
  return er_wrap_add32(f2i_x86(roundf(v)), p->output_zp);
}

/* The sums of MEAN / MEAN_4D / SUM when the outputs' last dimension is contiguous in the input (channels, as a
 * global average pool over height and width): the same int32 wrapping sums, taken for ER_QRED_RUN consecutive
 * outputs at a time (each reduced element adds a run of channels) instead of one output's elements at a time,
 * so that the odometer steps once per run and the adds are a loop over contiguous values. */
#define ER_QRED_RUN 64
#define ER_QRED_ADD_RUN(T)                                                                                    \
  for (int64_t j = 0; j < p->n_red; ++j, er_odo_next(&r)) {                                                 \
    const T *v = (const T *)x->data + base + r.off + c0;                                                   \
    for (int64_t k = 0; k < nc; ++k) acc[k] += (uint32_t)(int32_t)v[k];                                    \
  }
static void sums_by_runs(const er_q_reduce_params *p, const er_tensor *x, er_tensor *y) {
  const int32_t t = x->type, nod = p->n_out_dims - 1;
  const int64_t D = p->out_dims[nod], outer = D ? p->n_out / D : 0;
  er_odometer o, r;
  er_odo_init(&o, nod, p->out_dims, p->out_strides);
  er_odo_init(&r, p->n_red_dims, p->red_dims, p->red_strides);
  for (int64_t i = 0; i < outer; ++i, er_odo_next(&o)) {
    const int64_t base = o.off;
    for (int64_t c0 = 0; c0 < D; c0 += ER_QRED_RUN) {
      const int64_t nc = D - c0 < ER_QRED_RUN ? D - c0 : ER_QRED_RUN;
      uint32_t acc[ER_QRED_RUN] = {0}; /* modulo 2^32: TFLite's wrapping int32 accumulator */
      if (t == ER_INT8) {
        ER_QRED_ADD_RUN(int8_t)
      } else if (t == ER_UINT8) {
        ER_QRED_ADD_RUN(uint8_t)
      } else {
        ER_QRED_ADD_RUN(int16_t)
      }
      for (int64_t k = 0; k < nc; ++k) {
        const int64_t idx = i * D + c0 + k;
        store_q(y->data, t, idx, finish_sum(p, idx, (int32_t)acc[k]));
      }
    }
  }
}
#undef ER_QRED_ADD_RUN

int er_q_reduce(const er_op *op) {
  const er_q_reduce_params *p = (const er_q_reduce_params *)op->params;
  const er_tensor *x = op->in[0];
  er_tensor *y = op->out[0];
  if (y->count != p->n_out || x->type != y->type || !ER_REDUCE_VIEW_OK(p, x->count)) return ER_ERR_SHAPE;
  if (x->type != ER_INT8 && x->type != ER_UINT8 && x->type != ER_INT16) return ER_ERR_UNSUPPORTED;
  const int32_t t = x->type;
  if ((p->mode == ER_QRED_MEAN || p->mode == ER_QRED_MEAN_4D || p->mode == ER_QRED_SUM) && p->n_out_dims > 0 &&
      p->out_strides[p->n_out_dims - 1] == 1) {
    sums_by_runs(p, x, y);
    return ER_OK;
  }
  er_odometer o, r;
  er_odo_init(&o, p->n_out_dims, p->out_dims, p->out_strides);
  er_odo_init(&r, p->n_red_dims, p->red_dims, p->red_strides);
  for (int64_t i = 0; i < p->n_out; ++i, er_odo_next(&o)) {
    const int64_t base = o.off;
    int32_t out;
    switch (p->mode) {
      case ER_QRED_MEAN:
      case ER_QRED_MEAN_4D:
      case ER_QRED_SUM: {
        int32_t sum = 0; /* TFLite's int32 accumulator (wraps) */
        for (int64_t j = 0; j < p->n_red; ++j, er_odo_next(&r)) sum = er_wrap_add32(sum, load_q(x->data, t, base + r.off));
        out = finish_sum(p, i, sum);
        break;
      }
      case ER_QRED_MAX:
      case ER_QRED_MIN: {
        if (p->n_red == 0) { /* empty input: TFLite's initial value, the type's lowest / highest */
          const int32_t lo = t == ER_INT8 ? -128 : t == ER_UINT8 ? 0 : -32768;
          const int32_t hi = t == ER_INT8 ? 127 : t == ER_UINT8 ? 255 : 32767;
          out = p->mode == ER_QRED_MAX ? lo : hi;
          break;
        }
        out = load_q(x->data, t, base + r.off);
        er_odo_next(&r);
        for (int64_t j = 1; j < p->n_red; ++j, er_odo_next(&r)) {
          const int32_t v = load_q(x->data, t, base + r.off);
          if (p->mode == ER_QRED_MAX ? v > out : v < out) out = v;
        }
        break;
      }
      case ER_QRED_PROD: {
        if (p->n_red == 0) return ER_ERR_SHAPE;
        int32_t acc = load_q(x->data, t, base + r.off) - p->input_zp;
        er_odo_next(&r);
        for (int64_t j = 1; j < p->n_red; ++j, er_odo_next(&r)) {
          const int64_t v = (int64_t)acc * (load_q(x->data, t, base + r.off) - p->input_zp);
          acc = er_mul_by_quantized_multiplier_i64(v, p->multiplier, p->shift);
        }
        out = er_wrap_add32(er_mul_by_quantized_multiplier_i64(acc, p->multiplier, p->shift), p->output_zp);
        break;
      }
      case ER_QRED_PROD_RAW: {
        uint32_t acc = 1; /* the product modulo 2^32 gives the element type's wrapped product */
        for (int64_t j = 0; j < p->n_red; ++j, er_odo_next(&r)) acc *= (uint32_t)load_q(x->data, t, base + r.off);
        if (t == ER_INT8) ((int8_t *)y->data)[i] = (int8_t)(uint8_t)acc;
        else if (t == ER_UINT8) ((uint8_t *)y->data)[i] = (uint8_t)acc;
        else ((int16_t *)y->data)[i] = (int16_t)(uint16_t)acc;
        continue;
      }
      default: return ER_ERR_UNSUPPORTED;
    }
    store_q(y->data, t, i, out);
  }
  return ER_OK;
}
