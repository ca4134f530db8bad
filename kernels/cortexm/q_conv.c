/* int8 CONV_2D and DEPTHWISE_CONV_2D for Cortex-M, bit-exact with kernels/ref/q_conv.c (the definition):
 * DSP extension (M4, M7, M33): SMLAD on pairs of int16 operands; Helium (M55): MVE int8 dot products with
 * tail predication. Chosen by edgerun/isa.h; the public names are these only when it selects a Cortex-M ISA.
 *
 * CONV_2D: im2col of two output pixels at a time into scratch, then the GEMM of q_conv.h. Scratch: two
 * columns, 2 * sizeof(column) * K bytes (K = KH * KW * IC; int16 columns on DSP, int8 on MVE), one column
 * when only that fits; the reference's formula (8 * OW * OC / groups + 2 * OW * K) always holds one, and two
 * whenever OW >= 2. MVE reads pointwise convolutions (1x1, stride 1, no padding, one group) in place.
 * DEPTHWISE_CONV_2D (multiplier 1): channels in the inner dimension, 4 (DSP) or 16 (MVE) per step, the taps
 * inside the image walked without per-tap tests; no scratch. The rest falls back to the reference body:
 * other depth multipliers, strides or dilations below 1, too little scratch, coordinates or tensors beyond
 * int32 (er_cm_geometry_ok), depthwise kernels taller than ER_CM_DW_ROWS, and (MVE) input offsets outside
 * [-127, 128]. */
#include "q_conv.h"

#if ER_ISA_CORTEXM

void er_cm_requant_n(const er_cm_rq *r, const int32_t *acc, int32_t c, int32_t n, int8_t *y) {
  const int up = c < r->upward_end;
  if (r->bias64 || r->single || r->lo > r->hi || (up && c + n > r->upward_end)) {
    for (int32_t j = 0; j < n; ++j) y[j] = er_cm_requant(r, acc[j], c + j);
    return;
  }
  /* er_cm_requant with its per-call decisions taken once (int32 or no bias, double rounding, one rounding
   * rule for the block, a non-empty clamp) and no branches per value: with mask = 2^rs - 1 and r = h & mask,
   * TFLite's RoundingDivideByPOT is (h >> rs) + (r > mask / 2 + (h < 0)) and the upward shift
   * (h + 2^(rs-1)) >> rs is (h >> rs) + (r > mask / 2). */
  const int32_t *mult = r->mult + c, *shift = r->shift + c, *bias = r->bias32 ? r->bias32 + c : NULL;
  const int32_t lo = r->lo, hi = r->hi, off = r->out_offset;
  const uint32_t tflite = up ? 0u : 1u;
  for (int32_t j = 0; j < n; ++j) {
    const int32_t m = mult[j], s = shift[j];
    if (m == INT32_MIN) {
      y[j] = er_cm_requant(r, acc[j], c + j);
      continue;
    }
    const int32_t a = bias ? er_cm_wadd(acc[j], bias[j]) : acc[j];
    const int32_t x = er_wrapping_shl(a, s > 0 ? s : 0), rs = s > 0 ? 0 : -s;
    const int32_t h = (int32_t)(((int64_t)x * m + ((int64_t)1 << 30)) >> 31);
    const uint32_t mask = (1u << rs) - 1u;
    const int32_t q = (h >> rs) + (((uint32_t)h & mask) > (mask >> 1) + (((uint32_t)h >> 31) & tflite));
#if ER_ISA_ARM_DSP
    const int32_t v = __qadd(q, off);
#else
    const int64_t v = (int64_t)q + off;
#endif
    y[j] = (int8_t)(v < lo ? lo : (v > hi ? hi : (int32_t)v));
  }
}

/* ---- columns ------------------------------------------------------------------------------------------- */

#if ER_ISA_ARM_MVE

void er_cm_pack_col(const int8_t *src, int32_t n, int32_t k, int32_t K, int32_t input_offset, er_cm_col_t *col) {
  (void)K;
  (void)input_offset;
  memcpy(col + k, src, (size_t)n);
}

