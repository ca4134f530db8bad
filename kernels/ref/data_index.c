/* Index kernels of the data family: ONE_HOT, TOPK_V2, SCATTER_ND, hybrid EMBEDDING_LOOKUP,
 * DYNAMIC_UPDATE_SLICE, segment reductions, SPARSE_TO_DENSE, MATRIX_DIAG, MATRIX_SET_DIAG, REVERSE_SEQUENCE
 * and BROADCAST_ARGS, as LiteRT's builtin kernels define them. Indices are data: their range is checked
 * here at run time (ER_ERR_INDEX) wherever LiteRT fails too. */
#include <float.h>
#include <stdbool.h>
#include <string.h>

#include "edgerun/edgerun.h"
#include "index_load.h"


static inline bool size_ok(int s) { return s == 1 || s == 2 || s == 4 || s == 8; }

/* a * b for non-negative sizes, or -1 (which no byte count equals) when either is negative or the product
 * overflows: plans reach the kernels with counts of up to 2^31 each, and their products are formed here. */
static inline int64_t cmul(int64_t a, int64_t b) {
  if (a < 0 || b < 0 || (a != 0 && b > INT64_MAX / a)) return -1;
  return a * b;
}

/* ---- ONE_HOT ------------------------------------------------------------------------------------- */
int er_any_one_hot(const er_op *op) {
  const er_one_hot_params *p = (const er_one_hot_params *)op->params;
  if (p == NULL || !size_ok(p->elem_size) || (p->idx_size != 4 && p->idx_size != 8)) return ER_ERR_PARAMS;
  if (p->outer < 0 || p->depth < 0 || p->inner < 0) return ER_ERR_PARAMS;
  const er_tensor *ix = op->in[0], *on = op->in[2], *off = op->in[3];
  er_tensor *y = op->out[0];
  const size_t es = (size_t)p->elem_size;
  if (ix->bytes != cmul(cmul(p->outer, p->inner), p->idx_size)) return ER_ERR_SHAPE;
  if (on->bytes < (int64_t)es || off->bytes < (int64_t)es) return ER_ERR_SHAPE;
  if (y->bytes != cmul(cmul(cmul(p->outer, p->depth), p->inner), (int64_t)es)) return ER_ERR_SHAPE;
  unsigned char *dst = (unsigned char *)y->data;
  for (int64_t i = 0; i < p->outer; i++)
    for (int64_t j = 0; j < p->depth; j++)
      for (int64_t k = 0; k < p->inner; k++, dst += es) {
        /* TFLite compares static_cast<int>(index) == j: int64 indices are truncated to 32 bits */
        const int32_t c = (int32_t)(uint32_t)(uint64_t)er_load_index(ix->data, i * p->inner + k, p->idx_size);
        memcpy(dst, c == j ? on->data : off->data, es);
      }
  return ER_OK;
}

/* ---- TOPK_V2 -------------------------------------------------------------------------------------- */
/* The k best positions of a row, kept sorted in pos[0..m): better = larger value, then lower index. Each
 * new position c is later than every kept one, so it goes after those with an equal value. */
