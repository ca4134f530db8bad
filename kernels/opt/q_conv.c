/* Optimized 8-bit (int8 and legacy uint8) CONV_2D (groups 1), FULLY_CONNECTED and DEPTHWISE_CONV_2D
 * (multiplier 1) over weights packed at prepare (runtime/ops/conv_int.py, layouts in ops_q_conv.h).
 * Bit-exact with the reference kernels in q_conv.c / q_conv_fc.c: exact int32 dot products (prepare only
 * selects these kernels when K * 255 * 255 < 2^31, so no partial sum can overflow), the bias added with int32
 * wrap-around, and the same per-path requantization rounding.
 * uint8: operands in int16 offset form; a block of output pixels is gathered (im2col, K padded to even) and
 * multiplied by the packed weight panels into int32 accumulators, then requantized.
 * int8 on the "madd" layout (s8_conv2d_madd, s8_fc_madd, s8_dwconv2d_madd; x86 plans), at the end of this file:
 * int8 weights, the input zero point folded into the bias,
 * raw activations widened to int16; the micro-kernels requantize their own tiles.
 * The micro-kernels are those selected at load (kernels/host_isa.c): the portable loops below, or x86's
 * (kernels/x86/q_conv_sse2.c, q_conv_avx2.c). The reference kernels are kernels/ref/q_conv.c and q_conv_fc.c. */
#include <string.h>

#include "edgerun/edgerun.h"
#include "edgerun/fixedpoint_conv.h"
#include "edgerun/parallel.h"
#include "ukernels.h"

#define ER_QC_PB 32 /* output pixels (GEMM rows) per block */

/* c[i * ocp + o] = sum_k a[i * kp + k] * B[o][k], B packed [ocp / 8][kp / 2][8][2].
 * Written for the auto-vectoriser: 16 int32 lanes per row hold the products of the even and odd k of each
 * pair (lane 2l + j: channel l, k parity j), widening int16 multiplies over contiguous arrays; the lane pairs
 * are summed at the end. Two rows share each weight load. */
void er_qc_gemm_portable(const int16_t *a, int64_t np, int64_t kp, const int16_t *b, int64_t ocp, int32_t *c) {
  const int64_t kk = kp / 2;
  for (int64_t j = 0; j < ocp; j += 8) {
    const int16_t *bp = b + j * kp;
    int64_t i = 0;
    for (; i + 2 <= np; i += 2) {
      const int16_t *r0 = a + i * kp, *r1 = r0 + kp;
      int32_t s0[16], s1[16];
      for (int q = 0; q < 16; ++q) s0[q] = s1[q] = 0;
      for (int64_t k = 0; k < kk; ++k) {
        int16_t v0[16], v1[16];
        for (int q = 0; q < 16; ++q) {
          v0[q] = r0[2 * k + (q & 1)];
          v1[q] = r1[2 * k + (q & 1)];
        }
        const int16_t *bk = bp + k * 16;
        for (int q = 0; q < 16; ++q) {
          s0[q] += (int32_t)v0[q] * (int32_t)bk[q];
          s1[q] += (int32_t)v1[q] * (int32_t)bk[q];
        }
      }
      for (int l = 0; l < 8; ++l) {
        c[i * ocp + j + l] = s0[2 * l] + s0[2 * l + 1];
        c[(i + 1) * ocp + j + l] = s1[2 * l] + s1[2 * l + 1];
      }
    }
    for (; i < np; ++i) {
      const int16_t *r0 = a + i * kp;
      int32_t s0[16];
      for (int q = 0; q < 16; ++q) s0[q] = 0;
      for (int64_t k = 0; k < kk; ++k) {
        const int16_t *bk = bp + k * 16;
        for (int q = 0; q < 16; ++q) s0[q] += (int32_t)r0[2 * k + (q & 1)] * (int32_t)bk[q];
      }
      for (int l = 0; l < 8; ++l) c[i * ocp + j + l] = s0[2 * l] + s0[2 * l + 1];
    }
  }
}

/* n 8-bit values to int16 offset form */
static inline void load8(const er_qc_ukernels *uk, const void *src, int is_u8, int64_t n, int32_t off,
                         int16_t *dst) {
  if (uk->load8 && n >= 16) {
    uk->load8(src, is_u8, n, off, dst);
    return;
  }
  if (is_u8) {
    const uint8_t *s = (const uint8_t *)src;
    for (int64_t i = 0; i < n; ++i) dst[i] = (int16_t)(s[i] + off);
  } else {
    const int8_t *s = (const int8_t *)src;
    for (int64_t i = 0; i < n; ++i) dst[i] = (int16_t)(s[i] + off);
  }
}

/* bias (int32, wrapping as TFLite's int32 accumulators) and requantization of `rows` output pixels of n
 * channels (accumulators ldacc apart, outputs n apart) */
static void finish_rows(const er_qconv_params *p, const er_qc_ukernels *uk, int32_t *acc, int64_t rows, int64_t ldacc, int64_t n,
                        const int32_t *bias, int32_t xt, uint8_t *dst) {
  int64_t done = 0;
  if (uk->requant_upward) {
    const int64_t up = p->rounding == ER_QC_RND_UPWARD || p->rounding == ER_QC_RND_UPWARD8 ? (n / 8) * 8 : 0;
    if (up > 0)
      done = uk->requant_upward(acc, rows, ldacc, up, bias, p->multipliers, p->shifts, p->output_offset,
                                p->out_min, p->out_max, xt == ER_UINT8, dst, n);
  }
  if (done == n) return;
  for (int64_t r = 0; r < rows; ++r) {
    int32_t *a = acc + r * ldacc;
    if (bias)
      for (int64_t o = done; o < n; ++o) a[o] = er_wrap_add32(a[o], bias[o]);
    er_qc_requant32(a, n, done, p->multipliers, p->shifts, p->rounding, p->output_offset, p->out_min, p->out_max,
                    xt, dst + r * n);
  }
}

static int bias_of(const er_op *op, int idx, int64_t n, const int32_t **bias) {
  *bias = NULL;
  if (op->n_in <= idx || !op->in[idx]) return 1;
  const er_tensor *b = op->in[idx];
  if (b->type != ER_INT32 || b->count < n) return 0;
  *bias = (const int32_t *)b->data;
  return 1;
}

