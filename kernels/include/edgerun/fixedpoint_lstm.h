/* Hybrid (dynamic-range) arithmetic of TFLite's recurrent kernels, shared by kernels/ref/lstm.c and
 * implemented in kernels/ref/lstm_hybrid.c. Not part of the cffi cdef.
 *
 * A float row is quantized to int8 on the fly, per batch row:
 *   symmetric:  scale = max|x| / 127, q = round(x / scale) in [-127, 127], zero point 0;
 *   asymmetric: TFLite's nudged zero point over [min(x, 0), max(x, 0)], q in [-128, 127];
 *   an all-zero row gets scale 1, zero point 0.
 * A product with int8 weights is the exact integer dot of (q - zero point) with the weight row, converted
 * to float and multiplied by (row scale * weight scale) — the weight scale of the tensor, or of the weight
 * row when the weights are quantized per channel (axis 0) — then added to the float accumulator. */
#ifndef EDGERUN_FIXEDPOINT_LSTM_H
#define EDGERUN_FIXEDPOINT_LSTM_H

#include <stdint.h>

#include "edgerun/core.h"

void er_rec_quantize_row(const float *x, int64_t n, int asymmetric, int8_t *q, float *scale, int32_t *zero_point);

/* acc[b * acc_stride + r] += float(dot(q[b] - zp[b], W[r])) * (sf[b] * weight_scale(r)), b < n_batch.
 * W is the int8 tensor w ([rows, cols]); q holds n_batch contiguous rows of cols values. */
void er_rec_matvec_s8(const er_tensor *w, int64_t rows, int64_t cols, const int8_t *q, const float *sf,
                      const int32_t *zp, int64_t n_batch, float *acc, int64_t acc_stride);

/* The scale of element (or row) r of a quantized tensor. */
static inline float er_rec_weight_scale(const er_tensor *w, int64_t r) {
  return w->n_channels > 1 ? w->scales[r] : w->scale;
}

#endif
