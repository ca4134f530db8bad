/* Full-integer LSTM, TFLite's 8x8_16 form (UNIDIRECTIONAL_SEQUENCE_LSTM and LSTM with int8 input), bit-exact
 * with LiteRT's builtin kernel. Per step, for rows of int8 input x, int8 output state h and int16 cell state c
 * (scale 2^cell_scale):
 *
 *   gate_g = sat16(MBQM(bx_g + W_x x, x_g) + sat16(MBQM(bh_g + W_h h, h_g)))     int16, Q3.12 without
 *            (+ sat16 MBQM(P_g * c, c_g) per element, peephole)                  layer norm, else the scale
 *            -> layer norm (integer mean/variance, 1/sqrt by Newton-Raphson)      of intermediate g
 *            -> sigmoid (Q0.15), tanh for the cell gate (gemmlowp 16-bit fixed point)
 *   c      = sat16((f * c) >> 15 + (i * g) >> (30 + cell_scale))   i = 32767 - f with CIFG; clip
 *   m      = o * tanh(c)   (tanh of c read with 15 + cell_scale integer bits)
 *   h      = projection ? clip(MBQM(bp + W_p (MBQM(m) - hidden_zp)) + h_zp) : MBQM(m) + hidden_zp
 *
 * MBQM is MultiplyByQuantizedMultiplier; the effective biases fold the zero points into the matmuls as
 * TFLite's Prepare does (bx_g = bias_g - input_zp * rowsum(W_x), the bias only without layer norm; bh_g =
 * -h_zp * rowsum(W_h); bp = proj_bias + hidden_zp * rowsum(W_p)); this kernel computes them into scratch at
 * each call. Two of LiteRT's quirks are kept: the peephole term runs over n_output elements per row, read as
 * one flat [n_rows * n_output] array (it only differs from the definition with a projection, n_output <
 * n_cell; the handler refuses n_output > n_cell); and a time-major call steps all batch rows at once while a
 * batch-major one steps each row alone. Wrapping int32 sums are computed in uint32 (no undefined behaviour).
 *
 * Scratch: int32 effective biases (8 * n_cell + n_output), int16 gates (4 * B * n_cell), int8 hidden
 * (B * n_cell). */
#include <string.h>

#include "edgerun/edgerun.h"
#include "edgerun/fixedpoint.h"
#include "edgerun/fixedpoint_elementwise.h"

static const er_tensor *slot(const er_op *op, const er_lstm_int_params *p, int s) {
  const int32_t i = p->in[s];
  return i >= 0 && i < op->n_in ? op->in[i] : NULL;
}

static int16_t wrap16(int32_t v) { return (int16_t)(uint16_t)(uint32_t)v; }

/* gemmlowp exp_on_negative_values for a 16-bit input with `ibits` integer bits (0..7), Q0.15 result */
static int16_t exp_neg16(int16_t a, int ibits) {
  int16_t r = fx16_exp_negative(a, ibits);
  if (ibits > 5 && a < -(1 << (20 - ibits))) r = 0; /* below -32: 0, as gemmlowp clamps */
  return r;
}

/* gemmlowp::tanh of a 16-bit input with `ibits` integer bits (0..6), Q0.15 result */
static int16_t tanh16(int16_t a, int ibits) {
  const int16_t n = a < 0 ? a : fx16_neg(a);
  const int16_t t = fx16_over_one_plus_x(exp_neg16(n, ibits + 1), 1);
  if (a == 0) return 0;
  return a < 0 ? fx16_neg(t) : t;
}

typedef struct {
  const int8_t *w;   /* [rows, cols] */
  const int32_t *eb; /* effective bias [rows] */
  int32_t mult, shift;
} matvec_t;

/* out[b, r] = sat(MBQM(eb[r] + sum_k x[b, k] W[r, k]) + zp + out[b, r]) for nb rows of x (TFLite's
 * MatrixBatchVectorMultiplyAccumulate with an int16 or int8 result). */
static void matvec_acc16(const matvec_t *m, const int8_t *x, int64_t nb, int64_t cols, int64_t rows, int16_t *out) {
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t r = 0; r < rows; ++r) {
      const int8_t *wr = m->w + r * cols, *xb = x + b * cols;
      int32_t acc = m->eb[r];
      for (int64_t k = 0; k < cols; ++k) acc = er_wrap_add32(acc, (int32_t)xb[k] * (int32_t)wr[k]);
      acc = er_mul_by_quantized_multiplier(acc, m->mult, m->shift);
      const int64_t v = (int64_t)acc + out[b * rows + r];
      out[b * rows + r] = (int16_t)(v > INT16_MAX ? INT16_MAX : (v < INT16_MIN ? INT16_MIN : v));
    }
}

