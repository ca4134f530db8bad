/* Optimized int8 CONV_2D (groups 1) and FULLY_CONNECTED on the "dot" layout that runtime/ops/conv_int.py
 * prepares for the ARM ISAs (neon, neon-dotprod): the operands stay raw int8, so a dot-product instruction
 * (SDOT: four int8 products summed into an int32 lane) or SMULL + SADALP reads them as they are.
 *   sum_k (x_k + input_offset) * w_k = sum_k x_k * w_k + input_offset * sum_k w_k
 * The second term is a per-channel constant folded at prepare ("corrections", int32 wrapping, exact since the
 * whole sum fits int32). Padding taps hold the input zero point, whose products the correction cancels.
 * Packed buffer (p->w_packed): OCp int32 corrections, then panels [OCp / 8][K4 / 4][8][4] int8 (K4 = K rounded
 * up to 4, OCp = OC rounded up to 8, zero padded), then OCp int32 weight sums sum_k w_k (for fold_bias);
 * p->k_padded = K4, p->oc_padded = OCp. int8 weights only
 * (weight zero point 0). Bit-exact with kernels/ref/q_conv.c and q_conv_fc.c: same int32 sums, bias added with
 * wrap-around, the requantization of p->rounding. The GEMM micro-kernel is the one selected at load
 * (kernels/host_isa.c): the portable loop below, kernels/neon/q_conv_neon.c, or kernels/x86/q_conv_vnni.c (which
 * also requantizes in registers: gemm_finish). */
#include <string.h>

#include "edgerun/edgerun.h"
#include "edgerun/fixedpoint_conv.h"
#include "edgerun/parallel.h"
#include "ukernels.h"

#define ER_QD_PB 32 /* output pixels (GEMM rows) per block */

static void er_qd_gemm_portable(const int8_t *a, int64_t np, int64_t lda, int64_t k4, const int8_t *b, int64_t ocp,
                                int32_t *c, int64_t ldc) {
  for (int64_t j = 0; j < ocp; j += 8) {
    const int8_t *bp = b + j * k4;
    for (int64_t i = 0; i < np; ++i) {
      const int8_t *r = a + i * lda;
      int32_t s[8] = {0};
      for (int64_t k = 0; k < k4; k += 4) {
        const int8_t *bk = bp + k * 8;
        for (int l = 0; l < 8; ++l)
          s[l] += r[k] * bk[4 * l] + r[k + 1] * bk[4 * l + 1] + r[k + 2] * bk[4 * l + 2] + r[k + 3] * bk[4 * l + 3];
      }
      for (int l = 0; l < 8; ++l) c[i * ldc + j + l] = s[l];
    }
  }
}

const er_qd_ukernels er_qd_ukernels_portable = {er_qd_gemm_portable, NULL, NULL}; /* gemm_q: finish_rows */

/* the scratch both kernels need (runtime/ops/conv_int.py sizes it the same way) */
static int64_t dot_scratch(int64_t k4, int64_t ocp) { return (int64_t)ER_QD_PB * (k4 + 4 * ocp) + 4 * ocp; }

/* n bytes of one im2col run: a first layer's runs are a few bytes (1 channel x 4 taps in a keyword-spotting CNN),
 * where a call to memcpy costs more than the copy; 4 to 32 bytes as two overlapping fixed-size moves */
static inline void copy_run(int8_t *dst, const int8_t *src, int64_t n) {
  if (n < 4) {
    for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
  } else if (n > 32) {
    memcpy(dst, src, (size_t)n);
  } else if (n >= 16) {
    int8_t lo[16], hi[16];
    memcpy(lo, src, 16);
    memcpy(hi, src + n - 16, 16);
    memcpy(dst, lo, 16);
    memcpy(dst + n - 16, hi, 16);
  } else if (n >= 8) {
    uint64_t lo, hi;
    memcpy(&lo, src, 8);
    memcpy(&hi, src + n - 8, 8);
    memcpy(dst, &lo, 8);
    memcpy(dst + n - 8, &hi, 8);
  } else {
    uint32_t lo, hi;
    memcpy(&lo, src, 4);
    memcpy(&hi, src + n - 4, 4);
    memcpy(dst, &lo, 4);
    memcpy(dst + n - 4, &hi, 4);
  }
}

