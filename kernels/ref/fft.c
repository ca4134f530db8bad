/* Fourier transforms: RFFT2D, as the DFT in double precision (TFLite computes it with Ooura's FFT in
 * double; both round to the same float32 within the last bits). Iterative radix-2 FFT, twiddles computed
 * per stage with cos/sin, no tables. */
#include <math.h>
#include <string.h>

#include "edgerun/edgerun.h"

typedef struct {
  double re, im;
} cplx;

static int is_pow2(int64_t n) { return n >= 1 && (n & (n - 1)) == 0; }

/* In-place forward DFT of n (a power of two) values spaced `stride` apart: X[k] = sum x[j] e^(-2 pi i jk/n). */
static void fft(cplx *a, int64_t n, int64_t stride, cplx *tmp) {
  if (n < 2) return;
  for (int64_t i = 0; i < n; ++i) tmp[i] = a[i * stride];
  for (int64_t i = 1, j = 0; i < n; ++i) { /* bit reversal */
    int64_t bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      const cplx t = tmp[i];
      tmp[i] = tmp[j];
      tmp[j] = t;
    }
  }
  const double pi = 3.14159265358979323846;
  for (int64_t len = 2; len <= n; len <<= 1) {
    for (int64_t k = 0; k < len / 2; ++k) {
      const double ang = -2.0 * pi * (double)k / (double)len;
      const double wr = cos(ang), wi = sin(ang);
      for (int64_t s = 0; s < n; s += len) {
        cplx *u = &tmp[s + k], *v = &tmp[s + k + len / 2];
        const double vr = v->re * wr - v->im * wi, vi = v->re * wi + v->im * wr;
        v->re = u->re - vr;
        v->im = u->im - vi;
        u->re += vr;
        u->im += vi;
      }
    }
  }
  for (int64_t i = 0; i < n; ++i) a[i * stride] = tmp[i];
}

int er_f32_rfft2d(const er_op *op) {
  const er_rfft2d_params *p = (const er_rfft2d_params *)op->params;
  if (op->n_in < 1 || op->n_out < 1 || !op->in[0] || !op->out[0]) return ER_ERR_PARAMS;
  const er_tensor *x = op->in[0];
  er_tensor *y = op->out[0];
  const int64_t H = p->fft_h, W = p->fft_w, WO = W / 2 + 1, ih = p->in_h, iw = p->in_w;
  if (!is_pow2(H) || !is_pow2(W) || ih < 0 || iw < 0 || p->outer < 0 || x->type != ER_FLOAT32 ||
      y->type != ER_COMPLEX64 || x->count != p->outer * ih * iw || y->count != p->outer * H * WO)
    return ER_ERR_SHAPE;
  const int64_t nmax = H > W ? H : W;
  if (op->scratch_bytes < (H * W + nmax) * (int64_t)sizeof(cplx)) return ER_ERR_SHAPE;
  cplx *grid = (cplx *)op->scratch, *tmp = grid + H * W;
  const float *xd = (const float *)x->data;
  float *yd = (float *)y->data;
  for (int64_t o = 0; o < p->outer; ++o) {
    memset(grid, 0, (size_t)(H * W) * sizeof(cplx));
    for (int64_t r = 0; r < (ih < H ? ih : H); ++r)
      for (int64_t c = 0; c < (iw < W ? iw : W); ++c) grid[r * W + c].re = xd[(o * ih + r) * iw + c];
    for (int64_t r = 0; r < H; ++r) fft(grid + r * W, W, 1, tmp);
    for (int64_t c = 0; c < WO; ++c) fft(grid + c, H, W, tmp);
    float *yo = yd + o * H * WO * 2;
    for (int64_t r = 0; r < H; ++r)
      for (int64_t c = 0; c < WO; ++c) {
        yo[(r * WO + c) * 2] = (float)grid[r * W + c].re;
        yo[(r * WO + c) * 2 + 1] = (float)grid[r * W + c].im;
      }
  }
  return ER_OK;
}

/* -- audio: AudioSpectrogram and Mfcc, TensorFlow's audio ops as LiteRT's built-in custom ops compute them -- */

