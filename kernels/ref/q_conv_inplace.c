/* In-place int8 convolutions: the output overwrites the input's bytes (y->data == x->data), so a plan needs
 * one activation buffer where s8_dwconv2d / s8_conv2d need two. runtime/inplace.py chooses them (for
 * microcontroller plans) when the input dies at the op. Same arithmetic as the reference kernels in
 * q_conv.c (exact integer dot products, er_qc_requant with the op's rounding mode), so bit-exact with them;
 * both kernels also run correctly out of place (y->data != x->data), which the tests use.
 *
 * s8_dwconv2d_inplace (depthwise, multiplier 1, OH <= H, OW <= W), after MIT TinyEngine's in-place
 * depthwise: output rows are computed in order; output row oh covers the bytes of input rows up to
 * hi(oh) = ceil((oh + 1) * OW / W) - 1, and rows from lo(oh) = oh * stride - pad_top on are still needed
 * (by row oh or later ones: lo never decreases). Before row oh is written, the rows in (saved, hi(oh)] that
 * are >= lo(oh) are copied into a ring of R = max over oh of hi(oh) - lo(oh) + 1 rows (kernel_h - 1 rows
 * for a stride-1 SAME 3x3), slot r % R; taps read a row from the ring once it is at or below `saved`,
 * else from the buffer. A row leaves the ring only after falling below lo, so R rows suffice.
 * Scratch: int64 acc[C], int32 acc32[C], int16 xi[C], then the ring (R * W * C bytes).
 *
 * s8_conv2d_1x1_inplace (1x1 kernel, stride 1, no padding, groups 1): one pixel at a time, its IC inputs
 * loaded into scratch before its OC outputs are written at pixel * OC. Forward when OC <= IC (pixel p's
 * output ends at (p + 1) * OC <= (p + 1) * IC, before any later input pixel), backward when OC > IC
 * (p * OC >= (q + 1) * IC for every earlier pixel q); the buffer holds max(in, out) bytes.
 * Scratch: int64 acc[OC], int16 xi[IC]. */
#include <string.h>

#include "edgerun/edgerun.h"
#include "edgerun/fixedpoint_conv.h"
#include "edgerun/isa.h"

/* Ring rows s8_dwconv2d_inplace needs (runtime/inplace.py computes the same figure). */
static int64_t ring_rows(int64_t H, int64_t W, int64_t OH, int64_t OW, int64_t stride, int64_t pad_top) {
  int64_t R = 0;
  for (int64_t oh = 0; oh < OH; ++oh) {
    int64_t hi = ((oh + 1) * OW + W - 1) / W - 1;
    if (hi > H - 1) hi = H - 1;
    int64_t lo = oh * stride - pad_top;
    if (lo < 0) lo = 0;
    if (hi - lo + 1 > R) R = hi - lo + 1;
  }
  return R;
}

static int dwconv2d_inplace(const er_op *op) {
  const er_qconv_params *p = (const er_qconv_params *)op->params;
  const er_tensor *x = op->in[0], *w = op->in[1];
  const er_tensor *b = op->n_in > 2 ? op->in[2] : NULL;
  er_tensor *y = op->out[0];
  if (x->type != ER_INT8 || y->type != ER_INT8 || w->type != ER_INT8) return ER_ERR_UNSUPPORTED;
  const int64_t B = x->dims[0], H = x->dims[1], W = x->dims[2], C = x->dims[3];
  const int64_t KH = w->dims[1], KW = w->dims[2];
  const int64_t OH = y->dims[1], OW = y->dims[2];
  if (p->depth_multiplier != 1 || w->dims[3] != C || y->dims[3] != C || y->dims[0] != B) return ER_ERR_SHAPE;
  if (OH > H || OW > W || p->stride_h < 1) return ER_ERR_SHAPE;
  if (B * OH * OW * C == 0) return ER_OK;
  const int64_t R = ring_rows(H, W, OH, OW, p->stride_h, p->pad_top), row_bytes = W * C;
  if (op->scratch_bytes < 14 * C + R * row_bytes) return ER_ERR_PARAMS;
  int64_t *acc = (int64_t *)op->scratch;
  int32_t *acc32 = (int32_t *)(acc + C);
  int16_t *xi = (int16_t *)(acc32 + C);
  int8_t *ring = (int8_t *)(xi + C);
  const int narrow = KH * KW <= INT32_MAX / (255 * 255);
  const int8_t *wd = (const int8_t *)w->data;
  for (int64_t n = 0; n < B; ++n) {
    const int8_t *xb = (const int8_t *)x->data + n * H * row_bytes;
    const int64_t y_at = n * OH * OW * C;
    int64_t saved = -1; /* every row <= saved that is still needed is in the ring */
    for (int64_t oh = 0; oh < OH; ++oh) {
      int64_t hi = ((oh + 1) * OW + W - 1) / W - 1;
      if (hi > H - 1) hi = H - 1;
      const int64_t lo = oh * p->stride_h - p->pad_top;
      for (int64_t r = saved + 1; r <= hi; ++r)
        if (r >= lo) memcpy(ring + (r % R) * row_bytes, xb + r * row_bytes, (size_t)row_bytes);
      if (hi > saved) saved = hi;
      for (int64_t ow = 0; ow < OW; ++ow) {
        memset(acc, 0, sizeof(int64_t) * (size_t)C);
        memset(acc32, 0, sizeof(int32_t) * (size_t)C);
        for (int64_t kh = 0; kh < KH; ++kh) {
          const int64_t ih = oh * p->stride_h - p->pad_top + kh * p->dil_h;
          if (ih < 0 || ih >= H) continue;
          const int8_t *row = ih <= saved ? ring + (ih % R) * row_bytes : xb + ih * row_bytes;
          for (int64_t kw = 0; kw < KW; ++kw) {
            const int64_t iw = ow * p->stride_w - p->pad_left + kw * p->dil_w;
            if (iw < 0 || iw >= W) continue;
            er_qc_load(row, ER_INT8, iw * C, 1, C, p->input_offset, xi);
            const int8_t *wk = wd + (kh * KW + kw) * C;
            if (narrow) {
              for (int64_t c = 0; c < C; ++c) acc32[c] += (int32_t)xi[c] * (int32_t)wk[c];
            } else {
              for (int64_t c = 0; c < C; ++c) acc[c] += (int64_t)xi[c] * wk[c];
            }
          }
        }
        for (int64_t c = 0; c < C; ++c) acc[c] += acc32[c];
        er_qc_add_bias(acc, C, b, 0);
        er_qc_requant(acc, C, p->multipliers, p->shifts, 0, p->rounding, 0, C, p->output_offset, p->out_min,
                      p->out_max, ER_INT8, y->data, y_at + (oh * OW + ow) * C, 1);
      }
    }
  }
  return ER_OK;
}

