/* AVX2 form of kernels/ref/binary.c's float ADD, SUB, MUL (with the fused activation clamp), MAXIMUM and
 * MINIMUM, 16 elements per step on rows whose operands are contiguous or broadcast scalars; every other op or
 * stride goes to the reference kernel. The same IEEE operation per element (no FMA in these target attributes)
 * and the reference's comparisons: vmaxps(u, v) is exactly `u > v ? u : v` and vminps(u, v) `u < v ? u : v`
 * (the second operand when either is NaN or both are zeros), and the clamp `x < lo ? lo : (x > hi ? hi : x)`
 * is vmaxps(lo, vminps(hi, x)); so the results equal the reference's bit for bit. */
#include "edgerun/edgerun.h"
#include "edgerun/parallel.h"
#include "../opt/ukernels.h"

#if ER_HAVE_X86_UKERNELS
#include "../ref/broadcast.h"
#include "fixedpoint_avx2.h"

#define FB_ATTR __attribute__((target("avx2"), always_inline))

FB_ATTR static inline __m256 fb_op(int op, __m256 u, __m256 v, __m256 lo, __m256 hi) {
  __m256 r;
  switch (op) {
    case ER_BIN_ADD: r = _mm256_add_ps(u, v); break;
    case ER_BIN_SUB: r = _mm256_sub_ps(u, v); break;
    case ER_BIN_MUL: r = _mm256_mul_ps(u, v); break;
    case ER_BIN_MAX: return _mm256_max_ps(u, v);
    default: return _mm256_min_ps(u, v);
  }
  return _mm256_max_ps(lo, _mm256_min_ps(hi, r));
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

/* one row; sa, sb in {0, 1}; the op and the strides constants in each instance */
FB_ATTR static inline void fb_row(const int op, const int sa, const int sb, const float *a, const float *b, float *y,
                                  int64_t n, float lo, float hi) {
  const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi), ca = _mm256_set1_ps(a[0]), cb = _mm256_set1_ps(b[0]);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 a0 = sa ? _mm256_loadu_ps(a + i) : ca, a1 = sa ? _mm256_loadu_ps(a + i + 8) : ca;
    const __m256 b0 = sb ? _mm256_loadu_ps(b + i) : cb, b1 = sb ? _mm256_loadu_ps(b + i + 8) : cb;
    _mm256_storeu_ps(y + i, fb_op(op, a0, b0, vlo, vhi));
    _mm256_storeu_ps(y + i + 8, fb_op(op, a1, b1, vlo, vhi));
  }
  for (; i < n; ++i) y[i] = fb_op1(op, a[sa ? i : 0], b[sb ? i : 0], lo, hi);
}

#define FB_STRIDES(OP)                    \
  do {                                    \
    if (sa && sb)                         \
      fb_row(OP, 1, 1, a, b, y, n, lo, hi); \
    else if (sb)                          \
      fb_row(OP, 0, 1, a, b, y, n, lo, hi); \
    else if (sa)                          \
      fb_row(OP, 1, 0, a, b, y, n, lo, hi); \
    else                                  \
      fb_row(OP, 0, 0, a, b, y, n, lo, hi); \
  } while (0)

ER_ATTR_AVX2 static void fb_row_any(int op, const float *a, int64_t sa, const float *b, int64_t sb, float *y,
                                    int64_t n, float lo, float hi) {
  switch (op) {
    case ER_BIN_ADD: FB_STRIDES(ER_BIN_ADD); break;
    case ER_BIN_SUB: FB_STRIDES(ER_BIN_SUB); break;
    case ER_BIN_MUL: FB_STRIDES(ER_BIN_MUL); break;
    case ER_BIN_MAX: FB_STRIDES(ER_BIN_MAX); break;
    default: FB_STRIDES(ER_BIN_MIN); break;
  }
}
#undef FB_STRIDES

/* an element's cost in er_parallel_for's multiply-adds: a float ADD element takes about as long as 5 of a float
 * convolution's (AVX-512 FMA); 4 splits rows of 16384 elements or more, below which the split costs more than
 * it saves */
#define FB_ELEMENT_COST 4

/* elements [b, e) of one long row (contiguous operands), for er_parallel_for: each element on its own */
typedef struct fb_job {
  const er_binary_params *p;
  const float *a, *b;
  float *y;
} fb_job;

static void fb_row_task(void *ctx, void *scratch, int64_t b, int64_t e) {
  (void)scratch;
  const fb_job *j = (const fb_job *)ctx;
  fb_row_any(j->p->op, j->a + b, 1, j->b + b, 1, j->y + b, e - b, j->p->act_min, j->p->act_max);
}

int er_f32_binary__avx2(const er_op *op) {
  const er_binary_params *p = (const er_binary_params *)op->params;
  const er_tensor *ts[2] = {op->in[0], op->in[1]};
  er_tensor *y = op->out[0];
  if (p->op != ER_BIN_ADD && p->op != ER_BIN_SUB && p->op != ER_BIN_MUL && p->op != ER_BIN_MAX &&
      p->op != ER_BIN_MIN)
    return er_f32_binary(op);
  er_bcast bc;
  if (er_bcast_init(&bc, y, ts, 2)) return ER_ERR_SHAPE;
  const int64_t sa = bc.st[0][bc.n - 1], sb = bc.st[1][bc.n - 1];
  if (sa > 1 || sb > 1) return er_f32_binary(op);
  const float *a = (const float *)ts[0]->data, *b = (const float *)ts[1]->data;
  float *out = (float *)y->data;
  if (ts[0]->count == y->count && ts[1]->count == y->count && y->count > 0) { /* one long row, split */
    const fb_job j = {p, a, b, out};
    er_parallel_for(op, y->count, ER_PARALLEL_ELEMENT_GRAIN, er_work3(y->count, FB_ELEMENT_COST, 1),
                    fb_row_task, (void *)&j);
    return ER_OK;
  }
  int64_t idx[ER_MAX_DIMS] = {0}, off[2] = {0, 0};
  for (int64_t o = 0; o < bc.outer; ++o) {
    fb_row_any(p->op, a + off[0], sa, b + off[1], sb, out + o * bc.inner, bc.inner, p->act_min, p->act_max);
    er_bcast_next(&bc, idx, off, 2);
  }
  return ER_OK;
}
#else
typedef int er_binary_avx2_unused;
#endif
