/* GATHER and GATHER_ND (any_gather, any_gather_nd): generic on the element size, int16/int32/int64
 * indices. Indices are data, so their range is checked here at run time (ER_ERR_INDEX), as TFLite does. */
#include <string.h>

#include "edgerun/edgerun.h"
#include "index_load.h"

int er_any_gather(const er_op *op) {
  const er_gather_params *p = (const er_gather_params *)op->params;
  const er_tensor *x = op->in[0], *ix = op->in[1];
  er_tensor *y = op->out[0];
  if (p == NULL || (p->idx_size != 2 && p->idx_size != 4 && p->idx_size != 8)) return ER_ERR_PARAMS;
  if (p->batch < 0 || p->outer < 0 || p->coord < 0 || p->inner_bytes < 0 || p->n_idx < 0) return ER_ERR_PARAMS;
  if (x->bytes != p->batch * p->outer * p->coord * p->inner_bytes) return ER_ERR_SHAPE;
  if (ix->bytes != p->batch * p->n_idx * p->idx_size) return ER_ERR_SHAPE;
  if (y->bytes != p->batch * p->outer * p->n_idx * p->inner_bytes) return ER_ERR_SHAPE;
  const unsigned char *src = (const unsigned char *)x->data;
  unsigned char *dst = (unsigned char *)y->data;
  const size_t w = (size_t)p->inner_bytes;
  for (int64_t b = 0; b < p->batch; b++) {
    for (int64_t o = 0; o < p->outer; o++) {
      const unsigned char *plane = src + (size_t)((b * p->outer + o) * p->coord) * w;
      for (int64_t i = 0; i < p->n_idx; i++) {
        const int64_t c = er_load_index(ix->data, b * p->n_idx + i, p->idx_size);
        if (c < 0 || c >= p->coord) return ER_ERR_INDEX;
        if (w) memcpy(dst, plane + (size_t)c * w, w);
        dst += w;
      }
    }
  }
  return ER_OK;
}

int er_any_gather_nd(const er_op *op) {
  const er_gather_nd_params *p = (const er_gather_nd_params *)op->params;
  const er_tensor *x = op->in[0], *ix = op->in[1];
  er_tensor *y = op->out[0];
  if (p == NULL || p->k < 0 || p->k > ER_MAX_DIMS || p->n < 0 || p->slice_elems < 0 || p->elem_size < 1)
    return ER_ERR_PARAMS;
  if (p->idx_size != 2 && p->idx_size != 4 && p->idx_size != 8) return ER_ERR_PARAMS;
  const size_t es = (size_t)p->elem_size;
  if (x->bytes != x->count * (int64_t)es || ix->bytes != p->n * p->k * p->idx_size) return ER_ERR_SHAPE;
  if (y->bytes != p->n * p->slice_elems * (int64_t)es) return ER_ERR_SHAPE;
  const unsigned char *src = (const unsigned char *)x->data;
  unsigned char *dst = (unsigned char *)y->data;
  const size_t w = (size_t)p->slice_elems * es;
  for (int64_t i = 0; i < p->n; i++) {
    /* TFLite checks only the flat position; terms are bounded first so the sum cannot overflow. */
    int64_t pos = 0;
    for (int j = 0; j < p->k; j++) {
      const int64_t v = er_load_index(ix->data, i * p->k + j, p->idx_size);
      const int64_t limit = INT64_MAX / 8 / (p->strides[j] > 0 ? p->strides[j] : 1);
      if (v > limit || v < -limit) return ER_ERR_INDEX;
      pos += v * p->strides[j];
    }
    if (pos < 0 || pos + p->slice_elems > x->count) return ER_ERR_INDEX;
    if (w) memcpy(dst, src + (size_t)pos * es, w);
    dst += w;
  }
  return ER_OK;
}