void er_cm_pad_col(int32_t n, int32_t k, int32_t K, int32_t input_offset, er_cm_col_t *col) {
  (void)K;
  memset(col + k, (int8_t)-input_offset, (size_t)n); /* x = -input_offset is 0 in offset form */
}

#else /* DSP */

/* position of element k in a column of K: whole blocks of 4 as (0, 2, 1, 3), the tail in order */
static inline int32_t col_pos(int32_t k, int32_t K4) { return k < K4 ? (k & ~3) | ((k & 1) << 1) | ((k >> 1) & 1) : k; }

/* SXTB16 / SXTAB16 of the odd bytes (operand rotated right by 8) in one instruction: GCC does not fold a
 * rotation into the ACLE intrinsics */
static inline int32_t sxtb16_ror8(int32_t v) {
  int32_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
  return r;
}
static inline int32_t sxtab16_ror8(int32_t a, int32_t v) {
  int32_t r;
  __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(v));
  return r;
}

void er_cm_pack_col(const int8_t *src, int32_t n, int32_t k, int32_t K, int32_t input_offset, er_cm_col_t *col) {
  const int32_t K4 = K & ~3;
  int32_t i = 0;
  if ((k & 3) == 0) { /* whole blocks: widen 4 values with two SXTAB16 (halfword adds wrap as the reference's
                         int16 cast) */
    const int32_t off2 = (int32_t)(((uint32_t)input_offset & 0xFFFFu) * 0x10001u);
    for (; i + 4 <= n && k + i + 4 <= K4; i += 4) {
      const int32_t v = er_cm_ld32(src + i);
      er_cm_st32(col + k + i, __sxtab16(off2, v));
      er_cm_st32(col + k + i + 2, sxtab16_ror8(off2, v));
    }
  }
  for (; i < n; ++i) col[col_pos(k + i, K4)] = (int16_t)(src[i] + input_offset);
}

void er_cm_pad_col(int32_t n, int32_t k, int32_t K, int32_t input_offset, er_cm_col_t *col) {
  (void)input_offset;
  const int32_t K4 = K & ~3;
  if ((k & 3) == 0 && ((n & 3) == 0 || k + n >= K)) { /* the positions are exactly [k, k + n) */
    memset(col + k, 0, sizeof(int16_t) * (size_t)n);
    return;
  }
  for (int32_t i = 0; i < n; ++i) col[col_pos(k + i, K4)] = 0;
}

#endif

/* ---- GEMM ---------------------------------------------------------------------------------------------- */

#if ER_ISA_ARM_MVE

/* acc[j] = sum_k (c_j[k] + off) * w[k] for 4 weight rows sharing one int8 column; K tail by predication */
static inline void dot_1x4_mve(const int8_t *c, const int8_t *w, int32_t K, int32_t off, int32_t acc[4]) {
  const int8_t *w0 = w, *w1 = w + K, *w2 = w + 2 * K, *w3 = w + 3 * K;
  int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0, t0 = 0, t1 = 0, t2 = 0, t3 = 0;
  for (int32_t k = 0; k < K; k += 16) {
    const mve_pred16_t pr = vctp8q((uint32_t)(K - k));
    const int8x16_t x = vldrbq_z_s8(c + k, pr);
    const int8x16_t a0 = vldrbq_z_s8(w0 + k, pr), a1 = vldrbq_z_s8(w1 + k, pr);
    const int8x16_t a2 = vldrbq_z_s8(w2 + k, pr), a3 = vldrbq_z_s8(w3 + k, pr);
    s0 = vmladavaq_s8(s0, x, a0);
    s1 = vmladavaq_s8(s1, x, a1);
    s2 = vmladavaq_s8(s2, x, a2);
    s3 = vmladavaq_s8(s3, x, a3);
    t0 = vaddvaq_s8(t0, a0);
    t1 = vaddvaq_s8(t1, a1);
    t2 = vaddvaq_s8(t2, a2);
    t3 = vaddvaq_s8(t3, a3);
  }
  acc[0] = er_cm_wadd(s0, (int32_t)((uint32_t)t0 * (uint32_t)off));
  acc[1] = er_cm_wadd(s1, (int32_t)((uint32_t)t1 * (uint32_t)off));
  acc[2] = er_cm_wadd(s2, (int32_t)((uint32_t)t2 * (uint32_t)off));
  acc[3] = er_cm_wadd(s3, (int32_t)((uint32_t)t3 * (uint32_t)off));
}

