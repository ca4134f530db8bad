/* Params of the elementwise kernel family (binary with broadcasting, unary, activations, cast, select).
 * cdef-friendly: structs and integer #defines only. */
#ifndef EDGERUN_OPS_ELEMENTWISE_H
#define EDGERUN_OPS_ELEMENTWISE_H
#include "edgerun/core.h"

/* Binary ops (er_binary_params.op). */
#define ER_BIN_ADD 0
#define ER_BIN_SUB 1
#define ER_BIN_MUL 2
#define ER_BIN_DIV 3
#define ER_BIN_MAX 4
#define ER_BIN_MIN 5
#define ER_BIN_SQDIFF 6
#define ER_BIN_POW 7
#define ER_BIN_FLOORDIV 8
#define ER_BIN_FLOORMOD 9
#define ER_BIN_PRELU 10
/* comparisons and logic write bool */
#define ER_BIN_LESS 16
#define ER_BIN_LESS_EQUAL 17
#define ER_BIN_GREATER 18
#define ER_BIN_GREATER_EQUAL 19
#define ER_BIN_EQUAL 20
#define ER_BIN_NOT_EQUAL 21
#define ER_BIN_LOGICAL_AND 22
#define ER_BIN_LOGICAL_OR 23

typedef struct er_binary_params {
  int32_t op;
  float act_min; /* fused activation clamp for float outputs */
  float act_max;
  int32_t iact_min; /* for int32/int64 outputs */
  int32_t iact_max;
} er_binary_params;

/* Unary float ops (er_unary_params.op). */
#define ER_UN_ABS 0
#define ER_UN_NEG 1
#define ER_UN_SQRT 2
#define ER_UN_RSQRT 3
#define ER_UN_EXP 4
#define ER_UN_LOG 5
#define ER_UN_SIN 6
#define ER_UN_COS 7
#define ER_UN_SQUARE 8
#define ER_UN_FLOOR 9
#define ER_UN_CEIL 10
#define ER_UN_ROUND 11
#define ER_UN_LOGISTIC 12
#define ER_UN_TANH 13
#define ER_UN_RELU 14
#define ER_UN_RELU6 15
#define ER_UN_RELU_N1_TO_1 16
#define ER_UN_ELU 17
#define ER_UN_HARD_SWISH 18
#define ER_UN_GELU 19
#define ER_UN_GELU_TANH 20
#define ER_UN_LEAKY_RELU 21
#define ER_UN_SIGN 22
#define ER_UN_LOGICAL_NOT 23
#define ER_UN_RELU_0_TO_1 24

typedef struct er_unary_params {
  int32_t op;
  float alpha; /* LEAKY_RELU */
} er_unary_params;

#endif
