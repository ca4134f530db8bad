/* Fixed-point helpers of the integer reduce family (static inline, not part of the cffi cdef): gemmlowp's
 * saturating power-of-two scaling, TFLite's inverse square root multiplier (L2 normalization), TFLite's
 * 64-bit-input requantization as used by REDUCE_PROD, and the 513-entry int16 LUT lookup (int16 softmax).
 * All arithmetic that TFLite performs in wrapping int32 is done here in uint32/int64 (no UB). */
#ifndef EDGERUN_FIXEDPOINT_REDUCE_H
#define EDGERUN_FIXEDPOINT_REDUCE_H

#include <stdint.h>

#include "edgerun/fixedpoint.h"

static inline int er_clz32(uint32_t x) {
  if (x == 0) return 32;
  int n = 0;
  while (!(x & 0x80000000u)) {
    x <<= 1;
    ++n;
  }
  return n;
}

static inline int32_t er_wrap_add32(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }
static inline int32_t er_wrap_sub32(int32_t a, int32_t b) { return (int32_t)((uint32_t)a - (uint32_t)b); }
static inline int32_t er_wrap_i64_to_i32(int64_t v) { return (int32_t)(uint32_t)(uint64_t)v; }

/* gemmlowp SaturatingRoundingMultiplyByPOT<exponent> for exponent in [1, 31]: x * 2^exponent, saturated. */
static inline int32_t er_sat_shl(int32_t x, int exponent) {
  const int32_t threshold = (int32_t)(((int64_t)1 << (31 - exponent)) - 1);
  if (x > threshold) return INT32_MAX;
  if (x < -threshold) return INT32_MIN;
  return er_wrapping_shl(x, exponent);
}

/* TFLite's GetInvSqrtQuantizedMultiplierExp: 1/sqrt(input) as a Q31 multiplier and a shift (reverse_shift
 * -1 gives a left shift, i.e. the result is used as MultiplyByQuantizedMultiplier(x, *mult, *shift)).
 * Newton-Raphson in gemmlowp FixedPoint<int32, 3>. */
static inline void er_inv_sqrt_multiplier_exp(int32_t input, int reverse_shift, int32_t *mult, int *shift) {
  if (input <= 1) {
    *mult = INT32_MAX;
    *shift = 0;
    return;
  }
  int s = 11;
  while (input >= (1 << 29)) {
    input /= 4;
    ++s;
  }
  const unsigned max_left_shift_bits = (unsigned)er_clz32((uint32_t)input) - 1u;
  const unsigned max_left_shift_bit_pairs = max_left_shift_bits / 2u;
  const unsigned left_shift_bit_pairs = max_left_shift_bit_pairs - 1u;
  s -= (int)left_shift_bit_pairs;
  input = er_wrapping_shl(input, (int)(2u * left_shift_bit_pairs));
  /* F3 arithmetic: raw values with 3 integer bits; F3 * F3 is F6 (SRDHM of the raws). */
  const int32_t fx_input = input >> 1;
  const int32_t fx_half_input = er_rounding_divide_by_pot(fx_input, 1);
  const int32_t fx_half_three = (1 << 28) + (1 << 27); /* 1.5 in F3 */
  int32_t x = 1 << 28;                                 /* 1.0 in F3 */
  for (int i = 0; i < 5; ++i) {
    const int32_t x2 = er_sat_rounding_doubling_high_mul(x, x);          /* F6 */
    const int32_t x3_f9 = er_sat_rounding_doubling_high_mul(x2, x);      /* F9 */
    const int32_t x3 = er_sat_shl(x3_f9, 6);                            /* F3 */
    const int32_t a = er_sat_rounding_doubling_high_mul(fx_half_three, x);  /* F6 */
    const int32_t b = er_sat_rounding_doubling_high_mul(fx_half_input, x3); /* F6 */
    x = er_sat_shl(er_wrap_sub32(a, b), 3);                              /* F3 */
  }
  x = er_sat_rounding_doubling_high_mul(x, 1518500250); /* times sqrt(2)/2 in F0: stays F3 */
  if (s < 0) {
    x = er_wrapping_shl(x, -s);
    s = 0;
  }
  *mult = x;
  *shift = s * reverse_shift;
}

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
