/* Params of the SVDF kernels (kernels/ref/svdf.c). cdef-friendly: structs and integer #defines only.
 *
 * SVDF inputs: x [B, I], weights_feature [F, I], weights_time [F, M], bias [U] (optional), state [B, F * M]
 * (a variable, laid out [B][F][M], oldest activation first); F = U * rank. Each invoke shifts the state left
 * by one, writes x . weights_feature into its newest column, then out[b, u] = act(bias[u] + sum over the
 * unit's rank filters of state . weights_time).
 *   f32_svdf: all float32. Scratch B * F floats.
 *   h_svdf:   hybrid, int8 weights_feature (x quantized per batch row) and weights_time (dequantized per
 *             element, int8 * scale in float, as TFLite). Scratch B * F floats + B * I int8 + B floats + B int32.
 *   s8_svdf:  int8 x/output, int16 weights_time/state, int32 bias; two requantizations (to the state, to the
 *             output). Scratch B * F int32. */
#ifndef EDGERUN_OPS_SVDF_H
#define EDGERUN_OPS_SVDF_H
#include "edgerun/core.h"

typedef struct er_svdf_params {
  int32_t batch;
  int32_t input_size;
  int32_t num_filters;
  int32_t num_units;
  int32_t rank;
  int32_t memory_size;
  int32_t activation;              /* f32/h: ER_ACT_NONE..ER_ACT_TANH */
  int32_t asymmetric;              /* h: asymmetric_quantize_inputs */
  int32_t mult1;                   /* s8: x * weights_feature -> state */
  int32_t shift1;
  int32_t mult2;                   /* s8: state * weights_time -> output */
  int32_t shift2;
  int32_t input_zero_point;
  int32_t output_zero_point;
} er_svdf_params;

#endif
