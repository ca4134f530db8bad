/* Recurrent sequence kernels as TFLite defines them: UNIDIRECTIONAL/BIDIRECTIONAL_SEQUENCE_LSTM and
 * UNIDIRECTIONAL/BIDIRECTIONAL_SEQUENCE_RNN, float32 (f32_*) and hybrid (h_*: int8 weights, float
 * activations quantized per batch row at every step, see edgerun/fixedpoint_lstm.h).
 *
 * LSTM step, per batch row, gates g in {input, forget, cell, output}:
 *   z_g   = W_g x + A_g aux + R_g h (R_g .* h when diagonal) + P_g .* c      (peephole: i, f on the old c,
 *                                                                            o on the new c)
 *   gate  = act_g(ln ? LN(z_g) * L_g + b_g : z_g + b_g)    act: sigmoid, the op's activation for the cell gate
 *   c     = clip(f .* c + (cifg ? 1 - f : i) .* gate_c, cell_clip)
 *   out   = o .* act(c)
 *   h     = proj ? clip(W_p out + b_p, proj_clip) : out
 * LN(z) = (z - mean) / sqrt(var + 1e-8) over the cell dimension. Like TFLite, activation NONE leaves its
 * operand untouched, so with NONE the cell output is o .* (the cell gate), not o .* c: TFLite's kernels
 * apply the activation from the cell state into the cell gate's buffer, and NONE writes nothing.
 *
 * RNN step: h = act(W x + A aux + R h + b); the output at each step is h.
 *
 * State tensors (variables) are updated in place and persist across invokes. Scratch layout (per call,
 * reused by each direction): LSTM 4*B*C floats of gates; hybrid adds 4*B row scales, 4*B zero points and
 * the int8 rows B*(n_input + n_aux + n_output + n_cell). RNN: hybrid only, 3*B scales and zero points and
 * B*(n_input + n_aux + n_units) int8. */
#include <math.h>
#include <string.h>

#include "edgerun/edgerun.h"
#include "edgerun/fixedpoint_lstm.h"

static const er_tensor *in_at(const er_op *op, int32_t i) { return i >= 0 && i < op->n_in ? op->in[i] : NULL; }

static float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

