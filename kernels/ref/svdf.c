/* SVDF (a fully connected layer factored in time, with a memory of past activations) as TFLite computes it:
 * float32, hybrid (int8 feature weights) and full integer (int8 activations, int16 state). */
#include <math.h>
#include <string.h>

#include "edgerun/edgerun.h"
#include "edgerun/fixedpoint.h"
#include "edgerun/fixedpoint_lstm.h"

/* The checks every form shares: tensors present, counts as the params say, scratch large enough. */
static int svdf_check(const er_op *op, int32_t x_type, int32_t wf_type, int32_t wt_type, int32_t state_type,
                      int64_t scratch_bytes) {
  const er_svdf_params *p = (const er_svdf_params *)op->params;
  if (op->n_in < 5 || op->n_out < 1) return ER_ERR_PARAMS;
  for (int i = 0; i < 5; ++i)
    if (!op->in[i] && i != 3) return ER_ERR_PARAMS;
  if (!op->out[0]) return ER_ERR_PARAMS;
  const int64_t B = p->batch, I = p->input_size, F = p->num_filters, U = p->num_units, M = p->memory_size;
  if (B < 0 || I < 0 || U < 1 || p->rank < 1 || F != U * p->rank || M < 1) return ER_ERR_SHAPE;
  const er_tensor *x = op->in[0], *wf = op->in[1], *wt = op->in[2], *bias = op->in[3], *st = op->in[4];
  if (x->type != x_type || wf->type != wf_type || wt->type != wt_type || st->type != state_type)
    return ER_ERR_UNSUPPORTED;
  if (x->count != B * I || wf->count != F * I || wt->count != F * M || st->count != B * F * M ||
      op->out[0]->count != B * U || (bias && bias->count != U) || op->scratch_bytes < scratch_bytes)
    return ER_ERR_SHAPE;
  return ER_OK;
}

static void shift_state_f32(float *s, int64_t n) {
  if (n > 1) memmove(s, s + 1, (size_t)(n - 1) * sizeof(float));
}

static float activate(float v, int32_t act) {
  switch (act) {
    case ER_ACT_RELU: return v < 0.0f ? 0.0f : v;
    case ER_ACT_RELU_N1_TO_1: return v < -1.0f ? -1.0f : (v > 1.0f ? 1.0f : v);
    case ER_ACT_RELU6: return v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v);
    case ER_ACT_TANH: return tanhf(v);
    default: return v;
  }
}

/* scratch[b, f] = state[b, f, :] . weights_time[f, :]; out[b, u] = act(sum over rank + bias) */
static void time_weights_f32(const er_svdf_params *p, const er_tensor *wt, const float *bias, const float *state,
                             float *scratch, float *out) {
  const int64_t B = p->batch, F = p->num_filters, U = p->num_units, M = p->memory_size, R = p->rank;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t f = 0; f < F; ++f) {
      const float *s = state + (b * F + f) * M;
      float acc = 0.0f;
      if (wt->type == ER_INT8) { /* hybrid: TFLite dequantizes each weight as int8 * scale in float */
        const int8_t *w = (const int8_t *)wt->data + f * M;
        for (int64_t m = 0; m < M; ++m) acc += ((float)w[m] * wt->scale) * s[m];
      } else {
        const float *w = (const float *)wt->data + f * M;
        for (int64_t m = 0; m < M; ++m) acc += w[m] * s[m];
      }
      scratch[b * F + f] = acc;
    }
  for (int64_t b = 0; b < B; ++b)
    for (int64_t u = 0; u < U; ++u) {
      float acc = 0.0f;
      for (int64_t r = 0; r < R; ++r) acc += scratch[b * F + u * R + r];
      if (bias) acc += bias[u];
      out[b * U + u] = activate(acc, p->activation);
    }
}

int er_f32_svdf(const er_op *op) {
  const er_svdf_params *p = (const er_svdf_params *)op->params;
  const int st = svdf_check(op, ER_FLOAT32, ER_FLOAT32, ER_FLOAT32, ER_FLOAT32,
                            (int64_t)p->batch * p->num_filters * (int64_t)sizeof(float));
  if (st != ER_OK) return st;
  const int64_t B = p->batch, I = p->input_size, F = p->num_filters, M = p->memory_size;
  const float *x = (const float *)op->in[0]->data, *wf = (const float *)op->in[1]->data;
  float *state = (float *)op->in[4]->data, *scratch = (float *)op->scratch;
  shift_state_f32(state, B * F * M);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t f = 0; f < F; ++f) {
      float acc = 0.0f;
      for (int64_t i = 0; i < I; ++i) acc += wf[f * I + i] * x[b * I + i];
      state[(b * F + f) * M + M - 1] = acc;
    }
  time_weights_f32(p, op->in[2], op->in[3] ? (const float *)op->in[3]->data : NULL, state, scratch,
                   (float *)op->out[0]->data);
  return ER_OK;
}

