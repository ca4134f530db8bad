/* Float GEMM on packed weights plus the fast CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED drivers, written
 * once with GCC/Clang vector extensions and instantiated per instruction set:
 *   kernels/opt/conv.c         ERPK_VL 4  portable (vector extensions: SSE2 code on x86-64, NEON on AArch64)
 *   kernels/x86/conv_sse2.c    ERPK_VL 4  (x86 max/min in the activation clamp)
 *   kernels/x86/conv_avx2.c    ERPK_VL 8  (compiled for AVX2+FMA)
 * each selected at load (kernels/host_isa.c).
 * The includer defines ERPK_VL (floats per vector), ERPK_MR (rows of a micro tile, <= 8), ERPK_FN(name)
 * (gives each instance its own names) and optionally ERPK_FMA(acc, a, b) (acc + a * b; default a separate
 * multiply and add since -std=c11 turns off contraction).
 *
 * Packed weights (prepared once in runtime/ops/conv.py): for each group, its N output channels rounded up to
 * N8 (a multiple of 8) form panels of NR = 16 channels, the last one 8 wide when N8 is not a multiple of 16;
 * a panel of width r holds K rows of r floats, row k = W[first + j][k] (zero past the last channel). The
 * packed bias has N8 floats per group (zeros where a channel is absent or there is no bias).
 * C[m][n] = clamp(sum_k A[m][k] * W[n][k] + bias[n]); the accumulation starts from the bias. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "edgerun/edgerun.h"
#include "edgerun/parallel.h"

#define ERPK_NR 16
#define ERPK_NV (ERPK_NR / ERPK_VL)

typedef float erpk_v __attribute__((vector_size(ERPK_VL * 4)));
#ifndef ERPK_OPAQUE
#define ERPK_OPAQUE(ptr) __asm__("" : "+r"(ptr)) /* the value is unknown to the optimiser from here */
#endif
typedef int32_t erpk_vi __attribute__((vector_size(ERPK_VL * 4)));

#ifndef ERPK_FMA
#define ERPK_FMA(acc, a, b) ((acc) + (a) * (b))
#endif

static inline erpk_v ERPK_FN(load)(const float *p) {
  erpk_v v;
  memcpy(&v, p, sizeof v);
  return v;
}

static inline void ERPK_FN(store)(float *p, erpk_v v) { memcpy(p, &v, sizeof v); }

static inline erpk_v ERPK_FN(splat)(float x) {
#if ERPK_VL == 8
  return (erpk_v){x, x, x, x, x, x, x, x};
#else
  return (erpk_v){x, x, x, x};
#endif
}

/* short copies and zero fills of the im2col gather, inline: a libc call per few floats costs more than the
 * copy. The tail (< 8 floats) is a switch so that no loop can be turned back into a call. */
static inline void ERPK_FN(copy)(float *dst, const float *src, int64_t n) {
  int64_t j = 0;
  for (; j + ERPK_VL <= n; j += ERPK_VL) ERPK_FN(store)(dst + j, ERPK_FN(load)(src + j));
  switch (n - j) {
    case 7: dst[j + 6] = src[j + 6]; /* fall through */
    case 6: dst[j + 5] = src[j + 5]; /* fall through */
    case 5: dst[j + 4] = src[j + 4]; /* fall through */
    case 4: dst[j + 3] = src[j + 3]; /* fall through */
    case 3: dst[j + 2] = src[j + 2]; /* fall through */
    case 2: dst[j + 1] = src[j + 1]; /* fall through */
    case 1: dst[j] = src[j]; /* fall through */
    default: break;
  }
}

static inline void ERPK_FN(zero)(float *dst, int64_t n) {
  int64_t j = 0;
  for (; j + ERPK_VL <= n; j += ERPK_VL) ERPK_FN(store)(dst + j, ERPK_FN(splat)(0.0f));
  switch (n - j) {
    case 7: dst[j + 6] = 0.0f; /* fall through */
    case 6: dst[j + 5] = 0.0f; /* fall through */
    case 5: dst[j + 4] = 0.0f; /* fall through */
    case 4: dst[j + 3] = 0.0f; /* fall through */
    case 3: dst[j + 2] = 0.0f; /* fall through */
    case 2: dst[j + 1] = 0.0f; /* fall through */
    case 1: dst[j] = 0.0f; /* fall through */
    default: break;
  }
}

/* x < lo ? lo : (x > hi ? hi : x) per lane, NaN passes through as in the reference. ERPK_MAX(a, b) /
 * ERPK_MIN(a, b), when the includer has them, are a > b ? a : b / a < b ? a : b per lane (x86's max/min,
 * which return b when either is NaN). */
static inline erpk_v ERPK_FN(clamp)(erpk_v x, erpk_v lo, erpk_v hi) {
#if defined(ERPK_MAX) && defined(ERPK_MIN)
  return ERPK_MIN(hi, ERPK_MAX(lo, x));
#endif
  erpk_vi m = (erpk_vi)(x < lo);
  x = (erpk_v)((m & (erpk_vi)lo) | (~m & (erpk_vi)x));
  m = (erpk_vi)(x > hi);
  return (erpk_v)((m & (erpk_vi)hi) | (~m & (erpk_vi)x));
}

/* mr rows (mr <= ERPK_MR) x one panel of nv vectors (16 or 8 columns), ncols of them stored; mr and nv are
 * constants after inlining. */
