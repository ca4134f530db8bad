/* AVX2+FMA form of kernels/ref/softmax.c's float SOFTMAX (LOG_SOFTMAX and a negative or NaN beta go to the
 * reference kernel): the row maximum by lanes (vmaxps(x, m) is the reference's `x > m ? x : m`, so a NaN never
 * becomes the maximum), exp((x - max) * beta) by a vector exp, the sum over 8 lanes (not the reference's
 * sequential order: the two sums round differently, by a few 1e-7 relative on rows of 1000), one multiply by
 * 1 / sum. Not bit-exact (the vector exp is not expf): within 1e-5 relative of the reference, LiteRT's own
 * tolerance for float softmax. The exp is that of kernels/neon/softmax_neon.c: n = round(x / ln 2), ln 2 in two
 * parts, Cephes' degree-6 polynomial on |r| <= ln 2 / 2, 2^n built in the exponent bits, about 1 ulp; below
 * -87.3365 the result is 0 (expf gives a subnormal there, which the probabilities cannot tell from 0). Row tails
 * of fewer than 8 elements use expf. */
#include "edgerun/edgerun.h"
#include "../opt/ukernels.h"

#if ER_HAVE_X86_UKERNELS
#include <immintrin.h>
#include <math.h>

#define ER_ATTR_AVX2_FMA __attribute__((target("avx2,fma")))

/* exp(x) for x <= 0 or NaN (x - max of a row, times beta >= 0); NaN in, NaN out */
ER_ATTR_AVX2_FMA static inline __m256 fs_exp8(__m256 x) {
  const __m256 lo = _mm256_set1_ps(-87.3365f);
  const __m256 tiny = _mm256_cmp_ps(x, lo, _CMP_LT_OQ); /* below: result 0 (false for NaN) */
  x = _mm256_max_ps(lo, x);                               /* the second operand when x is NaN: NaN kept */
  const __m256 magic = _mm256_set1_ps(12582912.0f);     /* 1.5 * 2^23: round to nearest of x / ln 2 */
  const __m256 nf = _mm256_sub_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), magic), magic);
  __m256 r = _mm256_fnmadd_ps(nf, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(nf, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
  /* times 2^n (n >= -126 here: the exponent field stays normal; a NaN lane stays NaN through p) */
  const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(nf), _mm256_set1_epi32(127)), 23);
  return _mm256_andnot_ps(tiny, _mm256_mul_ps(p, _mm256_castsi256_ps(bits)));
}

ER_ATTR_AVX2_FMA static float fs_hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

ER_ATTR_AVX2_FMA int er_f32_softmax__avx2(const er_op *op) {
  const er_softmax_params *p = (const er_softmax_params *)op->params;
  if (p->log || !(p->beta >= 0.0f)) return er_f32_softmax(op);
  const float *x = (const float *)op->in[0]->data;
  float *y = (float *)op->out[0]->data;
  const int64_t D = p->depth;
  if (p->rows * D != op->out[0]->count) return ER_ERR_SHAPE;
  const __m256 beta = _mm256_set1_ps(p->beta);
  for (int64_t r = 0; r < p->rows; ++r) {
    const float *xr = x + r * D;
    float *yr = y + r * D;
    /* four chains of vmaxps (latency-bound with one); max is exact, so the order does not matter */
    __m256 m = _mm256_set1_ps(-INFINITY), m1 = m, m2 = m, m3 = m;
    int64_t i = 0;
    for (; i + 32 <= D; i += 32) {
      m = _mm256_max_ps(_mm256_loadu_ps(xr + i), m);
      m1 = _mm256_max_ps(_mm256_loadu_ps(xr + i + 8), m1);
      m2 = _mm256_max_ps(_mm256_loadu_ps(xr + i + 16), m2);
      m3 = _mm256_max_ps(_mm256_loadu_ps(xr + i + 24), m3);
    }
    m = _mm256_max_ps(_mm256_max_ps(m, m1), _mm256_max_ps(m2, m3));
    for (; i + 8 <= D; i += 8) m = _mm256_max_ps(_mm256_loadu_ps(xr + i), m);
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    float mx = _mm_cvtss_f32(m4);
    for (; i < D; ++i) mx = xr[i] > mx ? xr[i] : mx;
    const __m256 vmx = _mm256_set1_ps(mx);
    __m256 acc = _mm256_setzero_ps();
    for (i = 0; i + 8 <= D; i += 8) {
      const __m256 e = fs_exp8(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(xr + i), vmx), beta));
      _mm256_storeu_ps(yr + i, e);
      acc = _mm256_add_ps(acc, e);
    }
    float sum = fs_hsum8(acc);
    for (; i < D; ++i) {
      yr[i] = expf((xr[i] - mx) * p->beta);
      sum += yr[i];
    }
    const float inv = 1.0f / sum;
    const __m256 vinv = _mm256_set1_ps(inv);
    for (i = 0; i + 8 <= D; i += 8) _mm256_storeu_ps(yr + i, _mm256_mul_ps(_mm256_loadu_ps(yr + i), vinv));
    for (; i < D; ++i) yr[i] *= inv;
  }
  return ER_OK;
}
#else
typedef int er_softmax_avx2_unused;
#endif
