/* NEON micro-kernels of the optimized 8-bit conv paths, AArch64 and ARMv7, selected at load for the neon ISAs
 * (kernels/host_isa.c); elsewhere this file compiles to nothing. All integer arithmetic is exact (int32 sums of
 * exact products, the requantization by the same formula), so results equal the portable loops' bit for bit.
 *   er_qc_ukernels_neon          int16 offset form (kernels/opt/q_conv.c: uint8 GEMM, 8-bit depthwise):
 *                                GEMM by SMLAL on (k, k+1) pairs, depthwise by SMLAL on de-interleaved tap pairs,
 *                                8-bit loads widened by SXTL/UXTL, "upward" requantization by SQRDMULH + SRSHL
 *   er_qd_ukernels_neon          int8 dot layout (kernels/opt/q_conv_dot.c): SMULL of 4-k groups + SADALP
 *   er_qd_ukernels_neon_dotprod  int8 dot layout: SDOT (AArch64, ARMv8.2 dot product, under a target pragma;
 *                                chosen when the CPU reports it)
 *   er_qd_ukernels_neon_i8mm     int8 dot layout, same packing: SMMLA 2x8x2 blocks (AArch64 FEAT_I8MM, under a
 *                                target pragma; chosen before SDOT when the CPU reports both) */
#include "edgerun/edgerun.h"
#include "../opt/ukernels.h"

#if ER_HAVE_NEON_UKERNELS
#include <arm_neon.h>
#include <string.h>

#include "fixedpoint_neon.h"

#if defined(__aarch64__)
#define QN_MR 4 /* GEMM rows per micro tile: 32 vector registers hold 4 x 4 accumulators */
#else
#define QN_MR 2 /* 16 vector registers */
#endif
#define QN_INLINE static inline __attribute__((always_inline))

/* [a0 + a1, a2 + a3, b0 + b1, b2 + b3] */
QN_INLINE int32x4_t qn_pair_sums(int32x4_t a, int32x4_t b) {
#if defined(__aarch64__)
  return vpaddq_s32(a, b);
#else
  return vcombine_s32(vpadd_s32(vget_low_s32(a), vget_high_s32(a)), vpadd_s32(vget_low_s32(b), vget_high_s32(b)));
#endif
}