int er_h_svdf(const er_op *op) {
  const er_svdf_params *p = (const er_svdf_params *)op->params;
  const int64_t B = p->batch, I = p->input_size, F = p->num_filters, M = p->memory_size;
  const int st = svdf_check(op, ER_FLOAT32, ER_INT8, ER_INT8, ER_FLOAT32,
                            B * F * 4 + B * 4 + B * 4 + ((B * I + 3) & ~(int64_t)3));
  if (st != ER_OK) return st;
  const float *x = (const float *)op->in[0]->data;
  float *state = (float *)op->in[4]->data;
  float *scratch = (float *)op->scratch, *sf = scratch + B * F;
  int32_t *zp = (int32_t *)(sf + B);
  int8_t *q = (int8_t *)(zp + B);
  shift_state_f32(state, B * F * M);
  memset(scratch, 0, (size_t)(B * F) * sizeof(float));
  int zero = 1;
  for (int64_t i = 0; i < B * I && zero; ++i) zero = x[i] == 0.0f;
  if (!zero) {
    for (int64_t b = 0; b < B; ++b) er_rec_quantize_row(x + b * I, I, p->asymmetric, q + b * I, &sf[b], &zp[b]);
    er_rec_matvec_s8(op->in[1], F, I, q, sf, zp, B, scratch, F);
  }
  for (int64_t i = 0; i < B * F; ++i) state[i * M + M - 1] = scratch[i];
  time_weights_f32(p, op->in[2], op->in[3] ? (const float *)op->in[3]->data : NULL, state, scratch,
                   (float *)op->out[0]->data);
  return ER_OK;
}

int er_s8_svdf(const er_op *op) {
  const er_svdf_params *p = (const er_svdf_params *)op->params;
  const int64_t B = p->batch, I = p->input_size, F = p->num_filters, U = p->num_units, M = p->memory_size;
  const int st = svdf_check(op, ER_INT8, ER_INT8, ER_INT16, ER_INT16, B * F * 4);
  if (st != ER_OK) return st;
  if (op->in[3] && op->in[3]->type != ER_INT32) return ER_ERR_UNSUPPORTED;
  const int8_t *x = (const int8_t *)op->in[0]->data, *wf = (const int8_t *)op->in[1]->data;
  const int16_t *wt = (const int16_t *)op->in[2]->data;
  const int32_t *bias = op->in[3] ? (const int32_t *)op->in[3]->data : NULL;
  int16_t *state = (int16_t *)op->in[4]->data;
  int32_t *scratch = (int32_t *)op->scratch;
  int8_t *out = (int8_t *)op->out[0]->data;
  if (B * F * M > 1) memmove(state, state + 1, (size_t)(B * F * M - 1) * sizeof(int16_t));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t f = 0; f < F; ++f) {
      int32_t dot = 0; /* int8 x int9 products: |dot| < 2^31 for any input size TFLite accepts */
      for (int64_t i = 0; i < I; ++i)
        dot = er_wrap_add32(dot, (int32_t)wf[f * I + i] * ((int32_t)x[b * I + i] - p->input_zero_point));
      dot = er_mul_by_quantized_multiplier(dot, p->mult1, p->shift1);
      state[(b * F + f) * M + M - 1] = (int16_t)er_clamp_i32(dot, INT16_MIN, INT16_MAX);
    }
  for (int64_t b = 0; b < B; ++b)
    for (int64_t f = 0; f < F; ++f) {
      int32_t acc = 0;
      const int16_t *s = state + (b * F + f) * M, *w = wt + f * M;
      for (int64_t m = 0; m < M; ++m) acc = er_wrap_add32(acc, (int32_t)w[m] * (int32_t)s[m]);
      scratch[b * F + f] = acc;
    }
  for (int64_t b = 0; b < B; ++b)
    for (int64_t u = 0; u < U; ++u) {
      int32_t acc = 0;
      for (int64_t r = 0; r < p->rank; ++r) acc = er_wrap_add32(acc, scratch[b * F + u * p->rank + r]);
      if (bias) acc = er_wrap_add32(acc, bias[u]);
      const int64_t v = (int64_t)er_mul_by_quantized_multiplier(acc, p->mult2, p->shift2) + p->output_zero_point;
      out[b * U + u] = (int8_t)(v < -128 ? -128 : (v > 127 ? 127 : v));
    }
  return ER_OK;
}