int er_f32_spectrogram(const er_op *op) {
  const er_spectrogram_params *p = (const er_spectrogram_params *)op->params;
  if (op->n_in < 1 || op->n_out < 1 || !op->in[0] || !op->out[0]) return ER_ERR_PARAMS;
  const er_tensor *x = op->in[0];
  er_tensor *y = op->out[0];
  const int64_t n = p->fft_len, win = p->window, bins = n / 2 + 1, S = p->samples, C = p->channels, Fr = p->frames;
  if (!is_pow2(n) || n < 2 || win < 2 || win > n || p->stride < 1 || S < 0 || C < 0 || Fr < 0 ||
      (Fr > 0 && (Fr - 1) * p->stride + win > S) || x->type != ER_FLOAT32 || y->type != ER_FLOAT32 ||
      x->count != S * C || y->count != C * Fr * bins)
    return ER_ERR_SHAPE;
  if (op->scratch_bytes < (4 * n + win) * (int64_t)sizeof(double)) return ER_ERR_SHAPE;
  cplx *buf = (cplx *)op->scratch, *tmp = buf + n; /* the frame, the FFT's temporary, then the window */
  double *window = (double *)(tmp + n);
  const double pi = 3.14159265358979323846;
  for (int64_t i = 0; i < win; ++i) window[i] = 0.5 - 0.5 * cos(2.0 * pi * (double)i / (double)win);
  const float *xd = (const float *)x->data;
  float *yd = (float *)y->data;
  for (int64_t c = 0; c < C; ++c)
    for (int64_t f = 0; f < Fr; ++f) {
      for (int64_t i = 0; i < n; ++i) {
        buf[i].re = i < win ? (double)xd[(f * p->stride + i) * C + c] * window[i] : 0.0;
        buf[i].im = 0.0;
      }
      fft(buf, n, 1, tmp);
      float *out = yd + (c * Fr + f) * bins;
      for (int64_t k = 0; k < bins; ++k) {
        const double m2 = buf[k].re * buf[k].re + buf[k].im * buf[k].im;
        out[k] = (float)(p->magnitude_squared ? m2 : sqrt(m2));
      }
    }
  return ER_OK;
}

static double freq_to_mel(double f) { return 1127.0 * log1p(f / 700.0); }

int er_f32_mfcc(const er_op *op) {
  const er_mfcc_params *p = (const er_mfcc_params *)op->params;
  if (op->n_in < 2 || op->n_out < 1 || !op->in[0] || !op->in[1] || !op->out[0]) return ER_ERR_PARAMS;
  const er_tensor *spec = op->in[0], *rate_t = op->in[1];
  er_tensor *y = op->out[0];
  const int64_t bins = p->bins, nch = p->filterbank_channels, ndct = p->dct_count;
  if (bins < 2 || nch < 1 || ndct < 0 || ndct > nch || p->outer < 0 || spec->type != ER_FLOAT32 || rate_t->type != ER_INT32 ||
      rate_t->count < 1 || spec->count != p->outer * bins || y->count != p->outer * ndct)
    return ER_ERR_SHAPE;
  if (op->scratch_bytes < (2 * bins + 2 * nch + 1) * (int64_t)sizeof(double)) return ER_ERR_SHAPE;
  double *center = (double *)op->scratch, *weights = center + nch + 1, *mapper = weights + bins;
  double *work = mapper + bins;
  const double rate = (double)*(const int32_t *)rate_t->data;
  const double lower = p->lower_frequency_limit, upper = p->upper_frequency_limit;
  /* filterbank (TensorFlow's MfccMelFilterbank::Initialize) */
  const double mel_low = freq_to_mel(lower), mel_hi = freq_to_mel(upper);
  const double spacing = (mel_hi - mel_low) / (double)(nch + 1);
  for (int64_t i = 0; i < nch + 1; ++i) center[i] = mel_low + spacing * (double)(i + 1);
  const double hz_per_bin = 0.5 * rate / (double)(bins - 1);
  const double start_d = 1.5 + lower / hz_per_bin, end_d = upper / hz_per_bin;
  if (!(start_d < 2147483647.0) || !(end_d < 2147483647.0) || !(start_d > -2147483648.0) ||
      !(end_d > -2147483648.0))
    return ER_ERR_ARITH;
  const int64_t start = (int64_t)(int32_t)start_d, end = (int64_t)(int32_t)end_d;
  int64_t channel = 0;
  for (int64_t i = 0; i < bins; ++i) {
    if (i < start || i > end) {
      mapper[i] = -2;
      weights[i] = 0.0;
      continue;
    }
    const double melf = freq_to_mel((double)i * hz_per_bin);
    while (channel < nch && center[channel] < melf) channel++;
    mapper[i] = (double)(channel - 1);
    weights[i] = channel - 1 >= 0 ? (center[channel] - melf) / (center[channel] - center[channel - 1])
                                  : (center[0] - melf) / (center[0] - mel_low);
  }
  const double pi = 3.14159265358979323846, fnorm = sqrt(2.0 / (double)nch), arg = pi / (double)nch;
  const float *sd = (const float *)spec->data;
  float *yd = (float *)y->data;
  for (int64_t o = 0; o < p->outer; ++o) {
    const float *s = sd + o * bins;
    for (int64_t c = 0; c < nch; ++c) work[c] = 0.0;
    for (int64_t i = start > 0 ? start : 0; i <= end && i < bins; ++i) {
      const double v = sqrt((double)s[i]), weighted = v * weights[i];
      int64_t ch = (int64_t)mapper[i];
      if (ch >= 0) work[ch] += weighted;
      ch++;
      if (ch < nch) work[ch] += v - weighted;
    }
    for (int64_t c = 0; c < nch; ++c) work[c] = log(work[c] < 1e-12 ? 1e-12 : work[c]);
    for (int64_t k = 0; k < ndct; ++k) {
      double sum = 0.0;
      for (int64_t c = 0; c < nch; ++c) sum += fnorm * cos((double)k * arg * ((double)c + 0.5)) * work[c];
      yd[o * ndct + k] = (float)sum;
    }
  }
  return ER_OK;
}
