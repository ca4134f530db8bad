/* The strided view of the reduction kernels (er_reduce_params, er_q_reduce_params): an odometer over up to
 * ER_REDUCE_MAX_DIMS dims that yields element offsets in row-major order, and the check that a view stays
 * inside its input. */
#ifndef EDGERUN_REF_REDUCE_VIEW_H
#define EDGERUN_REF_REDUCE_VIEW_H
#include <stdint.h>

#include "edgerun/core.h"
#include "edgerun/ops_reduce.h"

typedef struct er_odometer {
  int32_t n;
  const int64_t *dims;
  const int64_t *strides;
  int64_t idx[ER_REDUCE_MAX_DIMS];
  int64_t off; /* offset of the current position */
} er_odometer;

static inline void er_odo_init(er_odometer *o, int32_t n, const int64_t *dims, const int64_t *strides) {
  o->n = n;
  o->dims = dims;
  o->strides = strides;
  o->off = 0;
  for (int32_t k = 0; k < ER_REDUCE_MAX_DIMS; ++k) o->idx[k] = 0;
}

/* Advance to the next position in row-major order (wraps to 0 after the last). */
static inline void er_odo_next(er_odometer *o) {
  for (int32_t k = o->n - 1; k >= 0; --k) {
    o->off += o->strides[k];
    if (++o->idx[k] < o->dims[k]) return;
    o->off -= o->strides[k] * o->dims[k];
    o->idx[k] = 0;
  }
}

/* 1 when a view is consistent: dims non-negative with products n_out and n_red, strides non-negative, and
 * (unless empty) its last element inside an input of in_count elements. Overflow-safe for in_count < 2^62. */
static inline int er_reduce_view_ok(int64_t n_out, int64_t n_red, int32_t n_od, const int64_t *od,
                                    const int64_t *os, int32_t n_rd, const int64_t *rd, const int64_t *rs,
                                    int64_t in_count) {
  if (n_od < 0 || n_od > ER_REDUCE_MAX_DIMS || n_rd < 0 || n_rd > ER_REDUCE_MAX_DIMS) return 0;
  int64_t po = 1, pr = 1, last = 0;
  const int64_t big = (int64_t)1 << 62;
  for (int32_t k = 0; k < n_od + n_rd; ++k) {
    const int64_t d = k < n_od ? od[k] : rd[k - n_od], s = k < n_od ? os[k] : rs[k - n_od];
    if (d < 0 || s < 0 || s > big || (d && (k < n_od ? po : pr) > big / d)) return 0;
    if (k < n_od) po *= d; else pr *= d;
    if (d > 1 && s > (big - last) / (d - 1)) return 0;
    if (d > 0) last += (d - 1) * s;
  }
  if (po != n_out || pr != n_red) return 0;
  return n_out == 0 || n_red == 0 || last < in_count;
}

#define ER_REDUCE_VIEW_OK(p, in_count)                                                                    \
  er_reduce_view_ok((p)->n_out, (p)->n_red, (p)->n_out_dims, (p)->out_dims, (p)->out_strides,             \
                    (p)->n_red_dims, (p)->red_dims, (p)->red_strides, (in_count))

#endif
