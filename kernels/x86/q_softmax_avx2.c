/* AVX2 form of kernels/ref/q_softmax.c's int8/uint8 SOFTMAX (other types and LOG_SOFTMAX go to the reference
 * kernel), bit-exact: the same 256-entry table (built by the reference's rule: expf of -input_scale * beta * d),
 * the row maximum by vpmaxsb/vpmaxub lanes, the float sum of table entries in the reference's sequential order
 * (float addition is not associative: the order is part of the result), then 8 outputs per step: the entries
 * gathered (vgatherdps), times 1 / (sum * output_scale), rounded as the reference (int8: half away from zero,
 * as roundf on these non-negative values: truncation plus a comparison of the exact fraction; uint8: + 0.5
 * truncated), + zero point, clamped. Per-function target attributes (no FMA: nothing is contracted). */
#include "edgerun/edgerun.h"
#include "../opt/ukernels.h"

#if ER_HAVE_X86_UKERNELS
#include <math.h>

#include "fixedpoint_avx2.h"

ER_ATTR_AVX2 static int32_t qs_max_row(const uint8_t *x, int is_u8, int64_t D) {
  int64_t i = 0;
  int32_t mx = is_u8 ? 0 : -128;
  if (D >= 32) {
    __m256i m = _mm256_set1_epi8(is_u8 ? 0 : -128);
    for (; i + 32 <= D; i += 32) {
      const __m256i v = _mm256_loadu_si256((const __m256i *)(x + i));
      m = is_u8 ? _mm256_max_epu8(m, v) : _mm256_max_epi8(m, v);
    }
    uint8_t b[32];
    _mm256_storeu_si256((__m256i *)b, m);
    for (int k = 0; k < 32; ++k) {
      const int32_t v = is_u8 ? (int32_t)b[k] : (int32_t)(int8_t)b[k];
      mx = v > mx ? v : mx;
    }
  }
  for (; i < D; ++i) {
    const int32_t v = is_u8 ? (int32_t)x[i] : (int32_t)(int8_t)x[i];
    mx = v > mx ? v : mx;
  }
  return mx;
}

ER_ATTR_AVX2 int er_q_softmax__avx2(const er_op *op) {
  const er_q_softmax_params *p = (const er_q_softmax_params *)op->params;
  const er_tensor *x = op->in[0];
  er_tensor *y = op->out[0];
  if ((x->type != ER_INT8 && x->type != ER_UINT8) || (y->type != ER_INT8 && y->type != ER_UINT8) ||
      op->scratch_bytes < (int64_t)(256 * sizeof(float)) || p->rows * p->depth != x->count ||
      y->count != x->count || (p->depth < 1 && p->rows > 0))
    return er_q_softmax(op); /* its checks and codes, and the int16 output */
  float *table = (float *)op->scratch;
  const float scale = -p->input_scale * p->beta;
  for (int32_t v = 0; v <= 255; ++v) table[255 - v] = expf(scale * (float)v);
  const int64_t D = p->depth;
  const int is_u8 = x->type == ER_UINT8, out_u8 = y->type == ER_UINT8;
  const __m256i zp = _mm256_set1_epi32(out_u8 ? 0 : p->output_zp);
  const __m256i lo = _mm256_set1_epi32(out_u8 ? 0 : -128), hi = _mm256_set1_epi32(out_u8 ? 255 : 127);
  const __m256i byte = _mm256_set1_epi32(0xFF);
  const __m256 half = _mm256_set1_ps(0.5f);
  for (int64_t r = 0; r < p->rows; ++r) {
    const uint8_t *xr = (const uint8_t *)x->data + r * D;
    uint8_t *yr = (uint8_t *)y->data + r * D;
    const int32_t mx = qs_max_row(xr, is_u8, D);
    const float *tab = table + (255 - mx);
    float sum = 0.0f;
    if (is_u8)
      for (int64_t i = 0; i < D; ++i) sum += tab[xr[i]];
    else
      for (int64_t i = 0; i < D; ++i) sum += tab[(int8_t)xr[i]];
    const float inv = 1.0f / (sum * p->output_scale);
    const __m256 vinv = _mm256_set1_ps(inv);
    int64_t i = 0;
    for (; i + 8 <= D; i += 8) {
      const __m128i v = _mm_loadl_epi64((const __m128i *)(xr + i));
      const __m256i idx = is_u8 ? _mm256_cvtepu8_epi32(v) : _mm256_cvtepi8_epi32(v);
      const __m256 prob = _mm256_mul_ps(_mm256_i32gather_ps(tab, idx, 4), vinv);
      __m256i q;
      if (out_u8) {
        q = _mm256_cvttps_epi32(_mm256_add_ps(prob, half));
      } else {
        const __m256i t = _mm256_cvttps_epi32(prob);
        const __m256 frac = _mm256_sub_ps(prob, _mm256_cvtepi32_ps(t)); /* exact */
        q = _mm256_sub_epi32(t, _mm256_castps_si256(_mm256_cmp_ps(frac, half, _CMP_GE_OQ)));
        q = _mm256_add_epi32(q, zp);
      }
      q = _mm256_and_si256(_mm256_min_epi32(_mm256_max_epi32(q, lo), hi), byte);
      const __m128i w = _mm_packus_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
      _mm_storel_epi64((__m128i *)(yr + i), _mm_packus_epi16(w, w));
    }
    for (; i < D; ++i) { /* the reference's steps */
      const float prob = (is_u8 ? tab[xr[i]] : tab[(int8_t)xr[i]]) * inv;
      const int32_t q = out_u8 ? (int32_t)(prob + 0.5f) : (int32_t)roundf(prob) + p->output_zp;
      yr[i] = (uint8_t)er_clamp_i32(q, out_u8 ? 0 : -128, out_u8 ? 255 : 127);
    }
  }
  return ER_OK;
}
#else
typedef int er_q_softmax_avx2_unused;
#endif
