/* float16 elementwise kernels, as LiteRT 2.3's builtin kernels compute them (pinned by probes on every half
 * value, tests/runtime/test_f16_elementwise.py): each Eigen::half operation rounds its float32 result to
 * half, nearest-even, so multi-step formulas (LOGISTIC, GELU) round after every step; ADD/MUL clamp the
 * rounded half to the fused activation's range (NONE: +-65504, so overflow saturates); MAXIMUM/MINIMUM and
 * NEG move half bits (NaN payloads kept); comparisons are exact. SIN/COS/TANH/ATAN2/GELU/SOFTMAX call the C
 * library's float functions, so a libm other than glibc's may differ by one half ulp. Also CAST to and from
 * float16, and NEG of int64. */
#include <math.h>
#include <stdbool.h>

#include "broadcast.h"
#include "edgerun/edgerun.h"
#include "half.h"

#define H2F er_f16_to_f32
#define F2H er_f32_to_f16

static int is_f16(const er_tensor *t) { return t->type == ER_FLOAT16 && t->bytes == t->count * 2; }
static inline float hround(float v) { return H2F(F2H(v)); } /* one Eigen::half step */
static inline int hnan(uint16_t h) { return (h & 0x7fffu) > 0x7c00u; }

/* A NaN result of a unary op: the input's sign when the input is NaN, else the x86 default NaN. */
static inline uint16_t out1(float r, uint16_t x) {
  if (r != r) return hnan(x) ? (uint16_t)((x & 0x8000u) | 0x7e00u) : 0xfe00u;
  return F2H(r);
}

/* TFLite's RoundToNearest: ties to even by the parity of the floor; -0.5 < x < 0 gives +0. */
static float round_tfl(float v) {
  const float fl = floorf(v), diff = v - fl;
  if (diff < 0.5f || (diff == 0.5f && fmodf(fl, 2.0f) == 0.0f)) return fl;
  return fl + 1.0f;
}

int er_f16_binary(const er_op *op) {
  const er_binary_params *p = (const er_binary_params *)op->params;
  const er_tensor *ts[2] = {op->in[0], op->in[1]};
  er_tensor *y = op->out[0];
  er_bcast bc;
  if (!is_f16(ts[0]) || !is_f16(ts[1]) || !is_f16(y)) return ER_ERR_UNSUPPORTED;
  if (er_bcast_init(&bc, y, ts, 2)) return ER_ERR_SHAPE;
  if (p->op != ER_BIN_ADD && p->op != ER_BIN_MUL && p->op != ER_BIN_MAX && p->op != ER_BIN_MIN)
    return ER_ERR_UNSUPPORTED;
  const uint16_t *a = (const uint16_t *)ts[0]->data, *b = (const uint16_t *)ts[1]->data;
  uint16_t *out = (uint16_t *)y->data;
  const uint16_t lo = F2H(p->act_min), hi = F2H(p->act_max);
  const float flo = H2F(lo), fhi = H2F(hi);
  int64_t idx[ER_MAX_DIMS] = {0}, off[2] = {0, 0};
  for (int64_t o = 0; o < bc.outer; ++o) {
    const uint16_t *ar = a + off[0], *br = b + off[1];
    const int64_t sa = bc.st[0][bc.n - 1], sb = bc.st[1][bc.n - 1];
    uint16_t *yr = out + o * bc.inner;
    for (int64_t i = 0; i < bc.inner; ++i) {
      const uint16_t ha = ar[i * sa], hb = br[i * sb];
      const float u = H2F(ha), v = H2F(hb);
      if (p->op == ER_BIN_MAX) {
        yr[i] = u > v ? ha : hb;
      } else if (p->op == ER_BIN_MIN) {
        yr[i] = u < v ? ha : hb;
      } else {
        const float r = p->op == ER_BIN_ADD ? u + v : u * v;
        uint16_t h = r != r ? er_f16_nan2(ha, hb) : F2H(r);
        const float hv = H2F(h);
        if (hv < flo) h = lo; /* NaN and -0 pass, as std::max/min */
        if (hv > fhi) h = hi;
        yr[i] = h;
      }
    }
    er_bcast_next(&bc, idx, off, 2);
  }
  return ER_OK;
}

