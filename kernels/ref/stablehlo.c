/* The StableHLO elementwise ops and PAD that LiteRT's builtin resolver runs, and REDUCE_WINDOW: type-generic
 * kernels (the tensors' type selects the arithmetic). No quantization: integers are plain and wrap, as in
 * LiteRT's StableHLO kernels; float16 computes in float32 and rounds back to nearest-even. */
#include <math.h>
#include <string.h>

#include "edgerun/edgerun.h"
#include "half.h"
#include "index_load.h"

static int same_shape(const er_tensor *a, const er_tensor *b) {
  if (a->ndim != b->ndim || a->count != b->count) return 0;
  for (int d = 0; d < a->ndim; ++d)
    if (a->dims[d] != b->dims[d]) return 0;
  return 1;
}

/* -- elementwise ----------------------------------------------------------------------------------------- */
/* Integers: add and multiply wrap (unsigned arithmetic of width U), max/min as std::max/min, AND bitwise,
 * shift left in 32 bits then truncated to the type (LiteRT's `x << s` on the promoted int); a count below 0 or
 * past 31 gives 0, as StableHLO defines it (in LiteRT's C++ such a shift is undefined: its results there vary
 * with vectorization). */
static int shift_ok(int64_t count) { return count >= 0 && count <= 31; }

#define HLO_INT(T, U)                                                                              \
  do {                                                                                             \
    const T *a = (const T *)op->in[0]->data, *b = (const T *)op->in[1]->data;                      \
    T *y = (T *)op->out[0]->data;                                                                  \
    for (int64_t i = 0; i < n; ++i) {                                                              \
      const T u = a[i], v = b[i];                                                                  \
      switch (p->op) {                                                                             \
        case ER_HLO_ADD: y[i] = (T)(U)((U)u + (U)v); break;                                        \
        case ER_HLO_MULTIPLY: y[i] = (T)(U)((U)u * (U)v); break;                                   \
        case ER_HLO_MAXIMUM: y[i] = u < v ? v : u; break;                                          \
        case ER_HLO_MINIMUM: y[i] = v < u ? v : u; break;                                          \
        case ER_HLO_AND: y[i] = (T)(u & v); break;                                                 \
        default: y[i] = shift_ok((int64_t)v) ? (T)(uint32_t)((uint32_t)(int32_t)u << (int)v) : (T)0; break; \
      }                                                                                            \
    }                                                                                              \
  } while (0)

int er_any_hlo_binary(const er_op *op) {
  const er_hlo_binary_params *p = (const er_hlo_binary_params *)op->params;
  if (p == NULL || op->n_in < 2 || op->n_out < 1 || !op->in[0] || !op->in[1] || !op->out[0]) return ER_ERR_PARAMS;
  const int32_t t = op->in[0]->type;
  if (op->in[1]->type != t || op->out[0]->type != t || !same_shape(op->in[0], op->in[1]) ||
      !same_shape(op->in[0], op->out[0]))
    return ER_ERR_SHAPE;
  if (p->op < ER_HLO_ADD || p->op > ER_HLO_SHIFT_LEFT) return ER_ERR_PARAMS;
  const int64_t n = op->out[0]->count;
  if (n > 0 && (!op->in[0]->data || !op->in[1]->data || !op->out[0]->data)) return ER_ERR_PARAMS;
  const int is_float = t == ER_FLOAT32 || t == ER_FLOAT16;
  if ((p->op == ER_HLO_AND && is_float) ||
      (p->op == ER_HLO_SHIFT_LEFT && t != ER_INT8 && t != ER_INT16 && t != ER_INT32))
    return ER_ERR_UNSUPPORTED;
  switch (t) {
    case ER_FLOAT32:
    case ER_FLOAT16: {
      for (int64_t i = 0; i < n; ++i) {
        float u, v, r;
        if (t == ER_FLOAT32) {
          u = ((const float *)op->in[0]->data)[i];
          v = ((const float *)op->in[1]->data)[i];
        } else {
          u = er_f16_to_f32(((const uint16_t *)op->in[0]->data)[i]);
          v = er_f16_to_f32(((const uint16_t *)op->in[1]->data)[i]);
        }
        switch (p->op) {
          case ER_HLO_ADD: r = u + v; break;
          case ER_HLO_MULTIPLY: r = u * v; break;
          case ER_HLO_MAXIMUM: r = u < v ? v : u; break;
          default: r = v < u ? v : u; break;
        }
        if (t == ER_FLOAT32)
          ((float *)op->out[0]->data)[i] = r;
        else
          ((uint16_t *)op->out[0]->data)[i] = er_f32_to_f16(r);
      }
      return ER_OK;
    }
    case ER_BOOL: { /* + and max are OR, * min and AND are AND */
      const uint8_t *a = (const uint8_t *)op->in[0]->data, *b = (const uint8_t *)op->in[1]->data;
      uint8_t *y = (uint8_t *)op->out[0]->data;
      const int is_or = p->op == ER_HLO_ADD || p->op == ER_HLO_MAXIMUM;
      for (int64_t i = 0; i < n; ++i) y[i] = is_or ? (uint8_t)((a[i] != 0) | (b[i] != 0)) : (uint8_t)((a[i] != 0) & (b[i] != 0));
      return ER_OK;
    }
    case ER_INT8: HLO_INT(int8_t, uint32_t); return ER_OK;
    case ER_UINT8: HLO_INT(uint8_t, uint32_t); return ER_OK;
    case ER_INT16: HLO_INT(int16_t, uint32_t); return ER_OK;
    case ER_INT32: HLO_INT(int32_t, uint32_t); return ER_OK;
    case ER_INT64: HLO_INT(int64_t, uint64_t); return ER_OK;
    default: return ER_ERR_UNSUPPORTED;
  }
}