static inline __attribute__((always_inline)) void ERPK_FN(tile)(const int mr, const int nv, int64_t K,
                                                                 const float *A, int64_t lda,
                                                                 const int32_t *koff, const float *P,
                                                                 const float *bias, float *C, int64_t ldc,
                                                                 int64_t ncols, erpk_v lo, erpk_v hi) {
  erpk_v acc[ERPK_MR][ERPK_NV];
  const int64_t ps = nv * ERPK_VL;
  for (int v = 0; v < nv; ++v) {
    const erpk_v b = ERPK_FN(load)(bias + v * ERPK_VL);
    for (int i = 0; i < mr; ++i) acc[i][v] = b;
  }
  for (int64_t k = 0; k < K; ++k) {
    erpk_v w[ERPK_NV];
    for (int v = 0; v < nv; ++v) w[v] = ERPK_FN(load)(P + k * ps + v * ERPK_VL);
    for (int i = 0; i < mr; ++i) {
      const erpk_v a = ERPK_FN(splat)(A[i * lda + (koff ? koff[k] : k)]);
      for (int v = 0; v < nv; ++v) acc[i][v] = ERPK_FMA(acc[i][v], a, w[v]);
    }
  }
  for (int i = 0; i < mr; ++i) {
    float *c = C + i * ldc;
    if (ncols == ps) {
      for (int v = 0; v < nv; ++v) ERPK_FN(store)(c + v * ERPK_VL, ERPK_FN(clamp)(acc[i][v], lo, hi));
    } else {
      float tmp[ERPK_NR] = {0}; /* edge panel: ncols < ps columns are copied out */
      for (int v = 0; v < nv; ++v) ERPK_FN(store)(tmp + v * ERPK_VL, ERPK_FN(clamp)(acc[i][v], lo, hi));
      for (int64_t j = 0; j < ncols; ++j) c[j] = tmp[j];
    }
  }
}

/* One row against a panel with the k loop split in two (independent accumulators hide the FMA latency). */
static inline __attribute__((always_inline)) void ERPK_FN(tile1)(const int nv, int64_t K, const float *A,
                                                                  const int32_t *koff, const float *P, const float *bias, float *C,
                                                                  int64_t ncols, erpk_v lo, erpk_v hi) {
  erpk_v acc[ERPK_NV], acc2[ERPK_NV];
  const int64_t ps = nv * ERPK_VL;
  for (int v = 0; v < nv; ++v) {
    acc[v] = ERPK_FN(load)(bias + v * ERPK_VL);
    acc2[v] = ERPK_FN(splat)(0.0f);
  }
  int64_t k = 0;
  for (; k + 2 <= K; k += 2) {
    const erpk_v a0 = ERPK_FN(splat)(A[koff ? koff[k] : k]);
    const erpk_v a1 = ERPK_FN(splat)(A[koff ? koff[k + 1] : k + 1]);
    for (int v = 0; v < nv; ++v) {
      acc[v] = ERPK_FMA(acc[v], a0, ERPK_FN(load)(P + k * ps + v * ERPK_VL));
      acc2[v] = ERPK_FMA(acc2[v], a1, ERPK_FN(load)(P + (k + 1) * ps + v * ERPK_VL));
    }
  }
  if (k < K) {
    const erpk_v a0 = ERPK_FN(splat)(A[koff ? koff[k] : k]);
    for (int v = 0; v < nv; ++v) acc[v] = ERPK_FMA(acc[v], a0, ERPK_FN(load)(P + k * ps + v * ERPK_VL));
  }
  float tmp[ERPK_NR] = {0};
  for (int v = 0; v < nv; ++v) ERPK_FN(store)(tmp + v * ERPK_VL, ERPK_FN(clamp)(acc[v] + acc2[v], lo, hi));
  for (int64_t j = 0; j < ncols; ++j) C[j] = tmp[j];
}

#define ERPK_ROWS_CASES(nv)                                                                          \
  switch (mr) {                                                                                      \
    ERPK_CASE8(nv) ERPK_CASE7(nv) ERPK_CASE6(nv) ERPK_CASE5(nv) ERPK_CASE4(nv) ERPK_CASE3(nv)        \
    case 2: ERPK_FN(tile)(2, nv, K, A, lda, KOFF, P, bias, C, ldc, ncols, lo, hi); break;            \
    default: ERPK_FN(tile1)(nv, K, A, KOFF, P, bias, C, ncols, lo, hi); break;                       \
  }
#define ERPK_CASE(m, nv) case m: ERPK_FN(tile)(m, nv, K, A, lda, KOFF, P, bias, C, ldc, ncols, lo, hi); break;
#if ERPK_MR >= 8
#define ERPK_CASE8(nv) ERPK_CASE(8, nv)
#else
#define ERPK_CASE8(nv)
#endif
#if ERPK_MR >= 7
#define ERPK_CASE7(nv) ERPK_CASE(7, nv)
#else
#define ERPK_CASE7(nv)
#endif
#if ERPK_MR >= 6
#define ERPK_CASE6(nv) ERPK_CASE(6, nv)
#else
#define ERPK_CASE6(nv)
#endif
#if ERPK_MR >= 5
#define ERPK_CASE5(nv) ERPK_CASE(5, nv)
#else
#define ERPK_CASE5(nv)
#endif
#if ERPK_MR >= 4
#define ERPK_CASE4(nv) ERPK_CASE(4, nv)
#else
#define ERPK_CASE4(nv)
#endif
#if ERPK_MR >= 3
#define ERPK_CASE3(nv) ERPK_CASE(3, nv)
#else
#define ERPK_CASE3(nv)
#endif

/* mr rows against a full panel (half == 0, 16 columns) or the narrow last panel (8 columns). Row i's k-th
 * value is A[i * lda + k], or A[i * lda + koff[k]] when koff is given (windows read in place). */
static void ERPK_FN(rows)(int64_t mr, int half, int64_t K, const float *A, int64_t lda, const int32_t *koff,
                          const float *P, const float *bias, float *C, int64_t ldc, int64_t ncols, erpk_v lo,
                          erpk_v hi) {
  if (koff) {
#define KOFF koff
    if (half) {
      ERPK_ROWS_CASES(ERPK_NV / 2)
    } else {
      ERPK_ROWS_CASES(ERPK_NV)
    }
#undef KOFF
  } else {
#define KOFF ((const int32_t *)0)
    if (half) {
      ERPK_ROWS_CASES(ERPK_NV / 2)
    } else {
      ERPK_ROWS_CASES(ERPK_NV)
    }
#undef KOFF
  }
}
#undef ERPK_ROWS_CASES
#undef ERPK_CASE
#undef ERPK_CASE8
#undef ERPK_CASE7
#undef ERPK_CASE6
#undef ERPK_CASE5
#undef ERPK_CASE4
#undef ERPK_CASE3

