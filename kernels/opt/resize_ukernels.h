/* Per-pixel micro-kernels of the fast RESIZE_BILINEAR (kernels/opt/resize.c): one output pixel's C channels
 * from its four source pixels, in the reference kernel's arithmetic (kernels/ref/shape_resize.c). Portable
 * loops in resize.c, AVX2 in kernels/x86/resize_avx2.c. Not part of the cffi cdef. */
#ifndef EDGERUN_OPT_RESIZE_UKERNELS_H
#define EDGERUN_OPT_RESIZE_UKERNELS_H
#include "ukernels.h"

/* y[c] = r00[c] * wy0 * wx0 + r10[c] * wy1 * wx0 + r01[c] * wy0 * wx1 + r11[c] * wy1 * wx1, each product and
 * sum rounded in that order (no fused multiply-add): wy0 = 1 - dy, wy1 = dy, wx0 = 1 - dx, wx1 = dx */
typedef void (*er_rz_f32_px_fn)(const float *r00, const float *r01, const float *r10, const float *r11, float wy0,
                                float wy1, float wx0, float wx1, int64_t C, float *y);
/* 10-bit fixed point: acc = r00 (1024 - fy)(1024 - fx) + r10 fy (1024 - fx) + r01 (1024 - fy) fx + r11 fy fx
 * (exact in int32: |acc| < 2^30 for fy, fx in (-1024, 1024]), rounded by 2^20 half away from zero (single: half
 * up, er_rounding_mode 1) */
typedef void (*er_rz_s8_px_fn)(const int8_t *r00, const int8_t *r01, const int8_t *r10, const int8_t *r11,
                               int32_t fy, int32_t fx, int64_t C, int single, int8_t *y);

#if ER_HAVE_X86_UKERNELS
void er_rz_f32_px_avx2(const float *r00, const float *r01, const float *r10, const float *r11, float wy0, float wy1,
                       float wx0, float wx1, int64_t C, float *y);
void er_rz_s8_px_avx2(const int8_t *r00, const int8_t *r01, const int8_t *r10, const int8_t *r11, int32_t fy,
                      int32_t fx, int64_t C, int single, int8_t *y);
#endif

/* the scalar definitions (also the vector forms' tails) */
static inline float er_rz_f32_1(float v00, float v01, float v10, float v11, float wy0, float wy1, float wx0,
                                float wx1) {
  float s = v00 * wy0 * wx0;
  s = s + v10 * wy1 * wx0;
  s = s + v01 * wy0 * wx1;
  return s + v11 * wy1 * wx1;
}

static inline int8_t er_rz_s8_1(int32_t v00, int32_t v01, int32_t v10, int32_t v11, int32_t fy, int32_t fx,
                                int single) {
  const int32_t t0 = v00 * (1024 - fy) + v10 * fy, t1 = v01 * (1024 - fy) + v11 * fy;
  const int32_t acc = t0 * (1024 - fx) + t1 * fx;
  if (single) { /* floor((acc + 2^19) / 2^20), written without shifting a negative value */
    const int32_t t = acc + (1 << 19);
    return (int8_t)(t >= 0 ? t / (1 << 20) : -((-t + (1 << 20) - 1) / (1 << 20)));
  }
  return (int8_t)((acc + (acc > 0 ? (1 << 19) : -(1 << 19))) / (1 << 20));
}

#endif
