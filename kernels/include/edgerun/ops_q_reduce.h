/* Params of the integer (int8/uint8/int16, hybrid) reduce kernels. cdef-friendly: structs and integer #defines only.
 * Pooling kernels (q_maxpool2d, q_avgpool2d) take er_pool_params (ops_reduce.h) with out_min/out_max set. */
#ifndef EDGERUN_OPS_Q_REDUCE_H
#define EDGERUN_OPS_Q_REDUCE_H
#include "edgerun/core.h"

/* Modes of q_reduce, each one of TFLite's integer reduction paths. */
#define ER_QRED_MEAN 0      /* sum - zp*n, times (in/out scale)/n as a Q31 multiplier, + out zp */
#define ER_QRED_MEAN_4D 1   /* raw sum times in/(n*out) as a Q31 multiplier, + a float-derived bias */
#define ER_QRED_SUM 2       /* float rescale: round(sum * scale + bias) + out zp */
#define ER_QRED_MAX 3
#define ER_QRED_MIN 4
#define ER_QRED_PROD 5      /* product rescaled at every step by a Q31 multiplier (64-bit multiply) */
#define ER_QRED_PROD_RAW 6  /* unquantized tensors: wrapping product in the element type */

/* Output i reduces the input elements of the strided view of er_reduce_params (ops_reduce.h): out_dims /
 * out_strides give the start of output i, red_dims / red_strides the reduced elements, in that order. */
typedef struct er_q_reduce_params {
  int32_t mode;
  int64_t n_out;
  int64_t n_red;
  int32_t n_out_dims;
  int32_t n_red_dims;
  int64_t out_dims[8];    /* ER_REDUCE_MAX_DIMS */
  int64_t out_strides[8];
  int64_t red_dims[8];
  int64_t red_strides[8];
  int32_t input_zp;
  int32_t output_zp;
  int32_t multiplier;
  int32_t shift;
  int32_t bias;       /* ER_QRED_MEAN_4D */
  int64_t depth;      /* ER_QRED_MEAN_4D: channels; output i is channel i % depth */
  int64_t vec_channels; /* ER_QRED_MEAN_4D: channels [0, vec_channels) are TFLite's 16-channel vector loop's */
  float scale;        /* ER_QRED_SUM */
  float fbias;        /* ER_QRED_SUM */
} er_q_reduce_params;

/* SOFTMAX / LOG_SOFTMAX over the last dimension. int8/uint8 inputs: the float exp table path (table built
 * in scratch: 256 floats); int16: the two 513-entry LUTs. */
typedef struct er_q_softmax_params {
  int64_t rows;
  int64_t depth;
  float beta;
  float input_scale;
  float output_scale;
  int32_t output_zp;
  int32_t input_multiplier;   /* int16 */
  int32_t input_left_shift;   /* int16 */
  const int16_t *exp_lut;     /* int16: 513 entries */
  const int16_t *recip_lut;   /* int16: 513 entries, 1 / (1 + x) */
} er_q_softmax_params;

typedef struct er_q_l2norm_params {
  int64_t rows;
  int64_t depth;
  int32_t input_zp;
} er_q_l2norm_params;

#endif