/* two columns against 4 weight rows: the weight vectors and their sums serve both */
static inline void dot_2x4_mve(const int8_t *c0, const int8_t *c1, const int8_t *w, int32_t K, int32_t off,
                               int32_t acc0[4], int32_t acc1[4]) {
  const int8_t *w0 = w, *w1 = w + K, *w2 = w + 2 * K, *w3 = w + 3 * K;
  int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0, u0 = 0, u1 = 0, u2 = 0, u3 = 0, t0 = 0, t1 = 0, t2 = 0, t3 = 0;
  for (int32_t k = 0; k < K; k += 16) {
    const mve_pred16_t pr = vctp8q((uint32_t)(K - k));
    const int8x16_t x = vldrbq_z_s8(c0 + k, pr), y = vldrbq_z_s8(c1 + k, pr);
    const int8x16_t a0 = vldrbq_z_s8(w0 + k, pr), a1 = vldrbq_z_s8(w1 + k, pr);
    s0 = vmladavaq_s8(s0, x, a0);
    u0 = vmladavaq_s8(u0, y, a0);
    t0 = vaddvaq_s8(t0, a0);
    s1 = vmladavaq_s8(s1, x, a1);
    u1 = vmladavaq_s8(u1, y, a1);
    t1 = vaddvaq_s8(t1, a1);
    const int8x16_t a2 = vldrbq_z_s8(w2 + k, pr), a3 = vldrbq_z_s8(w3 + k, pr);
    s2 = vmladavaq_s8(s2, x, a2);
    u2 = vmladavaq_s8(u2, y, a2);
    t2 = vaddvaq_s8(t2, a2);
    s3 = vmladavaq_s8(s3, x, a3);
    u3 = vmladavaq_s8(u3, y, a3);
    t3 = vaddvaq_s8(t3, a3);
  }
  const int32_t o0 = (int32_t)((uint32_t)t0 * (uint32_t)off), o1 = (int32_t)((uint32_t)t1 * (uint32_t)off);
  const int32_t o2 = (int32_t)((uint32_t)t2 * (uint32_t)off), o3 = (int32_t)((uint32_t)t3 * (uint32_t)off);
  acc0[0] = er_cm_wadd(s0, o0);
  acc0[1] = er_cm_wadd(s1, o1);
  acc0[2] = er_cm_wadd(s2, o2);
  acc0[3] = er_cm_wadd(s3, o3);
  acc1[0] = er_cm_wadd(u0, o0);
  acc1[1] = er_cm_wadd(u1, o1);
  acc1[2] = er_cm_wadd(u2, o2);
  acc1[3] = er_cm_wadd(u3, o3);
}

static inline int32_t dot_1x1_mve(const int8_t *c, const int8_t *w, int32_t K, int32_t off) {
  int32_t s = 0, t = 0;
  for (int32_t k = 0; k < K; k += 16) {
    const mve_pred16_t pr = vctp8q((uint32_t)(K - k));
    const int8x16_t x = vldrbq_z_s8(c + k, pr), a = vldrbq_z_s8(w + k, pr);
    s = vmladavaq_s8(s, x, a);
    t = vaddvaq_s8(t, a);
  }
  return er_cm_wadd(s, (int32_t)((uint32_t)t * (uint32_t)off));
}

