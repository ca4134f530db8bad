/* Fast RESIZE_BILINEAR for float32 and int8 (f32_resize_bilinear_opt, s8_resize_bilinear_opt): the reference
 * kernels' arithmetic (kernels/ref/shape_resize.c; results identical, float included: same products and sums in
 * the same order, no fused multiply-add), with the source rows, columns and weights of every output row and
 * column computed once per call into scratch, and each output pixel's channels done by a micro-kernel: AVX2
 * (kernels/x86/resize_avx2.c) when the AVX2 micro-kernels are selected, else the portable loops below. Output
 * rows are split over the pool's threads. Scratch: per output column two source offsets (int64) and a weight
 * (float or int32), per output row two source rows and a weight. */
#include <string.h>

#include "edgerun/edgerun.h"
#include "edgerun/fixedpoint.h"
#include "edgerun/parallel.h"
#include "../ref/resize_coord.h"
#include "resize_ukernels.h"

static void f32_px_portable(const float *r00, const float *r01, const float *r10, const float *r11, float wy0,
                            float wy1, float wx0, float wx1, int64_t C, float *y) {
  for (int64_t c = 0; c < C; ++c) y[c] = er_rz_f32_1(r00[c], r01[c], r10[c], r11[c], wy0, wy1, wx0, wx1);
}

static void s8_px_portable(const int8_t *r00, const int8_t *r01, const int8_t *r10, const int8_t *r11, int32_t fy,
                           int32_t fx, int64_t C, int single, int8_t *y) {
  for (int64_t c = 0; c < C; ++c) y[c] = er_rz_s8_1(r00[c], r01[c], r10[c], r11[c], fy, fx, single);
}

typedef struct rz_job {
  const uint8_t *x;
  uint8_t *y;
  int64_t ih, iw, c, oh, ow, esize;
  const int64_t *col;  /* [ow][2]: byte offsets of the two source columns */
  const int64_t *row;  /* [oh][2]: the two source rows */
  const float *fw;     /* float: [ow] dx, [oh] dy */
  const int32_t *qw;   /* int8: [ow] fx, [oh] fy */
  er_rz_f32_px_fn f32_px;
  er_rz_s8_px_fn s8_px;
  int single;
} rz_job;

/* output rows [b, e) over images and rows */
static void rz_task(void *ctx, void *scratch, int64_t b, int64_t e) {
  (void)scratch;
  const rz_job *j = (const rz_job *)ctx;
  const int64_t rowb = j->iw * j->c * j->esize, pixb = j->c * j->esize;
  for (int64_t r = b; r < e; ++r) {
    const int64_t n = r / j->oh, oy = r % j->oh;
    const uint8_t *img = j->x + n * j->ih * rowb;
    const uint8_t *s0 = img + j->row[2 * oy] * rowb, *s1 = img + j->row[2 * oy + 1] * rowb;
    uint8_t *out = j->y + r * j->ow * pixb;
    for (int64_t ox = 0; ox < j->ow; ++ox, out += pixb) {
      const int64_t a = j->col[2 * ox], c = j->col[2 * ox + 1];
      if (j->f32_px) {
        const float dy = j->fw[j->ow + oy], dx = j->fw[ox];
        j->f32_px((const float *)(s0 + a), (const float *)(s0 + c), (const float *)(s1 + a), (const float *)(s1 + c),
                  1 - dy, dy, 1 - dx, dx, j->c, (float *)out);
      } else {
        j->s8_px((const int8_t *)(s0 + a), (const int8_t *)(s0 + c), (const int8_t *)(s1 + a),
                 (const int8_t *)(s1 + c), j->qw[j->ow + oy], j->qw[ox], j->c, j->single, (int8_t *)out);
      }
    }
  }
}

