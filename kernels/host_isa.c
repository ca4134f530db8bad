/* The one place a desktop chooses the micro-kernels of the optimized kernels: er_select_isa, called once at
 * load by runtime/isa.py (EDGERUN_ISA, default the best ISA this CPU runs). Kernels then call through the
 * selected tables (kernels/opt/ukernels.h) with no CPU test per call. */
#include "edgerun/edgerun.h"
#include "edgerun/host_isa.h"
#include "opt/ukernels.h"

#if ER_HAVE_NEON_UKERNELS && defined(__linux__)
#include <sys/auxv.h> /* getauxval(AT_HWCAP): the CPU features the kernel reports (Linux, Android) */
#endif
#if ER_HAVE_X86_UKERNELS
#include <cpuid.h> /* GCC and Clang (which ER_HAVE_X86_UKERNELS requires) on every OS */
#include <stdatomic.h>

/* bits of ER_HOST_ISA_SSE2 / _AVX2 / _AVX512VNNI for this CPU and OS, from CPUID and XGETBV directly: the compiler
 * runtime's __builtin_cpu_supports is not in every toolchain (zig cc's answers 0 on every CPU) */
static int x86_bits(void) {
  unsigned a, b, c, d, max_leaf = __get_cpuid_max(0, NULL);
  if (max_leaf < 1) return 0;
  __cpuid(1, a, b, c, d);
  int bits = (d >> 26 & 1) ? 1 << ER_HOST_ISA_SSE2 : 0;
  /* AVX state saved by the OS (OSXSAVE, then XCR0's XMM and YMM bits), AVX2 and FMA (the float kernels') */
  const int fma = c >> 12 & 1, osxsave = c >> 27 & 1;
  if (!osxsave || max_leaf < 7) return bits;
  unsigned xcr0, xcr0_hi;
  __asm__ volatile("xgetbv" : "=a"(xcr0), "=d"(xcr0_hi) : "c"(0));
  __cpuid_count(7, 0, a, b, c, d);
  if ((xcr0 & 6) == 6 && (b >> 5 & 1) && fma) bits |= 1 << ER_HOST_ISA_AVX2;
  /* AVX-512 VNNI with AVX512F, BW and VL (the EVEX ymm forms, byte masks), the OS saving the opmask and all 32
   * vector registers (XCR0 bits 5-7) */
  const int avx512 = (xcr0 & 0xE6) == 0xE6 && (b >> 16 & 1) && (b >> 30 & 1) && (b >> 31 & 1);
  if ((bits >> ER_HOST_ISA_AVX2 & 1) && avx512 && (c >> 11 & 1)) bits |= 1 << ER_HOST_ISA_AVX512VNNI;
  return bits;
}
#endif
#if ER_HAVE_NEON_UKERNELS && defined(__APPLE__)
#include <sys/sysctl.h> /* sysctlbyname("hw.optional.arm.FEAT_*"): the CPU features macOS/iOS report */

/* 1 or 0 as the system reports the feature, -1 when it has no such entry (macOS 11 and earlier) */
static int apple_feature(const char *name) {
  int value = 0;
  size_t size = sizeof value;
  if (sysctlbyname(name, &value, &size, NULL, 0) != 0) return -1;
  return value != 0;
}
#endif

const er_f32_conv_ukernels *er_f32_conv_selected = &er_f32_conv_ukernels_portable;
const er_qc_ukernels *er_qc_selected = &er_qc_ukernels_portable;
const er_qd_ukernels *er_qd_selected = &er_qd_ukernels_portable;
static int selected_isa = ER_HOST_ISA_PORTABLE;

const er_op_kernels er_op_kernels_ref = {er_q_binary,      er_q_maxpool2d, er_q_avgpool2d, er_f32_maxpool2d,
                                         er_f32_avgpool2d, er_q_softmax,   er_f32_softmax, er_f32_binary,
                                         er_any_quantize,  er_any_dequantize};
#if ER_HAVE_NEON_UKERNELS
const er_op_kernels er_op_kernels_neon = {er_q_binary__neon,      er_q_maxpool2d__neon,   er_q_avgpool2d__neon,
                                          er_f32_maxpool2d__neon, er_f32_avgpool2d__neon, er_q_softmax__neon,
                                          er_f32_softmax__neon,   er_f32_binary__neon,
                                          er_any_quantize,        er_any_dequantize};
#endif
#if ER_HAVE_X86_UKERNELS
const er_op_kernels er_op_kernels_avx2 = {er_q_binary__avx2,      er_q_maxpool2d__avx2,   er_q_avgpool2d__avx2,
                                          er_f32_maxpool2d__avx2, er_f32_avgpool2d__avx2, er_q_softmax__avx2,
                                          er_f32_softmax__avx2,   er_f32_binary__avx2,
                                          er_any_quantize__avx2,  er_any_dequantize__avx2};
const er_op_kernels er_op_kernels_avx512vnni = {er_q_binary__avx512,    er_q_maxpool2d__avx2,   er_q_avgpool2d__avx2,
                                                er_f32_maxpool2d__avx2, er_f32_avgpool2d__avx2, er_q_softmax__avx2,
                                                er_f32_softmax__avx2,   er_f32_binary__avx2,
                                                er_any_quantize__avx2,  er_any_dequantize__avx2};
#endif
const er_op_kernels *er_op_kernels_selected = &er_op_kernels_ref;

