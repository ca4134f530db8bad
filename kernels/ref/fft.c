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