/* ATAN2 of two float16 tensors of one shape (LiteRT does not broadcast it). */
int er_f16_atan2(const er_op *op) {
  const er_tensor *a = op->in[0], *b = op->in[1];
  er_tensor *y = op->out[0];
  if (!is_f16(a) || !is_f16(b) || !is_f16(y)) return ER_ERR_UNSUPPORTED;
  if (a->count != y->count || b->count != y->count) return ER_ERR_SHAPE;
  const uint16_t *ad = (const uint16_t *)a->data, *bd = (const uint16_t *)b->data;
  uint16_t *yd = (uint16_t *)y->data;
  for (int64_t i = 0; i < y->count; ++i) {
    const float r = atan2f(H2F(ad[i]), H2F(bd[i]));
    yd[i] = r != r ? er_f16_nan2(ad[i], bd[i]) : F2H(r);
  }
  return ER_OK;
}

int er_f16_compare(const er_op *op) {
  const er_binary_params *p = (const er_binary_params *)op->params;
  const er_tensor *ts[2] = {op->in[0], op->in[1]};
  er_tensor *y = op->out[0];
  er_bcast bc;
  if (!is_f16(ts[0]) || !is_f16(ts[1]) || y->type != ER_BOOL) return ER_ERR_UNSUPPORTED;
  if (er_bcast_init(&bc, y, ts, 2)) return ER_ERR_SHAPE;
  if (p->op < ER_BIN_LESS || p->op > ER_BIN_NOT_EQUAL) return ER_ERR_UNSUPPORTED;
  const uint16_t *a = (const uint16_t *)ts[0]->data, *b = (const uint16_t *)ts[1]->data;
  bool *out = (bool *)y->data;
  int64_t idx[ER_MAX_DIMS] = {0}, off[2] = {0, 0};
  for (int64_t o = 0; o < bc.outer; ++o) {
    const int64_t sa = bc.st[0][bc.n - 1], sb = bc.st[1][bc.n - 1];
    for (int64_t i = 0; i < bc.inner; ++i) {
      const float u = H2F(a[off[0] + i * sa]), v = H2F(b[off[1] + i * sb]);
      bool r;
      switch (p->op) {
        case ER_BIN_LESS: r = u < v; break;
        case ER_BIN_LESS_EQUAL: r = u <= v; break;
        case ER_BIN_GREATER: r = u > v; break;
        case ER_BIN_GREATER_EQUAL: r = u >= v; break;
        case ER_BIN_EQUAL: r = u == v; break;
        default: r = u != v; break;
      }
      out[o * bc.inner + i] = r;
    }
    er_bcast_next(&bc, idx, off, 2);
  }
  return ER_OK;
}

/* LOGISTIC as Eigen's generic logistic on halves: e = exp(x); e == inf ? 1 : e / (1 + e), each step rounded. */
static uint16_t logistic_h(uint16_t x) {
  const float e = hround(expf(H2F(x)));
  if (e == INFINITY) return 0x3c00u;
  return out1(e / hround(1.0f + e), x);
}

/* GELU as LiteRT's on halves: 0.5 * x * erfc(-x * M_SQRT1_2), each step rounded. */
static uint16_t gelu_h(uint16_t x) {
  const float v = H2F(x), c = hround(0.70710678118654752f);
  const float half_x = hround(0.5f * v), e = hround(erfcf(-hround(v * c)));
  return out1(half_x * e, x);
}

/* approximate GELU on halves: (x * 0.5) * (1 + tanh(k * (x + 0.044715 * (x * x * x)))), each step rounded. */
static uint16_t gelu_tanh_h(uint16_t x) {
  const float v = H2F(x), k = hround(0.7978845608028654f), c = hround(0.044715f);
  const float x3 = hround(hround(v * v) * v), inner = hround(k * hround(v + hround(c * x3)));
  const float t = hround(1.0f + hround(tanhf(inner)));
  return out1(hround(v * 0.5f) * t, x);
}

