/* AVX2 form of kernels/ref/quantize.c's QUANTIZE (float32 -> int8/uint8/int16, per tensor) and DEQUANTIZE
 * (int8/uint8/int16 -> float32, per tensor), 8 values per step; other types, per-channel parameters and the
 * tails go to the reference's formulas. Identical to the reference, value for value:
 *   quantize    round_even = 1 (LiteRT's rule): x * (1 / scale) by vmulps rounded half to even
 *               (vroundps) over the blocks of 8, the last n % 8 by the reference; round_even = 0: x / scale by
 *               vdivps (the same correctly rounded float division), rounded half away from zero (trunc, then one
 *               more away from zero when the exact remainder |v - trunc(v)| is at least 0.5);
 *               NaN and -inf saturate to qmin, +inf to qmax (vmaxps returns its second operand on NaN), then
 *               + zero_point and the clamp in int32;
 *   dequantize  int8/uint8: q * scale + (-zero_point) * scale as two float operations (no FMA) on the
 *               blocks of 8 counted from the start, the tail in double as the reference; int16: scale * (q - zp)
 *               in double (vmulpd) rounded once to float (vcvtpd2ps).
 * Per-function target attributes; on other targets this file compiles to nothing. */
#include <math.h>

#include "edgerun/edgerun.h"
#include "../opt/ukernels.h"

#if ER_HAVE_X86_UKERNELS
#include "fixedpoint_avx2.h"

/* 8 floats quantized to int32 in [qmin, qmax] */
ER_ATTR_AVX2 static inline __m256i qz8(__m256 x, __m256 scale, __m256 inv, int even, __m256i zp, __m256i qmin,
                                       __m256i qmax) {
  __m256 r;
  if (even) { /* LiteRT's blocks of 8: x * (1 / scale), half to even */
    r = _mm256_round_ps(_mm256_mul_ps(x, inv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  } else {
    const __m256 v = _mm256_div_ps(x, scale);
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 frac = _mm256_andnot_ps(sign, _mm256_sub_ps(v, t)); /* exact */
    const __m256 up = _mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ);
    const __m256 one = _mm256_or_ps(_mm256_and_ps(v, sign), _mm256_set1_ps(1.0f)); /* +-1 with v's sign */
    r = _mm256_add_ps(t, _mm256_and_ps(up, one));
  }
  /* NaN -> the low bound (vmaxps gives its second operand when one is NaN); +-inf and large values to bounds
   * well past any 16-bit range plus a zero point, so the int32 clamp below decides */
  r = _mm256_min_ps(_mm256_max_ps(r, _mm256_set1_ps(-1.0e7f)), _mm256_set1_ps(1.0e7f));
  __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(r), zp);
  return _mm256_min_epi32(_mm256_max_epi32(q, qmin), qmax);
}

ER_ATTR_AVX2 int er_any_quantize__avx2(const er_op *op) {
  const er_quant_params *p = (const er_quant_params *)op->params;
  const er_tensor *x = op->in[0];
  er_tensor *y = op->out[0];
  const int64_t n = x->count;
  const int type = y->type;
  if (p->channels > 0 || x->type != ER_FLOAT32 || y->count != n ||
      (type != ER_INT8 && type != ER_UINT8 && type != ER_INT16) || p->zero_point < -65536 || p->zero_point > 65536)
    return er_any_quantize(op);
  const float *xd = (const float *)x->data;
  const float fs = p->fscale;
  const int even = p->round_even != 0;
  /* the clamp bounds limited to the output type (the reference's store truncates; qmin/qmax never exceed it) */
  const int32_t tmin = type == ER_INT8 ? -128 : type == ER_UINT8 ? 0 : -32768;
  const int32_t tmax = type == ER_INT8 ? 127 : type == ER_UINT8 ? 255 : 32767;
  if (p->qmin < tmin || p->qmax > tmax || p->qmin > p->qmax) return er_any_quantize(op);
  const float finv = 1.0f / fs;
  const __m256 scale = _mm256_set1_ps(fs), inv = _mm256_set1_ps(finv);
  /* vector blocks only over the values LiteRT computes in blocks of 8 (the last n % 8 take the tail rule) */
  const int64_t nv = even ? n - n % 8 : n;
  const __m256i zp = _mm256_set1_epi32(p->zero_point), qmin = _mm256_set1_epi32(p->qmin),
                qmax = _mm256_set1_epi32(p->qmax);
  int64_t i = 0;
  if (type == ER_INT16) {
    int16_t *yd = (int16_t *)y->data;
    for (; i + 8 <= nv; i += 8) {
      const __m256i q = qz8(_mm256_loadu_ps(xd + i), scale, inv, even, zp, qmin, qmax);
      _mm_storeu_si128((__m128i *)(yd + i),
                       _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1)));
    }
    for (; i < n; ++i) yd[i] = (int16_t)er_quantize_value(xd, i, n, fs, finv, p->zero_point, p->qmin, p->qmax, even);
  } else {
    uint8_t *yd = (uint8_t *)y->data; /* int8 values stored as their bytes */
    for (; i + 16 <= nv; i += 16) {
      const __m256i a = qz8(_mm256_loadu_ps(xd + i), scale, inv, even, zp, qmin, qmax);
      const __m256i b = qz8(_mm256_loadu_ps(xd + i + 8), scale, inv, even, zp, qmin, qmax);
      const __m128i a16 = _mm_packs_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
      const __m128i b16 = _mm_packs_epi32(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1));
      const __m128i v = type == ER_INT8 ? _mm_packs_epi16(a16, b16) : _mm_packus_epi16(a16, b16);
      _mm_storeu_si128((__m128i *)(yd + i), v);
    }
    for (; i < n; ++i) {
      const int32_t q = er_quantize_value(xd, i, n, fs, finv, p->zero_point, p->qmin, p->qmax, even);
      if (type == ER_INT8)
        ((int8_t *)yd)[i] = (int8_t)q;
      else
        yd[i] = (uint8_t)q;
    }
  }
  return ER_OK;
}