/* -- REDUCE_WINDOW --------------------------------------------------------------------------------------- */
/* One step of the reduction: acc (fn) v. Integers wrap; ALL/ANY give 1 or 0 of the type. */
#define RW_STEP(T, U, acc, v)                                                              \
  switch (p->fn) {                                                                         \
    case ER_RW_ADD: acc = (T)(U)((U)(acc) + (U)(v)); break;                                \
    case ER_RW_MUL: acc = (T)(U)((U)(acc) * (U)(v)); break;                                \
    case ER_RW_MINIMUM: acc = (v) < (acc) ? (v) : (acc); break;                            \
    case ER_RW_MAXIMUM: acc = (acc) < (v) ? (v) : (acc); break;                            \
    case ER_RW_ALL: acc = (T)((acc) != 0 && (v) != 0); break;                              \
    default: acc = (T)((acc) != 0 || (v) != 0); break;                                     \
  }
#define RW_FSTEP(acc, v)                                                                   \
  switch (p->fn) {                                                                         \
    case ER_RW_ADD: acc = (acc) + (v); break;                                              \
    case ER_RW_MUL: acc = (acc) * (v); break;                                              \
    case ER_RW_MINIMUM: acc = (v) < (acc) ? (v) : (acc); break;                            \
    case ER_RW_MAXIMUM: acc = (acc) < (v) ? (v) : (acc); break;                            \
    case ER_RW_ALL: acc = (float)((acc) != 0 && (v) != 0); break;                          \
    default: acc = (float)((acc) != 0 || (v) != 0); break;                                 \
  }

/* The window's element k of output o: its flat input offset, or -1 for padding / a dilation hole. */
static int64_t rw_source(const er_reduce_window_params *p, const er_tensor *x, const int64_t *o, const int64_t *k) {
  int64_t off = 0;
  for (int d = 0; d < x->ndim; ++d) {
    const int64_t pos = o[d] * p->stride[d] + k[d] * p->window_dilation[d] - p->pad_lo[d];
    if (pos < 0 || pos % p->base_dilation[d] != 0) return -1;
    const int64_t i = pos / p->base_dilation[d];
    if (i >= x->dims[d]) return -1;
    off = off * x->dims[d] + i;
  }
  return off;
}

static int next_index(int64_t *idx, const int32_t *dims, int ndim) {
  for (int d = ndim - 1; d >= 0; --d) {
    if (++idx[d] < dims[d]) return 1;
    idx[d] = 0;
  }
  return 0;
}

#define RW_LOOP(T, STEP_STMT)                                                                  \
  do {                                                                                         \
    const T *xd = (const T *)x->data;                                                          \
    T *yd = (T *)y->data;                                                                      \
    T init;                                                                                    \
    memcpy(&init, op->in[1]->data, sizeof init);                                               \
    int64_t o[8] = {0}, oi = 0;                                                                \
    do {                                                                                       \
      T acc = init;                                                                            \
      int64_t k[8] = {0};                                                                      \
      do {                                                                                     \
        const int64_t s = rw_source(p, x, o, k);                                               \
        const T v = s < 0 ? init : xd[s];                                                      \
        STEP_STMT                                                                              \
      } while (next_index(k, p->window, rank));                                                \
      yd[oi++] = acc;                                                                          \
    } while (next_index(o, y->dims, rank));                                                    \
  } while (0)