/* One 8-bit CONV_2D call's geometry, shared by the block tasks (each thread gathers into its own scratch). */
typedef struct qc_job {
  const er_qconv_params *p;
  const er_qc_ukernels *uk;
  const uint8_t *xd;
  uint8_t *yd;
  const int32_t *bias;
  int64_t H, W, C, KH, KW, IC, OW, K, Kp, OCp, OC, P, nb;
  int32_t xt;
  int direct;
  /* the madd layout's */
  const er_qm_out *q;
  const int8_t *wp;
  void (*gemm_s8)(const int16_t *, int64_t, int64_t, const int8_t *, int64_t, const er_qm_out *, int8_t *, int64_t);
} qc_job;

/* blocks [b, e) of ER_QC_PB output pixels of every image (int16 offset form) */
static void conv_gemm_task(void *ctx, void *scratch, int64_t b, int64_t e) {
  const qc_job *j = (const qc_job *)ctx;
  const er_qconv_params *p = j->p;
  const er_qc_ukernels *uk = j->uk;
  const int64_t H = j->H, W = j->W, C = j->C, KH = j->KH, KW = j->KW, IC = j->IC, OW = j->OW, K = j->K;
  const int64_t Kp = j->Kp, P = j->P;
  const int is_u8 = j->xt == ER_UINT8;
  const int32_t off = p->input_offset;
  int16_t *a = (int16_t *)scratch;
  int32_t *cm = (int32_t *)(a + ER_QC_PB * Kp);
  for (int64_t blk = b; blk < e; ++blk) {
    const int64_t n = blk / j->nb, p0 = blk % j->nb * ER_QC_PB, np = P - p0 < ER_QC_PB ? P - p0 : ER_QC_PB;
    if (j->direct) {
      load8(uk, j->xd + (n * P + p0) * C, is_u8, np * C, off, a);
    } else {
      for (int64_t i = 0; i < np; ++i) {
        const int64_t oh = (p0 + i) / OW, ow = (p0 + i) % OW;
        int16_t *row = a + i * Kp;
        const int64_t iw0 = ow * p->stride_w - p->pad_left;
        const int whole = p->dil_w == 1 && iw0 >= 0 && iw0 + KW <= W; /* the KW taps are adjacent pixels */
        for (int64_t kh = 0; kh < KH; ++kh) {
          const int64_t ih = oh * p->stride_h - p->pad_top + kh * p->dil_h;
          if (whole && ih >= 0 && ih < H) {
            load8(uk, j->xd + ((n * H + ih) * W + iw0) * C, is_u8, KW * IC, off, row + kh * KW * IC);
            continue;
          }
          for (int64_t kw = 0; kw < KW; ++kw) {
            const int64_t iw = ow * p->stride_w - p->pad_left + kw * p->dil_w;
            int16_t *dst = row + (kh * KW + kw) * IC;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W)
              memset(dst, 0, sizeof(int16_t) * (size_t)IC); /* the zero point: 0 in offset form */
            else
              load8(uk, j->xd + ((n * H + ih) * W + iw) * C, is_u8, IC, off, dst);
          }
        }
        if (Kp > K) row[K] = 0;
      }
    }
    uk->gemm(a, np, Kp, p->w_packed, j->OCp, cm);
    finish_rows(p, uk, cm, np, j->OCp, j->OC, j->bias, j->xt, j->yd + (n * P + p0) * j->OC);
  }
}

static int conv_gemm(const er_op *op, int32_t xt) {
  const er_qconv_params *p = (const er_qconv_params *)op->params;
  const er_tensor *x = op->in[0], *w = op->in[1];
  er_tensor *y = op->out[0];
  const int is_u8 = xt == ER_UINT8;
  if (x->type != xt || y->type != xt || w->type != (is_u8 ? ER_UINT8 : ER_INT8) || !p->w_packed)
    return ER_ERR_UNSUPPORTED;
  const int64_t B = x->dims[0], H = x->dims[1], W = x->dims[2], C = x->dims[3];
  const int64_t OC = w->dims[0], KH = w->dims[1], KW = w->dims[2], IC = w->dims[3];
  const int64_t OH = y->dims[1], OW = y->dims[2], K = KH * KW * IC;
  const int64_t Kp = p->k_padded, OCp = p->oc_padded;
  if (IC != C || y->dims[3] != OC || y->dims[0] != B || Kp != K + (K & 1) || OCp != (OC + 7) / 8 * 8)
    return ER_ERR_SHAPE;
  if (K > INT32_MAX / (255 * 255)) return ER_ERR_UNSUPPORTED;
  const int32_t *bias;
  if (!bias_of(op, 2, OC, &bias)) return ER_ERR_UNSUPPORTED;
  if (op->scratch_bytes < (int64_t)ER_QC_PB * (2 * Kp + 4 * OCp)) return ER_ERR_PARAMS;
  const int64_t P = OH * OW;
  const int direct = KH == 1 && KW == 1 && p->stride_h == 1 && p->stride_w == 1 && p->pad_top == 0 &&
                     p->pad_left == 0 && OH == H && OW == W && Kp == K;
  const qc_job j = {p, er_qc_selected, (const uint8_t *)x->data, (uint8_t *)y->data, bias, H, W, C, KH, KW, IC,
                    OW, K, Kp, OCp, OC, P, (P + ER_QC_PB - 1) / ER_QC_PB, xt, direct, NULL, NULL, NULL};
  er_parallel_for(op, B * j.nb, 1, er_work3(y->count, K, 1), conv_gemm_task, (void *)&j);
  return ER_OK;
}

int er_s8_conv2d_gemm(const er_op *op) { return conv_gemm(op, ER_INT8); }
int er_u8_conv2d_gemm(const er_op *op) { return conv_gemm(op, ER_UINT8); }

