/* AVX2 per-pixel micro-kernels of the fast RESIZE_BILINEAR (kernels/opt/resize.c; declared in
 * kernels/opt/resize_ukernels.h), channels in vectors, the last C % 8 (float) / C % 16 (int8) by the scalar
 * definitions. Float: the reference's products and sums in its order, vmulps/vaddps (no FMA), so identical.
 * int8: per pair of source rows one vpmaddwd of interleaved (r0, r1) int16 with (1024 - fy, fy), then
 * acc = 1024 t0 + fx (t1 - t0), exact in int32, rounded by 2^20 as the reference. On other targets this file
 * compiles to nothing. */
#include "edgerun/edgerun.h"
#include "../opt/resize_ukernels.h"

#if ER_HAVE_X86_UKERNELS
#include <immintrin.h>

__attribute__((target("avx2"))) void er_rz_f32_px_avx2(const float *r00, const float *r01, const float *r10,
                                                       const float *r11, float wy0, float wy1, float wx0, float wx1,
                                                       int64_t C, float *y) {
  const __m256 a = _mm256_set1_ps(wy0), b = _mm256_set1_ps(wy1), c0 = _mm256_set1_ps(wx0), c1 = _mm256_set1_ps(wx1);
  int64_t c = 0;
  for (; c + 8 <= C; c += 8) {
    __m256 s = _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(r00 + c), a), c0);
    s = _mm256_add_ps(s, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(r10 + c), b), c0));
    s = _mm256_add_ps(s, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(r01 + c), a), c1));
    s = _mm256_add_ps(s, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(r11 + c), b), c1));
    _mm256_storeu_ps(y + c, s);
  }
  for (; c < C; ++c) y[c] = er_rz_f32_1(r00[c], r01[c], r10[c], r11[c], wy0, wy1, wx0, wx1);
}

/* 8 int32 accumulators rounded by 2^20 (half away from zero, or half up when single) */
__attribute__((target("avx2"), always_inline)) static inline __m256i rz_round20(__m256i acc, int single) {
  const __m256i half = _mm256_set1_epi32(1 << 19);
  if (single) return _mm256_srai_epi32(_mm256_add_epi32(acc, half), 20);
  const __m256i r = _mm256_srli_epi32(_mm256_add_epi32(_mm256_abs_epi32(acc), half), 20);
  return _mm256_sign_epi32(r, acc);
}

__attribute__((target("avx2"))) void er_rz_s8_px_avx2(const int8_t *r00, const int8_t *r01, const int8_t *r10,
                                                      const int8_t *r11, int32_t fy, int32_t fx, int64_t C,
                                                      int single, int8_t *y) {
  /* (r0, r1) int16 pairs times (1024 - fy, fy) */
  const __m256i wy = _mm256_set1_epi32((int32_t)(((uint32_t)(uint16_t)fy << 16) | (uint16_t)(1024 - fy)));
  const __m256i vfx = _mm256_set1_epi32(fx);
  int64_t c = 0;
  for (; c + 16 <= C; c += 16) {
    const __m128i a0 = _mm_loadu_si128((const __m128i *)(r00 + c)), a1 = _mm_loadu_si128((const __m128i *)(r10 + c));
    const __m128i b0 = _mm_loadu_si128((const __m128i *)(r01 + c)), b1 = _mm_loadu_si128((const __m128i *)(r11 + c));
    __m256i v[2];
    for (int h = 0; h < 2; ++h) {
      const __m128i pa = h ? _mm_unpackhi_epi8(a0, a1) : _mm_unpacklo_epi8(a0, a1);
      const __m128i pb = h ? _mm_unpackhi_epi8(b0, b1) : _mm_unpacklo_epi8(b0, b1);
      const __m256i t0 = _mm256_madd_epi16(_mm256_cvtepi8_epi16(pa), wy);
      const __m256i t1 = _mm256_madd_epi16(_mm256_cvtepi8_epi16(pb), wy);
      const __m256i acc = _mm256_add_epi32(_mm256_slli_epi32(t0, 10), _mm256_mullo_epi32(vfx, _mm256_sub_epi32(t1, t0)));
      v[h] = rz_round20(acc, single);
    }
    const __m256i w16 = _mm256_permute4x64_epi64(_mm256_packs_epi32(v[0], v[1]), 0xD8); /* channels in order */
    const __m128i w8 = _mm_packs_epi16(_mm256_castsi256_si128(w16), _mm256_extracti128_si256(w16, 1));
    _mm_storeu_si128((__m128i *)(y + c), w8);
  }
  for (; c < C; ++c) y[c] = er_rz_s8_1(r00[c], r01[c], r10[c], r11[c], fy, fx, single);
}
#else
typedef int er_resize_avx2_unused;
#endif
