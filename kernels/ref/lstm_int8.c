/* Full-integer LSTM, TFLite's 8x8_8 form (LSTM op with int8 input and 12 intermediate tensors), bit-exact with
 * LiteRT's builtin kernel (derived from its outputs). Per step, for all batch rows at once, with int8 input x,
 * int8 output state h and int16 cell state c read as Q0.15, for the forget, cell and output gates g:
 *
 *   px_g = sat8(MBQM(W_x (x - x_zp), x_g) + px_zp)            the int8 products (intermediates 3g+1, 3g+2)
 *   ph_g = sat8(MBQM(W_h (h - h_zp), h_g) + ph_zp)
 *   z_g  = sat16(MBQM(px_g - px_zp, xa_g) + MBQM(ph_g - ph_zp, ha_g))       the int16 gate (intermediate 3g)
 *   z_g  = round(2^12 * (LN(z_g) * ln_g * ln_scale + bias * ln_scale / 1024))   float layer norm
 *   f, o = (int)(2^15 * sigmoid(z * 2^-12)), g = (int)(2^15 * tanh(z * 2^-12))      float, truncated
 *   c    = sat16((f * c) >> 15 + ((32767 - f) * g) >> 15), clipped     CIFG always (the input gate unused)
 *   m    = (o * (int)(2^15 * tanh(c * 2^-15))) >> 15                   rounding shifts, wrapped to int16
 *   h    = clip(sat8(MBQM64(proj_bias + W_p m) + h_zp))                the projection (with bias) is required
 *
 * The float steps follow LiteRT's arithmetic operation for operation: float32 sums in index order, the
 * variance as E[z^2] - mean^2, expf/tanhf/sqrtf of the C library (bit-exact where they are the same
 * functions as LiteRT's; glibc on this host), no fused multiply-add (-std=c11: no contraction). A rounded
 * value outside int32 becomes INT32_MIN, as x86's conversion gives (then clamped to -32768).
 *
 * Scratch: int8 products (2 * B * n_cell), int16 gates (3 * B * n_cell). */
#include <math.h>
#include <string.h>

#include "edgerun/edgerun.h"
#include "edgerun/fixedpoint.h"

static const er_tensor *slot8(const er_op *op, const er_lstm_int8_params *p, int s) {
  const int32_t i = p->in[s];
  return i >= 0 && i < op->n_in ? op->in[i] : NULL;
}

static int16_t sat16(int32_t v) { return (int16_t)er_clamp_i32(v, INT16_MIN, INT16_MAX); }

/* float -> int32 as x86's truncating conversion: out of range (or NaN) gives INT32_MIN */
static int32_t to_i32(double v) {
  if (!(v > -2147483649.0 && v < 2147483648.0)) return INT32_MIN;
  return (int32_t)v;
}

/* out[b, r] = sat8(MBQM(sum_k (x[b, k] - x_zp) W[r, k]) + zp), wrapping int32 sums */
static void product8(const int8_t *x, int32_t x_zp, const int8_t *w, int32_t mult, int32_t shift, int64_t nb,
                     int64_t cols, int64_t rows, int32_t zp, int8_t *out) {
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t r = 0; r < rows; ++r) {
      const int8_t *xb = x + b * cols, *wr = w + r * cols;
      int32_t acc = 0;
      for (int64_t k = 0; k < cols; ++k) acc = er_wrap_add32(acc, ((int32_t)xb[k] - x_zp) * (int32_t)wr[k]);
      const int64_t v = (int64_t)er_mul_by_quantized_multiplier(acc, mult, shift) + zp;
      out[b * rows + r] = (int8_t)(v > 127 ? 127 : (v < -128 ? -128 : v));
    }
}

/* LiteRT's float layer norm of rows of n int16 values (Q3.12 result), in place */
static void layer_norm_float(int16_t *z, const int16_t *w, const int32_t *bias, int32_t mult, int32_t shift,
                             int64_t nb, int64_t n) {
  const float scale = (float)((double)mult * ldexp(1.0, shift - 31));
  const float bias_scale = (float)(ldexp(1.0, -10) * (double)scale);
  for (int64_t b = 0; b < nb; ++b) {
    int16_t *row = z + b * n;
    float sum = 0.0f, sum_sq = 0.0f;
    for (int64_t j = 0; j < n; ++j) {
      const float v = (float)row[j];
      sum += v;
      const float sq = v * v;
      sum_sq += sq;
    }
    const float mean = sum / (float)n;
    const float mean_sq = mean * mean;
    const float variance = sum_sq / (float)n - mean_sq;
    const float inv = variance == 0.0f ? (float)(1.0 / sqrt(1e-8)) : 1.0f / sqrtf(variance);
    for (int64_t j = 0; j < n; ++j) {
      const float normalized = ((float)row[j] - mean) * inv;
      const float weighted = normalized * (float)w[j];
      const float scaled = weighted * scale;
      const float b_part = (float)bias[j] * bias_scale;
      const float value = scaled + b_part;
      row[j] = sat16(to_i32(round((double)value * 4096.0)));
    }
  }
}

