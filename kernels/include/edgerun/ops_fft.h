/* Params of the fft kernel family (kernels/ref/fft.c): RFFT2D and the audio custom ops AudioSpectrogram and
 * Mfcc. cdef-friendly: structs and integer #defines only. */
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

/* f32_spectrogram (AudioSpectrogram): x [samples, channels] -> y [channels, frames, fft_len / 2 + 1], each frame
 * `window` samples every `stride`, times a periodic Hann window, zero-padded to fft_len (the next power of two),
 * |DFT|^2 (or |DFT| unless magnitude_squared), in double. Scratch: (4 * fft_len + window) doubles. */
typedef struct er_spectrogram_params {
  int64_t samples;
  int64_t channels;
  int64_t frames;
  int32_t window;
  int32_t stride;
  int32_t fft_len;
  int32_t magnitude_squared;
} er_spectrogram_params;

/* f32_mfcc (Mfcc): spectrogram [outer, bins] (squared magnitudes) and sample_rate (int32 scalar) -> y [outer,
 * dct_count]: HTK-style mel filterbank on sqrt of the bins, log (floor 1e-12), DCT-II scaled sqrt(2 / channels),
 * in double as TensorFlow's Mfcc. Scratch: (2 * bins + 2 * filterbank_channels + 1) doubles. */
typedef struct er_mfcc_params {
  int64_t outer;
  int64_t bins;
  float lower_frequency_limit;
  float upper_frequency_limit;
  int32_t filterbank_channels;
  int32_t dct_count;
} er_mfcc_params;

#endif
