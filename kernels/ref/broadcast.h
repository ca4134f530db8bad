/* Broadcasting iteration shared by elementwise kernels: numpy rules, up to ER_MAX_DIMS dimensions. The output
 * is walked in rows of its last dimension; each operand advances by its own strides (0 where broadcast). */
#ifndef EDGERUN_REF_BROADCAST_H
#define EDGERUN_REF_BROADCAST_H
#include <stdint.h>

#include "edgerun/core.h"

typedef struct er_bcast {
  int n;                     /* output rank, at least 1 */
  int64_t dims[ER_MAX_DIMS]; /* output dims */
  int64_t st[3][ER_MAX_DIMS];/* element strides of up to three operands */
  int64_t inner;             /* dims[n-1] */
  int64_t outer;             /* count / inner */
} er_bcast;

/* Returns 0 on success, ER_ERR_SHAPE if an operand does not broadcast to the output. */
static inline int er_bcast_init(er_bcast *bc, const er_tensor *y, const er_tensor *const *ops, int n_ops) {
  int n = y->ndim > 0 ? y->ndim : 1;
  bc->n = n;
  for (int i = 0; i < n; ++i) bc->dims[i] = y->ndim > 0 ? y->dims[i] : 1;
  for (int k = 0; k < n_ops; ++k) {
    const er_tensor *t = ops[k];
    int off = n - t->ndim;
    if (off < 0) return ER_ERR_SHAPE;
    int64_t s = 1;
    for (int i = n - 1; i >= 0; --i) {
      int j = i - off;
      int64_t d = j >= 0 ? t->dims[j] : 1;
      if (d != 1 && d != bc->dims[i]) return ER_ERR_SHAPE;
      bc->st[k][i] = d == 1 ? 0 : s;
      s *= d;
    }
  }
  bc->inner = bc->dims[n - 1];
  bc->outer = bc->inner ? y->count / bc->inner : 0;
  return ER_OK;
}

/* Advance the row counter `idx` and the operand offsets after one output row. */
static inline void er_bcast_next(const er_bcast *bc, int64_t *idx, int64_t *off, int n_ops) {
  for (int d = bc->n - 2; d >= 0; --d) {
    idx[d]++;
    for (int k = 0; k < n_ops; ++k) off[k] += bc->st[k][d];
    if (idx[d] < bc->dims[d]) return;
    for (int k = 0; k < n_ops; ++k) off[k] -= bc->st[k][d] * bc->dims[d];
    idx[d] = 0;
  }
}

#endif
