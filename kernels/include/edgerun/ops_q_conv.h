/* Params of the integer (int8/uint8/int16, hybrid) conv kernels. cdef-friendly: structs and integer #defines only.
 *
 * Integer kernels (s8_*, u8_*, s16_*): acc = sum (x + input_offset) * (w + weight_offset) + bias, requantized
 * per output channel with (multipliers[c], shifts[c]) (per-tensor models repeat one pair), plus output_offset,
 * clamped to [out_min, out_max]. int16 kernels accumulate in int64 and requantize with TFLite's 64-bit
 * MultiplyByQuantizedMultiplier.
 * Hybrid kernels (h_*): float input quantized to int8 on the fly (per batch or per row, symmetric or
 * asymmetric), int8 weights, float output = acc * (input_scale * channel_scales[c]) + bias, clamped to
 * [f_min, f_max]. */
#ifndef EDGERUN_OPS_Q_CONV_H
#define EDGERUN_OPS_Q_CONV_H
#include "edgerun/core.h"

/* Requantization rounding of 8-bit kernels (LiteRT's x86 builtin kernels differ per path):
 * TFLITE: MultiplyByQuantizedMultiplier (reference kernels; double rounding, see er_rounding_mode);
 * UPWARD: rounding doubling high multiply then a right shift rounding ties upward (ruy GEMM, custom GEMV);
 * UPWARD8: UPWARD for the first 8*floor(C/8) output channels, TFLITE for the rest (optimized Quantize stage
 * of depthwise and transpose convolutions, vectorised 8 channels at a time). */
#define ER_QC_RND_TFLITE 0
#define ER_QC_RND_UPWARD 1
#define ER_QC_RND_UPWARD8 2
/* int16 outputs: TFLITE = TFLite's 64-bit MultiplyByQuantizedMultiplier (multiplier reduced to 16 bits);
 * UPWARD = int32 accumulator as in the 8-bit case; SINGLE64 = int64 accumulator times the full multiplier,
 * one rounding (half up). */
#define ER_QC_RND_SINGLE64 3

/* Hybrid input quantization */
#define ER_HQ_SYMMETRIC 0
#define ER_HQ_ASYMMETRIC 1

typedef struct er_qconv_params {
  int32_t stride_h;
  int32_t stride_w;
  int32_t dil_h;
  int32_t dil_w;
  int32_t pad_top;
  int32_t pad_left;
  int32_t groups;           /* CONV_2D */
  int32_t depth_multiplier; /* DEPTHWISE_CONV_2D */
  int32_t input_offset;     /* -input zero point */
  int32_t weight_offset;    /* -weight zero point (uint8 weights; 0 for int8) */
  int32_t output_offset;    /* output zero point */
  int32_t out_min;          /* quantized activation clamp */
  int32_t out_max;
  const int32_t *multipliers; /* one per output channel */
  const int32_t *shifts;
  int32_t rounding;         /* ER_QC_RND_* */
  /* hybrid */
  int32_t hq_mode;          /* ER_HQ_SYMMETRIC / ER_HQ_ASYMMETRIC */
  const float *channel_scales; /* weight scale per output channel */
  float f_min;
  float f_max;
  /* optimized 8-bit kernels (*_conv2d_gemm, *_fc_gemm, *_dwconv2d_vec, s8_*_madd; kernels/opt/q_conv.c): constant
   * weights packed at prepare by runtime/ops/conv_int.py. OCp = OC rounded up to 8, Kp = K rounded up to even,
   * T = KH * KW taps, Cp = C rounded up to 8, all zero padded.
   * *_gemm, *_vec: int16 offset form (w + weight_offset). GEMM: panels [OCp / 8][Kp / 2][8][2]; depthwise
   * (multiplier 1): tap pairs [ceil(T / 2)][Cp][2].
   * s8_conv2d_madd, s8_fc_madd, s8_dwconv2d_madd (int8, the "madd" layout of x86 plans): one blob of int32 words then int8 weights: a header of 8 words ([0] = 1 when
   * the one-step requantization constants are valid), the folded bias [OCp] (bias + input_offset * the sum of
   * the channel's weights, int32 wrapping), the requantization constants [OCp / 8][40] (kernels/opt/ukernels.h),
   * then int8 weights in the same panels / tap pairs as uint8's. */
  const int16_t *w_packed;
  int32_t k_padded;
  int32_t oc_padded;
} er_qconv_params;

typedef struct er_qbmm_params {
  int32_t adj_x;
  int32_t adj_y;
  int64_t batches;
  int32_t m;
  int32_t n;
  int32_t k;
  const int64_t *a_offsets; /* element offset of each batch's matrix in the (broadcast) inputs */
  const int64_t *b_offsets;
  int32_t a_offset;         /* -lhs zero point */
  int32_t b_offset;         /* -rhs zero point */
  int32_t output_offset;
  int32_t out_min;
  int32_t out_max;
  int32_t multiplier;
  int32_t shift;
  int32_t rounding;         /* ER_QC_RND_* */
  /* hybrid (float lhs, constant int8 rhs packed at prepare as [batches of rhs][N][K]) */
  int32_t hq_mode;
  const int8_t *b_packed;
  const int32_t *b_row_sums;  /* [batches of rhs][N]: sum over K of the packed rhs */
  const float *b_scales;      /* per column n of the output (per-tensor repeats one scale) */
  int32_t b_per_channel;
} er_qbmm_params;

#endif