static int conv2d_1x1_inplace(const er_op *op) {
  const er_qconv_params *p = (const er_qconv_params *)op->params;
  const er_tensor *x = op->in[0], *w = op->in[1];
  const er_tensor *b = op->n_in > 2 ? op->in[2] : NULL;
  er_tensor *y = op->out[0];
  if (x->type != ER_INT8 || y->type != ER_INT8 || w->type != ER_INT8) return ER_ERR_UNSUPPORTED;
  const int64_t IC = x->dims[3], OC = w->dims[0];
  if (x->ndim != 4 || y->ndim != 4 || w->dims[1] != 1 || w->dims[2] != 1 || w->dims[3] != IC || y->dims[3] != OC)
    return ER_ERR_SHAPE;
  for (int d = 0; d < 3; ++d)
    if (x->dims[d] != y->dims[d]) return ER_ERR_SHAPE;
  if (p->groups != 1 || p->stride_h != 1 || p->stride_w != 1 || p->pad_top != 0 || p->pad_left != 0)
    return ER_ERR_PARAMS;
  if (op->scratch_bytes < 8 * OC + 2 * IC) return ER_ERR_PARAMS;
  int64_t *acc = (int64_t *)op->scratch;
  int16_t *xi = (int16_t *)(acc + OC);
  const int8_t *wd = (const int8_t *)w->data;
  const int64_t P = x->dims[0] * x->dims[1] * x->dims[2];
  const int forward = OC <= IC;
  for (int64_t k = 0; k < P; ++k) {
    const int64_t px = forward ? k : P - 1 - k;
    er_qc_load(x->data, ER_INT8, px * IC, 1, IC, p->input_offset, xi);
    memset(acc, 0, sizeof(int64_t) * (size_t)OC);
    er_qc_add_bias(acc, OC, b, 0);
    int64_t o = 0;
    for (; o + 4 <= OC; o += 4) er_qc_dot4_s16_s8(xi, wd + o * IC, IC, IC, ER_QC_CHUNK8, acc + o);
    for (; o < OC; ++o) acc[o] += er_qc_dot_s16_s8(xi, wd + o * IC, IC, ER_QC_CHUNK8);
    er_qc_requant(acc, OC, p->multipliers, p->shifts, 0, p->rounding, 0, OC, p->output_offset, p->out_min,
                  p->out_max, ER_INT8, y->data, px * OC, 1);
  }
  return ER_OK;
}

#if ER_ISA_CORTEXM /* kernels/cortexm/q_conv_inplace.c owns the public names and falls back to these bodies */
int er_ref_s8_dwconv2d_inplace(const er_op *op) { return dwconv2d_inplace(op); }
int er_ref_s8_conv2d_1x1_inplace(const er_op *op) { return conv2d_1x1_inplace(op); }
#else
int er_s8_dwconv2d_inplace(const er_op *op) { return dwconv2d_inplace(op); }
int er_s8_conv2d_1x1_inplace(const er_op *op) { return conv2d_1x1_inplace(op); }
#endif