QN_INLINE int32_t qn_ld4(const void *p) {
  int32_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

/* ---- int16 offset form ------------------------------------------------------------------------------------
 * GEMM: per k pair the 8 channels' weights are 16 int16 [c][2]; the row's pair (x_k, x_k+1) repeated 4 times
 * multiplies them lane by lane, so accumulator q holds [c k, c k+1, c+1 k, c+1 k+1] of channels 2q, 2q+1. */
QN_INLINE void qc_tile(const int mr, const int16_t *a, int64_t kp, const int16_t *b, int32_t *c, int64_t ldc) {
  int32x4_t acc[QN_MR][4];
  for (int r = 0; r < mr; ++r)
    for (int q = 0; q < 4; ++q) acc[r][q] = vdupq_n_s32(0);
  for (int64_t k = 0; k < kp; k += 2) {
    const int16x8_t w0 = vld1q_s16(b + 8 * k), w1 = vld1q_s16(b + 8 * k + 8);
    for (int r = 0; r < mr; ++r) {
      const int16x8_t x = vreinterpretq_s16_s32(vdupq_n_s32(qn_ld4(a + r * kp + k)));
      acc[r][0] = vmlal_s16(acc[r][0], vget_low_s16(w0), vget_low_s16(x));
      acc[r][1] = vmlal_s16(acc[r][1], vget_high_s16(w0), vget_high_s16(x));
      acc[r][2] = vmlal_s16(acc[r][2], vget_low_s16(w1), vget_low_s16(x));
      acc[r][3] = vmlal_s16(acc[r][3], vget_high_s16(w1), vget_high_s16(x));
    }
  }
  for (int r = 0; r < mr; ++r) {
    vst1q_s32(c + r * ldc, qn_pair_sums(acc[r][0], acc[r][1]));
    vst1q_s32(c + r * ldc + 4, qn_pair_sums(acc[r][2], acc[r][3]));
  }
}

static void er_qc_gemm_neon(const int16_t *a, int64_t np, int64_t kp, const int16_t *b, int64_t ocp, int32_t *c) {
  for (int64_t j = 0; j < ocp; j += 8) {
    const int16_t *bp = b + j * kp;
    int64_t i = 0;
    for (; i + QN_MR <= np; i += QN_MR) qc_tile(QN_MR, a + i * kp, kp, bp, c + i * ocp + j, ocp);
    for (; i < np; ++i) qc_tile(1, a + i * kp, kp, bp, c + i * ocp + j, ocp);
  }
}

/* n >= 16 8-bit values to int16 offset form v + off */
static void er_qc_load8_neon(const void *src, int is_u8, int64_t n, int32_t off, int16_t *dst) {
  const int16x8_t voff = vdupq_n_s16((int16_t)off);
  int64_t i = 0;
  if (is_u8) {
    const uint8_t *s = (const uint8_t *)src;
    for (; i + 16 <= n; i += 16) {
      const uint8x16_t v = vld1q_u8(s + i);
      vst1q_s16(dst + i, vaddq_s16(vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(v))), voff));
      vst1q_s16(dst + i + 8, vaddq_s16(vreinterpretq_s16_u16(vmovl_u8(vget_high_u8(v))), voff));
    }
    for (; i < n; ++i) dst[i] = (int16_t)(s[i] + off);
  } else {
    const int8_t *s = (const int8_t *)src;
    for (; i + 16 <= n; i += 16) {
      const int8x16_t v = vld1q_s8(s + i);
      vst1q_s16(dst + i, vaddq_s16(vmovl_s8(vget_low_s8(v)), voff));
      vst1q_s16(dst + i + 8, vaddq_s16(vmovl_s8(vget_high_s8(v)), voff));
    }
    for (; i < n; ++i) dst[i] = (int16_t)(s[i] + off);
  }
}

/* 8 channels of one tap in offset form */
QN_INLINE int16x8_t qn_tap8(const void *p, int is_u8, int16x8_t voff) {
  if (is_u8) return vaddq_s16(vreinterpretq_s16_u16(vmovl_u8(vld1_u8((const uint8_t *)p))), voff);
  return vaddq_s16(vmovl_s8(vld1_s8((const int8_t *)p)), voff);
}

/* acc(8 channels) += tap a * weight a + tap b * weight b; wt holds [c][2] pairs, de-interleaved by LD2 */
#define QN_DW8(lo, hi, pa, pb, wt)                                   \
  do {                                                               \
    const int16x8x2_t wv = vld2q_s16(wt);                            \
    const int16x8_t xa = qn_tap8(pa, is_u8, voff), xb = qn_tap8(pb, is_u8, voff); \
    lo = vmlal_s16(lo, vget_low_s16(xa), vget_low_s16(wv.val[0]));   \
    hi = vmlal_s16(hi, vget_high_s16(xa), vget_high_s16(wv.val[0])); \
    lo = vmlal_s16(lo, vget_low_s16(xb), vget_low_s16(wv.val[1]));   \
    hi = vmlal_s16(hi, vget_high_s16(xb), vget_high_s16(wv.val[1])); \
  } while (0)

