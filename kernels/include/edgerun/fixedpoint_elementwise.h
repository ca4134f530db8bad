/* Fixed-point helpers of TFLite's integer elementwise kernels (gemmlowp-style Q-format arithmetic) that
 * edgerun/fixedpoint.h does not have: leading-bit counts, the Newton-Raphson reciprocal used by quantized
 * DIV, the inverse square root multiplier used by int8 RSQRT, and the 16-bit fixed-point operations of
 * HARD_SWISH and the int16 power-of-two ADD/SUB. Static inline, not part of the cffi cdef; no undefined
 * behaviour (wrapping int32 arithmetic is done in uint32, products in int64). */
#ifndef EDGERUN_FIXEDPOINT_ELEMENTWISE_H
#define EDGERUN_FIXEDPOINT_ELEMENTWISE_H

#include <stdint.h>

#include "edgerun/fixedpoint.h"

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

/* Number of redundant sign bits (GCC's __builtin_clrsb): 31 for 0 and -1. */
static inline int er_clrsb32(int32_t x) {
  uint32_t u = x < 0 ? ~(uint32_t)x : (uint32_t)x;
  return er_clz32(u) - 1;
}

/* Saturating x * 2^exponent for exponent > 0, rounding x / 2^-exponent for exponent < 0. */
static inline int32_t er_sat_rounding_mul_by_pot(int32_t x, int exponent) {
  if (exponent == 0) return x;
  if (exponent < 0) return er_rounding_divide_by_pot(x, -exponent);
  const int32_t threshold = (int32_t)((((int64_t)1) << (31 - exponent)) - 1);
  if (x > threshold) return INT32_MAX;
  if (x < -threshold) return INT32_MIN;
  return er_wrapping_shl(x, exponent);
}

/* gemmlowp's RoundingHalfSum for int32. */
static inline int32_t er_rounding_half_sum(int32_t a, int32_t b) {
  int64_t sum = (int64_t)a + (int64_t)b;
  int64_t sign = sum >= 0 ? 1 : -1;
  return (int32_t)((sum + sign) / 2);
}

/* 1 / (1 + x) for x in [0, 1] as Q0.31 in, Q0.31 out (gemmlowp's one_over_one_plus_x_for_x_in_0_1):
 * three Newton-Raphson steps on a Q2.29 estimate. */
static inline int32_t er_one_over_one_plus_x_q31(int32_t a) {
  const int32_t half_denominator = er_rounding_half_sum(a, INT32_MAX);
  const int32_t c48_17 = 1515870810;   /* 48/17 in Q2.29 */
  const int32_t cm32_17 = -1010580540; /* -32/17 in Q2.29 */
  const int32_t one_q2 = 1 << 29;
  /* Q0 * Q2 -> Q2 (raw doubling high mul) */
  int32_t x = er_wrap_add32(c48_17, er_sat_rounding_doubling_high_mul(half_denominator, cm32_17));
  for (int i = 0; i < 3; ++i) {
    int32_t hdx = er_sat_rounding_doubling_high_mul(half_denominator, x);        /* Q2 */
    int32_t one_minus = er_wrap_sub32(one_q2, hdx);                              /* Q2 */
    int32_t prod = er_sat_rounding_doubling_high_mul(x, one_minus);              /* Q4 */
    x = er_wrap_add32(x, er_sat_rounding_mul_by_pot(prod, 2));                   /* Q4 -> Q2 */
  }
  /* ExactMulByPot<-1>: Q2 raw reinterpreted as Q1, then rescaled to Q0 (saturating << 1). */
  return er_sat_rounding_mul_by_pot(x, 1);
}

/* TFLite's GetReciprocal(x, x_integer_digits, &num_bits_over_unit) for x > 0. */
static inline int32_t er_get_reciprocal(int32_t x, int x_integer_digits, int *num_bits_over_unit) {
  const int headroom_plus_one = er_clz32((uint32_t)x);
  *num_bits_over_unit = x_integer_digits - headroom_plus_one;
  const int32_t shifted_sum_minus_one =
      (int32_t)(((uint32_t)x << headroom_plus_one) - ((uint32_t)1 << 31));
  return er_one_over_one_plus_x_q31(shifted_sum_minus_one);
}