/* n bytes of the zero point (a border tap's padding): short runs inline, as copy_run */
static inline void fill_run(int8_t *dst, int8_t v, int64_t n) {
  if (n <= 16)
    for (int64_t i = 0; i < n; ++i) dst[i] = v;
  else
    memset(dst, v, (size_t)n);
}

/* bias + corrections (wrapping) into cb[0, n) */
static int combined_bias(const er_op *op, const int32_t *corr, int64_t n, int32_t *cb) {
  const int32_t *bias = NULL;
  if (op->n_in > 2 && op->in[2]) {
    const er_tensor *b = op->in[2];
    if (b->type != ER_INT32 || b->count < n) return 0;
    bias = (const int32_t *)b->data;
  }
  for (int64_t o = 0; o < n; ++o) cb[o] = bias ? er_wrap_add32(corr[o], bias[o]) : corr[o];
  return 1;
}

/* bias and requantization of `rows` pixels of n channels (accumulators ldacc apart, outputs n apart) */
static void finish_rows(const er_qconv_params *p, int32_t *acc, int64_t rows, int64_t ldacc, int64_t n,
                        const int32_t *cb, int8_t *dst) {
  const er_qc_ukernels *uk = er_qc_selected;
  int64_t done = 0;
  if (uk->requant_upward && (p->rounding == ER_QC_RND_UPWARD || p->rounding == ER_QC_RND_UPWARD8) && n >= 8)
    done = uk->requant_upward(acc, rows, ldacc, (n / 8) * 8, cb, p->multipliers, p->shifts, p->output_offset,
                              p->out_min, p->out_max, 0, dst, n);
  if (done == n) return;
  for (int64_t r = 0; r < rows; ++r) {
    int32_t *a = acc + r * ldacc;
    for (int64_t o = done; o < n; ++o) a[o] = er_wrap_add32(a[o], cb[o]);
    er_qc_requant32(a, n, done, p->multipliers, p->shifts, p->rounding, p->output_offset, p->out_min, p->out_max,
                    ER_INT8, dst + r * n);
  }
}

/* channels [j0, j0 + nc) of np rows (j0 a multiple of 8) of an op of oc channels through gemm_q, straight to
 * dst[i * ldd + j0 + o]: the channels' own bias, scales and rounding (the "upward" end counted from j0), so any
 * split of the channels gives the bytes of the whole */
static void gemm_q_cols(const er_qconv_params *p, const er_qd_ukernels *uk, const int8_t *a, int64_t np, int64_t lda,
                        int64_t k4, const int8_t *panels, int64_t oc, int64_t j0, int64_t nc, const int32_t *cb,
                        int8_t *dst, int64_t ldd) {
  er_qm_out q;
  memset(&q, 0, sizeof q);
  q.bias = cb + j0;
  q.mult = p->multipliers + j0;
  q.shift = p->shifts + j0;
  const int64_t up = p->rounding == ER_QC_RND_UPWARD ? oc : p->rounding == ER_QC_RND_UPWARD8 ? (oc / 8) * 8 : 0;
  q.up_end = up - j0 < 0 ? 0 : up - j0 > nc ? nc : up - j0;
  q.vec_end = q.up_end;
  q.out_offset = p->output_offset;
  q.lo = p->out_min;
  q.hi = p->out_max;
  uk->gemm_q(a, np, lda, k4, panels + j0 * k4, nc, &q, dst + j0, ldd);
}

/* the GEMM of np rows and their requantization: in one pass where the micro-kernels have one (gemm_q, e.g. x86's
 * avx512vnni), else the int32 sums through acc (np x ocp) then finish_rows */
static void gemm_finish(const er_qconv_params *p, const er_qd_ukernels *uk, const int8_t *a, int64_t np, int64_t lda,
                        int64_t k4, const int8_t *panels, int64_t ocp, int64_t oc, int32_t *acc, const int32_t *cb,
                        int8_t *dst) {
  if (uk->gemm_q) {
    gemm_q_cols(p, uk, a, np, lda, k4, panels, oc, 0, oc, cb, dst, oc);
    return;
  }
  uk->gemm(a, np, lda, k4, panels, ocp, acc, ocp);
  finish_rows(p, acc, np, ocp, oc, cb, dst);
}