QN_INLINE void qn_dw_body(const void *const *taps, int64_t ntp, int is_u8, int32_t off, const int16_t *w, int64_t C,
                          int64_t Cp, int32_t *acc) {
  const int16x8_t voff = vdupq_n_s16((int16_t)off);
  int64_t c = 0;
  for (; c + 16 <= C; c += 16) {
    int32x4_t s0 = vdupq_n_s32(0), s1 = s0, s2 = s0, s3 = s0;
    for (int64_t t = 0; t < ntp; ++t) {
      const uint8_t *pa = (const uint8_t *)taps[2 * t] + c, *pb = (const uint8_t *)taps[2 * t + 1] + c;
      const int16_t *wt = w + (t * Cp + c) * 2;
      QN_DW8(s0, s1, pa, pb, wt);
      QN_DW8(s2, s3, pa + 8, pb + 8, wt + 16);
    }
    vst1q_s32(acc + c, s0);
    vst1q_s32(acc + c + 4, s1);
    vst1q_s32(acc + c + 8, s2);
    vst1q_s32(acc + c + 12, s3);
  }
  for (; c + 8 <= C; c += 8) {
    int32x4_t s0 = vdupq_n_s32(0), s1 = s0;
    for (int64_t t = 0; t < ntp; ++t) {
      const uint8_t *pa = (const uint8_t *)taps[2 * t] + c, *pb = (const uint8_t *)taps[2 * t + 1] + c;
      QN_DW8(s0, s1, pa, pb, w + (t * Cp + c) * 2);
    }
    vst1q_s32(acc + c, s0);
    vst1q_s32(acc + c + 4, s1);
  }
  for (; c < C; ++c) {
    int32_t s = 0;
    for (int64_t t = 0; t < ntp; ++t) {
      const int16_t *wt = w + (t * Cp + c) * 2;
      int32_t xa, xb;
      if (is_u8) {
        xa = ((const uint8_t *)taps[2 * t])[c];
        xb = ((const uint8_t *)taps[2 * t + 1])[c];
      } else {
        xa = ((const int8_t *)taps[2 * t])[c];
        xb = ((const int8_t *)taps[2 * t + 1])[c];
      }
      s += (xa + off) * wt[0] + (xb + off) * wt[1];
    }
    acc[c] = s;
  }
}
#undef QN_DW8

static void er_qc_dw_neon(const void *const *taps, int64_t ntp, int is_u8, int32_t off, const int16_t *w, int64_t C,
                          int64_t Cp, int32_t *acc) {
  if (is_u8)
    qn_dw_body(taps, ntp, 1, off, w, C, Cp, acc);
  else
    qn_dw_body(taps, ntp, 0, off, w, C, Cp, acc);
}

/* "Upward" requantization (er_qc_mul_upward_fast), 8 channels at a time, for the first n8 channels of `rows`
 * pixels: acc + bias (wrapping), SSHL by the left shift (wrapping), SQRDMULH (= floor((x * m + 2^30) / 2^31),
 * which saturates only for x = m = INT32_MIN: a block holding such a multiplier is left to the caller), then
 * SRSHL by minus the right shift (floor((h + 2^(r-1)) / 2^r), ties upward, without intermediate overflow),
 * clamp to [lo, hi] - out_offset, + out_offset, saturating narrow. Returns the channels done. */
static int64_t er_qc_requant_upward_neon(const int32_t *acc, int64_t rows, int64_t ldacc, int64_t n8,
                                         const int32_t *bias, const int32_t *mult, const int32_t *shift,
                                         int32_t out_offset, int32_t lo, int32_t hi, int is_u8, void *dst,
                                         int64_t lddst) {
  const int32x4_t zero = vdupq_n_s32(0), voff = vdupq_n_s32(out_offset);
  const int32x4_t vlo = vdupq_n_s32(lo - out_offset), vhi = vdupq_n_s32(hi - out_offset);
  int64_t c = 0;
  for (; c + 8 <= n8; c += 8) {
    int has_min = 0;
    for (int l = 0; l < 8; ++l) has_min |= mult[c + l] == INT32_MIN;
    if (has_min) break;
    const int32x4_t m0 = vld1q_s32(mult + c), m1 = vld1q_s32(mult + c + 4);
    const int32x4_t s0 = vld1q_s32(shift + c), s1 = vld1q_s32(shift + c + 4);
    const int32x4_t l0 = vmaxq_s32(s0, zero), l1 = vmaxq_s32(s1, zero);
    const int32x4_t r0 = vminq_s32(s0, zero), r1 = vminq_s32(s1, zero); /* minus the right shift */
    const int32x4_t b0 = bias ? vld1q_s32(bias + c) : zero, b1 = bias ? vld1q_s32(bias + c + 4) : zero;
    for (int64_t r = 0; r < rows; ++r) {
      const int32_t *a = acc + r * ldacc + c;
      int32x4_t v0 = qn_wrap_add_s32(vld1q_s32(a), b0), v1 = qn_wrap_add_s32(vld1q_s32(a + 4), b1);
      v0 = vrshlq_s32(vqrdmulhq_s32(vshlq_s32(v0, l0), m0), r0);
      v1 = vrshlq_s32(vqrdmulhq_s32(vshlq_s32(v1, l1), m1), r1);
      v0 = vaddq_s32(vminq_s32(vmaxq_s32(v0, vlo), vhi), voff);
      v1 = vaddq_s32(vminq_s32(vmaxq_s32(v1, vlo), vhi), voff);
      const int16x8_t w16 = vcombine_s16(vqmovn_s32(v0), vqmovn_s32(v1));
      uint8_t *d = (uint8_t *)dst + r * lddst + c;
      if (is_u8)
        vst1_u8(d, vqmovun_s16(w16));
      else
        vst1_s8((int8_t *)d, vqmovn_s16(w16));
    }
  }
  return c;
}

