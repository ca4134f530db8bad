/* The instruction set of the optimized kernels on a desktop (host): detected and selected once at load by
 * runtime/isa.py (EDGERUN_ISA), implemented in kernels/host_isa.c. Device builds fix their ISA at compile
 * time instead (edgerun/isa.h). cdef-friendly: integer #defines and prototypes only. */
#ifndef EDGERUN_HOST_ISA_H
#define EDGERUN_HOST_ISA_H

#define ER_HOST_ISA_REF 0      /* reference kernels only (prepare chooses no optimized kernel) */
#define ER_HOST_ISA_PORTABLE 1 /* optimized kernels, portable C (compiler vector extensions) */
#define ER_HOST_ISA_SSE2 2     /* optimized kernels, x86 SSE2 micro-kernels */
#define ER_HOST_ISA_AVX2 3     /* optimized kernels, x86 AVX2+FMA micro-kernels */
#define ER_HOST_ISA_NEON 4     /* optimized kernels, ARM NEON micro-kernels (AArch64, ARMv7 built with NEON) */
#define ER_HOST_ISA_NEON_DOTPROD 5 /* NEON plus the int8 dot-product instructions (SDOT; AArch64) */
#define ER_HOST_ISA_AVX512VNNI 6 /* AVX2 plus AVX-512 VNNI (VPDPBUSD; AVX512F/VL): int8 GEMM on the dot layout */
#define ER_HOST_ISA_COUNT 7

/* bit (1 << ER_HOST_ISA_*) set for every ISA this CPU runs (cpuid on x86, AT_HWCAP on Linux/Android ARM) */
int er_host_isa_supported(void);
/* the micro-kernels of the optimized kernels for every later call: ER_OK, or ER_ERR_UNSUPPORTED for an
 * unknown ISA or one this CPU lacks (the selection is then unchanged). ER_HOST_ISA_REF selects the portable
 * micro-kernels, for optimized kernels that a plan prepared elsewhere may still name. */
int er_select_isa(int isa);
/* the ISA last selected (ER_HOST_ISA_PORTABLE before any selection) */
int er_selected_isa(void);

#endif