#define TOPK_BODY(T)                                                                                   \
  const er_topk_params *p = (const er_topk_params *)op->params;                                        \
  if (p == NULL || (p->idx_size != 2 && p->idx_size != 4)) return ER_ERR_PARAMS;                       \
  if (p->rows < 0 || p->row_size < 0 || p->k < 0 || p->k > p->row_size || p->row_size > INT32_MAX)    \
    return ER_ERR_PARAMS;                                                                              \
  const er_tensor *x = op->in[0];                                                                      \
  er_tensor *yv = op->out[0], *yi = op->out[1];                                                        \
  if (x->bytes != cmul(cmul(p->rows, p->row_size), (int64_t)sizeof(T))) return ER_ERR_SHAPE;          \
  if (yv->bytes != cmul(cmul(p->rows, p->k), (int64_t)sizeof(T))) return ER_ERR_SHAPE;                \
  if (yi->bytes != cmul(cmul(p->rows, p->k), p->idx_size)) return ER_ERR_SHAPE;                       \
  if (p->k > 0 && (op->scratch == NULL || op->scratch_bytes < p->k * (int64_t)sizeof(int32_t)))       \
    return ER_ERR_PARAMS;                                                                              \
  int32_t *pos = (int32_t *)op->scratch;                                                               \
  for (int64_t r = 0; r < p->rows; r++) {                                                              \
    const T *v = (const T *)x->data + r * p->row_size;                                                 \
    int64_t m = 0;                                                                                     \
    for (int64_t c = 0; c < p->row_size && p->k > 0; c++) {                                            \
      if (m == p->k && !(v[c] > v[pos[m - 1]])) continue;                                              \
      int64_t j = m < p->k ? m++ : m - 1;                                                              \
      while (j > 0 && v[c] > v[pos[j - 1]]) {                                                          \
        pos[j] = pos[j - 1];                                                                           \
        j--;                                                                                           \
      }                                                                                                \
      pos[j] = (int32_t)c;                                                                             \
    }                                                                                                  \
    T *ov = (T *)yv->data + r * p->k;                                                                  \
    for (int64_t j = 0; j < p->k; j++) {                                                               \
      ov[j] = v[pos[j]];                                                                               \
      if (p->idx_size == 4) ((int32_t *)yi->data)[r * p->k + j] = pos[j];                              \
      else ((int16_t *)yi->data)[r * p->k + j] = (int16_t)pos[j];                                      \
    }                                                                                                  \
  }                                                                                                    \
  return ER_OK;

int er_f32_topk(const er_op *op) { TOPK_BODY(float) }
int er_u8_topk(const er_op *op) { TOPK_BODY(uint8_t) }
int er_s8_topk(const er_op *op) { TOPK_BODY(int8_t) }
int er_s16_topk(const er_op *op) { TOPK_BODY(int16_t) }
int er_i32_topk(const er_op *op) { TOPK_BODY(int32_t) }
int er_i64_topk(const er_op *op) { TOPK_BODY(int64_t) }

/* ---- SCATTER_ND ----------------------------------------------------------------------------------- */
/* Adds in the element type with wrap-around for integers (unsigned arithmetic, no signed overflow); bool
 * is a logical or (C++'s bool += bool). */
static inline float add_f32(float a, float b) { return a + b; }
static inline uint8_t add_u8(uint8_t a, uint8_t b) { return (uint8_t)(a + b); }
static inline int8_t add_s8(int8_t a, int8_t b) { return (int8_t)(uint8_t)((uint8_t)a + (uint8_t)b); }
static inline int32_t add_i32(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }
static inline int64_t add_i64(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }
static inline uint8_t add_b8(uint8_t a, uint8_t b) { return (uint8_t)(a != 0 || b != 0); }

#define SCATTER_BODY(T, ADD)                                                                           \
  const er_scatter_nd_params *p = (const er_scatter_nd_params *)op->params;                            \
  if (p == NULL || p->k < 0 || p->k > ER_MAX_DIMS || p->n < 0 || p->slice < 0) return ER_ERR_PARAMS;  \
  const er_tensor *ix = op->in[0], *up = op->in[1];                                                    \
  er_tensor *y = op->out[0];                                                                           \
  if (ix->type != ER_INT32 || ix->bytes != p->n * p->k * 4) return ER_ERR_SHAPE;                      \
  if (up->bytes != cmul(cmul(p->n, p->slice), (int64_t)sizeof(T)) ||                                  \
      y->bytes != cmul(y->count, (int64_t)sizeof(T)))                                                  \
    return ER_ERR_SHAPE;                                                                               \
  T *out = (T *)y->data;                                                                               \
  const T *u = (const T *)up->data;                                                                    \
  if (y->bytes) memset(out, 0, (size_t)y->bytes);                                                      \
  for (int64_t i = 0; i < p->n; i++) {                                                                 \
    int64_t at = 0;                                                                                    \
    for (int j = 0; j < p->k; j++) {                                                                   \
      const int64_t v = er_load_index(ix->data, i * p->k + j, 4);                                           \
      const int64_t limit = INT64_MAX / 8 / (p->strides[j] > 0 ? p->strides[j] : 1);                  \
      if (v > limit || v < -limit || p->strides[j] < 0) return ER_ERR_INDEX;                           \
      at += v * p->strides[j];                                                                         \
    }                                                                                                  \
    if (at < 0 || at + p->slice > y->count) return ER_ERR_INDEX;                                       \
    for (int64_t e = 0; e < p->slice; e++) out[at + e] = ADD(out[at + e], u[i * p->slice + e]);       \
  }                                                                                                    \
  return ER_OK;

