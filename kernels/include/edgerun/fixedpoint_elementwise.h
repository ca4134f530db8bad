/* Fixed-point helpers of TFLite's integer elementwise kernels (gemmlowp-style Q-format arithmetic) that
 * edgerun/fixedpoint.h does not have: leading-bit counts, the Newton-Raphson reciprocal used by quantized
 * DIV, the inverse square root multiplier used by int8 RSQRT, and the 16-bit fixed-point operations of
 * HARD_SWISH and the int16 power-of-two ADD/SUB. Static inline, not part of the cffi cdef; no undefined
 * behaviour (wrapping int32 arithmetic is done in uint32, products in int64). */
#ifndef EDGERUN_FIXEDPOINT_ELEMENTWISE_H
#define EDGERUN_FIXEDPOINT_ELEMENTWISE_H

#include <stdint.h>

#include "edgerun/fixedpoint.h"

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

/* 1/sqrt(input) as (multiplier, left shift): TFLite's GetInvSqrtQuantizedMultiplierExp(input, -1). */
static inline void er_inv_sqrt_multiplier(int32_t input, int32_t *out_mult, int *out_shift) {
  er_inv_sqrt_multiplier_exp(input, -1, out_mult, out_shift);
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

/* ---- gemmlowp's 16-bit fixed-point tanh / logistic (TFLite's int16 TANH/LOGISTIC with power-of-two input
 * scales: input Q3.12, output Q0.15). Q-format arithmetic on int16 raw values: + and - wrap, * is the
 * rounding doubling high multiply, Rescale is a saturating/rounding power-of-two multiply. */
static inline int16_t fx16_add(int16_t a, int16_t b) { return (int16_t)(uint16_t)((uint16_t)a + (uint16_t)b); }
static inline int16_t fx16_sub(int16_t a, int16_t b) { return (int16_t)(uint16_t)((uint16_t)a - (uint16_t)b); }
static inline int16_t fx16_neg(int16_t a) { return (int16_t)(uint16_t)(0u - (uint16_t)a); }

static inline int16_t fx16_rdbpot(int16_t x, int e) { return (int16_t)er_rounding_divide_by_pot(x, e); }

/* SaturatingRoundingMultiplyByPOT<e> on int16 */
static inline int16_t fx16_mul_pot(int16_t x, int e) {
  if (e == 0) return x;
  if (e < 0) return fx16_rdbpot(x, -e);
  const int32_t threshold = (1 << (15 - e)) - 1;
  if (x > threshold) return INT16_MAX;
  if (x < -threshold) return INT16_MIN;
  return (int16_t)(uint16_t)((uint32_t)(uint16_t)x << e);
}

/* a 32-bit fixed-point constant narrowed to 16 bits (gemmlowp's RescaleConstantInitializer) */
static inline int16_t fx16_const(int32_t v) { return (int16_t)er_rounding_divide_by_pot(v, 16); }

static inline int16_t fx16_half_sum(int16_t a, int16_t b) {
  int32_t sum = (int32_t)a + (int32_t)b;
  int32_t sign = sum >= 0 ? 1 : -1;
  return (int16_t)((sum + sign) / 2);
}

/* exp(x) for x in [-1/4, 0), Q0.15 in and out */
static inline int16_t fx16_exp_quarter(int16_t a) {
  const int16_t constant_term = fx16_const(1895147668);
  const int16_t one_third = fx16_const(715827883);
  const int16_t x = fx16_add(a, (int16_t)(1 << 12)); /* + 1/8 */
  const int16_t x2 = er_sat_rounding_doubling_high_mul16(x, x);
  const int16_t x3 = er_sat_rounding_doubling_high_mul16(x2, x);
  const int16_t x4 = er_sat_rounding_doubling_high_mul16(x2, x2);
  const int16_t x4_over_4 = fx16_mul_pot(x4, -2);
  const int16_t poly = fx16_mul_pot(
      fx16_add(er_sat_rounding_doubling_high_mul16(fx16_add(x4_over_4, x3), one_third), x2), -1);
  return er_sat16((int32_t)constant_term +
                  er_sat_rounding_doubling_high_mul16(constant_term, fx16_add(x, poly)));
}

/* exp(a) for a <= 0 given with `ibits` integer bits (3 or 4), result Q0.15 */
static inline int16_t fx16_exp_negative(int16_t a, int ibits) {
  static const int32_t mults[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
  const int fbits = 15 - ibits;
  const int16_t one_quarter = (int16_t)(1 << (fbits - 2));
  const int16_t mask = (int16_t)(one_quarter - 1);
  const int16_t a_mod = fx16_sub((int16_t)(a & mask), one_quarter);
  int16_t result = fx16_exp_quarter(fx16_mul_pot(a_mod, ibits)); /* Rescale<0> */
  const int16_t remainder = fx16_sub(a_mod, a);
  for (int k = 0; k < 7; ++k) {
    const int exponent = k - 2;
    if (ibits > exponent) {
      const int shift = fbits + exponent;
      if (remainder & (1 << shift)) result = er_sat_rounding_doubling_high_mul16(result, fx16_const(mults[k]));
    }
  }
  return a == 0 ? INT16_MAX : result;
}

/* Newton-Raphson 1/(1+x) (or (1-x)/(1+x) when minus_x) for x in [0, 1], Q0.15 */
static inline int16_t fx16_over_one_plus_x(int16_t a, int minus_x) {
  const int16_t half_denominator = fx16_half_sum(a, INT16_MAX);
  const int16_t c48_17 = fx16_const(1515870810), cm32_17 = fx16_const(-1010580540);
  const int16_t one_q2 = (int16_t)(1 << 13);
  int16_t x = fx16_add(c48_17, er_sat_rounding_doubling_high_mul16(half_denominator, cm32_17));
  for (int i = 0; i < 3; ++i) {
    const int16_t hdx = er_sat_rounding_doubling_high_mul16(half_denominator, x);
    const int16_t one_minus = fx16_sub(one_q2, hdx);
    x = fx16_add(x, fx16_mul_pot(er_sat_rounding_doubling_high_mul16(x, one_minus), 2));
  }
  if (minus_x) return fx16_mul_pot(fx16_sub(x, one_q2), 2); /* Rescale<0> of Q2.13 */
  return fx16_mul_pot(x, 1);                                 /* ExactMulByPot<-1> then Rescale<0> */
}

/* gemmlowp::logistic on a Q3.12 input, Q0.15 output */
static inline int16_t fx16_logistic(int16_t a) {
  const int16_t abs_in = a > 0 ? a : fx16_neg(a);
  const int16_t pos = fx16_over_one_plus_x(fx16_exp_negative(fx16_neg(abs_in), 3), 0);
  if (a == 0) return fx16_const(1 << 30);
  return a > 0 ? pos : fx16_sub(INT16_MAX, pos);
}

/* gemmlowp::tanh on a Q3.12 input, Q0.15 output */
static inline int16_t fx16_tanh(int16_t a) {
  const int16_t n = a < 0 ? a : fx16_neg(a);
  /* ExactMulByPot<1>: the same raw value read with 4 integer bits */
  const int16_t t = fx16_over_one_plus_x(fx16_exp_negative(n, 4), 1);
  if (a == 0) return 0;
  return a < 0 ? fx16_neg(t) : t;
}

#endif
