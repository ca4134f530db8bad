/* AVX2 form of kernels/ref/q_pool.c for int8 and uint8 (int16 goes to the reference kernel): 32 channels per
 * step over the in-bounds window, the remaining channels by the reference's loop. MAX_POOL_2D by vpmaxsb/vpmaxub;
 * AVERAGE_POOL_2D sums in 16-bit lanes (windows up to 256 taps; larger ones in 32-bit lanes) and divides with
 * the reference's rounding, half away from zero: sign(s) * floor((|s| + count / 2) / count), the quotient
 * estimated in float (it is at most 256, so the estimate is off by at most one) and corrected by one step.
 * Bit-exact with the reference, same status codes. Per-function target attributes; on other targets this file
 * compiles to nothing. */
#include "edgerun/edgerun.h"
#include "../opt/ukernels.h"

#if ER_HAVE_X86_UKERNELS
#include "fixedpoint_avx2.h"

#define QP_MAX 0
#define QP_AVG 1

/* the reference's rounding of 8 window sums */
ER_ATTR_AVX2 static inline __m256i qp_avg(__m256i s, __m256i d, __m256 inv, __m256i half) {
  const __m256i u = _mm256_add_epi32(_mm256_abs_epi32(s), half);
  __m256i q = _mm256_cvttps_epi32(_mm256_mul_ps(_mm256_cvtepi32_ps(u), inv));
  const __m256i r = _mm256_sub_epi32(u, _mm256_mullo_epi32(q, d));
  q = _mm256_sub_epi32(q, _mm256_cmpgt_epi32(r, _mm256_sub_epi32(d, _mm256_set1_epi32(1)))); /* r >= d: one more */
  q = _mm256_add_epi32(q, _mm256_cmpgt_epi32(_mm256_setzero_si256(), r));                   /* r < 0: one less */
  return _mm256_sign_epi32(q, s); /* s = 0 gives 0, as (0 - count / 2) / count does */
}

/* 16 8-bit lanes (the low 128 bits of v) to two int32 vectors */
ER_ATTR_AVX2 static inline void qp_widen8(__m128i v, int is_u8, __m256i *a, __m256i *b) {
  const __m128i h = _mm_srli_si128(v, 8);
  *a = is_u8 ? _mm256_cvtepu8_epi32(v) : _mm256_cvtepi8_epi32(v);
  *b = is_u8 ? _mm256_cvtepu8_epi32(h) : _mm256_cvtepi8_epi32(h);
}

/* 16 16-bit lanes to two int32 vectors (unsigned for uint8 sums) */
ER_ATTR_AVX2 static inline void qp_widen16(__m256i v, int is_u8, __m256i *a, __m256i *b) {
  const __m128i l = _mm256_castsi256_si128(v), h = _mm256_extracti128_si256(v, 1);
  *a = is_u8 ? _mm256_cvtepu16_epi32(l) : _mm256_cvtepi16_epi32(l);
  *b = is_u8 ? _mm256_cvtepu16_epi32(h) : _mm256_cvtepi16_epi32(h);
}

