/* In-place int8 convolutions for Cortex-M (the output overwrites the input's bytes), bit-exact with
 * kernels/ref/q_conv_inplace.c (the definition, whose header comment explains the orders that make in place
 * safe): the same orders, with the arithmetic of kernels/cortexm/q_conv.h. DSP (M4, M7, M33) and Helium
 * (M55) as selected by edgerun/isa.h; the public names are these only when it selects a Cortex-M ISA.
 *
 * s8_dwconv2d_inplace: the reference's ring of input rows (same rows, same slots, same copies), each output
 * pixel computed by er_cm_dw_pixel with its tap rows taken from the ring or the buffer. The ring starts at
 * the scratch's first byte; the reference's scratch (14 * C + R * W * C) is what it asks, though only the
 * ring is used.
 * s8_conv2d_1x1_inplace: two pixels at a time (forward when OC <= IC, backward otherwise): both columns
 * are packed into scratch (er_cm_pack_col: int16 offset form on DSP, int8 on MVE) before the GEMM writes
 * their outputs, so the pair's outputs may cover its own inputs. Two columns need 4 * IC (DSP) or 2 * IC
 * (MVE) bytes of the reference's 8 * OC + 2 * IC; when only one fits (DSP, IC > 4 * OC), one pixel at a time.
 * Falls back to the reference body: other types, shape and parameter errors (the reference reports them),
 * empty tensors, too little scratch, geometry beyond int32 (er_cm_geometry_ok), depthwise kernels taller than
 * ER_CM_DW_ROWS and (MVE, 1x1) input offsets outside [-127, 128]. */
#include "q_conv.h"

#if ER_ISA_CORTEXM

int er_s8_dwconv2d_inplace(const er_op *op); /* kernels/list/q_conv.inc */
int er_s8_conv2d_1x1_inplace(const er_op *op);
int er_ref_s8_dwconv2d_inplace(const er_op *op); /* kernels/ref/q_conv_inplace.c */
int er_ref_s8_conv2d_1x1_inplace(const er_op *op);

/* the last input row output row oh covers (its bytes end at (oh + 1) * OW * C) */
static inline int32_t covered_row(int32_t oh, int32_t H, int32_t W, int32_t OW) {
  const int32_t hi = ((oh + 1) * OW + W - 1) / W - 1;
  return hi < H - 1 ? hi : H - 1;
}

/* ring rows (ring_rows in the reference, runtime/inplace.py) */
static int32_t ring_rows(int32_t H, int32_t W, int32_t OH, int32_t OW, int32_t stride, int32_t pad_top) {
  int32_t R = 0;
  for (int32_t oh = 0; oh < OH; ++oh) {
    const int32_t lo = oh * stride - pad_top;
    const int32_t n = covered_row(oh, H, W, OW) - (lo > 0 ? lo : 0) + 1;
    if (n > R) R = n;
  }
  return R;
}

