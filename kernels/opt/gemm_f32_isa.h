/* Instruction-set variants of the fast float conv kernels (kernels/x86/conv_avx2.c) and how
 * kernels/opt/conv.c picks one at run time. */
#ifndef EDGERUN_REF_GEMM_F32_ISA_H
#define EDGERUN_REF_GEMM_F32_ISA_H
#include "edgerun/edgerun.h"

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define ER_F32_HAVE_AVX2 1
int er_f32_conv2d_fast_avx2(const er_op *op);
int er_f32_dwconv2d_fast_avx2(const er_op *op);
int er_f32_fc_fast_avx2(const er_op *op);

/* AVX2 and FMA both present (libgcc's CPU model, filled before any kernel runs) and the params do not ask
 * for portable code */
static inline int er_f32_use_avx2(const er_conv_params *p) {
  return p->isa == 0 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif

#endif