/* one output pixel: channels [0, C) over rows [hs, he) x columns [ws, we) of the image xi (W * C per row) */
ER_ATTR_AVX2 static void qp_pixel(int kind, int is_u8, const uint8_t *xi, int64_t W, int64_t C, int64_t hs,
                                  int64_t he, int64_t ws, int64_t we, int32_t lo, int32_t hi, uint8_t *yo) {
  const int32_t count = (int32_t)((he - hs) * (we - ws));
  const __m256 inv = _mm256_set1_ps(1.0f / (float)count);
  const __m256i d = _mm256_set1_epi32(count), half = _mm256_set1_epi32(count / 2);
  const __m256i vlo = _mm256_set1_epi32(lo), vhi = _mm256_set1_epi32(hi), byte = _mm256_set1_epi32(0xFF);
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  const int64_t nh = he - hs, nw = we - ws, row_step = W * C - nw * C;
  const uint8_t *x0 = xi + (hs * W + ws) * C;
#define QP_TAPS(P, ...)                                       \
  do {                                                        \
    const uint8_t *P = x0 + c;                                \
    for (int64_t ih = 0; ih < nh; ++ih, P += row_step)        \
      for (int64_t iw = 0; iw < nw; ++iw, P += C) __VA_ARGS__; \
  } while (0)
  int64_t c = 0;
  for (; c + 32 <= C; c += 32) {
    __m256i s[4];
    if (kind == QP_MAX) {
      __m256i m = _mm256_set1_epi8(is_u8 ? 0 : -128);
      if (is_u8)
        QP_TAPS(t, m = _mm256_max_epu8(m, _mm256_loadu_si256((const __m256i *)t)));
      else
        QP_TAPS(t, m = _mm256_max_epi8(m, _mm256_loadu_si256((const __m256i *)t)));
      qp_widen8(_mm256_castsi256_si128(m), is_u8, &s[0], &s[1]);
      qp_widen8(_mm256_extracti128_si256(m, 1), is_u8, &s[2], &s[3]);
    } else if (count <= 256) { /* 16-bit sums: |s| <= 128 * 256; uint8 sums <= 255 * 256 (read back unsigned) */
      __m256i a0 = _mm256_setzero_si256(), a1 = a0;
      QP_TAPS(t, {
        const __m128i l = _mm_loadu_si128((const __m128i *)t), h = _mm_loadu_si128((const __m128i *)(t + 16));
        a0 = _mm256_add_epi16(a0, is_u8 ? _mm256_cvtepu8_epi16(l) : _mm256_cvtepi8_epi16(l));
        a1 = _mm256_add_epi16(a1, is_u8 ? _mm256_cvtepu8_epi16(h) : _mm256_cvtepi8_epi16(h));
      });
      qp_widen16(a0, is_u8, &s[0], &s[1]);
      qp_widen16(a1, is_u8, &s[2], &s[3]);
    } else {
      s[0] = s[1] = s[2] = s[3] = _mm256_setzero_si256();
      QP_TAPS(t, {
        for (int k = 0; k < 4; ++k) {
          const __m128i v = _mm_loadl_epi64((const __m128i *)(t + 8 * k));
          s[k] = _mm256_add_epi32(s[k], is_u8 ? _mm256_cvtepu8_epi32(v) : _mm256_cvtepi8_epi32(v));
        }
      });
    }
    for (int q = 0; q < 4; ++q) {
      if (kind == QP_AVG) s[q] = qp_avg(s[q], d, inv, half);
      /* clamped, then the low byte (the reference's cast): the unsigned packs are exact on 0..255 */
      s[q] = _mm256_and_si256(_mm256_min_epi32(_mm256_max_epi32(s[q], vlo), vhi), byte);
    }
    const __m256i p = _mm256_packus_epi16(_mm256_packus_epi32(s[0], s[1]), _mm256_packus_epi32(s[2], s[3]));
    _mm256_storeu_si256((__m256i *)(yo + c), _mm256_permutevar8x32_epi32(p, order));
  }
  for (; c < C; ++c) { /* the reference's loop */
    int32_t acc = kind == QP_MAX ? INT32_MIN : 0;
    for (int64_t ih = hs; ih < he; ++ih)
      for (int64_t iw = ws; iw < we; ++iw) {
        const uint8_t b = xi[(ih * W + iw) * C + c];
        const int32_t v = is_u8 ? (int32_t)b : (int32_t)(int8_t)b;
        if (kind == QP_MAX)
          acc = v > acc ? v : acc;
        else
          acc += v;
      }
    if (kind == QP_AVG) acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
    yo[c] = (uint8_t)er_clamp_i32(acc, lo, hi);
  }
#undef QP_TAPS
}

static int qp_pool(const er_op *op, int kind) {
  const er_pool_params *p = (const er_pool_params *)op->params;
  const er_tensor *x = op->in[0];
  er_tensor *y = op->out[0];
  if (x->type != ER_INT8 && x->type != ER_UINT8) return kind == QP_MAX ? er_q_maxpool2d(op) : er_q_avgpool2d(op);
  if (x->ndim != 4 || y->ndim != 4) return ER_ERR_SHAPE;
  const int64_t B = x->dims[0], H = x->dims[1], W = x->dims[2], C = x->dims[3];
  const int64_t OH = y->dims[1], OW = y->dims[2];
  if (y->dims[0] != B || y->dims[3] != C || x->type != y->type) return ER_ERR_SHAPE;
  if ((int64_t)p->filter_h * p->filter_w >= ((int64_t)1 << 16)) return ER_ERR_UNSUPPORTED;
  const int is_u8 = x->type == ER_UINT8;
  const uint8_t *xd = (const uint8_t *)x->data;
  uint8_t *yd = (uint8_t *)y->data;
  for (int64_t n = 0; n < B; ++n)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        const int64_t h0 = oh * p->stride_h - p->pad_top, w0 = ow * p->stride_w - p->pad_left;
        const int64_t hs = h0 < 0 ? 0 : h0, ws = w0 < 0 ? 0 : w0;
        const int64_t he = h0 + p->filter_h > H ? H : h0 + p->filter_h;
        const int64_t we = w0 + p->filter_w > W ? W : w0 + p->filter_w;
        if (he <= hs || we <= ws) return ER_ERR_SHAPE;
        qp_pixel(kind, is_u8, xd + n * H * W * C, W, C, hs, he, ws, we, p->out_min, p->out_max,
                 yd + ((n * OH + oh) * OW + ow) * C);
      }
  return ER_OK;
}

int er_q_maxpool2d__avx2(const er_op *op) { return qp_pool(op, QP_MAX); }
int er_q_avgpool2d__avx2(const er_op *op) { return qp_pool(op, QP_AVG); }
#else
typedef int er_q_pool_avx2_unused;
#endif
