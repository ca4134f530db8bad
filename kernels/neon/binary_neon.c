/* NEON form of kernels/ref/binary.c's float ADD, SUB, MUL (with the fused activation clamp), MAXIMUM and
 * MINIMUM, 8 elements per step on rows whose operands are contiguous or broadcast scalars; every other op, type
 * or stride goes to the reference kernel. The same IEEE operation per element and the reference's comparisons
 * (`x < lo ? lo : ...`, `u > v ? u : v`, NaN handled alike), so AArch64 results equal the reference's bit for
 * bit; ARMv7's NEON flushes subnormal inputs and results to zero (AArch32 Advanced SIMD always does), the
 * reference's VFP code does not. */
#include "edgerun/edgerun.h"
#include "../opt/ukernels.h"

#if ER_HAVE_NEON_UKERNELS
#include <arm_neon.h>

#include "../ref/broadcast.h"
#include "f32_neon.h"

static inline float32x4_t fb_op(int op, float32x4_t u, float32x4_t v, float32x4_t lo, float32x4_t hi) {
  float32x4_t r;
  switch (op) {
    case ER_BIN_ADD: r = vaddq_f32(u, v); break;
    case ER_BIN_SUB: r = vsubq_f32(u, v); break;
    case ER_BIN_MUL: r = vmulq_f32(u, v); break;
    case ER_BIN_MAX: return qn_sel_gt_f32(u, v);
    default: return vbslq_f32(qn_cgt_f32(v, u), u, v); /* ER_BIN_MIN: u < v ? u : v */
  }
  return qn_clamp_f32(r, lo, hi);
}

static inline float fb_op1(int op, float u, float v, float lo, float hi) {
  float r;
  switch (op) {
    case ER_BIN_ADD: r = u + v; break;
    case ER_BIN_SUB: r = u - v; break;
    case ER_BIN_MUL: r = u * v; break;
    case ER_BIN_MAX: return u > v ? u : v;
    default: return u < v ? u : v;
  }
  return r < lo ? lo : (r > hi ? hi : r);
}

/* one row; sa, sb in {0, 1}; the op and the strides constants
 * in each instance. Pointer-sized counters: 64-bit ones cost pairs of instructions on ARMv7. */
static inline __attribute__((always_inline)) void fb_row(const int op, const int sa, const int sb, const float *a,
                                                         const float *b, float *y, intptr_t n, float lo, float hi) {
  const float32x4_t vlo = vdupq_n_f32(lo), vhi = vdupq_n_f32(hi), ca = vdupq_n_f32(a[0]), cb = vdupq_n_f32(b[0]);
  intptr_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const float32x4_t a0 = sa ? vld1q_f32(a + i) : ca, a1 = sa ? vld1q_f32(a + i + 4) : ca;
    const float32x4_t b0 = sb ? vld1q_f32(b + i) : cb, b1 = sb ? vld1q_f32(b + i + 4) : cb;
    vst1q_f32(y + i, fb_op(op, a0, b0, vlo, vhi));
    vst1q_f32(y + i + 4, fb_op(op, a1, b1, vlo, vhi));
  }
  for (; i < n; ++i) y[i] = fb_op1(op, a[sa ? i : 0], b[sb ? i : 0], lo, hi);
}

#define FB_STRIDES(OP)                                                  \
  do {                                                                  \
    if (sa && sb)                                                       \
      fb_row(OP, 1, 1, a, b, y, n, lo, hi);                             \
    else if (sb)                                                        \
      fb_row(OP, 0, 1, a, b, y, n, lo, hi);                             \
    else if (sa)                                                        \
      fb_row(OP, 1, 0, a, b, y, n, lo, hi);                             \
    else                                                                \
      fb_row(OP, 0, 0, a, b, y, n, lo, hi);                             \
  } while (0)

static void fb_row_any(int op, const float *a, int64_t sa, const float *b, int64_t sb, float *y, intptr_t n, float lo,
                       float hi) {
  switch (op) {
    case ER_BIN_ADD: FB_STRIDES(ER_BIN_ADD); break;
    case ER_BIN_SUB: FB_STRIDES(ER_BIN_SUB); break;
    case ER_BIN_MUL: FB_STRIDES(ER_BIN_MUL); break;
    case ER_BIN_MAX: FB_STRIDES(ER_BIN_MAX); break;
    default: FB_STRIDES(ER_BIN_MIN); break;
  }
}
#undef FB_STRIDES

static void fb_rows(int op, const er_bcast *bc, const float *a, const float *b, float *y, float lo, float hi) {
  const int64_t sa = bc->st[0][bc->n - 1], sb = bc->st[1][bc->n - 1];
  int64_t idx[ER_MAX_DIMS] = {0}, off[2] = {0, 0};
  for (int64_t o = 0; o < bc->outer; ++o) {
    fb_row_any(op, a + off[0], sa, b + off[1], sb, y + o * bc->inner, (intptr_t)bc->inner, lo, hi);
    er_bcast_next(bc, idx, off, 2);
  }
}

int er_f32_binary__neon(const er_op *op) {
  const er_binary_params *p = (const er_binary_params *)op->params;
  const er_tensor *ts[2] = {op->in[0], op->in[1]};
  er_tensor *y = op->out[0];
  if (p->op != ER_BIN_ADD && p->op != ER_BIN_SUB && p->op != ER_BIN_MUL && p->op != ER_BIN_MAX &&
      p->op != ER_BIN_MIN)
    return er_f32_binary(op);
  er_bcast bc;
  if (er_bcast_init(&bc, y, ts, 2)) return ER_ERR_SHAPE;
  if (bc.st[0][bc.n - 1] > 1 || bc.st[1][bc.n - 1] > 1) return er_f32_binary(op);
  const float *a = (const float *)ts[0]->data, *b = (const float *)ts[1]->data;
  float *out = (float *)y->data;
  if (ts[0]->count == y->count && ts[1]->count == y->count && y->count > 0) { /* one long row */
    er_bcast one = bc;
    one.n = 1, one.inner = y->count, one.outer = 1, one.st[0][0] = one.st[1][0] = 1;
    fb_rows(p->op, &one, a, b, out, p->act_min, p->act_max);
    return ER_OK;
  }
  fb_rows(p->op, &bc, a, b, out, p->act_min, p->act_max);
  return ER_OK;
}
#else
typedef int er_binary_neon_unused;
#endif
