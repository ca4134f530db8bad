/* Convolutions the multiplier-1 / one-group fast paths do not take, on their micro-kernels:
 * - s8_conv2d_group_gemm, u8_conv2d_group_gemm: CONV_2D with groups > 1 (8-bit). Weights packed at prepare
 *   (runtime/ops/conv_int.py) per group in the int16 offset form of the *_conv2d_gemm kernels: G panels sets
 *   [OCgp / 8][Kp / 2][8][2] one after the other (OCgp = OC / G rounded up to 8, Kp = KH * KW * ICp, ICp = IC
 *   rounded up to even, K ordered (kh, kw, channel), the padding zero). The input is brought once per call to
 *   offset form in group-major planes [G][pixels][ICp]; per block of output pixels and group, a pointer per
 *   window tap (into the plane, or to zeros outside the image), then the AVX2 indirect GEMM on them
 *   (er_qg_igemm_avx2), or elsewhere the windows gathered into rows and the selected int16 GEMM
 *   (er_qc_selected); then the bias and the requantization in the op's rounding (grouped CONV_2D:
 *   TFLite's double rounding, on AVX2 by er_qg_requant_tflite_avx2). Exact int32 sums (prepare keeps
 *   K * 255 * 255 < 2^31), so bit-exact with the reference kernel (kernels/ref/q_conv.c).
 * - s8_dwconv2d_mult_madd, s8/u8_dwconv2d_mult_vec, f32_dwconv2d_mult_fast: DEPTHWISE_CONV_2D with depth
 *   multiplier M > 1 as a multiplier-1 depthwise over the input with each channel repeated M times (output
 *   channel c * M + m reads input channel c): the repeated input is written to scratch, then s8_dwconv2d_madd
 *   (x86 plans), s8_dwconv2d_vec / u8_dwconv2d_vec (ARM plans, uint8) or f32_dwconv2d_fast run on it with the
 *   op's weights (their params prepared for OC channels) and the same rounding. */
#include <string.h>

#include "edgerun/edgerun.h"
#include "edgerun/fixedpoint_conv.h"
#include "edgerun/parallel.h"
#include "q_group.h"
#include "ukernels.h"

#define ER_QG_PB 32 /* output pixels (GEMM rows) per block */

int er_s8_dwconv2d_madd(const er_op *op); /* kernels/opt/q_conv.c */
int er_s8_dwconv2d_vec(const er_op *op);
int er_u8_dwconv2d_vec(const er_op *op);
int er_f32_dwconv2d_fast(const er_op *op); /* kernels/opt/conv.c */

/* requantization of `rows` pixels x channels [0, n) of one group: global channels [c0, c0 + n) of the op
 * (acc ldacc apart, dst lddst apart); "upward" below the rounding's upward end (a global channel index) */
static void group_requant(const er_qconv_params *p, const er_qc_ukernels *uk, int32_t *acc, int64_t rows,
                          int64_t ldacc, int64_t n, int64_t c0, int64_t OC, const int32_t *bias, int32_t xt,
                          uint8_t *dst, int64_t lddst) {
  const int64_t up_end = p->rounding == ER_QC_RND_UPWARD ? OC : p->rounding == ER_QC_RND_UPWARD8 ? (OC / 8) * 8 : 0;
  int64_t up = up_end - c0 < 0 ? 0 : up_end - c0 > n ? n : up_end - c0, done = 0;
  const int32_t *m = p->multipliers + c0, *s = p->shifts + c0, *b = bias ? bias + c0 : NULL;
  const int is_u8 = xt == ER_UINT8;
  if (up >= 8 && uk->requant_upward)
    done = uk->requant_upward(acc, rows, ldacc, up / 8 * 8, b, m, s, p->output_offset, p->out_min, p->out_max,
                              is_u8, dst, lddst);
#if ER_HAVE_X86_UKERNELS
  if (done >= up && up < n && er_rounding_mode == 0 && er_qc_selected == &er_qc_ukernels_avx2) {
    /* the rest are double rounding: vectors from `up` (a multiple of 8 when it is not 0 or n) */
    done = up + er_qg_requant_tflite_avx2(acc + up, rows, ldacc, n - up, b ? b + up : NULL, m + up, s + up,
                                          p->output_offset, p->out_min, p->out_max, is_u8, dst + up, lddst);
  }
#endif
  if (done == n) return;
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t *a = acc + r * ldacc;
    for (int64_t o = done; o < n; ++o) {
      const int32_t v = er_wrap_add32(a[o], b ? b[o] : 0);
      const int32_t q = o < up ? er_qc_mul_upward(v, m[o], s[o]) : er_mul_by_quantized_multiplier(v, m[o], s[o]);
      const int32_t r8 = er_qc_clamp64((int64_t)q + p->output_offset, p->out_min, p->out_max);
      if (is_u8)
        dst[r * lddst + o] = (uint8_t)r8;
      else
        ((int8_t *)dst)[r * lddst + o] = (int8_t)r8;
    }
  }
}