/* FULLY_CONNECTED: input flattened to [M, K], weights [N, K], output [M, N] */
static int fc_gemm(const er_op *op, int32_t xt) {
  const er_qconv_params *p = (const er_qconv_params *)op->params;
  const er_tensor *x = op->in[0], *w = op->in[1];
  er_tensor *y = op->out[0];
  const int is_u8 = xt == ER_UINT8;
  if (x->type != xt || y->type != xt || w->type != (is_u8 ? ER_UINT8 : ER_INT8) || !p->w_packed)
    return ER_ERR_UNSUPPORTED;
  const int64_t N = w->dims[0], K = w->dims[1], Kp = p->k_padded, Np = p->oc_padded;
  if (K == 0 || x->count % K != 0) return ER_ERR_SHAPE;
  const int64_t M = x->count / K;
  if (y->count != M * N || Kp != K + (K & 1) || Np != (N + 7) / 8 * 8) return ER_ERR_SHAPE;
  if (K > INT32_MAX / (255 * 255)) return ER_ERR_UNSUPPORTED;
  const int32_t *bias;
  if (!bias_of(op, 2, N, &bias)) return ER_ERR_UNSUPPORTED;
  if (op->scratch_bytes < (int64_t)ER_QC_PB * (2 * Kp + 4 * Np)) return ER_ERR_PARAMS;
  int16_t *a = (int16_t *)op->scratch;
  int32_t *cm = (int32_t *)(a + ER_QC_PB * Kp);
  const er_qc_ukernels *uk = er_qc_selected;
  for (int64_t m0 = 0; m0 < M; m0 += ER_QC_PB) {
    const int64_t nm = M - m0 < ER_QC_PB ? M - m0 : ER_QC_PB;
    for (int64_t i = 0; i < nm; ++i) {
      load8(uk, (const uint8_t *)x->data + (m0 + i) * K, is_u8, K, p->input_offset, a + i * Kp);
      if (Kp > K) a[i * Kp + K] = 0;
    }
    uk->gemm(a, nm, Kp, p->w_packed, Np, cm);
    finish_rows(p, uk, cm, nm, Np, N, bias, xt, (uint8_t *)y->data + m0 * N);
  }
  return ER_OK;
}

int er_s8_fc_gemm(const er_op *op) { return fc_gemm(op, ER_INT8); }
int er_u8_fc_gemm(const er_op *op) { return fc_gemm(op, ER_UINT8); }

/* depthwise, multiplier 1: acc[c] = sum over tap pairs of two products, weights packed [ntp][Cp][2] */
void er_qc_dw_portable(const void *const *taps, int64_t ntp, int is_u8, int32_t off, const int16_t *w, int64_t C,
                       int64_t Cp, int32_t *acc) {
  memset(acc, 0, sizeof(int32_t) * (size_t)C);
  for (int64_t t = 0; t < ntp; ++t) {
    const int16_t *wt = w + t * Cp * 2;
    if (is_u8) {
      const uint8_t *xa = (const uint8_t *)taps[2 * t], *xb = (const uint8_t *)taps[2 * t + 1];
      for (int64_t c = 0; c < C; ++c) acc[c] += (xa[c] + off) * wt[2 * c] + (xb[c] + off) * wt[2 * c + 1];
    } else {
      const int8_t *xa = (const int8_t *)taps[2 * t], *xb = (const int8_t *)taps[2 * t + 1];
      for (int64_t c = 0; c < C; ++c) acc[c] += (xa[c] + off) * wt[2 * c] + (xb[c] + off) * wt[2 * c + 1];
    }
  }
}

/* One 8-bit depthwise call's geometry, shared by the row tasks: the zero-point row is written once (in the
 * caller's scratch) and only read by the tasks; tap pointers and accumulators are per thread. */
typedef struct qdw_job {
  const er_qconv_params *p;
  const uint8_t *xd;
  uint8_t *yd;
  const int32_t *bias;
  const uint8_t *zrow;
  int64_t H, W, C, KH, KW, OH, OW, T, ntp, Cp, ow_lo, ow_hi, step;
  int32_t xt;
  const er_qm_out *q;
  const int8_t *wp;
  void (*dw_s8)(const int8_t *const *, int64_t, const int8_t *, int64_t, int64_t, const er_qm_out *, int8_t *,
                int64_t, int64_t);
} qdw_job;

/* output rows [b, e) (over images and rows), int16 offset form */
static void dw_vec_task(void *ctx, void *scratch, int64_t b, int64_t e) {
  const qdw_job *j = (const qdw_job *)ctx;
  const er_qconv_params *p = j->p;
  const int64_t H = j->H, W = j->W, C = j->C, KH = j->KH, KW = j->KW, OH = j->OH, OW = j->OW, T = j->T;
  const int64_t ntp = j->ntp, Cp = j->Cp;
  const void **taps = (const void **)scratch;
  int32_t *acc = (int32_t *)(taps + 2 * ntp); /* one output row: OW x Cp */
  const uint8_t *zrow = j->zrow, *xd = j->xd;
  const er_qc_ukernels *uk = er_qc_selected;
  for (int64_t t = T; t < 2 * ntp; ++t) taps[t] = zrow;
  for (int64_t r = b; r < e; ++r) {
    const int64_t n = r / OH, oh = r % OH;
    int inside_prev = 0;
    for (int64_t ow = 0; ow < OW; ++ow) {
      const int64_t iw0 = ow * p->stride_w - p->pad_left;
      const int inside = iw0 >= 0 && iw0 + (KW - 1) * p->dil_w < W;
      if (ow > 0 && inside && inside_prev) {
        /* every tap column moved by stride_w pixels; out-of-image rows stay on the zero-point row */
        for (int64_t t = 0; t < T; ++t)
          if (taps[t] != zrow) taps[t] = (const uint8_t *)taps[t] + p->stride_w * C;
      } else {
        int64_t t = 0;
        for (int64_t kh = 0; kh < KH; ++kh) {
          const int64_t ih = oh * p->stride_h - p->pad_top + kh * p->dil_h;
          const int row_ok = ih >= 0 && ih < H;
          for (int64_t kw = 0; kw < KW; ++kw, ++t) {
            const int64_t iw = iw0 + kw * p->dil_w;
            taps[t] = row_ok && iw >= 0 && iw < W ? (const void *)(xd + ((n * H + ih) * W + iw) * C) : zrow;
          }
        }
      }
      inside_prev = inside;
      uk->dw(taps, ntp, j->xt == ER_UINT8, p->input_offset, p->w_packed, C, Cp, acc + ow * Cp);
    }
    finish_rows(p, uk, acc, OW, Cp, C, j->bias, j->xt, j->yd + (n * OH + oh) * OW * C);
  }
}

