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

/* A reduction as strided loops (no tables that grow with the tensor): output i, row-major over out_dims,
 * starts at the input offset sum(index_k * out_strides[k]); it reduces the n_red elements at that offset plus
 * sum(index_k * red_strides[k]), row-major over red_dims (the reduced axes in input order, as TFLite).
 * Offsets and strides are in elements. Unused dims are 1 with stride 0. */
#define ER_REDUCE_MAX_DIMS 8
typedef struct er_reduce_params {
  int32_t op;
  int64_t n_out;          /* output elements = product of out_dims */
  int64_t n_red;          /* reduced elements per output = product of red_dims */
  int32_t n_out_dims;
  int32_t n_red_dims;
  int64_t out_dims[8];    /* ER_REDUCE_MAX_DIMS */
  int64_t out_strides[8];
  int64_t red_dims[8];
  int64_t red_strides[8];
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