/* TFLite's GetInvSqrtQuantizedMultiplierExp(input, reverse_shift=-1): 1/sqrt(input) as a Q31 multiplier
 * and a shift (left shift, TFLite's convention after reversing), by five Newton-Raphson steps in Q3.28. */
static inline void er_inv_sqrt_multiplier(int32_t input, int32_t *out_mult, int *out_shift) {
  if (input <= 1) {
    *out_mult = INT32_MAX;
    *out_shift = 0;
    return;
  }
  int shift = 11;
  while (input >= (1 << 29)) {
    input /= 4;
    ++shift;
  }
  const unsigned max_left_shift_bits = (unsigned)er_clz32((uint32_t)input) - 1u;
  const unsigned max_left_shift_bit_pairs = max_left_shift_bits / 2u;
  const unsigned left_shift_bit_pairs = max_left_shift_bit_pairs - 1u;
  shift -= (int)left_shift_bit_pairs;
  input = (int32_t)((uint32_t)input << (2u * left_shift_bit_pairs));
  const int32_t fx_input = input >> 1;                                   /* Q3.28 */
  const int32_t fx_half_input = er_rounding_divide_by_pot(fx_input, 1);  /* SaturatingRoundingMultiplyByPOT<-1> */
  const int32_t fx_half_three = (1 << 28) + (1 << 27);                   /* 1.5 in Q3.28 */
  int32_t x = 1 << 28;                                                   /* 1.0 in Q3.28 */
  for (int i = 0; i < 5; ++i) {
    /* x*x*x: Q3*Q3 -> Q6, *Q3 -> Q9, Rescale<3> */
    int32_t x2 = er_sat_rounding_doubling_high_mul(x, x);
    int32_t x3 = er_sat_rounding_doubling_high_mul(x2, x);
    x3 = er_sat_rounding_mul_by_pot(x3, 6);
    /* 1.5*x - half_input*x3: Q6 each, Rescale<3> */
    int32_t t1 = er_sat_rounding_doubling_high_mul(fx_half_three, x);
    int32_t t2 = er_sat_rounding_doubling_high_mul(fx_half_input, x3);
    x = er_sat_rounding_mul_by_pot(er_wrap_sub32(t1, t2), 3);
  }
  /* x * sqrt(2)/2 (Q0.31): Q3 * Q0 -> Q3, raw kept */
  x = er_sat_rounding_doubling_high_mul(x, 1518500250);
  if (shift < 0) {
    x = er_wrapping_shl(x, -shift);
    shift = 0;
  }
  *out_mult = x;
  *out_shift = -shift;
}

/* 16-bit gemmlowp operations (HARD_SWISH, int16 POT add/sub). */
static inline int16_t er_sat_rounding_doubling_high_mul16(int16_t a, int16_t b) {
  if (a == b && a == INT16_MIN) return INT16_MAX;
  int32_t ab = (int32_t)a * (int32_t)b;
  int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
  return (int16_t)((ab + nudge) / (1 << 15));
}

/* Truncating variant (ARM SQDMULH), used by HARD_SWISH to cancel rounding bias. */
static inline int16_t er_sat_doubling_high_mul16(int16_t a, int16_t b) {
  if (a == b && a == INT16_MIN) return INT16_MAX;
  int32_t ab = (int32_t)a * (int32_t)b;
  return (int16_t)(ab / (1 << 15));
}

static inline int16_t er_sat_left_shift16(int16_t v, int amount) {
  int64_t r = (int64_t)v * ((int64_t)1 << amount);
  if (r > INT16_MAX) r = INT16_MAX;
  if (r < INT16_MIN) r = INT16_MIN;
  return (int16_t)r;
}

static inline int16_t er_sat16(int32_t v) {
  return (int16_t)(v > INT16_MAX ? INT16_MAX : (v < INT16_MIN ? INT16_MIN : v));
}

#endif
