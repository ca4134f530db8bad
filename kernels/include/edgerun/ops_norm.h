/* Params of the norm kernel family (kernels/ref/norm.c): LOCAL_RESPONSE_NORMALIZATION. cdef-friendly: structs
 * and integer #defines only. */
#ifndef EDGERUN_OPS_NORM_H
#define EDGERUN_OPS_NORM_H
#include "edgerun/core.h"

/* f32_lrn: x [..., depth] -> x * (bias + alpha * sum of x^2 over channels [c - radius, c + radius])^-beta */
typedef struct er_lrn_params {
  int64_t depth;                   /* innermost dimension; the input's count is a multiple of it */
  int32_t radius;                  /* >= 0 */
  float bias;
  float alpha;
  float beta;
} er_lrn_params;

#endif
