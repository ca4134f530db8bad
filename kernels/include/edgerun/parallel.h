/* Splitting one kernel's work over the worker threads of an er_pool (kernels/pool.c).
 *
 * A kernel calls er_parallel_for with the number of independent items it has (output rows, blocks of pixels,
 * panels of channels). When the plan runs under er_exec_pooled with a pool of two or more threads, the items
 * are split into ranges run at once by the calling thread and the workers; otherwise (one thread, no pool, a
 * device without threads, an op too small to gain) fn runs once on the calling thread over [0, n). Ranges are
 * disjoint, cover [0, n), and start at multiples of `grain`, so a kernel that aligns its tiles to the grain
 * computes every output exactly as it does alone: results never depend on the thread count.
 *
 * Each range gets scratch memory of op->scratch_bytes of its own: op->scratch on the calling thread, a
 * per-worker buffer of the pool elsewhere. Memory that the ranges share (a table built once per call) must
 * be written before the call and only read inside it.
 *
 * Not part of the cffi cdef. */
#ifndef EDGERUN_PARALLEL_H
#define EDGERUN_PARALLEL_H

#include "edgerun/core.h"

typedef void (*er_task_fn)(void *ctx, void *scratch, int64_t begin, int64_t end);

/* `cost`: the whole call's work in multiply-adds (or elements touched), below which threads do not pay */
void er_parallel_for(const er_op *op, int64_t n, int64_t grain, int64_t cost, er_task_fn fn, void *ctx);

#define ER_PARALLEL_MIN_COST ((int64_t)1 << 16)

/* elements of an elementwise op per range (a multiple of every vector width) */
#define ER_PARALLEL_ELEMENT_GRAIN 256

/* a * b * c for a cost estimate, saturating at INT64_MAX (sizes from a hostile plan may be large); 0 when a
 * factor is not positive */
static inline int64_t er_work3(int64_t a, int64_t b, int64_t c) {
  if (a <= 0 || b <= 0 || c <= 0) return 0;
  if (a > INT64_MAX / b) return INT64_MAX;
  a *= b;
  return a > INT64_MAX / c ? INT64_MAX : a * c;
}

#endif
