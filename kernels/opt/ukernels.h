/* Per-ISA tables of the optimized kernels' micro-kernels (the kernels of kernels/opt/ call through them).
 * One table per ISA, defined beside its code (portable: kernels/opt/, x86: kernels/x86/); kernels/host_isa.c points the
 * selected ones at a table once, at load. Not part of the cffi cdef. */
#ifndef EDGERUN_OPT_UKERNELS_H
#define EDGERUN_OPT_UKERNELS_H
#include <string.h>

#include "edgerun/edgerun.h"

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
 * the ARM ISAs): raw int8 operands, weights in groups of 4 consecutive k per channel, as SDOT reads them */
typedef struct er_qd_ukernels {
  /* c[i * ldc + o] = sum_{k < k4} a[i * lda + k] * B[o][k] for i < np, o < ocp; B packed [ocp / 8][k4 / 4][8][4]
   * int8 (k4 a multiple of 4, ocp of 8); exact int32 sums (k4 * 128 * 128 < 2^31) */
  void (*gemm)(const int8_t *a, int64_t np, int64_t lda, int64_t k4, const int8_t *b, int64_t ocp, int32_t *c,
               int64_t ldc);
} er_qd_ukernels;

extern const er_qd_ukernels er_qd_ukernels_portable; /* kernels/opt/q_conv_dot.c */
#if ER_HAVE_NEON_UKERNELS
extern const er_qd_ukernels er_qd_ukernels_neon; /* kernels/neon/q_conv_neon.c: SMULL + SADALP */
#endif
#if ER_HAVE_NEON_DOTPROD_UKERNELS
extern const er_qd_ukernels er_qd_ukernels_neon_dotprod; /* kernels/neon/q_conv_neon.c: SDOT */
#endif
extern const er_qd_ukernels *er_qd_selected; /* kernels/host_isa.c */

/* two int16 values as one int32 (the operand pairs of the madd micro-kernels) */
static inline int32_t er_qc_ld_pair(const int16_t *p) {
  int32_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

#endif