static int resize_opt(const er_op *op, int32_t type) {
  const er_tensor *x = op->in[0];
  const er_tensor *y = op->out[0];
  const er_resize_params *p = (const er_resize_params *)op->params;
  if (p == NULL) return ER_ERR_PARAMS;
  if (x->type != type || y->type != type) return ER_ERR_UNSUPPORTED;
  if (x->ndim != 4 || y->ndim != 4 || x->dims[0] != y->dims[0] || x->dims[3] != y->dims[3]) return ER_ERR_SHAPE;
  const int64_t N = x->dims[0], IH = x->dims[1], IW = x->dims[2], C = x->dims[3], OH = y->dims[1], OW = y->dims[2];
  if (x->count != N * IH * IW * C || y->count != N * OH * OW * C) return ER_ERR_SHAPE;
  if (y->count == 0) return ER_OK;
  if (IH <= 0 || IW <= 0) return ER_ERR_SHAPE;
  if (op->scratch_bytes < 20 * (OW + OH)) return ER_ERR_PARAMS;
  const int64_t esize = type == ER_FLOAT32 ? 4 : 1;
  int64_t *col = (int64_t *)op->scratch, *row = col + 2 * OW;
  float *fw = (float *)(row + 2 * OH);
  int32_t *qw = (int32_t *)fw;
  const int half = p->half_pixel_centers, align = p->align_corners;
  if (type == ER_FLOAT32) {
    const float hs = er_rz_f_scale(IH, OH, align), ws = er_rz_f_scale(IW, OW, align);
    for (int64_t ox = 0; ox < OW; ++ox) {
      float ix;
      int64_t x0, x1;
      er_rz_f_coord(ox, ws, half, IW, &ix, &x0, &x1);
      col[2 * ox] = x0 * C * esize;
      col[2 * ox + 1] = x1 * C * esize;
      fw[ox] = ix - (float)x0;
    }
    for (int64_t oy = 0; oy < OH; ++oy) {
      float iy;
      er_rz_f_coord(oy, hs, half, IH, &iy, &row[2 * oy], &row[2 * oy + 1]);
      fw[OW + oy] = iy - (float)row[2 * oy];
    }
  } else {
    const int64_t hs = er_rz_q_scale(IH, OH, align), ws = er_rz_q_scale(IW, OW, align);
    for (int64_t ox = 0; ox < OW; ++ox) {
      int64_t ix, x0, x1;
      er_rz_q_coord(ox, ws, half, IW, &ix, &x0, &x1);
      col[2 * ox] = x0 * C;
      col[2 * ox + 1] = x1 * C;
      qw[ox] = (int32_t)(ix - (1 << 10) * x0);
    }
    for (int64_t oy = 0; oy < OH; ++oy) {
      int64_t iy;
      er_rz_q_coord(oy, hs, half, IH, &iy, &row[2 * oy], &row[2 * oy + 1]);
      qw[OW + oy] = (int32_t)(iy - (1 << 10) * row[2 * oy]);
    }
  }
  rz_job j = {(const uint8_t *)x->data, (uint8_t *)y->data, IH, IW, C, OH, OW, esize, col, row, fw, qw,
              NULL, NULL, er_rounding_mode == ER_ROUND_SINGLE};
  if (type == ER_FLOAT32) {
    j.f32_px = f32_px_portable;
#if ER_HAVE_X86_UKERNELS
    if (er_qc_selected == &er_qc_ukernels_avx2) j.f32_px = er_rz_f32_px_avx2; /* the AVX2 micro-kernels */
#endif
  } else {
    j.s8_px = s8_px_portable;
#if ER_HAVE_X86_UKERNELS
    if (er_qc_selected == &er_qc_ukernels_avx2) j.s8_px = er_rz_s8_px_avx2;
#endif
  }
  er_parallel_for(op, N * OH, 1, er_work3(y->count, 4, 1), rz_task, (void *)&j);
  return ER_OK;
}

int er_f32_resize_bilinear_opt(const er_op *op) { return resize_opt(op, ER_FLOAT32); }
int er_s8_resize_bilinear_opt(const er_op *op) { return resize_opt(op, ER_INT8); }
