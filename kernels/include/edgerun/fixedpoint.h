/* Integer arithmetic of TFLite's quantized kernels: the definition our integer kernels are bit-exact with.
 * Not part of the cffi cdef (static inline). Every function is free of undefined behaviour: products that
 * TFLite computes in wrapping int32 are done here in int64 or uint32.
 */
#ifndef EDGERUN_FIXEDPOINT_H
#define EDGERUN_FIXEDPOINT_H

#include <stdint.h>

#include "edgerun/core.h"

/* Requantization rounding: ER_ROUND_DOUBLE is TFLite's default (saturating rounding doubling high multiply,
 * then rounding divide by a power of two); ER_ROUND_SINGLE is its TFLITE_SINGLE_ROUNDING build. */
extern int er_rounding_mode;

static inline int32_t er_sat_rounding_doubling_high_mul(int32_t a, int32_t b) {
  if (a == b && a == INT32_MIN) return INT32_MAX;
  int64_t ab = (int64_t)a * (int64_t)b;
  int64_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
  /* TFLite divides (truncating toward zero) by 2^31. */
  int64_t q = (ab + nudge) / ((int64_t)1 << 31);
  return (int32_t)q;
}

static inline int32_t er_rounding_divide_by_pot(int32_t x, int exponent) {
  if (exponent <= 0) return x;
  const int32_t mask = (int32_t)((((int64_t)1) << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

static inline int32_t er_wrapping_shl(int32_t x, int shift) {
  return (int32_t)(uint32_t)((uint32_t)x << shift);
}

/* x * multiplier * 2^shift, multiplier a Q31 in [2^30, 2^31), shift in [-31, 30]. */
static inline int32_t er_mul_by_quantized_multiplier(int32_t x, int32_t multiplier, int shift) {
  if (er_rounding_mode == 1) {
    const int64_t total_shift = 31 - shift;
    const int64_t round = (int64_t)1 << (total_shift - 1);
    int64_t result = (int64_t)x * (int64_t)multiplier + round;
    result = result >> total_shift;
    if (result > INT32_MAX) result = INT32_MAX;
    if (result < INT32_MIN) result = INT32_MIN;
    return (int32_t)result;
  }
  const int left_shift = shift > 0 ? shift : 0;
  const int right_shift = shift > 0 ? 0 : -shift;
  return er_rounding_divide_by_pot(
      er_sat_rounding_doubling_high_mul(er_wrapping_shl(x, left_shift), multiplier), right_shift);
}

/* TFLite's MultiplyByQuantizedMultiplier for int64 accumulators (int16x8 conv/fc). */
static inline int32_t er_mul_by_quantized_multiplier_64(int64_t x, int32_t multiplier, int shift) {
  /* reduced multiplier as TFLite: (multiplier + (1 << 15)) >> 16, 48-bit accumulate */
  int32_t reduced = multiplier < 0x7FFF0000 ? ((multiplier + (1 << 15)) >> 16) : 0x7FFF;
  int total_shift = 15 - shift;
  int64_t prod = x * (int64_t)reduced;
  int64_t round = (int64_t)1 << (total_shift - 1);
  int64_t result = (prod + round) >> total_shift;
  if (result > INT32_MAX) result = INT32_MAX;
  if (result < INT32_MIN) result = INT32_MIN;
  return (int32_t)result;
}

/* For multipliers below one with a non-positive shift (TFLite's MultiplyByQuantizedMultiplierSmallerThanOneExp). */
static inline int32_t er_mul_by_quantized_multiplier_lt1(int32_t x, int32_t multiplier, int shift) {
  if (er_rounding_mode == 1) return er_mul_by_quantized_multiplier(x, multiplier, shift);
  return er_rounding_divide_by_pot(er_sat_rounding_doubling_high_mul(x, multiplier), -shift);
}

/* For multipliers above one (TFLite's MultiplyByQuantizedMultiplierGreaterThanOne). */
static inline int32_t er_mul_by_quantized_multiplier_gt1(int32_t x, int32_t multiplier, int shift) {
  if (er_rounding_mode == 1) return er_mul_by_quantized_multiplier(x, multiplier, shift);
  return er_sat_rounding_doubling_high_mul(er_wrapping_shl(x, shift), multiplier);
}

static inline int32_t er_clamp_i32(int32_t x, int32_t lo, int32_t hi) { return x < lo ? lo : (x > hi ? hi : x); }

/* Wrapping int32 arithmetic (done in uint32: no signed overflow). */
static inline int32_t er_wrap_add32(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }
static inline int32_t er_wrap_sub32(int32_t a, int32_t b) { return (int32_t)((uint32_t)a - (uint32_t)b); }

static inline int er_clz32(uint32_t x) {
  if (x == 0) return 32;
  int n = 0;
  while (!(x & 0x80000000u)) {
    x <<= 1;
    ++n;
  }
  return n;
}

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

#endif
