/* Per-ISA tables of the optimized kernels' micro-kernels (the kernels of kernels/opt/ call through them).
 * One table per ISA, defined beside its code (portable: kernels/opt/, x86: kernels/x86/); kernels/host_isa.c points the
 * selected ones at a table once, at load. Not part of the cffi cdef. */
#ifndef EDGERUN_OPT_UKERNELS_H
#define EDGERUN_OPT_UKERNELS_H
#include <string.h>

#include "edgerun/edgerun.h"
#include "edgerun/fixedpoint_conv.h"

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define ER_HAVE_X86_UKERNELS 1 /* kernels/x86/ compiles to code (target attributes need GCC or Clang) */
#else
#define ER_HAVE_X86_UKERNELS 0
#endif

/* kernels/neon/ compiles to code on AArch64 and on ARMv7 built with NEON (-mfpu=neon, as Android's
 * armeabi-v7a); the dot-product micro-kernels (SDOT, under a target pragma) on AArch64 only */
#if defined(__ARM_NEON) && defined(__GNUC__)
#define ER_HAVE_NEON_UKERNELS 1
#else
#define ER_HAVE_NEON_UKERNELS 0
#endif
#if ER_HAVE_NEON_UKERNELS && defined(__aarch64__)
#define ER_HAVE_NEON_DOTPROD_UKERNELS 1
#else
#define ER_HAVE_NEON_DOTPROD_UKERNELS 0
#endif

/* ---- fast float CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED (kernels/opt/conv.c): one instance of
 * kernels/opt/gemm_f32_packed.h per ISA */
typedef struct er_f32_conv_ukernels {
  int (*conv2d)(const er_op *op);
  int (*dwconv2d)(const er_op *op);
  int (*fc)(const er_op *op);
  int (*tconv2d)(const er_op *op);
  int (*bmm)(const er_op *op);
} er_f32_conv_ukernels;

extern const er_f32_conv_ukernels er_f32_conv_ukernels_portable; /* kernels/opt/conv.c */
#if ER_HAVE_X86_UKERNELS
extern const er_f32_conv_ukernels er_f32_conv_ukernels_sse2; /* kernels/x86/conv_sse2.c */
extern const er_f32_conv_ukernels er_f32_conv_ukernels_avx2; /* kernels/x86/conv_avx2.c */
#endif
#if ER_HAVE_NEON_UKERNELS
extern const er_f32_conv_ukernels er_f32_conv_ukernels_neon; /* kernels/neon/conv_neon.c */
#endif
extern const er_f32_conv_ukernels *er_f32_conv_selected; /* kernels/host_isa.c */

/* ---- requantization of the int8 "madd" kernels: the folded bias and per-channel constants of one op (the packed
 * blob of runtime/ops/conv_int.py, layout in ops_q_conv.h) and the rounding per channel: "upward" for channels
 * [0, up_end), TFLite's double rounding for the rest (ER_QC_RND_UPWARD: up_end = C; UPWARD8: 8 * floor(C / 8);
 * TFLITE: 0). */
typedef struct er_qm_out {
  const int32_t *bias;  /* [Cp]: bias + input_offset * (sum of the channel's weights), int32 wrapping */
  const int32_t *rq;    /* [Cp / 8][ER_QM_RQ_WORDS] constants of the one-step upward rounding, or NULL when some
                         * channel needs the general form (shift >= 0, or a multiplier of INT32_MIN) */
  const int32_t *mult;  /* [C] as er_qconv_params */
  const int32_t *shift;
  int64_t up_end;
  int64_t vec_end;      /* channels [0, vec_end) may take a vector "upward" form: up_end, or 0 when a multiplier is
                         * INT32_MIN (whose doubling high multiply saturates) */
  int32_t out_offset, lo, hi;
} er_qm_out;

/* Per block of 8 channels, the "upward" rounding in one step for shift = -r, r >= 1:
 *   floor((floor((x * m + 2^30) / 2^31) + 2^(r-1)) / 2^r) = floor((x * m + 2^30 + 2^(30+r)) / 2^(31+r))
 *   = (high word of the 64-bit x * m + rc) >> (r - 1)   (|x * m + rc| < 2^63, so the high word is exact)
 * words: m[8], m of the odd channels in the low words of 4 quads [8], rc of channels 0,2,4,6 (int64) [8],
 * rc of 1,3,5,7 [8], r - 1 [8]. */
