/* Params of the quantize kernel family: QUANTIZE (float -> int, int -> int requantization) and DEQUANTIZE.
 * cdef-friendly: structs and integer #defines only. */
#ifndef EDGERUN_OPS_QUANTIZE_H
#define EDGERUN_OPS_QUANTIZE_H
#include "edgerun/core.h"

/* Per-channel parameters address element i's channel as (i / inner) % channels. */
typedef struct er_quant_params {
  /* per tensor */
  double scale;          /* DEQUANTIZE: real = scale * (q - zero_point), computed in double as TFLite */
  float fscale;          /* QUANTIZE float -> int: q = round(x / fscale) + zero_point */
  int32_t round_even;    /* 1: LiteRT's per-tensor rule (blocks of 8: x * (1/scale) half to even; the n % 8 tail:
                            x / scale in double, half away), 0: x / scale half away from zero */
  int32_t zero_point;
  /* per channel (channels > 0) */
  int64_t channels;
  int64_t inner;
  const float *scales;
  const int32_t *zero_points;
  /* int -> int requantization */
  int32_t multiplier;
  int32_t shift;
  int32_t input_zp;
  int32_t qmin;
  int32_t qmax;
} er_quant_params;

#endif
