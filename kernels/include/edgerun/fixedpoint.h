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

#endif