int er_f16_unary(const er_op *op) {
  const er_unary_params *p = (const er_unary_params *)op->params;
  const er_tensor *x = op->in[0];
  er_tensor *y = op->out[0];
  if (!is_f16(x) || !is_f16(y)) return ER_ERR_UNSUPPORTED;
  if (x->count != y->count) return ER_ERR_SHAPE;
  const uint16_t *xd = (const uint16_t *)x->data;
  uint16_t *yd = (uint16_t *)y->data;
  const int64_t n = y->count;
  int64_t i;
  switch (p->op) {
    case ER_UN_NEG: for (i = 0; i < n; ++i) yd[i] = (uint16_t)(xd[i] ^ 0x8000u); break;
    case ER_UN_FLOOR: for (i = 0; i < n; ++i) yd[i] = out1(floorf(H2F(xd[i])), xd[i]); break;
    case ER_UN_ROUND: for (i = 0; i < n; ++i) yd[i] = out1(round_tfl(H2F(xd[i])), xd[i]); break;
    case ER_UN_SIN: for (i = 0; i < n; ++i) yd[i] = out1(sinf(H2F(xd[i])), xd[i]); break;
    case ER_UN_COS: for (i = 0; i < n; ++i) yd[i] = out1(cosf(H2F(xd[i])), xd[i]); break;
    case ER_UN_TANH: for (i = 0; i < n; ++i) yd[i] = out1(tanhf(H2F(xd[i])), xd[i]); break;
    case ER_UN_LOGISTIC: for (i = 0; i < n; ++i) yd[i] = logistic_h(xd[i]); break;
    case ER_UN_GELU: for (i = 0; i < n; ++i) yd[i] = gelu_h(xd[i]); break;
    case ER_UN_GELU_TANH: for (i = 0; i < n; ++i) yd[i] = gelu_tanh_h(xd[i]); break;
    default: return ER_ERR_UNSUPPORTED;
  }
  return ER_OK;
}

/* SOFTMAX over the last dimension as LiteRT's float16 kernel: e = exp((x - max) * beta) in float32, stored
 * rounded to half, summed unrounded in input order; y = half(e) / sum, rounded. */
int er_f16_softmax(const er_op *op) {
  const er_softmax_params *p = (const er_softmax_params *)op->params;
  const er_tensor *x = op->in[0];
  er_tensor *y = op->out[0];
  if (!is_f16(x) || !is_f16(y) || p->log) return ER_ERR_UNSUPPORTED;
  const int64_t D = p->depth;
  if (D < 0 || p->rows < 0 || (D && p->rows > y->count / D) || p->rows * D != y->count || x->count != y->count)
    return ER_ERR_SHAPE;
  const uint16_t *xd = (const uint16_t *)x->data;
  uint16_t *yd = (uint16_t *)y->data;
  for (int64_t r = 0; r < p->rows; ++r) {
    const uint16_t *xr = xd + r * D;
    uint16_t *yr = yd + r * D;
    float mx = -INFINITY, sum = 0.0f;
    for (int64_t i = 0; i < D; ++i) mx = H2F(xr[i]) > mx ? H2F(xr[i]) : mx;
    for (int64_t i = 0; i < D; ++i) {
      const float e = expf((H2F(xr[i]) - mx) * p->beta);
      yr[i] = F2H(e); /* the output holds exp rounded to half; the sum takes it unrounded, in order */
      sum += e;
    }
    for (int64_t i = 0; i < D; ++i) yr[i] = F2H(H2F(yr[i]) / sum);
  }
  return ER_OK;
}