static int dw_vec(const er_op *op, int32_t xt) {
  const er_qconv_params *p = (const er_qconv_params *)op->params;
  const er_tensor *x = op->in[0], *w = op->in[1];
  er_tensor *y = op->out[0];
  const int is_u8 = xt == ER_UINT8;
  if (x->type != xt || y->type != xt || w->type != (is_u8 ? ER_UINT8 : ER_INT8) || !p->w_packed)
    return ER_ERR_UNSUPPORTED;
  const int64_t B = x->dims[0], H = x->dims[1], W = x->dims[2], C = x->dims[3];
  const int64_t KH = w->dims[1], KW = w->dims[2], OC = w->dims[3];
  const int64_t OH = y->dims[1], OW = y->dims[2], T = KH * KW, ntp = (T + 1) / 2, Cp = p->oc_padded;
  if (p->depth_multiplier != 1 || OC != C || y->dims[3] != OC || y->dims[0] != B || Cp != (C + 7) / 8 * 8)
    return ER_ERR_SHAPE;
  if (T > INT32_MAX / (255 * 255)) return ER_ERR_UNSUPPORTED;
  const int32_t *bias;
  if (!bias_of(op, 2, OC, &bias)) return ER_ERR_UNSUPPORTED;
  if (op->scratch_bytes < (int64_t)sizeof(void *) * 2 * ntp + 4 * Cp * OW + C) return ER_ERR_PARAMS;
  /* out-of-image taps read a row of the input zero point (0 in offset form), after the caller's taps and
   * accumulators */
  uint8_t *zrow = (uint8_t *)((int32_t *)((const void **)op->scratch + 2 * ntp) + Cp * OW);
  memset(zrow, is_u8 ? (uint8_t)(-p->input_offset) : (uint8_t)(int8_t)(-p->input_offset), (size_t)C);
  const qdw_job j = {p, (const uint8_t *)x->data, (uint8_t *)y->data, bias, zrow, H, W, C, KH, KW, OH, OW, T, ntp,
                     Cp, 0, 0, 0, xt, NULL, NULL, NULL};
  er_parallel_for(op, B * OH, 1, er_work3(y->count, T, 1), dw_vec_task, (void *)&j);
  return ER_OK;
}

int er_s8_dwconv2d_vec(const er_op *op) { return dw_vec(op, ER_INT8); }
int er_u8_dwconv2d_vec(const er_op *op) { return dw_vec(op, ER_UINT8); }

const er_qc_ukernels er_qc_ukernels_portable = {er_qc_gemm_portable, NULL, er_qc_dw_portable, NULL};

/* ---- int8 on the "madd" layout -------------------------------------------------------------------------
 * sum_k (x_k + input_offset) * w_k = sum_k x_k * w_k + input_offset * sum_k w_k: the second term is folded into
 * the bias at prepare (int32 wrapping; exact, the whole sum fits int32), so the kernels multiply the raw int8
 * values (widened to int16 for a madd) and out-of-image taps read the input zero point, whose products the
 * folded term cancels. Weights stay int8 in the blob at p->w_packed (layout in ops_q_conv.h). Each micro-kernel
 * call requantizes what it computed (er_qm_out). */

void er_qm_gemm_s8_portable(const int16_t *a, int64_t np, int64_t kp, const int8_t *b, int64_t oc,
                            const er_qm_out *q, int8_t *dst, int64_t ldd) {
  const int64_t kk = kp / 2;
  for (int64_t j = 0; j < oc; j += 8) {
    const int8_t *bp = b + j * kp;
    const int64_t nc = oc - j < 8 ? oc - j : 8;
    for (int64_t i = 0; i < np; ++i) {
      const int16_t *r = a + i * kp;
      int32_t s[8] = {0};
      for (int64_t k = 0; k < kk; ++k) {
        const int8_t *bk = bp + k * 16;
        for (int l = 0; l < 8; ++l) s[l] += r[2 * k] * bk[2 * l] + r[2 * k + 1] * bk[2 * l + 1];
      }
      for (int64_t l = 0; l < nc; ++l)
        dst[i * ldd + j + l] = er_qm_requant1(er_wrap_add32(s[l], q->bias[j + l]), j + l, q);
    }
  }
}

void er_qm_dw_s8_portable(const int8_t *const *taps, int64_t ntp, const int8_t *w, int64_t C, int64_t Cp,
                          const er_qm_out *q, int8_t *dst, int64_t npix, int64_t step) {
  for (int64_t px = 0; px < npix; ++px, dst += C) {
    for (int64_t c0 = 0; c0 < C; c0 += 8) {
      const int64_t nc = C - c0 < 8 ? C - c0 : 8;
      int32_t s[8] = {0};
      for (int64_t t = 0; t < ntp; ++t) {
        const int8_t *xa = taps[2 * t] + px * step + c0, *xb = taps[2 * t + 1] + px * step + c0;
        const int8_t *wt = w + (t * Cp + c0) * 2;
        for (int64_t l = 0; l < nc; ++l) s[l] += xa[l] * wt[2 * l] + xb[l] * wt[2 * l + 1];
      }
      for (int64_t l = 0; l < nc; ++l)
        dst[c0 + l] = er_qm_requant1(er_wrap_add32(s[l], q->bias[c0 + l]), c0 + l, q);
    }
  }
}

const er_qm_ukernels er_qm_ukernels_portable = {er_qm_gemm_s8_portable, er_qm_dw_s8_portable, NULL, 0, 0};

/* the int8 micro-kernels of the ISA selected at load (kernels/host_isa.c chooses er_qc_selected; the madd
 * table follows it without a CPU test of its own) */