/* TFLite's ApplyActivationToVector: y = act(x); NONE does nothing (y keeps its contents). */
static void apply_act(int act, const float *x, int64_t n, float *y) {
  int64_t i;
  switch (act) {
    case ER_ACT_RELU:
      for (i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
      break;
    case ER_ACT_RELU_N1_TO_1:
      for (i = 0; i < n; ++i) y[i] = x[i] < -1.0f ? -1.0f : (x[i] > 1.0f ? 1.0f : x[i]);
      break;
    case ER_ACT_RELU6:
      for (i = 0; i < n; ++i) y[i] = x[i] < 0.0f ? 0.0f : (x[i] > 6.0f ? 6.0f : x[i]);
      break;
    case ER_ACT_TANH:
      for (i = 0; i < n; ++i) y[i] = tanhf(x[i]);
      break;
    case ER_ACT_SIGN_BIT:
      for (i = 0; i < n; ++i) y[i] = signbit(x[i]) ? 1.0f : 0.0f;
      break;
    default: /* ER_ACT_NONE */
      break;
  }
}

static void apply_sigmoid(float *x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = sigmoid(x[i]);
}

/* acc[b * accs + r] += dot(W[r], x + b * xs), b < B */
static void matvec_f32(const float *w, int64_t rows, int64_t cols, const float *x, int64_t xs, int64_t B,
                       float *acc, int64_t accs) {
  for (int64_t b = 0; b < B; ++b) {
    const float *xb = x + b * xs;
    float *ab = acc + b * accs;
    for (int64_t r = 0; r < rows; ++r) {
      const float *wr = w + r * cols;
      float s = 0.0f;
      for (int64_t k = 0; k < cols; ++k) s += wr[k] * xb[k];
      ab[r] += s;
    }
  }
}

/* Quantize B rows of n floats (row b at x + b * xs) into q (contiguous), with per-row scale and zero point. */
static void quantize_rows(const float *x, int64_t xs, int64_t n, int64_t B, int asym, int8_t *q, float *sf,
                          int32_t *zp) {
  for (int64_t b = 0; b < B; ++b) er_rec_quantize_row(x + b * xs, n, asym, q + b * n, sf + b, zp + b);
}

/* One operand of a product: float rows (x, row stride xs) and, in hybrid kernels, the same rows quantized. */
typedef struct {
  const float *x;
  int64_t xs;
  const int8_t *q;
  const float *sf;
  const int32_t *zp;
} operand_t;

/* acc += W v for one weight tensor: float weights read the float rows, int8 weights the quantized rows. */
static void accumulate(const er_tensor *w, int64_t rows, int64_t cols, const operand_t *v, int64_t B, float *acc,
                       int64_t accs) {
  if (w->type == ER_INT8)
    er_rec_matvec_s8(w, rows, cols, v->q, v->sf, v->zp, B, acc, accs);
  else
    matvec_f32((const float *)w->data, rows, cols, v->x, v->xs, B, acc, accs);
}

/* Point v at B rows of n floats and, when hybrid, quantize them into the given buffers. */
static void operand(operand_t *v, const float *x, int64_t xs, int64_t n, int64_t B, int hybrid, int asym,
                    int8_t *q, float *sf, int32_t *zp) {
  v->x = x, v->xs = xs, v->q = q, v->sf = sf, v->zp = zp;
  if (hybrid) quantize_rows(x, xs, n, B, asym, q, sf, zp);
}

/* One element of a vector weight (peephole, diagonal recurrent): float, or int8 times its scale. */
static float vec_weight(const er_tensor *w, int64_t r) {
  if (w->type == ER_INT8) return (float)((const int8_t *)w->data)[r] * er_rec_weight_scale(w, r);
  return ((const float *)w->data)[r];
}

static void mean_stddev_normalize(float *x, int64_t n, int64_t B) {
  for (int64_t b = 0; b < B; ++b, x += n) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n; ++i) sum += x[i];
    const float mean = sum / (float)n;
    float sq = 0.0f;
    for (int64_t i = 0; i < n; ++i) {
      const float d = x[i] - mean;
      sq += d * d;
    }
    const float inv = 1.0f / sqrtf(sq / (float)n + 1e-8f);
    for (int64_t i = 0; i < n; ++i) x[i] = (x[i] - mean) * inv;
  }
}

static void clip(float *x, int64_t n, float c) {
  if (!(c > 0.0f)) return;
  for (int64_t i = 0; i < n; ++i) x[i] = x[i] > c ? c : (x[i] < -c ? -c : x[i]);
}

/* ---------------------------------------------------------------------------------------------------- */
/* LSTM */

typedef struct {
  const er_tensor *t[ER_LSTM_SLOTS];
  const er_tensor *aux, *aux_w[4];
  er_tensor *out;
  int64_t B, T, I, A, C, O;
} lstm_dir_t;

/* Scratch: gates (4 x B x C floats); hybrid: per-row scales and zero points and the int8 rows of the four
 * quantized operands (input, aux input, output state, cell output for the projection). */
typedef struct {
  float *gates;
  float *sf[4];
  int32_t *zp[4];
  int8_t *q[4];
} lstm_scratch_t;

static int64_t lstm_scratch_need(const lstm_dir_t *d, int hybrid) {
  int64_t n = (int64_t)sizeof(float) * 4 * d->B * d->C;
  if (hybrid)
    n += (int64_t)(sizeof(float) + sizeof(int32_t)) * 4 * d->B + d->B * (d->I + d->A + d->O + d->C);
  return n;
}