#define ER_QM_RQ_WORDS 40
#define ER_QM_HEADER_WORDS 8 /* blob header: [0] 1 when rq holds the constants above */

/* one channel, scalar (the definition the vector code matches). A left shift past 31 (absurd scales of a
 * hostile file) wraps every accumulator to 0, as vpsllvd does, instead of shifting out of range. */
static inline int8_t er_qm_requant1(int32_t acc, int64_t c, const er_qm_out *q) {
  const int32_t v = q->shift[c] > 31 ? 0
                    : c < q->up_end ? er_qc_mul_upward_fast(acc, q->mult[c], q->shift[c])
                                    : er_mul_by_quantized_multiplier(acc, q->mult[c], q->shift[c]);
  return (int8_t)er_qc_clamp64((int64_t)v + q->out_offset, q->lo, q->hi);
}

void er_qm_gemm_s8_portable(const int16_t *a, int64_t np, int64_t kp, const int8_t *b, int64_t oc,
                            const er_qm_out *q, int8_t *dst, int64_t ldd);
void er_qm_dw_s8_portable(const int8_t *const *taps, int64_t ntp, const int8_t *w, int64_t C, int64_t Cp,
                          const er_qm_out *q, int8_t *dst, int64_t npix, int64_t step);

/* ---- int8 on the "madd" layout (s8 kernels of kernels/opt/q_conv.c): raw int8 operands, int8 weights, the
 * input zero point folded into the bias at prepare; each call requantizes its own outputs (er_qm_out). The
 * table follows the selected er_qc_ukernels (qm_selected in q_conv.c): AVX2's with AVX2 (avx512vnni's depthwise:
 * er_qm_ukernels_avx512vnni), else portable. */
typedef struct er_qm_ukernels {
  /* rows i < np of a (int16, kp apart, kp even) times the panels b ([ocp / 8][kp / 2][8][2] int8) -> dst[i * ldd
   * + o] for o < oc */
  void (*gemm_s8)(const int16_t *a, int64_t np, int64_t kp, const int8_t *b, int64_t oc, const er_qm_out *q,
                  int8_t *dst, int64_t ldd);
  /* npix depthwise output pixels, C channels each (dst, C apart), from ntp tap pairs: pixel p reads C int8 at
   * taps[2t] + p * step and taps[2t + 1] + p * step; weights [ntp][Cp][2] int8 */
  void (*dw_s8)(const int8_t *const *taps, int64_t ntp, const int8_t *w, int64_t C, int64_t Cp,
                const er_qm_out *q, int8_t *dst, int64_t npix, int64_t step);
  /* optional (NULL: the driver's rows through dw_s8): items [b, e) of a whole depthwise, ctx an er_qm_dw_job;
   * an er_task_fn (kernels/include/edgerun/parallel.h), scratch unused. Item i is output row i % rows (over
   * images and rows) in channel chunk i / rows (er_qm_dw_chunk of dw_rows_chunk): a small image with many
   * channels (7x7x960) splits over threads by channels too */
  void (*dw_rows)(void *ctx, void *scratch, int64_t b, int64_t e);
  int64_t dw_rows_max_ntp; /* the most tap pairs dw_rows takes (more: dw_s8) */
  int64_t dw_rows_chunk;   /* channels per chunk (> 16) */
} er_qm_ukernels;

/* chunks of C channels for dw_rows: `chunk` each, the last one taking the rest when at most chunk + 16 (its
 * last 1-16 channels then fill a half block instead of a chunk of their own) */
static inline int64_t er_qm_dw_nchunks(int64_t C, int64_t chunk) {
  return C <= chunk + 16 ? 1 : (C - 16 + chunk - 1) / chunk;
}

/* channels [*c0, *c1) of chunk k of er_qm_dw_nchunks(C, chunk) */
static inline void er_qm_dw_chunk(int64_t C, int64_t chunk, int64_t k, int64_t *c0, int64_t *c1) {
  *c0 = k * chunk;
  *c1 = k + 1 == er_qm_dw_nchunks(C, chunk) ? C : *c0 + chunk;
}