static void matvec8(const matvec_t *m, const int8_t *x, int64_t nb, int64_t cols, int64_t rows, int32_t zp,
                    int8_t *out) {
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t r = 0; r < rows; ++r) {
      const int8_t *wr = m->w + r * cols, *xb = x + b * cols;
      int32_t acc = m->eb[r];
      for (int64_t k = 0; k < cols; ++k) acc = er_wrap_add32(acc, (int32_t)xb[k] * (int32_t)wr[k]);
      const int64_t v = (int64_t)er_mul_by_quantized_multiplier(acc, m->mult, m->shift) + zp;
      out[b * rows + r] = (int8_t)(v > 127 ? 127 : (v < -128 ? -128 : v));
    }
}

/* eb[r] = (bias ? bias[r] : 0) + scalar * rowsum(W[r]) (wrapping int32) */
static void effective_bias(const int8_t *w, int64_t rows, int64_t cols, const int32_t *bias, int32_t scalar,
                           int32_t *eb) {
  for (int64_t r = 0; r < rows; ++r) {
    int32_t s = 0;
    for (int64_t k = 0; k < cols; ++k) s = er_wrap_add32(s, w[r * cols + k]);
    eb[r] = er_wrap_add32(bias ? bias[r] : 0, (int32_t)((uint32_t)s * (uint32_t)scalar));
  }
}

/* TFLite's integer ApplyLayerNorm over rows of n values, in place */
static void layer_norm(int16_t *g, const int16_t *w, const int32_t *bias, const er_lstm_int_gate *q, int64_t nb,
                       int64_t n) {
  for (int64_t b = 0; b < nb; ++b) {
    int16_t *row = g + b * n;
    int64_t sum = 0, sum_sq = 0;
    for (int64_t j = 0; j < n; ++j) {
      sum += row[j];
      sum_sq += (int64_t)row[j] * row[j];
    }
    const int32_t mean = (int32_t)(sum * 1024 / n);
    const int32_t temp = (int32_t)((1 << 20) / n);
    const int64_t variance = sum_sq * temp - (int64_t)mean * mean;
    int32_t variance2 = (int32_t)(variance / (1 << 20));
    if (variance2 < 1) variance2 = q->variance_guard;
    int32_t inv_a;
    int inv_b;
    er_inv_sqrt_multiplier_exp(variance2, -1, &inv_a, &inv_b);
    for (int64_t j = 0; j < n; ++j) {
      const int32_t shifted = 1024 * (int32_t)row[j] - mean;
      const int32_t rescaled = er_mul_by_quantized_multiplier(shifted, inv_a, inv_b);
      /* int32 product and sum as TFLite computes them (wrapping), then widened */
      const int64_t val3 = er_wrap_add32((int32_t)((uint32_t)rescaled * (uint32_t)(int32_t)w[j]), bias[j]);
      const int32_t val4 = (int32_t)((val3 > 0 ? val3 + 512 : val3 - 512) / 1024);
      const int32_t val5 = er_mul_by_quantized_multiplier(val4, q->ln_mult, q->ln_shift + 12);
      row[j] = (int16_t)er_clamp_i32(val5, INT16_MIN, INT16_MAX);
    }
  }
}

typedef struct {
  const er_lstm_int_params *p;
  const int8_t *wx[4], *wh[4], *wp;
  const int16_t *peep[4], *ln[4];
  const int32_t *bias[4];
  int32_t *ebx[4], *ebh[4], *ebp;
  int16_t *gate[4]; /* each B * C */
  int8_t *hidden;   /* B * C */
  int64_t I, C, O;
  int cifg;
} lstm_int_t;

static void gate_step(const lstm_int_t *L, int g, const int8_t *x, const int8_t *h, const int16_t *c, int64_t nb) {
  const er_lstm_int_gate *q = &L->p->gates[g];
  const int64_t C = L->C, O = L->O;
  int16_t *z = L->gate[g];
  memset(z, 0, sizeof(int16_t) * (size_t)(nb * C));
  const matvec_t mx = {L->wx[g], L->ebx[g], q->x_mult, q->x_shift};
  const matvec_t mh = {L->wh[g], L->ebh[g], q->h_mult, q->h_shift};
  matvec_acc16(&mx, x, nb, L->I, C, z);
  matvec_acc16(&mh, h, nb, O, C, z);
  if (g != 2 && L->peep[g]) {
    /* LiteRT's VectorBatchVectorCwiseProductAccumulate(w, n_output, c, n_rows): n_output per row, flat */
    const int16_t *w = L->peep[g];
    for (int64_t b = 0; b < nb; ++b)
      for (int64_t v = 0; v < O; ++v) {
        const int64_t i = b * O + v;
        const int32_t prod = er_mul_by_quantized_multiplier((int32_t)w[v] * (int32_t)c[i], q->c_mult, q->c_shift);
        z[i] = (int16_t)er_clamp_i32(er_clamp_i32(prod, -(1 << 24), 1 << 24) + z[i], INT16_MIN, INT16_MAX);
      }
  }
  if (L->ln[g]) layer_norm(z, L->ln[g], L->bias[g], q, nb, C);
  for (int64_t i = 0; i < nb * C; ++i) z[i] = g == 2 ? tanh16(z[i], 3) : fx16_logistic(z[i]);
}

