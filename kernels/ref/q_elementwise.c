/* Integer (int8 / uint8 / int16) binary elementwise kernels with numpy broadcasting, bit-exact with TFLite's
 * builtin kernels: rescaled ADD/SUB (left shift, per-input multipliers, output multiplier), MUL, DIV (Newton-
 * Raphson reciprocal), SQUARED_DIFFERENCE, MAXIMUM/MINIMUM and FLOOR_DIV/FLOOR_MOD on raw values, PRELU with
 * an alpha tensor, int16 power-of-two ADD/SUB, and comparisons with both sides rescaled.
 * Every input element is read as int32; the arithmetic is int32/int64 without undefined behaviour. */
#include <stdbool.h>

#include "broadcast.h"
#include "edgerun/edgerun.h"
#include "edgerun/fixedpoint_elementwise.h"

static inline int32_t load_q(const void *p, int32_t type, int64_t i) {
  switch (type) {
    case ER_INT8: return ((const int8_t *)p)[i];
    case ER_UINT8: return ((const uint8_t *)p)[i];
    default: return ((const int16_t *)p)[i];
  }
}

static inline int q_type_ok(int32_t t) { return t == ER_INT8 || t == ER_UINT8 || t == ER_INT16; }

/* TFLite's rescale of one input of ADD/SUB/SQDIFF/comparisons: ((x + offset) << left_shift) * multiplier. */
static inline int32_t rescale_in(int32_t x, int32_t offset, int left_shift, int32_t mult, int shift) {
  const int32_t shifted = (int32_t)((uint32_t)(x + offset) << left_shift);
  return er_mul_by_quantized_multiplier_lt1(shifted, mult, shift);
}

static inline int32_t clamp_out(int32_t v, const er_q_binary_params *p) { return er_clamp_i32(v, p->act_min, p->act_max); }

/* Reciprocal-based division of TFLite's quantized DIV. Returns the unclamped output. */
static inline int32_t q_div(int32_t a, int32_t b, const er_q_binary_params *p) {
  int32_t x = a + p->in1_offset, y = b + p->in2_offset;
  if (y < 0) {
    x = -x;
    y = -y;
  }
  int recip_shift;
  const int32_t inv = er_get_reciprocal(y, 31, &recip_shift);
  const int headroom = er_clrsb32(x);
  const int32_t unscaled = er_mul_by_quantized_multiplier_gt1(x, inv, headroom);
  const int total_shift = p->out_shift - recip_shift - headroom;
  if (total_shift <= 0 && total_shift >= -31)
    return p->out_offset + er_mul_by_quantized_multiplier_lt1(unscaled, p->out_mult, total_shift);
  if (er_rounding_mode == 1) {
    /* single rounding: x * m / 2^(31 - shift), rounded; shifts beyond the int64 range give 0 */
    const int64_t prod = (int64_t)unscaled * p->out_mult;
    const int ts = 31 - total_shift;
    if (ts > 62) return p->out_offset;
    if (ts < 1) return p->out_offset + (int32_t)(prod > INT32_MAX ? INT32_MAX : (prod < INT32_MIN ? INT32_MIN : prod));
    return p->out_offset + (int32_t)((prod + ((int64_t)1 << (ts - 1))) >> ts);
  }
  /* Exponents outside [0, 31]: TFLite's RoundingDivideByPOT then shifts by a negative or too large count,
   * which x86 executes with the count taken mod 64 (the 64-bit mask) and mod 32 (the int32 shift).
   * LiteRT's outputs for such quotients depend on it, so it is reproduced here explicitly. */
  const int32_t hm = er_sat_rounding_doubling_high_mul(unscaled, p->out_mult);
  const int e = -total_shift;
  const int32_t mask = (int32_t)(uint32_t)((((uint64_t)1) << ((unsigned)e & 63u)) - 1u);
  const int32_t remainder = hm & mask;
  const int32_t threshold = (mask >> 1) + (hm < 0 ? 1 : 0);
  return p->out_offset + (hm >> ((unsigned)e & 31u)) + (remainder > threshold ? 1 : 0);
}

static inline int32_t floor_div_i(int32_t a, int32_t b) {
  int32_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) q -= 1;
  return q;
}

static inline int32_t floor_mod_i(int32_t a, int32_t b) {
  int32_t m = a % b;
  if (m != 0 && ((b < 0) != (m < 0))) m += b;
  return m;
}

