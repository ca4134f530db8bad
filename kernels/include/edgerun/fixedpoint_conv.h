/* Integer helpers of the conv family (kernels/ref/q_conv*.c): operand loading, exact dot products and
 * requantization to int8/uint8/int16, and TFLite's on-the-fly input quantization of hybrid kernels.
 * Static inline; not part of the cffi cdef.
 *
 * Operands are brought to int16 "offset" form, v = q + offset (q int8/uint8 with its zero point folded in:
 * |v| <= 255; int16 activations have zero point 0). Dot products are exact: products are summed in int32
 * over chunks short enough never to overflow, chunk sums in int64. TFLite accumulates 8-bit convolutions in
 * int32 (wrapping in its optimized GEMMs); er_qc_wrap32 reproduces that from the exact sum. */
#ifndef EDGERUN_FIXEDPOINT_CONV_H
#define EDGERUN_FIXEDPOINT_CONV_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "edgerun/edgerun.h"
#include "edgerun/fixedpoint.h"

/* Largest chunk with |sum| < 2^31 for |a| <= 255, |b| <= 255: 2^31 / 65025 = 33025. */
#define ER_QC_CHUNK8 16384
/* int16 x int8: |a*b| <= 2^22 -> 256 terms; int16 x int16 products are summed in int64 directly. */
#define ER_QC_CHUNK16 256

static inline int32_t er_qc_wrap32(int64_t v) { return (int32_t)(uint32_t)(uint64_t)v; }

/* sum a[i] * b[i], a int16 (offset form), b int8 */
static inline int64_t er_qc_dot_s16_s8(const int16_t *a, const int8_t *b, int64_t K, int64_t chunk) {
  int64_t total = 0;
  for (int64_t k0 = 0; k0 < K; k0 += chunk) {
    const int64_t k1 = K - k0 < chunk ? K : k0 + chunk;
    int32_t s = 0;
    for (int64_t k = k0; k < k1; ++k) s += (int32_t)a[k] * (int32_t)b[k];
    total += s;
  }
  return total;
}

/* Four dot products sharing a: acc[j] += sum a[i] * b[j * ldb + i] (b int8), j < 4. */
static inline void er_qc_dot4_s16_s8(const int16_t *a, const int8_t *b, int64_t ldb, int64_t K, int64_t chunk,
                                     int64_t *acc) {
  const int8_t *b0 = b, *b1 = b + ldb, *b2 = b + 2 * ldb, *b3 = b + 3 * ldb;
  for (int64_t k0 = 0; k0 < K; k0 += chunk) {
    const int64_t k1 = K - k0 < chunk ? K : k0 + chunk;
    int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (int64_t k = k0; k < k1; ++k) {
      const int32_t v = a[k];
      s0 += v * b0[k];
      s1 += v * b1[k];
      s2 += v * b2[k];
      s3 += v * b3[k];
    }
    acc[0] += s0;
    acc[1] += s1;
    acc[2] += s2;
    acc[3] += s3;
  }
}

/* sum a[i] * (b[i] + boff), a int16 (offset form), b uint8 (legacy uint8 weights) */
static inline int64_t er_qc_dot_s16_u8(const int16_t *a, const uint8_t *b, int32_t boff, int64_t K) {
  int64_t total = 0;
  for (int64_t k0 = 0; k0 < K; k0 += ER_QC_CHUNK8) {
    const int64_t k1 = K - k0 < ER_QC_CHUNK8 ? K : k0 + ER_QC_CHUNK8;
    int32_t s = 0;
    for (int64_t k = k0; k < k1; ++k) s += (int32_t)a[k] * ((int32_t)b[k] + boff);
    total += s;
  }
  return total;
}

/* sum a[i] * b[i], both int16 (offset form); 8-bit operands (|v| <= 255) sum in int32 chunks */
static inline int64_t er_qc_dot_s16_s16(const int16_t *a, const int16_t *b, int64_t K, int wide) {
  int64_t total = 0;
  if (wide) {
    for (int64_t k = 0; k < K; ++k) total += (int64_t)a[k] * (int64_t)b[k];
    return total;
  }
  for (int64_t k0 = 0; k0 < K; k0 += ER_QC_CHUNK8) {
    const int64_t k1 = K - k0 < ER_QC_CHUNK8 ? K : k0 + ER_QC_CHUNK8;
    int32_t s = 0;
    for (int64_t k = k0; k < k1; ++k) s += (int32_t)a[k] * (int32_t)b[k];
    total += s;
  }
  return total;
}

