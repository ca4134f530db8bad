"""Build the C library of plan files (platforms/lib) and its tools for the host or a Linux device.

    lib = build("linux-aarch64")            # -> Build(dir, library, er_run, ...), cached by source hash
    lib.run_prefix                          # ["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu"] (emulated)
    shared_library_size("linux-aarch64")    # stripped .so with every kernel, bytes

The library is src/*.c plus every kernel of kernels/ (the reference kernels, the portable optimized ones, and
the ISA folders, which compile to nothing on other CPUs). Device tools link statically, so qemu-user runs
them without the target's dynamic loader. Builds go to a cache under the temp dir keyed by a hash of the
sources and flags: a test session compiles each configuration once.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from edgerun.errors import BuildError

HERE = Path(__file__).resolve().parent
KERNELS = HERE.parents[1] / "kernels"
if not (KERNELS / "exec.c").exists():  # installed: kernels/ is a subpackage of edgerun
    KERNELS = HERE.parents[1].parent / "kernels"

# target -> (C compiler, flags, strip, run prefix)
TOOLCHAINS = {
    "host": ("cc", [], "strip", []),
    "linux-x86_64": ("cc", [], "strip", []),
    "linux-aarch64": ("aarch64-linux-gnu-gcc", ["-march=armv8-a"], "aarch64-linux-gnu-strip",
                      ["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu"]),
    "linux-armv7": ("arm-linux-gnueabihf-gcc", ["-march=armv7-a", "-mfpu=neon", "-mfloat-abi=hard"],
                    "arm-linux-gnueabihf-strip", ["qemu-arm", "-L", "/usr/arm-linux-gnueabihf"]),
}
CFLAGS = ["-std=c11", "-O2", "-Wall", "-fno-strict-aliasing", "-ffunction-sections", "-fdata-sections"]
SANITIZE = ["-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined", "-fno-omit-frame-pointer"]


@dataclasses.dataclass
class Build:
    target: str
    dir: Path
    library: Path          # static library: src/ + kernels
    er_run: Path
    er_fuzz: Path | None
    run_prefix: list       # how to run its programs here (qemu-user for devices)
    er_bench: Path | None = None  # latency and per-op profile as JSON (platforms/adb.py pushes it)


def library_sources() -> list[Path]:
    files = sorted((HERE / "src").glob("*.c"))
    files += sorted((KERNELS / "ref").glob("*.c")) + [KERNELS / "exec.c", KERNELS / "host_isa.c", KERNELS / "pool.c"]
    for folder in ("opt", "x86", "neon"):
        files += sorted((KERNELS / folder).glob("*.c"))
    return files


def include_dirs() -> list[Path]:
    return [HERE / "include", HERE / "src", KERNELS / "include", KERNELS / "list", KERNELS]


def _key(target: str, flags: list) -> str:
    h = hashlib.sha256(" ".join([target, *flags]).encode())
    roots = library_sources() + sorted((HERE / "tools").glob("*.c"))
    for d in include_dirs():
        roots += sorted(d.rglob("*.h")) + sorted(d.rglob("*.inc"))
    for p in roots:
        h.update(str(p).encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def _run(cmd, what):
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise BuildError(f"{what} failed: {' '.join(map(str, cmd))}\n{done.stderr[-4000:]}")


def _toolchain(target: str):
    if target not in TOOLCHAINS:
        raise BuildError(f"no C library build for target {target!r}; builds: {', '.join(TOOLCHAINS)}")
    cc, arch, strip, prefix = TOOLCHAINS[target]
    missing = [t for t in [cc, *prefix[:1]] if shutil.which(t) is None]
    if missing:
        raise BuildError(f"{target}: {', '.join(missing)} not found (bash platforms/lib/install.sh installs them)")
    return cc, arch, strip, prefix


def build(target: str = "host", sanitize: bool = False, cache_dir=None) -> Build:
    """The library, er_run, er_bench (and, for the host, er_fuzz) for `target`, built once per source state."""
    cc, arch, _, prefix = _toolchain(target)
    if sanitize and target not in ("host", "linux-x86_64"):
        raise BuildError("the sanitizer build runs on the host only")
    # position-independent, so that the same objects also make the shared library (shared_library_size)
    flags = CFLAGS + arch + ["-fPIC"] + (SANITIZE if sanitize else [])
    root = Path(cache_dir or os.environ.get("EDGERUN_CLIB_CACHE") or Path(tempfile.gettempdir()) / "edgerun-clib")
    out = root / f"{target}{'-san' if sanitize else ''}-{_key(target, flags)}"
    lib = out / "libedgerun_runtime.a"
    er_run = out / "er_run"
    er_fuzz = out / "er_fuzz" if target in ("host", "linux-x86_64") else None
    er_bench = out / "er_bench"
    if lib.exists() and er_run.exists() and er_bench.exists() and (er_fuzz is None or er_fuzz.exists()):
        return Build(target, out, lib, er_run, er_fuzz, prefix, er_bench)
    tmp = Path(tempfile.mkdtemp(prefix=out.name + ".", dir=root if root.exists() else None))
    root.mkdir(parents=True, exist_ok=True)
    inc = [f"-I{d}" for d in include_dirs()]
    srcs = library_sources()
    (tmp / "obj").mkdir()
    objs = [tmp / "obj" / f"{k:03d}_{p.stem}.o" for k, p in enumerate(srcs)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        jobs = [pool.submit(_run, [cc, *flags, *inc, "-c", str(s), "-o", str(o)], f"compiling {s.name} for {target}")
                for s, o in zip(srcs, objs)]
        for j in jobs:
            j.result()
    ar = "ar" if target in ("host", "linux-x86_64") else cc.replace("-gcc", "-ar")
    _run([ar, "rcs", str(tmp / lib.name), *map(str, objs)], "archiving")
    static = [] if target in ("host", "linux-x86_64") else ["-static"]
    tools = [("er_run", True), ("er_bench", True)] + ([("er_fuzz", True)] if er_fuzz is not None else [])
    for name, _ in tools:
        _run([cc, *flags, *inc, str(HERE / "tools" / f"{name}.c"), str(tmp / lib.name), "-Wl,--gc-sections",
              *static, "-lm", "-o", str(tmp / name)], f"linking {name} for {target}")
    try:
        tmp.rename(out)
    except OSError:  # another process built the same configuration first
        shutil.rmtree(tmp, ignore_errors=True)
    return Build(target, out, lib, er_run, er_fuzz, prefix, er_bench)


def shared_library_size(target: str = "linux-aarch64", cache_dir=None) -> dict:
    """The library with every kernel as a stripped shared object (what an app ships): its bytes."""
    b = build(target, cache_dir=cache_dir)
    cc, arch, strip, _ = _toolchain(target)
    so = b.dir / "libedgerun_runtime.so"
    if not so.exists():
        objs = sorted((b.dir / "obj").glob("*.o"))
        _run([cc, "-shared", *map(str, objs), "-Wl,--gc-sections", "-lm", "-o", str(so)],
             f"linking the shared library for {target}")
    stripped = b.dir / "libedgerun_runtime.stripped.so"
    _run([strip, "-o", str(stripped), str(so)], "strip")
    return {"target": target, "bytes": stripped.stat().st_size, "unstripped_bytes": so.stat().st_size,
            "path": str(stripped)}