static int check_common(const er_op *op, const er_tensor **x, const er_tensor **w, er_tensor **y) {
  const er_qconv_params *p = (const er_qconv_params *)op->params;
  *x = op->in[0];
  *w = op->in[1];
  *y = op->out[0];
  if ((*x)->type != ER_INT8 || (*y)->type != ER_INT8 || (*w)->type != ER_INT8 || !p->w_packed ||
      p->weight_offset != 0)
    return ER_ERR_UNSUPPORTED;
  return ER_OK;
}

/* One call's geometry, shared by the block tasks: the combined bias is written once (in the caller's scratch)
 * and only read by the tasks; accumulators and gathered rows are per thread. */
typedef struct qd_job {
  const er_qconv_params *p;
  const int8_t *xd, *panels;
  int8_t *yd;
  const int32_t *cb;
  int64_t H, W, C, KH, KW, IC, OW, K, K4, OCp, OC, P, nb;
  int direct;
  int64_t xbytes; /* the input's size */
  int64_t nch;    /* chunks of ER_QD_NC channels per block (1: all channels at once, through gemm_finish) */
} qd_job;

/* With gemm_q, an item is ER_QD_NC channels of a block of pixels, so that a small image (7x7: two blocks) still
 * splits over threads, by channels; a multiple of the vnni tile's 32 channels, so the tiles are the unsplit
 * call's */
#define ER_QD_NC 64

/* items [b, e): item i is channel chunk i % nch of block i / nch of ER_QD_PB output pixels of every image */
static void conv_dot_task(void *ctx, void *scratch, int64_t b, int64_t e) {
  const qd_job *j = (const qd_job *)ctx;
  const er_qconv_params *p = j->p;
  const int64_t H = j->H, W = j->W, C = j->C, KH = j->KH, KW = j->KW, IC = j->IC, OW = j->OW, K = j->K;
  const int64_t K4 = j->K4, OCp = j->OCp, P = j->P;
  const int8_t zp = (int8_t)(-p->input_offset), *xd = j->xd;
  /* the geometry in locals: the gathered rows are int8 stores, which may alias any field read through p or j */
  const int64_t sh = p->stride_h, sw = p->stride_w, dh = p->dil_h, dw = p->dil_w, pt = p->pad_top, pl = p->pad_left;
  const int64_t nb = j->nb;
  int32_t *cm = (int32_t *)scratch;
  int8_t *col = (int8_t *)(cm + ER_QD_PB * OCp + OCp);
  const er_qd_ukernels *uk = er_qd_selected;
  int64_t gathered = -1; /* the block whose rows col holds */
  for (int64_t it = b; it < e; ++it) {
    const int64_t blk = it / j->nch;
    const int64_t n = blk / nb, p0 = blk % nb * ER_QD_PB, np = P - p0 < ER_QD_PB ? P - p0 : ER_QD_PB;
    const int8_t *a = col;
    int64_t lda = K4;
    if (j->direct) { /* the input pixels are the GEMM rows */
      a = xd + (n * P + p0) * C;
      lda = C;
    } else if (blk != gathered) {
      gathered = blk;
      int64_t oh = p0 / OW, ow = p0 % OW - 1; /* stepped per row, no division */
      for (int64_t i = 0; i < np; ++i) {
        if (++ow == OW) {
          ow = 0;
          ++oh;
        }
        int8_t *row = col + i * K4;
        const int64_t iw0 = ow * sw - pl;
        const int whole = dw == 1 && iw0 >= 0 && iw0 + KW <= W; /* the KW taps are adjacent pixels */
        const int64_t ih0 = oh * sh - pt, run = KW * IC;
        if (whole && run <= 16 && ih0 >= 0 && ih0 + (KH - 1) * dh < H) {
          /* a first layer's pixel (3 channels: 9-byte runs): each run as one 16-byte move; a move's excess lands
           * where the next run, the row's zero padding or the next row is written after it, never past the
           * gathered block, and never reads past the input */
          const int64_t at = ((n * H + ih0) * W + iw0) * C, step = dh * W * C;
          if (at + (KH - 1) * step + 16 <= j->xbytes && i * K4 + (KH - 1) * run + 16 <= ER_QD_PB * K4) {
            for (int64_t kh = 0; kh < KH; ++kh) memcpy(row + kh * run, xd + at + kh * step, 16);
            for (int64_t k = K; k < K4; ++k) row[k] = 0;
            continue;
          }
        }
        /* undilated rows: the taps inside the image [kl, kr) are adjacent pixels, one run between the padding */
        const int64_t kl = iw0 < 0 ? (-iw0 < KW ? -iw0 : KW) : 0;
        const int64_t kr = W - iw0 < KW ? (W - iw0 > kl ? W - iw0 : kl) : KW;
        for (int64_t kh = 0; kh < KH; ++kh) {
          const int64_t ih = oh * sh - pt + kh * dh;
          int8_t *dst = row + kh * KW * IC;
          if (ih < 0 || ih >= H) {
            fill_run(dst, zp, KW * IC); /* the zero point (the correction cancels it) */
            continue;
          }
          if (whole) {
            copy_run(dst, xd + ((n * H + ih) * W + iw0) * C, KW * IC);
            continue;
          }
          if (dw == 1) {
            fill_run(dst, zp, kl * IC);
            if (kr > kl) copy_run(dst + kl * IC, xd + ((n * H + ih) * W + iw0 + kl) * C, (kr - kl) * IC);
            fill_run(dst + kr * IC, zp, (KW - kr) * IC);
            continue;
          }
          for (int64_t kw = 0; kw < KW; ++kw) {
            const int64_t iw = iw0 + kw * dw;
            if (iw < 0 || iw >= W)
              fill_run(dst + kw * IC, zp, IC);
            else
              copy_run(dst + kw * IC, xd + ((n * H + ih) * W + iw) * C, IC);
          }
        }
        for (int64_t k = K; k < K4; ++k) row[k] = 0; /* against zero weights */
      }
    }
    int8_t *dst = j->yd + (n * P + p0) * j->OC;
    if (j->nch == 1) {
      gemm_finish(p, uk, a, np, lda, K4, j->panels, OCp, j->OC, cm, j->cb, dst);
    } else {
      const int64_t j0 = it % j->nch * ER_QD_NC, nc = j->OC - j0 < ER_QD_NC ? j->OC - j0 : ER_QD_NC;
      gemm_q_cols(p, uk, a, np, lda, K4, j->panels, j->OC, j0, nc, j->cb, dst, j->OC);
    }
  }
}

