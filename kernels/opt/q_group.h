/* Requantization micro-kernels of the grouped 8-bit CONV_2D (kernels/opt/q_conv_group.c): TFLite's double
 * rounding (er_mul_by_quantized_multiplier in mode 0) on vectors. Not part of the cffi cdef. */
#ifndef EDGERUN_OPT_Q_GROUP_H
#define EDGERUN_OPT_Q_GROUP_H
#include "ukernels.h"

/* rows x channels [0, k) of int32 accumulators (ldacc apart) plus bias[c] (int32 wrapping, bias may be NULL),
 * requantized as er_mul_by_quantized_multiplier(acc, mult[c], shift[c]) in rounding mode 0 (TFLite's double
 * rounding), + out_offset, clamped to [lo, hi], stored as int8 (uint8 when is_u8) at dst[r * lddst + c].
 * k = n rounded down to 8, or 0 when a channel's multiplier or shift is outside what the vector form takes
 * (multiplier INT32_MIN, |shift| > 31); returns k: the caller finishes channels [k, n). */
typedef int64_t (*er_qg_requant_fn)(const int32_t *acc, int64_t rows, int64_t ldacc, int64_t n, const int32_t *bias,
                                    const int32_t *mult, const int32_t *shift, int32_t out_offset, int32_t lo,
                                    int32_t hi, int is_u8, void *dst, int64_t lddst);

/* c[i * ocp + o] = sum over taps t < T and k < icp of x[off[i * T + t] + k] * B[o][t * icp + k] for i < np,
 * o < ocp: the GEMM of er_qc_ukernels.gemm with each row's K = T * icp values read at T offsets (icp even)
 * instead of one gathered row; B packed [ocp / 8][T * icp / 2][8][2] as that GEMM's */
typedef void (*er_qg_igemm_fn)(const int16_t *x, const int64_t *off, int64_t np, int64_t T, int64_t icp,
                               const int16_t *b, int64_t ocp, int32_t *c);

#if ER_HAVE_X86_UKERNELS
void er_qg_igemm_avx2(const int16_t *x, const int64_t *off, int64_t np, int64_t T, int64_t icp, const int16_t *b,
                      int64_t ocp, int32_t *c); /* kernels/x86/q_group_avx2.c */
int64_t er_qg_requant_tflite_avx2(const int32_t *acc, int64_t rows, int64_t ldacc, int64_t n, const int32_t *bias,
                                  const int32_t *mult, const int32_t *shift, int32_t out_offset, int32_t lo,
                                  int32_t hi, int is_u8, void *dst, int64_t lddst); /* kernels/x86/q_group_avx2.c */
#endif

#endif
