/* Hybrid arithmetic of the recurrent kernels (kernels/ref/lstm.c): on-the-fly int8 quantization of float
 * rows and int8 weight products, as TFLite's hybrid LSTM/RNN kernels compute them (see
 * edgerun/fixedpoint_lstm.h for the formulas). */
#include <math.h>
#include <string.h>

#include "edgerun/edgerun.h"
#include "edgerun/fixedpoint_lstm.h"

static int32_t clamp_i32(int32_t v, int32_t lo, int32_t hi) { return v < lo ? lo : (v > hi ? hi : v); }

/* float -> int32 the way C++'s static_cast does for in-range values; out-of-range values (inf/nan inputs)
 * saturate instead of being undefined. */
static int32_t to_i32(float v) {
  if (!(v > -2147483648.0f)) return v != v ? 0 : INT32_MIN;
  if (v >= 2147483648.0f) return INT32_MAX;
  return (int32_t)v;
}

void er_rec_quantize_row(const float *x, int64_t n, int asymmetric, int8_t *q, float *scale, int32_t *zero_point) {
  float lo = n > 0 ? x[0] : 0.0f, hi = lo;
  for (int64_t i = 1; i < n; ++i) {
    if (x[i] < lo) lo = x[i];
    if (x[i] > hi) hi = x[i];
  }
  if (!asymmetric) {
    const float range = fabsf(lo) > fabsf(hi) ? fabsf(lo) : fabsf(hi);
    *zero_point = 0;
    if (range == 0.0f) {
      memset(q, 0, (size_t)n);
      *scale = 1.0f;
      return;
    }
    *scale = range / 127.0f;
    const float inv = 127.0f / range;
    for (int64_t i = 0; i < n; ++i) q[i] = (int8_t)clamp_i32(to_i32(roundf(x[i] * inv)), -127, 127);
    return;
  }
  const double rmin = (double)(lo < 0.0f ? lo : 0.0f), rmax = (double)(hi > 0.0f ? hi : 0.0f);
  if (rmin == rmax) {
    memset(q, 0, (size_t)n);
    *scale = 1.0f;
    *zero_point = 0;
    return;
  }
  const double qmin = -128.0, qmax = 127.0;
  const double s = (rmax - rmin) / (qmax - qmin);
  /* the zero point from whichever end adds the smaller terms, nudged to an integer in [qmin, qmax] */
  const double from_min = qmin - rmin / s, from_max = qmax - rmax / s;
  const double err_min = fabs(qmin) + fabs(rmin / s), err_max = fabs(qmax) + fabs(rmax / s);
  const double zp = err_min < err_max ? from_min : from_max;
  int32_t z;
  if (zp <= qmin)
    z = -128;
  else if (zp >= qmax)
    z = 127;
  else
    z = (int32_t)round(zp);
  *scale = (float)s;
  *zero_point = z;
  const float inv = 1.0f / *scale;
  for (int64_t i = 0; i < n; ++i) q[i] = (int8_t)clamp_i32(to_i32(roundf((float)z + x[i] * inv)), -128, 127);
}

void er_rec_matvec_s8(const er_tensor *w, int64_t rows, int64_t cols, const int8_t *q, const float *sf,
                      const int32_t *zp, int64_t n_batch, float *acc, int64_t acc_stride) {
  const int8_t *wd = (const int8_t *)w->data;
  for (int64_t b = 0; b < n_batch; ++b) {
    const int8_t *qb = q + b * cols;
    const int32_t z = zp[b];
    float *ab = acc + b * acc_stride;
    for (int64_t r = 0; r < rows; ++r) {
      const int8_t *wr = wd + r * cols;
      int64_t dot = 0;
      for (int64_t k = 0; k < cols; ++k) dot += ((int64_t)qb[k] - z) * wr[k];
      /* TFLite accumulates in int32 (wrapping); the same integer for any realistic row length */
      const int32_t d32 = (int32_t)(uint32_t)(uint64_t)dot;
      ab[r] += (float)d32 * (sf[b] * er_rec_weight_scale(w, r));
    }
  }
}