/* C (M x N, row stride ldc) = act(A (M x K, row stride lda) x packed^T + bias). The packing of N columns:
 * floor(N8 / 16) panels of 16 then, when N8 = N rounded up to 8 is not a multiple of 16, one of 8. */
static void ERPK_FN(gemm)(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const int32_t *koff,
                          const float *P, const float *bias, float *C, int64_t ldc, float lo_s, float hi_s) {
  const erpk_v lo = ERPK_FN(splat)(lo_s), hi = ERPK_FN(splat)(hi_s);
  const int64_t n8 = (N + 7) / 8 * 8, np = (n8 + ERPK_NR - 1) / ERPK_NR;
  /* rows of A per block: about 16 KiB of A stays in L1 while every panel passes over it */
  int64_t mc = (int64_t)16384 / (4 * (K > 0 ? K : 1));
  mc = mc < ERPK_MR ? ERPK_MR : (mc > 256 ? 256 : mc);
  mc = mc / ERPK_MR * ERPK_MR;
  for (int64_t m0 = 0; m0 < M; m0 += mc) {
    const int64_t m1 = m0 + mc < M ? m0 + mc : M;
    for (int64_t p = 0; p < np; ++p) {
      const float *Pp = P + p * K * ERPK_NR, *bp = bias + p * ERPK_NR;
      const int half = n8 - p * ERPK_NR < ERPK_NR;
      const int64_t ncols = N - p * ERPK_NR < ERPK_NR ? N - p * ERPK_NR : ERPK_NR;
      for (int64_t m = m0; m < m1; m += ERPK_MR) {
        const int64_t mr = m1 - m < ERPK_MR ? m1 - m : ERPK_MR;
        ERPK_FN(rows)(mr, half, K, A + m * lda, lda, koff, Pp, bp, C + m * ldc + p * ERPK_NR, ldc, ncols, lo,
                      hi);
      }
    }
  }
}

/* gemm with its rows (or, for a few rows, its panels) split over the pool's threads (kernels/pool.c): ranges
 * start at multiples of ERPK_MR rows or at panel boundaries, so every tile is the one a single thread computes */
typedef struct ERPK_FN(gemm_job) {
  int64_t M, N, K, lda, ldc;
  const float *A, *P, *bias;
  const int32_t *koff;
  float *C;
  float lo, hi;
} ERPK_FN(gemm_job);

static void ERPK_FN(gemm_rows_task)(void *ctx, void *scratch, int64_t b, int64_t e) {
  const ERPK_FN(gemm_job) *j = (const ERPK_FN(gemm_job) *)ctx;
  ERPK_FN(gemm)(e - b, j->N, j->K, j->A + b * j->lda, j->lda, j->koff, j->P, j->bias, j->C + b * j->ldc, j->ldc,
                j->lo, j->hi);
}

static void ERPK_FN(gemm_panels_task)(void *ctx, void *scratch, int64_t b, int64_t e) {
  const ERPK_FN(gemm_job) *j = (const ERPK_FN(gemm_job) *)ctx;
  const int64_t c0 = b * ERPK_NR, c1 = e * ERPK_NR < j->N ? e * ERPK_NR : j->N;
  ERPK_FN(gemm)(j->M, c1 - c0, j->K, j->A, j->lda, j->koff, j->P + c0 * j->K, j->bias + c0, j->C + c0, j->ldc,
                j->lo, j->hi);
}

static void ERPK_FN(gemm_par)(const er_op *op, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                              const int32_t *koff, const float *P, const float *bias, float *C, int64_t ldc,
                              float lo, float hi) {
  ERPK_FN(gemm_job) j = {M, N, K, lda, ldc, A, P, bias, koff, C, lo, hi};
  const int64_t np = ((N + 7) / 8 * 8 + ERPK_NR - 1) / ERPK_NR;
  if (M >= 8 * ERPK_MR || np < 2)
    er_parallel_for(op, M, ERPK_MR, er_work3(M, N, K), ERPK_FN(gemm_rows_task), &j);
  else
    er_parallel_for(op, np, 1, er_work3(M, N, K), ERPK_FN(gemm_panels_task), &j);
}

/* One CONV_2D call's geometry, shared by the tasks below (each thread gathers into its own scratch). */
typedef struct ERPK_FN(conv_job) {
  const er_conv_params *p;
  const float *xd;
  float *yd;
  int64_t H, W, C, OC, KH, KW, IC, OH, OW, G, OCg, K, gs, owa, owb;
} ERPK_FN(conv_job);

/* the window of output pixel (oh, ow) for group g, gathered into row (K floats, zero outside the input) */
static void ERPK_FN(gather)(const ERPK_FN(conv_job) *j, int64_t n, int64_t oh, int64_t ow, int64_t g, float *row) {
  const er_conv_params *p = j->p;
  const int64_t H = j->H, W = j->W, C = j->C, KW = j->KW, IC = j->IC;
  const int64_t iw0 = ow * p->stride_w - p->pad_left;
  const int whole = p->dil_w == 1 && IC == C && iw0 >= 0 && iw0 + KW <= W;
  for (int64_t kh = 0; kh < j->KH; ++kh) {
    const int64_t ih = oh * p->stride_h - p->pad_top + kh * p->dil_h;
    float *dst = row + kh * KW * IC;
    if (ih < 0 || ih >= H) {
      ERPK_FN(zero)(dst, KW * IC);
    } else if (whole) { /* the window row is contiguous in the input */
      ERPK_FN(copy)(dst, j->xd + ((n * H + ih) * W + iw0) * C, KW * IC);
    } else {
      for (int64_t kw = 0; kw < KW; ++kw) {
        const int64_t iw = iw0 + kw * p->dil_w;
        if (iw < 0 || iw >= W)
          ERPK_FN(zero)(dst + kw * IC, IC);
        else
          ERPK_FN(copy)(dst + kw * IC, j->xd + ((n * H + ih) * W + iw) * C + g * IC, IC);
      }
    }
  }
}