void er_cm_s8_gemm(const er_cm_col_t *cols, int32_t ncols, int32_t K, int32_t input_offset, const int8_t *w,
                   int32_t N, int32_t c0, const er_cm_rq *rq, int8_t *y0, int8_t *y1) {
  const int8_t *col0 = cols, *col1 = cols + K;
  int32_t o = 0;
  for (; o + 4 <= N; o += 4) {
    int32_t a[4], b[4];
    if (ncols == 2) {
      dot_2x4_mve(col0, col1, w + o * K, K, input_offset, a, b);
      er_cm_requant4(rq, vld1q_s32(b), c0 + o, 4, y1 + o);
    } else {
      dot_1x4_mve(col0, w + o * K, K, input_offset, a);
    }
    er_cm_requant4(rq, vld1q_s32(a), c0 + o, 4, y0 + o);
  }
  for (; o < N; ++o) {
    y0[o] = er_cm_requant(rq, dot_1x1_mve(col0, w + o * K, K, input_offset), c0 + o);
    if (ncols == 2) y1[o] = er_cm_requant(rq, dot_1x1_mve(col1, w + o * K, K, input_offset), c0 + o);
  }
}

#else /* DSP */

/* acc[2 * r + j] = dot(column j, weight row r), 2 columns x 2 rows, 4 values per step (two SMLAD each) */
static inline void dot_2x2_dsp(const int16_t *c0, const int16_t *c1, const int8_t *w0, const int8_t *w1, int32_t K,
                               int32_t acc[4]) {
  int32_t s00 = 0, s01 = 0, s10 = 0, s11 = 0;
  int32_t k = 0;
  for (; k + 4 <= K; k += 4) {
    const int32_t wa = er_cm_ld32(w0 + k), wb = er_cm_ld32(w1 + k);
    const int32_t wa02 = __sxtb16(wa), wa13 = sxtb16_ror8(wa);
    const int32_t wb02 = __sxtb16(wb), wb13 = sxtb16_ror8(wb);
    const int32_t x02 = er_cm_ld32(c0 + k), x13 = er_cm_ld32(c0 + k + 2);
    s00 = __smlad(wa02, x02, s00);
    s00 = __smlad(wa13, x13, s00);
    s10 = __smlad(wb02, x02, s10);
    s10 = __smlad(wb13, x13, s10);
    const int32_t z02 = er_cm_ld32(c1 + k), z13 = er_cm_ld32(c1 + k + 2);
    s01 = __smlad(wa02, z02, s01);
    s01 = __smlad(wa13, z13, s01);
    s11 = __smlad(wb02, z02, s11);
    s11 = __smlad(wb13, z13, s11);
  }
  for (; k < K; ++k) {
    s00 = er_cm_wadd(s00, c0[k] * w0[k]);
    s01 = er_cm_wadd(s01, c1[k] * w0[k]);
    s10 = er_cm_wadd(s10, c0[k] * w1[k]);
    s11 = er_cm_wadd(s11, c1[k] * w1[k]);
  }
  acc[0] = s00;
  acc[1] = s01;
  acc[2] = s10;
  acc[3] = s11;
}

/* one column against two weight rows */
static inline void dot_1x2_dsp(const int16_t *c0, const int8_t *w0, const int8_t *w1, int32_t K, int32_t acc[2]) {
  int32_t s0 = 0, s1 = 0;
  int32_t k = 0;
  for (; k + 4 <= K; k += 4) {
    const int32_t wa = er_cm_ld32(w0 + k), wb = er_cm_ld32(w1 + k);
    const int32_t x02 = er_cm_ld32(c0 + k), x13 = er_cm_ld32(c0 + k + 2);
    s0 = __smlad(__sxtb16(wa), x02, s0);
    s0 = __smlad(sxtb16_ror8(wa), x13, s0);
    s1 = __smlad(__sxtb16(wb), x02, s1);
    s1 = __smlad(sxtb16_ror8(wb), x13, s1);
  }
  for (; k < K; ++k) {
    s0 = er_cm_wadd(s0, c0[k] * w0[k]);
    s1 = er_cm_wadd(s1, c0[k] * w1[k]);
  }
  acc[0] = s0;
  acc[1] = s1;
}

