"""Which kernel sources a generated project needs: the files that define the kernels its plan calls, and
the files defining what those call in turn (found by scanning kernels/ for er_* definitions and uses).

Optimized files stand beside the reference file they optimize (kernels/cortexm/q_conv.c beside
kernels/ref/q_conv.c): for a core with that ISA both are compiled, edgerun/isa.h decides which one owns the
public kernel name, and the reference body stays reachable for the cases the optimized code leaves to it.
"""
from __future__ import annotations

import functools
import re
import shutil
import subprocess
from pathlib import Path

KERNELS = Path(__file__).resolve().parents[2] / "kernels"
if not (KERNELS / "exec.c").exists():  # installed: platforms/ and kernels/ are subpackages of edgerun
    KERNELS = Path(__file__).resolve().parents[1].parent / "kernels"

# ISA folders a target family may compile, besides ref/ (opt/: portable optimized kernels, desktop and ARM
# devices; their micro-kernel tables are selected at run time by kernels/host_isa.c)
FAMILY_FOLDERS = {"host": ("opt", "x86"), "arm": ("opt", "neon"), "cortexm": ("cortexm",), "riscv": ()}
# the preprocessor that sees a family's code (ARM: NEON code is compiled out for x86's cc)
_CPP = {"arm": "aarch64-linux-gnu-gcc"}

# top-level definitions with external linkage: functions (a body follows) and variables (= or ; follows)
# (after any __attribute__((...)) prefix, e.g. the target("avx2") of an x86 kernel)
_DEF = re.compile(r"^[ \t]*(?:__attribute__\s*\(\(.*?\)\)\s*)*"
                  r"(?!static\b|extern\b|typedef\b|return\b)[A-Za-z_][\w \t\*]*?\b(er_\w+)\s*"
                  r"(?:\([^;{]*\)\s*\{|(?:\[[^\]]*\])?\s*[=;])", re.M)
_USE = re.compile(r"\b(er_\w+)\b")


def _strip_comments(text: str) -> str:
    return re.sub(r"/\*.*?\*/|//[^\n]*", "", text, flags=re.S)


@functools.lru_cache(maxsize=None)
def _scan(path: Path, cc: str = "cc"):
    """(names defined, names used) by a source file, read after the C preprocessor (kernels defined through
    macros, such as DEFINE_INT_BINARY(i32, ...) -> er_i32_binary, and what inline header functions use).
    Without that preprocessor (another family's cross compiler missing): the host's view and the raw text
    (every #if branch) together."""
    if shutil.which(cc) is None:
        raw = _names(_strip_comments(path.read_text()))
        host = _scan(path) if cc != "cc" else (frozenset(), frozenset())
        return raw[0] | host[0], raw[1] | host[1]
    cmd = [cc, "-E", "-P", "-std=c11", f"-I{KERNELS / 'include'}", f"-I{KERNELS / 'list'}", str(path)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    return _names(done.stdout if done.returncode == 0 else _strip_comments(path.read_text()))


def _names(text: str):
    text = re.sub(r"([;}])", "\\1\n", text)  # a macro expands to one line: one declaration per line again
    return frozenset(_DEF.findall(text)), frozenset(_USE.findall(text))


def kernel_sources(kernels: list[str], family: str, also=()) -> list[Path]:
    """The .c files (under kernels/) a plan calling `kernels` (and the generated code calling the functions
    `also`) needs on a target of `family`, exec.c first."""
    folders = ("ref",) + FAMILY_FOLDERS[family]
    cc = _CPP.get(family, "cc")
    files = [p for f in folders for p in sorted((KERNELS / f).glob("*.c"))]
    if family in ("host", "arm"):  # the ISA selection state (kernels/host_isa.c) lives beside exec.c
        files += [p for p in sorted(KERNELS.glob("*.c")) if p.name != "exec.c"]
    defined: dict[str, list[Path]] = {}
    for p in files:
        for name in _scan(p, cc)[0]:
            defined.setdefault(name, []).append(p)
    chosen: list[Path] = [KERNELS / "exec.c"]
    todo = [f"er_{k}" for k in kernels] + list(also)
    seen = set()
    while todo:
        sym = todo.pop()
        if sym in seen:
            continue
        seen.add(sym)
        for p in defined.get(sym, ()):
            for q in [p] + _beside(p, folders):
                if q not in chosen:
                    chosen.append(q)
                    todo.extend(_scan(q, cc)[1])
    missing = [k for k in kernels if f"er_{k}" not in defined]
    if missing:
        raise LookupError(f"no source defines kernel(s) {', '.join(missing)} for a {family} target")
    return chosen


def _beside(p: Path, folders) -> list[Path]:
    """The optimized files carrying a reference file's name, in the folders of the target family."""
    if p.parent.name != "ref":
        return []
    return [KERNELS / f / p.name for f in folders[1:] if (KERNELS / f / p.name).exists()]


def header_dirs(family: str) -> list[Path]:
    """Folders whose headers the chosen sources may include (each copied whole: they are small)."""
    return [KERNELS / "include" / "edgerun", KERNELS / "ref"] + [KERNELS / f for f in FAMILY_FOLDERS[family]]
