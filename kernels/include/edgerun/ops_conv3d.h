/* Params of the 3-D convolution kernels (kernels/ref/conv3d.c): CONV_3D, float32 (LiteRT's only type).
 * cdef-friendly: structs and integer #defines only. */
#ifndef EDGERUN_OPS_CONV3D_H
#define EDGERUN_OPS_CONV3D_H
#include "edgerun/core.h"

/* f32_conv3d: x [N, D, H, W, C], filter [KD, KH, KW, C, O], bias [O] (optional) -> y [N, OD, OH, OW, O],
 * clamped to [act_min, act_max]. stride[i] / dilation[i] / pad[i] (before) per spatial axis D, H, W. */
typedef struct er_conv3d_params {
  int32_t stride[3];
  int32_t dilation[3];
  int32_t pad[3];
  float act_min;
  float act_max;
} er_conv3d_params;

#endif