typedef struct qg_job {
  const er_qconv_params *p;
  const int16_t *xg;   /* the input in offset form, group-major: [G][B * H * W + 1][ICp], ICp = IC rounded up to
                        * even; each plane ends with ICp zeros (the taps outside the image: the zero point) */
  uint8_t *yd;
  const int32_t *bias;
  int64_t H, W, KH, KW, ICp, OW, OC, OCg, Kp, OCgp, G, P, nb, pixels;
  int32_t xt;
  int64_t rows_at;     /* the task's own scratch: this many bytes in (after the caller's planes) */
  er_qg_igemm_fn igemm; /* NULL: gather rows, then er_qc_selected's GEMM */
} qg_job;

/* n int16 values: short runs (a group's channels) copied inline rather than through memcpy */
static inline void copy16(int16_t *d, const int16_t *s, int64_t n) {
  for (int64_t i = 0; i < n; ++i) d[i] = s[i];
}

/* blocks [b, e) of ER_QG_PB output pixels of every image: the offset of each window tap in a plane (the same in
 * every group's), then per group either the indirect GEMM at those offsets or the windows gathered into rows
 * (Kp = KH * KW * ICp values) and the selected GEMM; then requantization */
static void group_task(void *ctx, void *scratch, int64_t b, int64_t e) {
  const qg_job *j = (const qg_job *)ctx;
  const er_qconv_params *p = j->p;
  const er_qc_ukernels *uk = er_qc_selected;
  const int64_t H = j->H, W = j->W, KH = j->KH, KW = j->KW, ICp = j->ICp, OW = j->OW, T = KH * KW;
  const int64_t Kp = j->Kp, P = j->P, OCg = j->OCg, OCgp = j->OCgp, zero = j->pixels * ICp;
  int64_t *off = (int64_t *)((uint8_t *)scratch + j->rows_at);
  int32_t *cm = (int32_t *)(off + ER_QG_PB * T);
  int16_t *a = (int16_t *)(cm + ER_QG_PB * OCgp);
  for (int64_t blk = b; blk < e; ++blk) {
    const int64_t n = blk / j->nb, p0 = blk % j->nb * ER_QG_PB, np = P - p0 < ER_QG_PB ? P - p0 : ER_QG_PB;
    for (int64_t i = 0; i < np; ++i) {
      const int64_t oh = (p0 + i) / OW, ow = (p0 + i) % OW;
      int64_t *t = off + i * T;
      for (int64_t kh = 0; kh < KH; ++kh) {
        const int64_t ih = oh * p->stride_h - p->pad_top + kh * p->dil_h;
        for (int64_t kw = 0; kw < KW; ++kw) {
          const int64_t iw = ow * p->stride_w - p->pad_left + kw * p->dil_w;
          t[kh * KW + kw] = ih < 0 || ih >= H || iw < 0 || iw >= W ? zero : ((n * H + ih) * W + iw) * ICp;
        }
      }
    }
    for (int64_t g = 0; g < j->G; ++g) {
      const int16_t *xg = j->xg + g * (j->pixels + 1) * ICp;
      if (j->igemm) {
        j->igemm(xg, off, np, T, ICp, p->w_packed + g * OCgp * Kp, OCgp, cm);
      } else {
        for (int64_t i = 0; i < np; ++i)
          for (int64_t t = 0; t < T; ++t) copy16(a + i * Kp + t * ICp, xg + off[i * T + t], ICp);
        uk->gemm(a, np, Kp, p->w_packed + g * OCgp * Kp, OCgp, cm);
      }
      group_requant(p, uk, cm, np, OCgp, OCg, g * OCg, j->OC, j->bias, j->xt,
                    j->yd + (n * P + p0) * j->OC + g * OCg, j->OC);
    }
  }
}

