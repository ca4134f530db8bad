/* Fast float CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED / TRANSPOSE_CONV / BATCH_MATMUL on weights packed at prepare (runtime/ops/conv.py):
 * the kernel entry points, which run the instance of kernels/opt/gemm_f32_packed.h selected at load
 * (kernels/host_isa.c), and its portable instance: 4-float vectors of the compiler's vector extensions (SSE2
 * code on x86-64, NEON on AArch64, scalar code elsewhere). x86 instances: kernels/x86/conv_sse2.c,
 * kernels/x86/conv_avx2.c. The reference kernels are kernels/ref/conv.c and fc.c. */
#include "edgerun/edgerun.h"
#include "ukernels.h"

#define ERPK_VL 4
#if defined(__aarch64__)
#define ERPK_MR 6 /* 32 vector registers: 24 accumulators */
#else
#define ERPK_MR 3 /* 16 vector registers (x86-64): 12 accumulators, weights read from memory */
#endif
#define ERPK_FN(name) er_pk4_##name
#include "gemm_f32_packed.h"

const er_f32_conv_ukernels er_f32_conv_ukernels_portable = {
    er_pk4_conv2d, er_pk4_dwconv2d, er_pk4_fc, er_pk4_tconv2d, er_pk4_bmm};

int er_f32_conv2d_fast(const er_op *op) { return er_f32_conv_selected->conv2d(op); }
int er_f32_dwconv2d_fast(const er_op *op) { return er_f32_conv_selected->dwconv2d(op); }
int er_f32_fc_fast(const er_op *op) { return er_f32_conv_selected->fc(op); }
int er_f32_tconv2d_fast(const er_op *op) { return er_f32_conv_selected->tconv2d(op); }
int er_f32_bmm_fast(const er_op *op) { return er_f32_conv_selected->bmm(op); }
