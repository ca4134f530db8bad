/* TFLite's RESIZE_BILINEAR source coordinates, shared by the reference kernels (kernels/ref/shape_resize.c)
 * and their fast forms (kernels/opt/resize.c): float (f32, u8) and 10-bit fixed point (s8, s16). */
#ifndef EDGERUN_RESIZE_COORD_H
#define EDGERUN_RESIZE_COORD_H
#include <math.h>
#include <stdint.h>

/* float mapping: the source position and its two neighbours (clamped) */
static inline float er_rz_f_scale(int64_t in, int64_t out, int align) {
  if (align && out > 1) return (float)(in - 1) / (float)(out - 1);
  return (float)in / (float)out;
}

static inline void er_rz_f_coord(int64_t v, float scale, int half, int64_t in, float *pos, int64_t *lo, int64_t *hi) {
  const float s = half ? ((float)v + 0.5f) * scale - 0.5f : (float)v * scale;
  const float fl = floorf(s);
  const float ce = ceilf(s);
  *pos = s;
  *lo = fl > 0.0f ? (int64_t)fl : 0;
  *hi = (int64_t)ce < in - 1 ? (int64_t)ce : in - 1;
}

/* integer mapping: coordinates in 1/1024 units */
static inline int64_t er_rz_q_scale(int64_t in, int64_t out, int align) {
  if (align && out > 1) return ((1 << 10) * (in - 1) + (out - 1) / 2) / (out - 1);
  return ((1 << 10) * in + out / 2) / out;
}

static inline void er_rz_q_coord(int64_t v, int64_t scale, int half, int64_t in, int64_t *pos, int64_t *lo,
                                 int64_t *hi) {
  const int64_t s = half ? v * scale + scale / 2 - (1 << 9) : v * scale;
  const int64_t l = s / (1 << 10); /* truncating division, as TFLite's int32 arithmetic */
  const int64_t h = (s + (1 << 10) - 1) / (1 << 10);
  *pos = s;
  *lo = l > 0 ? l : 0;
  *hi = h < in - 1 ? h : in - 1;
}

#endif