static const er_qm_ukernels *qm_selected(void) {
#if ER_HAVE_X86_UKERNELS
  if (er_qd_selected == &er_qd_ukernels_avx512vnni) return &er_qm_ukernels_avx512vnni;
  if (er_qc_selected == &er_qc_ukernels_avx2) return &er_qm_ukernels_avx2;
#endif
  return &er_qm_ukernels_portable;
}

/* the blob at p->w_packed: header, folded bias [cp], requantization constants [cp / 8][ER_QM_RQ_WORDS], weights */
static const int8_t *qm_blob(const er_qconv_params *p, int64_t c, int64_t cp, er_qm_out *q) {
  const int32_t *h = (const int32_t *)(const void *)p->w_packed;
  q->bias = h + ER_QM_HEADER_WORDS;
  q->rq = h[0] ? q->bias + cp : NULL;
  q->mult = p->multipliers;
  q->shift = p->shifts;
  q->up_end = p->rounding == ER_QC_RND_UPWARD ? c : p->rounding == ER_QC_RND_UPWARD8 ? (c / 8) * 8 : 0;
  q->vec_end = q->up_end;
  for (int64_t o = 0; o < c; ++o)
    if (p->multipliers[o] == INT32_MIN) q->vec_end = 0;
  q->out_offset = p->output_offset;
  q->lo = p->out_min;
  q->hi = p->out_max;
  return (const int8_t *)(q->bias + cp + cp / 8 * ER_QM_RQ_WORDS);
}

/* int8 values widened to int16 (no offset: the zero point is folded) */
static inline void widen8(const er_qc_ukernels *uk, const int8_t *src, int64_t n, int16_t *dst) {
  load8(uk, src, 0, n, 0, dst);
}

/* blocks [b, e) of ER_QC_PB output pixels of every image (madd layout: raw int8 widened to int16) */
static void conv_madd_task(void *ctx, void *scratch, int64_t b, int64_t e) {
  const qc_job *j = (const qc_job *)ctx;
  const er_qconv_params *p = j->p;
  const er_qc_ukernels *uk = j->uk;
  const int64_t H = j->H, W = j->W, C = j->C, KH = j->KH, KW = j->KW, IC = j->IC, OW = j->OW, K = j->K;
  const int64_t Kp = j->Kp, P = j->P;
  const int8_t *xd = (const int8_t *)j->xd;
  const int16_t zp = (int16_t)(-p->input_offset);
  int16_t *a = (int16_t *)scratch;
  for (int64_t blk = b; blk < e; ++blk) {
    const int64_t n = blk / j->nb, p0 = blk % j->nb * ER_QC_PB, np = P - p0 < ER_QC_PB ? P - p0 : ER_QC_PB;
    if (j->direct) {
      widen8(uk, xd + (n * P + p0) * C, np * C, a);
    } else {
      for (int64_t i = 0; i < np; ++i) {
        const int64_t oh = (p0 + i) / OW, ow = (p0 + i) % OW;
        int16_t *row = a + i * Kp;
        const int64_t iw0 = ow * p->stride_w - p->pad_left;
        const int whole = p->dil_w == 1 && iw0 >= 0 && iw0 + KW <= W; /* the KW taps are adjacent pixels */
        for (int64_t kh = 0; kh < KH; ++kh) {
          const int64_t ih = oh * p->stride_h - p->pad_top + kh * p->dil_h;
          if (whole && ih >= 0 && ih < H) {
            widen8(uk, xd + ((n * H + ih) * W + iw0) * C, KW * IC, row + kh * KW * IC);
            continue;
          }
          for (int64_t kw = 0; kw < KW; ++kw) {
            const int64_t iw = iw0 + kw * p->dil_w;
            int16_t *d = row + (kh * KW + kw) * IC;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W)
              for (int64_t c = 0; c < IC; ++c) d[c] = zp; /* the zero point: the folded term cancels it */
            else
              widen8(uk, xd + ((n * H + ih) * W + iw) * C, IC, d);
          }
        }
        if (Kp > K) row[K] = 0; /* against a zero weight */
      }
    }
    j->gemm_s8(a, np, Kp, j->wp, j->OC, j->q, (int8_t *)j->yd + (n * P + p0) * j->OC, j->OC);
  }
}

static int conv_gemm_s8(const er_op *op) {
  const er_qconv_params *p = (const er_qconv_params *)op->params;
  const er_tensor *x = op->in[0], *w = op->in[1];
  er_tensor *y = op->out[0];
  if (x->type != ER_INT8 || y->type != ER_INT8 || w->type != ER_INT8 || !p->w_packed || p->weight_offset != 0)
    return ER_ERR_UNSUPPORTED;
  const int64_t B = x->dims[0], H = x->dims[1], W = x->dims[2], C = x->dims[3];
  const int64_t OC = w->dims[0], KH = w->dims[1], KW = w->dims[2], IC = w->dims[3];
  const int64_t OH = y->dims[1], OW = y->dims[2], K = KH * KW * IC;
  const int64_t Kp = p->k_padded, OCp = p->oc_padded;
  if (IC != C || y->dims[3] != OC || y->dims[0] != B || Kp != K + (K & 1) || OCp != (OC + 7) / 8 * 8)
    return ER_ERR_SHAPE;
  if (K > INT32_MAX / (255 * 255)) return ER_ERR_UNSUPPORTED;
  if (op->scratch_bytes < (int64_t)ER_QC_PB * 2 * Kp) return ER_ERR_PARAMS;
  er_qm_out q;
  const int8_t *wp = qm_blob(p, OC, OCp, &q);
  const int64_t P = OH * OW;
  const int direct = KH == 1 && KW == 1 && p->stride_h == 1 && p->stride_w == 1 && p->pad_top == 0 &&
                     p->pad_left == 0 && OH == H && OW == W && Kp == K;
  const qc_job j = {p, er_qc_selected, (const uint8_t *)x->data, (uint8_t *)y->data, NULL, H, W, C, KH, KW, IC,
                    OW, K, Kp, OCp, OC, P, (P + ER_QC_PB - 1) / ER_QC_PB, ER_INT8, direct, &q, wp,
                    qm_selected()->gemm_s8};
  er_parallel_for(op, B * j.nb, 1, er_work3(y->count, K, 1), conv_madd_task, (void *)&j);
  return ER_OK;
}