int er_f32_scatter_nd(const er_op *op) { SCATTER_BODY(float, add_f32) }
int er_u8_scatter_nd(const er_op *op) { SCATTER_BODY(uint8_t, add_u8) }
int er_s8_scatter_nd(const er_op *op) { SCATTER_BODY(int8_t, add_s8) }
int er_i32_scatter_nd(const er_op *op) { SCATTER_BODY(int32_t, add_i32) }
int er_i64_scatter_nd(const er_op *op) { SCATTER_BODY(int64_t, add_i64) }
int er_b8_scatter_nd(const er_op *op) { SCATTER_BODY(uint8_t, add_b8) }

/* ---- EMBEDDING_LOOKUP ------------------------------------------------------------------------------ */
/* any_embedding_lookup: GATHER's params with the inputs the other way round (int32 ids first, then the
 * table [coord rows of inner_bytes]); batch and outer must be 1. */
int er_any_embedding_lookup(const er_op *op) {
  const er_gather_params *p = (const er_gather_params *)op->params;
  if (p == NULL || p->batch != 1 || p->outer != 1 || p->idx_size != 4 || p->coord < 0 ||
      p->inner_bytes < 0 || p->n_idx < 0)
    return ER_ERR_PARAMS;
  const er_tensor *ix = op->in[0], *w = op->in[1];
  er_tensor *y = op->out[0];
  if (ix->type != ER_INT32 || ix->bytes != p->n_idx * 4 || w->bytes != p->coord * p->inner_bytes ||
      y->bytes != p->n_idx * p->inner_bytes)
    return ER_ERR_SHAPE;
  const size_t row = (size_t)p->inner_bytes;
  for (int64_t i = 0; i < p->n_idx; i++) {
    const int64_t r = ((const int32_t *)ix->data)[i];
    if (r < 0 || r >= p->coord) return ER_ERR_INDEX;
    if (row) memcpy((unsigned char *)y->data + (size_t)i * row, (const unsigned char *)w->data + (size_t)r * row, row);
  }
  return ER_OK;
}

/* ---- EMBEDDING_LOOKUP, hybrid ---------------------------------------------------------------------- */
int er_f32_embedding_hybrid(const er_op *op) {
  const er_embedding_params *p = (const er_embedding_params *)op->params;
  if (p == NULL || p->rows < 0 || p->cols < 0 || (p->n_scales != 1 && p->n_scales != p->rows))
    return ER_ERR_PARAMS;
  const er_tensor *ix = op->in[0], *w = op->in[1];
  er_tensor *y = op->out[0];
  if (ix->type != ER_INT32 || w->bytes != cmul(p->rows, p->cols)) return ER_ERR_SHAPE;
  if (y->bytes != cmul(cmul(ix->count, p->cols), 4) || ix->bytes != cmul(ix->count, 4)) return ER_ERR_SHAPE;
  const int8_t *table = (const int8_t *)w->data;
  float *out = (float *)y->data;
  for (int64_t i = 0; i < ix->count; i++) {
    const int64_t r = ((const int32_t *)ix->data)[i];
    if (r < 0 || r >= p->rows) return ER_ERR_INDEX;
    const float s = p->scales[p->n_scales == 1 ? 0 : r];
    for (int64_t j = 0; j < p->cols; j++) out[i * p->cols + j] = (float)table[r * p->cols + j] * s;
  }
  return ER_OK;
}