const er_qc_ukernels er_qc_ukernels_neon = {er_qc_gemm_neon, er_qc_load8_neon, er_qc_dw_neon,
                                            er_qc_requant_upward_neon};

/* ---- int8 dot layout, plain NEON -------------------------------------------------------------------------
 * Per group of 4 k the 8 channels' weights are 32 bytes [c][4]; SMULL by the row's 4 bytes repeated gives 8
 * int16 products [c k..k+3, c+1 k..k+3] (each product fits int16, -128 * -128 included), SADALP adds their
 * pairs into accumulator q = [c (k, k+1), c (k+2, k+3), c+1 ..., c+1 ...] of channels 2q, 2q+1. */
QN_INLINE void qd_tile(const int mr, const int8_t *a, int64_t lda, int64_t k4, const int8_t *b, int32_t *c,
                       int64_t ldc) {
  int32x4_t acc[QN_MR][4];
  for (int r = 0; r < mr; ++r)
    for (int q = 0; q < 4; ++q) acc[r][q] = vdupq_n_s32(0);
  for (int64_t k = 0; k < k4; k += 4) {
    const int8x16_t w0 = vld1q_s8(b + 8 * k), w1 = vld1q_s8(b + 8 * k + 16);
    for (int r = 0; r < mr; ++r) {
      const int8x8_t x = vreinterpret_s8_s32(vdup_n_s32(qn_ld4(a + r * lda + k)));
      acc[r][0] = vpadalq_s16(acc[r][0], vmull_s8(vget_low_s8(w0), x));
      acc[r][1] = vpadalq_s16(acc[r][1], vmull_s8(vget_high_s8(w0), x));
      acc[r][2] = vpadalq_s16(acc[r][2], vmull_s8(vget_low_s8(w1), x));
      acc[r][3] = vpadalq_s16(acc[r][3], vmull_s8(vget_high_s8(w1), x));
    }
  }
  for (int r = 0; r < mr; ++r) {
    vst1q_s32(c + r * ldc, qn_pair_sums(acc[r][0], acc[r][1]));
    vst1q_s32(c + r * ldc + 4, qn_pair_sums(acc[r][2], acc[r][3]));
  }
}

static void er_qd_gemm_neon(const int8_t *a, int64_t np, int64_t lda, int64_t k4, const int8_t *b, int64_t ocp,
                            int32_t *c, int64_t ldc) {
  for (int64_t j = 0; j < ocp; j += 8) {
    const int8_t *bp = b + j * k4;
    int64_t i = 0;
    for (; i + QN_MR <= np; i += QN_MR) qd_tile(QN_MR, a + i * lda, lda, k4, bp, c + i * ldc + j, ldc);
    for (; i < np; ++i) qd_tile(1, a + i * lda, lda, k4, bp, c + i * ldc + j, ldc);
  }
}

const er_qd_ukernels er_qd_ukernels_neon = {er_qd_gemm_neon, NULL, NULL};