/* scratch bytes before the tasks' own: the group-major planes, 16-byte aligned */
static double xg_bytes(int64_t pixels, int64_t C) { return (double)((2 * pixels * C + 15) / 16 * 16); }

static int conv_group(const er_op *op, int32_t xt) {
  const er_qconv_params *p = (const er_qconv_params *)op->params;
  const er_tensor *x = op->in[0], *w = op->in[1];
  er_tensor *y = op->out[0];
  const int is_u8 = xt == ER_UINT8;
  if (x->type != xt || y->type != xt || w->type != (is_u8 ? ER_UINT8 : ER_INT8) || !p->w_packed)
    return ER_ERR_UNSUPPORTED;
  if (!p->multipliers || !p->shifts) return ER_ERR_PARAMS;
  const int64_t B = x->dims[0], H = x->dims[1], W = x->dims[2], C = x->dims[3];
  const int64_t OC = w->dims[0], KH = w->dims[1], KW = w->dims[2], IC = w->dims[3];
  const int64_t OH = y->dims[1], OW = y->dims[2], G = p->groups, ICp = IC + (IC & 1), T = KH * KW;
  const int64_t OCg = G > 0 ? OC / G : 0, Kp = p->k_padded, OCgp = p->oc_padded;
  if (G < 1 || IC * G != C || OCg * G != OC || y->dims[3] != OC || y->dims[0] != B || Kp != T * ICp ||
      OCgp != (OCg + 7) / 8 * 8)
    return ER_ERR_SHAPE;
  if (Kp > INT32_MAX / (255 * 255)) return ER_ERR_UNSUPPORTED;
  const er_tensor *bt = op->n_in > 2 ? op->in[2] : NULL;
  if (bt && (bt->type != ER_INT32 || bt->count < OC)) return ER_ERR_UNSUPPORTED;
  const int64_t pixels = B * H * W;
  /* scratch: the group-major planes with their zero rows (the caller's, read by every task), then per thread the
   * taps' offsets, the int32 sums and the gathered rows of a block (double: sizes from a hostile plan must not
   * overflow the comparison); a pixel's C values in offset form borrow the caller's task part */
  const double at = xg_bytes(G * (pixels + 1), ICp);
  const double task = (double)ER_QG_PB * (8.0 * (double)T + 4.0 * (double)OCgp + 2.0 * (double)Kp);
  if ((double)op->scratch_bytes < at + task || (double)op->scratch_bytes < at + 2.0 * (double)C) return ER_ERR_PARAMS;
  int16_t *xg = (int16_t *)op->scratch;
  const er_qc_ukernels *uk = er_qc_selected;
  const int32_t off = p->input_offset;
  /* offset form, then each pixel's groups to their planes (the odd channel out: 0), the planes' zero rows */
  int16_t *tmp = (int16_t *)((uint8_t *)op->scratch + (int64_t)at);
  for (int64_t q = 0; q < pixels; ++q) {
    const uint8_t *src = (const uint8_t *)x->data + q * C;
    if (uk->load8 && C >= 16) {
      uk->load8(src, is_u8, C, off, tmp);
    } else if (is_u8) {
      for (int64_t c = 0; c < C; ++c) tmp[c] = (int16_t)(src[c] + off);
    } else {
      for (int64_t c = 0; c < C; ++c) tmp[c] = (int16_t)(((const int8_t *)src)[c] + off);
    }
    for (int64_t g = 0; g < G; ++g) {
      int16_t *d = xg + (g * (pixels + 1) + q) * ICp;
      copy16(d, tmp + g * IC, IC);
      if (ICp > IC) d[IC] = 0;
    }
  }
  for (int64_t g = 0; g < G; ++g) memset(xg + (g * (pixels + 1) + pixels) * ICp, 0, sizeof(int16_t) * (size_t)ICp);
  const int64_t P = OH * OW;
  er_qg_igemm_fn igemm = NULL;
#if ER_HAVE_X86_UKERNELS
  if (er_qc_selected == &er_qc_ukernels_avx2) igemm = er_qg_igemm_avx2;
#endif
  const qg_job j = {p, xg, (uint8_t *)y->data, bt ? (const int32_t *)bt->data : NULL, H, W, KH, KW, ICp, OW,
                    OC, OCg, Kp, OCgp, G, P, (P + ER_QG_PB - 1) / ER_QG_PB, pixels, xt, (int64_t)at, igemm};
  er_parallel_for(op, B * j.nb, 1, er_work3(y->count, Kp, 1), group_task, (void *)&j);
  return ER_OK;
}