static inline int32_t dot_1x1_dsp(const int16_t *c0, const int8_t *w0, int32_t K) {
  int32_t s = 0;
  int32_t k = 0;
  for (; k + 4 <= K; k += 4) {
    const int32_t wa = er_cm_ld32(w0 + k);
    s = __smlad(__sxtb16(wa), er_cm_ld32(c0 + k), s);
    s = __smlad(sxtb16_ror8(wa), er_cm_ld32(c0 + k + 2), s);
  }
  for (; k < K; ++k) s = er_cm_wadd(s, c0[k] * w0[k]);
  return s;
}

/* channels per requantization call: accumulators of a block wait on the stack (2 x 128 bytes) */
#define RQ_BLOCK 32

void er_cm_s8_gemm(const er_cm_col_t *cols, int32_t ncols, int32_t K, int32_t input_offset, const int8_t *w,
                   int32_t N, int32_t c0, const er_cm_rq *rq, int8_t *y0, int8_t *y1) {
  (void)input_offset; /* already in the columns */
  const int16_t *col0 = cols, *col1 = cols + K;
  int32_t acc0[RQ_BLOCK], acc1[RQ_BLOCK];
  for (int32_t ob = 0; ob < N; ob += RQ_BLOCK) {
    const int32_t nb = N - ob < RQ_BLOCK ? N - ob : RQ_BLOCK;
    int32_t o = 0;
    for (; o + 2 <= nb; o += 2) {
      const int8_t *w0 = w + (ob + o) * K, *w1 = w0 + K;
      if (ncols == 2) {
        int32_t a[4];
        dot_2x2_dsp(col0, col1, w0, w1, K, a);
        acc0[o] = a[0];
        acc1[o] = a[1];
        acc0[o + 1] = a[2];
        acc1[o + 1] = a[3];
      } else {
        dot_1x2_dsp(col0, w0, w1, K, acc0 + o);
      }
    }
    if (o < nb) {
      acc0[o] = dot_1x1_dsp(col0, w + (ob + o) * K, K);
      if (ncols == 2) acc1[o] = dot_1x1_dsp(col1, w + (ob + o) * K, K);
    }
    er_cm_requant_n(rq, acc0, c0 + ob, nb, y0 + ob);
    if (ncols == 2) er_cm_requant_n(rq, acc1, c0 + ob, nb, y1 + ob);
  }
}

#endif

/* ---- CONV_2D ------------------------------------------------------------------------------------------- */

/* the K = KH * KW * IC column of output pixel (oh, ow) of group g, image xn (H x W x C) */
static void im2col(const int8_t *xn, int32_t H, int32_t W, int32_t C, int32_t IC, int32_t g, int32_t KH,
                   int32_t KW, const er_qconv_params *p, int32_t oh, int32_t ow, er_cm_col_t *col) {
  const int32_t K = KH * KW * IC;
  int32_t k = 0;
  for (int32_t kh = 0; kh < KH; ++kh) {
    const int32_t ih = oh * p->stride_h - p->pad_top + kh * p->dil_h;
    if (ih < 0 || ih >= H) {
      er_cm_pad_col(KW * IC, k, K, p->input_offset, col);
      k += KW * IC;
      continue;
    }
    for (int32_t kw = 0; kw < KW; ++kw, k += IC) {
      const int32_t iw = ow * p->stride_w - p->pad_left + kw * p->dil_w;
      if (iw < 0 || iw >= W)
        er_cm_pad_col(IC, k, K, p->input_offset, col);
      else
        er_cm_pack_col(xn + (ih * W + iw) * C + g * IC, IC, k, K, p->input_offset, col);
    }
  }
}

/* the offsets the int8 column form can represent (MVE pads with x = -input_offset) */
static int offset_ok(int32_t input_offset) {
#if ER_ISA_ARM_MVE
  return input_offset >= -127 && input_offset <= 128;
#else
  (void)input_offset;
  return 1;
#endif
}