/* ---- int8 dot layout, SDOT ---------------------------------------------------------------------------------
 * SDOT lane form: acc[c] += sum_j w[4c + j] * x[4l + j], 4 channels per instruction, lane l of 16 row bytes
 * choosing the k group. Tiles of up to 4 rows x 16 channels (two panels), 16 row bytes (4 groups) per step. */
#if ER_HAVE_NEON_DOTPROD_UKERNELS
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("dotprod"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("arch=armv8.2-a+dotprod")
#endif

#define QD_DOT_GROUP(g, lane_form)                                                                         \
  do {                                                                                                     \
    const int8x16_t w00 = vld1q_s8(b0 + 8 * (k + 4 * (g))), w01 = vld1q_s8(b0 + 8 * (k + 4 * (g)) + 16); \
    int8x16_t w10 = w00, w11 = w01;                                                                        \
    if (np2) {                                                                                             \
      w10 = vld1q_s8(b1 + 8 * (k + 4 * (g)));                                                              \
      w11 = vld1q_s8(b1 + 8 * (k + 4 * (g)) + 16);                                                         \
    }                                                                                                      \
    for (int r = 0; r < mr; ++r) {                                                                         \
      acc[r][0] = lane_form(acc[r][0], w00, x[r], g);                                                      \
      acc[r][1] = lane_form(acc[r][1], w01, x[r], g);                                                      \
      if (np2) {                                                                                           \
        acc[r][2] = lane_form(acc[r][2], w10, x[r], g);                                                    \
        acc[r][3] = lane_form(acc[r][3], w11, x[r], g);                                                    \
      }                                                                                                    \
    }                                                                                                      \
  } while (0)
#define QD_LANE(acc, w, x, g) vdotq_laneq_s32(acc, w, x, g)
#define QD_DUP(acc, w, x, g) vdotq_s32(acc, w, x)

/* mr rows x one (np2 = 0) or two (np2 = 1) panels of 8 channels */
QN_INLINE void qd_dot_tile(const int mr, const int np2, const int8_t *a, int64_t lda, int64_t k4, const int8_t *b0,
                           const int8_t *b1, int32_t *c, int64_t ldc) {
  int32x4_t acc[4][4];
  for (int r = 0; r < mr; ++r)
    for (int q = 0; q < 4; ++q) acc[r][q] = vdupq_n_s32(0);
  int64_t k = 0;
  for (; k + 16 <= k4; k += 16) {
    int8x16_t x[4];
    for (int r = 0; r < mr; ++r) x[r] = vld1q_s8(a + r * lda + k);
    QD_DOT_GROUP(0, QD_LANE);
    QD_DOT_GROUP(1, QD_LANE);
    QD_DOT_GROUP(2, QD_LANE);
    QD_DOT_GROUP(3, QD_LANE);
  }
  for (; k < k4; k += 4) {
    int8x16_t x[4];
    for (int r = 0; r < mr; ++r) x[r] = vreinterpretq_s8_s32(vdupq_n_s32(qn_ld4(a + r * lda + k)));
    QD_DOT_GROUP(0, QD_DUP);
  }
  for (int r = 0; r < mr; ++r) {
    vst1q_s32(c + r * ldc, acc[r][0]);
    vst1q_s32(c + r * ldc + 4, acc[r][1]);
    if (np2) {
      vst1q_s32(c + r * ldc + 8, acc[r][2]);
      vst1q_s32(c + r * ldc + 12, acc[r][3]);
    }
  }
}
#undef QD_DOT_GROUP
#undef QD_LANE
#undef QD_DUP

#define QD_DOT_ROWS(np2, b1)                                                                  \
  do {                                                                                        \
    int64_t i = 0;                                                                            \
    for (; i + 4 <= np; i += 4) qd_dot_tile(4, np2, a + i * lda, lda, k4, b0, b1, c + i * ldc + j, ldc); \
    switch (np - i) {                                                                         \
      case 3: qd_dot_tile(3, np2, a + i * lda, lda, k4, b0, b1, c + i * ldc + j, ldc); break; \
      case 2: qd_dot_tile(2, np2, a + i * lda, lda, k4, b0, b1, c + i * ldc + j, ldc); break; \
      case 1: qd_dot_tile(1, np2, a + i * lda, lda, k4, b0, b1, c + i * ldc + j, ldc); break; \
      default: break;                                                                         \
    }                                                                                         \
  } while (0)

static void er_qd_gemm_neon_dotprod(const int8_t *a, int64_t np, int64_t lda, int64_t k4, const int8_t *b,
                                    int64_t ocp, int32_t *c, int64_t ldc) {
  int64_t j = 0;
  for (; j + 16 <= ocp; j += 16) {
    const int8_t *b0 = b + j * k4;
    QD_DOT_ROWS(1, b0 + 8 * k4);
  }
  if (j < ocp) {
    const int8_t *b0 = b + j * k4;
    QD_DOT_ROWS(0, b0);
  }
}
#undef QD_DOT_ROWS

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

const er_qd_ukernels er_qd_ukernels_neon_dotprod = {er_qd_gemm_neon_dotprod, NULL, NULL};

/* ---- int8 dot layout, SMMLA (FEAT_I8MM) --------------------------------------------------------------------
 * SMMLA: acc (2x2 int32, [r0 c0, r0 c1, r1 c0, r1 c1]) += A (2 rows x 8 k int8) * B^T (2 channels x 8 k).
 * The packed layout is the SDOT one: two consecutive 4-k groups hold [c0..c3][4] and [c4..c7][4] each, so
 * ZIP1/ZIP2 of their 32-bit lanes give [c0 k0-3, c0 k4-7, c1 k0-3, c1 k4-7] (channels 0,1) and channels 2,3
 * without repacking. A row pair is two 8-byte row loads side by side; an odd last row pairs with itself
 * (its duplicate is not stored). A trailing lone 4-k group (k4 % 8 == 4) pairs with zeros. Tiles of up to
 * 2 row pairs x 16 channels: 16 accumulators. */
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("i8mm"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("arch=armv8.2-a+dotprod+i8mm")
#endif

/* B operands of 8 channels (one panel) for k .. k+7 (h: the second group, or zeros) */
QN_INLINE void qm_panel_ops(const int8_t *p, int64_t k, int full, int8x16_t bo[4]) {
  const int32x4_t g0 = vreinterpretq_s32_s8(vld1q_s8(p + 8 * k)), g1 = vreinterpretq_s32_s8(vld1q_s8(p + 8 * k + 16));
  int32x4_t h0 = vdupq_n_s32(0), h1 = h0;
  if (full) {
    h0 = vreinterpretq_s32_s8(vld1q_s8(p + 8 * k + 32));
    h1 = vreinterpretq_s32_s8(vld1q_s8(p + 8 * k + 48));
  }
  bo[0] = vreinterpretq_s8_s32(vzip1q_s32(g0, h0));
  bo[1] = vreinterpretq_s8_s32(vzip2q_s32(g0, h0));
  bo[2] = vreinterpretq_s8_s32(vzip1q_s32(g1, h1));
  bo[3] = vreinterpretq_s8_s32(vzip2q_s32(g1, h1));
}

/* rows r0 (a + 0) .. a + (nr - 1) * lda, nr <= 4, of one or two (np2) panels; rows past nr repeat the last */
QN_INLINE void qm_tile(const int nr, const int np2, const int8_t *a, int64_t lda, int64_t k4, const int8_t *b0,
                       const int8_t *b1, int32_t *c, int64_t ldc) {
  const int npair = (nr + 1) / 2;
  const int8_t *rows[4];
  for (int r = 0; r < 4; ++r) rows[r] = a + (r < nr ? r : nr - 1) * lda;
  int32x4_t acc[2][8];
  for (int p = 0; p < npair; ++p)
    for (int q = 0; q < 8; ++q) acc[p][q] = vdupq_n_s32(0);
  int64_t k = 0;
  for (; k + 8 <= k4; k += 8) {
    int8x16_t x[2];
    for (int p = 0; p < npair; ++p) x[p] = vcombine_s8(vld1_s8(rows[2 * p] + k), vld1_s8(rows[2 * p + 1] + k));
    int8x16_t bo[4];
    qm_panel_ops(b0, k, 1, bo);
    for (int p = 0; p < npair; ++p)
      for (int q = 0; q < 4; ++q) acc[p][q] = vmmlaq_s32(acc[p][q], x[p], bo[q]);
    if (np2) {
      qm_panel_ops(b1, k, 1, bo);
      for (int p = 0; p < npair; ++p)
        for (int q = 0; q < 4; ++q) acc[p][4 + q] = vmmlaq_s32(acc[p][4 + q], x[p], bo[q]);
    }
  }
  if (k < k4) { /* one group of 4 k left */
    int8x16_t x[2];
    for (int p = 0; p < npair; ++p)
      x[p] = vcombine_s8(vcreate_s8((uint32_t)qn_ld4(rows[2 * p] + k)),
                         vcreate_s8((uint32_t)qn_ld4(rows[2 * p + 1] + k)));
    int8x16_t bo[4];
    qm_panel_ops(b0, k, 0, bo);
    for (int p = 0; p < npair; ++p)
      for (int q = 0; q < 4; ++q) acc[p][q] = vmmlaq_s32(acc[p][q], x[p], bo[q]);
    if (np2) {
      qm_panel_ops(b1, k, 0, bo);
      for (int p = 0; p < npair; ++p)
        for (int q = 0; q < 4; ++q) acc[p][4 + q] = vmmlaq_s32(acc[p][4 + q], x[p], bo[q]);
    }
  }
  for (int p = 0; p < npair; ++p)
    for (int h = 0; h < 1 + np2; ++h) {
      const int32x4_t *v = acc[p] + 4 * h;
      int32_t *d = c + 2 * p * ldc + 8 * h;
      vst1q_s32(d, vcombine_s32(vget_low_s32(v[0]), vget_low_s32(v[1])));
      vst1q_s32(d + 4, vcombine_s32(vget_low_s32(v[2]), vget_low_s32(v[3])));
      if (2 * p + 1 < nr) {
        vst1q_s32(d + ldc, vcombine_s32(vget_high_s32(v[0]), vget_high_s32(v[1])));
        vst1q_s32(d + ldc + 4, vcombine_s32(vget_high_s32(v[2]), vget_high_s32(v[3])));
      }
    }
}

#define QM_ROWS(np2, b1)                                                                  \
  do {                                                                                    \
    int64_t i = 0;                                                                        \
    for (; i + 4 <= np; i += 4) qm_tile(4, np2, a + i * lda, lda, k4, b0, b1, c + i * ldc + j, ldc); \
    switch (np - i) {                                                                     \
      case 3: qm_tile(3, np2, a + i * lda, lda, k4, b0, b1, c + i * ldc + j, ldc); break; \
      case 2: qm_tile(2, np2, a + i * lda, lda, k4, b0, b1, c + i * ldc + j, ldc); break; \
      case 1: qm_tile(1, np2, a + i * lda, lda, k4, b0, b1, c + i * ldc + j, ldc); break; \
      default: break;                                                                     \
    }                                                                                     \
  } while (0)

static void er_qd_gemm_neon_i8mm(const int8_t *a, int64_t np, int64_t lda, int64_t k4, const int8_t *b,
                                 int64_t ocp, int32_t *c, int64_t ldc) {
  int64_t j = 0;
  for (; j + 16 <= ocp; j += 16) {
    const int8_t *b0 = b + j * k4;
    QM_ROWS(1, b0 + 8 * k4);
  }
  if (j < ocp) {
    const int8_t *b0 = b + j * k4;
    QM_ROWS(0, b0);
  }
}
#undef QM_ROWS

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

const er_qd_ukernels er_qd_ukernels_neon_i8mm = {er_qd_gemm_neon_i8mm, NULL, NULL};
#endif /* ER_HAVE_NEON_DOTPROD_UKERNELS */

#else
typedef int er_q_conv_neon_unused;
#endif