/* one depthwise (multiplier 1) for er_qm_ukernels.dw_rows: the driver's geometry, weights and requantization */
typedef struct er_qm_dw_job {
  const int8_t *x, *zrow; /* input [B][H][W][C]; zrow: C + (OW - 1) * stride_w * C bytes of the input zero point */
  int8_t *y;              /* output [B][OH][OW][C] */
  const int8_t *w;        /* tap pairs [ntp][Cp][2] */
  const er_qm_out *q;
  int64_t H, W, C, Cp, KH, KW, OH, OW, ntp;
  int64_t stride_h, stride_w, dil_h, dil_w, pad_top, pad_left;
  int64_t ow_lo, ow_hi; /* output columns whose taps all lie inside the image's width */
  int64_t rows;         /* B * OH */
} er_qm_dw_job;

extern const er_qm_ukernels er_qm_ukernels_portable; /* kernels/opt/q_conv.c */
#if ER_HAVE_X86_UKERNELS
extern const er_qm_ukernels er_qm_ukernels_avx2; /* kernels/x86/q_conv_avx2.c */
/* avx512vnni: AVX2's GEMM, the depthwise on VPDPWSSD (kernels/x86/q_dw_vnni.c) */
extern const er_qm_ukernels er_qm_ukernels_avx512vnni;
#endif

/* ---- optimized 8-bit conv family (kernels/opt/q_conv.c): operands in int16 offset form, exact int32 sums
 * (prepare guarantees K * 255 * 255 < 2^31) */
typedef struct er_qc_ukernels {
  /* c[i * ocp + o] = sum_k a[i * kp + k] * (packed b)[o][k], i < np, o < ocp (b: [ocp / 8][kp / 2][8][2]) */
  void (*gemm)(const int16_t *a, int64_t np, int64_t kp, const int16_t *b, int64_t ocp, int32_t *c);
  /* n >= 16 8-bit values (int8, or uint8 when is_u8) to int16 offset form v + off; NULL: the caller's loop */
  void (*load8)(const void *src, int is_u8, int64_t n, int32_t off, int16_t *dst);
  /* acc[c] = sum over tap pairs t of (x_2t[c] + off) * w[t][c][0] + (x_2t+1[c] + off) * w[t][c][1], c < C */
  void (*dw)(const void *const *taps, int64_t ntp, int is_u8, int32_t off, const int16_t *w, int64_t C,
             int64_t Cp, int32_t *acc);
  /* upward requantization (+ wrapping bias) of channels [0, k) of `rows` pixels (k <= n8, n8 a multiple of 8);
   * returns k. NULL: the caller's scalar code does every channel. */
  int64_t (*requant_upward)(const int32_t *acc, int64_t rows, int64_t ldacc, int64_t n8, const int32_t *bias,
                            const int32_t *mult, const int32_t *shift, int32_t out_offset, int32_t lo, int32_t hi,
                            int is_u8, void *dst, int64_t lddst);
} er_qc_ukernels;

/* the portable micro-kernels (kernels/opt/q_conv.c), also the parts an x86 table does not replace */
void er_qc_gemm_portable(const int16_t *a, int64_t np, int64_t kp, const int16_t *b, int64_t ocp, int32_t *c);
void er_qc_dw_portable(const void *const *taps, int64_t ntp, int is_u8, int32_t off, const int16_t *w, int64_t C,
                       int64_t Cp, int32_t *acc);

extern const er_qc_ukernels er_qc_ukernels_portable; /* kernels/opt/q_conv.c */
#if ER_HAVE_X86_UKERNELS
extern const er_qc_ukernels er_qc_ukernels_sse2; /* kernels/x86/q_conv_sse2.c */
extern const er_qc_ukernels er_qc_ukernels_avx2; /* kernels/x86/q_conv_avx2.c */
#endif
#if ER_HAVE_NEON_UKERNELS
extern const er_qc_ukernels er_qc_ukernels_neon; /* kernels/neon/q_conv_neon.c */
#endif
extern const er_qc_ukernels *er_qc_selected; /* kernels/host_isa.c */