/* ---- DYNAMIC_UPDATE_SLICE ------------------------------------------------------------------------- */
int er_any_dynamic_update_slice(const er_op *op) {
  const er_dus_params *p = (const er_dus_params *)op->params;
  if (p == NULL || p->ndim < 0 || p->ndim > ER_MAX_DIMS || !size_ok(p->elem_size) ||
      (p->idx_size != 4 && p->idx_size != 8))
    return ER_ERR_PARAMS;
  const er_tensor *x = op->in[0], *u = op->in[1], *st = op->in[2];
  er_tensor *y = op->out[0];
  const int n = p->ndim;
  const size_t es = (size_t)p->elem_size;
  int64_t nx = 1, nu = 1, start[ER_MAX_DIMS], ust[ER_MAX_DIMS], xst[ER_MAX_DIMS];
  for (int d = 0; d < n; d++) {
    if (p->dims[d] < 0 || p->upd[d] < 0 || p->upd[d] > p->dims[d]) return ER_ERR_PARAMS;
    nx = cmul(nx, p->dims[d]);
    nu = cmul(nu, p->upd[d]);
  }
  if (nx < 0 || nu < 0) return ER_ERR_PARAMS;
  if (x->bytes != cmul(nx, (int64_t)es) || y->bytes != x->bytes || u->bytes != cmul(nu, (int64_t)es))
    return ER_ERR_SHAPE;
  if (st->bytes != (int64_t)n * p->idx_size) return ER_ERR_SHAPE;
  if (x->data != y->data && y->bytes) memmove(y->data, x->data, (size_t)y->bytes);
  if (nu == 0) return ER_OK;
  for (int d = 0; d < n; d++) {
    int64_t s = er_load_index(st->data, d, p->idx_size);
    const int64_t hi = p->dims[d] - p->upd[d];
    start[d] = s < 0 ? 0 : (s > hi ? hi : s);
  }
  int64_t a = 1, b = 1;
  for (int d = n - 1; d >= 0; d--) {
    ust[d] = a;
    xst[d] = b;
    a *= p->upd[d];
    b *= p->dims[d];
  }
  /* one row of the update's last dimension at a time */
  const int64_t row = n ? p->upd[n - 1] : 1;
  unsigned char *out = (unsigned char *)y->data;
  const unsigned char *src = (const unsigned char *)u->data;
  for (int64_t i = 0; i < nu; i += row) {
    int64_t off = 0;
    for (int d = 0; d < n; d++) off += (start[d] + (i / ust[d]) % p->upd[d]) * xst[d];
    memcpy(out + (size_t)off * es, src + (size_t)i * es, (size_t)row * es);
  }
  return ER_OK;
}

