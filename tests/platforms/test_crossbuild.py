"""C that compiles on every OS (platforms/crossbuild.py): the kernels and the plan-file library built with zig cc
for x86_64-windows-gnu, aarch64-macos, x86_64-macos and aarch64-linux-gnu with warnings as errors, linked into
er_run and a shared library of each OS's format; the Windows er_run.exe runs plans under Wine (marked emulated)
and its outputs equal the desktop interpreter's (itself bit-exact with LiteRT), integer and float alike, as the
Linux library's do (test_clib.py); the clang-built AArch64 Linux er_run runs NEON plans under qemu-user. Builds
are cached per source state (and zig caches objects): warm, the module takes about a minute.
"""
from __future__ import annotations

import re
import struct

import pytest

pytest.importorskip("ziglang", reason="ziglang (pip install ziglang, in the test extras) gives zig cc")

from edgerun.platforms.crossbuild import TARGETS, build, shared_library
from edgerun.platforms.lib.build import library_sources
from test_clib import check, run_plan_text
from test_codegen import MODELS, _steps

# the library's kernel sets (edgerun_kernel_sets, in every er_run): the target's ISA kernels are compiled in
KERNEL_SETS = {"x86_64": b"ref,portable,sse2,avx2,avx512vnni", "aarch64": b"ref,portable,neon,neon-dotprod"}
# what a static Windows program may import: the system's DLLs only (no libwinpthread-1.dll, libgcc_s_seh-1.dll)
SYSTEM_DLLS = re.compile(rb"(kernel32|kernelbase|ntdll|msvcrt|ucrtbase|advapi32|api-ms-win-[a-z0-9-]+)\.dll", re.IGNORECASE)


def _format(data: bytes, target: str) -> str:
    """'PE x86-64', 'Mach-O arm64', 'ELF aarch64'... of an executable or shared library's bytes."""
    if data[:2] == b"MZ":
        pe = struct.unpack_from("<I", data, 0x3C)[0]
        assert data[pe:pe + 4] == b"PE\0\0", target
        return {0x8664: "PE x86-64"}.get(struct.unpack_from("<H", data, pe + 4)[0], "PE other")
    if data[:4] == bytes.fromhex("cffaedfe"):
        return {0x0100000C: "Mach-O arm64", 0x01000007: "Mach-O x86-64"}.get(struct.unpack_from("<I", data, 4)[0],
                                                                              "Mach-O other")
    if data[:4] == b"\x7fELF":
        return {183: "ELF aarch64", 62: "ELF x86-64"}.get(struct.unpack_from("<H", data, 18)[0], "ELF other")
    return "unknown"


EXPECTED = {"x86_64-windows-gnu": "PE x86-64", "aarch64-macos": "Mach-O arm64", "x86_64-macos": "Mach-O x86-64",
            "aarch64-linux-gnu": "ELF aarch64"}


@pytest.fixture(scope="module")
def windows():
    return build("x86_64-windows-gnu")


@pytest.mark.parametrize("target", TARGETS)
def test_library_and_er_run_build(target):
    """Every source compiles without a warning (-Werror; build raises BuildError naming the file otherwise) and
    er_run links: the target's executable format, the target's ISA kernels in."""
    b = build(target)
    assert len(list((b.dir / "obj").glob("*.o"))) == len(library_sources())
    data = b.er_run.read_bytes()
    assert _format(data, target) == EXPECTED[target]
    assert KERNEL_SETS[target.split("-")[0]] in data
    if target.endswith("windows-gnu"):
        dlls = set(re.findall(rb"[\w.-]+\.dll", data, re.IGNORECASE))
        assert dlls and all(SYSTEM_DLLS.fullmatch(d) for d in dlls), sorted(dlls)


@pytest.mark.parametrize("target", TARGETS)
def test_shared_library_links(target):
    so = shared_library(target)
    data = so.read_bytes()
    assert _format(data, target) == EXPECTED[target]
    assert b"edgerun_open_memory" in data and b"edgerun_invoke" in data  # the C API is exported


@pytest.mark.emulated
@pytest.mark.parametrize("name", ["kws_int8", "kws_float", "mobilenet_v2_int8"])
def test_windows_er_run_equals_desktop_under_wine(windows, name, tmp_path):
    """The desktop's plan (this CPU's kernel set, packed weights) run by er_run.exe under Wine: outputs bit for
    bit the desktop interpreter's, float too (the same kernels, compiled by clang for Windows). The Windows build
    detects this CPU's ISA as Linux does (__builtin_cpu_supports) and selects the same micro-kernels."""
    from edgerun.platforms.codegen import kernel_sets

    text = check(windows, MODELS[name](), "host", tmp_path)
    host_set = kernel_sets("host")[-1]  # the desktop's, as the C library has it (avx512vnni plans take avx2's)
    assert f"kernels: set {host_set}, micro-kernels {host_set}," in text, text


@pytest.mark.emulated
def test_windows_reference_plan_borrowed_streaming_under_wine(windows, tmp_path):
    """A reference-kernel plan (a float recurrent net in a WHILE loop) opened from a borrowed aligned buffer
    (_aligned_malloc on Windows), 4 steps: within 1e-5 relative, not bit for bit, as its tanh/logistic/exp come
    from Windows' C runtime instead of glibc (1-ulp differences seen)."""
    model = MODELS["recurrent_while"]()
    text = check(windows, model, "host", tmp_path, steps=_steps(model, 4), isa="ref", args=["--borrow"],
                 exact=False)
    assert "kernels: set ref" in text, text


@pytest.mark.emulated
def test_windows_refuses_a_damaged_plan_under_wine(windows, tmp_path):
    from edgerun.platforms import planfile as pf
    from edgerun.platforms.codegen import prepare_for

    model = MODELS["kws_int8"]()
    plan = prepare_for(model, "host", isa="ref")
    data = pf.write_plan(plan)
    (code, out), _ = run_plan_text(windows, plan, _steps(model, 1), tmp_path, data=data[: len(data) // 2])
    assert code == 4 and "invalid plan file" in out, out


@pytest.mark.emulated
@pytest.mark.parametrize("name", ["kws_int8", "kws_float"])
def test_clang_built_aarch64_er_run_equals_desktop_under_qemu(name, tmp_path):
    """The NEON kernels compiled by clang (zig cc) instead of GCC: the linux-aarch64 plan on qemu's `max` CPU
    (SDOT/SMMLA selected) equals the desktop interpreter, integers bit for bit, float within 1e-5 as GCC's build."""
    b = build("aarch64-linux-gnu")
    text = check(b, MODELS[name](), "linux-aarch64", tmp_path, exact=name.endswith("int8"), cpu="max")
    assert "kernels: set neon, micro-kernels neon-dotprod" in text, text