int er_s8_conv2d_dot(const er_op *op) {
  const er_qconv_params *p = (const er_qconv_params *)op->params;
  const er_tensor *x, *w;
  er_tensor *y;
  int st = check_common(op, &x, &w, &y);
  if (st != ER_OK) return st;
  const int64_t B = x->dims[0], H = x->dims[1], W = x->dims[2], C = x->dims[3];
  const int64_t OC = w->dims[0], KH = w->dims[1], KW = w->dims[2], IC = w->dims[3];
  const int64_t OH = y->dims[1], OW = y->dims[2], K = KH * KW * IC;
  const int64_t K4 = p->k_padded, OCp = p->oc_padded;
  if (IC != C || y->dims[3] != OC || y->dims[0] != B || K4 != (K + 3) / 4 * 4 || OCp != (OC + 7) / 8 * 8)
    return ER_ERR_SHAPE;
  if (K > INT32_MAX / (255 * 255)) return ER_ERR_UNSUPPORTED;
  if (op->scratch_bytes < dot_scratch(K4, OCp)) return ER_ERR_PARAMS;
  const int32_t *corr = (const int32_t *)(const void *)p->w_packed;
  int32_t *cb = (int32_t *)op->scratch + ER_QD_PB * OCp;
  if (!combined_bias(op, corr, OC, cb)) return ER_ERR_UNSUPPORTED;
  const er_qd_ukernels *uk = er_qd_selected;
  if (uk->gemm_q && uk->fold_bias) uk->fold_bias(corr + OCp + OCp * K4 / 4, OC, cb);
  const int64_t P = OH * OW;
  const int direct = KH == 1 && KW == 1 && p->stride_h == 1 && p->stride_w == 1 && p->pad_top == 0 &&
                     p->pad_left == 0 && OH == H && OW == W && K4 == K;
  const qd_job j = {p, (const int8_t *)x->data, (const int8_t *)(corr + OCp), (int8_t *)y->data, cb, H, W, C, KH, KW,
                    IC, OW, K, K4, OCp, OC, P, (P + ER_QD_PB - 1) / ER_QD_PB, direct,
                    x->count, uk->gemm_q ? (OC + ER_QD_NC - 1) / ER_QD_NC : 1};
  er_parallel_for(op, B * j.nb * j.nch, 1, er_work3(y->count, K, 1), conv_dot_task, (void *)&j);
  return ER_OK;
}