/* CONV_2D through im2col only: blocks [b, e) of p->rows output pixels (over rows) of every image, each
 * gathered into scratch, then one GEMM per group */
static void ERPK_FN(conv_gather_task)(void *ctx, void *scratch, int64_t b, int64_t e) {
  const ERPK_FN(conv_job) *j = (const ERPK_FN(conv_job) *)ctx;
  const er_conv_params *p = j->p;
  const int64_t R = p->rows, P = j->OH * j->OW, nb = (P + R - 1) / R, K = j->K, OW = j->OW;
  float *col = (float *)scratch;
  for (int64_t blk = b; blk < e; ++blk) {
    const int64_t n = blk / nb, q0 = blk % nb * R, nq = P - q0 < R ? P - q0 : R;
    for (int64_t g = 0; g < j->G; ++g) {
      for (int64_t q = 0; q < nq; ++q) ERPK_FN(gather)(j, n, (q0 + q) / OW, (q0 + q) % OW, g, col + q * K);
      ERPK_FN(gemm)(nq, j->OCg, K, col, K, NULL, p->packed_w + g * j->gs * K, p->packed_b + g * j->gs,
                    j->yd + (n * P + q0) * j->OC + g * j->OCg, j->OC, p->act_min, p->act_max);
    }
  }
}

/* Output rows [b, e) (over images and rows) of a CONV_2D with p->koff: the columns whose windows lie inside
 * the input are read in place, the others gathered into scratch up to p->rows at a time. */
static void ERPK_FN(conv_rows_task)(void *ctx, void *scratch, int64_t b, int64_t e) {
  const ERPK_FN(conv_job) *j = (const ERPK_FN(conv_job) *)ctx;
  const er_conv_params *p = j->p;
  const int64_t H = j->H, W = j->W, C = j->C, OC = j->OC, KH = j->KH, IC = j->IC, OH = j->OH, OW = j->OW;
  const int64_t K = j->K, R = p->rows, owa = j->owa, owb = j->owb;
  float *col = (float *)scratch;
  for (int64_t r = b; r < e; ++r) {
    const int64_t n = r / OH, oh = r % OH, ih0 = oh * p->stride_h - p->pad_top;
    const int rows_in = ih0 >= 0 && ih0 + (KH - 1) * p->dil_h < H && owa < owb;
    float *yr = j->yd + (n * OH + oh) * OW * OC;
    for (int64_t g = 0; g < j->G; ++g) {
      const float *pw = p->packed_w + g * j->gs * K, *pb = p->packed_b + g * j->gs;
      if (rows_in)
        ERPK_FN(gemm)(owb - owa, j->OCg, K, j->xd + ((n * H + ih0) * W + owa * p->stride_w - p->pad_left) * C + g * IC,
                      p->stride_w * C, p->koff, pw, pb, yr + owa * OC + g * j->OCg, OC, p->act_min, p->act_max);
      /* the other columns of this row (all of them when the window rows are not all inside): gathered */
      for (int64_t ow0 = 0; ow0 < OW;) {
        if (rows_in && ow0 == owa) {
          ow0 = owb;
          continue;
        }
        const int64_t end = rows_in && ow0 < owa ? owa : OW;
        const int64_t nq = end - ow0 < R ? end - ow0 : R;
        for (int64_t q = 0; q < nq; ++q) ERPK_FN(gather)(j, n, oh, ow0 + q, g, col + q * K);
        ERPK_FN(gemm)(nq, j->OCg, K, col, K, NULL, pw, pb, yr + ow0 * OC + g * j->OCg, OC, p->act_min, p->act_max);
        ow0 += nq;
      }
    }
  }
}

/* CONV_2D (filter OHWI, groups) on packed weights. 1x1 filters with stride 1 and no padding read the input
 * directly as the GEMM's A. Others, per output row: the columns whose windows lie inside the input read them
 * in place (k-th value of a window at offset p->koff[k] from its corner); the rest gather up to p->rows
 * windows (im2col) into scratch at a time. Rows (or blocks of pixels) are split over the pool's threads. */
static int ERPK_FN(conv2d)(const er_op *op) {
  const er_conv_params *p = (const er_conv_params *)op->params;
  const er_tensor *x = op->in[0], *w = op->in[1];
  er_tensor *y = op->out[0];
  const int64_t B = x->dims[0], H = x->dims[1], W = x->dims[2], C = x->dims[3];
  const int64_t OC = w->dims[0], KH = w->dims[1], KW = w->dims[2], IC = w->dims[3];
  const int64_t OH = y->dims[1], OW = y->dims[2];
  const int64_t G = p->groups, OCg = OC / G, K = KH * KW * IC;
  if (G < 1 || IC * G != C || OCg * G != OC || y->dims[3] != OC || y->dims[0] != B) return ER_ERR_SHAPE;
  if (!p->packed_w || !p->packed_b) return ER_ERR_PARAMS;
  const int64_t gs = (OCg + 7) / 8 * 8; /* packed columns per group */
  const float *xd = (const float *)x->data;
  float *yd = (float *)y->data;
  if (KH == 1 && KW == 1 && p->stride_h == 1 && p->stride_w == 1 && p->pad_top == 0 && p->pad_left == 0 &&
      OH == H && OW == W) {
    for (int64_t g = 0; g < G; ++g)
      ERPK_FN(gemm_par)(op, B * H * W, OCg, K, xd + g * IC, C, NULL, p->packed_w + g * gs * K,
                        p->packed_b + g * gs, yd + g * OCg, OC, p->act_min, p->act_max);
    return ER_OK;
  }
  const int64_t R = p->rows;
  if (R < 1 || op->scratch_bytes < (int64_t)sizeof(float) * R * K) return ER_ERR_PARAMS;
  ERPK_FN(conv_job) j = {p, xd, yd, H, W, C, OC, KH, KW, IC, OH, OW, G, OCg, K, gs, 0, OW};
  const int64_t cost = er_work3(y->count, K, 1);
  if (!p->koff) {
    er_parallel_for(op, B * ((OH * OW + R - 1) / R), 1, cost, ERPK_FN(conv_gather_task), &j);
    return ER_OK;
  }
  /* output columns whose windows lie inside the input (read in place through p->koff) */
  while (j.owa < OW && j.owa * p->stride_w - p->pad_left < 0) ++j.owa;
  while (j.owb > j.owa && (j.owb - 1) * p->stride_w - p->pad_left + (KW - 1) * p->dil_w >= W) --j.owb;
  er_parallel_for(op, B * OH, 1, cost, ERPK_FN(conv_rows_task), &j);
  return ER_OK;
}