#if ER_HAVE_NEON_UKERNELS
/* bits of ER_HOST_ISA_NEON / ER_HOST_ISA_NEON_DOTPROD for this CPU */
static int neon_bits(void) {
  int bits = 0;
#if defined(__aarch64__) && defined(__APPLE__)
  /* a system without the entry (macOS 11) runs only on M1 and later, which have the dot product */
  bits = 1 << ER_HOST_ISA_NEON;
  if (apple_feature("hw.optional.arm.FEAT_DotProd") != 0) bits |= 1 << ER_HOST_ISA_NEON_DOTPROD;
#elif defined(__aarch64__) && defined(__linux__)
  const unsigned long hw = getauxval(AT_HWCAP);
  bits = 1 << ER_HOST_ISA_NEON; /* Advanced SIMD is part of every ARMv8-A core */
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
  if (hw & HWCAP_ASIMDDP) bits |= 1 << ER_HOST_ISA_NEON_DOTPROD;
#elif defined(__aarch64__)
  bits = 1 << ER_HOST_ISA_NEON; /* other systems: no feature query here, the dot product is not assumed */
#elif defined(__linux__)
  /* ARMv7 built with NEON: the build already assumes it; the kernel's word confirms it */
#ifndef HWCAP_NEON
#define HWCAP_NEON (1 << 12)
#endif
  if (getauxval(AT_HWCAP) & HWCAP_NEON) bits = 1 << ER_HOST_ISA_NEON;
#else
  bits = 1 << ER_HOST_ISA_NEON;
#endif
  return bits;
}
#endif

#if ER_HAVE_NEON_DOTPROD_UKERNELS
int er_host_has_i8mm(void) {
#if defined(__linux__)
#ifndef HWCAP2_I8MM
#define HWCAP2_I8MM (1 << 13)
#endif
  return (getauxval(AT_HWCAP2) & HWCAP2_I8MM) != 0;
#elif defined(__aarch64__) && defined(__APPLE__)
  return apple_feature("hw.optional.arm.FEAT_I8MM") == 1; /* M2/A15 and later */
#else
  return 0;
#endif
}
#endif

int er_host_isa_supported(void) {
  int bits = 1 << ER_HOST_ISA_REF | 1 << ER_HOST_ISA_PORTABLE;
#if ER_HAVE_X86_UKERNELS
  /* CPUID traps to the hypervisor in a virtual machine (microseconds): asked once per process. Every thread
   * computes the same value, so a relaxed atomic suffices. */
  static _Atomic int x86;
  int got = atomic_load_explicit(&x86, memory_order_relaxed);
  if (got == 0) {
    got = x86_bits() | 1 << 30; /* bit 30: known (never an ISA bit) */
    atomic_store_explicit(&x86, got, memory_order_relaxed);
  }
  bits |= got & ~(1 << 30);
#endif
#if ER_HAVE_NEON_UKERNELS
  bits |= neon_bits();
#endif
  return bits;
}

int er_select_isa(int isa) {
  if (isa < 0 || isa >= ER_HOST_ISA_COUNT || !(er_host_isa_supported() & (1 << isa))) return ER_ERR_UNSUPPORTED;
  const er_f32_conv_ukernels *f32 = &er_f32_conv_ukernels_portable;
  const er_qc_ukernels *qc = &er_qc_ukernels_portable;
  const er_qd_ukernels *qd = &er_qd_ukernels_portable;
  const er_op_kernels *ops = &er_op_kernels_ref;
#if ER_HAVE_X86_UKERNELS
  if (isa == ER_HOST_ISA_SSE2) {
    f32 = &er_f32_conv_ukernels_sse2;
    qc = &er_qc_ukernels_sse2;
  } else if (isa == ER_HOST_ISA_AVX2 || isa == ER_HOST_ISA_AVX512VNNI) {
    /* avx512vnni: AVX2's tables (its plans keep the madd depthwise; plans prepared for avx2 run as there), the
     * dot layout's GEMM on VPDPBUSD, int8/uint8 ADD/SUB on 16 lanes (er_q_binary__avx512) */
    f32 = &er_f32_conv_ukernels_avx2;
    qc = &er_qc_ukernels_avx2;
    ops = &er_op_kernels_avx2;
    if (isa == ER_HOST_ISA_AVX512VNNI) {
      qd = &er_qd_ukernels_avx512vnni;
      ops = &er_op_kernels_avx512vnni;
    }
  }
#endif
#if ER_HAVE_NEON_UKERNELS
  if (isa == ER_HOST_ISA_NEON || isa == ER_HOST_ISA_NEON_DOTPROD) {
    f32 = &er_f32_conv_ukernels_neon;
    qc = &er_qc_ukernels_neon;
    qd = &er_qd_ukernels_neon;
    ops = &er_op_kernels_neon;
  }
#endif
#if ER_HAVE_NEON_DOTPROD_UKERNELS
  /* the int8 matrix multiply (SMMLA) where the CPU has it, on the same packed layout; else SDOT */
  if (isa == ER_HOST_ISA_NEON_DOTPROD)
    qd = er_host_has_i8mm() ? &er_qd_ukernels_neon_i8mm : &er_qd_ukernels_neon_dotprod;
#endif
  er_f32_conv_selected = f32;
  er_qc_selected = qc;
  er_qd_selected = qd;
  er_op_kernels_selected = ops;
  selected_isa = isa;
  return ER_OK;
}

int er_selected_isa(void) { return selected_isa; }