/* 8 int8/uint8/int16 values widened to int32 */
ER_ATTR_AVX2 static inline __m256i dq_load8(const void *base, int64_t i, int type) {
  if (type == ER_INT16) return _mm256_cvtepi16_epi32(_mm_loadu_si128((const __m128i *)((const int16_t *)base + i)));
  const __m128i b = _mm_loadl_epi64((const __m128i *)((const uint8_t *)base + i));
  return type == ER_INT8 ? _mm256_cvtepi8_epi32(b) : _mm256_cvtepu8_epi32(b);
}

ER_ATTR_AVX2 int er_any_dequantize__avx2(const er_op *op) {
  const er_quant_params *p = (const er_quant_params *)op->params;
  const er_tensor *x = op->in[0];
  er_tensor *y = op->out[0];
  const int64_t n = x->count;
  const int type = x->type;
  if (p->channels > 0 || y->type != ER_FLOAT32 || y->count != n ||
      (type != ER_INT8 && type != ER_UINT8 && type != ER_INT16) || p->zero_point < -65536 || p->zero_point > 65536)
    return er_any_dequantize(op);
  float *yd = (float *)y->data;
  const int64_t vec = n - n % 8;
  if (type == ER_INT16) {
    const __m256d s = _mm256_set1_pd(p->scale);
    const __m256i zp = _mm256_set1_epi32(p->zero_point);
    for (int64_t i = 0; i < vec; i += 8) {
      const __m256i d = _mm256_sub_epi32(dq_load8(x->data, i, type), zp); /* |q - zp| < 2^31 for int16 */
      const __m128 lo = _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_cvtepi32_pd(_mm256_castsi256_si128(d)), s));
      const __m128 hi = _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_cvtepi32_pd(_mm256_extracti128_si256(d, 1)), s));
      _mm256_storeu_ps(yd + i, _mm256_set_m128(hi, lo));
    }
  } else {
    const float fs = (float)p->scale, fbias = (float)(-p->zero_point) * fs;
    const __m256 s = _mm256_set1_ps(fs), bias = _mm256_set1_ps(fbias);
    for (int64_t i = 0; i < vec; i += 8) {
      const __m256 q = _mm256_cvtepi32_ps(dq_load8(x->data, i, type));
      _mm256_storeu_ps(yd + i, _mm256_add_ps(_mm256_mul_ps(q, s), bias)); /* two roundings, as the reference */
    }
  }
  for (int64_t i = vec; i < n; ++i) {
    const int64_t q = type == ER_INT8 ? ((const int8_t *)x->data)[i]
                      : type == ER_UINT8 ? ((const uint8_t *)x->data)[i]
                                         : ((const int16_t *)x->data)[i];
    yd[i] = (float)(p->scale * (double)(q - p->zero_point));
  }
  return ER_OK;
}
#endif
