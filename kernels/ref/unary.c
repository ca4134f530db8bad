/* Unary elementwise kernels: float math and activations, int32 math, CAST between numeric types, SELECT with
 * broadcasting, and FILL. Float activations follow TFLite's float definitions. */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "broadcast.h"
#include "edgerun/edgerun.h"

static inline float relu_range(float x, float lo, float hi) { return x < lo ? lo : (x > hi ? hi : x); }

int er_f32_unary(const er_op *op) {
  const er_unary_params *p = (const er_unary_params *)op->params;
  const float *x = (const float *)op->in[0]->data;
  float *y = (float *)op->out[0]->data;
  const int64_t n = op->out[0]->count;
  if (op->in[0]->count != n) return ER_ERR_SHAPE;
  int64_t i;
  switch (p->op) {
    case ER_UN_ABS: for (i = 0; i < n; ++i) y[i] = fabsf(x[i]); break;
    case ER_UN_NEG: for (i = 0; i < n; ++i) y[i] = -x[i]; break;
    case ER_UN_SQRT: for (i = 0; i < n; ++i) y[i] = sqrtf(x[i]); break;
    case ER_UN_RSQRT: for (i = 0; i < n; ++i) y[i] = 1.0f / sqrtf(x[i]); break;
    case ER_UN_EXP: for (i = 0; i < n; ++i) y[i] = expf(x[i]); break;
    case ER_UN_LOG: for (i = 0; i < n; ++i) y[i] = logf(x[i]); break;
    case ER_UN_SIN: for (i = 0; i < n; ++i) y[i] = sinf(x[i]); break;
    case ER_UN_COS: for (i = 0; i < n; ++i) y[i] = cosf(x[i]); break;
    case ER_UN_SQUARE: for (i = 0; i < n; ++i) y[i] = x[i] * x[i]; break;
    case ER_UN_FLOOR: for (i = 0; i < n; ++i) y[i] = floorf(x[i]); break;
    case ER_UN_CEIL: for (i = 0; i < n; ++i) y[i] = ceilf(x[i]); break;
    case ER_UN_ROUND: for (i = 0; i < n; ++i) y[i] = nearbyintf(x[i]); break; /* half to even */
    case ER_UN_LOGISTIC: for (i = 0; i < n; ++i) y[i] = 1.0f / (1.0f + expf(-x[i])); break;
    case ER_UN_TANH: for (i = 0; i < n; ++i) y[i] = tanhf(x[i]); break;
    case ER_UN_RELU: for (i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f; break;
    case ER_UN_RELU6: for (i = 0; i < n; ++i) y[i] = relu_range(x[i], 0.0f, 6.0f); break;
    case ER_UN_RELU_N1_TO_1: for (i = 0; i < n; ++i) y[i] = relu_range(x[i], -1.0f, 1.0f); break;
    case ER_UN_RELU_0_TO_1: for (i = 0; i < n; ++i) y[i] = relu_range(x[i], 0.0f, 1.0f); break;
    case ER_UN_ELU: for (i = 0; i < n; ++i) y[i] = x[i] < 0.0f ? expm1f(x[i]) : x[i]; break;
    case ER_UN_HARD_SWISH:
      for (i = 0; i < n; ++i) y[i] = x[i] * relu_range(x[i] + 3.0f, 0.0f, 6.0f) / 6.0f;
      break;
    case ER_UN_GELU:
      for (i = 0; i < n; ++i) y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
      break;
    case ER_UN_GELU_TANH:
      for (i = 0; i < n; ++i) {
        float v = x[i];
        y[i] = 0.5f * v * (1.0f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
      }
      break;
    case ER_UN_LEAKY_RELU: for (i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : x[i] * p->alpha; break;
    case ER_UN_SIGN: for (i = 0; i < n; ++i) y[i] = (float)((x[i] > 0.0f) - (x[i] < 0.0f)); break;
    default: return ER_ERR_UNSUPPORTED;
  }
  return ER_OK;
}

int er_i32_unary(const er_op *op) {
  const er_unary_params *p = (const er_unary_params *)op->params;
  const int64_t n = op->out[0]->count;
  if (op->in[0]->count != n) return ER_ERR_SHAPE;
  if (op->in[0]->type == ER_BOOL) {
    if (p->op != ER_UN_LOGICAL_NOT) return ER_ERR_UNSUPPORTED;
    const uint8_t *x = (const uint8_t *)op->in[0]->data; /* BOOL bytes, any value */
    bool *y = (bool *)op->out[0]->data;
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] == 0;
    return ER_OK;
  }
  const int32_t *x = (const int32_t *)op->in[0]->data;
  int32_t *y = (int32_t *)op->out[0]->data;
  int64_t i;
  switch (p->op) {
    case ER_UN_ABS: for (i = 0; i < n; ++i) y[i] = x[i] == INT32_MIN ? INT32_MIN : (x[i] < 0 ? -x[i] : x[i]); break;
    case ER_UN_NEG: for (i = 0; i < n; ++i) y[i] = (int32_t)(0u - (uint32_t)x[i]); break;
    case ER_UN_SQUARE: for (i = 0; i < n; ++i) y[i] = (int32_t)((uint32_t)x[i] * (uint32_t)x[i]); break;
    case ER_UN_SIGN: for (i = 0; i < n; ++i) y[i] = (x[i] > 0) - (x[i] < 0); break;
    case ER_UN_RELU: for (i = 0; i < n; ++i) y[i] = x[i] > 0 ? x[i] : 0; break;
    default: return ER_ERR_UNSUPPORTED;
  }
  return ER_OK;
}

/* CAST: read any numeric type as double or int64, write any numeric type. Float -> int truncates toward
 * zero as C++ static_cast does (TFLite's cast); out-of-range values saturate instead of being UB. */
static inline int read_is_float(int32_t t) { return t == ER_FLOAT32 || t == ER_FLOAT64; }

static inline double read_f(const void *p, int32_t t, int64_t i) {
  switch (t) {
    case ER_FLOAT32: return ((const float *)p)[i];
    case ER_FLOAT64: return ((const double *)p)[i];
    default: return 0.0;
  }
}

static inline int64_t read_i(const void *p, int32_t t, int64_t i) {
  switch (t) {
    case ER_INT32: return ((const int32_t *)p)[i];
    case ER_INT64: return ((const int64_t *)p)[i];
    case ER_INT16: return ((const int16_t *)p)[i];
    case ER_INT8: return ((const int8_t *)p)[i];
    case ER_UINT8: return ((const uint8_t *)p)[i];
    case ER_UINT16: return ((const uint16_t *)p)[i];
    case ER_UINT32: return ((const uint32_t *)p)[i];
    case ER_BOOL: return ((const uint8_t *)p)[i] != 0;
    default: return 0;
  }
}

static inline int64_t sat_f2i(double v, double lo, double hi) {
  if (v != v) return 0;
  if (v <= lo) return (int64_t)lo;
  if (v >= hi) return (int64_t)hi;
  return (int64_t)v;
}

static int write_any(void *p, int32_t t, int64_t i, int is_f, double f, int64_t k) {
  switch (t) {
    case ER_FLOAT32: ((float *)p)[i] = is_f ? (float)f : (float)k; break;
    case ER_FLOAT64: ((double *)p)[i] = is_f ? f : (double)k; break;
    case ER_INT32: ((int32_t *)p)[i] = (int32_t)(is_f ? sat_f2i(f, -2147483648.0, 2147483647.0) : (int64_t)(uint32_t)k); break;
    case ER_INT64: ((int64_t *)p)[i] = is_f ? sat_f2i(f, -9223372036854775808.0, 9223372036854774784.0) : k; break;
    case ER_INT16: ((int16_t *)p)[i] = (int16_t)(is_f ? sat_f2i(f, -32768.0, 32767.0) : (int64_t)(uint16_t)k); break;
    case ER_INT8: ((int8_t *)p)[i] = (int8_t)(is_f ? sat_f2i(f, -128.0, 127.0) : (int64_t)(uint8_t)k); break;
    case ER_UINT8: ((uint8_t *)p)[i] = (uint8_t)(is_f ? sat_f2i(f, 0.0, 255.0) : k); break;
    case ER_UINT16: ((uint16_t *)p)[i] = (uint16_t)(is_f ? sat_f2i(f, 0.0, 65535.0) : k); break;
    case ER_UINT32: ((uint32_t *)p)[i] = (uint32_t)(is_f ? sat_f2i(f, 0.0, 4294967295.0) : k); break;
    case ER_BOOL: ((bool *)p)[i] = is_f ? (f != 0.0) : (k != 0); break;
    default: return ER_ERR_UNSUPPORTED;
  }
  return ER_OK;
}

int er_any_cast(const er_op *op) {
  const er_tensor *x = op->in[0];
  er_tensor *y = op->out[0];
  if (x->count != y->count) return ER_ERR_SHAPE;
  const int is_f = read_is_float(x->type);
  for (int64_t i = 0; i < y->count; ++i) {
    double f = is_f ? read_f(x->data, x->type, i) : 0.0;
    int64_t k = is_f ? 0 : read_i(x->data, x->type, i);
    int s = write_any(y->data, y->type, i, is_f, f, k);
    if (s) return s;
  }
  return ER_OK;
}

/* SELECT / SELECT_V2: out = cond ? x : y, broadcasting all three, any element size. */
int er_any_select(const er_op *op) {
  const er_tensor *ts[3] = {op->in[0], op->in[1], op->in[2]};
  er_tensor *y = op->out[0];
  er_bcast bc;
  if (er_bcast_init(&bc, y, ts, 3)) return ER_ERR_SHAPE;
  const size_t es = y->count ? (size_t)(y->bytes / y->count) : 1;
  const uint8_t *c = (const uint8_t *)ts[0]->data; /* BOOL bytes, any value */
  const char *a = (const char *)ts[1]->data, *b = (const char *)ts[2]->data;
  char *out = (char *)y->data;
  int64_t idx[ER_MAX_DIMS] = {0}, off[3] = {0, 0, 0};
  for (int64_t o = 0; o < bc.outer; ++o) {
    for (int64_t i = 0; i < bc.inner; ++i) {
      bool k = c[off[0] + i * bc.st[0][bc.n - 1]] != 0;
      const char *src = k ? a + (off[1] + i * bc.st[1][bc.n - 1]) * (int64_t)es
                          : b + (off[2] + i * bc.st[2][bc.n - 1]) * (int64_t)es;
      memcpy(out + (o * bc.inner + i) * (int64_t)es, src, es);
    }
    er_bcast_next(&bc, idx, off, 3);
  }
  return ER_OK;
}

/* FILL (and ZEROS_LIKE / ONES_LIKE with a prepared value): input 1 is a one-element value tensor. */
int er_any_fill(const er_op *op) {
  const er_tensor *v = op->in[1];
  er_tensor *y = op->out[0];
  if (v->count != 1) return ER_ERR_SHAPE;
  const size_t es = (size_t)v->bytes;
  if (y->count && (size_t)(y->bytes / y->count) != es) return ER_ERR_PARAMS;
  for (int64_t i = 0; i < y->count; ++i) memcpy((char *)y->data + i * (int64_t)es, v->data, es);
  return ER_OK;
}