int er_s8_conv2d_group_gemm(const er_op *op) { return conv_group(op, ER_INT8); }
int er_u8_conv2d_group_gemm(const er_op *op) { return conv_group(op, ER_UINT8); }

/* ---- depth multiplier > 1 ---------------------------------------------------------------------------- */

/* x [pixels][C] of `size`-byte elements -> dst [pixels][C * M], each channel repeated M times */
static void repeat_channels(const uint8_t *x, int64_t pixels, int64_t C, int64_t M, size_t size, uint8_t *dst) {
  if (size == 1 && M == 2) {
    for (int64_t i = 0; i < pixels * C; ++i) dst[2 * i] = dst[2 * i + 1] = x[i];
    return;
  }
  for (int64_t i = 0; i < pixels * C; ++i)
    for (int64_t m = 0; m < M; ++m) memcpy(dst + (i * M + m) * size, x + i * size, size);
}

/* *sub: the op over the repeated input (*xr, in the scratch's start; ins its inputs), the rest of the scratch
 * left to the multiplier-1 kernel */
static int repeat_input(const er_op *op, int32_t type, size_t size, er_tensor *xr, er_tensor **ins, er_op *sub) {
  if (op->n_in < 2) return ER_ERR_PARAMS;
  const er_tensor *x = op->in[0], *w = op->in[1];
  const er_tensor *y = op->out[0];
  if (x->type != type || y->type != type) return ER_ERR_UNSUPPORTED;
  if (x->ndim != 4 || w->ndim != 4) return ER_ERR_SHAPE;
  const int64_t C = x->dims[3], OC = w->dims[3];
  if (C < 1 || OC % C != 0 || y->dims[3] != OC) return ER_ERR_SHAPE;
  const int64_t M = OC / C, pixels = x->count / C;
  const int64_t bytes = (pixels * OC * (int64_t)size + 15) / 16 * 16;
  if (op->scratch_bytes < bytes) return ER_ERR_PARAMS;
  *xr = *x;
  xr->dims[3] = (int32_t)OC;
  xr->count = pixels * OC;
  xr->bytes = pixels * OC * (int64_t)size;
  xr->data = op->scratch;
  repeat_channels((const uint8_t *)x->data, pixels, C, M, size, (uint8_t *)op->scratch);
  ins[0] = xr;
  ins[1] = op->in[1];
  ins[2] = op->n_in > 2 ? op->in[2] : NULL;
  *sub = *op;
  sub->in = ins;
  sub->scratch = bytes < op->scratch_bytes ? (uint8_t *)op->scratch + bytes : NULL;
  sub->scratch_bytes = op->scratch_bytes - bytes;
  return ER_OK;
}

int er_s8_dwconv2d_mult_madd(const er_op *op) {
  er_tensor xr, *ins[3];
  er_op sub;
  const int st = repeat_input(op, ER_INT8, 1, &xr, ins, &sub);
  return st != ER_OK ? st : er_s8_dwconv2d_madd(&sub);
}

int er_s8_dwconv2d_mult_vec(const er_op *op) {
  er_tensor xr, *ins[3];
  er_op sub;
  const int st = repeat_input(op, ER_INT8, 1, &xr, ins, &sub);
  return st != ER_OK ? st : er_s8_dwconv2d_vec(&sub);
}

int er_u8_dwconv2d_mult_vec(const er_op *op) {
  er_tensor xr, *ins[3];
  er_op sub;
  const int st = repeat_input(op, ER_UINT8, 1, &xr, ins, &sub);
  return st != ER_OK ? st : er_u8_dwconv2d_vec(&sub);
}

int er_f32_dwconv2d_mult_fast(const er_op *op) {
  er_tensor xr, *ins[3];
  er_op sub;
  const int st = repeat_input(op, ER_FLOAT32, 4, &xr, ins, &sub);
  return st != ER_OK ? st : er_f32_dwconv2d_fast(&sub);
}
