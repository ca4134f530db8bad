/* Params of the fft kernel family (kernels/ref/fft.c): RFFT2D. cdef-friendly: structs and integer #defines
 * only. */
#ifndef EDGERUN_OPS_FFT_H
#define EDGERUN_OPS_FFT_H
#include "edgerun/core.h"

/* f32_rfft2d: x [outer, in_h, in_w] float32 -> y [outer, fft_h, fft_w / 2 + 1] complex64, the 2-D DFT of x
 * cropped or zero-padded to [fft_h, fft_w] (powers of two), computed in double. Scratch: fft_h * fft_w
 * complex doubles (16 bytes each) + max(fft_h, fft_w) complex doubles. */
typedef struct er_rfft2d_params {
  int64_t outer;
  int32_t in_h;
  int32_t in_w;
  int32_t fft_h;
  int32_t fft_w;
} er_rfft2d_params;

#endif