int er_any_slice_dynamic(const er_op *op) {
  const er_slice_dynamic_params *p = (const er_slice_dynamic_params *)op->params;
  if (p == NULL || p->ndim < 1 || p->ndim > ER_MAX_DIMS || !size_ok(p->elem_size) ||
      (p->idx_size != 4 && p->idx_size != 8))
    return ER_ERR_PARAMS;
  const er_tensor *x = op->in[0], *bg = op->in[1];
  er_tensor *y = op->out[0];
  const int n = p->ndim;
  const size_t es = (size_t)p->elem_size;
  int64_t nx = 1, ny = 1, start[ER_MAX_DIMS], yst[ER_MAX_DIMS], xst[ER_MAX_DIMS];
  for (int d = 0; d < n; d++) {
    if (p->dims[d] < 0 || p->size[d] < 0 || p->size[d] > p->dims[d]) return ER_ERR_PARAMS;
    nx = cmul(nx, p->dims[d]);
    ny = cmul(ny, p->size[d]);
  }
  if (nx < 0 || ny < 0) return ER_ERR_PARAMS;
  if (x->bytes != cmul(nx, (int64_t)es) || y->bytes != cmul(ny, (int64_t)es)) return ER_ERR_SHAPE;
  if (bg->bytes != (int64_t)n * p->idx_size) return ER_ERR_SHAPE;
  for (int d = 0; d < n; d++) {
    const int64_t b = er_load_index(bg->data, d, p->idx_size);
    if (b < 0 || b > p->dims[d] - p->size[d]) return ER_ERR_INDEX;
    start[d] = b;
  }
  if (ny == 0) return ER_OK;
  int64_t a = 1, c = 1;
  for (int d = n - 1; d >= 0; d--) {
    yst[d] = a;
    xst[d] = c;
    a *= p->size[d];
    c *= p->dims[d];
  }
  /* one row of the output's last dimension at a time */
  const int64_t row = p->size[n - 1];
  unsigned char *out = (unsigned char *)y->data;
  const unsigned char *src = (const unsigned char *)x->data;
  for (int64_t i = 0; i < ny; i += row) {
    int64_t off = 0;
    for (int d = 0; d < n; d++) off += (start[d] + (i / yst[d]) % p->size[d]) * xst[d];
    memcpy(out + (size_t)i * es, src + (size_t)off * es, (size_t)row * es);
  }
  return ER_OK;
}

/* ---- segment reductions --------------------------------------------------------------------------- */
#define SEGMENT_BODY(T, LOWEST, HIGHEST, MUL, ADD)                                                     \
  const er_segment_params *p = (const er_segment_params *)op->params;                                  \
  if (p == NULL || p->n_ids < 0 || p->inner < 0 || p->segments < 0 || p->op < 0 || p->op > 3)         \
    return ER_ERR_PARAMS;                                                                              \
  const er_tensor *x = op->in[0], *ids = op->in[1];                                                    \
  er_tensor *y = op->out[0];                                                                           \
  if (ids->type != ER_INT32 || ids->bytes != p->n_ids * 4) return ER_ERR_SHAPE;                       \
  if (x->bytes != cmul(cmul(p->n_ids, p->inner), (int64_t)sizeof(T))) return ER_ERR_SHAPE;            \
  if (y->bytes != cmul(cmul(p->segments, p->inner), (int64_t)sizeof(T))) return ER_ERR_SHAPE;         \
  T *out = (T *)y->data;                                                                               \
  const T *in = (const T *)x->data;                                                                    \
  const T init = p->op == ER_SEG_SUM ? (T)0 : p->op == ER_SEG_PROD ? (T)1                             \
               : p->op == ER_SEG_MAX ? LOWEST : HIGHEST;                                               \
  for (int64_t i = 0; i < p->segments * p->inner; i++) out[i] = init;                                  \
  for (int64_t i = 0; i < p->n_ids; i++) {                                                             \
    const int64_t s = ((const int32_t *)ids->data)[i];                                                 \
    if (s < 0) continue; /* TFLite skips negative ids */                                               \
    if (s >= p->segments) return ER_ERR_INDEX;                                                         \
    T *o = out + s * p->inner;                                                                         \
    const T *v = in + i * p->inner;                                                                    \
    for (int64_t j = 0; j < p->inner; j++) {                                                           \
      switch (p->op) {                                                                                 \
        case ER_SEG_SUM: o[j] = ADD(o[j], v[j]); break;                                                \
        case ER_SEG_PROD: o[j] = MUL(o[j], v[j]); break;                                               \
        case ER_SEG_MAX: o[j] = v[j] > o[j] ? v[j] : o[j]; break;                                      \
        default: o[j] = v[j] < o[j] ? v[j] : o[j]; break;                                              \
      }                                                                                                \
    }                                                                                                  \
  }                                                                                                    \
  return ER_OK;