static void lstm_scratch(const lstm_dir_t *d, int hybrid, void *mem, lstm_scratch_t *s) {
  const int64_t B = d->B;
  memset(s, 0, sizeof(*s));
  s->gates = (float *)mem;
  if (!hybrid) return;
  float *sf = s->gates + 4 * B * d->C;
  int32_t *zp = (int32_t *)(sf + 4 * B);
  int8_t *q = (int8_t *)(zp + 4 * B);
  const int64_t len[4] = {d->I, d->A, d->O, d->C};
  for (int k = 0; k < 4; ++k) {
    s->sf[k] = sf + k * B;
    s->zp[k] = zp + k * B;
    s->q[k] = q;
    q += B * len[k];
  }
}

static int lstm_bind(const er_op *op, const er_lstm_params *p, const er_lstm_dir *pd, int hybrid, lstm_dir_t *d) {
  for (int s = 0; s < ER_LSTM_SLOTS; ++s) d->t[s] = in_at(op, pd->in[s]);
  d->aux = in_at(op, pd->aux_in);
  for (int g = 0; g < 4; ++g) d->aux_w[g] = d->aux ? in_at(op, pd->aux_w[g]) : NULL;
  d->out = pd->out >= 0 && pd->out < op->n_out ? op->out[pd->out] : NULL;
  d->B = p->n_batch, d->T = p->n_time, d->I = pd->n_input, d->A = d->aux_w[1] ? pd->n_aux : 0;
  d->C = pd->n_cell, d->O = pd->n_output;
  const er_tensor *x = d->t[ER_LSTM_INPUT], *h = d->t[ER_LSTM_H], *c = d->t[ER_LSTM_C];
  if (!x || !h || !c || !d->out) return ER_ERR_PARAMS;
  const int g0 = d->t[ER_LSTM_W_X] ? 0 : 1; /* CIFG: no input gate */
  for (int g = g0; g < 4; ++g)
    if (!d->t[ER_LSTM_W_X + g] || !d->t[ER_LSTM_W_H + g] || !d->t[ER_LSTM_BIAS + g]) return ER_ERR_PARAMS;
  if (x->count != d->B * d->T * d->I || h->count != d->B * d->O || c->count != d->B * d->C) return ER_ERR_SHAPE;
  if (d->A && d->aux->count != d->B * d->T * d->A) return ER_ERR_SHAPE;
  if (d->out->count < d->B * d->T * (int64_t)pd->out_row || pd->out_offset + d->O > pd->out_row)
    return ER_ERR_SHAPE;
  for (int g = 0; g < 4; ++g) {
    const er_tensor *wx = d->t[ER_LSTM_W_X + g], *wh = d->t[ER_LSTM_W_H + g];
    if (wx && wx->count != d->C * d->I) return ER_ERR_SHAPE;
    if (wh && wh->count != d->C * (p->diagonal ? 1 : d->O)) return ER_ERR_SHAPE;
    if (d->A && d->aux_w[g] && d->aux_w[g]->count != d->C * d->A) return ER_ERR_SHAPE;
  }
  if (p->diagonal && d->O != d->C) return ER_ERR_SHAPE;
  /* weights (matrices, peepholes, diagonals) all of the kernel's weight type; the rest float vectors */
  const int32_t wtype = hybrid ? ER_INT8 : ER_FLOAT32;
  for (int s = ER_LSTM_W_X; s < ER_LSTM_BIAS; ++s)
    if (d->t[s] && d->t[s]->type != wtype) return ER_ERR_UNSUPPORTED;
  for (int g = 0; g < 4; ++g)
    if (d->A && d->aux_w[g] && d->aux_w[g]->type != wtype) return ER_ERR_UNSUPPORTED;
  for (int s = ER_LSTM_PEEP; s < ER_LSTM_BIAS; ++s)
    if (d->t[s] && d->t[s]->count != d->C) return ER_ERR_SHAPE;
  for (int g = 0; g < 4; ++g) {
    const er_tensor *b = d->t[ER_LSTM_BIAS + g], *l = d->t[ER_LSTM_LN + g];
    if ((b && (b->type != ER_FLOAT32 || b->count != d->C)) || (l && (l->type != ER_FLOAT32 || l->count != d->C)))
      return ER_ERR_SHAPE;
  }
  if (x->type != ER_FLOAT32 || h->type != ER_FLOAT32 || c->type != ER_FLOAT32 || d->out->type != ER_FLOAT32)
    return ER_ERR_UNSUPPORTED;
  const er_tensor *pw = d->t[ER_LSTM_PROJ_W], *pb = d->t[ER_LSTM_PROJ_B];
  if (pw ? pw->count != d->O * d->C : d->O != d->C) return ER_ERR_SHAPE;
  if (pb && (!pw || pb->type != ER_FLOAT32 || pb->count != d->O)) return ER_ERR_SHAPE;
  if (d->A && d->aux->type != ER_FLOAT32) return ER_ERR_UNSUPPORTED;
  return ER_OK;
}

