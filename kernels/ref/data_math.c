/* Math kernels of the data family: CUMSUM, ADD_N, BUCKETIZE, ATAN2, BITWISE_XOR, RIGHT_SHIFT, REAL, IMAG and
 * COMPLEX_ABS, as LiteRT's builtin kernels define them. Integer sums wrap (unsigned arithmetic), as the
 * two's-complement hardware LiteRT runs on does. */
#include <math.h>
#include <string.h>

#include "broadcast.h"
#include "edgerun/edgerun.h"

/* a * b for non-negative sizes, or -1 (which no byte count equals) when either is negative or it overflows */
static inline int64_t cmul(int64_t a, int64_t b) {
  if (a < 0 || b < 0 || (a != 0 && b > INT64_MAX / a)) return -1;
  return a * b;
}

/* ---- CUMSUM --------------------------------------------------------------------------------------- */
#define CUMSUM_BODY(T, U)                                                                              \
  const er_scan_params *p = (const er_scan_params *)op->params;                                        \
  if (p == NULL || p->outer < 0 || p->n < 0 || p->inner < 0) return ER_ERR_PARAMS;                    \
  const er_tensor *x = op->in[0];                                                                      \
  er_tensor *y = op->out[0];                                                                           \
  const int64_t total = cmul(cmul(p->outer, p->n), p->inner);                                          \
  if (x->bytes != cmul(total, (int64_t)sizeof(T)) || y->bytes != x->bytes) return ER_ERR_SHAPE;       \
  const T *in = (const T *)x->data;                                                                    \
  T *out = (T *)y->data;                                                                               \
  for (int64_t o = 0; o < p->outer; o++)                                                               \
    for (int64_t i = 0; i < p->inner; i++) {                                                           \
      U acc = 0;                                                                                       \
      for (int64_t s = 0; s < p->n; s++) {                                                             \
        const int64_t k = p->reverse ? p->n - 1 - s : s;                                               \
        const int64_t at = (o * p->n + k) * p->inner + i;                                              \
        const T v = in[at];                                                                            \
        if (p->exclusive) {                                                                            \
          out[at] = (T)acc;                                                                            \
          acc += (U)v;                                                                                 \
        } else {                                                                                       \
          acc += (U)v;                                                                                 \
          out[at] = (T)acc;                                                                            \
        }                                                                                              \
      }                                                                                                \
    }                                                                                                  \
  return ER_OK;

int er_f32_cumsum(const er_op *op) { CUMSUM_BODY(float, float) }
int er_i32_cumsum(const er_op *op) { CUMSUM_BODY(int32_t, uint32_t) }
int er_i64_cumsum(const er_op *op) { CUMSUM_BODY(int64_t, uint64_t) }

/* ---- ADD_N ---------------------------------------------------------------------------------------- */
#define ADD_N_BODY(T, U)                                                                               \
  er_tensor *y = op->out[0];                                                                           \
  const int64_t n = y->count;                                                                          \
  if (op->n_in < 1 || y->bytes != n * (int64_t)sizeof(T)) return ER_ERR_SHAPE;                        \
  for (int j = 0; j < op->n_in; j++)                                                                   \
    if (op->in[j] == NULL || op->in[j]->bytes != y->bytes) return ER_ERR_SHAPE;                        \
  T *out = (T *)y->data;                                                                               \
  for (int64_t i = 0; i < n; i++) {                                                                    \
    U acc = (U)((const T *)op->in[0]->data)[i];                                                        \
    for (int j = 1; j < op->n_in; j++) acc += (U)((const T *)op->in[j]->data)[i];                      \
    out[i] = (T)acc;                                                                                   \
  }                                                                                                    \
  return ER_OK;

int er_f32_add_n(const er_op *op) { ADD_N_BODY(float, float) }
int er_i32_add_n(const er_op *op) { ADD_N_BODY(int32_t, uint32_t) }

/* ---- BUCKETIZE ------------------------------------------------------------------------------------ */
/* upper_bound: the first boundary b with x < b; C++ compares `T < float` in the usual arithmetic
 * conversions (int32/int64 -> float, double stays double). */