int er_any_reduce_window(const er_op *op) {
  const er_reduce_window_params *p = (const er_reduce_window_params *)op->params;
  if (p == NULL || op->n_in < 2 || op->n_out < 1 || !op->in[0] || !op->in[1] || !op->out[0]) return ER_ERR_PARAMS;
  const er_tensor *x = op->in[0];
  er_tensor *y = op->out[0];
  const int rank = x->ndim;
  if (op->in[1]->type != x->type || op->in[1]->count != 1 || !op->in[1]->data || y->type != x->type ||
      y->ndim != rank || rank < 1)
    return ER_ERR_SHAPE;
  if (p->fn < ER_RW_ADD || p->fn > ER_RW_ANY) return ER_ERR_PARAMS;
  for (int d = 0; d < rank; ++d) /* every window element is checked against the input (rw_source) */
    if (p->window[d] < 1 || p->stride[d] < 1 || p->base_dilation[d] < 1 || p->window_dilation[d] < 1)
      return ER_ERR_PARAMS;
  if (y->count == 0) return ER_OK;
  if (!y->data || (x->count > 0 && !x->data)) return ER_ERR_PARAMS;
  switch (x->type) {
    case ER_FLOAT32: RW_LOOP(float, RW_FSTEP(acc, v)); return ER_OK;
    case ER_BOOL: RW_LOOP(uint8_t, RW_STEP(uint8_t, uint32_t, acc, v) acc = acc != 0;); return ER_OK;
    case ER_INT8: RW_LOOP(int8_t, RW_STEP(int8_t, uint32_t, acc, v)); return ER_OK;
    case ER_UINT8: RW_LOOP(uint8_t, RW_STEP(uint8_t, uint32_t, acc, v)); return ER_OK;
    case ER_INT16: RW_LOOP(int16_t, RW_STEP(int16_t, uint32_t, acc, v)); return ER_OK;
    case ER_INT32: RW_LOOP(int32_t, RW_STEP(int32_t, uint32_t, acc, v)); return ER_OK;
    case ER_INT64: RW_LOOP(int64_t, RW_STEP(int64_t, uint64_t, acc, v)); return ER_OK;
    default: return ER_ERR_UNSUPPORTED;
  }
}

/* -- STABLEHLO_PAD --------------------------------------------------------------------------------------- */
int er_any_hlo_pad(const er_op *op) {
  const er_hlo_pad_params *p = (const er_hlo_pad_params *)op->params;
  if (p == NULL || op->n_in < 2 || op->n_out < 1 || !op->in[0] || !op->in[1] || !op->out[0]) return ER_ERR_PARAMS;
  const er_tensor *x = op->in[0], *pv = op->in[1];
  er_tensor *y = op->out[0];
  const int rank = x->ndim;
  if (pv->type != x->type || y->type != x->type || pv->count != 1 || !pv->data || y->ndim != rank) return ER_ERR_SHAPE;
  const int64_t es = x->count > 0 ? x->bytes / x->count : (y->count > 0 ? y->bytes / y->count : 1);
  if (es < 1 || es > 16 || pv->bytes != es || (x->count > 0 && x->bytes != es * x->count) ||
      (y->count > 0 && y->bytes != es * y->count))
    return ER_ERR_SHAPE;
  for (int d = 0; d < rank; ++d)
    if (p->interior[d] < 0) return ER_ERR_PARAMS;
  if (y->count == 0) return ER_OK;
  if (!y->data || (x->count > 0 && !x->data)) return ER_ERR_PARAMS;
  uint8_t *yd = (uint8_t *)y->data;
  for (int64_t i = 0; i < y->count; ++i) memcpy(yd + i * es, pv->data, (size_t)es);
  if (x->count == 0) return ER_OK;
  int64_t idx[8] = {0}, xi = 0;
  do {
    int64_t off = 0, inside = 1;
    for (int d = 0; d < rank && inside; ++d) {
      const int64_t pos = p->lo[d] + idx[d] * ((int64_t)p->interior[d] + 1);
      if (pos < 0 || pos >= y->dims[d]) inside = 0;
      off = off * y->dims[d] + pos;
    }
    if (inside) memcpy(yd + off * es, (const uint8_t *)x->data + xi * es, (size_t)es);
    ++xi;
  } while (next_index(idx, x->dims, rank));
  return ER_OK;
}