/* FULLY_CONNECTED's items: blocks of ER_QD_PB rows, each in nch chunks of ER_QD_NC channels (nch 1 without
 * gemm_q: all channels through gemm and finish_rows), so a single row (M = 1, the classifier of a CNN) splits
 * over threads by channels */

typedef struct qfc_job {
  const er_qconv_params *p;
  const int8_t *xd, *panels;
  int8_t *yd;
  const int32_t *cb;
  int64_t M, K, K4, Np, N, nch;
} qfc_job;

static void fc_dot_task(void *ctx, void *scratch, int64_t b, int64_t e) {
  const qfc_job *j = (const qfc_job *)ctx;
  const int64_t K = j->K, K4 = j->K4, Np = j->Np, N = j->N;
  int32_t *cm = (int32_t *)scratch;
  int8_t *col = (int8_t *)(cm + ER_QD_PB * Np + Np);
  const er_qd_ukernels *uk = er_qd_selected;
  int64_t copied = -1; /* the row block whose padded rows col holds */
  for (int64_t it = b; it < e; ++it) {
    const int64_t m0 = it / j->nch * ER_QD_PB, nm = j->M - m0 < ER_QD_PB ? j->M - m0 : ER_QD_PB;
    const int8_t *a = j->xd + m0 * K;
    int64_t lda = K;
    if (K4 != K) { /* rows copied out with their k padded */
      if (copied != m0)
        for (int64_t i = 0; i < nm; ++i) {
          memcpy(col + i * K4, j->xd + (m0 + i) * K, (size_t)K);
          memset(col + i * K4 + K, 0, (size_t)(K4 - K));
        }
      copied = m0;
      a = col;
      lda = K4;
    }
    int8_t *dst = j->yd + m0 * N;
    if (j->nch == 1) {
      gemm_finish(j->p, uk, a, nm, lda, K4, j->panels, Np, N, cm, j->cb, dst);
    } else {
      const int64_t j0 = it % j->nch * ER_QD_NC, nc = N - j0 < ER_QD_NC ? N - j0 : ER_QD_NC;
      gemm_q_cols(j->p, uk, a, nm, lda, K4, j->panels, N, j0, nc, j->cb, dst, N);
    }
  }
}

/* FULLY_CONNECTED: input flattened to [M, K], weights [N, K], output [M, N] */
int er_s8_fc_dot(const er_op *op) {
  const er_qconv_params *p = (const er_qconv_params *)op->params;
  const er_tensor *x, *w;
  er_tensor *y;
  int st = check_common(op, &x, &w, &y);
  if (st != ER_OK) return st;
  const int64_t N = w->dims[0], K = w->dims[1], K4 = p->k_padded, Np = p->oc_padded;
  if (K == 0 || x->count % K != 0) return ER_ERR_SHAPE;
  const int64_t M = x->count / K;
  if (y->count != M * N || K4 != (K + 3) / 4 * 4 || Np != (N + 7) / 8 * 8) return ER_ERR_SHAPE;
  if (K > INT32_MAX / (255 * 255)) return ER_ERR_UNSUPPORTED;
  if (op->scratch_bytes < dot_scratch(K4, Np)) return ER_ERR_PARAMS;
  const int32_t *corr = (const int32_t *)(const void *)p->w_packed;
  int32_t *cb = (int32_t *)op->scratch + ER_QD_PB * Np;
  if (!combined_bias(op, corr, N, cb)) return ER_ERR_UNSUPPORTED;
  const er_qd_ukernels *uk = er_qd_selected;
  if (uk->gemm_q && uk->fold_bias) uk->fold_bias(corr + Np + Np * K4 / 4, N, cb);
  const qfc_job j = {p, (const int8_t *)x->data, (const int8_t *)(corr + Np), (int8_t *)y->data, cb, M, K, K4, Np, N,
                     uk->gemm_q ? (N + ER_QD_NC - 1) / ER_QD_NC : 1};
  er_parallel_for(op, (M + ER_QD_PB - 1) / ER_QD_PB * j.nch, 1, er_work3(M, N, K), fc_dot_task, (void *)&j);
  return ER_OK;
}