int er_s8_conv2d(const er_op *op) {
  const er_qconv_params *p = (const er_qconv_params *)op->params;
  const er_tensor *x = op->in[0], *w = op->in[1];
  const er_tensor *b = op->n_in > 2 ? op->in[2] : NULL;
  er_tensor *y = op->out[0];
  if (x->type != ER_INT8 || w->type != ER_INT8 || y->type != ER_INT8) return er_ref_s8_conv2d(op);
  const int64_t OC = w->dims[0], IC = w->dims[3], G = p->groups;
  if (G < 1 || IC * G != x->dims[3] || (OC / G) * G != OC || y->dims[3] != OC || y->dims[0] != x->dims[0])
    return er_ref_s8_conv2d(op); /* its shape errors */
  const int64_t K64 = w->dims[1] * w->dims[2] * IC;
  const int64_t npix = (int64_t)y->dims[1] * y->dims[2];
  /* MVE reads the columns of a pointwise convolution (1x1, stride 1, no padding, one group) in place */
  const int direct = ER_ISA_ARM_MVE && w->dims[1] == 1 && w->dims[2] == 1 && G == 1 && p->stride_h == 1 &&
                     p->stride_w == 1 && p->pad_top == 0 && p->pad_left == 0 && y->dims[2] == x->dims[2] &&
                     y->dims[1] <= x->dims[1];
  /* the reference needs 2 * OW * K bytes of columns; one column here is sizeof(col) * K <= 2 * K */
  const int64_t col_bytes = (int64_t)sizeof(er_cm_col_t) * K64;
  if (!er_cm_geometry_ok(p, x, w, y) || K64 <= 0 || (!direct && op->scratch_bytes < col_bytes) ||
      !offset_ok(p->input_offset))
    return er_ref_s8_conv2d(op);
  const int32_t B = x->dims[0], H = x->dims[1], W = x->dims[2], C = x->dims[3];
  const int32_t KH = w->dims[1], KW = w->dims[2], OW = y->dims[2], K = (int32_t)K64;
  const int32_t OCg = (int32_t)(OC / G), NP = (int32_t)npix;
  const int32_t maxcols = direct || op->scratch_bytes >= 2 * col_bytes ? 2 : 1;
  er_cm_col_t *scratch = (er_cm_col_t *)op->scratch;
  const er_cm_rq rq = er_cm_rq_make(p, b, (int32_t)OC);
  const int8_t *xd = (const int8_t *)x->data, *wd = (const int8_t *)w->data;
  int8_t *yd = (int8_t *)y->data;
  for (int32_t n = 0; n < B; ++n) {
    const int8_t *xn = xd + n * H * W * C;
    int8_t *yn = yd + n * NP * (int32_t)OC;
    for (int32_t g = 0; g < (int32_t)G; ++g) {
      for (int32_t i = 0; i < NP; i += maxcols) {
        const int32_t ncols = NP - i < maxcols ? NP - i : maxcols;
        const er_cm_col_t *cols = scratch;
        if (direct)
          cols = (const er_cm_col_t *)(xn + i * C); /* MVE columns are the int8 pixels themselves */
        else
          for (int32_t j = 0; j < ncols; ++j)
            im2col(xn, H, W, C, (int32_t)IC, g, KH, KW, p, (i + j) / OW, (i + j) % OW, scratch + j * K);
        int8_t *y0 = yn + i * (int32_t)OC + g * OCg;
        er_cm_s8_gemm(cols, ncols, K, p->input_offset, wd + g * OCg * K, OCg, g * OCg, &rq, y0,
                      y0 + (ncols == 2 ? (int32_t)OC : 0));
      }
    }
  }
  return ER_OK;
}

/* ---- DEPTHWISE_CONV_2D --------------------------------------------------------------------------------- */

