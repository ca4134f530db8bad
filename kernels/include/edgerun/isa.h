/* The one place that chooses the instruction set of a device build's kernels.
 *
 * On a device the ISA is fixed by the compiler flags (-mcpu=cortex-m4, -mcpu=cortex-m55, ...): this header
 * turns the compiler's ACLE feature macros into ER_ISA_* switches, and defining ER_ISA_REF (the "reference
 * only" build) turns them all off. A device build compiles kernels/cortexm/<file>.c beside
 * kernels/ref/<file>.c; where a switch is on, the cortexm file owns the public kernel name (er_s8_conv2d)
 * and the reference body stays reachable as er_ref_<name> for the cases the optimized code leaves to it.
 * Desktops never define these (M-profile only) and choose their ISA once at load instead.
 * Not part of the cffi cdef. */
#ifndef EDGERUN_ISA_H
#define EDGERUN_ISA_H

#if !defined(ER_ISA_REF) && defined(__ARM_ARCH_PROFILE) && __ARM_ARCH_PROFILE == 'M'
/* Helium (Cortex-M55, M85): integer MVE is bit 0 of __ARM_FEATURE_MVE */
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#define ER_ISA_ARM_MVE 1
#endif
/* DSP extension (Cortex-M4, M7, M33, M55): SMLAD and the other packed 16-bit instructions */
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#define ER_ISA_ARM_DSP 1
#endif
#endif

#ifndef ER_ISA_ARM_MVE
#define ER_ISA_ARM_MVE 0
#endif
#ifndef ER_ISA_ARM_DSP
#define ER_ISA_ARM_DSP 0
#endif
/* kernels/cortexm/ provides er_s8_conv2d, er_s8_dwconv2d and er_s8_fc */
#define ER_ISA_CORTEXM (ER_ISA_ARM_DSP || ER_ISA_ARM_MVE)

#endif
