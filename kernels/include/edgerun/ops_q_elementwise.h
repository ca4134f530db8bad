/* Params of the integer (int8/uint8/int16) elementwise kernels: kernels/ref/q_elementwise.c (binary ops and
 * comparisons with broadcasting) and kernels/ref/q_activation.c (unary ops, lookup tables).
 * cdef-friendly: structs, integer #defines and prototypes only. */
#ifndef EDGERUN_OPS_Q_ELEMENTWISE_H
#define EDGERUN_OPS_Q_ELEMENTWISE_H
#include "edgerun/core.h"

/* er_q_binary_params.op (kernel q_binary) */
#define ER_QB_ADD 0       /* TFLite's rescaled add (8-bit, and 16-bit with general scales) */
#define ER_QB_SUB 1
#define ER_QB_MUL 2
#define ER_QB_DIV 3       /* reciprocal-based integer division */
#define ER_QB_SQDIFF 4
#define ER_QB_MAX 5       /* raw values, no rescaling (as TFLite) */
#define ER_QB_MIN 6
#define ER_QB_PRELU 7     /* input 1 is alpha */
#define ER_QB_ADD_POT16 8 /* int16 power-of-two scales: shift one input, saturating add */
#define ER_QB_SUB_POT16 9
#define ER_QB_FLOOR_DIV 10 /* raw integer values */
#define ER_QB_FLOOR_MOD 11
/* comparisons (kernel q_compare, bool output); both sides rescaled when op_flags bit 0 is set */
#define ER_QB_LESS 16
#define ER_QB_LESS_EQUAL 17
#define ER_QB_GREATER 18
#define ER_QB_GREATER_EQUAL 19
#define ER_QB_EQUAL 20
#define ER_QB_NOT_EQUAL 21

typedef struct er_q_binary_params {
  int32_t op;
  int32_t rescale;    /* comparisons: 1 = rescale both sides, 0 = compare raw values */
  int32_t left_shift; /* ADD/SUB/SQDIFF/compare pre-shift */
  int32_t in1_offset; /* -zero_point */
  int32_t in1_mult;
  int32_t in1_shift;
  int32_t in2_offset;
  int32_t in2_mult;
  int32_t in2_shift;
  int32_t out_offset; /* +zero_point */
  int32_t out_mult;
  int32_t out_shift;
  int32_t act_min;    /* clamp of the output, in output units */
  int32_t act_max;
} er_q_binary_params;

/* er_q_unary_params.op (kernel q_unary) */
#define ER_QU_RELU 0       /* requantize then clamp to [act_min, act_max] (RELU, RELU6, RELU_N1_TO_1, RELU_0_TO_1) */
#define ER_QU_LEAKY_RELU 1
#define ER_QU_HARD_SWISH 2
#define ER_QU_ABS 3
#define ER_QU_RSQRT 4      /* int8 arithmetic path */
#define ER_QU_NEG 5        /* raw values, wrapping as TFLite */
#define ER_QU_LUT8 6       /* table of 256 entries indexed by the input's byte */
#define ER_QU_LUT16 7      /* table of 513 int16 entries with linear interpolation */
#define ER_QU_LOGISTIC16 8 /* int16 logistic from the 256-entry sigmoid table */
#define ER_QU_TANH16 9
#define ER_QU_SQRT 10       /* float: trunc(sqrtf(in_scale * (q - zp)) / out_scale) + zp, as TFLite */
#define ER_QU_LOGISTIC16_FX 11 /* int16, input scale 2^-12: gemmlowp fixed-point logistic (Q3.12 -> Q0.15) */
#define ER_QU_TANH16_FX 12     /* int16, input scale 2^-12 (shift 0) or 2^-11 (shift 1): gemmlowp tanh */

typedef struct er_q_unary_params {
  int32_t op;
  int32_t in_zero_point;
  int32_t out_zero_point;
  int32_t mult;       /* RELU / ABS / RSQRT / identity branch of LEAKY_RELU; HARD_SWISH output multiplier (int16) */
  int32_t shift;
  int32_t mult2;      /* LEAKY_RELU alpha branch (magnitude); HARD_SWISH reluish multiplier (int16) */
  int32_t shift2;
  int32_t flag;       /* ABS: 1 rescale, 2 unquantized int16; LEAKY_RELU: alpha is negative; LOGISTIC16/TANH16: input multiplier */
  int32_t act_min;
  int32_t act_max;
  const void *table;  /* LUT8: 256 bytes; LUT16: 513 int16; LOGISTIC16/TANH16: 256 uint16 */
  float in_scale;     /* SQRT */
  float out_scale;
} er_q_unary_params;

/* Prepare-time helpers (called from Python): TFLite's LUTPopulate for 8-bit and 16-bit tables, with the
 * float transform evaluated in C float arithmetic with the C math library, as TFLite does.
 * fn is one of ER_QF_*; param is the transform's extra constant (LOG: output minimum; RSQRT: value at <= 0).
 * lut8 receives 256 bytes indexed by (uint8)value; lut16 receives 513 entries. Return 0, or -1 on bad fn. */
#define ER_QF_LOGISTIC 0
#define ER_QF_TANH 1
#define ER_QF_ELU 2
#define ER_QF_GELU 3
#define ER_QF_GELU_TANH 4
#define ER_QF_EXP 5
#define ER_QF_LOG 6
#define ER_QF_SQRT 7
#define ER_QF_RSQRT 8
int er_q_lut8_populate(int32_t fn, float param, float in_scale, int32_t in_zero_point, float out_scale,
                       int32_t out_zero_point, int32_t is_signed, uint8_t *lut8);
int er_q_lut16_populate(int32_t fn, float param, float in_scale, int32_t in_zero_point, float out_scale,
                        int32_t out_zero_point, int16_t *lut16);

#endif