/* -- STABLEHLO_GATHER ------------------------------------------------------------------------------------ */
int er_any_hlo_gather(const er_op *op) {
  const er_hlo_gather_params *p = (const er_hlo_gather_params *)op->params;
  if (p == NULL || op->n_in < 2 || op->n_out < 1 || !op->in[0] || !op->in[1] || !op->out[0]) return ER_ERR_PARAMS;
  const er_tensor *x = op->in[0], *ix = op->in[1];
  er_tensor *y = op->out[0];
  if (y->type != x->type || (ix->type != ER_INT32 && ix->type != ER_INT64)) return ER_ERR_SHAPE;
  const int ivd = p->index_vector_dim, has_ivd = ivd < ix->ndim;
  if (ivd < 0 || ivd > ix->ndim || p->n_index < 0 || p->n_index > x->ndim || (has_ivd ? ix->dims[ivd] != p->n_index
                                                                                         : p->n_index != 1))
    return ER_ERR_PARAMS;
  /* every coordinate the loop forms stays inside its tensor: batch dims equal the indices' dims, offset dims
   * lie within their slice, slices within the operand */
  int nb = 0;
  for (int d = 0; d < y->ndim; ++d) {
    const int od = p->offset_operand_dim[d];
    if (od < -1 || od >= x->ndim) return ER_ERR_PARAMS;
    if (od >= 0 && y->dims[d] > p->slice_sizes[od]) return ER_ERR_SHAPE;
    for (int e = 0; e < d && od >= 0; ++e)
      if (p->offset_operand_dim[e] == od) return ER_ERR_PARAMS; /* two offsets into one operand dim */
    if (od < 0) {
      const int j = nb < ivd || !has_ivd ? nb : nb + 1;
      if (j >= ix->ndim || ix->dims[j] != y->dims[d]) return ER_ERR_SHAPE;
      ++nb;
    }
  }
  if (nb != ix->ndim - has_ivd) return ER_ERR_SHAPE;
  for (int d = 0; d < x->ndim; ++d)
    if (p->slice_sizes[d] < 0 || p->slice_sizes[d] > x->dims[d]) return ER_ERR_PARAMS;
  for (int k = 0; k < p->n_index; ++k)
    if (p->start_index_map[k] < 0 || p->start_index_map[k] >= x->ndim) return ER_ERR_PARAMS;
  if (y->count == 0) return ER_OK;
  const int64_t es = y->bytes / y->count;
  if (x->count == 0 || es < 1 || x->bytes != es * x->count || !x->data || !y->data || !ix->data) return ER_ERR_SHAPE;
  int64_t o[8] = {0}, oi = 0;
  do {
    int64_t b[8], start[8] = {0}, pos[8];
    nb = 0;
    for (int d = 0; d < y->ndim; ++d)
      if (p->offset_operand_dim[d] < 0) b[nb++] = o[d];
    for (int k = 0; k < p->n_index; ++k) {
      int64_t at = 0;
      for (int j = 0; j < ix->ndim; ++j) at = at * ix->dims[j] + (j == ivd ? k : b[j < ivd ? j : j - 1]);
      const int64_t v = er_load_index(ix->data, at, ix->type == ER_INT32 ? 4 : 8);
      const int d = p->start_index_map[k];
      const int64_t hi = (int64_t)x->dims[d] - p->slice_sizes[d];
      start[d] = v < 0 ? 0 : (v > hi ? hi : v);
    }
    for (int d = 0; d < x->ndim; ++d) pos[d] = start[d];
    for (int d = 0; d < y->ndim; ++d)
      if (p->offset_operand_dim[d] >= 0) pos[p->offset_operand_dim[d]] += o[d];
    int64_t src = 0;
    for (int d = 0; d < x->ndim; ++d) src = src * x->dims[d] + pos[d];
    memcpy((uint8_t *)y->data + oi * es, (const uint8_t *)x->data + src * es, (size_t)es);
    ++oi;
  } while (next_index(o, y->dims, y->ndim));
  return ER_OK;
}