static inline float mul_f32(float a, float b) { return a * b; }
static inline int32_t mul_i32(int32_t a, int32_t b) { return (int32_t)((uint32_t)a * (uint32_t)b); }

int er_f32_segment(const er_op *op) { SEGMENT_BODY(float, -FLT_MAX, FLT_MAX, mul_f32, add_f32) }
int er_i32_segment(const er_op *op) { SEGMENT_BODY(int32_t, INT32_MIN, INT32_MAX, mul_i32, add_i32) }

/* ---- SPARSE_TO_DENSE ------------------------------------------------------------------------------ */
int er_any_sparse_to_dense(const er_op *op) {
  const er_sparse_to_dense_params *p = (const er_sparse_to_dense_params *)op->params;
  if (p == NULL || p->n < 0 || p->k < 0 || p->k > ER_MAX_DIMS || !size_ok(p->elem_size) ||
      (p->idx_size != 4 && p->idx_size != 8))
    return ER_ERR_PARAMS;
  const er_tensor *ix = op->in[0], *vals = op->in[2], *dflt = op->in[3];
  er_tensor *y = op->out[0];
  const size_t es = (size_t)p->elem_size;
  int64_t count = 1;
  for (int d = 0; d < p->k; d++) {
    if (p->dims[d] < 0) return ER_ERR_PARAMS;
    count = cmul(count, p->dims[d]);
  }
  if (count < 0) return ER_ERR_PARAMS;
  if (y->bytes != count * (int64_t)es || ix->bytes != p->n * p->k * p->idx_size) return ER_ERR_SHAPE;
  if (vals->bytes != (p->scalar_value ? 1 : p->n) * (int64_t)es || dflt->bytes < (int64_t)es) return ER_ERR_SHAPE;
  unsigned char *out = (unsigned char *)y->data;
  for (int64_t i = 0; i < count; i++) memcpy(out + (size_t)i * es, dflt->data, es);
  for (int64_t i = 0; i < p->n; i++) {
    int64_t at = 0;
    for (int d = 0; d < p->k; d++) {
      const int64_t v = er_load_index(ix->data, i * p->k + d, p->idx_size);
      if (v < 0 || v >= p->dims[d]) return ER_ERR_INDEX;
      at = at * p->dims[d] + v;
    }
    memcpy(out + (size_t)at * es, (const unsigned char *)vals->data + (p->scalar_value ? 0 : (size_t)i * es), es);
  }
  return ER_OK;
}

/* ---- MATRIX_DIAG / MATRIX_SET_DIAG ---------------------------------------------------------------- */
static int matrix_diag(const er_matrix_diag_params *p, const er_tensor *x, const er_tensor *d, er_tensor *y) {
  if (p == NULL || p->batch < 0 || p->rows < 0 || p->cols < 0 || !size_ok(p->elem_size)) return ER_ERR_PARAMS;
  if (d == NULL || y == NULL) return ER_ERR_PARAMS;
  const size_t es = (size_t)p->elem_size;
  const int64_t m = p->rows < p->cols ? p->rows : p->cols, plane = p->rows * p->cols;
  if (y->bytes != cmul(cmul(p->batch, plane), (int64_t)es) || d->bytes != cmul(cmul(p->batch, m), (int64_t)es))
    return ER_ERR_SHAPE;
  if (x != NULL) { /* MATRIX_SET_DIAG: the rest comes from the input */
    if (x->bytes != y->bytes) return ER_ERR_SHAPE;
    if (x->data != y->data && y->bytes) memmove(y->data, x->data, (size_t)y->bytes);
  } else if (y->bytes) {
    memset(y->data, 0, (size_t)y->bytes);
  }
  unsigned char *out = (unsigned char *)y->data;
  const unsigned char *src = (const unsigned char *)d->data;
  for (int64_t b = 0; b < p->batch; b++)
    for (int64_t i = 0; i < m; i++)
      memcpy(out + (size_t)(b * plane + i * p->cols + i) * es, src + (size_t)(b * m + i) * es, es);
  return ER_OK;
}

