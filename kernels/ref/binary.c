/* Binary elementwise kernels with numpy broadcasting: arithmetic on float32 / int32 / int64 with fused
 * activation clamps, comparisons on any numeric type (writing bool), and logical AND/OR on bool.
 * Integer arithmetic wraps like TFLite's builds do in practice, computed in unsigned types (no UB). */
#include <math.h>
#include <stdbool.h>

#include "broadcast.h"
#include "edgerun/edgerun.h"

static inline float clampf(float x, float lo, float hi) { return x < lo ? lo : (x > hi ? hi : x); }

static void f32_row(int op, const float *a, int64_t sa, const float *b, int64_t sb, float *y, int64_t n,
                    float lo, float hi) {
  int64_t i;
  switch (op) {
    case ER_BIN_ADD: for (i = 0; i < n; ++i) y[i] = clampf(a[i * sa] + b[i * sb], lo, hi); break;
    case ER_BIN_SUB: for (i = 0; i < n; ++i) y[i] = clampf(a[i * sa] - b[i * sb], lo, hi); break;
    case ER_BIN_MUL: for (i = 0; i < n; ++i) y[i] = clampf(a[i * sa] * b[i * sb], lo, hi); break;
    case ER_BIN_DIV: for (i = 0; i < n; ++i) y[i] = clampf(a[i * sa] / b[i * sb], lo, hi); break;
    case ER_BIN_MAX: for (i = 0; i < n; ++i) { float u = a[i * sa], v = b[i * sb]; y[i] = u > v ? u : v; } break;
    case ER_BIN_MIN: for (i = 0; i < n; ++i) { float u = a[i * sa], v = b[i * sb]; y[i] = u < v ? u : v; } break;
    case ER_BIN_SQDIFF: for (i = 0; i < n; ++i) { float d = a[i * sa] - b[i * sb]; y[i] = d * d; } break;
    case ER_BIN_POW: for (i = 0; i < n; ++i) y[i] = powf(a[i * sa], b[i * sb]); break;
    case ER_BIN_FLOORDIV: for (i = 0; i < n; ++i) y[i] = floorf(a[i * sa] / b[i * sb]); break;
    case ER_BIN_FLOORMOD:
      for (i = 0; i < n; ++i) {
        float u = a[i * sa], v = b[i * sb], m = fmodf(u, v);
        if (m != 0.0f && ((v < 0) != (m < 0))) m += v;
        y[i] = m;
      }
      break;
    case ER_BIN_PRELU: for (i = 0; i < n; ++i) { float u = a[i * sa]; y[i] = u >= 0 ? u : u * b[i * sb]; } break;
    default: break;
  }
}

int er_f32_binary(const er_op *op) {
  const er_binary_params *p = (const er_binary_params *)op->params;
  const er_tensor *ts[2] = {op->in[0], op->in[1]};
  er_tensor *y = op->out[0];
  er_bcast bc;
  if (er_bcast_init(&bc, y, ts, 2)) return ER_ERR_SHAPE;
  if (p->op > ER_BIN_PRELU) return ER_ERR_UNSUPPORTED;
  const float *a = (const float *)ts[0]->data, *b = (const float *)ts[1]->data;
  float *out = (float *)y->data;
  int64_t idx[ER_MAX_DIMS] = {0}, off[2] = {0, 0};
  for (int64_t o = 0; o < bc.outer; ++o) {
    f32_row(p->op, a + off[0], bc.st[0][bc.n - 1], b + off[1], bc.st[1][bc.n - 1], out + o * bc.inner, bc.inner,
            p->act_min, p->act_max);
    er_bcast_next(&bc, idx, off, 2);
  }
  return ER_OK;
}

