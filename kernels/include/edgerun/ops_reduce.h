/* Params of the reduce kernel family: pooling, reductions, softmax, L2 normalization, arg max/min.
 * cdef-friendly: structs and integer #defines only. */
#ifndef EDGERUN_OPS_REDUCE_H
#define EDGERUN_OPS_REDUCE_H
#include "edgerun/core.h"

typedef struct er_pool_params {
  int32_t filter_h;
  int32_t filter_w;
  int32_t stride_h;
  int32_t stride_w;
  int32_t pad_top;
  int32_t pad_left;
  float act_min;
  float act_max;
  int32_t out_min; /* integer kernels */
  int32_t out_max;
} er_pool_params;

#define ER_RED_SUM 0
#define ER_RED_MEAN 1
#define ER_RED_MAX 2
#define ER_RED_MIN 3
#define ER_RED_PROD 4
#define ER_RED_ANY 5
#define ER_RED_ALL 6

/* A reduction over a prepared view: the input is seen as [outer, reduce, inner] after permuting the reduced
 * axes together; prepare supplies, per reduced element, its offset (in elements) from the start of each
 * output position, and per output position its base offset. */
typedef struct er_reduce_params {
  int32_t op;
  int64_t n_out;          /* output elements */
  int64_t n_red;          /* reduced elements per output */
  const int64_t *out_base;  /* n_out offsets into the input */
  const int64_t *red_off;   /* n_red offsets added to each base */
  /* integer kernels */
  int32_t input_zp;
  int32_t output_zp;
  int32_t multiplier;
  int32_t shift;
  int32_t out_min;
  int32_t out_max;
} er_reduce_params;

typedef struct er_softmax_params {
  float beta;
  int32_t log;       /* LOG_SOFTMAX */
  int64_t rows;
  int64_t depth;     /* softmax over the last dimension */
  /* integer kernels */
  const float *exp_table;   /* int8: exp(beta*scale*(q - 255)) for the 256 differences */
  int32_t input_multiplier;
  int32_t input_left_shift;
  int32_t diff_min;
  int32_t output_zp;
  float output_scale;
} er_softmax_params;

typedef struct er_arg_params {
  int32_t is_min;
  int64_t outer;
  int64_t axis_size;
  int64_t inner;
} er_arg_params;

#endif