#if !ER_ISA_ARM_MVE
/* a[j] += (x[j] + off) * w[j], j < 4 (x + off in the reference's int16 offset form) */
static inline void dw_tap4_dsp(const int8_t *xt, const int8_t *wt, int32_t off2, int32_t a[4]) {
  const int32_t xv = er_cm_ld32(xt), wv = er_cm_ld32(wt);
  const int32_t x02 = __sxtab16(off2, xv), x13 = sxtab16_ror8(off2, xv);
  const int32_t w02 = __sxtb16(wv), w13 = sxtb16_ror8(wv);
  a[0] = __smlabb(x02, w02, a[0]);
  a[1] = __smlabb(x13, w13, a[1]);
  a[2] = __smlatt(x02, w02, a[2]);
  a[3] = __smlatt(x13, w13, a[3]);
}
#endif

/* er_cm_dw_pixel (q_conv.h): output pixel of channels [0, C), the taps an nkh x nkw grid */
void er_cm_dw_pixel(const int8_t *const *rows, int32_t xoff, const int8_t *wp, int32_t C, int32_t nkh, int32_t nkw,
                    int32_t xcol, int32_t wrow, int32_t off, const er_cm_rq *rq, int8_t *yp) {
  int32_t c = 0;
#if ER_ISA_ARM_MVE
  /* 16 channels per step: x + offset and w widened to int16 (VLDRB.S16), products of the even and odd
   * lanes (VMULLB/VMULLT) summed into four int32x4 accumulators; then 8 at a time, the last predicated */
  const int16_t off16 = (int16_t)off; /* the reference's int16 offset form wraps the same way */
  for (; c + 16 <= C; c += 16) {
    int32x4_t e0 = vdupq_n_s32(0), o0 = e0, e1 = e0, o1 = e0;
    for (int32_t i = 0; i < nkh; ++i) {
      const int8_t *xr = rows[i] + xoff + c, *wr = wp + i * wrow + c;
      for (int32_t j = 0; j < nkw; ++j) {
        const int8_t *xt = xr + j * xcol, *wt = wr + j * C;
        const int16x8_t x0 = vaddq_n_s16(vldrbq_s16(xt), off16), w0 = vldrbq_s16(wt);
        const int16x8_t x1 = vaddq_n_s16(vldrbq_s16(xt + 8), off16), w1 = vldrbq_s16(wt + 8);
        e0 = vaddq_s32(e0, vmullbq_int_s16(x0, w0));
        o0 = vaddq_s32(o0, vmulltq_int_s16(x0, w0));
        e1 = vaddq_s32(e1, vmullbq_int_s16(x1, w1));
        o1 = vaddq_s32(o1, vmulltq_int_s16(x1, w1));
      }
    }
    int32_t acc[16]; /* even and odd lanes interleaved back into channel order */
    const int32x4x2_t h0 = {{e0, o0}}, h1 = {{e1, o1}};
    vst2q_s32(acc, h0);
    vst2q_s32(acc + 8, h1);
    for (int32_t j = 0; j < 16; j += 4) er_cm_requant4(rq, vld1q_s32(acc + j), c + j, 4, yp + c + j);
  }
  for (; c < C; c += 8) {
    const mve_pred16_t pr = vctp16q((uint32_t)(C - c));
    int32x4_t e = vdupq_n_s32(0), o = e;
    for (int32_t i = 0; i < nkh; ++i) {
      const int8_t *xr = rows[i] + xoff + c, *wr = wp + i * wrow + c;
      for (int32_t j = 0; j < nkw; ++j) {
        const int8_t *xt = xr + j * xcol, *wt = wr + j * C;
        const int16x8_t xv = vaddq_n_s16(vldrbq_z_s16(xt, pr), off16), wv = vldrbq_z_s16(wt, pr);
        e = vaddq_s32(e, vmullbq_int_s16(xv, wv));
        o = vaddq_s32(o, vmulltq_int_s16(xv, wv));
      }
    }
    int32_t acc[8];
    const int32x4x2_t h = {{e, o}};
    vst2q_s32(acc, h);
    for (int32_t j = 0; j < 8 && c + j < C; j += 4)
      er_cm_requant4(rq, vld1q_s32(acc + j), c + j, C - c - j < 4 ? C - c - j : 4, yp + c + j);
  }
#else
  /* 4 channels per step: SXTAB16 widens x + offset, SXTB16 the weights, SMLABB/SMLATT multiply lanes;
   * rows of 3 taps unrolled */
  const int32_t off2 = (int32_t)(((uint32_t)off & 0xFFFFu) * 0x10001u);
  int32_t acc[RQ_BLOCK]; /* requantized a block at a time */
  for (int32_t cb = 0; cb + 4 <= C; cb += RQ_BLOCK) {
    const int32_t ce = C - cb < RQ_BLOCK ? cb + ((C - cb) & ~3) : cb + RQ_BLOCK;
    for (c = cb; c < ce; c += 4) {
      int32_t a[4] = {0, 0, 0, 0};
      for (int32_t i = 0; i < nkh; ++i) {
        const int8_t *xr = rows[i] + xoff + c, *wr = wp + i * wrow + c;
        if (nkw == 3) {
          dw_tap4_dsp(xr, wr, off2, a);
          dw_tap4_dsp(xr + xcol, wr + C, off2, a);
          dw_tap4_dsp(xr + 2 * xcol, wr + 2 * C, off2, a);
        } else {
          for (int32_t j = 0; j < nkw; ++j) dw_tap4_dsp(xr + j * xcol, wr + j * C, off2, a);
        }
      }
      memcpy(acc + (c - cb), a, sizeof a);
    }
    er_cm_requant_n(rq, acc, cb, ce - cb, yp + cb);
  }
  for (; c < C; ++c) {
    int32_t a = 0;
    for (int32_t i = 0; i < nkh; ++i) {
      const int8_t *xr = rows[i] + xoff + c, *wr = wp + i * wrow + c;
      for (int32_t j = 0; j < nkw; ++j) {
        const int8_t *xt = xr + j * xcol, *wt = wr + j * C;
        a = er_cm_wadd(a, (int16_t)(*xt + off) * *wt); /* the reference's int16 offset form */
      }
    }
    yp[c] = er_cm_requant(rq, a, c);
  }
#endif
}