/* n elements of an int8/uint8/int16 tensor, starting at element `at`, with stride `step` (elements),
 * to int16 offset form. */
static inline void er_qc_load(const void *src, int32_t type, int64_t at, int64_t step, int64_t n, int32_t offset,
                              int16_t *dst) {
  switch (type) {
    case ER_INT8: {
      const int8_t *s = (const int8_t *)src + at;
      for (int64_t i = 0; i < n; ++i) dst[i] = (int16_t)(s[i * step] + offset);
      break;
    }
    case ER_UINT8: {
      const uint8_t *s = (const uint8_t *)src + at;
      for (int64_t i = 0; i < n; ++i) dst[i] = (int16_t)(s[i * step] + offset);
      break;
    }
    default: { /* ER_INT16, zero point 0 */
      const int16_t *s = (const int16_t *)src + at;
      for (int64_t i = 0; i < n; ++i) dst[i] = (int16_t)(s[i * step] + offset);
      break;
    }
  }
}

/* Add bias[first .. first+n) (int32 or int64 tensor, or none) to n accumulators. */
static inline void er_qc_add_bias(int64_t *acc, int64_t n, const er_tensor *b, int64_t first) {
  if (!b) return;
  if (b->type == ER_INT64) {
    const int64_t *bd = (const int64_t *)b->data + first;
    for (int64_t i = 0; i < n; ++i) acc[i] += bd[i];
  } else {
    const int32_t *bd = (const int32_t *)b->data + first;
    for (int64_t i = 0; i < n; ++i) acc[i] += bd[i];
  }
}

/* The "upward" requantization of LiteRT's optimized x86 paths (ruy GEMM, custom GEMV, NEON-on-SSE output
 * stages): left shift, rounding doubling high multiply, then a rounding right shift that breaks ties upward
 * (toward +inf) instead of away from zero. */
static inline int32_t er_qc_mul_upward(int32_t x, int32_t multiplier, int shift) {
  const int left_shift = shift > 0 ? shift : 0;
  const int right_shift = shift > 0 ? 0 : -shift;
  const int64_t h = er_sat_rounding_doubling_high_mul(er_wrapping_shl(x, left_shift), multiplier);
  if (right_shift == 0) return (int32_t)h;
  return (int32_t)((h + ((int64_t)1 << (right_shift - 1))) >> right_shift);
}

/* Single rounding of an int64 accumulator by the full Q31 multiplier: round half up of x * m / 2^(31 - shift)
 * (LiteRT's int16x8 FULLY_CONNECTED with int64 bias), saturated to int32. */
static inline int32_t er_qc_mul_single64(int64_t x, int32_t multiplier, int shift) {
  const int total_shift = 31 - shift; /* shift in [-31, 15] -> total_shift in [16, 62] */
  if (total_shift < 16 || total_shift > 62) return 0;
  if (x >= ((int64_t)1 << 46)) return INT32_MAX;
  if (x <= -((int64_t)1 << 46)) return INT32_MIN;
  /* exact floor((x * m + 2^(ts-1)) / 2^ts) without 128-bit arithmetic: m = mh * 2^16 + ml */
  const int64_t mh = multiplier >> 16, ml = multiplier & 0xFFFF;
  const int64_t a = x * mh;                                    /* |a| < 2^61 */
  const int64_t c = x * ml + ((int64_t)1 << (total_shift - 1)); /* |c| < 2^62 + 2^61 */
  int64_t r = (a + (c >> 16)) >> (total_shift - 16);
  if (r > INT32_MAX) r = INT32_MAX;
  if (r < INT32_MIN) r = INT32_MIN;
  return (int32_t)r;
}

/* Requantize n accumulators, channel i using (mult[i], shift[i]) (or mult[0]/shift[0] when per_tensor),
 * into dst (element type out_type) at dst_at, elements `step` apart. `first_channel`/`n_channels` place
 * these accumulators among the op's output channels (for ER_QC_RND_UPWARD8).
 * 8-bit: TFLite's int32 accumulator, rounding per `rounding`, + output zero point, clamp.
 * int16: TFLite's 64-bit MultiplyByQuantizedMultiplier of the int64 accumulator, clamp (zero point 0). */
