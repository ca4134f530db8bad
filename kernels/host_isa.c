/* The one place a desktop chooses the micro-kernels of the optimized kernels: er_select_isa, called once at
 * load by runtime/isa.py (EDGERUN_ISA, default the best ISA this CPU runs). Kernels then call through the
 * selected tables (kernels/opt/ukernels.h) with no CPU test per call. */
#include "edgerun/edgerun.h"
#include "edgerun/host_isa.h"
#include "opt/ukernels.h"

const er_f32_conv_ukernels *er_f32_conv_selected = &er_f32_conv_ukernels_portable;
const er_qc_ukernels *er_qc_selected = &er_qc_ukernels_portable;
static int selected_isa = ER_HOST_ISA_PORTABLE;

int er_host_isa_supported(void) {
  int bits = 1 << ER_HOST_ISA_REF | 1 << ER_HOST_ISA_PORTABLE;
#if ER_HAVE_X86_UKERNELS
  __builtin_cpu_init();
  if (__builtin_cpu_supports("sse2")) bits |= 1 << ER_HOST_ISA_SSE2;
  /* the float kernels need FMA beside AVX2 */
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) bits |= 1 << ER_HOST_ISA_AVX2;
#endif
  return bits;
}

int er_select_isa(int isa) {
  if (isa < 0 || isa >= ER_HOST_ISA_COUNT || !(er_host_isa_supported() & (1 << isa))) return ER_ERR_UNSUPPORTED;
  const er_f32_conv_ukernels *f32 = &er_f32_conv_ukernels_portable;
  const er_qc_ukernels *qc = &er_qc_ukernels_portable;
#if ER_HAVE_X86_UKERNELS
  if (isa == ER_HOST_ISA_SSE2) {
    f32 = &er_f32_conv_ukernels_sse2;
    qc = &er_qc_ukernels_sse2;
  } else if (isa == ER_HOST_ISA_AVX2) {
    f32 = &er_f32_conv_ukernels_avx2;
    qc = &er_qc_ukernels_avx2;
  }
#endif
  er_f32_conv_selected = f32;
  er_qc_selected = qc;
  selected_isa = isa;
  return ER_OK;
}

int er_selected_isa(void) { return selected_isa; }