/* operands of one step: input, aux input, output state */
typedef struct {
  operand_t x, a, h;
} lstm_ops_t;

/* gate g of all B rows into z (B x C): bias, products, peephole, layer norm, activation */
static void lstm_gate(const lstm_dir_t *d, const er_lstm_params *p, int g, const lstm_ops_t *v, const float *c,
                      float *z) {
  const int64_t B = d->B, C = d->C;
  const er_tensor *ln = d->t[ER_LSTM_LN + g];
  const float *bias = (const float *)d->t[ER_LSTM_BIAS + g]->data;
  for (int64_t b = 0; b < B; ++b) {
    if (ln)
      memset(z + b * C, 0, sizeof(float) * (size_t)C);
    else
      memcpy(z + b * C, bias, sizeof(float) * (size_t)C);
  }
  accumulate(d->t[ER_LSTM_W_X + g], C, d->I, &v->x, B, z, C);
  if (d->A && d->aux_w[g]) accumulate(d->aux_w[g], C, d->A, &v->a, B, z, C);
  const er_tensor *r = d->t[ER_LSTM_W_H + g];
  if (p->diagonal) {
    for (int64_t b = 0; b < B; ++b)
      for (int64_t i = 0; i < C; ++i) z[b * C + i] += vec_weight(r, i) * v->h.x[b * d->O + i];
  } else {
    accumulate(r, C, d->O, &v->h, B, z, C);
  }
  if (g != 2) {
    const er_tensor *pw = d->t[ER_LSTM_PEEP + (g == 3 ? 2 : g)];
    if (pw)
      for (int64_t b = 0; b < B; ++b)
        for (int64_t i = 0; i < C; ++i) z[b * C + i] += vec_weight(pw, i) * c[b * C + i];
  }
  if (ln) {
    const float *l = (const float *)ln->data;
    mean_stddev_normalize(z, C, B);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t i = 0; i < C; ++i) z[b * C + i] = z[b * C + i] * l[i] + bias[i];
  }
  if (g == 2)
    apply_act(p->activation, z, B * C, z);
  else
    apply_sigmoid(z, B * C);
}