/* ---- optimized int8 CONV_2D / FULLY_CONNECTED on the "dot" layout (kernels/opt/q_conv_dot.c; prepared for
 * the ARM ISAs and x86's avx512vnni): raw int8 operands, weights in groups of 4 consecutive k per channel, as
 * SDOT and VPDPBUSD read them */
typedef struct er_qd_ukernels {
  /* c[i * ldc + o] = sum_{k < k4} a[i * lda + k] * B[o][k] for i < np, o < ocp; B packed [ocp / 8][k4 / 4][8][4]
   * int8 (k4 a multiple of 4, ocp of 8); exact int32 sums (k4 * 128 * 128 < 2^31) */
  void (*gemm)(const int8_t *a, int64_t np, int64_t lda, int64_t k4, const int8_t *b, int64_t ocp, int32_t *c,
               int64_t ldc);
  /* optional (NULL: gemm, then the driver's requantization): the same sums of channels o < oc plus q->bias (the
   * combined bias, [oc]), requantized by q (q->rq unused) straight to dst[i * ldd + o] */
  void (*gemm_q)(const int8_t *a, int64_t np, int64_t lda, int64_t k4, const int8_t *b, int64_t oc,
                 const er_qm_out *q, int8_t *dst, int64_t ldd);
  /* optional, with gemm_q (NULL: gemm_q takes the combined bias as it is): once per op, before the gemm_q calls,
   * turns the combined bias cb[0, oc) into the start of gemm_q's accumulators from the channels' weight sums
   * wsum[0, oc) (packed at prepare after the panels; x86 avx512vnni: minus 128 * wsum, the surplus of its
   * unsigned activations) */
  void (*fold_bias)(const int32_t *wsum, int64_t oc, int32_t *cb);
} er_qd_ukernels;

extern const er_qd_ukernels er_qd_ukernels_portable; /* kernels/opt/q_conv_dot.c */
#if ER_HAVE_X86_UKERNELS
extern const er_qd_ukernels er_qd_ukernels_avx512vnni; /* kernels/x86/q_conv_vnni.c: VPDPBUSD */
#endif
#if ER_HAVE_NEON_UKERNELS
extern const er_qd_ukernels er_qd_ukernels_neon; /* kernels/neon/q_conv_neon.c: SMULL + SADALP */
#endif
#if ER_HAVE_NEON_DOTPROD_UKERNELS
extern const er_qd_ukernels er_qd_ukernels_neon_dotprod; /* kernels/neon/q_conv_neon.c: SDOT */
extern const er_qd_ukernels er_qd_ukernels_neon_i8mm;    /* kernels/neon/q_conv_neon.c: SMMLA (FEAT_I8MM) */
/* 1 when this CPU has the int8 matrix multiply (AT_HWCAP2 I8MM on Linux/Android; kernels/host_isa.c): the
 * neon-dotprod ISA then takes the SMMLA GEMM of the same packed layout instead of SDOT */
int er_host_has_i8mm(void);
#endif
extern const er_qd_ukernels *er_qd_selected; /* kernels/host_isa.c */

/* ---- whole-op forms of reference kernels (same op records, same results: integers bit for bit, floats within
 * 1e-6 relative), selected at load like the tables above; the reference kernels are the portable entries. A
 * form handles its fast cases and passes the rest to the reference kernel. */
/* kernels/ref/quantize.c: value i of n of a per-tensor QUANTIZE in the params' rounding, before the store */
int32_t er_quantize_value(const float *x, int64_t i, int64_t n, float scale, float inv, int32_t zp, int32_t qmin,
                          int32_t qmax, int round_even);

typedef struct er_op_kernels {
  er_kernel_fn q_binary;      /* kernels/ref/q_elementwise.c; neon, avx2: int8/uint8 ADD, SUB, MUL */
  er_kernel_fn q_maxpool2d;   /* kernels/ref/q_pool.c; neon, avx2: int8/uint8 */
  er_kernel_fn q_avgpool2d;
  er_kernel_fn f32_maxpool2d; /* kernels/ref/pool.c; neon, avx2: MAX/AVERAGE (L2: reference) */
  er_kernel_fn f32_avgpool2d;
  er_kernel_fn q_softmax;     /* kernels/ref/q_softmax.c; neon, avx2: int8/uint8 in, int8/uint8 out */
  er_kernel_fn f32_softmax;   /* kernels/ref/softmax.c; neon, avx2: SOFTMAX (LOG_SOFTMAX: reference) */
  er_kernel_fn f32_binary;    /* kernels/ref/binary.c; neon, avx2: ADD, SUB, MUL, MAXIMUM, MINIMUM */
  er_kernel_fn any_quantize;   /* kernels/ref/quantize.c; avx2: float32 -> int8/uint8/int16 per tensor */
  er_kernel_fn any_dequantize; /* avx2: int8/uint8/int16 -> float32 per tensor */
} er_op_kernels;