int er_s8_dwconv2d(const er_op *op) {
  const er_qconv_params *p = (const er_qconv_params *)op->params;
  const er_tensor *x = op->in[0], *w = op->in[1];
  const er_tensor *b = op->n_in > 2 ? op->in[2] : NULL;
  er_tensor *y = op->out[0];
  if (x->type != ER_INT8 || w->type != ER_INT8 || y->type != ER_INT8 || p->depth_multiplier != 1 ||
      x->dims[3] != w->dims[3] || y->dims[3] != w->dims[3] || y->dims[0] != x->dims[0] || !er_cm_geometry_ok(p, x, w, y))
    return er_ref_s8_dwconv2d(op); /* including its errors */
  const int32_t B = x->dims[0], H = x->dims[1], W = x->dims[2], C = x->dims[3];
  const int32_t KH = w->dims[1], KW = w->dims[2], OH = y->dims[1], OW = y->dims[2];
  const er_cm_rq rq = er_cm_rq_make(p, b, C);
  const int8_t *xd = (const int8_t *)x->data, *wd = (const int8_t *)w->data;
  int8_t *yp = (int8_t *)y->data;
  if (KH > ER_CM_DW_ROWS) return er_ref_s8_dwconv2d(op);
  /* a dilation at least the width leaves one tap column inside: its step is never taken */
  const int32_t xcol = p->dil_w < W ? p->dil_w * C : 0, wrow = KW * C;
  const int8_t *rows[ER_CM_DW_ROWS];
  for (int32_t n = 0; n < B; ++n) {
    const int8_t *xn = xd + n * H * W * C;
    for (int32_t oh = 0; oh < OH; ++oh) {
      const int32_t ih0 = oh * p->stride_h - p->pad_top;
      int32_t kh0, kh1;
      er_cm_tap_range(ih0, p->dil_h, KH, H, &kh0, &kh1);
      for (int32_t i = 0; i < kh1 - kh0; ++i) rows[i] = xn + (ih0 + (kh0 + i) * p->dil_h) * W * C;
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

#endif