int er_any_matrix_diag(const er_op *op) {
  return matrix_diag((const er_matrix_diag_params *)op->params, NULL, op->in[0], op->out[0]);
}

int er_any_matrix_set_diag(const er_op *op) {
  return matrix_diag((const er_matrix_diag_params *)op->params, op->in[0], op->in[1], op->out[0]);
}

/* ---- REVERSE_SEQUENCE ----------------------------------------------------------------------------- */
int er_any_reverse_sequence(const er_op *op) {
  const er_reverse_seq_params *p = (const er_reverse_seq_params *)op->params;
  if (p == NULL || p->batch_dim < 0 || p->seq_dim < 0 || p->batch_stride < 0 || p->seq_stride < 0 ||
      !size_ok(p->elem_size) || (p->idx_size != 4 && p->idx_size != 8))
    return ER_ERR_PARAMS;
  const er_tensor *x = op->in[0], *len = op->in[1];
  er_tensor *y = op->out[0];
  const size_t es = (size_t)p->elem_size;
  const int64_t n = x->count;
  if (x->bytes != cmul(n, (int64_t)es) || y->bytes != x->bytes || len->bytes != p->batch_dim * p->idx_size)
    return ER_ERR_SHAPE;
  if (n && (p->batch_stride < 1 || p->seq_stride < 1 || p->batch_dim < 1 || p->seq_dim < 1 ||
            n % (p->batch_stride * p->batch_dim) != 0 || n % (p->seq_stride * p->seq_dim) != 0))
    return ER_ERR_PARAMS; /* whole blocks of both dimensions: every reversed position stays inside */
  for (int64_t b = 0; b < p->batch_dim; b++) {
    const int64_t l = er_load_index(len->data, b, p->idx_size);
    if (l > p->seq_dim) return ER_ERR_INDEX;
  }
  if (n && x->data == y->data) return ER_ERR_PARAMS; /* elements move: never in place */
  const unsigned char *src = (const unsigned char *)x->data;
  unsigned char *dst = (unsigned char *)y->data;
  for (int64_t i = 0; i < n; i++) {
    const int64_t b = (i / p->batch_stride) % p->batch_dim, s = (i / p->seq_stride) % p->seq_dim;
    const int64_t l = er_load_index(len->data, b, p->idx_size);
    const int64_t from = s < l ? i + (l - 1 - 2 * s) * p->seq_stride : i;
    memcpy(dst + (size_t)i * es, src + (size_t)from * es, es);
  }
  return ER_OK;
}

/* ---- BROADCAST_ARGS ------------------------------------------------------------------------------- */
int er_any_broadcast_args(const er_op *op) {
  const er_broadcast_args_params *p = (const er_broadcast_args_params *)op->params;
  if (p == NULL || (p->idx_size != 4 && p->idx_size != 8)) return ER_ERR_PARAMS;
  const er_tensor *a = op->in[0], *b = op->in[1];
  er_tensor *y = op->out[0];
  const int64_t na = a->count, nb = b->count, n = na > nb ? na : nb;
  if (a->bytes != na * p->idx_size || b->bytes != nb * p->idx_size || y->bytes != n * p->idx_size)
    return ER_ERR_SHAPE;
  for (int64_t i = 0; i < n; i++) {
    const int64_t ia = i - (n - na), ib = i - (n - nb);
    const int64_t da = ia >= 0 ? er_load_index(a->data, ia, p->idx_size) : 1;
    const int64_t db = ib >= 0 ? er_load_index(b->data, ib, p->idx_size) : 1;
    if (da != db && da != 1 && db != 1) return ER_ERR_SHAPE;
    const int64_t d = da == 1 ? db : da;
    if (p->idx_size == 8) ((int64_t *)y->data)[i] = d;
    else ((int32_t *)y->data)[i] = (int32_t)d;
  }
  return ER_OK;
}