int er_s8_conv2d_madd(const er_op *op) { return conv_gemm_s8(op); }

int er_s8_fc_madd(const er_op *op) {
  const er_qconv_params *p = (const er_qconv_params *)op->params;
  const er_tensor *x = op->in[0], *w = op->in[1];
  er_tensor *y = op->out[0];
  if (x->type != ER_INT8 || y->type != ER_INT8 || w->type != ER_INT8 || !p->w_packed || p->weight_offset != 0)
    return ER_ERR_UNSUPPORTED;
  const int64_t N = w->dims[0], K = w->dims[1], Kp = p->k_padded, Np = p->oc_padded;
  if (K == 0 || x->count % K != 0) return ER_ERR_SHAPE;
  const int64_t M = x->count / K;
  if (y->count != M * N || Kp != K + (K & 1) || Np != (N + 7) / 8 * 8) return ER_ERR_SHAPE;
  if (K > INT32_MAX / (255 * 255)) return ER_ERR_UNSUPPORTED;
  if (op->scratch_bytes < (int64_t)ER_QC_PB * 2 * Kp) return ER_ERR_PARAMS;
  er_qm_out q;
  const int8_t *wp = qm_blob(p, N, Np, &q);
  int16_t *a = (int16_t *)op->scratch;
  const er_qc_ukernels *uk = er_qc_selected;
  void (*gemm)(const int16_t *, int64_t, int64_t, const int8_t *, int64_t, const er_qm_out *, int8_t *, int64_t) =
      qm_selected()->gemm_s8;
  const int8_t *xd = (const int8_t *)x->data;
  for (int64_t m0 = 0; m0 < M; m0 += ER_QC_PB) {
    const int64_t nm = M - m0 < ER_QC_PB ? M - m0 : ER_QC_PB;
    for (int64_t i = 0; i < nm; ++i) {
      widen8(uk, xd + (m0 + i) * K, K, a + i * Kp);
      if (Kp > K) a[i * Kp + K] = 0;
    }
    gemm(a, nm, Kp, wp, N, &q, (int8_t *)y->data + m0 * N, N);
  }
  return ER_OK;
}

/* output rows [b, e) (over images and rows) of the madd depthwise: the interior of each row in one call */
static void dw_madd_task(void *ctx, void *scratch, int64_t b, int64_t e) {
  const qdw_job *j = (const qdw_job *)ctx;
  const er_qconv_params *p = j->p;
  const int64_t H = j->H, W = j->W, C = j->C, KH = j->KH, KW = j->KW, OH = j->OH, OW = j->OW;
  const int8_t **taps = (const int8_t **)scratch;
  const int8_t *zrow = (const int8_t *)j->zrow, *xd = (const int8_t *)j->xd;
  for (int64_t t = j->T; t < 2 * j->ntp; ++t) taps[t] = zrow; /* the odd tap out: weight 0 */
  for (int64_t r = b; r < e; ++r) {
    const int64_t n = r / OH, oh = r % OH;
    int8_t *out = (int8_t *)j->yd + (n * OH + oh) * OW * C;
    for (int64_t ow = 0; ow < OW;) {
      const int64_t run = ow == j->ow_lo ? j->ow_hi - j->ow_lo : 1; /* the interior in one call, borders alone */
      const int64_t iw0 = ow * p->stride_w - p->pad_left;
      int64_t t = 0;
      for (int64_t kh = 0; kh < KH; ++kh) {
        const int64_t ih = oh * p->stride_h - p->pad_top + kh * p->dil_h;
        const int row_ok = ih >= 0 && ih < H;
        for (int64_t kw = 0; kw < KW; ++kw, ++t) {
          const int64_t iw = iw0 + kw * p->dil_w;
          taps[t] = row_ok && iw >= 0 && iw < W ? xd + ((n * H + ih) * W + iw) * C : zrow;
        }
      }
      j->dw_s8(taps, j->ntp, j->wp, C, j->Cp, j->q, out + ow * C, run, j->step);
      ow += run;
    }
  }
}

int er_s8_dwconv2d_madd(const er_op *op) {
  const er_qconv_params *p = (const er_qconv_params *)op->params;
  const er_tensor *x = op->in[0], *w = op->in[1];
  er_tensor *y = op->out[0];
  if (x->type != ER_INT8 || y->type != ER_INT8 || w->type != ER_INT8 || !p->w_packed || p->weight_offset != 0)
    return ER_ERR_UNSUPPORTED;
  const int64_t B = x->dims[0], H = x->dims[1], W = x->dims[2], C = x->dims[3];
  const int64_t KH = w->dims[1], KW = w->dims[2], OC = w->dims[3];
  const int64_t OH = y->dims[1], OW = y->dims[2], T = KH * KW, ntp = (T + 1) / 2, Cp = p->oc_padded;
  if (p->depth_multiplier != 1 || OC != C || y->dims[3] != OC || y->dims[0] != B || Cp != (C + 7) / 8 * 8 ||
      p->stride_w < 1 || OW < 1)
    return ER_ERR_SHAPE;
  /* tap pointers, then a zero-point row as long as the input pixels an interior run of outputs moves over */
  const int64_t step = p->stride_w * C, zlen = C + (OW - 1) * step;
  if (op->scratch_bytes < (int64_t)sizeof(void *) * 2 * ntp + zlen) return ER_ERR_PARAMS;
  er_qm_out q;
  const int8_t *wp = qm_blob(p, C, Cp, &q);
  /* out-of-image taps read the input zero point (the folded term cancels its products); the row lives in the
   * caller's scratch, after its tap pointers, and the tasks only read it */
  int8_t *zrow = (int8_t *)((const int8_t **)op->scratch + 2 * ntp);
  memset(zrow, (uint8_t)(int8_t)(-p->input_offset), (size_t)zlen);
  /* output columns whose taps all lie inside the image's width: [ow_lo, ow_hi) */
  int64_t ow_lo = 0, ow_hi = 0;
  while (ow_lo < OW && ow_lo * p->stride_w - p->pad_left < 0) ++ow_lo;
  for (int64_t ow = ow_lo; ow < OW && ow * p->stride_w - p->pad_left + (KW - 1) * p->dil_w < W; ++ow) ow_hi = ow + 1;
  if (ow_hi <= ow_lo) ow_lo = ow_hi = OW;
  const er_qm_ukernels *uk = qm_selected();
  if (uk->dw_rows && ntp <= uk->dw_rows_max_ntp) { /* the ISA's own row loop (avx512vnni), by rows and chunks */
    const er_qm_dw_job g = {(const int8_t *)x->data, zrow, (int8_t *)y->data, wp, &q, H, W, C, Cp, KH, KW, OH, OW,
                            ntp, p->stride_h, p->stride_w, p->dil_h, p->dil_w, p->pad_top, p->pad_left, ow_lo, ow_hi,
                            B * OH};
    er_parallel_for(op, B * OH * er_qm_dw_nchunks(C, uk->dw_rows_chunk), 1, er_work3(y->count, T, 1), uk->dw_rows,
                    (void *)&g);
    return ER_OK;
  }
  const qdw_job j = {p, (const uint8_t *)x->data, (uint8_t *)y->data, NULL, (const uint8_t *)zrow, H, W, C, KH, KW,
                     OH, OW, T, ntp, Cp, ow_lo, ow_hi, step, ER_INT8, &q, wp, uk->dw_s8};
  er_parallel_for(op, B * OH, 1, er_work3(y->count, T, 1), dw_madd_task, (void *)&j);
  return ER_OK;
}