static inline void er_qc_requant(const int64_t *acc, int64_t n, const int32_t *mult, const int32_t *shift,
                                 int per_tensor, int32_t rounding, int64_t first_channel, int64_t n_channels,
                                 int32_t out_offset, int32_t lo, int32_t hi, int32_t out_type, void *dst,
                                 int64_t dst_at, int64_t step) {
  const int64_t upward_end = rounding == ER_QC_RND_UPWARD ? INT64_MAX
                             : rounding == ER_QC_RND_UPWARD8 ? (n_channels / 8) * 8 : 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = per_tensor ? 0 : i;
    int64_t v;
    if (out_type == ER_INT16 && rounding == ER_QC_RND_SINGLE64) {
      v = er_qc_mul_single64(acc[i], mult[c], shift[c]);
    } else if (out_type == ER_INT16 && rounding != ER_QC_RND_UPWARD) {
      v = er_mul_by_quantized_multiplier_64(acc[i], mult[c], shift[c]);
    } else if (first_channel + i < upward_end) {
      v = (int64_t)er_qc_mul_upward(er_qc_wrap32(acc[i]), mult[c], shift[c]) + out_offset;
    } else {
      v = (int64_t)er_mul_by_quantized_multiplier(er_qc_wrap32(acc[i]), mult[c], shift[c]) + out_offset;
    }
    const int32_t r = v < lo ? lo : (v > hi ? hi : (int32_t)v);
    const int64_t at = dst_at + i * step;
    switch (out_type) {
      case ER_INT8: ((int8_t *)dst)[at] = (int8_t)r; break;
      case ER_UINT8: ((uint8_t *)dst)[at] = (uint8_t)r; break;
      default: ((int16_t *)dst)[at] = (int16_t)r; break;
    }
  }
}

/* ---- optimized 8-bit paths (kernels/opt/q_conv.c; micro-kernel tables in kernels/opt/ukernels.h) ----------
 * Operands in int16 offset form, exact int32 sums (prepare guarantees K * 255 * 255 < 2^31), the bias added
 * with int32 wrap-around as TFLite's accumulators. */

static inline int32_t er_qc_clamp64(int64_t v, int32_t lo, int32_t hi) {
  return v < lo ? lo : (v > hi ? hi : (int32_t)v);
}

/* The upward requantization with the doubling high multiply as floor((x * m + 2^30) / 2^31), which equals
 * TFLite's SaturatingRoundingDoublingHighMul whenever x and m are not both INT32_MIN. */
static inline int32_t er_qc_mul_upward_fast(int32_t x, int32_t m, int shift) {
  if (m == INT32_MIN) return er_qc_mul_upward(x, m, shift);
  const int lsh = shift > 0 ? shift : 0, rsh = shift > 0 ? 0 : -shift;
  const int64_t h = ((int64_t)er_wrapping_shl(x, lsh) * m + ((int64_t)1 << 30)) >> 31;
  return (int32_t)((h + (((int64_t)1 << rsh) >> 1)) >> rsh);
}

/* Requantize int32 accumulators of channels first..n-1 (n = all output channels of the op) into 8-bit dst. */
static inline void er_qc_requant32(const int32_t *acc, int64_t n, int64_t first, const int32_t *mult,
                                   const int32_t *shift, int32_t rounding, int32_t out_offset, int32_t lo,
                                   int32_t hi, int32_t out_type, void *dst) {
  const int64_t upward_end = rounding == ER_QC_RND_UPWARD ? n : rounding == ER_QC_RND_UPWARD8 ? (n / 8) * 8 : 0;
  int64_t i = first;
  if (out_type == ER_INT8) {
    int8_t *d = (int8_t *)dst;
    for (; i < upward_end; ++i)
      d[i] = (int8_t)er_qc_clamp64((int64_t)er_qc_mul_upward_fast(acc[i], mult[i], shift[i]) + out_offset, lo, hi);
    for (; i < n; ++i)
      d[i] = (int8_t)er_qc_clamp64((int64_t)er_mul_by_quantized_multiplier(acc[i], mult[i], shift[i]) + out_offset, lo, hi);
  } else {
    uint8_t *d = (uint8_t *)dst;
    for (; i < upward_end; ++i)
      d[i] = (uint8_t)er_qc_clamp64((int64_t)er_qc_mul_upward_fast(acc[i], mult[i], shift[i]) + out_offset, lo, hi);
    for (; i < n; ++i)
      d[i] = (uint8_t)er_qc_clamp64((int64_t)er_mul_by_quantized_multiplier(acc[i], mult[i], shift[i]) + out_offset, lo, hi);
  }
}


