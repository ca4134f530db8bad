/* Prepare-time weight packing for the optimized convolution kernels (kernels/opt/pack.c), called by the
 * handlers in runtime/ops/conv.py and conv_int.py at allocate_tensors(); never on the hot path. Each writes
 * the layout its kernel documents (gemm_f32_packed.h, q_conv.c, q_conv_dot.c, ukernels.h), byte for byte
 * what the numpy forms in tests/runtime/test_pack.py write. Sizes are checked by the caller (the output
 * buffers are allocated in Python with the padded sizes; K and the tap count below 2^24, so that sums of int8
 * weights are exact in int32: runtime/pack.py checks). cdef-friendly: declarations only. */
#ifndef EDGERUN_OPS_PACK_H
#define EDGERUN_OPS_PACK_H
#include "edgerun/core.h"

/* float weights [N, K] (N = groups * Ng) and bias [N] -> per group, Ng8 = Ng rounded up to 8 columns in
 * panels of 16 (the last 8 wide when Ng8 is not a multiple of 16) stored [K][16]; bias padded to Ng8 per
 * group. out_w: groups * Ng8 * K floats, out_b: groups * Ng8. */
void er_pack_f32_panels(const float *w, const float *bias, int64_t n, int64_t k, int64_t groups, float *out_w,
                        float *out_b);

/* int8 weights [N, K] -> the "dot" layout: Np int32 corrections input_offset * sum_k w[n][k] (wrapping to
 * int32), then int8 panels [Np / 8][K4 / 4][8][4] (Np = N up to 8, K4 = K up to 4, zero padded), then the Np
 * weight sums sum_k w[n][k] (0 past N). out: 2 * Np + Np * K4 / 4 int32 words. */
void er_pack_s8_dot(const int8_t *w, int64_t n, int64_t k, int64_t input_offset, int32_t *out);

/* int8 weights [N, K] -> panels [Np / 8][Kp / 2][8][2] int8 (Kp = K up to 2, zero padded), and the row sums
 * sum_k w[n][k] (sums: N int32). */
void er_pack_s8_pairs(const int8_t *w, int64_t n, int64_t k, int8_t *out, int32_t *sums);

/* int8 depthwise weights [T taps][C] -> tap pairs [ceil(T / 2)][Cp][2] int8 (Cp >= C, zero padded), and the
 * channel sums sum_t w[t][c] (sums: C int32). */
void er_pack_s8_dw_pairs(const int8_t *w, int64_t taps, int64_t c, int64_t cp, int8_t *out, int32_t *sums);

/* Words of the "madd" blob head (ER_QM_HEADER_WORDS, ER_QM_RQ_WORDS of kernels/opt/ukernels.h) */
#define ER_PACK_QM_HEADER_WORDS 8
#define ER_PACK_QM_RQ_WORDS 40

/* The "madd" blob head (ukernels.h): ER_QM_HEADER_WORDS header words ([0] = 1 when the one-step constants
 * are valid), the folded bias [Cp] (bias[c] + input_offset * sums[c], wrapping to int32; bias may be NULL),
 * then [Cp / 8][ER_QM_RQ_WORDS] requantization constants (zeros when a channel has shift > -1 or the
 * multiplier INT32_MIN). mult/shift/sums/bias: N entries; Cp a multiple of 8, >= N.
 * out: ER_QM_HEADER_WORDS + Cp + Cp / 8 * ER_QM_RQ_WORDS int32 words. */
void er_pack_qm_blob(const int32_t *mult, const int32_t *shift, const int32_t *sums, const int32_t *bias,
                     int64_t n, int64_t cp, int64_t input_offset, int32_t *out);

/* TFLite's QuantizeMultiplier of each real multiplier (finite, >= 0; the caller checks): q in [2^30, 2^31)
 * and shift with m ~= q * 2^(shift - 31), half away from zero; 0, 0 for 0 and for m < 2^-32. */
void er_quantize_multipliers(const double *m, int64_t n, int32_t *q, int32_t *shift);
#endif