/* ---- int8 BATCH_MATMUL on the int16 GEMM (s8_bmm_gemm) ---------------------------------------------------
 * Per batch, the right-hand side in offset form is packed as the GEMM's panels ([Np / 8][Kp / 2][8][2],
 * zero padded) in scratch and the left-hand side goes through in blocks of ER_QC_PB rows; the int32 sums are
 * exact (prepare keeps K * 255 * 255 < 2^31) and each row is requantized by the reference kernel's own
 * er_qc_requant (one multiplier), or written as int32 for LiteRT's raw int8 x int8 -> int32 form. Batches are
 * split over the pool's threads, each packing into its own scratch. */
typedef struct qbmm_job {
  const er_qbmm_params *p;
  const int8_t *a, *b;
  void *y;
  int64_t M, N, K, Kp, Np;
  int raw32;
} qbmm_job;

/* bytes of scratch per thread (double: sizes from a hostile plan must not overflow the comparison) */
static double qbmm_scratch(int64_t N, int64_t Kp, int64_t Np) {
  return 2.0 * (double)Np * (double)Kp + 2.0 * ER_QC_PB * (double)Kp + 4.0 * ER_QC_PB * (double)Np + 8.0 * (double)N;
}

static void qbmm_task(void *ctx, void *scratch, int64_t b0, int64_t e0) {
  const qbmm_job *j = (const qbmm_job *)ctx;
  const er_qbmm_params *p = j->p;
  const int64_t M = j->M, N = j->N, K = j->K, Kp = j->Kp, Np = j->Np;
  int16_t *packed = (int16_t *)scratch, *arows = packed + Np * Kp;
  int32_t *cm = (int32_t *)(arows + ER_QC_PB * Kp);
  int64_t *acc = (int64_t *)(cm + ER_QC_PB * Np);
  const er_qc_ukernels *uk = er_qc_selected;
  for (int64_t bt = b0; bt < e0; ++bt) {
    const int8_t *a = j->a + p->a_offsets[bt], *b = j->b + p->b_offsets[bt];
    for (int64_t n = 0; n < Np; ++n)
      for (int64_t k = 0; k < Kp; ++k) {
        const int16_t v = n < N && k < K ? (int16_t)((p->adj_y ? b[n * K + k] : b[k * N + n]) + p->b_offset) : 0;
        packed[((n / 8) * (Kp / 2) + k / 2) * 16 + (n % 8) * 2 + (k % 2)] = v;
      }
    for (int64_t m0 = 0; m0 < M; m0 += ER_QC_PB) {
      const int64_t nm = M - m0 < ER_QC_PB ? M - m0 : ER_QC_PB;
      for (int64_t i = 0; i < nm; ++i) {
        int16_t *row = arows + i * Kp;
        const int64_t m = m0 + i;
        for (int64_t k = 0; k < K; ++k) row[k] = (int16_t)((p->adj_x ? a[k * M + m] : a[m * K + k]) + p->a_offset);
        if (Kp > K) row[K] = 0;
      }
      uk->gemm(arows, nm, Kp, packed, Np, cm);
      for (int64_t i = 0; i < nm; ++i) {
        const int64_t at = (bt * M + m0 + i) * N;
        if (j->raw32) {
          memcpy((int32_t *)j->y + at, cm + i * Np, sizeof(int32_t) * (size_t)N);
          continue;
        }
        for (int64_t n = 0; n < N; ++n) acc[n] = cm[i * Np + n];
        er_qc_requant(acc, N, &p->multiplier, &p->shift, 1, p->rounding, 0, N, p->output_offset, p->out_min,
                      p->out_max, ER_INT8, j->y, at, 1);
      }
    }
  }
}

int er_s8_bmm_gemm(const er_op *op) {
  const er_qbmm_params *p = (const er_qbmm_params *)op->params;
  const er_tensor *a = op->in[0], *b = op->in[1];
  er_tensor *y = op->out[0];
  const int raw32 = y->type == ER_INT32;
  if (a->type != ER_INT8 || b->type != ER_INT8 || (y->type != ER_INT8 && !raw32)) return ER_ERR_UNSUPPORTED;
  const int64_t M = p->m, N = p->n, K = p->k, NB = p->batches;
  if (M < 0 || N < 0 || K < 0 || NB < 0 || er_work3(NB, M, N) != y->count) return ER_ERR_SHAPE;
  if (K > INT32_MAX / (255 * 255)) return ER_ERR_UNSUPPORTED;
  const int64_t Kp = K + (K & 1), Np = (N + 7) / 8 * 8;
  if (!p->a_offsets || !p->b_offsets || (double)op->scratch_bytes < qbmm_scratch(N, Kp, Np)) return ER_ERR_PARAMS;
  for (int64_t bt = 0; bt < NB; ++bt)
    if (p->a_offsets[bt] < 0 || p->a_offsets[bt] > a->count - M * K || p->b_offsets[bt] < 0 ||
        p->b_offsets[bt] > b->count - K * N)
      return ER_ERR_INDEX;
  if (M == 0 || N == 0) return ER_OK;
  const qbmm_job j = {p, (const int8_t *)a->data, (const int8_t *)b->data, y->data, M, N, K, Kp, Np, raw32};
  er_parallel_for(op, NB, 1, er_work3(NB * M, N, K > 0 ? K : 1), qbmm_task, (void *)&j);
  return ER_OK;
}