/* Integer arithmetic: T is int32_t or int64_t, U its unsigned twin for wrapping add/sub/mul. */
#define DEFINE_INT_BINARY(NAME, T, U, TMIN)                                                               \
  static int NAME##_row(int op, const T *a, int64_t sa, const T *b, int64_t sb, T *y, int64_t n, T lo, T hi) { \
    for (int64_t i = 0; i < n; ++i) {                                                                     \
      T u = a[i * sa], v = b[i * sb], r;                                                                  \
      switch (op) {                                                                                       \
        case ER_BIN_ADD: r = (T)((U)u + (U)v); break;                                                     \
        case ER_BIN_SUB: r = (T)((U)u - (U)v); break;                                                     \
        case ER_BIN_MUL: r = (T)((U)u * (U)v); break;                                                     \
        case ER_BIN_DIV:                                                                                  \
          if (v == 0) return ER_ERR_ARITH;                                                                \
          r = (u == TMIN && v == -1) ? TMIN : u / v;                                                      \
          break;                                                                                          \
        case ER_BIN_MAX: r = u > v ? u : v; break;                                                        \
        case ER_BIN_MIN: r = u < v ? u : v; break;                                                        \
        case ER_BIN_SQDIFF: { U d = (U)u - (U)v; r = (T)(d * d); } break;                                 \
        case ER_BIN_POW: {                                                                                \
          if (v < 0) return ER_ERR_ARITH;                                                                 \
          U acc = 1, base = (U)u; T e = v;                                                                \
          while (e) { if (e & 1) acc *= base; base *= base; e >>= 1; }                                   \
          r = (T)acc;                                                                                     \
        } break;                                                                                          \
        case ER_BIN_FLOORDIV: {                                                                           \
          if (v == 0) return ER_ERR_ARITH;                                                                \
          if (u == TMIN && v == -1) { r = TMIN; break; }                                                  \
          T q = u / v;                                                                                    \
          if ((u % v != 0) && ((u < 0) != (v < 0))) q -= 1;                                              \
          r = q;                                                                                          \
        } break;                                                                                          \
        case ER_BIN_FLOORMOD: {                                                                           \
          if (v == 0) return ER_ERR_ARITH;                                                                \
          if (v == -1) { r = 0; break; }                                                                  \
          T m = u % v;                                                                                    \
          if (m != 0 && ((v < 0) != (m < 0))) m += v;                                                    \
          r = m;                                                                                          \
        } break;                                                                                          \
        case ER_BIN_PRELU: r = u >= 0 ? u : (T)((U)u * (U)v); break;                                      \
        default: return ER_ERR_UNSUPPORTED;                                                               \
      }                                                                                                   \
      y[i] = r < lo ? lo : (r > hi ? hi : r);                                                             \
    }                                                                                                     \
    return ER_OK;                                                                                         \
  }                                                                                                       \
  int er_##NAME##_binary(const er_op *op) {                                                               \
    const er_binary_params *p = (const er_binary_params *)op->params;                                     \
    const er_tensor *ts[2] = {op->in[0], op->in[1]};                                                      \
    er_tensor *y = op->out[0];                                                                            \
    er_bcast bc;                                                                                          \
    if (er_bcast_init(&bc, y, ts, 2)) return ER_ERR_SHAPE;                                                \
    const T *a = (const T *)ts[0]->data, *b = (const T *)ts[1]->data;                                     \
    T *out = (T *)y->data;                                                                                \
    T lo = (T)p->iact_min, hi = (T)p->iact_max;                                                           \
    if (p->iact_min == INT32_MIN) lo = TMIN;                                                              \
    if (p->iact_max == INT32_MAX) hi = (T)(-(TMIN + 1));                                                  \
    int64_t idx[ER_MAX_DIMS] = {0}, off[2] = {0, 0};                                                      \
    for (int64_t o = 0; o < bc.outer; ++o) {                                                              \
      int s = NAME##_row(p->op, a + off[0], bc.st[0][bc.n - 1], b + off[1], bc.st[1][bc.n - 1],           \
                         out + o * bc.inner, bc.inner, lo, hi);                                           \
      if (s) return s;                                                                                    \
      er_bcast_next(&bc, idx, off, 2);                                                                    \
    }                                                                                                     \
    return ER_OK;                                                                                         \
  }

DEFINE_INT_BINARY(i32, int32_t, uint32_t, INT32_MIN)
DEFINE_INT_BINARY(i64, int64_t, uint64_t, INT64_MIN)
/* int16 arithmetic is done in uint32 (uint16 would promote to int, where a product can overflow). */
DEFINE_INT_BINARY(i16, int16_t, uint32_t, INT16_MIN)