static int16_t sigmoid_float(int16_t v) {
  const float x = (float)((double)v * ldexp(1.0, -12));
  const float y = 1.0f / (1.0f + expf(-x));
  return sat16(to_i32((double)y * 32768.0));
}

/* tanh of v * 2^exponent, Q0.15 result (truncated) */
static int16_t tanh_float(int16_t v, int exponent) {
  const float x = (float)((double)v * ldexp(1.0, exponent));
  const float y = tanhf(x);
  return sat16(to_i32((double)y * 32768.0));
}

typedef struct {
  const er_lstm_int8_params *p;
  const int8_t *wx[3], *wh[3], *wp;
  const int16_t *ln[3];
  const int32_t *bias[3], *pb;
  int8_t *px, *ph;  /* B * C each */
  int16_t *gate[3]; /* B * C each */
  int64_t I, C, O;
} lstm8_t;

static void gate8(const lstm8_t *L, int g, const int8_t *x, const int8_t *h, int64_t nb) {
  const er_lstm_int8_params *p = L->p;
  const er_lstm_int8_gate *q = &p->gates[g];
  const int64_t C = L->C, n = nb * C;
  product8(x, p->input_zp, L->wx[g], q->x_mult, q->x_shift, nb, L->I, C, q->x_zp, L->px);
  product8(h, p->output_state_zp, L->wh[g], q->h_mult, q->h_shift, nb, L->O, C, q->h_zp, L->ph);
  int16_t *z = L->gate[g];
  for (int64_t i = 0; i < n; ++i) {
    const int32_t a = er_mul_by_quantized_multiplier((int32_t)L->px[i] - q->x_zp, q->xa_mult, q->xa_shift);
    const int32_t b = er_mul_by_quantized_multiplier((int32_t)L->ph[i] - q->h_zp, q->ha_mult, q->ha_shift);
    z[i] = sat16(er_wrap_add32(a, b));
  }
  layer_norm_float(z, L->ln[g], L->bias[g], q->ln_mult, q->ln_shift, nb, C);
  for (int64_t i = 0; i < n; ++i) z[i] = g == 1 ? tanh_float(z[i], -12) : sigmoid_float(z[i]);
}

static void step8(const lstm8_t *L, const int8_t *x, int8_t *h, int16_t *c, int8_t *y, int64_t nb) {
  const er_lstm_int8_params *p = L->p;
  const int64_t C = L->C, O = L->O, n = nb * C;
  gate8(L, 0, x, h, nb);
  gate8(L, 1, x, h, nb);
  const int16_t *fg = L->gate[0], *cg = L->gate[1];
  for (int64_t i = 0; i < n; ++i) {
    const int16_t kept = (int16_t)(uint16_t)(uint32_t)er_rounding_divide_by_pot((int32_t)fg[i] * c[i], 15);
    const int16_t in = (int16_t)(uint16_t)(uint32_t)(32767 - (int32_t)fg[i]);
    const int16_t add = (int16_t)(uint16_t)(uint32_t)er_rounding_divide_by_pot((int32_t)in * cg[i], 15);
    int32_t v = er_clamp_i32((int32_t)kept + add, INT16_MIN, INT16_MAX);
    if (p->cell_clip > 0) v = er_clamp_i32(v, -p->cell_clip, p->cell_clip);
    c[i] = (int16_t)v;
  }
  gate8(L, 2, x, h, nb);
  /* m = o * tanh(c) into the forget gate's buffer (free now) */
  int16_t *m = L->gate[0];
  const int16_t *og = L->gate[2];
  for (int64_t i = 0; i < n; ++i)
    m[i] = (int16_t)(uint16_t)(uint32_t)er_rounding_divide_by_pot((int32_t)og[i] * tanh_float(c[i], -15), 15);
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t r = 0; r < O; ++r) {
      const int16_t *mb = m + b * C;
      const int8_t *wr = L->wp + r * C;
      int64_t acc = L->pb[r];
      for (int64_t k = 0; k < C; ++k) acc += (int64_t)mb[k] * wr[k];
      int64_t v = (int64_t)er_mul_by_quantized_multiplier_64(acc, p->proj_mult, p->proj_shift) + p->output_state_zp;
      v = v > 127 ? 127 : (v < -128 ? -128 : v);
      if (p->proj_clip > 0) v = v > p->proj_clip ? p->proj_clip : (v < -p->proj_clip ? -p->proj_clip : v);
      h[b * O + r] = (int8_t)v;
    }
  memcpy(y, h, (size_t)(nb * O));
}

static int shift8_ok(int32_t s) { return s >= -31 && s <= 30; }

static int zp8_ok(int32_t z) { return z >= -128 && z <= 127; }

