"""Microcontroller targets: build a self-contained C program for a Cortex-M or RISC-V board and run it
under qemu, with file I/O through semihosting, an instruction count and the stack's high-water mark.

    elf = build("cortex-m4", ["model.c", *kernel_sources], ["include"], out_dir)
    result = run("cortex-m4", elf, cwd=data_dir)        # RunResult(exit_code, stdout, instructions, ...)
    result.spans[0]                                     # instructions between the 1st and 2nd er_mcu_mark()
    sizes("cortex-m4", elf)                             # {"text": ..., "weights": ..., "flash": ...}

Programs include `er_mcu.h` and call `er_mcu_mark()` around the work to measure (e.g. NAME_invoke()):
the emulator records its running instruction count at each call, so one invoke is measured apart from the
semihosted I/O around it (which costs thousands of instructions per call). The board files (startup code,
linker scripts with each board's memory map, the runtime) are in boards/; see README.md beside this file.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from edgerun.errors import BuildError, EmulationError, TargetError

HERE = Path(__file__).resolve().parent
BOARDS_DIR = HERE / "boards"
PLUGIN_SOURCE = HERE / "plugin" / "er_icount.c"
INSTALL_HINT = "run platforms/mcu/install.sh"

MiB = 1024 * 1024
KiB = 1024

# Flags every build gets (the caller's `opt` and defines come on top).
COMMON_CFLAGS = ("-std=c11", "-Wall", "-g", "-ffunction-sections", "-fdata-sections")


@dataclass(frozen=True)
class Target:
    """One `--target` value: how to compile for the core and which qemu board runs it.

    Memory sizes are the board's (the linker script's regions): `flash_bytes` holds code and constants,
    `ram_bytes` .data/.bss/heap/stack, `extram_bytes` the external RAM reachable through .er_extram*.
    """

    name: str
    arch: str  # "arm" or "riscv"
    cpu_flags: tuple[str, ...]  # -mcpu/-march, float ABI and FPU
    toolchain: str  # binutils/gcc prefix, e.g. "arm-none-eabi-"
    libc_flags: tuple[str, ...]  # C library with semihosting
    startup: str  # file in boards/
    linker_script: str  # file in boards/ (the board's memory map)
    qemu: str  # emulator binary
    machine: str  # qemu -M value
    qemu_flags: tuple[str, ...]  # extra qemu options for the board
    flash_bytes: int
    ram_bytes: int
    extram_bytes: int

    @property
    def gcc(self) -> str:
        return self.toolchain + "gcc"


_ARM_LIBC = ("--specs=rdimon.specs",)  # newlib + rdimon: stdio and files through semihosting
_ARM = dict(arch="arm", toolchain="arm-none-eabi-", libc_flags=_ARM_LIBC, startup="startup_cortexm.c",
            qemu="qemu-system-arm", qemu_flags=())
_MPS2 = dict(flash_bytes=4 * MiB, ram_bytes=4 * MiB, extram_bytes=16 * MiB)

TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        # Armv6-M code; qemu has no Cortex-M0+ board, the AN385's Cortex-M3 runs the same instructions.
        Target("cortex-m0plus", cpu_flags=("-mcpu=cortex-m0plus", "-mthumb", "-mfloat-abi=soft"),
               linker_script="mps2-an385.ld", machine="mps2-an385", **_ARM, **_MPS2),
        Target("cortex-m4", cpu_flags=("-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"),
               linker_script="mps2-an386.ld", machine="mps2-an386", **_ARM, **_MPS2),
        # qemu's Cortex-M7 has the double-precision FPU (FPv5-D16).
        Target("cortex-m7", cpu_flags=("-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-d16"),
               linker_script="mps2-an500.ld", machine="mps2-an500", **_ARM, **_MPS2),
        Target("cortex-m33",
               cpu_flags=("-mcpu=cortex-m33", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-sp-d16"),
               linker_script="mps2-an505.ld", machine="mps2-an505", **_ARM, **_MPS2),
        # -mcpu=cortex-m55 brings MVE with floating point (Helium) and the double-precision FPU.
        Target("cortex-m55", cpu_flags=("-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard"),
               linker_script="mps3-an547.ld", machine="mps3-an547",
               flash_bytes=512 * KiB + 8 * MiB, ram_bytes=4 * MiB, extram_bytes=256 * MiB, **_ARM),
        Target("riscv32", arch="riscv", cpu_flags=("-march=rv32imc", "-mabi=ilp32"),
               toolchain="riscv64-unknown-elf-", libc_flags=("--specs=picolibc.specs", "--oslib=semihost"),
               startup="startup_riscv.c", linker_script="riscv-virt.ld",
               qemu="qemu-system-riscv32", machine="virt", qemu_flags=("-bios", "none", "-m", "32M"),
               flash_bytes=4 * MiB, ram_bytes=4 * MiB, extram_bytes=16 * MiB),
    )
}


def get_target(target: str | Target) -> Target:
    """The Target for a name (or the Target itself); TargetError names the valid ones."""
    if isinstance(target, Target):
        return target
    try:
        return TARGETS[target]
    except KeyError:
        raise TargetError(f"unknown MCU target {target!r}; expected one of {', '.join(TARGETS)}") from None


def _tool(path_or_name: str, target: Target) -> str:
    found = shutil.which(path_or_name)
    if found is None:
        raise TargetError(f"{path_or_name} not found: {INSTALL_HINT} (target {target.name})")
    return found


# --- Build ----------------------------------------------------------------------------------------


def build(target: str | Target, sources, include_dirs=(), out_dir=".", defines=(), opt: str = "-O2", *,
          name: str = "program", stack_size: int | None = None, extra_cflags=()) -> Path:
    """Compile and link `sources` with the board runtime into `out_dir/name.elf`; return its path.

    `defines` are "NAME" or "NAME=VALUE" strings. Compiles with -std=c11 -Wall, one section per function
    and object, and links with --gc-sections, the board's startup file and linker script (a map file
    `name.map` lands beside the ELF). `stack_size` (bytes, a multiple of 16; default 64 KiB) is the stack
    reserved at the top of RAM. Raises BuildError naming the target and command, with the compiler's
    message, or TargetError when the toolchain is missing.
    """
    t = get_target(target)
    gcc = _tool(t.gcc, t)
    sources = [Path(s) for s in ([sources] if isinstance(sources, (str, Path)) else sources)]
    if not sources:
        raise BuildError(f"{t.name}: build needs at least one C source")
    if stack_size is not None and (stack_size <= 0 or stack_size % 16):
        raise BuildError(f"{t.name}: stack_size must be a positive multiple of 16, got {stack_size}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    elf = out / f"{name}.elf"
    cmd = [gcc, *t.cpu_flags, *COMMON_CFLAGS, opt]
    cmd += [f"-D{d}" for d in defines]
    cmd += [f"-I{Path(d)}" for d in include_dirs] + [f"-I{BOARDS_DIR}"]
    cmd += [*extra_cflags, *map(str, sources), str(BOARDS_DIR / "er_mcu.c"), str(BOARDS_DIR / t.startup)]
    cmd += ["-nostartfiles", *t.libc_flags, f"-L{BOARDS_DIR}", "-T", t.linker_script,
            "-Wl,--gc-sections", f"-Wl,-Map={out / (name + '.map')}"]
    if stack_size is not None:
        cmd.append(f"-Wl,--defsym=__stack_size={stack_size}")
    cmd += ["-o", str(elf), "-lm"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError(f"{t.name}: build failed (exit {proc.returncode}): {shlex.join(cmd)}\n"
                         f"{proc.stderr.strip()}")
    return elf


# --- Run ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunResult:
    """What one emulated run gave.

    `instructions` counts every guest instruction of the run (startup, I/O, exit); `marks` is the running
    count at each er_mcu_mark() call and `spans` the instructions between consecutive marks (put marks
    right around an invoke to measure it alone). `stack_bytes` is the stack's high-water mark over the
    whole run (including the C library's I/O), from the pattern painted before main().
    """

    exit_code: int
    stdout: str
    instructions: int
    stack_bytes: int
    marks: tuple[int, ...] = ()
    stack_size: int = 0
    stderr: str = ""
    fault: str | None = None  # the runtime's fault report, if the CPU faulted
    stack_overflow: bool = False

    @property
    def spans(self) -> tuple[int, ...]:
        return tuple(b - a for a, b in zip(self.marks, self.marks[1:]))


_REPORT = re.compile(r"edgerun-mcu: stack_bytes=(\d+) stack_size=(\d+)( overflow)?")
_NOISE = re.compile(r"^qemu-system-\w+: warning: nic \S+ has no peer\s*$")  # from -nic none on MPS2


def run(target: str | Target, elf, cwd=None, timeout: float = 60.0, *, check: bool = True,
        count: bool = True) -> RunResult:
    """Run `elf` under qemu in `cwd` (where the program's relative file names resolve) and return a RunResult.

    The board is emulated with -nographic, semihosting (target=native) and no network. With `count`,
    qemu loads edgerun's instruction-counting plugin (built from plugin/er_icount.c with the host C
    compiler on first use). A run longer than `timeout` seconds is killed and raises EmulationError; so
    does a non-zero exit, a CPU fault or a stack overflow unless `check` is False (the error carries
    `.result` when there is one).
    """
    t = get_target(target)
    qemu = _tool(t.qemu, t)
    elf = Path(elf).resolve()
    if not elf.is_file():
        raise EmulationError(f"{t.name}: no such program {elf}")
    with tempfile.TemporaryDirectory(prefix="edgerun-mcu-") as tmp:
        counts = Path(tmp) / "counts.txt"
        # The semihosting console (SYS_WRITEC/WRITE0, which picolibc's stdout uses) goes to qemu's stdout
        # like rdimon's ":tt" handles do; the board's UART is not used.
        cmd = [qemu, "-M", t.machine, *t.qemu_flags, "-nographic", "-monitor", "none", "-serial", "null",
               "-nic", "none", "-chardev", "stdio,id=semihost",
               "-semihosting-config", "enable=on,target=native,chardev=semihost"]
        if count:
            plugin = f"{_plugin(t)},out={counts}"
            mark = _symbol_address(t, elf, "er_mcu_mark")
            if mark is not None:
                plugin += f",mark={mark:#x}"
            cmd += ["-plugin", plugin]
        cmd += ["-kernel", str(elf)]
        try:
            proc = subprocess.run(cmd, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired as e:
            partial = (e.stdout or b"").decode(errors="replace")
            raise EmulationError(f"{t.name}: {elf.name} did not finish within {timeout} s and was killed: "
                                 f"{shlex.join(cmd)}\nstdout so far:\n{partial}") from None
        marks, total = _read_counts(counts) if count else ((), 0)
    stdout = proc.stdout.decode(errors="replace")
    stderr_lines = [ln for ln in proc.stderr.decode(errors="replace").splitlines() if not _NOISE.match(ln)]
    report = next((m for m in map(_REPORT.search, stderr_lines) if m), None)
    fault = next((ln.split("fault: ", 1)[1] for ln in stderr_lines if ln.startswith("edgerun-mcu: fault: ")),
                 None)
    result = RunResult(
        exit_code=proc.returncode, stdout=stdout, instructions=total,
        stack_bytes=int(report.group(1)) if report else 0, marks=marks,
        stack_size=int(report.group(2)) if report else 0,
        stderr="\n".join(ln for ln in stderr_lines if not ln.startswith("edgerun-mcu: stack_bytes=")),
        fault=fault, stack_overflow=bool(report and report.group(3)))
    if check:
        problem = None
        if fault is not None:
            problem = f"CPU fault: {fault}"
        elif result.exit_code != 0:
            problem = f"exit code {result.exit_code}"
        elif result.stack_overflow:
            problem = f"stack overflow (stack_size {result.stack_size} bytes)"
        if problem:
            err = EmulationError(f"{t.name}: {elf.name} failed: {problem}\ncommand: {shlex.join(cmd)}\n"
                                 f"stdout:\n{stdout}\nstderr:\n{result.stderr}")
            err.result = result
            raise err
    return result


def _read_counts(path: Path) -> tuple[tuple[int, ...], int]:
    marks, total = [], 0
    if path.exists():
        for line in path.read_text().splitlines():
            kind, _, value = line.partition(" ")
            if kind == "mark":
                marks.append(int(value))
            elif kind == "total":
                total = int(value)
    return tuple(marks), total


def _cache_dir() -> Path:
    root = os.environ.get("EDGERUN_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "edgerun")
    return Path(root) / "mcu"


def _plugin(t: Target) -> Path:
    """The instruction-counting qemu plugin, compiled once per source version into the cache directory."""
    source = PLUGIN_SOURCE.read_bytes()
    path = _cache_dir() / f"er_icount-{hashlib.sha256(source).hexdigest()[:12]}.so"
    if path.exists():
        return path
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if cc is None:
        raise TargetError(f"no host C compiler to build the qemu plugin: {INSTALL_HINT} (target {t.name})")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=path.parent)
    os.close(fd)
    cmd = [cc, "-shared", "-fPIC", "-O2", "-Wall", "-fvisibility=hidden", "-o", tmp, str(PLUGIN_SOURCE)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        os.unlink(tmp)
        raise BuildError(f"{t.name}: building the qemu plugin failed: {shlex.join(cmd)}\n"
                         f"{proc.stderr.strip()}")
    os.replace(tmp, path)  # atomic: concurrent test workers may build it at the same time
    return path


def _symbol_address(t: Target, elf: Path, name: str) -> int | None:
    for sym in _nm(elf, t):
        if sym[3] == name:
            # Thumb function symbols may carry bit 0 (the Thumb state bit); instructions are at even ones.
            return sym[0] & ~1 if t.arch == "arm" else sym[0]
    return None


# --- Sizes ----------------------------------------------------------------------------------------

# Output sections of sections.ld, by what they hold.
_SECTION_KIND = {
    ".text": "text", ".gnu.sgstubs": "text",
    ".er_weights": "weights",
    ".rodata": "rodata", ".ARM.extab": "rodata", ".ARM.exidx": "rodata",
    ".data": "data", ".tdata": "data",
    ".tbss": "bss", ".bss": "bss",
    ".stack": "stack",
    ".er_extram": "extram",
}


def sizes(target: str | Target, elf) -> dict[str, int]:
    """Bytes per kind of content of a linked program (from `size -A`).

    Keys: text (code), weights (sections .rodata.er_weights*), rodata (other constants), data (initialised
    variables: in RAM, and their image in flash), bss, stack (reserved), extram, and the totals
    flash = text + weights + rodata + data, ram = data + bss + stack.
    """
    t = get_target(target)
    size = _tool(t.toolchain + "size", t)
    proc = subprocess.run([size, "-A", str(elf)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError(f"{t.name}: {size} -A {elf} failed: {proc.stderr.strip()}")
    out = dict.fromkeys(("text", "weights", "rodata", "data", "bss", "stack", "extram"), 0)
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] in _SECTION_KIND and parts[1].isdigit():
            out[_SECTION_KIND[parts[0]]] += int(parts[1])
    out["flash"] = out["text"] + out["weights"] + out["rodata"] + out["data"]
    out["ram"] = out["data"] + out["bss"] + out["stack"]
    return out


def symbol_sizes(elf, target: str | Target | None = None) -> dict[str, int]:
    """Bytes per symbol name (functions and objects with a size, from `nm -S`); same-named static
    symbols of different files are added up. Sum by prefix to separate e.g. weights from code:
    `sum(v for k, v in symbol_sizes(elf).items() if k.startswith("model_weights_"))`.
    """
    t = get_target(target) if target is not None else _target_of(Path(elf))
    out: dict[str, int] = {}
    for _addr, size, _kind, name in _nm(Path(elf), t):
        if size:
            out[name] = out.get(name, 0) + size
    return out


def _nm(elf: Path, t: Target) -> list[tuple[int, int, str, str]]:
    nm = _tool(t.toolchain + "nm", t)
    proc = subprocess.run([nm, "-S", str(elf)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError(f"{t.name}: {nm} -S {elf} failed: {proc.stderr.strip()}")
    symbols = []
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) == 4:  # address size kind name
            symbols.append((int(parts[0], 16), int(parts[1], 16), parts[2], parts[3]))
        elif len(parts) == 3 and len(parts[1]) == 1:  # address kind name (no size)
            symbols.append((int(parts[0], 16), 0, parts[1], parts[2]))
    return symbols


def _target_of(elf: Path) -> Target:
    """A target whose binutils read this ELF (by its e_machine: Arm or RISC-V)."""
    header = elf.read_bytes()[:20]
    machine = int.from_bytes(header[18:20], "little")
    if header[:4] != b"\x7fELF" or machine not in (40, 243):
        raise TargetError(f"{elf}: not a 32-bit Arm or RISC-V ELF file")
    return TARGETS["cortex-m4" if machine == 40 else "riscv32"]


__all__ = ["TARGETS", "Target", "RunResult", "get_target", "build", "run", "sizes", "symbol_sizes",
           "BOARDS_DIR"]