/* One output element. Returns ER_OK or ER_ERR_ARITH (division by zero). */
static inline int q_binary_elem(int op, const er_q_binary_params *p, int32_t a, int32_t b, int32_t *out) {
  switch (op) {
    case ER_QB_ADD:
    case ER_QB_SUB: {
      const int32_t x = rescale_in(a, p->in1_offset, p->left_shift, p->in1_mult, p->in1_shift);
      const int32_t y = rescale_in(b, p->in2_offset, p->left_shift, p->in2_mult, p->in2_shift);
      const int32_t s = op == ER_QB_ADD ? er_wrap_add32(x, y) : er_wrap_sub32(x, y);
      *out = clamp_out(er_mul_by_quantized_multiplier_lt1(s, p->out_mult, p->out_shift) + p->out_offset, p);
      return ER_OK;
    }
    case ER_QB_SQDIFF: {
      const int32_t x = rescale_in(a, p->in1_offset, p->left_shift, p->in1_mult, p->in1_shift);
      const int32_t y = rescale_in(b, p->in2_offset, p->left_shift, p->in2_mult, p->in2_shift);
      const int32_t d = er_wrap_sub32(x, y);
      const int32_t sq = (int32_t)((uint32_t)d * (uint32_t)d);
      *out = clamp_out(er_mul_by_quantized_multiplier_lt1(sq, p->out_mult, p->out_shift) + p->out_offset, p);
      return ER_OK;
    }
    case ER_QB_MUL: {
      const int32_t prod = (a + p->in1_offset) * (b + p->in2_offset); /* |.| <= 65536 * 65536 / 4 fits */
      *out = clamp_out(p->out_offset + er_mul_by_quantized_multiplier(prod, p->out_mult, p->out_shift), p);
      return ER_OK;
    }
    case ER_QB_DIV:
      if (b + p->in2_offset == 0) return ER_ERR_ARITH;
      *out = clamp_out(q_div(a, b, p), p);
      return ER_OK;
    case ER_QB_MAX: *out = a > b ? a : b; return ER_OK;
    case ER_QB_MIN: *out = a < b ? a : b; return ER_OK;
    case ER_QB_PRELU: {
      const int32_t x = a + p->in1_offset;
      int32_t v;
      if (x >= 0) {
        v = er_mul_by_quantized_multiplier(x, p->in1_mult, p->in1_shift);
      } else {
        v = er_mul_by_quantized_multiplier(x * (b + p->in2_offset), p->out_mult, p->out_shift);
      }
      *out = clamp_out(v + p->out_offset, p);
      return ER_OK;
    }
    case ER_QB_ADD_POT16:
    case ER_QB_SUB_POT16: {
      /* in1_shift/in2_shift <= 0 are right shifts of the inputs onto the output scale */
      const int32_t x = er_rounding_divide_by_pot(a, -p->in1_shift);
      const int32_t y = er_rounding_divide_by_pot(b, -p->in2_shift);
      int32_t r;
      if (op == ER_QB_ADD_POT16) {
        r = er_sat16(x + y); /* gemmlowp SaturatingAdd on int16 */
      } else {
        r = x - y;
      }
      *out = clamp_out(r, p);
      return ER_OK;
    }
    case ER_QB_FLOOR_DIV:
      if (b == 0) return ER_ERR_ARITH;
      *out = floor_div_i(a, b);
      return ER_OK;
    case ER_QB_FLOOR_MOD:
      if (b == 0) return ER_ERR_ARITH;
      *out = floor_mod_i(a, b);
      return ER_OK;
    default: return ER_ERR_UNSUPPORTED;
  }
}

/* One output row: the op is a constant in each case so the element function specializes. */
#define Q_ROW_CASE(T, OPC)                                                                              \
  case OPC:                                                                                             \
    for (int64_t i = 0; i < n; ++i) {                                                                   \
      int32_t r;                                                                                        \
      if (q_binary_elem(OPC, p, a[i * sa], b[i * sb], &r)) return ER_ERR_ARITH;                         \
      y[i] = (T)r;                                                                                      \
    }                                                                                                   \
    return ER_OK;

#define DEFINE_Q_ROW(NAME, T)                                                                           \
  static int NAME(const er_q_binary_params *p, const T *a, int64_t sa, const T *b, int64_t sb, T *y,     \
                  int64_t n) {                                                                          \
    switch (p->op) {                                                                                    \
      Q_ROW_CASE(T, ER_QB_ADD)                                                                          \
      Q_ROW_CASE(T, ER_QB_SUB)                                                                          \
      Q_ROW_CASE(T, ER_QB_MUL)                                                                          \
      Q_ROW_CASE(T, ER_QB_DIV)                                                                          \
      Q_ROW_CASE(T, ER_QB_SQDIFF)                                                                       \
      Q_ROW_CASE(T, ER_QB_MAX)                                                                          \
      Q_ROW_CASE(T, ER_QB_MIN)                                                                          \
      Q_ROW_CASE(T, ER_QB_PRELU)                                                                        \
      Q_ROW_CASE(T, ER_QB_ADD_POT16)                                                                    \
      Q_ROW_CASE(T, ER_QB_SUB_POT16)                                                                    \
      Q_ROW_CASE(T, ER_QB_FLOOR_DIV)                                                                    \
      Q_ROW_CASE(T, ER_QB_FLOOR_MOD)                                                                    \
      default: return ER_ERR_UNSUPPORTED;                                                               \
    }                                                                                                   \
  }