/* One step of nb rows: x [nb, I], h [nb, O] (updated), c [nb, C] (updated), y [nb, O] */
static void lstm_step(const lstm_int_t *L, const int8_t *x, int8_t *h, int16_t *c, int8_t *y, int64_t nb) {
  const er_lstm_int_params *p = L->p;
  const int64_t C = L->C, O = L->O, n = nb * C;
  if (!L->cifg) gate_step(L, 0, x, h, c, nb);
  gate_step(L, 1, x, h, c, nb);
  gate_step(L, 2, x, h, c, nb);
  int16_t *ig = L->gate[0], *fg = L->gate[1], *cg = L->gate[2], *og = L->gate[3];
  const int shift = 30 + p->cell_scale;
  for (int64_t i = 0; i < n; ++i) {
    const int16_t kept = wrap16(er_rounding_divide_by_pot((int32_t)fg[i] * c[i], 15));
    const int16_t in = L->cifg ? wrap16(32767 - fg[i]) : ig[i];
    const int16_t add = wrap16(er_rounding_divide_by_pot((int32_t)in * cg[i], shift));
    int32_t v = er_clamp_i32((int32_t)kept + add, INT16_MIN, INT16_MAX);
    if (p->cell_clip > 0) v = er_clamp_i32(v, -p->cell_clip, p->cell_clip);
    c[i] = (int16_t)v;
  }
  gate_step(L, 3, x, h, c, nb);
  /* tanh(c) into the input gate's buffer (free now), then the hidden state */
  int16_t *t = L->gate[0];
  for (int64_t i = 0; i < n; ++i) t[i] = tanh16(c[i], 15 + p->cell_scale);
  const int32_t hzp = L->wp ? -p->hidden_zp : p->hidden_zp;
  int8_t *m = L->wp ? L->hidden : h;
  for (int64_t i = 0; i < n; ++i) {
    const int32_t v = er_mul_by_quantized_multiplier((int32_t)og[i] * t[i], p->hidden_mult, p->hidden_shift);
    m[i] = (int8_t)er_clamp_i32(er_clamp_i32(v, INT32_MIN + 256, INT32_MAX - 256) + hzp, -128, 127);
  }
  if (L->wp) {
    const matvec_t mp = {L->wp, L->ebp, p->proj_mult, p->proj_shift};
    matvec8(&mp, L->hidden, nb, C, O, p->output_state_zp, h);
    if (p->proj_clip > 0)
      for (int64_t i = 0; i < nb * O; ++i) h[i] = (int8_t)er_clamp_i32(h[i], -p->proj_clip, p->proj_clip);
  }
  memcpy(y, h, (size_t)(nb * O));
}

static int shift_ok(int32_t s) { return s >= -31 && s <= 30; }

/* count == a * b * c for non-negative a, b, c, without overflowing */
static int count_is(int64_t count, int64_t a, int64_t b, int64_t c) {
  if (a == 0 || b == 0 || c == 0) return count == 0;
  if (b > count / a) return 0;
  if (c > count / (a * b)) return 0;
  return a * b * c == count;
}

static int64_t scratch_need(int64_t B, int64_t C, int64_t O) {
  return (int64_t)sizeof(int32_t) * (8 * C + O) + (int64_t)sizeof(int16_t) * 4 * B * C + B * C;
}