#define BUCKETIZE_BODY(T, CMP_T)                                                                       \
  const er_bucketize_params *p = (const er_bucketize_params *)op->params;                              \
  if (p == NULL || p->n_bounds < 0 || p->n_bounds > INT32_MAX) return ER_ERR_PARAMS;                  \
  const er_tensor *x = op->in[0];                                                                      \
  er_tensor *y = op->out[0];                                                                           \
  if (x->bytes != x->count * (int64_t)sizeof(T) || y->bytes != x->count * 4) return ER_ERR_SHAPE;     \
  const T *in = (const T *)x->data;                                                                    \
  int32_t *out = (int32_t *)y->data;                                                                   \
  for (int64_t i = 0; i < x->count; i++) {                                                             \
    const CMP_T v = (CMP_T)in[i];                                                                      \
    int64_t lo = 0, hi = p->n_bounds;                                                                  \
    while (lo < hi) {                                                                                  \
      const int64_t mid = lo + (hi - lo) / 2;                                                          \
      if (v < (CMP_T)p->bounds[mid]) hi = mid;                                                         \
      else lo = mid + 1;                                                                               \
    }                                                                                                  \
    out[i] = (int32_t)lo;                                                                              \
  }                                                                                                    \
  return ER_OK;

int er_f32_bucketize(const er_op *op) { BUCKETIZE_BODY(float, float) }
int er_f64_bucketize(const er_op *op) { BUCKETIZE_BODY(double, double) }
int er_i32_bucketize(const er_op *op) { BUCKETIZE_BODY(int32_t, float) }
int er_i64_bucketize(const er_op *op) { BUCKETIZE_BODY(int64_t, float) }

/* ---- ATAN2 ---------------------------------------------------------------------------------------- */
int er_f32_atan2(const er_op *op) {
  const er_tensor *a = op->in[0], *b = op->in[1];
  er_tensor *y = op->out[0];
  const int64_t n = y->count;
  if (a->bytes != n * 4 || b->bytes != n * 4 || y->bytes != n * 4) return ER_ERR_SHAPE;
  for (int64_t i = 0; i < n; i++) ((float *)y->data)[i] = atan2f(((const float *)a->data)[i], ((const float *)b->data)[i]);
  return ER_OK;
}

int er_f64_atan2(const er_op *op) {
  const er_tensor *a = op->in[0], *b = op->in[1];
  er_tensor *y = op->out[0];
  const int64_t n = y->count;
  if (a->bytes != n * 8 || b->bytes != n * 8 || y->bytes != n * 8) return ER_ERR_SHAPE;
  for (int64_t i = 0; i < n; i++) ((double *)y->data)[i] = atan2(((const double *)a->data)[i], ((const double *)b->data)[i]);
  return ER_OK;
}

/* ---- BITWISE_XOR, RIGHT_SHIFT (broadcasting) ------------------------------------------------------ */
/* TFLite's RightShift: the shift is clamped to [0, bits - 1]; signed values shift arithmetically. */
#define SHIFT(T, BITS, NEG)                                                                            \
  static inline T shr_##T(T x, T s) {                                                                  \
    const int64_t k = NEG ? 0 : ((int64_t)s > BITS - 1 ? BITS - 1 : (int64_t)s);                       \
    return (T)(x >> k);                                                                                \
  }
SHIFT(int8_t, 8, s < 0)
SHIFT(uint8_t, 8, 0)
SHIFT(int16_t, 16, s < 0)
SHIFT(uint16_t, 16, 0)
SHIFT(int32_t, 32, s < 0)
SHIFT(uint32_t, 32, 0)
#define XOR_OP(T, a, b) ((T)((a) ^ (b)))
#define SHR_OP(T, a, b) shr_##T((a), (b))