DEFINE_Q_ROW(q_row_s8, int8_t)
DEFINE_Q_ROW(q_row_u8, uint8_t)
DEFINE_Q_ROW(q_row_s16, int16_t)

int er_q_binary(const er_op *op) {
  const er_q_binary_params *p = (const er_q_binary_params *)op->params;
  const er_tensor *ts[2] = {op->in[0], op->in[1]};
  er_tensor *y = op->out[0];
  if (!p || !q_type_ok(ts[0]->type) || y->type != ts[0]->type) return ER_ERR_UNSUPPORTED;
  /* all three types equal, except int16 PRELU whose alpha is int8 (as TFLite) */
  const int mixed_prelu = p->op == ER_QB_PRELU && ts[0]->type == ER_INT16 && ts[1]->type == ER_INT8;
  if (ts[1]->type != ts[0]->type && !mixed_prelu) return ER_ERR_UNSUPPORTED;
  er_bcast bc;
  if (er_bcast_init(&bc, y, ts, 2)) return ER_ERR_SHAPE;
  const int32_t t = y->type;
  const int64_t sa = bc.st[0][bc.n - 1], sb = bc.st[1][bc.n - 1];
  int64_t idx[ER_MAX_DIMS] = {0}, off[2] = {0, 0};
  for (int64_t o = 0; o < bc.outer; ++o) {
    const int64_t base = o * bc.inner;
    int s = ER_OK;
    if (mixed_prelu) {
      const int16_t *a = (const int16_t *)ts[0]->data + off[0];
      const int8_t *b = (const int8_t *)ts[1]->data + off[1];
      int16_t *yy = (int16_t *)y->data + base;
      for (int64_t i = 0; i < bc.inner; ++i) {
        int32_t r;
        q_binary_elem(ER_QB_PRELU, p, a[i * sa], b[i * sb], &r);
        yy[i] = (int16_t)r;
      }
    } else if (t == ER_INT8)
      s = q_row_s8(p, (const int8_t *)ts[0]->data + off[0], sa, (const int8_t *)ts[1]->data + off[1], sb,
                   (int8_t *)y->data + base, bc.inner);
    else if (t == ER_UINT8)
      s = q_row_u8(p, (const uint8_t *)ts[0]->data + off[0], sa, (const uint8_t *)ts[1]->data + off[1], sb,
                   (uint8_t *)y->data + base, bc.inner);
    else
      s = q_row_s16(p, (const int16_t *)ts[0]->data + off[0], sa, (const int16_t *)ts[1]->data + off[1], sb,
                    (int16_t *)y->data + base, bc.inner);
    if (s) return s;
    er_bcast_next(&bc, idx, off, 2);
  }
  return ER_OK;
}

static inline bool cmp_i32(int32_t op, int32_t u, int32_t v) {
  switch (op) {
    case ER_QB_LESS: return u < v;
    case ER_QB_LESS_EQUAL: return u <= v;
    case ER_QB_GREATER: return u > v;
    case ER_QB_GREATER_EQUAL: return u >= v;
    case ER_QB_EQUAL: return u == v;
    default: return u != v;
  }
}

/* Comparisons of quantized tensors: with `rescale`, both sides become
 * MultiplyByQuantizedMultiplierSmallerThanOneExp((x - zero_point) << left_shift, scale) before comparing. */
int er_q_compare(const er_op *op) {
  const er_q_binary_params *p = (const er_q_binary_params *)op->params;
  const er_tensor *ts[2] = {op->in[0], op->in[1]};
  er_tensor *y = op->out[0];
  if (!p || !q_type_ok(ts[0]->type) || !q_type_ok(ts[1]->type) || y->type != ER_BOOL) return ER_ERR_UNSUPPORTED;
  if (p->op < ER_QB_LESS || p->op > ER_QB_NOT_EQUAL) return ER_ERR_UNSUPPORTED;
  er_bcast bc;
  if (er_bcast_init(&bc, y, ts, 2)) return ER_ERR_SHAPE;
  const int32_t ta = ts[0]->type, tb = ts[1]->type;
  const int64_t sa = bc.st[0][bc.n - 1], sb = bc.st[1][bc.n - 1];
  bool *out = (bool *)y->data;
  int64_t idx[ER_MAX_DIMS] = {0}, off[2] = {0, 0};
  for (int64_t o = 0; o < bc.outer; ++o) {
    bool *row = out + o * bc.inner;
    for (int64_t i = 0; i < bc.inner; ++i) {
      int32_t a = load_q(ts[0]->data, ta, off[0] + i * sa), b = load_q(ts[1]->data, tb, off[1] + i * sb);
      if (p->rescale) {
        a = rescale_in(a, p->in1_offset, p->left_shift, p->in1_mult, p->in1_shift);
        b = rescale_in(b, p->in2_offset, p->left_shift, p->in2_mult, p->in2_shift);
      }
      row[i] = cmp_i32(p->op, a, b);
    }
    er_bcast_next(&bc, idx, off, 2);
  }
  return ER_OK;
}