/* ---- 8-bit TRANSPOSE_CONV on the int16 GEMM (s8_tconv2d_gemm, u8_tconv2d_gemm) ----------------------------
 * The filter packed at prepare as N = KH * KW * OC GEMM columns of K = C (column (kh * KW + kw) * OC + oc holds
 * W[oc][kh][kw][:] in offset form): for blocks of input pixels in offset form, one GEMM gives every exact int32
 * sum Z[pixel][tap][oc]; each is added into the output's int64 accumulators at the pixel its tap reaches, then
 * every output pixel is finished exactly as the reference kernel finishes it (int32 wrap, bias, er_qc_requant
 * with the op's rounding). Integer sums do not depend on the order, so the result is the reference's bit for
 * bit. Runs on the calling thread (the scatter of neighbouring pixels overlaps). Scratch: the accumulators,
 * then blocks of rows: int16 pixels [rows][Kp] and int32 sums [rows][Np]. */
static int tconv_gemm(const er_op *op, int32_t xt) {
  const er_qconv_params *p = (const er_qconv_params *)op->params;
  if (op->n_in < 3) return ER_ERR_PARAMS;
  const er_tensor *w = op->in[1], *x = op->in[2];
  const er_tensor *b = op->n_in > 3 ? op->in[3] : NULL;
  er_tensor *y = op->out[0];
  const int is_u8 = xt == ER_UINT8;
  if (x->type != xt || y->type != xt || w->type != (is_u8 ? ER_UINT8 : ER_INT8) || !p->w_packed)
    return ER_ERR_UNSUPPORTED;
  const int64_t B = x->dims[0], H = x->dims[1], W = x->dims[2], C = x->dims[3];
  const int64_t OC = w->dims[0], KH = w->dims[1], KW = w->dims[2];
  const int64_t OH = y->dims[1], OW = y->dims[2], N = KH * KW * OC, Kp = p->k_padded, Np = p->oc_padded;
  if (w->dims[3] != C || y->dims[3] != OC || y->dims[0] != B || Kp != C + (C & 1) || Np != (N + 7) / 8 * 8)
    return ER_ERR_SHAPE;
  if (C > INT32_MAX / (255 * 255)) return ER_ERR_UNSUPPORTED;
  if (b && (b->type != ER_INT32 || b->count < OC)) return ER_ERR_UNSUPPORTED;
  const double row_bytes = 2.0 * (double)Kp + 4.0 * (double)Np;
  const double free_bytes = (double)op->scratch_bytes - 8.0 * (double)y->count;
  if (free_bytes < row_bytes) return ER_ERR_PARAMS;
  const int64_t R = free_bytes / row_bytes > (double)(H * W) ? H * W : (int64_t)(free_bytes / row_bytes);
  int64_t *acc = (int64_t *)op->scratch;
  int16_t *rows = (int16_t *)(acc + y->count);
  int32_t *z = (int32_t *)(rows + R * Kp);
  const er_qc_ukernels *uk = er_qc_selected;
  memset(acc, 0, sizeof(int64_t) * (size_t)y->count);
  const int64_t P = H * W;
  for (int64_t n = 0; n < B; ++n) {
    for (int64_t q0 = 0; q0 < P; q0 += R) {
      const int64_t nq = P - q0 < R ? P - q0 : R;
      for (int64_t q = 0; q < nq; ++q) {
        load8(uk, (const uint8_t *)x->data + (n * P + q0 + q) * C, is_u8, C, p->input_offset, rows + q * Kp);
        if (Kp > C) rows[q * Kp + C] = 0;
      }
      uk->gemm(rows, nq, Kp, p->w_packed, Np, z);
      for (int64_t q = 0; q < nq; ++q) {
        const int64_t ih = (q0 + q) / W, iw = (q0 + q) % W;
        const int32_t *zq = z + q * Np;
        for (int64_t kh = 0; kh < KH; ++kh) {
          const int64_t oh = ih * p->stride_h - p->pad_top + kh;
          if (oh < 0 || oh >= OH) continue;
          for (int64_t kw = 0; kw < KW; ++kw) {
            const int64_t ow = iw * p->stride_w - p->pad_left + kw;
            if (ow < 0 || ow >= OW) continue;
            int64_t *yo = acc + ((n * OH + oh) * OW + ow) * OC;
            const int32_t *zt = zq + (kh * KW + kw) * OC;
            for (int64_t oc = 0; oc < OC; ++oc) yo[oc] += zt[oc];
          }
        }
      }
    }
  }
  const int64_t pixels = y->count / (OC > 0 ? OC : 1);
  for (int64_t i = 0; i < pixels; ++i) {
    int64_t *a = acc + i * OC;
    for (int64_t c = 0; c < OC; ++c) a[c] = er_qc_wrap32(a[c]); /* TFLite's int32 scratch accumulators */
    er_qc_add_bias(a, OC, b, 0);
    er_qc_requant(a, OC, p->multipliers, p->shifts, 0, p->rounding, 0, OC, p->output_offset, p->out_min, p->out_max,
                  xt, y->data, i * OC, 1);
  }
  return ER_OK;
}

int er_s8_tconv2d_gemm(const er_op *op) { return tconv_gemm(op, ER_INT8); }
int er_u8_tconv2d_gemm(const er_op *op) { return tconv_gemm(op, ER_UINT8); }