/* Geometry of one depthwise op (multiplier 1, filter 1HWC) shared by the helpers below. */
typedef struct ERPK_FN(dwgeo) {
  const float *x, *w, *bias;
  float *y;
  int64_t H, W, C, KH, KW, sh, sw, dh, dw, pt, pl;
  erpk_v lo, hi;
  float lo_s, hi_s;
} ERPK_FN(dwgeo);

/* Output pixel (n, oh, ow), channels [c0, C): the valid taps accumulate in registers, blocks of 4 vectors,
 * then single vectors, then scalars. */
static void ERPK_FN(dw_pixel)(const ERPK_FN(dwgeo) *g, int64_t n, int64_t oh, int64_t ow, int64_t c0, int64_t c1,
                              float *yo) {
  enum { VL = ERPK_VL };
  const int64_t C = g->C, KW = g->KW, ih0 = oh * g->sh - g->pt, iw0 = ow * g->sw - g->pl;
  int64_t kh0 = 0, kh1 = g->KH, kw0 = 0, kw1 = KW;
  while (kh0 < kh1 && ih0 + kh0 * g->dh < 0) ++kh0;
  while (kh1 > kh0 && ih0 + (kh1 - 1) * g->dh >= g->H) --kh1;
  while (kw0 < kw1 && iw0 + kw0 * g->dw < 0) ++kw0;
  while (kw1 > kw0 && iw0 + (kw1 - 1) * g->dw >= g->W) --kw1;
  const float *xd = g->x, *wd = g->w, *bias = g->bias;
  const erpk_v lo = g->lo, hi = g->hi;
  int64_t c = c0;
  for (; c + 4 * VL <= c1; c += 4 * VL) {
    erpk_v a0 = ERPK_FN(load)(bias + c), a1 = ERPK_FN(load)(bias + c + VL);
    erpk_v a2 = ERPK_FN(load)(bias + c + 2 * VL), a3 = ERPK_FN(load)(bias + c + 3 * VL);
    for (int64_t kh = kh0; kh < kh1; ++kh) {
      const float *xr = xd + ((n * g->H + ih0 + kh * g->dh) * g->W) * C + c;
      const float *wr = wd + kh * KW * C + c;
      for (int64_t kw = kw0; kw < kw1; ++kw) {
        const float *xi = xr + (iw0 + kw * g->dw) * C, *wk = wr + kw * C;
        a0 = ERPK_FMA(a0, ERPK_FN(load)(xi), ERPK_FN(load)(wk));
        a1 = ERPK_FMA(a1, ERPK_FN(load)(xi + VL), ERPK_FN(load)(wk + VL));
        a2 = ERPK_FMA(a2, ERPK_FN(load)(xi + 2 * VL), ERPK_FN(load)(wk + 2 * VL));
        a3 = ERPK_FMA(a3, ERPK_FN(load)(xi + 3 * VL), ERPK_FN(load)(wk + 3 * VL));
      }
    }
    ERPK_FN(store)(yo + c, ERPK_FN(clamp)(a0, lo, hi));
    ERPK_FN(store)(yo + c + VL, ERPK_FN(clamp)(a1, lo, hi));
    ERPK_FN(store)(yo + c + 2 * VL, ERPK_FN(clamp)(a2, lo, hi));
    ERPK_FN(store)(yo + c + 3 * VL, ERPK_FN(clamp)(a3, lo, hi));
  }
  for (; c + VL <= c1; c += VL) {
    erpk_v a0 = ERPK_FN(load)(bias + c);
    for (int64_t kh = kh0; kh < kh1; ++kh) {
      const float *xr = xd + ((n * g->H + ih0 + kh * g->dh) * g->W) * C + c;
      const float *wr = wd + kh * KW * C + c;
      for (int64_t kw = kw0; kw < kw1; ++kw)
        a0 = ERPK_FMA(a0, ERPK_FN(load)(xr + (iw0 + kw * g->dw) * C), ERPK_FN(load)(wr + kw * C));
    }
    ERPK_FN(store)(yo + c, ERPK_FN(clamp)(a0, lo, hi));
  }
  for (; c < c1; ++c) {
    float s = bias[c];
    for (int64_t kh = kh0; kh < kh1; ++kh) {
      const float *xr = xd + ((n * g->H + ih0 + kh * g->dh) * g->W) * C + c;
      for (int64_t kw = kw0; kw < kw1; ++kw) s += xr[(iw0 + kw * g->dw) * C] * wd[(kh * KW + kw) * C + c];
    }
    yo[c] = s < g->lo_s ? g->lo_s : (s > g->hi_s ? g->hi_s : s);
  }
}

/* 3x3 filter, one output row whose three input rows are all inside the input, output columns [owa, owb)
 * whose windows are inside too: per block of VL channels the nine weight vectors stay in registers and four
 * output pixels accumulate at once. Channels past the last whole vector are left to dw_pixel. */
