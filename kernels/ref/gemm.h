/* The float inner product kernel shared by conv and fully-connected: C[m][n] = act(sum_k A[m][k] B[n][k] + bias[n]).
 * A is M x K row-major with row stride lda, B is N x K row-major (weights as TFLite stores them). */
#ifndef EDGERUN_REF_GEMM_H
#define EDGERUN_REF_GEMM_H
#include <stdint.h>

static inline float er_clampf(float x, float lo, float hi) { return x < lo ? lo : (x > hi ? hi : x); }

static inline void er_gemm_f32_nt(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
                                  const float *bias, float *C, int64_t ldc, float lo, float hi) {
  int64_t m = 0;
  /* 4 rows of A at a time share each row of B: 4 independent accumulators, B read once per 4 rows */
  for (; m + 4 <= M; m += 4) {
    const float *a0 = A + m * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
    for (int64_t n = 0; n < N; ++n) {
      const float *b = B + n * K;
      float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (int64_t k = 0; k < K; ++k) {
        const float w = b[k];
        s0 += a0[k] * w;
        s1 += a1[k] * w;
        s2 += a2[k] * w;
        s3 += a3[k] * w;
      }
      const float bb = bias ? bias[n] : 0.0f;
      C[(m + 0) * ldc + n] = er_clampf(s0 + bb, lo, hi);
      C[(m + 1) * ldc + n] = er_clampf(s1 + bb, lo, hi);
      C[(m + 2) * ldc + n] = er_clampf(s2 + bb, lo, hi);
      C[(m + 3) * ldc + n] = er_clampf(s3 + bb, lo, hi);
    }
  }
  for (; m < M; ++m) {
    const float *a = A + m * lda;
    for (int64_t n = 0; n < N; ++n) {
      const float *b = B + n * K;
      float s = 0;
      for (int64_t k = 0; k < K; ++k) s += a[k] * b[k];
      C[m * ldc + n] = er_clampf(s + (bias ? bias[n] : 0.0f), lo, hi);
    }
  }
}

#endif