int er_s8_dwconv2d_inplace(const er_op *op) {
  const er_qconv_params *p = (const er_qconv_params *)op->params;
  const er_tensor *x = op->in[0], *w = op->in[1];
  const er_tensor *b = op->n_in > 2 ? op->in[2] : NULL;
  er_tensor *y = op->out[0];
  if (x->type != ER_INT8 || y->type != ER_INT8 || w->type != ER_INT8 || p->depth_multiplier != 1 ||
      w->dims[3] != x->dims[3] || y->dims[3] != x->dims[3] || y->dims[0] != x->dims[0] || y->dims[1] > x->dims[1] ||
      y->dims[2] > x->dims[2] || y->count <= 0 || !er_cm_geometry_ok(p, x, w, y) || w->dims[1] > ER_CM_DW_ROWS)
    return er_ref_s8_dwconv2d_inplace(op); /* including its errors and empty outputs */
  const int32_t B = x->dims[0], H = x->dims[1], W = x->dims[2], C = x->dims[3];
  const int32_t KH = w->dims[1], KW = w->dims[2], OH = y->dims[1], OW = y->dims[2];
  const int32_t R = ring_rows(H, W, OH, OW, p->stride_h, p->pad_top), row_bytes = W * C;
  if (op->scratch_bytes < 14 * (int64_t)C + (int64_t)R * row_bytes) return er_ref_s8_dwconv2d_inplace(op);
  int8_t *ring = (int8_t *)op->scratch;
  const er_cm_rq rq = er_cm_rq_make(p, b, C);
  const int8_t *wd = (const int8_t *)w->data;
  /* a dilation at least the width leaves one tap column inside: its step is never taken */
  const int32_t xcol = p->dil_w < W ? p->dil_w * C : 0, wrow = KW * C;
  const int8_t *rows[ER_CM_DW_ROWS];
  for (int32_t n = 0; n < B; ++n) {
    const int8_t *xb = (const int8_t *)x->data + n * H * row_bytes;
    int8_t *yp = (int8_t *)y->data + n * OH * OW * C;
    int32_t saved = -1; /* every row <= saved that is still needed is in the ring */
    for (int32_t oh = 0; oh < OH; ++oh) {
      const int32_t hi = covered_row(oh, H, W, OW), ih0 = oh * p->stride_h - p->pad_top;
      for (int32_t r = saved + 1; r <= hi; ++r)
        if (r >= ih0) memcpy(ring + (r % R) * row_bytes, xb + r * row_bytes, (size_t)row_bytes);
      if (hi > saved) saved = hi;
      int32_t kh0, kh1;
      er_cm_tap_range(ih0, p->dil_h, KH, H, &kh0, &kh1);
      for (int32_t i = 0; i < kh1 - kh0; ++i) {
        const int32_t ih = ih0 + (kh0 + i) * p->dil_h;
        rows[i] = ih <= saved ? ring + (ih % R) * row_bytes : xb + ih * row_bytes;
      }
      for (int32_t ow = 0; ow < OW; ++ow, yp += C) {
        const int32_t iw0 = ow * p->stride_w - p->pad_left;
        int32_t kw0, kw1;
        er_cm_tap_range(iw0, p->dil_w, KW, W, &kw0, &kw1);
        const int inside = kh1 > kh0 && kw1 > kw0; /* else no tap: no pointer outside the input */
        er_cm_dw_pixel(rows, inside ? (iw0 + kw0 * p->dil_w) * C : 0, inside ? wd + (kh0 * KW + kw0) * C : wd, C,
                       inside ? kh1 - kh0 : 0, kw1 - kw0, xcol, wrow, p->input_offset, &rq, yp);
      }
    }
  }
  return ER_OK;
}

int er_s8_conv2d_1x1_inplace(const er_op *op) {
  const er_qconv_params *p = (const er_qconv_params *)op->params;
  const er_tensor *x = op->in[0], *w = op->in[1];
  const er_tensor *b = op->n_in > 2 ? op->in[2] : NULL;
  er_tensor *y = op->out[0];
  const int64_t IC64 = x->dims[3], OC64 = w->dims[0];
  if (x->type != ER_INT8 || y->type != ER_INT8 || w->type != ER_INT8 || x->ndim != 4 || y->ndim != 4 ||
      w->dims[1] != 1 || w->dims[2] != 1 || w->dims[3] != IC64 || y->dims[3] != OC64 || x->dims[0] != y->dims[0] ||
      x->dims[1] != y->dims[1] || x->dims[2] != y->dims[2] || p->groups != 1 || p->stride_h != 1 ||
      p->stride_w != 1 || p->pad_top != 0 || p->pad_left != 0 || op->scratch_bytes < 8 * OC64 + 2 * IC64 ||
      x->count <= 0 || y->count <= 0 || !er_cm_small(x) || !er_cm_small(w) || !er_cm_small(y) ||
      (ER_ISA_ARM_MVE && (p->input_offset < -127 || p->input_offset > 128)))
    return er_ref_s8_conv2d_1x1_inplace(op); /* including its errors and empty tensors */
  const int32_t IC = (int32_t)IC64, OC = (int32_t)OC64, P = (int32_t)(x->count / IC64);
  const int64_t col_bytes = (int64_t)sizeof(er_cm_col_t) * IC;
  const int32_t maxcols = op->scratch_bytes >= 2 * col_bytes ? 2 : 1;
  const int forward = OC <= IC;
  er_cm_col_t *cols = (er_cm_col_t *)op->scratch;
  const er_cm_rq rq = er_cm_rq_make(p, b, OC);
  const int8_t *xd = (const int8_t *)x->data, *wd = (const int8_t *)w->data;
  int8_t *yd = (int8_t *)y->data;
  for (int32_t k = 0; k < P; k += maxcols) {
    const int32_t ncols = P - k < maxcols ? P - k : maxcols;
    const int32_t px = forward ? k : P - k - ncols; /* the group's first pixel */
    for (int32_t j = 0; j < ncols; ++j) er_cm_pack_col(xd + (px + j) * IC, IC, 0, IC, p->input_offset, cols + j * IC);
    er_cm_s8_gemm(cols, ncols, IC, p->input_offset, wd, OC, 0, &rq, yd + px * OC, yd + (px + ncols - 1) * OC);
  }
  return ER_OK;
}

#endif