static void ERPK_FN(dw3x3_row)(const ERPK_FN(dwgeo) *g, const float *x0, float *yr, int64_t owa, int64_t owb,
                               int64_t c0, int64_t c1) {
  enum { VL = ERPK_VL };
  const int64_t C = g->C, rs = g->dh * g->W * C, ts = g->dw * C, ts2 = 2 * ts, ps = g->sw * C;
  const int64_t ps2 = 2 * ps, ps3 = 3 * ps, rstep = rs - ts2;
  const erpk_v lo = g->lo, hi = g->hi;
  for (int64_t c = c0; c + VL <= c1; c += VL) {
    const float *wc = g->w + c;
    const erpk_v w0 = ERPK_FN(load)(wc), w1 = ERPK_FN(load)(wc + C), w2 = ERPK_FN(load)(wc + 2 * C);
    const erpk_v w3 = ERPK_FN(load)(wc + 3 * C), w4 = ERPK_FN(load)(wc + 4 * C), w5 = ERPK_FN(load)(wc + 5 * C);
    const erpk_v w6 = ERPK_FN(load)(wc + 6 * C), w7 = ERPK_FN(load)(wc + 7 * C), w8 = ERPK_FN(load)(wc + 8 * C);
    const erpk_v b = ERPK_FN(load)(g->bias + c);
/* one kernel row (weights wa, wb, wc) for the pixel whose window row starts at q */
#define ERPK_DW3(acc, q, wa, wb, wc)                                                                  \
  do {                                                                                                \
    acc = ERPK_FMA(acc, ERPK_FN(load)(q), wa);                                                        \
    acc = ERPK_FMA(acc, ERPK_FN(load)((q) + ts), wb);                                                 \
    acc = ERPK_FMA(acc, ERPK_FN(load)((q) + ts2), wc);                                                \
  } while (0)
    int64_t ow = owa;
    for (; ow + 4 <= owb; ow += 4) {
      /* t walks the nine taps of the first pixel (the others sit ps, 2 ps, 3 ps further); the empty asm
       * keeps the compiler from turning every (pixel, tap) address into a register of its own */
      const float *t = x0 + (ow * g->sw - g->pl) * C + c;
      erpk_v a0 = b, a1 = b, a2 = b, a3 = b;
#define ERPK_TAP(wv, step)                                                                            \
  do {                                                                                                \
    a0 = ERPK_FMA(a0, ERPK_FN(load)(t), wv);                                                          \
    a1 = ERPK_FMA(a1, ERPK_FN(load)(t + ps), wv);                                                     \
    a2 = ERPK_FMA(a2, ERPK_FN(load)(t + ps2), wv);                                                    \
    a3 = ERPK_FMA(a3, ERPK_FN(load)(t + ps3), wv);                                                    \
    t += (step);                                                                                      \
    ERPK_OPAQUE(t);                                                                                   \
  } while (0)
      ERPK_TAP(w0, ts);
      ERPK_TAP(w1, ts);
      ERPK_TAP(w2, rstep);
      ERPK_TAP(w3, ts);
      ERPK_TAP(w4, ts);
      ERPK_TAP(w5, rstep);
      ERPK_TAP(w6, ts);
      ERPK_TAP(w7, ts);
      ERPK_TAP(w8, 0);
#undef ERPK_TAP
      float *yo = yr + ow * C + c;
      ERPK_FN(store)(yo, ERPK_FN(clamp)(a0, lo, hi));
      ERPK_FN(store)(yo + C, ERPK_FN(clamp)(a1, lo, hi));
      ERPK_FN(store)(yo + 2 * C, ERPK_FN(clamp)(a2, lo, hi));
      ERPK_FN(store)(yo + 3 * C, ERPK_FN(clamp)(a3, lo, hi));
    }
    for (; ow < owb; ++ow) {
      const float *q0 = x0 + (ow * g->sw - g->pl) * C + c;
      erpk_v a0 = b;
      ERPK_DW3(a0, q0, w0, w1, w2);
      ERPK_DW3(a0, q0 + rs, w3, w4, w5);
      ERPK_DW3(a0, q0 + 2 * rs, w6, w7, w8);
      ERPK_FN(store)(yr + ow * C + c, ERPK_FN(clamp)(a0, lo, hi));
    }
#undef ERPK_DW3
  }
}

typedef struct ERPK_FN(dw_job) {
  const ERPK_FN(dwgeo) *g;
  int64_t H, W, C, KH, KW, OH, OW, owa, owb;
  int64_t rows, nch; /* B * OH; chunks of ERPK_DW_NC channels */
} ERPK_FN(dw_job);

/* channels per item of a depthwise op of few rows (7x7, 14x14): a multiple of every vector width, so a channel is
 * computed by the same vector or scalar code as without the split (the scalar tail stays [C / VL * VL, C)) */
#define ERPK_DW_NC 64

/* items [b, e) of a depthwise op: item i is output row i % rows (over images and rows) in channel chunk i / rows */
static void ERPK_FN(dw_rows_task)(void *ctx, void *scratch, int64_t b, int64_t e) {
  const ERPK_FN(dw_job) *j = (const ERPK_FN(dw_job) *)ctx;
  const ERPK_FN(dwgeo) *g = j->g;
  const int64_t H = j->H, W = j->W, C = j->C, OH = j->OH, OW = j->OW, owa = j->owa, owb = j->owb;
  const int64_t Cv = C / ERPK_VL * ERPK_VL;
  for (int64_t i = b; i < e; ++i) {
    const int64_t k = i / j->rows, r = i % j->rows;
    const int64_t c0 = k * ERPK_DW_NC, c1 = k + 1 == j->nch ? C : c0 + ERPK_DW_NC, cv = c1 < Cv ? c1 : Cv;
    const int64_t n = r / OH, oh = r % OH, ih0 = oh * g->sh - g->pt;
    float *yr = g->y + (n * OH + oh) * OW * C;
    if (j->KH == 3 && j->KW == 3 && cv > c0 && ih0 >= 0 && ih0 + 2 * g->dh < H && owa < owb) {
      for (int64_t ow = 0; ow < owa; ++ow) ERPK_FN(dw_pixel)(g, n, oh, ow, c0, c1, yr + ow * C);
      ERPK_FN(dw3x3_row)(g, g->x + (n * H + ih0) * W * C, yr, owa, owb, c0, cv);
      if (cv < c1)
        for (int64_t ow = owa; ow < owb; ++ow) ERPK_FN(dw_pixel)(g, n, oh, ow, cv, c1, yr + ow * C);
      for (int64_t ow = owb; ow < OW; ++ow) ERPK_FN(dw_pixel)(g, n, oh, ow, c0, c1, yr + ow * C);
    } else {
      for (int64_t ow = 0; ow < OW; ++ow) ERPK_FN(dw_pixel)(g, n, oh, ow, c0, c1, yr + ow * C);
    }
  }
}