int er_s8_lstm(const er_op *op) {
  const er_lstm_int_params *p = (const er_lstm_int_params *)op->params;
  if (!p || op->n_out < 1 || !op->out[0]) return ER_ERR_PARAMS;
  const int64_t B = p->n_batch, T = p->n_time, I = p->n_input, C = p->n_cell, O = p->n_output;
  if (B < 0 || T < 0 || I < 1 || C < 1 || O < 1 || O > C) return ER_ERR_PARAMS;
  if (p->cell_scale < -15 || p->cell_scale > -9 || p->proj_clip < 0 || p->proj_clip > 127 || p->cell_clip < 0 ||
      p->cell_clip > 32767 || !shift_ok(p->hidden_shift) || !shift_ok(p->proj_shift))
    return ER_ERR_PARAMS;
  lstm_int_t L;
  memset(&L, 0, sizeof(L));
  L.p = p, L.I = I, L.C = C, L.O = O;
  const er_tensor *x = slot(op, p, ER_LSTM_INPUT), *ht = slot(op, p, ER_LSTM_H), *ct = slot(op, p, ER_LSTM_C);
  er_tensor *y = op->out[0];
  if (!x || !ht || !ct) return ER_ERR_PARAMS;
  if (x->type != ER_INT8 || ht->type != ER_INT8 || ct->type != ER_INT16 || y->type != ER_INT8)
    return ER_ERR_UNSUPPORTED;
  if (!count_is(x->count, B, T, I) || !count_is(ht->count, B, O, 1) || !count_is(ct->count, B, C, 1) ||
      !count_is(y->count, B, T, O))
    return ER_ERR_SHAPE;
  L.cifg = slot(op, p, ER_LSTM_W_X) == NULL;
  const int use_ln = slot(op, p, ER_LSTM_LN + 1) != NULL;
  for (int g = L.cifg; g < 4; ++g) {
    const er_tensor *wx = slot(op, p, ER_LSTM_W_X + g), *wh = slot(op, p, ER_LSTM_W_H + g);
    const er_tensor *b = slot(op, p, ER_LSTM_BIAS + g), *ln = slot(op, p, ER_LSTM_LN + g);
    const er_tensor *pw = g == 2 ? NULL : slot(op, p, ER_LSTM_PEEP + (g == 3 ? 2 : g));
    const er_lstm_int_gate *q = &p->gates[g];
    if (!wx || !wh || !b || (use_ln && !ln)) return ER_ERR_PARAMS;
    if (wx->type != ER_INT8 || wh->type != ER_INT8 || b->type != ER_INT32 || (ln && ln->type != ER_INT16) ||
        (pw && pw->type != ER_INT16))
      return ER_ERR_UNSUPPORTED;
    if (!count_is(wx->count, C, I, 1) || !count_is(wh->count, C, O, 1) || b->count != C || (ln && ln->count != C) ||
        (pw && pw->count != C))
      return ER_ERR_SHAPE;
    if (!shift_ok(q->x_shift) || !shift_ok(q->h_shift) || !shift_ok(q->c_shift) || !shift_ok(q->ln_shift) ||
        q->ln_shift > 18) /* the layer norm requantizes by ln_shift + 12 */
      return ER_ERR_PARAMS;
    L.wx[g] = (const int8_t *)wx->data, L.wh[g] = (const int8_t *)wh->data;
    L.bias[g] = (const int32_t *)b->data;
    L.ln[g] = use_ln ? (const int16_t *)ln->data : NULL;
    L.peep[g] = pw ? (const int16_t *)pw->data : NULL;
  }
  const er_tensor *pwt = slot(op, p, ER_LSTM_PROJ_W), *pbt = slot(op, p, ER_LSTM_PROJ_B);
  if (pwt) {
    if (pwt->type != ER_INT8 || (pbt && pbt->type != ER_INT32)) return ER_ERR_UNSUPPORTED;
    if (!count_is(pwt->count, O, C, 1) || (pbt && pbt->count != O)) return ER_ERR_SHAPE;
    L.wp = (const int8_t *)pwt->data;
  } else if (O != C || pbt) {
    return ER_ERR_SHAPE;
  }
  if (B == 0 || T == 0) return ER_OK;
  if (!op->scratch || op->scratch_bytes < scratch_need(B, C, O)) return ER_ERR_PARAMS;
  int32_t *eb = (int32_t *)op->scratch;
  int16_t *gates = (int16_t *)(eb + 8 * C + O);
  L.hidden = (int8_t *)(gates + 4 * B * C);
  for (int g = 0; g < 4; ++g) {
    L.ebx[g] = eb + 2 * g * C, L.ebh[g] = eb + (2 * g + 1) * C;
    L.gate[g] = gates + g * B * C;
    if (!L.wx[g]) continue;
    effective_bias(L.wx[g], C, I, use_ln ? NULL : L.bias[g], -p->input_zp, L.ebx[g]);
    effective_bias(L.wh[g], C, O, NULL, -p->output_state_zp, L.ebh[g]);
  }
  L.ebp = eb + 8 * C;
  if (L.wp) effective_bias(L.wp, O, C, pbt ? (const int32_t *)pbt->data : NULL, p->hidden_zp, L.ebp);
  const int8_t *xd = (const int8_t *)x->data;
  int8_t *hd = (int8_t *)ht->data, *yd = (int8_t *)y->data;
  int16_t *cd = (int16_t *)ct->data;
  if (p->time_major) {
    for (int64_t t = 0; t < T; ++t) lstm_step(&L, xd + t * B * I, hd, cd, yd + t * B * O, B);
  } else {
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T; ++t)
        lstm_step(&L, xd + (b * T + t) * I, hd + b * O, cd + b * C, yd + (b * T + t) * O, 1);
  }
  return ER_OK;
}