/* Comparisons: any numeric input type (both inputs the same type), bool output. */
#define CMP_LOOP(T)                                                                                       \
  for (int64_t o = 0; o < bc.outer; ++o) {                                                                \
    const T *a = (const T *)ts[0]->data + off[0], *b = (const T *)ts[1]->data + off[1];                   \
    bool *yy = out + o * bc.inner;                                                                        \
    int64_t sa = bc.st[0][bc.n - 1], sb = bc.st[1][bc.n - 1];                                             \
    for (int64_t i = 0; i < bc.inner; ++i) {                                                              \
      T u = a[i * sa], v = b[i * sb];                                                                     \
      bool r = false;                                                                                     \
      switch (p->op) {                                                                                    \
        case ER_BIN_LESS: r = u < v; break;                                                               \
        case ER_BIN_LESS_EQUAL: r = u <= v; break;                                                        \
        case ER_BIN_GREATER: r = u > v; break;                                                            \
        case ER_BIN_GREATER_EQUAL: r = u >= v; break;                                                     \
        case ER_BIN_EQUAL: r = u == v; break;                                                             \
        case ER_BIN_NOT_EQUAL: r = u != v; break;                                                         \
        default: break;                                                                                   \
      }                                                                                                   \
      yy[i] = r;                                                                                          \
    }                                                                                                     \
    er_bcast_next(&bc, idx, off, 2);                                                                      \
  }

int er_any_compare(const er_op *op) {
  const er_binary_params *p = (const er_binary_params *)op->params;
  const er_tensor *ts[2] = {op->in[0], op->in[1]};
  er_tensor *y = op->out[0];
  er_bcast bc;
  if (er_bcast_init(&bc, y, ts, 2)) return ER_ERR_SHAPE;
  if (p->op < ER_BIN_LESS || p->op > ER_BIN_NOT_EQUAL) return ER_ERR_UNSUPPORTED;
  bool *out = (bool *)y->data;
  int64_t idx[ER_MAX_DIMS] = {0}, off[2] = {0, 0};
  switch (ts[0]->type) {
    case ER_FLOAT32: CMP_LOOP(float) break;
    case ER_INT32: CMP_LOOP(int32_t) break;
    case ER_INT64: CMP_LOOP(int64_t) break;
    case ER_INT8: CMP_LOOP(int8_t) break;
    case ER_UINT8: CMP_LOOP(uint8_t) break;
    case ER_INT16: CMP_LOOP(int16_t) break;
    case ER_BOOL: CMP_LOOP(uint8_t) break; /* bytes: a BOOL tensor's byte need not be 0 or 1 */
    default: return ER_ERR_UNSUPPORTED;
  }
  return ER_OK;
}

int er_b8_logical(const er_op *op) {
  const er_binary_params *p = (const er_binary_params *)op->params;
  const er_tensor *ts[2] = {op->in[0], op->in[1]};
  er_tensor *y = op->out[0];
  er_bcast bc;
  if (er_bcast_init(&bc, y, ts, 2)) return ER_ERR_SHAPE;
  const uint8_t *a = (const uint8_t *)ts[0]->data, *b = (const uint8_t *)ts[1]->data; /* any byte: != 0 */
  bool *out = (bool *)y->data;
  int64_t idx[ER_MAX_DIMS] = {0}, off[2] = {0, 0};
  int and_ = p->op == ER_BIN_LOGICAL_AND;
  for (int64_t o = 0; o < bc.outer; ++o) {
    int64_t sa = bc.st[0][bc.n - 1], sb = bc.st[1][bc.n - 1];
    for (int64_t i = 0; i < bc.inner; ++i) {
      bool u = a[off[0] + i * sa] != 0, v = b[off[1] + i * sb] != 0;
      out[o * bc.inner + i] = and_ ? (u && v) : (u || v);
    }
    er_bcast_next(&bc, idx, off, 2);
  }
  return ER_OK;
}