/* DEPTHWISE_CONV_2D with depth multiplier 1 (filter 1HWC), vectorised across channels,
 * rows (and, for few rows, chunks of channels) split over the pool's threads. */
static int ERPK_FN(dwconv2d)(const er_op *op) {
  const er_conv_params *p = (const er_conv_params *)op->params;
  const er_tensor *x = op->in[0], *w = op->in[1];
  er_tensor *y = op->out[0];
  const int64_t B = x->dims[0], H = x->dims[1], W = x->dims[2], C = x->dims[3];
  const int64_t KH = w->dims[1], KW = w->dims[2], OC = w->dims[3];
  const int64_t OH = y->dims[1], OW = y->dims[2];
  if (OC != C || y->dims[3] != OC || y->dims[0] != B || p->depth_multiplier != 1) return ER_ERR_SHAPE;
  if (!p->packed_b) return ER_ERR_PARAMS;
  const ERPK_FN(dwgeo) g = {(const float *)x->data, (const float *)w->data, p->packed_b, (float *)y->data,
                            H, W, C, KH, KW, p->stride_h, p->stride_w, p->dil_h, p->dil_w, p->pad_top,
                            p->pad_left, ERPK_FN(splat)(p->act_min), ERPK_FN(splat)(p->act_max), p->act_min,
                            p->act_max};
  /* few rows (a 7x7 or 14x14 image): split by channel chunks too; more: whole rows, each pixel's channels read
   * once */
  ERPK_FN(dw_job) j = {&g, H, W, C, KH, KW, OH, OW, 0, OW, B * OH, B * OH < 32 ? (C + ERPK_DW_NC - 1) / ERPK_DW_NC : 1};
  /* columns whose 3-wide window lies inside the input: owa <= ow < owb */
  if (KH == 3 && KW == 3) {
    while (j.owa < OW && j.owa * g.sw - g.pl < 0) ++j.owa;
    while (j.owb > j.owa && (j.owb - 1) * g.sw - g.pl + 2 * g.dw >= W) --j.owb;
  }
  er_parallel_for(op, B * OH * j.nch, 1, er_work3(y->count, KH, KW), ERPK_FN(dw_rows_task), &j);
  return ER_OK;
}

/* FULLY_CONNECTED (input flattened to [M, K], weights [N, K]) on packed weights. */
static int ERPK_FN(fc)(const er_op *op) {
  const er_conv_params *p = (const er_conv_params *)op->params;
  const er_tensor *x = op->in[0], *w = op->in[1];
  er_tensor *y = op->out[0];
  const int64_t N = w->dims[0], K = w->dims[1];
  if (K == 0 || x->count % K != 0) return ER_ERR_SHAPE;
  const int64_t M = x->count / K;
  if (y->count != M * N) return ER_ERR_SHAPE;
  if (!p->packed_w || !p->packed_b) return ER_ERR_PARAMS;
  ERPK_FN(gemm_par)(op, M, N, K, (const float *)x->data, K, NULL, p->packed_w, p->packed_b, (float *)y->data, N,
                    p->act_min, p->act_max);
  return ER_OK;
}

/* TRANSPOSE_CONV (filter [OC, KH, KW, C], input [B, H, W, C]) as a GEMM then a scatter: the filter is packed at
 * prepare as N = KH * KW * OC columns of K = C (column (kh * KW + kw) * OC + oc holds W[oc][kh][kw][:], zero
 * bias), so one GEMM gives, for p->rows input pixels at a time, every product sum Z[pixel][tap][oc] in scratch;
 * each is then added onto the output pixel the tap reaches, in the reference kernel's order (pixels in raster
 * order, then kh, kw), and bias and activation are applied last as there. Runs on the calling thread: the
 * scatter of neighbouring pixels overlaps. */