static void lstm_run_dir(const lstm_dir_t *d, const er_lstm_params *p, const er_lstm_dir *pd,
                         const lstm_scratch_t *s, int hybrid) {
  const int64_t B = d->B, T = d->T, I = d->I, A = d->A, C = d->C, O = d->O;
  const int asym = p->asymmetric;
  const float *xin = (const float *)d->t[ER_LSTM_INPUT]->data;
  const float *ain = A ? (const float *)d->aux->data : NULL;
  float *h = (float *)d->t[ER_LSTM_H]->data, *c = (float *)d->t[ER_LSTM_C]->data;
  float *y = (float *)d->out->data;
  const int cifg = d->t[ER_LSTM_W_X + 0] == NULL;
  float *ig = s->gates, *fg = ig + B * C, *cg = fg + B * C, *og = cg + B * C;
  const er_tensor *pw = d->t[ER_LSTM_PROJ_W], *pb = d->t[ER_LSTM_PROJ_B];
  for (int64_t step = 0; step < T; ++step) {
    const int64_t t = pd->forward ? step : T - 1 - step;
    /* row b of time t: [T, B, n] when time-major, else [B, T, n] */
    const int64_t rs = p->time_major ? 1 : T, r0 = p->time_major ? t * B : t;
    lstm_ops_t v;
    operand(&v.x, xin + r0 * I, rs * I, I, B, hybrid, asym, s->q[0], s->sf[0], s->zp[0]);
    if (A) operand(&v.a, ain + r0 * A, rs * A, A, B, hybrid, asym, s->q[1], s->sf[1], s->zp[1]);
    operand(&v.h, h, O, O, B, hybrid && !p->diagonal, asym, s->q[2], s->sf[2], s->zp[2]);
    if (!cifg) lstm_gate(d, p, 0, &v, c, ig);
    lstm_gate(d, p, 1, &v, c, fg);
    lstm_gate(d, p, 2, &v, c, cg);
    for (int64_t i = 0; i < B * C; ++i) {
      c[i] = fg[i] * c[i];
      c[i] += cg[i] * (cifg ? 1.0f - fg[i] : ig[i]);
    }
    clip(c, B * C, p->cell_clip);
    lstm_gate(d, p, 3, &v, c, og);
    /* cell output into the cell gate's buffer (activation NONE keeps the cell gate there, as TFLite) */
    apply_act(p->activation, c, B * C, cg);
    for (int64_t i = 0; i < B * C; ++i) cg[i] = og[i] * cg[i];
    if (pw) {
      for (int64_t b = 0; b < B; ++b) {
        if (pb)
          memcpy(h + b * O, pb->data, sizeof(float) * (size_t)O);
        else
          memset(h + b * O, 0, sizeof(float) * (size_t)O);
      }
      operand_t m;
      operand(&m, cg, C, C, B, hybrid, asym, s->q[3], s->sf[3], s->zp[3]);
      accumulate(pw, O, C, &m, B, h, O);
      clip(h, B * O, p->proj_clip);
    } else {
      memcpy(h, cg, sizeof(float) * (size_t)(B * O));
    }
    for (int64_t b = 0; b < B; ++b) {
      const int64_t row = p->time_major ? t * B + b : b * T + t;
      memcpy(y + row * pd->out_row + pd->out_offset, h + b * O, sizeof(float) * (size_t)O);
    }
  }
}

static int lstm_eval(const er_op *op, int hybrid) {
  const er_lstm_params *p = (const er_lstm_params *)op->params;
  if (!p || p->n_dirs < 1 || p->n_dirs > 2) return ER_ERR_PARAMS;
  for (int k = 0; k < p->n_dirs; ++k) {
    lstm_dir_t d;
    int st = lstm_bind(op, p, &p->dirs[k], hybrid, &d);
    if (st != ER_OK) return st;
    if (d.B == 0 || d.T == 0) continue;
    if (op->scratch == NULL || op->scratch_bytes < lstm_scratch_need(&d, hybrid)) return ER_ERR_PARAMS;
    lstm_scratch_t s;
    lstm_scratch(&d, hybrid, op->scratch, &s);
    lstm_run_dir(&d, p, &p->dirs[k], &s, hybrid);
  }
  return ER_OK;
}

int er_f32_lstm(const er_op *op) { return lstm_eval(op, 0); }
int er_h_lstm(const er_op *op) { return lstm_eval(op, 1); }

/* ---------------------------------------------------------------------------------------------------- */
/* RNN */