/* ---- hybrid: TFLite's on-the-fly quantization of float inputs to int8 --------------------------------- */

static inline int32_t er_qc_f2i(float v, int32_t lo, int32_t hi) {
  /* clamp before converting: keeps NaN/inf free of undefined behaviour */
  if (!(v >= (float)lo)) return v != v ? 0 : lo;
  if (v >= (float)hi) return hi;
  return (int32_t)v;
}

/* Symmetric: scale = max|x| / 127, q = clamp(round(x * 127 / max|x|), -127, 127); all-zero -> scale 1. */
static inline void er_qc_quantize_symmetric(const float *x, int64_t n, int8_t *q, float *scale) {
  if (n <= 0) {
    *scale = 1.0f;
    return;
  }
  float mn = x[0], mx = x[0];
  for (int64_t i = 1; i < n; ++i) {
    if (x[i] < mn) mn = x[i];
    if (x[i] > mx) mx = x[i];
  }
  const float range = fabsf(mn) > fabsf(mx) ? fabsf(mn) : fabsf(mx);
  if (range == 0.0f) {
    memset(q, 0, (size_t)n);
    *scale = 1.0f;
    return;
  }
  *scale = range / 127.0f;
  const float inv = 127.0f / range;
  for (int64_t i = 0; i < n; ++i) q[i] = (int8_t)er_qc_f2i(roundf(x[i] * inv), -127, 127);
}

/* Asymmetric over [min(0, min x), max(0, max x)] onto [-128, 127], the zero point nudged to an integer
 * (from whichever end gives the smaller error), computed in double as TFLite does. */
static inline void er_qc_quantize_asymmetric(const float *x, int64_t n, int8_t *q, float *scale, int32_t *zp) {
  float mn = 0.0f, mx = 0.0f;
  if (n > 0) {
    mn = x[0];
    mx = x[0];
    for (int64_t i = 1; i < n; ++i) {
      if (x[i] < mn) mn = x[i];
      if (x[i] > mx) mx = x[i];
    }
  }
  const double rmin = (double)(mn < 0.0f ? mn : 0.0f);
  const double rmax = (double)(mx > 0.0f ? mx : 0.0f);
  if (rmin == rmax) {
    memset(q, 0, (size_t)(n > 0 ? n : 0));
    *scale = 1.0f;
    *zp = 0;
    return;
  }
  const double qmin = -128.0, qmax = 127.0;
  const double s = (rmax - rmin) / (qmax - qmin);
  const double zp_min = qmin - rmin / s, zp_max = qmax - rmax / s;
  const double err_min = fabs(qmin) + fabs(rmin / s), err_max = fabs(qmax) + fabs(rmax / s);
  const double zpd = err_min < err_max ? zp_min : zp_max;
  int32_t z;
  if (zpd <= qmin) {
    z = -128;
  } else if (zpd >= qmax) {
    z = 127;
  } else {
    z = (int32_t)round(zpd);
  }
  *scale = (float)s;
  *zp = z;
  const float inv = (float)(1.0 / (double)*scale);
  for (int64_t i = 0; i < n; ++i) q[i] = (int8_t)er_qc_f2i(roundf((float)z + x[i] * inv), -128, 127);
}

static inline void er_qc_quantize(int32_t mode, const float *x, int64_t n, int8_t *q, float *scale, int32_t *zp) {
  if (mode == ER_HQ_ASYMMETRIC) {
    er_qc_quantize_asymmetric(x, n, q, scale, zp);
  } else {
    er_qc_quantize_symmetric(x, n, q, scale);
    *zp = 0;
  }
}

#endif
