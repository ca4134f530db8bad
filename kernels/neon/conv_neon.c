/* NEON instance of the fast float conv kernels (kernels/opt/gemm_f32_packed.h): 4-float vectors, FMLA on
 * AArch64 (6x16 micro tiles: 24 accumulators of the 32 vector registers), VMLA on ARMv7 (2x16 tiles: 8
 * accumulators of 16; VMLA rounds the product, as the portable instance's separate multiply and add), and
 * FMAX/FMIN for the activation clamp (a NaN stays NaN, as in the reference). Selected at load for the neon
 * ISAs (kernels/host_isa.c); elsewhere this file compiles to nothing. */
#include "edgerun/edgerun.h"
#include "../opt/ukernels.h"

#if ER_HAVE_NEON_UKERNELS
#include <arm_neon.h>

#define ERPK_VL 4
#if defined(__aarch64__)
#define ERPK_MR 6
#define ERPK_FMA(acc, a, b) ((erpk_v)vfmaq_f32((float32x4_t)(acc), (float32x4_t)(a), (float32x4_t)(b)))
#else
#define ERPK_MR 2
#define ERPK_FMA(acc, a, b) ((erpk_v)vmlaq_f32((float32x4_t)(acc), (float32x4_t)(a), (float32x4_t)(b)))
#endif
#define ERPK_MAX(a, b) ((erpk_v)vmaxq_f32((float32x4_t)(a), (float32x4_t)(b)))
#define ERPK_MIN(a, b) ((erpk_v)vminq_f32((float32x4_t)(a), (float32x4_t)(b)))
#define ERPK_FN(name) er_pkn_##name
#include "../opt/gemm_f32_packed.h"

const er_f32_conv_ukernels er_f32_conv_ukernels_neon = {
    er_pkn_conv2d, er_pkn_dwconv2d, er_pkn_fc, er_pkn_tconv2d, er_pkn_bmm};
#else
typedef int er_conv_neon_unused;
#endif