static int rnn_eval(const er_op *op, int hybrid) {
  const er_rnn_params *p = (const er_rnn_params *)op->params;
  if (!p || p->n_dirs < 1 || p->n_dirs > 2) return ER_ERR_PARAMS;
  for (int k = 0; k < p->n_dirs; ++k) {
    const er_rnn_dir *pd = &p->dirs[k];
    const er_tensor *x = in_at(op, pd->in[ER_RNN_INPUT]), *wx = in_at(op, pd->in[ER_RNN_W_X]);
    const er_tensor *wh = in_at(op, pd->in[ER_RNN_W_H]), *bias = in_at(op, pd->in[ER_RNN_BIAS]);
    const er_tensor *ht = in_at(op, pd->in[ER_RNN_H]), *aux = in_at(op, pd->aux_in);
    const er_tensor *aw = aux ? in_at(op, pd->aux_w) : NULL;
    er_tensor *out = pd->out >= 0 && pd->out < op->n_out ? op->out[pd->out] : NULL;
    if (!x || !wx || !wh || !bias || !ht || !out) return ER_ERR_PARAMS;
    const int64_t B = p->n_batch, T = p->n_time, I = pd->n_input, A = aw ? pd->n_aux : 0, U = pd->n_units;
    if (x->count != B * T * I || ht->count != B * U || wx->count != U * I || wh->count != U * U ||
        bias->count != U || (A && aux->count != B * T * A) || (aw && aw->count != U * A) ||
        out->count < B * T * (int64_t)pd->out_row || pd->out_offset + U > pd->out_row)
      return ER_ERR_SHAPE;
    const int32_t wtype = hybrid ? ER_INT8 : ER_FLOAT32;
    if (wx->type != wtype || wh->type != wtype || (aw && aw->type != wtype) || bias->type != ER_FLOAT32 ||
        x->type != ER_FLOAT32 || ht->type != ER_FLOAT32 || out->type != ER_FLOAT32 ||
        (A && aux->type != ER_FLOAT32))
      return ER_ERR_UNSUPPORTED;
    if (B == 0 || T == 0) continue;
    int8_t *q[3] = {NULL, NULL, NULL};
    float *sf[3] = {NULL, NULL, NULL};
    int32_t *zp[3] = {NULL, NULL, NULL};
    if (hybrid) {
      const int64_t need = (int64_t)(sizeof(float) + sizeof(int32_t)) * 3 * B + B * (I + A + U);
      if (op->scratch == NULL || op->scratch_bytes < need) return ER_ERR_PARAMS;
      float *f = (float *)op->scratch;
      int32_t *z = (int32_t *)(f + 3 * B);
      int8_t *qq = (int8_t *)(z + 3 * B);
      const int64_t len[3] = {I, A, U};
      for (int j = 0; j < 3; ++j) {
        sf[j] = f + j * B, zp[j] = z + j * B, q[j] = qq;
        qq += B * len[j];
      }
    }
    const float *xin = (const float *)x->data, *ain = A ? (const float *)aux->data : NULL;
    float *h = (float *)ht->data, *y = (float *)out->data;
    for (int64_t step = 0; step < T; ++step) {
      const int64_t t = pd->forward ? step : T - 1 - step;
      const int64_t rs = p->time_major ? 1 : T, r0 = p->time_major ? t * B : t;
      /* the new state is computed in the output rows (as TFLite does), then copied into h */
      float *ys = y + r0 * pd->out_row + pd->out_offset;
      const int64_t ystride = rs * pd->out_row;
      for (int64_t b = 0; b < B; ++b) memcpy(ys + b * ystride, bias->data, sizeof(float) * (size_t)U);
      operand_t vx, va, vh;
      operand(&vx, xin + r0 * I, rs * I, I, B, hybrid, p->asymmetric, q[0], sf[0], zp[0]);
      if (A) operand(&va, ain + r0 * A, rs * A, A, B, hybrid, p->asymmetric, q[1], sf[1], zp[1]);
      operand(&vh, h, U, U, B, hybrid, p->asymmetric, q[2], sf[2], zp[2]);
      accumulate(wx, U, I, &vx, B, ys, ystride);
      if (A) accumulate(aw, U, A, &va, B, ys, ystride);
      accumulate(wh, U, U, &vh, B, ys, ystride);
      for (int64_t b = 0; b < B; ++b) {
        apply_act(p->activation, ys + b * ystride, U, ys + b * ystride);
        memcpy(h + b * U, ys + b * ystride, sizeof(float) * (size_t)U);
      }
    }
  }
  return ER_OK;
}

int er_f32_rnn(const er_op *op) { return rnn_eval(op, 0); }
int er_h_rnn(const er_op *op) { return rnn_eval(op, 1); }