/* CAST from float16: to integers truncating, saturating, NaN to the type's maximum (as LiteRT). */
static int from_f16(const uint16_t *x, er_tensor *y) {
  const int64_t n = y->count;
  for (int64_t i = 0; i < n; ++i) {
    const float v = H2F(x[i]);
#define SAT(T, LO, HI) (v != v || v >= (float)(HI) ? (T)(HI) : v <= (float)(LO) ? (T)(LO) : (T)v)
    switch (y->type) {
      case ER_FLOAT16: ((uint16_t *)y->data)[i] = F2H(v); break; /* NaN payloads dropped, as LiteRT */
      case ER_FLOAT32: ((float *)y->data)[i] = v; break;
      case ER_FLOAT64: ((double *)y->data)[i] = v; break;
      case ER_COMPLEX64: ((float *)y->data)[2 * i] = v; ((float *)y->data)[2 * i + 1] = 0.0f; break;
      case ER_BOOL: ((bool *)y->data)[i] = v != 0.0f; break;
      case ER_INT8: ((int8_t *)y->data)[i] = SAT(int8_t, INT8_MIN, INT8_MAX); break;
      case ER_UINT8: ((uint8_t *)y->data)[i] = SAT(uint8_t, 0, UINT8_MAX); break;
      case ER_INT16: ((int16_t *)y->data)[i] = SAT(int16_t, INT16_MIN, INT16_MAX); break;
      case ER_UINT16: ((uint16_t *)y->data)[i] = SAT(uint16_t, 0, UINT16_MAX); break;
      case ER_INT32: ((int32_t *)y->data)[i] = SAT(int32_t, INT32_MIN, INT32_MAX); break;
      case ER_UINT32: ((uint32_t *)y->data)[i] = SAT(uint32_t, 0, UINT32_MAX); break;
      case ER_INT64: ((int64_t *)y->data)[i] = SAT(int64_t, INT64_MIN, INT64_MAX); break;
      case ER_UINT64: ((uint64_t *)y->data)[i] = SAT(uint64_t, 0, UINT64_MAX); break;
      default: return ER_ERR_UNSUPPORTED;
    }
#undef SAT
  }
  return ER_OK;
}

/* CAST to float16: through float32 (float64 too, as LiteRT: rounded twice); complex64 keeps the real part. */
static int to_f16(const er_tensor *x, uint16_t *y) {
  const int64_t n = x->count;
  for (int64_t i = 0; i < n; ++i) {
    float v;
    switch (x->type) {
      case ER_FLOAT32: v = ((const float *)x->data)[i]; break;
      case ER_FLOAT64: v = (float)((const double *)x->data)[i]; break;
      case ER_COMPLEX64: v = ((const float *)x->data)[2 * i]; break;
      case ER_BOOL: v = ((const uint8_t *)x->data)[i] != 0; break;
      case ER_INT8: v = ((const int8_t *)x->data)[i]; break;
      case ER_UINT8: v = ((const uint8_t *)x->data)[i]; break;
      case ER_INT16: v = ((const int16_t *)x->data)[i]; break;
      case ER_UINT16: v = ((const uint16_t *)x->data)[i]; break;
      case ER_INT32: v = (float)((const int32_t *)x->data)[i]; break;
      case ER_UINT32: v = (float)((const uint32_t *)x->data)[i]; break;
      case ER_INT64: v = (float)((const int64_t *)x->data)[i]; break;
      case ER_UINT64: v = (float)((const uint64_t *)x->data)[i]; break;
      default: return ER_ERR_UNSUPPORTED;
    }
    y[i] = F2H(v);
  }
  return ER_OK;
}

int er_f16_cast(const er_op *op) {
  const er_tensor *x = op->in[0];
  er_tensor *y = op->out[0];
  if (x->count != y->count) return ER_ERR_SHAPE;
  if (is_f16(x)) return from_f16((const uint16_t *)x->data, y);
  if (is_f16(y)) return to_f16(x, (uint16_t *)y->data);
  return ER_ERR_UNSUPPORTED;
}

/* int64 NEG, wrapping (INT64_MIN stays), computed unsigned (no UB). */
int er_i64_unary(const er_op *op) {
  const er_unary_params *p = (const er_unary_params *)op->params;
  const er_tensor *x = op->in[0];
  er_tensor *y = op->out[0];
  if (x->type != ER_INT64 || y->type != ER_INT64 || x->bytes != x->count * 8 || y->bytes != y->count * 8)
    return ER_ERR_UNSUPPORTED;
  if (x->count != y->count) return ER_ERR_SHAPE;
  if (p->op != ER_UN_NEG) return ER_ERR_UNSUPPORTED;
  const int64_t *xd = (const int64_t *)x->data;
  int64_t *yd = (int64_t *)y->data;
  for (int64_t i = 0; i < y->count; ++i) yd[i] = (int64_t)(0u - (uint64_t)xd[i]);
  return ER_OK;
}
