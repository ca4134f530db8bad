/* Float lane comparisons for the NEON kernels of this folder. GCC's arm_neon.h for ARMv7 writes vcgtq_f32 /
 * vcltq_f32 as generic vector comparisons, which GCC (without -ffast-math, since AArch32 NEON flushes
 * subnormals) turns into four scalar VCMPs and moves: slower than the scalar reference. Here ARMv7 GCC gets the
 * VCGT.F32 instruction itself; elsewhere the intrinsics. Include only where ER_HAVE_NEON_UKERNELS. */
#ifndef EDGERUN_NEON_F32_NEON_H
#define EDGERUN_NEON_F32_NEON_H
#include <arm_neon.h>

/* all ones where a > b (false with a NaN) */
static inline uint32x4_t qn_cgt_f32(float32x4_t a, float32x4_t b) {
#if defined(__aarch64__) || defined(__clang__)
  return vcgtq_f32(a, b);
#else
  uint32x4_t r;
  __asm__("vcgt.f32 %q0, %q1, %q2" : "=w"(r) : "w"(a), "w"(b));
  return r;
#endif
}

/* a > b ? a : b per lane, the reference's scalar expression (b when either is NaN) */
static inline float32x4_t qn_sel_gt_f32(float32x4_t a, float32x4_t b) { return vbslq_f32(qn_cgt_f32(a, b), a, b); }

/* v < lo ? lo : (v > hi ? hi : v) per lane */
static inline float32x4_t qn_clamp_f32(float32x4_t v, float32x4_t lo, float32x4_t hi) {
  return vbslq_f32(qn_cgt_f32(lo, v), lo, vbslq_f32(qn_cgt_f32(v, hi), hi, v));
}

#endif
