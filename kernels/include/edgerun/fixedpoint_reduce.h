/* Fixed-point helpers of the integer reduce family (static inline, not part of the cffi cdef): gemmlowp's
 * saturating power-of-two scaling, TFLite's inverse square root multiplier (L2 normalization), TFLite's
 * 64-bit-input requantization as used by REDUCE_PROD, and the 513-entry int16 LUT lookup (int16 softmax).
 * All arithmetic that TFLite performs in wrapping int32 is done here in uint32/int64 (no UB). */
#ifndef EDGERUN_FIXEDPOINT_REDUCE_H
#define EDGERUN_FIXEDPOINT_REDUCE_H

#include <stdint.h>

#include "edgerun/fixedpoint.h"

static inline int32_t er_wrap_i64_to_i32(int64_t v) { return (int32_t)(uint32_t)(uint64_t)v; }

/* TFLite's MultiplyByQuantizedMultiplier(int64_t x, ...): 16-bit reduced multiplier, one rounding, the
 * result converted to int32 without saturation (as TFLite's static_cast). */
static inline int32_t er_mul_by_quantized_multiplier_i64(int64_t x, int32_t multiplier, int shift) {
  const int64_t reduced = multiplier < 0x7FFF0000 ? ((multiplier + (1 << 15)) >> 16) : 0x7FFF;
  const int total_shift = 15 - shift;
  const int64_t round = (int64_t)1 << (total_shift - 1);
  /* |x| < 2^47 and reduced < 2^15 keep the product inside int64; compute in uint64 regardless. */
  const uint64_t prod = (uint64_t)x * (uint64_t)reduced + (uint64_t)round;
  const int64_t signed_prod = (int64_t)prod;
  return er_wrap_i64_to_i32(signed_prod >> total_shift);
}

/* TFLite's MultiplyByQuantizedMultiplier4Rows, the 4x4-lane kernel of its vector loops (LiteRT's x86 build runs
 * the NEON code through an SSE translation): left shift, saturating rounding doubling high multiply (vqrdmulh,
 * same as gemmlowp's), then a rounding right shift that rounds halves up (vrshl), where the scalar
 * RoundingDivideByPOT rounds them away from zero. Differs from the scalar path only on negative ties. */
static inline int32_t er_mul_by_quantized_multiplier_4rows(int32_t x, int32_t multiplier, int shift) {
  if (er_rounding_mode == 1) return er_mul_by_quantized_multiplier(x, multiplier, shift);
  const int left = shift > 0 ? shift : 0;
  const int right = shift > 0 ? 0 : -shift;
  const int32_t t = er_sat_rounding_doubling_high_mul(er_wrapping_shl(x, left), multiplier);
  if (right == 0) return t;
  return (int32_t)(((int64_t)t + ((int64_t)1 << (right - 1))) >> right);
}

/* TFLite's LUTLookup for int16 -> int16 with 513 entries: 9-bit index, 7-bit linear interpolation. */
static inline int16_t er_lut16_lookup(int16_t value, const int16_t *lut) {
  const int index = 256 + (value >> 7);
  const int16_t offset = (int16_t)(value & 0x7f);
  const int16_t base = lut[index];
  const int16_t slope = (int16_t)(lut[index + 1] - lut[index]);
  const int32_t delta = ((int32_t)slope * offset + 64) >> 7;
  return (int16_t)(base + delta);
}

#endif