/* count == a * b * c for non-negative a, b, c, without overflowing */
static int count8_is(int64_t count, int64_t a, int64_t b, int64_t c) {
  if (a == 0 || b == 0 || c == 0) return count == 0;
  if (b > count / a) return 0;
  if (c > count / (a * b)) return 0;
  return a * b * c == count;
}

int er_s8_lstm_8x8_8(const er_op *op) {
  const er_lstm_int8_params *p = (const er_lstm_int8_params *)op->params;
  if (!p || op->n_out < 1 || !op->out[0]) return ER_ERR_PARAMS;
  const int64_t B = p->n_batch, T = p->n_time, I = p->n_input, C = p->n_cell, O = p->n_output;
  /* n_cell <= 2^24 keeps the projection's int64 sum times the 16-bit multiplier below 2^63 */
  if (B < 0 || T < 0 || I < 1 || C < 1 || C > (1 << 24) || O < 1) return ER_ERR_PARAMS;
  if (p->proj_clip < 0 || p->proj_clip > 127 || p->cell_clip < 0 || p->cell_clip > 32767 ||
      !zp8_ok(p->input_zp) || !zp8_ok(p->output_state_zp) || !shift8_ok(p->proj_shift) || p->proj_shift > 14 ||
      p->proj_mult < 0)
    return ER_ERR_PARAMS;
  lstm8_t L;
  memset(&L, 0, sizeof(L));
  L.p = p, L.I = I, L.C = C, L.O = O;
  const er_tensor *x = slot8(op, p, ER_LSTM_INPUT), *ht = slot8(op, p, ER_LSTM_H), *ct = slot8(op, p, ER_LSTM_C);
  const er_tensor *pw = slot8(op, p, ER_LSTM_PROJ_W), *pb = slot8(op, p, ER_LSTM_PROJ_B);
  er_tensor *y = op->out[0];
  if (!x || !ht || !ct || !pw || !pb) return ER_ERR_PARAMS;
  if (x->type != ER_INT8 || ht->type != ER_INT8 || ct->type != ER_INT16 || y->type != ER_INT8 ||
      pw->type != ER_INT8 || pb->type != ER_INT32)
    return ER_ERR_UNSUPPORTED;
  if (!count8_is(x->count, T, B, I) || !count8_is(ht->count, B, O, 1) || !count8_is(ct->count, B, C, 1) ||
      !count8_is(y->count, T, B, O) || !count8_is(pw->count, O, C, 1) || pb->count != O)
    return ER_ERR_SHAPE;
  L.wp = (const int8_t *)pw->data, L.pb = (const int32_t *)pb->data;
  for (int g = 0; g < 3; ++g) {
    const er_tensor *wx = slot8(op, p, ER_LSTM_W_X + 1 + g), *wh = slot8(op, p, ER_LSTM_W_H + 1 + g);
    const er_tensor *b = slot8(op, p, ER_LSTM_BIAS + 1 + g), *ln = slot8(op, p, ER_LSTM_LN + 1 + g);
    const er_lstm_int8_gate *q = &p->gates[g];
    if (!wx || !wh || !b || !ln) return ER_ERR_PARAMS;
    if (wx->type != ER_INT8 || wh->type != ER_INT8 || b->type != ER_INT32 || ln->type != ER_INT16)
      return ER_ERR_UNSUPPORTED;
    if (!count8_is(wx->count, C, I, 1) || !count8_is(wh->count, C, O, 1) || b->count != C || ln->count != C)
      return ER_ERR_SHAPE;
    if (!shift8_ok(q->x_shift) || !shift8_ok(q->h_shift) || !shift8_ok(q->xa_shift) || !shift8_ok(q->ha_shift) ||
        !zp8_ok(q->x_zp) || !zp8_ok(q->h_zp) || q->ln_shift < -1000 || q->ln_shift > 1000)
      return ER_ERR_PARAMS;
    L.wx[g] = (const int8_t *)wx->data, L.wh[g] = (const int8_t *)wh->data;
    L.bias[g] = (const int32_t *)b->data, L.ln[g] = (const int16_t *)ln->data;
  }
  if (B == 0 || T == 0) return ER_OK;
  const int64_t need = 2 * B * C + (int64_t)sizeof(int16_t) * 3 * B * C;
  if (!op->scratch || op->scratch_bytes < need) return ER_ERR_PARAMS;
  int16_t *gates = (int16_t *)op->scratch;
  for (int g = 0; g < 3; ++g) L.gate[g] = gates + g * B * C;
  L.px = (int8_t *)(gates + 3 * B * C);
  L.ph = L.px + B * C;
  const int8_t *xd = (const int8_t *)x->data;
  int8_t *hd = (int8_t *)ht->data, *yd = (int8_t *)y->data;
  int16_t *cd = (int16_t *)ct->data;
  for (int64_t t = 0; t < T; ++t) step8(&L, xd + t * B * I, hd, cd, yd + t * B * O, B);
  return ER_OK;
}