/* -- STABLEHLO_COMPOSITE --------------------------------------------------------------------------------- */
static int copy_bytes(er_tensor *dst, const er_tensor *src) {
  if (dst == NULL || src == NULL) return ER_ERR_PARAMS;
  if (dst->bytes != src->bytes) return ER_ERR_SHAPE;
  if (dst->bytes > 0 && (dst->data == NULL || src->data == NULL)) return ER_ERR_PARAMS;
  if (dst->data != src->data && dst->bytes > 0) memmove(dst->data, src->data, (size_t)dst->bytes);
  return ER_OK;
}

int er_ctl_composite(const er_op *op) {
  const er_composite_params *p = (const er_composite_params *)op->params;
  if (p == NULL || p->decomposition == NULL) return ER_ERR_PARAMS;
  const er_plan *d = p->decomposition;
  if (d->n_inputs != op->n_in || d->n_outputs != op->n_out) return ER_ERR_PARAMS;
  int st;
  for (int32_t i = 0; i < d->n_inputs; ++i)
    if ((st = copy_bytes(d->inputs[i], op->in[i])) != ER_OK) return st;
  if ((st = er_exec(d, 0, d->n_ops, NULL)) != ER_OK) return st;
  for (int32_t i = 0; i < op->n_out; ++i)
    if (op->out[i] != NULL && (st = copy_bytes(op->out[i], d->outputs[i])) != ER_OK) return st;
  return ER_OK;
}

/* -- STABLEHLO_SCATTER ----------------------------------------------------------------------------------- */
#define SC_APPLY(T, U)                                                                        \
  do {                                                                                        \
    T acc, v;                                                                                 \
    memcpy(&acc, dst, sizeof acc);                                                            \
    memcpy(&v, src, sizeof v);                                                                \
    if (p->fn == 0) {                                                                         \
      acc = v;                                                                                \
    } else {                                                                                  \
      RW_STEP(T, U, acc, v)                                                                   \
    }                                                                                         \
    memcpy(dst, &acc, sizeof acc);                                                            \
  } while (0)

