/* Fast float CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED on weights packed at prepare
 * (runtime/ops/conv.py). Portable instance of kernels/opt/gemm_f32_packed.h (4-float vectors: SSE2 on
 * x86-64, NEON on AArch64); on x86 the AVX2+FMA instance (kernels/x86/conv_avx2.c) runs instead when the
 * CPU has it and the params do not ask for portable code (isa = 1). The plain reference kernels stay in
 * conv.c / fc.c (selected in Python with EDGERUN_REF_KERNELS=1). */
#include "edgerun/edgerun.h"

#define ERPK_VL 4
#if defined(__aarch64__)
#define ERPK_MR 6 /* 32 vector registers: 24 accumulators */
#else
#define ERPK_MR 3 /* 16 vector registers (SSE2): 12 accumulators, weights read from memory */
#endif
#define ERPK_FN(name) er_pk4_##name
#if defined(__SSE__) && (defined(__x86_64__) || defined(__i386__))
#include <xmmintrin.h>
#define ERPK_MAX(a, b) ((erpk_v)_mm_max_ps((__m128)(a), (__m128)(b)))
#define ERPK_MIN(a, b) ((erpk_v)_mm_min_ps((__m128)(a), (__m128)(b)))
#endif
#include "gemm_f32_packed.h"
#include "gemm_f32_isa.h"

int er_f32_conv2d_fast(const er_op *op) {
#ifdef ER_F32_HAVE_AVX2
  if (er_f32_use_avx2((const er_conv_params *)op->params)) return er_f32_conv2d_fast_avx2(op);
#endif
  return er_pk4_conv2d(op);
}

int er_f32_dwconv2d_fast(const er_op *op) {
#ifdef ER_F32_HAVE_AVX2
  if (er_f32_use_avx2((const er_conv_params *)op->params)) return er_f32_dwconv2d_fast_avx2(op);
#endif
  return er_pk4_dwconv2d(op);
}

int er_f32_fc_fast(const er_op *op) {
#ifdef ER_F32_HAVE_AVX2
  if (er_f32_use_avx2((const er_conv_params *)op->params)) return er_f32_fc_fast_avx2(op);
#endif
  return er_pk4_fc(op);
}