#define BINARY_INT_BODY(T, OP)                                                                         \
  const er_tensor *a = op->in[0], *b = op->in[1];                                                      \
  er_tensor *y = op->out[0];                                                                           \
  if (a->bytes != a->count * (int64_t)sizeof(T) || b->bytes != b->count * (int64_t)sizeof(T) ||       \
      y->bytes != y->count * (int64_t)sizeof(T))                                                       \
    return ER_ERR_SHAPE;                                                                               \
  er_bcast bc;                                                                                         \
  const er_tensor *ops[2] = {a, b};                                                                    \
  int st = er_bcast_init(&bc, y, ops, 2);                                                              \
  if (st != ER_OK) return st;                                                                          \
  const T *pa = (const T *)a->data, *pb = (const T *)b->data;                                          \
  T *out = (T *)y->data;                                                                               \
  int64_t idx[ER_MAX_DIMS] = {0}, off[2] = {0, 0};                                                     \
  for (int64_t r = 0; r < bc.outer; r++) {                                                             \
    for (int64_t i = 0; i < bc.inner; i++)                                                             \
      out[r * bc.inner + i] = OP(T, pa[off[0] + i * bc.st[0][bc.n - 1]], pb[off[1] + i * bc.st[1][bc.n - 1]]); \
    er_bcast_next(&bc, idx, off, 2);                                                                   \
  }                                                                                                    \
  return ER_OK;

int er_u8_bitwise_xor(const er_op *op) { BINARY_INT_BODY(uint8_t, XOR_OP) }
int er_u16_bitwise_xor(const er_op *op) { BINARY_INT_BODY(uint16_t, XOR_OP) }
int er_u32_bitwise_xor(const er_op *op) { BINARY_INT_BODY(uint32_t, XOR_OP) }
int er_s8_right_shift(const er_op *op) { BINARY_INT_BODY(int8_t, SHR_OP) }
int er_u8_right_shift(const er_op *op) { BINARY_INT_BODY(uint8_t, SHR_OP) }
int er_s16_right_shift(const er_op *op) { BINARY_INT_BODY(int16_t, SHR_OP) }
int er_u16_right_shift(const er_op *op) { BINARY_INT_BODY(uint16_t, SHR_OP) }
int er_i32_right_shift(const er_op *op) { BINARY_INT_BODY(int32_t, SHR_OP) }
int er_u32_right_shift(const er_op *op) { BINARY_INT_BODY(uint32_t, SHR_OP) }

/* ---- REAL, IMAG, COMPLEX_ABS ---------------------------------------------------------------------- */
int er_any_complex_part(const er_op *op) {
  const er_complex_part_params *p = (const er_complex_part_params *)op->params;
  if (p == NULL || (p->part != 0 && p->part != 1)) return ER_ERR_PARAMS;
  const er_tensor *x = op->in[0];
  er_tensor *y = op->out[0];
  const size_t half = x->type == ER_COMPLEX64 ? 4 : 8;
  if (x->type != ER_COMPLEX64 && x->type != 11 /* COMPLEX128 */) return ER_ERR_UNSUPPORTED;
  if (x->bytes != x->count * 2 * (int64_t)half || y->bytes != x->count * (int64_t)half) return ER_ERR_SHAPE;
  const unsigned char *src = (const unsigned char *)x->data + (p->part ? half : 0);
  unsigned char *dst = (unsigned char *)y->data;
  for (int64_t i = 0; i < x->count; i++) memcpy(dst + (size_t)i * half, src + (size_t)i * 2 * half, half);
  return ER_OK;
}

int er_f32_complex_abs(const er_op *op) {
  const er_tensor *x = op->in[0];
  er_tensor *y = op->out[0];
  if (x->bytes != x->count * 8 || y->bytes != x->count * 4) return ER_ERR_SHAPE;
  const float *in = (const float *)x->data;
  for (int64_t i = 0; i < x->count; i++) ((float *)y->data)[i] = hypotf(in[2 * i], in[2 * i + 1]);
  return ER_OK;
}

int er_f64_complex_abs(const er_op *op) {
  const er_tensor *x = op->in[0];
  er_tensor *y = op->out[0];
  if (x->bytes != x->count * 16 || y->bytes != x->count * 8) return ER_ERR_SHAPE;
  const double *in = (const double *)x->data;
  for (int64_t i = 0; i < x->count; i++) ((double *)y->data)[i] = hypot(in[2 * i], in[2 * i + 1]);
  return ER_OK;
}