int er_any_hlo_scatter(const er_op *op) {
  const er_hlo_scatter_params *p = (const er_hlo_scatter_params *)op->params;
  if (p == NULL || op->n_in < 3 || op->n_out < 1 || !op->in[0] || !op->in[1] || !op->in[2] || !op->out[0])
    return ER_ERR_PARAMS;
  const er_tensor *x = op->in[0], *ix = op->in[1], *up = op->in[2];
  er_tensor *y = op->out[0];
  if (y->type != x->type || up->type != x->type || y->bytes != x->bytes || y->ndim != x->ndim ||
      (ix->type != ER_INT32 && ix->type != ER_INT64))
    return ER_ERR_SHAPE;
  if (p->fn < 0 || p->fn > ER_RW_MAXIMUM) return ER_ERR_PARAMS;
  const int ivd = p->index_vector_dim, has_ivd = ivd < ix->ndim;
  if (ivd < 0 || ivd > ix->ndim || p->n_index < 0 || p->n_index > x->ndim ||
      (has_ivd ? ix->dims[ivd] != p->n_index : p->n_index != 1))
    return ER_ERR_PARAMS;
  int ns = 0;
  for (int d = 0; d < up->ndim; ++d) {
    const int od = p->window_operand_dim[d];
    if (od < -1 || od >= x->ndim) return ER_ERR_PARAMS;
    if (od < 0) {
      const int j = ns < ivd || !has_ivd ? ns : ns + 1;
      if (j >= ix->ndim || ix->dims[j] != up->dims[d]) return ER_ERR_SHAPE;
      ++ns;
    }
  }
  if (ns != ix->ndim - has_ivd) return ER_ERR_SHAPE;
  for (int k = 0; k < p->n_index; ++k)
    if (p->scatter_dims_to_operand_dims[k] < 0 || p->scatter_dims_to_operand_dims[k] >= x->ndim) return ER_ERR_PARAMS;
  if (y->bytes > 0 && (!y->data || !x->data)) return ER_ERR_PARAMS;
  if (y->data != x->data && y->bytes > 0) memmove(y->data, x->data, (size_t)y->bytes);
  if (up->count == 0 || y->count == 0) return ER_OK;
  const int64_t es = y->bytes / y->count;
  if (es < 1 || up->bytes != es * up->count || !up->data || !ix->data) return ER_ERR_SHAPE;
  int64_t u[8] = {0}, ui = 0;
  do {
    int64_t b[8], pos[8] = {0};
    ns = 0;
    for (int d = 0; d < up->ndim; ++d)
      if (p->window_operand_dim[d] < 0) b[ns++] = u[d];
    for (int k = 0; k < p->n_index; ++k) {
      int64_t at = 0;
      for (int j = 0; j < ix->ndim; ++j) at = at * ix->dims[j] + (j == ivd ? k : b[j < ivd ? j : j - 1]);
      const int64_t v = er_load_index(ix->data, at, ix->type == ER_INT32 ? 4 : 8);
      /* far outside stays far outside (no overflow when the window coordinates are added) */
      pos[p->scatter_dims_to_operand_dims[k]] = v < -((int64_t)1 << 40) ? -((int64_t)1 << 40)
                                                : (v > ((int64_t)1 << 40) ? ((int64_t)1 << 40) : v);
    }
    int inside = 1;
    for (int d = 0; d < up->ndim; ++d)
      if (p->window_operand_dim[d] >= 0) pos[p->window_operand_dim[d]] += u[d];
    for (int d = 0; d < y->ndim; ++d)
      if (pos[d] < 0 || pos[d] >= y->dims[d]) inside = 0;
    if (inside) {
      int64_t dst_at = 0;
      for (int d = 0; d < y->ndim; ++d) dst_at = dst_at * y->dims[d] + pos[d];
      uint8_t *dst = (uint8_t *)y->data + dst_at * es;
      const uint8_t *src = (const uint8_t *)up->data + ui * es;
      switch (y->type) {
        case ER_FLOAT32: {
          float acc, v;
          memcpy(&acc, dst, sizeof acc);
          memcpy(&v, src, sizeof v);
          if (p->fn == 0) {
            acc = v;
          } else {
            RW_FSTEP(acc, v)
          }
          memcpy(dst, &acc, sizeof acc);
          break;
        }
        case ER_FLOAT16: { /* in float32, rounded back to nearest-even */
          uint16_t h, w;
          memcpy(&h, dst, sizeof h);
          memcpy(&w, src, sizeof w);
          float acc = er_f16_to_f32(h);
          const float v = er_f16_to_f32(w);
          if (p->fn == 0) {
            acc = v;
          } else {
            RW_FSTEP(acc, v)
          }
          h = p->fn == 0 ? w : er_f32_to_f16(acc);
          memcpy(dst, &h, sizeof h);
          break;
        }
        case ER_BOOL: SC_APPLY(uint8_t, uint32_t); *dst = *dst != 0; break;
        case ER_INT8: SC_APPLY(int8_t, uint32_t); break;
        case ER_UINT8: SC_APPLY(uint8_t, uint32_t); break;
        case ER_INT16: SC_APPLY(int16_t, uint32_t); break;
        case ER_INT32: SC_APPLY(int32_t, uint32_t); break;
        case ER_INT64: SC_APPLY(int64_t, uint64_t); break;
        default: return ER_ERR_UNSUPPORTED;
      }
    }
    ++ui;
  } while (next_index(u, up->dims, up->ndim));
  return ER_OK;
}

/* -- STABLEHLO_CASE -------------------------------------------------------------------------------------- */
int er_ctl_case(const er_op *op) {
  const er_case_params *p = (const er_case_params *)op->params;
  if (p == NULL || p->n < 1 || p->n > 8 || op->n_in < 1 || op->in[0] == NULL) return ER_ERR_PARAMS;
  const er_tensor *ix = op->in[0];
  if (ix->type != ER_INT32 || ix->count != 1 || ix->data == NULL) return ER_ERR_SHAPE;
  int32_t k;
  memcpy(&k, ix->data, sizeof k);
  if (k < 0 || k >= p->n) k = p->n - 1;
  const er_plan *br = p->branches[k];
  if (br == NULL || br->n_inputs != op->n_in - 1 || br->n_outputs != op->n_out) return ER_ERR_PARAMS;
  int st;
  for (int32_t i = 0; i < br->n_inputs; ++i)
    if ((st = copy_bytes(br->inputs[i], op->in[i + 1])) != ER_OK) return st;
  if ((st = er_exec(br, 0, br->n_ops, NULL)) != ER_OK) return st;
  for (int32_t i = 0; i < op->n_out; ++i)
    if (op->out[i] != NULL && (st = copy_bytes(op->out[i], br->outputs[i])) != ER_OK) return st;
  return ER_OK;
}
