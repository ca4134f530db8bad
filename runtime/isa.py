"""The instruction set (ISA) of the optimized C kernels on this desktop: EDGERUN_ISA, read once, here.

    ref       reference kernels only (kernels/ref/, the definition of correct)
    portable  optimized kernels (kernels/opt/) on their portable C code
    sse2      optimized kernels with x86 SSE2 micro-kernels (kernels/x86/)
    avx2      optimized kernels with x86 AVX2+FMA micro-kernels (kernels/x86/)
    avx512vnni  avx2 plus AVX-512 VNNI (VPDPBUSD): int8 CONV_2D/FULLY_CONNECTED weights in the dot layout
    neon      optimized kernels with ARM NEON micro-kernels (kernels/neon/; AArch64, ARMv7 built with NEON)
    neon-dotprod  neon plus the int8 dot product (SDOT; AArch64 cores that report it)

On ARM the two neon ISAs prepare the same plan (int8 CONV_2D/FULLY_CONNECTED weights in the dot layout of
kernels/opt/q_conv_dot.c); only the micro-kernels differ, so a device chooses at load by its CPU. avx512vnni
prepares that dot layout too (its VPDPBUSD GEMM, kernels/x86/q_conv_vnni.c) and otherwise avx2's plan, whose
int8 depthwise it runs on VPDPWSSD (kernels/x86/q_dw_vnni.c).

Unset, the best this CPU runs. At import the value is checked (an unknown name or an ISA the CPU lacks is an
EdgerunError naming the value and the choices) and C selects its micro-kernels once (er_select_isa).
Handlers never read the environment: they read `OpContext.isa`, this desktop's ISA unless the prepare step
asks for another: a plan for an ARM device is prepared with isa="neon" on any desktop (preparing only packs
data; platforms/codegen.prepare_for), a microcontroller's with isa="ref"."""
from __future__ import annotations

import contextlib
import os

from edgerun.errors import EdgerunError
from edgerun.kernels import lib

NAMES = ("ref", "portable", "sse2", "avx2", "avx512vnni", "neon", "neon-dotprod")  # from least to most specific
_CONSTS = {"ref": "ER_HOST_ISA_REF", "portable": "ER_HOST_ISA_PORTABLE", "sse2": "ER_HOST_ISA_SSE2",
           "avx2": "ER_HOST_ISA_AVX2", "avx512vnni": "ER_HOST_ISA_AVX512VNNI", "neon": "ER_HOST_ISA_NEON",
           "neon-dotprod": "ER_HOST_ISA_NEON_DOTPROD"}
# an older build of the kernels may lack the newer ISAs' constants: those ISAs are then simply unsupported
IDS = {name: getattr(lib, const) for name, const in _CONSTS.items() if hasattr(lib, const)}
ARM = ("neon", "neon-dotprod")  # the ARM ISAs (their plans, and avx512vnni's, pack int8 GEMM weights in the dot layout)


def supported() -> tuple[str, ...]:
    """The ISAs this CPU runs (cpuid, as the C kernels see it), in the order of NAMES."""
    bits = lib.er_host_isa_supported()
    return tuple(name for name in NAMES if name in IDS and bits >> IDS[name] & 1)


def best() -> str:
    return supported()[-1]


def check(value: str, cpu: tuple[str, ...] | None = None) -> str:
    """`value` as an ISA name, or an EdgerunError saying what is wrong with it (cpu: the ISAs to allow,
    default this CPU's)."""
    cpu = supported() if cpu is None else cpu
    if value not in NAMES:
        raise EdgerunError(f"EDGERUN_ISA={value!r} is not an instruction set edgerun knows: use one of "
                           f"{', '.join(NAMES)} (unset: the best this CPU runs, {cpu[-1]})")
    if value not in cpu:
        raise EdgerunError(f"EDGERUN_ISA={value!r}: this CPU does not run {value} code (it runs "
                           f"{', '.join(cpu)})")
    return value


def select(name: str) -> None:
    """Make `name` this desktop's ISA: the default of OpContext.isa and the C micro-kernels of every later
    invoke."""
    global _current
    check(name)
    if lib.er_select_isa(IDS[name]) != 0:  # pragma: no cover - check() has tested the CPU already
        raise EdgerunError(f"the C kernels refused ISA {name!r}")
    _current = name


def current() -> str:
    """This desktop's ISA."""
    return _current


@contextlib.contextmanager
def selected(name: str):
    """Prepare and run under another ISA for the duration (tests and benchmarks comparing the variants in one
    process; plans prepared inside should also be invoked inside)."""
    before = _current
    select(name)
    try:
        yield name
    finally:
        select(before)


_current = "portable"
select(os.environ.get("EDGERUN_ISA") or best())
