"""C that compiles on every OS a C compiler runs on: the kernels and the plan-file library (platforms/lib) built
with `zig cc` (PyPI's ziglang: clang with the C libraries and headers of Windows (mingw-w64), macOS and Linux)
for Windows, macOS and AArch64 Linux, warnings as errors; the Windows programs run here under Wine.

    b = build("x86_64-windows-gnu")     # -> platforms/lib/build.py's Build: objects, library, er_run.exe
    b.run_prefix                        # [wine64 with its own prefix]: run_plan(b, ...) as for a device build
    shared_library("aarch64-macos")     # libedgerun_runtime.dylib (aarch64-linux-gnu: .so, Windows: .dll)

Sources and flags are the ones the library build uses (platforms/lib/build.py), plus the kernels' own warnings
(-Wextra, as kernels/build.py compiles them for Python). Builds are cached per source state like the library's.
"""
from __future__ import annotations

import concurrent.futures
import os
import shutil
import sys
import tempfile
from pathlib import Path

from edgerun.platforms.lib.build import CFLAGS, KERNELS, Build, _key, _run, include_dirs, library_sources
from edgerun.platforms.lib.build import HERE as LIB

from edgerun.errors import BuildError

TARGETS = ("x86_64-windows-gnu", "aarch64-macos", "x86_64-macos", "aarch64-linux-gnu")
EXE = {"x86_64-windows-gnu": ".exe"}
SHARED = {"x86_64-windows-gnu": ".dll", "aarch64-macos": ".dylib", "x86_64-macos": ".dylib"}
# -Werror: a warning on any OS is a portability bug to fix, not to read past
KERNEL_FLAGS = ["-Wextra", "-Wno-unused-parameter", "-Wno-sign-compare"]
RUN = {"aarch64-linux-gnu": ["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu"]}  # glibc's loader from Debian's cross
WINE = ("wine64", "/usr/lib/wine/wine64")  # Debian's wine64 package puts it under /usr/lib/wine only


def zig_cc() -> list:
    try:
        import ziglang  # noqa: F401
    except ImportError as e:
        raise BuildError("cross builds need zig cc: pip install ziglang (in edgerun's test extras)") from e
    return [sys.executable, "-m", "ziglang", "cc"]


def _flags(target: str, src: Path) -> list:
    # zig's Windows and Apple targets are not ELF: no -fPIC there (clang refuses it for Windows)
    pic = ["-fPIC"] if target.endswith(("-gnu", "-musl")) and "windows" not in target else []
    kernel = KERNEL_FLAGS if KERNELS in src.parents else []
    return ["-target", target, *CFLAGS, *kernel, *pic, "-Werror"]


def wine_prefix() -> list:
    """The command that runs a Windows program here: wine64 with a prefix of its own under the temp dir (made at
    the first run, ~40 s; then ~0.1 s a run) and its messages off."""
    wine = next((w for w in WINE if shutil.which(w)), None)
    if wine is None:
        raise BuildError("wine64 not found (bash platforms/lib/install.sh installs Debian's wine64)")
    prefix = Path(os.environ.get("EDGERUN_WINEPREFIX") or Path(tempfile.gettempdir()) / "edgerun-wine")
    return ["env", f"WINEPREFIX={prefix}", "WINEDEBUG=-all", "WINEDLLOVERRIDES=mscoree,mshtml=", wine]


def build(target: str, cache_dir=None) -> Build:
    """Every library and kernel source compiled for `target` with zig cc (-Werror), the static library, and
    er_run linked for it (static for Windows: only system DLLs). run_prefix: wine for Windows, qemu-user for
    AArch64 Linux (dynamic, on Debian's cross glibc), empty for macOS (its Mach-O programs are built, not run)."""
    if target not in TARGETS:
        raise BuildError(f"no cross build for target {target!r}; targets: {', '.join(TARGETS)}")
    cc = zig_cc()
    srcs = library_sources()
    root = Path(cache_dir or os.environ.get("EDGERUN_CLIB_CACHE") or Path(tempfile.gettempdir()) / "edgerun-clib")
    out = root / f"zig-{target}-{_key('zig-' + target, CFLAGS + KERNEL_FLAGS)}"
    lib = out / "libedgerun_runtime.a"
    er_run = out / f"er_run{EXE.get(target, '')}"
    prefix = wine_prefix() if "windows" in target else RUN.get(target, [])
    if lib.exists() and er_run.exists():
        return Build(target, out, lib, er_run, None, prefix)
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=out.name + ".", dir=root))
    inc = [f"-I{d}" for d in include_dirs()]
    (tmp / "obj").mkdir()
    objs = [tmp / "obj" / f"{k:03d}_{p.stem}.o" for k, p in enumerate(srcs)]
    # zig builds the target's C library once into its own cache (minutes for mingw-w64), then ~1 s a file
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        jobs = [pool.submit(_run, [*cc, *_flags(target, s), *inc, "-c", str(s), "-o", str(o)],
                            f"compiling {s.parent.name}/{s.name} for {target}")
                for s, o in zip(srcs, objs)]
        for j in jobs:
            j.result()
    _run([sys.executable, "-m", "ziglang", "ar", "rcs", str(tmp / lib.name), *map(str, objs)], "archiving")
    static = ["-static"] if "windows" in target else []
    tool = LIB / "tools" / "er_run.c"
    _run([*cc, *_flags(target, tool), *inc, str(tool), str(tmp / lib.name), *static, "-lm", "-o",
          str(tmp / er_run.name)], f"linking er_run for {target}")
    try:
        tmp.rename(out)
    except OSError:  # another process built the same configuration first
        shutil.rmtree(tmp, ignore_errors=True)
    return Build(target, out, lib, er_run, None, prefix)


def shared_library(target: str, cache_dir=None) -> Path:
    """The library with every kernel as the target's shared library (.dll, .dylib, .so)."""
    b = build(target, cache_dir)
    so = b.dir / f"libedgerun_runtime{SHARED.get(target, '.so')}"
    if not so.exists():
        objs = sorted((b.dir / "obj").glob("*.o"))
        tmp = so.with_name(so.name + f".{os.getpid()}")
        _run([*zig_cc(), "-target", target, "-shared", *map(str, objs), "-lm", "-o", str(tmp)],
             f"linking the shared library for {target}")
        os.replace(tmp, so)
    return so
