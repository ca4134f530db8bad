/* Params of the conv kernel family: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV, BATCH_MATMUL.
 * cdef-friendly: structs and integer #defines only. Shapes are read from the op's tensors at run time;
 * these hold what prepare derived from options. */
#ifndef EDGERUN_OPS_CONV_H
#define EDGERUN_OPS_CONV_H
#include "edgerun/core.h"

typedef struct er_conv_params {
  int32_t stride_h;
  int32_t stride_w;
  int32_t dil_h;
  int32_t dil_w;
  int32_t pad_top;
  int32_t pad_left;
  int32_t groups;           /* CONV_2D: input channels / filter input channels */
  int32_t depth_multiplier; /* DEPTHWISE_CONV_2D */
  float act_min;            /* fused activation clamp (float) */
  float act_max;
  /* integer kernels */
  int32_t input_offset;     /* -input zero point */
  int32_t output_offset;    /* output zero point */
  int32_t weight_offset;    /* -weight zero point (uint8 models) */
  int32_t out_min;          /* quantized activation clamp */
  int32_t out_max;
  const int32_t *multipliers; /* per output channel (or one repeated) */
  const int32_t *shifts;
  const float *channel_scales; /* hybrid: weight scale per output channel */
  int32_t per_channel;
  /* fast float kernels (kernels/opt/conv.c): weights packed at prepare (see gemm_f32_packed.h) */
  const float *packed_w;    /* panels of 16 output channels, K floats deep, per group */
  const float *packed_b;    /* bias padded to the panels (or per channel for depthwise), zeros when absent */
  int32_t rows;             /* CONV_2D im2col: output pixels gathered into scratch at a time */
  const int32_t *koff;      /* CONV_2D: offset of window value k from the window's corner (NULL: gather all) */
} er_conv_params;

typedef struct er_bmm_params {
  int32_t adj_x;
  int32_t adj_y;
  int64_t batches;
  int32_t m;
  int32_t n;
  int32_t k;
  const int64_t *a_offsets; /* element offset of each batch's matrix in the (broadcast) inputs */
  const int64_t *b_offsets;
  int32_t input_offset;
  int32_t output_offset;
  int32_t out_min;
  int32_t out_max;
  int32_t multiplier;
  int32_t shift;
  int32_t b_offset_q;       /* -zero point of the rhs for integer kernels */
} er_bmm_params;

#endif