static int ERPK_FN(tconv2d)(const er_op *op) {
  const er_conv_params *p = (const er_conv_params *)op->params;
  if (op->n_in < 3) return ER_ERR_PARAMS;
  const er_tensor *w = op->in[1], *x = op->in[2];
  const er_tensor *b = op->n_in > 3 ? op->in[3] : NULL;
  er_tensor *y = op->out[0];
  const int64_t B = x->dims[0], H = x->dims[1], W = x->dims[2], C = x->dims[3];
  const int64_t OC = w->dims[0], KH = w->dims[1], KW = w->dims[2];
  const int64_t OH = y->dims[1], OW = y->dims[2], N = KH * KW * OC, R = p->rows;
  if (w->dims[3] != C || y->dims[3] != OC || y->dims[0] != B) return ER_ERR_SHAPE;
  if (!p->packed_w || !p->packed_b || R < 1 || (double)op->scratch_bytes < 4.0 * (double)R * (double)N)
    return ER_ERR_PARAMS;
  if (b && (b->type != ER_FLOAT32 || b->count < OC)) return ER_ERR_PARAMS;
  const float *xd = (const float *)x->data, *bias = b ? (const float *)b->data : NULL;
  float *yd = (float *)y->data, *z = (float *)op->scratch;
  memset(yd, 0, sizeof(float) * (size_t)y->count);
  const int64_t P = H * W;
  for (int64_t n = 0; n < B; ++n) {
    for (int64_t q0 = 0; q0 < P; q0 += R) {
      const int64_t nq = P - q0 < R ? P - q0 : R;
      ERPK_FN(gemm)(nq, N, C, xd + (n * P + q0) * C, C, NULL, p->packed_w, p->packed_b, z, N, -INFINITY, INFINITY);
      for (int64_t q = 0; q < nq; ++q) {
        const int64_t ih = (q0 + q) / W, iw = (q0 + q) % W;
        const float *zq = z + q * N;
        for (int64_t kh = 0; kh < KH; ++kh) {
          const int64_t oh = ih * p->stride_h - p->pad_top + kh;
          if (oh < 0 || oh >= OH) continue;
          for (int64_t kw = 0; kw < KW; ++kw) {
            const int64_t ow = iw * p->stride_w - p->pad_left + kw;
            if (ow < 0 || ow >= OW) continue;
            float *yo = yd + ((n * OH + oh) * OW + ow) * OC;
            const float *zt = zq + (kh * KW + kw) * OC;
            for (int64_t oc = 0; oc < OC; ++oc) yo[oc] += zt[oc];
          }
        }
      }
    }
  }
  for (int64_t i = 0; i < y->count; ++i) {
    const float v = yd[i] + (bias ? bias[i % OC] : 0.0f);
    yd[i] = v < p->act_min ? p->act_min : (v > p->act_max ? p->act_max : v);
  }
  return ER_OK;
}

/* The panels of the GEMM's weights for a [K, N] right-hand side held row-major (rows k, ld apart) or, with
 * `trans`, as [N, K] (rows n): the layout prepare's pack_panels gives (panels of ERPK_NR columns, the last one
 * 8 wide when N rounded up to 8 is not a multiple of ERPK_NR, zeros past N). */
static void ERPK_FN(pack_rhs)(const float *b, int64_t K, int64_t N, int64_t ld, int trans, float *out) {
  const int64_t n8 = (N + 7) / 8 * 8;
  for (int64_t first = 0; first < n8; first += ERPK_NR) {
    const int64_t width = n8 - first < ERPK_NR ? n8 - first : ERPK_NR;
    for (int64_t k = 0; k < K; ++k, out += width)
      for (int64_t j = 0; j < width; ++j) {
        const int64_t c = first + j;
        out[j] = c >= N ? 0.0f : trans ? b[c * ld + k] : b[k * ld + c];
      }
  }
}

typedef struct ERPK_FN(bmm_job) {
  const er_bmm_params *p;
  const float *a, *b;
  float *y;
  int64_t M, N, K, n8;
} ERPK_FN(bmm_job);

/* batches [b0, e0): the right-hand side packed into this thread's scratch (after a zero bias and, with adj_x, the
 * left-hand side transposed), then one GEMM per batch */
static void ERPK_FN(bmm_task)(void *ctx, void *scratch, int64_t b0, int64_t e0) {
  const ERPK_FN(bmm_job) *j = (const ERPK_FN(bmm_job) *)ctx;
  const er_bmm_params *p = j->p;
  const int64_t M = j->M, N = j->N, K = j->K;
  float *zero = (float *)scratch, *packed = zero + j->n8, *at = packed + K * j->n8;
  memset(zero, 0, sizeof(float) * (size_t)j->n8);
  for (int64_t bt = b0; bt < e0; ++bt) {
    const float *a = j->a + p->a_offsets[bt], *b = j->b + p->b_offsets[bt];
    ERPK_FN(pack_rhs)(b, K, N, p->adj_y ? K : N, p->adj_y, packed);
    if (p->adj_x) { /* a is [K, M]: rows of the product come from its columns */
      for (int64_t m = 0; m < M; ++m)
        for (int64_t k = 0; k < K; ++k) at[m * K + k] = a[k * M + m];
      a = at;
    }
    ERPK_FN(gemm)(M, N, K, a, K, NULL, packed, zero, j->y + bt * M * N, N, -INFINITY, INFINITY);
  }
}

/* BATCH_MATMUL float (broadcast batches through p->a_offsets / p->b_offsets, as the reference kernel): each
 * batch's right-hand side is packed into panels at run time (it is often an activation) and multiplied with the
 * packed GEMM; batches are split over the pool's threads. */
static int ERPK_FN(bmm)(const er_op *op) {
  const er_bmm_params *p = (const er_bmm_params *)op->params;
  const er_tensor *ta = op->in[0], *tb = op->in[1];
  er_tensor *ty = op->out[0];
  const int64_t M = p->m, N = p->n, K = p->k, NB = p->batches, n8 = (N + 7) / 8 * 8;
  if (M < 0 || N < 0 || K < 0 || NB < 0 || er_work3(NB, M, N) != ty->count) return ER_ERR_SHAPE;
  if (ta->type != ER_FLOAT32 || tb->type != ER_FLOAT32 || ty->type != ER_FLOAT32) return ER_ERR_UNSUPPORTED;
  if (!p->a_offsets || !p->b_offsets ||
      (double)op->scratch_bytes < 4.0 * ((double)n8 + (double)K * n8 + (p->adj_x ? (double)M * K : 0.0)))
    return ER_ERR_PARAMS;
  for (int64_t bt = 0; bt < NB; ++bt)
    if (p->a_offsets[bt] < 0 || p->a_offsets[bt] > ta->count - M * K || p->b_offsets[bt] < 0 ||
        p->b_offsets[bt] > tb->count - K * N)
      return ER_ERR_INDEX;
  if (M == 0 || N == 0) return ER_OK;
  ERPK_FN(bmm_job) j = {p, (const float *)ta->data, (const float *)tb->data, (float *)ty->data, M, N, K, n8};
  er_parallel_for(op, NB, 1, er_work3(NB * M, N, K > 0 ? K : 1), ERPK_FN(bmm_task), &j);
  return ER_OK;
}