int er_q_binary(const er_op *op); /* the reference kernels (kernels/list) */
int er_q_maxpool2d(const er_op *op);
int er_q_avgpool2d(const er_op *op);
int er_f32_maxpool2d(const er_op *op);
int er_f32_avgpool2d(const er_op *op);
int er_q_softmax(const er_op *op);
int er_f32_softmax(const er_op *op);
int er_f32_binary(const er_op *op);
int er_any_quantize(const er_op *op);
int er_any_dequantize(const er_op *op);

extern const er_op_kernels er_op_kernels_ref; /* kernels/host_isa.c */
#if ER_HAVE_NEON_UKERNELS
extern const er_op_kernels er_op_kernels_neon; /* kernels/host_isa.c, the kernels of kernels/neon/ */
int er_q_binary__neon(const er_op *op);        /* kernels/neon/q_elementwise_neon.c */
int er_q_maxpool2d__neon(const er_op *op);     /* kernels/neon/q_pool_neon.c */
int er_q_avgpool2d__neon(const er_op *op);
int er_f32_maxpool2d__neon(const er_op *op);   /* kernels/neon/pool_neon.c */
int er_f32_avgpool2d__neon(const er_op *op);
int er_q_softmax__neon(const er_op *op);       /* kernels/neon/q_softmax_neon.c */
int er_f32_softmax__neon(const er_op *op);     /* kernels/neon/softmax_neon.c */
int er_f32_binary__neon(const er_op *op);      /* kernels/neon/binary_neon.c */
/* int32 accumulators to int8 per tensor: clamp(er_mul_by_quantized_multiplier(acc, mult, shift) + out_offset,
 * lo, hi), either rounding mode (kernels/neon/q_elementwise_neon.c) */
void er_requant_s8__neon(const int32_t *acc, int64_t n, int32_t mult, int32_t shift, int32_t out_offset, int32_t lo,
                         int32_t hi, int8_t *dst);
#endif
#if ER_HAVE_X86_UKERNELS
extern const er_op_kernels er_op_kernels_avx2; /* kernels/host_isa.c: kernels/x86/ */
int er_q_binary__avx2(const er_op *op);        /* kernels/x86/q_elementwise_avx2.c */
extern const er_op_kernels er_op_kernels_avx512vnni; /* kernels/host_isa.c: AVX2's with the AVX-512 ADD/SUB */
int er_q_binary__avx512(const er_op *op);      /* kernels/x86/q_elementwise_avx2.c */
int er_q_maxpool2d__avx2(const er_op *op);     /* kernels/x86/q_pool_avx2.c */
int er_q_avgpool2d__avx2(const er_op *op);
int er_q_softmax__avx2(const er_op *op);       /* kernels/x86/q_softmax_avx2.c */
int er_f32_binary__avx2(const er_op *op);      /* kernels/x86/binary_avx2.c */
int er_f32_softmax__avx2(const er_op *op);     /* kernels/x86/softmax_avx2.c */
int er_f32_maxpool2d__avx2(const er_op *op);   /* kernels/x86/pool_avx2.c */
int er_f32_avgpool2d__avx2(const er_op *op);
int er_any_quantize__avx2(const er_op *op);    /* kernels/x86/quantize_avx2.c */
int er_any_dequantize__avx2(const er_op *op);
#endif
extern const er_op_kernels *er_op_kernels_selected; /* kernels/host_isa.c */

/* two int16 values as one int32 (the operand pairs of the madd micro-kernels) */
static inline int32_t er_qc_ld_pair(const int16_t *p) {
  int32_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

#endif
